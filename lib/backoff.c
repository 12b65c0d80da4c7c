/* backoff.c: retry delays. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "hk.h"

int64_t
hk_backoff_ms(int n, int64_t initial, int64_t max, double r)
{
	double d = (double)initial;
	int i;

	/* Doubling stops at the cap, so no attempt count overflows. */
	for (i = 1; i < n && d < (double)max; i++)
		d *= 2;
	if (d > (double)max)
		d = (double)max;
	d *= 0.8 + 0.4 * r;
	if (d > (double)max)
		d = (double)max;
	return d < 0 ? 0 : (int64_t)d;
}

int
hk_retry_after_ms(const char *v, int64_t now_ms, int64_t max, int64_t *out)
{
	struct tm tm;
	char *end;
	long long secs;
	int64_t ms;

	while (*v == ' ')
		v++;
	if (*v >= '0' && *v <= '9') {
		secs = strtoll(v, &end, 10);
		while (*end == ' ')
			end++;
		if (*end != '\0' || secs < 0)
			return HK_EINVAL;
		ms = secs > max / 1000 ? max : (int64_t)secs * 1000;
	} else {
		/* IMF-fixdate, the one form senders must use. */
		memset(&tm, 0, sizeof(tm));
		end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (end == NULL || *end != '\0')
			return HK_EINVAL;
		ms = (int64_t)timegm(&tm) * 1000 - now_ms;
		if (ms < 0)
			ms = 0;
	}
	*out = ms > max ? max : ms;
	return 0;
}
