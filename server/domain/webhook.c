/*
 * webhook.c: incoming webhooks: the in-memory cache and /api/webhooks.
 *
 * Every webhook is loaded at start into a list sorted by id and three
 * maps (id, name, token hash), with its secret opened in memory, so
 * ingest never reads the store. Changes are committed by the writer
 * first; the cache changes in the done callback, on the loop, only once
 * the change is durable. A change replaces the cached struct by a new
 * one (nothing holds a webhook across a commit), keeping its bucket.
 *
 * At rest (HK_DB_WEBHOOKS) a webhook is a JSON record holding the token's
 * hash and the secret sealed under the master key; HK_DB_NAMES maps
 * names to ids so that a name is unique even between two commits.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "hdr.h"
#include "id.h"
#include "jptr.h"

static struct hk_webhook_list wh_list = TAILQ_HEAD_INITIALIZER(wh_list);
static struct hk_map wh_by_id = HK_MAP_INIT;
static struct hk_map wh_by_name = HK_MAP_INIT;
static struct hk_map wh_by_token = HK_MAP_INIT;

static const char *const wh_auths[] = {
    "token", "signature", "token+signature", "none", NULL};

/* How wh_apply_json reads its input. */
#define WH_J_CREATE HK_CHECK_CREATE /* a create: name required */
#define WH_J_RECORD HK_CHECK_RECORD /* stored: what hookd accepted before */
#define WH_RATE_MAX 1000000

static void
wh_free(struct hk_webhook *wh)
{
	if (wh == NULL)
		return;
	free(wh->wh_description);
	if (wh->wh_secret != NULL) {
		sodium_memzero(wh->wh_secret, strlen(wh->wh_secret));
		free(wh->wh_secret);
	}
	free(wh->wh_secret_sealed);
	free(wh->wh_etype_value);
	free(wh->wh_prefix);
	free(wh->wh_verify_token);
	free(wh);
}

static char *
wh_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

/* A deep copy of WH (for a change that may still be refused). */
static struct hk_webhook *
wh_dup(const struct hk_webhook *wh)
{
	struct hk_webhook *n;

	if ((n = malloc(sizeof(*n))) == NULL)
		return NULL;
	*n = *wh;
	n->wh_description = wh_strdup(wh->wh_description);
	n->wh_secret = wh_strdup(wh->wh_secret);
	n->wh_secret_sealed = wh_strdup(wh->wh_secret_sealed);
	n->wh_etype_value = wh_strdup(wh->wh_etype_value);
	n->wh_prefix = wh_strdup(wh->wh_prefix);
	n->wh_verify_token = wh_strdup(wh->wh_verify_token);
	if ((wh->wh_verify_token && !n->wh_verify_token) ||
	    (wh->wh_description && !n->wh_description) ||
	    (wh->wh_secret && !n->wh_secret) ||
	    (wh->wh_secret_sealed && !n->wh_secret_sealed) ||
	    (wh->wh_etype_value && !n->wh_etype_value) ||
	    (wh->wh_prefix && !n->wh_prefix)) {
		wh_free(n);
		return NULL;
	}
	return n;
}

static int
wh_index(struct hk_webhook *wh)
{
	if (hk_map_put(&wh_by_id, wh->wh_id, strlen(wh->wh_id), wh) ||
	    hk_map_put(&wh_by_name, wh->wh_name, strlen(wh->wh_name), wh) ||
	    hk_map_put(
	        &wh_by_token, wh->wh_token_hash, strlen(wh->wh_token_hash), wh))
		return HK_ENOMEM;
	return 0;
}

static void
wh_unindex(struct hk_webhook *wh)
{
	hk_map_del(&wh_by_id, wh->wh_id, strlen(wh->wh_id));
	if (hk_map_get(&wh_by_name, wh->wh_name, strlen(wh->wh_name)) == wh)
		hk_map_del(&wh_by_name, wh->wh_name, strlen(wh->wh_name));
	if (hk_map_get(&wh_by_token, wh->wh_token_hash,
	        strlen(wh->wh_token_hash)) == wh)
		hk_map_del(
		    &wh_by_token, wh->wh_token_hash, strlen(wh->wh_token_hash));
}

/* Inserts WH into the list in id order (new ids go last). */
static void
wh_insert(struct hk_webhook *wh)
{
	struct hk_webhook *w;

	TAILQ_FOREACH_REVERSE(w, &wh_list, hk_webhook_list, wh_entry)
		if (strcmp(w->wh_id, wh->wh_id) < 0)
			break;
	if (w == NULL)
		TAILQ_INSERT_HEAD(&wh_list, wh, wh_entry);
	else
		TAILQ_INSERT_AFTER(&wh_list, w, wh, wh_entry);
}

/* Puts NEW in place of OLD (either may be NULL). */
static int
wh_replace(struct hk_webhook *old, struct hk_webhook *new)
{
	if (old != NULL) {
		wh_unindex(old);
		if (new != NULL)
			TAILQ_INSERT_AFTER(&wh_list, old, new, wh_entry);
		TAILQ_REMOVE(&wh_list, old, wh_entry);
		wh_free(old);
	} else if (new != NULL)
		wh_insert(new);
	return new != NULL ? wh_index(new) : 0;
}

