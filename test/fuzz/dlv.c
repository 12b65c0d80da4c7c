/*
 * Fuzzes the delivery record's codec (lib/dlv.c): whatever bytes a
 * record holds, a record that parses prints to a text that parses to
 * the same, and prints the same again; a stored in_flight never parses.
 * Input: a record's bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether A and B hold the same record. */
static int
same(const struct hk_delivery *a, const struct hk_delivery *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->event, b->event) == 0 &&
	    strcmp(a->sub, b->sub) == 0 && a->state == b->state &&
	    a->attempts == b->attempts && strcmp(a->next, b->next) == 0 &&
	    strcmp(a->created, b->created) == 0 &&
	    strcmp(a->updated, b->updated) == 0 && a->limit == b->limit &&
	    a->cls == b->cls && a->due == b->due;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_buf a = HK_BUF_INIT, b = HK_BUF_INIT;
	struct hk_delivery d, e;

	if (hk_delivery_parse(data, size, &d) != 0)
		return 0;
	if (d.state == HK_DS_IN_FLIGHT || (unsigned)d.state >= HK_DS_COUNT)
		abort();
	/* A string with a NUL escaped in it ends there in C. */
	if (memmem(data, size, "u0000", 5) != NULL)
		return 0;
	if (hk_delivery_print(&a, &d, HK_DLV_STORED) != 0)
		abort();
	if (hk_delivery_parse(a.b, a.len, &e) != 0 || !same(&d, &e))
		abort();
	if (hk_delivery_print(&b, &e, HK_DLV_STORED) != 0 || a.len != b.len ||
	    memcmp(a.b, b.b, a.len) != 0)
		abort();
	hk_buf_free(&a);
	hk_buf_free(&b);
	return 0;
}
