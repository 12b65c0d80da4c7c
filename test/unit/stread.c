/*
 * Unit tests of the store interface's reads (server/store/store.h) on the
 * LMDB engine: pages by cursor in both orders, filters and the scan
 * bound, scoped lists, an index over deliveries with their attempts,
 * single records, the start-up scan and the counts. Rows are written
 * under the engine (lmdb_core.h), so only the reads are under test.
 */
#include <event2/event.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hk.h"
#include "hookd.h"
#include "store/lmdb.h"
#include "t.h"

struct hookd *hd;

/* One key/value put under the engine, in its own operation. */
struct raw_op {
	struct hk_store_op op;
	enum hk_db db;
	char k[96];
	size_t klen;
	const char *v;
	int done;
};

static int
raw_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct raw_op *o = (struct raw_op *)sop;

	return hk_lm_put(
	    txn, hk_store_dbi(st, o->db), o->k, o->klen, o->v, strlen(o->v));
}

static void
raw_done(struct hk_store_op *sop, int rc)
{
	struct raw_op *o = (struct raw_op *)sop;

	T_CHECK(rc == 0);
	o->done = 1;
}

static struct event_base *base;

static void
raw_put(enum hk_db db, const void *k, size_t klen, const char *v)
{
	struct raw_op o;
	int i;

	memset(&o, 0, sizeof(o));
	o.op.so_apply = raw_apply;
	o.op.so_done = raw_done;
	o.db = db;
	memcpy(o.k, k, klen);
	o.klen = klen;
	o.v = v;
	T_CHECK(hk_store_submit(hk_lm_store(), &o.op) == 0);
	hk_store_flush(hk_lm_store());
	for (i = 0; i < 500 && !o.done; i++)
		event_base_loop(base, EVLOOP_ONCE);
	T_CHECK(o.done);
}

static void
raw_puts(enum hk_db db, const char *k, const char *v)
{
	raw_put(db, k, strlen(k), v);
}

/* What a read saw: the row ids, comma separated, and how it ended. */
struct seen {
	struct hk_st_read rd;
	char rows[512];
	char attempts[512];
	int skip_odd; /* count only rows whose last digit is odd */
	int stop_at; /* row number that answers -1 (0: none) */
	int nrows;
	int done, rc;
};

static int
seen_row(struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct seen *s = (struct seen *)rd;
	size_t n = strlen(s->rows);

	snprintf(s->rows + n, sizeof(s->rows) - n, "%s%s=%.*s",
	    n > 0 ? "," : "", id, (int)len, text);
	if (s->stop_at > 0 && ++s->nrows == s->stop_at)
		return -1;
	if (s->skip_odd && (id[strlen(id) - 1] - '0') % 2 == 0)
		return 0;
	return 1;
}

static void
seen_attempt(
    struct hk_st_read *rd, const char *dlv, int n, const char *text, size_t len)
{
	struct seen *s = (struct seen *)rd;
	size_t m = strlen(s->attempts);

	snprintf(s->attempts + m, sizeof(s->attempts) - m, "%s%s#%d=%.*s",
	    m > 0 ? "," : "", dlv, n, (int)len, text);
}

static void
seen_done(struct hk_st_read *rd, int rc)
{
	struct seen *s = (struct seen *)rd;

	s->done++;
	s->rc = rc;
}

static void
seen_init(struct seen *s, enum hk_st_list list, const char *scope,
    const char *after, int oldest, size_t limit)
{
	memset(s, 0, sizeof(*s));
	s->rd.rd_list = list;
	s->rd.rd_scope = scope;
	s->rd.rd_after = after;
	s->rd.rd_oldest = oldest;
	s->rd.rd_limit = limit;
	s->rd.rd_row = seen_row;
	s->rd.rd_done = seen_done;
}

/* Reads and checks that rd_done ran once, with RC. */
static void
seen_read(struct seen *s, int rc)
{
	hk_st_read(&s->rd);
	T_CHECK(s->done == 1);
	T_CHECK(s->rc == rc);
}

static char dir[] = "/tmp/hookd-stread-XXXXXX";

