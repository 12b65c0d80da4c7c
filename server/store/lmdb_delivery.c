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

int
hk_delivery_move(struct hk_store *st, MDB_txn *txn, struct hk_delivery *d,
    enum hk_dstate to, int cls, int64_t due)
{
	enum hk_dstate from = d->state;
	int rc;

	assert(hk_dstate_legal(from, to));
	if (!hk_dstate_legal(from, to))
		return HK_EINVAL;
	log_debug("delivery_state", "func=%s delivery=%s transition=%s->%s",
	    __func__, d->id, hk_dstate_name(from), hk_dstate_name(to));
	/* The old entry and the new go in the record's transaction. */
	if (from == HK_DS_PENDING && (rc = dlv_queue(st, txn, d, 0)) != 0)
		return rc;
	/* So are the failed ones' index entries (GET ?status=failed). */
	if (from == HK_DS_FAILED &&
	    (rc = hk_lm_del(txn, hk_store_dbi(st, HK_DB_FAILED), d->id,
	         strlen(d->id))) != 0)
		return rc;
	if (to == HK_DS_FAILED &&
	    (rc = hk_lm_put(txn, hk_store_dbi(st, HK_DB_FAILED), d->id,
	         strlen(d->id), "", 0)) != 0)
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

/* HK_ST_OUTCOME: the attempt and the move, or nothing if no longer pending. */
int
hk_lm_outcome_apply(struct hk_st_op *op, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_outcome *oc = (struct hk_st_outcome *)op;
	struct hk_delivery d;

	oc->oc_gone = 0;
	if (hk_delivery_read(st, txn, oc->oc_dlv, &d) != 0 ||
	    d.state != HK_DS_PENDING) {
		oc->oc_gone = 1;
		return 0;
	}
	/* The old queue entry goes in the same commit as the outcome. */
	return hk_delivery_attempt(st, txn, &d, oc->oc_attempt, oc->oc_text,
	    oc->oc_len, oc->oc_to, oc->oc_due);
}

/* Failed deliveries of subscription do_id created in the window, again. */
static int
dlv_recover(struct hk_st_dlvop *o, struct hk_store *st, MDB_txn *txn)
{
	size_t ilen = strlen(o->do_id);
	char id[HK_ID_MAX];
	struct hk_delivery d;
	MDB_cursor *cur;
	MDB_val k, v;
	int64_t created;
	int rc, rc2 = 0;

	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_SUBDLV), &cur)) !=
	    0)
		return hk_store_err(rc);
	k.mv_data = o->do_id;
	k.mv_size = ilen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= ilen || k.mv_size - ilen >= HK_ID_MAX ||
		    memcmp(k.mv_data, o->do_id, ilen) != 0 ||
		    o->do_count >= o->do_max)
			break;
		memcpy(id, (char *)k.mv_data + ilen, k.mv_size - ilen);
		id[k.mv_size - ilen] = '\0';
		created = hk_id_ms("dlv_", id);
		if (created < o->do_since ||
		    (o->do_until > 0 && created >= o->do_until))
			continue;
		if (hk_delivery_read(st, txn, id, &d) != 0 ||
		    d.state != HK_DS_FAILED)
			continue;
		o->do_count++;
		if ((rc2 = hk_delivery_retry(st, txn, &d)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc2 == 0 && rc != 0 && rc != MDB_NOTFOUND)
		rc2 = hk_store_err(rc);
	return rc2;
}

/* HK_ST_DELIVERIES: an admin's retry, recover or replay. */
int
hk_lm_dlvop_apply(struct hk_st_op *op, struct hk_store *st, MDB_txn *txn)
{
	struct hk_st_dlvop *o = (struct hk_st_dlvop *)op;
	char id[HK_ID_MAX];
	struct hk_delivery d;
	size_t i;
	int rc;

	/* A failed batch is applied again: start afresh. */
	o->do_count = 0;
	if (o->do_ids != NULL)
		o->do_ids->len = 0;
	switch (o->do_verb) {
	case HK_ST_RETRY:
		if ((rc = hk_delivery_read(st, txn, o->do_id, &d)) != 0)
			return rc == HK_EINVAL ? HK_ENOTFOUND : rc;
		return hk_delivery_retry(st, txn, &d);
	case HK_ST_RECOVER:
		return dlv_recover(o, st, txn);
	case HK_ST_REPLAY:
		for (i = 0; i < o->do_nsubs; i++) {
			if ((rc = hk_delivery_create(st, txn, o->do_id,
			         o->do_subs[i], o->do_sub_max[i], o->do_now,
			         id)) != 0)
				return rc;
			if ((o->do_count++ > 0 &&
			        hk_buf_addc(o->do_ids, ',') != 0) ||
			    hk_buf_add_jsonstr(o->do_ids, id) != 0)
				return HK_ENOMEM;
		}
		return 0;
	}
	return HK_EINVAL;
}

/* The due time in a queue key whose subscription id is SLEN bytes. */
static int64_t
queue_due(const unsigned char *k, size_t slen)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | k[slen + 1 + i];
	return (int64_t)v;
}

/* Hands delivery DLV with its event to du_take (NULLs: missing). */
static void
due_take(
    struct hk_st_due *du, struct hk_store *st, MDB_txn *txn, const char *dlv)
{
	struct hk_delivery d;
	MDB_val k, v;

