/*
 * events.c: the admin API of events, /api/events: the list (GET, with
 * filters), one event with its deliveries (GET .../{id}), publishing
 * (POST), a webhook's test event (POST /api/webhooks/{id}/test) and the
 * 202/200 answer of an event's commit, which ingest gives too.
 *
 * Each handler judges the request, hands the event to the domain
 * (domain/event.c) and answers once it is durable or refused; the
 * request stays evhttp's until then. Reads go through the pager of
 * admin.c over the store's lists. Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "json.h"

void
hk_event_reply(struct evhttp_request *req, struct hk_event_op *eo, int rc)
{
	hk_event_reply_for(req, eo, rc, NULL);
}

void
hk_event_reply_for(struct evhttp_request *req, struct hk_event_op *eo, int rc,
    const char *name)
{
	struct hk_buf b = HK_BUF_INIT;
	const char *id = rc == HK_EDUP ? eo->eo_dup_id : eo->eo_id;

	if (rc != 0 && rc != HK_EDUP) {
		hk_http_unavailable(req, rc);
		return;
	}
	if (hk_buf_adds(&b,
	        rc == HK_EDUP ? "{\"status\":\"duplicate\""
	                      : "{\"status\":\"accepted\"") ||
	    hk_buf_adds(&b, ",\"eventId\":\"") || hk_buf_adds(&b, id) ||
	    hk_buf_adds(&b, "\",\"links\":{\"event\":\"/api/events/") ||
	    hk_buf_adds(&b, id) || hk_buf_addc(&b, '"') ||
	    (name != NULL && hk_status_link(&b, name, id)) ||
	    hk_buf_adds(&b, "}}\n")) {
		hk_buf_free(&b);
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	hk_http_reply(req, rc == HK_EDUP ? 200 : 202, &b);
	hk_buf_free(&b);
}

/* Publish and test: the request waits for the commit. */
static void
event_api_done(struct hk_event_op *eo, int rc)
{
	struct evhttp_request *req = eo->eo_arg;

	if (rc == 0)
		hd->hd_stats.s_accepted++;
	else if (rc == HK_EDUP)
		hd->hd_stats.s_duplicates++;
	hk_event_reply(req, eo, rc);
	hk_event_op_free(eo);
}

/* Submits one event on behalf of an admin request, which it answers. */
static void
event_api_submit(struct evhttp_request *req, const char *type,
    const struct hk_webhook *wh, const char *payload, size_t plen,
    const char *idem)
{
	int err;

	/* Stopping: still taken while the store does (the grace). */
	if ((err = hk_st_full()) != 0) {
		hk_http_unavailable(req, err);
		return;
	}
	if (hk_event_submit(type, wh != NULL ? wh->wh_id : NULL,
	        wh != NULL ? wh->wh_name : "api", payload, plen,
	        wh != NULL ? wh->wh_id : "api", idem, event_api_done, req,
	        &err) == NULL)
		hk_http_unavailable(req, err);
}

int
hk_event_body_raw(struct evhttp_request *req, const char *const *names,
    size_t n, struct hk_json_str *out)
{
	struct evbuffer *eb = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(eb), i;
	const char *p;

	for (i = 0; i < n; i++)
		out[i].p = NULL;
	if (len == 0)
		return 0;
	if ((p = (const char *)evbuffer_pullup(eb, -1)) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return -1;
	}
	if (hk_json_raw(p, len, names, n, out) != 0) {
		hk_http_error(
		    req, 400, "invalid_json", "the body is not valid JSON");
		return -1;
	}
	return 0;
}

