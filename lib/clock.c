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

char *
hk_time_iso(int64_t ms, char out[HK_ISO_LEN])
{
	struct tm tm;
	time_t t;
	int64_t frac;
	char tmp[96];

	if (ms < 0)
		ms = 0;
	if (ms > 253402300799999LL) /* 9999-12-31T23:59:59.999Z */
		ms = 253402300799999LL;
	t = (time_t)(ms / 1000);
	frac = ms % 1000;
	gmtime_r(&t, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)frac);
	memcpy(out, tmp, HK_ISO_LEN - 1);
	out[HK_ISO_LEN - 1] = '\0';
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
