/*
 * deliveries.c: the deliveries API (proto/admin.md): lists and details
 * read through the store, retry, recover and replay as one store
 * operation each (HK_ST_DELIVERIES), and the one-off test requests
 * (POST /api/test-delivery, a subscription's test), sent by the sender
 * and answered here. A delivery whose attempt is out shows in_flight
 * (the engine says which). Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine/sender.h"
#include "env.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "json.h"
#include "secret.h"
#include "store/store.h"

#define DLV_RECOVER_MAX 10000 /* deliveries one recover call touches */

/* ---- one-off test requests ---- */

struct test_req {
	struct hk_send send; /* first: the sender's callback gets it */
	struct evhttp_request *req;
};

/* A test request is over: answer {success, statusCode, latencyMs, message}. */
static void
test_done(struct hk_send *r)
{
	struct test_req *t = (struct test_req *)r;
	struct hk_buf b = HK_BUF_INIT;
	int ok = hk_send_ok(r);

	hk_buf_printf(
	    &b, "{\"success\":%s,\"statusCode\":", ok ? "true" : "false");
	if (r->ss_status > 0)
		hk_buf_printf(&b, "%ld", r->ss_status);
	else
		hk_buf_adds(&b, "null");
	hk_buf_printf(&b,
	    ",\"latencyMs\":%lld,\"reason\":\"%s\","
	    "\"message\":",
	    (long long)r->ss_latency_ms, r->ss_reason);
	hk_buf_add_jsonstr(&b, ok ? "delivered" : r->ss_error);
	hk_buf_adds(&b, "}\n");
	hk_http_reply(t->req, 200, &b);
	hk_buf_free(&b);
	hk_send_clear(r);
	free(t);
}

/* Starts a signed test request to URL; answers REQ when it ends. */
static void
test_start(struct evhttp_request *req, const char *url, const char *type,
    const char *payload, size_t plen, const char *secret, const char *prev,
    int64_t timeout_ms, const cJSON *headers)
{
	struct test_req *t;
	struct hk_env env;
	int rc = HK_ENOMEM;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	t->req = req;
	t->send.ss_attempt = 1;
	t->send.ss_done = test_done;
	hk_id_new("evt_", t->send.ss_evt);
	hk_id_new("dlv_", t->send.ss_dlv);
	snprintf(t->send.ss_type, sizeof(t->send.ss_type), "%s", type);
	env.ev_id = t->send.ss_evt;
	env.ev_type = type;
	env.ev_ms = hk_now_ms();
	env.ev_webhook = NULL;
	env.ev_name = "hookd";
	env.ev_payload = payload;
	env.ev_payload_len = plen;
	if (hk_env_build(&t->send.ss_body, &env) == 0)
		rc = hk_send_sign(&t->send, secret, prev, headers);
	if (rc == HK_EINVAL) {
		/* Not sent: answered as a failed attempt would be. */
		test_done(&t->send);
		return;
	}
	if (rc != 0 || hk_send_start(&t->send, url, timeout_ms) != 0) {
		hk_http_error(req, 500, "internal", "cannot start the request");
		hk_send_clear(&t->send);
		free(t);
	}
}

void
hk_delivery_test_sub(struct evhttp_request *req, const struct hk_sub *s)
{
	test_start(req, s->sb_url, "webhook.test", "{\"test\":true}", 13,
	    s->sb_secret,
	    s->sb_prev_secret != NULL && s->sb_prev_until > hk_now_ms()
	        ? s->sb_prev_secret
	        : NULL,
	    s->sb_timeout_ms, s->sb_headers);
}