struct hk_webhook_list *
hk_webhook_all(void)
{
	return &wh_list;
}

double
hk_webhook_rate(const struct hk_webhook *wh)
{
	return wh->wh_rate < 0 ? hd->hd_conf.cf_rate : wh->wh_rate;
}

int64_t
hk_webhook_max_body(const struct hk_webhook *wh)
{
	return wh->wh_max_body > 0 ? wh->wh_max_body : hd->hd_conf.cf_max_body;
}

int64_t
hk_webhook_body_ceiling(void)
{
	struct hk_webhook *wh;
	int64_t max = hd->hd_conf.cf_max_body;

	TAILQ_FOREACH(wh, &wh_list, wh_entry)
		if (wh->wh_max_body > max)
			max = wh->wh_max_body;
	return max;
}

/* The listener must let the largest body any webhook accepts through. */
static void
wh_ceiling_update(void)
{
	if (hd->hd_public.ls_http != NULL)
		evhttp_set_max_body_size(
		    hd->hd_public.ls_http, hk_webhook_body_ceiling());
}

static void
wh_bucket_reset(struct hk_webhook *wh, int keep)
{
	double rate = hk_webhook_rate(wh);

	if (keep)
		hk_bucket_set(&wh->wh_bucket, rate, rate * 2);
	else
		hk_bucket_init(&wh->wh_bucket, rate, rate * 2, hk_mono_us());
}

struct hk_webhook *
hk_webhook_find(const char *s)
{
	struct hk_webhook *wh;

	if ((wh = hk_map_get(&wh_by_id, s, strlen(s))) != NULL)
		return wh;
	return hk_map_get(&wh_by_name, s, strlen(s));
}

struct hk_webhook *
hk_webhook_by_token(const char *token, size_t len)
{
	char hash[HK_TOKEN_HASH_LEN];

	hk_token_hash(token, len, hash);
	return hk_map_get(&wh_by_token, hash, strlen(hash));
}

/* The public form: never the token or the secret. */
static cJSON *
wh_public(const struct hk_webhook *wh)
{
	char iso[HK_ISO_LEN];
	cJSON *j, *sig, *et;
	struct hk_buf url = HK_BUF_INIT;

	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "id", wh->wh_id);
	cJSON_AddStringToObject(j, "name", wh->wh_name);
	hk_buf_printf(&url, "%s/webhooks/%s", hd->hd_public_url, wh->wh_name);
	cJSON_AddStringToObject(j, "url", url.b != NULL ? url.b : "");
	hk_buf_free(&url);
	if (wh->wh_description != NULL)
		cJSON_AddStringToObject(j, "description", wh->wh_description);
	else
		cJSON_AddNullToObject(j, "description");
	cJSON_AddStringToObject(j, "auth", wh_auths[wh->wh_auth]);
	if ((sig = cJSON_AddObjectToObject(j, "signature")) != NULL) {
		cJSON_AddStringToObject(
		    sig, "scheme", hk_sig_scheme_name(wh->wh_scheme));
		cJSON_AddNumberToObject(
		    sig, "toleranceSeconds", wh->wh_tolerance);
	}
	if (wh->wh_etype == HK_ETYPE_DEFAULT)
		cJSON_AddNullToObject(j, "eventType");
	else if ((et = cJSON_AddObjectToObject(j, "eventType")) != NULL)
		cJSON_AddStringToObject(et,
		    wh->wh_etype == HK_ETYPE_HEADER     ? "header"
		        : wh->wh_etype == HK_ETYPE_JSON ? "json"
		                                        : "fixed",
		    wh->wh_etype_value);
	if (wh->wh_prefix != NULL)
		cJSON_AddStringToObject(j, "eventPrefix", wh->wh_prefix);
	else
		cJSON_AddNullToObject(j, "eventPrefix");
	cJSON_AddNumberToObject(j, "rateLimit", hk_webhook_rate(wh));
	cJSON_AddNumberToObject(j, "maxBody", (double)hk_webhook_max_body(wh));
	cJSON_AddBoolToObject(j, "enabled", wh->wh_enabled);
	hk_provider_public(wh, j);
	cJSON_AddStringToObject(
	    j, "createdAt", hk_time_iso(wh->wh_created, iso));
	cJSON_AddStringToObject(
	    j, "updatedAt", hk_time_iso(wh->wh_updated, iso));
	return j;
}

/*
 * The JSON record kept in the store: the public form, with the sealed
 * secret and the token's hash, and defaults kept as defaults (null), so
 * that a changed flag applies to them.
 */
static cJSON *
wh_record(const struct hk_webhook *wh)
{
	cJSON *j = wh_public(wh), *sig;

	if (j == NULL)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(j, "url");
	cJSON_ReplaceItemInObjectCaseSensitive(j, "rateLimit",
	    wh->wh_rate >= 0 ? cJSON_CreateNumber(wh->wh_rate)
	                     : cJSON_CreateNull());
	cJSON_ReplaceItemInObjectCaseSensitive(j, "maxBody",
	    wh->wh_max_body > 0 ? cJSON_CreateNumber((double)wh->wh_max_body)
	                        : cJSON_CreateNull());
	cJSON_ReplaceItemInObjectCaseSensitive(
	    j, "createdAt", cJSON_CreateNumber((double)wh->wh_created));
	cJSON_ReplaceItemInObjectCaseSensitive(
	    j, "updatedAt", cJSON_CreateNumber((double)wh->wh_updated));
	if ((sig = cJSON_GetObjectItemCaseSensitive(j, "signature")) != NULL)
		cJSON_AddStringToObject(sig, "sealed", wh->wh_secret_sealed);
	cJSON_AddStringToObject(j, "tokenHash", wh->wh_token_hash);
	return j;
}

