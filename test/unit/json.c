/* Unit tests of lib/json.c. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "hk.h"
#include "json.h"
#include "t.h"

static int
valid(const char *s)
{
	return hk_json_scan(s, strlen(s), NULL, 0, NULL) == 0;
}

static void
t_grammar(void)
{
	static const char *const good[] = {"{}", "[]", " \t\r\n{} \n", "0",
	    "-0", "1.5e-3", "-12.0E+7", "\"\"", "true", "false", "null",
	    "[1,\"a\",{\"k\":[null]}]", "{\"a\":{\"b\":{}}}", "\"\\u00e9\"",
	    "\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"",
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""};
	static const char *const bad[] = {"", " ", "{", "}", "[1,]",
	    "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "+1", "1.", ".5", "1e",
	    "-", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12G4\"", "\"\\ud800\"",
	    "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"", "\"\xc0\xaf\"",
	    "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe4\xb8\"", "{} {}",
	    "[1]x", "\f{}", "'a'", "[1 2]",
	    "1234567890123456789012345678901234567890123456789012345678901234"};
	size_t i;
	char deep[2 * HK_JSON_DEPTH + 3];

	for (i = 0; i < HK_NELEM(good); i++) {
		if (!valid(good[i]))
			fprintf(stderr, "refused: %s\n", good[i]);
		T_CHECK(valid(good[i]));
	}
	for (i = 0; i < HK_NELEM(bad); i++) {
		if (valid(bad[i]))
			fprintf(stderr, "accepted: %s\n", bad[i]);
		T_CHECK(!valid(bad[i]));
	}
	T_CHECK(hk_json_scan("{}x", 2, NULL, 0, NULL) == 0);
	T_CHECK(hk_json_scan("\"a\0b\"", 5, NULL, 0, NULL) != 0);
	memset(deep, '[', HK_JSON_DEPTH);
	memset(deep + HK_JSON_DEPTH, ']', HK_JSON_DEPTH);
	deep[2 * HK_JSON_DEPTH] = '\0';
	T_CHECK(valid(deep));
	memset(deep, '[', HK_JSON_DEPTH + 1);
	memset(deep + HK_JSON_DEPTH + 1, ']', HK_JSON_DEPTH + 1);
	deep[2 * HK_JSON_DEPTH + 2] = '\0';
	T_CHECK(!valid(deep));
}

static void
t_members(void)
{
	static const char *const names[] = {"event", "type", "id"};
	static const char doc[] =
	    "{\"x\":{\"event\":\"inner\"},\"ev\\u0065nt\":\"a\\/b \\u00e9"
	    "\\ud83d\\ude00\",\"event\":\"second\",\"type\":7,"
	    "\"id\":\"evt_1\",\"type\":\"later\"}";
	struct hk_json_str out[3];
	char buf[64];

	T_CHECK(hk_json_scan(doc, sizeof(doc) - 1, names, 3, out) == 0);
	T_CHECK(out[0].p != NULL);
	T_CHECK(hk_json_unescape(&out[0], buf, sizeof(buf)) == 10);
	T_STREQ(buf, "a/b \xc3\xa9\xf0\x9f\x98\x80");
	/* The first "type" is a number: no type, as cJSON would say. */
	T_CHECK(out[1].p == NULL);
	T_CHECK(out[2].p != NULL && out[2].len == 5 &&
	    memcmp(out[2].p, "evt_1", 5) == 0);
	T_CHECK(hk_json_unescape(&out[0], buf, 5) == -1);
	T_CHECK(strlen(buf) < 5);
	/* Not an object: nothing picked out. */
	T_CHECK(hk_json_scan("[{\"event\":\"a\"}]", 15, names, 3, out) == 0);
	T_CHECK(out[0].p == NULL);
	T_CHECK(hk_json_scan("{\"event\":\"a\"", 12, names, 3, out) != 0);
	/* hk_json_members: numbers and nulls too, told apart by kind. */
	T_CHECK(hk_json_members(doc, sizeof(doc) - 1, names, 3, out) == 0);
	T_CHECK(out[0].kind == HK_JSON_STRING);
	T_CHECK(out[1].p != NULL && out[1].kind == HK_JSON_NUMBER &&
	    out[1].len == 1 && out[1].p[0] == '7');
	T_CHECK(hk_json_members("{\"event\":null,\"type\":-1.5e3,\"id\":[1]}",
	            37, names, 3, out) == 0);
	T_CHECK(out[0].kind == HK_JSON_NULL && out[0].len == 4);
	T_CHECK(out[1].kind == HK_JSON_NUMBER && out[1].len == 6 &&
	    memcmp(out[1].p, "-1.5e3", 6) == 0);
	T_CHECK(out[2].p == NULL); /* an array: not a kind picked out */
	T_CHECK(hk_json_scan("{\"event\":null,\"type\":-1.5e3,\"id\":[1]}", 37,
	            names, 3, out) == 0);
	T_CHECK(out[0].p == NULL && out[1].p == NULL);
}

