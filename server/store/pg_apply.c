/*
 * pg_apply.c: the PostgreSQL engine's apply of every operation kind of
 * store.h, and the delivery lifecycle (proto/delivery.md) as this engine
 * keeps it: a delivery is one row of hookd_deliveries holding lib/dlv.c's
 * record, with its state, queue class and due time beside it in columns
 * so that the queue is a partial index over the pending ones (sub, cls,
 * due, id). Every change of state goes through hk_delivery_move(), which
 * checks the transition is legal and rewrites record and columns in one
 * statement.
 *
 * Writer thread only, inside the batch's transaction (and, for the
 * admin kinds, the operation's savepoint). Refusals (HK_EINVAL, HK_EEXIST, HK_ENOTFOUND,
 * HK_EDUP, or rc_modify's) are returned before anything is written;
 * the rows an operation changes are locked (FOR UPDATE) where it reads
 * them first. Other returns are store failures (pg_fail()). Each apply
 * starts afresh: a failed batch may apply an operation again.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dlv.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "store/pg.h"

/* D, a new delivery of event EVT to SUB, pending from NOW. */
static void
pg_dlv_new(struct hk_delivery *d, const char *evt, const char *sub,
    int max_attempts, int64_t now)
{
	memset(d, 0, sizeof(*d));
	hk_id_at("dlv_", now, d->id);
	snprintf(d->event, sizeof(d->event), "%s", evt);
	snprintf(d->sub, sizeof(d->sub), "%s", sub);
	d->state = HK_DS_PENDING;
	hk_time_iso(now, d->next);
	memcpy(d->created, d->next, sizeof(d->created));
	memcpy(d->updated, d->next, sizeof(d->updated));
	d->limit = max_attempts;
	d->due = now;
}

/* Writes D (record and columns) under its id, new or not. */
static int
pg_dlv_write(struct pg_tx *tx, const struct hk_delivery *d)
{
	struct hk_buf b = HK_BUF_INIT;
	struct pg_params p = {0};
	int64_t ms = hk_id_ms("dlv_", d->id);
	int rc;

	if ((rc = hk_delivery_print(&b, d, HK_DLV_STORED)) != 0) {
		hk_buf_free(&b);
		return rc;
	}
	pg_p_text(&p, d->id);
	pg_p_text(&p, d->event);
	pg_p_text(&p, d->sub);
	pg_p_int(&p, (int64_t)d->state);
	pg_p_int(&p, d->cls);
	pg_p_int(&p, d->due);
	pg_p_int(&p, ms < 0 ? 0 : ms);
	pg_p_bin(&p, b.b, b.len);
	rc = pg_runp(tx->tx_conn,
	    "INSERT INTO hookd_deliveries (id, event, sub, state, cls, due, "
	    "ms, rec) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
	    "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, "
	    "cls = EXCLUDED.cls, due = EXCLUDED.due, rec = EXCLUDED.rec",
	    &p);
	hk_buf_free(&b);
	return rc;
}

/* Reads and locks delivery ID: 0, HK_ENOTFOUND, HK_EINVAL or a failure. */
static int
pg_dlv_read(struct pg_tx *tx, const char *id, struct hk_delivery *d)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc;

	pg_p_text(&p, id);
	if ((r = pg_execp(tx->tx_conn,
	         "SELECT rec FROM hookd_deliveries WHERE id = $1 FOR UPDATE",
	         &p, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 0)
		rc = HK_ENOTFOUND;
	else
		rc = hk_delivery_parse(
		    PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), d);
	PQclear(r);
	return rc;
}

/*
 * The transition's checks and its effect on D and the counts, for
 * hk_delivery_move and the outcomes in bulk (which write the rows of a
 * run at once); FUNC is the caller's name, for the trace.
 */
static int
pg_dlv_moved(struct pg_tx *tx, struct hk_delivery *d, enum hk_dstate to,
    int cls, int64_t due, const char *func)
{
	enum hk_dstate from = d->state;

	assert(hk_dstate_legal(from, to));
	if (!hk_dstate_legal(from, to))
		return HK_EINVAL;
	log_debug("delivery_state", "func=%s delivery=%s transition=%s->%s",
	    func, d->id, hk_dstate_name(from), hk_dstate_name(to));
	if (from == HK_DS_PENDING)
		tx->tx_delta.d_rows[HK_SL_PENDING]--;
	d->state = to;
	hk_time_iso(hk_now_ms(), d->updated);
	d->next[0] = '\0';
	if (to == HK_DS_PENDING) {
		d->cls = cls;
		d->due = due;
		hk_time_iso(due, d->next);
		tx->tx_delta.d_rows[HK_SL_PENDING]++;
	}
	return 0;
}

