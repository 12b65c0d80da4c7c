/* bucket.c: token buckets. */
#include <math.h>

#include "bucket.h"
#include "hk.h"

void
hk_bucket_init(struct hk_bucket *b, double rate, double burst, int64_t now_us)
{
	b->bk_rate = rate;
	b->bk_burst = burst < 1 ? 1 : burst;
	b->bk_tokens = b->bk_burst;
	b->bk_last_us = now_us;
}

void
hk_bucket_set(struct hk_bucket *b, double rate, double burst)
{
	b->bk_rate = rate;
	b->bk_burst = burst < 1 ? 1 : burst;
	if (b->bk_tokens > b->bk_burst)
		b->bk_tokens = b->bk_burst;
}

int
hk_bucket_take(struct hk_bucket *b, int64_t now_us, int64_t *retry_ms)
{
	double need;

	if (b->bk_rate <= 0)
		return 0;
	if (now_us > b->bk_last_us) {
		b->bk_tokens +=
		    (double)(now_us - b->bk_last_us) / 1e6 * b->bk_rate;
		if (b->bk_tokens > b->bk_burst)
			b->bk_tokens = b->bk_burst;
		b->bk_last_us = now_us;
	}
	if (b->bk_tokens >= 1) {
		b->bk_tokens -= 1;
		return 0;
	}
	need = (1 - b->bk_tokens) / b->bk_rate * 1000;
	*retry_ms = (int64_t)ceil(need);
	if (*retry_ms < 1)
		*retry_ms = 1;
	return HK_AGAIN;
}
