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
/* lmdb_log.c: HK_ST_LOG (struct hk_st_log). */
int hk_lm_log_apply(struct hk_st_op *, struct hk_store *, MDB_txn *);

#endif