static void
t_open(void)
{
	struct hk_st_conf sc;
	char *cause = NULL;
	int i;

	T_CHECK(mkdtemp(dir) != NULL);
	T_CHECK((base = event_base_new()) != NULL);
	memset(&sc, 0, sizeof(sc));
	sc.sc_where = dir;
	sc.sc_mapsize = 16 << 20;
	sc.sc_highwater = 90;
	sc.sc_base = base;
	T_CHECK(hk_st_open(&sc, &cause) == 0);
	free(cause);
	for (i = 1; i <= 5; i++) {
		char k[16], v[16];

		snprintf(k, sizeof(k), "evt_%d", i);
		snprintf(v, sizeof(v), "e%d", i);
		raw_puts(HK_DB_EVENTS, k, v);
	}
	raw_puts(HK_DB_REQLOG, "wh_arlg_1", "a1");
	raw_puts(HK_DB_REQLOG, "wh_arlg_2", "a2");
	raw_puts(HK_DB_REQLOG, "wh_arlg_3", "a3");
	raw_puts(HK_DB_REQLOG, "wh_brlg_1", "b1");
	raw_puts(HK_DB_WEBHOOKS, "wh_a", "A");
	raw_puts(HK_DB_WEBHOOKS, "wh_b", "B");
	/* Event evt_1's deliveries: two records, one index entry ahead. */
	raw_puts(HK_DB_DELIVERIES, "dlv_1", "d1");
	raw_puts(HK_DB_DELIVERIES, "dlv_2", "d2");
	raw_puts(HK_DB_DELIVERIES, "dlv_9", "d9");
	raw_puts(HK_DB_EVDLV, "evt_1dlv_1", "");
	raw_puts(HK_DB_EVDLV, "evt_1dlv_2", "");
	raw_puts(HK_DB_EVDLV, "evt_1dlv_3", "");
	raw_puts(HK_DB_SUBDLV, "sub_xdlv_2", "");
	raw_put(HK_DB_ATTEMPTS, "dlv_1\0\2", 7, "t2");
	raw_put(HK_DB_ATTEMPTS, "dlv_1\0\1", 7, "t1");
	raw_put(HK_DB_ATTEMPTS, "dlv_2\0\1", 7, "u1");
	raw_put(HK_DB_ATTEMPTS, "dlv_10\0\1", 8, "x1");
}

