/*
 * purge.c: retention (proto/operation.md): events and request logs older than
 * --retention, whose deliveries are all final, are deleted.
 *
 * A libevent timer queues one purge operation at a time; the writer does
 * the work in that operation's transaction, at most PURGE_BATCH records,
 * so neither the loop nor other commits wait long. When a batch was full
 * the next comes soon, else after the interval. Events are read oldest
 * first (their ids sort by time); an event with a pending delivery is
 * kept and the scan goes on past it, up to PURGE_SCAN events a batch.
 * Idempotency records go with their event's age.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "store/lmdb.h"
#include "id.h"

#define PURGE_BATCH 500 /* records deleted by one operation at most */
#define PURGE_SCAN 5000 /* events looked at by one operation at most */
#define PURGE_MAX_MS 60000 /* the interval, at most */

struct purge_op {
	struct hk_store_op op;
	int64_t cutoff; /* ms: older than this goes */
	uint64_t events, logs, deliveries;
	int full; /* a bound was hit: more may be there */
	char idem_from[HK_ID_MAX + 300]; /* where the idem scan goes on */
	size_t idem_len;
};

static struct event *purge_ev;
static int purge_running;
static char purge_idem_pos[HK_ID_MAX + 300];
static size_t purge_idem_len;

static int
purge_del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t n)
{
	MDB_val key = {n, (void *)(uintptr_t)k};
	int rc = mdb_del(txn, dbi, &key, NULL);

	return rc == 0 || rc == MDB_NOTFOUND ? 0 : hk_store_err(rc);
}

/*
 * Whether every delivery of EVT is final; if so, deletes them (records,
 * attempts, indexes) and counts them.
 */
static int
purge_deliveries(struct purge_op *o, struct hk_store *st, MDB_txn *txn,
    const char *evt, int *kept)
{
	size_t elen = strlen(evt), n = 0, i;
	char ids[64][HK_ID_MAX], sub[HK_ID_MAX], k[2 * HK_ID_MAX + 2];
	MDB_cursor *cur;
	struct hk_delivery dr;
	MDB_val key, v, d;
	int rc, a, pending = 0;

	*kept = 0;
	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_EVDLV), &cur)) !=
	    0)
		return hk_store_err(rc);
	/* All must be final; the first 64 go now, the rest next time. */
	key.mv_data = (void *)(uintptr_t)evt;
	key.mv_size = elen;
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		if (key.mv_size <= elen || key.mv_size - elen >= HK_ID_MAX ||
		    memcmp(key.mv_data, evt, elen) != 0)
			break;
		memcpy(sub, (char *)key.mv_data + elen, key.mv_size - elen);
		sub[key.mv_size - elen] = '\0';
		d.mv_data = sub;
		d.mv_size = strlen(sub);
		if (mdb_get(txn, hk_store_dbi(st, HK_DB_DELIVERIES), &d, &v) ==
		        0 &&
		    hk_delivery_is_pending(v.mv_data, v.mv_size)) {
			pending = 1;
			break;
		}
		if (n < HK_NELEM(ids))
			memcpy(ids[n++], sub, strlen(sub) + 1);
		else
			*kept = 1; /* more than one batch takes */
	}
	mdb_cursor_close(cur);
	if (pending) {
		*kept = 1; /* a delivery is not final: keep it all */
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (hk_delivery_read(st, txn, ids[i], &dr) != 0)
			dr.sub[0] = '\0';
		if ((rc = purge_del(txn, hk_store_dbi(st, HK_DB_DELIVERIES),
		         ids[i], strlen(ids[i]))) != 0)
			return rc;
		for (a = 1; a <= 65535; a++) {
			memcpy(k, ids[i], strlen(ids[i]));
			k[strlen(ids[i])] = (char)(a >> 8);
			k[strlen(ids[i]) + 1] = (char)(a & 0xff);
			key.mv_data = k;
			key.mv_size = strlen(ids[i]) + 2;
			if (mdb_del(txn, hk_store_dbi(st, HK_DB_ATTEMPTS), &key,
			        NULL) != 0)
				break;
		}
		memcpy(k, evt, elen);
		memcpy(k + elen, ids[i], strlen(ids[i]));
		if ((rc = purge_del(txn, hk_store_dbi(st, HK_DB_EVDLV), k,
		         elen + strlen(ids[i]))) != 0)
			return rc;
		if (dr.sub[0] != '\0') {
			memcpy(k, dr.sub, strlen(dr.sub));
			memcpy(k + strlen(dr.sub), ids[i], strlen(ids[i]));
			if ((rc = purge_del(txn, hk_store_dbi(st, HK_DB_SUBDLV),
			         k, strlen(dr.sub) + strlen(ids[i]))) != 0)
				return rc;
		}
		o->deliveries++;
	}
	return 0;
}