static int
wh_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > HOOKD_NAME_MAX || strncmp(s, "wh_", 3) == 0)
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

/* An HTTP header name: RFC 9110 token characters. */
static int
wh_header_name_valid(const char *s)
{
	if (*s == '\0' || strlen(s) > 128)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

/* A name: a slug, copied into the struct. */
static int
wh_set_name(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_webhook *wh = obj;

	(void)ck;
	if (!wh_name_valid(v->valuestring))
		return -1;
	snprintf(wh->wh_name, sizeof(wh->wh_name), "%s", v->valuestring);
	return 0;
}

/* A description's length has a message of its own. */
static int
wh_description_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)obj;
	if (cJSON_IsString(v) && strlen(v->valuestring) > 1024)
		return hk_check_fail(ck, "description is too long");
	return 0;
}

/* A preset, applied before the rows that override it (provider.c). */
static int
wh_set_provider(void *obj, const cJSON *v, struct hk_check *ck)
{
	return hk_provider_set(obj, v, ck->ck_err, ck->ck_errlen);
}

static int
wh_set_scheme(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_webhook *wh = obj;

	(void)ck;
	return hk_sig_scheme_parse(v->valuestring, &wh->wh_scheme) != 0 ? -1
	                                                                : 0;
}

/*
 * The kind of eventType member F and whether its value is valid for it:
 * a stored record keeps a fixed type an older hookd took.
 */
static int
wh_etype_kind(const cJSON *f, enum hk_etype *t, struct hk_check *ck)
{
	if (strcmp(f->string, "header") == 0)
		*t = HK_ETYPE_HEADER;
	else if (strcmp(f->string, "json") == 0)
		*t = HK_ETYPE_JSON;
	else if (strcmp(f->string, "fixed") == 0)
		*t = HK_ETYPE_FIXED;
	else
		return hk_check_fail(
		    ck, "eventType must be header, json or fixed");
	if (*t == HK_ETYPE_FIXED && !(ck->ck_flags & WH_J_RECORD) &&
	    !hk_event_type_ok(f->valuestring))
		return hk_check_fail(
		    ck, "eventType.fixed must be " HOOKD_TYPE_RULE);
	if ((*t == HK_ETYPE_JSON && !hk_jptr_valid(f->valuestring)) ||
	    (*t == HK_ETYPE_HEADER && !wh_header_name_valid(f->valuestring)))
		return hk_check_fail(ck, "eventType.%s is not a valid %s",
		    f->string,
		    *t == HK_ETYPE_JSON ? "JSON pointer" : "header name");
	return 0;
}

/* eventType: null for the default, else one member naming the kind. */
static int
wh_set_etype(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_webhook *wh = obj;
	const cJSON *f = cJSON_IsObject(v) ? v->child : NULL;
	enum hk_etype t = HK_ETYPE_DEFAULT;
	char *dup = NULL;

	if (!cJSON_IsNull(v)) {
		if (f == NULL || f->next != NULL || !cJSON_IsString(f) ||
		    *f->valuestring == '\0' ||
		    strlen(f->valuestring) > HOOKD_TYPE_MAX)
			return -1;
		if (wh_etype_kind(f, &t, ck) != 0)
			return -1;
		if ((dup = strdup(f->valuestring)) == NULL)
			return hk_check_fail(ck, "out of memory");
	}
	free(wh->wh_etype_value);
	wh->wh_etype_value = dup;
	wh->wh_etype = t;
	return 0;
}

/* A prefix goes into a header-like type: visible ASCII (not a record). */
static int
wh_prefix_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)obj;
	if (!cJSON_IsString(v) || *v->valuestring == '\0' ||
	    (ck->ck_flags & WH_J_RECORD))
		return 0;
	return hk_hdr_visible(v->valuestring, strlen(v->valuestring)) ? 0 : -1;
}

#define WH_AT(m) HK_CHECK_AT(struct hk_webhook, m)

static const struct hk_check_row wh_sig_rows[] = {
    {.ck_name = "scheme",
        .ck_type = HK_CHECK_STR,
        .ck_set = wh_set_scheme,
        .ck_msg = "signature.scheme must be hex, github, standard, stripe, "
                  "slack, gitlab, shopify, zoom, meta, dropbox or x"},
    {.ck_name = "secret",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_WIPE,
        WH_AT(wh_secret),
        .ck_min = 1,
        .ck_max = 200,
        .ck_msg = "signature.secret must be a string of 1-200 characters"},
    {.ck_name = "toleranceSeconds",
        .ck_type = HK_CHECK_INT,
        WH_AT(wh_tolerance),
        .ck_min = 1,
        .ck_max = 86400 * 30,
        .ck_msg =
            "signature.toleranceSeconds must be an integer from 1 to 2592000"},
    {.ck_name = NULL},
};

