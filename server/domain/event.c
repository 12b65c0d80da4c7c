/*
 * event.c: the commit of an event (one HK_ST_EVENT, store.h): its
 * envelope, its idempotency key and a delivery to each subscription it
 * matches, durable together or not at all; and the envelope's helpers
 * (its head, type patterns, type checks); still, until they move, the
 * handlers of /api/events.
 *
 * A key is remembered for --retention: after that a repeat creates a new
 * event. The operation owns copies of everything it points to, from
 * hk_event_submit() until hk_event_op_free(). Loop thread only; the store
 * applies the operation on its writer thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "clock.h"
#include "env.h"
#include "hdr.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "json.h"

/* Who hears of committed events (the console's stream). */
static void (*event_watcher)(const char *env, size_t len);

void
hk_event_watch(void (*fn)(const char *env, size_t len))
{
	event_watcher = fn;
}

/* so_done: the event is durable (or refused); its caller hears of it. */
static void
event_done(struct hk_st_op *op, int rc)
{
	struct hk_event_op *eo = (struct hk_event_op *)(void *)op;

	if (rc == HK_EDUP)
		memcpy(eo->eo_dup_id, eo->eo_ev.ev_dup, HK_ID_MAX);
	if (rc == 0 && eo->eo_ev.ev_nsubs > 0)
		hk_engine_kick();
	if (rc == 0 && event_watcher != NULL)
		event_watcher(eo->eo_env.b, eo->eo_env.len);
	if (eo->eo_done != NULL)
		eo->eo_done(eo, rc);
	else {
		if (rc != 0 && rc != HK_EDUP)
			log_error("event_commit", "event=%s error=%s",
			    eo->eo_id, hk_logq(hk_strerror(rc)));
		hk_event_op_free(eo);
	}
}

/* The active subscriptions that want this event, for its commit. */
static int
event_fanout(struct hk_event_op *eo, const char *type, const char *source)
{
	struct hk_st_event *e = &eo->eo_ev;
	struct hk_sub *s;
	size_t n = 0;

	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
		if (hk_sub_matches(s, type, source))
			n++;
	if (n == 0)
		return 0;
	e->ev_subs = calloc(n, sizeof(*e->ev_subs));
	eo->eo_sub_max = calloc(n, sizeof(*eo->eo_sub_max));
	if (e->ev_subs == NULL || eo->eo_sub_max == NULL)
		return HK_ENOMEM;
	e->ev_max = eo->eo_sub_max;
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
		if (e->ev_nsubs < n && hk_sub_matches(s, type, source)) {
			memcpy(e->ev_subs[e->ev_nsubs], s->sb_id, HK_ID_MAX);
			eo->eo_sub_max[e->ev_nsubs++] = s->sb_max_attempts;
		}
	return 0;
}

/* Frees EO and everything it owns; NULL is a no-op. */
void
hk_event_op_free(struct hk_event_op *eo)
{
	if (eo == NULL)
		return;
	free(eo->eo_idem);
	free(eo->eo_ev.ev_subs);
	free(eo->eo_sub_max);
	hk_buf_free(&eo->eo_env);
	free(eo);
}

/* The idempotency key SCOPE '\0' IDEM, owned by EO. 0 or HK_ENOMEM. */
static int
event_idem(struct hk_event_op *eo, const char *scope, const char *idem)
{
	size_t slen = strlen(scope), klen = strlen(idem);

	if ((eo->eo_idem = malloc(slen + 1 + klen)) == NULL)
		return HK_ENOMEM;
	memcpy(eo->eo_idem, scope, slen + 1);
	memcpy(eo->eo_idem + slen + 1, idem, klen);
	eo->eo_ev.ev_idem = eo->eo_idem;
	eo->eo_ev.ev_idem_len = slen + 1 + klen;
	return 0;
}

