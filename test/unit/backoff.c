/*
 * Unit tests of lib/backoff.c: the retry schedule with its jitter bounds,
 * and Retry-After in both of RFC 9110's forms.
 */
#include <stdint.h>

#include "backoff.h"
#include "hk.h"
#include "t.h"

static void
test_backoff(void)
{
	int n;

	/* r = 0.5 is the middle: no jitter. */
	T_CHECK(hk_backoff_ms(1, 5000, 21600000, 0.5) == 5000);
	T_CHECK(hk_backoff_ms(2, 5000, 21600000, 0.5) == 10000);
	T_CHECK(hk_backoff_ms(5, 5000, 21600000, 0.5) == 80000);
	T_CHECK(hk_backoff_ms(40, 5000, 21600000, 0.5) == 21600000);
	T_CHECK(hk_backoff_ms(1000000, 5000, 21600000, 0.99) == 21600000);
	T_CHECK(hk_backoff_ms(1, 5000, 21600000, 0.0) == 4000);
	T_CHECK(hk_backoff_ms(1, 5000, 21600000, 0.999999) == 5999);
	for (n = 1; n < 60; n++) {
		int64_t lo = hk_backoff_ms(n, 1000, 60000, 0.0);
		int64_t hi = hk_backoff_ms(n, 1000, 60000, 0.999);

		T_CHECK(lo <= hi && hi <= 60000 && lo >= 800);
	}
}

static void
test_retry_after(void)
{
	int64_t ms;

	T_CHECK(hk_retry_after_ms("120", 0, 3600000, &ms) == 0 && ms == 120000);
	T_CHECK(hk_retry_after_ms("999999999999", 0, 3600000, &ms) == 0 &&
	    ms == 3600000);
	T_CHECK(hk_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT",
	            1445412420000LL, 3600000, &ms) == 0 &&
	    ms == 60000);
	T_CHECK(hk_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT",
	            1545412420000LL, 3600000, &ms) == 0 &&
	    ms == 0);
	T_CHECK(hk_retry_after_ms("-1", 0, 1000, &ms) == HK_EINVAL);
	T_CHECK(hk_retry_after_ms("soon", 0, 1000, &ms) == HK_EINVAL);
	T_CHECK(hk_retry_after_ms("12x", 0, 1000, &ms) == HK_EINVAL);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"backoff", test_backoff},
	    {"retry_after", test_retry_after},
	};

	return t_run("backoff", cases, HK_NELEM(cases));
}