/* POST /api/events: {event, payload, idempotencyKey?}. */
static void
event_publish(struct evhttp_request *req)
{
	static const char *const fields[] = {
	    "event", "payload", "idempotencyKey", NULL};
	char type[HOOKD_TYPE_MAX + 2];
	struct hk_json_str raw[2];
	const cJSON *idem;
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0 ||
	    hk_event_body_raw(req, fields, 2, raw) != 0)
		goto out;
	idem = cJSON_GetObjectItemCaseSensitive(j, "idempotencyKey");
	if (hk_event_type_raw(&raw[0], type, sizeof(type)) != 0) {
		hk_http_error(req, 400, "bad_request",
		    "event must be a string of " HOOKD_TYPE_RULE);
		goto out;
	}
	if (idem != NULL &&
	    (!cJSON_IsString(idem) || *idem->valuestring == '\0' ||
	        strlen(idem->valuestring) > HOOKD_IDEM_MAX)) {
		hk_http_error(req, 400, "bad_request",
		    "idempotencyKey must be a string of 1-%d characters",
		    HOOKD_IDEM_MAX);
		goto out;
	}
	/* The payload as sent: a number keeps its digits. */
	event_api_submit(req, type, NULL, raw[1].p != NULL ? raw[1].p : "{}",
	    raw[1].p != NULL ? raw[1].len : 2,
	    idem != NULL ? idem->valuestring : NULL);
out:
	cJSON_Delete(j);
}

/* POST /api/webhooks/{id}/test: a webhook.test event from WH. */
void
hk_event_test(struct evhttp_request *req, const struct hk_webhook *wh)
{
	static const char *const fields[] = {"event", "payload", NULL};
	char type[HOOKD_TYPE_MAX + 2] = "webhook.test";
	struct hk_json_str raw[2];
	cJSON *j;

	/* The same pipeline as the webhook's URL, which refuses it too. */
	if (!wh->wh_enabled) {
		hk_http_error(
		    req, 403, "webhook_disabled", "this webhook is disabled");
		return;
	}
	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0 ||
	    hk_event_body_raw(req, fields, 2, raw) != 0)
		goto out;
	if (raw[0].p != NULL &&
	    hk_event_type_raw(&raw[0], type, sizeof(type)) != 0) {
		hk_http_error(req, 400, "bad_request",
		    "event must be a string of " HOOKD_TYPE_RULE);
		goto out;
	}
	event_api_submit(req, type, wh,
	    raw[1].p != NULL ? raw[1].p : "{\"test\":true}",
	    raw[1].p != NULL ? raw[1].len : 13, NULL);
out:
	cJSON_Delete(j);
}

/* A page of events with its filters. */
struct event_page {
	struct hk_admin_pager pg;
	char type[HOOKD_TYPE_MAX + 2];
	char source[HK_ID_MAX + HOOKD_NAME_MAX];
	int64_t since_ms, until_ms;
};

static int
event_filter(const struct event_page *ep, const char *text, size_t len)
{
	const cJSON *t, *src, *w, *n;
	cJSON *h;
	int ok = 1;

	if (ep->type[0] == '\0' && ep->source[0] == '\0')
		return 1;
	if ((h = hk_event_head(text, len)) == NULL)
		return 0;
	t = cJSON_GetObjectItemCaseSensitive(h, "event");
	src = cJSON_GetObjectItemCaseSensitive(h, "source");
	w = cJSON_GetObjectItemCaseSensitive(src, "webhook");
	n = cJSON_GetObjectItemCaseSensitive(src, "name");
	if (ep->type[0] != '\0' &&
	    (!cJSON_IsString(t) || !hk_event_match(ep->type, t->valuestring)))
		ok = 0;
	if (ep->source[0] != '\0' &&
	    !(cJSON_IsString(w) && strcmp(w->valuestring, ep->source) == 0) &&
	    !(cJSON_IsString(n) && strcmp(n->valuestring, ep->source) == 0))
		ok = 0;
	cJSON_Delete(h);
	return ok;
}

static int
event_item(
    struct hk_admin_pager *pg, const char *id, const char *text, size_t len)
{
	struct event_page *ep = (struct event_page *)pg;

	int64_t at = hk_id_ms("evt_", id);

	if (ep->since_ms >= 0 && at < ep->since_ms) {
		pg->pg_rd.rd_more = 0;
		return -1;
	}
	if (ep->until_ms >= 0 && at >= ep->until_ms)
		return 0;
	if (!event_filter(ep, text, len))
		return 0;
	return hk_admin_pager_add(pg, text, len);
}