struct hk_event_op *
hk_event_submit(const char *type, const char *source, const char *name,
    const char *payload, size_t plen, const char *scope, const char *idem,
    hk_event_done_fn done, void *arg, int *err)
{
	struct hk_event_op *eo;
	struct hk_st_event *e;
	struct hk_env env;

	if ((eo = calloc(1, sizeof(*eo))) == NULL) {
		*err = HK_ENOMEM;
		return NULL;
	}
	e = &eo->eo_ev;
	e->ev_ms = hk_now_ms();
	hk_id_at("evt_", e->ev_ms, eo->eo_id);
	memcpy(e->ev_id, eo->eo_id, HK_ID_MAX);
	env.ev_id = eo->eo_id;
	env.ev_type = type;
	env.ev_ms = e->ev_ms;
	env.ev_webhook = source;
	env.ev_name = name;
	env.ev_payload = payload;
	env.ev_payload_len = plen;
	if (hk_env_build(&eo->eo_env, &env) != 0 ||
	    event_fanout(eo, type, source) != 0 ||
	    (idem != NULL && event_idem(eo, scope, idem) != 0))
		goto nomem;
	e->ev_env = eo->eo_env.b;
	e->ev_envlen = eo->eo_env.len;
	e->ev_idem_ttl_ms = hd->hd_conf.cf_retention_ms;
	e->ev_op.so_kind = HK_ST_EVENT;
	e->ev_op.so_done = event_done;
	e->ev_arg = eo;
	eo->eo_done = done;
	eo->eo_arg = arg;
	if ((*err = hk_st_submit(&e->ev_op)) != 0) {
		hk_event_op_free(eo);
		return NULL;
	}
	return eo;
nomem:
	hk_event_op_free(eo);
	*err = HK_ENOMEM;
	return NULL;
}

/*
 * An event type goes out in a header line: only visible ASCII, so no
 * byte from a sender can split the request at a receiver (proto/http.md).
 */
int
hk_event_type_ok(const char *t)
{
	size_t n = strlen(t);

	return n <= HOOKD_TYPE_MAX && hk_hdr_visible(t, n);
}

int
hk_event_type_raw(const struct hk_json_str *raw, char *out, size_t len)
{
	struct hk_json_str s;
	long n;

	if (raw->p == NULL || raw->kind != HK_JSON_STRING)
		return -1;
	s.p = raw->p + 1;
	s.len = raw->len - 2;
	s.kind = HK_JSON_STRING;
	/* A \u0000 would cut the C string: what follows is never checked. */
	if ((n = hk_json_unescape(&s, out, len)) < 0 ||
	    (size_t)n != strlen(out) || !hk_event_type_ok(out))
		return -1;
	return 0;
}

/*
 * The members before the payload of a stored envelope, parsed. The
 * payload is the last member, and the text ,"payload": cannot occur
 * inside the strings before it (their quotes are escaped), so the head
 * is cut there and closed.
 */
cJSON *
hk_event_head(const char *env, size_t len)
{
	static const char mark[] = ",\"payload\":";
	char *cut, *tmp;
	cJSON *j;
	size_t n;

	cut = memmem(env, len, mark, sizeof(mark) - 1);
	if (cut == NULL)
		return NULL;
	n = (size_t)(cut - env);
	if ((tmp = malloc(n + 2)) == NULL)
		return NULL;
	memcpy(tmp, env, n);
	tmp[n] = '}';
	tmp[n + 1] = '\0';
	j = cJSON_Parse(tmp);
	free(tmp);
	return j;
}

/* Whether TYPE matches PATTERN: exact, "prefix.*" or "*". */
int
hk_event_match(const char *pattern, const char *type)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, type, n - 1) == 0;
	return strcmp(pattern, type) == 0;
}

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
	if (hk_st_full()) {
		hk_http_unavailable(req, HK_EFULL);
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
	int64_t since_ms;
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

	if (ep->since_ms >= 0 && hk_id_ms("evt_", id) < ep->since_ms) {
		pg->pg_rd.rd_more = 0;
		return -1;
	}
	if (!event_filter(ep, text, len))
		return 0;
	return hk_admin_pager_add(pg, text, len);
}

/* GET /api/events?limit&after&type&source&since, newest first. */
static void
event_list(struct evhttp_request *req)
{
	struct event_page *ep;
	char since[64];

	if ((ep = hk_admin_pager(req, HK_SL_EVENTS, NULL, sizeof(*ep))) == NULL)
		return;
	ep->since_ms = -1;
	if (hk_admin_query(req, "type", ep->type, sizeof(ep->type)) < 0 ||
	    hk_admin_query(req, "source", ep->source, sizeof(ep->source)) < 0 ||
	    hk_admin_query(req, "since", since, sizeof(since)) < 0) {
		hk_http_error(req, 400, "bad_request", "a filter is too long");
		free(ep);
		return;
	}
	if (since[0] != '\0' && hk_time_parse(since, &ep->since_ms) != 0) {
		hk_http_error(req, 400, "bad_request",
		    "since must be an ISO 8601 time or seconds since the epoch");
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
