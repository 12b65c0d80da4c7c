/* Fuzzes the form decoder (GitHub's and Slack's form mode). */
#include <stdint.h>
#include <stdlib.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL;
	size_t n;

	if (hk_form_get((const char *)data, size, "payload", &out, &n) == 0)
		free(out);
	return 0;
}