/* The members of a webhook body, in the order they are judged. */
static const struct hk_check_row wh_rows[] = {
    {.ck_name = "name",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NEED,
        .ck_set = wh_set_name,
        /* Laid out by hand: clang-format splits the message at a macro. */
        /* clang-format off */
        .ck_msg = "name must be a slug of 1-" HK_CHECK_NUM(HOOKD_NAME_MAX)
                  " characters [a-z0-9._-], "
                  "starting with a letter or digit, not with wh_"},
    /* clang-format on */
    {.ck_name = "description",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL,
        WH_AT(wh_description),
        .ck_ok = wh_description_ok,
        .ck_msg = "description must be a string"},
    {.ck_name = "provider",
        .ck_type = HK_CHECK_ANY,
        .ck_set = wh_set_provider,
        .ck_msg = "provider is not known"},
    {.ck_name = "verifyToken",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL,
        WH_AT(wh_verify_token),
        .ck_min = 1,
        .ck_max = 200,
        .ck_msg = "verifyToken must be a string of 1-200 characters, or null"},
    {.ck_name = "acceptForms",
        .ck_type = HK_CHECK_BOOL,
        WH_AT(wh_accept_forms),
        .ck_msg = "acceptForms must be true or false"},
    {.ck_name = "auth",
        .ck_type = HK_CHECK_ENUM,
        WH_AT(wh_auth),
        .ck_names = wh_auths,
        .ck_msg = "auth must be token, signature, token+signature or none"},
    {.ck_name = "signature",
        .ck_type = HK_CHECK_OBJ,
        .ck_sub = wh_sig_rows,
        .ck_msg = "signature must be an object"},
    {.ck_name = "eventType",
        .ck_type = HK_CHECK_ANY,
        .ck_set = wh_set_etype,
        .ck_msg =
            "eventType must be {\"header\":…}, {\"json\":…} or {\"fixed\":…} "
            "with a non-empty string"},
    {.ck_name = "eventPrefix",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL | HK_CHECK_EMPTY,
        WH_AT(wh_prefix),
        .ck_max = 64,
        .ck_ok = wh_prefix_ok,
        .ck_msg = "eventPrefix must be a string "
                  "of at most 64 visible ASCII characters (0x21-0x7E)"},
    {.ck_name = "rateLimit",
        .ck_type = HK_CHECK_RATE,
        .ck_flags = HK_CHECK_NULL,
        WH_AT(wh_rate),
        .ck_min = HOOKD_RATE_MIN,
        .ck_max = WH_RATE_MAX,
        .ck_null = -1,
        /* Laid out by hand: clang-format splits the message at a macro. */
        /* clang-format off */
        .ck_msg = "rateLimit must be 0 (unlimited), "
                  "a number of events per second from "
                  HK_CHECK_NUM(HOOKD_RATE_MIN) " to " HK_CHECK_NUM(WH_RATE_MAX)
                  ", or null for the default"},
    /* clang-format on */
    {.ck_name = "maxBody",
        .ck_type = HK_CHECK_INT,
        .ck_flags = HK_CHECK_NULL,
        WH_AT(wh_max_body),
        .ck_min = 1,
        .ck_max = 1073741824.0,
        .ck_null = 0,
        .ck_msg = "maxBody must be a number of bytes from 1 to 1073741824, "
                  "or null for the default"},
    {.ck_name = "enabled",
        .ck_type = HK_CHECK_BOOL,
        WH_AT(wh_enabled),
        .ck_msg = "enabled must be true or false"},
    {.ck_name = NULL},
};

/* Only the standard scheme decodes a whsec_ secret. */
static int
wh_key_ok(const struct hk_webhook *wh, char *err, size_t errlen)
{
	unsigned char key[HK_SIG_KEYMAX];
	int klen;

	if (wh->wh_scheme != HK_SCHEME_STANDARD || wh->wh_secret == NULL)
		return 0;
	klen = hk_sig_standard_key(wh->wh_secret, key);
	sodium_memzero(key, sizeof(key));
	if (klen >= 0)
		return 0;
	snprintf(err, errlen,
	    "under the standard scheme "
	    "a whsec_ secret must be valid base64 after the prefix");
	return -1;
}

/*
 * Applies the members of J to WH (a create, a PATCH or a record) by
 * wh_rows, then the rules joining members. FLAGS: WH_J_*. On failure
 * fills ERR with the message and returns -1.
 */
static int
wh_apply_json(
    struct hk_webhook *wh, const cJSON *j, int flags, char *err, size_t errlen)
{
	struct hk_check ck = {flags, err, errlen};

