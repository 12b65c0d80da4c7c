/* units.c: sizes and durations with their suffixes. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hk.h"
#include "units.h"

#define KiB 1024LL
#define MiB (1024LL * KiB)
#define GiB (1024LL * MiB)
#define TiB (1024LL * GiB)

static const struct hk_unit units_size[] = {{"", 1}, {"b", 1}, {"k", KiB},
    {"kb", KiB}, {"kib", KiB}, {"m", MiB}, {"mb", MiB}, {"mib", MiB},
    {"g", GiB}, {"gb", GiB}, {"gib", GiB}, {"t", TiB}, {"tb", TiB},
    {"tib", TiB}};

static const struct hk_unit units_duration[] = {{"", 1000}, {"ms", 1},
    {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};

const struct hk_units hk_units_size = {units_size, HK_NELEM(units_size), 1};
const struct hk_units hk_units_duration = {
    units_duration, HK_NELEM(units_duration), 0};

int
hk_units_parse(const char *s, const struct hk_units *u, int64_t *out)
{
	const struct hk_unit *r;
	char *end;
	long long v;
	size_t i;

	/* strtoll would take a sign or leading space: a flag has neither. */
	if (!isdigit((unsigned char)*s))
		return HK_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return HK_EINVAL;
	for (i = 0; i < u->us_n; i++) {
		r = &u->us_rows[i];
		if ((u->us_nocase ? strcasecmp(end, r->u_suffix)
		                  : strcmp(end, r->u_suffix)) != 0)
			continue;
		if (v > INT64_MAX / r->u_mult)
			return HK_EINVAL;
		*out = v * r->u_mult;
		return 0;
	}
	return HK_EINVAL;
}
