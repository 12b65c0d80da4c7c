/* clock.c: time in milliseconds and ISO 8601. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hk.h"

int64_t
hk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
hk_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes V as N digits at P. */
static void
clock_put(char *p, int n, int v)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * The civil date of DAYS since 1970-01-01 in the proleptic Gregorian
 * calendar, by the era arithmetic of Howard Hinnant's "chrono-compatible
 * low-level date algorithms" (no gmtime, no locale, no lock: this runs
 * for every event and every log entry).
 */
static void
clock_civil(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

char *
hk_time_iso(int64_t ms, char out[HK_ISO_LEN])
{
	int64_t secs;
	int y, mo, d, sod;

	if (ms < 0)
		ms = 0;
	if (ms > 253402300799999LL) /* 9999-12-31T23:59:59.999Z */
		ms = 253402300799999LL;
	secs = ms / 1000;
	sod = (int)(secs % 86400);
	clock_civil(secs / 86400, &y, &mo, &d);
	memcpy(out, "0000-00-00T00:00:00.000Z", HK_ISO_LEN);
	clock_put(out, 4, y);
	clock_put(out + 5, 2, mo);
	clock_put(out + 8, 2, d);
	clock_put(out + 11, 2, sod / 3600);
	clock_put(out + 14, 2, sod / 60 % 60);
	clock_put(out + 17, 2, sod % 60);
	clock_put(out + 20, 3, (int)(ms % 1000));
	return out;
}

/* Reads exactly N digits at *P into *V and advances P. */
static int
clock_digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* Days from 1970-01-01 to the civil date (proleptic Gregorian). */
static int64_t
clock_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
hk_time_parse(const char *s, int64_t *ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, sign, oh, om;
	int64_t frac = 0, scale = 100, v;
	char *end;
	static const int mdays[] = {
	    31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (s == NULL || *s == '\0')
		return HK_EINVAL;
	if (strchr(s, '-') == NULL) {
		v = strtoll(s, &end, 10);
		if (*end != '\0' || v < 0 || v > 253402300799LL)
			return HK_EINVAL;
		*ms = v * 1000;
		return 0;
	}
	if (clock_digits(&p, 4, &y) || *p++ != '-' ||
	    clock_digits(&p, 2, &mo) || *p++ != '-' ||
	    clock_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return HK_EINVAL;
	p++;
	if (clock_digits(&p, 2, &h) || *p++ != ':' ||
	    clock_digits(&p, 2, &mi) || *p++ != ':' ||
	    clock_digits(&p, 2, &sec))
		return HK_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return HK_EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return HK_EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	v = ((clock_days(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (clock_digits(&p, 2, &oh))
			return HK_EINVAL;
		if (*p == ':')
			p++;
		if (clock_digits(&p, 2, &om) || oh > 23 || om > 59)
			return HK_EINVAL;
		v -= sign * (oh * 3600 + om * 60);
	} else
		return HK_EINVAL;
	if (*p != '\0')
		return HK_EINVAL;
	*ms = v * 1000 + frac;
	return 0;
}
