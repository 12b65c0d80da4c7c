/*
 * form.h: application/x-www-form-urlencoded fields (GitHub's form mode).
 *
 * Pure functions over the bytes given; no allocation but the result.
 */
#ifndef HK_FORM_H
#define HK_FORM_H

#include <stddef.h>

/*
 * Finds field NAME in the form BODY (LEN bytes, not NUL-terminated) and
 * decodes its value ('+' is a space, %XX a byte). Returns 0 with *out
 * (NUL-terminated, caller frees) and *outlen, HK_ENOTFOUND, HK_EINVAL for
 * a malformed escape, or HK_ENOMEM. The first occurrence wins.
 */
int hk_form_get(
    const char *body, size_t len, const char *name, char **out, size_t *outlen);

#endif
