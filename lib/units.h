/*
 * units.h: a count with a unit suffix, as the flags of proto/operation.md take
 * sizes ("64m", "1GiB") and durations ("250ms", "30s", "7d").
 *
 * One parser, a table of suffixes per kind. It judges only the text and
 * overflow; the bounds of a flag are the caller's. Pure and thread-safe.
 */
#ifndef HK_UNITS_H
#define HK_UNITS_H

#include <stddef.h>
#include <stdint.h>

struct hk_unit {
	const char *u_suffix; /* "" for a bare number */
	int64_t u_mult;
};

struct hk_units {
	const struct hk_unit *us_rows;
	size_t us_n;
	int us_nocase; /* suffixes match whatever their case */
};

/* Bytes: b, k/kb/kib, m/mb/mib, g/gb/gib, t/tb/tib in any case (1024s). */
extern const struct hk_units hk_units_size;
/* Milliseconds: ms, s, m, h, d, lower case; a bare number is seconds. */
extern const struct hk_units hk_units_duration;

/*
 * Parses S, decimal digits then one suffix of U, into *OUT (in U's base
 * unit). No sign, space or fraction. Returns 0, or HK_EINVAL for any
 * other text or a value beyond INT64_MAX; *OUT is then unchanged.
 */
int hk_units_parse(const char *s, const struct hk_units *u, int64_t *out);

#endif
