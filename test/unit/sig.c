/*
 * Unit tests of lib/sig.c: the shared vectors of proto/vectors (computed
 * outside hookd), then sign/verify round trips, exact sender output,
 * truncated, mutated and random headers, and the small helpers.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <sodium.h>

#include "hk.h"
#include "sig.h"
#include "sigreq.h"
#include "t.h"

#define NSCHEMES (HK_SCHEME_SLACK + 1)

static int
expect_rc(const char *e)
{
	if (strcmp(e, "ok") == 0)
		return 0;
	if (strcmp(e, "missing") == 0)
		return HK_ESIGMISSING;
	if (strcmp(e, "stale") == 0)
		return HK_ESTALE;
	if (strcmp(e, "invalid") == 0)
		return HK_ESIG;
	if (strcmp(e, "badkey") == 0)
		return HK_EINVAL;
	return 1; /* matches no return code: the vector is wrong */
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
jnum(const cJSON *o, const char *k, double *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v))
		return 0;
	*d = v->valuedouble;
	return 1;
}

static void
test_vectors(void)
{
	const char *path = getenv("HK_VECTORS");
	int n = 0, ok[NSCHEMES] = {0}, bad[NSCHEMES] = {0};
	const cJSON *v;
	cJSON *all;
	char *text;
	size_t i;

	if (path == NULL || *path == '\0')
		path = "proto/vectors/signatures.json";
	text = t_slurp(path, NULL);
	if (text == NULL)
		fprintf(stderr, "%s: cannot read\n", path);
	T_CHECK(text != NULL);
	if (text == NULL)
		return;
	all = cJSON_Parse(text);
	free(text);
	T_CHECK(cJSON_IsArray(all));
	cJSON_ArrayForEach(v, all) {
		const char *name = jstr(v, "name"), *body = jstr(v, "body");
		const char *scheme = jstr(v, "scheme"),
		           *sec = jstr(v, "secret");
		const char *expect = jstr(v, "expect");
		cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "headers");
		struct hk_sig_req r;
		enum hk_scheme s;
		double now, tol;
		int rc, want;

		n++;
		if (name == NULL || body == NULL || scheme == NULL ||
		    sec == NULL || expect == NULL || !cJSON_IsObject(h) ||
		    !jnum(v, "now", &now) || !jnum(v, "tolerance", &tol) ||
		    hk_sig_scheme_parse(scheme, &s) != 0 ||
		    (want = expect_rc(expect)) == 1) {
			fprintf(stderr, "vector %d (%s): malformed\n", n,
			    name != NULL ? name : "?");
			T_CHECK(!"malformed vector");
			continue;
		}
		r = req(h, body, (long long)now, (long)tol);
		rc = hk_sig_verify(s, sec, &r);
		if (rc != want)
			fprintf(stderr, "vector '%s': got %d (%s), want %s\n",
			    name, rc, hk_strerror(rc), expect);
		T_CHECK(rc == want);
		/* A request that verifies carries the scheme's header. */
		if (want == 0)
			T_CHECK(hk_sig_present(s, hdr_get, h));
		if (want == 0)
			ok[s]++;
		else
			bad[s]++;
	}
	cJSON_Delete(all);
	T_CHECK(n >= 100);
	for (i = 0; i < NSCHEMES; i++)
		T_CHECK(ok[i] > 0 && bad[i] > 0);
}

