/* store.c: the LMDB environment, group commit on one writer thread. */
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "dlv.h"
#include "hk.h"
#include "store/lmdb_core.h"

#define STORE_SCHEMA "1"
#define STORE_MAXDBS 16
#define STORE_USAGE_EVERY_US 200000 /* recount free pages at most 5/s */
#define STORE_PROBE 4096 /* bytes asked of a disk that may be full */
#define STORE_FULL_BYTES (1 << 20) /* less free than this is full */

struct hk_store {
	MDB_env *st_env;
	MDB_dbi st_dbi[HK_DB_COUNT];
	MDB_txn *st_rtxn; /* the loop's read transaction, reset when idle */
	int st_rtxn_live;
	int st_efd;
	int st_highwater;

	pthread_t st_thread;
	pthread_mutex_t st_lock;
	pthread_cond_t st_cond;
	/* Guarded by st_lock: */
	struct hk_store_op *st_qhead, **st_qtail; /* submitted */
	struct hk_store_op *st_dhead, **st_dtail; /* done, to reap */
	int st_closing;
	struct hk_store_usage st_usage;

	/*
	 * Writer thread only: a write or an fsync failed. After a failed
	 * fsync the kernel may have dropped the pages it could not write
	 * while they still look written ("fsyncgate"); a later commit could
	 * then make a meta page durable that points at them. So the store
	 * writes nothing more until hookd is restarted; reads go on.
	 */
	int st_broken;
	int st_readonly; /* store_open_readonly's: no writer */
	/* Loop thread only: */
	size_t st_inflight;
	struct hk_store_op *st_phead, **st_ptail; /* submitted, not handed on */
	void (*st_kick)(void *);
	void *st_kick_arg;
	int st_kicked;
	int64_t st_usage_us; /* writer thread only */
};

static const char *store_dbnames[HK_DB_COUNT] = {
    "meta",
    "webhooks",
    "names",
    "events",
    "idem",
    "reqlog",
    "subs",
    "deliveries",
    "queue",
    "evdlv",
    "subdlv",
    "attempts",
    "failed",
};

int
hk_store_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
	case ENOSPC:
	case EDQUOT:
		return HK_EFULL;
	case ENOMEM:
		return HK_ENOMEM;
	default:
		return HK_EIO;
	}
}

/* Whether an apply result is a transaction failure rather than a refusal. */
static int
store_fatal(int rc)
{
	return rc == HK_EFULL || rc == HK_EIO || rc == HK_ENOMEM;
}

int
hk_store_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = {klen, (void *)(uintptr_t)key};
	MDB_val v = {vlen, (void *)(uintptr_t)val};
	int rc;

	rc = mdb_put(txn, dbi, &k, &v, flags | MDB_APPEND);
	if (rc == MDB_KEYEXIST) {
		/* Not after the last key: an ordinary insert. */
		k.mv_size = klen;
		k.mv_data = (void *)(uintptr_t)key;
		v.mv_size = vlen;
		v.mv_data = (void *)(uintptr_t)val;
		rc = mdb_put(txn, dbi, &k, &v, flags);
	}
	if (rc == MDB_KEYEXIST)
		return HK_EEXIST;
	return hk_store_err(rc);
}

/* Counts the pages on LMDB's freelist (DBI 0) in TXN. */
static size_t
store_free_pages(MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t n = 0;

	if (mdb_cursor_open(txn, 0, &c) != 0)
		return 0;
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0)
		n += *(size_t *)v.mv_data; /* an IDL starts with its count */
	mdb_cursor_close(c);
	return n;
}

