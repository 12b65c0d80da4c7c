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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"

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
};

struct reqlog_hdr {
	uint32_t klen;
	uint32_t vlen;
};

static uint64_t reqlog_dropped;
static struct reqlog_batch *reqlog_open; /* gathering, not yet submitted */
static struct event *reqlog_flush_ev;

static int
reqlog_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct reqlog_batch *rb = (struct reqlog_batch *)sop;
	MDB_dbi dbi = hk_store_dbi(st, HK_DB_REQLOG);
	struct reqlog_hdr h;
	const char *p = rb->data.b, *end = rb->data.b + rb->data.len;
	int rc;

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

	if (rc != 0)
		reqlog_dropped += rb->n;
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

	hk_stats_ingest(
	    rl->rl_webhook, rl->rl_status, rl->rl_code, rl->rl_latency_us);
	if (hd->hd_stopping || hk_store_full(hd->hd_store)) {
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
}

void
hk_reqlog_free(void)
{
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
		hk_http_error(req, 400, "bad_request",
		    "after must be a log "
		    "entry id");
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
