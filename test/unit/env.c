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

/* A template renders against a built envelope as against its parts. */
static void
test_render(void)
{
	struct hk_env ev = {"evt_1", "order.paid", 1747862818211LL, "wh_1",
	    "shop", "{\"id\":1096473593264894053,\"s\":\"a\\\"b\"}", 0};
	struct hk_buf env = HK_BUF_INIT, out = HK_BUF_INIT;

	ev.ev_payload_len = strlen(ev.ev_payload);
	T_CHECK(hk_env_build(&env, &ev) == 0);
	T_CHECK(
	    hk_env_render("{\"t\":\"${event_type}\",\"i\":\"${event_id}\","
	                  "\"at\":\"${timestamp}\",\"n\":\"${source_name}\","
	                  "\"id\":${payload.id},\"s\":\"${payload.s}\","
	                  "\"p\":${payload}}",
	        env.b, env.len, &out) == 0);
	T_CHECK(hk_buf_addc(&out, '\0') == 0);
	T_STREQ(out.b,
	    "{\"t\":\"order.paid\",\"i\":\"evt_1\","
	    "\"at\":\"2025-05-21T21:26:58.211Z\",\"n\":\"shop\","
	    "\"id\":1096473593264894053,\"s\":\"a\\\"b\","
	    "\"p\":{\"id\":1096473593264894053,\"s\":\"a\\\"b\"}}");
	hk_buf_free(&out);
	/* Not an envelope: no payload member, no closing brace, no JSON. */
	T_CHECK(hk_env_render("x", "{\"id\":1}", 8, &out) == HK_EINVAL);
	T_CHECK(hk_env_render("x", "{\"id\":1,\"payload\":12", 20, &out) ==
	    HK_EINVAL);
	T_CHECK(hk_env_render("x", "{\"id\":,\"payload\":1}", 19, &out) ==
	    HK_EINVAL);
	/* A template that does not render. */
	T_CHECK(hk_env_render("${nope}", env.b, env.len, &out) == HK_EINVAL);
	hk_buf_free(&out);
	hk_buf_free(&env);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"env", test_env},
	    {"render", test_render},
	};

	return t_run("env", cases, HK_NELEM(cases));
}
