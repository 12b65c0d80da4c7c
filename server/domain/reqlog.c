/*
 * reqlog.c: each webhook's request log.
 *
 * One record per request to a webhook, accepted or refused, keyed by the
 * webhook id followed by a time-sortable log id (HK_DB_REQLOG), so one
 * webhook's log is one key range in time order. Entries are written after
 * the answer, gathered per loop pass into one store operation that rides
 * along with the next batch: a log entry never delays an answer, and one
 * that cannot be written (the map is full) is dropped and counted, not
 * retried.
 *
 * The log can never crowd out events (proto/http.md). Refusals before
 * authentication cost at most --log-refusals entries a second per
 * webhook; the others are counted (stats) and summed into the webhook's
 * next entry as "suppressed". And the writer keeps the whole log within
 * --log-budget percent of the map: before it adds entries, it deletes
 * the oldest ones of all webhooks until they fit.
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
 * not one per request. DATA holds the entries back to back, each as a
 * key length, a value length, the key and the value.
 */
struct reqlog_batch {
	struct hk_store_op op;
	size_t n;
	struct hk_buf data;
	uint64_t trimmed; /* writer: old entries deleted for the budget */
	int over; /* writer: no room even so; the entries are dropped */
};

/* One webhook's refusals before authentication, this second. */
struct reqlog_limit {
	int64_t sec;
	uint64_t logged; /* refusals logged in second SEC */
	uint64_t suppressed; /* not logged since the last entry */
};

/* A key: a webhook id (wh_) and a log id (rlg_); it sorts by the latter. */
#define REQLOG_WLEN (3 + HK_ID_BODY)
#define REQLOG_KLEN (REQLOG_WLEN + 4 + HK_ID_BODY)
#define REQLOG_TRIM_MAX 5000 /* entries one operation deletes at most */

/* The heap of each webhook's oldest entry, for deleting oldest first. */
struct reqlog_heap {
	size_t n, cap;
	char (*k)[REQLOG_KLEN];
};

struct reqlog_hdr {
	uint32_t klen;
	uint32_t vlen;
};

static uint64_t reqlog_dropped;
static uint64_t reqlog_suppressed, reqlog_trimmed;
static struct hk_map reqlog_limits; /* webhook id -> struct reqlog_limit */

static struct reqlog_limit *reqlog_limit(const char *webhook, int create);
static struct reqlog_batch *reqlog_open; /* gathering, not yet submitted */
static struct event *reqlog_flush_ev;

/* Whether entry key A is older than B (their log ids compared). */
static int
reqlog_older(const char *a, const char *b)
{
	return memcmp(a + REQLOG_WLEN, b + REQLOG_WLEN,
	           REQLOG_KLEN - REQLOG_WLEN) < 0;
}

/* Restores the heap order from slot I down. */
static void
reqlog_sift(struct reqlog_heap *hp, size_t i)
{
	char tmp[REQLOG_KLEN];
	size_t c;

	for (; (c = 2 * i + 1) < hp->n; i = c) {
		if (c + 1 < hp->n && reqlog_older(hp->k[c + 1], hp->k[c]))
			c++;
		if (!reqlog_older(hp->k[c], hp->k[i]))
			break;
		memcpy(tmp, hp->k[i], REQLOG_KLEN);
		memcpy(hp->k[i], hp->k[c], REQLOG_KLEN);
		memcpy(hp->k[c], tmp, REQLOG_KLEN);
	}
}

/*
 * Fills HP with the first (oldest) entry of every webhook's range,
 * skipping from one range to the next. Returns 0 or a store error.
 */
static int
reqlog_heads(MDB_cursor *cur, struct reqlog_heap *hp)
{
	char next[REQLOG_WLEN + 1];
	void *p;
	MDB_val k, v;
	size_t i;
	int rc;

	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
		if (k.mv_size != REQLOG_KLEN) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		if (hp->n == hp->cap) {
			hp->cap = hp->cap ? 2 * hp->cap : 64;
			if ((p = realloc(hp->k, hp->cap * REQLOG_KLEN)) == NULL)
				return HK_ENOMEM;
			hp->k = p;
		}
		memcpy(hp->k[hp->n++], k.mv_data, REQLOG_KLEN);
		/* Past this webhook's range: "rlg_" sorts below 0x7f. */
		memcpy(next, k.mv_data, REQLOG_WLEN);
		next[REQLOG_WLEN] = '\x7f';
		k.mv_data = next;
		k.mv_size = sizeof(next);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	if (rc != MDB_NOTFOUND)
		return hk_store_err(rc);
	for (i = hp->n / 2; i-- > 0;)
		reqlog_sift(hp, i);
	return 0;
}

