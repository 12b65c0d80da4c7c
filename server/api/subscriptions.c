/*
 * subscriptions.c: the admin API of subscriptions, /api/subscriptions:
 * the list and one subscription (GET), its changes (POST, PATCH, PUT,
 * DELETE, POST .../rotate-secret), its secrets (GET .../secret), a test
 * delivery (POST .../test), a recovery of its failed deliveries (POST
 * .../recover) and its figures (GET .../stats).
 *
 * Each handler judges the request, hands the change to the domain
 * (domain/sub.c) and answers from its result: the status codes,
 * messages and JSON of proto/admin.md. A change is answered once it is
 * durable; the request stays evhttp's until then. Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"

/*
 * Commands run only what the operator's own file declares (SPEC §11):
 * a body that sets one is refused here, whoever asks. 0, or -1 answered.
 */
static int
sub_no_command(struct evhttp_request *req, const cJSON *j)
{
	if (cJSON_GetObjectItemCaseSensitive(j, "command") == NULL)
		return 0;
	hk_http_error(req, 403, "commands_from_config_only",
	    "command subscriptions come only from the configuration file "
	    "(--config, with --allow-commands)");
	return -1;
}

/* A refusal of change C as its answer. */
static void
sub_refused(struct evhttp_request *req, const struct hk_sub_change *c, int rc)
{
	switch (rc) {
	case HK_ENOTFOUND:
		hk_http_error(
		    req, 404, "not_found", "no subscription %s", c->sc_id);
		return;
	case HK_EINVAL:
		hk_http_error(req, 400,
		    c->sc_target ? "target_not_allowed" : "bad_request", "%s",
		    c->sc_err);
		return;
	case HK_EEXIST:
		hk_http_error(req, 409, "conflict", "%s", c->sc_err);
		return;
	}
	if (!c->sc_stored && rc == HK_ENOMEM)
		hk_http_error(req, 500, "internal", "out of memory");
	else
		hk_http_unavailable(req, rc);
}

/* hk_sub_done_fn of every change: its answer. */
static void
sub_answer(const struct hk_sub_change *c, int rc)
{
	struct evhttp_request *req = c->sc_arg;
	cJSON *j;

	if (rc != 0) {
		sub_refused(req, c, rc);
		return;
	}
	if (c->sc_verb == HK_SUB_DELETE) {
		hk_stats_forget(c->sc_id);
		hk_http_reply(req, 204, NULL);
		return;
	}
	/* The secret is shown when it is new: a create, a rotation. */
	if ((j = hk_sub_public(c->sc_sub)) != NULL &&
	    (c->sc_verb == HK_SUB_CREATE || c->sc_verb == HK_SUB_ROTATE))
		cJSON_AddStringToObject(j, "secret", c->sc_sub->sb_secret);
	if (j == NULL)
		hk_http_error(req, 500, "internal", "out of memory");
	else
		hk_http_json(req, c->sc_verb == HK_SUB_CREATE ? 201 : 200, j);
}

/* POST /api/subscriptions. */
static void
sub_create(struct evhttp_request *req)
{
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (sub_no_command(req, j) != 0 ||
	    hk_admin_managed(req, j, 0, NULL) != 0) {
		cJSON_Delete(j);
		return;
	}
	hk_sub_create(j, sub_answer, req);
}

/* PATCH (merge) or PUT (replace) /api/subscriptions/{id}. */
static void
sub_change(struct evhttp_request *req, const struct hk_sub *s, int put)
{
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (sub_no_command(req, j) != 0 ||
	    hk_admin_managed(req, j, s->sb_managed, put ? NULL : "active") !=
	        0) {
		cJSON_Delete(j);
		return;
	}
	hk_sub_update(s, j, put, sub_answer, req);
}

/* POST /api/subscriptions/{id}/rotate-secret. */
static void
sub_rotate(struct evhttp_request *req, const struct hk_sub *s)
{
	static const char *const fields[] = {"secret", NULL};
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0 ||
	    hk_admin_managed(req, NULL, s->sb_managed, NULL) != 0) {
		cJSON_Delete(j);
		return;
	}
	hk_sub_rotate(s, j, sub_answer, req);
}

