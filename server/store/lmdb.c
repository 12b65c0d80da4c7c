/*
 * lmdb.c: the LMDB engine of store.h. The environment, its writer
 * thread and group commit are lmdb_core.c's; here are the engine's
 * entry points: operations handed to the writer with their area's apply
 * function, the loop's wake-up, and the reads, answered at once from
 * the loop's read transaction (LMDB readers never wait).
 *
 * Keys: every list is one database keyed by id, or one key range of it
 * (a scope's id followed by the row's), or an index whose keys are a
 * scope's id and a delivery's (rows are read from the deliveries).
 */
#include <event2/event.h>

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "hookd.h"
#include "store/engine.h"
#include "store/lmdb.h"

struct lm_list {
	enum hk_db ll_db; /* the rows, or the index over them */
	int ll_scoped; /* keys begin with the scope's id */
	int ll_index; /* ll_db maps scope + delivery id to "" */
	int ll_optional; /* a scope is optional (the index is used with one) */
	enum hk_db ll_alt; /* with no scope: this database, unscoped */
};

static const struct lm_list lm_lists[HK_SL_COUNT] = {
    [HK_SL_WEBHOOKS] = {HK_DB_WEBHOOKS, 0, 0, 0, HK_DB_WEBHOOKS},
    [HK_SL_SUBS] = {HK_DB_SUBS, 0, 0, 0, HK_DB_SUBS},
    [HK_SL_EVENTS] = {HK_DB_EVENTS, 0, 0, 0, HK_DB_EVENTS},
    [HK_SL_DELIVERIES] = {HK_DB_SUBDLV, 1, 1, 1, HK_DB_DELIVERIES},
    [HK_SL_PENDING] = {HK_DB_QUEUE, 0, 0, 0, HK_DB_QUEUE},
    [HK_SL_LOG] = {HK_DB_REQLOG, 1, 0, 0, HK_DB_REQLOG},
    [HK_SL_EVENT_DELIVERIES] = {HK_DB_EVDLV, 1, 1, 0, HK_DB_EVDLV},
    [HK_SL_ATTEMPTS] = {HK_DB_ATTEMPTS, 1, 0, 0, HK_DB_ATTEMPTS},
    [HK_SL_FAILED] = {HK_DB_FAILED, 0, 1, 0, HK_DB_FAILED},
};

/* Each kind's apply function, in the area's file; NULL: not this engine's. */
static const hk_lm_apply_fn lm_apply_kind[HK_ST_KINDS] = {
    [HK_ST_WEBHOOK] = hk_lm_webhook_apply,
    [HK_ST_SUB] = hk_lm_sub_apply,
    [HK_ST_EVENT] = hk_lm_event_apply,
    [HK_ST_OUTCOME] = hk_lm_outcome_apply,
    [HK_ST_DELIVERIES] = hk_lm_dlvop_apply,
    [HK_ST_LOG] = hk_lm_log_apply,
    [HK_ST_PURGE] = hk_lm_purge_apply,
};

static struct {
	struct hk_store *st;
	struct event *ready; /* the writer finished operations */
	struct event *flush; /* the first submit of a loop pass */
	int broken_logged;
} lm;

_Static_assert(sizeof(struct hk_store_op) <= HK_ST_ENG_LEN,
    "an LMDB operation fits in hk_st_op's so_eng");

struct hk_store *
hk_lm_store(void)
{
	return lm.st;
}

int
hk_lm_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	MDB_val key = {klen, (void *)(uintptr_t)k};
	MDB_val val = {vlen, (void *)(uintptr_t)v};

	return hk_store_err(mdb_put(txn, dbi, &key, &val, 0));
}

int
hk_lm_del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen)
{
	MDB_val key = {klen, (void *)(uintptr_t)k};
	int rc = mdb_del(txn, dbi, &key, NULL);

	return rc == 0 || rc == MDB_NOTFOUND ? 0 : hk_store_err(rc);
}

static struct hk_st_op *
lm_op(struct hk_store_op *sop)
{
	return (struct hk_st_op *)(void *)((char *)sop -
	    offsetof(struct hk_st_op, so_eng));
}

static int
lm_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_op *op = lm_op(sop);

	return lm_apply_kind[op->so_kind](op, st, txn);
}

static void
lm_done(struct hk_store_op *sop, int rc)
{
	struct hk_st_op *op = lm_op(sop);

	op->so_done(op, rc);
}

static int
lm_submit(struct hk_st_op *op)
{
	struct hk_store_op *sop = (struct hk_store_op *)(void *)op->so_eng.b;

	if ((unsigned)op->so_kind >= HK_ST_KINDS ||
	    lm_apply_kind[op->so_kind] == NULL)
		return HK_EINVAL;
	memset(sop, 0, sizeof(*sop));
	sop->so_apply = lm_apply;
	sop->so_done = lm_done;
	return hk_store_submit(lm.st, sop);
}

