/*
 * ingest.c: the public listener, proto/http.md.
 *
 * A request is judged in a fixed order, cheapest and least revealing
 * first: route (404), method (405), disabled (403), body size (413),
 * authentication (401/403), rate limit (429), content type (415), JSON
 * (400), event type, store space (503). Only then is the event handed to
 * the writer; the answer (202, or 200 for a duplicate) is sent from the
 * commit's done callback, once the event is on disk. Every request that
 * names a webhook is written to its request log after the answer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "form.h"
#include "hk.h"
#include "hookd.h"
#include "jptr.h"
#include "json.h"

/* The request headers ingest reads, found in one pass over them. */
enum {
	H_TOKEN,
	H_APIKEY,
	H_AUTH,
	H_CTYPE,
	H_EVENT,
	H_GHEVENT,
	H_ETYPE,
	H_WHID,
	H_SVIXID,
	H_GHDELIVERY,
	H_IDEM,
	H_COUNT
};

static const char *const ingest_names[H_COUNT] = {"X-Webhook-Token",
    "X-API-Key", "Authorization", "Content-Type", "X-Webhook-Event",
    "X-GitHub-Event", "X-Event-Type", "webhook-id", "svix-id",
    "X-GitHub-Delivery", "Idempotency-Key"};

/* What the answer of one request needs once its event is committed. */
struct ingest {
	struct evhttp_request *req;
	char wh_id[HK_ID_MAX];
	char wh_name[HOOKD_NAME_MAX + 1]; /* for links.status */
	char peer[64];
	size_t bytes;
	int64_t t0;
	int authed; /* a token or signature was checked and good */
	int form; /* the body was a form of fields, now a JSON object */
	char evt[HK_ID_MAX]; /* a status read's event */
	const char *h[H_COUNT]; /* borrowed from the request */
};

/* Fills IN->h: the first value of each header ingest reads, or NULL. */
static void
ingest_headers(struct evhttp_request *req, struct ingest *in)
{
	static size_t lens[H_COUNT];
	struct evkeyvalq *q = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	size_t i, n;

	if (lens[0] == 0)
		for (i = 0; i < H_COUNT; i++)
			lens[i] = strlen(ingest_names[i]);
	memset(in->h, 0, sizeof(in->h));
	TAILQ_FOREACH(kv, q, next) {
		n = strlen(kv->key);
		for (i = 0; i < H_COUNT; i++)
			if (n == lens[i] && in->h[i] == NULL &&
			    strcasecmp(kv->key, ingest_names[i]) == 0)
				in->h[i] = kv->value;
	}
}

static const char *
ingest_header(void *arg, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(arg), name);
}

/*
 * Writes IN's entry in the request log of webhook WH_ID. SPARING: the
 * sender is not authenticated, so anyone may send it as often as they
 * like: logged at most --log-refusals a second (reqlog.c).
 */
static void
ingest_log(const char *wh_id, const struct ingest *in, int status,
    const char *code, const char *evt, int sparing)
{
	struct hk_reqlog rl;

	rl.rl_webhook = wh_id;
	rl.rl_status = status;
	rl.rl_code = code;
	rl.rl_peer = in->peer;
	rl.rl_bytes = in->bytes;
	rl.rl_latency_us = hk_mono_us() - in->t0;
	rl.rl_event = evt;
	if (sparing)
		hk_reqlog_refused(&rl);
	else
		hk_reqlog_add(&rl);
}

/* Answers, counts and logs one request that did not become an event. */
static void
ingest_refuse(struct evhttp_request *req, const struct hk_webhook *wh,
    const struct ingest *in, int status, const char *code, const char *msg)
{
	hd->hd_stats.s_rejected++;
	hk_http_error(req, status, code, "%s", msg);
	if (wh == NULL)
		return;
	ingest_log(wh->wh_id, in, status, code, NULL, !in->authed);
	log_debug("ingest_refused", "webhook=%s status=%d code=%s peer=%s",
	    wh->wh_id, status, code, hk_logq(in->peer));
}