/* GET /api/subscriptions/{id}/secret. */
static void
sub_secret(struct evhttp_request *req, const struct hk_sub *s)
{
	char iso[HK_ISO_LEN];
	cJSON *j = cJSON_CreateObject();

	if (j == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	cJSON_AddStringToObject(j, "secret", s->sb_secret);
	if (s->sb_prev_secret != NULL && s->sb_prev_until > hk_now_ms()) {
		cJSON_AddStringToObject(j, "previousSecret", s->sb_prev_secret);
		cJSON_AddStringToObject(
		    j, "previousExpiresAt", hk_time_iso(s->sb_prev_until, iso));
	}
	hk_http_json(req, 200, j);
}

/* hk_admin_list over the cache: newest (highest id) first. */
static void *
sub_older(void *p)
{
	return p != NULL ? TAILQ_PREV((struct hk_sub *)p, hk_sub_list, sb_entry)
	                 : TAILQ_LAST(hk_sub_all(), hk_sub_list);
}

static const char *
sub_id_of(const void *p)
{
	return ((const struct hk_sub *)p)->sb_id;
}

static cJSON *
sub_pub(const void *p)
{
	return hk_sub_public(p);
}

/* The routes under /api/subscriptions/{id}/ (SEG[3]). */
static void
sub_route_sub(struct evhttp_request *req, enum evhttp_cmd_type m,
    const char *what, struct hk_sub *s)
{
	if (strcmp(what, "secret") == 0) {
		if (m == EVHTTP_REQ_GET)
			sub_secret(req, s);
		else
			hk_admin_405(req, "GET");
	} else if (strcmp(what, "rotate-secret") == 0) {
		if (m == EVHTTP_REQ_POST)
			sub_rotate(req, s);
		else
			hk_admin_405(req, "POST");
	} else if (strcmp(what, "test") == 0) {
		if (m == EVHTTP_REQ_POST && s->sb_command)
			/* A test request is a POST to a URL; a command has none. */
			hk_http_error(req, 400, "bad_request",
			    "a command subscription has no URL to test: "
			    "publish an event it wants (POST /api/events)");
		else if (m == EVHTTP_REQ_POST)
			hk_delivery_test_sub(req, s);
		else
			hk_admin_405(req, "POST");
	} else if (strcmp(what, "stats") == 0) {
		if (m == EVHTTP_REQ_GET)
			hk_stats_entity(req, s->sb_id);
		else
			hk_admin_405(req, "GET");
	} else if (strcmp(what, "recover") == 0) {
		if (m == EVHTTP_REQ_POST)
			hk_delivery_recover(req, s);
		else
			hk_admin_405(req, "POST");
	} else
		hk_http_error(req, 404, "not_found", "no such endpoint");
}

void
hk_sub_route(struct evhttp_request *req, char **seg, int nseg)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct hk_sub *s;

	if (nseg == 2) {
		if (m == EVHTTP_REQ_GET)
			hk_admin_list(req, sub_older, sub_id_of, sub_pub);
		else if (m == EVHTTP_REQ_POST)
			sub_create(req);
		else
			hk_admin_405(req, "GET, POST");
		return;
	}
	if ((s = hk_sub_find_any(seg[2])) == NULL) {
		hk_http_error(
		    req, 404, "not_found", "no subscription %.80s", seg[2]);
		return;
	}
	if (nseg == 3) {
		if (m == EVHTTP_REQ_GET)
			hk_http_json(req, 200, hk_sub_public(s));
		else if (m == EVHTTP_REQ_PATCH || m == EVHTTP_REQ_PUT)
			sub_change(req, s, m == EVHTTP_REQ_PUT);
		else if (m == EVHTTP_REQ_DELETE) {
			if (hk_admin_managed(req, NULL, s->sb_managed, NULL) ==
			    0)
				hk_sub_delete(s, sub_answer, req);
		} else
			hk_admin_405(req, "GET, PATCH, PUT, DELETE");
		return;
	}
	if (nseg != 4) {
		hk_http_error(req, 404, "not_found", "no such endpoint");
		return;
	}
	sub_route_sub(req, m, seg[3], s);
}
