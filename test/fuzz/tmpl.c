/*
 * Fuzzes the template checker and renderer. Input: a template, a NUL
 * byte, a payload (JSON or not).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_tmpl_vars v = {"a.b", "evt_1", "2025-01-01T00:00:00.000Z",
	    "src", NULL, 0, NULL, 0};
	struct hk_buf b = HK_BUF_INIT;
	char *copy, err[128];
	size_t tlen;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	tlen = strlen(copy);
	v.payload = tlen < size ? copy + tlen + 1 : "{}";
	v.payload_len = strlen(v.payload);
	if (hk_tmpl_check(copy, err, sizeof(err)) == 0) {
		hk_tmpl_render(copy, &v, &b);
		hk_buf_reset(&b);
		v.sample = 1;
		hk_tmpl_render(copy, &v, &b);
	}
	hk_buf_free(&b);
	free(copy);
	return 0;
}
