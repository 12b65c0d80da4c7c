/*
 * sub.c: subscriptions: the registry and its cache, the record codec,
 * the rules a subscription's fields obey, and its changes.
 *
 * Like webhooks, every subscription is cached on the loop with its
 * secrets opened. A change is one store operation (struct hk_st_record,
 * HK_ST_SUB); the cache changes on the loop once the store says it is
 * durable, and only then is the caller told (hk_sub_done_fn), so an
 * answer never shows what a crash could lose. The cache is what fan-out
 * matches events against, on the loop, before the event's commit is
 * queued: the writer never reads it. Nothing here answers HTTP: the
 * admin API (api/subscriptions.c) maps each result to its answer.
 *
 * A target URL is judged when it is saved: http or https only; an
 * address literal (any spelling resolvers accept) must be allowed (lib/
 * addr.h); a name is resolved without blocking (evdns) and refused if any
 * address it has is refused, accepted if it does not resolve yet. The
 * delivery engine judges the address again at every connect.
 *
 * Threads: all on the loop but rc_modify (sub_modify), which runs on the
 * store's writer thread and touches only its operation (and reads the
 * master key, fixed before the loop starts).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/dns.h>
#include <sodium.h>

#include "addr.h"
#include "check.h"
#include "clock.h"
#include "hdr.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "tmpl.h"

#define SUB_ROTATE_MS (24 * 3600 * 1000LL) /* the old secret still signs */
#define SUB_EVENTS_MAX 100
#define SUB_SOURCES_MAX 100
/* A custom header's value as answers show it; sent back, it keeps it. */
#define SUB_REDACTED "[redacted]"
#define SUB_RATE_MAX 100000

/* How sub_apply_json reads its input. */
#define SUB_J_NEED_URL HK_CHECK_CREATE /* a create or PUT: url, events */
#define SUB_J_RECORD HK_CHECK_RECORD /* stored, or a change checked already */

static struct hk_sub_list sub_list = TAILQ_HEAD_INITIALIZER(sub_list);
static struct hk_map sub_by_id = HK_MAP_INIT;

static int sub_seal(struct hk_sub *, int secret, int headers);
static int sub_has_headers(const struct hk_sub *);
static void sub_reseal(const struct hk_sub *);

/* Headers hookd sets itself; a subscription cannot override them. */
static const char *const sub_reserved[] = {"content-type", "content-length",
    "host", "user-agent", "x-webhook-event", "x-webhook-timestamp",
    "x-webhook-signature", "x-webhook-delivery", "x-webhook-attempt",
    "webhook-id", "webhook-timestamp", "webhook-signature", "transfer-encoding",
    "connection", "expect"};

struct hk_sub_list *
hk_sub_all(void)
{
	return &sub_list;
}

struct hk_sub *
hk_sub_find(const char *id)
{
	return hk_map_get(&sub_by_id, id, strlen(id));
}

struct hk_sub *
hk_sub_find_any(const char *id)
{
	struct hk_sub *s;

	if ((s = hk_sub_find(id)) != NULL)
		return s;
	TAILQ_FOREACH(s, &sub_list, sb_entry)
		if (s->sb_name != NULL && strcmp(s->sb_name, id) == 0)
			return s;
	return NULL;
}

static void
sub_wipe(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/* Drops S's command target, if it has one. */
static void
sub_cmd_clear(struct hk_sub *s)
{
	size_t i;

	for (i = 0; i < s->sb_cmd_argc; i++)
		free(s->sb_cmd_argv[i]);
	free(s->sb_cmd_argv);
	s->sb_cmd_argv = NULL;
	s->sb_cmd_argc = 0;
	free(s->sb_cmd_cwd);
	s->sb_cmd_cwd = NULL;
	cJSON_Delete(s->sb_cmd_env);
	s->sb_cmd_env = NULL;
	s->sb_command = 0;
	s->sb_cmd_stdin = HK_CMD_STDIN_NONE;
	s->sb_cmd_timeout_ms = HK_CMD_TIMEOUT_MS;
}

/* S's command as the API and the configuration file write it. */
static void
sub_cmd_public(cJSON *j, const struct hk_sub *s)
{
	cJSON *c, *a;
	size_t i;

	if (!s->sb_command ||
	    (c = cJSON_AddObjectToObject(j, "command")) == NULL)
		return;
	if ((a = cJSON_AddArrayToObject(c, "argv")) != NULL)
		for (i = 0; i < s->sb_cmd_argc; i++)
			cJSON_AddItemToArray(
			    a, cJSON_CreateString(s->sb_cmd_argv[i]));
	if (s->sb_cmd_cwd != NULL)
		cJSON_AddStringToObject(c, "cwd", s->sb_cmd_cwd);
	if (s->sb_cmd_env != NULL)
		cJSON_AddItemToObject(
		    c, "env", cJSON_Duplicate(s->sb_cmd_env, 1));
	cJSON_AddStringToObject(
	    c, "stdin", s->sb_cmd_stdin == HK_CMD_STDIN_BODY ? "body" : "none");
	cJSON_AddNumberToObject(c, "timeoutMs", (double)s->sb_cmd_timeout_ms);
}

static void
sub_free(struct hk_sub *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->sb_name);
	free(s->sb_url);
	for (i = 0; i < s->sb_nevents; i++)
		free(s->sb_events[i]);
	free(s->sb_events);
	free(s->sb_sources);
	cJSON_Delete(s->sb_headers);
	free(s->sb_headers_sealed);
	free(s->sb_template);
	free(s->sb_description);
	free(s->sb_disabled_reason);
	sub_wipe(s->sb_secret);
	free(s->sb_sealed);
	sub_wipe(s->sb_prev_secret);
	free(s->sb_prev_sealed);
	sub_cmd_clear(s);
	free(s);
}

/* A deep copy of the configuration (the runtime state stays behind). */
static struct hk_sub *
sub_dup(const struct hk_sub *s)
{
	struct hk_sub *n;
	cJSON *j;
	char *cause = NULL;

	/* The record is the one serialisation; a copy goes through it. */
	if ((j = hk_sub_record(s)) == NULL)
		return NULL;
	n = hk_sub_from_json(j, &cause);
	cJSON_Delete(j);
	free(cause);
	return n;
}

/*
 * The record kept in the store: the public fields plus sealed secrets;
 * the header values are sealed with them (the public form names them).
 */
cJSON *
hk_sub_record(const struct hk_sub *s)
{
	cJSON *j = hk_sub_public(s);

	if (j == NULL)
		return NULL;
	if (s->sb_headers_sealed != NULL)
		cJSON_AddStringToObject(
		    j, "sealedHeaders", s->sb_headers_sealed);
	cJSON_DeleteItemFromObjectCaseSensitive(j, "createdAt");
	cJSON_DeleteItemFromObjectCaseSensitive(j, "updatedAt");
	cJSON_AddNumberToObject(j, "createdAt", (double)s->sb_created);
	cJSON_AddNumberToObject(j, "updatedAt", (double)s->sb_updated);
	cJSON_AddStringToObject(
	    j, "sealed", s->sb_sealed != NULL ? s->sb_sealed : "");
	if (s->sb_prev_sealed != NULL && s->sb_prev_until > 0) {
		cJSON_AddStringToObject(j, "prevSealed", s->sb_prev_sealed);
		cJSON_AddNumberToObject(
		    j, "prevUntil", (double)s->sb_prev_until);
	}
	if (s->sb_failing_since > 0)
		cJSON_AddNumberToObject(
		    j, "failingSince", (double)s->sb_failing_since);
	if (s->sb_ordered_head[0] != '\0')
		cJSON_AddStringToObject(j, "orderedHead", s->sb_ordered_head);
	return j;
}