static const char *const secrets[] = {"plain-secret",
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"};

/* Signs with each scheme and secret, verifies, then spoils one thing. */
static void
test_roundtrip(void)
{
	char body[] = "{\"a\":[1,2,3],\"s\":\"\xc3\xa9\"}";
	struct hk_sig_header out[3];
	struct hk_sig_req r;
	size_t si;
	int s, n, timed;
	cJSON *h;

	for (si = 0; si < HK_NELEM(secrets); si++)
		for (s = 0; s < NSCHEMES; s++) {
			n = hk_sig_sign((enum hk_scheme)s, secrets[si], "msg_1",
			    1700000000, (unsigned char *)body, strlen(body),
			    out);
			T_CHECK(n ==
			    (s == HK_SCHEME_STANDARD       ? 3
			            : s == HK_SCHEME_SLACK ? 2
			                                   : 1));
			if (n < 1)
				continue;
			timed = s == HK_SCHEME_STANDARD ||
			    s == HK_SCHEME_STRIPE || s == HK_SCHEME_SLACK;
			h = hdrs(out, n);
			r = req(h, body, 1700000100, 0);
			T_CHECK(hk_sig_present((enum hk_scheme)s, hdr_get, h));
			T_CHECK(hk_sig_verify(
			            (enum hk_scheme)s, secrets[si], &r) == 0);
			body[2] ^= 1;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, secrets[si],
			            &r) == HK_ESIG);
			body[2] ^= 1;
			r.len--;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, secrets[si],
			            &r) == HK_ESIG);
			r.len++;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, "other", &r) ==
			    HK_ESIG);
			/* Past, future, and a tolerance that covers both. */
			r.now = 1700000000 + 301;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, secrets[si],
			            &r) == (timed ? HK_ESTALE : 0));
			r.now = 1700000000 - 301;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, secrets[si],
			            &r) == (timed ? HK_ESTALE : 0));
			r.tolerance = 301;
			T_CHECK(hk_sig_verify(
			            (enum hk_scheme)s, secrets[si], &r) == 0);
			cJSON_Delete(h);
		}
}

/* What a real sender sends, byte for byte (values from Python's hmac). */
static void
test_sign_exact(void)
{
	static const char body[] = "{\"a\":[1,2,3],\"s\":\"\xc3\xa9\"}";
	struct hk_sig_header out[3];
	const unsigned char *b = (const unsigned char *)body;
	size_t len = sizeof(body) - 1;

	T_CHECK(len == 22);
	T_CHECK(hk_sig_sign(
	            HK_SCHEME_HEX, "plain-secret", NULL, 0, b, len, out) == 1);
	T_STREQ(out[0].name, "X-Webhook-Signature");
	T_STREQ(out[0].value,
	    "a56206e1686d141a573c2814f408c42e3292e8812b1277"
	    "aaa62c1daa09fbc0bc");
	T_CHECK(hk_sig_sign(HK_SCHEME_GITHUB, "plain-secret", NULL, 0, b, len,
	            out) == 1);
	T_STREQ(out[0].name, "X-Hub-Signature-256");
	T_STREQ(out[0].value,
	    "sha256=a56206e1686d141a573c2814f408c42e3292e881"
	    "2b1277aaa62c1daa09fbc0bc");
	T_CHECK(hk_sig_sign(HK_SCHEME_STRIPE, "plain-secret", NULL, 1700000000,
	            b, len, out) == 1);
	T_STREQ(out[0].name, "Stripe-Signature");
	T_STREQ(out[0].value,
	    "t=1700000000,v1=688cb791971434635753539a6ae39af"
	    "2b7696f0c54a68e919b232f99a3ab548a");
	T_CHECK(hk_sig_sign(HK_SCHEME_SLACK, "plain-secret", NULL, 1700000000,
	            b, len, out) == 2);
	T_STREQ(out[0].name, "X-Slack-Signature");
	T_STREQ(out[0].value,
	    "v0=96930acc565fec497ce08350ec82b1e33e59b153a342"
	    "10816191b74b94092201");
	T_STREQ(out[1].name, "X-Slack-Request-Timestamp");
	T_STREQ(out[1].value, "1700000000");
	T_CHECK(hk_sig_sign(HK_SCHEME_STANDARD, secrets[1], "msg_1", 1700000000,
	            b, len, out) == 3);
	T_STREQ(out[0].name, "webhook-id");
	T_STREQ(out[0].value, "msg_1");
	T_STREQ(out[1].name, "webhook-timestamp");
	T_STREQ(out[1].value, "1700000000");
	T_STREQ(out[2].name, "webhook-signature");
	T_STREQ(
	    out[2].value, "v1,outBl7eJv6Wigs1lrxaQT9Q655BXnublclU9sUOU5U0=");
	/* Without whsec_ the secret's bytes are the key. */
	T_CHECK(hk_sig_sign(HK_SCHEME_STANDARD, "plain-secret", "msg_1",
	            1700000000, b, len, out) == 3);
	T_STREQ(
	    out[2].value, "v1,qpDgq/fgC3tlgDN6KGj4XMrSmjYPVHarSOyd/RzmGt4=");
}

