/*
 * Unit tests of lib/check.c: the rows' types, bounds, null and empty
 * strings, required and absent members, unknown members at the top and
 * nested, stored records, the order of refusals and the own messages of
 * judges and setters.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "check.h"
#include "hk.h"
#include "t.h"

enum color { RED, GREEN, BLUE };

struct thing {
	int i;
	long l;
	long long ll;
	double rate;
	char *s;
	char *secret;
	int on;
	enum color color;
	int seen_absent;
	int lo, hi;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

/* A judge with a message of its own for one value. */
static int
thing_s_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)obj;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "own") == 0)
		return hk_check_fail(ck, "s: own message");
	if (cJSON_IsString(v) && strcmp(v->valuestring, "bad") == 0)
		return -1;
	return 0;
}

/* A setter called when its member is absent too. */
static int
thing_set_absent(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct thing *t = obj;

	(void)ck;
	if (v == NULL) {
		t->seen_absent = 1;
		return 0;
	}
	return cJSON_IsNumber(v) && v->valuedouble == 7 ? 0 : -1;
}

/* An object's judge, once its rows are applied. */
static int
thing_range_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	const struct thing *t = obj;

	(void)v;
	return t->hi < t->lo ? hk_check_fail(ck, "range.hi below range.lo") : 0;
}

#define AT(m) HK_CHECK_AT(struct thing, m)

static const struct hk_check_row range_rows[] = {
    {.ck_name = "lo",
        .ck_type = HK_CHECK_INT,
        AT(lo),
        .ck_max = 10,
        .ck_msg = "range.lo: 0-10"},
    {.ck_name = "hi",
        .ck_type = HK_CHECK_INT,
        AT(hi),
        .ck_max = 10,
        .ck_msg = "range.hi: 0-10"},
    {.ck_name = NULL},
};

static const struct hk_check_row rows[] = {
    {.ck_name = "i",
        .ck_type = HK_CHECK_INT,
        .ck_flags = HK_CHECK_NEED,
        AT(i),
        .ck_min = -5,
        .ck_max = 5,
        .ck_msg = "i: -5 to 5"},
    {.ck_name = "l",
        .ck_type = HK_CHECK_INT,
        .ck_flags = HK_CHECK_NULL,
        AT(l),
        .ck_min = 1,
        .ck_max = 1e12,
        .ck_null = -1,
        .ck_msg = "l: 1 to 1e12 or null"},
    {.ck_name = "ll",
        .ck_type = HK_CHECK_INT,
        AT(ll),
        .ck_max = 1e15,
        .ck_msg = "ll"},
    {.ck_name = "rate",
        .ck_type = HK_CHECK_RATE,
        AT(rate),
        .ck_min = 0.5,
        .ck_max = 100,
        .ck_msg = "rate: 0 or 0.5-100"},
    {.ck_name = "s",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL | HK_CHECK_EMPTY,
        AT(s),
        .ck_max = 4,
        .ck_ok = thing_s_ok,
        .ck_msg = "s: at most 4"},
    {.ck_name = "secret",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_WIPE,
        AT(secret),
        .ck_min = 1,
        .ck_msg = "secret: 1 or more"},
    {.ck_name = "on", .ck_type = HK_CHECK_BOOL, AT(on), .ck_msg = "on: bool"},
    {.ck_name = "color",
        .ck_type = HK_CHECK_ENUM,
        AT(color),
        .ck_names = colors,
        .ck_msg = "color: red, green or blue"},
    {.ck_name = "seven",
        .ck_type = HK_CHECK_ANY,
        .ck_flags = HK_CHECK_ABSENT,
        .ck_set = thing_set_absent,
        .ck_msg = "seven: 7"},
    {.ck_name = "range",
        .ck_type = HK_CHECK_OBJ,
        .ck_sub = range_rows,
        .ck_ok = thing_range_ok,
        .ck_msg = "range: an object"},
    {.ck_name = NULL},
};

static char err[128];

/* Applies the JSON text BODY to T with FLAGS; the walk's result. */
static int
walk(struct thing *t, const char *body, int flags)
{
	struct hk_check ck = {flags, err, sizeof(err)};
	cJSON *j = cJSON_Parse(body);
	int rc;

	if (j == NULL)
		abort();
	rc = hk_check_apply(rows, t, j, &ck);
	cJSON_Delete(j);
	return rc;
}

static void
thing_free(struct thing *t)
{
	free(t->s);
	free(t->secret);
	memset(t, 0, sizeof(*t));
}

/* Refused with MSG, whatever T was. */
static void
refused(const char *body, int flags, const char *msg)
{
	struct thing t = {0};

	if (walk(&t, body, flags) != HK_EINVAL || strcmp(err, msg) != 0)
		fprintf(stderr, "  %s: \"%s\"\n", body, err);
	T_CHECK(strcmp(err, msg) == 0);
	thing_free(&t);
}

