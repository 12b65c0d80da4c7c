/*
 * Fuzzes the five signature schemes' header parsing and verification.
 * Input: the first byte picks the scheme; the rest is lines: header
 * values in the order of NAMES, then the body (everything after).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "sig.h"

static const char *const names[] = {"X-Webhook-Signature",
    "X-Hub-Signature-256", "webhook-id", "webhook-timestamp",
    "webhook-signature", "Stripe-Signature", "X-Slack-Signature",
    "X-Slack-Request-Timestamp"};

struct hdrs {
	char *v[8];
};

static const char *
get(void *arg, const char *name)
{
	struct hdrs *h = arg;
	size_t i;

	for (i = 0; i < 8; i++)
		if (strcmp(name, names[i]) == 0)
			return h->v[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *secrets[] = {
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "raw-secret"};
	struct hk_sig_header out[3];
	struct hk_sig_req r;
	struct hdrs h = {{0}};
	unsigned char key[HK_SIG_KEYMAX];
	char *copy, *p, *nl;
	size_t i;

	if (size < 1 || hk_sig_init() != 0)
		return 0;
	if ((copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	p = copy;
	for (i = 0; i < 8 && (nl = strchr(p, '\n')) != NULL; i++) {
		*nl = '\0';
		h.v[i] = *p == '-' ? NULL : p; /* "-" leaves a header out */
		p = nl + 1;
	}
	r.get = get;
	r.arg = &h;
	r.body = (const unsigned char *)p;
	r.len = strlen(p);
	r.now = 1747862818;
	r.tolerance = data[0] >> 4;
	hk_sig_verify((enum hk_scheme)(data[0] % 5), secrets[data[0] >> 7], &r);
	hk_sig_present((enum hk_scheme)(data[0] % 5), get, &h);
	if (h.v[0] != NULL) {
		hk_sig_standard_key(h.v[0], key);
		hk_sig_sign((enum hk_scheme)(data[0] % 5), h.v[0], h.v[1],
		    1747862818, r.body, r.len, out);
	}
	free(copy);
	return 0;
}
