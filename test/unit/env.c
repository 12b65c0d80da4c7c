/* Unit tests of lib/env.c: the delivery envelope. */
#include <cJSON.h>

#include "buf.h"
#include "env.h"
#include "hk.h"
#include "t.h"

/* The envelope is JSON whatever the strings hold. */
static void
test_env(void)
{
	struct hk_env ev = {"evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", "a\"type",
	    1747862818211LL, NULL, "api\n", "{\"k\":[1,2]}", 11};
	struct hk_buf b = HK_BUF_INIT;
	cJSON *j, *src;

	T_CHECK(hk_env_build(&b, &ev) == 0);
	j = cJSON_Parse(b.b);
	T_CHECK(j != NULL);
	T_STREQ(cJSON_GetObjectItem(j, "event")->valuestring, "a\"type");
	T_STREQ(cJSON_GetObjectItem(j, "timestamp")->valuestring,
	    "2025-05-21T21:26:58.211Z");
	src = cJSON_GetObjectItem(j, "source");
	T_CHECK(cJSON_IsNull(cJSON_GetObjectItem(src, "webhook")));
	T_STREQ(cJSON_GetObjectItem(src, "name")->valuestring, "api\n");
	T_CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(
	            cJSON_GetObjectItem(j, "payload"), "k")) == 2);
	cJSON_Delete(j);
	hk_buf_free(&b);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"env", test_env},
	};

	return t_run("env", cases, HK_NELEM(cases));
}
