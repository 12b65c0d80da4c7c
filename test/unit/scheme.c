/*
 * Unit tests of lib/sig.c's scheme rows beyond the first five (the
 * providers' schemes: gitlab, shopify, zoom, meta, dropbox, x): the
 * vectors of proto/vectors/providers.json (computed with Python's hmac),
 * sign/verify round trips of every row, exact sender output, truncated
 * and mutated headers. test/unit/sig.c keeps the first five.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "hk.h"
#include "sig.h"
#include "sigreq.h"
#include "t.h"

static int
expect_rc(const char *e)
{
	static const struct {
		const char *name;
		int rc;
	} m[] = {{"ok", 0}, {"missing", HK_ESIGMISSING}, {"stale", HK_ESTALE},
	    {"invalid", HK_ESIG}, {"badkey", HK_EINVAL}};
	size_t i;

	for (i = 0; i < HK_NELEM(m); i++)
		if (strcmp(e, m[i].name) == 0)
			return m[i].rc;
	return 1;
}

static void
test_vectors(void)
{
	const char *path = getenv("HK_PROVIDER_VECTORS");
	int n = 0, ok[HK_SCHEME_COUNT] = {0}, bad[HK_SCHEME_COUNT] = {0};
	const cJSON *v;
	cJSON *all;
	char *text;
	int i;

	if (path == NULL || *path == '\0')
		path = "proto/vectors/providers.json";
	if ((text = t_slurp(path, NULL)) == NULL)
		fprintf(stderr, "%s: cannot read\n", path);
	T_CHECK(text != NULL);
	if (text == NULL)
		return;
	all = cJSON_Parse(text);
	free(text);
	T_CHECK(cJSON_IsArray(all));
	cJSON_ArrayForEach(v, all) {
		const cJSON *nm = cJSON_GetObjectItem(v, "name"),
		            *sc = cJSON_GetObjectItem(v, "scheme"),
		            *sec = cJSON_GetObjectItem(v, "secret"),
		            *body = cJSON_GetObjectItem(v, "body"),
		            *ex = cJSON_GetObjectItem(v, "expect"),
		            *now = cJSON_GetObjectItem(v, "now"),
		            *tol = cJSON_GetObjectItem(v, "tolerance");
		cJSON *h = cJSON_GetObjectItem(v, "headers");
		struct hk_sig_req r;
		enum hk_scheme s;
		int rc, want;

		n++;
		if (!cJSON_IsString(nm) || !cJSON_IsString(sc) ||
		    !cJSON_IsString(sec) || !cJSON_IsString(body) ||
		    !cJSON_IsString(ex) || !cJSON_IsNumber(now) ||
		    !cJSON_IsNumber(tol) || !cJSON_IsObject(h) ||
		    hk_sig_scheme_parse(sc->valuestring, &s) != 0 ||
		    (want = expect_rc(ex->valuestring)) == 1) {
			fprintf(stderr, "vector %d: malformed\n", n);
			T_CHECK(!"malformed vector");
			continue;
		}
		r = req(h, body->valuestring, (long long)now->valuedouble,
		    (long)tol->valuedouble);
		rc = hk_sig_verify(s, sec->valuestring, &r);
		if (rc != want)
			fprintf(stderr, "vector '%s': got %d (%s), want %s\n",
			    nm->valuestring, rc, hk_strerror(rc),
			    ex->valuestring);
		T_CHECK(rc == want);
		if (want == 0)
			T_CHECK(hk_sig_present(s, hdr_get, h));
		if (want == 0)
			ok[s]++;
		else
			bad[s]++;
	}
	cJSON_Delete(all);
	T_CHECK(n >= 50);
	for (i = HK_SCHEME_SLACK + 1; i < HK_SCHEME_COUNT; i++) {
		if (ok[i] == 0 || bad[i] == 0)
			fprintf(stderr, "no vectors of both verdicts for %s\n",
			    hk_sig_scheme_name((enum hk_scheme)i));
		T_CHECK(ok[i] > 0 && bad[i] > 0);
	}
}

/* Every row signs, verifies, and refuses a changed body or secret. */
static void
test_roundtrip(void)
{
	char body[] = "{\"a\":[1,2,3],\"s\":\"\xc3\xa9\"}";
	struct hk_sig_header out[3];
	struct hk_sig_req r;
	int s, n;
	cJSON *h;

	for (s = 0; s < HK_SCHEME_COUNT; s++) {
		n = hk_sig_sign((enum hk_scheme)s, "row-secret", "msg_1",
		    1700000000, (unsigned char *)body, strlen(body), out);
		T_CHECK(n >= 1 && n <= 3);
		if (n < 1)
			continue;
		h = hdrs(out, n);
		r = req(h, body, 1700000000, 0);
		T_CHECK(hk_sig_present((enum hk_scheme)s, hdr_get, h));
		T_CHECK(
		    hk_sig_verify((enum hk_scheme)s, "row-secret", &r) == 0);
		T_CHECK(hk_sig_verify((enum hk_scheme)s, "row-secreT", &r) ==
		    HK_ESIG);
		/* GitLab's token does not depend on the body. */
		body[2] ^= 1;
		T_CHECK(hk_sig_verify((enum hk_scheme)s, "row-secret", &r) ==
		    (s == HK_SCHEME_GITLAB ? 0 : HK_ESIG));
		body[2] ^= 1;
		r.now = 1700000000 + 301;
		T_CHECK(hk_sig_verify((enum hk_scheme)s, "row-secret", &r) ==
		    (hk_sig_timed((enum hk_scheme)s) ? HK_ESTALE : 0));
		cJSON_Delete(h);
	}
}