cJSON *
hk_sub_public(const struct hk_sub *s)
{
	char iso[HK_ISO_LEN];
	cJSON *j, *a, *r;
	size_t i;

	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "id", s->sb_id);
	if (s->sb_name != NULL)
		cJSON_AddStringToObject(j, "name", s->sb_name);
	else
		cJSON_AddNullToObject(j, "name");
	if (s->sb_managed)
		cJSON_AddStringToObject(j, "managedBy", "config");
	/* A command subscription has no url member (a file can say it back). */
	if (s->sb_url != NULL)
		cJSON_AddStringToObject(j, "url", s->sb_url);
	sub_cmd_public(j, s);
	if (s->sb_command || s->sb_expose)
		cJSON_AddBoolToObject(j, "exposeResult", s->sb_expose);
	if ((a = cJSON_AddArrayToObject(j, "events")) != NULL)
		for (i = 0; i < s->sb_nevents; i++)
			cJSON_AddItemToArray(
			    a, cJSON_CreateString(s->sb_events[i]));
	if ((a = cJSON_AddArrayToObject(j, "sources")) != NULL)
		for (i = 0; i < s->sb_nsources; i++)
			cJSON_AddItemToArray(
			    a, cJSON_CreateString(s->sb_sources[i]));
	if ((a = cJSON_AddObjectToObject(j, "headers")) != NULL &&
	    s->sb_headers != NULL)
		cJSON_ArrayForEach(r, s->sb_headers)
			cJSON_AddStringToObject(a, r->string, SUB_REDACTED);
	if (s->sb_template != NULL)
		cJSON_AddStringToObject(j, "template", s->sb_template);
	else
		cJSON_AddNullToObject(j, "template");
	if (s->sb_description != NULL)
		cJSON_AddStringToObject(j, "description", s->sb_description);
	else
		cJSON_AddNullToObject(j, "description");
	cJSON_AddBoolToObject(j, "active", s->sb_active);
	if (s->sb_disabled_reason != NULL)
		cJSON_AddStringToObject(
		    j, "disabledReason", s->sb_disabled_reason);
	cJSON_AddNumberToObject(j, "timeoutMs", (double)s->sb_timeout_ms);
	cJSON_AddNumberToObject(j, "maxInFlight", s->sb_max_in_flight);
	cJSON_AddNumberToObject(j, "rateLimit", s->sb_rate);
	if ((r = cJSON_AddObjectToObject(j, "retry")) != NULL) {
		cJSON_AddNumberToObject(r, "maxAttempts", s->sb_max_attempts);
		cJSON_AddNumberToObject(
		    r, "initialMs", (double)s->sb_initial_ms);
		cJSON_AddNumberToObject(r, "maxMs", (double)s->sb_max_ms);
	}
	cJSON_AddBoolToObject(j, "ordered", s->sb_ordered);
	cJSON_AddStringToObject(
	    j, "createdAt", hk_time_iso(s->sb_created, iso));
	cJSON_AddStringToObject(
	    j, "updatedAt", hk_time_iso(s->sb_updated, iso));
	return j;
}

static void
sub_defaults(struct hk_sub *s)
{
	s->sb_active = 1;
	s->sb_timeout_ms = 10000;
	s->sb_max_in_flight = 8;
	s->sb_rate = 0;
	s->sb_max_attempts = 15;
	s->sb_initial_ms = 5000;
	s->sb_max_ms = 21600000;
	s->sb_cmd_timeout_ms = HK_CMD_TIMEOUT_MS;
}

/*
 * Set while stored records are read: a value saved before the rule
 * below (DEL, non-ASCII) must not keep hookd from starting; the line
 * builder (lib/hdr.c) refuses it at delivery, as a failed attempt.
 */
static _Thread_local int sub_loading;

/*
 * A custom header goes out as a line of its own: the same rule as where
 * lines are made (lib/hdr.c): a token name, a value of visible ASCII,
 * space and tab only (no CR, LF, DEL, other control or non-ASCII byte:
 * no request splitting), and none of hookd's own names.
 */
static int
sub_header_ok(const cJSON *h)
{
	size_t i;

	if (!cJSON_IsString(h) ||
	    !hk_hdr_name_ok(h->string, strlen(h->string)) ||
	    strlen(h->valuestring) > 4096 ||
	    (!sub_loading &&
	        !hk_hdr_value_ok(h->valuestring, strlen(h->valuestring))))
		return 0;
	for (i = 0; i < HK_NELEM(sub_reserved); i++)
		if (strcasecmp(h->string, sub_reserved[i]) == 0)
			return 0;
	return 1;
}

/*
 * Judges URL: http or https, and an address literal host must be allowed.
 * A host that is a name is copied to NAME (for the DNS check), else NAME
 * is "". Returns 0, or -1 with ERR and *CODE set.
 */
int
hk_sub_check_url(const char *url, char *name, size_t namelen, const char **code,
    char *err, size_t errlen)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	struct hk_addr a;
	int rc = -1;

	*code = "bad_request";
	name[0] = '\0';
	if (strlen(url) > 2048 || (u = curl_url()) == NULL) {
		snprintf(err, errlen, "url is too long");
		return -1;
	}
	/* It goes out on the request line: bytes as on a header line. */
	if (!hk_hdr_visible(url, strlen(url))) {
		curl_url_cleanup(u);
		snprintf(err, errlen,
		    "url must be visible ASCII (0x21-0x7E): percent-encode the rest");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "url is not a valid absolute URL");
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0) {
		snprintf(err, errlen, "url must be http or https");
		goto out;
	}
	if (hk_addr_literal(host, &a) == 0) {
		if (!hk_addr_allowed(&a, &hd->hd_allow)) {
			*code = "target_not_allowed";
			snprintf(err, errlen,
			    "%s is not a public address (see --allow-targets)",
			    host);
			goto out;
		}
	} else if (strlen(host) >= namelen) {
		snprintf(err, errlen, "url host is too long");
		goto out;
	} else
		memcpy(name, host, strlen(host) + 1);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int
sub_strings(const cJSON *v, size_t max, size_t maxlen, char ***out, size_t *n)
{
	const cJSON *e;
	char **a;
	size_t i = 0, cnt;

	if (!cJSON_IsArray(v) || (cnt = (size_t)cJSON_GetArraySize(v)) > max ||
	    cnt == 0)
		return -1;
	cJSON_ArrayForEach(e, v)
		if (!cJSON_IsString(e) || *e->valuestring == '\0' ||
		    strlen(e->valuestring) > maxlen)
			return -1;
	if ((a = calloc(cnt + 1, sizeof(*a))) == NULL)
		return -1;
	cJSON_ArrayForEach(e, v)
		if ((a[i++] = strdup(e->valuestring)) == NULL) {
			while (i > 0)
				free(a[--i]);
			free(a);
			return -1;
		}
	*out = a;
	*n = cnt;
	return 0;
}

static void
sub_set_str(char **dst, char *val)
{
	free(*dst);
	*dst = val;
}

/*
 * Sets S's sources from V. Names become ids; a stored id may outlive its
 * webhook. A record (SUB_J_RECORD) holds ids only and is read on the
 * writer, which must not look into the loop's webhook cache.
 */
static int
sub_apply_sources(
    struct hk_sub *s, const cJSON *v, int flags, char *err, size_t errlen)
{
	char(*src)[HK_ID_MAX];
	struct hk_webhook *wh;
	const cJSON *e;
	size_t i = 0, cnt;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SUB_SOURCES_MAX) {
		snprintf(err, errlen,
		    "sources must be an array of at most %d webhook ids or names",
		    SUB_SOURCES_MAX);
		return -1;
	}
	cnt = (size_t)cJSON_GetArraySize(v);
	if ((src = calloc(cnt + 1, sizeof(*src))) == NULL)
		return -1;
	cJSON_ArrayForEach(e, v) {
		wh = cJSON_IsString(e) && !(flags & SUB_J_RECORD)
		    ? hk_webhook_find(e->valuestring)
		    : NULL;
		if (wh == NULL &&
		    !(cJSON_IsString(e) && hk_id_valid("wh_", e->valuestring) &&
		        (flags & (SUB_J_RECORD | SUB_J_NEED_URL)) !=
		            SUB_J_NEED_URL)) {
			snprintf(err, errlen, "sources: no webhook %.80s",
			    cJSON_IsString(e) ? e->valuestring : "?");
			free(src);
			return -1;
		}
		snprintf(src[i++], HK_ID_MAX, "%s",
		    wh != NULL ? wh->wh_id : e->valuestring);
	}
	free(s->sb_sources);
	s->sb_sources = src;
	s->sb_nsources = cnt;
	return 0;
}

/*
 * Sets S's custom headers from V. A value sent back as answers show it
 * (SUB_REDACTED) keeps the value S has under that name: a client that
 * edits what it read does not overwrite a credential with the mask.
 */
static int
sub_apply_headers(struct hk_sub *s, const cJSON *v, char *err, size_t errlen)
{
	const cJSON *had;
	cJSON *n, *e;

	if (!cJSON_IsObject(v) && !cJSON_IsNull(v)) {
		snprintf(err, errlen, "headers must be an object");
		return -1;
	}
	if (cJSON_GetArraySize(v) > HOOKD_SUB_HEADERS_MAX) {
		snprintf(
		    err, errlen, "at most %d headers", HOOKD_SUB_HEADERS_MAX);
		return -1;
	}
	if ((n = cJSON_IsObject(v) ? cJSON_Duplicate(v, 1) : NULL) == NULL &&
	    cJSON_IsObject(v))
		return -1;
	for (e = n != NULL ? n->child : NULL; e != NULL; e = e->next) {
		if (cJSON_IsString(e) &&
		    strcmp(e->valuestring, SUB_REDACTED) == 0) {
			had = cJSON_GetObjectItemCaseSensitive(
			    s->sb_headers, e->string);
			if (!cJSON_IsString(had)) {
				snprintf(err, errlen,
				    "headers: %.64s has no stored value to keep",
				    e->string);
				cJSON_Delete(n);
				return -1;
			}
			if (cJSON_SetValuestring(
			        (cJSON *)e, had->valuestring) == NULL) {
				cJSON_Delete(n);
				return -1;
			}
		}
		if (!sub_header_ok(e)) {
			snprintf(err, errlen,
			    "headers: %.64s is not allowed "
			    "(a token name, a string value of visible ASCII, space and tab; "
			    "hookd's own headers are reserved)",
			    e->string);
			cJSON_Delete(n);
			return -1;
		}
	}
	cJSON_Delete(s->sb_headers);
	s->sb_headers = n;
	return 0;
}