static void
ingest_done(struct hk_event_op *eo, int rc)
{
	struct ingest *in = eo->eo_arg;

	hk_event_reply_for(in->req, eo, rc, in->wh_name);
	if (rc == 0) {
		hd->hd_stats.s_accepted++;
		ingest_log(in->wh_id, in, 202, NULL, eo->eo_id, 0);
	} else if (rc == HK_EDUP) {
		hd->hd_stats.s_duplicates++;
		ingest_log(in->wh_id, in, 200, "duplicate", eo->eo_dup_id, 0);
	} else {
		hd->hd_stats.s_rejected++;
		log_warn("ingest_commit", "webhook=%s error=%s", in->wh_id,
		    hk_logq(hk_strerror(rc)));
		ingest_log(in->wh_id, in, 503, "unavailable", NULL, 0);
	}
	hk_event_op_free(eo);
	free(in);
}

/* The token the request presents, from any of the accepted headers. */
static const char *
ingest_token(const struct ingest *in)
{
	const char *t;

	if ((t = in->h[H_TOKEN]) != NULL || (t = in->h[H_APIKEY]) != NULL)
		return t;
	if ((t = in->h[H_AUTH]) != NULL && strncasecmp(t, "Bearer ", 7) == 0) {
		for (t += 7; *t == ' '; t++)
			;
		return t;
	}
	return NULL;
}

/*
 * Checks the webhook's authentication. BY_URL is set when the token was
 * the URL's. Returns 0 or answers and returns -1.
 */
static int
ingest_auth(struct evhttp_request *req, const struct hk_webhook *wh, int by_url,
    const unsigned char *body, size_t len, struct ingest *in)
{
	char hash[HK_TOKEN_HASH_LEN];
	struct hk_sig_req sr;
	const char *tok;
	int need_sig, rc;

	if ((wh->wh_auth == HK_AUTH_TOKEN || wh->wh_auth == HK_AUTH_BOTH) &&
	    !by_url) {
		if ((tok = ingest_token(in)) == NULL || *tok == '\0') {
			ingest_refuse(req, wh, in, 401, "missing_token",
			    "this webhook needs a token (X-Webhook-Token)");
			return -1;
		}
		hk_token_hash(tok, strlen(tok), hash);
		if (!hk_str_ct_eq(hash, wh->wh_token_hash)) {
			ingest_refuse(req, wh, in, 401, "invalid_token",
			    "the token is not valid for this webhook");
			return -1;
		}
	}
	need_sig =
	    wh->wh_auth == HK_AUTH_SIGNATURE || wh->wh_auth == HK_AUTH_BOTH;
	if (!need_sig && !hk_sig_present(wh->wh_scheme, ingest_header, req))
		return 0;
	sr.get = ingest_header;
	sr.arg = req;
	sr.body = body;
	sr.len = len;
	sr.now = hk_now_ms() / 1000;
	sr.tolerance = wh->wh_tolerance;
	switch ((rc = hk_sig_verify(wh->wh_scheme, wh->wh_secret, &sr))) {
	case 0:
		return 0;
	case HK_ESIGMISSING:
		ingest_refuse(req, wh, in, 401, "missing_signature",
		    "this webhook needs a signature");
		return -1;
	case HK_ESTALE:
		ingest_refuse(req, wh, in, 403, "timestamp_out_of_tolerance",
		    "the signature's timestamp is outside the tolerance");
		return -1;
	default:
		ingest_refuse(req, wh, in, 403, "invalid_signature",
		    "the signature does not match");
		return -1;
	}
}

/* The media type of Content-Type, lower-cased, without parameters. */
static void
ingest_media_type(const struct ingest *in, char *out, size_t len)
{
	const char *ct = in->h[H_CTYPE];
	size_t i = 0;

	out[0] = '\0';
	if (ct == NULL)
		return;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (; *ct != '\0' && *ct != ';' && *ct != ' ' && i + 1 < len; ct++)
		out[i++] = (char)tolower((unsigned char)*ct);
	out[i] = '\0';
}