/*
 * The keys to delete are gathered first and deleted after the scan: a
 * cursor is never advanced across its own deletions.
 */
struct purge_keys {
	size_t n;
	size_t len[PURGE_BATCH];
	char k[PURGE_BATCH][2 * HK_ID_MAX + 300];
};

static int
purge_keys_add(struct purge_keys *ks, const void *k, size_t n)
{
	if (ks->n == PURGE_BATCH || n > sizeof(ks->k[0]))
		return -1;
	memcpy(ks->k[ks->n], k, n);
	ks->len[ks->n++] = n;
	return 0;
}

static int
purge_keys_del(struct purge_keys *ks, MDB_txn *txn, MDB_dbi dbi)
{
	size_t i;
	int rc;

	for (i = 0; i < ks->n; i++)
		if ((rc = purge_del(txn, dbi, ks->k[i], ks->len[i])) != 0)
			return rc;
	ks->n = 0;
	return 0;
}

static int
purge_events(struct purge_op *o, struct hk_store *st, MDB_txn *txn,
    struct purge_keys *ks)
{
	char id[HK_ID_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, kept, scanned = 0;

	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_EVENTS), &cur)) !=
	    0)
		return hk_store_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size >= HK_ID_MAX)
			continue;
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		if (hk_id_ms("evt_", id) >= o->cutoff)
			break;
		if (++scanned > PURGE_SCAN ||
		    o->events + o->deliveries >= PURGE_BATCH) {
			o->full = 1;
			break;
		}
		if ((rc = purge_deliveries(o, st, txn, id, &kept)) != 0)
			break;
		if (kept)
			continue;
		if (purge_keys_add(ks, id, strlen(id)) != 0) {
			o->full = 1;
			break;
		}
		o->events++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	return purge_keys_del(ks, txn, hk_store_dbi(st, HK_DB_EVENTS));
}

/* Request log entries: each webhook's range, oldest first. */
static int
purge_logs(struct purge_op *o, struct hk_store *st, MDB_txn *txn,
    struct purge_keys *ks)
{
	const size_t wlen = 3 + HK_ID_BODY, llen = 4 + HK_ID_BODY;
	char id[HK_ID_MAX], next[HK_ID_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_REQLOG), &cur)) !=
	    0)
		return hk_store_err(rc);
	/* Keys are a webhook id (wh_) and a log id (rlg_). */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
		if (k.mv_size != wlen + llen) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		memcpy(id, (char *)k.mv_data + wlen, llen);
		id[llen] = '\0';
		if (hk_id_ms("rlg_", id) >= o->cutoff) {
			/* The rest of this webhook's range is newer. */
			memcpy(next, k.mv_data, wlen);
			next[wlen] = '\x7f';
			k.mv_data = next;
			k.mv_size = wlen + 1;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			continue;
		}
		if (purge_keys_add(ks, k.mv_data, k.mv_size) != 0) {
			o->full = 1;
			break;
		}
		o->logs++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	return purge_keys_del(ks, txn, hk_store_dbi(st, HK_DB_REQLOG));
}

