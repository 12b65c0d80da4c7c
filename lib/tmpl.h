/*
 * tmpl.h: subscription body templates (proto/delivery.md).
 *
 * A template is text with ${name} variables: event_type, event_id,
 * timestamp, source_name, payload (the payload as JSON) and
 * payload.a.b (a field; a numeric segment indexes an array). A string
 * value is inserted JSON-escaped without its quotes, so it is written
 * inside a template's string; a number, boolean, null, object or array
 * is inserted as JSON; a missing field inserts nothing. A field is
 * inserted as the text it has in the payload, never parsed and printed
 * again: a number keeps its digits (a 64-bit id, 1e400, -0), a string its
 * escapes. Each field is looked up in the payload's text (a scan up to
 * it per path segment), so a payload is never copied into a tree. Whether the
 * result is JSON is the caller's to check (a subscription is refused
 * when a sample rendering is not).
 *
 * Pure; thread-safe.
 */
#ifndef HK_TMPL_H
#define HK_TMPL_H

#include <stddef.h>

#include <cJSON.h>

#include "buf.h"

struct hk_tmpl_vars {
	const char *event_type;
	const char *event_id;
	const char *timestamp; /* ISO 8601 */
	const char *source_name;
	const char *payload; /* JSON text */
	size_t payload_len;
	/*
	 * Not read: fields are found in the payload's text, so numbers keep
	 * their digits. Kept, NULL, for the callers' initialisers.
	 */
	const cJSON *payload_json;
	int sample; /* every payload field renders as 0 (checking at save) */
};

/*
 * Checks the syntax and the variable names of T. Returns 0, or HK_EINVAL
 * with a message in ERR (LEN bytes).
 */
int hk_tmpl_check(const char *t, char *err, size_t len);
/*
 * What a subscription's template must pass to be saved: hk_tmpl_check,
 * and a rendering of the sample event (every payload field 0) that is
 * JSON. Returns 0, or HK_EINVAL with a message in ERR, or HK_ENOMEM.
 */
int hk_tmpl_validate(const char *t, char *err, size_t len);
/* Renders T into OUT. Returns 0, HK_EINVAL (bad template) or HK_ENOMEM. */
int hk_tmpl_render(
    const char *t, const struct hk_tmpl_vars *, struct hk_buf *out);

#endif
