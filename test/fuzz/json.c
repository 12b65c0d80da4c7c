/*
 * Fuzzes the JSON checker (lib/json.c) against cJSON: what it accepts
 * cJSON must accept too, and the top-level string members it picks out
 * (the event type and id of ingest) must be the ones cJSON finds. The raw
 * members (hk_json_raw, hk_json_child) must be whole JSON values that
 * cJSON reads as the members it finds. And hk_json_print() of cJSON's
 * tree must read back as the same tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RAW, a member's whole text, is JSON that cJSON reads as ITEM. */
static void
check_raw(const struct hk_json_str *raw, const cJSON *item)
{
	char *a, *b;
	cJSON *j;

	if (raw->p == NULL) {
		if (item != NULL)
			abort();
		return;
	}
	if (item == NULL ||
	    hk_json_scan(raw->p, raw->len, NULL, 0, NULL) != 0 ||
	    (raw->kind == HK_JSON_STRING) != cJSON_IsString(item) ||
	    (raw->kind == HK_JSON_NUMBER) != cJSON_IsNumber(item) ||
	    (raw->kind == HK_JSON_OBJECT) != cJSON_IsObject(item) ||
	    (raw->kind == HK_JSON_ARRAY) != cJSON_IsArray(item) ||
	    (raw->kind == HK_JSON_BOOL) != cJSON_IsBool(item) ||
	    (raw->kind == HK_JSON_NULL) != cJSON_IsNull(item))
		abort();
	if ((j = cJSON_ParseWithLength(raw->p, raw->len)) == NULL)
		abort();
	a = cJSON_PrintUnformatted(j);
	b = cJSON_PrintUnformatted(item);
	if (a != NULL && b != NULL && strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	cJSON_Delete(j);
}

/* hk_json_raw() and hk_json_child() against cJSON's tree J. */
static void
check_raws(
    const uint8_t *data, size_t size, const cJSON *j, const char *const *names)
{
	struct hk_json_str out[3], c;
	const cJSON *item;
	size_t i;
	int rc;

	if (hk_json_raw((const char *)data, size, names, 3, out) != 0)
		abort();
	for (i = 0; i < 3; i++) {
		item = cJSON_IsObject(j)
		    ? cJSON_GetObjectItemCaseSensitive(j, names[i])
		    : NULL;
		check_raw(&out[i], item);
		rc = hk_json_child((const char *)data, size, names[i], &c);
		if ((rc == 0) != (item != NULL))
			abort();
		if (rc == 0)
			check_raw(&c, item);
	}
	if (cJSON_IsArray(j)) {
		rc = hk_json_child((const char *)data, size, "1", &c);
		item = cJSON_GetArrayItem(j, 1);
		if ((rc == 0) != (item != NULL))
			abort();
		if (rc == 0)
			check_raw(&c, item);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"event", "type", "id"};
	struct hk_json_str out[3];
	const char *end;
	char buf[256];
	const cJSON *item;
	cJSON *j, *back;
	char *text, *want, *got;
	size_t i;
	long n;

	if (hk_json_scan((const char *)data, size, names, 3, out) != 0)
		return 0;
	j = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
	if (j == NULL)
		abort(); /* accepted what cJSON refuses */
	/* cJSON compares names as C strings: "\u0000" in one differs. */
	if (memmem(data, size, "u0000", 5) == NULL)
		for (i = 0; i < 3; i++) {
			item = cJSON_IsObject(j)
			    ? cJSON_GetObjectItemCaseSensitive(j, names[i])
			    : NULL;
			if (!cJSON_IsString(item)) {
				if (out[i].p != NULL)
					abort();
				continue;
			}
			if (out[i].p == NULL)
				abort();
			n = hk_json_unescape(&out[i], buf, sizeof(buf));
			if (n >= 0 && strcmp(buf, item->valuestring) != 0)
				abort();
			if (n < 0 &&
			    strncmp(buf, item->valuestring, strlen(buf)) != 0)
				abort();
		}
	/* hk_json_members: the same strings, and cJSON's numbers and nulls. */
	if (memmem(data, size, "u0000", 5) == NULL) {
		if (hk_json_members((const char *)data, size, names, 3, out) !=
		    0)
			abort();
		for (i = 0; i < 3; i++) {
			item = cJSON_IsObject(j)
			    ? cJSON_GetObjectItemCaseSensitive(j, names[i])
			    : NULL;
			if (out[i].p == NULL) {
				if (cJSON_IsString(item) ||
				    cJSON_IsNumber(item) || cJSON_IsNull(item))
					abort();
				continue;
			}
			if ((out[i].kind == HK_JSON_STRING) !=
			        cJSON_IsString(item) ||
			    (out[i].kind == HK_JSON_NULL) !=
			        cJSON_IsNull(item) ||
			    (out[i].kind == HK_JSON_NUMBER) !=
			        cJSON_IsNumber(item))
				abort();
			if (out[i].kind == HK_JSON_NUMBER) {
				if (out[i].len >= sizeof(buf))
					abort(); /* numbers are at most 63 characters */
				memcpy(buf, out[i].p, out[i].len);
				buf[out[i].len] = '\0';
				if (strtod(buf, NULL) != item->valuedouble)
					abort();
			}
		}
	}
	if (memmem(data, size, "u0000", 5) == NULL)
		check_raws(data, size, j, names);
	/* Compared as cJSON prints them: cJSON_Compare() is lost on
	 * duplicate names. */
	if ((text = hk_json_text(j)) != NULL) {
		if ((back = cJSON_Parse(text)) == NULL)
			abort();
		want = cJSON_PrintUnformatted(j);
		got = cJSON_PrintUnformatted(back);
		if (want != NULL && got != NULL && strcmp(want, got) != 0)
			abort(); /* printed something else */
		free(want);
		free(got);
		cJSON_Delete(back);
		free(text);
	}
	cJSON_Delete(j);
	return 0;
}
