/*
 * Fuzzes JSON pointers (event type rules) and the JSON they walk.
 * Input: a pointer, a newline, a JSON document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "jptr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
			hk_jptr_get(doc, copy);
			cJSON_Delete(doc);
		}
	}
	free(copy);
	return 0;
}