/*
 * The one transition: D goes to TO; pending again means queued (CLS, DUE).
 * Named as LMDB's (static here): the trace names it (func=).
 */
static int
hk_delivery_move(struct pg_tx *tx, struct hk_delivery *d, enum hk_dstate to,
    int cls, int64_t due)
{
	int rc;

	if ((rc = pg_dlv_moved(tx, d, to, cls, due, __func__)) != 0)
		return rc;
	return pg_dlv_write(tx, d);
}

static int
pg_dlv_create(struct pg_tx *tx, const char *evt, const char *sub,
    int max_attempts, int64_t now, char *id)
{
	struct hk_delivery d;

	pg_dlv_new(&d, evt, sub, max_attempts, now);
	memcpy(id, d.id, sizeof(d.id));
	tx->tx_delta.d_rows[HK_SL_DELIVERIES]++;
	tx->tx_delta.d_rows[HK_SL_PENDING]++;
	return pg_dlv_write(tx, &d);
}

static int
pg_dlv_retry(struct pg_tx *tx, struct hk_delivery *d)
{
	int64_t now = hk_now_ms();

	/* A pending one's next attempt uses no attempt of its own. */
	if (d->state == HK_DS_PENDING)
		return hk_delivery_move(tx, d, HK_DS_PENDING, d->cls, now);
	if (d->state != HK_DS_FAILED)
		return HK_EEXIST;
	d->limit = d->attempts + 1;
	return hk_delivery_move(tx, d, HK_DS_PENDING, 0, now);
}

/*
 * Moves every delivery SQL (with P) selects, locked, as MOVE says; it
 * returns 1 to count one, 0 to step over it, or a failure.
 */
static int
pg_dlv_each(struct pg_tx *tx, const char *sql, struct pg_params *p,
    int (*move)(struct pg_tx *, struct hk_delivery *, void *), void *arg)
{
	struct hk_delivery d;
	PGresult *r;
	int i, n, rc;

	if ((r = pg_exec(tx->tx_conn, sql, p, &rc)) == NULL)
		return rc;
	n = PQntuples(r);
	for (i = 0; i < n && rc == 0; i++) {
		if (hk_delivery_parse(PQgetvalue(r, i, 0),
		        (size_t)PQgetlength(r, i, 0), &d) != 0)
			continue;
		rc = move(tx, &d, arg);
		if (rc > 0)
			rc = 0;
	}
	PQclear(r);
	return rc;
}

static int
pg_cancel_one(struct pg_tx *tx, struct hk_delivery *d, void *arg)
{
	if (d->state != HK_DS_PENDING)
		return 0;
	(*(uint64_t *)arg)++;
	return hk_delivery_move(tx, d, HK_DS_CANCELLED, 0, 0);
}

/* A change of LIST's ID went well (RC 0): the other nodes are told. */
static int
pg_told(struct pg_tx *tx, int rc, enum hk_st_list list, const char *id)
{
	if (rc != 0)
		return rc;
	tx->tx_config = 1;
	return pc_changed(tx->tx_conn, list, id);
}