/* events: patterns; a create or PUT needs some (a PUT may keep none). */
static int
sub_set_events(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_sub *s = obj;
	char **strs;
	size_t cnt, i;

	if (v == NULL)
		return (ck->ck_flags & SUB_J_NEED_URL) && s->sb_nevents == 0
		    ? hk_check_fail(ck, "events is required")
		    : 0;
	if (sub_strings(v, SUB_EVENTS_MAX, HOOKD_TYPE_MAX, &strs, &cnt) != 0)
		return -1;
	for (i = 0; i < s->sb_nevents; i++)
		free(s->sb_events[i]);
	free(s->sb_events);
	s->sb_events = strs;
	s->sb_nevents = cnt;
	return 0;
}

static int
sub_set_sources(void *obj, const cJSON *v, struct hk_check *ck)
{
	return sub_apply_sources(
	    obj, v, ck->ck_flags, ck->ck_err, ck->ck_errlen);
}

/* A PUT without headers has none; with them it may keep some. */
static int
sub_set_headers(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_sub *s = obj;

	if (v != NULL)
		return sub_apply_headers(s, v, ck->ck_err, ck->ck_errlen);
	if (ck->ck_flags & SUB_J_NEED_URL) {
		cJSON_Delete(s->sb_headers);
		s->sb_headers = NULL;
	}
	return 0;
}

static int
sub_name_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)obj;
	(void)ck;
	return cJSON_IsString(v) && v->valuestring[0] != '\0' &&
	        !hk_check_slug(v->valuestring, HOOKD_NAME_MAX, "sub_")
	    ? -1
	    : 0;
}

static int
sub_set_managed(void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)ck;
	return hk_managed_set(&((struct hk_sub *)obj)->sb_managed, v);
}

/* A template obeys the rule of lib/tmpl.c, the preview's too. */
static int
sub_template_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)obj;
	if (!cJSON_IsString(v))
		return 0;
	return hk_tmpl_validate(v->valuestring, ck->ck_err, ck->ck_errlen);
}

/* Judged once all three retry members are set. */
static int
sub_retry_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	const struct hk_sub *s = obj;

	(void)v;
	if (s->sb_max_ms < s->sb_initial_ms)
		return hk_check_fail(
		    ck, "retry.maxMs must not be below retry.initialMs");
	return 0;
}

/* A whsec_ secret must decode; any other is the key itself. */
static int
sub_secret_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	unsigned char key[HK_SIG_KEYMAX];
	int klen = hk_sig_standard_key(v->valuestring, key);

	(void)obj;
	(void)ck;
	sodium_memzero(key, sizeof(key));
	return klen < 0 ? -1 : 0;
}

/*
 * url: required by a create or PUT unless a command is the target (the
 * command row comes first), and never beside one.
 */
static int
sub_set_url(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_sub *s = obj;
	char *u;

	if (v == NULL)
		return (ck->ck_flags & SUB_J_NEED_URL) && !s->sb_command
		    ? hk_check_fail(ck, "url is required")
		    : 0;
	if (!cJSON_IsString(v))
		return -1;
	if (s->sb_command)
		return hk_check_fail(
		    ck, "url and command cannot both be set (one target each)");
	if ((u = strdup(v->valuestring)) == NULL)
		return hk_check_fail(ck, "out of memory");
	sub_set_str(&s->sb_url, u);
	return 0;
}

/* A command's argument or env value obeys the template rules, as a body. */
static int
sub_cmd_tmpl_ok(const char *what, const char *t, struct hk_check *ck)
{
	char why[200];

	if (strlen(t) > HK_CMD_ARG_MAX)
		return hk_check_fail(ck, "command.%s: at most %d bytes each",
		    what, HK_CMD_ARG_MAX);
	if (hk_tmpl_check(t, why, sizeof(why)) != 0)
		return hk_check_fail(ck, "command.%s: %s", what, why);
	return 0;
}

/*
 * command.argv: 1-HK_CMD_ARGV_MAX strings; argv[0] an absolute path,
 * executed as written (no shell, no PATH search, no template), the rest
 * templates.
 */
static int
sub_set_argv(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_sub *s = obj;
	const cJSON *e;
	char **a;
	size_t i = 0, n;

	if (v == NULL)
		return s->sb_cmd_argc > 0
		    ? 0
		    : hk_check_fail(ck, "command.argv is required");
	if (!cJSON_IsArray(v) || (n = (size_t)cJSON_GetArraySize(v)) == 0 ||
	    n > HK_CMD_ARGV_MAX)
		return -1;
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e))
			return -1;
		if (e == v->child &&
		    (e->valuestring[0] != '/' ||
		        strstr(e->valuestring, "${") != NULL))
			return hk_check_fail(ck,
			    "command.argv[0] must be an absolute path, "
			    "without a template");
		if (sub_cmd_tmpl_ok("argv", e->valuestring, ck) != 0)
			return HK_EINVAL;
	}
	if ((a = calloc(n + 1, sizeof(*a))) == NULL)
		return hk_check_fail(ck, "out of memory");
	cJSON_ArrayForEach(e, v)
		if ((a[i++] = strdup(e->valuestring)) == NULL) {
			while (i > 0)
				free(a[--i]);
			free(a);
			return hk_check_fail(ck, "out of memory");
		}
	for (i = 0; i < s->sb_cmd_argc; i++)
		free(s->sb_cmd_argv[i]);
	free(s->sb_cmd_argv);
	s->sb_cmd_argv = a;
	s->sb_cmd_argc = n;
	return 0;
}

/* Whether NAME may be a configured variable: hookd sets HOOKD_*. */
static int
sub_env_name_ok(const char *name)
{
	size_t i;

	if (name[0] == '\0' || isdigit((unsigned char)name[0]) ||
	    strncmp(name, "HOOKD_", 6) == 0 || strlen(name) > 128)
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	return 1;
}

/* command.env: NAME -> value template; the whole environment but PATH. */
static int
sub_set_cmd_env(void *obj, const cJSON *v, struct hk_check *ck)
{
	struct hk_sub *s = obj;
	const cJSON *e;
	cJSON *n;

	if (cJSON_IsNull(v)) {
		cJSON_Delete(s->sb_cmd_env);
		s->sb_cmd_env = NULL;
		return 0;
	}
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) > HK_CMD_ENV_MAX)
		return -1;
	cJSON_ArrayForEach(e, v) {
		if (!sub_env_name_ok(e->string))
			return hk_check_fail(ck,
			    "command.env: %.64s is not a variable name "
			    "([A-Za-z_][A-Za-z0-9_]*, not HOOKD_*)",
			    e->string);
		if (!cJSON_IsString(e))
			return hk_check_fail(ck,
			    "command.env: %.64s must be a string", e->string);
		if (sub_cmd_tmpl_ok("env", e->valuestring, ck) != 0)
			return HK_EINVAL;
	}
	if ((n = cJSON_Duplicate(v, 1)) == NULL)
		return hk_check_fail(ck, "out of memory");
	cJSON_Delete(s->sb_cmd_env);
	s->sb_cmd_env = n;
	return 0;
}

static int
sub_cwd_ok(const void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)obj;
	(void)ck;
	return cJSON_IsString(v) && v->valuestring[0] != '/' ? -1 : 0;
}

/* A command is the target: its members are judged by sub_cmd_rows. */
static int
sub_set_command(void *obj, const cJSON *v, struct hk_check *ck)
{
	(void)v;
	(void)ck;
	((struct hk_sub *)obj)->sb_command = 1;
	return 0;
}

#define SUB_AT(m) HK_CHECK_AT(struct hk_sub, m)

static const char *const sub_stdin_names[] = {"none", "body", NULL};

