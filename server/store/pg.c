/*
 * pg.c: the PostgreSQL engine of store.h (SPEC §9). It is chosen by a libpq URI (postgresql://, postgres://) or a
 * conninfo string ("host=... dbname=...") in --store.
 *
 * Threads. The loop never waits for the database. A writer thread owns
 * one connection and the write transactions: it takes every operation
 * submitted since its last batch, applies them in one transaction
 * (BEGIN ... COMMIT; a savepoint for each admin operation, and an
 * operation whose statement fails fails alone: see pg_batch), and hands them back to the loop through an eventfd, where
 * so_done runs in submission order once COMMIT has returned (with
 * synchronous_commit on, the WAL is flushed by then). A reader thread
 * owns a second connection: reads and hk_st_due queue there one at a
 * time, it runs each query, and the loop walks the rows and calls the
 * callbacks, asking for the next chunk when a page needs more rows.
 * hk_st_scan (start-up) runs on the caller's thread, on the reader's
 * connection under its lock.
 *
 * Failures. A lost connection, a serialization failure, a full disk:
 * the batch is rolled back and its operations fail (HK_EIO, HK_EFULL),
 * su_failed is set until a batch commits again, and for 3 s after an
 * operation failed alone on the store; the thread that lost
 * its connection reconnects by itself at its next piece of work, with
 * a backoff, failing work at once meanwhile. An operation whose own
 * statement fails is rolled back to its savepoint and fails alone.
 *
 * Schema (PG_SCHEMA): created or migrated at open under an advisory
 * lock; a newer one, or a database holding tables of another program,
 * is refused. Cluster mode (several nodes on one database: heartbeat,
 * leases, fencing, the change log) is pg_cluster.c's; the writer calls
 * it to fence a batch and to log and announce what it changed.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "store/engine.h"
#include "store/pg.h"

#define PG_LOCK_KEY 0x686f6f6b64 /* "hookd": the schema's advisory lock */
#define PG_BACKOFF_MIN_US 100000
#define PG_BACKOFF_MAX_US 5000000
#define PG_SIZE_EVERY_US 1000000 /* pg_database_size at most 1/s */
#define PG_CHUNK 200 /* rows a read asks for at once */
#define PG_BULK 256 /* the operations of a run (pg_bulk_run) at most */
#define PG_BUSY_MAX 1024 /* attempts out that a due read leaves out */
#define PG_REFUSED_HOLD_US 3000000 /* not ready this long after one */
#define PG_STALL_RETRY_US 1000000 /* a stalled commit: the next try */

static const pg_apply_fn pg_apply_kind[PG_KINDS] = {
    [HK_ST_WEBHOOK] = pg_webhook_apply,
    [HK_ST_SUB] = pg_sub_apply,
    [HK_ST_EVENT] = pg_event_apply,
    [HK_ST_OUTCOME] = pg_outcome_apply,
    [HK_ST_DELIVERIES] = pg_dlvop_apply,
    [HK_ST_LOG] = pg_log_apply,
    [HK_ST_PURGE] = pg_purge_apply,
    [PG_REFRESH] = pc_refresh_apply,
};

/* An operation's engine part, in so_eng. */
struct pg_opx {
	struct hk_st_op *next;
	int rc;
	int done; /* refused, or failed alone: not applied again */
	int64_t seq; /* its batch's number (pg.wseq) */
};
_Static_assert(sizeof(struct pg_opx) <= HK_ST_ENG_LEN,
    "a PostgreSQL operation fits in hk_st_op's so_eng");

static struct pg_opx *
pg_x(struct hk_st_op *op)
{
	return (struct pg_opx *)(void *)op->so_eng.b;
}

/* A read, a scheduler's read or a get, queued for the reader thread. */
enum pg_rkind { PG_R_READ, PG_R_GET, PG_R_DUE };

struct pg_rjob {
	struct pg_rjob *next;
	enum pg_rkind kind;
	struct hk_st_read *rd;
	struct hk_st_due *du;
	char id[HK_ID_MAX]; /* GET: the record */
	/* READ: where the next chunk starts, what was seen. */
	char after[HK_ID_MAX];
	int has_after;
	size_t counted, scanned;
	int asked;
	int64_t seen; /* DUE: batches done when its query ran (pg.wseq) */
	struct pg_rjob *dnext, **dprev; /* DUE: pg.due_jobs */
	/* DUE: the class and the position it goes on from. */
	int cls;
	int head; /* du_ordered: the retry class is asked for its head first */
	int64_t saved_due; /* ... and where the first attempts resume */
	char saved_id[HK_ID_MAX];
	int saved_incl;
	int64_t from_due;
	char from_id[HK_ID_MAX];
	int incl;
	/* DUE: the attempts out (du_busy), left out of the rows; and none,
	 * for the ordered head's read, which must see them. */
	struct pg_arr busy, none;
	/* Out of the reader thread. */
	int rc;
	PGresult *res, *att;
};

struct pg_list {
	const char *table, *scope, *id, *body;
	int optional; /* the scope may be left out */
	int numeric; /* ids are numbers (attempts) */
	int state; /* only rows in this delivery state (0: any) */
};

static const struct pg_list pg_lists[HK_SL_COUNT] = {
    [HK_SL_WEBHOOKS] = {"hookd_webhooks", NULL, "id", "body", 0, 0},
    [HK_SL_SUBS] = {"hookd_subs", NULL, "id", "body", 0, 0},
    [HK_SL_EVENTS] = {"hookd_events", NULL, "id", "body", 0, 0},
    [HK_SL_DELIVERIES] = {"hookd_deliveries", "sub", "id", "rec", 1, 0},
    [HK_SL_PENDING] = {NULL, NULL, NULL, NULL, 0, 0},
    [HK_SL_LOG] = {"hookd_reqlog", "webhook", "id", "body", 0, 0},
    [HK_SL_EVENT_DELIVERIES] = {"hookd_deliveries", "event", "id", "rec", 0, 0},
    [HK_SL_ATTEMPTS] = {"hookd_attempts", "dlv", "n", "body", 0, 1},
    [HK_SL_FAILED] = {"hookd_deliveries", NULL, "id", "rec", 0, 0,
        HK_DS_FAILED},
};

static struct {
	int open;
	char *where;
	size_t size;
	int highwater;
	struct event_base *base;

	/* The writer. */
	pthread_t wthread;
	int wstarted;
	struct pg_link wl;
	pthread_mutex_t lock; /* guards the queues and the figures */
	pthread_cond_t wcond;
	struct hk_st_op *qhead, **qtail; /* for the writer */
	struct hk_st_op *dhead, **dtail; /* done, for the loop */
	int wclosing;
	int wefd;
	struct event *wready, *flush;
	/* Loop only. */
	struct hk_st_op *phead, **ptail; /* submitted, not handed on */
	size_t inflight;
	/*
	 * Outcomes whose so_done ran while a due read was out, and when
	 * (pg_due_stale): that read's rows may predate them.
	 */
	struct pg_reaped {
		int64_t seq;
		char id[HK_ID_MAX];
	} * reaped;
	size_t nreaped, capreaped;
	struct pg_rjob *due_jobs; /* out */
	int64_t wseq; /* batches done (lock) */

	/* The reader. */
	pthread_t rthread;
	int rstarted;
	struct pg_link rl;
	pthread_mutex_t rconn; /* the reader's connection */
	pthread_cond_t rcond;
	struct pg_rjob *rqhead, **rqtail;
	struct pg_rjob *rdhead, **rdtail;
	int rclosing;
	int rinline; /* the reader stopped: reads run on the loop */
	int refd;
	struct event *rready;

	/* Figures (lock). */
	uint64_t commits, ops;
	int failed;
	int64_t refused_us; /* an operation failed alone on the store */
	int lost; /* the writer has no connection: new data is refused */
	/*
	 * A COMMIT outlasted --commit-timeout (a synchronous standby gone):
	 * new data is refused until a commit returns in time again; the
	 * writer fails batches at once before stall_retry_us (lock).
	 */
	int stalled;
	int64_t stall_retry_us, stall_us; /* ... and since when */
	int64_t commit_us; /* --commit-timeout, set at open */
	int64_t rows[HK_SL_COUNT];
	int64_t logbytes;
	int64_t used; /* pg_database_size */
	int64_t base_bytes; /* the empty schema's size */
	int64_t size_us; /* writer only: when used was asked */
	int64_t lease_ms;
	int readonly;
} pg;