/* The header of OUT[0..n-1] that carries the signature. */
static int
sig_index(int s)
{
	return s == HK_SCHEME_STANDARD ? 2 : 0;
}

/*
 * Every proper prefix of a valid signature header, and every change of one
 * character in any header (but for case, which hex ignores), fails.
 */
static void
test_truncate_mutate(void)
{
	static const char body[] = "{\"event\":\"x\"}";
	static const char repl[] = "0aAzZ=,. -9+/\x01\x7f";
	struct hk_sig_header out[3];
	struct hk_sig_req r;
	char save[HK_SIG_VALMAX], *val;
	size_t len, i, k;
	int s, n, j, rc;
	cJSON *h;

	for (s = 0; s < NSCHEMES; s++) {
		n = hk_sig_sign((enum hk_scheme)s, secrets[1], "msg_1",
		    1700000000, (const unsigned char *)body, strlen(body), out);
		T_CHECK(n > 0);
		if (n <= 0)
			continue;
		val = out[sig_index(s)].value;
		memcpy(save, val, sizeof(save));
		len = strlen(save);
		for (i = 0; i < len; i++) {
			val[i] = '\0';
			h = hdrs(out, n);
			r = req(h, body, 1700000000, 0);
			rc = hk_sig_verify((enum hk_scheme)s, secrets[1], &r);
			if (rc == 0)
				fprintf(stderr, "%s: prefix %zu verified\n",
				    hk_sig_scheme_name((enum hk_scheme)s), i);
			T_CHECK(rc == HK_ESIG || rc == HK_ESTALE);
			cJSON_Delete(h);
			memcpy(val, save, sizeof(save));
		}
		for (j = 0; j < n; j++) {
			val = out[j].value;
			memcpy(save, val, sizeof(save));
			len = strlen(save);
			for (i = 0; i < len; i++)
				for (k = 0; k < sizeof(repl) - 1; k++) {
					if (tolower((unsigned char)repl[k]) ==
					    tolower((unsigned char)val[i]))
						continue;
					val[i] = repl[k];
					h = hdrs(out, n);
					r = req(h, body, 1700000000, 0);
					rc = hk_sig_verify(
					    (enum hk_scheme)s, secrets[1], &r);
					if (rc == 0)
						fprintf(stderr,
						    "%s: '%s' verified\n",
						    out[j].name, val);
					T_CHECK(
					    rc == HK_ESIG || rc == HK_ESTALE);
					cJSON_Delete(h);
					val[i] = save[i];
				}
		}
	}
}

