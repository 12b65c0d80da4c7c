/*
 * backoff.h: when the next delivery attempt is due
 * (proto/delivery.md "Retries").
 *
 * Pure; the caller passes the randomness and the clock.
 */
#ifndef HK_BACKOFF_H
#define HK_BACKOFF_H

#include <stdint.h>

/*
 * The delay before attempt N+1 after attempt N (from 1) failed:
 * min(MAX, INITIAL * 2^(N-1)) with +-20 % jitter (R uniform in [0, 1)),
 * never above MAX.
 */
int64_t hk_backoff_ms(int n, int64_t initial, int64_t max, double r);

/*
 * A Retry-After value (delta-seconds or an HTTP-date, RFC 9110) as a
 * delay in milliseconds from NOW_MS, capped at MAX. Returns 0, or
 * HK_EINVAL when it is neither.
 */
int hk_retry_after_ms(
    const char *value, int64_t now_ms, int64_t max, int64_t *out);

#endif
