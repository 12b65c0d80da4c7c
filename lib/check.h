/*
 * check.h: JSON bodies judged by a table, as server/config.c judges
 * flags.
 *
 * A resource lists its members as rows (name, type, bounds, message,
 * where the value goes, a setter where one is needed); hk_check_apply
 * walks them in order, so the first bad member is the one reported, with
 * its row's message. Any thread: the rows are constant, a walk's state
 * is its struct hk_check. Quiet, like all of lib/: the caller answers.
 */
#ifndef HK_CHECK_H
#define HK_CHECK_H

#include <stddef.h>

#include <cJSON.h>

/* What a member must be. */
enum hk_check_type {
	HK_CHECK_STR, /* a string of ck_min..ck_max bytes (no max if 0) */
	HK_CHECK_INT, /* an integer number in [ck_min, ck_max] */
	HK_CHECK_RATE, /* 0, or a number in [ck_min, ck_max] */
	HK_CHECK_BOOL, /* true or false */
	HK_CHECK_ENUM, /* one of ck_names; stored as its index */
	HK_CHECK_OBJ, /* an object of the rows ck_sub, no other member */
	HK_CHECK_ANY /* anything: ck_set judges and stores */
};

/* How the judged value is stored at ck_off in the record's struct. */
enum hk_check_mem {
	HK_CHECK_M_NONE, /* ck_set stores it */
	HK_CHECK_M_INT,
	HK_CHECK_M_UINT, /* an enum */
	HK_CHECK_M_LONG,
	HK_CHECK_M_LLONG,
	HK_CHECK_M_DOUBLE,
	HK_CHECK_M_STR /* a char * the walker strdups (old one freed) */
};

/* Row flags. */
#define HK_CHECK_NULL 0x01 /* null is allowed: NULL, or ck_null */
#define HK_CHECK_NEED 0x02 /* required when the walk has HK_CHECK_CREATE */
#define HK_CHECK_ABSENT 0x04 /* ck_set is called with NULL when absent */
#define HK_CHECK_EMPTY 0x08 /* "" is stored as NULL */
#define HK_CHECK_WIPE 0x10 /* a secret: the old value is wiped */

/*
 * Walk flags (struct hk_check ck_flags). HK_CHECK_RECORD: a stored
 * record, with members no row names, and a rate below ck_min that an
 * older hookd took, both kept.
 */
#define HK_CHECK_CREATE 0x01 /* a create or a PUT: HK_CHECK_NEED rows */
#define HK_CHECK_RECORD 0x02

struct hk_check;

struct hk_check_row {
	const char *ck_name;
	enum hk_check_type ck_type;
	int ck_flags;
	enum hk_check_mem ck_mem;
	size_t ck_off;
	double ck_min, ck_max;
	const char *ck_msg; /* the refusal: type, bounds, ck_ok, ck_set */
	/* Judges more after type and bounds (for an object: after its
	 * rows); 0, or nonzero to refuse (with its message, else ck_msg). */
	int (*ck_ok)(const void *obj, const cJSON *v, struct hk_check *);
	/* Stores V into OBJ instead of ck_mem; 0 or nonzero as ck_ok. */
	int (*ck_set)(void *obj, const cJSON *v, struct hk_check *);
	const struct hk_check_row *ck_sub; /* HK_CHECK_OBJ, NULL-name ended */
	const char *const *ck_names; /* HK_CHECK_ENUM, NULL ended */
	double ck_null; /* a number's null (HK_CHECK_NULL) */
};

/* One walk. */
struct hk_check {
	int ck_flags; /* HK_CHECK_CREATE, HK_CHECK_RECORD, and the caller's */
	char *ck_err; /* the refusal's message, "" until there is one */
	size_t ck_errlen;
};

/* A number macro's digits, for a message: HK_CHECK_NUM(HOOKD_NAME_MAX). */
#define HK_CHECK_NUM(x) HK_CHECK_NUM_(x)
#define HK_CHECK_NUM_(x) #x

/* Where member M of struct T goes, and as what (designators). */
#define HK_CHECK_AT(T, m)                                                      \
	.ck_mem = _Generic(((T *)0)->m, int: HK_CHECK_M_INT,                   \
	    unsigned int: HK_CHECK_M_UINT, long: HK_CHECK_M_LONG,              \
	    long long: HK_CHECK_M_LLONG, double: HK_CHECK_M_DOUBLE,            \
	    char *: HK_CHECK_M_STR, default: HK_CHECK_M_NONE),                 \
	.ck_off = offsetof(T, m)

/*
 * Applies the members of J to OBJ by ROWS (ended by a row without a
 * name): a member that is not a row is refused unless CK has
 * HK_CHECK_RECORD. Returns 0, or HK_EINVAL with ck->ck_err set (also
 * for a setter out of memory, "out of memory"); OBJ may then hold some
 * of the body's values (the caller drops it). A string stored is OBJ's,
 * the old one freed.
 */
int hk_check_apply(const struct hk_check_row *rows, void *obj, const cJSON *j,
    struct hk_check *ck);

/*
 * Whether S is a name: 1-MAX characters [a-z0-9._-], starting with a
 * letter or digit, not with RESERVED (an id's prefix, or NULL).
 */
int hk_check_slug(const char *s, size_t max, const char *reserved);

/* Sets CK's message (printf) and returns HK_EINVAL. */
int hk_check_fail(struct hk_check *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
