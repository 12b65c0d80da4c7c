/* Unit tests of lib/jptr.c: pointers over trees and over text. */
#include <string.h>

#include <cJSON.h>

#include "hk.h"
#include "jptr.h"
#include "t.h"

static const char doc[] =
    " {\"a\":{\"b~c\":[10,\"x\\u0000y\",{\"k/l\":1096473593264894053}]},"
    "\"\":-0,\"s\":\"caf\\u00e9\",\"n\":1e400} ";

/* Whether POINTER names TEXT (of kind KIND) in doc's text. */
static int
names(const char *pointer, const char *text, int kind)
{
	struct hk_json_str v;

	return hk_jptr_text(doc, sizeof(doc) - 1, pointer, &v) == 0 &&
	    v.len == strlen(text) && memcmp(v.p, text, v.len) == 0 &&
	    v.kind == kind;
}

static void
t_text(void)
{
	struct hk_json_str v;

	T_CHECK(names("/a/b~0c/2/k~1l", "1096473593264894053", HK_JSON_NUMBER));
	T_CHECK(names("/a/b~0c/1", "\"x\\u0000y\"", HK_JSON_STRING));
	T_CHECK(names("/a/b~0c/0", "10", HK_JSON_NUMBER));
	T_CHECK(names("/", "-0", HK_JSON_NUMBER));
	T_CHECK(names("/n", "1e400", HK_JSON_NUMBER));
	T_CHECK(names("/s", "\"caf\\u00e9\"", HK_JSON_STRING));
	T_CHECK(names("/a/b~0c",
	    "[10,\"x\\u0000y\",{\"k/l\":1096473593264894053}]", HK_JSON_ARRAY));
	/* The root, without the whitespace around it. */
	T_CHECK(hk_jptr_text(doc, sizeof(doc) - 1, "", &v) == 0 &&
	    v.kind == HK_JSON_OBJECT && v.p[0] == '{' && v.p[v.len - 1] == '}');
	/* RFC 6901 indexes: no leading zero, no sign. */
	T_CHECK(hk_jptr_text(doc, sizeof(doc) - 1, "/a/b~0c/01", &v) ==
	    HK_ENOTFOUND);
	T_CHECK(hk_jptr_text(doc, sizeof(doc) - 1, "/a/b~0c/3", &v) ==
	    HK_ENOTFOUND);
	T_CHECK(hk_jptr_text(doc, sizeof(doc) - 1, "/a/x", &v) == HK_ENOTFOUND);
	T_CHECK(hk_jptr_text(doc, sizeof(doc) - 1, "/s/0", &v) == HK_ENOTFOUND);
	T_CHECK(hk_jptr_text(doc, sizeof(doc) - 1, "a", &v) == HK_EINVAL);
	T_CHECK(hk_jptr_text(doc, sizeof(doc) - 1, "/a~2", &v) == HK_EINVAL);
}

/* The tree walk and the text walk agree. */
static void
t_tree(void)
{
	cJSON *j = cJSON_Parse(doc);
	const cJSON *n;

	T_CHECK(j != NULL);
	n = hk_jptr_get(j, "/a/b~0c/0");
	T_CHECK(cJSON_IsNumber(n) && n->valuedouble == 10);
	T_CHECK(hk_jptr_get(j, "/a/b~0c/01") == NULL);
	T_CHECK(hk_jptr_valid("/a/b~0c") && !hk_jptr_valid("x"));
	cJSON_Delete(j);
}

/* The examples of RFC 6901 §5, over a tree. */
static void
t_rfc6901(void)
{
	cJSON *j = cJSON_Parse("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,"
	                       "\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,"
	                       "\"k\\\"l\":6,\" \":7,\"m~n\":8}");
	const cJSON *n;

	T_CHECK(hk_jptr_get(j, "") == j);
	n = hk_jptr_get(j, "/foo/0");
	T_CHECK(cJSON_IsString(n) && strcmp(n->valuestring, "bar") == 0);
	T_CHECK(hk_jptr_get(j, "/")->valuedouble == 0);
	T_CHECK(hk_jptr_get(j, "/a~1b")->valuedouble == 1);
	T_CHECK(hk_jptr_get(j, "/c%d")->valuedouble == 2);
	T_CHECK(hk_jptr_get(j, "/i\\j")->valuedouble == 5);
	T_CHECK(hk_jptr_get(j, "/k\"l")->valuedouble == 6);
	T_CHECK(hk_jptr_get(j, "/ ")->valuedouble == 7);
	T_CHECK(hk_jptr_get(j, "/m~0n")->valuedouble == 8);
	T_CHECK(hk_jptr_get(j, "/foo/2") == NULL);
	T_CHECK(hk_jptr_get(j, "/foo/01") == NULL);
	T_CHECK(hk_jptr_get(j, "/foo/-") == NULL);
	T_CHECK(hk_jptr_get(j, "foo") == NULL);
	T_CHECK(hk_jptr_get(j, "/m~2n") == NULL);
	T_CHECK(hk_jptr_valid("") && hk_jptr_valid("/a/b"));
	T_CHECK(!hk_jptr_valid("a") && !hk_jptr_valid("/a~"));
	cJSON_Delete(j);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"text", t_text},
	    {"tree", t_tree},
	    {"rfc6901", t_rfc6901},
	};

	return t_run("jptr", cases, HK_NELEM(cases));
}