static const struct hk_check_row sub_cmd_rows[] = {
    {.ck_name = "argv",
        .ck_type = HK_CHECK_ANY,
        .ck_flags = HK_CHECK_ABSENT,
        .ck_set = sub_set_argv,
        .ck_msg = "command.argv must be 1-" HK_CHECK_NUM(
            HK_CMD_ARGV_MAX) " strings, argv[0] an absolute path"},
    {.ck_name = "cwd",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL,
        SUB_AT(sb_cmd_cwd),
        .ck_min = 1,
        .ck_max = 4096,
        .ck_ok = sub_cwd_ok,
        .ck_msg = "command.cwd must be an absolute path or null"},
    {.ck_name = "env",
        .ck_type = HK_CHECK_ANY,
        .ck_set = sub_set_cmd_env,
        .ck_msg = "command.env must be an object of at most " HK_CHECK_NUM(
            HK_CMD_ENV_MAX) " variables (strings)"},
    {.ck_name = "stdin",
        .ck_type = HK_CHECK_ENUM,
        SUB_AT(sb_cmd_stdin),
        .ck_names = sub_stdin_names,
        .ck_msg = "command.stdin must be \"body\" or \"none\""},
    {.ck_name = "timeoutMs",
        .ck_type = HK_CHECK_INT,
        SUB_AT(sb_cmd_timeout_ms),
        .ck_min = 100,
        .ck_max = 86400000,
        .ck_msg = "command.timeoutMs must be an integer from 100 to "
                  "86400000 (a day)"},
    {.ck_name = NULL},
};

static const struct hk_check_row sub_retry_rows[] = {
    {.ck_name = "maxAttempts",
        .ck_type = HK_CHECK_INT,
        SUB_AT(sb_max_attempts),
        .ck_min = 1,
        .ck_max = 100,
        .ck_msg = "retry.maxAttempts must be an integer from 1 to 100"},
    {.ck_name = "initialMs",
        .ck_type = HK_CHECK_INT,
        SUB_AT(sb_initial_ms),
        .ck_min = 100,
        .ck_max = 86400000,
        .ck_msg = "retry.initialMs must be an integer from 100 to 86400000"},
    {.ck_name = "maxMs",
        .ck_type = HK_CHECK_INT,
        SUB_AT(sb_max_ms),
        .ck_min = 100,
        .ck_max = 604800000,
        .ck_msg =
            "retry.maxMs must be an integer from 100 to 604800000 (7 days)"},
    {.ck_name = NULL},
};

/* The members of a subscription body, in the order they are judged. */
static const struct hk_check_row sub_rows[] = {
    {.ck_name = "name",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL | HK_CHECK_EMPTY,
        SUB_AT(sb_name),
        .ck_ok = sub_name_ok,
        /* clang-format off */
        .ck_msg = "name must be null or a slug of 1-" HK_CHECK_NUM(HOOKD_NAME_MAX)
                  " characters [a-z0-9._-], "
                  "starting with a letter or digit, not with sub_"},
    /* clang-format on */
    {.ck_name = "managedBy",
        .ck_type = HK_CHECK_ANY,
        .ck_set = sub_set_managed,
        .ck_msg = "managedBy must be \"config\" or null"},
    {.ck_name = "command",
        .ck_type = HK_CHECK_OBJ,
        .ck_sub = sub_cmd_rows,
        .ck_set = sub_set_command,
        .ck_msg = "command must be an object"},
    {.ck_name = "url",
        .ck_type = HK_CHECK_ANY,
        .ck_flags = HK_CHECK_ABSENT,
        .ck_set = sub_set_url,
        .ck_msg = "url must be a string"},
    {.ck_name = "exposeResult",
        .ck_type = HK_CHECK_BOOL,
        SUB_AT(sb_expose),
        .ck_msg = "exposeResult must be true or false"},
    {.ck_name = "events",
        .ck_type = HK_CHECK_ANY,
        .ck_flags = HK_CHECK_ABSENT,
        .ck_set = sub_set_events,
        .ck_msg = "events must be 1-" HK_CHECK_NUM(
            SUB_EVENTS_MAX) " patterns: a type, a prefix ending in *, or *"},
    {.ck_name = "sources",
        .ck_type = HK_CHECK_ANY,
        .ck_set = sub_set_sources,
        .ck_msg = "sources must be an array of at most " HK_CHECK_NUM(
            SUB_SOURCES_MAX) " webhook ids or names"},
    {.ck_name = "headers",
        .ck_type = HK_CHECK_ANY,
        .ck_flags = HK_CHECK_ABSENT,
        .ck_set = sub_set_headers,
        .ck_msg = "headers must be an object"},
    {.ck_name = "template",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL,
        SUB_AT(sb_template),
        .ck_max = HOOKD_TEMPLATE_MAX,
        .ck_ok = sub_template_ok,
        .ck_msg = "template must be a string of at most " HK_CHECK_NUM(
            HOOKD_TEMPLATE_MAX) " bytes"},
    {.ck_name = "description",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_NULL,
        SUB_AT(sb_description),
        .ck_max = 1024,
        .ck_msg = "description must be a string of at most 1024 characters"},
    {.ck_name = "active",
        .ck_type = HK_CHECK_BOOL,
        SUB_AT(sb_active),
        .ck_msg = "active must be true or false"},
    {.ck_name = "timeoutMs",
        .ck_type = HK_CHECK_INT,
        SUB_AT(sb_timeout_ms),
        .ck_min = 100,
        .ck_max = 120000,
        .ck_msg = "timeoutMs must be an integer from 100 to 120000"},
    {.ck_name = "maxInFlight",
        .ck_type = HK_CHECK_INT,
        SUB_AT(sb_max_in_flight),
        .ck_min = 1,
        .ck_max = 1000,
        .ck_msg = "maxInFlight must be an integer from 1 to 1000"},
    {.ck_name = "rateLimit",
        .ck_type = HK_CHECK_RATE,
        SUB_AT(sb_rate),
        .ck_min = HOOKD_RATE_MIN,
        .ck_max = SUB_RATE_MAX,
        /* Laid out by hand: clang-format splits the message at a macro. */
        /* clang-format off */
        .ck_msg = "rateLimit must be 0 (unlimited) "
                  "or requests per second from "
                  HK_CHECK_NUM(HOOKD_RATE_MIN) " to " HK_CHECK_NUM(SUB_RATE_MAX)},
    /* clang-format on */
    {.ck_name = "retry",
        .ck_type = HK_CHECK_OBJ,
        .ck_sub = sub_retry_rows,
        .ck_ok = sub_retry_ok,
        .ck_msg = "retry must be an object"},
    {.ck_name = "ordered",
        .ck_type = HK_CHECK_BOOL,
        SUB_AT(sb_ordered),
        .ck_msg = "ordered must be true or false"},
    {.ck_name = "secret",
        .ck_type = HK_CHECK_STR,
        .ck_flags = HK_CHECK_WIPE,
        SUB_AT(sb_secret),
        .ck_max = 200,
        .ck_ok = sub_secret_ok,
        .ck_msg = "secret must be 1-200 characters; "
                  "a whsec_ secret must be valid base64 after the prefix"},
    {.ck_name = NULL},
};

/*
 * Applies the members of J to S (create, PATCH or PUT; a stored record
 * too) by sub_rows, then judges a URL the body sets. FLAGS: SUB_J_*.
 * Returns 0, -1 with ERR, or -2 with ERR when the target is not allowed.
 */
static int
sub_apply_json(
    struct hk_sub *s, const cJSON *j, int flags, char *err, size_t errlen)
{
	struct hk_check ck = {flags, err, errlen};
	char host[256];
	const char *code;

	if (hk_check_apply(sub_rows, s, j, &ck) != 0)
		return -1;
	/* A command runs one at a time unless it says otherwise. */
	if ((flags & SUB_J_NEED_URL) &&
	    cJSON_GetObjectItemCaseSensitive(j, "command") != NULL &&
	    cJSON_GetObjectItemCaseSensitive(j, "maxInFlight") == NULL)
		s->sb_max_in_flight = 1;
	/*
	 * Only a URL the body sets is judged: a stored one is kept when
	 * --allow-targets no longer admits it (proto/operation.md).
	 */
	if (s->sb_url != NULL && !(flags & SUB_J_RECORD) &&
	    cJSON_GetObjectItemCaseSensitive(j, "url") != NULL &&
	    hk_sub_check_url(
	        s->sb_url, host, sizeof(host), &code, err, errlen) != 0)
		return strcmp(code, "target_not_allowed") == 0 ? -2 : -1;
	return 0;
}

/*
 * Puts the opened header values of record J (its sealedHeaders) in
 * place of the names its "headers" shows. A record written before values
 * were sealed holds them in "headers" itself. 0, HK_ENOMEM, or
 * HK_ECRYPTO with *CAUSE.
 */
