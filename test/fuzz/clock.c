/* Fuzzes the time parser (?since=, recover windows). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	int64_t ms;
	char iso[HK_ISO_LEN];

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (hk_time_parse(copy, &ms) == 0)
		hk_time_iso(ms, iso);
	free(copy);
	return 0;
}
