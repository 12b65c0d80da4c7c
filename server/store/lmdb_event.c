/*
 * lmdb_event.c: the LMDB apply of HK_ST_EVENT (struct hk_st_event): an
 * event's envelope (HK_DB_EVENTS, keyed by its time-sortable id, so the
 * newest are last), its idempotency key (HK_DB_IDEM: scope '\0' key ->
 * event id) and one new delivery per matched subscription, all in the
 * batch's transaction. The key is checked and recorded there, so two
 * requests with one key in one batch still make one event.
 *
 * Writer thread, inside the batch's transaction. The one refusal,
 * HK_EDUP (with the first event's id in ev_dup), comes before anything
 * is written; after that only store failures. The envelope is the
 * domain's text: it is never parsed here.
 */
#include <string.h>

#include "hk.h"
#include "id.h"
#include "store/lmdb.h"

/*
 * Checks and records the idempotency key of E: HK_EDUP when it names an
 * event accepted no more than ev_idem_ttl_ms before this one; a key older
 * than that is taken over by this event.
 */
static int
lm_event_idem(struct hk_st_event *e, struct hk_store *st, MDB_txn *txn)
{
	MDB_dbi idem = hk_store_dbi(st, HK_DB_IDEM);
	int64_t first;
	MDB_val k, v;
	int rc;

	k.mv_data = (void *)(uintptr_t)e->ev_idem;
	k.mv_size = e->ev_idem_len;
	rc = mdb_get(txn, idem, &k, &v);
	if (rc == 0 && v.mv_size < HK_ID_MAX) {
		memcpy(e->ev_dup, v.mv_data, v.mv_size);
		e->ev_dup[v.mv_size] = '\0';
		first = hk_id_ms("evt_", e->ev_dup);
		if (first >= 0 && e->ev_ms - first <= e->ev_idem_ttl_ms)
			return HK_EDUP;
	} else if (rc != 0 && rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	return hk_lm_put(
	    txn, idem, e->ev_idem, e->ev_idem_len, e->ev_id, strlen(e->ev_id));
}

int
hk_lm_event_apply(struct hk_st_op *op, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_event *e = (struct hk_st_event *)(void *)op;
	char dlv[HK_ID_MAX];
	size_t i, idlen = strlen(e->ev_id);
	int rc;

	if (idlen == 0 || idlen >= HK_ID_MAX || e->ev_env == NULL)
		return HK_EINVAL;
	if (e->ev_idem != NULL && (rc = lm_event_idem(e, st, txn)) != 0)
		return rc;
	if ((rc = hk_store_put(txn, hk_store_dbi(st, HK_DB_EVENTS), e->ev_id,
	         idlen, e->ev_env, e->ev_envlen, 0)) != 0)
		return rc;
	for (i = 0; i < e->ev_nsubs; i++)
		if ((rc = hk_delivery_create(st, txn, e->ev_id, e->ev_subs[i],
		         e->ev_max[i], e->ev_ms, dlv)) != 0)
			return rc;
	return 0;
}
