/*
 * reqlog.c: each webhook's request log.
 *
 * One record per request to a webhook, accepted or refused, keyed by the
 * webhook id followed by a time-sortable log id (HK_DB_REQLOG), so one
 * webhook's log is one key range in time order. Entries are written after
 * the answer, as their own store operations that ride along with the next
 * batch: a log entry never delays an answer, and one that cannot be
 * written (the map is full) is dropped and counted, not retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"

struct reqlog_op {
	struct hk_store_op op;
	size_t klen;
	size_t vlen;
	char data[]; /* key, then value */
};

static uint64_t reqlog_dropped;

static int
reqlog_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct reqlog_op *o = (struct reqlog_op *)sop;

	return hk_store_put(txn, hk_store_dbi(st, HK_DB_REQLOG), o->data,
	    o->klen, o->data + o->klen, o->vlen, 0);
}

static void
reqlog_done(struct hk_store_op *sop, int rc)
{
	if (rc != 0)
		reqlog_dropped++;
	free(sop);
}

void
hk_reqlog_add(const struct hk_reqlog *rl)
{
	struct hk_buf b = HK_BUF_INIT;
	struct reqlog_op *o;
	char iso[HK_ISO_LEN], id[HK_ID_MAX];
	int64_t ms = hk_now_ms();
	size_t klen;

	if (hd->hd_stopping || hk_store_full(hd->hd_store)) {
		reqlog_dropped++;
		return;
	}
	hk_id_at("rlg_", ms, id);
	if (hk_buf_adds(&b, "{\"id\":") || hk_buf_add_jsonstr(&b, id) ||
	    hk_buf_printf(&b, ",\"at\":\"%s\",\"status\":%d,\"error\":",
	    hk_time_iso(ms, iso), rl->rl_status) ||
	    hk_buf_add_jsonstr(&b, rl->rl_code) ||
	    hk_buf_adds(&b, ",\"remoteAddr\":") ||
	    hk_buf_add_jsonstr(&b, rl->rl_peer) ||
	    hk_buf_printf(&b, ",\"bytes\":%zu,\"latencyMs\":%.3f,\"eventId\":",
	    rl->rl_bytes, (double)rl->rl_latency_us / 1000.0) ||
	    hk_buf_add_jsonstr(&b, rl->rl_event) || hk_buf_addc(&b, '}'))
		goto drop;
	klen = strlen(rl->rl_webhook) + strlen(id);
	if ((o = malloc(sizeof(*o) + klen + b.len)) == NULL)
		goto drop;
	memset(&o->op, 0, sizeof(o->op));
	o->op.so_apply = reqlog_apply;
	o->op.so_done = reqlog_done;
	o->klen = klen;
	o->vlen = b.len;
	memcpy(o->data, rl->rl_webhook, strlen(rl->rl_webhook));
	memcpy(o->data + strlen(rl->rl_webhook), id, strlen(id));
	memcpy(o->data + klen, b.b, b.len);
	hk_buf_free(&b);
	if (hk_store_submit(hd->hd_store, &o->op) != 0) {
		free(o);
		reqlog_dropped++;
	}
	return;
drop:
	hk_buf_free(&b);
	reqlog_dropped++;
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
	MDB_txn *txn;
	MDB_val k, v;
	int limit, n = 0, rc, more = 0;

	if (hk_admin_page(req, &limit, after, sizeof(after)) != 0)
		return;
	if (after[0] != '\0' && !hk_id_valid("rlg_", after)) {
		hk_http_error(req, 400, "bad_request", "after must be a log "
		    "entry id");
		return;
	}
	if (hk_store_rbegin(hd->hd_store, &txn) != 0 ||
	    mdb_cursor_open(txn, hk_store_dbi(hd->hd_store, HK_DB_REQLOG),
	    &cur) != 0) {
		hk_store_rend(hd->hd_store);
		hk_http_error(req, 503, "unavailable", "cannot read the store");
		return;
	}
	/*
	 * Start just below the cursor, or just below the end of this
	 * webhook's range ("rlh" sorts after every "rlg_" key).
	 */
	k.mv_size = (size_t)snprintf(key, sizeof(key), "%s%s", wh->wh_id,
	    after[0] != '\0' ? after : "rlh");
	k.mv_data = key;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) :
	    mdb_cursor_get(cur, &k, &v, MDB_LAST);
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
	mdb_cursor_close(cur);
	hk_store_rend(hd->hd_store);
	hk_buf_adds(&b, "],\"next\":");
	hk_buf_add_jsonstr(&b, more ? last : NULL);
	if (hk_buf_adds(&b, "}\n") != 0)
		hk_http_error(req, 500, "internal", "out of memory");
	else
		hk_http_reply(req, 200, &b);
	hk_buf_free(&b);
}