static int
sub_open_headers(struct hk_sub *s, cJSON *j, char **cause)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "sealedHeaders");
	cJSON *h;
	char *plain;
	int rc;

	if (!cJSON_IsString(v))
		return 0;
	if ((s->sb_headers_sealed = strdup(v->valuestring)) == NULL)
		return HK_ENOMEM;
	if ((plain = hk_unseal(hd->hd_mkey, v->valuestring, &rc)) == NULL) {
		if (asprintf(cause,
		        "subscription %s: headers do not open with this master key",
		        s->sb_id) == -1)
			*cause = NULL;
		return HK_ECRYPTO;
	}
	h = cJSON_Parse(plain);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	if (!cJSON_IsObject(h)) {
		cJSON_Delete(h);
		return HK_EINVAL;
	}
	if (!cJSON_ReplaceItemInObjectCaseSensitive(j, "headers", h))
		cJSON_AddItemToObject(j, "headers", h);
	cJSON_DeleteItemFromObjectCaseSensitive(j, "sealedHeaders");
	return 0;
}

/* A subscription from its stored record (or a copy's). */
struct hk_sub *
hk_sub_from_json(const cJSON *j, char **cause)
{
	struct hk_sub *s;
	const cJSON *v;
	char err[256] = "";
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	sub_defaults(s);
	v = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (!cJSON_IsString(v) || !hk_id_valid("sub_", v->valuestring))
		goto bad;
	snprintf(s->sb_id, sizeof(s->sb_id), "%s", v->valuestring);
	/* A stored URL is not judged again: --allow-targets may change. */
	v = cJSON_GetObjectItemCaseSensitive(j, "url");
	if (cJSON_IsString(v)) {
		if ((s->sb_url = strdup(v->valuestring)) == NULL)
			goto bad;
	} else if (!cJSON_IsObject(
	               cJSON_GetObjectItemCaseSensitive(j, "command")))
		goto bad;
	{
		cJSON *copy = cJSON_Duplicate(j, 1);

		if (copy == NULL)
			goto bad;
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "url");
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "secret");
		sub_loading = 1;
		if ((rc = sub_open_headers(s, copy, cause)) == 0)
			rc = sub_apply_json(
			    s, copy, SUB_J_RECORD, err, sizeof(err));
		sub_loading = 0;
		cJSON_Delete(copy);
		if (rc == HK_ECRYPTO) {
			sub_free(s);
			return NULL;
		}
		if (rc != 0)
			goto bad;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "disabledReason")) !=
	        NULL &&
	    cJSON_IsString(v))
		s->sb_disabled_reason = strdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "createdAt");
	s->sb_created = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "updatedAt");
	s->sb_updated = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "failingSince");
	s->sb_failing_since = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "orderedHead");
	if (cJSON_IsString(v))
		snprintf(s->sb_ordered_head, sizeof(s->sb_ordered_head), "%s",
		    v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "sealed");
	if (!cJSON_IsString(v) ||
	    (s->sb_sealed = strdup(v->valuestring)) == NULL ||
	    (s->sb_secret = hk_unseal(hd->hd_mkey, v->valuestring, &rc)) ==
	        NULL) {
		if (asprintf(cause,
		        "subscription %s: secret does not open with this master key",
		        s->sb_id) == -1)
			*cause = NULL;
		sub_free(s);
		return NULL;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "prevSealed");
	if (cJSON_IsString(v)) {
		s->sb_prev_sealed = strdup(v->valuestring);
		s->sb_prev_secret = hk_unseal(hd->hd_mkey, v->valuestring, &rc);
		v = cJSON_GetObjectItemCaseSensitive(j, "prevUntil");
		s->sb_prev_until =
		    cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
	}
	return s;
bad:
	if (asprintf(cause, "subscription %s: malformed record (%s)", s->sb_id,
	        err) == -1)
		*cause = NULL;
	sub_free(s);
	return NULL;
}

/*
 * A record written before header values were sealed holds them in
 * plaintext: sealed in memory now, and in the store by a rewrite.
 */
static int
sub_load_seal(char **cause)
{
	struct hk_sub *s;

	TAILQ_FOREACH(s, &sub_list, sb_entry) {
		if (!sub_has_headers(s) || s->sb_headers_sealed != NULL)
			continue;
		if (sub_seal(s, 0, 1) != 0) {
			*cause = strdup("out of memory");
			return HK_ENOMEM;
		}
		sub_reseal(s);
	}
	return 0;
}

/* hk_sub_load's scan: what went wrong, for the caller's *cause. */
struct sub_load {
	char **cause;
	int bad; /* a record did not rebuild */
};

static int
sub_load_row(void *arg, const char *id, const char *text, size_t len)
{
	struct sub_load *l = arg;
	struct hk_sub *s;
	cJSON *j;

	(void)id;
	j = cJSON_ParseWithLength(text, len);
	s = j != NULL ? hk_sub_from_json(j, l->cause) : NULL;
	cJSON_Delete(j);
	if (s == NULL ||
	    hk_map_put(&sub_by_id, s->sb_id, strlen(s->sb_id), s) != 0) {
		if (*l->cause == NULL)
			*l->cause = strdup("malformed subscription");
		sub_free(s);
		l->bad = 1;
		return HK_EINVAL;
	}
	TAILQ_INSERT_TAIL(&sub_list, s, sb_entry);
	return 0;
}

int
hk_sub_load(char **cause)
{
	struct sub_load l = {cause, 0};
	int rc;

	*cause = NULL;
	if ((rc = hk_st_scan(HK_SL_SUBS, sub_load_row, &l)) != 0) {
		if (l.bad)
			return HK_EINVAL;
		*cause = strdup("cannot read the subscriptions");
		return HK_EIO;
	}
	return sub_load_seal(cause);
}

void
hk_sub_free_all(void)
{
	struct hk_sub *s;

	while ((s = TAILQ_FIRST(&sub_list)) != NULL) {
		TAILQ_REMOVE(&sub_list, s, sb_entry);
		sub_free(s);
	}
	hk_map_free(&sub_by_id);
}

/* Whether S wants an event of TYPE from SOURCE (NULL: published). */
int
hk_sub_matches(const struct hk_sub *s, const char *type, const char *source)
{
	size_t i;

	if (!s->sb_active)
		return 0;
	if (s->sb_nsources > 0) {
		for (i = 0; i < s->sb_nsources; i++)
			if (source != NULL &&
			    strcmp(s->sb_sources[i], source) == 0)
				break;
		if (i == s->sb_nsources)
			return 0;
	}
	/*
	 * "*" is every event of the senders; hookd's own operational events
	 * (hookd.*) go only to patterns that name them.
	 */
	for (i = 0; i < s->sb_nevents; i++)
		if ((strcmp(s->sb_events[i], "*") == 0 &&
		        strncmp(type, "hookd.", 6) != 0) ||
		    (strcmp(s->sb_events[i], "*") != 0 &&
		        hk_event_match(s->sb_events[i], type)))
			return 1;
	return 0;
}

/*
 * One change of a subscription, as a store operation (struct
 * hk_st_record, HK_ST_SUB). Every change but a create is a
 * read-modify-write of the stored record inside the writer's
 * transaction (sub_modify): what it carries is the change (a PATCH
 * body, a new secret, the engine's state), never a copy of the cache,
 * so two changes at once each keep the other's fields. Deleting also
 * cancels its pending deliveries in the same transaction (the store's).
 *
 * SUB_STATE is the engine's save and patches only its fields of the
 * stored record; SUB_SEAL rewrites a record whose header values were
 * stored in plaintext. Neither has a caller to tell: a failure is
 * logged here.
 */
enum sub_kind {
	SUB_CREATE,
	SUB_UPDATE,
	SUB_ROTATE,
	SUB_DELETE,
	SUB_STATE,
	SUB_SEAL
};

struct sub_op {
	struct hk_st_record rec; /* first: the store hands it back */
	enum sub_kind kind;
	struct hk_sub *new; /* create: built on the loop; else the writer's */
	char *record; /* rec.rc_text */
	int64_t ms; /* when the change was asked for: its updatedAt */
	/* SUB_UPDATE: the checked body (sources as ids), PUT or PATCH. */
	cJSON *patch;
	int put;
	/* SUB_ROTATE: the new secret. */
	char *secret;
	/* SUB_STATE: the engine's fields. */
	int64_t failing_since;
	char ordered_head[HK_ID_MAX];
	int disable;
	char *reason;
	char err[256]; /* a change refused: the 400's message */
	int target; /* ... because the target is not allowed */
	char *name; /* the name it holds in sub_names until done */
	hk_sub_done_fn done;
	void *arg;
};

/*
 * Names taken by changes not yet committed: a name is unique among the
 * cached subscriptions and these, so two calls at once cannot both
 * take it.
 */
static struct hk_map sub_names = HK_MAP_INIT;