/* Refreshes the usage figures after a commit (writer thread). */
static void
store_measure(struct hk_store *st, int failed, size_t nops)
{
	MDB_envinfo info = {0};
	MDB_stat stat;
	MDB_txn *txn;
	size_t used = 0;
	int64_t now = hk_mono_us();
	int measure = failed || now - st->st_usage_us >= STORE_USAGE_EVERY_US;

	if (measure && mdb_env_info(st->st_env, &info) == 0 &&
	    mdb_env_stat(st->st_env, &stat) == 0) {
		used = (info.me_last_pgno + 1) * stat.ms_psize;
		if (mdb_txn_begin(st->st_env, NULL, MDB_RDONLY, &txn) == 0) {
			used -= store_free_pages(txn) * stat.ms_psize;
			mdb_txn_abort(txn);
		}
		st->st_usage_us = now;
	}
	pthread_mutex_lock(&st->st_lock);
	if (measure) {
		st->st_usage.su_mapsize = info.me_mapsize;
		st->st_usage.su_used = used;
	}
	if (!failed) {
		st->st_usage.su_commits++;
		st->st_usage.su_ops += nops;
	}
	st->st_usage.su_failed = failed || st->st_broken;
	st->st_usage.su_broken = st->st_broken;
	pthread_mutex_unlock(&st->st_lock);
}

/*
 * Whether the disk holding the data is full, asked when LMDB says EIO:
 * LMDB reports a short write (space ran out in the middle of it) as EIO
 * too, and a full disk must not break the store. Space for one more
 * page past the end of data.mdb is asked for (FALLOC_FL_KEEP_SIZE: the
 * file's size, all LMDB sees, stays; LMDB's next write there uses the
 * block): ENOSPC or EDQUOT is a full disk. Where the filesystem cannot
 * allocate ahead, the free space statvfs reports decides.
 */
static int
store_disk_full(struct hk_store *st)
{
	struct statvfs sv;
	struct stat sb;
	int fd;

	if (mdb_env_get_fd(st->st_env, &fd) != 0 || fstat(fd, &sb) != 0)
		return 0;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, sb.st_size, STORE_PROBE) == 0)
		return 0;
	if (errno == ENOSPC || errno == EDQUOT)
		return 1;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return 0;
	return fstatvfs(fd, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < STORE_FULL_BYTES;
}

/*
 * A commit's LMDB failure RC as an hk_store_err() code: an EIO that is
 * a short write on a full disk is HK_EFULL (nothing was synced; the
 * pages written belong to no snapshot, so retrying later is safe).
 */
static int
store_commit_err(struct hk_store *st, int rc)
{
	if ((rc == EIO || rc == EDQUOT) && store_disk_full(st))
		return HK_EFULL;
	return hk_store_err(rc);
}

/* Marks the store broken after failure RC (an hk_store_err() code). */
static int
store_failed(struct hk_store *st, int rc)
{
	if (rc == HK_EIO)
		st->st_broken = 1;
	return rc;
}

/* Applies one list of operations in one transaction; returns 0 or failure. */
static int
store_txn(
    struct hk_store *st, struct hk_store_op *head, struct hk_store_op *stop)
{
	struct hk_store_op *op;
	MDB_txn *txn;
	int rc;

	if (st->st_broken)
		return HK_EIO;
	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return store_failed(st, hk_store_err(rc));
	for (op = head; op != stop; op = op->so_next) {
		op->so_rc = op->so_apply(op, st, txn);
		if (store_fatal(op->so_rc)) {
			rc = op->so_rc;
			mdb_txn_abort(txn);
			return rc;
		}
	}
	/* ENOSPC fails the write before any fsync: nothing is lost. */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return store_failed(st, store_commit_err(st, rc));
	return 0;
}

/* Commits a batch, or, if it fails, each operation on its own. */
static void
store_batch(struct hk_store *st, struct hk_store_op *head)
{
	struct hk_store_op *op;
	size_t n = 0;
	int rc, failed = 0;

	for (op = head; op != NULL; op = op->so_next)
		n++;
	if ((rc = store_txn(st, head, NULL)) == 0) {
		store_measure(st, 0, n);
		return;
	}
	if (n == 1) {
		head->so_rc = rc;
		store_measure(st, 1, 0);
		return;
	}
	for (op = head; op != NULL; op = op->so_next) {
		if ((rc = store_txn(st, op, op->so_next)) != 0) {
			op->so_rc = rc;
			failed = 1;
		}
	}
	store_measure(st, failed, n);
}

