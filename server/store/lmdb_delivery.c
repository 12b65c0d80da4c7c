/*
 * lmdb_delivery.c: the delivery lifecycle (proto/delivery.md) as the LMDB
 * engine keeps it, its one owner.
 *
 * A delivery is created in its event's commit: its record
 * (HK_DB_DELIVERIES), its queue entry (HK_DB_QUEUE, keyed by class, due
 * time and id; class 0 holds first attempts, class 1 retries, so fresh
 * events go before a backlog of retries) and two indexes (per event, per
 * subscription). From then on every change of its state goes through
 * hk_delivery_move(), which checks the transition is legal, traces it,
 * and moves the queue entry in the same transaction as the record: a
 * pending delivery has exactly one queue entry, any other none.
 *
 * The record's text is lib/dlv.c's alone. Everything here runs on the
 * writer thread inside its transaction, but hk_queue_key.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "dlv.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "store/lmdb.h"

size_t
hk_queue_key(const char *sub, int cls, int64_t due, const char *dlv, char *out)
{
	size_t s = strlen(sub), n = strlen(dlv);
	int i;

	memcpy(out, sub, s);
	out[s] = (char)cls;
	for (i = 0; i < 8; i++)
		out[s + 1 + i] = (char)((uint64_t)due >> (56 - 8 * i));
	memcpy(out + s + 9, dlv, n);
	return s + 9 + n;
}

/* An index key: PREFIX id followed by a delivery id. */
static size_t
dlv_index_key(const char *prefix, const char *dlv, char *out)
{
	size_t a = strlen(prefix), b = strlen(dlv);

	memcpy(out, prefix, a);
	memcpy(out + a, dlv, b);
	return a + b;
}

/* Writes D under its id (the record's only printer is lib/dlv.c). */
static int
dlv_write(struct hk_store *st, MDB_txn *txn, const struct hk_delivery *d)
{
	struct hk_buf b = HK_BUF_INIT;
	int rc = hk_delivery_print(&b, d, HK_DLV_STORED);

	if (rc == 0)
		rc = hk_store_put(txn, hk_store_dbi(st, HK_DB_DELIVERIES),
		    d->id, strlen(d->id), b.b, b.len, 0);
	hk_buf_free(&b);
	return rc;
}

/* Puts the queue entry of pending D for its (cls, due), or removes it. */
static int
dlv_queue(
    struct hk_store *st, MDB_txn *txn, const struct hk_delivery *d, int add)
{
	char k[HK_QKEY_MAX];
	size_t n = hk_queue_key(d->sub, d->cls, d->due, d->id, k);
	MDB_dbi q = hk_store_dbi(st, HK_DB_QUEUE);

	return add ? hk_lm_put(txn, q, k, n, "", 0) : hk_lm_del(txn, q, k, n);
}

int
hk_delivery_read(
    struct hk_store *st, MDB_txn *txn, const char *id, struct hk_delivery *d)
{
	MDB_val k = {strlen(id), (void *)(uintptr_t)id}, v;
	int rc;

	if ((rc = mdb_get(txn, hk_store_dbi(st, HK_DB_DELIVERIES), &k, &v)) !=
	    0)
		return rc == MDB_NOTFOUND ? HK_ENOTFOUND : hk_store_err(rc);
	return hk_delivery_parse(v.mv_data, v.mv_size, d);
}

/*
 * The stored transitions: pending to pending (a retry scheduled, or
 * brought forward), to each final state; failed to pending (retried by
 * hand). in_flight is the engine's, never stored.
 */
static int
dlv_legal(enum hk_dstate from, enum hk_dstate to)
{
	switch (from) {
	case HK_DS_PENDING:
		return to == HK_DS_PENDING || to == HK_DS_SUCCEEDED ||
		    to == HK_DS_FAILED || to == HK_DS_CANCELLED;
	case HK_DS_FAILED:
		return to == HK_DS_PENDING;
	default:
		return 0;
	}
}

int
hk_delivery_move(struct hk_store *st, MDB_txn *txn, struct hk_delivery *d,
    enum hk_dstate to, int cls, int64_t due)
{
	enum hk_dstate from = d->state;
	int rc;