static uint32_t
rnd(uint32_t *st)
{
	/* xorshift32: reproducible, which a failing run needs. */
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

/*
 * Random headers built from the pieces the parsers look for. Nothing may
 * verify, and ASan watches that nothing reads past a header's end.
 */
static void
test_garbage(void)
{
	static const char *const piece[] = {"t=", "v1=", "v0=", "v1,", ",", " ",
	    "=", "sha256=", "1700000000", "0", "-", "whsec_", "AAAA",
	    "abcdef0123456789", "====", "\xff", "9999999999999999999999"};
	static const char *const names[][3] = {
	    {"X-Webhook-Signature", "X-Event-Signature", NULL},
	    {"X-Hub-Signature-256", NULL, NULL},
	    {"webhook-id", "webhook-timestamp", "webhook-signature"},
	    {"Stripe-Signature", NULL, NULL},
	    {"X-Slack-Signature", "X-Slack-Request-Timestamp", NULL},
	};
	uint32_t st = 0x9e3779b9;
	char val[3][160];
	struct hk_sig_req r;
	int s, i, j, k, np, rc, bad = 0;
	cJSON *h;

	for (i = 0; i < 20000; i++) {
		s = (int)(rnd(&st) % NSCHEMES);
		h = cJSON_CreateObject();
		for (j = 0; j < 3 && names[s][j] != NULL; j++) {
			val[j][0] = '\0';
			np = (int)(rnd(&st) % 8);
			for (k = 0; k < np; k++)
				strcat(
				    val[j], piece[rnd(&st) % HK_NELEM(piece)]);
			if (rnd(&st) % 8 != 0)
				cJSON_AddStringToObject(h, names[s][j], val[j]);
		}
		r = req(h, "{}", 1700000000, (long)(rnd(&st) % 3) - 1);
		rc = hk_sig_verify((enum hk_scheme)s, "whsec_AAAA", &r);
		if (rc != HK_ESIG && rc != HK_ESIGMISSING && rc != HK_ESTALE)
			bad++;
		cJSON_Delete(h);
	}
	T_CHECK(bad == 0);
}

static void
test_present(void)
{
	static const struct {
		int scheme;
		const char *name;
		int present;
	} c[] = {
	    {HK_SCHEME_HEX, "X-Webhook-Signature", 1},
	    {HK_SCHEME_HEX, "x-webhook-signature", 1},
	    {HK_SCHEME_HEX, "X-Event-Signature", 1},
	    {HK_SCHEME_HEX, "X-Hub-Signature-256", 0},
	    {HK_SCHEME_GITHUB, "X-Hub-Signature-256", 1},
	    {HK_SCHEME_GITHUB, "X-Hub-Signature", 0},
	    {HK_SCHEME_GITHUB, "X-Webhook-Signature", 0},
	    {HK_SCHEME_STANDARD, "webhook-signature", 1},
	    {HK_SCHEME_STANDARD, "svix-signature", 1},
	    {HK_SCHEME_STANDARD, "webhook-id", 0},
	    {HK_SCHEME_STANDARD, "webhook-timestamp", 0},
	    {HK_SCHEME_STRIPE, "Stripe-Signature", 1},
	    {HK_SCHEME_STRIPE, "X-Webhook-Signature", 0},
	    {HK_SCHEME_SLACK, "X-Slack-Signature", 1},
	    {HK_SCHEME_SLACK, "X-Slack-Request-Timestamp", 0},
	};
	size_t i;
	int s;
	cJSON *h;

	for (i = 0; i < HK_NELEM(c); i++) {
		h = cJSON_CreateObject();
		cJSON_AddStringToObject(h, c[i].name, "x");
		if (hk_sig_present((enum hk_scheme)c[i].scheme, hdr_get, h) !=
		    c[i].present)
			fprintf(stderr, "present(%s, %s) != %d\n",
			    hk_sig_scheme_name((enum hk_scheme)c[i].scheme),
			    c[i].name, c[i].present);
		T_CHECK(hk_sig_present((enum hk_scheme)c[i].scheme, hdr_get,
		            h) == c[i].present);
		cJSON_Delete(h);
	}
	/* No headers at all; an empty value is still a header. */
	h = cJSON_CreateObject();
	for (s = 0; s < NSCHEMES; s++)
		T_CHECK(!hk_sig_present((enum hk_scheme)s, hdr_get, h));
	cJSON_AddStringToObject(h, "Stripe-Signature", "");
	T_CHECK(hk_sig_present(HK_SCHEME_STRIPE, hdr_get, h));
	cJSON_Delete(h);
}

static void
test_names(void)
{
	enum hk_scheme s;
	int i;

	for (i = 0; i < NSCHEMES; i++) {
		T_CHECK(hk_sig_scheme_parse(
		            hk_sig_scheme_name((enum hk_scheme)i), &s) == 0);
		T_CHECK((int)s == i);
	}
	T_CHECK(hk_sig_scheme_parse("hex", &s) == 0 && s == HK_SCHEME_HEX);
	T_CHECK(
	    hk_sig_scheme_parse("github", &s) == 0 && s == HK_SCHEME_GITHUB);
	T_CHECK(hk_sig_scheme_parse("standard", &s) == 0 &&
	    s == HK_SCHEME_STANDARD);
	T_CHECK(
	    hk_sig_scheme_parse("stripe", &s) == 0 && s == HK_SCHEME_STRIPE);
	T_CHECK(hk_sig_scheme_parse("slack", &s) == 0 && s == HK_SCHEME_SLACK);
	T_CHECK(hk_sig_scheme_parse("HEX", &s) == HK_EINVAL);
	T_CHECK(hk_sig_scheme_parse("hex ", &s) == HK_EINVAL);
	T_CHECK(hk_sig_scheme_parse("", &s) == HK_EINVAL);
	T_CHECK(hk_sig_scheme_parse("md5", &s) == HK_EINVAL);
	T_CHECK(hk_sig_scheme_parse(NULL, &s) == HK_EINVAL);
	T_STREQ(hk_sig_scheme_name(HK_SCHEME_STANDARD), "standard");
	T_STREQ(hk_sig_scheme_name((enum hk_scheme)99), "unknown");
}

static void
test_standard_key(void)
{
	unsigned char key[HK_SIG_KEYMAX], big[HK_SIG_KEYMAX + 1];
	char sec[8 + 4 * (HK_SIG_KEYMAX + 3) / 3], v1[64];
	size_t i;

	T_CHECK(hk_sig_standard_key("whsec_AAEC", key) == 3);
	T_CHECK(key[0] == 0 && key[1] == 1 && key[2] == 2);
	T_CHECK(hk_sig_standard_key(secrets[1], key) == 32);
	for (i = 0; i < 32; i++)
		T_CHECK(key[i] == i);
	/* A Stripe-format secret is valid base64 too: 24 bytes. */
	T_CHECK(hk_sig_standard_key(secrets[2], key) == 24);
	T_CHECK(hk_sig_standard_key("raw", key) == 3);
	T_CHECK(memcmp(key, "raw", 3) == 0);
	T_CHECK(hk_sig_standard_key("whsec", key) == 5);
	T_CHECK(hk_sig_standard_key("WHSEC_AAEC", key) == 10);
	T_CHECK(hk_sig_standard_key("whsec_", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("whsec_%%%", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("whsec_AAE", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("whsec_AAEC=", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("whsec_AAEC ", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("whsec_test_secret", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key(NULL, key) == HK_EINVAL);
	/* HK_SIG_KEYMAX bytes fit, one more does not, in either form. */
	memset(sec, 'k', HK_SIG_KEYMAX + 1);
	sec[HK_SIG_KEYMAX + 1] = '\0';
	T_CHECK(hk_sig_standard_key(sec, key) == HK_EINVAL);
	sec[HK_SIG_KEYMAX] = '\0';
	T_CHECK(hk_sig_standard_key(sec, key) == HK_SIG_KEYMAX);
	memset(big, 7, sizeof(big));
	memcpy(sec, "whsec_", 6);
	T_CHECK(sodium_bin2base64(sec + 6, sizeof(sec) - 6, big, HK_SIG_KEYMAX,
	            sodium_base64_VARIANT_ORIGINAL) != NULL);
	T_CHECK(hk_sig_standard_key(sec, key) == HK_SIG_KEYMAX);
	T_CHECK(sodium_bin2base64(sec + 6, sizeof(sec) - 6, big, sizeof(big),
	            sodium_base64_VARIANT_ORIGINAL) != NULL);
	T_CHECK(hk_sig_standard_key(sec, key) == HK_EINVAL);
	/* The Standard Webhooks specification's own example. */
	T_CHECK(hk_sig_standard_key(
	            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key) == 24);
	T_CHECK(hk_sig_standard_v1(key, 24, "msg_p5jXN8AQM9LWM0D4loKWxJek",
	            1614265330, (const unsigned char *)"{\"test\": 2432232314}",
	            20, v1, sizeof(v1)) == 0);
	T_STREQ(v1, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* "v1," + 44 characters + NUL is the least room that works. */
	T_CHECK(hk_sig_standard_v1(key, 24, "m", 1, NULL, 0, v1, 48) == 0);
	T_CHECK(strlen(v1) == 47);
	T_CHECK(
	    hk_sig_standard_v1(key, 24, "m", 1, NULL, 0, v1, 47) == HK_EINVAL);
	T_CHECK(
	    hk_sig_standard_v1(key, 24, "m", 1, NULL, 0, v1, 10) == HK_EINVAL);
}

static void
test_refusals(void)
{
	struct hk_sig_header out[3];
	struct hk_sig_req r = {hdr_get, NULL, NULL, 0, 0, 0};
	cJSON *h = cJSON_CreateObject();
	char hex[65], id[HK_SIG_VALMAX + 1];
	int s;

	r.arg = h;
	for (s = 0; s < NSCHEMES; s++) {
		T_CHECK(hk_sig_verify((enum hk_scheme)s, "", &r) == HK_EINVAL);
		T_CHECK(
		    hk_sig_verify((enum hk_scheme)s, NULL, &r) == HK_EINVAL);
		T_CHECK(
		    hk_sig_verify((enum hk_scheme)s, "s", NULL) == HK_EINVAL);
		T_CHECK(hk_sig_verify((enum hk_scheme)s, "s", &r) ==
		    HK_ESIGMISSING);
		T_CHECK(hk_sig_sign((enum hk_scheme)s, "", "m", 1, NULL, 0,
		            out) == HK_EINVAL);
		T_CHECK(hk_sig_sign((enum hk_scheme)s, NULL, "m", 1, NULL, 0,
		            out) == HK_EINVAL);
	}
	T_CHECK(hk_sig_verify((enum hk_scheme)99, "s", &r) == HK_EINVAL);
	/* A bad Standard key is reported whatever the request. */
	T_CHECK(hk_sig_verify(HK_SCHEME_STANDARD, "whsec_!", &r) == HK_EINVAL);
	T_CHECK(hk_sig_sign(HK_SCHEME_STANDARD, "s", NULL, 0, NULL, 0, out) ==
	    HK_EINVAL);
	T_CHECK(hk_sig_sign(HK_SCHEME_STANDARD, "whsec_!", "m", 0, NULL, 0,
	            out) == HK_EINVAL);
	T_CHECK(hk_sig_sign(HK_SCHEME_STRIPE, "s", NULL, -1, NULL, 0, out) ==
	    HK_EINVAL);
	T_CHECK(hk_sig_sign(HK_SCHEME_SLACK, "s", NULL, -1, NULL, 0, out) ==
	    HK_EINVAL);
	T_CHECK(hk_sig_sign((enum hk_scheme)99, "s", NULL, 0, NULL, 0, out) ==
	    HK_EINVAL);
	/* An id that would not fit its header is refused, not cut. */
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	T_CHECK(hk_sig_sign(HK_SCHEME_STANDARD, "s", id, 0, NULL, 0, out) ==
	    HK_EINVAL);
	id[HK_SIG_VALMAX - 1] = '\0';
	T_CHECK(hk_sig_sign(HK_SCHEME_STANDARD, "s", id, 0, NULL, 0, out) == 3);
	/* An empty body is signed and verified like any other. */
	T_CHECK(hk_sig_sign(HK_SCHEME_HEX, "s", NULL, 0, NULL, 0, out) == 1);
	cJSON_AddStringToObject(h, out[0].name, out[0].value);
	T_CHECK(hk_sig_verify(HK_SCHEME_HEX, "s", &r) == 0);
	/* RFC 4231 test case 2. */
	hk_sig_hex("Jefe",
	    (const unsigned char *)"what do ya want for nothing?", 28, hex);
	T_STREQ(hex,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
	    "64ec3843");
	cJSON_Delete(h);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"vectors", test_vectors},
	    {"roundtrip", test_roundtrip},
	    {"sign_exact", test_sign_exact},
	    {"truncate_mutate", test_truncate_mutate},
	    {"garbage", test_garbage},
	    {"present", test_present},
	    {"names", test_names},
	    {"standard_key", test_standard_key},
	    {"refusals", test_refusals},
	};

	if (hk_sig_init() != 0) {
		fprintf(stderr, "sig: sodium_init failed\n");
		return 1;
	}
	return t_run("sig", cases, HK_NELEM(cases));
}
