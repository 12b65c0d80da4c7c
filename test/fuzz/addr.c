/*
 * Fuzzes the SSRF guard's parsers: address literals in every spelling
 * and --allow-targets lists. Input: a host, a newline, a CIDR list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_cidrs cs = {NULL, 0};
	struct hk_addr a;
	char *copy, *nl, err[128], txt[64];

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if ((nl = strchr(copy, '\n')) != NULL) {
		*nl = '\0';
		hk_cidrs_parse(nl + 1, &cs, err);
	}
	if (hk_addr_literal(copy, &a) == 0) {
		hk_addr_allowed(&a, &cs);
		hk_addr_global(&a);
		hk_addr_str(&a, txt);
	}
	hk_cidrs_free(&cs);
	free(copy);
	return 0;
}
