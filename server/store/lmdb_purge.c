/*
 * lmdb_purge.c: the LMDB apply of HK_ST_PURGE (struct hk_st_purge):
 * retention's deletions (proto/operation.md), a bounded share per
 * operation so that neither the loop nor the other commits of its batch
 * wait long.
 *
 * Events are read oldest first (their ids sort by time); an event older
 * than pu_cutoff goes with its deliveries, their attempts and index
 * entries when every delivery is final, else it is kept and the scan
 * goes on past it, up to LM_PURGE_SCAN events. Request-log entries go by
 * their log id's age, each webhook's key range oldest first; idempotency
 * keys by their event's age, a slice per operation from pu_pos, which
 * the caller keeps between operations (empty: from the first key). At
 * most LM_PURGE_BATCH records are deleted; pu_full says a bound was hit.
 *
 * Writer thread, inside the batch's transaction. Nothing is refused:
 * the only failures are the store's. An operation applied again after a
 * failed batch counts afresh; its position may have moved on a slice,
 * which only delays those keys to the next round.
 */
#include <stdlib.h>
#include <string.h>

#include "dlv.h"
#include "hk.h"
#include "id.h"
#include "store/lmdb.h"

#define LM_PURGE_BATCH 500 /* records deleted by one operation at most */
#define LM_PURGE_SCAN 5000 /* events looked at by one operation at most */

/*
 * Whether every delivery of EVT is final; if so, deletes them (records,
 * attempts, indexes) and counts them.
 */
static int
lm_purge_deliveries(struct hk_st_purge *o, struct hk_store *st, MDB_txn *txn,
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
		if ((rc = hk_lm_del(txn, hk_store_dbi(st, HK_DB_DELIVERIES),
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
		if ((rc = hk_lm_del(txn, hk_store_dbi(st, HK_DB_EVDLV), k,
		         elen + strlen(ids[i]))) != 0)
			return rc;
		if (dr.sub[0] != '\0') {
			memcpy(k, dr.sub, strlen(dr.sub));
			memcpy(k + strlen(dr.sub), ids[i], strlen(ids[i]));
			if ((rc = hk_lm_del(txn, hk_store_dbi(st, HK_DB_SUBDLV),
			         k, strlen(dr.sub) + strlen(ids[i]))) != 0)
				return rc;
		}
		o->pu_deliveries++;
	}
	return 0;
}

/*
 * The keys to delete are gathered first and deleted after the scan: a
 * cursor is never advanced across its own deletions.
 */
struct lm_purge_keys {
	size_t n;
	size_t len[LM_PURGE_BATCH];
	char k[LM_PURGE_BATCH][2 * HK_ID_MAX + 300];
};

static int
lm_purge_keys_add(struct lm_purge_keys *ks, const void *k, size_t n)
{
	if (ks->n == LM_PURGE_BATCH || n > sizeof(ks->k[0]))
		return -1;
	memcpy(ks->k[ks->n], k, n);
	ks->len[ks->n++] = n;
	return 0;
}

static int
lm_purge_keys_del(struct lm_purge_keys *ks, MDB_txn *txn, MDB_dbi dbi)
{
	size_t i;
	int rc;

	for (i = 0; i < ks->n; i++)
		if ((rc = hk_lm_del(txn, dbi, ks->k[i], ks->len[i])) != 0)
			return rc;
	ks->n = 0;
	return 0;
}

static int
lm_purge_events(struct hk_st_purge *o, struct hk_store *st, MDB_txn *txn,
    struct lm_purge_keys *ks)
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
		if (hk_id_ms("evt_", id) >= o->pu_cutoff)
			break;
		if (++scanned > LM_PURGE_SCAN ||
		    o->pu_events + o->pu_deliveries >= LM_PURGE_BATCH) {
			o->pu_full = 1;
			break;
		}
		if ((rc = lm_purge_deliveries(o, st, txn, id, &kept)) != 0)
			break;
		if (kept)
			continue;
		if (lm_purge_keys_add(ks, id, strlen(id)) != 0) {
			o->pu_full = 1;
			break;
		}
		o->pu_events++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	return lm_purge_keys_del(ks, txn, hk_store_dbi(st, HK_DB_EVENTS));
}

/* Request log entries: each webhook's range, oldest first. */
static int
lm_purge_logs(struct hk_st_purge *o, struct hk_store *st, MDB_txn *txn,
    struct lm_purge_keys *ks)
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
		if (hk_id_ms("rlg_", id) >= o->pu_cutoff) {
			/* The rest of this webhook's range is newer. */
			memcpy(next, k.mv_data, wlen);
			next[wlen] = '\x7f';
			k.mv_data = next;
			k.mv_size = wlen + 1;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			continue;
		}
		if (lm_purge_keys_add(ks, k.mv_data, k.mv_size) != 0) {
			o->pu_full = 1;
			break;
		}
		o->pu_logs++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	return lm_purge_keys_del(ks, txn, hk_store_dbi(st, HK_DB_REQLOG));
}

/* Idempotency records of events older than the cutoff, a slice a time. */
static int
lm_purge_idem(struct hk_st_purge *o, struct hk_store *st, MDB_txn *txn,
    struct lm_purge_keys *ks)
{
	MDB_cursor *cur;
	MDB_val k, v;
	char id[HK_ID_MAX];
	int rc, n = 0;

	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_IDEM), &cur)) !=
	    0)
		return hk_store_err(rc);
	k.mv_data = o->pu_pos;
	k.mv_size = o->pu_poslen;
	rc = o->pu_poslen > 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
	                      : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	for (; rc == 0 && n < LM_PURGE_SCAN && ks->n < LM_PURGE_BATCH; n++) {
		if (v.mv_size < HK_ID_MAX) {
			memcpy(id, v.mv_data, v.mv_size);
			id[v.mv_size] = '\0';
			if (hk_id_ms("evt_", id) < o->pu_cutoff)
				lm_purge_keys_add(ks, k.mv_data, k.mv_size);
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	/* Go on from here next time; from the start after the end. */
	if (rc == 0 && k.mv_size <= sizeof(o->pu_pos)) {
		memcpy(o->pu_pos, k.mv_data, k.mv_size);
		o->pu_poslen = k.mv_size;
		o->pu_full = 1;
	} else
		o->pu_poslen = 0;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	return lm_purge_keys_del(ks, txn, hk_store_dbi(st, HK_DB_IDEM));
}

int
hk_lm_purge_apply(struct hk_st_op *op, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_purge *o = (struct hk_st_purge *)(void *)op;
	struct lm_purge_keys *ks;
	int rc;

	/* A failed batch is applied again: the counts start afresh. */
	o->pu_events = o->pu_logs = o->pu_deliveries = 0;
	o->pu_full = 0;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return HK_ENOMEM;
	if ((rc = lm_purge_events(o, st, txn, ks)) == 0 &&
	    (rc = lm_purge_logs(o, st, txn, ks)) == 0)
		rc = lm_purge_idem(o, st, txn, ks);
	free(ks);
	return rc;
}