	if (hk_check_apply(wh_rows, wh, j, &ck) != 0 ||
	    wh_key_ok(wh, err, errlen) != 0)
		return -1;
	return hk_provider_check(wh, err, errlen);
}
/* Rebuilds WH from a stored record; opens its secret. */
static struct hk_webhook *
wh_from_record(const char *data, size_t len, char **cause)
{
	struct hk_webhook *wh;
	const cJSON *v;
	cJSON *j, *sig;
	char err[256];
	int rc;

	if ((j = cJSON_ParseWithLength(data, len)) == NULL) {
		*cause = strdup("unparsable webhook record");
		return NULL;
	}
	if ((wh = calloc(1, sizeof(*wh))) == NULL) {
		cJSON_Delete(j);
		return NULL;
	}
	wh->wh_rate = -1;
	wh->wh_tolerance = HK_SIG_TOLERANCE;
	v = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (!cJSON_IsString(v) || !hk_id_valid("wh_", v->valuestring))
		goto bad;
	snprintf(wh->wh_id, sizeof(wh->wh_id), "%s", v->valuestring);
	sig = cJSON_GetObjectItemCaseSensitive(j, "signature");
	v = cJSON_GetObjectItemCaseSensitive(sig, "sealed");
	if (!cJSON_IsString(v))
		goto bad;
	if ((wh->wh_secret_sealed = strdup(v->valuestring)) == NULL)
		goto bad;
	wh->wh_secret = hk_unseal(hd->hd_mkey, v->valuestring, &rc);
	if (wh->wh_secret == NULL) {
		if (asprintf(cause,
		        "webhook %s: secret does not open with this master key",
		        wh->wh_id) == -1)
			*cause = NULL;
		cJSON_Delete(j);
		wh_free(wh);
		return NULL;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(sig, "sealed");
	if (wh_apply_json(wh, j, WH_J_CREATE | WH_J_RECORD, err, sizeof(err)) !=
	    0)
		goto bad;
	v = cJSON_GetObjectItemCaseSensitive(j, "tokenHash");
	if (!cJSON_IsString(v) || strlen(v->valuestring) != 64)
		goto bad;
	memcpy(wh->wh_token_hash, v->valuestring, 65);
	v = cJSON_GetObjectItemCaseSensitive(j, "createdAt");
	wh->wh_created = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "updatedAt");
	wh->wh_updated = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
	cJSON_Delete(j);
	return wh;
bad:
	if (asprintf(cause, "webhook %s: malformed record", wh->wh_id) == -1)
		*cause = NULL;
	cJSON_Delete(j);
	wh_free(wh);
	return NULL;
}

int
hk_webhook_load(char **cause)
{
	struct hk_webhook *wh;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*cause = NULL;
	if (hk_store_rbegin(hd->hd_store, &txn) != 0 ||
	    mdb_cursor_open(
	        txn, hk_store_dbi(hd->hd_store, HK_DB_WEBHOOKS), &cur) != 0) {
		hk_store_rend(hd->hd_store);
		*cause = strdup("cannot read the webhooks");
		return HK_EIO;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((wh = wh_from_record(v.mv_data, v.mv_size, cause)) ==
		        NULL ||
		    wh_replace(NULL, wh) != 0) {
			mdb_cursor_close(cur);
			hk_store_rend(hd->hd_store);
			return HK_EINVAL;
		}
		wh_bucket_reset(wh, 0);
		if (wh->wh_auth == HK_AUTH_NONE && wh->wh_enabled)
			log_warn("webhook_unauthenticated",
			    "webhook=%s name=%s msg=%s", wh->wh_id, wh->wh_name,
			    hk_logq("accepts events from anyone (auth: none)"));
	}
	mdb_cursor_close(cur);
	hk_store_rend(hd->hd_store);
	return 0;
}

void
hk_webhook_free_all(void)
{
	struct hk_webhook *wh;

	while ((wh = TAILQ_FIRST(&wh_list)) != NULL) {
		TAILQ_REMOVE(&wh_list, wh, wh_entry);
		wh_free(wh);
	}
	hk_map_free(&wh_by_id);
	hk_map_free(&wh_by_name);
	hk_map_free(&wh_by_token);
}

/*
 * One committed change of a webhook. The writer puts the record and the
 * name; the loop swaps the cache and answers. Every change but a create
 * is a read-modify-write of the stored record inside the writer's
 * transaction (wh_op_modify): the op carries the change (a PATCH body, a
 * new token and secret), never a copy of the cache, so two changes at
 * once each keep the other's fields.
 */
enum wh_kind { WH_CREATE, WH_UPDATE, WH_REGENERATE, WH_DELETE };

struct wh_op {
	struct hk_store_op op;
	enum wh_kind kind;
	struct evhttp_request *req;
	struct hk_webhook *new; /* create: the loop's; else the writer's */
	char id[HK_ID_MAX];
	char old_name[HOOKD_NAME_MAX + 1]; /* as stored */
	char *record;
	char token[HK_TOKEN_LEN]; /* create, regenerate: shown once */
	char secret[HK_SECRET_LEN]; /* regenerate */
	cJSON *patch; /* update: the checked body */
	int64_t ms; /* when the change was asked for: its updatedAt */
	char err[256]; /* a change the stored record refuses: the 400 */
};

/* Seals WH's secret and serialises its record into O (either thread). */
static int
wh_op_print(struct wh_op *o, struct hk_webhook *wh, int reseal)
{
	cJSON *rec;

	if (reseal || wh->wh_secret_sealed == NULL) {
		free(wh->wh_secret_sealed);
		if ((wh->wh_secret_sealed =
		            hk_seal(hd->hd_mkey, wh->wh_secret)) == NULL)
			return HK_ENOMEM;
	}
	free(o->record);
	rec = wh_record(wh);
	o->record = rec != NULL ? cJSON_PrintUnformatted(rec) : NULL;
	cJSON_Delete(rec);
	return o->record != NULL ? 0 : HK_ENOMEM;
}