/* GET /api/events?limit&after&type&source&since&until, newest first. */
static void
event_list(struct evhttp_request *req)
{
	struct event_page *ep;

	if ((ep = hk_admin_pager(req, HK_SL_EVENTS, NULL, sizeof(*ep))) == NULL)
		return;
	if (hk_admin_query(req, "type", ep->type, sizeof(ep->type)) < 0 ||
	    hk_admin_query(req, "source", ep->source, sizeof(ep->source)) < 0) {
		hk_http_error(req, 400, "bad_request", "a filter is too long");
		free(ep);
		return;
	}
	if (hk_admin_window(req, &ep->since_ms, &ep->until_ms) != 0) {
		free(ep);
		return;
	}
	ep->pg.pg_item = event_item;
	hk_admin_pager_start(&ep->pg);
}

/* GET /api/events/{id}: the envelope, with its deliveries added. */
struct event_one {
	struct hk_st_read rd;
	struct evhttp_request *req;
	char id[HK_ID_MAX];
	struct hk_buf b;
};

static void
event_one_free(struct event_one *eo)
{
	hk_buf_free(&eo->b);
	free(eo);
}

static void
event_one_answer(struct event_one *eo, int rc)
{
	if (rc == 0 && hk_buf_adds(&eo->b, "}\n") != 0)
		rc = HK_ENOMEM;
	if (rc == HK_ENOTFOUND)
		hk_http_error(eo->req, 404, "not_found", "no event %s", eo->id);
	else if (rc == HK_EIO || rc == HK_EFULL)
		hk_http_error(
		    eo->req, 503, "unavailable", "cannot read the store");
	else if (rc != 0)
		hk_http_error(
		    eo->req, 500, "internal", "cannot read event %s", eo->id);
	else
		hk_http_reply(eo->req, 200, &eo->b);
	event_one_free(eo);
}

static void
event_one_deliveries(void *arg, int rc)
{
	event_one_answer(arg, rc);
}

static int
event_one_row(
    struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct event_one *eo = (struct event_one *)rd;

	(void)id;
	/* The envelope, with its deliveries added before the last brace. */
	if (len < 2 || hk_buf_add(&eo->b, text, len - 1) != 0 ||
	    hk_buf_adds(&eo->b, ",\"deliveries\":") != 0)
		eo->b.len = 0;
	return 1;
}

static void
event_one_done(struct hk_st_read *rd, int rc)
{
	struct event_one *eo = (struct event_one *)rd;

	if (rc == 0 && eo->b.len == 0)
		rc = HK_ENOMEM;
	if (rc != 0)
		event_one_answer(eo, rc);
	else
		hk_delivery_of_event(eo->id, &eo->b, event_one_deliveries, eo);
}

static void
event_show(struct evhttp_request *req, const char *id)
{
	struct event_one *eo;

	if (!hk_id_valid("evt_", id)) {
		hk_http_error(req, 404, "not_found", "no event %.80s", id);
		return;
	}
	if ((eo = calloc(1, sizeof(*eo))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	eo->req = req;
	snprintf(eo->id, sizeof(eo->id), "%s", id);
	eo->rd.rd_list = HK_SL_EVENTS;
	eo->rd.rd_row = event_one_row;
	eo->rd.rd_done = event_one_done;
	hk_st_get(&eo->rd, eo->id);
}

void
hk_event_route(struct evhttp_request *req, char **seg, int nseg)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);

	if (nseg == 2) {
		if (m == EVHTTP_REQ_GET)
			event_list(req);
		else if (m == EVHTTP_REQ_POST)
			event_publish(req);
		else
			hk_admin_405(req, "GET, POST");
	} else if (nseg == 3) {
		if (m == EVHTTP_REQ_GET)
			event_show(req, seg[2]);
		else
			hk_admin_405(req, "GET");
	} else if (nseg == 4 && strcmp(seg[3], "replay") == 0) {
		if (m == EVHTTP_REQ_POST)
			hk_delivery_replay(req, seg[2]);
		else
			hk_admin_405(req, "POST");
	} else
		hk_http_error(req, 404, "not_found", "no such endpoint");
}
