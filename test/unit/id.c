/* Unit tests of lib/id.c: new ids, their order, time and validity. */
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "hk.h"
#include "id.h"
#include "t.h"

/* Ids are unique, sorted, carry their time, and are judged strictly. */
static void
test_ids(void)
{
	char a[HK_ID_MAX], b[HK_ID_MAX], c[HK_ID_MAX];
	int i, sorted = 1;

	hk_id_new("evt_", a);
	T_CHECK(strncmp(a, "evt_", 4) == 0 && strlen(a) == 4 + HK_ID_BODY);
	T_CHECK(hk_id_valid("evt_", a));
	T_CHECK(!hk_id_valid("wh_", a));
	/* Monotonic within a millisecond: 10 000 ids sort in order. */
	for (i = 0; i < 10000; i++) {
		hk_id_new("evt_", b);
		if (strcmp(b, a) <= 0)
			sorted = 0;
		memcpy(a, b, sizeof(a));
	}
	T_CHECK(sorted);
	/* The time comes back out; a time in the past does not go back. */
	hk_id_at("dlv_", hk_now_ms() + 1000, c);
	T_CHECK(hk_id_ms("dlv_", c) >= hk_now_ms() + 900);
	hk_id_at("dlv_", 1747862818211LL, b);
	T_CHECK(strcmp(b, c) > 0);
	T_CHECK(hk_id_ms("evt_", c) == -1);
	T_CHECK(!hk_id_valid("evt_", "evt_"));
	T_CHECK(!hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FA"));
	T_CHECK(!hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAVX"));
	T_CHECK(!hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAU"));
	T_CHECK(hk_id_valid("evt_", "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"ids", test_ids},
	};

	/* New ids draw on libsodium's random bytes. */
	if (sodium_init() < 0) {
		fprintf(stderr, "id: sodium_init failed\n");
		return 1;
	}
	return t_run("id", cases, HK_NELEM(cases));
}
