/*
 * bench_pg.h: the durable half of the benchmarks' PostgreSQL floors
 * (bare_evhttp and bare_curl with a conninfo for its outcomes). A writer thread
 * adds a batch's records and commits them through libpq in one
 * transaction: BEGIN, one INSERT of the whole batch (two binary array
 * parameters, unnested into rows of (id bigint primary key, body
 * bytea)), COMMIT; with synchronous_commit on, COMMIT returns once the
 * WAL is flushed. Group commit and nothing else: no savepoint, no index
 * but the primary key, one statement per batch. A failed statement ends
 * the program: a benchmark neither retries nor lies. One bench_pg per
 * writer thread; it is not shared.
 */
#ifndef BENCH_PG_H
#define BENCH_PG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define BENCH_PG_INT8_ARRAY 1016 /* pg_type oids: int8[] */
#define BENCH_PG_BYTEA_ARRAY 1001 /* bytea[] */

struct bench_pg {
	PGconn *c;
	char *ids, *bodies; /* the two array parameters, binary */
	size_t nids, nbodies, capids, capbodies;
	int n;
	int64_t next; /* the next row's id */
};

static void
bench_pg_die(struct bench_pg *p, PGresult *r, const char *what)
{
	fprintf(stderr, "bench: %s: %s", what,
	    r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(p->c));
	abort();
}

static void
bench_pg_run(struct bench_pg *p, const char *sql)
{
	PGresult *r = PQexec(p->c, sql);

	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
		bench_pg_die(p, r, sql);
	PQclear(r);
}

static void
bench_pg_put(char **buf, size_t *len, size_t *cap, const void *v, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap > 0 ? *cap : 4096;

		while (c < *len + n)
			c *= 2;
		if ((*buf = realloc(*buf, c)) == NULL) {
			perror("bench: realloc");
			abort();
		}
		*cap = c;
	}
	memcpy(*buf + *len, v, n);
	*len += n;
}

static void
bench_pg_u32(char **buf, size_t *len, size_t *cap, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	    (unsigned char)v};

	bench_pg_put(buf, len, cap, b, 4);
}

/* An array's header (one dimension, no NULLs); its length comes later. */
static void
bench_pg_array(char **buf, size_t *len, size_t *cap, uint32_t elem)
{
	*len = 0;
	bench_pg_u32(buf, len, cap, 1); /* ndim */
	bench_pg_u32(buf, len, cap, 0); /* has no NULL */
	bench_pg_u32(buf, len, cap, elem);
	bench_pg_u32(buf, len, cap, 0); /* the length: set at commit */
	bench_pg_u32(buf, len, cap, 1); /* lower bound */
}

/*
 * Connects to CONNINFO and makes TABLE (dropped first: each run starts
 * empty), with its statement prepared. Ends the program on failure.
 */
static void
bench_pg_open(struct bench_pg *p, const char *conninfo, const char *table)
{
	char sql[256];
	PGresult *r;

	memset(p, 0, sizeof(*p));
	p->c = PQconnectdb(conninfo);
	if (p->c == NULL || PQstatus(p->c) != CONNECTION_OK)
		bench_pg_die(p, NULL, "connect");
	bench_pg_run(p, "SET client_min_messages = warning");
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", table);
	bench_pg_run(p, sql);
	snprintf(sql, sizeof(sql),
	    "CREATE TABLE %s (id bigint PRIMARY KEY, body bytea NOT NULL)",
	    table);
	bench_pg_run(p, sql);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO %s (id, body) SELECT * FROM unnest($1::int8[], "
	    "$2::bytea[])",
	    table);
	r = PQprepare(p->c, "batch", sql, 2,
	    (const Oid[]){BENCH_PG_INT8_ARRAY, BENCH_PG_BYTEA_ARRAY});
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
		bench_pg_die(p, r, "prepare");
	PQclear(r);
	bench_pg_array(&p->ids, &p->nids, &p->capids, 20); /* int8 */
	bench_pg_array(&p->bodies, &p->nbodies, &p->capbodies, 17); /* bytea */
}

/* Adds one row: the next id and LEN bytes at BODY (copied). */
static void
bench_pg_add(struct bench_pg *p, const void *body, size_t len)
{
	uint64_t id = (uint64_t)p->next++;

	bench_pg_u32(&p->ids, &p->nids, &p->capids, 8);
	bench_pg_u32(&p->ids, &p->nids, &p->capids, (uint32_t)(id >> 32));
	bench_pg_u32(&p->ids, &p->nids, &p->capids, (uint32_t)id);
	bench_pg_u32(&p->bodies, &p->nbodies, &p->capbodies, (uint32_t)len);
	bench_pg_put(&p->bodies, &p->nbodies, &p->capbodies, body, len);
	p->n++;
}

static void
bench_pg_setlen(char *buf, uint32_t n)
{
	buf[12] = (char)(n >> 24);
	buf[13] = (char)(n >> 16);
	buf[14] = (char)(n >> 8);
	buf[15] = (char)n;
}

/* Commits what was added in one transaction; returns when durable. */
static void
bench_pg_commit(struct bench_pg *p)
{
	const char *vals[2];
	int lens[2], fmts[2] = {1, 1};
	PGresult *r;

	if (p->n == 0)
		return;
	bench_pg_setlen(p->ids, (uint32_t)p->n);
	bench_pg_setlen(p->bodies, (uint32_t)p->n);
	vals[0] = p->ids;
	vals[1] = p->bodies;
	lens[0] = (int)p->nids;
	lens[1] = (int)p->nbodies;
	bench_pg_run(p, "BEGIN");
	r = PQexecPrepared(p->c, "batch", 2, vals, lens, fmts, 0);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK ||
	    atol(PQcmdTuples(r)) != p->n)
		bench_pg_die(p, r, "INSERT");
	PQclear(r);
	r = PQexec(p->c, "COMMIT");
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK ||
	    strcmp(PQcmdStatus(r), "COMMIT") != 0)
		bench_pg_die(p, r, "COMMIT");
	PQclear(r);
	p->n = 0;
	p->nids = p->nbodies = 20; /* keep the headers */
}

#endif
