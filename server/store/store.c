/*
 * store.c: store.h's calls, passed on to the engine hk_st_open() chose.
 * The only place that knows which engines exist.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hk.h"
#include "store/engine.h"

/* PostgreSQL first: it claims URIs and conninfo strings, LMDB the rest. */
static const struct hk_st_engine *const st_engines[] = {&hk_st_pg, &hk_st_lmdb};
static const struct hk_st_engine *st;

int
hk_st_open(const struct hk_st_conf *sc, char **cause)
{
	size_t i;

	for (i = 0; i < sizeof(st_engines) / sizeof(st_engines[0]); i++)
		if (st_engines[i]->se_claims(sc->sc_where)) {
			st = st_engines[i];
			return st->se_open(sc, cause);
		}
	if (asprintf(cause, "%s: no store engine takes it", sc->sc_where) == -1)
		*cause = NULL;
	return HK_EINVAL;
}

void
hk_st_close(void)
{
	if (st != NULL)
		st->se_close();
	st = NULL;
}

size_t
hk_st_inflight(void)
{
	return st->se_inflight();
}

void
hk_st_usage(struct hk_st_usage *u)
{
	st->se_usage(u);
}

int
hk_st_full(void)
{
	return st->se_full();
}

int
hk_st_submit(struct hk_st_op *op)
{
	if (st == NULL)
		return HK_ESHUTDOWN;
	return st->se_submit(op);
}

void
hk_st_read(struct hk_st_read *rd)
{
	st->se_read(rd, NULL);
}

void
hk_st_get(struct hk_st_read *rd, const char *id)
{
	st->se_read(rd, id);
}

int
hk_st_scan(enum hk_st_list list,
    int (*row)(void *, const char *, const char *, size_t), void *arg)
{
	return st->se_scan(list, row, arg);
}

void
hk_st_due(struct hk_st_due *du)
{
	st->se_due(du);
}

void
hk_st_watch(const struct hk_st_watch *w)
{
	if (st != NULL && st->se_watch != NULL)
		st->se_watch(w);
}

int
hk_st_serves(const char *sub, int64_t *epoch)
{
	if (st == NULL || st->se_serves == NULL) {
		*epoch = 0;
		return 1;
	}
	return st->se_serves(sub, epoch);
}

size_t
hk_st_nodes(const struct hk_st_node **nodes)
{
	*nodes = NULL;
	if (st == NULL || st->se_nodes == NULL)
		return 0;
	return st->se_nodes(nodes);
}

void
hk_st_publish(const char *text, size_t len)
{
	if (st != NULL && st->se_publish != NULL)
		st->se_publish(text, len);
}

void
hk_st_addresses(const char *public_addr, const char *admin_addr)
{
	if (st != NULL && st->se_addresses != NULL)
		st->se_addresses(public_addr, admin_addr);
}