/* The writer finished operations: their so_done run here. */
static void
lm_ready(evutil_socket_t fd, short what, void *arg)
{
	struct hk_store_usage u;

	(void)fd;
	(void)what;
	(void)arg;
	hk_store_reap(lm.st);
	hk_store_usage(lm.st, &u);
	if (u.su_broken && !lm.broken_logged) {
		lm.broken_logged = 1;
		log_error("store_broken", "error=%s",
		    hk_logq("a write to the disk failed; hookd "
		            "accepts nothing more until restarted"));
	}
}

/*
 * The writer gets the operations of a whole pass of the loop at once:
 * the first submit of a pass makes this event active, and it runs after
 * the callbacks already queued for this pass.
 */
static void
lm_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	hk_store_flush(lm.st);
}

static void
lm_kick(void *arg)
{
	(void)arg;
	if (lm.flush != NULL)
		event_active(lm.flush, EV_TIMEOUT, 0);
	else
		hk_store_flush(lm.st);
}

static int
lm_claims(const char *where)
{
	return strncmp(where, "postgresql://", 13) != 0 &&
	    strncmp(where, "postgres://", 11) != 0;
}

static int
lm_open(const struct hk_st_conf *sc, char **cause)
{
	struct hk_store_conf c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.sc_dir = sc->sc_where;
	c.sc_mapsize = sc->sc_mapsize;
	c.sc_highwater = sc->sc_highwater;
	c.sc_kick = lm_kick;
	c.sc_readonly = sc->sc_readonly;
	if ((rc = hk_store_open(&lm.st, &c, cause)) != 0)
		return rc;
	if (sc->sc_readonly)
		return 0;
	lm.ready = event_new(sc->sc_base, hk_store_fd(lm.st),
	    EV_READ | EV_PERSIST, lm_ready, NULL);
	lm.flush = event_new(sc->sc_base, -1, 0, lm_flush, NULL);
	if (lm.ready == NULL || lm.flush == NULL ||
	    event_add(lm.ready, NULL) != 0) {
		if (asprintf(cause, "cannot watch the store") == -1)
			*cause = NULL;
		return HK_ENOMEM;
	}
	return 0;
}

static void
lm_close(void)
{
	if (lm.st == NULL)
		return;
	hk_store_close(lm.st);
	lm.st = NULL;
	if (lm.flush != NULL)
		event_free(lm.flush);
	if (lm.ready != NULL)
		event_free(lm.ready);
	lm.flush = lm.ready = NULL;
}

static size_t
lm_inflight(void)
{
	return hk_store_inflight(lm.st);
}

static int
lm_full(void)
{
	return hk_store_full(lm.st) ? HK_EFULL : 0;
}

static void
lm_usage(struct hk_st_usage *u)
{
	static const enum hk_db counted[] = {
	    [HK_SL_WEBHOOKS] = HK_DB_WEBHOOKS,
	    [HK_SL_SUBS] = HK_DB_SUBS,
	    [HK_SL_EVENTS] = HK_DB_EVENTS,
	    [HK_SL_DELIVERIES] = HK_DB_DELIVERIES,
	    [HK_SL_PENDING] = HK_DB_QUEUE,
	};
	struct hk_store_usage su;
	MDB_stat ms;
	MDB_txn *txn;
	size_t i;

	memset(u, 0, sizeof(*u));
	hk_store_usage(lm.st, &su);
	u->su_size = su.su_mapsize;
	u->su_used = su.su_used;
	u->su_commits = su.su_commits;
	u->su_ops = su.su_ops;
	u->su_failed = su.su_failed;
	u->su_broken = su.su_broken;
	if (hk_store_rbegin(lm.st, &txn) != 0)
		return;
	for (i = 0; i < sizeof(counted) / sizeof(counted[0]); i++)
		if (mdb_stat(txn, hk_store_dbi(lm.st, counted[i]), &ms) == 0)
			u->su_rows[i] = ms.ms_entries;
	hk_store_rend(lm.st);
}

/* A read in progress: its cursor and where its rows are. */
struct lm_walk {
	struct hk_st_read *rd;
	const struct lm_list *ll;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi rows; /* where an index's rows are */
	char key[HK_ST_POS_MAX];
	size_t plen; /* the scope's part of a key */
};

