/*
 * Fuzzes the form decoder (GitHub's and Slack's form mode), and the
 * conversion of a whole form to a JSON object: what it writes must be
 * one JSON value that cJSON reads back as an object.
 */
#include <stdint.h>
#include <stdlib.h>

#include <cJSON.h>

#include "form.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_buf b = HK_BUF_INIT;
	char *out = NULL;
	size_t n;
	cJSON *j;

	if (hk_form_get((const char *)data, size, "payload", &out, &n) == 0)
		free(out);
	if (hk_form_json((const char *)data, size, &b) == 0) {
		if (hk_json_scan(b.b, b.len, NULL, 0, NULL) != 0)
			abort();
		if ((j = cJSON_ParseWithLength(b.b, b.len)) == NULL ||
		    !cJSON_IsObject(j))
			abort();
		cJSON_Delete(j);
	}
	hk_buf_free(&b);
	return 0;
}
