/* env.c: building event envelopes. */
#include <string.h>

#include "clock.h"
#include "env.h"
#include "hk.h"

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
