/*
 * sig.c: the five HMAC-SHA256 signature schemes of SPEC §3.
 *
 * Each scheme differs only in where the signature and timestamp travel
 * and in what is signed; sig_content() is the one place that knows the
 * signed content, so that signing and verifying cannot drift apart.
 *
 * Headers are attacker-controlled: every parser here walks a
 * NUL-terminated string and never looks past the terminator, and any
 * shape it does not recognise is HK_ESIG rather than a guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "hk.h"
#include "sig.h"

#define SIG_MAC crypto_auth_hmacsha256_BYTES /* 32 */
#define SIG_HEXLEN (2 * SIG_MAC) /* 64 */
#define SIG_B64LEN 44 /* padded base64 of SIG_MAC */

/*
 * Digits of a timestamp beyond this no longer change whether it is within
 * any tolerance, and stopping here keeps the arithmetic far from overflow.
 */
#define SIG_TSSAT 1000000000000000LL

static const char *const sig_names[] = {
    "hex", "github", "standard", "stripe", "slack"};

/*
 * SHA-256 comes from OpenSSL's libcrypto, fetched once: it uses the
 * CPU's SHA extensions where libsodium has only portable C, and a
 * delivery signs its body twice (README, Dependencies). libsodium does
 * the rest (keys, sealing, comparison, randomness).
 */
static EVP_MD *sig_sha256;

