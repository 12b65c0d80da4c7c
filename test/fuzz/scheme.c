/*
 * Fuzzes every row of the scheme table (lib/sig.c), the providers' rows
 * too: header parsing and verification of hostile values, then a round
 * trip: what hk_sig_sign() writes for the input's body must verify.
 * Input: the first byte picks the row; then lines, header values in
 * slots (a header's slot is a hash of its name), then the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hk.h"
#include "sig.h"

#define SLOTS 8

struct fz {
	char *v[SLOTS];
	const struct hk_sig_header *out;
	int nout;
};

/* A slot by name, case-insensitively, as HTTP header names are. */
static size_t
slot(const char *name)
{
	size_t h = 5381;

	for (; *name != '\0'; name++)
		h = h * 33 + (size_t)(*name | 0x20);
	return h % SLOTS;
}

static const char *
get(void *arg, const char *name)
{
	return ((struct fz *)arg)->v[slot(name)];
}

/* The headers a signer wrote. */
static const char *
get_signed(void *arg, const char *name)
{
	struct fz *f = arg;
	int i;

	for (i = 0; i < f->nout; i++)
		if (strcasecmp(f->out[i].name, name) == 0)
			return f->out[i].value;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *secrets[] = {
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "raw-secret"};
	struct hk_sig_header out[3];
	struct fz f = {{0}, NULL, 0};
	enum hk_scheme s;
	struct hk_sig_req r;
	char *copy, *p, *nl;
	size_t i;
	int n;

	if (size < 1 || hk_sig_init() != 0)
		return 0;
	if ((copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	p = copy;
	for (i = 0; i < SLOTS && (nl = strchr(p, '\n')) != NULL; i++) {
		*nl = '\0';
		f.v[i] = *p == '-' ? NULL : p; /* "-" leaves a header out */
		p = nl + 1;
	}
	s = (enum hk_scheme)(data[0] % HK_SCHEME_COUNT);
	r.get = get;
	r.arg = &f;
	r.body = (const unsigned char *)p;
	r.len = strlen(p);
	r.now = 1747862818;
	r.tolerance = data[0] >> 4;
	hk_sig_verify(s, secrets[data[0] >> 7], &r);
	hk_sig_present(s, get, &f);
	n = hk_sig_sign(s, secrets[data[0] >> 7], f.v[0] != NULL ? f.v[0] : "m",
	    1747862818, r.body, r.len, out);
	if (n > 0) {
		f.out = out;
		f.nout = n;
		r.get = get_signed;
		if (hk_sig_verify(s, secrets[data[0] >> 7], &r) != 0)
			abort();
	}
	free(copy);
	return 0;
}