void
pg_p_text(struct pg_params *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
pg_p_bin(struct pg_params *p, const void *b, size_t n)
{
	p->v[p->n] = n > 0 ? b : "";
	p->len[p->n] = (int)n;
	p->fmt[p->n] = 1;
	p->n++;
}

void
pg_p_int(struct pg_params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	pg_p_text(p, p->num[p->n]);
}

/* Arrays in binary (pg.h). */

static void
pg_be(unsigned char *p, uint64_t v, int bytes)
{
	while (bytes-- > 0) {
		p[bytes] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

void
pg_arr_init(struct pg_arr *a, uint32_t oid)
{
	unsigned char h[20];

	memset(a, 0, sizeof(*a));
	pg_be(h, 1, 4); /* dimensions */
	pg_be(h + 4, 0, 4); /* no NULLs */
	pg_be(h + 8, oid, 4);
	pg_be(h + 12, 0, 4); /* the count, once known */
	pg_be(h + 16, 1, 4); /* the lower bound */
	a->err = hk_buf_add(&a->b, h, sizeof(h));
}

void
pg_arr_add(struct pg_arr *a, const void *v, size_t len)
{
	unsigned char l[4];

	if (len > INT32_MAX) {
		a->err = HK_EINVAL;
		return;
	}
	pg_be(l, len, 4);
	if (hk_buf_add(&a->b, l, sizeof(l)) != 0 ||
	    hk_buf_add(&a->b, v, len) != 0)
		a->err = HK_ENOMEM;
	a->n++;
}

void
pg_arr_int(struct pg_arr *a, int64_t v)
{
	unsigned char x[8];

	pg_be(x, (uint64_t)v, 8);
	pg_arr_add(a, x, sizeof(x));
}

void
pg_arr_text(struct pg_arr *a, const char *s)
{
	pg_arr_add(a, s, strlen(s));
}

/* A's bytes as the parameter of P: 0, or why it could not be made. */
int
pg_arr_param(struct pg_params *p, struct pg_arr *a)
{
	if (a->err != 0)
		return a->err;
	pg_be((unsigned char *)a->b.b + 12, a->n, 4);
	pg_p_bin(p, a->b.b, a->b.len);
	return 0;
}

int
pg_fail(PGconn *c, const PGresult *r)
{
	const char *state =
	    r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (c == NULL || PQstatus(c) != CONNECTION_OK)
		return HK_EIO;
	if (state != NULL && strcmp(state, "53100") == 0)
		return HK_EFULL;
	/* A unique name (or key) another node took meanwhile. */
	if (state != NULL && strcmp(state, "23505") == 0)
		return HK_EEXIST;
	return HK_EIO;
}

/* Logs a failed statement: an operator's problem, not a caller's. */
static void
pg_log_fail(PGconn *c, const PGresult *r, const char *sql)
{
	const char *msg =
	    r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c);
	char buf[512], what[64];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", msg != NULL ? msg : "");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	snprintf(what, sizeof(what), "%.60s", sql);
	log_warn("store_statement", "error=%s statement=%s", hk_logq(buf),
	    hk_logq(what));
}

PGresult *
pg_exec(PGconn *c, const char *sql, struct pg_params *p, int *rc)
{
	PGresult *r;
	ExecStatusType st;

	r = PQexecParams(c, sql, p != NULL ? p->n : 0, NULL,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 1);
	st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		*rc = 0;
		return r;
	}
	*rc = pg_fail(c, r);
	pg_log_fail(c, r, sql);
	PQclear(r);
	return NULL;
}

/*
 * The statements a thread prepared on its connection: SQL texts are
 * string constants, known by their address. A new connection (another
 * backend) starts the list again; names are the thread's own, so a
 * connection that changes threads (the reader's, at close) never sees
 * one twice.
 */
#define PG_PREPARED_MAX 48
static _Thread_local struct {
	PGconn *c;
	int pid;
	int n;
	const char *sql[PG_PREPARED_MAX];
} pg_pc;

PGresult *
pg_execp(PGconn *c, const char *sql, struct pg_params *p, int *rc)
{
	char name[48];
	PGresult *r;
	ExecStatusType st;
	int i, pid = PQbackendPID(c);

	if (pg_pc.c != c || pg_pc.pid != pid) {
		pg_pc.c = c;
		pg_pc.pid = pid;
		pg_pc.n = 0;
	}
	for (i = 0; i < pg_pc.n && pg_pc.sql[i] != sql; i++)
		;
	if (i == PG_PREPARED_MAX)
		return pg_exec(c, sql, p, rc);
	snprintf(name, sizeof(name), "hk_%lx_%d",
	    (unsigned long)((uintptr_t)&pg_pc & 0xffffff), i);
	if (i == pg_pc.n) {
		r = PQprepare(c, name, sql, 0, NULL);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			*rc = pg_fail(c, r);
			pg_log_fail(c, r, sql);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		pg_pc.sql[pg_pc.n++] = sql;
	}
	r = PQexecPrepared(c, name, p != NULL ? p->n : 0,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 1);
	st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		*rc = 0;
		return r;
	}
	*rc = pg_fail(c, r);
	pg_log_fail(c, r, sql);
	PQclear(r);
	return NULL;
}

int
pg_runp(PGconn *c, const char *sql, struct pg_params *p)
{
	PGresult *r;
	int rc;

	if ((r = pg_execp(c, sql, p, &rc)) != NULL)
		PQclear(r);
	return rc;
}

int
pg_run(PGconn *c, const char *sql, struct pg_params *p)
{
	PGresult *r;
	int rc;

	if ((r = pg_exec(c, sql, p, &rc)) != NULL)
		PQclear(r);
	return rc;
}

int64_t
pg_int(const PGresult *r, int row, int col)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
	uint64_t x = 0;
	int i, n = PQgetlength(r, row, col);

	for (i = 0; i < n && i < 8; i++)
		x = x << 8 | v[i];
	if (n == 4) /* an int4 slipped through: sign-extend */
		return (int32_t)(uint32_t)x;
	return (int64_t)x;
}

/* Runs a statement without parameters in text mode (BEGIN, schema). */
int
pg_simple(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = pg_fail(c, r);
		pg_log_fail(c, r, sql);
	}
	PQclear(r);
	return rc;
}

/*
 * Waits until the query sent on C has its result, or mono time UNTIL;
 * *LATE then. A broken connection is a result (an error).
 */
static PGresult *
pg_await(PGconn *c, int64_t until, int *late)
{
	struct pollfd pfd;
	int64_t left;

	*late = 0;
	for (;;) {
		if (!PQconsumeInput(c) || !PQisBusy(c))
			return PQgetResult(c);
		if ((left = until - hk_mono_us()) <= 0) {
			*late = 1;
			return NULL;
		}
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)((left + 999) / 1000)) == -1 &&
		    errno != EINTR)
			return PQgetResult(c);
	}
}

/* Reads what is left of the query's results on C. */
static void
pg_discard(PGconn *c)
{
	PGresult *r;

	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
}

/*
 * A COMMIT outlasted the bound (ON), or the probe's returned in time:
 * new data is refused meanwhile (the loop asks pg_full). Each change is
 * logged once, by whichever thread saw it.
 */
static void
pg_stall(int on)
{
	int64_t now = hk_mono_us(), since;
	int was;

	pthread_mutex_lock(&pg.lock);
	was = pg.stalled;
	since = pg.stall_us;
	pg.stalled = on;
	if (on)
		pg.stall_retry_us = now + PG_STALL_RETRY_US;
	if (on && !was)
		pg.stall_us = now - pg.commit_us;
	pthread_mutex_unlock(&pg.lock);
	if (on && !was)
		log_warn("store_stalled", "waited_ms=%lld error=%s",
		    (long long)(pg.commit_us / 1000),
		    hk_logq("COMMIT does not return (is the synchronous "
		            "standby gone?): writes answer 503 until one "
		            "commits in time"));
	else if (!on && was)
		log_info("store_unstalled", "stalled_ms=%lld",
		    (long long)((now - since) / 1000));
}

/*
 * COMMIT, and a check that it committed: in a transaction that failed,
 * PostgreSQL answers COMMIT with success and the tag ROLLBACK.
 *
 * Bounded by --commit-timeout: with a synchronous standby gone, the
 * primary's COMMIT waits for it forever, and so would every request
 * the batch answers. Past the bound the wait is cancelled; PostgreSQL
 * then reports the transaction committed locally but maybe not on the
 * standby, which a failover would lose: that is a failure here, never
 * a success (a 503, not a 202; the data may stay, as after any commit
 * whose answer was lost). A cancel not answered within the bound
 * either cuts the connection, which the caller's link then replaces.
 */
int
pg_commit(PGconn *c)
{
	PGresult *r;
	PGcancel *k;
	char err[256];
	int rc = 0, late;

	if (!PQsendQuery(c, "COMMIT")) {
		rc = pg_fail(c, NULL);
		pg_log_fail(c, NULL, "COMMIT");
		return rc;
	}
	r = pg_await(c, hk_mono_us() + pg.commit_us, &late);
	if (late) {
		pg_stall(1);
		if ((k = PQgetCancel(c)) != NULL) {
			(void)PQcancel(k, err, sizeof(err));
			PQfreeCancel(k);
		}
		r = pg_await(c, hk_mono_us() + pg.commit_us, &late);
		if (late) {
			/* Reads see EOF: libpq marks the connection bad. */
			(void)shutdown(PQsocket(c), SHUT_RDWR);
			(void)PQconsumeInput(c);
		}
		PQclear(r);
		pg_discard(c);
		return HK_EIO;
	}
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = pg_fail(c, r);
		pg_log_fail(c, r, "COMMIT");
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		rc = HK_EIO;
		log_error("store_commit", "error=%s",
		    hk_logq(
		        "the transaction had failed: COMMIT rolled it back"));
	}
	PQclear(r);
	pg_discard(c);
	return rc;
}

const char *
pg_commit_why(PGconn *c)
{
	int stalled;

	pthread_mutex_lock(&pg.lock);
	stalled = pg.stalled;
	pthread_mutex_unlock(&pg.lock);
	return stalled ? "COMMIT did not return within --commit-timeout (is "
	                 "the synchronous standby gone?)"
	               : PQerrorMessage(c);
}

/*
 * While stalled, the writer asks whether a commit returns in time
 * again, before a batch and every second when idle: a transaction that
 * writes (a row of its own backend's, inserted and deleted), so its
 * COMMIT waits for the synchronous standby as a batch's would; one
 * with an id and no write commits without waiting. Only this ends a
 * stall: any other COMMIT may have had nothing to wait for (a batch
 * whose operations were all refused, a read). 1 when it committed.
 */
static int
pg_probe(void)
{
	PGconn *c;
	int ok = 0;

	if (pg_link_ok(&pg.wl)) {
		c = pg.wl.c;
		if (pg_simple(c, "BEGIN") == 0) {
			if (pg_simple(c,
			        "INSERT INTO hookd_meta VALUES ('probe ' || "
			        "pg_backend_pid(), '') ON CONFLICT (key) DO "
			        "NOTHING; DELETE FROM hookd_meta WHERE key = "
			        "'probe ' || pg_backend_pid()") == 0)
				ok = pg_commit(c) == 0;
			else if (PQstatus(c) == CONNECTION_OK)
				(void)pg_simple(c, "ROLLBACK");
		}
	}
	if (ok) {
		pg_stall(0);
		return 1;
	}
	/* Not yet: the next probe in a while, or a reconnect first. */
	pthread_mutex_lock(&pg.lock);
	pg.stall_retry_us = hk_mono_us() + PG_STALL_RETRY_US;
	if (pg.wl.c == NULL || PQstatus(pg.wl.c) != CONNECTION_OK) {
		pg.lost = 1;
		if (pg.wl.retry_us < hk_mono_us())
			pg.wl.retry_us = hk_mono_us() + PG_BACKOFF_MIN_US;
	}
	pthread_mutex_unlock(&pg.lock);
	return 0;
}