/* Whether NAME is another subscription's than ID's, or being taken. */
static int
sub_name_taken(const char *name, const char *id)
{
	const struct hk_sub *s;
	const char *p;

	TAILQ_FOREACH(s, &sub_list, sb_entry)
		if (s->sb_name != NULL && strcmp(s->sb_name, name) == 0 &&
		    strcmp(s->sb_id, id) != 0)
			return 1;
	p = hk_map_get(&sub_names, name, strlen(name));
	return p != NULL && strcmp(p, id) != 0;
}

/* Holds O's name until it is done; HK_EEXIST when it is taken. */
static int
sub_name_hold(struct sub_op *o, const struct hk_sub *s)
{
	if (s == NULL || s->sb_name == NULL)
		return 0;
	if (sub_name_taken(s->sb_name, s->sb_id)) {
		snprintf(o->err, sizeof(o->err),
		    "a subscription named %s exists", s->sb_name);
		return HK_EEXIST;
	}
	if ((o->name = strdup(s->sb_name)) == NULL ||
	    hk_map_put(&sub_names, o->name, strlen(o->name), o->rec.rc_id) !=
	        0) {
		free(o->name);
		o->name = NULL;
		return HK_ENOMEM;
	}
	return 0;
}

static void
sub_name_release(struct sub_op *o)
{
	if (o->name == NULL)
		return;
	if (hk_map_get(&sub_names, o->name, strlen(o->name)) == o->rec.rc_id)
		hk_map_del(&sub_names, o->name, strlen(o->name));
	free(o->name);
	o->name = NULL;
}

/* Whether S has custom headers. */
static int
sub_has_headers(const struct hk_sub *s)
{
	return s->sb_headers != NULL && s->sb_headers->child != NULL;
}

/*
 * Seals S's secrets and header values for its record: SECRET and
 * HEADERS say which changed; what has no sealed form yet is sealed too.
 * Runs on either thread. 0 or HK_ENOMEM.
 */
static int
sub_seal(struct hk_sub *s, int secret, int headers)
{
	char *txt;

	if (secret || s->sb_sealed == NULL) {
		free(s->sb_sealed);
		if ((s->sb_sealed = hk_seal(hd->hd_mkey, s->sb_secret)) == NULL)
			return HK_ENOMEM;
	}
	if (s->sb_prev_secret != NULL && s->sb_prev_sealed == NULL &&
	    (s->sb_prev_sealed = hk_seal(hd->hd_mkey, s->sb_prev_secret)) ==
	        NULL)
		return HK_ENOMEM;
	if (!headers && (s->sb_headers_sealed != NULL || !sub_has_headers(s)))
		return 0;
	sub_set_str(&s->sb_headers_sealed, NULL);
	if (!sub_has_headers(s))
		return 0;
	if ((txt = cJSON_PrintUnformatted(s->sb_headers)) == NULL)
		return HK_ENOMEM;
	s->sb_headers_sealed = hk_seal(hd->hd_mkey, txt);
	sodium_memzero(txt, strlen(txt));
	free(txt);
	return s->sb_headers_sealed != NULL ? 0 : HK_ENOMEM;
}

/* Sets O's record text (rc_text) to TEXT, which it takes. */
static int
sub_op_text(struct sub_op *o, char *text)
{
	free(o->record);
	o->record = text;
	o->rec.rc_text = text;
	o->rec.rc_len = text != NULL ? strlen(text) : 0;
	return text != NULL ? 0 : HK_ENOMEM;
}

/* Serialises S's record into O. 0 or HK_ENOMEM. */
static int
sub_op_print(struct sub_op *o, const struct hk_sub *s)
{
	cJSON *rec = hk_sub_record(s);
	char *text = rec != NULL ? cJSON_PrintUnformatted(rec) : NULL;

	cJSON_Delete(rec);
	return sub_op_text(o, text);
}

/*
 * PUT: keeps identity and secrets, resets everything else (the headers
 * when the body is applied: a value sent back redacted keeps its own).
 */
static void
sub_reset(struct hk_sub *s)
{
	size_t i;

	sub_set_str(&s->sb_url, NULL);
	sub_set_str(&s->sb_name, NULL);
	for (i = 0; i < s->sb_nevents; i++)
		free(s->sb_events[i]);
	free(s->sb_events);
	s->sb_events = NULL;
	s->sb_nevents = 0;
	free(s->sb_sources);
	s->sb_sources = NULL;
	s->sb_nsources = 0;
	sub_set_str(&s->sb_template, NULL);
	sub_set_str(&s->sb_description, NULL);
	s->sb_ordered = 0;
	s->sb_expose = 0;
	sub_cmd_clear(s);
	sub_defaults(s);
}

/* O's change applied to S, the stored subscription (writer thread). */
static int
sub_op_change(struct sub_op *o, struct hk_sub *s)
{
	char *n;

	switch (o->kind) {
	case SUB_UPDATE:
		if (o->put)
			sub_reset(s);
		if (sub_apply_json(s, o->patch,
		        SUB_J_RECORD | (o->put ? SUB_J_NEED_URL : 0), o->err,
		        sizeof(o->err)) != 0)
			return HK_EINVAL;
		/* Turning it on again clears an automatic disable. */
		if (s->sb_active)
			sub_set_str(&s->sb_disabled_reason, NULL);
		return sub_seal(s,
		    cJSON_GetObjectItemCaseSensitive(o->patch, "secret") !=
		        NULL,
		    o->put ||
		        cJSON_GetObjectItemCaseSensitive(o->patch, "headers") !=
		            NULL);
	case SUB_ROTATE:
		/* The stored secret, not the cache's, signs for another day. */
		if ((n = strdup(o->secret)) == NULL)
			return HK_ENOMEM;
		sub_wipe(s->sb_prev_secret);
		free(s->sb_prev_sealed);
		s->sb_prev_secret = s->sb_secret;
		s->sb_prev_sealed = s->sb_sealed;
		s->sb_sealed = NULL;
		s->sb_secret = n;
		s->sb_prev_until = o->ms + SUB_ROTATE_MS;
		return sub_seal(s, 1, 0);
	case SUB_SEAL:
		return sub_seal(s, 0, 0);
	default:
		return HK_EINVAL;
	}
}

/* Sets member NAME of J to V (NULL: out of memory), which it takes. 0
 * or HK_ENOMEM. */
static int
sub_json_put(cJSON *j, const char *name, cJSON *v)
{
	cJSON_bool ok;

	if (v == NULL)
		return HK_ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(j, name) != NULL)
		ok = cJSON_ReplaceItemInObjectCaseSensitive(j, name, v);
	else
		ok = cJSON_AddItemToObject(j, name, v);
	if (!ok)
		cJSON_Delete(v);
	return ok ? 0 : HK_ENOMEM;
}

/*
 * The engine's save (writer thread): its fields of the stored record J
 * (absent when unset, as hk_sub_record writes them) and its updatedAt;
 * nothing else is read or rewritten, so the secrets stay sealed as
 * they are.
 */
static int
sub_patch_state(struct sub_op *o, cJSON *j)
{
	int rc = 0;

	cJSON_DeleteItemFromObjectCaseSensitive(j, "failingSince");
	cJSON_DeleteItemFromObjectCaseSensitive(j, "orderedHead");
	if (o->failing_since > 0)
		rc = sub_json_put(j, "failingSince",
		    cJSON_CreateNumber((double)o->failing_since));
	if (rc == 0 && o->ordered_head[0] != '\0')
		rc = sub_json_put(
		    j, "orderedHead", cJSON_CreateString(o->ordered_head));
	if (rc == 0 && o->disable) {
		cJSON_DeleteItemFromObjectCaseSensitive(j, "disabledReason");
		rc = sub_json_put(j, "active", cJSON_CreateFalse());
		if (rc == 0 && o->reason != NULL)
			rc = sub_json_put(
			    j, "disabledReason", cJSON_CreateString(o->reason));
	}
	if (rc == 0)
		rc = sub_json_put(
		    j, "updatedAt", cJSON_CreateNumber((double)o->ms));
	return rc != 0 ? rc : sub_op_text(o, cJSON_PrintUnformatted(j));
}

_Static_assert(HOOKD_NAME_MAX <= HK_ST_NAME_MAX, "a name fits rc_name");

/* The name the store keeps unique across the nodes (NAME NULL: none). */
static void
sub_op_name(struct sub_op *o, const char *name)
{
	snprintf(o->rec.rc_name, sizeof(o->rec.rc_name), "%s",
	    name != NULL ? name : "");
}

/*
 * rc_modify (writer thread): rebuilds the stored record OLD, applies
 * O's change to it, and leaves the result in o->new and its text in
 * rc_text (the engine's save patches the text alone). Applied again
 * (the store retries a failed batch one operation at a time), it starts
 * afresh.
 */
