/*
 * stats.c: the figures of proto/api.md, collected: per-webhook and
 * per-subscription series, and a few daemon-wide ones. api/stats.c
 * renders them (domain/stats.h); the ingest path, the request log and
 * the engine record into them.
 *
 * Everything lives in fixed memory on the loop thread. A series keeps
 * lifetime counters and a latency histogram for Prometheus, and three
 * rings of slots for the 1 min, 1 h and 24 h windows: 12 slots of 5 s,
 * 12 of 5 min, 24 of 1 h, each slot a count, an error count and a
 * histogram. A slot is reused when its time comes round again, so a
 * series costs the same whatever the traffic. Recording never fails: a
 * series that cannot be allocated is simply not kept.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "domain/stats.h"
#include "hk.h"
#include "hookd.h"
#include "map.h"

const double hk_stats_le_ms[HK_STATS_NB - 1] = {
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};

static struct hk_map stats_series = HK_MAP_INIT;
static struct hk_series stats_totals[3];
static const char *const stats_codes[] = {"invalid_json", "bad_request",
    "missing_token", "invalid_token", "missing_signature", "invalid_signature",
    "timestamp_out_of_tolerance", "webhook_disabled", "not_found",
    "method_not_allowed", "payload_too_large", "unsupported_media_type",
    "rate_limited", "unavailable"};
static uint64_t stats_rejected[HK_NELEM(stats_codes)];

/* The series of ID; CREATE makes it when missing (NULL: out of memory). */
static struct hk_series *
stats_get(const char *id, int create)
{
	struct hk_series *s = hk_map_get(&stats_series, id, strlen(id));

	if (s == NULL && create && (s = calloc(1, sizeof(*s))) != NULL &&
	    hk_map_put(&stats_series, id, strlen(id), s) != 0) {
		free(s);
		s = NULL;
	}
	return s;
}

/* The histogram bucket of a latency. */
static size_t
stats_bucket(int64_t us)
{
	size_t i;

	for (i = 0; i < HK_STATS_NB - 1; i++)
		if ((double)us <= hk_stats_le_ms[i] * 1000)
			break;
	return i;
}

/* Counts one sample in the ring's current slot, reusing a stale one. */
static void
stats_slot_add(struct hk_stats_slot *ring, size_t nslots, int64_t len_s,
    int64_t now_s, int err, size_t b)
{
	int64_t epoch = now_s / len_s;
	struct hk_stats_slot *sl = &ring[epoch % (int64_t)nslots];

	if (sl->epoch != epoch) {
		memset(sl, 0, sizeof(*sl));
		sl->epoch = epoch;
	}
	sl->n++;
	sl->err += err;
	sl->h[b]++;
}

/* Counts one sample in S (NULL: a series that could not be kept). */
static void
stats_add(struct hk_series *s, int err, int64_t latency_us)
{
	int64_t now_s = hk_now_ms() / 1000;
	size_t b = stats_bucket(latency_us);

	if (s == NULL)
		return;
	s->n++;
	s->err += err;
	s->h[b]++;
	s->sum_s += (double)latency_us / 1e6;
	stats_slot_add(s->m, HK_NELEM(s->m), HK_STATS_MIN_S, now_s, err, b);
	stats_slot_add(s->hr, HK_NELEM(s->hr), HK_STATS_HOUR_S, now_s, err, b);
	stats_slot_add(s->d, HK_NELEM(s->d), HK_STATS_DAY_S, now_s, err, b);
}

void
hk_stats_ingest(
    const char *webhook, int status, const char *code, int64_t latency_us)
{
	size_t i;
	int err = status >= 300;

	if (code != NULL && strcmp(code, "duplicate") != 0)
		for (i = 0; i < HK_NELEM(stats_codes); i++)
			if (strcmp(code, stats_codes[i]) == 0)
				stats_rejected[i]++;
	if (status == 202)
		stats_add(&stats_totals[HK_STATS_INGEST], 0, latency_us);
	if (webhook != NULL)
		stats_add(stats_get(webhook, 1), err, latency_us);
}

void
hk_stats_attempt(const char *sub, int ok, int64_t latency_us)
{
	stats_add(&stats_totals[HK_STATS_ATTEMPT], !ok, latency_us);
	if (sub != NULL)
		stats_add(stats_get(sub, 1), !ok, latency_us);
}

void
hk_stats_first_success(int64_t since_event_us)
{
	stats_add(&stats_totals[HK_STATS_FIRST], 0, since_event_us);
}

void
hk_stats_forget(const char *id)
{
	free(hk_map_del(&stats_series, id, strlen(id)));
}

/* hk_map_foreach's callback: one series. */
static void
stats_free_one(void *v)
{
	free(v);
}

void
hk_stats_free(void)
{
	hk_map_foreach(&stats_series, stats_free_one);
	hk_map_free(&stats_series);
}

const struct hk_series *
hk_stats_series(const char *id)
{
	return stats_get(id, 0);
}

const struct hk_series *
hk_stats_total(enum hk_stats_total which)
{
	return &stats_totals[which];
}

const char *
hk_stats_code(size_t i, uint64_t *count)
{
	if (i >= HK_NELEM(stats_codes))
		return NULL;
	*count = stats_rejected[i];
	return stats_codes[i];
}

void
hk_stats_window(const struct hk_stats_slot *ring, size_t nslots, int64_t len_s,
    struct hk_stats_slot *out)
{
	int64_t now = hk_now_ms() / 1000 / len_s;
	size_t i, b;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nslots; i++) {
		if (ring[i].epoch <= now - (int64_t)nslots ||
		    ring[i].epoch > now || ring[i].n == 0)
			continue;
		out->n += ring[i].n;
		out->err += ring[i].err;
		for (b = 0; b < HK_STATS_NB; b++)
			out->h[b] += ring[i].h[b];
	}
}

const struct hk_stats_slot *
hk_stats_slot(const struct hk_stats_slot *ring, size_t nslots, int64_t epoch)
{
	const struct hk_stats_slot *sl = &ring[epoch % (int64_t)nslots];

	return sl->epoch == epoch && sl->n > 0 ? sl : NULL;
}
