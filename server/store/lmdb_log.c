/*
 * lmdb_log.c: the LMDB apply of HK_ST_LOG (struct hk_st_log): request-log
 * entries, written together, within a budget.
 *
 * An entry's key is its webhook's id followed by its log id (both
 * time-sortable ids of fixed length), so one webhook's log is one key
 * range in time order (HK_DB_REQLOG). Before adding entries, the oldest
 * ones of all webhooks are deleted until the log's pages fit in
 * lg_budget bytes with a twentieth of it to spare, so that the next
 * batches need not trim; if even that is not enough the new entries are
 * dropped (lg_over) and the operation still succeeds: a log entry never
 * fails the batch it rides in.
 *
 * Writer thread, inside the batch's transaction; a refusal (HK_EINVAL,
 * a key that does not fit) comes before anything is written.
 */
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "id.h"
#include "store/lmdb.h"

/* A key: a webhook id (wh_) and a log id (rlg_); it sorts by the latter. */
#define LM_LOG_WLEN (3 + HK_ID_BODY)
#define LM_LOG_KLEN (LM_LOG_WLEN + 4 + HK_ID_BODY)
#define LM_LOG_TRIM_MAX 5000 /* entries one operation deletes at most */
#define LM_LOG_NODE 8 /* LMDB's header of a node, besides key and value */

/* The heap of each webhook's oldest entry, for deleting oldest first. */
struct lm_log_heap {
	size_t n, cap;
	char (*k)[LM_LOG_KLEN];
};

/* Whether entry key A is older than B (their log ids compared). */
static int
lm_log_older(const char *a, const char *b)
{
	return memcmp(a + LM_LOG_WLEN, b + LM_LOG_WLEN,
	           LM_LOG_KLEN - LM_LOG_WLEN) < 0;
}

/* Restores the heap order from slot I down. */
static void
lm_log_sift(struct lm_log_heap *hp, size_t i)
{
	char tmp[LM_LOG_KLEN];
	size_t c;

	for (; (c = 2 * i + 1) < hp->n; i = c) {
		if (c + 1 < hp->n && lm_log_older(hp->k[c + 1], hp->k[c]))
			c++;
		if (!lm_log_older(hp->k[c], hp->k[i]))
			break;
		memcpy(tmp, hp->k[i], LM_LOG_KLEN);
		memcpy(hp->k[i], hp->k[c], LM_LOG_KLEN);
		memcpy(hp->k[c], tmp, LM_LOG_KLEN);
	}
}

/*
 * Fills HP with the first (oldest) entry of every webhook's range,
 * skipping from one range to the next. Returns 0 or a store error.
 */
static int
lm_log_heads(MDB_cursor *cur, struct lm_log_heap *hp)
{
	char next[LM_LOG_WLEN + 1];
	void *p;
	MDB_val k, v;
	size_t i;
	int rc;

	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
		if (k.mv_size != LM_LOG_KLEN) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		if (hp->n == hp->cap) {
			hp->cap = hp->cap ? 2 * hp->cap : 64;
			if ((p = realloc(hp->k, hp->cap * LM_LOG_KLEN)) == NULL)
				return HK_ENOMEM;
			hp->k = p;
		}
		memcpy(hp->k[hp->n++], k.mv_data, LM_LOG_KLEN);
		/* Past this webhook's range: "rlg_" sorts below 0x7f. */
		memcpy(next, k.mv_data, LM_LOG_WLEN);
		next[LM_LOG_WLEN] = '\x7f';
		k.mv_data = next;
		k.mv_size = sizeof(next);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	if (rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	for (i = hp->n / 2; i-- > 0;)
		lm_log_sift(hp, i);
	return 0;
}

/* Bytes the request log's pages take in TXN. */
static size_t
lm_log_bytes(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat ms;

	if (mdb_stat(txn, dbi, &ms) != 0)
		return 0;
	return (ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages) *
	    ms.ms_psize;
}

/*
 * Deletes the oldest entries, of all webhooks, until NEED more bytes
 * fit in LG's budget with a twentieth of it to spare (at most
 * LM_LOG_TRIM_MAX of them); lg_over when they do not fit even so.
 * Returns 0 or a store error.
 */
static int
lm_log_budget(struct hk_st_log *lg, MDB_txn *txn, MDB_dbi dbi, size_t need)
{
	struct lm_log_heap hp = {0, 0, NULL};
	size_t budget = (size_t)lg->lg_budget;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (lm_log_bytes(txn, dbi) + need <= budget)
		return 0;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return hk_store_err(rc);
	if ((rc = lm_log_heads(cur, &hp)) != 0)
		goto out;
	while (hp.n > 0 && lg->lg_trimmed < LM_LOG_TRIM_MAX &&
	    lm_log_bytes(txn, dbi) + need > budget - budget / 20) {
		k.mv_data = hp.k[0];
		k.mv_size = LM_LOG_KLEN;
		if ((rc = mdb_del(txn, dbi, &k, NULL)) != 0) {
			rc = hk_store_err(rc);
			goto out;
		}
		lg->lg_trimmed++;
		/* That webhook's next entry takes its place, or the last. */
		k.mv_data = hp.k[0];
		k.mv_size = LM_LOG_KLEN;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && k.mv_size == LM_LOG_KLEN &&
		    memcmp(k.mv_data, hp.k[0], LM_LOG_WLEN) == 0)
			memcpy(hp.k[0], k.mv_data, LM_LOG_KLEN);
		else if (rc == 0 || rc == MDB_NOTFOUND)
			memcpy(hp.k[0], hp.k[--hp.n], LM_LOG_KLEN);
		else {
			rc = hk_store_err(rc);
			goto out;
		}
		lm_log_sift(&hp, 0);
	}
	rc = 0;
	lg->lg_over = lm_log_bytes(txn, dbi) + need > budget;
out:
	mdb_cursor_close(cur);
	free(hp.k);
	return rc;
}

int
hk_lm_log_apply(struct hk_st_op *op, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_log *lg = (struct hk_st_log *)(void *)op;
	MDB_dbi dbi = hk_store_dbi(st, HK_DB_REQLOG);
	const struct hk_st_log_entry *e;
	char key[2 * HK_ID_MAX];
	size_t i, need = 0, wlen, ilen;
	int rc;

	/* A reapplied operation starts over: its transaction was undone. */
	lg->lg_trimmed = 0;
	lg->lg_over = 0;
	for (i = 0; i < lg->lg_n; i++) {
		e = &lg->lg_entries[i];
		wlen = strlen(e->le_webhook);
		ilen = strlen(e->le_id);
		if (wlen == 0 || wlen >= HK_ID_MAX || ilen == 0 ||
		    ilen >= HK_ID_MAX)
			return HK_EINVAL;
		need += LM_LOG_NODE + wlen + ilen + e->le_len;
	}
	/* Pages are at least half full: twice the bytes is room enough. */
	if ((rc = lm_log_budget(lg, txn, dbi, 2 * need)) != 0)
		return rc;
	if (lg->lg_over)
		return 0;
	for (i = 0; i < lg->lg_n; i++) {
		e = &lg->lg_entries[i];
		wlen = strlen(e->le_webhook);
		ilen = strlen(e->le_id);
		memcpy(key, e->le_webhook, wlen);
		memcpy(key + wlen, e->le_id, ilen);
		if ((rc = hk_store_put(txn, dbi, key, wlen + ilen, e->le_text,
		         e->le_len, 0)) != 0)
			return rc;
	}
	return 0;
}
