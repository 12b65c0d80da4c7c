/*
 * Unit tests of lib/hdr.c: every byte value, at the start, middle and end
 * of every field of a delivery's header lines, is either written into a
 * clean line or refuses the whole set.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "hk.h"
#include "t.h"

/* The value bytes a header line may hold: visible ASCII, space, tab. */
static int
value_byte_ok(unsigned c)
{
	return c == '\t' || (c >= 0x20 && c <= 0x7e);
}

static int
name_byte_ok(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", (int)c) != NULL);
}

/* Every line of H is "token: value" of allowed bytes only. */
static int
lines_clean(const struct hk_hdrs *h)
{
	const unsigned char *l;
	size_t i, k;

	for (i = 0; i < hk_hdrs_count(h); i++) {
		l = (const unsigned char *)hk_hdrs_line(h, i);
		for (k = 0; l[k] != ':'; k++)
			if (!name_byte_ok(l[k]))
				return 0;
		if (k == 0)
			return 0;
		if (l[k + 1] == '\0')
			continue; /* "Name:" */
		if (l[k + 1] != ' ')
			return 0;
		for (k += 2; l[k] != '\0'; k++)
			if (!value_byte_ok(l[k]))
				return 0;
	}
	return 1;
}

static struct hk_hdr_delivery
good_delivery(const struct hk_hdr_field *custom, size_t n)
{
	struct hk_hdr_delivery d = {"task.done", "evt_1", "dlv_1", "abcdef",
	    "v1,AAAA+/==", "hookd/1", 2, 1700000000123LL, custom, n};

	return d;
}

static void
t_lines(void)
{
	static const char *const want[] = {"Content-Type: application/json",
	    "User-Agent: hookd/1", "X-Webhook-Event: task.done",
	    "X-Webhook-Timestamp: 1700000000123", "X-Webhook-Signature: abcdef",
	    "X-Webhook-Delivery: dlv_1", "X-Webhook-Attempt: 2",
	    "webhook-id: evt_1", "webhook-timestamp: 1700000000",
	    "webhook-signature: v1,AAAA+/==", "Expect:",
	    "Authorization: Bearer a b\tc", "X-Empty: "};
	struct hk_hdr_field custom[] = {
	    {"Authorization", "Bearer a b\tc"}, {"X-Empty", ""}};
	struct hk_hdrs h = HK_HDRS_INIT;
	struct hk_hdr_delivery d = good_delivery(custom, 2);
	size_t i;

	T_CHECK(hk_hdrs_delivery(&h, &d) == 0);
	T_CHECK(hk_hdrs_count(&h) == HK_NELEM(want));
	for (i = 0; i < HK_NELEM(want) && i < hk_hdrs_count(&h); i++)
		T_STREQ(hk_hdrs_line(&h, i), want[i]);
	T_CHECK(hk_hdrs_line(&h, HK_NELEM(want)) == NULL);
	T_CHECK(lines_clean(&h));
	hk_hdrs_free(&h);
}

/*
 * Puts byte C at position POS (0 start, 1 middle, 2 end) of field F of a
 * good delivery and builds it: the set is refused exactly when C is not
 * allowed there, and what is not refused is clean.
 */
static int
try_byte(int f, unsigned c, int pos)
{
	struct hk_hdr_field custom[2] = {{"X-Custom", "value"}, {"X-B", "b"}};
	struct hk_hdr_delivery d = good_delivery(custom, 2);
	struct hk_hdrs h = HK_HDRS_INIT;
	const char **field[] = {&d.type, &d.event, &d.delivery, &d.sig_hex,
	    &d.sig_v1, &d.user_agent, &custom[0].value, &custom[1].value,
	    &custom[0].name, &custom[1].name};
	char buf[64];
	int is_name = f >= 8, allowed, rc, ok = 1;
	size_t n = strlen(*field[f]);

	/* A NUL ends a C string: it is tried through hk_hdrs_add(). */
	if (c == 0)
		return 1;
	memcpy(buf, *field[f], n);
	buf[n] = '\0';
	if (pos == 0)
		buf[0] = (char)c;
	else if (pos == 1)
		buf[n / 2] = (char)c;
	else
		buf[n - 1] = (char)c;
	*field[f] = buf;
	allowed = is_name ? name_byte_ok(c) : value_byte_ok(c);
	rc = hk_hdrs_delivery(&h, &d);
	if (allowed)
		ok = rc == 0 && hk_hdrs_count(&h) == 13 && lines_clean(&h);
	else
		ok = rc == HK_EINVAL && hk_hdrs_count(&h) == 0 &&
		    hk_hdrs_line(&h, 0) == NULL && h.h_bad[0] != '\0';
	if (!ok)
		fprintf(stderr, "field %d byte 0x%02x at %d: rc %d\n", f, c,
		    pos, rc);
	hk_hdrs_free(&h);
	return ok;
}

