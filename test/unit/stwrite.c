/*
 * Unit tests of the store interface's event and retention writes
 * (server/store/store.h, HK_ST_EVENT and HK_ST_PURGE) on the LMDB
 * engine, through hk_st_submit() and checked through its reads: an
 * event with its deliveries, a repeated idempotency key within its
 * lifetime and after it, a refused operation, and one purge share that
 * takes old final events, request-log entries and keys but keeps an
 * event whose delivery is pending.
 */
#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "store/lmdb.h"
#include "t.h"

struct hookd *hd;

#define DAY_MS (24 * 3600 * 1000LL)

static struct event_base *base;
static char dir[] = "/tmp/hookd-stwrite-XXXXXX";
static int64_t now;
/* Ids made in time order: hk_id_at never goes back. */
static char old_final[HK_ID_MAX], old_pending[HK_ID_MAX], old_log[HK_ID_MAX];
static char wh[HK_ID_MAX], e1[HK_ID_MAX], e3[HK_ID_MAX], recent[HK_ID_MAX];
static char dup_id[HK_ID_MAX], again[HK_ID_MAX], late[HK_ID_MAX];
static char later[HK_ID_MAX];
static char subs[2][HK_ID_MAX] = {"sub_a", "sub_b"};
static const int maxes[2] = {5, 7};

struct op_wait {
	int done, rc;
};

static struct op_wait purge_wait; /* hk_st_purge has no argument */

static void
op_done(struct hk_st_op *op, int rc)
{
	struct op_wait *w = &purge_wait;

	if (op->so_kind == HK_ST_EVENT)
		w = ((struct hk_st_event *)(void *)op)->ev_arg;
	w->done++;
	w->rc = rc;
}

/* Runs the loop until OP's so_done ran; its code. */
static int
op_run(struct hk_st_op *op, struct op_wait *w)
{
	int i;

	op->so_done = op_done;
	T_CHECK(hk_st_submit(op) == 0);
	for (i = 0; i < 500 && !w->done; i++)
		event_base_loop(base, EVLOOP_ONCE);
	T_CHECK(w->done == 1);
	return w->rc;
}

/* Commits event ID at MS (IDEM a key or NULL, NSUBS of subs[]). */
static int
event_commit(const char *id, int64_t ms, const char *idem, int64_t ttl,
    size_t nsubs, char *dup)
{
	struct hk_st_event e;
	struct op_wait w = {0, 0};
	char env[128];

	memset(&e, 0, sizeof(e));
	e.ev_op.so_kind = HK_ST_EVENT;
	snprintf(e.ev_id, sizeof(e.ev_id), "%s", id);
	snprintf(env, sizeof(env), "{\"id\":\"%s\"}", id);
	e.ev_ms = ms;
	e.ev_env = env;
	e.ev_envlen = strlen(env);
	if (idem != NULL) {
		/* "wh_x" '\0' key: the scope and the key. */
		e.ev_idem = idem;
		e.ev_idem_len = 5 + strlen(idem + 5);
	}
	e.ev_idem_ttl_ms = ttl;
	e.ev_subs = subs;
	e.ev_max = maxes;
	e.ev_nsubs = nsubs;
	e.ev_arg = &w;
	op_run(&e.ev_op, &w);
	if (dup != NULL)
		memcpy(dup, e.ev_dup, HK_ID_MAX);
	return w.rc;
}

struct seen {
	struct hk_st_read rd;
	char rows[1024];
	int done, rc;
};

static int
seen_row(struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct seen *s = (struct seen *)rd;
	size_t n = strlen(s->rows);

	(void)text;
	(void)len;
	snprintf(
	    s->rows + n, sizeof(s->rows) - n, "%s%s", n > 0 ? "," : "", id);
	return 1;
}

static void
seen_done(struct hk_st_read *rd, int rc)
{
	struct seen *s = (struct seen *)rd;

	s->done++;
	s->rc = rc;
}

/* Counts the rows of LIST in SCOPE (oldest first), their ids in S. */
static int
seen_count(struct seen *s, enum hk_st_list list, const char *scope)
{
	const char *p;
	int n = 0;

	memset(s, 0, sizeof(*s));
	s->rd.rd_list = list;
	s->rd.rd_scope = scope;
	s->rd.rd_oldest = 1;
	s->rd.rd_row = seen_row;
	s->rd.rd_done = seen_done;
	hk_st_read(&s->rd);
	T_CHECK(s->done == 1 && s->rc == 0);
	for (p = s->rows; *p != '\0'; p++)
		n += *p == ',';
	return s->rows[0] == '\0' ? 0 : n + 1;
}

static void
t_open(void)
{
	struct hk_st_conf sc;
	char *cause = NULL;

	T_CHECK(mkdtemp(dir) != NULL);
	T_CHECK((base = event_base_new()) != NULL);
	memset(&sc, 0, sizeof(sc));
	sc.sc_where = dir;
	sc.sc_mapsize = 16 << 20;
	sc.sc_highwater = 90;
	sc.sc_base = base;
	T_CHECK(hk_st_open(&sc, &cause) == 0);
	free(cause);
	now = hk_now_ms();
	hk_id_at("evt_", now - 10 * DAY_MS, old_final);
	hk_id_at("evt_", now - 10 * DAY_MS + 1, old_pending);
	hk_id_at("rlg_", now - 10 * DAY_MS + 2, old_log);
	hk_id_at("wh_", now, wh);
	hk_id_at("evt_", now, e1);
	hk_id_at("evt_", now + 1, e3);
	hk_id_at("rlg_", now + 2, recent);
	hk_id_at("evt_", now + 1000, dup_id);
	hk_id_at("evt_", now + 2000, again);
	hk_id_at("evt_", now + 2 * DAY_MS, late);
	hk_id_at("evt_", now + 2 * DAY_MS + 1, later);
}