static int
ingest_is_json(const char *mt)
{
	size_t n = strlen(mt);

	return strcmp(mt, "application/json") == 0 ||
	    (n > 5 && strcmp(mt + n - 5, "+json") == 0 &&
	        strncmp(mt, "application/", 12) == 0);
}

/* The top-level members of a JSON body ingest reads (json.h). */
enum { M_EVENT, M_TYPE, M_ID, M_COUNT };
static const char *const ingest_members[M_COUNT] = {"event", "type", "id"};

/*
 * Decodes member S into OUT. Returns 1 for a non-empty string, 0 when
 * absent or empty, -1 when it does not fit or holds a NUL (\u0000: a C
 * string would be cut there, and what follows never checked).
 */
static int
ingest_member(const struct hk_json_str *s, char *out, size_t len)
{
	long n;

	*out = '\0';
	if (s->p == NULL)
		return 0;
	if ((n = hk_json_unescape(s, out, len)) < 0 || (size_t)n != strlen(out))
		return -1;
	return *out != '\0';
}

/*
 * The string the webhook's JSON pointer names in the body, decoded into
 * OUT as ingest_member(); a value that is not a string is absent.
 */
static int
ingest_pointer(
    const char *body, size_t blen, const char *ptr, char *out, size_t len)
{
	struct hk_json_str v;

	*out = '\0';
	if (hk_jptr_text(body, blen, ptr, &v) != 0 || v.kind != HK_JSON_STRING)
		return 0;
	v.p++; /* the contents, without the quotes */
	v.len -= 2;
	return ingest_member(&v, out, len);
}

/*
 * The event type of the request (proto/http.md) into OUT, with the webhook's
 * prefix. MEM holds the body's top-level members; PAYLOAD (PLEN bytes)
 * is the whole, for a JSON pointer rule. Returns 0, or -1 when it is not
 * 1 to 200 visible ASCII characters: it goes out in a header line
 * (X-Webhook-Event).
 */
static int
ingest_type(struct evhttp_request *req, const struct ingest *in,
    const struct hk_webhook *wh, const struct hk_json_str *mem,
    const char *payload, size_t plen, char *out, size_t len)
{
	static const int hdrs[] = {H_EVENT, H_GHEVENT, H_ETYPE};
	char body[HOOKD_TYPE_MAX + 2];
	const char *t = NULL;
	size_t i;
	int n;

	switch (wh->wh_etype) {
	case HK_ETYPE_HEADER:
		t = ingest_header(req, wh->wh_etype_value);
		break;
	case HK_ETYPE_JSON:
		if ((n = ingest_pointer(payload, plen, wh->wh_etype_value, body,
		         sizeof(body))) < 0)
			return -1;
		t = n > 0 ? body : NULL;
		break;
	case HK_ETYPE_FIXED:
		t = wh->wh_etype_value;
		break;
	case HK_ETYPE_DEFAULT:
		if ((n = hk_provider_type(req, wh, payload, plen, in->form,
		         body, sizeof(body))) != 0) {
			if (n < 0)
				return -1;
			t = body;
			break;
		}
		for (i = 0; i < HK_NELEM(hdrs) && t == NULL; i++)
			if ((t = in->h[hdrs[i]]) != NULL && *t == '\0')
				t = NULL;
		if (t != NULL)
			break;
		if ((n = ingest_member(&mem[M_EVENT], body, sizeof(body))) ==
		        0 &&
		    (n = ingest_member(&mem[M_TYPE], body, sizeof(body))) == 0)
			break;
		if (n < 0)
			return -1;
		t = body;
		break;
	}
	if (t == NULL || *t == '\0')
		t = "webhook.received";
	n = snprintf(
	    out, len, "%s%s", wh->wh_prefix != NULL ? wh->wh_prefix : "", t);
	if (n < 0 || (size_t)n >= len || !hk_event_type_ok(out))
		return -1;
	return 0;
}

/*
 * The request's idempotency key into *KEY (BUF holds one from the body),
 * or NULL. Returns 0, or -1 when the key is too long.
 */