/* Idempotency records of events older than the cutoff, a slice a time. */
static int
purge_idem(struct purge_op *o, struct hk_store *st, MDB_txn *txn,
    struct purge_keys *ks)
{
	MDB_cursor *cur;
	MDB_val k, v;
	char id[HK_ID_MAX];
	int rc, n = 0;

	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_IDEM), &cur)) !=
	    0)
		return hk_store_err(rc);
	k.mv_data = o->idem_from;
	k.mv_size = o->idem_len;
	rc = o->idem_len > 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
	                     : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	for (; rc == 0 && n < PURGE_SCAN && ks->n < PURGE_BATCH; n++) {
		if (v.mv_size < HK_ID_MAX) {
			memcpy(id, v.mv_data, v.mv_size);
			id[v.mv_size] = '\0';
			if (hk_id_ms("evt_", id) < o->cutoff)
				purge_keys_add(ks, k.mv_data, k.mv_size);
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	/* Go on from here next time; from the start after the end. */
	if (rc == 0 && k.mv_size <= sizeof(o->idem_from)) {
		memcpy(o->idem_from, k.mv_data, k.mv_size);
		o->idem_len = k.mv_size;
		o->full = 1;
	} else
		o->idem_len = 0;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	return purge_keys_del(ks, txn, hk_store_dbi(st, HK_DB_IDEM));
}

static int
purge_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct purge_op *o = (struct purge_op *)sop;
	struct purge_keys *ks;
	int rc;

	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return HK_ENOMEM;
	if ((rc = purge_events(o, st, txn, ks)) == 0 &&
	    (rc = purge_logs(o, st, txn, ks)) == 0)
		rc = purge_idem(o, st, txn, ks);
	free(ks);
	return rc;
}

static void purge_schedule(int64_t ms);

static void
purge_done(struct hk_store_op *sop, int rc)
{
	struct purge_op *o = (struct purge_op *)sop;

	purge_running = 0;
	if (rc != 0)
		log_warn("purge", "error=%s", hk_logq(hk_strerror(rc)));
	else {
		hd->hd_stats.s_purged_events += o->events;
		hd->hd_stats.s_purged_logs += o->logs;
		hd->hd_stats.s_purged_deliveries += o->deliveries;
		memcpy(purge_idem_pos, o->idem_from, o->idem_len);
		purge_idem_len = o->idem_len;
		if (o->events + o->logs + o->deliveries > 0)
			log_info("purged",
			    "events=%llu deliveries=%llu logs=%llu",
			    (unsigned long long)o->events,
			    (unsigned long long)o->deliveries,
			    (unsigned long long)o->logs);
	}
	purge_schedule(rc == 0 && o->full ? 100 : -1);
	free(o);
}

static void
purge_tick(evutil_socket_t fd, short what, void *arg)
{
	struct purge_op *o;

	(void)fd;
	(void)what;
	(void)arg;
	if (purge_running || hd->hd_stopping)
		return;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		purge_schedule(-1);
		return;
	}
	o->cutoff = hk_now_ms() - hd->hd_conf.cf_retention_ms;
	memcpy(o->idem_from, purge_idem_pos, purge_idem_len);
	o->idem_len = purge_idem_len;
	o->op.so_apply = purge_apply;
	o->op.so_done = purge_done;
	if (hk_store_submit(hd->hd_store, &o->op) != 0) {
		free(o);
		return;
	}
	purge_running = 1;
}

/* The next pass in MS, or after the interval (-1). */
static void
purge_schedule(int64_t ms)
{
	int64_t every = hd->hd_conf.cf_retention_ms / 4;
	struct timeval tv;

	if (ms < 0)
		ms = every < 250           ? 250
		    : every > PURGE_MAX_MS ? PURGE_MAX_MS
		                           : every;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(purge_ev, &tv);
}

int
hk_purge_init(void)
{
	if ((purge_ev = evtimer_new(hd->hd_base, purge_tick, NULL)) == NULL)
		return HK_ENOMEM;
	purge_schedule(-1);
	return 0;
}

void
hk_purge_free(void)
{
	if (purge_ev != NULL)
		event_free(purge_ev);
	purge_ev = NULL;
}
