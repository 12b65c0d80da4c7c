/* Unit tests of lib/tmpl.c. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "hk.h"
#include "tmpl.h"
#include "t.h"

static const char payload[] =
    "{\"ref\":\"main \\\"x\\\"\",\"n\":3,\"ok\":true,"
    "\"list\":[{\"a\":1},\"two\"],\"obj\":{\"k\":null}}";

static char *
render(const char *t)
{
	struct hk_tmpl_vars v = {"deploy.done", "evt_1",
	    "2025-05-21T21:26:58.211Z", "ci\n", payload, sizeof(payload) - 1,
	    NULL, 0};
	struct hk_buf b = HK_BUF_INIT;

	if (hk_tmpl_render(t, &v, &b) != 0) {
		hk_buf_free(&b);
		return NULL;
	}
	return hk_buf_take(&b);
}

#define T_RENDERS(t, want)                                                     \
	do {                                                                   \
		char *got_ = render(t);                                        \
		if (got_ == NULL || strcmp(got_, want) != 0)                   \
			fprintf(stderr, "render %s: got %s\n", t,              \
			    got_ != NULL ? got_ : "(error)");                  \
		T_STREQ(got_, want);                                           \
		free(got_);                                                    \
	} while (0)

static void
test_render(void)
{
	T_RENDERS("{\"text\":\"Deploy ${payload.ref}\"}",
	    "{\"text\":\"Deploy main \\\"x\\\"\"}");
	T_RENDERS("{\"n\":${payload.n},\"ok\":${payload.ok}}",
	    "{\"n\":3,\"ok\":true}");
	T_RENDERS("${payload}", payload);
	T_RENDERS("{\"a\":${payload.list.0},\"b\":\"${payload.list.1}\"}",
	    "{\"a\":{\"a\":1},\"b\":\"two\"}");
	T_RENDERS("[${payload.obj.k}]", "[null]");
	T_RENDERS("\"${payload.missing.deep}\"", "\"\"");
	T_RENDERS("\"${payload.list.9}${payload.n.x}\"", "\"\"");
	T_RENDERS("{\"t\":\"${event_type}\",\"id\":\"${event_id}\",\"at\":"
	          "\"${timestamp}\",\"s\":\"${source_name}\"}",
	    "{\"t\":\"deploy.done\",\"id\":\"evt_1\",\"at\":"
	    "\"2025-05-21T21:26:58.211Z\",\"s\":\"ci\\n\"}");
	T_RENDERS("no variables $ {x} $", "no variables $ {x} $");
	T_CHECK(render("${nope}") == NULL);
}

/* Renders T over payload P. */
static char *
render_over(const char *t, const char *p)
{
	struct hk_tmpl_vars v = {"a", "evt_1", "2025-05-21T21:26:58.211Z", "ci",
	    p, strlen(p), NULL, 0};
	struct hk_buf b = HK_BUF_INIT;

	if (hk_tmpl_render(t, &v, &b) != 0) {
		hk_buf_free(&b);
		return NULL;
	}
	return hk_buf_take(&b);
}

/* Numbers go out with the digits they came with, never via a double. */
static void
test_numbers(void)
{
	static const char *const p =
	    "{\"id\":1096473593264894053,\"neg\":-0,\"big\":1e400,"
	    "\"f\":0.1,\"d30\":123456789012345678901234567890,"
	    "\"e\":1.5E+3, \"l\" : [ 18446744073709551615 , {\"x\": -1e-400} ],"
	    "\"s\":\"caf\\u00e9 \\/ \\\"q\\\"\",\"id\":2}";
	static const struct {
		const char *t, *want;
	} cases[] = {
	    {"{\"id\":${payload.id}}", "{\"id\":1096473593264894053}"},
	    {"${payload.neg}", "-0"},
	    {"${payload.big}", "1e400"},
	    {"${payload.f}", "0.1"},
	    {"${payload.d30}", "123456789012345678901234567890"},
	    {"${payload.e}", "1.5E+3"},
	    {"${payload.l.0}", "18446744073709551615"},
	    {"${payload.l.1.x}", "-1e-400"},
	    {"${payload.l.1}", "{\"x\": -1e-400}"},
	    {"\"${payload.s}\"", "\"caf\\u00e9 \\/ \\\"q\\\"\""},
	    {"[${payload.l.2}${payload.l.01x}${payload.id.0}]", "[]"},
	};
	size_t i;
	char *got;

	for (i = 0; i < HK_NELEM(cases); i++) {
		got = render_over(cases[i].t, p);
		if (got == NULL || strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "render %s: got %s\n", cases[i].t,
			    got != NULL ? got : "(error)");
		T_STREQ(got, cases[i].want);
		free(got);
	}
	/* Not JSON: a field is missing, the rest renders. */
	got = render_over("[${payload.a}]", "{\"a\":");
	T_STREQ(got, "[]");
	free(got);
}

static void
test_check(void)
{
	char err[128];

	T_CHECK(hk_tmpl_check(
	            "{\"a\":\"${payload.a-b.c_d.0}\"}", err, sizeof(err)) == 0);
	T_CHECK(hk_tmpl_check("plain", err, sizeof(err)) == 0);
	T_CHECK(hk_tmpl_check("${unknown}", err, sizeof(err)) == HK_EINVAL);
	T_CHECK(strstr(err, "${unknown}") != NULL);
	T_CHECK(hk_tmpl_check("${payload.}", err, sizeof(err)) == HK_EINVAL);
	T_CHECK(hk_tmpl_check("${payload..a}", err, sizeof(err)) == HK_EINVAL);
	T_CHECK(hk_tmpl_check("${payload.a b}", err, sizeof(err)) == HK_EINVAL);
	T_CHECK(hk_tmpl_check("${event_type", err, sizeof(err)) == HK_EINVAL);
	T_CHECK(hk_tmpl_check("${}", err, sizeof(err)) == HK_EINVAL);
}

/* What a subscription's template must pass to be saved. */
static void
test_validate(void)
{
	char err[256];

	T_CHECK(hk_tmpl_validate("{\"a\":${payload.x},\"t\":\"${event_type}\"}",
	            err, sizeof(err)) == 0);
	T_CHECK(hk_tmpl_validate("${nope}", err, sizeof(err)) == HK_EINVAL);
	T_CHECK(strstr(err, "nope") != NULL);
	T_CHECK(hk_tmpl_validate("{\"a\":}", err, sizeof(err)) == HK_EINVAL);
	T_STREQ(err, "template does not render to valid JSON");
	/* A payload field is 0 in the sample, so this is JSON. */
	T_CHECK(hk_tmpl_validate("[${payload.a.b.0}]", err, sizeof(err)) == 0);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"render", test_render},
	    {"validate", test_validate},
	    {"numbers", test_numbers},
	    {"check", test_check},
	};

	return t_run("tmpl", cases, HK_NELEM(cases));
}
