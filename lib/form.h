/*
 * form.h: application/x-www-form-urlencoded fields (GitHub's form mode).
 *
 * Pure functions over the bytes given; no allocation but the result.
 */
#ifndef HK_FORM_H
#define HK_FORM_H

#include <stddef.h>

#include "buf.h"

/*
 * Finds field NAME in the form BODY (LEN bytes, not NUL-terminated) and
 * decodes its value ('+' is a space, %XX a byte). Returns 0 with *out
 * (NUL-terminated, caller frees) and *outlen, HK_ENOTFOUND, HK_EINVAL for
 * a malformed escape, or HK_ENOMEM. The first occurrence wins.
 */
int hk_form_get(
    const char *body, size_t len, const char *name, char **out, size_t *outlen);

/*
 * The whole form BODY (LEN bytes) as the text of a JSON object of its
 * fields, appended to OUT: names and values decoded, a field without '='
 * an empty string, a repeated field an array of its values in order,
 * members in the order of their first appearance (Slack's slash
 * commands, HTML forms). Returns 0, HK_EINVAL when an escape is
 * malformed or a name or value is not UTF-8 text without NUL, or
 * HK_ENOMEM.
 */
int hk_form_json(const char *body, size_t len, struct hk_buf *out);

#endif