static void
test_store(void)
{
	struct thing t = {0};

	T_CHECK(rows[0].ck_mem == HK_CHECK_M_INT);
	T_CHECK(rows[1].ck_mem == HK_CHECK_M_LONG);
	T_CHECK(rows[2].ck_mem == HK_CHECK_M_LLONG);
	T_CHECK(rows[3].ck_mem == HK_CHECK_M_DOUBLE);
	T_CHECK(rows[4].ck_mem == HK_CHECK_M_STR);
	T_CHECK(rows[7].ck_mem == HK_CHECK_M_INT ||
	    rows[7].ck_mem == HK_CHECK_M_UINT);
	T_CHECK(walk(&t,
	            "{\"i\":-5,\"l\":1000000000000,\"ll\":1e15,\"rate\":0.5,"
	            "\"s\":\"abcd\",\"secret\":\"k\",\"on\":true,"
	            "\"color\":\"blue\",\"seven\":7,"
	            "\"range\":{\"lo\":2,\"hi\":3}}",
	            HK_CHECK_CREATE) == 0);
	T_CHECK(
	    t.i == -5 && t.l == 1000000000000L && t.ll == 1000000000000000LL);
	T_CHECK(t.rate == 0.5 && t.on == 1 && t.color == BLUE);
	T_STREQ(t.s, "abcd");
	T_STREQ(t.secret, "k");
	T_CHECK(t.lo == 2 && t.hi == 3 && t.seen_absent == 0);
	/* Replaced strings are freed (the sanitizer sees a leak). */
	T_CHECK(walk(&t, "{\"secret\":\"k2\",\"s\":\"x\",\"l\":null}", 0) == 0);
	T_STREQ(t.secret, "k2");
	T_STREQ(t.s, "x");
	T_CHECK(t.l == -1);
	/* null and "" clear a string that allows them. */
	T_CHECK(walk(&t, "{\"s\":null}", 0) == 0 && t.s == NULL);
	T_CHECK(walk(&t, "{\"s\":\"y\"}", 0) == 0 && t.s != NULL);
	T_CHECK(walk(&t, "{\"s\":\"\"}", 0) == 0 && t.s == NULL);
	/* Absent members change nothing; an absent-setter is called. */
	T_CHECK(walk(&t, "{}", 0) == 0 && t.seen_absent == 1);
	T_CHECK(t.i == -5 && t.color == BLUE && t.rate == 0.5);
	thing_free(&t);
}

static void
test_bounds(void)
{
	refused("{\"i\":6}", 0, "i: -5 to 5");
	refused("{\"i\":-6}", 0, "i: -5 to 5");
	refused("{\"i\":1.5}", 0, "i: -5 to 5");
	refused("{\"i\":\"1\"}", 0, "i: -5 to 5");
	refused("{\"i\":null}", 0, "i: -5 to 5");
	refused("{\"l\":0}", 0, "l: 1 to 1e12 or null");
	refused("{\"l\":1000000000001}", 0, "l: 1 to 1e12 or null");
	refused("{\"rate\":0.25}", 0, "rate: 0 or 0.5-100");
	refused("{\"rate\":-1}", 0, "rate: 0 or 0.5-100");
	refused("{\"rate\":101}", 0, "rate: 0 or 0.5-100");
	refused("{\"rate\":null}", 0, "rate: 0 or 0.5-100");
	refused("{\"s\":\"abcde\"}", 0, "s: at most 4");
	refused("{\"s\":5}", 0, "s: at most 4");
	refused("{\"secret\":\"\"}", 0, "secret: 1 or more");
	refused("{\"secret\":null}", 0, "secret: 1 or more");
	refused("{\"on\":1}", 0, "on: bool");
	refused("{\"color\":\"Red\"}", 0, "color: red, green or blue");
	refused("{\"color\":0}", 0, "color: red, green or blue");
	refused("{\"range\":[]}", 0, "range: an object");
	refused("{\"range\":{\"lo\":11}}", 0, "range.lo: 0-10");
}

static void
test_messages(void)
{
	struct thing t = {0};

	refused("{}", HK_CHECK_CREATE, "i is required");
	refused("{\"x\":1}", 0, "unknown field x");
	refused("{\"range\":{\"x\":1}}", 0, "unknown field range.x");
	refused(
	    "{\"range\":{\"x\":1}}", HK_CHECK_RECORD, "unknown field range.x");
	/* The first bad member in the rows' order, not the body's. */
	refused("{\"on\":1,\"i\":9}", 0, "i: -5 to 5");
	refused("{\"on\":1,\"x\":1}", 0, "unknown field x");
	/* A judge's or setter's own message, else the row's. */
	refused("{\"s\":\"own\"}", 0, "s: own message");
	refused("{\"s\":\"bad\"}", 0, "s: at most 4");
	refused("{\"seven\":8}", 0, "seven: 7");
	refused(
	    "{\"range\":{\"lo\":5,\"hi\":4}}", 0, "range.hi below range.lo");
	/* A stored record keeps other members and a rate below ck_min. */
	T_CHECK(walk(&t, "{\"id\":\"x\",\"rate\":0.25}", HK_CHECK_RECORD) == 0);
	T_CHECK(t.rate == 0.25);
	/* Not an object: nothing applies (its caller answers that). */
	T_CHECK(walk(&t, "[1,2]", 0) == 0);
	T_CHECK(walk(&t, "[1,2]", HK_CHECK_CREATE) == HK_EINVAL);
	T_STREQ(err, "i is required");
	thing_free(&t);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"store", test_store},
	    {"bounds", test_bounds},
	    {"messages", test_messages},
	};

	return t_run("check", cases, HK_NELEM(cases));
}