/* What each provider sends, byte for byte (values from Python's hmac). */
static void
test_sign_exact(void)
{
	static const char body[] = "{\"a\":[1,2,3],\"s\":\"\xc3\xa9\"}";
	const unsigned char *b = (const unsigned char *)body;
	struct hk_sig_header out[3];
	size_t len = sizeof(body) - 1;

	T_CHECK(hk_sig_sign(HK_SCHEME_GITLAB, "plain-secret", NULL, 0, b, len,
	            out) == 1);
	T_STREQ(out[0].name, "X-Gitlab-Token");
	T_STREQ(out[0].value, "plain-secret");
	T_CHECK(hk_sig_sign(HK_SCHEME_SHOPIFY, "plain-secret", NULL, 0, b, len,
	            out) == 1);
	T_STREQ(out[0].name, "X-Shopify-Hmac-Sha256");
	T_STREQ(out[0].value, "pWIG4WhtFBpXPCgU9AjELjKS6IErEneqpiwdqgn7wLw=");
	T_CHECK(hk_sig_sign(HK_SCHEME_ZOOM, "plain-secret", NULL, 1700000000, b,
	            len, out) == 2);
	T_STREQ(out[0].name, "x-zm-signature");
	T_STREQ(out[0].value,
	    "v0=96930acc565fec497ce08350ec82b1e33e59b153a342"
	    "10816191b74b94092201");
	T_STREQ(out[1].name, "x-zm-request-timestamp");
	T_STREQ(out[1].value, "1700000000");
	T_CHECK(hk_sig_sign(
	            HK_SCHEME_META, "plain-secret", NULL, 0, b, len, out) == 1);
	T_STREQ(out[0].name, "X-Hub-Signature-256");
	T_STREQ(out[0].value,
	    "sha256=a56206e1686d141a573c2814f408c42e3292e881"
	    "2b1277aaa62c1daa09fbc0bc");
	T_CHECK(hk_sig_sign(HK_SCHEME_DROPBOX, "plain-secret", NULL, 0, b, len,
	            out) == 1);
	T_STREQ(out[0].name, "X-Dropbox-Signature");
	T_STREQ(out[0].value,
	    "a56206e1686d141a573c2814f408c42e3292e8812b1277"
	    "aaa62c1daa09fbc0bc");
	T_CHECK(hk_sig_sign(
	            HK_SCHEME_X, "plain-secret", NULL, 0, b, len, out) == 1);
	T_STREQ(out[0].name, "X-Twitter-Webhooks-Signature");
	T_STREQ(out[0].value,
	    "sha256=pWIG4WhtFBpXPCgU9AjELjKS6IErEneqpiwdqgn7wLw=");
}

/*
 * Every proper prefix of a valid signature header, and every change of
 * one character (but for case, which hex ignores), fails.
 */
