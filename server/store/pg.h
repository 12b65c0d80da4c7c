/*
 * pg.h: the PostgreSQL engine's own header, for its files (pg.c and
 * pg_apply.c) and nothing else: the helpers around libpq that both use,
 * and the apply function of each operation kind.
 *
 * Applies run on the writer thread, on its connection, inside the
 * batch's transaction (admin kinds in a savepoint of their own); they keep
 * lmdb_core.h's rule: a refusal before anything is written, else only
 * store failures (pg_fail()). Results are asked for in binary: text and
 * bytea columns come as their bytes, integers as big-endian int8.
 */
#ifndef HK_ST_PG_H
#define HK_ST_PG_H

#include <libpq-fe.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store/store.h"

/* Schema version this binary writes; a newer database is refused. */
#define PG_SCHEMA 3

/* Statement parameters: text (NUL-ended), bytes, or integers. */
#define PG_PARAMS_MAX 160
struct pg_params {
	int n;
	const char *v[PG_PARAMS_MAX];
	int len[PG_PARAMS_MAX];
	int fmt[PG_PARAMS_MAX];
	char num[PG_PARAMS_MAX][24];
};

void pg_p_text(struct pg_params *, const char *);
void pg_p_bin(struct pg_params *, const void *, size_t);
void pg_p_int(struct pg_params *, int64_t);

/*
 * A one-dimensional array without NULLs in PostgreSQL's binary form
 * (array_recv), made element by element: a statement takes a whole
 * column of a batch in one parameter. pg_arr_param adds it to P (A's
 * bytes, which must outlive the statement): 0, or why it could not be
 * made. hk_buf_free(&a->b) frees it.
 */
struct pg_arr {
	struct hk_buf b;
	uint32_t n;
	int err;
};
enum { PG_OID_BYTEA = 17, PG_OID_INT8 = 20, PG_OID_TEXT = 25 };
void pg_arr_init(struct pg_arr *, uint32_t oid);
void pg_arr_add(struct pg_arr *, const void *, size_t);
void pg_arr_int(struct pg_arr *, int64_t);
void pg_arr_text(struct pg_arr *, const char *);
int pg_arr_param(struct pg_params *, struct pg_arr *);

/*
 * Runs SQL with P (may be NULL) on C, results in binary. Returns the
 * result (PQclear it) with *RC 0, or NULL with *RC a store failure.
 */
PGresult *pg_exec(PGconn *, const char *sql, struct pg_params *p, int *rc);
/* As pg_exec, for a statement whose rows are not wanted. */
int pg_run(PGconn *, const char *sql, struct pg_params *p);
/*
 * As pg_exec and pg_run, prepared once per connection and thread: SQL
 * must be a string constant (it is known by its address).
 */
PGresult *pg_execp(PGconn *, const char *sql, struct pg_params *p, int *rc);
int pg_runp(PGconn *, const char *sql, struct pg_params *p);
/* Why pg_commit failed, for a cause at start. */
const char *pg_commit_why(PGconn *);
/* The store failure a failed result (or a lost connection) stands for. */
int pg_fail(PGconn *, const PGresult *);
/* Column COL of ROW as an int8 (binary). */
int64_t pg_int(const PGresult *, int row, int col);

/* A connection that comes back by itself (pg_link_ok). */
struct pg_link {
	PGconn *c;
	const char *name;
	int64_t retry_us; /* no reconnect before */
	int64_t backoff_us;
	int lost_logged;
};

PGconn *pg_connect(void);
/* Whether L may be used now; reconnects when it was lost (with backoff). */
int pg_link_ok(struct pg_link *);
/* A statement without parameters, in text mode (BEGIN, LISTEN). */
int pg_simple(PGconn *, const char *sql);
/* COMMIT, checked to have committed. */
int pg_commit(PGconn *);
/* A code, with *CAUSE "PostgreSQL: WHAT: DETAIL" (HK_EINVAL). */
int pg_cause(char **cause, const char *what, const char *detail);
void pg_wake(int fd);
void pg_drain(int fd);

/* Row counts (hk_st_usage) a transaction changed, applied at its commit. */
struct pg_delta {
	int64_t d_rows[HK_SL_COUNT];
	int64_t d_logbytes;
};

/* The writer's view while it applies one operation. */
struct pg_tx {
	PGconn *tx_conn;
	int tx_config; /* a webhook or subscription changed: tell the nodes */
	int tx_work; /* deliveries were made due: tell the nodes */
	int tx_lease; /* a subscription made or deleted: shares change */
	struct pg_delta tx_delta; /* this operation's */
	uint64_t tx_logbytes; /* the request log's size before it */
};

typedef int (*pg_apply_fn)(struct hk_st_op *, struct pg_tx *);

/* pg_apply.c */
int pg_webhook_apply(struct hk_st_op *, struct pg_tx *);
int pg_sub_apply(struct hk_st_op *, struct pg_tx *);
int pg_event_apply(struct hk_st_op *, struct pg_tx *);
int pg_outcome_apply(struct hk_st_op *, struct pg_tx *);
int pg_dlvop_apply(struct hk_st_op *, struct pg_tx *);
int pg_log_apply(struct hk_st_op *, struct pg_tx *);
int pg_purge_apply(struct hk_st_op *, struct pg_tx *);
/* Events that pg_events_apply takes together, and their apply. */
int pg_event_bulk(const struct hk_st_op *);
int pg_events_apply(struct hk_st_op *const *, size_t n, struct pg_tx *);
/* Outcomes, the same way. */
int pg_outcome_bulk(const struct hk_st_op *);
int pg_outcomes_apply(struct hk_st_op *const *, size_t n, struct pg_tx *);

/*
 * The engine's own kind, after the interface's: pg_cluster.c's read of
 * a record through the writer (pc_refresh_apply), so that it comes in
 * order with this node's changes. pg_submit queues any kind (loop).
 */
#define PG_REFRESH ((enum hk_st_kind)HK_ST_KINDS)
#define PG_KINDS (HK_ST_KINDS + 1)
int pg_submit(struct hk_st_op *);
int pc_refresh_apply(struct hk_st_op *, struct pg_tx *);

/*
 * pg_cluster.c: the node's share of the subscriptions, and what other
 * nodes changed. pc_open after the schema (on the writer's connection,
 * before the caller's scan), pc_close after the writer stopped.
 */
int pc_open(PGconn *, const struct hk_st_conf *, char **cause);
void pc_close(void);
/* Writer: fences the operations of LIST (next, skip) whose lease is gone. */
int pc_fence(PGconn *, struct hk_st_op *list, int (*skip)(struct hk_st_op *),
    void (*fence)(struct hk_st_op *),
    struct hk_st_op *(*next)(struct hk_st_op *));
/* Writer: LIST's ID changed (logged for the other nodes). */
int pc_changed(PGconn *, enum hk_st_list list, const char *id);
/* Writer, before COMMIT: the hints for the other nodes. */
int pc_notify(PGconn *, int config, int work, int lease);
/* Any thread: the caches are to read every record again. */
void pc_reload_ask(void);
/* Loop: what the node's cache holds (for a full reload). */
void pc_scanned(enum hk_st_list, const char *id);
void pc_reaped(struct hk_st_op *, int rc);
void pc_watch(const struct hk_st_watch *);
int pc_serves(const char *sub, int64_t *epoch);
size_t pc_nodes(const struct hk_st_node **);
void pc_publish(const char *, size_t);
void pc_addresses(const char *public_addr, const char *admin_addr);

/* The bytes a request-log entry counts for against its budget. */
#define PG_LOG_ROW 40
#endif