static void
t_pages_newest(void)
{
	struct seen s;

	seen_init(&s, HK_SL_EVENTS, NULL, NULL, 0, 2);
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_5=e5,evt_4=e4");
	T_CHECK(s.rd.rd_more == 1);
	T_STREQ(s.rd.rd_next, "evt_4");
	seen_init(&s, HK_SL_EVENTS, NULL, "evt_4", 0, 2);
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_3=e3,evt_2=e2");
	T_CHECK(s.rd.rd_more == 1);
	seen_init(&s, HK_SL_EVENTS, NULL, "evt_2", 0, 2);
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_1=e1");
	T_CHECK(s.rd.rd_more == 0);
	/* A cursor between keys, and one past every key. */
	seen_init(&s, HK_SL_EVENTS, NULL, "evt_35", 0, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_3=e3,evt_2=e2,evt_1=e1");
	seen_init(&s, HK_SL_EVENTS, NULL, "evt_9", 0, 1);
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_5=e5");
}

static void
t_pages_oldest(void)
{
	char next[HK_ID_MAX];
	struct seen s;

	seen_init(&s, HK_SL_EVENTS, NULL, NULL, 1, 2);
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_1=e1,evt_2=e2");
	T_CHECK(s.rd.rd_more == 1);
	memcpy(next, s.rd.rd_next, sizeof(next));
	seen_init(&s, HK_SL_EVENTS, NULL, next, 1, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_3=e3,evt_4=e4,evt_5=e5");
	T_CHECK(s.rd.rd_more == 0);
}

static void
t_filter_and_scan(void)
{
	struct seen s;

	/* Skipped rows are looked at, not counted; next is the last seen. */
	seen_init(&s, HK_SL_EVENTS, NULL, NULL, 0, 2);
	s.skip_odd = 1;
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_5=e5,evt_4=e4,evt_3=e3");
	T_CHECK(s.rd.rd_more == 1);
	T_STREQ(s.rd.rd_next, "evt_3");
	seen_init(&s, HK_SL_EVENTS, NULL, NULL, 0, 0);
	s.rd.rd_scan = 2;
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_5=e5,evt_4=e4");
	T_CHECK(s.rd.rd_more == 1);
	/* A row that stops the read: no more, no error. */
	seen_init(&s, HK_SL_EVENTS, NULL, NULL, 0, 0);
	s.stop_at = 2;
	seen_read(&s, 0);
	T_STREQ(s.rows, "evt_5=e5,evt_4=e4");
	T_CHECK(s.rd.rd_more == 0);
}

static void
t_scoped(void)
{
	struct seen s;

	seen_init(&s, HK_SL_LOG, "wh_a", NULL, 0, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "rlg_3=a3,rlg_2=a2,rlg_1=a1");
	seen_init(&s, HK_SL_LOG, "wh_a", "rlg_3", 0, 1);
	seen_read(&s, 0);
	T_STREQ(s.rows, "rlg_2=a2");
	T_CHECK(s.rd.rd_more == 1);
	seen_init(&s, HK_SL_LOG, "wh_a", "rlg_1", 1, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "rlg_2=a2,rlg_3=a3");
	seen_init(&s, HK_SL_LOG, "wh_b", NULL, 1, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "rlg_1=b1");
	seen_init(&s, HK_SL_LOG, "wh_c", NULL, 0, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "");
	/* The log has no meaning without its webhook. */
	seen_init(&s, HK_SL_LOG, NULL, NULL, 0, 0);
	seen_read(&s, HK_EINVAL);
}

static void
t_index_attempts(void)
{
	struct seen s;

	/* dlv_3's record is not there (yet): its index entry is skipped. */
	seen_init(&s, HK_SL_EVENT_DELIVERIES, "evt_1", NULL, 1, 0);
	s.rd.rd_attempt = seen_attempt;
	seen_read(&s, 0);
	T_STREQ(s.rows, "dlv_1=d1,dlv_2=d2");
	T_STREQ(s.attempts, "dlv_1#1=t1,dlv_1#2=t2,dlv_2#1=u1");
	/* Deliveries of a subscription through its index; all without one. */
	seen_init(&s, HK_SL_DELIVERIES, "sub_x", NULL, 0, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "dlv_2=d2");
	seen_init(&s, HK_SL_DELIVERIES, NULL, NULL, 0, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "dlv_9=d9,dlv_2=d2,dlv_1=d1");
	seen_init(&s, HK_SL_ATTEMPTS, "dlv_1", NULL, 1, 0);
	seen_read(&s, 0);
	T_STREQ(s.rows, "1=t1,2=t2");
}

static void
t_get(void)
{
	struct seen s;

	seen_init(&s, HK_SL_DELIVERIES, NULL, NULL, 0, 0);
	s.rd.rd_attempt = seen_attempt;
	hk_st_get(&s.rd, "dlv_1");
	T_CHECK(s.done == 1 && s.rc == 0);
	T_STREQ(s.rows, "dlv_1=d1");
	T_STREQ(s.attempts, "dlv_1#1=t1,dlv_1#2=t2");
	seen_init(&s, HK_SL_WEBHOOKS, NULL, NULL, 0, 0);
	hk_st_get(&s.rd, "wh_z");
	T_CHECK(s.done == 1 && s.rc == HK_ENOTFOUND);
	T_STREQ(s.rows, "");
	seen_init(&s, HK_SL_LOG, "wh_a", NULL, 0, 0);
	hk_st_get(&s.rd, "rlg_1");
	T_CHECK(s.done == 1 && s.rc == HK_EINVAL);
}

static int
scan_row(void *arg, const char *id, const char *text, size_t len)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 64 - n, "%s=%.*s;", id, (int)len, text);
	return strcmp(id, "wh_b") == 0 ? HK_ENOMEM : 0;
}

static void
t_scan_usage(void)
{
	struct hk_st_usage u;
	char out[64] = "";

	T_CHECK(hk_st_scan(HK_SL_WEBHOOKS, scan_row, out) == HK_ENOMEM);
	T_STREQ(out, "wh_a=A;wh_b=B;");
	T_CHECK(hk_st_scan(HK_SL_LOG, scan_row, out) == HK_EINVAL);
	hk_st_usage(&u);
	T_CHECK(u.su_rows[HK_SL_EVENTS] == 5);
	T_CHECK(u.su_rows[HK_SL_WEBHOOKS] == 2);
	T_CHECK(u.su_rows[HK_SL_DELIVERIES] == 3);
	T_CHECK(u.su_size == 16 << 20);
	T_CHECK(hk_st_full() == 0);
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
	    {"pages newest first", t_pages_newest},
	    {"pages oldest first", t_pages_oldest},
	    {"filters and the scan bound", t_filter_and_scan},
	    {"scoped lists", t_scoped},
	    {"index and attempts", t_index_attempts},
	    {"get", t_get},
	    {"scan and usage", t_scan_usage},
	    {"close", t_close},
	};

	return t_run("stread", cases, sizeof(cases) / sizeof(cases[0]));
}