	assert(dlv_legal(from, to));
	if (!dlv_legal(from, to))
		return HK_EINVAL;
	log_debug("delivery_state", "func=%s delivery=%s transition=%s->%s",
	    __func__, d->id, hk_dstate_name(from), hk_dstate_name(to));
	/* The old entry and the new go in the record's transaction. */
	if (from == HK_DS_PENDING && (rc = dlv_queue(st, txn, d, 0)) != 0)
		return rc;
	d->state = to;
	hk_time_iso(hk_now_ms(), d->updated);
	d->next[0] = '\0';
	if (to == HK_DS_PENDING) {
		d->cls = cls;
		d->due = due;
		hk_time_iso(due, d->next);
		if ((rc = dlv_queue(st, txn, d, 1)) != 0)
			return rc;
	}
	return dlv_write(st, txn, d);
}

int
hk_delivery_create(struct hk_store *st, MDB_txn *txn, const char *evt,
    const char *sub, int max_attempts, int64_t now, char *id)
{
	char k[HK_QKEY_MAX];
	struct hk_delivery d;
	size_t n;
	int rc;

	hk_id_at("dlv_", now, id);
	memset(&d, 0, sizeof(d));
	memcpy(d.id, id, sizeof(d.id));
	snprintf(d.event, sizeof(d.event), "%s", evt);
	snprintf(d.sub, sizeof(d.sub), "%s", sub);
	d.state = HK_DS_PENDING;
	hk_time_iso(now, d.next);
	memcpy(d.created, d.next, sizeof(d.created));
	memcpy(d.updated, d.next, sizeof(d.updated));
	d.limit = max_attempts;
	d.due = now;
	if ((rc = dlv_write(st, txn, &d)) != 0 ||
	    (rc = dlv_queue(st, txn, &d, 1)) != 0)
		return rc;
	n = dlv_index_key(evt, id, k);
	if ((rc = hk_lm_put(txn, hk_store_dbi(st, HK_DB_EVDLV), k, n, "", 0)) !=
	    0)
		return rc;
	n = dlv_index_key(sub, id, k);
	return hk_lm_put(txn, hk_store_dbi(st, HK_DB_SUBDLV), k, n, "", 0);
}

int
hk_delivery_attempt(struct hk_store *st, MDB_txn *txn, struct hk_delivery *d,
    int attempt, const char *text, size_t len, enum hk_dstate to, int64_t due)
{
	char key[HK_ID_MAX + 2];
	size_t n = strlen(d->id);
	int rc;

	/* Attempts live beside the record: it stays small to rewrite. */
	memcpy(key, d->id, n);
	key[n] = (char)((attempt >> 8) & 0xff);
	key[n + 1] = (char)(attempt & 0xff);
	if ((rc = hk_lm_put(txn, hk_store_dbi(st, HK_DB_ATTEMPTS), key, n + 2,
	         text, len)) != 0)
		return rc;
	d->attempts = attempt;
	return hk_delivery_move(st, txn, d, to, 1, due);
}

int
hk_delivery_retry(struct hk_store *st, MDB_txn *txn, struct hk_delivery *d)
{
	int64_t now = hk_now_ms();

	/* A pending one's next attempt uses no attempt of its own. */
	if (d->state == HK_DS_PENDING)
		return hk_delivery_move(st, txn, d, HK_DS_PENDING, d->cls, now);
	if (d->state != HK_DS_FAILED)
		return HK_EEXIST;
	d->limit = d->attempts + 1;
	return hk_delivery_move(st, txn, d, HK_DS_PENDING, 0, now);
}

int
hk_delivery_cancel_all(
    struct hk_store *st, MDB_txn *txn, const char *sub, uint64_t *count)
{
	size_t slen = strlen(sub);
	char id[HK_ID_MAX];
	struct hk_delivery d;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, rc2 = 0;

	*count = 0;
	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_SUBDLV), &cur)) !=
	    0)
		return hk_store_err(rc);
	k.mv_data = (void *)(uintptr_t)sub;
	k.mv_size = slen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= slen || k.mv_size - slen >= HK_ID_MAX ||
		    memcmp(k.mv_data, sub, slen) != 0)
			break;
		memcpy(id, (char *)k.mv_data + slen, k.mv_size - slen);
		id[k.mv_size - slen] = '\0';
		if (hk_delivery_read(st, txn, id, &d) != 0 ||
		    d.state != HK_DS_PENDING)
			continue;
		(*count)++;
		if ((rc2 = hk_delivery_move(
		         st, txn, &d, HK_DS_CANCELLED, 0, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc2;
}