/* The row id of key K, into ID: 0, or -1 when K is not the scope's. */
static int
lm_row_id(const struct lm_walk *w, const MDB_val *k, char *id)
{
	size_t n;

	if (k->mv_size < w->plen || memcmp(k->mv_data, w->key, w->plen) != 0)
		return -1;
	n = k->mv_size - w->plen;
	if (w->rd->rd_list == HK_SL_ATTEMPTS) {
		const unsigned char *p =
		    (const unsigned char *)k->mv_data + w->plen;

		if (n != 2)
			return -1;
		snprintf(id, HK_ID_MAX, "%u", (unsigned)(p[0] << 8 | p[1]));
		return 0;
	}
	if (n == 0 || n >= HK_ID_MAX)
		return -1;
	memcpy(id, (const char *)k->mv_data + w->plen, n);
	id[n] = '\0';
	return 0;
}

/* Calls rd_attempt for each attempt of delivery DLV, oldest first. */
static int
lm_attempts(struct lm_walk *w, const char *dlv)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = strlen(dlv);
	const unsigned char *p;
	int rc;

	if ((rc = mdb_cursor_open(
	         w->txn, hk_store_dbi(lm.st, HK_DB_ATTEMPTS), &cur)) != 0)
		return hk_store_err(rc);
	k.mv_data = (void *)(uintptr_t)dlv;
	k.mv_size = n;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != n + 2 || memcmp(k.mv_data, dlv, n) != 0)
			break;
		p = (const unsigned char *)k.mv_data + n;
		w->rd->rd_attempt(
		    w->rd, dlv, p[0] << 8 | p[1], v.mv_data, v.mv_size);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : hk_store_err(rc);
}

/* Passes one row (key K, value V) on: rd_row's answer, or a failure. */
static int
lm_row(struct lm_walk *w, const char *id, MDB_val *v)
{
	struct hk_st_read *rd = w->rd;
	MDB_val k;
	int r, rc;

	if (w->ll->ll_index && (w->plen > 0 || !w->ll->ll_optional)) {
		k.mv_data = (void *)(uintptr_t)id;
		k.mv_size = strlen(id);
		if ((rc = mdb_get(w->txn, w->rows, &k, v)) == MDB_NOTFOUND)
			return 0; /* an index entry ahead of its record */
		if (rc != 0)
			return hk_store_err(rc);
	}
	r = rd->rd_row(rd, id, v->mv_data, v->mv_size);
	if (r == 1 && rd->rd_attempt != NULL && (rc = lm_attempts(w, id)) != 0)
		return rc;
	return r;
}

/* Positions W's cursor on the first row of the walk. */
static int
lm_first(struct lm_walk *w, MDB_val *k, MDB_val *v)
{
	const struct hk_st_read *rd = w->rd;
	size_t alen = rd->rd_after != NULL ? strlen(rd->rd_after) : 0;
	int rc;

	if (alen >= HK_ID_MAX)
		return MDB_NOTFOUND;
	memcpy(
	    w->key + w->plen, rd->rd_after != NULL ? rd->rd_after : "", alen);
	k->mv_data = w->key;
	if (rd->rd_oldest) {
		k->mv_size = w->plen + alen;
		if (k->mv_size == 0)
			return mdb_cursor_get(w->cur, k, v, MDB_FIRST);
		rc = mdb_cursor_get(w->cur, k, v, MDB_SET_RANGE);
		if (rc == 0 && alen > 0 && k->mv_size == w->plen + alen &&
		    memcmp(k->mv_data, w->key, w->plen + alen) == 0)
			rc = mdb_cursor_get(w->cur, k, v, MDB_NEXT);
		return rc;
	}
	/* Newest first: the last key below the cursor (or the scope's end). */
	if (alen == 0) {
		if (w->plen == 0)
			return mdb_cursor_get(w->cur, k, v, MDB_LAST);
		w->key[w->plen] = (char)0xff;
		alen = 1;
	}
	k->mv_size = w->plen + alen;
	rc = mdb_cursor_get(w->cur, k, v, MDB_SET_RANGE);
	if (rc == 0)
		return mdb_cursor_get(w->cur, k, v, MDB_PREV);
	return rc == MDB_NOTFOUND ? mdb_cursor_get(w->cur, k, v, MDB_LAST) : rc;
}

