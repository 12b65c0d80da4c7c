/*
 * dlv.c: the delivery record's codec (dlv.h). Reading picks the members
 * out in one pass without a tree (hk_json_members); writing prints them
 * in their order: an attempt's outcome costs no allocation but its text.
 */
#include <stdlib.h>
#include <string.h>

#include "dlv.h"
#include "hk.h"
#include "json.h"

enum {
	DR_ID,
	DR_EVENT,
	DR_SUB,
	DR_STATUS,
	DR_ATTEMPTS,
	DR_NEXT,
	DR_CREATED,
	DR_UPDATED,
	DR_LIMIT,
	DR_CLS,
	DR_DUE,
	DR_COUNT
};

static const char *const dr_names[DR_COUNT] = {"id", "event", "subscription",
    "status", "attemptCount", "nextAttemptAt", "createdAt", "updatedAt",
    "limit", "cls", "due"};

static const char *const ds_names[HK_DS_COUNT] = {
    "pending", "in_flight", "succeeded", "failed", "cancelled"};

const char *
hk_dstate_name(enum hk_dstate s)
{
	return (unsigned)s < HK_DS_COUNT ? ds_names[s] : "unknown";
}

int
hk_dstate_parse(const char *name, size_t len, enum hk_dstate *out)
{
	int i;

	for (i = 0; i < HK_DS_COUNT; i++)
		if (strlen(ds_names[i]) == len &&
		    memcmp(ds_names[i], name, len) == 0) {
			*out = (enum hk_dstate)i;
			return 0;
		}
	return HK_EINVAL;
}

/* A string member into OUT ("" when absent or null); 0 or HK_EINVAL. */
static int
dr_str(const struct hk_json_str *v, char *out, size_t len)
{
	out[0] = '\0';
	if (v->p == NULL || v->kind == HK_JSON_NULL)
		return 0;
	if (v->kind != HK_JSON_STRING)
		return HK_EINVAL;
	return hk_json_unescape(v, out, len) < 0 ? HK_EINVAL : 0;
}

/* A number member (0 when absent, as records of every version read). */
static long long
dr_num(const struct hk_json_str *v)
{
	char buf[64], *end;
	long long n;
	double f;

	if (v->p == NULL || v->kind != HK_JSON_NUMBER || v->len >= sizeof(buf))
		return 0;
	memcpy(buf, v->p, v->len);
	buf[v->len] = '\0';
	n = strtoll(buf, &end, 10);
	if (*end == '\0')
		return n;
	/* cJSON printed a large double as "1.7e+12" in some builds. */
	f = strtod(buf, NULL);
	return f > -9e18 && f < 9e18 ? (long long)f : 0;
}

int
hk_delivery_parse(const void *text, size_t len, struct hk_delivery *d)
{
	struct hk_json_str m[DR_COUNT];
	char status[16];

	if (hk_json_members(text, len, dr_names, DR_COUNT, m) != 0 ||
	    dr_str(&m[DR_ID], d->id, sizeof(d->id)) != 0 ||
	    dr_str(&m[DR_EVENT], d->event, sizeof(d->event)) != 0 ||
	    dr_str(&m[DR_SUB], d->sub, sizeof(d->sub)) != 0 ||
	    dr_str(&m[DR_STATUS], status, sizeof(status)) != 0 ||
	    dr_str(&m[DR_NEXT], d->next, sizeof(d->next)) != 0 ||
	    dr_str(&m[DR_CREATED], d->created, sizeof(d->created)) != 0 ||
	    dr_str(&m[DR_UPDATED], d->updated, sizeof(d->updated)) != 0 ||
	    hk_dstate_parse(status, strlen(status), &d->state) != 0 ||
	    d->state == HK_DS_IN_FLIGHT)
		return HK_EINVAL;
	d->attempts = dr_num(&m[DR_ATTEMPTS]);
	d->limit = dr_num(&m[DR_LIMIT]);
	/* The class is a key byte: 0 or 1, as every hookd wrote it. */
	d->cls = dr_num(&m[DR_CLS]) == 1;
	d->due = (int64_t)dr_num(&m[DR_DUE]);
	return 0;
}

int
hk_delivery_is_pending(const void *text, size_t len)
{
	struct hk_delivery d;

	return hk_delivery_parse(text, len, &d) == 0 &&
	    d.state == HK_DS_PENDING;
}

/* Appends the text KEY (",\"name\":") and the string V, or null. */
static int
dr_print_str(struct hk_buf *b, const char *key, const char *v)
{
	return hk_buf_adds(b, key) || hk_buf_add_jsonstr(b, v) ? HK_ENOMEM : 0;
}

static int
dr_print_num(struct hk_buf *b, const char *key, long long v)
{
	return hk_buf_adds(b, key) || hk_buf_add_i64(b, v) ? HK_ENOMEM : 0;
}

int
hk_delivery_print(struct hk_buf *b, const struct hk_delivery *d, int flags)
{
	if (dr_print_str(b, "{\"id\":", d->id) != 0 ||
	    dr_print_str(b, ",\"event\":", d->event) != 0 ||
	    dr_print_str(b, ",\"subscription\":", d->sub) != 0 ||
	    dr_print_str(b, ",\"status\":", hk_dstate_name(d->state)) != 0 ||
	    dr_print_num(b, ",\"attemptCount\":", d->attempts) != 0 ||
	    dr_print_str(b, ",\"nextAttemptAt\":",
	        d->next[0] != '\0' ? d->next : NULL) != 0 ||
	    dr_print_str(b, ",\"createdAt\":", d->created) != 0 ||
	    dr_print_str(b, ",\"updatedAt\":", d->updated) != 0)
		return HK_ENOMEM;
	if (!(flags & HK_DLV_PUBLIC) &&
	    (dr_print_num(b, ",\"limit\":", d->limit) != 0 ||
	        dr_print_num(b, ",\"cls\":", d->cls) != 0 ||
	        dr_print_num(b, ",\"due\":", (long long)d->due) != 0))
		return HK_ENOMEM;
	if (!(flags & HK_DLV_OPEN) && hk_buf_addc(b, '}') != 0)
		return HK_ENOMEM;
	return 0;
}

int
hk_dstate_legal(enum hk_dstate from, enum hk_dstate to)
{
	switch (from) {
	case HK_DS_PENDING:
		return to == HK_DS_PENDING || to == HK_DS_SUCCEEDED ||
		    to == HK_DS_FAILED || to == HK_DS_CANCELLED;
	case HK_DS_FAILED:
		return to == HK_DS_PENDING;
	default:
		return 0;
	}
}