/*
 * O's change applied to WH, the stored webhook (writer thread). A new
 * secret drops the sealed one, to be sealed with the record.
 */
static int
wh_op_change(struct wh_op *o, struct hk_webhook *wh)
{
	const cJSON *sig;
	char *n;

	if (o->kind == WH_UPDATE) {
		if (wh_apply_json(wh, o->patch, 0, o->err, sizeof(o->err)) != 0)
			return HK_EINVAL;
		sig = cJSON_GetObjectItemCaseSensitive(o->patch, "signature");
		if (cJSON_GetObjectItemCaseSensitive(sig, "secret") == NULL)
			return 0;
	} else {
		if ((n = strdup(o->secret)) == NULL)
			return HK_ENOMEM;
		sodium_memzero(wh->wh_secret, strlen(wh->wh_secret));
		free(wh->wh_secret);
		wh->wh_secret = n;
		hk_token_hash(o->token, strlen(o->token), wh->wh_token_hash);
	}
	free(wh->wh_secret_sealed);
	wh->wh_secret_sealed = NULL;
	return 0;
}

/*
 * The read-modify-write of one change (writer thread): rebuilds the
 * stored record V, notes its name, applies O's change and leaves the
 * result in o->new and its text in o->record. Applying it again (the
 * store retries a failed batch one operation at a time) starts afresh.
 */
static int
wh_op_modify(struct wh_op *o, const MDB_val *v)
{
	struct hk_webhook *wh;
	char *cause = NULL;
	int rc;

	wh_free(o->new);
	o->new = NULL;
	if ((wh = wh_from_record(v->mv_data, v->mv_size, &cause)) == NULL) {
		free(cause);
		return HK_ENOMEM;
	}
	snprintf(o->old_name, sizeof(o->old_name), "%s", wh->wh_name);
	if (o->kind == WH_DELETE) {
		wh_free(wh);
		return 0;
	}
	if ((rc = wh_op_change(o, wh)) != 0) {
		wh_free(wh);
		return rc;
	}
	wh->wh_updated = o->ms;
	if ((rc = wh_op_print(o, wh, 0)) != 0) {
		wh_free(wh);
		return rc;
	}
	o->new = wh;
	return 0;
}