static int
ingest_idem(const struct ingest *in, const struct hk_webhook *wh,
    const struct hk_json_str *mem, const char *payload, size_t plen, char *buf,
    size_t len, const char **key)
{
	static const int hdrs[] = {H_WHID, H_SVIXID, H_GHDELIVERY, H_IDEM};
	const char *k;
	size_t i;
	int n;

	/* The provider's own delivery id first (proto/http.md Providers). */
	if ((n = hk_provider_idem(in->req, wh, payload, plen, buf, len, key)) !=
	    0)
		return n < 0 || strlen(buf) > HOOKD_IDEM_MAX ? -1 : 0;
	for (i = 0; i < HK_NELEM(hdrs); i++)
		if ((k = in->h[hdrs[i]]) != NULL && *k != '\0') {
			*key = k;
			return strlen(k) > HOOKD_IDEM_MAX ? -1 : 0;
		}
	if (wh->wh_scheme != HK_SCHEME_STRIPE)
		return 0;
	if ((n = ingest_member(&mem[M_ID], buf, len)) < 0 ||
	    strlen(buf) > HOOKD_IDEM_MAX)
		return -1;
	if (n > 0)
		*key = buf;
	return 0;
}

/*
 * Answers and logs a handshake (provider.c): nothing is stored but the
 * request log entry. A GET handshake comes before any authentication, so
 * it is logged as sparingly as a refusal.
 */
static void
ingest_handshake(struct evhttp_request *req, const struct hk_webhook *wh,
    const struct ingest *in, struct hk_handshake *hs)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

	if (hs->hs_status != 200) {
		ingest_refuse(req, wh, in, hs->hs_status, hs->hs_code,
		    hs->hs_msg != NULL ? hs->hs_msg : "handshake refused");
		hk_buf_free(&hs->hs_body);
		return;
	}
	/* A challenge is echoed: never let a browser read it as a page. */
	evhttp_add_header(oh, "Content-Type", hs->hs_ctype);
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evbuffer_add(evhttp_request_get_output_buffer(req), hs->hs_body.b,
	    hs->hs_body.len);
	evhttp_send_reply(req, 200, hk_http_reason(200), NULL);
	hk_buf_free(&hs->hs_body);
	ingest_log(wh->wh_id, in, 200, hs->hs_code, NULL, !in->authed);
	log_debug("ingest_handshake", "webhook=%s peer=%s", wh->wh_id,
	    hk_logq(in->peer));
}

/* A GET: 1 when it was the provider's handshake and is answered. */
static int
ingest_get(
    struct evhttp_request *req, const struct hk_webhook *wh, struct ingest *in)
{
	struct hk_handshake hs;

	if (!hk_provider_get(req, wh, &hs))
		return 0;
	if (!wh->wh_enabled) {
		hk_buf_free(&hs.hs_body);
		ingest_refuse(req, wh, in, 403, "webhook_disabled",
		    "this webhook is disabled");
		return 1;
	}
	ingest_handshake(req, wh, in, &hs);
	return 1;
}

/*
 * The JSON of a form body into *FORM: its payload field (GitHub's form
 * mode, Slack's interactive payloads) or, where the webhook takes them,
 * all its fields as an object. 0, or -1 answered.
 */
static int
ingest_form(struct evhttp_request *req, const struct hk_webhook *wh,
    struct ingest *in, const unsigned char *body, size_t len, char **form,
    size_t *plen)
{
	struct hk_buf b = HK_BUF_INIT;
	int rc;

	rc = hk_form_get((const char *)body, len, "payload", form, plen);
	if (rc == 0)
		return 0;
	if (rc != HK_ENOTFOUND || !hk_provider_forms(wh)) {
		ingest_refuse(req, wh, in, 400, "bad_request",
		    "a form body needs a payload field (GitHub's form mode)");
		return -1;
	}
	if ((rc = hk_form_json((const char *)body, len, &b)) != 0) {
		hk_buf_free(&b);
		ingest_refuse(req, wh, in, rc == HK_ENOMEM ? 503 : 400,
		    rc == HK_ENOMEM ? "unavailable" : "bad_request",
		    rc == HK_ENOMEM
		        ? "out of memory"
		        : "form fields must be UTF-8 text, without NUL, with valid escapes");
		return -1;
	}
	*plen = b.len;
	*form = hk_buf_take(&b);
	in->form = 1;
	return 0;
}

