/*
 * webhook.c: incoming webhooks: the registry and its cache, the record
 * codec, the rules a webhook's fields obey, and its changes.
 *
 * Every webhook is loaded at start into a list sorted by id and three
 * maps (id, name, token hash), with its secret opened in memory, so
 * ingest never reads the store. A change is one store operation
 * (struct hk_st_record, HK_ST_WEBHOOK); the cache changes on the loop
 * once the store says it is durable, and only then is the caller told
 * (hk_webhook_done_fn), so an answer never shows what a crash could
 * lose. A change replaces the cached struct by a new one (nothing holds
 * a webhook across a commit), keeping its bucket.
 *
 * At rest a webhook is a JSON record holding the token's hash and the
 * secret sealed under the master key; the store keeps names unique
 * (HK_EEXIST) even between two commits. Nothing here answers HTTP: the
 * admin API (api/webhooks.c) maps each result to its answer.
 *
 * Threads: all on the loop but rc_modify (wh_modify), which runs on the
 * store's writer thread and touches only its operation (and reads the
 * master key, fixed before the loop starts).
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

cJSON *
hk_webhook_public(const struct hk_webhook *wh)
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
	if (wh->wh_managed)
		cJSON_AddStringToObject(j, "managedBy", "config");
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
	cJSON *j = hk_webhook_public(wh), *sig;

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

int
hk_managed_set(int *managed, const cJSON *v)
{
	if (cJSON_IsNull(v))
		*managed = 0;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "config") == 0)
		*managed = 1;
	else
		return -1;
	return 0;
}

static int
wh_set_managed(void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)ck;
	return hk_managed_set(&((struct hk_webhook *)obj)->wh_managed, v);
}

static int
wh_name_valid(const char *s)
{
	return hk_check_slug(s, HOOKD_NAME_MAX, "wh_");
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

/*
 * A token given (by the configuration file, from its tokenFile): kept
 * as its hash, like one hookd made.
 */
