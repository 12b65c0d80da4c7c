/*
 * sig.c: the HMAC-SHA256 signature schemes of proto/http.md and its providers.
 *
 * Each scheme differs only in where the signature and timestamp travel,
 * what is signed, how the MAC is written and how the key is made, so a
 * scheme is a row of sig_rows and one verifier and one signer read the
 * rows; sig_content() is the one place that builds the signed content,
 * so that signing and verifying cannot drift apart.
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

enum sig_enc {
	SIG_HEX, /* lower- or upper-case hex of the MAC */
	SIG_B64, /* padded base64 of the MAC */
	SIG_TOKEN /* no MAC: the header is the secret itself (GitLab) */
};

enum sig_key {
	SIG_KEY_RAW, /* the secret string's bytes */
	SIG_KEY_WHSEC /* base64 after "whsec_", else the bytes (standard) */
};

enum sig_role { SIG_R_NONE, SIG_R_SIG, SIG_R_TS, SIG_R_ID };

/* A header of a scheme, with the alias some senders use instead. */
struct sig_hdr {
	const char *sh_name;
	const char *sh_alias;
	enum sig_role sh_role;
};

/*
 * One scheme: where its signature travels and what it signs. The headers
 * are listed in the order a sender writes them (hk_sig_sign()).
 */
struct sig_row {
	const char *sr_name;
	struct sig_hdr sr_hdr[3];
	const char *sr_prefix; /* before each signature, or NULL */
	int sr_prefix_opt; /* the prefix may be absent, in any case */
	char sr_sep; /* separates a list of entries; 0: exactly one */
	const char *sr_ts_key; /* the timestamp as an entry ("t="), or NULL */
	const char *sr_content; /* literal text and {id}, {ts}, {body} */
	enum sig_enc sr_enc;
	enum sig_key sr_key;
};

/* proto/http.md's schemes, then its providers'; indexed by enum hk_scheme. */
static const struct sig_row sig_rows[HK_SCHEME_COUNT] = {
    [HK_SCHEME_HEX] = {"hex",
        {{"X-Webhook-Signature", "X-Event-Signature", SIG_R_SIG}}, "sha256=", 1,
        0, NULL, "{body}", SIG_HEX, SIG_KEY_RAW},
    [HK_SCHEME_GITHUB] = {"github", {{"X-Hub-Signature-256", NULL, SIG_R_SIG}},
        "sha256=", 0, 0, NULL, "{body}", SIG_HEX, SIG_KEY_RAW},
    [HK_SCHEME_STANDARD] = {"standard",
        {{"webhook-id", "svix-id", SIG_R_ID},
            {"webhook-timestamp", "svix-timestamp", SIG_R_TS},
            {"webhook-signature", "svix-signature", SIG_R_SIG}},
        "v1,", 0, ' ', NULL, "{id}.{ts}.{body}", SIG_B64, SIG_KEY_WHSEC},
    [HK_SCHEME_STRIPE] = {"stripe", {{"Stripe-Signature", NULL, SIG_R_SIG}},
        "v1=", 0, ',', "t=", "{ts}.{body}", SIG_HEX, SIG_KEY_RAW},
    [HK_SCHEME_SLACK] = {"slack",
        {{"X-Slack-Signature", NULL, SIG_R_SIG},
            {"X-Slack-Request-Timestamp", NULL, SIG_R_TS}},
        "v0=", 0, 0, NULL, "v0:{ts}:{body}", SIG_HEX, SIG_KEY_RAW},
    [HK_SCHEME_GITLAB] = {"gitlab", {{"X-Gitlab-Token", NULL, SIG_R_SIG}}, NULL,
        0, 0, NULL, "", SIG_TOKEN, SIG_KEY_RAW},
    [HK_SCHEME_SHOPIFY] = {"shopify",
        {{"X-Shopify-Hmac-Sha256", NULL, SIG_R_SIG}}, NULL, 0, 0, NULL,
        "{body}", SIG_B64, SIG_KEY_RAW},
    [HK_SCHEME_ZOOM] = {"zoom",
        {{"x-zm-signature", NULL, SIG_R_SIG},
            {"x-zm-request-timestamp", NULL, SIG_R_TS}},
        "v0=", 0, 0, NULL, "v0:{ts}:{body}", SIG_HEX, SIG_KEY_RAW},
    [HK_SCHEME_META] = {"meta", {{"X-Hub-Signature-256", NULL, SIG_R_SIG}},
        "sha256=", 0, 0, NULL, "{body}", SIG_HEX, SIG_KEY_RAW},
    [HK_SCHEME_DROPBOX] = {"dropbox",
        {{"X-Dropbox-Signature", NULL, SIG_R_SIG}}, NULL, 0, 0, NULL, "{body}",
        SIG_HEX, SIG_KEY_RAW},
    [HK_SCHEME_X] = {"x", {{"X-Twitter-Webhooks-Signature", NULL, SIG_R_SIG}},
        "sha256=", 0, 0, NULL, "{body}", SIG_B64, SIG_KEY_RAW},
};

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
	for (i = 0; i < HK_NELEM(sig_rows); i++)
		if (strcmp(s, sig_rows[i].sr_name) == 0) {
			*out = (enum hk_scheme)i;
			return 0;
		}
	return HK_EINVAL;
}

