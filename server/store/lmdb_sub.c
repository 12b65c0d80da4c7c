/*
 * lmdb_sub.c: the LMDB apply of HK_ST_SUB (struct hk_st_record): a
 * subscription's record by id (HK_DB_SUBS). A delete cancels the
 * subscription's pending deliveries in the same transaction
 * (hk_delivery_cancel_all, lmdb_delivery.c), so no delivery waits for a
 * subscription that is gone.
 *
 * Writer thread, inside the batch's transaction. Refusals (HK_EINVAL,
 * HK_EEXIST, HK_ENOTFOUND, or rc_modify's) come before anything is
 * written; after that only store failures. The record's text is the
 * domain's: it is never parsed here.
 */
#include <string.h>

#include "hk.h"
#include "store/lmdb.h"

int
hk_lm_sub_apply(struct hk_st_op *op, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_record *r = (struct hk_st_record *)(void *)op;
	MDB_dbi subs = hk_store_dbi(st, HK_DB_SUBS);
	size_t idlen = strlen(r->rc_id);
	MDB_val k, v;
	int rc;

	r->rc_cancelled = 0;
	if (idlen == 0 || idlen >= HK_ID_MAX)
		return HK_EINVAL;
	k.mv_data = r->rc_id;
	k.mv_size = idlen;
	rc = mdb_get(txn, subs, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	if (r->rc_verb == HK_ST_CREATE) {
		if (rc == 0)
			return HK_EEXIST;
	} else {
		if (rc == MDB_NOTFOUND)
			return HK_ENOTFOUND;
		/* V is valid until the first write below. */
		if (r->rc_modify != NULL &&
		    (rc = r->rc_modify(r, v.mv_data, v.mv_size)) != 0)
			return rc;
	}
	if (r->rc_verb != HK_ST_DELETE && r->rc_text == NULL)
		return HK_EINVAL;
	/* Nothing refused from here: only store failures remain. */
	if (r->rc_verb == HK_ST_DELETE) {
		if ((rc = hk_delivery_cancel_all(
		         st, txn, r->rc_id, &r->rc_cancelled)) != 0)
			return rc;
		return hk_lm_del(txn, subs, r->rc_id, idlen);
	}
	return hk_store_put(
	    txn, subs, r->rc_id, idlen, r->rc_text, r->rc_len, 0);
}
