/*
 * lmdb_webhook.c: the LMDB apply of HK_ST_WEBHOOK (struct hk_st_record):
 * a webhook's record by id (HK_DB_WEBHOOKS) and its name in the index
 * of names (HK_DB_NAMES, name -> id), which keeps names unique even
 * between two commits; a delete takes the webhook's request log
 * (HK_DB_REQLOG, its id's key range) with it.
 *
 * Writer thread, inside the batch's transaction. Refusals (HK_ENOTFOUND,
 * HK_EEXIST, or rc_modify's) come before anything is written; after that
 * only store failures. The record's text is the domain's: it is never
 * parsed here, the names come in rc_name and rc_old_name.
 */
#include <string.h>

#include "hk.h"
#include "store/lmdb.h"

/* Deletes every key of ID's range in the request log. */
static int
lm_webhook_drop_log(MDB_txn *txn, MDB_dbi logs, const char *id)
{
	size_t idlen = strlen(id);
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, logs, &cur)) != 0)
		return hk_store_err(rc);
	k.mv_data = (void *)(uintptr_t)id;
	k.mv_size = idlen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size > idlen && memcmp(k.mv_data, id, idlen) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : hk_store_err(rc);
}

int
hk_lm_webhook_apply(struct hk_st_op *op, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_record *r = (struct hk_st_record *)(void *)op;
	MDB_dbi names = hk_store_dbi(st, HK_DB_NAMES);
	MDB_dbi hooks = hk_store_dbi(st, HK_DB_WEBHOOKS);
	size_t idlen = strlen(r->rc_id);
	int renamed, rc;
	MDB_val k, v;

	if (idlen == 0 || idlen >= HK_ID_MAX)
		return HK_EINVAL;
	if (r->rc_verb != HK_ST_CREATE) {
		k.mv_data = r->rc_id;
		k.mv_size = idlen;
		rc = mdb_get(txn, hooks, &k, &v);
		if (rc == MDB_NOTFOUND)
			return HK_ENOTFOUND;
		if (rc != 0)
			return hk_store_err(rc);
		if (r->rc_modify != NULL &&
		    (rc = r->rc_modify(r, v.mv_data, v.mv_size)) != 0)
			return rc;
	}
	if (r->rc_verb != HK_ST_DELETE &&
	    (r->rc_text == NULL || r->rc_name[0] == '\0'))
		return HK_EINVAL;
	renamed = r->rc_verb == HK_ST_DELETE ||
	    strcmp(r->rc_name, r->rc_old_name) != 0;
	if (r->rc_verb != HK_ST_DELETE && renamed) {
		k.mv_data = r->rc_name;
		k.mv_size = strlen(r->rc_name);
		if ((rc = mdb_get(txn, names, &k, &v)) == 0)
			return HK_EEXIST;
		if (rc != MDB_NOTFOUND)
			return hk_store_err(rc);
	}
	/* Nothing refused from here: only store failures remain. */
	if (r->rc_old_name[0] != '\0' && renamed &&
	    (rc = hk_lm_del(
	         txn, names, r->rc_old_name, strlen(r->rc_old_name))) != 0)
		return rc;
	if (r->rc_verb == HK_ST_DELETE) {
		if ((rc = hk_lm_del(txn, hooks, r->rc_id, idlen)) != 0)
			return rc;
		return lm_webhook_drop_log(
		    txn, hk_store_dbi(st, HK_DB_REQLOG), r->rc_id);
	}
	if (renamed &&
	    (rc = hk_lm_put(txn, names, r->rc_name, strlen(r->rc_name),
	         r->rc_id, idlen)) != 0)
		return rc;
	return hk_store_put(
	    txn, hooks, r->rc_id, idlen, r->rc_text, r->rc_len, 0);
}
