/* Unit tests of server/store/lmdb_core.c: group commit, refusals, a full map. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hk.h"
#include "store/lmdb_core.h"
#include "t.h"

struct put_op {
	struct hk_store_op op;
	char key[32];
	size_t vlen;
	int refuse;
	int done_rc;
	int done_seq;
};

static int done_counter;

static int
put_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct put_op *o = (struct put_op *)sop;
	char *v;
	int rc;

	if (o->refuse)
		return HK_EEXIST;
	if ((v = calloc(1, o->vlen)) == NULL)
		return HK_ENOMEM;
	memset(v, 'v', o->vlen);
	rc = hk_store_put(txn, hk_store_dbi(st, HK_DB_EVENTS), o->key,
	    strlen(o->key), v, o->vlen, 0);
	free(v);
	return rc;
}

static void
put_done(struct hk_store_op *sop, int rc)
{
	struct put_op *o = (struct put_op *)sop;

	o->done_rc = rc;
	o->done_seq = ++done_counter;
}

/* Reaps until COUNT operations are done (at most ~5 s). */
static void
reap_all(struct hk_store *st, int count)
{
	struct pollfd p = {hk_store_fd(st), POLLIN, 0};
	int got = 0, i;

	for (i = 0; i < 500 && got < count; i++) {
		poll(&p, 1, 10);
		got += hk_store_reap(st);
	}
	T_CHECK(got == count);
}

static int
has_key(struct hk_store *st, const char *key)
{
	MDB_txn *txn;
	MDB_val k = {strlen(key), (void *)(uintptr_t)key}, v;
	int rc;

	if (hk_store_rbegin(st, &txn) != 0)
		return 0;
	rc = mdb_get(txn, hk_store_dbi(st, HK_DB_EVENTS), &k, &v);
	hk_store_rend(st);
	return rc == 0;
}

static void
test_group_commit(void)
{
	char dir[] = "/tmp/hookd-store.XXXXXX", *cause = NULL, cmd[300];
	struct hk_store_conf c = {
	    .sc_dir = dir, .sc_mapsize = 8 << 20, .sc_highwater = 90};
	struct hk_store *st;
	struct put_op ops[200];
	struct hk_store_usage u;
	int i;

	T_CHECK(mkdtemp(dir) != NULL);
	T_CHECK(hk_store_open(&st, &c, &cause) == 0);
	memset(ops, 0, sizeof(ops));
	done_counter = 0;
	for (i = 0; i < 200; i++) {
		snprintf(ops[i].key, sizeof(ops[i].key), "k%05d", i);
		ops[i].vlen = 100;
		ops[i].refuse = i == 50; /* one refusal fails alone */
		ops[i].op.so_apply = put_apply;
		ops[i].op.so_done = put_done;
		T_CHECK(hk_store_submit(st, &ops[i].op) == 0);
	}
	T_CHECK(hk_store_inflight(st) == 200);
	reap_all(st, 200);
	T_CHECK(hk_store_inflight(st) == 0);
	for (i = 0; i < 200; i++) {
		T_CHECK(ops[i].done_seq == i + 1); /* in submission order */
		T_CHECK(ops[i].done_rc == (i == 50 ? HK_EEXIST : 0));
	}
	T_CHECK(has_key(st, "k00000") && has_key(st, "k00199"));
	T_CHECK(!has_key(st, "k00050"));
	hk_store_usage(st, &u);
	/* Group commit: far fewer commits than operations. */
	T_CHECK(u.su_ops == 200 && u.su_commits >= 1 && u.su_commits < 200);
	T_CHECK(u.su_used > 0 && !hk_store_full(st));
	/* Close drains what is queued; it is all there after a reopen. */
	for (i = 0; i < 10; i++) {
		snprintf(ops[i].key, sizeof(ops[i].key), "late%d", i);
		ops[i].refuse = 0;
		T_CHECK(hk_store_submit(st, &ops[i].op) == 0);
	}
	hk_store_close(st);
	T_CHECK(hk_store_open(&st, &c, &cause) == 0);
	T_CHECK(has_key(st, "late9") && has_key(st, "k00100"));
	T_CHECK(hk_store_submit(st, &ops[0].op) == 0);
	reap_all(st, 1);
	hk_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_CHECK(system(cmd) == 0);
}