int
hk_sig_init(void)
{
	if (sodium_init() < 0)
		return HK_ERR;
	if (sig_sha256 == NULL &&
	    (sig_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return HK_ERR;
	return 0;
}

int
hk_sig_scheme_parse(const char *s, enum hk_scheme *out)
{
	size_t i;

	if (s == NULL)
		return HK_EINVAL;
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

/*
 * HMAC-SHA256 (RFC 2104) of the concatenation of the N parts:
 * H(K ^ opad || H(K ^ ipad || parts)), K the key padded to a block (or
 * its hash when longer).
 */
static void
sig_mac(const unsigned char *key, size_t klen, const struct sig_part *part,
    size_t n, unsigned char out[SIG_MAC])
{
	unsigned char k[64], pad[64], inner[SIG_MAC];
	EVP_MD_CTX *ctx;
	size_t i;

	memset(k, 0, sizeof(k));
	if (klen > sizeof(k))
		EVP_Digest(key, klen, k, NULL, sig_sha256, NULL);
	else if (klen > 0)
		memcpy(k, key, klen);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		/* Out of memory: a MAC that matches nothing. */
		randombytes_buf(out, SIG_MAC);
		goto out;
	}
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	EVP_DigestInit_ex(ctx, sig_sha256, NULL);
	EVP_DigestUpdate(ctx, pad, sizeof(pad));
	for (i = 0; i < n; i++)
		if (part[i].n > 0)
			EVP_DigestUpdate(ctx, part[i].p, part[i].n);
	EVP_DigestFinal_ex(ctx, inner, NULL);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	EVP_DigestInit_ex(ctx, sig_sha256, NULL);
	EVP_DigestUpdate(ctx, pad, sizeof(pad));
	EVP_DigestUpdate(ctx, inner, sizeof(inner));
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
out:
	sodium_memzero(k, sizeof(k));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
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
	case HK_SCHEME_HEX:
	case HK_SCHEME_GITHUB:
		break;
	}
	part[n++] = (struct sig_part){body, len};
	sig_mac(key, klen, part, n, out);
}

/* The same, keyed with the secret string's own bytes. */
static void
sig_content_raw(enum hk_scheme scheme, const char *secret, const char *ts,
    size_t tslen, const unsigned char *body, size_t len,
    unsigned char out[SIG_MAC])
{
	sig_content(scheme, (const unsigned char *)secret, strlen(secret), NULL,
	    ts, tslen, body, len, out);
}

/*
 * Whether the LEN characters at S are the hex (either case) of MAC. The
 * length is checked before anything else so that a prefix of the right
 * signature is refused outright; the bytes are then compared in
 * constant time.
 */
static int
sig_hex_eq(const char *s, size_t len, const unsigned char mac[SIG_MAC])
{
	unsigned char got[SIG_MAC];
	const char *end;
	size_t bin;
	int ok;

	if (len != SIG_HEXLEN)
		return 0;
	if (sodium_hex2bin(got, sizeof(got), s, len, NULL, &bin, &end) != 0 ||
	    end != s + len || bin != SIG_MAC)
		return 0;
	ok = sodium_memcmp(got, mac, SIG_MAC) == 0;
	sodium_memzero(got, sizeof(got));
	return ok;
}

/*
 * The base64 counterpart. libsodium refuses non-zero padding bits, so
 * only the one canonical spelling of MAC matches, as with the Standard
 * Webhooks libraries, which compare the strings.
 */
static int
sig_b64_eq(const char *s, size_t len, const unsigned char mac[SIG_MAC])
{
	unsigned char got[SIG_MAC + 3];
	const char *end;
	size_t bin;
	int ok;

	if (len != SIG_B64LEN)
		return 0;
	if (sodium_base642bin(got, sizeof(got), s, len, NULL, &bin, &end,
	        sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + len || bin != SIG_MAC)
		return 0;
	ok = sodium_memcmp(got, mac, SIG_MAC) == 0;
	sodium_memzero(got, sizeof(got));
	return ok;
}

/*
 * Checks a timestamp header of LEN characters at S: decimal seconds and
 * nothing else (no sign, no fraction, no blanks), since anything a sender
 * could mean by more is a guess. Returns 0, HK_ESIG when malformed or
 * HK_ESTALE when outside the tolerance in either direction.
 */
static int
sig_ts(const char *s, size_t len, const struct hk_sig_req *r)
{
	unsigned long long d;
	long long v = 0, tol;
	size_t i;

	if (len == 0)
		return HK_ESIG;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return HK_ESIG;
		if (v < SIG_TSSAT)
			v = v * 10 + (s[i] - '0');
	}
	tol = r->tolerance > 0 ? r->tolerance : HK_SIG_TOLERANCE;
	/* Unsigned, so that no clock value can overflow the difference. */
	if (v >= r->now)
		d = (unsigned long long)v - (unsigned long long)r->now;
	else
		d = (unsigned long long)r->now - (unsigned long long)v;
	return d > (unsigned long long)tol ? HK_ESTALE : 0;
}

static const char *
sig_get(const struct hk_sig_req *r, const char *name, const char *alias)
{
	const char *v = r->get(r->arg, name);

	if (v == NULL && alias != NULL)
		v = r->get(r->arg, alias);
	return v;
}

/*
 * The next field of the SEP-separated list at *P into S and N, moving *P
 * past it. Returns 0 at the end of the string.
 */
static int
sig_field(const char **p, char sep, const char **s, size_t *n)
{
	const char *e;

	if (**p == '\0')
		return 0;
	for (e = *p; *e != '\0' && *e != sep; e++)
		;
	*s = *p;
	*n = (size_t)(e - *p);
	*p = *e == sep ? e + 1 : e;
	return 1;
}

/* Whether the field S, N starts with the NUL-terminated PFX. */
static int
sig_prefix(const char *s, size_t n, const char *pfx)
{
	size_t pl = strlen(pfx);

	return n >= pl && memcmp(s, pfx, pl) == 0;
}

int
hk_sig_standard_key(const char *secret, unsigned char *key)
{
	const char *end;
	size_t n, bin;

	if (secret == NULL)
		return HK_EINVAL;
	n = strlen(secret);
	if (strncmp(secret, "whsec_", 6) != 0) {
		if (n == 0 || n > HK_SIG_KEYMAX)
			return HK_EINVAL;
		memcpy(key, secret, n);
		return (int)n;
	}
	secret += 6;
	n -= 6;
	if (n == 0 ||
	    sodium_base642bin(key, HK_SIG_KEYMAX, secret, n, NULL, &bin, &end,
	        sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != secret + n || bin == 0) {
		sodium_memzero(key, HK_SIG_KEYMAX);
		return HK_EINVAL;
	}
	return (int)bin;
}

static int
sig_verify_hex(
    enum hk_scheme scheme, const char *secret, const struct hk_sig_req *r)
{
	unsigned char mac[SIG_MAC];
	const char *h;
	int ok;

	if (scheme == HK_SCHEME_HEX)
		h = sig_get(r, "X-Webhook-Signature", "X-Event-Signature");
	else
		h = sig_get(r, "X-Hub-Signature-256", NULL);
	if (h == NULL)
		return HK_ESIGMISSING;
	/* GitHub always sends the prefix; generic senders vary. */
	if (scheme == HK_SCHEME_GITHUB) {
		if (strncmp(h, "sha256=", 7) != 0)
			return HK_ESIG;
		h += 7;
	} else if (strncasecmp(h, "sha256=", 7) == 0)
		h += 7;
	sig_content_raw(scheme, secret, NULL, 0, r->body, r->len, mac);
	ok = sig_hex_eq(h, strlen(h), mac);
	sodium_memzero(mac, sizeof(mac));
	return ok ? 0 : HK_ESIG;
}

static int
sig_verify_standard(const char *secret, const struct hk_sig_req *r)
{
	unsigned char key[HK_SIG_KEYMAX], mac[SIG_MAC];
	const char *id, *tss, *sigs, *f;
	size_t n;
	int klen, rc, ok = 0;

	/*
	 * A secret that is no key is the webhook's fault, not the request's:
	 * say so whatever the request looks like.
	 */
	if ((klen = hk_sig_standard_key(secret, key)) < 0)
		return HK_EINVAL;
	/* Svix sends the same scheme under its own header names. */
	id = sig_get(r, "webhook-id", "svix-id");
	tss = sig_get(r, "webhook-timestamp", "svix-timestamp");
	sigs = sig_get(r, "webhook-signature", "svix-signature");
	if (id == NULL || tss == NULL || sigs == NULL)
		rc = HK_ESIGMISSING;
	else if ((rc = sig_ts(tss, strlen(tss), r)) == 0)
		sig_content(HK_SCHEME_STANDARD, key, (size_t)klen, id, tss,
		    strlen(tss), r->body, r->len, mac);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return rc;
	/*
	 * Space-separated "version,signature" entries; only v1 is defined,
	 * so others (and empty entries from doubled blanks) are skipped.
	 */
	while (sig_field(&sigs, ' ', &f, &n))
		if (sig_prefix(f, n, "v1,"))
			ok |= sig_b64_eq(f + 3, n - 3, mac);
	sodium_memzero(mac, sizeof(mac));
	return ok ? 0 : HK_ESIG;
}

static int
sig_verify_stripe(const char *secret, const struct hk_sig_req *r)
{
	unsigned char mac[SIG_MAC];
	const char *h, *p, *f, *t = NULL;
	size_t n, tlen = 0;
	int rc, ok = 0;

	if ((h = sig_get(r, "Stripe-Signature", NULL)) == NULL)
		return HK_ESIGMISSING;
	/*
	 * Two t= would leave it open which one was signed, so the header is
	 * refused rather than one of them picked.
	 */
	for (p = h; sig_field(&p, ',', &f, &n);)
		if (sig_prefix(f, n, "t=")) {
			if (t != NULL)
				return HK_ESIG;
			t = f + 2;
			tlen = n - 2;
		}
	if (t == NULL)
		return HK_ESIG;
	if ((rc = sig_ts(t, tlen, r)) != 0)
		return rc;
	sig_content_raw(
	    HK_SCHEME_STRIPE, secret, t, tlen, r->body, r->len, mac);
	/* v0 is Stripe's test-mode scheme and other keys are unknown. */
	for (p = h; sig_field(&p, ',', &f, &n);)
		if (sig_prefix(f, n, "v1="))
			ok |= sig_hex_eq(f + 3, n - 3, mac);
	sodium_memzero(mac, sizeof(mac));
	return ok ? 0 : HK_ESIG;
}

static int
sig_verify_slack(const char *secret, const struct hk_sig_req *r)
{
	unsigned char mac[SIG_MAC];
	const char *sig, *tss;
	int rc, ok;

	sig = sig_get(r, "X-Slack-Signature", NULL);
	tss = sig_get(r, "X-Slack-Request-Timestamp", NULL);
	if (sig == NULL || tss == NULL)
		return HK_ESIGMISSING;
	if ((rc = sig_ts(tss, strlen(tss), r)) != 0)
		return rc;
	if (strncmp(sig, "v0=", 3) != 0)
		return HK_ESIG;
	sig_content_raw(
	    HK_SCHEME_SLACK, secret, tss, strlen(tss), r->body, r->len, mac);
	ok = sig_hex_eq(sig + 3, strlen(sig + 3), mac);
	sodium_memzero(mac, sizeof(mac));
	return ok ? 0 : HK_ESIG;
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
hk_sig_verify(
    enum hk_scheme scheme, const char *secret, const struct hk_sig_req *r)
{
	/* An empty key would make any sender's "signature" computable. */
	if (secret == NULL || *secret == '\0' || r == NULL || r->get == NULL ||
	    (r->body == NULL && r->len > 0))
		return HK_EINVAL;
	switch (scheme) {
	case HK_SCHEME_HEX:
	case HK_SCHEME_GITHUB:
		return sig_verify_hex(scheme, secret, r);
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
hk_sig_hex(
    const char *secret, const unsigned char *body, size_t len, char out[65])
{
	unsigned char mac[SIG_MAC];

	sig_content_raw(HK_SCHEME_HEX, secret, NULL, 0, body, len, mac);
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

	if (out == NULL || id == NULL ||
	    outlen < 3 +
	            sodium_base64_ENCODED_LEN(
	                SIG_MAC, sodium_base64_VARIANT_ORIGINAL))
		return HK_EINVAL;
	n = snprintf(tss, sizeof(tss), "%lld", ts);
	sig_content(
	    HK_SCHEME_STANDARD, key, klen, id, tss, (size_t)n, body, len, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, outlen - 3, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* Sets header OUT to NAME and the formatted value; HK_EINVAL if cut. */
static int
sig_put(
    struct hk_sig_header *out, const char *name, const char *a, const char *b)
{
	int n;

	out->name = name;
	n = snprintf(out->value, sizeof(out->value), "%s%s", a, b);
	return n < 0 || (size_t)n >= sizeof(out->value) ? HK_EINVAL : 0;
}

int
hk_sig_sign(enum hk_scheme scheme, const char *secret, const char *id,
    long long ts, const unsigned char *body, size_t len,
    struct hk_sig_header out[3])
{
	unsigned char key[HK_SIG_KEYMAX], mac[SIG_MAC];
	char hex[SIG_HEXLEN + 1], tss[24], ttag[32];
	int klen, rc;

	if (secret == NULL || *secret == '\0' || out == NULL ||
	    (body == NULL && len > 0))
		return HK_EINVAL;
	/* A receiver refuses a signed time it cannot parse (sig_ts). */
	if (scheme != HK_SCHEME_HEX && scheme != HK_SCHEME_GITHUB && ts < 0)
		return HK_EINVAL;
	snprintf(tss, sizeof(tss), "%lld", ts);
	switch (scheme) {
	case HK_SCHEME_HEX:
		hk_sig_hex(secret, body, len, hex);
		return sig_put(&out[0], "X-Webhook-Signature", "", hex)
		    ? HK_EINVAL
		    : 1;
	case HK_SCHEME_GITHUB:
		hk_sig_hex(secret, body, len, hex);
		return sig_put(&out[0], "X-Hub-Signature-256", "sha256=", hex)
		    ? HK_EINVAL
		    : 1;
	case HK_SCHEME_STANDARD:
		if (id == NULL || sig_put(&out[0], "webhook-id", "", id) != 0)
			return HK_EINVAL;
		if ((klen = hk_sig_standard_key(secret, key)) < 0)
			return HK_EINVAL;
		sig_put(&out[1], "webhook-timestamp", "", tss);
		out[2].name = "webhook-signature";
		rc = hk_sig_standard_v1(key, (size_t)klen, id, ts, body, len,
		    out[2].value, sizeof(out[2].value));
		sodium_memzero(key, sizeof(key));
		return rc != 0 ? rc : 3;
	case HK_SCHEME_STRIPE:
		sig_content_raw(
		    scheme, secret, tss, strlen(tss), body, len, mac);
		sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
		snprintf(ttag, sizeof(ttag), "t=%s,v1=", tss);
		return sig_put(&out[0], "Stripe-Signature", ttag, hex)
		    ? HK_EINVAL
		    : 1;
	case HK_SCHEME_SLACK:
		sig_content_raw(
		    scheme, secret, tss, strlen(tss), body, len, mac);
		sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
		sig_put(&out[0], "X-Slack-Signature", "v0=", hex);
		sig_put(&out[1], "X-Slack-Request-Timestamp", "", tss);
		return 2;
	}
	return HK_EINVAL;
}