/* Bytes the request log's pages take in TXN. */
static size_t
reqlog_bytes(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat ms;

	if (mdb_stat(txn, dbi, &ms) != 0)
		return 0;
	return (ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages) *
	    ms.ms_psize;
}

/*
 * Deletes the oldest entries, of all webhooks, until NEED more bytes
 * fit in the budget with a twentieth of it to spare, so that the next
 * batches need not trim (at most REQLOG_TRIM_MAX of them); RB->over
 * when they do not fit even so. Returns 0 or a store error.
 */
static int
reqlog_budget(struct reqlog_batch *rb, struct hk_store *st, MDB_txn *txn,
    MDB_dbi dbi, size_t need)
{
	struct reqlog_heap hp = {0, 0, NULL};
	MDB_envinfo info;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t budget;
	int rc;

	if (mdb_env_info(hk_store_env(st), &info) != 0)
		return HK_EIO;
	budget = info.me_mapsize / 100 * (size_t)hd->hd_conf.cf_log_budget;
	if (reqlog_bytes(txn, dbi) + need <= budget)
		return 0;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return hk_store_err(rc);
	if ((rc = reqlog_heads(cur, &hp)) != 0)
		goto out;
	while (hp.n > 0 && rb->trimmed < REQLOG_TRIM_MAX &&
	    reqlog_bytes(txn, dbi) + need > budget - budget / 20) {
		k.mv_data = hp.k[0];
		k.mv_size = REQLOG_KLEN;
		if ((rc = mdb_del(txn, dbi, &k, NULL)) != 0) {
			rc = hk_store_err(rc);
			goto out;
		}
		rb->trimmed++;
		/* That webhook's next entry takes its place, or the last. */
		k.mv_data = hp.k[0];
		k.mv_size = REQLOG_KLEN;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && k.mv_size == REQLOG_KLEN &&
		    memcmp(k.mv_data, hp.k[0], REQLOG_WLEN) == 0)
			memcpy(hp.k[0], k.mv_data, REQLOG_KLEN);
		else if (rc == 0 || rc == MDB_NOTFOUND)
			memcpy(hp.k[0], hp.k[--hp.n], REQLOG_KLEN);
		else {
			rc = hk_store_err(rc);
			goto out;
		}
		reqlog_sift(&hp, 0);
	}
	rc = 0;
	rb->over = reqlog_bytes(txn, dbi) + need > budget;
out:
	mdb_cursor_close(cur);
	free(hp.k);
	return rc;
}

static int
reqlog_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct reqlog_batch *rb = (struct reqlog_batch *)sop;
	MDB_dbi dbi = hk_store_dbi(st, HK_DB_REQLOG);
	struct reqlog_hdr h;
	const char *p = rb->data.b, *end = rb->data.b + rb->data.len;
	int rc;

	/* A reapplied operation starts over: its transaction was undone. */
	rb->trimmed = 0;
	rb->over = 0;
	/* Pages are at least half full: twice the bytes is room enough. */
	if ((rc = reqlog_budget(rb, st, txn, dbi, 2 * rb->data.len)) != 0)
		return rc;
	if (rb->over)
		return 0;
	while (p + sizeof(h) <= end) {
		memcpy(&h, p, sizeof(h));
		p += sizeof(h);
		if ((rc = hk_store_put(
		         txn, dbi, p, h.klen, p + h.klen, h.vlen, 0)) != 0)
			return rc;
		p += h.klen + h.vlen;
	}
	return 0;
}

static void
reqlog_done(struct hk_store_op *sop, int rc)
{
	struct reqlog_batch *rb = (struct reqlog_batch *)sop;

	if (rc != 0 || rb->over)
		reqlog_dropped += rb->n;
	if (rc == 0)
		reqlog_trimmed += rb->trimmed;
	hk_buf_free(&rb->data);
	free(rb);
}

static void
reqlog_flush(evutil_socket_t fd, short what, void *arg)
{
	struct reqlog_batch *rb = reqlog_open;

	(void)fd;
	(void)what;
	(void)arg;
	reqlog_open = NULL;
	if (rb == NULL)
		return;
	rb->op.so_apply = reqlog_apply;
	rb->op.so_done = reqlog_done;
	if (hk_store_submit(hd->hd_store, &rb->op) != 0)
		reqlog_done(&rb->op, HK_ESHUTDOWN);
}

