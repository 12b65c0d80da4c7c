/*
 * jptr.h: JSON Pointer (RFC 6901) over cJSON trees.
 */
#ifndef HK_JPTR_H
#define HK_JPTR_H

#include <stddef.h>

#include <cJSON.h>

#include "json.h"

/*
 * The node of ROOT that POINTER names ("" is ROOT itself; "/a/0/b~1c"),
 * borrowed from ROOT; NULL when it does not exist or POINTER is not a
 * valid pointer.
 */
const cJSON *hk_jptr_get(const cJSON *root, const char *pointer);
/*
 * As hk_jptr_get(), over JSON text checked already (a stored or scanned
 * body), without a tree: OUT gets the named value's whole text and kind
 * (json.h hk_json_child()), so a string keeps its escapes (a \u0000 is
 * seen, not cut) and a number its digits. Returns 0, HK_ENOTFOUND, or
 * HK_EINVAL (POINTER or TEXT malformed).
 */
int hk_jptr_text(
    const char *text, size_t len, const char *pointer, struct hk_json_str *out);
/* Whether POINTER is syntactically valid ("" or starting with '/'). */
int hk_jptr_valid(const char *pointer);

#endif
