/*
 * check.c: the walker of check.h's rows.
 *
 * Every member of a body is judged by its row: first its JSON type,
 * then its bounds, then the row's own judge (ck_ok); it is stored at
 * its place or by the row's setter. One message per row, so a refusal
 * says what the member must be, whatever was wrong with it.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "hk.h"

int
hk_check_fail(struct hk_check *ck, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ck->ck_err, ck->ck_errlen, fmt, ap);
	va_end(ap);
	return HK_EINVAL;
}

/* Refuses with ROW's message unless a judge or setter gave its own. */
static int
check_refuse(const struct hk_check_row *row, struct hk_check *ck)
{
	if (ck->ck_err[0] != '\0')
		return HK_EINVAL;
	return hk_check_fail(ck, "%s", row->ck_msg);
}

/* The row of member NAME, or NULL. */
static const struct hk_check_row *
check_row(const struct hk_check_row *rows, const char *name)
{
	for (; rows->ck_name != NULL; rows++)
		if (strcmp(rows->ck_name, name) == 0)
			return rows;
	return NULL;
}

/* Refuses a member of J no row names; PARENT prefixes a nested one. */
static int
check_known(const struct hk_check_row *rows, const cJSON *j, const char *parent,
    struct hk_check *ck)
{
	const cJSON *m;

	/* hk_admin_body answers a body that is not an object itself. */
	if (!cJSON_IsObject(j))
		return 0;
	cJSON_ArrayForEach(m, j) {
		if (check_row(rows, m->string) != NULL)
			continue;
		if (parent != NULL)
			return hk_check_fail(
			    ck, "unknown field %s.%.64s", parent, m->string);
		return hk_check_fail(ck, "unknown field %.64s", m->string);
	}
	return 0;
}

/* Whether V has ROW's type and is within its bounds. */
static int
check_type(const struct hk_check_row *row, const cJSON *v, int flags)
{
	size_t len, i;
	double d;

	switch (row->ck_type) {
	case HK_CHECK_STR:
		if (!cJSON_IsString(v))
			return 0;
		len = strlen(v->valuestring);
		return len >= (size_t)row->ck_min &&
		    (row->ck_max == 0 || len <= (size_t)row->ck_max);
	case HK_CHECK_INT:
		d = v->valuedouble;
		return cJSON_IsNumber(v) && d >= row->ck_min &&
		    d <= row->ck_max && d == floor(d);
	case HK_CHECK_RATE:
		/* A record keeps what an older hookd accepted. */
		d = v->valuedouble;
		return cJSON_IsNumber(v) && d >= 0 && d <= row->ck_max &&
		    !(d > 0 && d < row->ck_min && !(flags & HK_CHECK_RECORD));
	case HK_CHECK_BOOL:
		return cJSON_IsBool(v);
	case HK_CHECK_ENUM:
		for (i = 0; cJSON_IsString(v) && row->ck_names[i] != NULL; i++)
			if (strcmp(v->valuestring, row->ck_names[i]) == 0)
				return 1;
		return 0;
	case HK_CHECK_OBJ:
		return cJSON_IsObject(v);
	case HK_CHECK_ANY:
		return 1;
	}
	return 0;
}

/* A string's new value (NULL for null, or "" under HK_CHECK_EMPTY). */
static int
check_store_str(const struct hk_check_row *row, char **p, const cJSON *v,
    struct hk_check *ck)
{
	char *s = NULL;

	if (cJSON_IsString(v) &&
	    !((row->ck_flags & HK_CHECK_EMPTY) && *v->valuestring == '\0') &&
	    (s = strdup(v->valuestring)) == NULL)
		return hk_check_fail(ck, "out of memory");
	if (*p != NULL && (row->ck_flags & HK_CHECK_WIPE))
		sodium_memzero(*p, strlen(*p));
	free(*p);
	*p = s;
	return 0;
}