/* HK_ST_WEBHOOK: the record, its unique name; a delete takes its log. */
int
pg_webhook_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	struct hk_st_record *r = (struct hk_st_record *)(void *)op;
	struct pg_params p = {0};
	PGresult *res;
	size_t idlen = strlen(r->rc_id);
	int renamed, rc, n;

	if (idlen == 0 || idlen >= HK_ID_MAX)
		return HK_EINVAL;
	if (r->rc_verb != HK_ST_CREATE) {
		pg_p_text(&p, r->rc_id);
		if ((res = pg_exec(tx->tx_conn,
		         "SELECT body FROM hookd_webhooks WHERE id = $1 "
		         "FOR UPDATE",
		         &p, &rc)) == NULL)
			return rc;
		if (PQntuples(res) == 0) {
			PQclear(res);
			return HK_ENOTFOUND;
		}
		rc = r->rc_modify == NULL
		    ? 0
		    : r->rc_modify(r, PQgetvalue(res, 0, 0),
		          (size_t)PQgetlength(res, 0, 0));
		PQclear(res);
		if (rc != 0)
			return rc;
	}
	if (r->rc_verb != HK_ST_DELETE &&
	    (r->rc_text == NULL || r->rc_name[0] == '\0'))
		return HK_EINVAL;
	renamed = r->rc_verb == HK_ST_DELETE ||
	    strcmp(r->rc_name, r->rc_old_name) != 0;
	if (r->rc_verb != HK_ST_DELETE && renamed) {
		memset(&p, 0, sizeof(p));
		pg_p_text(&p, r->rc_name);
		pg_p_text(&p, r->rc_id);
		if ((res = pg_exec(tx->tx_conn,
		         "SELECT 1 FROM hookd_webhooks WHERE name = $1 "
		         "AND id <> $2",
		         &p, &rc)) == NULL)
			return rc;
		n = PQntuples(res);
		PQclear(res);
		if (n > 0)
			return HK_EEXIST;
	}
	/* Nothing refused from here: only store failures remain. */
	memset(&p, 0, sizeof(p));
	pg_p_text(&p, r->rc_id);
	if (r->rc_verb == HK_ST_DELETE) {
		if ((res = pg_exec(tx->tx_conn,
		         "DELETE FROM hookd_reqlog WHERE webhook = $1 "
		         "RETURNING (octet_length(body) + octet_length(id) + "
		         "octet_length(webhook))::bigint",
		         &p, &rc)) == NULL)
			return rc;
		for (n = 0; n < PQntuples(res); n++)
			tx->tx_delta.d_logbytes -=
			    pg_int(res, n, 0) + PG_LOG_ROW;
		PQclear(res);
		tx->tx_delta.d_rows[HK_SL_WEBHOOKS]--;
		rc = pg_run(tx->tx_conn,
		    "DELETE FROM hookd_webhooks WHERE id = $1", &p);
	} else {
		pg_p_text(&p, r->rc_name);
		pg_p_bin(&p, r->rc_text, r->rc_len);
		if (r->rc_verb == HK_ST_CREATE) {
			tx->tx_delta.d_rows[HK_SL_WEBHOOKS]++;
			rc = pg_run(tx->tx_conn,
			    "INSERT INTO hookd_webhooks (id, name, body) "
			    "VALUES ($1, $2, $3)",
			    &p);
		} else
			rc = pg_run(tx->tx_conn,
			    "UPDATE hookd_webhooks SET name = $2, body = $3 "
			    "WHERE id = $1",
			    &p);
	}
	return pg_told(tx, rc, HK_SL_WEBHOOKS, r->rc_id);
}

/* HK_ST_SUB: the record; a delete cancels its pending deliveries. */
int
pg_sub_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	struct hk_st_record *r = (struct hk_st_record *)(void *)op;
	struct pg_params p = {0};
	PGresult *res;
	size_t idlen = strlen(r->rc_id);
	int rc, found;

	r->rc_cancelled = 0;
	if (idlen == 0 || idlen >= HK_ID_MAX)
		return HK_EINVAL;
	pg_p_text(&p, r->rc_id);
	if ((res = pg_exec(tx->tx_conn,
	         "SELECT body FROM hookd_subs WHERE id = $1 FOR UPDATE", &p,
	         &rc)) == NULL)
		return rc;
	found = PQntuples(res) > 0;
	rc = 0;
	if (r->rc_verb == HK_ST_CREATE) {
		if (found)
			rc = HK_EEXIST;
	} else if (!found)
		rc = HK_ENOTFOUND;
	else if (r->rc_modify != NULL)
		rc = r->rc_modify(
		    r, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	if (rc != 0)
		return rc;
	if (r->rc_verb != HK_ST_DELETE && r->rc_text == NULL)
		return HK_EINVAL;
	if (r->rc_verb != HK_ST_DELETE && r->rc_name[0] != '\0') {
		struct pg_params q = {0};
		int n;

		pg_p_text(&q, r->rc_name);
		pg_p_text(&q, r->rc_id);
		if ((res = pg_exec(tx->tx_conn,
		         "SELECT 1 FROM hookd_subs WHERE name = $1 AND id <> $2",
		         &q, &rc)) == NULL)
			return rc;
		n = PQntuples(res);
		PQclear(res);
		if (n > 0)
			return HK_EEXIST;
	}
	/* Nothing refused from here but a name taken at this moment. */
	if (r->rc_verb == HK_ST_DELETE) {
		if ((rc = pg_dlv_each(tx,
		         "SELECT rec FROM hookd_deliveries WHERE sub = $1 AND "
		         "state = 0 ORDER BY id FOR UPDATE",
		         &p, pg_cancel_one, &r->rc_cancelled)) != 0)
			return rc;
		tx->tx_delta.d_rows[HK_SL_SUBS]--;
		if ((rc = pg_run(tx->tx_conn,
		         "DELETE FROM hookd_leases WHERE sub = $1", &p)) == 0)
			rc = pg_run(tx->tx_conn,
			    "DELETE FROM hookd_subs WHERE id = $1", &p);
	} else {
		pg_p_bin(&p, r->rc_text, r->rc_len);
		pg_p_text(&p, r->rc_name);
		if (r->rc_verb == HK_ST_CREATE) {
			tx->tx_delta.d_rows[HK_SL_SUBS]++;
			rc = pg_run(tx->tx_conn,
			    "INSERT INTO hookd_subs (id, body, name) VALUES ($1, "
			    "$2, nullif($3, ''))",
			    &p);
		} else
			rc = pg_run(tx->tx_conn,
			    "UPDATE hookd_subs SET body = $2, name = nullif($3, "
			    "'') WHERE id = $1",
			    &p);
	}
	tx->tx_lease = r->rc_verb != HK_ST_UPDATE;
	return pg_told(tx, rc, HK_SL_SUBS, r->rc_id);
}

