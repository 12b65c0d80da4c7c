/*
 * Fuzzes JSON pointers (event type rules) and the JSON they walk: over
 * strict JSON, hk_jptr_text() finds what hk_jptr_get() finds in cJSON's
 * tree, as text cJSON reads as the same value.
 * Input: a pointer, a newline, a JSON document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "jptr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* hk_jptr_text() over TEXT agrees with WANT, hk_jptr_get()'s node. */
static void
check_text(const char *ptr, const char *text, const cJSON *want)
{
	struct hk_json_str v;
	size_t len = strlen(text);
	char *a, *b;
	cJSON *got;
	int rc;

	/* Strict JSON only; names with a NUL differ as C strings. */
	if (hk_json_scan(text, len, NULL, 0, NULL) != 0 ||
	    strstr(text, "u0000") != NULL)
		return;
	rc = hk_jptr_text(text, len, ptr, &v);
	if ((rc == 0) != (want != NULL))
		abort();
	if (rc != 0)
		return;
	if ((got = cJSON_ParseWithLength(v.p, v.len)) == NULL)
		abort();
	a = cJSON_PrintUnformatted(got);
	b = cJSON_PrintUnformatted(want);
	if (a != NULL && b != NULL && strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	cJSON_Delete(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *nl;
	cJSON *doc;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if ((nl = strchr(copy, '\n')) != NULL) {
		*nl = '\0';
		hk_jptr_valid(copy);
		if ((doc = cJSON_Parse(nl + 1)) != NULL) {
			check_text(copy, nl + 1, hk_jptr_get(doc, copy));
			cJSON_Delete(doc);
		}
	}
	free(copy);
	return 0;
}