/* Stores the judged V in OBJ at ROW's place. */
static int
check_store(const struct hk_check_row *row, void *obj, const cJSON *v,
    struct hk_check *ck)
{
	char *p = (char *)obj + row->ck_off;
	double d = cJSON_IsNull(v) ? row->ck_null : v->valuedouble;
	size_t i;

	if (row->ck_type == HK_CHECK_BOOL)
		d = cJSON_IsTrue(v);
	else if (row->ck_type == HK_CHECK_ENUM) {
		for (i = 0; strcmp(v->valuestring, row->ck_names[i]) != 0; i++)
			;
		d = (double)i;
	}
	switch (row->ck_mem) {
	case HK_CHECK_M_NONE:
		break;
	case HK_CHECK_M_INT:
		*(int *)p = (int)d;
		break;
	case HK_CHECK_M_UINT:
		*(unsigned int *)p = (unsigned int)d;
		break;
	case HK_CHECK_M_LONG:
		*(long *)p = (long)d;
		break;
	case HK_CHECK_M_LLONG:
		*(long long *)p = (long long)d;
		break;
	case HK_CHECK_M_DOUBLE:
		*(double *)p = d;
		break;
	case HK_CHECK_M_STR:
		return check_store_str(row, (char **)p, v, ck);
	}
	return 0;
}

static int check_walk(
    const struct hk_check_row *, void *, const cJSON *, struct hk_check *);

/* Judges and applies member V (NULL: absent) of ROW. */
static int
check_member(const struct hk_check_row *row, void *obj, const cJSON *v,
    struct hk_check *ck)
{
	if (v == NULL) {
		if ((row->ck_flags & HK_CHECK_NEED) &&
		    (ck->ck_flags & HK_CHECK_CREATE))
			return hk_check_fail(
			    ck, "%s is required", row->ck_name);
		if ((row->ck_flags & HK_CHECK_ABSENT) &&
		    row->ck_set(obj, NULL, ck) != 0)
			return check_refuse(row, ck);
		return 0;
	}
	if (!(cJSON_IsNull(v) && (row->ck_flags & HK_CHECK_NULL)) &&
	    !check_type(row, v, ck->ck_flags))
		return check_refuse(row, ck);
	if (row->ck_type == HK_CHECK_OBJ &&
	    (check_known(row->ck_sub, v, row->ck_name, ck) != 0 ||
	        check_walk(row->ck_sub, obj, v, ck) != 0))
		return HK_EINVAL;
	if (row->ck_ok != NULL && row->ck_ok(obj, v, ck) != 0)
		return check_refuse(row, ck);
	if (row->ck_set != NULL)
		return row->ck_set(obj, v, ck) != 0 ? check_refuse(row, ck) : 0;
	if (row->ck_type == HK_CHECK_OBJ)
		return 0;
	return check_store(row, obj, v, ck);
}

/* Applies the members of J by ROWS, in the rows' order. */
static int
check_walk(const struct hk_check_row *rows, void *obj, const cJSON *j,
    struct hk_check *ck)
{
	const struct hk_check_row *row;

	for (row = rows; row->ck_name != NULL; row++)
		if (check_member(row, obj,
		        cJSON_GetObjectItemCaseSensitive(j, row->ck_name),
		        ck) != 0)
			return HK_EINVAL;
	return 0;
}

int
hk_check_apply(const struct hk_check_row *rows, void *obj, const cJSON *j,
    struct hk_check *ck)
{
	if (ck->ck_errlen > 0)
		ck->ck_err[0] = '\0';
	if (!(ck->ck_flags & HK_CHECK_RECORD) &&
	    check_known(rows, j, NULL, ck) != 0)
		return HK_EINVAL;
	return check_walk(rows, obj, j, ck);
}

int
hk_check_slug(const char *s, size_t max, const char *reserved)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max ||
	    (reserved != NULL && strncmp(s, reserved, strlen(reserved)) == 0))
		return 0;
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}