static void
test_full(void)
{
	char dir[] = "/tmp/hookd-store.XXXXXX", *cause = NULL, cmd[300];
	struct hk_store_conf c = {
	    .sc_dir = dir, .sc_mapsize = 1 << 20, .sc_highwater = 50};
	struct hk_store *st;
	static struct put_op ops[400];
	int i, full = -1, ok = 0;

	T_CHECK(mkdtemp(dir) != NULL);
	T_CHECK(hk_store_open(&st, &c, &cause) == 0);
	memset(ops, 0, sizeof(ops));
	/* 400 x 8 KiB cannot fit in 1 MiB: some fail, nothing is lost. */
	for (i = 0; i < 400; i++) {
		snprintf(ops[i].key, sizeof(ops[i].key), "big%05d", i);
		ops[i].vlen = 8192;
		ops[i].op.so_apply = put_apply;
		ops[i].op.so_done = put_done;
		T_CHECK(hk_store_submit(st, &ops[i].op) == 0);
		if (i % 20 == 19)
			reap_all(st, 20);
	}
	for (i = 0; i < 400; i++) {
		if (ops[i].done_rc == 0)
			ok++;
		else if (full == -1)
			full = i;
		T_CHECK(ops[i].done_rc == 0 || ops[i].done_rc == HK_EFULL);
	}
	T_CHECK(full > 0 && ok > 20);
	T_CHECK(hk_store_full(st));
	/* Every operation that succeeded is there, also after a reopen. */
	hk_store_close(st);
	c.sc_mapsize = 16 << 20;
	T_CHECK(hk_store_open(&st, &c, &cause) == 0);
	for (i = 0; i < 400; i++)
		if (ops[i].done_rc == 0 && !has_key(st, ops[i].key))
			ok = -1;
	T_CHECK(ok > 0);
	hk_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_CHECK(system(cmd) == 0);
}

static void
test_errors(void)
{
	char *cause = NULL;
	struct hk_store_conf c = {.sc_dir = "/proc/nope/hookd",
	    .sc_mapsize = 1 << 20,
	    .sc_highwater = 90};
	struct hk_store *st;

	T_CHECK(hk_store_open(&st, &c, &cause) != 0);
	T_CHECK(cause != NULL);
	free(cause);
	T_CHECK(hk_store_err(MDB_MAP_FULL) == HK_EFULL);
	T_CHECK(hk_store_err(MDB_TXN_FULL) == HK_EFULL);
	T_CHECK(
	    hk_store_err(ENOSPC) == HK_EFULL || hk_store_err(ENOSPC) == HK_EIO);
	T_CHECK(hk_store_err(EIO) == HK_EIO);
	T_CHECK(hk_store_err(EDQUOT) == HK_EFULL);
}

/* Writes LEN bytes of DATA to PATH (replacing it); 0 or -1. */
static int
put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Opens C's store expecting a refusal whose cause holds WHY. */
static void
refused(const struct hk_store_conf *c, const char *why)
{
	struct hk_store *st;
	char *cause = NULL;

	T_CHECK(hk_store_open(&st, c, &cause) == HK_EINVAL);
	T_CHECK(cause != NULL && strstr(cause, "data.mdb") != NULL &&
	    strstr(cause, why) != NULL);
	if (cause == NULL || strstr(cause, why) == NULL)
		fprintf(stderr, "cause: %s\n", cause ? cause : "(none)");
	free(cause);
}

/* A data.mdb LMDB would fault on or recreate is refused before mapping. */
static void
test_bad_files(void)
{
	char dir[] = "/tmp/hookd-store.XXXXXX", *cause = NULL, cmd[300];
	char path[300], *good, *bad;
	struct hk_store_conf c = {
	    .sc_dir = dir, .sc_mapsize = 8 << 20, .sc_highwater = 90};
	struct hk_store *st;
	static struct put_op ops[100];
	uint64_t far = 0x7ffffff;
	size_t len;
	int i;

	T_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	T_CHECK(hk_store_open(&st, &c, &cause) == 0);
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 100; i++) {
		snprintf(ops[i].key, sizeof(ops[i].key), "f%05d", i);
		ops[i].vlen = 3000;
		ops[i].op.so_apply = put_apply;
		ops[i].op.so_done = put_done;
		T_CHECK(hk_store_submit(st, &ops[i].op) == 0);
	}
	reap_all(st, 100);
	hk_store_close(st);
	T_CHECK((good = t_slurp(path, &len)) != NULL && len > 64 * 4096);
	if (good == NULL)
		return;
	T_CHECK((bad = malloc(len)) != NULL);

	T_CHECK(put_file(path, good, 0) == 0);
	refused(&c, "empty");
	T_CHECK(put_file(path, good, 5000) == 0);
	refused(&c, "truncated");
	T_CHECK(put_file(path, good, len / 2) == 0);
	refused(&c, "truncated");
	memcpy(bad, good, len);
	memset(bad + 16, 0x5a, 4); /* meta page 0's magic */
	T_CHECK(put_file(path, bad, len) == 0);
	refused(&c, "corrupt");
	memcpy(bad, good, len);
	memcpy(bad + 4096 + 128, &far, sizeof(far)); /* meta 1's main root */
	T_CHECK(put_file(path, bad, len) == 0);
	refused(&c, "corrupt");

	/* The file as it was opens, with everything in it. */
	T_CHECK(put_file(path, good, len) == 0);
	T_CHECK(hk_store_open(&st, &c, &cause) == 0);
	T_CHECK(has_key(st, "f00000") && has_key(st, "f00099"));
	hk_store_close(st);
	free(good);
	free(bad);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_CHECK(system(cmd) == 0);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"group_commit", test_group_commit},
	    {"full", test_full},
	    {"errors", test_errors},
	    {"bad_files", test_bad_files},
	};

	return t_run("store", cases, HK_NELEM(cases));
}
