/*
 * jptr.h: JSON Pointer (RFC 6901) over cJSON trees.
 */
#ifndef HK_JPTR_H
#define HK_JPTR_H

#include <cJSON.h>

/*
 * The node of ROOT that POINTER names ("" is ROOT itself; "/a/0/b~1c"),
 * borrowed from ROOT; NULL when it does not exist or POINTER is not a
 * valid pointer.
 */
const cJSON *hk_jptr_get(const cJSON *root, const char *pointer);
/* Whether POINTER is syntactically valid ("" or starting with '/'). */
int hk_jptr_valid(const char *pointer);

#endif
