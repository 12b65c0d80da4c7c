/* Unit tests of lib/clock.c: ISO 8601 times, both ways, and the clocks. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hk.h"
#include "t.h"

/* ISO 8601 out agrees with gmtime; in, the forms proto/api.md accepts. */
static void
test_clock(void)
{
	char iso[HK_ISO_LEN];
	int64_t ms;

	T_STREQ(hk_time_iso(0, iso), "1970-01-01T00:00:00.000Z");
	T_STREQ(hk_time_iso(1747862818211LL, iso), "2025-05-21T21:26:58.211Z");
	T_STREQ(hk_time_iso(951782400000LL, iso), "2000-02-29T00:00:00.000Z");
	T_STREQ(hk_time_iso(-5, iso), "1970-01-01T00:00:00.000Z");
	T_STREQ(hk_time_iso(INT64_MAX, iso), "9999-12-31T23:59:59.999Z");
	/* The arithmetic agrees with gmtime over the whole range. */
	for (ms = 0; ms < 253402300799999LL; ms += 7919LL * 86400013 + 77) {
		char want[64];
		time_t t = (time_t)(ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(
		    want + 19, sizeof(want) - 19, ".%03dZ", (int)(ms % 1000));
		if (strcmp(hk_time_iso(ms, iso), want) != 0) {
			fprintf(stderr, "iso %lld: %s, gmtime: %s\n",
			    (long long)ms, iso, want);
			T_CHECK(0);
			break;
		}
	}
	T_CHECK(hk_time_parse("2025-05-21T21:26:58.211Z", &ms) == 0 &&
	    ms == 1747862818211LL);
	T_CHECK(hk_time_parse("2025-05-21T21:26:58Z", &ms) == 0 &&
	    ms == 1747862818000LL);
	T_CHECK(hk_time_parse("2025-05-21T23:26:58.211+02:00", &ms) == 0 &&
	    ms == 1747862818211LL);
	T_CHECK(hk_time_parse("1747862818", &ms) == 0 && ms == 1747862818000LL);
	T_CHECK(hk_time_parse("yesterday", &ms) == HK_EINVAL);
	T_CHECK(hk_time_parse("2025-13-01T00:00:00Z", &ms) == HK_EINVAL);
	T_CHECK(hk_time_parse("", &ms) == HK_EINVAL);
	T_CHECK(hk_now_ms() > 1700000000000LL);
	T_CHECK(hk_mono_us() > 0);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"clock", test_clock},
	};

	return t_run("clock", cases, HK_NELEM(cases));
}