/* The id of the last committed transaction. */
static size_t
store_txnid(struct hk_store *st)
{
	MDB_envinfo info;

	return mdb_env_info(st->st_env, &info) == 0 ? info.me_last_txnid : 0;
}

/* Hands a committed list back to the loop and wakes it. */
static void
store_handback(struct hk_store *st, struct hk_store_op *batch)
{
	struct hk_store_op *last;
	uint64_t one = 1;
	ssize_t n;

	for (last = batch; last->so_next != NULL; last = last->so_next)
		;
	pthread_mutex_lock(&st->st_lock);
	*st->st_dtail = batch;
	st->st_dtail = &last->so_next;
	pthread_mutex_unlock(&st->st_lock);
	do
		n = write(st->st_efd, &one, sizeof(one));
	while (n == -1 && errno == EINTR);
}

/*
 * The writer thread: take everything queued, commit it, hand it back.
 *
 * The environment has MDB_NOMETASYNC: a commit fsyncs its data pages,
 * then writes the meta page that makes them the database without a
 * second fsync. The batch is held until a later fsync covers that
 * page: the next batch's commit, whose fsync flushes the whole file, or,
 * when nothing else is queued, an explicit one. Under load that is one
 * fsync per batch instead of two; an answer still waits for its meta
 * page to be on disk.
 */
static void *
store_writer(void *arg)
{
	struct hk_store *st = arg;
	struct hk_store_op *batch, *held = NULL, *op;
	size_t txnid;
	int rc, synced;

	for (;;) {
		pthread_mutex_lock(&st->st_lock);
		while (st->st_qhead == NULL && held == NULL && !st->st_closing)
			pthread_cond_wait(&st->st_cond, &st->st_lock);
		batch = st->st_qhead;
		st->st_qhead = NULL;
		st->st_qtail = &st->st_qhead;
		pthread_mutex_unlock(&st->st_lock);
		if (batch == NULL && held == NULL)
			break; /* closing, and everything is answered */

		synced = 0;
		if (batch != NULL) {
			txnid = store_txnid(st);
			store_batch(st, batch);
			/* A commit that wrote anything fsynced the file. */
			synced = store_txnid(st) != txnid;
		}
		if (held != NULL) {
			if (!synced &&
			    (rc = st->st_broken
			            ? EIO
			            : mdb_env_sync(st->st_env, 1)) != 0) {
				/* Committed but maybe not on disk: refuse. */
				rc = store_failed(st, HK_EIO);
				for (op = held; op != NULL; op = op->so_next)
					if (op->so_rc == 0)
						op->so_rc = rc;
				store_measure(st, 1, 0);
			}
			store_handback(st, held);
		}
		held = batch;
	}
	return NULL;
}

/* Opens the named databases and checks the schema version. */
/*
 * The index of failed deliveries came with hookd 0.1.0's third store
 * layout step: a store written before it gets it built here, once, from
 * the records (meta "failedIndex" says it is there).
 */
