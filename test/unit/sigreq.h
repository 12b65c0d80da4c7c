/*
 * sigreq.h: requests for the signature tests (sig.c, scheme.c): headers
 * as a cJSON object, read case-insensitively as hk_sig_verify() asks.
 */
#ifndef SIGREQ_H
#define SIGREQ_H

#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "sig.h"

/* Headers of one request: a cJSON object, names case-insensitive. */
static inline const char *
hdr_get(void *arg, const char *name)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, (const cJSON *)arg) {
		if (h->string != NULL && strcasecmp(h->string, name) == 0 &&
		    cJSON_IsString(h))
			return h->valuestring;
	}
	return NULL;
}

/* A request over BODY with the headers H. */
static inline struct hk_sig_req
req(cJSON *h, const char *body, long long now, long tolerance)
{
	struct hk_sig_req r;

	r.get = hdr_get;
	r.arg = h;
	r.body = (const unsigned char *)body;
	r.len = strlen(body);
	r.now = now;
	r.tolerance = tolerance;
	return r;
}

/* Headers from hk_sig_sign()'s output. */
static inline cJSON *
hdrs(const struct hk_sig_header *out, int n)
{
	cJSON *h = cJSON_CreateObject();
	int i;

	for (i = 0; i < n; i++)
		cJSON_AddStringToObject(h, out[i].name, out[i].value);
	return h;
}

#endif
