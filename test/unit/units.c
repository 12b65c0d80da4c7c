/*
 * Unit tests of lib/units.c: sizes and durations as the flags take them
 * (every suffix, the largest value, overflow and garbage).
 */
#include <stdint.h>
#include <string.h>

#include "hk.h"
#include "t.h"
#include "units.h"

#define KiB 1024LL
#define MiB (1024LL * KiB)
#define GiB (1024LL * MiB)
#define TiB (1024LL * GiB)

struct units_case {
	const char *in;
	int64_t want; /* -1: refused */
};

/* Runs CASES against table U; a refusal must leave *out alone. */
static void
units_check(const struct hk_units *u, const struct units_case *c, size_t n)
{
	int64_t v;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		v = -7;
		rc = hk_units_parse(c[i].in, u, &v);
		if (c[i].want < 0) {
			if (rc != HK_EINVAL || v != -7)
				fprintf(stderr, "  %s: accepted\n", c[i].in);
			T_CHECK(rc == HK_EINVAL && v == -7);
		} else {
			if (rc != 0 || v != c[i].want)
				fprintf(stderr, "  %s: rc %d, %lld\n", c[i].in,
				    rc, (long long)v);
			T_CHECK(rc == 0 && v == c[i].want);
		}
	}
}

static void
test_sizes(void)
{
	static const struct units_case c[] = {{"0", 0}, {"1", 1}, {"512b", 512},
	    {"512B", 512}, {"1k", KiB}, {"1kb", KiB}, {"1KiB", KiB},
	    {"2K", 2 * KiB}, {"3m", 3 * MiB}, {"3mb", 3 * MiB},
	    {"3MiB", 3 * MiB}, {"4g", 4 * GiB}, {"4GB", 4 * GiB},
	    {"4gib", 4 * GiB}, {"64t", 64 * TiB}, {"64tb", 64 * TiB},
	    {"64TiB", 64 * TiB}, {"9223372036854775807", INT64_MAX},
	    {"9007199254740991k", 9007199254740991LL * KiB},
	    /* Overflow: of strtoll, and of the multiplication. */
	    {"9223372036854775808", -1}, {"9007199254740992k", -1},
	    {"8388608t", -1}, {"99999999999999999999999", -1},
	    /* Garbage. */
	    {"", -1}, {"k", -1}, {"-1", -1}, {"+1", -1}, {" 1", -1},
	    {"1 k", -1}, {"1k ", -1}, {"1x", -1}, {"1kk", -1}, {"1.5m", -1},
	    {"0x10", -1}, {"1s", -1}, {"1ms", -1}};

	units_check(&hk_units_size, c, HK_NELEM(c));
}

static void
test_durations(void)
{
	static const struct units_case c[] = {{"0", 0}, {"1", 1000},
	    {"250ms", 250}, {"30s", 30000}, {"5m", 300000}, {"2h", 7200000},
	    {"3d", 3 * 86400000LL}, {"0ms", 0},
	    {"9223372036854775807ms", INT64_MAX},
	    {"9223372036854775s", 9223372036854775000LL},
	    {"106751991167d", 106751991167LL * 86400000},
	    /* Overflow. */
	    {"9223372036854776s", -1}, {"9223372036854775808ms", -1},
	    {"106751991168d", -1}, {"9223372036854775807", -1},
	    /* Case matters: M is not a minute, MS is not a millisecond. */
	    {"5M", -1}, {"5MS", -1}, {"5S", -1}, {"1H", -1}, {"1D", -1},
	    /* Garbage. */
	    {"", -1}, {"s", -1}, {"-1s", -1}, {"+1s", -1}, {" 1s", -1},
	    {"1 s", -1}, {"1s ", -1}, {"1.5s", -1}, {"1sec", -1}, {"1w", -1},
	    {"1k", -1}, {"1mss", -1}};

	units_check(&hk_units_duration, c, HK_NELEM(c));
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"sizes", test_sizes},
	    {"durations", test_durations},
	};

	return t_run("units", cases, HK_NELEM(cases));
}
