/*
 * Fuzzes the admin API's request bodies: webhook create and PATCH,
 * subscription create, PATCH and PUT, judged by the server's own code
 * (server/webhook.c, server/sub.c) without a store or a loop.
 * Input: one byte choosing the body's kind, then the JSON text.
 * A refusal must come with a message; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "hookd.h"
#include "sig.h"

struct hookd *hd;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The daemon's defaults, as `hookd` with no flags has them. */
static void
admin_init(void)
{
	static struct hookd h;
	static char *argv[] = {"hookd", NULL};

	if (hd != NULL)
		return;
	if (hk_conf_load(&h.hd_conf, 1, argv) != 0 || hk_sig_init() != 0)
		abort();
	hd = &h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	cJSON *j;
	int rc;

	admin_init();
	if (size < 1)
		return 0;
	if ((j = cJSON_ParseWithLength((const char *)data + 1, size - 1)) ==
	    NULL)
		return 0;
	err[0] = '\0';
	switch (data[0] % 4) {
	case 0:
		rc = hk_webhook_check_json(j, 1, err, sizeof(err));
		break;
	case 1:
		rc = hk_webhook_check_json(j, 0, err, sizeof(err));
		break;
	case 2:
		rc = hk_sub_check_json(j, 1, err, sizeof(err));
		break;
	default:
		rc = hk_sub_check_json(j, 0, err, sizeof(err));
		break;
	}
	if (rc != 0 &&
	    (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL))
		abort(); /* a 400 without a message */
	cJSON_Delete(j);
	return 0;
}