/* POST /api/test-delivery: {url, event, payload, secret?}. */
void
hk_delivery_test(struct evhttp_request *req)
{
	static const char *const fields[] = {
	    "url", "event", "payload", "secret", NULL};
	static const char *const raws[] = {"event", "payload"};
	char host[256], err[256], sec[HK_SECRET_LEN];
	char type[HOOKD_TYPE_MAX + 2] = "webhook.test";
	struct hk_json_str raw[2];
	const cJSON *url, *secret;
	const char *code;
	struct hk_buf b = HK_BUF_INIT;
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0 ||
	    hk_event_body_raw(req, raws, 2, raw) != 0)
		goto out;
	url = cJSON_GetObjectItemCaseSensitive(j, "url");
	secret = cJSON_GetObjectItemCaseSensitive(j, "secret");
	/* The type goes out in a header line: proto/http.md's rule, checked. */
	if (!cJSON_IsString(url) ||
	    (raw[0].p != NULL &&
	        hk_event_type_raw(&raw[0], type, sizeof(type)) != 0) ||
	    (secret != NULL &&
	        (!cJSON_IsString(secret) || *secret->valuestring == '\0' ||
	            strlen(secret->valuestring) > 200))) {
		hk_http_error(req, 400, "bad_request",
		    "url (string), event (" HOOKD_TYPE_RULE
		    ") and secret (1-200 characters) are expected");
		goto out;
	}
	if (hk_sub_check_url(url->valuestring, host, sizeof(host), &code, err,
	        sizeof(err)) != 0) {
		if (strcmp(code, "target_not_allowed") != 0) {
			hk_http_error(req, 400, code, "%s", err);
			goto out;
		}
		/* A refused target is an answer, not a bad request. */
		hk_buf_adds(&b,
		    "{\"success\":false,\"statusCode\":null,"
		    "\"latencyMs\":0,\"reason\":\"target_not_allowed\","
		    "\"message\":");
		hk_buf_add_jsonstr(&b, err);
		hk_buf_adds(&b, "}\n");
		hk_http_reply(req, 200, &b);
		hk_buf_free(&b);
		goto out;
	}
	if (secret == NULL)
		hk_secret_new(sec);
	/* The payload as sent: a number keeps its digits. */
	test_start(req, url->valuestring, type,
	    raw[1].p != NULL ? raw[1].p : "{}",
	    raw[1].p != NULL ? raw[1].len : 2,
	    secret != NULL ? secret->valuestring : sec, NULL, 10000, NULL);
out:
	cJSON_Delete(j);
}

/* ---- the deliveries API ---- */

int
hk_delivery_public(struct hk_buf *b, const char *text, size_t len, int open)
{
	struct hk_delivery d;

	if (hk_delivery_parse(text, len, &d) != 0)
		return HK_EINVAL;
	if (d.state == HK_DS_PENDING && hk_engine_in_flight(d.id))
		d.state = HK_DS_IN_FLIGHT;
	return hk_delivery_print(
	    b, &d, HK_DLV_PUBLIC | (open ? HK_DLV_OPEN : 0));
}

/* A read of an event's deliveries with their attempts, as JSON. */
struct dlv_of_event {
	struct hk_st_read rd;
	struct hk_buf *b;
	void (*done)(void *, int);
	void *arg;
	size_t n; /* deliveries written */
	int nattempts; /* of the last one */
	int rc;
};

/* Closes the last delivery's attempts and object. */
static int
dlv_of_event_close(struct dlv_of_event *oe)
{
	return oe->n > 0 && hk_buf_adds(oe->b, "]}") != 0 ? HK_ENOMEM : 0;
}

static int
dlv_of_event_row(
    struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct dlv_of_event *oe = (struct dlv_of_event *)rd;
	int rc;

	(void)id;
	if ((rc = dlv_of_event_close(oe)) != 0 ||
	    (oe->n > 0 && hk_buf_addc(oe->b, ',') != 0)) {
		oe->rc = HK_ENOMEM;
		return -1;
	}
	if ((rc = hk_delivery_public(oe->b, text, len, 1)) != 0) {
		oe->rc = rc;
		return -1;
	}
	oe->n++;
	oe->nattempts = 0;
	if (hk_buf_adds(oe->b, ",\"attempts\":[") != 0) {
		oe->rc = HK_ENOMEM;
		return -1;
	}
	return 1;
}

static void
dlv_of_event_attempt(
    struct hk_st_read *rd, const char *dlv, int n, const char *text, size_t len)
{
	struct dlv_of_event *oe = (struct dlv_of_event *)rd;

