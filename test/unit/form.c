/*
 * Unit tests of lib/form.c: one field (hk_form_get) and a whole form as
 * a JSON object (hk_form_json): decoding, repeated fields, order, and
 * what is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "hk.h"
#include "t.h"

/* hk_form_json of IN; compares with WANT (NULL: expects RC). */
static void
json_case(const char *in, const char *want, int rc)
{
	struct hk_buf b = HK_BUF_INIT;
	int got = hk_form_json(in, strlen(in), &b);

	if (got != rc ||
	    (want != NULL &&
	        (b.b == NULL || b.len != strlen(want) ||
	            memcmp(b.b, want, b.len) != 0)))
		fprintf(stderr, "form '%s': rc %d, '%.*s'\n", in, got,
		    (int)b.len, b.b != NULL ? b.b : "");
	T_CHECK(got == rc);
	if (want != NULL)
		T_CHECK(b.b != NULL && b.len == strlen(want) &&
		    memcmp(b.b, want, b.len) == 0);
	hk_buf_free(&b);
}

static void
test_json(void)
{
	json_case("", "{}", 0);
	json_case("a=1", "{\"a\":\"1\"}", 0);
	json_case("a=1&b=x+y&a=2", "{\"a\":[\"1\",\"2\"],\"b\":\"x y\"}", 0);
	json_case("a=1&a=2&a=3", "{\"a\":[\"1\",\"2\",\"3\"]}", 0);
	json_case("b=1&a=2&b=3", "{\"b\":[\"1\",\"3\"],\"a\":\"2\"}", 0);
	json_case("flag&x=", "{\"flag\":\"\",\"x\":\"\"}", 0);
	json_case("a=1&&b=2&", "{\"a\":\"1\",\"b\":\"2\"}", 0);
	json_case("%61=%2Fcmd&a=%C3%A9", "{\"a\":[\"/cmd\",\"\xc3\xa9\"]}", 0);
	json_case("q=%22%5C%0A", "{\"q\":\"\\\"\\\\\\n\"}", 0);
	json_case("a=b=c", "{\"a\":\"b=c\"}", 0);
	json_case("a=%zz", NULL, HK_EINVAL);
	json_case("a=%4", NULL, HK_EINVAL);
	json_case("a=%00", NULL, HK_EINVAL);
	json_case("%FF=1", NULL, HK_EINVAL);
	json_case("a=%C0%AF", NULL, HK_EINVAL); /* overlong '/' */
	json_case("a=%ED%A0%80", NULL, HK_EINVAL); /* a surrogate */
	json_case("a=%F4%90%80%80", NULL, HK_EINVAL); /* past U+10FFFF */
	json_case("a=%E2%82", NULL, HK_EINVAL); /* cut short */
	json_case("a=%F0%9F%98%80", "{\"a\":\"\xf0\x9f\x98\x80\"}", 0);
}

/* Many repeats of one name stay one array (a lookup each, not a scan). */
static void
test_many(void)
{
	struct hk_buf b = HK_BUF_INIT;
	size_t i, n = 20000;
	char *in = malloc(n * 4 + 1), *p = in;

	T_CHECK(in != NULL);
	if (in == NULL)
		return;
	for (i = 0; i < n; i++)
		p += sprintf(p, "%sa=%d", i > 0 ? "&" : "", (int)(i % 10));
	T_CHECK(hk_form_json(in, strlen(in), &b) == 0);
	T_CHECK(b.len > 6 && memcmp(b.b, "{\"a\":[\"0\",\"1\"", 13) == 0);
	hk_buf_free(&b);
	free(in);
}

static void
test_get(void)
{
	char *out = NULL;
	size_t n;

	T_CHECK(
	    hk_form_get("x=1&payload=%7B%7D", 18, "payload", &out, &n) == 0);
	T_STREQ(out, "{}");
	T_CHECK(n == 2);
	free(out);
	T_CHECK(hk_form_get("command=%2Fa", 12, "payload", &out, &n) ==
	    HK_ENOTFOUND);
	T_CHECK(
	    hk_form_get("payload=%z", 10, "payload", &out, &n) == HK_EINVAL);
}

/* One field out of a form, decoded; LEN bounds the text. */
static void
test_fields(void)
{
	const char *f = "a=1&payload=%7B%22x%22%3A%22a+b%22%7D&payload=2&e=%";
	char *out;
	size_t n;

	T_CHECK(hk_form_get(f, strlen(f), "payload", &out, &n) == 0);
	T_STREQ(out, "{\"x\":\"a b\"}");
	T_CHECK(n == strlen(out));
	free(out);
	T_CHECK(hk_form_get(f, strlen(f), "a", &out, &n) == 0);
	T_STREQ(out, "1");
	free(out);
	T_CHECK(hk_form_get(f, strlen(f), "nope", &out, &n) == HK_ENOTFOUND);
	T_CHECK(hk_form_get(f, strlen(f), "e", &out, &n) == HK_EINVAL);
	T_CHECK(
	    hk_form_get("payload=%zz", 11, "payload", &out, &n) == HK_EINVAL);
	/* Not NUL-terminated: only LEN bytes count. */
	T_CHECK(hk_form_get("payload=abcdef", 10, "payload", &out, &n) == 0);
	T_STREQ(out, "ab");
	free(out);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"json", test_json},
	    {"many", test_many},
	    {"get", test_get},
	    {"fields", test_fields},
	};

	return t_run("form", cases, HK_NELEM(cases));
}
