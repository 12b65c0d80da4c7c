/*
 * sig.c: the five HMAC-SHA256 signature schemes of SPEC §3.
 *
 * Each scheme differs only in where the signature and timestamp travel
 * and in what is signed; sig_content() is the one place that knows the
 * signed content, for verifying and for signing alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "hk.h"
#include "sig.h"

#define SIG_MAC crypto_auth_hmacsha256_BYTES /* 32 */

static const char *const sig_names[] = {"hex", "github", "standard",
	"stripe", "slack"};

int
hk_sig_init(void)
{
	return sodium_init() < 0 ? HK_ERR : 0;
}

int
hk_sig_scheme_parse(const char *s, enum hk_scheme *out)
{
	size_t i;

	for (i = 0; i < HK_NELEM(sig_names); i++)
		if (strcmp(s, sig_names[i]) == 0) {
			*out = (enum hk_scheme)i;
			return 0;
		}
	return HK_EINVAL;
}

const char *
hk_sig_scheme_name(enum hk_scheme s)
{
	return (size_t)s < HK_NELEM(sig_names) ? sig_names[s] : "unknown";
}

/* One piece of the signed content. */
struct sig_part {
	const void *p;
	size_t n;
};

/* HMAC-SHA256 of the concatenation of the N parts. */
static void
sig_mac(const unsigned char *key, size_t klen, const struct sig_part *part,
    size_t n, unsigned char out[SIG_MAC])
{
	crypto_auth_hmacsha256_state st;
	size_t i;

	crypto_auth_hmacsha256_init(&st, key, klen);
	for (i = 0; i < n; i++)
		if (part[i].n > 0)
			crypto_auth_hmacsha256_update(&st, part[i].p,
			    part[i].n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* The MAC of a scheme's signed content (SPEC §3's table). */
static void
sig_content(enum hk_scheme scheme, const unsigned char *key, size_t klen,
    const char *id, const char *ts, size_t tslen, const unsigned char *body,
    size_t len, unsigned char out[SIG_MAC])
{
	struct sig_part part[5];
	size_t n = 0;

	switch (scheme) {
	case HK_SCHEME_STANDARD: /* id.ts.body */
		part[n++] = (struct sig_part){id, id != NULL ? strlen(id) : 0};
		part[n++] = (struct sig_part){".", 1};
		part[n++] = (struct sig_part){ts, tslen};
		part[n++] = (struct sig_part){".", 1};
		break;
	case HK_SCHEME_STRIPE: /* ts.body */
		part[n++] = (struct sig_part){ts, tslen};
		part[n++] = (struct sig_part){".", 1};
		break;
	case HK_SCHEME_SLACK: /* v0:ts:body */
		part[n++] = (struct sig_part){"v0:", 3};
		part[n++] = (struct sig_part){ts, tslen};
		part[n++] = (struct sig_part){":", 1};
		break;
	default: /* body */
		break;
	}
	part[n++] = (struct sig_part){body, len};
	sig_mac(key, klen, part, n, out);
}

/*
 * Whether the LEN hex digits at S (either case) encode MAC. The length is
 * checked first; the digits are decoded without branching on their
 * value and compared in constant time.
 */
static int
sig_hex_eq(const char *s, size_t len, const unsigned char mac[SIG_MAC])
{
	unsigned char got[SIG_MAC];
	size_t bin, i;
	int ok;

	if (len != 2 * SIG_MAC)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("0123456789abcdefABCDEF", s[i]) == NULL ||
		    s[i] == '\0')
			return 0;
	if (sodium_hex2bin(got, sizeof(got), s, len, NULL, &bin, NULL) != 0 ||
	    bin != SIG_MAC)
		return 0;
	ok = sodium_memcmp(got, mac, SIG_MAC) == 0;
	sodium_memzero(got, sizeof(got));
	return ok;
}