	(void)dlv;
	(void)n;
	if ((oe->nattempts++ > 0 && hk_buf_addc(oe->b, ',') != 0) ||
	    hk_buf_add(oe->b, text, len) != 0)
		oe->rc = HK_ENOMEM;
}

static void
dlv_of_event_done(struct hk_st_read *rd, int rc)
{
	struct dlv_of_event *oe = (struct dlv_of_event *)rd;

	if (rc == 0)
		rc = oe->rc;
	if (rc == 0 &&
	    (dlv_of_event_close(oe) != 0 || hk_buf_addc(oe->b, ']') != 0))
		rc = HK_ENOMEM;
	oe->done(oe->arg, rc);
	free(oe);
}

void
hk_delivery_of_event(
    const char *evt, struct hk_buf *b, void (*done)(void *, int), void *arg)
{
	struct dlv_of_event *oe;

	if ((oe = calloc(1, sizeof(*oe) + strlen(evt) + 1)) == NULL ||
	    hk_buf_addc(b, '[') != 0) {
		free(oe);
		done(arg, HK_ENOMEM);
		return;
	}
	oe->rd.rd_list = HK_SL_EVENT_DELIVERIES;
	oe->rd.rd_scope = memcpy(oe + 1, evt, strlen(evt) + 1);
	oe->rd.rd_oldest = 1;
	oe->rd.rd_limit = HOOKD_LIST_MAX;
	oe->rd.rd_row = dlv_of_event_row;
	oe->rd.rd_attempt = dlv_of_event_attempt;
	oe->rd.rd_done = dlv_of_event_done;
	oe->b = b;
	oe->done = done;
	oe->arg = arg;
	hk_st_read(&oe->rd);
}

/* A page of deliveries with its filters (empty: any). */
struct dlv_page {
	struct hk_admin_pager pg;
	char sub[HK_ID_MAX], evt[HK_ID_MAX];
	enum hk_dstate want;
	int any;
	int64_t since_ms, until_ms; /* created in [since, until) */
};

static int
dlv_item(
    struct hk_admin_pager *pg, const char *id, const char *text, size_t len)
{
	struct dlv_page *dp = (struct dlv_page *)pg;
	struct hk_delivery d;
	size_t n = pg->pg_b.len;
	int64_t created;

	(void)id;
	if (hk_delivery_parse(text, len, &d) != 0)
		return 0;
	created = hk_id_ms("dlv_", d.id);
	/* Newest first: past the window's start, nothing more is in it. */
	if (dp->since_ms >= 0 && created < dp->since_ms) {
		pg->pg_rd.rd_more = 0;
		return -1;
	}
	if (dp->until_ms >= 0 && created >= dp->until_ms)
		return 0;
	if (d.state == HK_DS_PENDING && hk_engine_in_flight(d.id))
		d.state = HK_DS_IN_FLIGHT;
	if ((dp->sub[0] != '\0' && strcmp(d.sub, dp->sub) != 0) ||
	    (dp->evt[0] != '\0' && strcmp(d.event, dp->evt) != 0) ||
	    (!dp->any && d.state != dp->want))
		return 0;
	if ((pg->pg_n > 0 && hk_buf_addc(&pg->pg_b, ',') != 0) ||
	    hk_delivery_print(&pg->pg_b, &d, HK_DLV_PUBLIC) != 0) {
		pg->pg_b.len = n;
		pg->pg_rc = HK_ENOMEM;
		return -1;
	}
	pg->pg_n++;
	return 1;
}

