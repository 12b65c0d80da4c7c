/* Unit tests of lib/bucket.c: the token bucket's rate and burst. */
#include <stdint.h>

#include "bucket.h"
#include "hk.h"
#include "t.h"

/* The bucket gives its burst, refills at its rate, and 0 is unlimited. */
static void
test_bucket(void)
{
	struct hk_bucket b;
	int64_t t = 1000000, retry;
	int i, ok = 0;

	hk_bucket_init(&b, 10, 20, t);
	for (i = 0; i < 25; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 20);
	T_CHECK(hk_bucket_take(&b, t, &retry) == HK_AGAIN);
	T_CHECK(retry > 0 && retry <= 100);
	/* 10/s: after 250 ms, two tokens. */
	t += 250000;
	T_CHECK(hk_bucket_take(&b, t, &retry) == 0);
	T_CHECK(hk_bucket_take(&b, t, &retry) == 0);
	T_CHECK(hk_bucket_take(&b, t, &retry) == HK_AGAIN);
	/* Never more than the burst, however long it rested. */
	t += 3600 * 1000000LL;
	for (ok = 0, i = 0; i < 30; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 20);
	/* A smaller burst caps the tokens. */
	t += 3600 * 1000000LL;
	hk_bucket_take(&b, t, &retry);
	hk_bucket_set(&b, 1, 2);
	for (ok = 0, i = 0; i < 5; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 2);
	/* Rate 0 is unlimited. */
	hk_bucket_init(&b, 0, 0, t);
	for (ok = 0, i = 0; i < 100000; i++)
		if (hk_bucket_take(&b, t, &retry) == 0)
			ok++;
	T_CHECK(ok == 100000);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"bucket", test_bucket},
	};

	return t_run("bucket", cases, HK_NELEM(cases));
}
