/*
 * Unit tests of lib/cfgdoc.c: YAML's and JSON's shapes into cJSON, the
 * line each value starts on, and files refused with where they are
 * wrong.
 */
#include <string.h>

#include "cfgdoc.h"
#include "hk.h"
#include "t.h"

static const char yaml[] = "# hookd\n"
                           "webhooks:\n"
                           "  - name: deploy-notify\n"
                           "    provider: github\n"
                           "    signature: {secretFile: /etc/hookd/gh}\n"
                           "subscriptions:\n"
                           "  - name: deploy\n"
                           "    events: [\"github.push\"]\n"
                           "    maxInFlight: 2\n"
                           "    ordered: true\n"
                           "    description: ~\n"
                           "    rateLimit: 0.5\n"
                           "    ref: \"007\"\n"
                           "    code: 007\n"
                           "    command:\n"
                           "      argv: [/bin/echo, '${payload.ref}']\n";

static void
test_yaml(void)
{
	struct hk_cfgdoc d;
	char err[256];
	const cJSON *w, *s, *argv;

	T_CHECK(hk_cfgdoc_parse(&d, yaml, strlen(yaml), err, sizeof(err)) == 0);
	if (d.cd_root == NULL)
		return;
	w = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(d.cd_root, "webhooks"), 0);
	s = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(d.cd_root, "subscriptions"), 0);
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(w, "name")),
	    "deploy-notify");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(
	            cJSON_GetObjectItem(w, "signature"), "secretFile")),
	    "/etc/hookd/gh");
	T_CHECK(hk_cfgdoc_line(&d, w) == 3);
	T_CHECK(hk_cfgdoc_line(&d, s) == 7);
	T_CHECK(hk_cfgdoc_line(&d, cJSON_GetObjectItem(s, "maxInFlight")) == 9);
	T_CHECK(cJSON_GetObjectItem(s, "maxInFlight")->valuedouble == 2);
	T_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(s, "ordered")));
	T_CHECK(cJSON_IsNull(cJSON_GetObjectItem(s, "description")));
	T_CHECK(cJSON_GetObjectItem(s, "rateLimit")->valuedouble == 0.5);
	/* Quoted: a string; a leading zero: a string too, not octal. */
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(s, "ref")), "007");
	T_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(s, "code")), "007");
	argv = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "command"), "argv");
	T_CHECK(cJSON_GetArraySize(argv) == 2);
	T_STREQ(cJSON_GetStringValue(cJSON_GetArrayItem(argv, 1)),
	    "${payload.ref}");
	hk_cfgdoc_free(&d);
}

static void
test_json(void)
{
	static const char j[] = "\n {\"webhooks\": [{\"name\": \"a\"}]}";
	static const char bad[] = "{\n\"webhooks\": [\n,]}";
	struct hk_cfgdoc d;
	char err[256];

	T_CHECK(hk_cfgdoc_parse(&d, j, strlen(j), err, sizeof(err)) == 0);
	T_CHECK(cJSON_GetArraySize(
	            cJSON_GetObjectItem(d.cd_root, "webhooks")) == 1);
	hk_cfgdoc_free(&d);
	T_CHECK(hk_cfgdoc_parse(&d, bad, strlen(bad), err, sizeof(err)) ==
	    HK_EINVAL);
	T_STREQ(err, "line 3: not JSON");
}

static void
test_refused(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"webhooks:\n  - name: a\n   bad: [\n", "line 3: "},
	    {"a: 1\na: 2\n", "line 2: a is given twice"},
	    {"- 1\n- 2\n", "line 1: the file must be a mapping"},
	    {"a: &x 1\nb: *x\n", "line 1: anchors are not taken"},
	    {"a: 1\n---\nb: 2\n", "line 2: one document only"},
	    {"? [1, 2]\n: x\n", "line 1: a key must be a plain word"},
	};
	struct hk_cfgdoc d;
	char err[256];
	size_t i;

	for (i = 0; i < HK_NELEM(cases); i++) {
		T_CHECK(
		    hk_cfgdoc_parse(&d, cases[i].text, strlen(cases[i].text),
		        err, sizeof(err)) == HK_EINVAL);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fprintf(stderr, "case %zu: %s\n", i, err);
		T_CHECK(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0);
		T_CHECK(d.cd_root == NULL);
	}
	/* An empty file is an empty configuration. */
	T_CHECK(hk_cfgdoc_parse(&d, "# nothing\n", 10, err, sizeof(err)) == 0);
	T_CHECK(cJSON_IsObject(d.cd_root) && d.cd_root->child == NULL);
	hk_cfgdoc_free(&d);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"yaml", test_yaml},
	    {"json", test_json},
	    {"refused", test_refused},
	};

	return t_run("cfgdoc", cases, HK_NELEM(cases));
}