/*
 * The idempotency key of E: HK_EDUP when it names an event accepted no
 * more than ev_idem_ttl_ms before this one; an older one is taken over.
 */
static int
pg_event_idem(struct hk_st_event *e, struct pg_tx *tx)
{
	struct pg_params p = {0};
	PGresult *r;
	int64_t first;
	int rc, len;

	pg_p_bin(&p, e->ev_idem, e->ev_idem_len);
	if ((r = pg_execp(tx->tx_conn,
	         "SELECT event FROM hookd_idem WHERE key = $1 FOR UPDATE", &p,
	         &rc)) == NULL)
		return rc;
	if (PQntuples(r) > 0 && (len = PQgetlength(r, 0, 0)) < HK_ID_MAX) {
		memcpy(e->ev_dup, PQgetvalue(r, 0, 0), (size_t)len);
		e->ev_dup[len] = '\0';
		first = hk_id_ms("evt_", e->ev_dup);
		if (first >= 0 && e->ev_ms - first <= e->ev_idem_ttl_ms) {
			PQclear(r);
			return HK_EDUP;
		}
	}
	PQclear(r);
	pg_p_text(&p, e->ev_id);
	pg_p_int(&p, e->ev_ms);
	return pg_runp(tx->tx_conn,
	    "INSERT INTO hookd_idem (key, event, ms) VALUES ($1, $2, $3) "
	    "ON CONFLICT (key) DO UPDATE SET event = EXCLUDED.event, "
	    "ms = EXCLUDED.ms",
	    &p);
}

/*
 * Runs SQL (a constant: pg_runp) with arrays A[FROM] .. A[TO - 1] as its
 * parameters, unless RC already failed or the arrays are empty (ROWS 0).
 */
static int
pg_arrs_run(PGconn *c, int rc, const char *sql, struct pg_arr *a, size_t from,
    size_t to, size_t rows)
{
	struct pg_params p = {0};
	size_t k;

	for (k = from; rc == 0 && rows > 0 && k < to; k++)
		rc = pg_arr_param(&p, &a[k]);
	if (rc == 0 && rows > 0)
		rc = pg_runp(c, sql, &p);
	return rc;
}

int
pg_event_bulk(const struct hk_st_op *op)
{
	const struct hk_st_event *e =
	    (const struct hk_st_event *)(const void *)op;
	size_t idlen;

	if (op->so_kind != HK_ST_EVENT || e->ev_idem != NULL)
		return 0;
	idlen = strlen(e->ev_id);
	return idlen > 0 && idlen < HK_ID_MAX && e->ev_env != NULL;
}

/*
 * HK_ST_EVENT in bulk: N events without idempotency keys (pg_event_bulk:
 * nothing refuses them), their rows in one INSERT and their deliveries
 * in another, where one INSERT each cost a round trip per row. 0, or
 * the failure, for all N.
 */
