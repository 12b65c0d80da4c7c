/* Unit tests of lib/sig.c: the shared vectors, then sign/verify trips. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "hk.h"
#include "sig.h"
#include "t.h"

/* Headers of one request: a cJSON object, names case-insensitive. */
static const char *
hdr_get(void *arg, const char *name)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, (const cJSON *)arg)
		if (strcasecmp(h->string, name) == 0 && cJSON_IsString(h))
			return h->valuestring;
	return NULL;
}

static int
expect_rc(const char *e)
{
	if (strcmp(e, "ok") == 0)
		return 0;
	if (strcmp(e, "missing") == 0)
		return HK_ESIGMISSING;
	if (strcmp(e, "stale") == 0)
		return HK_ESTALE;
	if (strcmp(e, "badkey") == 0)
		return HK_EINVAL;
	return HK_ESIG;
}

static void
test_vectors(void)
{
	const char *path = getenv("HK_VECTORS");
	const cJSON *v;
	cJSON *all;
	char *text;
	int n = 0;

	text = t_slurp(path != NULL ? path : "proto/vectors/signatures.json",
	    NULL);
	T_CHECK(text != NULL);
	if (text == NULL)
		return;
	all = cJSON_Parse(text);
	free(text);
	T_CHECK(cJSON_IsArray(all));
	cJSON_ArrayForEach(v, all) {
		const char *name = cJSON_GetObjectItem(v, "name")->valuestring;
		const char *body = cJSON_GetObjectItem(v, "body")->valuestring;
		enum hk_scheme s;
		struct hk_sig_req r;
		int rc, want;

		T_CHECK(hk_sig_scheme_parse(cJSON_GetObjectItem(v,
		    "scheme")->valuestring, &s) == 0);
		r.get = hdr_get;
		r.arg = cJSON_GetObjectItem(v, "headers");
		r.body = (const unsigned char *)body;
		r.len = strlen(body);
		r.now = (long long)cJSON_GetObjectItem(v, "now")->valuedouble;
		r.tolerance = (long)cJSON_GetObjectItem(v,
		    "tolerance")->valuedouble;
		rc = hk_sig_verify(s, cJSON_GetObjectItem(v,
		    "secret")->valuestring, &r);
		want = expect_rc(cJSON_GetObjectItem(v, "expect")->valuestring);
		if (rc != want)
			fprintf(stderr, "vector '%s': got %d, want %d\n", name,
			    rc, want);
		T_CHECK(rc == want);
		/* Whether a signature is present is consistent with it. */
		if (want == 0)
			T_CHECK(hk_sig_present(s, hdr_get, r.arg));
		n++;
	}
	T_CHECK(n >= 40);
	cJSON_Delete(all);
}

/* Signs with each scheme, verifies, then flips one body byte. */
static void
test_roundtrip(void)
{
	static const char *secrets[] = {"plain-secret",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
	unsigned char body[] = "{\"a\":[1,2,3],\"s\":\"\\u00e9\"}";
	struct hk_sig_header out[3];
	struct hk_sig_req r;
	size_t si;
	int s, n, i;

	for (si = 0; si < HK_NELEM(secrets); si++)
		for (s = HK_SCHEME_HEX; s <= HK_SCHEME_SLACK; s++) {
			cJSON *h = cJSON_CreateObject();

			n = hk_sig_sign((enum hk_scheme)s, secrets[si], "msg_1",
			    1700000000, body, sizeof(body) - 1, out);
			T_CHECK(n >= 1 && n <= 3);
			for (i = 0; i < n; i++)
				cJSON_AddStringToObject(h, out[i].name,
				    out[i].value);
			r.get = hdr_get;
			r.arg = h;
			r.body = body;
			r.len = sizeof(body) - 1;
			r.now = 1700000100;
			r.tolerance = 0;
			T_CHECK(hk_sig_present((enum hk_scheme)s, hdr_get, h));
			T_CHECK(hk_sig_verify((enum hk_scheme)s, secrets[si],
			    &r) == 0);
			body[2] ^= 1;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, secrets[si],
			    &r) == HK_ESIG);
			body[2] ^= 1;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, "other", &r) ==
			    HK_ESIG);
			r.now = 1700000000 + 301;
			T_CHECK(hk_sig_verify((enum hk_scheme)s, secrets[si],
			    &r) == (s == HK_SCHEME_STANDARD ||
			    s == HK_SCHEME_STRIPE || s == HK_SCHEME_SLACK ?
			    HK_ESTALE : 0));
			cJSON_Delete(h);
		}
}

