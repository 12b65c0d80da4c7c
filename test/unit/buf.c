/* Unit tests of lib/buf.c: growth, JSON escapes and numbers. */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "hk.h"
#include "t.h"

/* A buffer grows, escapes JSON, prints numbers and hands its bytes over. */
static void
test_buf(void)
{
	struct hk_buf b = HK_BUF_INIT;
	char *s;
	int i;

	for (i = 0; i < 1000; i++)
		T_CHECK(hk_buf_printf(&b, "%d,", i) == 0);
	T_CHECK(b.len > 3000 && b.b[b.len] == '\0');
	hk_buf_reset(&b);
	T_CHECK(b.len == 0);
	hk_buf_add_jsonesc(&b, "a\"b\\c\n\x01é", 9);
	T_STREQ(b.b, "a\\\"b\\\\c\\n\\u0001é");
	hk_buf_reset(&b);
	hk_buf_add_jsonstr(&b, NULL);
	hk_buf_add_jsonstr(&b, "x");
	T_STREQ(b.b, "null\"x\"");
	s = hk_buf_take(&b);
	T_STREQ(s, "null\"x\"");
	T_CHECK(b.b == NULL && b.len == 0);
	free(s);
	hk_buf_add_u64(&b, 0);
	hk_buf_addc(&b, ',');
	hk_buf_add_u64(&b, 18446744073709551615ULL);
	hk_buf_addc(&b, ',');
	hk_buf_add_i64(&b, -42);
	hk_buf_addc(&b, ',');
	hk_buf_add_i64(&b, INT64_MIN);
	T_STREQ(b.b, "0,18446744073709551615,-42,-9223372036854775808");
	hk_buf_free(&b);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"buf", test_buf},
	};

	return t_run("buf", cases, HK_NELEM(cases));
}
