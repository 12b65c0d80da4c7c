/*
 * stats.h: read access to the figures domain/stats.c collects, for
 * their renderer (api/stats.c) alone; everyone else records through
 * hookd.h's hk_stats_ingest() and friends.
 *
 * A series keeps lifetime counters, a latency histogram and three rings
 * of slots (the 1 min, 1 h and 24 h windows). Series are borrowed: valid
 * until the next hk_stats_forget() or hk_stats_free(), on the loop
 * thread, like everything here.
 */
#ifndef HK_DOMAIN_STATS_H
#define HK_DOMAIN_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Histogram buckets: the upper bounds below, in milliseconds, and +Inf. */
#define HK_STATS_NB 15
extern const double hk_stats_le_ms[HK_STATS_NB - 1];

/* The rings' slot lengths, seconds: 12 slots, 12 slots, 24 slots. */
#define HK_STATS_MIN_S 5
#define HK_STATS_HOUR_S 300
#define HK_STATS_DAY_S 3600

struct hk_stats_slot {
	int64_t epoch; /* which slot-length period this slot holds */
	uint32_t n, err;
	uint32_t h[HK_STATS_NB];
};

struct hk_series {
	uint64_t n, err; /* lifetime */
	uint64_t h[HK_STATS_NB]; /* lifetime histogram */
	double sum_s; /* lifetime latency sum, seconds */
	struct hk_stats_slot m[12], hr[12], d[24];
};

/* The daemon-wide series. */
enum hk_stats_total {
	HK_STATS_INGEST, /* accepted events, read to 202 */
	HK_STATS_ATTEMPT, /* every delivery attempt */
	HK_STATS_FIRST /* an event's acceptance to its first success */
};

/* The series of webhook or subscription ID, or NULL when it has none. */
const struct hk_series *hk_stats_series(const char *id);
const struct hk_series *hk_stats_total(enum hk_stats_total);
/*
 * The Ith refusal code counted (I from 0) and into *COUNT its refusals;
 * NULL past the last.
 */
const char *hk_stats_code(size_t i, uint64_t *count);
/* Sums the slots of RING that fall in the window ending now into OUT. */
void hk_stats_window(const struct hk_stats_slot *ring, size_t nslots,
    int64_t len_s, struct hk_stats_slot *out);
/* The slot of RING holding period EPOCH, or NULL (never, or reused). */
const struct hk_stats_slot *hk_stats_slot(
    const struct hk_stats_slot *ring, size_t nslots, int64_t epoch);

#endif