static int
wh_op_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct wh_op *o = (struct wh_op *)sop;
	MDB_dbi names = hk_store_dbi(st, HK_DB_NAMES);
	MDB_dbi hooks = hk_store_dbi(st, HK_DB_WEBHOOKS);
	MDB_dbi logs = hk_store_dbi(st, HK_DB_REQLOG);
	MDB_val k, v;
	MDB_cursor *cur;
	size_t idlen = strlen(o->id);
	int rc;

	k.mv_data = o->id;
	k.mv_size = idlen;
	if (o->kind != WH_CREATE) {
		rc = mdb_get(txn, hooks, &k, &v);
		if (rc == MDB_NOTFOUND)
			return HK_ENOTFOUND;
		if (rc != 0)
			return hk_store_err(rc);
		if ((rc = wh_op_modify(o, &v)) != 0)
			return rc;
	}
	if (o->new != NULL && strcmp(o->new->wh_name, o->old_name) != 0) {
		k.mv_data = o->new->wh_name;
		k.mv_size = strlen(o->new->wh_name);
		if (mdb_get(txn, names, &k, &v) == 0)
			return HK_EEXIST;
	}
	/* Nothing refused from here: only store failures remain. */
	if (o->old_name[0] != '\0' &&
	    (o->new == NULL || strcmp(o->new->wh_name, o->old_name) != 0)) {
		k.mv_data = o->old_name;
		k.mv_size = strlen(o->old_name);
		if ((rc = mdb_del(txn, names, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return hk_store_err(rc);
	}
	if (o->kind == WH_DELETE) {
		k.mv_data = o->id;
		k.mv_size = idlen;
		if ((rc = mdb_del(txn, hooks, &k, NULL)) != 0)
			return hk_store_err(rc);
		/* Its request log goes with it. */
		if ((rc = mdb_cursor_open(txn, logs, &cur)) != 0)
			return hk_store_err(rc);
		k.mv_data = o->id;
		k.mv_size = idlen;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 &&
		     k.mv_size > idlen && memcmp(k.mv_data, o->id, idlen) == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
		mdb_cursor_close(cur);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return hk_store_err(rc);
		return 0;
	}
	if (strcmp(o->new->wh_name, o->old_name) != 0) {
		k.mv_data = o->new->wh_name;
		k.mv_size = strlen(o->new->wh_name);
		v.mv_data = o->id;
		v.mv_size = idlen;
		if ((rc = mdb_put(txn, names, &k, &v, 0)) != 0)
			return hk_store_err(rc);
	}
	return hk_store_put(
	    txn, hooks, o->id, idlen, o->record, strlen(o->record), 0);
}

static void
wh_op_free(struct wh_op *o)
{
	wh_free(o->new);
	free(o->record);
	cJSON_Delete(o->patch);
	sodium_memzero(o->token, sizeof(o->token));
	sodium_memzero(o->secret, sizeof(o->secret));
	free(o);
}

static void
wh_op_done(struct hk_store_op *sop, int rc)
{
	struct wh_op *o = (struct wh_op *)sop;
	struct hk_webhook *old = hk_map_get(&wh_by_id, o->id, strlen(o->id));
	struct hk_buf b = HK_BUF_INIT;
	cJSON *j;

	switch (rc) {
	case 0:
		break;
	case HK_EEXIST:
		hk_http_error(o->req, 409, "conflict",
		    "a webhook named %s exists", o->new->wh_name);
		goto out;
	case HK_ENOTFOUND:
		hk_http_error(o->req, 404, "not_found", "no webhook %s", o->id);
		goto out;
	case HK_EINVAL:
		hk_http_error(o->req, 400, "bad_request", "%s", o->err);
		goto out;
	case HK_EFULL:
		evhttp_add_header(evhttp_request_get_output_headers(o->req),
		    "Retry-After", "5");
		hk_http_error(o->req, 503, "unavailable", "the store is full");
		goto out;
	default:
		log_error("webhook_commit", "webhook=%s error=%s", o->id,
		    hk_logq(hk_strerror(rc)));
		hk_http_error(o->req, 503, "unavailable",
		    "the store refused the change: %s", hk_strerror(rc));
		goto out;
	}
	if (o->new != NULL && old != NULL)
		o->new->wh_bucket = old->wh_bucket;
	if (wh_replace(old, o->new) != 0) {
		/* The change is durable; the cache catches up on restart. */
		log_error("webhook_cache", "webhook=%s error=%s", o->id,
		    hk_logq("out of memory"));
	}
	if (o->new != NULL)
		wh_bucket_reset(o->new, o->kind != WH_CREATE);
	wh_ceiling_update();
	log_info(o->kind == WH_CREATE      ? "webhook_created"
	        : o->kind == WH_DELETE     ? "webhook_deleted"
	        : o->kind == WH_REGENERATE ? "webhook_regenerated"
	                                   : "webhook_updated",
	    "webhook=%s", o->id);
	if (o->kind == WH_DELETE) {
		hk_stats_forget(o->id);
		hk_http_reply(o->req, 204, NULL);
		o->new = NULL;
		goto out;
	}
	j = wh_public(o->new);
	if (j != NULL && (o->kind == WH_CREATE || o->kind == WH_REGENERATE)) {
		hk_buf_printf(&b, "%s/hooks/%s", hd->hd_public_url, o->token);
		cJSON_AddStringToObject(j, "token", o->token);
		cJSON_AddStringToObject(j, "hookUrl", b.b != NULL ? b.b : "");
		cJSON_AddStringToObject(j, "secret", o->new->wh_secret);
		hk_buf_free(&b);
	}
	o->new = NULL; /* the cache owns it now */
	if (j == NULL)
		hk_http_error(o->req, 500, "internal", "out of memory");
	else
		hk_http_json(o->req, o->kind == WH_CREATE ? 201 : 200, j);
out:
	wh_op_free(o);
}

/*
 * Submits the change; a create is sealed and serialised here, every
 * other change by the writer, from the stored record.
 */
static void
wh_submit(struct evhttp_request *req, struct wh_op *o)
{
	int rc;

	o->op.so_apply = wh_op_apply;
	o->op.so_done = wh_op_done;
	o->req = req;
	if (o->kind == WH_CREATE && wh_op_print(o, o->new, 1) != 0) {
		hk_http_error(req, 500, "internal", "out of memory");
		wh_op_free(o);
		return;
	}
	if (o->kind != WH_CREATE) {
		/* The loop's copy served the checks; the writer builds anew. */
		wh_free(o->new);
		o->new = NULL;
	}
	if ((rc = hk_store_submit(hd->hd_store, &o->op)) != 0) {
		hk_http_error(req, 503, "unavailable", "%s", hk_strerror(rc));
		wh_op_free(o);
	}
}

static void
wh_create(struct evhttp_request *req)
{
	struct wh_op *o;
	struct hk_webhook *wh;
	cJSON *j;
	char err[256];

	if (hk_admin_body(req, &j) != 0)
		return;
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->new = wh = calloc(1, sizeof(*wh))) == NULL) {
		free(o);
		cJSON_Delete(j);
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	o->kind = WH_CREATE;
	o->ms = hk_now_ms();
	wh->wh_rate = -1;
	wh->wh_tolerance = HK_SIG_TOLERANCE;
	wh->wh_enabled = 1;
	if (wh_apply_json(wh, j, WH_J_CREATE, err, sizeof(err)) != 0) {
		cJSON_Delete(j);
		hk_http_error(req, 400, "bad_request", "%s", err);
		wh_op_free(o);
		return;
	}
	cJSON_Delete(j);
	if (hk_webhook_find(wh->wh_name) != NULL) {
		hk_http_error(req, 409, "conflict", "a webhook named %s exists",
		    wh->wh_name);
		wh_op_free(o);
		return;
	}
	if (wh->wh_secret == NULL) {
		if ((wh->wh_secret = malloc(HK_SECRET_LEN)) == NULL) {
			hk_http_error(req, 500, "internal", "out of memory");
			wh_op_free(o);
			return;
		}
		hk_secret_new(wh->wh_secret);
	}
	hk_id_new("wh_", wh->wh_id);
	snprintf(o->id, sizeof(o->id), "%s", wh->wh_id);
	hk_token_new("whtok_", o->token);
	hk_token_hash(o->token, strlen(o->token), wh->wh_token_hash);
	wh->wh_created = wh->wh_updated = o->ms;
	wh_submit(req, o);
}

/* A copy of WH for a change, in a new op of KIND. */
static struct wh_op *
wh_op_for(struct evhttp_request *req, struct hk_webhook *wh, enum wh_kind k)
{
	struct wh_op *o;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (k == WH_UPDATE && (o->new = wh_dup(wh)) == NULL)) {
		free(o);
		hk_http_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	o->kind = k;
	o->ms = hk_now_ms();
	snprintf(o->id, sizeof(o->id), "%s", wh->wh_id);
	snprintf(o->old_name, sizeof(o->old_name), "%s", wh->wh_name);
	return o;
}

static void
wh_patch(struct evhttp_request *req, struct hk_webhook *wh)
{
	struct wh_op *o;
	struct hk_webhook *other;
	cJSON *j;
	char err[256];

	if (hk_admin_body(req, &j) != 0)
		return;
	if ((o = wh_op_for(req, wh, WH_UPDATE)) == NULL) {
		cJSON_Delete(j);
		return;
	}
	/* Judged here for a prompt answer; the writer applies it again. */
	o->patch = j;
	if (wh_apply_json(o->new, j, 0, err, sizeof(err)) != 0) {
		hk_http_error(req, 400, "bad_request", "%s", err);
		wh_op_free(o);
		return;
	}
	other = hk_webhook_find(o->new->wh_name);
	if (other != NULL && other != wh) {
		hk_http_error(req, 409, "conflict", "a webhook named %s exists",
		    o->new->wh_name);
		wh_op_free(o);
		return;
	}
	wh_submit(req, o);
}

static void
wh_regenerate(struct evhttp_request *req, struct hk_webhook *wh)
{
	struct wh_op *o;

	if ((o = wh_op_for(req, wh, WH_REGENERATE)) == NULL)
		return;
	hk_token_new("whtok_", o->token);
	hk_secret_new(o->secret);
	wh_submit(req, o);
}

static void *
wh_older(void *p)
{
	return p != NULL
	    ? TAILQ_PREV((struct hk_webhook *)p, hk_webhook_list, wh_entry)
	    : TAILQ_LAST(&wh_list, hk_webhook_list);
}

static const char *
wh_id_of(const void *p)
{
	return ((const struct hk_webhook *)p)->wh_id;
}

static cJSON *
wh_pub(const void *p)
{
	return wh_public(p);
}

void
hk_webhook_route(struct evhttp_request *req, char **seg, int nseg)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct hk_webhook *wh;
	struct wh_op *o;

	if (nseg == 2) {
		if (m == EVHTTP_REQ_GET)
			hk_admin_list(req, wh_older, wh_id_of, wh_pub);
		else if (m == EVHTTP_REQ_POST)
			wh_create(req);
		else
			hk_admin_405(req, "GET, POST");
		return;
	}
	if ((wh = hk_webhook_find(seg[2])) == NULL) {
		hk_http_error(
		    req, 404, "not_found", "no webhook %.80s", seg[2]);
		return;
	}
	if (nseg == 3) {
		if (m == EVHTTP_REQ_GET)
			hk_http_json(req, 200, wh_public(wh));
		else if (m == EVHTTP_REQ_PATCH)
			wh_patch(req, wh);
		else if (m == EVHTTP_REQ_DELETE) {
			if ((o = wh_op_for(req, wh, WH_DELETE)) != NULL)
				wh_submit(req, o);
		} else
			hk_admin_405(req, "GET, PATCH, DELETE");
		return;
	}
	if (nseg == 4 && strcmp(seg[3], "regenerate") == 0) {
		if (m == EVHTTP_REQ_POST)
			wh_regenerate(req, wh);
		else
			hk_admin_405(req, "POST");
	} else if (nseg == 4 && strcmp(seg[3], "logs") == 0) {
		if (m == EVHTTP_REQ_GET)
			hk_reqlog_list(req, wh);
		else
			hk_admin_405(req, "GET");
	} else if (nseg == 4 && strcmp(seg[3], "test") == 0) {
		if (m == EVHTTP_REQ_POST)
			hk_event_test(req, wh);
		else
			hk_admin_405(req, "POST");
	} else if (nseg == 4 && strcmp(seg[3], "stats") == 0) {
		if (m == EVHTTP_REQ_GET)
			hk_stats_entity(req, wh->wh_id);
		else
			hk_admin_405(req, "GET");
	} else
		hk_http_error(req, 404, "not_found", "no such endpoint");
}

int
hk_webhook_check_json(const cJSON *j, int create, char *err, size_t errlen)
{
	struct hk_webhook *wh;
	int rc;

	if ((wh = calloc(1, sizeof(*wh))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	wh->wh_rate = -1;
	rc = wh_apply_json(wh, j, create ? WH_J_CREATE : 0, err, errlen);
	wh_free(wh);
	return rc;
}