const char *
hk_sig_scheme_name(enum hk_scheme s)
{
	return (size_t)s < HK_NELEM(sig_rows) ? sig_rows[s].sr_name : "unknown";
}

/* The row of S, or NULL for a value that is no scheme. */
static const struct sig_row *
sig_row(enum hk_scheme s)
{
	return (size_t)s < HK_NELEM(sig_rows) ? &sig_rows[s] : NULL;
}

int
hk_sig_timed(enum hk_scheme s)
{
	const struct sig_row *row = sig_row(s);
	size_t i;

	if (row == NULL)
		return 0;
	for (i = 0; i < HK_NELEM(row->sr_hdr); i++)
		if (row->sr_hdr[i].sh_role == SIG_R_TS)
			return 1;
	return row->sr_ts_key != NULL;
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

/* What a request or a sender fills into a row's signed content. */
struct sig_vals {
	const char *id;
	const char *ts;
	size_t tslen;
	const unsigned char *body;
	size_t len;
};

/*
 * The MAC of TMPL (a row's sr_content) with V filled in: the one place
 * that knows the signed content, so signing and verifying cannot drift
 * apart. Literal text is signed as written.
 */
static void
sig_content(const char *tmpl, const unsigned char *key, size_t klen,
    const struct sig_vals *v, unsigned char out[SIG_MAC])
{
	struct sig_part part[8];
	const char *p = tmpl, *lit;
	size_t n = 0;

	while (*p != '\0' && n < HK_NELEM(part)) {
		if (strncmp(p, "{body}", 6) == 0) {
			part[n++] = (struct sig_part){v->body, v->len};
			p += 6;
		} else if (strncmp(p, "{ts}", 4) == 0) {
			part[n++] = (struct sig_part){v->ts, v->tslen};
			p += 4;
		} else if (strncmp(p, "{id}", 4) == 0) {
			part[n++] = (struct sig_part){
			    v->id, v->id != NULL ? strlen(v->id) : 0};
			p += 4;
		} else {
			for (lit = p++; *p != '\0' && *p != '{'; p++)
				;
			part[n++] = (struct sig_part){lit, (size_t)(p - lit)};
		}
	}
	sig_mac(key, klen, part, n, out);
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
sig_get(const struct hk_sig_req *r, const struct sig_hdr *h)
{
	const char *v = r->get(r->arg, h->sh_name);

	if (v == NULL && h->sh_alias != NULL)
		v = r->get(r->arg, h->sh_alias);
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

/*
 * The HMAC key of ROW from SECRET into KEY (HK_SIG_KEYMAX bytes) or, for
 * raw keys of any length, *P pointing at the secret itself. Returns the
 * length or HK_EINVAL.
 */
static int
sig_key(const struct sig_row *row, const char *secret, unsigned char *key,
    const unsigned char **p)
{
	int klen;

	if (row->sr_key == SIG_KEY_RAW) {
		*p = (const unsigned char *)secret;
		return (int)strlen(secret);
	}
	klen = hk_sig_standard_key(secret, key);
	*p = key;
	return klen;
}

/* Whether the LEN characters at S are MAC in ROW's encoding. */
static int
sig_eq(const struct sig_row *row, const char *s, size_t len,
    const unsigned char mac[SIG_MAC])
{
	return row->sr_enc == SIG_B64 ? sig_b64_eq(s, len, mac)
	                              : sig_hex_eq(s, len, mac);
}

/*
 * Whether the LEN characters at S are SECRET, without revealing where
 * they differ or how long the secret is: the SHA-256 of both, compared
 * in constant time.
 */
static int
sig_token_eq(const char *s, size_t len, const char *secret)
{
	unsigned char a[SIG_MAC], b[SIG_MAC];
	int ok;

	EVP_Digest(s, len, a, NULL, sig_sha256, NULL);
	EVP_Digest(secret, strlen(secret), b, NULL, sig_sha256, NULL);
	ok = sodium_memcmp(a, b, SIG_MAC) == 0;
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	return ok;
}

/*
 * The timestamp entry (ROW's sr_ts_key, "t=") of the signature header H
 * into V. Two of them would leave it open which one was signed, so the
 * header is refused rather than one of them picked. 0 or HK_ESIG.
 */
static int
sig_ts_entry(const struct sig_row *row, const char *h, struct sig_vals *v)
{
	const char *p, *f;
	size_t n;

	v->ts = NULL;
	for (p = h; sig_field(&p, row->sr_sep, &f, &n);)
		if (sig_prefix(f, n, row->sr_ts_key)) {
			if (v->ts != NULL)
				return HK_ESIG;
			v->ts = f + strlen(row->sr_ts_key);
			v->tslen = n - strlen(row->sr_ts_key);
		}
	return v->ts != NULL ? 0 : HK_ESIG;
}

/*
 * Whether the signature header H carries MAC: any entry of a list that
 * has the row's prefix (others are other versions, skipped), or the one
 * value, whose prefix is required unless the row says it is optional.
 */
static int
sig_match(
    const struct sig_row *row, const char *h, const unsigned char mac[SIG_MAC])
{
	size_t pl = row->sr_prefix != NULL ? strlen(row->sr_prefix) : 0;
	const char *f;
	size_t n;
	int ok = 0;

	if (row->sr_sep != 0) {
		while (sig_field(&h, row->sr_sep, &f, &n))
			if (sig_prefix(f, n, row->sr_prefix))
				ok |= sig_eq(row, f + pl, n - pl, mac);
		return ok;
	}
	if (row->sr_prefix_opt) {
		if (strncasecmp(h, row->sr_prefix, pl) == 0)
			h += pl;
	} else if (pl > 0) {
		if (strncmp(h, row->sr_prefix, pl) != 0)
			return 0;
		h += pl;
	}
	return sig_eq(row, h, strlen(h), mac);
}

/*
 * The request's headers of ROW's roles into SIG and V. Returns 0 or
 * HK_ESIGMISSING when one is absent.
 */
static int
sig_headers(const struct sig_row *row, const struct hk_sig_req *r,
    const char **sig, struct sig_vals *v)
{
	const char *val;
	size_t i;

	*sig = NULL;
	for (i = 0; i < HK_NELEM(row->sr_hdr); i++) {
		if (row->sr_hdr[i].sh_role == SIG_R_NONE)
			continue;
		if ((val = sig_get(r, &row->sr_hdr[i])) == NULL)
			return HK_ESIGMISSING;
		if (row->sr_hdr[i].sh_role == SIG_R_SIG)
			*sig = val;
		else if (row->sr_hdr[i].sh_role == SIG_R_ID)
			v->id = val;
		else {
			v->ts = val;
			v->tslen = strlen(val);
		}
	}
	return 0;
}

int
hk_sig_present(enum hk_scheme scheme, hk_sig_getter get, void *arg)
{
	const struct sig_row *row = sig_row(scheme);
	const struct sig_hdr *h;
	size_t i;

	for (i = 0; row != NULL && i < HK_NELEM(row->sr_hdr); i++) {
		h = &row->sr_hdr[i];
		if (h->sh_role == SIG_R_SIG &&
		    (get(arg, h->sh_name) != NULL ||
		        (h->sh_alias != NULL && get(arg, h->sh_alias) != NULL)))
			return 1;
	}
	return 0;
}

int
hk_sig_verify(
    enum hk_scheme scheme, const char *secret, const struct hk_sig_req *r)
{
	const struct sig_row *row = sig_row(scheme);
	unsigned char kbuf[HK_SIG_KEYMAX], mac[SIG_MAC];
	struct sig_vals v = {NULL, NULL, 0, NULL, 0};
	const unsigned char *key;
	const char *sig;
	int klen, rc, ok;

	/* An empty key would make any sender's "signature" computable. */
	if (row == NULL || secret == NULL || *secret == '\0' || r == NULL ||
	    r->get == NULL || (r->body == NULL && r->len > 0))
		return HK_EINVAL;
	/*
	 * A secret that is no key is the webhook's fault, not the request's:
	 * say so whatever the request looks like.
	 */
	if ((klen = sig_key(row, secret, kbuf, &key)) < 0)
		return HK_EINVAL;
	if ((rc = sig_headers(row, r, &sig, &v)) == 0 && row->sr_ts_key != NULL)
		rc = sig_ts_entry(row, sig, &v);
	/* The time is judged before the signature, on every timed row. */
	if (rc == 0 && v.ts != NULL)
		rc = sig_ts(v.ts, v.tslen, r);
	if (rc != 0 || row->sr_enc == SIG_TOKEN) {
		sodium_memzero(kbuf, sizeof(kbuf));
		return rc != 0                               ? rc
		    : sig_token_eq(sig, strlen(sig), secret) ? 0
		                                             : HK_ESIG;
	}
	v.body = r->body;
	v.len = r->len;
	sig_content(row->sr_content, key, (size_t)klen, &v, mac);
	sodium_memzero(kbuf, sizeof(kbuf));
	ok = sig_match(row, sig, mac);
	sodium_memzero(mac, sizeof(mac));
	return ok ? 0 : HK_ESIG;
}

void
hk_sig_hex(
    const char *secret, const unsigned char *body, size_t len, char out[65])
{
	struct sig_vals v = {NULL, NULL, 0, body, len};
	unsigned char mac[SIG_MAC];

	sig_content(sig_rows[HK_SCHEME_HEX].sr_content,
	    (const unsigned char *)secret, strlen(secret), &v, mac);
	sodium_bin2hex(out, 65, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
}

int
hk_sig_mac_text(const char *secret, const unsigned char *msg, size_t len,
    int b64, char *out, size_t outlen)
{
	struct sig_vals v = {NULL, NULL, 0, msg, len};
	unsigned char mac[SIG_MAC];

	if (secret == NULL || *secret == '\0' || out == NULL ||
	    (msg == NULL && len > 0) ||
	    outlen < (b64 ? (size_t)SIG_B64LEN + 1 : (size_t)SIG_HEXLEN + 1))
		return HK_EINVAL;
	sig_content(
	    "{body}", (const unsigned char *)secret, strlen(secret), &v, mac);
	if (b64)
		sodium_bin2base64(out, outlen, mac, sizeof(mac),
		    sodium_base64_VARIANT_ORIGINAL);
	else
		sodium_bin2hex(out, outlen, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	return 0;
}

int
hk_sig_standard_v1(const unsigned char *key, size_t klen, const char *id,
    long long ts, const unsigned char *body, size_t len, char *out,
    size_t outlen)
{
	struct sig_vals v = {id, NULL, 0, body, len};
	unsigned char mac[SIG_MAC];
	char tss[24];
	int n;

	if (out == NULL || id == NULL ||
	    outlen < 3 +
	            sodium_base64_ENCODED_LEN(
	                SIG_MAC, sodium_base64_VARIANT_ORIGINAL))
		return HK_EINVAL;
	n = snprintf(tss, sizeof(tss), "%lld", ts);
	v.ts = tss;
	v.tslen = (size_t)n;
	sig_content(
	    sig_rows[HK_SCHEME_STANDARD].sr_content, key, klen, &v, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, outlen - 3, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(mac, sizeof(mac));
	return 0;
}

/* Sets header OUT to NAME and the formatted value; HK_EINVAL if cut. */
static int
sig_put(struct hk_sig_header *out, const char *name, const char *a,
    const char *b, const char *c)
{
	int n;

	out->name = name;
	n = snprintf(out->value, sizeof(out->value), "%s%s%s", a, b, c);
	return n < 0 || (size_t)n >= sizeof(out->value) ? HK_EINVAL : 0;
}

/*
 * The signature header's value of ROW into OUT: the timestamp entry
 * first where the row has one ("t=…,"), the prefix unless it is
 * optional, then the encoded MAC (or, for a token, the secret).
 */
static int
sig_value(const struct sig_row *row, struct hk_sig_header *out,
    const char *name, const char *tss, const char *enc)
{
	char head[48] = "";

	if (row->sr_ts_key != NULL)
		snprintf(head, sizeof(head), "%s%s%c", row->sr_ts_key, tss,
		    row->sr_sep);
	if (row->sr_prefix != NULL && !row->sr_prefix_opt)
		strncat(head, row->sr_prefix, sizeof(head) - strlen(head) - 1);
	return sig_put(out, name, head, enc, "");
}

int
hk_sig_sign(enum hk_scheme scheme, const char *secret, const char *id,
    long long ts, const unsigned char *body, size_t len,
    struct hk_sig_header out[3])
{
	const struct sig_row *row = sig_row(scheme);
	unsigned char kbuf[HK_SIG_KEYMAX], mac[SIG_MAC];
	struct sig_vals v = {id, NULL, 0, body, len};
	char enc[SIG_HEXLEN + 1], tss[24];
	const unsigned char *key;
	const struct sig_hdr *h;
	int klen, n = 0, rc = 0;
	size_t i;

	if (row == NULL || secret == NULL || *secret == '\0' || out == NULL ||
	    (body == NULL && len > 0))
		return HK_EINVAL;
	/* A receiver refuses a signed time it cannot parse (sig_ts). */
	if (hk_sig_timed(scheme) && ts < 0)
		return HK_EINVAL;
	snprintf(tss, sizeof(tss), "%lld", ts);
	v.ts = tss;
	v.tslen = strlen(tss);
	if ((klen = sig_key(row, secret, kbuf, &key)) < 0)
		return HK_EINVAL;
	if (row->sr_enc != SIG_TOKEN) {
		sig_content(row->sr_content, key, (size_t)klen, &v, mac);
		if (row->sr_enc == SIG_B64)
			sodium_bin2base64(enc, sizeof(enc), mac, sizeof(mac),
			    sodium_base64_VARIANT_ORIGINAL);
		else
			sodium_bin2hex(enc, sizeof(enc), mac, sizeof(mac));
	}
	sodium_memzero(kbuf, sizeof(kbuf));
	sodium_memzero(mac, sizeof(mac));
	for (i = 0; i < HK_NELEM(row->sr_hdr) && rc == 0; i++) {
		h = &row->sr_hdr[i];
		if (h->sh_role == SIG_R_ID)
			rc = id == NULL
			    ? HK_EINVAL
			    : sig_put(&out[n], h->sh_name, id, "", "");
		else if (h->sh_role == SIG_R_TS)
			rc = sig_put(&out[n], h->sh_name, tss, "", "");
		else if (h->sh_role == SIG_R_SIG)
			rc = sig_value(row, &out[n], h->sh_name, tss,
			    row->sr_enc == SIG_TOKEN ? secret : enc);
		else
			continue;
		n++;
	}
	sodium_memzero(enc, sizeof(enc));
	return rc != 0 ? HK_EINVAL : n;
}