static int
sub_modify(struct hk_st_record *rec, const char *old, size_t len)
{
	struct sub_op *o = (struct sub_op *)(void *)rec;
	struct hk_sub *s;
	char *cause = NULL;
	cJSON *j;
	int rc;

	sub_free(o->new);
	o->new = NULL;
	sub_op_text(o, NULL);
	o->err[0] = '\0';
	if ((j = cJSON_ParseWithLength(old, len)) == NULL)
		return HK_ENOMEM;
	if (o->kind == SUB_STATE) {
		/* The engine's patch keeps the name as stored. */
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");

		sub_op_name(o, cJSON_IsString(n) ? n->valuestring : NULL);
		rc = sub_patch_state(o, j);
		cJSON_Delete(j);
		return rc;
	}
	s = hk_sub_from_json(j, &cause);
	cJSON_Delete(j);
	free(cause);
	if (s == NULL)
		return HK_ENOMEM;
	if ((rc = sub_op_change(o, s)) == 0) {
		s->sb_updated = o->ms;
		sub_op_name(o, s->sb_name);
		rc = sub_op_print(o, s);
	}
	if (rc != 0) {
		sub_free(s);
		return rc;
	}
	o->new = s;
	return 0;
}

static void
sub_op_free(struct sub_op *o)
{
	sub_name_release(o);
	sub_free(o->new);
	free(o->record);
	cJSON_Delete(o->patch);
	sub_wipe(o->secret);
	free(o->reason);
	free(o);
}

/*
 * Tells O's caller RC (STORED: the store's answer), or logs the failure
 * of the engine's own change.
 */
static void
sub_op_report(struct sub_op *o, int rc, int stored)
{
	struct hk_sub_change c;

	if (o->done == NULL) {
		/* A subscription deleted meanwhile has no state to save. */
		/* Fenced: the lease went to another node, and the state too. */
		if (rc != 0 && rc != HK_ENOTFOUND && rc != HK_EFENCED)
			log_error("subscription_commit",
			    "subscription=%s error=%s", o->rec.rc_id,
			    hk_logq(hk_strerror(rc)));
		return;
	}
	memset(&c, 0, sizeof(c));
	c.sc_verb = (enum hk_sub_verb)o->kind;
	c.sc_id = o->rec.rc_id;
	c.sc_sub = rc == 0 ? o->new : NULL;
	c.sc_err = o->err;
	c.sc_target = o->target;
	c.sc_stored = stored;
	c.sc_cancelled = o->rec.rc_cancelled;
	c.sc_arg = o->arg;
	o->done(&c, rc);
}

/* A change that goes no further: reported, then freed. */
static void
sub_op_finish(struct sub_op *o, int rc, int stored)
{
	sub_op_report(o, rc, stored);
	sub_op_free(o);
}

_Static_assert((int)SUB_CREATE == (int)HK_SUB_CREATE &&
        (int)SUB_UPDATE == (int)HK_SUB_UPDATE &&
        (int)SUB_ROTATE == (int)HK_SUB_ROTATE &&
        (int)SUB_DELETE == (int)HK_SUB_DELETE,
    "an admin change's kind is its verb");

/*
 * Puts NEW, a committed record, in the cache in place of OLD (either may
 * be NULL). The engine keeps its state itself, by id; a disable it made
 * stays while its save is still on the way to the store, since the
 * cache holds the engine's newest word.
 */
static void
sub_install(struct hk_sub *old, struct hk_sub *new)
{
	if (old != NULL) {
		hk_map_del(&sub_by_id, old->sb_id, strlen(old->sb_id));
		if (new != NULL) {
			new->sb_state_pending = old->sb_state_pending;
			if (old->sb_state_pending > 0) {
				new->sb_active = old->sb_active;
				sub_set_str(&new->sb_disabled_reason,
				    old->sb_disabled_reason);
				old->sb_disabled_reason = NULL;
			}
			TAILQ_INSERT_AFTER(&sub_list, old, new, sb_entry);
		}
		TAILQ_REMOVE(&sub_list, old, sb_entry);
		sub_free(old);
	} else if (new != NULL)
		TAILQ_INSERT_TAIL(&sub_list, new, sb_entry);
	if (new == NULL)
		return;
	hk_map_put(&sub_by_id, new->sb_id, strlen(new->sb_id), new);
}

/* so_done: the change is durable (the cache takes it) or refused. */
static void
sub_op_done(struct hk_st_op *op, int rc)
{
	struct sub_op *o = (struct sub_op *)(void *)op;
	const char *id = o->rec.rc_id;
	struct hk_sub *old = hk_sub_find(id);

	if (o->kind == SUB_STATE && old != NULL)
		old->sb_state_pending--;
	if (rc == HK_EEXIST && o->err[0] == '\0')
		/* Taken on another node, which this node's cache had not seen. */
		snprintf(o->err, sizeof(o->err),
		    "a subscription named %s exists", o->rec.rc_name);
	if (rc != 0) {
		sub_op_finish(o, rc, 1);
		return;
	}
	log_info(o->kind == SUB_CREATE  ? "subscription_created"
	        : o->kind == SUB_DELETE ? "subscription_deleted"
	                                : "subscription_updated",
	    "subscription=%s cancelled=%llu", id,
	    (unsigned long long)o->rec.rc_cancelled);
	if (o->kind == SUB_STATE) {
		/* The cache holds the engine's fields already, its newest. */
		if (old != NULL)
			old->sb_updated = o->ms;
	} else {
		if (o->kind == SUB_DELETE)
			hk_engine_forget(id);
		/* The answer is what this change committed. */
		sub_op_report(o, 0, 1);
		sub_install(old, o->new);
		o->new = NULL;
	}
	sub_op_free(o);
	hk_engine_kick();
}

/*
 * Another node changed subscription ID (TEXT its record now, NULL when
 * deleted): the cache follows, as it does a change of this node's.
 */
void
hk_sub_external(const char *id, const char *text, size_t len)
{
	struct hk_sub *old = hk_sub_find(id), *s = NULL;
	char *cause = NULL;
	cJSON *j;

	if (text != NULL) {
		j = cJSON_ParseWithLength(text, len);
		s = j != NULL ? hk_sub_from_json(j, &cause) : NULL;
		cJSON_Delete(j);
		if (s == NULL) {
			log_error("subscription_cache",
			    "subscription=%s error=%s", id,
			    hk_logq(
			        cause != NULL ? cause : "malformed record"));
			free(cause);
			return;
		}
	} else if (old == NULL)
		return;
	if (s == NULL)
		hk_engine_forget(id);
	sub_install(old, s);
	hk_engine_kick();
}

/*
 * Queues the change; a create is sealed and serialised here, every other
 * change by the writer, from the stored record. 0, or the code of a
 * failure to start, reported (sub_op_finish) and O freed.
 */
static int
sub_submit(struct sub_op *o)
{
	int rc;

	o->rec.rc_op.so_kind = HK_ST_SUB;
	o->rec.rc_op.so_done = sub_op_done;
	o->rec.rc_modify = o->kind == SUB_DELETE ? NULL : sub_modify;
	o->rec.rc_arg = o;
	if ((o->kind == SUB_CREATE || o->kind == SUB_UPDATE) &&
	    (rc = sub_name_hold(o, o->new)) != 0) {
		sub_op_finish(o, rc, 0);
		return rc;
	}
	if (o->kind == SUB_CREATE) {
		o->rec.rc_verb = HK_ST_CREATE;
		sub_op_name(o, o->new->sb_name);
		if (sub_seal(o->new, 1, 1) != 0 ||
		    sub_op_print(o, o->new) != 0) {
			sub_op_finish(o, HK_ENOMEM, 0);
			return HK_ENOMEM;
		}
	} else {
		o->rec.rc_verb =
		    o->kind == SUB_DELETE ? HK_ST_DELETE : HK_ST_UPDATE;
		/* The loop's copy served the checks; the writer builds anew. */
		sub_free(o->new);
		o->new = NULL;
	}
	if ((rc = hk_st_submit(&o->rec.rc_op)) != 0)
		sub_op_finish(o, rc, 0);
	return rc;
}