static void
test_truncate_mutate(void)
{
	static const char body[] = "{\"event\":\"x\"}";
	static const char repl[] = "0aAzZ=,. -9+/\x01\x7f";
	struct hk_sig_header out[3];
	char save[HK_SIG_VALMAX], *val;
	struct hk_sig_req r;
	size_t i, k, len;
	int s, n, rc;
	cJSON *h;

	for (s = HK_SCHEME_SLACK + 1; s < HK_SCHEME_COUNT; s++) {
		n = hk_sig_sign((enum hk_scheme)s, "mutate-secret", "m",
		    1700000000, (const unsigned char *)body, strlen(body), out);
		T_CHECK(n > 0);
		if (n <= 0)
			continue;
		val = out[0].value;
		memcpy(save, val, sizeof(save));
		len = strlen(save);
		for (i = 0; i < len; i++) {
			val[i] = '\0';
			h = hdrs(out, n);
			r = req(h, body, 1700000000, 0);
			rc = hk_sig_verify(
			    (enum hk_scheme)s, "mutate-secret", &r);
			T_CHECK(rc == HK_ESIG);
			cJSON_Delete(h);
			memcpy(val, save, sizeof(save));
			for (k = 0; k < sizeof(repl) - 1; k++) {
				if (tolower((unsigned char)repl[k]) ==
				        tolower((unsigned char)save[i]) &&
				    s != HK_SCHEME_GITLAB &&
				    s != HK_SCHEME_SHOPIFY && s != HK_SCHEME_X)
					continue;
				if (repl[k] == save[i])
					continue;
				val[i] = repl[k];
				h = hdrs(out, n);
				r = req(h, body, 1700000000, 0);
				rc = hk_sig_verify(
				    (enum hk_scheme)s, "mutate-secret", &r);
				if (rc == 0)
					fprintf(stderr, "%s: '%s' verified\n",
					    out[0].name, val);
				T_CHECK(rc == HK_ESIG);
				cJSON_Delete(h);
				val[i] = save[i];
			}
		}
	}
}

static void
test_names(void)
{
	static const char *const want[] = {"hex", "github", "standard",
	    "stripe", "slack", "gitlab", "shopify", "zoom", "meta", "dropbox",
	    "x"};
	enum hk_scheme s;
	size_t i;

	T_CHECK(HK_NELEM(want) == HK_SCHEME_COUNT);
	for (i = 0; i < HK_NELEM(want); i++) {
		T_CHECK(
		    hk_sig_scheme_parse(want[i], &s) == 0 && (size_t)s == i);
		T_STREQ(hk_sig_scheme_name((enum hk_scheme)i), want[i]);
	}
	T_CHECK(hk_sig_scheme_parse("X", &s) == HK_EINVAL);
	T_CHECK(hk_sig_timed(HK_SCHEME_ZOOM) && hk_sig_timed(HK_SCHEME_SLACK) &&
	    hk_sig_timed(HK_SCHEME_STRIPE) && hk_sig_timed(HK_SCHEME_STANDARD));
	T_CHECK(!hk_sig_timed(HK_SCHEME_GITLAB) && !hk_sig_timed(HK_SCHEME_X) &&
	    !hk_sig_timed(HK_SCHEME_HEX));
}

/* The HMAC a handshake answers with (Zoom hex, X base64). */
static void
test_mac_text(void)
{
	char out[65];

	T_CHECK(hk_sig_mac_text("plain-secret",
	            (const unsigned char *)"{\"a\":[1,2,3],\"s\":\"\xc3\xa9\"}",
	            22, 0, out, sizeof(out)) == 0);
	T_STREQ(out,
	    "a56206e1686d141a573c2814f408c42e3292e8812b1277aaa62c1daa09fbc0bc");
	T_CHECK(hk_sig_mac_text("plain-secret",
	            (const unsigned char *)"{\"a\":[1,2,3],\"s\":\"\xc3\xa9\"}",
	            22, 1, out, sizeof(out)) == 0);
	T_STREQ(out, "pWIG4WhtFBpXPCgU9AjELjKS6IErEneqpiwdqgn7wLw=");
	T_CHECK(hk_sig_mac_text("k", NULL, 0, 0, out, 64) == HK_EINVAL);
	T_CHECK(hk_sig_mac_text("", NULL, 0, 0, out, 65) == HK_EINVAL);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"vectors", test_vectors},
	    {"roundtrip", test_roundtrip},
	    {"sign_exact", test_sign_exact},
	    {"truncate_mutate", test_truncate_mutate},
	    {"names", test_names},
	    {"mac_text", test_mac_text},
	};

	if (hk_sig_init() != 0) {
		fprintf(stderr, "scheme: sodium_init failed\n");
		return 1;
	}
	return t_run("scheme", cases, HK_NELEM(cases));
}
