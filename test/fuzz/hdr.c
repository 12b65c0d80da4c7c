/*
 * Fuzzes the outgoing header builder (lib/hdr.c) with arbitrary bytes in
 * every field that reaches it, and checks its promise, not only that it
 * does not crash: no line ever holds a CR, LF, NUL, other control, DEL or
 * byte of 0x80 or more; a field outside the rule refuses the whole set;
 * a set that is not refused holds exactly the lines it was given.
 *
 * Input: a byte of flags (bits 0-2: how many custom fields, 0-7), then
 * fields, each a length byte and that many bytes: type, event, delivery,
 * sig_hex, sig_v1, user agent, then a name and a value per custom field.
 * A field's bytes are used as a C string (a NUL ends it) for the
 * delivery, and whole, NUL and all, for hk_hdrs_add().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "hk.h"

#define NFIXED 6
#define NCUSTOM 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct field {
	char s[257]; /* NUL-terminated copy */
	size_t n; /* the bytes as given, NULs included */
};

static int
tchar(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", (int)c) != NULL);
}

static int
vchar(unsigned c)
{
	return c == '\t' || (c >= 0x20 && c <= 0x7e);
}

/* The rule, written again here independently of lib/hdr.c. */
static int
ref_value(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!vchar((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
ref_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HK_HDR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Every line of H keeps to the rule; aborts otherwise. */
static void
check_lines(const struct hk_hdrs *h)
{
	const unsigned char *l;
	size_t i, k;

	for (i = 0; i < hk_hdrs_count(h); i++) {
		l = (const unsigned char *)hk_hdrs_line(h, i);
		for (k = 0; l[k] != ':'; k++)
			if (!tchar(l[k]))
				abort();
		if (k == 0 || (l[k + 1] != '\0' && l[k + 1] != ' '))
			abort();
		for (k++; l[k] != '\0'; k++)
			if (!vchar(l[k]))
				abort();
	}
	if (hk_hdrs_ok(h) != 0 &&
	    (hk_hdrs_count(h) != 0 || hk_hdrs_line(h, 0) != NULL))
		abort();
}

/* Line I of H is exactly NAME ": " VALUE. */
static void
check_line(const struct hk_hdrs *h, size_t i, const char *name, const char *v)
{
	const char *l = hk_hdrs_line(h, i);
	size_t n = strlen(name);

	if (l == NULL || strncmp(l, name, n) != 0 || l[n] != ':' ||
	    l[n + 1] != ' ' || strcmp(l + n + 2, v) != 0)
		abort();
}

/* Builds the delivery of fields F (NC custom ones) and checks it. */
static void
fuzz_delivery(struct field *f, size_t nc)
{
	struct hk_hdr_field custom[NCUSTOM];
	struct hk_hdr_delivery d;
	struct hk_hdrs h = HK_HDRS_INIT;
	size_t i;
	int good = 1, rc;

	memset(&d, 0, sizeof(d));
	d.type = f[0].s;
	d.event = f[1].s;
	d.delivery = f[2].s;
	d.sig_hex = f[3].s;
	d.sig_v1 = f[4].s;
	d.user_agent = f[5].s;
	d.attempt = (int)f[0].n;
	d.now_ms = (int64_t)f[1].n * 1000003;
	for (i = 0; i < nc; i++) {
		custom[i].name = f[NFIXED + 2 * i].s;
		custom[i].value = f[NFIXED + 2 * i + 1].s;
		good &= ref_name(custom[i].name, strlen(custom[i].name));
		good &= ref_value(custom[i].value, strlen(custom[i].value));
	}
	d.custom = custom;
	d.ncustom = nc;
	for (i = 0; i < NFIXED; i++)
		good &= ref_value(f[i].s, strlen(f[i].s));
	rc = hk_hdrs_delivery(&h, &d);
	check_lines(&h);
	if (good != (rc == 0) && rc != HK_ENOMEM)
		abort();
	if (rc == 0) {
		if (hk_hdrs_count(&h) != 11 + nc)
			abort();
		check_line(&h, 2, "X-Webhook-Event", d.type);
		check_line(&h, 5, "X-Webhook-Delivery", d.delivery);
		check_line(&h, 7, "webhook-id", d.event);
		check_line(&h, 9, "webhook-signature", d.sig_v1);
		for (i = 0; i < nc; i++)
			check_line(&h, 11 + i, custom[i].name, custom[i].value);
	}
	hk_hdrs_free(&h);
}

/* Adds each field whole (NULs included) as a value: the same promise. */
static void
fuzz_counted(struct field *f, size_t n)
{
	struct hk_hdrs h = HK_HDRS_INIT;
	size_t i;
	int good = 1, rc = 0;

	for (i = 0; i < n; i++) {
		good &= ref_value(f[i].s, f[i].n);
		rc = hk_hdrs_add(&h, "X-F", f[i].s, f[i].n);
		check_lines(&h);
		if (good != (rc == 0) && rc != HK_ENOMEM)
			abort();
	}
	hk_hdrs_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct field f[NFIXED + 2 * NCUSTOM];
	size_t nc, nf, i, len, at = 1;

	if (size == 0)
		return 0;
	nc = data[0] & 7;
	nf = NFIXED + 2 * nc;
	for (i = 0; i < nf; i++) {
		len = at < size ? data[at++] : 0;
		if (len > size - at)
			len = size - at;
		memcpy(f[i].s, data + at, len);
		f[i].s[len] = '\0';
		f[i].n = len;
		at += len;
	}
	fuzz_delivery(f, nc);
	fuzz_counted(f, nf);
	return 0;
}
