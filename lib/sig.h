/*
 * sig.h: HMAC-SHA256 webhook signatures: the schemes of proto/http.md and of
 * its providers, each a row of one table (lib/sig.c sig_rows: signature
 * header, prefix, timestamp header, signed content, encoding, key form).
 *
 * Verification runs over the raw request bytes exactly as received. Every
 * comparison checks the length first and then compares in constant time
 * (sodium_memcmp); a prefix of the right signature never matches. Nothing
 * here logs, and no error carries the expected signature.
 *
 * Keys: for every scheme but standard the HMAC key is the secret
 * string's own bytes. gitlab is no HMAC: its header carries the secret
 * itself, compared in constant time. For standard it is the base64-decoded part after
 * "whsec_"; a secret without that prefix is used as its raw bytes (the
 * Standard Webhooks libraries' "raw" format).
 *
 * Thread-safe: no state. Call hk_sig_init() (sodium_init) once first.
 */
#ifndef HK_SIG_H
#define HK_SIG_H

#include <stddef.h>

enum hk_scheme {
	HK_SCHEME_HEX,
	HK_SCHEME_GITHUB,
	HK_SCHEME_STANDARD,
	HK_SCHEME_STRIPE,
	HK_SCHEME_SLACK,
	HK_SCHEME_GITLAB,
	HK_SCHEME_SHOPIFY,
	HK_SCHEME_ZOOM,
	HK_SCHEME_META,
	HK_SCHEME_DROPBOX,
	HK_SCHEME_X,
	HK_SCHEME_COUNT /* not a scheme: how many there are */
};

#define HK_SIG_TOLERANCE 300 /* default toleranceSeconds */
#define HK_SIG_KEYMAX 256 /* longest decoded key accepted */
#define HK_SIG_VALMAX 1024 /* longest header value hk_sig_sign writes */

/* Returns the value of request header NAME (case-insensitive), or NULL. */
typedef const char *(*hk_sig_getter)(void *arg, const char *name);

struct hk_sig_req {
	hk_sig_getter get;
	void *arg;
	const unsigned char *body; /* raw bytes as received */
	size_t len;
	long long now; /* seconds since the epoch */
	long tolerance; /* seconds, both directions; <= 0: default 300 */
};

/* One header that hk_sig_sign() produced. */
struct hk_sig_header {
	const char *name;
	char value[HK_SIG_VALMAX];
};

/* Initialise libsodium. Returns 0 or HK_ERR. */
int hk_sig_init(void);

/* Parses a scheme's name ("hex", "github", …, "x"). 0 or HK_EINVAL. */
int hk_sig_scheme_parse(const char *, enum hk_scheme *);
const char *hk_sig_scheme_name(enum hk_scheme);

/*
 * Whether the request carries this scheme's signature header at all
 * (for "auth: token", where a present signature is still checked).
 */
int hk_sig_present(enum hk_scheme, hk_sig_getter, void *arg);

/*
 * Verifies REQ against SECRET. Returns 0 when any signature in the header
 * matches; HK_ESIGMISSING when a header this scheme needs is absent;
 * HK_ESTALE when the timestamp is outside the tolerance (checked before
 * the signature, and malformed timestamps count as HK_ESIG); HK_ESIG when
 * nothing matches or a header is malformed; HK_EINVAL when SECRET cannot
 * be used as a key.
 */
int hk_sig_verify(
    enum hk_scheme, const char *secret, const struct hk_sig_req *);

/* Whether SCHEME signs a timestamp (checked against the tolerance). */
int hk_sig_timed(enum hk_scheme);

/*
 * Signs BODY as a sender using SCHEME would, for tests and delivery. ID is
 * the message id (standard only) and TS the timestamp in seconds (the
 * timed schemes). Fills OUT[0..n-1] with header names and values and
 * returns n (1, 2 or 3), or HK_EINVAL.
 */
int hk_sig_sign(enum hk_scheme, const char *secret, const char *id,
    long long ts, const unsigned char *body, size_t len,
    struct hk_sig_header out[3]);

/*
 * The Standard Webhooks key of SECRET: the base64 decoding of what follows
 * "whsec_", or the raw bytes when there is no prefix. KEY has room for
 * HK_SIG_KEYMAX bytes. Returns the key length or HK_EINVAL.
 */
int hk_sig_standard_key(const char *secret, unsigned char *key);

/*
 * "v1,<base64>" of HMAC(key, "id.ts.body") into OUT (room for at least
 * 64 bytes). The building block of delivery's webhook-signature header.
 */
int hk_sig_standard_v1(const unsigned char *key, size_t klen, const char *id,
    long long ts, const unsigned char *body, size_t len, char *out,
    size_t outlen);

/*
 * HMAC-SHA256 of MSG keyed with the secret string's bytes, as text into
 * OUT: lower-case hex (65 bytes of room) or, with B64, padded base64
 * (45 bytes). For handshakes that answer with a MAC (Zoom, X). 0, or
 * HK_EINVAL for an empty secret or too little room.
 */
int hk_sig_mac_text(const char *secret, const unsigned char *msg, size_t len,
    int b64, char *out, size_t outlen);

/* Lower-case hex HMAC-SHA256 of BODY with the secret string's bytes. */
void hk_sig_hex(
    const char *secret, const unsigned char *body, size_t len, char out[65]);

#endif
