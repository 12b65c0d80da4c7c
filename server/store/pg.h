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

#include "store/store.h"

/* Schema version this binary writes; a newer database is refused. */
#define PG_SCHEMA 1

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
/* The store failure a failed result (or a lost connection) stands for. */
int pg_fail(PGconn *, const PGresult *);
/* Column COL of ROW as an int8 (binary). */
int64_t pg_int(const PGresult *, int row, int col);

/* Row counts (hk_st_usage) a transaction changed, applied at its commit. */
struct pg_delta {
	int64_t d_rows[HK_SL_COUNT];
	int64_t d_logbytes;
};

/* The writer's view while it applies one operation. */
struct pg_tx {
	PGconn *tx_conn;
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

/* The bytes a request-log entry counts for against its budget. */
#define PG_LOG_ROW 40
#endif