int
pg_events_apply(struct hk_st_op *const *ops, size_t n, struct pg_tx *tx)
{
	enum {
		EID,
		EMS,
		EBODY,
		DID,
		DEVT,
		DSUB,
		DSTATE,
		DCLS,
		DDUE,
		DMS,
		DREC,
		NARR
	};
	static const uint32_t oids[NARR] = {PG_OID_TEXT, PG_OID_INT8,
	    PG_OID_BYTEA, PG_OID_TEXT, PG_OID_TEXT, PG_OID_TEXT, PG_OID_INT8,
	    PG_OID_INT8, PG_OID_INT8, PG_OID_INT8, PG_OID_BYTEA};
	struct pg_arr a[NARR];
	struct hk_buf rec = HK_BUF_INIT;
	struct hk_delivery d;
	size_t i, k, m = 0;
	int64_t ms;
	int rc = 0;

	for (k = 0; k < NARR; k++)
		pg_arr_init(&a[k], oids[k]);
	for (i = 0; i < n && rc == 0; i++) {
		const struct hk_st_event *e =
		    (const struct hk_st_event *)(const void *)ops[i];

		pg_arr_text(&a[EID], e->ev_id);
		pg_arr_int(&a[EMS], e->ev_ms);
		pg_arr_add(&a[EBODY], e->ev_env, e->ev_envlen);
		for (k = 0; k < e->ev_nsubs && rc == 0; k++) {
			pg_dlv_new(&d, e->ev_id, e->ev_subs[k], e->ev_max[k],
			    e->ev_ms);
			rec.len = 0;
			if ((rc = hk_delivery_print(&rec, &d, HK_DLV_STORED)) !=
			    0)
				break;
			ms = hk_id_ms("dlv_", d.id);
			pg_arr_text(&a[DID], d.id);
			pg_arr_text(&a[DEVT], d.event);
			pg_arr_text(&a[DSUB], d.sub);
			pg_arr_int(&a[DSTATE], (int64_t)d.state);
			pg_arr_int(&a[DCLS], d.cls);
			pg_arr_int(&a[DDUE], d.due);
			pg_arr_int(&a[DMS], ms < 0 ? 0 : ms);
			pg_arr_add(&a[DREC], rec.b, rec.len);
			m++;
		}
	}
	hk_buf_free(&rec);
	rc = pg_arrs_run(tx->tx_conn, rc,
	    "INSERT INTO hookd_events (id, ms, body) SELECT * FROM "
	    "unnest($1::text[], $2::int8[], $3::bytea[]) ON CONFLICT "
	    "(id) DO UPDATE SET ms = EXCLUDED.ms, body = EXCLUDED.body",
	    a, EID, EBODY + 1, n);
	rc = pg_arrs_run(tx->tx_conn, rc,
	    "INSERT INTO hookd_deliveries (id, event, sub, state, cls, "
	    "due, ms, rec) SELECT * FROM unnest($1::text[], $2::text[], "
	    "$3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], "
	    "$8::bytea[]) ON CONFLICT (id) DO UPDATE SET state = "
	    "EXCLUDED.state, cls = EXCLUDED.cls, due = EXCLUDED.due, rec = "
	    "EXCLUDED.rec",
	    a, DID, NARR, m);
	for (k = 0; k < NARR; k++)
		hk_buf_free(&a[k].b);
	if (rc != 0)
		return rc;
	tx->tx_delta.d_rows[HK_SL_EVENTS] += (int64_t)n;
	tx->tx_delta.d_rows[HK_SL_DELIVERIES] += (int64_t)m;
	tx->tx_delta.d_rows[HK_SL_PENDING] += (int64_t)m;
	tx->tx_work = m > 0;
	return 0;
}

/* HK_ST_EVENT: the envelope, its key, one delivery per subscription. */
int
pg_event_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	struct hk_st_event *e = (struct hk_st_event *)(void *)op;
	size_t idlen = strlen(e->ev_id);
	int rc;

	if (idlen == 0 || idlen >= HK_ID_MAX || e->ev_env == NULL)
		return HK_EINVAL;
	if (e->ev_idem != NULL && (rc = pg_event_idem(e, tx)) != 0)
		return rc;
	return pg_events_apply(&op, 1, tx);
}

/* HK_ST_OUTCOME: the attempt and the move, or nothing if not pending. */
int
pg_outcome_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	return pg_outcomes_apply(&op, 1, tx);
}

int
pg_outcome_bulk(const struct hk_st_op *op)
{
	return op->so_kind == HK_ST_OUTCOME;
}

/* D among the N of V with id ID, or NULL. */
static struct hk_delivery *
pg_dlv_find(struct hk_delivery *v, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return &v[i];
	return NULL;
}

/*
 * HK_ST_OUTCOME in bulk: N outcomes in three statements (their records
 * read and locked, their attempts inserted, their records updated)
 * instead of three each; each as pg_outcome_apply would, in order (two
 * of one delivery: the second on what the first made). 0, or the
 * failure, for all N.
 */
