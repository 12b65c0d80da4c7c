/*
 * provider.c: a provider's requests, proto/http.md Providers: its event
 * type, its idempotency key and its handshake, read from the webhook's
 * row (domain/provider.c owns the table) at each request, unless the
 * webhook sets eventType itself.
 *
 * Handshakes (Slack, Zoom on a signed POST; Meta, Dropbox, X on a GET)
 * are answered exactly as each provider documents and store nothing;
 * ingest answers and logs them (hk_handshake), and frees hs_body.
 * Challenges are echoed only when they are visible ASCII, so an answer
 * never carries bytes a client could not have meant as a token. Loop
 * thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/keyvalq_struct.h>

#include "domain/provider.h"
#include "hk.h"
#include "hookd.h"
#include "jptr.h"
#include "json.h"

#define PV_TOKEN_MAX 512 /* the longest challenge echoed */

typedef int (*pv_get_fn)(
    struct evhttp_request *, const struct hk_webhook *, struct hk_handshake *);
typedef int (*pv_post_fn)(const struct hk_webhook *, const char *payload,
    size_t plen, struct hk_handshake *);

/*
 * The string at POINTER in the body into OUT, decoded. Returns 1 for a
 * non-empty string, 0 when absent, empty or not a string, -1 when it
 * does not fit or holds a NUL.
 */
static int
pv_json_string(const char *payload, size_t plen, const char *pointer, char *out,
    size_t len)
{
	struct hk_json_str v;
	long n;

	*out = '\0';
	if (hk_jptr_text(payload, plen, pointer, &v) != 0 ||
	    v.kind != HK_JSON_STRING)
		return 0;
	v.p++; /* the contents, without the quotes */
	v.len -= 2;
	if ((n = hk_json_unescape(&v, out, len)) < 0 ||
	    (size_t)n != strlen(out))
		return -1;
	return *out != '\0';
}

/* The first top-level key of the body ending in SUFFIX into OUT. */
static int
pv_key_suffix(
    const char *payload, size_t plen, const char *suffix, char *out, size_t len)
{
	size_t sl = strlen(suffix), kl;
	const cJSON *c;
	cJSON *j;
	int rc = 0;

	if ((j = cJSON_ParseWithLength(payload, plen)) == NULL)
		return 0;
	cJSON_ArrayForEach(c, j) {
		if (c->string == NULL || (kl = strlen(c->string)) < sl ||
		    strcmp(c->string + kl - sl, suffix) != 0)
			continue;
		rc = kl < len ? 1 : -1;
		if (rc > 0)
			memcpy(out, c->string, kl + 1);
		break;
	}
	cJSON_Delete(j);
	return rc;
}

/* Lower-cases S and writes its blanks as '_' (GitLab's "Push Hook"). */
static void
pv_slug(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == ' ')
			*s = '_';
		else if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The value of FROM and WHAT for this request into OUT: 1, 0 or -1. */
static int
pv_lookup(struct evhttp_request *req, enum hk_pv_from from,
    const char *const *what, size_t nwhat, const char *payload, size_t plen,
    char *out, size_t len)
{
	const char *h;
	size_t i;
	int n;

	switch (from) {
	case HK_PV_HEADER:
		h = evhttp_find_header(
		    evhttp_request_get_input_headers(req), what[0]);
		if (h == NULL || *h == '\0')
			return 0;
		if (strlen(h) >= len)
			return -1;
		memcpy(out, h, strlen(h) + 1);
		return 1;
	case HK_PV_JSON:
		for (i = 0; i < nwhat && what[i] != NULL; i++)
			if ((n = pv_json_string(
			         payload, plen, what[i], out, len)) != 0)
				return n;
		return 0;
	case HK_PV_FIXED:
		return snprintf(out, len, "%s", what[0]) < (int)len ? 1 : -1;
	case HK_PV_KEY_SUFFIX:
		return pv_key_suffix(payload, plen, what[0], out, len);
	case HK_PV_NONE:
		break;
	}
	return 0;
}

int
hk_provider_type(struct evhttp_request *req, const struct hk_webhook *wh,
    const char *payload, size_t plen, int form, char *out, size_t len)
{
	const struct hk_provider *pv = wh->wh_provider;
	int n;

	if (pv == NULL)
		return 0;
	if (form)
		return pv->pv_form_type == NULL
		    ? 0
		    : snprintf(out, len, "%s", pv->pv_form_type) < (int)len;
	n = pv_lookup(req, pv->pv_type_from, pv->pv_type, HK_NELEM(pv->pv_type),
	    payload, plen, out, len);
	if (n > 0 && pv->pv_type_slug)
		pv_slug(out);
	return n;
}

