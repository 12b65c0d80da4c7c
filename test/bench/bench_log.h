/*
 * bench_log.h: the durable half of the benchmarks' floors (bare_evhttp
 * with a file, bare_curl with an outcome file). A writer thread adds a
 * batch's records and makes them durable with one writev per IOV_MAX
 * records and one fdatasync: group commit, nothing else. A failed or
 * short write ends the program: a benchmark neither retries nor lies.
 * One bench_log per writer thread; it is not shared.
 */
#ifndef BENCH_LOG_H
#define BENCH_LOG_H

#include <sys/uio.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct bench_log {
	int fd; /* opened O_APPEND by the caller */
	struct iovec iov[IOV_MAX];
	int n;
};

static void
bench_log_flush(struct bench_log *l)
{
	size_t want = 0;
	int i;

	for (i = 0; i < l->n; i++)
		want += l->iov[i].iov_len;
	if (l->n > 0 && writev(l->fd, l->iov, l->n) != (ssize_t)want) {
		perror("bench: write"); /* short only on a full disk */
		abort();
	}
	l->n = 0;
}

/* Adds LEN bytes at P (which must stay put until bench_log_sync). */
static void
bench_log_add(struct bench_log *l, void *p, size_t len)
{
	if (l->n == IOV_MAX)
		bench_log_flush(l);
	l->iov[l->n].iov_base = p;
	l->iov[l->n++].iov_len = len;
}

/* Writes what was added and makes the file durable. */
static void
bench_log_sync(struct bench_log *l)
{
	bench_log_flush(l);
	if (fdatasync(l->fd) == -1) {
		perror("bench: fdatasync");
		abort();
	}
}

#endif
