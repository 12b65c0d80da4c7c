/* Unit tests of lib/map.c: puts, gets, deletes and tombstone reuse. */
#include <stdio.h>
#include <string.h>

#include "hk.h"
#include "map.h"
#include "t.h"

static int map_seen;

static void
map_count(void *v)
{
	(void)v;
	map_seen++;
}

/* Ten thousand keys in, half out and back: every lookup right. */
static void
test_map(void)
{
	struct hk_map m = HK_MAP_INIT;
	char k[32];
	long i, ok = 1;

	for (i = 0; i < 10000; i++) {
		snprintf(k, sizeof(k), "key-%ld", i);
		T_CHECK(hk_map_put(&m, k, strlen(k), (void *)(i + 1)) == 0);
	}
	for (i = 0; i < 10000; i++) {
		snprintf(k, sizeof(k), "key-%ld", i);
		if (hk_map_get(&m, k, strlen(k)) != (void *)(i + 1))
			ok = 0;
	}
	T_CHECK(ok);
	for (i = 0; i < 10000; i += 2) {
		snprintf(k, sizeof(k), "key-%ld", i);
		T_CHECK(hk_map_del(&m, k, strlen(k)) == (void *)(i + 1));
	}
	T_CHECK(hk_map_get(&m, "key-0", 5) == NULL);
	T_CHECK(hk_map_get(&m, "key-1", 5) == (void *)2);
	/* Tombstones are reused: deleting and adding again keeps working. */
	for (i = 0; i < 10000; i += 2) {
		snprintf(k, sizeof(k), "key-%ld", i);
		T_CHECK(hk_map_put(&m, k, strlen(k), (void *)(i + 1)) == 0);
	}
	T_CHECK(m.m_used == 10000);
	map_seen = 0;
	hk_map_foreach(&m, map_count);
	T_CHECK(map_seen == 10000);
	T_CHECK(hk_map_put(&m, "key-1", 5, (void *)7) == 0);
	T_CHECK(hk_map_get(&m, "key-1", 5) == (void *)7 && m.m_used == 10000);
	hk_map_free(&m);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"map", test_map},
	};

	return t_run("map", cases, HK_NELEM(cases));
}
