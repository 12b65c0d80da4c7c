/*
 * bucket.h: a token bucket for per-webhook rate limits.
 *
 * RATE tokens a second, holding at most BURST; a rate of 0 means
 * unlimited. The caller passes the time, so the bucket is pure and
 * testable. Not thread-safe (each bucket belongs to the loop).
 */
#ifndef HK_BUCKET_H
#define HK_BUCKET_H

#include <stdint.h>

struct hk_bucket {
	double bk_rate; /* tokens per second; 0: unlimited */
	double bk_burst; /* capacity */
	double bk_tokens;
	int64_t bk_last_us; /* when bk_tokens was last brought up to date */
};

/* Sets the rate and burst; a new bucket starts full. */
void hk_bucket_init(
    struct hk_bucket *, double rate, double burst, int64_t now_us);
/* Changes rate and burst, keeping the tokens (capped at the new burst). */
void hk_bucket_set(struct hk_bucket *, double rate, double burst);
/*
 * Takes one token. Returns 0, or HK_AGAIN with *retry_ms set to how long
 * until a token will be there.
 */
int hk_bucket_take(struct hk_bucket *, int64_t now_us, int64_t *retry_ms);

#endif