/* The names a URL's host resolves to, judged before the change is saved. */
static void
sub_dns_done(int result, struct evutil_addrinfo *res, void *arg)
{
	struct sub_op *o = arg;
	struct evutil_addrinfo *ai;
	struct hk_addr a;
	char txt[64];

	for (ai = result == 0 ? res : NULL; ai != NULL; ai = ai->ai_next) {
		if (hk_addr_from_sa(ai->ai_addr, &a) != 0 ||
		    hk_addr_allowed(&a, &hd->hd_allow))
			continue;
		snprintf(o->err, sizeof(o->err),
		    "the url's host resolves to %s, "
		    "which is not a public address (see --allow-targets)",
		    hk_addr_str(&a, txt));
		o->target = 1;
		evutil_freeaddrinfo(res);
		sub_op_finish(o, HK_EINVAL, 0);
		return;
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	/* A name that does not resolve yet is judged at every connect. */
	sub_submit(o);
}

/*
 * Judges the target a create or change sets, then submits. A change
 * that leaves the URL alone is not judged again: a stored target that
 * --allow-targets no longer admits is kept (proto/operation.md).
 */
static void
sub_check_and_submit(struct sub_op *o, int url_set)
{
	struct evutil_addrinfo hints;
	char host[256];
	const char *code;

	if (!url_set) {
		sub_submit(o);
		return;
	}
	if (hk_sub_check_url(o->new->sb_url, host, sizeof(host), &code, o->err,
	        sizeof(o->err)) != 0) {
		o->target = strcmp(code, "target_not_allowed") == 0;
		sub_op_finish(o, HK_EINVAL, 0);
		return;
	}
	if (host[0] == '\0' || hd->hd_dns == NULL) {
		sub_submit(o);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* The callback may run before this returns; O is its own then. */
	evdns_getaddrinfo(hd->hd_dns, host, NULL, &hints, sub_dns_done, o);
}

/*
 * The body's sources as the ids they name, so that the writer, which
 * cannot look into the webhook cache, applies the same change.
 */
static int
sub_body_ids(cJSON *j, const struct hk_sub *s)
{
	cJSON *a;
	size_t i;

	if (cJSON_GetObjectItemCaseSensitive(j, "sources") == NULL)
		return 0;
	if ((a = cJSON_CreateArray()) == NULL)
		return -1;
	for (i = 0; i < s->sb_nsources; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->sb_sources[i]));
	if (!cJSON_ReplaceItemInObjectCaseSensitive(j, "sources", a)) {
		cJSON_Delete(a);
		return -1;
	}
	return 0;
}

/* A new op of KIND for subscription S (NULL: a create). */
static struct sub_op *
sub_op_new(
    const struct hk_sub *s, enum sub_kind kind, hk_sub_done_fn done, void *arg)
{
	struct sub_op *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->kind = kind;
	o->ms = hk_now_ms();
	o->done = done;
	o->arg = arg;
	if (s != NULL)
		memcpy(o->rec.rc_id, s->sb_id, sizeof(o->rec.rc_id));
	return o;
}

/* Tells DONE that nothing could start: out of memory. */
static void
sub_nomem(enum hk_sub_verb verb, hk_sub_done_fn done, void *arg)
{
	struct hk_sub_change c;

	memset(&c, 0, sizeof(c));
	c.sc_verb = verb;
	c.sc_id = "";
	c.sc_err = "";
	c.sc_arg = arg;
	done(&c, HK_ENOMEM);
}

/* Judges BODY onto O's subscription (FLAGS: SUB_J_*). 0 or HK_EINVAL. */
static int
sub_op_judge(struct sub_op *o, const cJSON *body, int flags)
{
	int rc = sub_apply_json(o->new, body, flags, o->err, sizeof(o->err));

	o->target = rc == -2;
	return rc != 0 ? HK_EINVAL : 0;
}

void
hk_sub_create(cJSON *body, hk_sub_done_fn done, void *arg)
{
	struct sub_op *o;
	struct hk_sub *s;
	int rc;

	if ((o = sub_op_new(NULL, SUB_CREATE, done, arg)) == NULL ||
	    (o->new = s = calloc(1, sizeof(*s))) == NULL) {
		free(o);
		cJSON_Delete(body);
		sub_nomem(HK_SUB_CREATE, done, arg);
		return;
	}
	sub_defaults(s);
	rc = sub_op_judge(o, body, SUB_J_NEED_URL);
	cJSON_Delete(body);
	if (rc != 0) {
		sub_op_finish(o, rc, 0);
		return;
	}
	if (s->sb_secret == NULL) {
		if ((s->sb_secret = malloc(HK_SECRET_LEN)) == NULL) {
			sub_op_finish(o, HK_ENOMEM, 0);
			return;
		}
		hk_secret_new(s->sb_secret);
	}
	hk_id_new("sub_", s->sb_id);
	memcpy(o->rec.rc_id, s->sb_id, sizeof(o->rec.rc_id));
	s->sb_created = s->sb_updated = o->ms;
	sub_check_and_submit(o, s->sb_url != NULL);
}

/*
 * The body is judged here against the cache, for a prompt 400, and
 * applied by the writer to the stored record.
 */
void
hk_sub_update(const struct hk_sub *old, cJSON *body, int put,
    hk_sub_done_fn done, void *arg)
{
	struct sub_op *o;
	int rc;

	if ((o = sub_op_new(old, SUB_UPDATE, done, arg)) == NULL ||
	    (o->new = sub_dup(old)) == NULL) {
		free(o);
		cJSON_Delete(body);
		sub_nomem(HK_SUB_UPDATE, done, arg);
		return;
	}
	o->patch = body;
	o->put = put;
	if (put)
		sub_reset(o->new);
	if ((rc = sub_op_judge(o, body, put ? SUB_J_NEED_URL : 0)) != 0) {
		sub_op_finish(o, rc, 0);
		return;
	}
	if (sub_body_ids(body, o->new) != 0) {
		sub_op_finish(o, HK_ENOMEM, 0);
		return;
	}
	sub_check_and_submit(
	    o, cJSON_GetObjectItemCaseSensitive(body, "url") != NULL);
}

void
hk_sub_rotate(
    const struct hk_sub *old, cJSON *body, hk_sub_done_fn done, void *arg)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "secret");
	struct sub_op *o;

	if ((o = sub_op_new(old, SUB_ROTATE, done, arg)) == NULL) {
		cJSON_Delete(body);
		sub_nomem(HK_SUB_ROTATE, done, arg);
		return;
	}
	if (v != NULL &&
	    (!cJSON_IsString(v) || *v->valuestring == '\0' ||
	        strlen(v->valuestring) > 200)) {
		cJSON_Delete(body);
		snprintf(
		    o->err, sizeof(o->err), "secret must be 1-200 characters");
		sub_op_finish(o, HK_EINVAL, 0);
		return;
	}
	if (v != NULL)
		o->secret = strdup(v->valuestring);
	else if ((o->secret = malloc(HK_SECRET_LEN)) != NULL)
		hk_secret_new(o->secret);
	cJSON_Delete(body);
	if (o->secret == NULL) {
		sub_op_finish(o, HK_ENOMEM, 0);
		return;
	}
	sub_submit(o);
}

void
hk_sub_delete(const struct hk_sub *s, hk_sub_done_fn done, void *arg)
{
	struct sub_op *o;

	if ((o = sub_op_new(s, SUB_DELETE, done, arg)) == NULL) {
		sub_nomem(HK_SUB_DELETE, done, arg);
		return;
	}
	sub_submit(o);
}

/*
 * The engine changes a subscription (records failures, moves its ordered
 * head, disables it): only those fields, onto the stored record.
 */
void
hk_sub_save_state(struct hk_sub *s, int64_t failing_since,
    const char *ordered_head, int disable, int64_t epoch)
{
	struct sub_op *o;

	if ((o = sub_op_new(s, SUB_STATE, NULL, NULL)) == NULL) {
		log_error("subscription_state", "subscription=%s error=%s",
		    s->sb_id, hk_logq("out of memory"));
		return;
	}
	o->failing_since = failing_since;
	o->rec.rc_epoch = epoch;
	snprintf(o->ordered_head, sizeof(o->ordered_head), "%s", ordered_head);
	o->disable = disable;
	if (disable && s->sb_disabled_reason != NULL &&
	    (o->reason = strdup(s->sb_disabled_reason)) == NULL) {
		log_error("subscription_state", "subscription=%s error=%s",
		    s->sb_id, hk_logq("out of memory"));
		sub_op_free(o);
		return;
	}
	if (sub_submit(o) == 0)
		s->sb_state_pending++;
}

/* Rewrites S's record with its header values sealed (at load). */
static void
sub_reseal(const struct hk_sub *s)
{
	struct sub_op *o;

	if ((o = sub_op_new(s, SUB_SEAL, NULL, NULL)) == NULL) {
		log_error("subscription_commit", "subscription=%s error=%s",
		    s->sb_id, hk_logq("out of memory"));
		return;
	}
	sub_submit(o);
}

cJSON *
hk_sub_preview(const cJSON *j)
{
	struct hk_sub *s;
	char err[256];
	cJSON *pub = NULL;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	sub_defaults(s);
	if (sub_apply_json(s, j, SUB_J_NEED_URL, err, sizeof(err)) == 0)
		pub = hk_sub_public(s);
	sub_free(s);
	return pub;
}

int
hk_sub_check_json(const cJSON *j, int need_url, char *err, size_t errlen)
{
	struct hk_sub *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sub_defaults(s);
	rc = sub_apply_json(s, j, need_url ? SUB_J_NEED_URL : 0, err, errlen);
	sub_free(s);
	return rc;
}
