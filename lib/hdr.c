/* hdr.c: outgoing header lines (hdr.h). */
#include <string.h>

#include "hdr.h"
#include "hk.h"

int
hk_hdr_name_ok(const char *name, size_t n)
{
	size_t i;
	unsigned char c;

	if (n == 0 || n > HK_HDR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)name[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		        (c >= 'A' && c <= 'Z') ||
		        (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
			return 0;
	}
	return 1;
}

int
hk_hdr_value_ok(const char *v, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return 0;
	}
	return 1;
}

int
hk_hdr_visible(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Refuses the set because of field NAME, kept printable for the error. */
static int
hdrs_refuse(struct hk_hdrs *h, const char *name, int err)
{
	size_t i;

	h->h_err = err;
	for (i = 0; name != NULL && name[i] != '\0' && i < HK_HDR_NAME_MAX; i++)
		h->h_bad[i] = (unsigned char)name[i] >= 0x21 &&
		        (unsigned char)name[i] <= 0x7e
		    ? name[i]
		    : '?';
	h->h_bad[i] = '\0';
	return err;
}

/* Appends a line of NAME, a colon and, unless VAL is NULL, " VAL". */
static int
hdrs_line(struct hk_hdrs *h, const char *name, const char *val, size_t vlen)
{
	size_t nlen = name != NULL ? strlen(name) : 0;

	if (h->h_err != 0)
		return h->h_err;
	if (!hk_hdr_name_ok(name, nlen) ||
	    (val != NULL && !hk_hdr_value_ok(val, vlen)) ||
	    h->h_n == HK_HDRS_MAX)
		return hdrs_refuse(h, name, HK_EINVAL);
	if (hk_buf_reserve(&h->h_text, nlen + 3 + vlen) != 0)
		return hdrs_refuse(h, name, HK_ENOMEM);
	h->h_off[h->h_n++] = h->h_text.len;
	/* Room is reserved: these appends cannot fail. */
	hk_buf_add(&h->h_text, name, nlen);
	hk_buf_addc(&h->h_text, ':');
	if (val != NULL) {
		hk_buf_addc(&h->h_text, ' ');
		hk_buf_add(&h->h_text, val, vlen);
	}
	hk_buf_addc(&h->h_text, '\0');
	return 0;
}

int
hk_hdrs_add(struct hk_hdrs *h, const char *name, const char *val, size_t vlen)
{
	if (val == NULL)
		return hdrs_refuse(h, name, HK_EINVAL);
	return hdrs_line(h, name, val, vlen);
}

int
hk_hdrs_adds(struct hk_hdrs *h, const char *name, const char *val)
{
	return hk_hdrs_add(h, name, val, val != NULL ? strlen(val) : 0);
}

int
hk_hdrs_add_i64(struct hk_hdrs *h, const char *name, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u =
	    v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	/* Digits by hand: printf is the slowest part of a line. */
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	return hk_hdrs_add(h, name, p, (size_t)(tmp + sizeof(tmp) - p));
}

int
hk_hdrs_omit(struct hk_hdrs *h, const char *name)
{
	return hdrs_line(h, name, NULL, 0);
}

int
hk_hdrs_delivery(struct hk_hdrs *h, const struct hk_hdr_delivery *d)
{
	size_t i;

	/* Our lines take some 450 bytes: one allocation for them all. */
	if (h->h_err == 0 && hk_buf_reserve(&h->h_text, 512) != 0)
		return hdrs_refuse(h, "", HK_ENOMEM);
	hk_hdrs_adds(h, "Content-Type", "application/json");
	hk_hdrs_adds(h, "User-Agent", d->user_agent);
	hk_hdrs_adds(h, "X-Webhook-Event", d->type);
	hk_hdrs_add_i64(h, "X-Webhook-Timestamp", d->now_ms);
	hk_hdrs_adds(h, "X-Webhook-Signature", d->sig_hex);
	hk_hdrs_adds(h, "X-Webhook-Delivery", d->delivery);
	hk_hdrs_add_i64(h, "X-Webhook-Attempt", d->attempt);
	hk_hdrs_adds(h, "webhook-id", d->event);
	hk_hdrs_add_i64(h, "webhook-timestamp", d->now_ms / 1000);
	hk_hdrs_adds(h, "webhook-signature", d->sig_v1);
	/* No 100-continue round trip before the body. */
	hk_hdrs_omit(h, "Expect");
	for (i = 0; i < d->ncustom; i++)
		hk_hdrs_adds(h, d->custom[i].name, d->custom[i].value);
	return h->h_err;
}

int
hk_hdrs_ok(const struct hk_hdrs *h)
{
	return h->h_err;
}

size_t
hk_hdrs_count(const struct hk_hdrs *h)
{
	return h->h_err != 0 ? 0 : h->h_n;
}

const char *
hk_hdrs_line(const struct hk_hdrs *h, size_t i)
{
	if (h->h_err != 0 || i >= h->h_n)
		return NULL;
	return h->h_text.b + h->h_off[i];
}

void
hk_hdrs_reset(struct hk_hdrs *h)
{
	hk_buf_reset(&h->h_text);
	h->h_n = 0;
	h->h_err = 0;
	h->h_bad[0] = '\0';
}

void
hk_hdrs_free(struct hk_hdrs *h)
{
	hk_buf_free(&h->h_text);
	h->h_n = 0;
	h->h_err = 0;
	h->h_bad[0] = '\0';
}