/*
 * The server's notices: libpq would print them on stderr, amid the log
 * lines. The ones hookd causes are expected (a cancelled wait for the
 * synchronous standby, which pg_commit counts as a failure; a ROLLBACK
 * after a failed COMMIT): debug lines.
 */
static void
pg_notice(void *arg, const char *msg)
{
	char buf[512];
	size_t n;

	(void)arg;
	snprintf(buf, sizeof(buf), "%s", msg);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	log_debug("store_notice", "notice=%s", hk_logq(buf));
}

PGconn *
pg_connect(void)
{
	/*
	 * Ours come first: the caller's string overrides them. A server
	 * cut off by the network (no reset, no FIN) ends the connection
	 * within ~15 s instead of a read waiting for ever: TCP keepalives
	 * and a bound on unacknowledged data (ignored on a Unix socket).
	 */
	const char *keys[] = {"connect_timeout", "keepalives",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", "application_name", "dbname", NULL};
	const char *vals[] = {
	    "5", "1", "5", "2", "3", "15000", "hookd", pg.where, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	/* Kept by PQreset: once per connection. */
	if (c != NULL)
		(void)PQsetNoticeProcessor(c, pg_notice, NULL);
	return c;
}

/*
 * Every session: a transaction left open (its node paused mid-batch)
 * is ended by the server within half a lease, so it holds no lock the
 * node taking over waits for long, and commits nothing late.
 */
static int
pg_session(PGconn *c)
{
	char sql[96];

	snprintf(sql, sizeof(sql),
	    "SET idle_in_transaction_session_timeout = %lld",
	    (long long)(pg.lease_ms / 2 > 1000 ? pg.lease_ms / 2 : 1000));
	return pg_simple(c, sql);
}

int
pg_link_ok(struct pg_link *l)
{
	int64_t now = hk_mono_us();

	if (l->c != NULL && PQstatus(l->c) == CONNECTION_OK)
		return 1;
	if (now < l->retry_us)
		return 0;
	if (l->c == NULL)
		l->c = pg_connect();
	else
		PQreset(l->c);
	if (l->c != NULL && PQstatus(l->c) == CONNECTION_OK &&
	    pg_session(l->c) == 0) {
		/* A new backend knows none of the statements prepared before. */
		pg_pc.c = NULL;
		log_info("store_reconnected", "connection=%s", l->name);
		l->backoff_us = 0;
		l->lost_logged = 0;
		if (l == &pg.wl) {
			/* The database answers again: new data may come. */
			pthread_mutex_lock(&pg.lock);
			pg.lost = 0;
			pg.failed = 0;
			pthread_mutex_unlock(&pg.lock);
		}
		return 1;
	}
	l->backoff_us =
	    l->backoff_us == 0 ? PG_BACKOFF_MIN_US : 2 * l->backoff_us;
	if (l->backoff_us > PG_BACKOFF_MAX_US)
		l->backoff_us = PG_BACKOFF_MAX_US;
	l->retry_us = now + l->backoff_us;
	if (!l->lost_logged) {
		l->lost_logged = 1;
		pg_log_fail(l->c, NULL, l->name);
	}
	return 0;
}

void
pg_wake(int fd)
{
	uint64_t one = 1;

	while (write(fd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

void
pg_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == -1 && errno == EINTR)
		;
}

/* Refreshes the figure of bytes in use, at most once a second. */
static void
pg_size(PGconn *c)
{
	int64_t now = hk_mono_us();
	PGresult *r;
	int rc;

	if (now - pg.size_us < PG_SIZE_EVERY_US)
		return;
	pg.size_us = now;
	if ((r = pg_exec(c, "SELECT pg_database_size(current_database())", NULL,
	         &rc)) == NULL)
		return;
	pthread_mutex_lock(&pg.lock);
	pg.used = pg_int(r, 0, 0);
	pthread_mutex_unlock(&pg.lock);
	PQclear(r);
}

/*
 * Whether OP gets a savepoint of its own: the kinds an admin sends,
 * which read before they may refuse. The others refuse nothing once
 * they have sent a statement; one that fails there is undone with the
 * whole transaction, which then goes again without it. A refusal comes
 * before any write (pg.h), so neither needs more than that.
 */
static int
pg_savepoint(const struct hk_st_op *op)
{
	switch (op->so_kind) {
	case HK_ST_EVENT:
		return ((const struct hk_st_event *)(const void *)op)
		           ->ev_idem != NULL;
	case HK_ST_OUTCOME:
	case HK_ST_LOG:
	case HK_ST_PURGE:
		return 0;
	default:
		return 1;
	}
}

static int
pg_is_failure(int rc)
{
	return rc == HK_EIO || rc == HK_EFULL || rc == HK_ENOMEM;
}

/* pc_fence's view of a batch. */
static int
pg_op_done(struct hk_st_op *op)
{
	return pg_x(op)->done;
}

static struct hk_st_op *
pg_op_next(struct hk_st_op *op)
{
	return pg_x(op)->next;
}

/* OP's lease is gone: an outcome records nothing, a change is refused. */
static void
pg_op_fence(struct hk_st_op *op)
{
	pg_x(op)->done = 1;
	if (op->so_kind == HK_ST_OUTCOME) {
		struct hk_st_outcome *oc = (struct hk_st_outcome *)(void *)op;

		oc->oc_gone = oc->oc_fenced = 1;
		pg_x(op)->rc = 0;
	} else
		pg_x(op)->rc = HK_EFENCED;
}

/*
 * The kinds applied a run at a time (consecutive operations of a batch
 * that nothing refuses and no savepoint guards): a statement takes the
 * rows of the whole run, where one each cost a round trip per row.
 */
static const struct pg_bulk {
	int (*takes)(const struct hk_st_op *);
	int (*apply)(struct hk_st_op *const *, size_t, struct pg_tx *);
} pg_bulks[] = {
    {pg_event_bulk, pg_events_apply},
    {pg_outcome_bulk, pg_outcomes_apply},
};

static const struct pg_bulk *
pg_bulk_of(const struct hk_st_op *op)
{
	size_t i;

	for (i = 0; i < sizeof(pg_bulks) / sizeof(pg_bulks[0]); i++)
		if (pg_bulks[i].takes(op))
			return &pg_bulks[i];
	return NULL;
}

/*
 * Applies the run of B's kind that starts at FIRST, up to MAX of them,
 * in one go, and sets their rc (*RC); *N is how many. Returns the last.
 */
static struct hk_st_op *
pg_bulk_run(const struct pg_bulk *b, struct hk_st_op *first, size_t max,
    struct pg_tx *tx, int *rc, size_t *n)
{
	struct hk_st_op *run[PG_BULK], *op = first;
	size_t i;

	*n = 0;
	for (;;) {
		run[(*n)++] = op;
		if (*n == max || pg_x(op)->next == NULL ||
		    pg_x(pg_x(op)->next)->done || !b->takes(pg_x(op)->next))
			break;
		op = pg_x(op)->next;
	}
	*rc = b->apply(run, *n, tx);
	for (i = 0; i < *n; i++)
		pg_x(run[i])->rc = *rc;
	return run[*n - 1];
}

/*
 * Applies the batch LIST in one transaction; sets each operation's rc.
 * An operation whose own statement fails fails alone (rolled back to
 * its savepoint, or the transaction goes again without it); a failure
 * of the transaction (the connection, COMMIT) fails every operation
 * that was not refused.
 */
static void
pg_batch(struct hk_st_op *list)
{
	struct pg_delta total;
	struct hk_st_op *op;
	struct pg_tx tx;
	PGconn *c = NULL;
	int64_t logbytes;
	size_t i, n = 0;
	int rc = 0, r, sp, config, work, lease, refused, stalled, single = 0;
	const struct pg_bulk *bulk;
	size_t nrun;

	for (op = list; op != NULL; op = pg_x(op)->next)
		n++;
again:
	memset(&total, 0, sizeof(total));
	pthread_mutex_lock(&pg.lock);
	stalled = !pg.stalled ? 0 : hk_mono_us() < pg.stall_retry_us ? 1 : 2;
	pthread_mutex_unlock(&pg.lock);
	/*
	 * Stalled: this batch's COMMIT would wait out the bound too; it
	 * fails at once, or after the probe's when that is due.
	 */
	if (stalled == 1 || (stalled == 2 && !pg_probe()) ||
	    !pg_link_ok(&pg.wl)) {
		rc = HK_EIO;
		goto failed;
	}
	c = pg.wl.c;
	pthread_mutex_lock(&pg.lock);
	logbytes = pg.logbytes;
	pthread_mutex_unlock(&pg.lock);
	if ((rc = pg_simple(c, "BEGIN")) != 0 ||
	    (rc = pc_fence(c, list, pg_op_done, pg_op_fence, pg_op_next)) != 0)
		goto abort;
	config = work = lease = 0;
	for (op = list; op != NULL; op = pg_x(op)->next) {
		if (pg_x(op)->done)
			continue;
		if ((sp = pg_savepoint(op)) &&
		    (rc = pg_simple(c, "SAVEPOINT op")) != 0)
			goto abort;
		memset(&tx, 0, sizeof(tx));
		tx.tx_conn = c;
		tx.tx_logbytes = (uint64_t)(logbytes + total.d_logbytes);
		/* A run of one kind goes in one statement: OP its last. */
		nrun = 1;
		if (!sp && (bulk = pg_bulk_of(op)) != NULL)
			op = pg_bulk_run(
			    bulk, op, single ? 1 : PG_BULK, &tx, &r, &nrun);
		else
			pg_x(op)->rc = r = pg_apply_kind[op->so_kind](op, &tx);
		if (r == 0) {
			config |= tx.tx_config;
			work |= tx.tx_work;
			lease |= tx.tx_lease;
			for (i = 0; i < HK_SL_COUNT; i++)
				total.d_rows[i] += tx.tx_delta.d_rows[i];
			total.d_logbytes += tx.tx_delta.d_logbytes;
			continue;
		}
		if (PQstatus(c) != CONNECTION_OK) {
			rc = HK_EIO;
			goto abort;
		}
		if (nrun > 1) {
			/* Which of the run failed: each goes alone now. */
			(void)pg_simple(c, "ROLLBACK");
			single = 1;
			goto again;
		}
		pg_x(op)->done = 1;
		if (sp) {
			if ((rc = pg_simple(c, "ROLLBACK TO SAVEPOINT op")) !=
			    0)
				goto abort;
		} else if (pg_is_failure(r) ||
		    PQtransactionStatus(c) == PQTRANS_INERROR) {
			/* A statement failed: the rest go again without it. */
			(void)pg_simple(c, "ROLLBACK");
			goto again;
		}
	}
	if ((config || work || lease) &&
	    (rc = pc_notify(c, config, work, lease)) != 0)
		goto abort;
	if ((rc = pg_commit(c)) != 0) {
		/*
		 * Committed or not, its answer is lost (a stalled wait
		 * cancelled, the connection gone): the caches, which took
		 * none of its changes, read every record again.
		 */
		if (config)
			pc_reload_ask();
		goto failed;
	}
	/* One that failed alone on the store (its disk full): not ready. */
	refused = 0;
	for (op = list; op != NULL; op = pg_x(op)->next)
		refused |= pg_x(op)->done && pg_is_failure(pg_x(op)->rc);
	pthread_mutex_lock(&pg.lock);
	for (i = 0; i < HK_SL_COUNT; i++)
		pg.rows[i] += total.d_rows[i];
	pg.logbytes += total.d_logbytes;
	pg.commits++;
	pg.ops += n;
	pg.failed = 0;
	if (refused)
		pg.refused_us = hk_mono_us();
	pthread_mutex_unlock(&pg.lock);
	pg_size(c);
	return;
abort:
	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		(void)pg_simple(c, "ROLLBACK");
failed:
	/* Nothing of the batch is committed: what was not refused fails. */
	for (op = list; op != NULL; op = pg_x(op)->next)
		if (!pg_x(op)->done || pg_x(op)->rc == 0)
			pg_x(op)->rc = rc;
	pthread_mutex_lock(&pg.lock);
	pg.failed = 1;
	if (pg.wl.c == NULL || PQstatus(pg.wl.c) != CONNECTION_OK) {
		pg.lost = 1;
		if (pg.wl.retry_us < hk_mono_us())
			pg.wl.retry_us = hk_mono_us() + PG_BACKOFF_MIN_US;
	}
	pthread_mutex_unlock(&pg.lock);
}

/* Waits on the writer's condition (pg.lock held) until mono time US. */
static void
pg_wait_until(int64_t us)
{
	int64_t left = us - hk_mono_us();
	struct timespec ts;

	if (left <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(left / 1000000);
	ts.tv_nsec += (long)(left % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&pg.wcond, &pg.lock, &ts);
}

static void *
pg_writer(void *arg)
{
	struct hk_st_op *list, *op, *last;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&pg.lock);
		while (pg.qhead == NULL && !pg.wclosing) {
			if (!pg.lost && !pg.stalled) {
				pthread_cond_wait(&pg.wcond, &pg.lock);
				continue;
			}
			/*
			 * Lost: try again when the backoff allows. Stalled: see
			 * whether commits return again, so writes are taken
			 * again without waiting for one to be refused.
			 */
			pg_wait_until(
			    pg.lost ? pg.wl.retry_us : pg.stall_retry_us);
			if (pg.qhead != NULL || pg.wclosing)
				break;
			if (hk_mono_us() <
			    (pg.lost ? pg.wl.retry_us : pg.stall_retry_us))
				continue;
			pthread_mutex_unlock(&pg.lock);
			if (pg.lost)
				(void)pg_link_ok(&pg.wl);
			else
				(void)pg_probe();
			pthread_mutex_lock(&pg.lock);
		}
		if (pg.qhead == NULL) {
			pthread_mutex_unlock(&pg.lock);
			break;
		}
		list = pg.qhead;
		pg.qhead = NULL;
		pg.qtail = &pg.qhead;
		pthread_mutex_unlock(&pg.lock);
		for (op = list; op != NULL; op = pg_x(op)->next) {
			pg_x(op)->rc = pg_x(op)->done = 0;
			if (op->so_kind == HK_ST_OUTCOME)
				((struct hk_st_outcome *)(void *)op)
				    ->oc_fenced = 0;
		}
		pg_batch(list);
		for (last = list; pg_x(last)->next != NULL;
		     last = pg_x(last)->next)
			;
		pthread_mutex_lock(&pg.lock);
		pg.wseq++;
		for (op = list; op != NULL; op = pg_x(op)->next)
			pg_x(op)->seq = pg.wseq;
		*pg.dtail = list;
		pg.dtail = &pg_x(last)->next;
		pthread_mutex_unlock(&pg.lock);
		pg_wake(pg.wefd);
	}
	return NULL;
}

/*
 * Remembers that outcome OP's so_done runs now, for the due reads that
 * are out (their rows may show its delivery as it was before). Entries
 * older than every such read are dropped.
 */
static void
pg_note_outcome(struct hk_st_op *op)
{
	struct hk_st_outcome *oc = (struct hk_st_outcome *)(void *)op;
	struct pg_reaped *p;
	struct pg_rjob *j;
	int64_t oldest = INT64_MAX;
	size_t i, k;

	if (op->so_kind != HK_ST_OUTCOME || pg.due_jobs == NULL)
		return;
	if (pg.nreaped == pg.capreaped) {
		for (j = pg.due_jobs; j != NULL; j = j->dnext)
			if (j->seen < oldest)
				oldest = j->seen;
		for (i = k = 0; i < pg.nreaped; i++)
			if (pg.reaped[i].seq > oldest)
				pg.reaped[k++] = pg.reaped[i];
		pg.nreaped = k;
	}
	if (pg.nreaped == pg.capreaped) {
		k = pg.capreaped ? 2 * pg.capreaped : 256;
		if ((p = realloc(pg.reaped, k * sizeof(*p))) == NULL)
			return; /* ENOMEM: at worst an attempt twice */
		pg.reaped = p;
		pg.capreaped = k;
	}
	pg.reaped[pg.nreaped].seq = pg_x(op)->seq;
	snprintf(pg.reaped[pg.nreaped].id, HK_ID_MAX, "%s", oc->oc_dlv);
	pg.nreaped++;
}

/*
 * Whether delivery DLV in the rows of due read J may be stale: its
 * outcome's so_done ran after J's query began (the engine no longer
 * counts it in flight, while the rows may still show it pending).
 * Such a row is stepped over; the next pass reads it afresh.
 */
static int
pg_due_stale(const struct pg_rjob *j, const char *dlv)
{
	size_t i;

	for (i = pg.nreaped; i-- > 0;)
		if (pg.reaped[i].seq > j->seen &&
		    strcmp(pg.reaped[i].id, dlv) == 0)
			return 1;
	return 0;
}

/* Runs so_done of finished operations, in submission order. */
static void
pg_reap(void)
{
	struct hk_st_op *list, *op;

	pthread_mutex_lock(&pg.lock);
	list = pg.dhead;
	pg.dhead = NULL;
	pg.dtail = &pg.dhead;
	pthread_mutex_unlock(&pg.lock);
	while ((op = list) != NULL) {
		list = pg_x(op)->next;
		pg.inflight--;
		pg_note_outcome(op);
		pc_reaped(op, pg_x(op)->rc);
		op->so_done(op, pg_x(op)->rc);
	}
}

static void
pg_wready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	pg_drain(pg.wefd);
	pg_reap();
}

/* The operations of a whole pass of the loop go to the writer at once. */
static void
pg_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (pg.phead == NULL)
		return;
	pthread_mutex_lock(&pg.lock);
	*pg.qtail = pg.phead;
	pg.qtail = pg.ptail;
	pthread_cond_signal(&pg.wcond);
	pthread_mutex_unlock(&pg.lock);
	pg.phead = NULL;
	pg.ptail = &pg.phead;
}