/*
 * Refuses REQ unless it is a METHOD request (ALLOW names it, WHY says
 * why) to an enabled WH: 0, or -1 once answered.
 */
static int
ingest_allowed(struct evhttp_request *req, struct hk_webhook *wh,
    struct ingest *in, enum evhttp_cmd_type method, const char *allow,
    const char *why)
{
	if (evhttp_request_get_command(req) != method) {
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Allow", allow);
		ingest_refuse(req, wh, in, 405, "method_not_allowed", why);
		return -1;
	}
	if (!wh->wh_enabled) {
		ingest_refuse(req, wh, in, 403, "webhook_disabled",
		    "this webhook is disabled");
		return -1;
	}
	return 0;
}

/* The status read is over: answer and log, for the webhook if it stays. */
static void
ingest_status_done(void *arg, int rc, struct hk_buf *b)
{
	struct ingest *in = arg;
	const struct hk_webhook *wh = hk_webhook_find(in->wh_id);

	if (rc != 0)
		ingest_refuse(in->req, wh, in, rc == HK_ENOTFOUND ? 404 : 503,
		    rc == HK_ENOTFOUND ? "not_found" : "unavailable",
		    rc == HK_ENOTFOUND ? "no such event for this webhook"
		                       : "cannot read the store");
	else {
		hk_http_reply(in->req, 200, b);
		/* auth: none: an anonymous poll, logged like a refusal
		 * (sparingly). */
		ingest_log(in->wh_id, in, 200, "status", in->evt, !in->authed);
	}
	free(in);
}

/*
 * GET of links.status (status.c): the same checks as a POST up to
 * authentication (a signature is over the request's body, empty for a
 * GET), then the event's state, logged like any request.
 */
static void
ingest_status(struct evhttp_request *req, struct hk_webhook *wh, int by_url,
    struct ingest *in, const char *evt)
{
	struct evbuffer *eb = evhttp_request_get_input_buffer(req);
	unsigned char *body;
	struct ingest *copy;

	in->bytes = evbuffer_get_length(eb);
	if (ingest_allowed(req, wh, in, EVHTTP_REQ_GET, "GET",
	        "an event's status answers GET only") != 0)
		return;
	body = evbuffer_pullup(eb, -1);
	if (ingest_auth(req, wh, by_url, body, in->bytes, in) != 0)
		return;
	in->authed = wh->wh_auth != HK_AUTH_NONE;
	/* The read may answer later: the request's state goes with it. */
	if ((copy = malloc(sizeof(*copy))) == NULL) {
		ingest_refuse(req, wh, in, 503, "unavailable", "out of memory");
		return;
	}
	*copy = *in;
	memcpy(copy->wh_id, wh->wh_id, sizeof(copy->wh_id));
	snprintf(copy->evt, sizeof(copy->evt), "%s", evt);
	hk_status_read(evt, wh->wh_id, ingest_status_done, copy);
}

/* POST to a webhook: everything after routing. */
static void
ingest_post(struct evhttp_request *req, struct hk_webhook *wh, int by_url,
    struct ingest *in)
{
	struct evbuffer *eb = evhttp_request_get_input_buffer(req);
	char mt[128], type[HOOKD_TYPE_MAX + 2], retry[32];
	char idbuf[HOOKD_IDEM_MAX + 2];
	struct hk_json_str mem[M_COUNT];
	struct hk_handshake hs;
	const char *payload, *idem;
	struct ingest *copy;
	unsigned char *body;
	char *form = NULL;
	size_t len, plen;
	int64_t retry_ms;
	int err, full;