/* Whether the LEN base64 characters at S encode MAC. */
static int
sig_b64_eq(const char *s, size_t len, const unsigned char mac[SIG_MAC])
{
	unsigned char got[SIG_MAC + 3];
	size_t bin;
	const char *end;
	int ok;

	if (len != 44)
		return 0;
	if (sodium_base642bin(got, sizeof(got), s, len, NULL, &bin, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len ||
	    bin != SIG_MAC)
		return 0;
	ok = sodium_memcmp(got, mac, SIG_MAC) == 0;
	sodium_memzero(got, sizeof(got));
	return ok;
}

/*
 * A timestamp header: decimal seconds, nothing else. Returns 0, HK_ESIG
 * when malformed, HK_ESTALE when outside the tolerance.
 */
static int
sig_ts(const char *s, size_t len, const struct hk_sig_req *r, long long *ts)
{
	long long v = 0, tol = r->tolerance > 0 ? r->tolerance :
	    HK_SIG_TOLERANCE;
	size_t i;

	if (len == 0 || len > 12)
		return HK_ESIG;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return HK_ESIG;
		v = v * 10 + (s[i] - '0');
	}
	*ts = v;
	if (v < r->now - tol || v > r->now + tol)
		return HK_ESTALE;
	return 0;
}

static const char *
sig_get(const struct hk_sig_req *r, const char *name, const char *alias)
{
	const char *v = r->get(r->arg, name);

	if (v == NULL && alias != NULL)
		v = r->get(r->arg, alias);
	return v;
}

/* "sha256=" in front of a hex signature, any case. */
static const char *
sig_skip_sha256(const char *s)
{
	return strncasecmp(s, "sha256=", 7) == 0 ? s + 7 : s;
}