static int
wh_set_token(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_webhook *wh = obj;
	size_t i, n = strlen(v->valuestring);

	(void)ck;
	if (!cJSON_IsString(v) || n < 16 || n >= HK_TOKEN_LEN)
		return -1;
	for (i = 0; i < n; i++)
		if (v->valuestring[i] <= ' ' || v->valuestring[i] > '~')
			return -1;
	hk_token_hash(v->valuestring, n, wh->wh_token_hash);
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
    {.ck_name = "token",
        .ck_type = HK_CHECK_STR,
        .ck_set = wh_set_token,
        .ck_msg = "token must be 16-49 visible ASCII characters"},
    {.ck_name = "managedBy",
        .ck_type = HK_CHECK_ANY,
        .ck_set = wh_set_managed,
        .ck_msg = "managedBy must be \"config\" or null"},
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

/* hk_webhook_load's scan: what went wrong, for the caller's *cause. */
struct wh_load {
	char **cause;
	int bad; /* a record did not rebuild */
};

static int
wh_load_row(void *arg, const char *id, const char *text, size_t len)
{
	struct wh_load *l = arg;
	struct hk_webhook *wh;

	(void)id;
	if ((wh = wh_from_record(text, len, l->cause)) == NULL ||
	    wh_replace(NULL, wh) != 0) {
		l->bad = 1;
		return HK_EINVAL;
	}
	wh_bucket_reset(wh, 0);
	if (wh->wh_auth == HK_AUTH_NONE && wh->wh_enabled)
		log_warn("webhook_unauthenticated", "webhook=%s name=%s msg=%s",
		    wh->wh_id, wh->wh_name,
		    hk_logq("accepts events from anyone (auth: none)"));
	return 0;
}

int
hk_webhook_load(char **cause)
{
	struct wh_load l = {cause, 0};
	int rc;

	*cause = NULL;
	if ((rc = hk_st_scan(HK_SL_WEBHOOKS, wh_load_row, &l)) == 0)
		return 0;
	if (l.bad)
		return HK_EINVAL;
	*cause = strdup("cannot read the webhooks");
	return HK_EIO;
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
 * One change of a webhook, as a store operation. Every change but a
 * create is a read-modify-write of the stored record inside the writer's
 * transaction (wh_modify): the op carries the change (a PATCH body, a
 * new token and secret), never a copy of the cache, so two changes at
 * once each keep the other's fields.
 */
_Static_assert(HOOKD_NAME_MAX == HK_ST_NAME_MAX,
    "a webhook name fits the store's name index");

struct wh_op {
	struct hk_st_record rec; /* first: the store hands it back */
	enum hk_webhook_verb verb;
	struct hk_webhook *new; /* create: the loop's; else the writer's */
	char *record; /* rec.rc_text */
	char token[HK_TOKEN_LEN]; /* create, regenerate: shown once */
	char secret[HK_SECRET_LEN]; /* regenerate */
	cJSON *patch; /* update: the checked body */
	int64_t ms; /* when the change was asked for: its updatedAt */
	char err[256]; /* a change the stored record refuses: the 400 */
	hk_webhook_done_fn done;
	void *arg;
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
	o->rec.rc_text = o->record;
	o->rec.rc_len = o->record != NULL ? strlen(o->record) : 0;
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

	if (o->verb == HK_WH_UPDATE) {
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
 * rc_modify (writer thread): rebuilds the stored record OLD, notes its
 * name, applies the change and leaves the result in o->new, its text in
 * rc_text and its name in rc_name. Applied again (the store retries a
 * failed batch one operation at a time), it starts afresh.
 */
static int
wh_modify(struct hk_st_record *rec, const char *old, size_t len)
{
	struct wh_op *o = (struct wh_op *)rec;
	struct hk_webhook *wh;
	char *cause = NULL;
	int rc;

	wh_free(o->new);
	o->new = NULL;
	free(o->record);
	o->record = NULL;
	rec->rc_text = NULL;
	rec->rc_len = 0;
	rec->rc_name[0] = '\0';
	if ((wh = wh_from_record(old, len, &cause)) == NULL) {
		free(cause);
		return HK_ENOMEM;
	}
	snprintf(rec->rc_old_name, sizeof(rec->rc_old_name), "%s", wh->wh_name);
	if (o->verb == HK_WH_DELETE) {
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
	snprintf(rec->rc_name, sizeof(rec->rc_name), "%s", wh->wh_name);
	o->new = wh;
	return 0;
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

/* Tells O's caller RC (STORED: the store's answer), then frees O. */
static void
wh_op_finish(struct wh_op *o, int rc, int stored)
{
	struct hk_webhook_change c;

	memset(&c, 0, sizeof(c));
	c.wc_verb = o->verb;
	c.wc_id = o->rec.rc_id;
	c.wc_wh = rc == 0 ? o->new : NULL;
	c.wc_token = o->token;
	c.wc_name = o->rec.rc_name;
	c.wc_err = o->err;
	c.wc_stored = stored;
	c.wc_arg = o->arg;
	o->done(&c, rc);
	if (rc == 0)
		o->new = NULL; /* the cache's */
	wh_op_free(o);
}

/*
 * Another node changed webhook ID (TEXT its record now, NULL when
 * deleted): the cache follows; its rate bucket stays this node's.
 */
void
hk_webhook_external(const char *id, const char *text, size_t len)
{
	struct hk_webhook *old = hk_map_get(&wh_by_id, id, strlen(id));
	struct hk_webhook *wh = NULL;
	char *cause = NULL;

	if (text != NULL && (wh = wh_from_record(text, len, &cause)) == NULL) {
		log_error("webhook_cache", "webhook=%s error=%s", id,
		    hk_logq(cause != NULL ? cause : "malformed record"));
		free(cause);
		return;
	}
	if (wh == NULL && old == NULL)
		return;
	if (wh != NULL && old != NULL)
		wh->wh_bucket = old->wh_bucket;
	if (wh_replace(old, wh) != 0)
		log_error("webhook_cache", "webhook=%s error=%s", id,
		    hk_logq("out of memory"));
	if (wh != NULL)
		wh_bucket_reset(wh, old != NULL);
}

/* so_done: the change is durable (the cache takes it) or refused. */
static void
wh_op_done(struct hk_st_op *op, int rc)
{
	struct wh_op *o = (struct wh_op *)op;
	const char *id = o->rec.rc_id;
	struct hk_webhook *old = hk_map_get(&wh_by_id, id, strlen(id));

	if (rc != 0) {
		if (rc != HK_EEXIST && rc != HK_ENOTFOUND && rc != HK_EINVAL &&
		    rc != HK_EFULL)
			log_error("webhook_commit", "webhook=%s error=%s", id,
			    hk_logq(hk_strerror(rc)));
		wh_op_finish(o, rc, 1);
		return;
	}
	if (o->new != NULL && old != NULL)
		o->new->wh_bucket = old->wh_bucket;
	if (wh_replace(old, o->new) != 0) {
		/* The change is durable; the cache catches up on restart. */
		log_error("webhook_cache", "webhook=%s error=%s", id,
		    hk_logq("out of memory"));
	}
	if (o->new != NULL)
		wh_bucket_reset(o->new, o->verb != HK_WH_CREATE);
	log_info(o->verb == HK_WH_CREATE      ? "webhook_created"
	        : o->verb == HK_WH_DELETE     ? "webhook_deleted"
	        : o->verb == HK_WH_REGENERATE ? "webhook_regenerated"
	                                      : "webhook_updated",
	    "webhook=%s", id);
	wh_op_finish(o, 0, 1);
}

/*
 * Submits the change; a create is sealed and serialised here, every
 * other change by the writer, from the stored record.
 */
static void
wh_submit(struct wh_op *o)
{
	int rc;

	o->rec.rc_op.so_kind = HK_ST_WEBHOOK;
	o->rec.rc_op.so_done = wh_op_done;
	o->rec.rc_modify = wh_modify;
	o->rec.rc_arg = o;
	if (o->verb == HK_WH_CREATE) {
		o->rec.rc_verb = HK_ST_CREATE;
		snprintf(o->rec.rc_name, sizeof(o->rec.rc_name), "%s",
		    o->new->wh_name);
		if (wh_op_print(o, o->new, 1) != 0) {
			wh_op_finish(o, HK_ENOMEM, 0);
			return;
		}
	} else {
		o->rec.rc_verb =
		    o->verb == HK_WH_DELETE ? HK_ST_DELETE : HK_ST_UPDATE;
		/* The loop's copy served the checks; the writer builds anew. */
		wh_free(o->new);
		o->new = NULL;
	}
	if ((rc = hk_st_submit(&o->rec.rc_op)) != 0)
		wh_op_finish(o, rc, 0);
}

/* A new op of VERB for WH (NULL: a create), with a copy for an update. */
static struct wh_op *
wh_op_new(const struct hk_webhook *wh, enum hk_webhook_verb verb,
    hk_webhook_done_fn done, void *arg)
{
	struct wh_op *o;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (verb == HK_WH_UPDATE && (o->new = wh_dup(wh)) == NULL) ||
	    (verb == HK_WH_CREATE &&
	        (o->new = calloc(1, sizeof(*o->new))) == NULL)) {
		free(o);
		return NULL;
	}
	o->verb = verb;
	o->ms = hk_now_ms();
	o->done = done;
	o->arg = arg;
	if (wh != NULL) {
		snprintf(o->rec.rc_id, sizeof(o->rec.rc_id), "%s", wh->wh_id);
		snprintf(o->rec.rc_old_name, sizeof(o->rec.rc_old_name), "%s",
		    wh->wh_name);
	}
	return o;
}

/* Tells DONE that nothing could start: out of memory. */
static void
wh_nomem(enum hk_webhook_verb verb, hk_webhook_done_fn done, void *arg)
{
	struct hk_webhook_change c;

	memset(&c, 0, sizeof(c));
	c.wc_verb = verb;
	c.wc_arg = arg;
	done(&c, HK_ENOMEM);
}

void
hk_webhook_create(cJSON *body, hk_webhook_done_fn done, void *arg)
{
	struct wh_op *o;
	struct hk_webhook *wh;
	int rc;

	if ((o = wh_op_new(NULL, HK_WH_CREATE, done, arg)) == NULL) {
		cJSON_Delete(body);
		wh_nomem(HK_WH_CREATE, done, arg);
		return;
	}
	wh = o->new;
	wh->wh_rate = -1;
	wh->wh_tolerance = HK_SIG_TOLERANCE;
	wh->wh_enabled = 1;
	rc = wh_apply_json(wh, body, WH_J_CREATE, o->err, sizeof(o->err));
	/* A token given is the one the answer shows (once, as ever). */
	if (rc == 0 &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "token")))
		snprintf(o->token, sizeof(o->token), "%s",
		    cJSON_GetObjectItemCaseSensitive(body, "token")
		        ->valuestring);
	cJSON_Delete(body);
	if (rc != 0) {
		wh_op_finish(o, HK_EINVAL, 0);
		return;
	}
	if (hk_webhook_find(wh->wh_name) != NULL) {
		snprintf(
		    o->rec.rc_name, sizeof(o->rec.rc_name), "%s", wh->wh_name);
		wh_op_finish(o, HK_EEXIST, 0);
		return;
	}
	if (wh->wh_secret == NULL) {
		if ((wh->wh_secret = malloc(HK_SECRET_LEN)) == NULL) {
			wh_op_finish(o, HK_ENOMEM, 0);
			return;
		}
		hk_secret_new(wh->wh_secret);
	}
	hk_id_new("wh_", wh->wh_id);
	snprintf(o->rec.rc_id, sizeof(o->rec.rc_id), "%s", wh->wh_id);
	if (o->token[0] == '\0')
		hk_token_new("whtok_", o->token);
	hk_token_hash(o->token, strlen(o->token), wh->wh_token_hash);
	wh->wh_created = wh->wh_updated = o->ms;
	wh_submit(o);
}

void
hk_webhook_update(const struct hk_webhook *wh, cJSON *patch,
    hk_webhook_done_fn done, void *arg)
{
	struct hk_webhook *other;
	struct wh_op *o;

	if ((o = wh_op_new(wh, HK_WH_UPDATE, done, arg)) == NULL) {
		cJSON_Delete(patch);
		wh_nomem(HK_WH_UPDATE, done, arg);
		return;
	}
	/* Judged here for a prompt answer; the writer applies it again. */
	o->patch = patch;
	if (wh_apply_json(o->new, patch, 0, o->err, sizeof(o->err)) != 0) {
		wh_op_finish(o, HK_EINVAL, 0);
		return;
	}
	other = hk_webhook_find(o->new->wh_name);
	if (other != NULL && other != wh) {
		snprintf(o->rec.rc_name, sizeof(o->rec.rc_name), "%s",
		    o->new->wh_name);
		wh_op_finish(o, HK_EEXIST, 0);
		return;
	}
	wh_submit(o);
}

void
hk_webhook_regenerate(
    const struct hk_webhook *wh, hk_webhook_done_fn done, void *arg)
{
	struct wh_op *o;

	if ((o = wh_op_new(wh, HK_WH_REGENERATE, done, arg)) == NULL) {
		wh_nomem(HK_WH_REGENERATE, done, arg);
		return;
	}
	hk_token_new("whtok_", o->token);
	hk_secret_new(o->secret);
	wh_submit(o);
}

void
hk_webhook_delete(
    const struct hk_webhook *wh, hk_webhook_done_fn done, void *arg)
{
	struct wh_op *o;

	if ((o = wh_op_new(wh, HK_WH_DELETE, done, arg)) == NULL) {
		wh_nomem(HK_WH_DELETE, done, arg);
		return;
	}
	wh_submit(o);
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