	len = evbuffer_get_length(eb);
	in->bytes = len;
	hd->hd_stats.s_bytes += len;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST &&
	    ingest_get(req, wh, in))
		return;
	if (ingest_allowed(req, wh, in, EVHTTP_REQ_POST, "POST",
	        "webhooks accept POST only") != 0)
		return;
	if ((int64_t)len > hk_webhook_max_body(wh)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		ingest_refuse(req, wh, in, 413, "payload_too_large",
		    "the body exceeds this webhook's maxBody");
		return;
	}
	body = evbuffer_pullup(eb, -1);
	if (body == NULL && len > 0) {
		ingest_refuse(req, wh, in, 503, "unavailable", "out of memory");
		return;
	}
	if (ingest_auth(req, wh, by_url, body, len, in) != 0)
		return;
	in->authed = wh->wh_auth != HK_AUTH_NONE;
	if (hk_bucket_take(&wh->wh_bucket, hk_mono_us(), &retry_ms) != 0) {
		snprintf(retry, sizeof(retry), "%lld",
		    (long long)((retry_ms + 999) / 1000 > 0
		            ? (retry_ms + 999) / 1000
		            : 1));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", retry);
		hd->hd_stats.s_rate_limited++;
		ingest_refuse(req, wh, in, 429, "rate_limited",
		    "too many events for this webhook; retry later");
		return;
	}
	ingest_media_type(in, mt, sizeof(mt));
	payload = (const char *)body;
	plen = len;
	if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
		if (ingest_form(req, wh, in, body, len, &form, &plen) != 0)
			return;
		payload = form;
	} else if (!ingest_is_json(mt)) {
		ingest_refuse(req, wh, in, 415, "unsupported_media_type",
		    "send application/json, or a form with a payload field");
		return;
	}
	if (hk_json_scan(payload, plen, ingest_members, M_COUNT, mem) != 0) {
		ingest_refuse(req, wh, in, 400, "invalid_json",
		    "the body is not valid JSON");
		goto out;
	}
	if (!in->form && hk_provider_post(wh, payload, plen, &hs)) {
		ingest_handshake(req, wh, in, &hs);
		goto out;
	}
	if (ingest_type(req, in, wh, mem, payload, plen, type, sizeof(type)) !=
	    0) {
		ingest_refuse(req, wh, in, 400, "bad_request",
		    "the event type must be " HOOKD_TYPE_RULE);
		goto out;
	}
	if (ingest_idem(
	        in, wh, mem, payload, plen, idbuf, sizeof(idbuf), &idem) != 0) {
		ingest_refuse(req, wh, in, 400, "bad_request",
		    "the idempotency key must be at most 256 characters, without NUL");
		goto out;
	}
	if ((full = hk_st_full()) != 0) {
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Retry-After", "5");
		ingest_refuse(req, wh, in, 503, "unavailable",
		    hk_http_unavailable_why(full));
		goto out;
	}
	if ((copy = malloc(sizeof(*copy))) == NULL) {
		ingest_refuse(req, wh, in, 503, "unavailable", "out of memory");
		goto out;
	}
	*copy = *in;
	snprintf(copy->wh_id, sizeof(copy->wh_id), "%s", wh->wh_id);
	snprintf(copy->wh_name, sizeof(copy->wh_name), "%s", wh->wh_name);
	if (hk_event_submit(type, wh->wh_id, wh->wh_name, payload, plen,
	        wh->wh_id, idem, ingest_done, copy, &err) == NULL) {
		free(copy);
		ingest_refuse(req, wh, in, 503, "unavailable",
		    err == HK_ESHUTDOWN ? "hookd is shutting down"
		                        : hk_strerror(err));
	}
out:
	free(form);
}

int
hk_health(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct hk_buf b = HK_BUF_INIT;
	struct hk_st_usage u;
	int full = 0;

	if (strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0)
		return 0;
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		hk_http_error(req, 405, "method_not_allowed", "use GET");
		return 1;
	}
	if (strcmp(path, "/readyz") == 0) {
		hk_st_usage(&u);
		if (hd->hd_stopping) {
			hk_http_unavailable(req, HK_ESHUTDOWN);
			return 1;
		}
		if (u.su_failed || (full = hk_st_full()) != 0) {
			hk_http_unavailable(req, u.su_failed ? HK_EIO : full);
			return 1;
		}
	}
	hk_buf_printf(
	    &b, "{\"status\":\"%s\"}\n", path[1] == 'h' ? "ok" : "ready");
	hk_http_reply(req, 200, &b);
	hk_buf_free(&b);
	return 1;
}