int
hk_provider_idem(struct evhttp_request *req, const struct hk_webhook *wh,
    const char *payload, size_t plen, char *buf, size_t len, const char **key)
{
	const struct hk_provider *pv = wh->wh_provider;
	int n;

	*key = NULL;
	if (pv == NULL || pv->pv_idem_from == HK_PV_NONE)
		return 0;
	n = pv_lookup(
	    req, pv->pv_idem_from, &pv->pv_idem, 1, payload, plen, buf, len);
	if (n > 0)
		*key = buf;
	return n;
}

/* Whether S is a token a handshake may echo: visible ASCII, bounded. */
static int
pv_token_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= PV_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* Fills HS with a 200 answer of CTYPE; its body is added by the caller. */
static void
pv_answer(struct hk_handshake *hs, const char *ctype)
{
	hs->hs_status = 200;
	hs->hs_code = "handshake";
	hs->hs_ctype = ctype;
	hs->hs_body = (struct hk_buf)HK_BUF_INIT;
}

/* Fills HS with a refusal; no body (ingest writes the error). */
static int
pv_refuse(
    struct hk_handshake *hs, int status, const char *code, const char *msg)
{
	hs->hs_status = status;
	hs->hs_code = code;
	hs->hs_ctype = NULL;
	hs->hs_msg = msg;
	hs->hs_body = (struct hk_buf)HK_BUF_INIT;
	return 1;
}

/* Slack's Events API URL check: {"type":"url_verification","challenge"}. */
static int
pv_slack_post(const struct hk_webhook *wh, const char *payload, size_t plen,
    struct hk_handshake *hs)
{
	static const char *const names[] = {"type", "challenge"};
	struct hk_json_str m[2];
	char type[32], c[PV_TOKEN_MAX];

	(void)wh;
	if (hk_json_scan(payload, plen, names, 2, m) != 0 || m[0].p == NULL ||
	    hk_json_unescape(&m[0], type, sizeof(type)) < 0 ||
	    strcmp(type, "url_verification") != 0)
		return 0;
	if (m[1].p == NULL || hk_json_unescape(&m[1], c, sizeof(c)) < 0 ||
	    !pv_token_ok(c))
		return pv_refuse(hs, 400, "bad_request",
		    "url_verification needs a challenge of visible ASCII");
	pv_answer(hs, "application/json");
	hk_buf_adds(&hs->hs_body, "{\"challenge\":");
	hk_buf_add_jsonstr(&hs->hs_body, c);
	hk_buf_adds(&hs->hs_body, "}\n");
	return 1;
}

/*
 * Zoom's endpoint.url_validation: the plainToken back with its HMAC under
 * the webhook's secret token, in hex.
 */
static int
pv_zoom_post(const struct hk_webhook *wh, const char *payload, size_t plen,
    struct hk_handshake *hs)
{
	static const char *const names[] = {"event"};
	char ev[32], p[PV_TOKEN_MAX], mac[65];
	struct hk_json_str m[1];

	if (hk_json_scan(payload, plen, names, 1, m) != 0 || m[0].p == NULL ||
	    hk_json_unescape(&m[0], ev, sizeof(ev)) < 0 ||
	    strcmp(ev, "endpoint.url_validation") != 0)
		return 0;
	if (pv_json_string(
	        payload, plen, "/payload/plainToken", p, sizeof(p)) <= 0 ||
	    !pv_token_ok(p) ||
	    hk_sig_mac_text(wh->wh_secret, (const unsigned char *)p, strlen(p),
	        0, mac, sizeof(mac)) != 0)
		return pv_refuse(hs, 400, "bad_request",
		    "endpoint.url_validation needs a payload.plainToken of visible ASCII");
	pv_answer(hs, "application/json");
	hk_buf_adds(&hs->hs_body, "{\"plainToken\":");
	hk_buf_add_jsonstr(&hs->hs_body, p);
	hk_buf_adds(&hs->hs_body, ",\"encryptedToken\":");
	hk_buf_add_jsonstr(&hs->hs_body, mac);
	hk_buf_adds(&hs->hs_body, "}\n");
	return 1;
}

/*
 * Query parameter NAME into OUT: 1 present (and a token), 0 absent, or
 * 1 with HS filled as a 400 when it is malformed.
 */
static int
pv_query(struct evhttp_request *req, const char *name, char *out, size_t len,
    struct hk_handshake *hs)
{
	int n = hk_admin_query(req, name, out, len);

