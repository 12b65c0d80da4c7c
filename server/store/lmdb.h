/*
 * lmdb.h: the LMDB engine's own header, for its files (lmdb.c and the
 * lmdb_*.c of each area) and nothing else. Each area's apply function
 * runs on the writer thread inside the batch's transaction and keeps
 * lmdb_core.h's rule: a refusal before anything is written, else only
 * store failures (hk_store_err()).
 */
#ifndef HK_ST_LMDB_H
#define HK_ST_LMDB_H

#include "store/lmdb_core.h"
#include "store/store.h"

typedef int (*hk_lm_apply_fn)(struct hk_st_op *, struct hk_store *, MDB_txn *);

/* The open environment (lmdb.c). */
struct hk_store *hk_lm_store(void);

/* Puts or deletes one key in TXN; a missing key deletes as done. */
int hk_lm_put(
    MDB_txn *, MDB_dbi, const void *k, size_t klen, const void *v, size_t vlen);
int hk_lm_del(MDB_txn *, MDB_dbi, const void *k, size_t klen);

/* lmdb_webhook.c: HK_ST_WEBHOOK (struct hk_st_record). */
int hk_lm_webhook_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);
/* lmdb_sub.c: HK_ST_SUB (struct hk_st_record). */
int hk_lm_sub_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);
/* lmdb_log.c: HK_ST_LOG (struct hk_st_log). */
int hk_lm_log_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);
/* lmdb_event.c: HK_ST_EVENT (struct hk_st_event). */
int hk_lm_event_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);
/* lmdb_purge.c: HK_ST_PURGE (struct hk_st_purge). */
int hk_lm_purge_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);

/* lmdb_delivery.c: the delivery lifecycle, its records and queue entries. */
#define HK_QKEY_MAX (HK_ID_MAX + 1 + 8 + HK_ID_MAX)

/*
 * The queue key of a delivery: its subscription, class (0 first attempt,
 * 1 retry), due time (big-endian ms) and id.
 */
size_t hk_queue_key(
    const char *sub, int cls, int64_t due, const char *dlv, char *out);
/*
 * Writes one new delivery of event EVT to subscription SUB (writer
 * thread, inside TXN). Returns 0 or a store failure.
 */
int hk_delivery_create(struct hk_store *, MDB_txn *, const char *evt,
    const char *sub, int max_attempts, int64_t now, char *id_out);
/* Cancels every pending delivery of SUB (writer thread). */
int hk_delivery_cancel_all(
    struct hk_store *, MDB_txn *, const char *sub, uint64_t *count);
/*
 * Reads delivery ID into D (any thread, inside TXN). Returns 0,
 * HK_ENOTFOUND, HK_EINVAL (unreadable) or a store failure.
 */
int hk_delivery_read(
    struct hk_store *, MDB_txn *, const char *id, struct hk_delivery *d);
/*
 * The one transition (writer thread): D, as read in TXN, goes to state
 * TO; pending again means queued for (CLS, DUE). Asserts the move is
 * legal, traces it at debug level, moves the queue entry and rewrites
 * the record in TXN.
 */
int hk_delivery_move(struct hk_store *, MDB_txn *, struct hk_delivery *d,
    enum hk_dstate to, int cls, int64_t due);
/*
 * Records attempt ATTEMPT of pending D (its TEXT) and moves D to TO:
 * pending again as a retry due at DUE, succeeded or failed.
 */
int hk_delivery_attempt(struct hk_store *, MDB_txn *, struct hk_delivery *d,
    int attempt, const char *text, size_t len, enum hk_dstate to, int64_t due);
/*
 * Retry now: pending D's next attempt is due at once, failed D pending
 * again with one attempt more; HK_EEXIST for any other state.
 */
int hk_delivery_retry(struct hk_store *, MDB_txn *, struct hk_delivery *d);

/* HK_ST_OUTCOME (struct hk_st_outcome), HK_ST_DELIVERIES (hk_st_dlvop). */
int hk_lm_outcome_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);
int hk_lm_dlvop_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);
/* hk_st_due() on the loop's read transaction. */
void hk_lm_due(struct hk_store *, struct hk_st_due *);

#endif
