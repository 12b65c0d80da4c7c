/*
 * hdr.h: the header lines of an outgoing request, made in one place.
 *
 * Every header line hookd sends is made here: "Name: value", the name
 * an RFC 9110 token, the value only visible ASCII, space and tab (0x21 to
 * 0x7E, 0x20, 0x09). No CR, LF, NUL, other control, DEL or byte of 0x80
 * or more is ever written into a line. A field outside that rule is not
 * cut or escaped but refused, and the refusal sticks: the whole set is
 * refused (hk_hdrs_ok() fails, hk_hdrs_count() is 0), so no part of a
 * request with a bad field can be sent. This is the last defence against
 * request splitting at a receiver; the doors (ingest, the admin API)
 * refuse such bytes first.
 *
 * A set is not thread-safe; the checks are pure.
 */
#ifndef HK_HDR_H
#define HK_HDR_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HK_HDRS_MAX 64 /* lines in one set */
#define HK_HDR_NAME_MAX 128

/*
 * A set of lines. Zeroed (or HK_HDRS_INIT) is empty; hk_hdrs_free()
 * releases it.
 */
struct hk_hdrs {
	struct hk_buf h_text; /* the lines, each NUL-terminated */
	size_t h_off[HK_HDRS_MAX]; /* each line's place in h_text */
	size_t h_n;
	int h_err; /* 0, or the first failure: HK_EINVAL, HK_ENOMEM */
	char h_bad[HK_HDR_NAME_MAX + 1]; /* the field refused, printable */
};

#define HK_HDRS_INIT                                                           \
	{                                                                      \
		HK_BUF_INIT, {0}, 0, 0, ""                                     \
	}

/* A field of a subscription's own (proto/delivery.md "headers"). */
struct hk_hdr_field {
	const char *name;
	const char *value;
};

/* What one delivery attempt's lines are made of (proto/delivery.md). */
struct hk_hdr_delivery {
	const char *type; /* X-Webhook-Event */
	const char *event; /* webhook-id */
	const char *delivery; /* X-Webhook-Delivery */
	const char *sig_hex; /* X-Webhook-Signature */
	const char *sig_v1; /* webhook-signature */
	const char *user_agent;
	int attempt; /* X-Webhook-Attempt */
	int64_t now_ms; /* X-Webhook-Timestamp; webhook-timestamp in s */
	const struct hk_hdr_field *custom; /* after hookd's own lines */
	size_t ncustom;
};

/* Whether NAME[0, N) is a header name: 1 to 128 RFC 9110 tchars. */
int hk_hdr_name_ok(const char *name, size_t n);
/* Whether V[0, N) may be a header value: 0x20-0x7E and tab only. */
int hk_hdr_value_ok(const char *v, size_t n);
/* Whether S[0, N) is 1 or more visible ASCII characters (0x21-0x7E). */
int hk_hdr_visible(const char *s, size_t n);

/*
 * Adds the line "NAME: VAL" (VAL is VLEN bytes, NUL or not). Returns 0,
 * or the set's error: HK_EINVAL when NAME or VAL breaks the rule or the
 * set is full (H->h_bad then names the field), HK_ENOMEM. After a failure
 * every add fails with the first error.
 */
int hk_hdrs_add(
    struct hk_hdrs *h, const char *name, const char *val, size_t vlen);
/* As hk_hdrs_add(), VAL a NUL-terminated string. */
int hk_hdrs_adds(struct hk_hdrs *h, const char *name, const char *val);
/* As hk_hdrs_add(), the value V in decimal. */
int hk_hdrs_add_i64(struct hk_hdrs *h, const char *name, long long v);
/*
 * Adds "NAME:" with nothing after it: libcurl's way of leaving out a
 * header of its own (Expect). Returns as hk_hdrs_add().
 */
int hk_hdrs_omit(struct hk_hdrs *h, const char *name);

/*
 * The lines of one delivery attempt, D's, in the order of proto/delivery.md's
 * table, then "Expect:", then D's custom fields. Returns as hk_hdrs_add():
 * one bad field refuses the set.
 */
int hk_hdrs_delivery(struct hk_hdrs *h, const struct hk_hdr_delivery *d);

/* 0, or the error that refused the set. */
int hk_hdrs_ok(const struct hk_hdrs *h);
/* The number of lines: 0 when the set is refused. */
size_t hk_hdrs_count(const struct hk_hdrs *h);
/*
 * Line I, NUL-terminated, borrowed until the set changes; NULL when I is
 * out of range or the set is refused.
 */
const char *hk_hdrs_line(const struct hk_hdrs *h, size_t i);
/* Empties H for reuse, keeping its memory. */
void hk_hdrs_reset(struct hk_hdrs *h);
void hk_hdrs_free(struct hk_hdrs *h);

#endif
