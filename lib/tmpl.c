/* tmpl.c: rendering subscription templates. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "json.h"
#include "tmpl.h"

#define TMPL_NAME_MAX 256

static const char *const tmpl_plain[] = {
    "event_type", "event_id", "timestamp", "source_name", "payload"};

/*
 * The variable at P (just after "${"): its name into NAME and the text
 * after the closing brace into *END. 0 or HK_EINVAL.
 */
static int
tmpl_var(const char *p, char name[TMPL_NAME_MAX], const char **end)
{
	const char *e = strchr(p, '}');
	size_t n, i;

	if (e == NULL || (n = (size_t)(e - p)) == 0 || n >= TMPL_NAME_MAX)
		return HK_EINVAL;
	memcpy(name, p, n);
	name[n] = '\0';
	*end = e + 1;
	for (i = 0; i < HK_NELEM(tmpl_plain); i++)
		if (strcmp(name, tmpl_plain[i]) == 0)
			return 0;
	if (strncmp(name, "payload.", 8) != 0)
		return HK_EINVAL;
	/* payload.a.b: non-empty segments of [A-Za-z0-9_-]. */
	for (i = 8; i <= n; i++) {
		if (name[i] == '.' || name[i] == '\0') {
			if (name[i - 1] == '.')
				return HK_EINVAL;
			continue;
		}
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return HK_EINVAL;
	}
	return 0;
}

int
hk_tmpl_check(const char *t, char *err, size_t len)
{
	char name[TMPL_NAME_MAX];
	const char *p, *end;

	for (p = t; (p = strstr(p, "${")) != NULL; p = end) {
		if (tmpl_var(p + 2, name, &end) != 0) {
			snprintf(err, len,
			    "template: unknown or malformed variable at \"%.40s\"",
			    p);
			return HK_EINVAL;
		}
	}
	return 0;
}

/*
 * The value PATH ("a.b.0") names in the payload text [P, P + LEN), found
 * in the text itself (never through a double: a number keeps its digits
 * as received). Returns 0 with *V set, or HK_ENOTFOUND.
 */
static int
tmpl_field(const char *p, size_t len, char *path, struct hk_json_str *v)
{
	char *seg;

	v->p = p;
	v->len = len;
	while ((seg = strsep(&path, ".")) != NULL)
		if (hk_json_child(v->p, v->len, seg, v) != 0)
			return HK_ENOTFOUND;
	return 0;
}

/*
 * Inserts V as proto/delivery.md says: a string's contents as they are in the
 * payload (JSON-escaped already), anything else as its JSON text.
 */
static int
tmpl_insert(struct hk_buf *out, const struct hk_json_str *v)
{
	if (v->kind == HK_JSON_STRING)
		return hk_buf_add(out, v->p + 1, v->len - 2);
	return hk_buf_add(out, v->p, v->len);
}

int
hk_tmpl_render(const char *t, const struct hk_tmpl_vars *v, struct hk_buf *out)
{
	char name[TMPL_NAME_MAX];
	const char *p, *s, *end;
	struct hk_json_str field;
	int rc = 0;

	for (p = t; rc == 0 && (s = strstr(p, "${")) != NULL; p = end) {
		if ((rc = hk_buf_add(out, p, (size_t)(s - p))) != 0)
			break;
		if ((rc = tmpl_var(s + 2, name, &end)) != 0)
			break;
		if (strcmp(name, "payload") == 0)
			rc = hk_buf_add(out, v->payload, v->payload_len);
		else if (strncmp(name, "payload.", 8) == 0 && v->sample)
			rc = hk_buf_addc(out, '0');
		else if (strncmp(name, "payload.", 8) == 0) {
			if (tmpl_field(v->payload, v->payload_len, name + 8,
			        &field) == 0)
				rc = tmpl_insert(out, &field);
		} else {
			const char *val = strcmp(name, "event_type") == 0
			    ? v->event_type
			    : strcmp(name, "event_id") == 0  ? v->event_id
			    : strcmp(name, "timestamp") == 0 ? v->timestamp
			                                     : v->source_name;

			if (val != NULL)
				rc = hk_buf_add_jsonesc(out, val, strlen(val));
		}
	}
	if (rc == 0)
		rc = hk_buf_adds(out, p);
	return rc;
}

int
hk_tmpl_validate(const char *t, char *err, size_t len)
{
	struct hk_tmpl_vars tv = {"sample.event", "evt_sample",
	    "2025-01-01T00:00:00.000Z", "sample", "{}", 2, NULL, 1};
	struct hk_buf b = HK_BUF_INIT;
	cJSON *parsed = NULL;
	int rc;

	if ((rc = hk_tmpl_check(t, err, len)) != 0)
		return rc;
	if ((rc = hk_tmpl_render(t, &tv, &b)) == 0 &&
	    (parsed = cJSON_ParseWithLength(b.b, b.len)) == NULL)
		rc = HK_EINVAL;
	hk_buf_free(&b);
	cJSON_Delete(parsed);
	if (rc == HK_EINVAL)
		snprintf(err, len, "template does not render to valid JSON");
	return rc;
}
