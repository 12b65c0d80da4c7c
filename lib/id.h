/*
 * id.h: prefixed, time-sortable identifiers ("evt_01JW3…").
 *
 * An id is a prefix of 2-5 lower-case letters and '_', then 26 Crockford
 * base32 characters: 48 bits of milliseconds since the epoch and 80 bits
 * that are random for the first id of a millisecond and incremented for
 * the next ones, so ids of one prefix sort by creation, also within a
 * millisecond (ULID's monotonic form). Thread-safe.
 */
#ifndef HK_ID_H
#define HK_ID_H

#include <stddef.h>
#include <stdint.h>

#define HK_ID_BODY 26
#define HK_ID_MAX 40 /* room for any id and its NUL */

/* Writes PREFIX + a new id into OUT (HK_ID_MAX bytes). Returns OUT. */
char *hk_id_new(const char *prefix, char out[HK_ID_MAX]);
/*
 * As hk_id_new, at time MS; never before the last id made (ids stay in
 * the order they were made, whatever the clock does).
 */
char *hk_id_at(const char *prefix, int64_t ms, char out[HK_ID_MAX]);
/* Whether S is a well-formed id with PREFIX. */
int hk_id_valid(const char *prefix, const char *s);
/* The milliseconds encoded in a valid id with PREFIX, or -1. */
int64_t hk_id_ms(const char *prefix, const char *s);

#endif
