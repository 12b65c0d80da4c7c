/*
 * clock.h: wall-clock time in milliseconds and its ISO 8601 form.
 *
 * Times in JSON are ISO 8601 UTC with milliseconds
 * ("2025-05-21T21:26:58.211Z"). Thread-safe.
 */
#ifndef HK_CLOCK_H
#define HK_CLOCK_H

#include <stdint.h>

#define HK_ISO_LEN 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" and NUL */

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t hk_now_ms(void);
/* Microseconds of CLOCK_MONOTONIC, for latencies. */
int64_t hk_mono_us(void);
/* Formats MS into OUT; returns OUT. */
char *hk_time_iso(int64_t ms, char out[HK_ISO_LEN]);
/*
 * Parses ISO 8601 UTC ("…Z", optional fraction, or a numeric offset) or a
 * plain integer of seconds since the epoch. Returns 0 or HK_EINVAL.
 */
int hk_time_parse(const char *, int64_t *ms);

#endif