int
pg_submit(struct hk_st_op *op)
{
	if (!pg.open || pg.wclosing)
		return HK_ESHUTDOWN;
	if ((unsigned)op->so_kind >= PG_KINDS ||
	    pg_apply_kind[op->so_kind] == NULL)
		return HK_EINVAL;
	memset(pg_x(op), 0, sizeof(struct pg_opx));
	*pg.ptail = op;
	pg.ptail = &pg_x(op)->next;
	pg.inflight++;
	event_active(pg.flush, EV_TIMEOUT, 0);
	return 0;
}

/* Reads. */

/* Makes the SQL of READ job J's next chunk into SQL, its values into P. */
static int
pg_read_sql(struct pg_rjob *j, char *sql, size_t len, struct pg_params *p)
{
	const struct hk_st_read *rd = j->rd;
	const struct pg_list *l = &pg_lists[rd->rd_list];
	const char *scope = rd->rd_scope;
	char cond[256] = "";
	size_t want;

	if (scope != NULL && scope[0] == '\0')
		scope = NULL;
	if (scope != NULL && l->scope != NULL) {
		pg_p_text(p, scope);
		snprintf(cond, sizeof(cond), " AND %s = $%d", l->scope, p->n);
	}
	if (l->state != 0)
		snprintf(cond + strlen(cond), sizeof(cond) - strlen(cond),
		    " AND state = %d", l->state);
	if (j->has_after) {
		size_t n = strlen(cond);

		if (l->numeric)
			pg_p_int(p, strtoll(j->after, NULL, 10));
		else
			pg_p_text(p, j->after);
		snprintf(cond + n, sizeof(cond) - n, " AND %s %s $%d", l->id,
		    rd->rd_oldest ? ">" : "<", p->n);
	}
	want = PG_CHUNK;
	if (rd->rd_scan > 0 && rd->rd_scan - j->scanned + 1 < want)
		want = rd->rd_scan - j->scanned + 1;
	else if (rd->rd_limit > 0 && rd->rd_limit - j->counted + 1 < want)
		want = rd->rd_limit - j->counted + 1;
	if (want < 2)
		want = 2;
	j->asked = (int)want;
	snprintf(sql, len,
	    "SELECT %s%s, %s FROM %s WHERE true%s ORDER BY %s %s LIMIT %d",
	    l->id, l->numeric ? "::text" : "", l->body, l->table, cond, l->id,
	    rd->rd_oldest ? "ASC" : "DESC", j->asked);
	return 0;
}

