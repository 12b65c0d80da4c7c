/*
 * reqlog.c: each webhook's request log: what is logged, and when.
 *
 * One entry per request to a webhook, accepted or refused, with a
 * time-sortable log id; the store keeps one webhook's log in time order
 * (HK_SL_LOG, scoped by the webhook). Entries are written after the
 * answer, gathered per loop pass into one store operation (HK_ST_LOG)
 * that rides along with the next batch: a log entry never delays an
 * answer, and one that cannot be written (the store is full) is dropped
 * and counted, not retried.
 *
 * The log can never crowd out events (proto/http.md). Refusals before
 * authentication cost at most --log-refusals entries a second per
 * webhook; the others are counted (stats) and summed into the webhook's
 * next entry as "suppressed". And the store keeps the whole log within
 * --log-budget percent of its space, which each operation carries in
 * bytes (lg_budget): before it adds entries, it deletes the oldest ones
 * of all webhooks until they fit. Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "map.h"

/*
 * Entries gathered during one pass of the loop, written by one store
 * operation: a batch of answers (one commit reaped) costs one operation,
 * not one per request. DATA holds the entries back to back, each as its
 * webhook id and its log id (both NUL-terminated) and its JSON; AT
 * holds where each begins. The entries the operation points to are made
 * from them once the pass is over and DATA no longer moves.
 */
struct reqlog_batch {
	struct hk_st_log lg; /* first: the store hands it back */
	struct hk_st_log_entry *ents;
	size_t n, cap;
	size_t *at;
	struct hk_buf data;
};

/* One webhook's refusals before authentication, this second. */
struct reqlog_limit {
	int64_t sec;
	uint64_t logged; /* refusals logged in second SEC */
	uint64_t suppressed; /* not logged since the last entry */
};

static uint64_t reqlog_dropped;
static uint64_t reqlog_suppressed, reqlog_trimmed;
static struct hk_map reqlog_limits; /* webhook id -> struct reqlog_limit */

static struct reqlog_limit *reqlog_limit(const char *webhook, int create);
static struct reqlog_batch *reqlog_open; /* gathering, not yet submitted */
static struct event *reqlog_flush_ev;

static void
reqlog_batch_free(struct reqlog_batch *rb)
{
	hk_buf_free(&rb->data);
	free(rb->at);
	free(rb->ents);
	free(rb);
}

static void
reqlog_done(struct hk_st_op *op, int rc)
{
	struct reqlog_batch *rb = (struct reqlog_batch *)op;

	if (rc != 0 || rb->lg.lg_over)
		reqlog_dropped += rb->n;
	if (rc == 0)
		reqlog_trimmed += rb->lg.lg_trimmed;
	reqlog_batch_free(rb);
}

/* Points RB's entries into its data, now that it no longer grows. */
static int
reqlog_entries(struct reqlog_batch *rb)
{
	struct hk_st_log_entry *e;
	size_t i, end;

	if ((rb->ents = calloc(rb->n, sizeof(*rb->ents))) == NULL)
		return HK_ENOMEM;
	for (i = 0; i < rb->n; i++) {
		e = &rb->ents[i];
		end = i + 1 < rb->n ? rb->at[i + 1] : rb->data.len;
		e->le_webhook = rb->data.b + rb->at[i];
		e->le_id = e->le_webhook + strlen(e->le_webhook) + 1;
		e->le_text = e->le_id + strlen(e->le_id) + 1;
		e->le_len = (size_t)(rb->data.b + end - e->le_text);
	}
	return 0;
}

/*
 * The pass is over: its entries go to the store, with the budget in
 * bytes as the writer has always reckoned it (a share of the space).
 */
static void
reqlog_flush(evutil_socket_t fd, short what, void *arg)
{
	struct reqlog_batch *rb = reqlog_open;
	struct hk_st_usage u;

	(void)fd;
	(void)what;
	(void)arg;
	reqlog_open = NULL;
	if (rb == NULL)
		return;
	if (rb->n == 0 || reqlog_entries(rb) != 0) {
		reqlog_done(&rb->lg.lg_op, HK_ENOMEM);
		return;
	}
	hk_st_usage(&u);
	rb->lg.lg_op.so_kind = HK_ST_LOG;
	rb->lg.lg_op.so_done = reqlog_done;
	rb->lg.lg_entries = rb->ents;
	rb->lg.lg_n = rb->n;
	rb->lg.lg_budget =
	    (uint64_t)(u.su_size / 100 * (size_t)hd->hd_conf.cf_log_budget);
	if (hk_st_submit(&rb->lg.lg_op) != 0)
		reqlog_done(&rb->lg.lg_op, HK_ESHUTDOWN);
}