int
pg_outcomes_apply(struct hk_st_op *const *ops, size_t n, struct pg_tx *tx)
{
	enum { AID, AN, ABODY, UID, USTATE, UCLS, UDUE, UREC, NARR };
	static const uint32_t oids[NARR] = {PG_OID_TEXT, PG_OID_INT8,
	    PG_OID_BYTEA, PG_OID_TEXT, PG_OID_INT8, PG_OID_INT8, PG_OID_INT8,
	    PG_OID_BYTEA};
	struct pg_arr a[NARR], ids;
	struct pg_params p = {0};
	struct hk_buf rec = HK_BUF_INIT;
	struct hk_delivery *ds;
	unsigned char *moved;
	PGresult *r = NULL;
	size_t i, k, nd = 0, att = 0, upd = 0;
	int rc = 0;

	if ((ds = calloc(n, sizeof(*ds))) == NULL ||
	    (moved = calloc(n, 1)) == NULL) {
		free(ds);
		return HK_ENOMEM;
	}
	for (k = 0; k < NARR; k++)
		pg_arr_init(&a[k], oids[k]);
	pg_arr_init(&ids, PG_OID_TEXT);
	for (i = 0; i < n; i++) {
		const struct hk_st_outcome *oc =
		    (const struct hk_st_outcome *)(const void *)ops[i];

		if (pg_dlv_find(ds, nd, oc->oc_dlv) == NULL) {
			snprintf(
			    ds[nd++].id, sizeof(ds[0].id), "%s", oc->oc_dlv);
			pg_arr_text(&ids, oc->oc_dlv);
		}
	}
	/* Locked in id order, as every other writer of these rows. */
	if ((rc = pg_arr_param(&p, &ids)) == 0)
		r = pg_execp(tx->tx_conn,
		    "SELECT id, rec FROM hookd_deliveries WHERE id = "
		    "ANY($1::text[]) ORDER BY id FOR UPDATE",
		    &p, &rc);
	/* Found and read: its state; else none (state stays 0 = unset). */
	for (i = 0; r != NULL && i < (size_t)PQntuples(r); i++) {
		struct hk_delivery *d =
		    pg_dlv_find(ds, nd, PQgetvalue(r, (int)i, 0));
		struct hk_delivery got;

		if (d != NULL &&
		    hk_delivery_parse(PQgetvalue(r, (int)i, 1),
		        (size_t)PQgetlength(r, (int)i, 1), &got) == 0 &&
		    strcmp(got.id, d->id) == 0) {
			*d = got;
			moved[d - ds] = 2; /* read */
		}
	}
	PQclear(r);
	for (i = 0; rc == 0 && i < n; i++) {
		struct hk_st_outcome *oc =
		    (struct hk_st_outcome *)(void *)ops[i];
		struct hk_delivery *d = pg_dlv_find(ds, nd, oc->oc_dlv);

		oc->oc_gone = 0;
		if (d == NULL || moved[d - ds] == 0 ||
		    d->state != HK_DS_PENDING) {
			oc->oc_gone = 1;
			continue;
		}
		pg_arr_text(&a[AID], d->id);
		pg_arr_int(&a[AN], oc->oc_attempt);
		pg_arr_add(&a[ABODY], oc->oc_text, oc->oc_len);
		att++;
		d->attempts = oc->oc_attempt;
		rc = pg_dlv_moved(
		    tx, d, oc->oc_to, 1, oc->oc_due, "hk_delivery_move");
		moved[d - ds] = 1;
	}
	for (i = 0; rc == 0 && i < nd; i++) {
		if (moved[i] != 1)
			continue;
		rec.len = 0;
		if ((rc = hk_delivery_print(&rec, &ds[i], HK_DLV_STORED)) != 0)
			break;
		pg_arr_text(&a[UID], ds[i].id);
		pg_arr_int(&a[USTATE], (int64_t)ds[i].state);
		pg_arr_int(&a[UCLS], ds[i].cls);
		pg_arr_int(&a[UDUE], ds[i].due);
		pg_arr_add(&a[UREC], rec.b, rec.len);
		upd++;
	}
	hk_buf_free(&rec);
	rc = pg_arrs_run(tx->tx_conn, rc,
	    "INSERT INTO hookd_attempts (dlv, n, body) SELECT * FROM "
	    "unnest($1::text[], $2::int8[], $3::bytea[]) ON CONFLICT "
	    "(dlv, n) DO UPDATE SET body = EXCLUDED.body",
	    a, AID, ABODY + 1, att);
	rc = pg_arrs_run(tx->tx_conn, rc,
	    "UPDATE hookd_deliveries d SET state = u.state, cls = u.cls, "
	    "due = u.due, rec = u.rec FROM unnest($1::text[], "
	    "$2::int8[], $3::int8[], $4::int8[], $5::bytea[]) AS u(id, "
	    "state, cls, due, rec) WHERE d.id = u.id",
	    a, UID, NARR, upd);
	for (k = 0; k < NARR; k++)
		hk_buf_free(&a[k].b);
	hk_buf_free(&ids.b);
	free(ds);
	free(moved);
	return rc;
}

static int
pg_recover_one(struct pg_tx *tx, struct hk_delivery *d, void *arg)
{
	struct hk_st_dlvop *o = arg;

	if (d->state != HK_DS_FAILED || o->do_count >= o->do_max)
		return 0;
	o->do_count++;
	return pg_dlv_retry(tx, d);
}