/* The attempts of the deliveries in J's rows, for rd_attempt. */
static int
pg_read_attempts(PGconn *c, struct pg_rjob *j)
{
	struct hk_buf b = HK_BUF_INIT;
	struct pg_params p = {0};
	int i, n = PQntuples(j->res), rc = 0;

	if (n == 0)
		return 0;
	hk_buf_addc(&b, '{');
	for (i = 0; i < n; i++) {
		const char *id = PQgetvalue(j->res, i, 0);

		if (strpbrk(id, "\"\\{},") != NULL)
			continue;
		if (i > 0)
			hk_buf_addc(&b, ',');
		hk_buf_printf(&b, "\"%s\"", id);
	}
	if (hk_buf_addc(&b, '}') != 0 || hk_buf_addc(&b, '\0') != 0) {
		hk_buf_free(&b);
		return HK_ENOMEM;
	}
	pg_p_text(&p, b.b);
	j->att = pg_exec(c,
	    "SELECT dlv, n, body FROM hookd_attempts WHERE dlv = "
	    "ANY($1::text[]) ORDER BY dlv, n",
	    &p, &rc);
	hk_buf_free(&b);
	return rc;
}

/*
 * A class of a subscription's queue, from a position or after it, but
 * the attempts out ($6): they would be stepped over, each row of them
 * read again with its event at every read while they are out.
 */
#define PG_DUE_SQL(op)                                                         \
	"SELECT d.id, d.due, d.rec, e.body FROM hookd_deliveries d LEFT JOIN " \
	"hookd_events e ON e.id = d.event WHERE d.sub = $1 AND d.state = 0 "   \
	"AND d.cls = $2 AND (d.due, d.id) " op " ($3, $4) AND d.id <> "        \
	"ALL($6::text[]) ORDER BY d.due, d.id LIMIT $5"
static const char pg_due_from[] = PG_DUE_SQL(">=");
static const char pg_due_after[] = PG_DUE_SQL(">");

/* Runs job J's query on C (the reader's thread, or the loop's at close). */
static void
pg_rrun(PGconn *c, struct pg_rjob *j)
{
	const struct pg_list *l;
	struct pg_params p = {0};
	char sql[512];

	j->res = j->att = NULL;
	switch (j->kind) {
	case PG_R_READ:
	case PG_R_GET:
		l = &pg_lists[j->rd->rd_list];
		if (j->kind == PG_R_READ)
			pg_read_sql(j, sql, sizeof(sql), &p);
		else {
			pg_p_text(&p, j->id);
			snprintf(sql, sizeof(sql),
			    "SELECT %s, %s FROM %s WHERE %s = $1", l->id,
			    l->body, l->table, l->id);
		}
		if ((j->res = pg_exec(c, sql, &p, &j->rc)) != NULL &&
		    j->rd->rd_attempt != NULL)
			j->rc = pg_read_attempts(c, j);
		return;
	case PG_R_DUE:
		if (j->du->du_only != NULL) {
			pg_p_text(&p, j->du->du_only);
			j->res = pg_execp(c,
			    "SELECT d.state, d.due, d.rec, e.body FROM "
			    "hookd_deliveries d LEFT JOIN hookd_events e ON "
			    "e.id = d.event WHERE d.id = $1",
			    &p, &j->rc);
			return;
		}
		pg_p_text(&p, j->du->du_sub);
		pg_p_int(&p, j->cls);
		pg_p_int(&p, j->from_due);
		pg_p_text(&p, j->from_id);
		j->asked = PG_CHUNK;
		pg_p_int(&p, j->asked);
		if ((j->rc = pg_arr_param(&p, j->head ? &j->none : &j->busy)) !=
		    0)
			return;
		j->res = pg_execp(
		    c, j->incl ? pg_due_from : pg_due_after, &p, &j->rc);
		return;
	}
}

static void pg_rfinish(struct pg_rjob *);
static void pg_rclear(struct pg_rjob *);

/* Queues J for the reader (or runs it here once the reader stopped). */
static void
pg_rsubmit(struct pg_rjob *j)
{
	j->next = NULL;
	j->rc = 0;
	if (pg.rinline) {
		j->seen = pg.wseq;
		if (pg.rl.c != NULL && PQstatus(pg.rl.c) == CONNECTION_OK)
			pg_rrun(pg.rl.c, j);
		else
			j->rc = HK_ESHUTDOWN;
		pg_rfinish(j);
		return;
	}
	pthread_mutex_lock(&pg.lock);
	*pg.rqtail = j;
	pg.rqtail = &j->next;
	pthread_cond_signal(&pg.rcond);
	pthread_mutex_unlock(&pg.lock);
}

static void *
pg_reader(void *arg)
{
	struct pg_rjob *j;
	int linked;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&pg.lock);
		while (pg.rqhead == NULL && !pg.rclosing)
			pthread_cond_wait(&pg.rcond, &pg.lock);
		if ((j = pg.rqhead) == NULL) {
			pthread_mutex_unlock(&pg.lock);
			break;
		}
		if ((pg.rqhead = j->next) == NULL)
			pg.rqtail = &pg.rqhead;
		pthread_mutex_unlock(&pg.lock);
		pthread_mutex_lock(&pg.lock);
		j->seen = pg.wseq;
		pthread_mutex_unlock(&pg.lock);
		pthread_mutex_lock(&pg.rconn);
		if ((linked = pg_link_ok(&pg.rl)))
			pg_rrun(pg.rl.c, j);
		else
			j->rc = HK_EIO;
		/*
		 * A read is safe to repeat: once on a new connection, when
		 * this one broke under it (not while the link waits out its
		 * backoff: every queued read would reconnect in turn).
		 */
		if (linked && j->rc != 0 && pg.rl.c != NULL &&
		    PQstatus(pg.rl.c) != CONNECTION_OK) {
			pg_rclear(j);
			pg.rl.retry_us = 0;
			if (pg_link_ok(&pg.rl))
				pg_rrun(pg.rl.c, j);
		}
		pthread_mutex_unlock(&pg.rconn);
		j->next = NULL;
		pthread_mutex_lock(&pg.lock);
		*pg.rdtail = j;
		pg.rdtail = &j->next;
		pthread_mutex_unlock(&pg.lock);
		pg_wake(pg.refd);
	}
	return NULL;
}

static void
pg_rclear(struct pg_rjob *j)
{
	PQclear(j->res);
	PQclear(j->att);
	j->res = j->att = NULL;
}

/* Calls rd_attempt for each attempt of DLV among J's attempts. */
static void
pg_attempts(struct pg_rjob *j, const char *dlv)
{
	int lo = 0, hi = PQntuples(j->att), mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(PQgetvalue(j->att, mid, 0), dlv) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < PQntuples(j->att) &&
	     strcmp(PQgetvalue(j->att, lo, 0), dlv) == 0;
	     lo++)
		j->rd->rd_attempt(j->rd, dlv, (int)pg_int(j->att, lo, 1),
		    PQgetvalue(j->att, lo, 2),
		    (size_t)PQgetlength(j->att, lo, 2));
}

/* A READ job's chunk came back: its rows go to rd_row. */
static void
pg_read_rows(struct pg_rjob *j)
{
	struct hk_st_read *rd = j->rd;
	int i, n = PQntuples(j->res), r;
	const char *id;

	for (i = 0; i < n; i++) {
		id = PQgetvalue(j->res, i, 0);
		if ((rd->rd_limit > 0 && j->counted == rd->rd_limit) ||
		    (rd->rd_scan > 0 && j->scanned == rd->rd_scan)) {
			rd->rd_more = 1;
			goto done;
		}
		j->scanned++;
		snprintf(rd->rd_next, sizeof(rd->rd_next), "%s", id);
		r = rd->rd_row(rd, id, PQgetvalue(j->res, i, 1),
		    (size_t)PQgetlength(j->res, i, 1));
		if (r == 1 && rd->rd_attempt != NULL && j->att != NULL)
			pg_attempts(j, id);
		if (r < 0)
			goto done;
		j->counted += (size_t)r;
	}
	if (n < j->asked)
		goto done;
	snprintf(
	    j->after, sizeof(j->after), "%s", PQgetvalue(j->res, n - 1, 0));
	j->has_after = 1;
	pg_rclear(j);
	pg_rsubmit(j);
	return;
done:
	pg_rclear(j);
	free(j);
	rd->rd_done(rd, 0);
}

static void
pg_due_next(struct hk_st_due *du, int64_t due)
{
	if (due < du->du_next)
		du->du_next = due;
}

/* Hands row I of R (record column RC, envelope column EC) to du_take. */
static void
pg_due_take(struct hk_st_due *du, const char *dlv, const PGresult *r, int i,
    int rc, int ec)
{
	struct hk_delivery d;

	if (hk_delivery_parse(
	        PQgetvalue(r, i, rc), (size_t)PQgetlength(r, i, rc), &d) != 0) {
		du->du_take(du, dlv, NULL, NULL, 0);
		return;
	}
	if (PQgetisnull(r, i, ec))
		du->du_take(du, dlv, &d, NULL, 0);
	else
		du->du_take(du, dlv, &d, PQgetvalue(r, i, ec),
		    (size_t)PQgetlength(r, i, ec));
}

/* A due read ends: it leaves pg.due_jobs and is freed. */
static void
pg_due_end(struct pg_rjob *j)
{
	if ((*j->dprev = j->dnext) != NULL)
		j->dnext->dprev = j->dprev;
	if (pg.due_jobs == NULL)
		pg.nreaped = 0;
	pg_rclear(j);
	hk_buf_free(&j->busy.b);
	hk_buf_free(&j->none.b);
	free(j);
}