/* GET /api/deliveries?status&subscription&event&since&until&limit&after. */
static void
dlv_list(struct evhttp_request *req)
{
	char status[16], sub[HK_ID_MAX], evt[HK_ID_MAX];
	struct dlv_page *dp;
	enum hk_dstate want = HK_DS_PENDING;
	int64_t since, until;

	if (hk_admin_query(req, "status", status, sizeof(status)) < 0 ||
	    hk_admin_query(req, "subscription", sub, sizeof(sub)) < 0 ||
	    hk_admin_query(req, "event", evt, sizeof(evt)) < 0) {
		hk_http_error(req, 400, "bad_request", "a filter is too long");
		return;
	}
	if (status[0] != '\0' &&
	    hk_dstate_parse(status, strlen(status), &want) != 0) {
		hk_http_error(req, 400, "bad_request",
		    "status must be pending, in_flight, succeeded, failed or cancelled");
		return;
	}
	if (hk_admin_window(req, &since, &until) != 0)
		return;
	/*
	 * A subscription's or an event's deliveries are a key range; the
	 * failed ones of all, an index (the console's first question).
	 */
	if ((dp = hk_admin_pager(req,
	         sub[0] != '\0'       ? HK_SL_DELIVERIES
	             : evt[0] != '\0' ? HK_SL_EVENT_DELIVERIES
	             : status[0] != '\0' && want == HK_DS_FAILED
	             ? HK_SL_FAILED
	             : HK_SL_DELIVERIES,
	         sub[0] != '\0' ? sub : evt, sizeof(*dp))) == NULL)
		return;
	memcpy(dp->sub, sub, sizeof(sub));
	memcpy(dp->evt, evt, sizeof(evt));
	dp->want = want;
	dp->any = status[0] == '\0';
	dp->since_ms = since;
	dp->until_ms = until;
	dp->pg.pg_item = dlv_item;
	hk_admin_pager_start(&dp->pg);
}

/* GET /api/deliveries/{id}: the delivery with its attempts. */
struct dlv_one {
	struct hk_st_read rd;
	char id[HK_ID_MAX];
	struct hk_buf b;
	int nattempts;
	int rc;
};

static int
dlv_one_row(struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct dlv_one *o = (struct dlv_one *)rd;

	(void)id;
	if ((o->rc = hk_delivery_public(&o->b, text, len, 1)) != 0 ||
	    (o->rc = hk_buf_adds(&o->b, ",\"attempts\":[")) != 0)
		return -1;
	return 1;
}

static void
dlv_one_attempt(
    struct hk_st_read *rd, const char *dlv, int n, const char *text, size_t len)
{
	struct dlv_one *o = (struct dlv_one *)rd;

	(void)dlv;
	(void)n;
	if ((o->nattempts++ > 0 && hk_buf_addc(&o->b, ',') != 0) ||
	    hk_buf_add(&o->b, text, len) != 0)
		o->rc = HK_ENOMEM;
}

static void
dlv_one_done(struct hk_st_read *rd, int rc)
{
	struct dlv_one *o = (struct dlv_one *)rd;
	struct evhttp_request *req = rd->rd_arg;

	if (rc == 0)
		rc = o->rc;
	if (rc == 0 && hk_buf_adds(&o->b, "]}\n") != 0)
		rc = HK_ENOMEM;
	if (rc == HK_ENOTFOUND)
		hk_http_error(req, 404, "not_found", "no delivery %s", o->id);
	else if (rc == HK_EIO || rc == HK_EFULL)
		hk_http_error(req, 503, "unavailable", "cannot read the store");
	else if (rc != 0)
		hk_http_error(req, 500, "internal", "cannot read delivery");
	else
		hk_http_reply(req, 200, &o->b);
	hk_buf_free(&o->b);
	free(o);
}