static void
t_every_byte(void)
{
	unsigned c;
	int f, pos, bad = 0;

	for (f = 0; f < 10; f++)
		for (c = 0; c < 256; c++)
			for (pos = 0; pos < 3; pos++)
				bad += !try_byte(f, c, pos);
	T_CHECK(bad == 0);
}

static void
t_counted(void)
{
	struct hk_hdrs h = HK_HDRS_INIT;
	char v[3] = {'a', 0, 'b'};
	unsigned c;

	/* A NUL inside a counted value refuses, as does any CR or LF. */
	T_CHECK(hk_hdrs_add(&h, "X-A", v, 3) == HK_EINVAL);
	T_CHECK(hk_hdrs_count(&h) == 0);
	T_STREQ(h.h_bad, "X-A");
	/* A refusal sticks: a good line after it is refused too. */
	T_CHECK(hk_hdrs_adds(&h, "X-B", "fine") == HK_EINVAL);
	T_CHECK(hk_hdrs_line(&h, 0) == NULL);
	hk_hdrs_reset(&h);
	T_CHECK(hk_hdrs_adds(&h, "X-B", "fine") == 0);
	T_STREQ(hk_hdrs_line(&h, 0), "X-B: fine");
	for (c = 0; c < 256; c++) {
		v[1] = (char)c;
		hk_hdrs_reset(&h);
		T_CHECK(
		    (hk_hdrs_add(&h, "X-A", v, 3) == 0) == value_byte_ok(c));
		T_CHECK(lines_clean(&h));
	}
	hk_hdrs_reset(&h);
	T_CHECK(hk_hdrs_adds(&h, "X-A\r\nX-Injected", "yes") == HK_EINVAL);
	T_STREQ(h.h_bad, "X-A??X-Injected");
	hk_hdrs_reset(&h);
	T_CHECK(hk_hdrs_add_i64(&h, "X-N", -12) == 0 &&
	    hk_hdrs_add_i64(&h, "X-M", LLONG_MIN) == 0);
	T_STREQ(hk_hdrs_line(&h, 0), "X-N: -12");
	T_STREQ(hk_hdrs_line(&h, 1), "X-M: -9223372036854775808");
	hk_hdrs_reset(&h);
	T_CHECK(hk_hdrs_adds(&h, "", "v") == HK_EINVAL);
	hk_hdrs_reset(&h);
	T_CHECK(hk_hdrs_adds(&h, "X-A", NULL) == HK_EINVAL);
	hk_hdrs_free(&h);
}

static void
t_full(void)
{
	struct hk_hdrs h = HK_HDRS_INIT;
	size_t i;

	for (i = 0; i < HK_HDRS_MAX; i++)
		T_CHECK(hk_hdrs_add_i64(&h, "X-N", (long long)i) == 0);
	T_CHECK(hk_hdrs_adds(&h, "X-Over", "1") == HK_EINVAL);
	T_CHECK(hk_hdrs_count(&h) == 0);
	T_STREQ(h.h_bad, "X-Over");
	hk_hdrs_free(&h);
}

static void
t_checks(void)
{
	T_CHECK(hk_hdr_visible("a.b-c_D:9~", 10));
	T_CHECK(!hk_hdr_visible("", 0));
	T_CHECK(!hk_hdr_visible("a b", 3));
	T_CHECK(!hk_hdr_visible("a\x7f", 2));
	T_CHECK(!hk_hdr_visible("caf\xc3\xa9", 5));
	T_CHECK(hk_hdr_name_ok("X-Ok_1", 6));
	T_CHECK(!hk_hdr_name_ok("X Ok", 4));
	T_CHECK(!hk_hdr_name_ok("X:Ok", 4));
	T_CHECK(hk_hdr_value_ok("a b\t~", 5));
	T_CHECK(!hk_hdr_value_ok("\xc2\x85", 2));
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"lines", t_lines},
	    {"every_byte", t_every_byte},
	    {"counted", t_counted},
	    {"full", t_full},
	    {"checks", t_checks},
	};

	return t_run("hdr", cases, HK_NELEM(cases));
}