/* The webhook PATH names, or NULL; *BY_URL: by the token in the URL. */
static struct hk_webhook *
ingest_route(const char *path, int *by_url)
{
	*by_url = 0;
	if (path == NULL)
		return NULL;
	if (strncmp(path, "/webhooks/", 10) == 0 && path[10] != '\0' &&
	    strchr(path + 10, '/') == NULL)
		return hk_webhook_find(path + 10);
	if (strncmp(path, "/hooks/", 7) == 0 && path[7] != '\0' &&
	    strchr(path + 7, '/') == NULL) {
		*by_url = 1;
		return hk_webhook_by_token(path + 7, strlen(path + 7));
	}
	return NULL;
}

/* The path of REQ, or NULL. */
static const char *
ingest_path(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);

	return uri != NULL ? evhttp_uri_get_path(uri) : NULL;
}

/* A request to the public listener begins: nothing known of it yet. */
static void
ingest_start(struct ingest *in, struct evhttp_request *req)
{
	memset(in, 0, sizeof(*in));
	in->req = req;
	in->t0 = hk_mono_us();
	hd->hd_stats.s_received++;
}

/* A request for no webhook: 404. */
static void
ingest_not_found(struct evhttp_request *req, int64_t t0)
{
	hd->hd_stats.s_rejected++;
	hk_stats_ingest(NULL, 404, "not_found", hk_mono_us() - t0);
	hk_http_error(req, 404, "not_found", "no such webhook");
}

/*
 * Headers read, no body yet: the route's body limit becomes the
 * connection's (proto/operation.md), so evhttp refuses a larger Content-Length
 * before reading it or sending 100 Continue, and stops a chunked body at
 * the chunk that crosses it. A path that names no webhook has none.
 */
void
hk_ingest_headers(struct evhttp_request *req)
{
	const char *path = ingest_path(req);
	struct hk_webhook *wh;
	int64_t max = 0;
	int by_url;

	if ((wh = ingest_route(path, &by_url)) != NULL)
		max = hk_webhook_max_body(wh);
	else if (path != NULL &&
	    (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0))
		max = hd->hd_conf.cf_max_body;
	evhttp_connection_set_max_body_size(
	    evhttp_request_get_connection(req), (ev_ssize_t)max);
}

/*
 * evhttp refused a body over the route's limit (Connection: close is
 * set): 404 for no webhook, else the webhook's 413, in its request log.
 */
void
hk_ingest_too_large(struct evhttp_request *req, const char *path)
{
	struct hk_webhook *wh;
	struct ingest in;
	int by_url;

	ingest_start(&in, req);
	in.bytes = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	if ((wh = ingest_route(path, &by_url)) == NULL) {
		ingest_not_found(req, in.t0);
		return;
	}
	hk_http_peer(req, in.peer, sizeof(in.peer));
	ingest_refuse(req, wh, &in, 413, "payload_too_large",
	    "the body exceeds this webhook's maxBody");
}

void
hk_ingest_request(struct evhttp_request *req, void *arg)
{
	const char *path;
	struct hk_webhook *wh = NULL;
	char evt[HK_ID_MAX] = "";
	struct ingest in;
	int by_url = 0;

	(void)arg;
	if ((path = hk_http_begin(req)) == NULL)
		return;
	ingest_start(&in, req);
	if ((wh = ingest_route(path, &by_url)) == NULL &&
	    (wh = hk_status_route(path, &by_url, evt, sizeof(evt))) == NULL) {
		ingest_not_found(req, in.t0);
		return;
	}
	hk_http_peer(req, in.peer, sizeof(in.peer));
	ingest_headers(req, &in);
	/* Stopping: still taken while the store does (the grace). */
	if (evt[0] != '\0')
		ingest_status(req, wh, by_url, &in, evt);
	else
		ingest_post(req, wh, by_url, &in);
}