static void
dlv_show(struct evhttp_request *req, const char *id)
{
	struct dlv_one *o;

	if (!hk_id_valid("dlv_", id)) {
		hk_http_error(req, 404, "not_found", "no delivery %.80s", id);
		return;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	o->rd.rd_list = HK_SL_DELIVERIES;
	o->rd.rd_row = dlv_one_row;
	o->rd.rd_attempt = dlv_one_attempt;
	o->rd.rd_done = dlv_one_done;
	o->rd.rd_arg = req;
	snprintf(o->id, sizeof(o->id), "%s", id);
	hk_st_get(&o->rd, o->id);
}

/*
 * Retry, recover and replay: changes the store makes to deliveries on
 * an admin request, answered with a count or the changed ids.
 */
struct dlv_op {
	struct hk_st_dlvop op;
	struct evhttp_request *req;
	struct hk_buf out; /* replay: the ids created */
};

static void
dlv_op_free(struct dlv_op *o)
{
	free(o->op.do_subs);
	free((int *)(uintptr_t)o->op.do_sub_max);
	hk_buf_free(&o->out);
	free(o);
}

static void
dlv_op_done(struct hk_st_op *sop, int rc)
{
	struct dlv_op *o = (struct dlv_op *)sop;
	enum hk_st_dverb verb = o->op.do_verb;
	struct hk_buf b = HK_BUF_INIT;

	if (rc == HK_ENOTFOUND)
		hk_http_error(
		    o->req, 404, "not_found", "no delivery %s", o->op.do_id);
	else if (rc == HK_EEXIST)
		hk_http_error(o->req, 409, "conflict",
		    "the delivery is in flight or already succeeded");
	else if (rc != 0)
		hk_http_unavailable(o->req, rc);
	else {
		if (verb == HK_ST_RETRY)
			hk_buf_printf(&b, "{\"status\":\"%s\",\"id\":\"%s\"}\n",
			    hk_dstate_name(HK_DS_PENDING), o->op.do_id);
		else if (verb == HK_ST_RECOVER)
			hk_buf_printf(&b, "{\"recovered\":%llu}\n",
			    (unsigned long long)o->op.do_count);
		else
			hk_buf_printf(&b, "{\"deliveries\":[%s]}\n",
			    o->out.b != NULL ? o->out.b : "");
		hk_http_reply(o->req, verb == HK_ST_REPLAY ? 202 : 200, &b);
		hk_buf_free(&b);
		hk_engine_kick();
	}
	dlv_op_free(o);
}

static struct dlv_op *
dlv_op_new(struct evhttp_request *req, enum hk_st_dverb verb, const char *id)
{
	struct dlv_op *o;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	o->op.do_op.so_kind = HK_ST_DELIVERIES;
	o->op.do_op.so_done = dlv_op_done;
	o->op.do_verb = verb;
	o->op.do_max = DLV_RECOVER_MAX;
	o->op.do_ids = &o->out;
	o->op.do_now = hk_now_ms();
	o->req = req;
	snprintf(o->op.do_id, sizeof(o->op.do_id), "%s", id);
	return o;
}

static void
dlv_op_submit(struct dlv_op *o)
{
	int rc;

	if ((rc = hk_st_submit(&o->op.do_op)) != 0) {
		hk_http_unavailable(o->req, rc);
		dlv_op_free(o);
	}
}

void
hk_delivery_recover(struct evhttp_request *req, const struct hk_sub *s)
{
	static const char *const fields[] = {"since", "until", NULL};
	const cJSON *since, *until;
	struct dlv_op *o;
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0 ||
	    (o = dlv_op_new(req, HK_ST_RECOVER, s->sb_id)) == NULL) {
		cJSON_Delete(j);
		return;
	}
	since = cJSON_GetObjectItemCaseSensitive(j, "since");
	until = cJSON_GetObjectItemCaseSensitive(j, "until");
	if (!cJSON_IsString(since) ||
	    hk_time_parse(since->valuestring, &o->op.do_since) != 0 ||
	    (until != NULL &&
	        (!cJSON_IsString(until) ||
	            hk_time_parse(until->valuestring, &o->op.do_until) != 0))) {
		hk_http_error(req, 400, "bad_request",
		    "since (and until) must be ISO 8601 times");
		cJSON_Delete(j);
		dlv_op_free(o);
		return;
	}
	cJSON_Delete(j);
	dlv_op_submit(o);
}

/* A replay: its event is read first, to match it to subscriptions. */
struct dlv_replay {
	struct hk_st_read rd;
	struct evhttp_request *req;
	char evt[HK_ID_MAX];
	char only[HK_ID_MAX]; /* one subscription, or "" */
	cJSON *head;
};

static int
dlv_replay_row(
    struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct dlv_replay *r = (struct dlv_replay *)rd;

	(void)id;
	r->head = hk_event_head(text, len);
	return 1;
}