static int
store_failed_index(struct hk_store *st, MDB_txn *txn)
{
	MDB_val mk = {11, "failedIndex"}, k, v, one = {1, "1"}, empty = {0, ""};
	struct hk_delivery d;
	MDB_cursor *cur;
	int rc;

	if ((rc = mdb_get(txn, st->st_dbi[HK_DB_META], &mk, &v)) !=
	    MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_cursor_open(txn, st->st_dbi[HK_DB_DELIVERIES], &cur)) !=
	    0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (hk_delivery_parse(v.mv_data, v.mv_size, &d) == 0 &&
		    d.state == HK_DS_FAILED &&
		    (rc = mdb_put(
		         txn, st->st_dbi[HK_DB_FAILED], &k, &empty, 0)) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	return mdb_put(txn, st->st_dbi[HK_DB_META], &mk, &one, 0);
}

static int
store_init_dbs(struct hk_store *st, char **cause)
{
	MDB_txn *txn;
	MDB_val k = {7, "version"}, v;
	int i, rc;

	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		goto fail;
	for (i = 0; i < HK_DB_COUNT; i++)
		if ((rc = mdb_dbi_open(txn, store_dbnames[i], MDB_CREATE,
		         &st->st_dbi[i])) != 0) {
			mdb_txn_abort(txn);
			goto fail;
		}
	if ((rc = store_failed_index(st, txn)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	rc = mdb_get(txn, st->st_dbi[HK_DB_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		v.mv_size = strlen(STORE_SCHEMA);
		v.mv_data = STORE_SCHEMA;
		rc = mdb_put(txn, st->st_dbi[HK_DB_META], &k, &v, 0);
	} else if (rc == 0 &&
	    (v.mv_size != strlen(STORE_SCHEMA) ||
	        memcmp(v.mv_data, STORE_SCHEMA, v.mv_size) != 0)) {
		mdb_txn_abort(txn);
		if (asprintf(cause, "store schema %.*s, this hookd reads %s",
		        (int)v.mv_size, (char *)v.mv_data, STORE_SCHEMA) == -1)
			*cause = NULL;
		return HK_EINVAL;
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	if (asprintf(cause, "lmdb: %s", mdb_strerror(rc)) == -1)
		*cause = NULL;
	return hk_store_err(rc);
}

/*
 * LMDB's meta page, as lmdb.h's file format 1 lays it out on 64-bit
 * Linux (mdb.c's MDB_page header and MDB_meta): read before LMDB maps
 * the file, which it trusts. Offsets are from the start of the page.
 */
#define META_FLAGS 10 /* uint16: P_META */
#define META_MAGIC 16 /* uint32: 0xBEEFC0DE */
#define META_VERSION 20 /* uint32: 1 */
#define META_PSIZE 40 /* uint32: mm_dbs[FREE_DBI].md_pad */
#define META_DB_ROOT(i) (40 + 48 * (i) + 40) /* pgno_t md_root */
#define META_LAST_PG 136 /* pgno_t */
#define META_TXNID 144 /* txnid_t */
#define META_SIZE 152
#define META_P_META 0x08
#define META_NOPAGE ((uint64_t)-1) /* an empty database's root */

/* Formats *CAUSE as "PATH: WHY" and returns HK_EINVAL. */
static int
store_refuse(char **cause, const char *path, const char *why)
{
	if (asprintf(cause,
	        "%s: %s; refusing to start "
	        "(restore it from a backup, or move it away to start with an empty store)",
	        path, why) == -1)
		*cause = NULL;
	return HK_EINVAL;
}

static uint64_t
store_get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
store_get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Checks one meta page M: 0 when sound, with
 * its page size and the pages it needs; -1 when corrupt.
 */
static int
store_check_meta(
    const unsigned char *m, uint64_t *psize, uint64_t *need, uint64_t *txnid)
{
	uint64_t last, root;
	int i;
	uint16_t flags;

	memcpy(&flags, m + META_FLAGS, sizeof(flags));
	*psize = store_get32(m + META_PSIZE);
	if ((flags & META_P_META) == 0 ||
	    store_get32(m + META_MAGIC) != 0xBEEFC0DEu ||
	    store_get32(m + META_VERSION) != 1 || *psize < 512 ||
	    *psize > 65536 || (*psize & (*psize - 1)) != 0)
		return -1;
	last = store_get64(m + META_LAST_PG);
	if (last < 1 || last > (UINT64_MAX >> 17))
		return -1;
	for (i = 0; i < 2; i++) {
		root = store_get64(m + META_DB_ROOT(i));
		if (root != META_NOPAGE && (root < 2 || root > last))
			return -1;
	}
	*need = last + 1;
	*txnid = store_get64(m + META_TXNID);
	return 0;
}

/*
 * Refuses a data.mdb that LMDB would map and then fault on (SIGBUS
 * past the end of a truncated file) or silently recreate (an empty
 * one): both meta pages must be sound and the file must hold every page
 * the newer one names. No file at all is a fresh store.
 */
static int
store_check_file(const char *dir, char **cause)
{
	unsigned char m[2][META_SIZE];
	uint64_t psize[2], need[2], txnid[2], newest;
	char path[4096], why[160];
	struct stat sb;
	int fd, i, ok[2];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, sizeof(why), "%s", strerror(errno));
		return store_refuse(cause, path, why);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return store_refuse(cause, path, "not a regular file");
	}
	if (sb.st_size == 0) {
		close(fd);
		return store_refuse(cause, path, "the file is empty");
	}
	ok[1] = 0;
	ok[0] = pread(fd, m[0], META_SIZE, 0) == META_SIZE &&
	    store_check_meta(m[0], &psize[0], &need[0], &txnid[0]) == 0;
	if (ok[0])
		ok[1] =
		    pread(fd, m[1], META_SIZE, (off_t)psize[0]) == META_SIZE &&
		    store_check_meta(m[1], &psize[1], &need[1], &txnid[1]) ==
		        0 &&
		    psize[1] == psize[0];
	close(fd);
	if (ok[0] ? (uint64_t)sb.st_size < 2 * psize[0]
	          : sb.st_size < 2 * 4096) {
		snprintf(why, sizeof(why),
		    "truncated: %lld bytes, less than its two meta pages",
		    (long long)sb.st_size);
		return store_refuse(cause, path, why);
	}
	for (i = 0; i < 2; i++)
		if (!ok[i]) {
			snprintf(why, sizeof(why),
			    "corrupt: meta page %d is not a sound LMDB meta page",
			    i);
			return store_refuse(cause, path, why);
		}
	i = txnid[1] > txnid[0];
	newest = need[i] * psize[i];
	if ((uint64_t)sb.st_size < newest) {
		snprintf(why, sizeof(why),
		    "truncated: %lld bytes, its data needs %llu",
		    (long long)sb.st_size, (unsigned long long)newest);
		return store_refuse(cause, path, why);
	}
	return 0;
}

/*
 * The store read and nothing else: no writer, no lock of ours, nothing
 * created; its databases must all be there (else HK_ENOTFOUND too).
 */
static int
store_open_readonly(struct hk_store *st, struct hk_store **stp,
    const struct hk_store_conf *conf, char **cause)
{
	char path[4096];
	MDB_txn *txn;
	int i, rc;

	snprintf(path, sizeof(path), "%s/data.mdb", conf->sc_dir);
	if (access(path, F_OK) != 0) {
		free(st);
		return HK_ENOTFOUND;
	}
	if ((rc = store_check_file(conf->sc_dir, cause)) != 0)
		goto fail;
	if ((rc = mdb_env_create(&st->st_env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->st_env, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->st_env, conf->sc_mapsize)) != 0 ||
	    (rc = mdb_env_open(st->st_env, conf->sc_dir, MDB_RDONLY, 0600)) !=
	        0 ||
	    (rc = mdb_txn_begin(st->st_env, NULL, MDB_RDONLY, &txn)) != 0) {
		if (asprintf(cause, "%s: lmdb: %s", conf->sc_dir,
		        mdb_strerror(rc)) == -1)
			*cause = NULL;
		rc = hk_store_err(rc);
		goto fail;
	}
	for (i = 0; i < HK_DB_COUNT; i++)
		if ((rc = mdb_dbi_open(
		         txn, store_dbnames[i], 0, &st->st_dbi[i])) != 0 &&
		    !(rc == MDB_NOTFOUND && i == HK_DB_FAILED)) {
			mdb_txn_abort(txn);
			rc = rc == MDB_NOTFOUND ? HK_ENOTFOUND
			                        : hk_store_err(rc);
			goto fail;
		}
	/* A commit, even of a reader, makes the handles the environment's. */
	if ((rc = mdb_txn_commit(txn)) != 0 ||
	    (rc = mdb_txn_begin(st->st_env, NULL, MDB_RDONLY, &st->st_rtxn)) !=
	        0) {
		rc = hk_store_err(rc);
		goto fail;
	}
	mdb_txn_reset(st->st_rtxn);
	st->st_readonly = 1;
	st->st_closing = 1; /* submits are refused */
	*stp = st;
	return 0;
fail:
	if (st->st_env != NULL)
		mdb_env_close(st->st_env);
	free(st);
	return rc;
}

int
hk_store_open(
    struct hk_store **stp, const struct hk_store_conf *conf, char **cause)
{
	struct hk_store *st;
	int rc;

	*cause = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return HK_ENOMEM;
	st->st_efd = -1;
	st->st_qtail = &st->st_qhead;
	st->st_dtail = &st->st_dhead;
	st->st_ptail = &st->st_phead;
	st->st_kick = conf->sc_kick;
	st->st_kick_arg = conf->sc_kick_arg;
	st->st_highwater = conf->sc_highwater > 0 ? conf->sc_highwater : 90;
	if (!conf->sc_readonly && mkdir(conf->sc_dir, 0700) == -1 &&
	    errno != EEXIST) {
		if (asprintf(cause, "%s: %s", conf->sc_dir, strerror(errno)) ==
		    -1)
			*cause = NULL;
		rc = HK_EIO;
		goto fail;
	}
	if (conf->sc_readonly)
		return store_open_readonly(st, stp, conf, cause);
	if ((rc = store_check_file(conf->sc_dir, cause)) != 0)
		goto fail;
	if ((rc = mdb_env_create(&st->st_env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->st_env, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->st_env, conf->sc_mapsize)) != 0 ||
	    (rc = mdb_env_open(
	         st->st_env, conf->sc_dir, MDB_NOMETASYNC, 0600)) != 0) {
		if (asprintf(cause, "%s: lmdb: %s", conf->sc_dir,
		        mdb_strerror(rc)) == -1)
			*cause = NULL;
		rc = hk_store_err(rc);
		goto fail;
	}
	if ((rc = store_init_dbs(st, cause)) != 0)
		goto fail;
	/* MDB_NOMETASYNC: the writer syncs the meta page (store_writer). */
	if ((rc = mdb_env_sync(st->st_env, 1)) != 0) {
		if (asprintf(cause, "%s: fsync: %s", conf->sc_dir,
		        mdb_strerror(rc)) == -1)
			*cause = NULL;
		rc = hk_store_err(rc);
		goto fail;
	}
	if ((rc = mdb_txn_begin(st->st_env, NULL, MDB_RDONLY, &st->st_rtxn)) !=
	    0) {
		rc = hk_store_err(rc);
		goto fail;
	}
	mdb_txn_reset(st->st_rtxn);
	if ((st->st_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		rc = HK_EIO;
		goto fail;
	}
	pthread_mutex_init(&st->st_lock, NULL);
	pthread_cond_init(&st->st_cond, NULL);
	store_measure(st, 0, 0);
	st->st_usage.su_commits = 0;
	if (pthread_create(&st->st_thread, NULL, store_writer, st) != 0) {
		pthread_mutex_destroy(&st->st_lock);
		pthread_cond_destroy(&st->st_cond);
		rc = HK_ERR;
		goto fail;
	}
	*stp = st;
	return 0;
fail:
	if (st->st_rtxn != NULL)
		mdb_txn_abort(st->st_rtxn);
	if (st->st_env != NULL)
		mdb_env_close(st->st_env);
	if (st->st_efd != -1)
		close(st->st_efd);
	free(st);
	return rc;
}

void
hk_store_close(struct hk_store *st)
{
	if (st == NULL)
		return;
	if (st->st_readonly) {
		mdb_txn_abort(st->st_rtxn);
		mdb_env_close(st->st_env);
		free(st);
		return;
	}
	hk_store_flush(st);
	pthread_mutex_lock(&st->st_lock);
	st->st_closing = 1;
	pthread_cond_signal(&st->st_cond);
	pthread_mutex_unlock(&st->st_lock);
	pthread_join(st->st_thread, NULL);
	hk_store_reap(st);
	mdb_txn_abort(st->st_rtxn);
	mdb_env_close(st->st_env);
	close(st->st_efd);
	pthread_mutex_destroy(&st->st_lock);
	pthread_cond_destroy(&st->st_cond);
	free(st);
}

int
hk_store_submit(struct hk_store *st, struct hk_store_op *op)
{
	if (st->st_closing)
		return HK_ESHUTDOWN;
	op->so_next = NULL;
	op->so_rc = 0;
	*st->st_ptail = op;
	st->st_ptail = &op->so_next;
	st->st_inflight++;
	if (st->st_kick == NULL)
		hk_store_flush(st);
	else if (!st->st_kicked) {
		st->st_kicked = 1;
		st->st_kick(st->st_kick_arg);
	}
	return 0;
}

void
hk_store_flush(struct hk_store *st)
{
	st->st_kicked = 0;
	if (st->st_phead == NULL)
		return;
	pthread_mutex_lock(&st->st_lock);
	*st->st_qtail = st->st_phead;
	st->st_qtail = st->st_ptail;
	pthread_cond_signal(&st->st_cond);
	pthread_mutex_unlock(&st->st_lock);
	st->st_phead = NULL;
	st->st_ptail = &st->st_phead;
}

int
hk_store_fd(struct hk_store *st)
{
	return st->st_efd;
}

int
hk_store_reap(struct hk_store *st)
{
	struct hk_store_op *op, *next;
	uint64_t v;
	int n = 0;

	while (read(st->st_efd, &v, sizeof(v)) > 0)
		;
	pthread_mutex_lock(&st->st_lock);
	op = st->st_dhead;
	st->st_dhead = NULL;
	st->st_dtail = &st->st_dhead;
	pthread_mutex_unlock(&st->st_lock);
	for (; op != NULL; op = next) {
		next = op->so_next; /* the callback may free op */
		st->st_inflight--;
		op->so_done(op, op->so_rc);
		n++;
	}
	return n;
}

size_t
hk_store_inflight(struct hk_store *st)
{
	return st->st_inflight;
}

MDB_dbi
hk_store_dbi(struct hk_store *st, enum hk_db db)
{
	return st->st_dbi[db];
}

MDB_env *
hk_store_env(struct hk_store *st)
{
	return st->st_env;
}

int
hk_store_rbegin(struct hk_store *st, MDB_txn **txn)
{
	if (!st->st_rtxn_live) {
		if (mdb_txn_renew(st->st_rtxn) != 0)
			return HK_EIO;
		st->st_rtxn_live = 1;
	}
	*txn = st->st_rtxn;
	return 0;
}

void
hk_store_rend(struct hk_store *st)
{
	if (st->st_rtxn_live) {
		mdb_txn_reset(st->st_rtxn);
		st->st_rtxn_live = 0;
	}
}

void
hk_store_usage(struct hk_store *st, struct hk_store_usage *u)
{
	pthread_mutex_lock(&st->st_lock);
	*u = st->st_usage;
	pthread_mutex_unlock(&st->st_lock);
}

int
hk_store_full(struct hk_store *st)
{
	struct hk_store_usage u;

	hk_store_usage(st, &u);
	if (u.su_mapsize == 0)
		return 0;
	return u.su_used * 100 >= u.su_mapsize * (size_t)st->st_highwater;
}