/* A DUE job's rows came back: they go to du_pick and du_take. */
static void
pg_due_rows(struct pg_rjob *j)
{
	struct hk_st_due *du = j->du;
	int i, n = PQntuples(j->res), pick;
	char dlv[HK_ID_MAX];
	int64_t due;
	size_t len;

	if (j->head) {
		j->head = 0;
		if (n > 0) {
			snprintf(du->du_head, sizeof(du->du_head), "%s",
			    PQgetvalue(j->res, 0, 0));
			goto done;
		}
		j->cls = 0;
		j->from_due = j->saved_due;
		memcpy(j->from_id, j->saved_id, sizeof(j->from_id));
		j->incl = j->saved_incl;
		pg_rclear(j);
		pg_rsubmit(j);
		return;
	}
	if (du->du_only != NULL) {
		if (n == 0 || pg_int(j->res, 0, 0) != HK_DS_PENDING)
			du->du_gone = 1;
		else if ((due = pg_int(j->res, 0, 1)) > du->du_now)
			pg_due_next(du, due);
		else if (!pg_due_stale(j, du->du_only) &&
		    du->du_pick(du, du->du_only) == 1)
			pg_due_take(du, du->du_only, j->res, 0, 2, 3);
		goto done;
	}
	for (i = 0; i < n; i++) {
		snprintf(dlv, sizeof(dlv), "%s", PQgetvalue(j->res, i, 0));
		if ((due = pg_int(j->res, i, 1)) > du->du_now) {
			pg_due_next(du, due);
			goto next_class;
		}
		if (pg_due_stale(j, dlv))
			continue;
		if ((pick = du->du_pick(du, dlv)) < 0) {
			len = strlen(dlv);
			if (j->cls == 0 && 8 + len <= sizeof(du->du_pos)) {
				memcpy(du->du_pos, &due, 8);
				memcpy(du->du_pos + 8, dlv, len);
				du->du_poslen = 8 + len;
			}
			goto done;
		}
		if (pick == 1)
			pg_due_take(du, dlv, j->res, i, 2, 3);
	}
	if (n == j->asked) {
		j->from_due = pg_int(j->res, n - 1, 1);
		snprintf(j->from_id, sizeof(j->from_id), "%s",
		    PQgetvalue(j->res, n - 1, 0));
		j->incl = 0;
		pg_rclear(j);
		pg_rsubmit(j);
		return;
	}
next_class:
	if (j->cls == 0) {
		j->cls = 1;
		j->from_due = INT64_MIN;
		j->from_id[0] = '\0';
		j->incl = 0;
		pg_rclear(j);
		pg_rsubmit(j);
		return;
	}
done:
	pg_due_end(j);
	du->du_done(du, 0);
}

/* A job's answer, on the loop. */
static void
pg_rfinish(struct pg_rjob *j)
{
	struct hk_st_read *rd = j->rd;
	struct hk_st_due *du = j->du;
	int rc = j->rc, n;

	if (rc != 0) {
		if (du != NULL) {
			pg_due_end(j);
			du->du_done(du, rc);
			return;
		}
		pg_rclear(j);
		free(j);
		rd->rd_done(rd, rc);
		return;
	}
	switch (j->kind) {
	case PG_R_READ:
		pg_read_rows(j);
		return;
	case PG_R_DUE:
		pg_due_rows(j);
		return;
	case PG_R_GET:
		if ((n = PQntuples(j->res)) == 0)
			rc = HK_ENOTFOUND;
		else {
			snprintf(rd->rd_next, sizeof(rd->rd_next), "%s", j->id);
			if (rd->rd_row(rd, j->id, PQgetvalue(j->res, 0, 1),
			        (size_t)PQgetlength(j->res, 0, 1)) == 1 &&
			    rd->rd_attempt != NULL && j->att != NULL)
				pg_attempts(j, j->id);
		}
		pg_rclear(j);
		free(j);
		rd->rd_done(rd, rc);
		return;
	}
}

static void
pg_rready(evutil_socket_t fd, short what, void *arg)
{
	struct pg_rjob *list, *j;

	(void)fd;
	(void)what;
	(void)arg;
	pg_drain(pg.refd);
	pthread_mutex_lock(&pg.lock);
	list = pg.rdhead;
	pg.rdhead = NULL;
	pg.rdtail = &pg.rdhead;
	pthread_mutex_unlock(&pg.lock);
	while ((j = list) != NULL) {
		list = j->next;
		pg_rfinish(j);
	}
}

static void
pg_read(struct hk_st_read *rd, const char *id)
{
	const struct pg_list *l;
	const char *scope = rd->rd_scope;
	struct pg_rjob *j;
	int rc = 0;

	rd->rd_more = 0;
	rd->rd_next[0] = '\0';
	if (scope != NULL && scope[0] == '\0')
		scope = NULL;
	if (!pg.open)
		rc = HK_ESHUTDOWN;
	else if ((unsigned)rd->rd_list >= HK_SL_COUNT ||
	    pg_lists[rd->rd_list].table == NULL)
		rc = HK_EINVAL;
	else {
		l = &pg_lists[rd->rd_list];
		if (l->scope != NULL && scope == NULL && !l->optional)
			rc = HK_EINVAL;
		else if (scope != NULL && strlen(scope) >= HK_ID_MAX)
			rc = HK_EINVAL;
		else if (id != NULL &&
		    ((l->scope != NULL && scope != NULL) ||
		        strlen(id) >= HK_ID_MAX))
			rc = HK_EINVAL;
	}
	if (rc == 0 && id == NULL && rd->rd_after != NULL &&
	    strlen(rd->rd_after) >= HK_ID_MAX) {
		rd->rd_done(rd, 0); /* past every key */
		return;
	}
	if (rc == 0 && (j = calloc(1, sizeof(*j))) == NULL)
		rc = HK_ENOMEM;
	if (rc != 0) {
		rd->rd_done(rd, rc);
		return;
	}
	j->rd = rd;
	if (id != NULL) {
		j->kind = PG_R_GET;
		snprintf(j->id, sizeof(j->id), "%s", id);
	} else {
		j->kind = PG_R_READ;
		if (rd->rd_after != NULL && rd->rd_after[0] != '\0') {
			snprintf(
			    j->after, sizeof(j->after), "%s", rd->rd_after);
			j->has_after = 1;
		}
	}
	pg_rsubmit(j);
}

static void
pg_due(struct hk_st_due *du)
{
	struct pg_rjob *j;

	du->du_next = INT64_MAX;
	du->du_gone = 0;
	du->du_head[0] = '\0';
	if (!pg.open || strlen(du->du_sub) >= HK_ID_MAX) {
		du->du_done(du, pg.open ? HK_EIO : HK_ESHUTDOWN);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		du->du_done(du, HK_ENOMEM);
		return;
	}
	j->kind = PG_R_DUE;
	j->du = du;
	j->from_due = INT64_MIN;
	pg_arr_init(&j->none, PG_OID_TEXT);
	pg_arr_init(&j->busy, PG_OID_TEXT);
	if (du->du_only == NULL && du->du_busy != NULL) {
		const char *ids[PG_BUSY_MAX];
		size_t i, n = du->du_busy(du, ids, PG_BUSY_MAX);

		for (i = 0; i < n; i++)
			pg_arr_text(&j->busy, ids[i]);
	}
	if ((j->dnext = pg.due_jobs) != NULL)
		pg.due_jobs->dprev = &j->dnext;
	pg.due_jobs = j;
	j->dprev = &pg.due_jobs;
	/* First attempts resume where the last read stopped. */
	if (du->du_only == NULL && du->du_poslen > 8 &&
	    du->du_poslen - 8 < HK_ID_MAX) {
		memcpy(&j->from_due, du->du_pos, 8);
		memcpy(j->from_id, du->du_pos + 8, du->du_poslen - 8);
		j->from_id[du->du_poslen - 8] = '\0';
		j->incl = 1;
	}
	du->du_poslen = 0;
	if (du->du_only == NULL && du->du_ordered) {
		/* The retry class's first row, whatever its due time. */
		j->head = 1;
		j->cls = 1;
		j->saved_due = j->from_due;
		j->from_due = INT64_MIN;
		snprintf(j->saved_id, sizeof(j->saved_id), "%s", j->from_id);
		j->saved_incl = j->incl;
		j->from_id[0] = '\0';
		j->incl = 0;
	}
	pg_rsubmit(j);
}

/* Start-up: every row of LIST, oldest first, on the caller's thread. */
static int
pg_scan(enum hk_st_list list,
    int (*row)(void *, const char *, const char *, size_t), void *arg)
{
	const struct pg_list *l;
	struct pg_params p;
	char sql[256], after[HK_ID_MAX] = "";
	PGresult *r;
	int i, n, rc = 0;

	if ((unsigned)list >= HK_SL_COUNT || pg_lists[list].table == NULL)
		return HK_EINVAL;
	l = &pg_lists[list];
	if (l->scope != NULL && !l->optional)
		return HK_EINVAL;
	pthread_mutex_lock(&pg.rconn);
	do {
		memset(&p, 0, sizeof(p));
		pg_p_text(&p, after);
		snprintf(sql, sizeof(sql),
		    "SELECT %s, %s FROM %s WHERE %s > $1 ORDER BY %s LIMIT 1000",
		    l->id, l->body, l->table, l->id, l->id);
		if (!pg_link_ok(&pg.rl)) {
			rc = HK_EIO;
			break;
		}
		if ((r = pg_exec(pg.rl.c, sql, &p, &rc)) == NULL)
			break;
		n = PQntuples(r);
		for (i = 0; i < n && rc == 0; i++) {
			if (PQgetlength(r, i, 0) >= HK_ID_MAX)
				continue;
			snprintf(
			    after, sizeof(after), "%s", PQgetvalue(r, i, 0));
			if (!pg.readonly)
				pc_scanned(list, after);
			rc = row(arg, after, PQgetvalue(r, i, 1),
			    (size_t)PQgetlength(r, i, 1));
		}
		PQclear(r);
	} while (rc == 0 && n == 1000);
	pthread_mutex_unlock(&pg.rconn);
	return rc;
}

static void
pg_usage(struct hk_st_usage *u)
{
	size_t i;

	memset(u, 0, sizeof(*u));
	pthread_mutex_lock(&pg.lock);
	u->su_size = pg.size;
	u->su_used =
	    pg.used > pg.base_bytes ? (size_t)(pg.used - pg.base_bytes) : 0;
	u->su_commits = pg.commits;
	u->su_ops = pg.ops;
	/*
	 * Not ready while the last batch failed, or some operation failed
	 * alone lately: one that succeeds beside it (a request-log entry)
	 * says nothing of the events that keep failing.
	 */
	u->su_failed = pg.failed ||
	    (pg.refused_us != 0 &&
	        hk_mono_us() - pg.refused_us < PG_REFUSED_HOLD_US);
	for (i = 0; i <= HK_SL_PENDING; i++)
		u->su_rows[i] = pg.rows[i] > 0 ? (uint64_t)pg.rows[i] : 0;
	pthread_mutex_unlock(&pg.lock);
}

