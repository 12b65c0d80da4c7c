/*
 * webhooks.c: the admin API of incoming webhooks, /api/webhooks: the
 * list and one webhook (GET), its changes (POST, PATCH, DELETE, POST
 * .../regenerate), its request log (GET .../logs), a test event (POST
 * .../test) and its figures (GET .../stats).
 *
 * Each handler judges the request, hands the change to the domain
 * (domain/webhook.c) and answers from its result: the status codes,
 * messages and JSON of proto/admin.md. A change is answered once it is
 * durable; the request stays evhttp's until then. Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "hookd.h"
#include "id.h"

/* The listener must let the largest body any webhook accepts through. */
static void
wh_ceiling_update(void)
{
	if (hd->hd_public.ls_http != NULL)
		evhttp_set_max_body_size(
		    hd->hd_public.ls_http, hk_webhook_body_ceiling());
}

/* A refusal of change C as its answer. */
static void
wh_refused(
    struct evhttp_request *req, const struct hk_webhook_change *c, int rc)
{
	switch (rc) {
	case HK_EEXIST:
		hk_http_error(req, 409, "conflict", "a webhook named %s exists",
		    c->wc_name);
		return;
	case HK_ENOTFOUND:
		hk_http_error(req, 404, "not_found", "no webhook %s", c->wc_id);
		return;
	case HK_EINVAL:
		hk_http_error(req, 400, "bad_request", "%s", c->wc_err);
		return;
	}
	if (!c->wc_stored) {
		if (rc == HK_ENOMEM)
			hk_http_error(req, 500, "internal", "out of memory");
		else
			hk_http_error(
			    req, 503, "unavailable", "%s", hk_strerror(rc));
	} else
		hk_http_unavailable(req, rc); /* with Retry-After, as all */
}

/* hk_webhook_done_fn of every change: its answer. */
static void
wh_answer(const struct hk_webhook_change *c, int rc)
{
	struct evhttp_request *req = c->wc_arg;
	struct hk_buf b = HK_BUF_INIT;
	cJSON *j;

	if (rc != 0) {
		wh_refused(req, c, rc);
		return;
	}
	wh_ceiling_update();
	if (c->wc_verb == HK_WH_DELETE) {
		hk_stats_forget(c->wc_id);
		hk_http_reply(req, 204, NULL);
		return;
	}
	j = hk_webhook_public(c->wc_wh);
	if (j != NULL &&
	    (c->wc_verb == HK_WH_CREATE || c->wc_verb == HK_WH_REGENERATE)) {
		hk_buf_printf(
		    &b, "%s/hooks/%s", hd->hd_public_url, c->wc_token);
		cJSON_AddStringToObject(j, "token", c->wc_token);
		cJSON_AddStringToObject(j, "hookUrl", b.b != NULL ? b.b : "");
		cJSON_AddStringToObject(j, "secret", c->wc_wh->wh_secret);
		hk_buf_free(&b);
	}
	if (j == NULL)
		hk_http_error(req, 500, "internal", "out of memory");
	else
		hk_http_json(req, c->wc_verb == HK_WH_CREATE ? 201 : 200, j);
}

/* POST /api/webhooks. */
static void
wh_create(struct evhttp_request *req)
{
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_managed(req, j, 0, NULL) != 0) {
		cJSON_Delete(j);
		return;
	}
	hk_webhook_create(j, wh_answer, req);
}

/* PATCH /api/webhooks/{id}. */
static void
wh_patch(struct evhttp_request *req, const struct hk_webhook *wh)
{
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_managed(req, j, wh->wh_managed, "enabled") != 0) {
		cJSON_Delete(j);
		return;
	}
	hk_webhook_update(wh, j, wh_answer, req);
}

/* A log entry is its stored JSON, as it is. */
static int
wh_log_item(
    struct hk_admin_pager *pg, const char *id, const char *text, size_t len)
{
	(void)id;
	return hk_admin_pager_add(pg, text, len);
}

/* GET /api/webhooks/{id}/logs?limit&after: newest first. */
static void
wh_logs(struct evhttp_request *req, const struct hk_webhook *wh)
{
	struct hk_admin_pager *pg;

	if ((pg = hk_admin_pager(req, HK_SL_LOG, wh->wh_id, sizeof(*pg))) ==
	    NULL)
		return;
	if (pg->pg_after[0] != '\0' && !hk_id_valid("rlg_", pg->pg_after)) {
		hk_http_error(
		    req, 400, "bad_request", "after must be a log entry id");
		free(pg);
		return;
	}
	pg->pg_item = wh_log_item;
	hk_admin_pager_start(pg);
}

/* hk_admin_list over the cache: newest (highest id) first. */
static void *
wh_older(void *p)
{
	return p != NULL
	    ? TAILQ_PREV((struct hk_webhook *)p, hk_webhook_list, wh_entry)
	    : TAILQ_LAST(hk_webhook_all(), hk_webhook_list);
}

static const char *
wh_id_of(const void *p)
{
	return ((const struct hk_webhook *)p)->wh_id;
}

static cJSON *
wh_pub(const void *p)
{
	return hk_webhook_public(p);
}

void
hk_webhook_route(struct evhttp_request *req, char **seg, int nseg)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct hk_webhook *wh;

	if (nseg == 2) {
		if (m == EVHTTP_REQ_GET)
			hk_admin_list(req, wh_older, wh_id_of, wh_pub);
		else if (m == EVHTTP_REQ_POST)
			wh_create(req);
		else
			hk_admin_405(req, "GET, POST");
		return;
	}
	if ((wh = hk_webhook_find(seg[2])) == NULL) {
		hk_http_error(
		    req, 404, "not_found", "no webhook %.80s", seg[2]);
		return;
	}
	if (nseg == 3) {
		if (m == EVHTTP_REQ_GET)
			hk_http_json(req, 200, hk_webhook_public(wh));
		else if (m == EVHTTP_REQ_PATCH)
			wh_patch(req, wh);
		else if (m == EVHTTP_REQ_DELETE) {
			if (hk_admin_managed(req, NULL, wh->wh_managed, NULL) ==
			    0)
				hk_webhook_delete(wh, wh_answer, req);
		} else
			hk_admin_405(req, "GET, PATCH, DELETE");
		return;
	}
	if (nseg == 4 && strcmp(seg[3], "regenerate") == 0) {
		if (m != EVHTTP_REQ_POST)
			hk_admin_405(req, "POST");
		else if (hk_admin_managed(req, NULL, wh->wh_managed, NULL) == 0)
			hk_webhook_regenerate(wh, wh_answer, req);
	} else if (nseg == 4 && strcmp(seg[3], "logs") == 0) {
		if (m == EVHTTP_REQ_GET)
			wh_logs(req, wh);
		else
			hk_admin_405(req, "GET");
	} else if (nseg == 4 && strcmp(seg[3], "test") == 0) {
		if (m == EVHTTP_REQ_POST)
			hk_event_test(req, wh);
		else
			hk_admin_405(req, "POST");
	} else if (nseg == 4 && strcmp(seg[3], "stats") == 0) {
		if (m == EVHTTP_REQ_GET)
			hk_stats_entity(req, wh->wh_id);
		else
			hk_admin_405(req, "GET");
	} else
		hk_http_error(req, 404, "not_found", "no such endpoint");
}
