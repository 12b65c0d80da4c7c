/* env.c: building event envelopes, and rendering templates against them. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "clock.h"
#include "env.h"
#include "hk.h"
#include "tmpl.h"

int
hk_env_build(struct hk_buf *b, const struct hk_env *ev)
{
	char iso[HK_ISO_LEN];

	/* The payload and room for the head, escaped at worst 6 to 1. */
	if (hk_buf_reserve(b,
	        ev->ev_payload_len + 128 +
	            6 *
	                (strlen(ev->ev_type) + strlen(ev->ev_name) +
	                    (ev->ev_webhook != NULL ? strlen(ev->ev_webhook)
	                                            : 0))) != 0 ||
	    hk_buf_adds(b, "{\"id\":") || hk_buf_add_jsonstr(b, ev->ev_id) ||
	    hk_buf_adds(b, ",\"event\":") ||
	    hk_buf_add_jsonstr(b, ev->ev_type) ||
	    hk_buf_adds(b, ",\"timestamp\":") ||
	    hk_buf_add_jsonstr(b, hk_time_iso(ev->ev_ms, iso)) ||
	    hk_buf_adds(b, ",\"source\":{\"webhook\":") ||
	    hk_buf_add_jsonstr(b, ev->ev_webhook) ||
	    hk_buf_adds(b, ",\"name\":") ||
	    hk_buf_add_jsonstr(b, ev->ev_name) ||
	    hk_buf_adds(b, "},\"payload\":") ||
	    hk_buf_add(b, ev->ev_payload, ev->ev_payload_len) ||
	    hk_buf_addc(b, '}'))
		return HK_ENOMEM;
	return 0;
}

/* The string member NAME of object J, or "". */
static const char *
env_str(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int
hk_env_render(const char *t, const char *env, size_t len, struct hk_buf *out)
{
	static const char mark[] = ",\"payload\":";
	struct hk_tmpl_vars tv;
	const char *cut;
	char *head;
	cJSON *j;
	size_t n;
	int rc;

	/*
	 * The payload is the last member: the head before it is parsed
	 * (closed with a brace), the payload is passed on as its text.
	 */
	if (len < sizeof(mark) || env[len - 1] != '}' ||
	    (cut = memmem(env, len, mark, sizeof(mark) - 1)) == NULL)
		return HK_EINVAL;
	n = (size_t)(cut - env);
	if ((head = malloc(n + 2)) == NULL)
		return HK_ENOMEM;
	memcpy(head, env, n);
	head[n] = '}';
	head[n + 1] = '\0';
	j = cJSON_Parse(head);
	free(head);
	if (j == NULL)
		return HK_EINVAL;
	memset(&tv, 0, sizeof(tv));
	tv.event_type = env_str(j, "event");
	tv.event_id = env_str(j, "id");
	tv.timestamp = env_str(j, "timestamp");
	tv.source_name =
	    env_str(cJSON_GetObjectItemCaseSensitive(j, "source"), "name");
	tv.payload = cut + sizeof(mark) - 1;
	tv.payload_len = (size_t)(env + len - 1 - tv.payload);
	rc = hk_tmpl_render(t, &tv, out);
	cJSON_Delete(j);
	return rc;
}