static int
pg_full(void)
{
	int full;

	pthread_mutex_lock(&pg.lock);
	full = pg.lost || pg.stalled ? HK_EIO
	    : pg.size > 0 &&
	        (double)(pg.used - pg.base_bytes) >
	            (double)pg.size * pg.highwater / 100.0
	    ? HK_EFULL
	    : 0;
	pthread_mutex_unlock(&pg.lock);
	return full;
}

static size_t
pg_inflight(void)
{
	return pg.inflight;
}

/* Opening. */

static int
pg_claims(const char *where)
{
	const char *p;

	if (strncmp(where, "postgresql://", 13) == 0 ||
	    strncmp(where, "postgres://", 11) == 0)
		return 1;
	/* A conninfo string: "keyword=value ...". */
	for (p = where; (*p >= 'a' && *p <= 'z') || *p == '_'; p++)
		;
	while (*p == ' ')
		p++;
	return p > where && *p == '=';
}

int
pg_cause(char **cause, const char *what, const char *detail)
{
	char buf[512];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", detail != NULL ? detail : "");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (asprintf(cause, "PostgreSQL: %s%s%s", what, n > 0 ? ": " : "",
	        buf) == -1)
		*cause = NULL;
	return HK_EINVAL;
}

_Static_assert(HK_DS_FAILED == 3, "hookd_failed's index names state 3");

static const char pg_schema_sql[] =
    "CREATE TABLE hookd_meta (key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE hookd_webhooks (id text COLLATE \"C\" PRIMARY KEY,"
    " name text COLLATE \"C\" NOT NULL UNIQUE, body bytea NOT NULL);"
    "CREATE TABLE hookd_subs (id text COLLATE \"C\" PRIMARY KEY,"
    " body bytea NOT NULL);"
    "CREATE TABLE hookd_events (id text COLLATE \"C\" PRIMARY KEY,"
    " ms bigint NOT NULL, body bytea NOT NULL);"
    "CREATE INDEX hookd_events_ms ON hookd_events (ms, id);"
    "CREATE TABLE hookd_idem (key bytea PRIMARY KEY,"
    " event text COLLATE \"C\" NOT NULL, ms bigint NOT NULL);"
    "CREATE INDEX hookd_idem_ms ON hookd_idem (ms);"
    "CREATE TABLE hookd_reqlog (webhook text COLLATE \"C\","
    " id text COLLATE \"C\", ms bigint NOT NULL, body bytea NOT NULL,"
    " PRIMARY KEY (webhook, id));"
    "CREATE INDEX hookd_reqlog_ms ON hookd_reqlog (ms, id);"
    "CREATE TABLE hookd_deliveries (id text COLLATE \"C\" PRIMARY KEY,"
    " event text COLLATE \"C\" NOT NULL, sub text COLLATE \"C\" NOT NULL,"
    " state bigint NOT NULL, cls bigint NOT NULL, due bigint NOT NULL,"
    " ms bigint NOT NULL, rec bytea NOT NULL);"
    "CREATE INDEX hookd_deliveries_event ON hookd_deliveries (event, id);"
    "CREATE INDEX hookd_deliveries_sub ON hookd_deliveries (sub, id);"
    "CREATE INDEX hookd_queue ON hookd_deliveries (sub, cls, due, id)"
    " WHERE state = 0;"
    /* GET /api/deliveries?status=failed: 3 is HK_DS_FAILED. */
    "CREATE INDEX hookd_failed ON hookd_deliveries (id) WHERE state = 3;"
    "CREATE TABLE hookd_attempts (dlv text COLLATE \"C\", n bigint,"
    " body bytea NOT NULL, PRIMARY KEY (dlv, n));"
    /* Cluster mode (next stage): live nodes, a lease per subscription. */
    "CREATE TABLE hookd_nodes (id text PRIMARY KEY,"
    " started_at timestamptz NOT NULL DEFAULT now(),"
    " heartbeat_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE hookd_leases (sub text COLLATE \"C\" PRIMARY KEY,"
    " node text, epoch bigint NOT NULL DEFAULT 0, expires_at timestamptz);"
    "INSERT INTO hookd_meta VALUES ('program', 'hookd'), ('schema', '1');";

/*
 * Schema N-1 to N, in order; each ends by naming its number. 2: cluster
 * mode (pg_cluster.c): nodes' addresses, runs and published stats, the
 * lease's run, the epochs, the change log and its counter. 3: the
 * subscriptions' names, unique across the nodes (each node's cache
 * knows only what it has seen: the database decides).
 */
static const char *const pg_migrations[] = {
    NULL,
    NULL,
    "ALTER TABLE hookd_nodes ADD COLUMN instance text NOT NULL DEFAULT '',"
    " ADD COLUMN public_addr text NOT NULL DEFAULT '',"
    " ADD COLUMN admin_addr text NOT NULL DEFAULT '', ADD COLUMN stats text;"
    "ALTER TABLE hookd_leases ADD COLUMN instance text NOT NULL DEFAULT '';"
    "CREATE INDEX hookd_leases_node ON hookd_leases (node, sub);"
    "CREATE SEQUENCE hookd_epoch;"
    "CREATE TABLE hookd_changes (ver bigint PRIMARY KEY,"
    " list smallint NOT NULL, id text COLLATE \"C\" NOT NULL,"
    " node text NOT NULL, at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX hookd_changes_at ON hookd_changes (at);"
    "INSERT INTO hookd_meta VALUES ('config_version', '0');"
    "UPDATE hookd_meta SET value = '2' WHERE key = 'schema';",
    "ALTER TABLE hookd_subs ADD COLUMN name text COLLATE \"C\";"
    "UPDATE hookd_subs SET name = convert_from(body, 'UTF8')::jsonb ->>"
    " 'name';"
    "CREATE UNIQUE INDEX hookd_subs_name ON hookd_subs (name);"
    "UPDATE hookd_meta SET value = '3' WHERE key = 'schema';",
};
_Static_assert(
    sizeof(pg_migrations) / sizeof(pg_migrations[0]) == PG_SCHEMA + 1,
    "a migration to every schema");

/* One value of a text-mode query, copied into OUT; "" when none. */
static int
pg_value(PGconn *c, const char *sql, char *out, size_t len)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0;

	out[0] = '\0';
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = HK_EIO;
	else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* Creates or checks the schema, under the advisory lock. */
static int
pg_schema(PGconn *c, char **cause)
{
	char v[64], sql[128];
	int rc, n;

	if (pg_simple(c, "BEGIN") != 0)
		return pg_cause(cause, "BEGIN failed", PQerrorMessage(c));
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)",
	    (long long)PG_LOCK_KEY);
	if (pg_value(c, sql, v, sizeof(v)) != 0)
		goto fail;
	if (pg_value(
	        c, "SELECT to_regclass('hookd_meta')::text", v, sizeof(v)) != 0)
		goto fail;
	if (v[0] == '\0') {
		if (pg_value(c,
		        "SELECT min(c.relname) FROM pg_class c JOIN "
		        "pg_namespace n ON n.oid = c.relnamespace WHERE "
		        "n.nspname = current_schema() AND c.relkind IN "
		        "('r', 'p', 'v', 'm', 'f') AND NOT EXISTS (SELECT 1 "
		        "FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
		        "AND d.objid = c.oid AND d.deptype = 'e')",
		        v, sizeof(v)) != 0)
			goto fail;
		if (v[0] != '\0') {
			(void)pg_simple(c, "ROLLBACK");
			return pg_cause(cause,
			    "the database holds another program's tables "
			    "(not hookd's)",
			    v);
		}
		if ((rc = pg_simple(c, pg_schema_sql)) != 0)
			goto fail;
		log_info("store_schema", "created=%d", 1);
		snprintf(v, sizeof(v), "1");
	} else {
		if (pg_value(c,
		        "SELECT value FROM hookd_meta WHERE key = 'program'", v,
		        sizeof(v)) != 0 ||
		    strcmp(v, "hookd") != 0) {
			(void)pg_simple(c, "ROLLBACK");
			return pg_cause(cause,
			    "the database is not hookd's (hookd_meta)", NULL);
		}
		if (pg_value(c,
		        "SELECT value FROM hookd_meta WHERE key = 'schema'", v,
		        sizeof(v)) != 0)
			goto fail;
		if (atoi(v) > PG_SCHEMA) {
			(void)pg_simple(c, "ROLLBACK");
			snprintf(sql, sizeof(sql),
			    "schema %s, this hookd knows %d at most", v,
			    PG_SCHEMA);
			return pg_cause(
			    cause, "the schema is newer than this hookd", sql);
		}
	}
	/* Schema 3 makes the subscriptions' names unique: two nodes of
	 * schema 2 could give one name twice. Said, not guessed at. */
	if (atoi(v) == 2) {
		if (pg_value(c,
		        "SELECT min(n) FROM (SELECT convert_from(body, 'UTF8')"
		        "::jsonb ->> 'name' AS n FROM hookd_subs) x WHERE n IS "
		        "NOT NULL GROUP BY n HAVING count(*) > 1",
		        sql, sizeof(sql)) != 0)
			goto fail;
		if (sql[0] != '\0') {
			(void)pg_simple(c, "ROLLBACK");
			return pg_cause(cause,
			    "subscriptions share a name, which schema 3 makes "
			    "unique: rename all but one (with the hookd that made "
			    "them), then start this one",
			    sql);
		}
	}
	for (n = atoi(v) + 1; n >= 2 && n <= PG_SCHEMA; n++) {
		if ((rc = pg_simple(c, pg_migrations[n])) != 0)
			goto fail;
		log_info("store_schema", "migrated=%d", n);
	}
	if (pg_commit(c) != 0)
		return pg_cause(
		    cause, "cannot set up the schema", pg_commit_why(c));
	return 0;
fail:
	rc = pg_cause(cause, "cannot set up the schema", PQerrorMessage(c));
	(void)pg_simple(c, "ROLLBACK");
	return rc;
}