/* The matching subscriptions (or the one named) each get a delivery. */
static void
dlv_replay_done(struct hk_st_read *rd, int rc)
{
	struct dlv_replay *r = (struct dlv_replay *)rd;
	const cJSON *t, *src;
	struct hk_sub *s;
	struct dlv_op *o;
	char(*subs)[HK_ID_MAX];
	int *max;
	size_t n = 0;

	if (rc == HK_EIO || rc == HK_EFULL)
		hk_http_error(
		    r->req, 503, "unavailable", "cannot read the store");
	else if (rc != 0 || r->head == NULL)
		hk_http_error(r->req, 404, "not_found", "no event %s", r->evt);
	else if ((o = dlv_op_new(r->req, HK_ST_REPLAY, r->evt)) != NULL) {
		t = cJSON_GetObjectItemCaseSensitive(r->head, "event");
		src = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(r->head, "source"),
		    "webhook");
		TAILQ_FOREACH(s, hk_sub_all(), sb_entry) {
			if (r->only[0] != '\0'
			        ? strcmp(s->sb_id, r->only) != 0
			        : !hk_sub_matches(s,
			              cJSON_IsString(t) ? t->valuestring : "",
			              cJSON_IsString(src) ? src->valuestring
			                                  : NULL))
				continue;
			subs = reallocarray(
			    o->op.do_subs, n + 1, sizeof(*o->op.do_subs));
			if (subs != NULL)
				o->op.do_subs = subs;
			max = reallocarray((int *)(uintptr_t)o->op.do_sub_max,
			    n + 1, sizeof(*max));
			if (max != NULL)
				o->op.do_sub_max = max;
			if (subs == NULL || max == NULL)
				break;
			memcpy(subs[n], s->sb_id, HK_ID_MAX);
			max[n++] = s->sb_max_attempts;
		}
		o->op.do_nsubs = n;
		dlv_op_submit(o);
	}
	cJSON_Delete(r->head);
	free(r);
}

void
hk_delivery_replay(struct evhttp_request *req, const char *evt)
{
	static const char *const fields[] = {"subscription", NULL};
	struct dlv_replay *r;
	const cJSON *only;
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0) {
		cJSON_Delete(j);
		return;
	}
	only = cJSON_GetObjectItemCaseSensitive(j, "subscription");
	if (only != NULL &&
	    (!cJSON_IsString(only) || hk_sub_find(only->valuestring) == NULL)) {
		hk_http_error(req, 404, "not_found", "no such subscription");
		cJSON_Delete(j);
		return;
	}
	if (!hk_id_valid("evt_", evt)) {
		hk_http_error(req, 404, "not_found", "no event %.80s", evt);
		cJSON_Delete(j);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		cJSON_Delete(j);
		return;
	}
	r->req = req;
	snprintf(r->evt, sizeof(r->evt), "%s", evt);
	if (only != NULL)
		snprintf(r->only, sizeof(r->only), "%s", only->valuestring);
	cJSON_Delete(j);
	r->rd.rd_list = HK_SL_EVENTS;
	r->rd.rd_row = dlv_replay_row;
	r->rd.rd_done = dlv_replay_done;
	hk_st_get(&r->rd, r->evt);
}

void
hk_delivery_route(struct evhttp_request *req, char **seg, int nseg)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct dlv_op *o;

	if (nseg == 2) {
		if (m == EVHTTP_REQ_GET)
			dlv_list(req);
		else
			hk_admin_405(req, "GET");
	} else if (nseg == 3) {
		if (m == EVHTTP_REQ_GET)
			dlv_show(req, seg[2]);
		else
			hk_admin_405(req, "GET");
	} else if (nseg == 4 && strcmp(seg[3], "retry") == 0) {
		if (m != EVHTTP_REQ_POST)
			hk_admin_405(req, "POST");
		else if (hk_engine_sending(seg[2]))
			hk_http_error(
			    req, 409, "conflict", "the delivery is in flight");
		else if (!hk_id_valid("dlv_", seg[2]))
			hk_http_error(
			    req, 404, "not_found", "no delivery %.80s", seg[2]);
		else if ((o = dlv_op_new(req, HK_ST_RETRY, seg[2])) != NULL)
			dlv_op_submit(o);
	} else
		hk_http_error(req, 404, "not_found", "no such endpoint");
}
