/* form.c: urlencoded form decoding. */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "hk.h"

/* The value of hex digit C, or -1. */
static int
form_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes S[0..n) into OUT, which has room for n+1 bytes. */
static int
form_decode(const char *s, size_t n, char *out, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			if (n - i < 3 || (hi = form_hex(s[i + 1])) < 0 ||
			    (lo = form_hex(s[i + 2])) < 0)
				return HK_EINVAL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

int
hk_form_get(
    const char *body, size_t len, const char *name, char **out, size_t *outlen)
{
	size_t nlen = strlen(name), flen, i = 0, j;
	const char *f, *eq;
	int rc;

	while (i <= len) {
		for (j = i; j < len && body[j] != '&'; j++)
			;
		f = body + i;
		flen = j - i;
		eq = memchr(f, '=', flen);
		if (eq != NULL && (size_t)(eq - f) == nlen &&
		    memcmp(f, name, nlen) == 0) {
			if ((*out = malloc(flen - nlen)) == NULL)
				return HK_ENOMEM;
			rc = form_decode(eq + 1, flen - nlen - 1, *out, outlen);
			if (rc != 0) {
				free(*out);
				*out = NULL;
			}
			return rc;
		}
		i = j + 1;
	}
	return HK_ENOTFOUND;
}
