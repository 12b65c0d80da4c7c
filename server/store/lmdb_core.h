/*
 * store.h: the LMDB environment and its single writer thread.
 *
 * All state lives in one LMDB environment in a directory. Writes never
 * happen on the caller's thread: the loop thread submits operations with
 * hk_store_submit(); one writer thread takes every operation queued so
 * far, applies them all in one write transaction and commits it with one
 * fsync (group commit); then the loop is woken through hk_store_fd() and
 * hk_store_reap() runs each operation's done callback on the loop thread,
 * in submission order. While the writer syncs one batch, the loop
 * gathers the next. With a kick (hk_store_conf), submissions are handed
 * to the writer once per pass of the loop, not one by one: a writer
 * woken for every request would, on a busy core, commit them one by one.
 *
 * An operation's apply callback runs on the writer thread inside the
 * batch's transaction. It returns 0, or a refusal (HK_EINVAL, HK_EEXIST,
 * HK_ENOTFOUND, HK_EDUP or any code other than those below) which it
 * must return before writing anything, or a transaction failure
 * (HK_EFULL, HK_EIO, HK_ENOMEM; use hk_store_err() on an LMDB code). A
 * failure aborts the batch, never reuses the transaction, and reapplies
 * its operations one per transaction, so one operation that does not fit
 * fails alone. Nothing committed is ever lost.
 *
 * Reads happen on the loop thread in one reusable read-only transaction
 * (hk_store_rbegin / hk_store_rend); LMDB readers never block.
 *
 * Caveats: only the thread that opened the store may submit, reap and
 * read. An operation must stay valid from submit until its done
 * callback; the store never frees it.
 */
#ifndef HK_STORE_H
#define HK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

enum hk_db {
	HK_DB_META, /* "version" and other singletons */
	HK_DB_WEBHOOKS, /* wh id -> webhook JSON */
	HK_DB_NAMES, /* webhook name -> wh id */
	HK_DB_EVENTS, /* evt id -> envelope JSON */
	HK_DB_IDEM, /* scope '\0' key -> idem record */
	HK_DB_REQLOG, /* wh id + log id -> log entry JSON */
	HK_DB_SUBS, /* sub id -> subscription JSON */
	HK_DB_DELIVERIES, /* dlv id -> delivery record */
	HK_DB_QUEUE, /* sub id, class, due time, dlv id -> "" */
	HK_DB_EVDLV, /* evt id + dlv id -> "" (an event's deliveries) */
	HK_DB_SUBDLV, /* sub id + dlv id -> "" (a subscription's) */
	HK_DB_ATTEMPTS, /* dlv id + attempt (2 bytes BE) -> attempt JSON */
	HK_DB_FAILED, /* dlv id -> "" (every failed delivery) */
	HK_DB_COUNT
};

struct hk_store;
struct hk_store_op;

typedef int (*hk_store_apply_fn)(
    struct hk_store_op *, struct hk_store *, MDB_txn *);
typedef void (*hk_store_done_fn)(struct hk_store_op *, int rc);

struct hk_store_op {
	hk_store_apply_fn so_apply; /* writer thread */
	hk_store_done_fn so_done; /* loop thread; may free the op */
	int so_rc;
	struct hk_store_op *so_next;
};

struct hk_store_conf {
	const char *sc_dir;
	size_t sc_mapsize;
	int sc_highwater; /* percent of the map above which hk_store_full */
	/*
	 * Optional: called (loop thread) by the first submit after a flush;
	 * it arranges for hk_store_flush() once the loop has read what is
	 * ready. Without it every submit is handed on at once.
	 */
	void (*sc_kick)(void *);
	void *sc_kick_arg;
	/*
	 * Read-only (hookd --check): the environment opened MDB_RDONLY, no
	 * writer, nothing written; HK_ENOTFOUND when there is no store yet.
	 */
	int sc_readonly;
};

struct hk_store_usage {
	size_t su_mapsize;
	size_t su_used; /* pages in use (last page less free pages) */
	uint64_t su_commits;
	uint64_t su_ops;
	int su_failed; /* the last transaction failed (disk or map) */
	int su_broken; /* a write failed: nothing is written until restart */
};

/*
 * Opens (creating) the environment in conf->sc_dir and starts the writer.
 * Returns 0, or HK_EIO/HK_EINVAL with *cause (caller frees).
 */
int hk_store_open(
    struct hk_store **, const struct hk_store_conf *, char **cause);
/*
 * Drains the queue (every submitted operation is applied), stops the
 * writer and closes the environment. Done callbacks of operations that
 * finished but were not reaped are run first.
 */
void hk_store_close(struct hk_store *);

/* Queues OP. Returns 0, or HK_ESHUTDOWN once closing began. */
int hk_store_submit(struct hk_store *, struct hk_store_op *);
/* Hands what was submitted since the last flush to the writer. */
void hk_store_flush(struct hk_store *);
/* The descriptor that turns readable when operations are done. */
int hk_store_fd(struct hk_store *);
/* Runs the done callbacks of finished operations. Returns how many. */
int hk_store_reap(struct hk_store *);
/* Operations submitted and not yet reaped. */
size_t hk_store_inflight(struct hk_store *);

MDB_dbi hk_store_dbi(struct hk_store *, enum hk_db);
MDB_env *hk_store_env(struct hk_store *);

/*
 * The loop's read transaction, borrowed until hk_store_rend(). Values
 * read through it are valid only until then. Returns 0 or HK_EIO.
 */
int hk_store_rbegin(struct hk_store *, MDB_txn **);
void hk_store_rend(struct hk_store *);

/* Figures as of the last commit. */
void hk_store_usage(struct hk_store *, struct hk_store_usage *);
/* Whether the map is above the high-water mark (new data is refused). */
int hk_store_full(struct hk_store *);

/* Maps an LMDB or errno code to HK_EFULL, HK_EIO, HK_ENOMEM or HK_ERR. */
int hk_store_err(int mdb_rc);

/*
 * Puts KEY/VAL with MDB_APPEND when KEY sorts after the last key (ids are
 * time-sortable), else an ordinary put. Returns 0 or hk_store_err().
 */
int hk_store_put(MDB_txn *, MDB_dbi, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags);

#endif