/* Appends one entry's JSON to B. 0, or -1 out of memory. */
static int
reqlog_json(struct hk_buf *b, const struct hk_reqlog *rl, const char *id,
    int64_t ms, const struct reqlog_limit *lim)
{
	char iso[HK_ISO_LEN], frac[4];
	int64_t us = rl->rl_latency_us < 0 ? 0 : rl->rl_latency_us;

	frac[0] = '.';
	frac[1] = (char)('0' + us / 100 % 10);
	frac[2] = (char)('0' + us / 10 % 10);
	frac[3] = (char)('0' + us % 10);
	if (hk_buf_adds(b, "{\"id\":\"") || hk_buf_adds(b, id) ||
	    hk_buf_adds(b, "\",\"at\":\"") ||
	    hk_buf_adds(b, hk_time_iso(ms, iso)) ||
	    hk_buf_adds(b, "\",\"status\":") ||
	    hk_buf_add_i64(b, rl->rl_status) || hk_buf_adds(b, ",\"error\":") ||
	    hk_buf_add_jsonstr(b, rl->rl_code) ||
	    hk_buf_adds(b, ",\"remoteAddr\":") ||
	    hk_buf_add_jsonstr(b, rl->rl_peer) ||
	    hk_buf_adds(b, ",\"bytes\":") || hk_buf_add_u64(b, rl->rl_bytes) ||
	    hk_buf_adds(b, ",\"latencyMs\":") || hk_buf_add_i64(b, us / 1000) ||
	    hk_buf_add(b, frac, 4) || hk_buf_adds(b, ",\"eventId\":") ||
	    hk_buf_add_jsonstr(b, rl->rl_event) ||
	    (lim != NULL && lim->suppressed > 0 &&
	        (hk_buf_adds(b, ",\"suppressed\":") ||
	            hk_buf_add_u64(b, lim->suppressed))) ||
	    hk_buf_addc(b, '}'))
		return -1;
	return 0;
}

void
hk_reqlog_add(const struct hk_reqlog *rl)
{
	static const struct timeval now = {0, 0};
	struct reqlog_batch *rb;
	char id[HK_ID_MAX];
	int64_t ms = hk_now_ms();
	size_t start, *at;
	struct reqlog_limit *lim;

	hk_stats_ingest(
	    rl->rl_webhook, rl->rl_status, rl->rl_code, rl->rl_latency_us);
	/* Stopping: requests of the grace are logged while the store runs. */
	if (hk_st_full()) {
		reqlog_dropped++;
		return;
	}
	if (reqlog_flush_ev == NULL &&
	    (reqlog_flush_ev = evtimer_new(hd->hd_base, reqlog_flush, NULL)) ==
	        NULL) {
		reqlog_dropped++;
		return;
	}
	if ((rb = reqlog_open) == NULL) {
		if ((rb = calloc(1, sizeof(*rb))) == NULL) {
			reqlog_dropped++;
			return;
		}
		reqlog_open = rb;
		/* Flushed once the loop has run what is ready now. */
		evtimer_add(reqlog_flush_ev, &now);
	}
	if (rb->n == rb->cap) {
		if ((at = realloc(rb->at,
		         (rb->cap ? 2 * rb->cap : 16) * sizeof(*at))) == NULL) {
			reqlog_dropped++;
			return;
		}
		rb->at = at;
		rb->cap = rb->cap ? 2 * rb->cap : 16;
	}
	lim = reqlog_limit(rl->rl_webhook, 0);
	hk_id_at("rlg_", ms, id);
	start = rb->data.len;
	if (hk_buf_add(&rb->data, rl->rl_webhook, strlen(rl->rl_webhook) + 1) ||
	    hk_buf_add(&rb->data, id, strlen(id) + 1) ||
	    reqlog_json(&rb->data, rl, id, ms, lim) != 0) {
		/* Drop this entry only: cut it off again. */
		rb->data.len = start;
		reqlog_dropped++;
		return;
	}
	rb->at[rb->n++] = start;
	if (lim != NULL)
		lim->suppressed = 0; /* summed into this entry */
}

/* The refusal window of WEBHOOK, created when CREATE; NULL when none. */
static struct reqlog_limit *
reqlog_limit(const char *webhook, int create)
{
	struct reqlog_limit *l;
	size_t n = strlen(webhook);

	if ((l = hk_map_get(&reqlog_limits, webhook, n)) != NULL || !create)
		return l;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if (hk_map_put(&reqlog_limits, webhook, n, l) != 0) {
		free(l);
		return NULL;
	}
	return l;
}

void
hk_reqlog_refused(const struct hk_reqlog *rl)
{
	struct reqlog_limit *l = reqlog_limit(rl->rl_webhook, 1);
	int64_t sec = hk_mono_us() / 1000000;

	if (l != NULL && l->sec != sec) {
		l->sec = sec;
		l->logged = 0;
	}
	if (l != NULL && l->logged < (uint64_t)hd->hd_conf.cf_log_refusals) {
		l->logged++;
		hk_reqlog_add(rl);
		return;
	}
	/* Counted like any request; its entry is one more "suppressed". */
	hk_stats_ingest(
	    rl->rl_webhook, rl->rl_status, rl->rl_code, rl->rl_latency_us);
	reqlog_suppressed++;
	if (l != NULL)
		l->suppressed++;
}

void
hk_reqlog_free(void)
{
	hk_map_foreach(&reqlog_limits, free);
	hk_map_free(&reqlog_limits);
	if (reqlog_flush_ev != NULL)
		event_free(reqlog_flush_ev);
	reqlog_flush_ev = NULL;
	if (reqlog_open != NULL) {
		reqlog_batch_free(reqlog_open);
		reqlog_open = NULL;
	}
}

uint64_t
hk_reqlog_dropped(void)
{
	return reqlog_dropped;
}

uint64_t
hk_reqlog_suppressed(void)
{
	return reqlog_suppressed;
}

uint64_t
hk_reqlog_trimmed(void)
{
	return reqlog_trimmed;
}