/* The row counts and sizes, once at open. */
static int
pg_counts(PGconn *c)
{
	PGresult *r;
	int rc;

	if ((r = pg_exec(c,
	         "SELECT (SELECT count(*) FROM hookd_webhooks),"
	         " (SELECT count(*) FROM hookd_subs),"
	         " (SELECT count(*) FROM hookd_events),"
	         " (SELECT count(*) FROM hookd_deliveries),"
	         " (SELECT count(*) FROM hookd_deliveries WHERE state = 0),"
	         " (SELECT coalesce(sum(octet_length(body) + octet_length(id)"
	         " + octet_length(webhook) + 40), 0)::bigint FROM hookd_reqlog),"
	         " pg_database_size(current_database())",
	         NULL, &rc)) == NULL)
		return rc;
	pg.rows[HK_SL_WEBHOOKS] = pg_int(r, 0, 0);
	pg.rows[HK_SL_SUBS] = pg_int(r, 0, 1);
	pg.rows[HK_SL_EVENTS] = pg_int(r, 0, 2);
	pg.rows[HK_SL_DELIVERIES] = pg_int(r, 0, 3);
	pg.rows[HK_SL_PENDING] = pg_int(r, 0, 4);
	pg.logbytes = pg_int(r, 0, 5);
	pg.used = pg_int(r, 0, 6);
	PQclear(r);
	/*
	 * The space hookd's data takes is the database's size less that of
	 * the empty schema, measured once: --map-size is its quota here.
	 */
	if ((r = pg_exec(c,
	         "INSERT INTO hookd_meta VALUES ('base_bytes', "
	         "pg_database_size(current_database())::text) ON CONFLICT "
	         "(key) DO UPDATE SET value = hookd_meta.value RETURNING "
	         "value::bigint",
	         NULL, &rc)) == NULL)
		return rc;
	pg.base_bytes = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static void pg_close(void);

/*
 * hookd --check: the store read and nothing else, on one read-only
 * session for hk_st_scan; no writer, no reader thread, no schema made
 * (HK_ENOTFOUND when there is none yet). The connection is pg.wl's.
 */
static int
pg_open_readonly(char **cause)
{
	char v[64];
	int rc = 0;

	if (pg_simple(pg.wl.c, "SET default_transaction_read_only = on") != 0 ||
	    pg_value(pg.wl.c, "SELECT to_regclass('hookd_meta')::text", v,
	        sizeof(v)) != 0)
		rc = pg_cause(cause, "cannot read", PQerrorMessage(pg.wl.c));
	else if (v[0] == '\0')
		rc = HK_ENOTFOUND;
	else if (pg_value(pg.wl.c,
	             "SELECT value FROM hookd_meta WHERE key = 'schema'", v,
	             sizeof(v)) != 0 ||
	    atoi(v) > PG_SCHEMA)
		rc = pg_cause(
		    cause, "the schema is not one this hookd reads", v);
	if (rc != 0) {
		PQfinish(pg.wl.c);
		pg.wl.c = NULL;
		free(pg.where);
		pg.where = NULL;
		return rc;
	}
	pg.rl.c = pg.wl.c;
	pg.wl.c = NULL;
	pg.wclosing = 1; /* submits are refused */
	pg.open = 1;
	return 0;
}

static int
pg_open(const struct hk_st_conf *sc, char **cause)
{
	char v[64];
	int rc;

	memset(&pg, 0, sizeof(pg));
	pg.wefd = pg.refd = -1;
	pg.qtail = &pg.qhead;
	pg.dtail = &pg.dhead;
	pg.ptail = &pg.phead;
	pg.rqtail = &pg.rqhead;
	pg.rdtail = &pg.rdhead;
	pg.wl.name = "writer";
	pg.rl.name = "reader";
	pg.size = sc->sc_mapsize;
	pg.highwater = sc->sc_highwater;
	pg.base = sc->sc_base;
	pg.lease_ms = sc->sc_lease_ms > 0 ? sc->sc_lease_ms : 10000;
	pg.commit_us = (sc->sc_commit_ms > 0 ? sc->sc_commit_ms : 5000) * 1000;
	pg.readonly = sc->sc_readonly;
	pthread_mutex_init(&pg.lock, NULL);
	pthread_mutex_init(&pg.rconn, NULL);
	pthread_cond_init(&pg.wcond, NULL);
	pthread_cond_init(&pg.rcond, NULL);
	if ((pg.where = strdup(sc->sc_where)) == NULL)
		return HK_ENOMEM;
	pg.wl.c = pg_connect();
	if (pg.wl.c == NULL || PQstatus(pg.wl.c) != CONNECTION_OK) {
		rc = pg_cause(cause, "cannot connect",
		    pg.wl.c != NULL ? PQerrorMessage(pg.wl.c)
		                    : "out of memory");
		goto fail;
	}
	if (PQserverVersion(pg.wl.c) < 130000) {
		snprintf(v, sizeof(v), "server %d, 13 or later needed",
		    PQserverVersion(pg.wl.c));
		rc = pg_cause(cause, "the server is too old", v);
		goto fail;
	}
	if (sc->sc_readonly)
		return pg_open_readonly(cause);
	if (pg_session(pg.wl.c) != 0) {
		rc = pg_cause(cause, "cannot set up the session",
		    PQerrorMessage(pg.wl.c));
		goto fail;
	}
	if ((rc = pg_schema(pg.wl.c, cause)) != 0)
		goto fail;
	if (pg_value(pg.wl.c, "SHOW synchronous_commit", v, sizeof(v)) == 0 &&
	    strcmp(v, "off") == 0)
		log_warn("store_unsafe", "synchronous_commit=off error=%s",
		    hk_logq("a commit may be lost in a crash of the "
		            "database: a 202 is not durable"));
	if ((rc = pg_counts(pg.wl.c)) != 0) {
		rc = pg_cause(cause, "cannot count", PQerrorMessage(pg.wl.c));
		goto fail;
	}
	pg.rl.c = pg_connect();
	if (pg.rl.c == NULL || PQstatus(pg.rl.c) != CONNECTION_OK) {
		rc = pg_cause(cause, "cannot connect (reader)",
		    pg.rl.c != NULL ? PQerrorMessage(pg.rl.c)
		                    : "out of memory");
		goto fail;
	}
	pg.wefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pg.refd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pg.wefd == -1 || pg.refd == -1) {
		rc = pg_cause(cause, "eventfd", strerror(errno));
		goto fail;
	}
	pg.wready =
	    event_new(pg.base, pg.wefd, EV_READ | EV_PERSIST, pg_wready, NULL);
	pg.rready =
	    event_new(pg.base, pg.refd, EV_READ | EV_PERSIST, pg_rready, NULL);
	pg.flush = event_new(pg.base, -1, 0, pg_flush, NULL);
	if (pg.wready == NULL || pg.rready == NULL || pg.flush == NULL ||
	    event_add(pg.wready, NULL) != 0 ||
	    event_add(pg.rready, NULL) != 0) {
		rc = pg_cause(cause, "cannot watch the store", NULL);
		goto fail;
	}
	if (pthread_create(&pg.wthread, NULL, pg_writer, NULL) != 0) {
		rc = pg_cause(cause, "cannot start the writer", NULL);
		goto fail;
	}
	pg.wstarted = 1;
	if (pthread_create(&pg.rthread, NULL, pg_reader, NULL) != 0) {
		rc = pg_cause(cause, "cannot start the reader", NULL);
		goto fail;
	}
	pg.rstarted = 1;
	if ((rc = pc_open(pg.wl.c, sc, cause)) != 0)
		goto fail;
	pg.open = 1;
	log_info("store_open", "engine=postgresql server=%d schema=%d",
	    PQserverVersion(pg.wl.c), PG_SCHEMA);
	return 0;
fail:
	pg.open = 1;
	pg_close();
	return rc;
}

static void
pg_close(void)
{
	if (!pg.open)
		return;
	/* The writer drains its queue, then the loop runs every so_done. */
	pg_flush(-1, 0, NULL);
	if (pg.wstarted) {
		pthread_mutex_lock(&pg.lock);
		pg.wclosing = 1;
		pthread_cond_signal(&pg.wcond);
		pthread_mutex_unlock(&pg.lock);
		pthread_join(pg.wthread, NULL);
		pg.wstarted = 0;
		pg_reap();
	}
	pg.wclosing = 1;
	if (pg.rstarted) {
		pthread_mutex_lock(&pg.lock);
		pg.rclosing = 1;
		pthread_cond_signal(&pg.rcond);
		pthread_mutex_unlock(&pg.lock);
		pthread_join(pg.rthread, NULL);
		pg.rstarted = 0;
	}
	if (!pg.readonly)
		pc_close();
	/* What the reader answered, and what that asks, run here now. */
	pg.rinline = 1;
	pg_rready(-1, 0, NULL);
	pg.open = 0;
	if (pg.wready != NULL)
		event_free(pg.wready);
	if (pg.rready != NULL)
		event_free(pg.rready);
	if (pg.flush != NULL)
		event_free(pg.flush);
	pg.wready = pg.rready = pg.flush = NULL;
	if (pg.wefd != -1)
		close(pg.wefd);
	if (pg.refd != -1)
		close(pg.refd);
	pg.wefd = pg.refd = -1;
	PQfinish(pg.wl.c);
	PQfinish(pg.rl.c);
	pg.wl.c = pg.rl.c = NULL;
	free(pg.where);
	pg.where = NULL;
	free(pg.reaped);
	pg.reaped = NULL;
	pg.nreaped = pg.capreaped = 0;
}

const struct hk_st_engine hk_st_pg = {
    .se_name = "postgresql",
    .se_claims = pg_claims,
    .se_open = pg_open,
    .se_close = pg_close,
    .se_inflight = pg_inflight,
    .se_usage = pg_usage,
    .se_full = pg_full,
    .se_submit = pg_submit,
    .se_read = pg_read,
    .se_due = pg_due,
    .se_scan = pg_scan,
    .se_watch = pc_watch,
    .se_serves = pc_serves,
    .se_nodes = pc_nodes,
    .se_publish = pc_publish,
    .se_addresses = pc_addresses,
};