	if (n == 0)
		return 0;
	if (n < 0 || !pv_token_ok(out)) {
		out[0] = '\0';
		pv_refuse(hs, 400, "bad_request",
		    "a handshake token is 1-511 visible ASCII characters");
	}
	return 1;
}

/* A text/plain answer of S (Meta, Dropbox). */
static int
pv_text(struct hk_handshake *hs, const char *s)
{
	pv_answer(hs, "text/plain");
	hk_buf_adds(&hs->hs_body, s);
	return 1;
}

/* Meta: GET ?hub.mode=subscribe&hub.verify_token=V&hub.challenge=C. */
static int
pv_meta_get(struct evhttp_request *req, const struct hk_webhook *wh,
    struct hk_handshake *hs)
{
	char mode[PV_TOKEN_MAX], vt[PV_TOKEN_MAX], c[PV_TOKEN_MAX];

	hs->hs_status = 0;
	if (!pv_query(req, "hub.challenge", c, sizeof(c), hs))
		return 0;
	if (hs->hs_status != 0)
		return 1;
	if (pv_query(req, "hub.mode", mode, sizeof(mode), hs) &&
	    hs->hs_status == 0 && strcmp(mode, "subscribe") == 0 &&
	    pv_query(req, "hub.verify_token", vt, sizeof(vt), hs) &&
	    hs->hs_status == 0 && wh->wh_verify_token != NULL &&
	    hk_str_ct_eq(vt, wh->wh_verify_token))
		return pv_text(hs, c);
	return pv_refuse(hs, 403, "invalid_token",
	    "hub.mode must be subscribe and hub.verify_token the webhook's verifyToken");
}

/* Dropbox: GET ?challenge=C, echoed. */
static int
pv_dropbox_get(struct evhttp_request *req, const struct hk_webhook *wh,
    struct hk_handshake *hs)
{
	char c[PV_TOKEN_MAX];

	(void)wh;
	hs->hs_status = 0;
	if (!pv_query(req, "challenge", c, sizeof(c), hs))
		return 0;
	return hs->hs_status != 0 ? 1 : pv_text(hs, c);
}

/* X's CRC: GET ?crc_token=T, {"response_token":"sha256=<base64>"}. */
static int
pv_x_get(struct evhttp_request *req, const struct hk_webhook *wh,
    struct hk_handshake *hs)
{
	char t[PV_TOKEN_MAX], mac[45];

	hs->hs_status = 0;
	if (!pv_query(req, "crc_token", t, sizeof(t), hs))
		return 0;
	if (hs->hs_status != 0)
		return 1;
	/*
	 * X signs bodies with the same HMAC under the same secret: the
	 * answer for a token that is a JSON text would be a valid signature
	 * of that body, made for anyone who asks.
	 */
	if (hk_json_scan(t, strlen(t), NULL, 0, NULL) == 0)
		return pv_refuse(hs, 400, "bad_request",
		    "a crc_token must not be a JSON text");
	if (hk_sig_mac_text(wh->wh_secret, (const unsigned char *)t, strlen(t),
	        1, mac, sizeof(mac)) != 0)
		return pv_refuse(
		    hs, 503, "unavailable", "the webhook has no secret");
	pv_answer(hs, "application/json");
	hk_buf_adds(&hs->hs_body, "{\"response_token\":\"sha256=");
	hk_buf_adds(&hs->hs_body, mac);
	hk_buf_adds(&hs->hs_body, "\"}\n");
	return 1;
}

/* The answers of each handshake kind a row names, by method. */
static const pv_get_fn pv_gets[HK_PV_HS_N] = {
    [HK_PV_HS_META] = pv_meta_get,
    [HK_PV_HS_DROPBOX] = pv_dropbox_get,
    [HK_PV_HS_X] = pv_x_get,
};
static const pv_post_fn pv_posts[HK_PV_HS_N] = {
    [HK_PV_HS_SLACK] = pv_slack_post,
    [HK_PV_HS_ZOOM] = pv_zoom_post,
};

int
hk_provider_get(struct evhttp_request *req, const struct hk_webhook *wh,
    struct hk_handshake *hs)
{
	const struct hk_provider *pv = wh->wh_provider;

	if (pv == NULL || pv_gets[pv->pv_handshake] == NULL ||
	    evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		return 0;
	return pv_gets[pv->pv_handshake](req, wh, hs);
}

int
hk_provider_post(const struct hk_webhook *wh, const char *payload, size_t plen,
    struct hk_handshake *hs)
{
	const struct hk_provider *pv = wh->wh_provider;

	if (pv == NULL || pv_posts[pv->pv_handshake] == NULL)
		return 0;
	return pv_posts[pv->pv_handshake](wh, payload, plen, hs);
}