static void
t_event(void)
{
	struct hk_st_usage u;
	struct seen s;
	char dup[HK_ID_MAX];

	T_CHECK(event_commit(e1, now, "wh_x\0k1", DAY_MS, 2, NULL) == 0);
	T_CHECK(seen_count(&s, HK_SL_EVENTS, NULL) == 1);
	T_STREQ(s.rows, e1);
	T_CHECK(seen_count(&s, HK_SL_EVENT_DELIVERIES, e1) == 2);
	T_CHECK(seen_count(&s, HK_SL_DELIVERIES, "sub_b") == 1);
	hk_st_usage(&u);
	T_CHECK(u.su_rows[HK_SL_PENDING] == 2);
	/* The key again within its lifetime: the first event, nothing new. */
	T_CHECK(event_commit(dup_id, now + 1000, "wh_x\0k1", DAY_MS, 2, dup) ==
	    HK_EDUP);
	T_STREQ(dup, e1);
	T_CHECK(seen_count(&s, HK_SL_EVENTS, NULL) == 1);
	hk_st_usage(&u);
	T_CHECK(u.su_rows[HK_SL_PENDING] == 2);
	/* The same key in another scope is another key. */
	T_CHECK(event_commit(e3, now + 1, "wh_y\0k1", DAY_MS, 0, NULL) == 0);
	T_CHECK(seen_count(&s, HK_SL_EVENTS, NULL) == 2);
	/* A refusal writes nothing. */
	T_CHECK(event_commit("", now, NULL, 0, 1, NULL) == HK_EINVAL);
	hk_st_usage(&u);
	T_CHECK(u.su_rows[HK_SL_PENDING] == 2);
}

static void
t_idem_lifetime(void)
{
	/* Past its lifetime the key is taken over by the new event. */
	T_CHECK(event_commit(
	            late, now + 2 * DAY_MS, "wh_x\0k1", DAY_MS, 0, NULL) == 0);
	T_CHECK(event_commit(later, now + 2 * DAY_MS + 1, "wh_x\0k1", DAY_MS, 0,
	            NULL) == HK_EDUP);
}

/* A request-log entry of webhook WH with log id ID, under the engine. */
struct raw_op {
	struct hk_store_op op;
	char k[2 * HK_ID_MAX];
	int done;
};

static int
raw_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct raw_op *o = (struct raw_op *)sop;

	return hk_lm_put(
	    txn, hk_store_dbi(st, HK_DB_REQLOG), o->k, strlen(o->k), "{}", 2);
}

static void
raw_done(struct hk_store_op *sop, int rc)
{
	T_CHECK(rc == 0);
	((struct raw_op *)sop)->done = 1;
}

static void
log_put(const char *id)
{
	struct raw_op o;
	int i;

	memset(&o, 0, sizeof(o));
	o.op.so_apply = raw_apply;
	o.op.so_done = raw_done;
	snprintf(o.k, sizeof(o.k), "%s%s", wh, id);
	T_CHECK(hk_store_submit(hk_lm_store(), &o.op) == 0);
	hk_store_flush(hk_lm_store());
	for (i = 0; i < 500 && !o.done; i++)
		event_base_loop(base, EVLOOP_ONCE);
	T_CHECK(o.done);
}

static void
t_purge(void)
{
	struct hk_st_purge pu;
	struct seen s;

	T_CHECK(event_commit(old_final, now - 10 * DAY_MS, "wh_x\0old", DAY_MS,
	            0, NULL) == 0);
	T_CHECK(event_commit(
	            old_pending, now - 10 * DAY_MS, NULL, 0, 1, NULL) == 0);
	log_put(old_log);
	log_put(recent);
	T_CHECK(seen_count(&s, HK_SL_LOG, wh) == 2);

	memset(&pu, 0, sizeof(pu));
	pu.pu_op.so_kind = HK_ST_PURGE;
	pu.pu_cutoff = now - DAY_MS;
	T_CHECK(op_run(&pu.pu_op, &purge_wait) == 0);
	T_CHECK(pu.pu_events == 1);
	T_CHECK(pu.pu_deliveries == 0);
	T_CHECK(pu.pu_logs == 1);
	T_CHECK(pu.pu_full == 0);
	T_CHECK(pu.pu_poslen == 0);
	/* The event with a pending delivery stays, and so does its delivery. */
	T_CHECK(seen_count(&s, HK_SL_EVENTS, NULL) == 4);
	T_CHECK(strncmp(s.rows, old_pending, strlen(old_pending)) == 0);
	T_CHECK(seen_count(&s, HK_SL_EVENT_DELIVERIES, old_pending) == 1);
	T_CHECK(seen_count(&s, HK_SL_LOG, wh) == 1);
	T_STREQ(s.rows, recent);
	/* The old event's key is forgotten: a repeat makes a new event. */
	T_CHECK(
	    event_commit(again, now, "wh_x\0old", 100 * DAY_MS, 0, NULL) == 0);
}

static void
t_close(void)
{
	char cmd[128];

	hk_st_close();
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_CHECK(system(cmd) == 0);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"open", t_open},
	    {"an event and its deliveries", t_event},
	    {"a key's lifetime", t_idem_lifetime},
	    {"a purge share", t_purge},
	    {"close", t_close},
	};

	return t_run("stwrite", cases, sizeof(cases) / sizeof(cases[0]));
}