int
hk_sig_standard_key(const char *secret, unsigned char *key)
{
	size_t n = strlen(secret), bin;
	const char *end;

	if (strncmp(secret, "whsec_", 6) != 0) {
		if (n == 0 || n > HK_SIG_KEYMAX)
			return HK_EINVAL;
		memcpy(key, secret, n);
		return (int)n;
	}
	secret += 6;
	n -= 6;
	if (n == 0 || sodium_base642bin(key, HK_SIG_KEYMAX, secret, n, NULL,
	    &bin, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != secret + n || bin == 0)
		return HK_EINVAL;
	return (int)bin;
}

static int
sig_verify_standard(const char *secret, const struct hk_sig_req *r)
{
	unsigned char key[HK_SIG_KEYMAX], mac[SIG_MAC];
	const char *id, *tss, *sigs, *p, *e;
	long long ts;
	int klen, rc, ok = 0;

	id = sig_get(r, "webhook-id", "svix-id");
	tss = sig_get(r, "webhook-timestamp", "svix-timestamp");
	sigs = sig_get(r, "webhook-signature", "svix-signature");
	if (id == NULL || tss == NULL || sigs == NULL)
		return HK_ESIGMISSING;
	if ((rc = sig_ts(tss, strlen(tss), r, &ts)) != 0)
		return rc;
	if ((klen = hk_sig_standard_key(secret, key)) < 0)
		return HK_EINVAL;
	sig_content(HK_SCHEME_STANDARD, key, (size_t)klen, id, tss,
	    strlen(tss), r->body, r->len, mac);
	sodium_memzero(key, sizeof(key));
	/* Space-separated "v1,<b64>" entries; other versions are skipped. */
	for (p = sigs; *p != '\0' && !ok; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if (e - p > 3 && strncmp(p, "v1,", 3) == 0)
			ok = sig_b64_eq(p + 3, (size_t)(e - p - 3), mac);
	}
	return ok ? 0 : HK_ESIG;
}

static int
sig_verify_stripe(const char *secret, const struct hk_sig_req *r)
{
	unsigned char mac[SIG_MAC];
	const char *h, *p, *e, *t = NULL;
	size_t tlen = 0;
	long long ts;
	int rc, ok = 0;

	if ((h = sig_get(r, "Stripe-Signature", NULL)) == NULL)
		return HK_ESIGMISSING;
	for (p = h; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		for (e = p; *e != '\0' && *e != ','; e++)
			;
		if (e - p > 2 && strncmp(p, "t=", 2) == 0 && t == NULL) {
			t = p + 2;
			tlen = (size_t)(e - p - 2);
		}
	}
	if (t == NULL)
		return HK_ESIG;
	if ((rc = sig_ts(t, tlen, r, &ts)) != 0)
		return rc;
	sig_content(HK_SCHEME_STRIPE, (const unsigned char *)secret,
	    strlen(secret), NULL, t, tlen, r->body, r->len, mac);
	for (p = h; *p != '\0' && !ok; p = *e == ',' ? e + 1 : e) {
		for (e = p; *e != '\0' && *e != ','; e++)
			;
		if (e - p > 3 && strncmp(p, "v1=", 3) == 0)
			ok = sig_hex_eq(p + 3, (size_t)(e - p - 3), mac);
	}
	return ok ? 0 : HK_ESIG;
}

static int
sig_verify_slack(const char *secret, const struct hk_sig_req *r)
{
	unsigned char mac[SIG_MAC];
	const char *sig, *tss;
	long long ts;
	int rc;

	sig = sig_get(r, "X-Slack-Signature", NULL);
	tss = sig_get(r, "X-Slack-Request-Timestamp", NULL);
	if (sig == NULL || tss == NULL)
		return HK_ESIGMISSING;
	if ((rc = sig_ts(tss, strlen(tss), r, &ts)) != 0)
		return rc;
	if (strncmp(sig, "v0=", 3) != 0)
		return HK_ESIG;
	sig_content(HK_SCHEME_SLACK, (const unsigned char *)secret,
	    strlen(secret), NULL, tss, strlen(tss), r->body, r->len, mac);
	return sig_hex_eq(sig + 3, strlen(sig + 3), mac) ? 0 : HK_ESIG;
}

int
hk_sig_present(enum hk_scheme scheme, hk_sig_getter get, void *arg)
{
	switch (scheme) {
	case HK_SCHEME_HEX:
		return get(arg, "X-Webhook-Signature") != NULL ||
		    get(arg, "X-Event-Signature") != NULL;
	case HK_SCHEME_GITHUB:
		return get(arg, "X-Hub-Signature-256") != NULL;
	case HK_SCHEME_STANDARD:
		return get(arg, "webhook-signature") != NULL ||
		    get(arg, "svix-signature") != NULL;
	case HK_SCHEME_STRIPE:
		return get(arg, "Stripe-Signature") != NULL;
	case HK_SCHEME_SLACK:
		return get(arg, "X-Slack-Signature") != NULL;
	}
	return 0;
}

int
hk_sig_verify(enum hk_scheme scheme, const char *secret,
    const struct hk_sig_req *r)
{
	unsigned char mac[SIG_MAC];
	const char *h;

	if (secret == NULL || *secret == '\0')
		return HK_EINVAL;
	switch (scheme) {
	case HK_SCHEME_HEX:
	case HK_SCHEME_GITHUB:
		if (scheme == HK_SCHEME_HEX)
			h = sig_get(r, "X-Webhook-Signature",
			    "X-Event-Signature");
		else
			h = sig_get(r, "X-Hub-Signature-256", NULL);
		if (h == NULL)
			return HK_ESIGMISSING;
		if (scheme == HK_SCHEME_GITHUB) {
			if (strncmp(h, "sha256=", 7) != 0)
				return HK_ESIG;
			h += 7;
		} else
			h = sig_skip_sha256(h);
		sig_content(scheme, (const unsigned char *)secret,
		    strlen(secret), NULL, NULL, 0, r->body, r->len, mac);
		return sig_hex_eq(h, strlen(h), mac) ? 0 : HK_ESIG;
	case HK_SCHEME_STANDARD:
		return sig_verify_standard(secret, r);
	case HK_SCHEME_STRIPE:
		return sig_verify_stripe(secret, r);
	case HK_SCHEME_SLACK:
		return sig_verify_slack(secret, r);
	}
	return HK_EINVAL;
}

void
hk_sig_hex(const char *secret, const unsigned char *body, size_t len,
    char out[65])
{
	unsigned char mac[SIG_MAC];

	sig_content(HK_SCHEME_HEX, (const unsigned char *)secret,
	    strlen(secret), NULL, NULL, 0, body, len, mac);
	sodium_bin2hex(out, 65, mac, sizeof(mac));
}

int
hk_sig_standard_v1(const unsigned char *key, size_t klen, const char *id,
    long long ts, const unsigned char *body, size_t len, char *out,
    size_t outlen)
{
	unsigned char mac[SIG_MAC];
	char tss[24];
	int n;

	if (outlen < 4 + sodium_base64_ENCODED_LEN(SIG_MAC,
	    sodium_base64_VARIANT_ORIGINAL))
		return HK_EINVAL;
	n = snprintf(tss, sizeof(tss), "%lld", ts);
	sig_content(HK_SCHEME_STANDARD, key, klen, id, tss, (size_t)n, body,
	    len, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, outlen - 3, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int
hk_sig_sign(enum hk_scheme scheme, const char *secret, const char *id,
    long long ts, const unsigned char *body, size_t len,
    struct hk_sig_header out[3])
{
	unsigned char key[HK_SIG_KEYMAX], mac[SIG_MAC];
	char hex[65], tss[24];
	int klen;

	if (secret == NULL || *secret == '\0')
		return HK_EINVAL;
	snprintf(tss, sizeof(tss), "%lld", ts);
	switch (scheme) {
	case HK_SCHEME_HEX:
	case HK_SCHEME_GITHUB:
		hk_sig_hex(secret, body, len, hex);
		out[0].name = scheme == HK_SCHEME_HEX ? "X-Webhook-Signature" :
		    "X-Hub-Signature-256";
		snprintf(out[0].value, sizeof(out[0].value), "%s%s",
		    scheme == HK_SCHEME_GITHUB ? "sha256=" : "", hex);
		return 1;
	case HK_SCHEME_STANDARD:
		if (id == NULL || (klen = hk_sig_standard_key(secret, key)) < 0)
			return HK_EINVAL;
		out[0].name = "webhook-id";
		snprintf(out[0].value, sizeof(out[0].value), "%s", id);
		out[1].name = "webhook-timestamp";
		snprintf(out[1].value, sizeof(out[1].value), "%s", tss);
		out[2].name = "webhook-signature";
		hk_sig_standard_v1(key, (size_t)klen, id, ts, body, len,
		    out[2].value, sizeof(out[2].value));
		sodium_memzero(key, sizeof(key));
		return 3;
	case HK_SCHEME_STRIPE:
		sig_content(scheme, (const unsigned char *)secret,
		    strlen(secret), NULL, tss, strlen(tss), body, len, mac);
		sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
		out[0].name = "Stripe-Signature";
		snprintf(out[0].value, sizeof(out[0].value), "t=%s,v1=%s", tss,
		    hex);
		return 1;
	case HK_SCHEME_SLACK:
		sig_content(scheme, (const unsigned char *)secret,
		    strlen(secret), NULL, tss, strlen(tss), body, len, mac);
		sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
		out[0].name = "X-Slack-Signature";
		snprintf(out[0].value, sizeof(out[0].value), "v0=%s", hex);
		out[1].name = "X-Slack-Request-Timestamp";
		snprintf(out[1].value, sizeof(out[1].value), "%s", tss);
		return 2;
	}
	return HK_EINVAL;
}