/* HK_ST_DELIVERIES: an admin's retry, recover or replay. */
int
pg_dlvop_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	struct hk_st_dlvop *o = (struct hk_st_dlvop *)op;
	struct pg_params p = {0};
	char id[HK_ID_MAX];
	struct hk_delivery d;
	size_t i;
	int rc;

	o->do_count = 0;
	if (o->do_ids != NULL)
		o->do_ids->len = 0;
	tx->tx_work = 1;
	switch (o->do_verb) {
	case HK_ST_RETRY:
		if ((rc = pg_dlv_read(tx, o->do_id, &d)) != 0)
			return rc == HK_EINVAL ? HK_ENOTFOUND : rc;
		return pg_dlv_retry(tx, &d);
	case HK_ST_RECOVER:
		if (o->do_max == 0)
			return 0;
		pg_p_text(&p, o->do_id);
		pg_p_int(&p, o->do_since);
		pg_p_int(&p, o->do_until > 0 ? o->do_until : INT64_MAX);
		pg_p_int(
		    &p, o->do_max > INT64_MAX ? INT64_MAX : (int64_t)o->do_max);
		return pg_dlv_each(tx,
		    "SELECT rec FROM hookd_deliveries WHERE sub = $1 AND "
		    "state = 3 AND ms >= $2 AND ms < $3 ORDER BY id LIMIT $4 "
		    "FOR UPDATE",
		    &p, pg_recover_one, o);
	case HK_ST_REPLAY:
		for (i = 0; i < o->do_nsubs; i++) {
			if ((rc = pg_dlv_create(tx, o->do_id, o->do_subs[i],
			         o->do_sub_max[i], o->do_now, id)) != 0)
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

#define PG_LOG_TRIM_MAX 5000 /* entries one operation deletes at most */
#define PG_LOG_TRIM_STEP 16
#define PG_LOG_ROWS 32 /* entries one INSERT writes */

/* The bytes entry E counts for. */
static int64_t
pg_log_cost(const struct hk_st_log_entry *e)
{
	return (int64_t)(strlen(e->le_webhook) + strlen(e->le_id) + e->le_len +
	    PG_LOG_ROW);
}

/*
 * HK_ST_LOG: the oldest entries of all webhooks go until the new ones
 * fit in the budget with a twentieth to spare; if they cannot, they are
 * dropped (lg_over). The size is the entries' bytes, kept by the engine.
 */
int
pg_log_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	struct hk_st_log *lg = (struct hk_st_log *)(void *)op;
	const struct hk_st_log_entry *e;
	struct pg_params p;
	int64_t need = 0, size = (int64_t)tx->tx_logbytes;
	int64_t budget = (int64_t)lg->lg_budget;
	PGresult *r;
	size_t i, wlen, ilen;
	int rc, n, j;

	lg->lg_trimmed = 0;
	lg->lg_over = 0;
	for (i = 0; i < lg->lg_n; i++) {
		e = &lg->lg_entries[i];
		wlen = strlen(e->le_webhook);
		ilen = strlen(e->le_id);
		if (wlen == 0 || wlen >= HK_ID_MAX || ilen == 0 ||
		    ilen >= HK_ID_MAX)
			return HK_EINVAL;
		need += pg_log_cost(e);
	}
	if (size + need > budget) {
		while (size > 0 && lg->lg_trimmed < PG_LOG_TRIM_MAX &&
		    size + need > budget - budget / 20) {
			memset(&p, 0, sizeof(p));
			pg_p_int(&p, PG_LOG_TRIM_STEP);
			if ((r = pg_exec(tx->tx_conn,
			         "DELETE FROM hookd_reqlog WHERE (webhook, id) "
			         "IN (SELECT webhook, id FROM hookd_reqlog "
			         "ORDER BY ms, id LIMIT $1) RETURNING "
			         "(octet_length(body) + octet_length(id) + "
			         "octet_length(webhook))::bigint",
			         &p, &rc)) == NULL)
				return rc;
			n = PQntuples(r);
			for (j = 0; j < n; j++) {
				size -= pg_int(r, j, 0) + PG_LOG_ROW;
				tx->tx_delta.d_logbytes -=
				    pg_int(r, j, 0) + PG_LOG_ROW;
			}
			PQclear(r);
			lg->lg_trimmed += (uint64_t)n;
			if (n == 0)
				break;
		}
		if (size < 0)
			size = 0;
		lg->lg_over = size + need > budget;
		if (lg->lg_over)
			return 0;
	}
	/* Many entries a statement: a pass's requests come in one op. */
	for (i = 0; i < lg->lg_n; i += PG_LOG_ROWS) {
		char sql[128 + PG_LOG_ROWS * 32];
		size_t k, len;
		int64_t ms;

		memset(&p, 0, sizeof(p));
		len = (size_t)snprintf(sql, sizeof(sql),
		    "INSERT INTO hookd_reqlog (webhook, id, ms, body) VALUES ");
		for (k = i; k < lg->lg_n && k < i + PG_LOG_ROWS; k++) {
			e = &lg->lg_entries[k];
			ms = hk_id_ms("rlg_", e->le_id);
			pg_p_text(&p, e->le_webhook);
			pg_p_text(&p, e->le_id);
			pg_p_int(&p, ms < 0 ? 0 : ms);
			pg_p_bin(&p, e->le_text, e->le_len);
			len += (size_t)snprintf(sql + len, sizeof(sql) - len,
			    "%s($%d, $%d, $%d, $%d)", k > i ? ", " : "",
			    p.n - 3, p.n - 2, p.n - 1, p.n);
		}
		snprintf(sql + len, sizeof(sql) - len,
		    " ON CONFLICT (webhook, id) DO NOTHING RETURNING "
		    "(octet_length(body) + octet_length(id) + "
		    "octet_length(webhook))::bigint");
		if ((r = pg_exec(tx->tx_conn, sql, &p, &rc)) == NULL)
			return rc;
		for (j = 0; j < PQntuples(r); j++)
			tx->tx_delta.d_logbytes += pg_int(r, j, 0) + PG_LOG_ROW;
		PQclear(r);
	}
	return 0;
}

#define PG_PURGE_BATCH 500 /* records one operation deletes at most */

/* HK_ST_PURGE: old final events with their deliveries, old logs, keys. */
int
pg_purge_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	struct hk_st_purge *o = (struct hk_st_purge *)(void *)op;
	struct pg_params p = {0};
	PGresult *r;
	int rc, n, i;

	o->pu_events = o->pu_logs = o->pu_deliveries = 0;
	o->pu_full = 0;
	o->pu_poslen = 0;
	pg_p_int(&p, o->pu_cutoff);
	pg_p_int(&p, PG_PURGE_BATCH);
	/* Events whose deliveries are all final; theirs go with them. */
	if ((r = pg_exec(tx->tx_conn,
	         "WITH ev AS (SELECT e.id FROM hookd_events e WHERE e.ms < $1 "
	         "AND NOT EXISTS (SELECT 1 FROM hookd_deliveries d WHERE "
	         "d.event = e.id AND d.state = 0) ORDER BY e.ms, e.id "
	         "LIMIT $2 FOR UPDATE), "
	         "dl AS (DELETE FROM hookd_deliveries d USING ev WHERE "
	         "d.event = ev.id RETURNING d.id), "
	         "at AS (DELETE FROM hookd_attempts a USING dl WHERE "
	         "a.dlv = dl.id RETURNING 1), "
	         "ed AS (DELETE FROM hookd_events e USING ev WHERE "
	         "e.id = ev.id RETURNING 1) "
	         "SELECT (SELECT count(*) FROM ed), (SELECT count(*) FROM dl), "
	         "(SELECT count(*) FROM at)",
	         &p, &rc)) == NULL)
		return rc;
	o->pu_events = (uint64_t)pg_int(r, 0, 0);
	o->pu_deliveries = (uint64_t)pg_int(r, 0, 1);
	PQclear(r);
	tx->tx_delta.d_rows[HK_SL_EVENTS] -= (int64_t)o->pu_events;
	tx->tx_delta.d_rows[HK_SL_DELIVERIES] -= (int64_t)o->pu_deliveries;
	if (o->pu_events >= PG_PURGE_BATCH)
		o->pu_full = 1;
	if ((r = pg_exec(tx->tx_conn,
	         "DELETE FROM hookd_reqlog WHERE (webhook, id) IN (SELECT "
	         "webhook, id FROM hookd_reqlog WHERE ms < $1 ORDER BY ms, id "
	         "LIMIT $2) RETURNING (octet_length(body) + "
	         "octet_length(id) + octet_length(webhook))::bigint",
	         &p, &rc)) == NULL)
		return rc;
	n = PQntuples(r);
	for (i = 0; i < n; i++)
		tx->tx_delta.d_logbytes -= pg_int(r, i, 0) + PG_LOG_ROW;
	PQclear(r);
	o->pu_logs = (uint64_t)n;
	if (n >= PG_PURGE_BATCH)
		o->pu_full = 1;
	if ((r = pg_exec(tx->tx_conn,
	         "DELETE FROM hookd_idem WHERE key IN (SELECT key FROM "
	         "hookd_idem WHERE ms < $1 ORDER BY ms LIMIT $2) RETURNING 1",
	         &p, &rc)) == NULL)
		return rc;
	if (PQntuples(r) >= PG_PURGE_BATCH)
		o->pu_full = 1;
	PQclear(r);
	return 0;
}