	if (hk_delivery_read(st, txn, dlv, &d) != 0) {
		du->du_take(du, dlv, NULL, NULL, 0);
		return;
	}
	k.mv_data = d.event;
	k.mv_size = strlen(d.event);
	if (mdb_get(txn, hk_store_dbi(st, HK_DB_EVENTS), &k, &v) != 0)
		du->du_take(du, dlv, &d, NULL, 0);
	else
		du->du_take(du, dlv, &d, v.mv_data, v.mv_size);
}

static void
due_next(struct hk_st_due *du, int64_t due)
{
	if (due < du->du_next)
		du->du_next = due;
}

/* An ordered subscription's head alone. */
static void
due_only(struct hk_st_due *du, struct hk_store *st, MDB_txn *txn)
{
	struct hk_delivery d;

	if (hk_delivery_read(st, txn, du->du_only, &d) != 0 ||
	    d.state != HK_DS_PENDING) {
		du->du_gone = 1;
		return;
	}
	if (d.due > du->du_now)
		due_next(du, d.due);
	else if (du->du_pick(du, du->du_only) == 1)
		due_take(du, st, txn, du->du_only);
}

/*
 * One class of the subscription's queue, in key (due) order from START
 * (a queue key). Returns -1 when du_pick stopped the read.
 */
static int
due_class(struct hk_st_due *du, struct hk_store *st, MDB_txn *txn,
    MDB_cursor *cur, int cls, const void *start, size_t slen0)
{
	size_t slen = strlen(du->du_sub);
	char dlv[HK_ID_MAX];
	const unsigned char *kp;
	MDB_val k = {slen0, (void *)(uintptr_t)start}, v;
	int64_t due;
	int rc, pick;

	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		kp = k.mv_data;
		if (k.mv_size <= slen + 9 ||
		    k.mv_size - slen - 9 >= HK_ID_MAX ||
		    memcmp(kp, du->du_sub, slen) != 0 || kp[slen] != cls)
			return 0;
		if ((due = queue_due(kp, slen)) > du->du_now) {
			due_next(du, due);
			return 0;
		}
		memcpy(dlv, kp + slen + 9, k.mv_size - slen - 9);
		dlv[k.mv_size - slen - 9] = '\0';
		if ((pick = du->du_pick(du, dlv)) < 0) {
			if (cls == 0 && k.mv_size <= sizeof(du->du_pos)) {
				memcpy(du->du_pos, k.mv_data, k.mv_size);
				du->du_poslen = k.mv_size;
			}
			return -1;
		}
		if (pick == 1)
			due_take(du, st, txn, dlv);
	}
	return 0;
}

/* An ordered subscription's pending retry, into du_head: 1, or 0. */
static int
due_head(struct hk_st_due *du, MDB_cursor *cur)
{
	size_t slen = strlen(du->du_sub);
	char start[HK_ID_MAX + 1];
	const unsigned char *kp;
	MDB_val k = {slen + 1, start}, v;

	memcpy(start, du->du_sub, slen);
	start[slen] = 1;
	if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) != 0)
		return 0;
	kp = k.mv_data;
	if (k.mv_size <= slen + 9 || k.mv_size - slen - 9 >= HK_ID_MAX ||
	    memcmp(kp, du->du_sub, slen) != 0 || kp[slen] != 1)
		return 0;
	memcpy(du->du_head, kp + slen + 9, k.mv_size - slen - 9);
	du->du_head[k.mv_size - slen - 9] = '\0';
	return 1;
}

void
hk_lm_due(struct hk_store *st, struct hk_st_due *du)
{
	char start[HK_ID_MAX + 1];
	size_t slen = strlen(du->du_sub);
	MDB_cursor *cur;
	MDB_txn *txn;
	int cls, rc = 0;

	du->du_next = INT64_MAX;
	du->du_gone = 0;
	du->du_head[0] = '\0';
	if (slen >= HK_ID_MAX || hk_store_rbegin(st, &txn) != 0) {
		du->du_done(du, HK_EIO);
		return;
	}
	if (du->du_only != NULL) {
		due_only(du, st, txn);
		hk_store_rend(st);
		du->du_done(du, 0);
		return;
	}
	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_QUEUE), &cur)) !=
	    0) {
		hk_store_rend(st);
		du->du_done(du, hk_store_err(rc));
		return;
	}
	if (du->du_ordered && due_head(du, cur)) {
		mdb_cursor_close(cur);
		hk_store_rend(st);
		du->du_done(du, 0);
		return;
	}
	/*
	 * First attempts resume where the last read stopped: what is before
	 * it is in flight, and new ones are queued after it. A read that
	 * finds nothing due from there starts over next time, so nothing is
	 * left behind for long.
	 */
	for (cls = 0; cls < 2; cls++) {
		memcpy(start, du->du_sub, slen);
		start[slen] = (char)cls;
		if (cls == 0 && du->du_poslen > 0) {
			unsigned char pos[HK_ST_POS_MAX];
			size_t n = du->du_poslen;

			memcpy(pos, du->du_pos, n);
			du->du_poslen = 0;
			if (due_class(du, st, txn, cur, cls, pos, n) < 0)
				break;
		} else if (due_class(du, st, txn, cur, cls, start, slen + 1) <
		    0)
			break;
	}
	mdb_cursor_close(cur);
	hk_store_rend(st);
	du->du_done(du, 0);
}