static void
test_names(void)
{
	enum hk_scheme s;
	int i;

	for (i = HK_SCHEME_HEX; i <= HK_SCHEME_SLACK; i++) {
		T_CHECK(hk_sig_scheme_parse(hk_sig_scheme_name(
		    (enum hk_scheme)i), &s) == 0);
		T_CHECK((int)s == i);
	}
	T_CHECK(hk_sig_scheme_parse("HEX", &s) == HK_EINVAL);
	T_CHECK(hk_sig_scheme_parse("", &s) == HK_EINVAL);
	T_CHECK(hk_sig_scheme_parse("md5", &s) == HK_EINVAL);
}

static void
test_standard_key(void)
{
	unsigned char key[HK_SIG_KEYMAX];
	char v1[128];

	T_CHECK(hk_sig_standard_key("whsec_AAEC", key) == 3);
	T_CHECK(key[0] == 0 && key[1] == 1 && key[2] == 2);
	T_CHECK(hk_sig_standard_key("raw", key) == 3);
	T_CHECK(memcmp(key, "raw", 3) == 0);
	T_CHECK(hk_sig_standard_key("whsec_", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("whsec_%%%", key) == HK_EINVAL);
	T_CHECK(hk_sig_standard_key("", key) == HK_EINVAL);
	/* The Standard Webhooks specification's own example. */
	T_CHECK(hk_sig_standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    key) == 24);
	T_CHECK(hk_sig_standard_v1(key, 24, "msg_p5jXN8AQM9LWM0D4loKWxJek",
	    1614265330, (const unsigned char *)"{\"test\": 2432232314}", 20,
	    v1, sizeof(v1)) == 0);
	T_STREQ(v1, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	T_CHECK(hk_sig_standard_v1(key, 24, "m", 1, NULL, 0, v1, 10) ==
	    HK_EINVAL);
}

static void
test_refusals(void)
{
	struct hk_sig_header out[3];
	struct hk_sig_req r = {hdr_get, NULL, NULL, 0, 0, 0};
	cJSON *h = cJSON_CreateObject();
	char hex[65];

	r.arg = h;
	T_CHECK(hk_sig_verify(HK_SCHEME_HEX, "", &r) == HK_EINVAL);
	T_CHECK(hk_sig_verify(HK_SCHEME_HEX, "s", &r) == HK_ESIGMISSING);
	T_CHECK(!hk_sig_present(HK_SCHEME_GITHUB, hdr_get, h));
	T_CHECK(hk_sig_sign(HK_SCHEME_HEX, "", NULL, 0, NULL, 0, out) ==
	    HK_EINVAL);
	T_CHECK(hk_sig_sign(HK_SCHEME_STANDARD, "s", NULL, 0, NULL, 0, out) ==
	    HK_EINVAL);
	/* RFC 4231 test case 2. */
	hk_sig_hex("Jefe", (const unsigned char *)"what do ya want for "
	    "nothing?", 28, hex);
	T_STREQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
		     "64ec3843");
	cJSON_Delete(h);
}

int
main(void)
{
	static const struct t_case cases[] = {
		{"vectors", test_vectors},
		{"roundtrip", test_roundtrip},
		{"names", test_names},
		{"standard_key", test_standard_key},
		{"refusals", test_refusals},
	};

	if (hk_sig_init() != 0)
		return 1;
	return t_run("sig", cases, HK_NELEM(cases));
}
