/*
 * json.h: checks JSON text without building a tree.
 *
 * Ingest needs three things of a body: that it is JSON, and a few string
 * members at its top level (the event type, an id). hk_json_scan() does
 * that in one pass, allocating nothing. hk_json_members() also picks out
 * numbers and nulls, for records of known shape (deliveries);
 * hk_json_raw() and hk_json_child() any member as its text, so a value
 * is passed on as it came (a number never goes through a double).
 *
 * The grammar is RFC 8259's, strictly: UTF-8 only (no overlong forms,
 * no surrogate code points), no control characters in strings, no lone
 * surrogate escapes, no leading zeros or '+', whitespace only as the RFC
 * defines it, nesting at most HK_JSON_DEPTH. Whatever it accepts cJSON
 * accepts too (test/fuzz/json.c checks this, and that the members agree).
 *
 * Thread-safe; no allocation.
 */
#ifndef HK_JSON_H
#define HK_JSON_H

#include <stddef.h>

#include <cJSON.h>

#include "buf.h"

#define HK_JSON_DEPTH 512
#define HK_JSON_NAMES 16 /* the most members one scan picks out */

enum hk_json_kind {
	HK_JSON_STRING = 1,
	HK_JSON_NUMBER,
	HK_JSON_NULL,
	HK_JSON_BOOL,
	HK_JSON_OBJECT,
	HK_JSON_ARRAY
};

/*
 * A member's value as it appears in the text: a string without its
 * quotes, a number's text, or (hk_json_members) "null"; for
 * hk_json_raw() and hk_json_child(), the value's whole text as found
 * (a string with its quotes), whatever its kind.
 */
struct hk_json_str {
	const char *p; /* NULL: no such member, or not of a wanted kind */
	size_t len;
	int kind; /* an hk_json_kind when P is set */
};

/*
 * Checks that TEXT[0, LEN) is one JSON value with only whitespace around
 * it. When it is an object, OUT[i] is set to the value of the first
 * member named NAMES[i] (names compared after unescaping), if that
 * value is a string. N is at most HK_JSON_NAMES. Returns 0 or HK_EINVAL.
 */
int hk_json_scan(const char *text, size_t len, const char *const *names,
    size_t n, struct hk_json_str *out);

/*
 * As hk_json_scan(), and numbers and nulls are picked out too (KIND
 * tells them apart): for reading records of known shape without a tree.
 */
int hk_json_members(const char *text, size_t len, const char *const *names,
    size_t n, struct hk_json_str *out);

/*
 * As hk_json_scan(), and every member is picked out, whatever its kind,
 * as its whole text: a number keeps its digits as sent (64-bit ids do
 * not survive a double), an object its bytes. For re-serialising a
 * member without parsing and printing it again.
 */
int hk_json_raw(const char *text, size_t len, const char *const *names,
    size_t n, struct hk_json_str *out);

/*
 * The child KEY of TEXT, a value checked already (a stored payload): the
 * first member of that name when TEXT is an object, the element of that
 * decimal index when it is an array. OUT gets its whole text, as
 * hk_json_raw(). Stops at the child found: the rest of TEXT is not
 * checked again. Returns 0, HK_ENOTFOUND (no such child, or TEXT is
 * neither), HK_EINVAL (TEXT is not JSON before the child).
 */
int hk_json_child(
    const char *text, size_t len, const char *key, struct hk_json_str *out);

/*
 * Decodes a string found by hk_json_scan() into OUT as UTF-8 with a NUL.
 * Returns the decoded length, or -1 when it needs more than OUTLEN - 1
 * bytes (OUT then holds a truncated prefix).
 */
long hk_json_unescape(const struct hk_json_str *, char *out, size_t outlen);

/*
 * Appends J as compact JSON text, as cJSON_PrintUnformatted() would
 * (semantically equal; integers up to 2^53 always in plain digits), but
 * without cJSON's sprintf and sscanf round trip for every integer.
 * Returns 0 or HK_ENOMEM (B then holds a partial text).
 */
int hk_json_print(struct hk_buf *b, const cJSON *j);
/* The same as a malloc'd string (free()), or NULL when out of memory. */
char *hk_json_text(const cJSON *j);

#endif