void
hk_reqlog_add(const struct hk_reqlog *rl)
{
	static const struct timeval now = {0, 0};
	struct reqlog_batch *rb;
	struct reqlog_hdr h;
	char iso[HK_ISO_LEN], id[HK_ID_MAX], frac[4];
	int64_t ms = hk_now_ms(), us;
	size_t start, wlen = strlen(rl->rl_webhook);
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
	lim = reqlog_limit(rl->rl_webhook, 0);
	hk_id_at("rlg_", ms, id);
	us = rl->rl_latency_us < 0 ? 0 : rl->rl_latency_us;
	frac[0] = '.';
	frac[1] = (char)('0' + us / 100 % 10);
	frac[2] = (char)('0' + us / 10 % 10);
	frac[3] = (char)('0' + us % 10);
	start = rb->data.len;
	memset(&h, 0, sizeof(h));
	if (hk_buf_add(&rb->data, &h, sizeof(h)) ||
	    hk_buf_add(&rb->data, rl->rl_webhook, wlen) ||
	    hk_buf_adds(&rb->data, id) ||
	    hk_buf_adds(&rb->data, "{\"id\":\"") ||
	    hk_buf_adds(&rb->data, id) ||
	    hk_buf_adds(&rb->data, "\",\"at\":\"") ||
	    hk_buf_adds(&rb->data, hk_time_iso(ms, iso)) ||
	    hk_buf_adds(&rb->data, "\",\"status\":") ||
	    hk_buf_add_i64(&rb->data, rl->rl_status) ||
	    hk_buf_adds(&rb->data, ",\"error\":") ||
	    hk_buf_add_jsonstr(&rb->data, rl->rl_code) ||
	    hk_buf_adds(&rb->data, ",\"remoteAddr\":") ||
	    hk_buf_add_jsonstr(&rb->data, rl->rl_peer) ||
	    hk_buf_adds(&rb->data, ",\"bytes\":") ||
	    hk_buf_add_u64(&rb->data, rl->rl_bytes) ||
	    hk_buf_adds(&rb->data, ",\"latencyMs\":") ||
	    hk_buf_add_i64(&rb->data, us / 1000) ||
	    hk_buf_add(&rb->data, frac, 4) ||
	    hk_buf_adds(&rb->data, ",\"eventId\":") ||
	    hk_buf_add_jsonstr(&rb->data, rl->rl_event) ||
	    (lim != NULL && lim->suppressed > 0 &&
	        (hk_buf_adds(&rb->data, ",\"suppressed\":") ||
	            hk_buf_add_u64(&rb->data, lim->suppressed))) ||
	    hk_buf_addc(&rb->data, '}')) {
		/* Drop this entry only: cut it off again. */
		rb->data.len = start;
		reqlog_dropped++;
		return;
	}
	h.klen = (uint32_t)(wlen + strlen(id));
	h.vlen = (uint32_t)(rb->data.len - start - sizeof(h) - h.klen);
	memcpy(rb->data.b + start, &h, sizeof(h));
	rb->n++;
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
		hk_buf_free(&reqlog_open->data);
		free(reqlog_open);
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

/* GET /api/webhooks/{id}/logs?limit&after: newest first. */
void
hk_reqlog_list(struct evhttp_request *req, const struct hk_webhook *wh)
{
	char after[HK_ID_MAX] = "", key[2 * HK_ID_MAX], last[HK_ID_MAX] = "";
	struct hk_buf b = HK_BUF_INIT;
	size_t idlen = strlen(wh->wh_id);
	MDB_cursor *cur;
	MDB_val k, v;
	int limit, n = 0, rc, more = 0;

	if (hk_admin_page(req, &limit, after, sizeof(after)) != 0)
		return;
	if (after[0] != '\0' && !hk_id_valid("rlg_", after)) {
		hk_http_error(
		    req, 400, "bad_request", "after must be a log entry id");
		return;
	}
	/*
	 * Start just below the cursor, or just below the end of this
	 * webhook's range ("rlh" sorts after every "rlg_" key).
	 */
	n = snprintf(key, sizeof(key), "%s%s", wh->wh_id,
	    after[0] != '\0' ? after : "rlh");
	if ((rc = hk_admin_newest(
	         req, HK_DB_REQLOG, key, (size_t)n, &cur, &k, &v)) == -1)
		return;
	n = 0;
	hk_buf_adds(&b, "{\"data\":[");
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		if (k.mv_size <= idlen || k.mv_size - idlen >= HK_ID_MAX ||
		    memcmp(k.mv_data, wh->wh_id, idlen) != 0)
			break;
		if (n == limit) {
			more = 1;
			break;
		}
		memcpy(last, (char *)k.mv_data + idlen, k.mv_size - idlen);
		last[k.mv_size - idlen] = '\0';
		if (n++ > 0)
			hk_buf_addc(&b, ',');
		hk_buf_add(&b, v.mv_data, v.mv_size);
	}
	hk_admin_page_end(req, cur, &b, more ? last : NULL);
}
