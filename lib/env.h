/*
 * env.h: the event envelope that is stored and delivered.
 *
 *   {"id":"evt_…","event":"type","timestamp":"ISO","source":
 *    {"webhook":"wh_…"|null,"name":"…"},"payload":<raw JSON>}
 *
 * The payload is copied in as the bytes it arrived as (already validated
 * JSON), never parsed and printed again.
 */
#ifndef HK_ENV_H
#define HK_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct hk_env {
	const char *ev_id;
	const char *ev_type;
	int64_t ev_ms;
	const char *ev_webhook; /* NULL for published events */
	const char *ev_name; /* the source's name */
	const char *ev_payload; /* valid JSON text */
	size_t ev_payload_len;
};

/* Appends the envelope of EV to B. Returns 0 or HK_ENOMEM. */
int hk_env_build(struct hk_buf *b, const struct hk_env *ev);

/*
 * Renders template T (tmpl.h) against envelope ENV (LEN bytes, as
 * hk_env_build wrote it) into OUT: its type, id, timestamp, source name
 * and payload. Returns 0, HK_EINVAL (ENV is not an envelope, or T does
 * not render) or HK_ENOMEM.
 */
int hk_env_render(
    const char *t, const char *env, size_t len, struct hk_buf *out);

#endif