/* Whether S is the text [P, P + N). */
static int
is(const struct hk_json_str *s, const char *text, int kind)
{
	return s->p != NULL && s->len == strlen(text) &&
	    memcmp(s->p, text, s->len) == 0 && s->kind == kind;
}

/* Raw members and children: every kind, its text exactly as sent. */
static void
t_raw(void)
{
	static const char *const names[] = {
	    "payload", "event", "n", "t", "z", "s", "a", "missing"};
	static const char doc[] =
	    "{\"event\":\"x\\r\", \"payload\" : {\"id\":1096473593264894053,"
	    "\"d\":[1e400, -0,{\"k\":[]}]} ,\"n\":null,\"t\":true,"
	    "\"z\":-0.0E-0,\"s\":\"\\u0000\",\"a\":[ ],\"payload\":1}";
	struct hk_json_str out[8], c;

	T_CHECK(hk_json_raw(doc, sizeof(doc) - 1, names, 8, out) == 0);
	T_CHECK(is(&out[0],
	    "{\"id\":1096473593264894053,\"d\":[1e400, -0,{\"k\":[]}]}",
	    HK_JSON_OBJECT));
	T_CHECK(is(&out[1], "\"x\\r\"", HK_JSON_STRING));
	T_CHECK(is(&out[2], "null", HK_JSON_NULL));
	T_CHECK(is(&out[3], "true", HK_JSON_BOOL));
	T_CHECK(is(&out[4], "-0.0E-0", HK_JSON_NUMBER));
	T_CHECK(is(&out[5], "\"\\u0000\"", HK_JSON_STRING));
	T_CHECK(is(&out[6], "[ ]", HK_JSON_ARRAY));
	T_CHECK(out[7].p == NULL);
	/* Children, by name and by index. */
	T_CHECK(hk_json_child(out[0].p, out[0].len, "id", &c) == 0 &&
	    is(&c, "1096473593264894053", HK_JSON_NUMBER));
	T_CHECK(hk_json_child(out[0].p, out[0].len, "d", &c) == 0 &&
	    is(&c, "[1e400, -0,{\"k\":[]}]", HK_JSON_ARRAY));
	T_CHECK(hk_json_child(c.p, c.len, "1", &c) == 0 &&
	    is(&c, "-0", HK_JSON_NUMBER));
	T_CHECK(hk_json_child(out[0].p, out[0].len, "d", &c) == 0 &&
	    hk_json_child(c.p, c.len, "2", &c) == 0 &&
	    is(&c, "{\"k\":[]}", HK_JSON_OBJECT));
	T_CHECK(hk_json_child(out[0].p, out[0].len, "d", &c) == 0 &&
	    hk_json_child(c.p, c.len, "3", &c) == HK_ENOTFOUND);
	T_CHECK(hk_json_child(out[0].p, out[0].len, "d", &c) == 0 &&
	    hk_json_child(c.p, c.len, "-1", &c) == HK_ENOTFOUND);
	T_CHECK(hk_json_child("1", 1, "0", &c) == HK_ENOTFOUND);
	T_CHECK(hk_json_child("[[1],2]", 7, "1", &c) == 0 &&
	    is(&c, "2", HK_JSON_NUMBER));
	T_CHECK(hk_json_child("{\"a\":1,\"a\":2}", 13, "a", &c) == 0 &&
	    is(&c, "1", HK_JSON_NUMBER));
	T_CHECK(hk_json_raw("{\"a\":[1,}", 9, names, 8, out) == HK_EINVAL);
}

static void
t_print(void)
{
	static const char src[] =
	    "{\"a\":[0.1,1e15,-0,1.5,-42,123456789012,1e300,2.5e-8],"
	    "\"s\":\"q\\\"\\\\\\n\\u0001\u00e9\",\"o\":{},\"e\":[],"
	    "\"t\":true,\"f\":false,\"n\":null}";
	cJSON *j = cJSON_Parse(src), *back;
	char *text, *want, *got;

	T_CHECK(j != NULL);
	text = hk_json_text(j);
	T_STREQ(text,
	    "{\"a\":[0.1,1000000000000000,-0,1.5,-42,123456789012,"
	    "1e+300,2.5e-08],\"s\":\"q\\\"\\\\\\n\\u0001\u00e9\","
	    "\"o\":{},\"e\":[],\"t\":true,\"f\":false,\"n\":null}");
	back = text != NULL ? cJSON_Parse(text) : NULL;
	want = cJSON_PrintUnformatted(j);
	got = back != NULL ? cJSON_PrintUnformatted(back) : NULL;
	T_STREQ(got, want);
	free(text);
	free(want);
	free(got);
	cJSON_Delete(back);
	cJSON_Delete(j);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"grammar", t_grammar},
	    {"members", t_members},
	    {"print", t_print},
	    {"raw", t_raw},
	};

	return t_run("json", cases, HK_NELEM(cases));
}