static int
lm_walk(struct lm_walk *w)
{
	struct hk_st_read *rd = w->rd;
	MDB_cursor_op step = rd->rd_oldest ? MDB_NEXT : MDB_PREV;
	size_t counted = 0, scanned = 0;
	char id[HK_ID_MAX];
	MDB_val k, v;
	int rc, r;

	for (rc = lm_first(w, &k, &v); rc == 0;
	     rc = mdb_cursor_get(w->cur, &k, &v, step)) {
		if (lm_row_id(w, &k, id) != 0) {
			if (w->plen > 0)
				break; /* past the scope */
			continue;
		}
		if ((rd->rd_limit > 0 && counted == rd->rd_limit) ||
		    (rd->rd_scan > 0 && scanned == rd->rd_scan)) {
			rd->rd_more = 1;
			break;
		}
		scanned++;
		snprintf(rd->rd_next, sizeof(rd->rd_next), "%s", id);
		if ((r = lm_row(w, id, &v)) < 0)
			return r == -1 ? 0 : r;
		counted += (size_t)r;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : hk_store_err(rc);
}

/* Reads record ID of W's list. */
static int
lm_get(struct lm_walk *w, const char *id)
{
	MDB_val k, v;
	int rc;

	if (w->plen > 0 || strlen(id) >= HK_ID_MAX)
		return HK_EINVAL;
	k.mv_data = (void *)(uintptr_t)id;
	k.mv_size = strlen(id);
	rc = mdb_get(w->txn, w->rows, &k, &v);
	if (rc == MDB_NOTFOUND)
		return HK_ENOTFOUND;
	if (rc != 0)
		return hk_store_err(rc);
	snprintf(w->rd->rd_next, sizeof(w->rd->rd_next), "%s", id);
	rc = w->rd->rd_row(w->rd, id, v.mv_data, v.mv_size);
	if (rc == 1 && w->rd->rd_attempt != NULL)
		return lm_attempts(w, id);
	return 0;
}

static int
lm_read1(struct hk_st_read *rd, const char *id)
{
	struct lm_walk w;
	const char *scope = rd->rd_scope;
	int rc;

	memset(&w, 0, sizeof(w));
	w.rd = rd;
	if ((unsigned)rd->rd_list >= HK_SL_COUNT ||
	    rd->rd_list == HK_SL_PENDING)
		return HK_EINVAL;
	w.ll = &lm_lists[rd->rd_list];
	if (scope != NULL && scope[0] == '\0')
		scope = NULL;
	if (w.ll->ll_scoped && scope == NULL && !w.ll->ll_optional)
		return HK_EINVAL;
	if (w.ll->ll_scoped && scope != NULL) {
		if ((w.plen = strlen(scope)) >= HK_ID_MAX)
			return HK_EINVAL;
		memcpy(w.key, scope, w.plen);
	}
	if (hk_store_rbegin(lm.st, &w.txn) != 0)
		return HK_EIO;
	w.rows = hk_store_dbi(lm.st,
	    w.ll->ll_index ? HK_DB_DELIVERIES
	                   : (w.plen > 0 ? w.ll->ll_db : w.ll->ll_alt));
	if (id != NULL)
		rc = lm_get(&w, id);
	else if ((rc = mdb_cursor_open(w.txn,
	              hk_store_dbi(lm.st,
	                  w.plen > 0 || !w.ll->ll_optional ? w.ll->ll_db
	                                                   : w.ll->ll_alt),
	              &w.cur)) != 0)
		rc = hk_store_err(rc);
	else {
		rc = lm_walk(&w);
		mdb_cursor_close(w.cur);
	}
	hk_store_rend(lm.st);
	return rc;
}

static void
lm_read(struct hk_st_read *rd, const char *id)
{
	rd->rd_more = 0;
	rd->rd_next[0] = '\0';
	rd->rd_done(rd, lm_read1(rd, id));
}

static int
lm_scan(enum hk_st_list list,
    int (*row)(void *, const char *, const char *, size_t), void *arg)
{
	const struct lm_list *ll;
	char id[HK_ID_MAX];
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if ((unsigned)list >= HK_SL_COUNT)
		return HK_EINVAL;
	ll = &lm_lists[list];
	if (ll->ll_scoped && !ll->ll_optional)
		return HK_EINVAL;
	if (hk_store_rbegin(lm.st, &txn) != 0)
		return HK_EIO;
	if ((rc = mdb_cursor_open(
	         txn, hk_store_dbi(lm.st, ll->ll_alt), &cur)) != 0) {
		hk_store_rend(lm.st);
		return hk_store_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size >= HK_ID_MAX)
			continue;
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		if ((rc = row(arg, id, v.mv_data, v.mv_size)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	hk_store_rend(lm.st);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static void
lm_due(struct hk_st_due *du)
{
	hk_lm_due(lm.st, du);
}

const struct hk_st_engine hk_st_lmdb = {
    .se_name = "lmdb",
    .se_claims = lm_claims,
    .se_open = lm_open,
    .se_close = lm_close,
    .se_inflight = lm_inflight,
    .se_usage = lm_usage,
    .se_full = lm_full,
    .se_submit = lm_submit,
    .se_read = lm_read,
    .se_due = lm_due,
    .se_scan = lm_scan,
};
