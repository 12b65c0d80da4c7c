/*
 * cfgfile.c: the configuration file (--config; SPEC §11, proto/config.md).
 *
 * The file declares webhooks and subscriptions by name. A plan compares
 * it with the caches: each object is created, updated, deleted (one the
 * file made before and no longer names) or unchanged. Applying it runs
 * the plan's changes one after another through the domain's own calls
 * (hk_webhook_*, hk_sub_*), each durable before the next, webhooks
 * first (subscriptions name them as sources), deletions last. What the
 * file made carries managedBy: config, which the admin API keeps to the
 * operational calls.
 *
 * A file is read, parsed (lib/cfgdoc.c), its credentials resolved
 * (secretFile, tokenFile, ${env:NAME}) and every object judged as the
 * API would before anything changes: a bad file changes nothing and
 * says where it is wrong (line and field). A subscription that runs a
 * command is refused unless hookd runs with --allow-commands (the only
 * way one is made: the admin API refuses them). Loop thread only.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cfgdoc.h"
#include "check.h"
#include "hk.h"
#include "hookd.h"

#define CF_FILE_MAX (4 * 1024 * 1024) /* the file, and a credential file */

enum cf_kind { CF_WEBHOOK, CF_SUB };

struct cf_obj {
	enum cf_kind kind;
	enum hk_cfg_action act;
	char name[HOOKD_NAME_MAX + 1];
	char id[HK_ID_MAX]; /* the object as cached, when there is one */
	cJSON *body; /* what the change sends: resolved, managedBy set */
	int line;
};

struct hk_cfgplan {
	struct cf_obj *objs;
	size_t n, cap;
	size_t at; /* applying: the next object */
	size_t changed, failed;
	void (*done)(struct hk_cfgplan *, void *);
	void *arg;
};

static const char *const cf_kinds[] = {"webhook", "subscription"};
static const char *const cf_actions[] = {
    "create", "update", "delete", "unchanged"};

/* Reads PATH whole (at most CF_FILE_MAX bytes): NULL and errno on failure. */
static char *
cf_read(const char *path, size_t *len)
{
	struct stat sb;
	char *b;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &sb) != 0 || sb.st_size > CF_FILE_MAX ||
	    (b = malloc((size_t)sb.st_size + 1)) == NULL) {
		if (errno == 0 || sb.st_size > CF_FILE_MAX)
			errno = EFBIG;
		close(fd);
		return NULL;
	}
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, b + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	b[got] = '\0';
	*len = got;
	return b;
}

/*
 * Credentials from outside the file: a member NAMEFile (secretFile,
 * tokenFile) becomes NAME with the file's text (its last newline
 * dropped), and "${env:VAR}" in any string the variable's value. 0, or
 * -1 with ERR saying which.
 */
static int
cf_resolve(cJSON *j, char *err, size_t errlen)
{
	cJSON *c, *next, *v;
	char key[64], *text, *p, *out;
	const char *s, *e, *val;
	size_t n, len;

	for (c = j != NULL ? j->child : NULL; c != NULL; c = next) {
		next = c->next;
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			if (cf_resolve(c, err, errlen) != 0)
				return -1;
			continue;
		}
		if (!cJSON_IsString(c))
			continue;
		n = c->string != NULL ? strlen(c->string) : 0;
		if (n > 4 && n < sizeof(key) &&
		    strcmp(c->string + n - 4, "File") == 0) {
			memcpy(key, c->string, n - 4);
			key[n - 4] = '\0';
			if (cJSON_GetObjectItemCaseSensitive(j, key) != NULL) {
				snprintf(err, errlen,
				    "%s: both %s and %s given", c->string, key,
				    c->string);
				return -1;
			}
			if ((text = cf_read(c->valuestring, &len)) == NULL) {
				snprintf(err, errlen, "%s: %s: %s", c->string,
				    c->valuestring, strerror(errno));
				return -1;
			}
			while (len > 0 &&
			    (text[len - 1] == '\n' || text[len - 1] == '\r'))
				text[--len] = '\0';
			v = cJSON_CreateString(text);
			sodium_memzero(text, len);
			free(text);
			if (v == NULL)
				return -1;
			cJSON_DeleteItemFromObjectCaseSensitive(j, c->string);
			cJSON_AddItemToObject(j, key, v);
			continue;
		}
		if (strstr(c->valuestring, "${env:") == NULL)
			continue;
		/* Every ${env:VAR} of the string, in place. */
		len = 0;
		out = NULL;
		for (s = c->valuestring; *s != '\0';) {
			if (strncmp(s, "${env:", 6) != 0 ||
			    (e = strchr(s + 6, '}')) == NULL) {
				p = realloc(out, len + 2);
				if (p == NULL)
					goto nomem;
				out = p;
				out[len++] = *s++;
				continue;
			}
			n = (size_t)(e - s - 6);
			if (n == 0 || n >= sizeof(key)) {
				snprintf(err, errlen, "%s: a bad ${env:} name",
				    c->string != NULL ? c->string : "a value");
				free(out);
				return -1;
			}
			memcpy(key, s + 6, n);
			key[n] = '\0';
			if ((val = getenv(key)) == NULL) {
				snprintf(err, errlen,
				    "%s: the environment has no %s",
				    c->string != NULL ? c->string : "a value",
				    key);
				free(out);
				return -1;
			}
			if ((p = realloc(out, len + strlen(val) + 1)) == NULL)
				goto nomem;
			out = p;
			memcpy(out + len, val, strlen(val));
			len += strlen(val);
			s = e + 1;
		}
		if ((p = realloc(out, len + 1)) == NULL)
			goto nomem;
		out = p;
		out[len] = '\0';
		v = cJSON_CreateString(out);
		free(out);
		if (v == NULL)
			return -1;
		if (c->string != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(j, c->string, v);
		else
			cJSON_ReplaceItemViaPointer(j, c, v);
	}
	return 0;
nomem:
	free(out);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* "FILE:LINE" where the line is known (YAML), else "FILE". */
static const char *
cf_at(char *buf, size_t len, const char *file, int line)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d", file, line);
	else
		snprintf(buf, len, "%s", file);
	return buf;
}

static struct cf_obj *
cf_add(struct hk_cfgplan *p, enum cf_kind kind, const char *name)
{
	struct cf_obj *o;
	size_t cap;

	if (p->n == p->cap) {
		cap = p->cap ? p->cap * 2 : 16;
		if ((o = realloc(p->objs, cap * sizeof(*o))) == NULL)
			return NULL;
		p->objs = o;
		p->cap = cap;
	}
	o = &p->objs[p->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	snprintf(o->name, sizeof(o->name), "%s", name);
	return o;
}

static struct cf_obj *
cf_find(struct hk_cfgplan *p, enum cf_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->objs[i].kind == kind &&
		    strcmp(p->objs[i].name, name) == 0)
			return &p->objs[i];
	return NULL;
}

/*
 * Whether every member WANT gives is what HAVE (the public form) shows,
 * credentials and redacted values left out (compared apart).
 */
static int
cf_same(const cJSON *want, const cJSON *have)
{
	const cJSON *c, *h;

	if (!cJSON_IsObject(want))
		return cJSON_Compare(want, have, 1);
	if (!cJSON_IsObject(have))
		return 0;
	for (c = want->child; c != NULL; c = c->next) {
		if (strcmp(c->string, "secret") == 0 ||
		    strcmp(c->string, "token") == 0 ||
		    strcmp(c->string, "headers") == 0 ||
		    strcmp(c->string, "sources") == 0)
			continue;
		h = cJSON_GetObjectItemCaseSensitive(have, c->string);
		if (h == NULL ? !cJSON_IsNull(c) : !cf_same(c, h))
			return 0;
	}
	return 1;
}

static int
cf_same_webhook(const cJSON *want, const struct hk_webhook *wh)
{
	const cJSON *sig, *sec, *tok;
	char hash[HK_TOKEN_HASH_LEN];
	cJSON *pub = hk_webhook_public(wh);
	int same = pub != NULL && cf_same(want, pub) && wh->wh_managed;

	cJSON_Delete(pub);
	sig = cJSON_GetObjectItemCaseSensitive(want, "signature");
	sec = cJSON_GetObjectItemCaseSensitive(sig, "secret");
	if (same && cJSON_IsString(sec))
		same = wh->wh_secret != NULL &&
		    strcmp(wh->wh_secret, sec->valuestring) == 0;
	tok = cJSON_GetObjectItemCaseSensitive(want, "token");
	if (same && cJSON_IsString(tok)) {
		hk_token_hash(tok->valuestring, strlen(tok->valuestring), hash);
		same = strcmp(hash, wh->wh_token_hash) == 0;
	}
	return same;
}

/* Source names as the ids of the webhooks they name (unknown: kept). */
static int
cf_same_sources(const cJSON *want, const struct hk_sub *s)
{
	const struct hk_webhook *wh;
	const cJSON *c;
	size_t i = 0;

	if (want == NULL)
		return s->sb_nsources == 0;
	cJSON_ArrayForEach(c, want) {
		if (!cJSON_IsString(c) || i >= s->sb_nsources)
			return 0;
		wh = hk_webhook_find(c->valuestring);
		if (wh == NULL || strcmp(wh->wh_id, s->sb_sources[i]) != 0)
			return 0;
		i++;
	}
	return i == s->sb_nsources;
}

/*
 * Header values are plaintext in memory: compared one by one; a value
 * given as "[redacted]" (hookctl export's) keeps the stored one, so it
 * matches whatever it is.
 */
static int
cf_same_headers(const cJSON *want, const cJSON *have)
{
	const cJSON *c, *h;
	int n = 0;

	cJSON_ArrayForEach(c, want) {
		h = cJSON_GetObjectItemCaseSensitive(have, c->string);
		if (!cJSON_IsString(c) || !cJSON_IsString(h) ||
		    (strcmp(c->valuestring, "[redacted]") != 0 &&
		        strcmp(c->valuestring, h->valuestring) != 0))
			return 0;
		n++;
	}
	return n == (have != NULL ? cJSON_GetArraySize(have) : 0);
}

static cJSON *cf_judgeable(const cJSON *j, struct hk_cfgplan *p);

/* Members of a subscription's public form the file does not decide. */
static int
cf_sub_ignored(const char *k)
{
	static const char *const keys[] = {"id", "createdAt", "updatedAt",
	    "headers", "sources", "active", "disabledReason"};
	size_t i;

	for (i = 0; i < HK_NELEM(keys); i++)
		if (strcmp(k, keys[i]) == 0)
			return 1;
	return 0;
}

/*
 * Whether S is what body WANT would make: a subscription is replaced as
 * a PUT would replace it, so its whole public form is compared with the
 * one WANT makes with the defaults, what the file omits included. The
 * operator's enable/disable is not the file's (kept on an update).
 */
static int
cf_same_sub(const cJSON *want, const struct hk_sub *s, struct hk_cfgplan *p)
{
	const cJSON *sec, *hs, *c, *o;
	cJSON *judged = cf_judgeable(want, p);
	cJSON *have = hk_sub_public(s);
	cJSON *make = judged != NULL ? hk_sub_preview(judged) : NULL;
	int same = have != NULL && make != NULL && s->sb_managed &&
	    cf_same_sources(
	        cJSON_GetObjectItemCaseSensitive(want, "sources"), s);
	int pass;

	for (pass = 0; same && pass < 2; pass++)
		for (c = (pass == 0 ? make : have)->child; same && c != NULL;
		     c = c->next) {
			if (cf_sub_ignored(c->string))
				continue;
			o = cJSON_GetObjectItemCaseSensitive(
			    pass == 0 ? have : make, c->string);
			same = o != NULL && cJSON_Compare(c, o, 1);
		}
	cJSON_Delete(judged);
	cJSON_Delete(have);
	cJSON_Delete(make);
	sec = cJSON_GetObjectItemCaseSensitive(want, "secret");
	if (same && cJSON_IsString(sec))
		same = s->sb_secret != NULL &&
		    strcmp(s->sb_secret, sec->valuestring) == 0;
	hs = cJSON_GetObjectItemCaseSensitive(want, "headers");
	return same && cf_same_headers(hs, s->sb_headers);
}

/*
 * A copy of subscription body J to judge before the webhooks it names
 * exist: sources the file declares are left out (they will exist).
 */
static cJSON *
cf_judgeable(const cJSON *j, struct hk_cfgplan *p)
{
	cJSON *c = cJSON_Duplicate(j, 1), *src, *e, *next, *hs;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
	const struct hk_sub *s =
	    cJSON_IsString(name) ? hk_sub_find_any(name->valuestring) : NULL;
	const cJSON *have;

	/* A value kept as "[redacted]" is judged as the stored one is. */
	hs = c != NULL ? cJSON_GetObjectItemCaseSensitive(c, "headers") : NULL;
	cJSON_ArrayForEach(e, hs) {
		have = s != NULL && s->sb_headers != NULL
		    ? cJSON_GetObjectItemCaseSensitive(s->sb_headers, e->string)
		    : NULL;
		if (cJSON_IsString(e) &&
		    strcmp(e->valuestring, "[redacted]") == 0 &&
		    cJSON_IsString(have))
			cJSON_SetValuestring(e, have->valuestring);
	}
	if (c == NULL ||
	    (src = cJSON_GetObjectItemCaseSensitive(c, "sources")) == NULL ||
	    !cJSON_IsArray(src))
		return c;
	for (e = src->child; e != NULL; e = next) {
		next = e->next;
		if (cJSON_IsString(e) &&
		    hk_webhook_find(e->valuestring) == NULL &&
		    cf_find(p, CF_WEBHOOK, e->valuestring) != NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(src, e));
	}
	return c;
}

/* One section's objects into P, judged; -1 with ERR when one is bad. */
static int
cf_section(struct hk_cfgplan *p, const struct hk_cfgdoc *doc, const char *file,
    enum cf_kind kind, char *err, size_t errlen)
{
	const char *sect = kind == CF_WEBHOOK ? "webhooks" : "subscriptions";
	const cJSON *list =
	    cJSON_GetObjectItemCaseSensitive(doc->cd_root, sect);
	const cJSON *e, *name;
	char why[512], at[4200];
	struct cf_obj *o;
	cJSON *body, *judged;
	int i = 0, line, rc;

	if (list == NULL || cJSON_IsNull(list))
		return 0;
	if (!cJSON_IsArray(list)) {
		snprintf(err, errlen, "%s: %s must be a list",
		    cf_at(at, sizeof(at), file, hk_cfgdoc_line(doc, list)),
		    sect);
		return -1;
	}
	cJSON_ArrayForEach(e, list) {
		line = hk_cfgdoc_line(doc, e);
		name = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (!cJSON_IsObject(e) || !cJSON_IsString(name) ||
		    !hk_check_slug(name->valuestring, HOOKD_NAME_MAX,
		        kind == CF_WEBHOOK ? "wh_" : "sub_")) {
			snprintf(err, errlen,
			    "%s: %s[%d]: each needs a name (a slug of "
			    "1-%d characters [a-z0-9._-])",
			    cf_at(at, sizeof(at), file, line), sect, i,
			    HOOKD_NAME_MAX);
			return -1;
		}
		if (cf_find(p, kind, name->valuestring) != NULL) {
			snprintf(err, errlen, "%s: %s %s is declared twice",
			    cf_at(at, sizeof(at), file, line), cf_kinds[kind],
			    name->valuestring);
			return -1;
		}
		if ((body = cJSON_Duplicate(e, 1)) == NULL ||
		    (o = cf_add(p, kind, name->valuestring)) == NULL) {
			cJSON_Delete(body);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		o->body = body;
		o->line = line;
		if (cf_resolve(body, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s %s: %s",
			    cf_at(at, sizeof(at), file, line), cf_kinds[kind],
			    o->name, why);
			return -1;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(body, "managedBy");
		cJSON_AddStringToObject(body, "managedBy", "config");
		/* Running commands is the operator's choice, not the file's. */
		if (kind == CF_SUB && !hd->hd_conf.cf_allow_commands &&
		    cJSON_GetObjectItemCaseSensitive(body, "command") != NULL) {
			snprintf(err, errlen,
			    "%s: subscription %s: command needs hookd to run "
			    "with --allow-commands",
			    cf_at(at, sizeof(at), file,
			        hk_cfgdoc_line(doc,
			            cJSON_GetObjectItemCaseSensitive(
			                e, "command"))),
			    o->name);
			return -1;
		}
		if (kind == CF_WEBHOOK)
			rc = hk_webhook_check_json(body, 1, why, sizeof(why));
		else if ((judged = cf_judgeable(body, p)) == NULL)
			rc = -1, snprintf(why, sizeof(why), "out of memory");
		else {
			rc = hk_sub_check_json(judged, 1, why, sizeof(why));
			cJSON_Delete(judged);
		}
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s %s: %s",
			    cf_at(at, sizeof(at), file, line), cf_kinds[kind],
			    o->name, why);
			return -1;
		}
		i++;
	}
	return 0;
}

/* What each object of P needs, and what the file no longer names. */
static int
cf_compare(struct hk_cfgplan *p)
{
	const struct hk_webhook *wh;
	const struct hk_sub *s;
	struct cf_obj *o;
	size_t i, n = p->n;

	for (i = 0; i < n; i++) {
		o = &p->objs[i];
		if (o->kind == CF_WEBHOOK) {
			if ((wh = hk_webhook_find(o->name)) == NULL)
				o->act = HK_CFG_CREATE;
			else {
				memcpy(o->id, wh->wh_id, sizeof(o->id));
				o->act = cf_same_webhook(o->body, wh)
				    ? HK_CFG_SAME
				    : HK_CFG_UPDATE;
			}
		} else if ((s = hk_sub_find_any(o->name)) == NULL ||
		    s->sb_name == NULL || strcmp(s->sb_name, o->name) != 0)
			o->act = HK_CFG_CREATE;
		else {
			memcpy(o->id, s->sb_id, sizeof(o->id));
			o->act = cf_same_sub(o->body, s, p) ? HK_CFG_SAME
			                                    : HK_CFG_UPDATE;
		}
	}
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
		if (s->sb_managed &&
		    (s->sb_name == NULL ||
		        cf_find(p, CF_SUB, s->sb_name) == NULL)) {
			if ((o = cf_add(p, CF_SUB,
			         s->sb_name != NULL ? s->sb_name : s->sb_id)) ==
			    NULL)
				return HK_ENOMEM;
			o->act = HK_CFG_DELETE;
			memcpy(o->id, s->sb_id, sizeof(o->id));
		}
	TAILQ_FOREACH(wh, hk_webhook_all(), wh_entry)
		if (wh->wh_managed &&
		    cf_find(p, CF_WEBHOOK, wh->wh_name) == NULL) {
			if ((o = cf_add(p, CF_WEBHOOK, wh->wh_name)) == NULL)
				return HK_ENOMEM;
			o->act = HK_CFG_DELETE;
			memcpy(o->id, wh->wh_id, sizeof(o->id));
		}
	return 0;
}

void
hk_cfgplan_free(struct hk_cfgplan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		cJSON_Delete(p->objs[i].body);
	free(p->objs);
	free(p);
}

struct hk_cfgplan *
hk_cfgplan_make(const char *path, char *err, size_t errlen)
{
	static const char *const sections[] = {"webhooks", "subscriptions"};
	struct hk_cfgplan *p;
	struct hk_cfgdoc doc;
	const cJSON *c;
	char why[512];
	char *text;
	size_t len, i;

	if ((text = cf_read(path, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (hk_cfgdoc_parse(&doc, text, len, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(text);
		return NULL;
	}
	free(text);
	for (c = doc.cd_root->child; c != NULL; c = c->next) {
		for (i = 0; i < HK_NELEM(sections); i++)
			if (strcmp(c->string, sections[i]) == 0)
				break;
		if (i == HK_NELEM(sections)) {
			snprintf(err, errlen,
			    "%s: %s is not a section (webhooks, "
			    "subscriptions)",
			    cf_at(why, sizeof(why), path,
			        hk_cfgdoc_line(&doc, c)),
			    c->string);
			hk_cfgdoc_free(&doc);
			return NULL;
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    cf_section(p, &doc, path, CF_WEBHOOK, err, errlen) != 0 ||
	    cf_section(p, &doc, path, CF_SUB, err, errlen) != 0 ||
	    cf_compare(p) != 0) {
		if (p == NULL || err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		hk_cfgplan_free(p);
		hk_cfgdoc_free(&doc);
		return NULL;
	}
	hk_cfgdoc_free(&doc);
	return p;
}

int
hk_cfgplan_print(const struct hk_cfgplan *p, struct hk_buf *b)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < p->n && rc == 0; i++)
		rc = hk_buf_printf(b, "%-9s %-12s %s%s%s\n",
		    cf_actions[p->objs[i].act], cf_kinds[p->objs[i].kind],
		    p->objs[i].name, p->objs[i].id[0] != '\0' ? " " : "",
		    p->objs[i].id);
	return rc;
}

size_t
hk_cfgplan_count(const struct hk_cfgplan *p, enum hk_cfg_action act)
{
	size_t i, n = 0;

	for (i = 0; i < p->n; i++)
		n += p->objs[i].act == act;
	return n;
}

static void cf_next(struct hk_cfgplan *p);

/* One change is over: logged, then the next. */
static void
cf_step_done(struct hk_cfgplan *p, int rc, const char *why)
{
	struct cf_obj *o = &p->objs[(p->at - 1) % p->n];

	if (rc == 0) {
		p->changed++;
		log_info("config_applied", "kind=%s name=%s action=%s",
		    cf_kinds[o->kind], o->name, cf_actions[o->act]);
	} else {
		p->failed++;
		log_error("config_apply", "kind=%s name=%s action=%s error=%s",
		    cf_kinds[o->kind], o->name, cf_actions[o->act],
		    hk_logq(
		        why != NULL && why[0] != '\0' ? why : hk_strerror(rc)));
	}
	cf_next(p);
}

static void
cf_wh_done(const struct hk_webhook_change *c, int rc)
{
	cf_step_done(c->wc_arg, rc, c->wc_err);
}

static void
cf_sub_done(const struct hk_sub_change *c, int rc)
{
	cf_step_done(c->sc_arg, rc, c->sc_err);
}

/* Whether O goes in pass PASS: 0 webhooks made, 1 subscriptions made,
 * 2 subscriptions deleted, 3 webhooks deleted. */
static int
cf_pass_of(const struct cf_obj *o)
{
	if (o->act == HK_CFG_DELETE)
		return o->kind == CF_SUB ? 2 : 3;
	return o->kind == CF_WEBHOOK ? 0 : 1;
}

/* Starts the next change of P, or ends the plan. */
static void
cf_next(struct hk_cfgplan *p)
{
	const struct hk_webhook *wh;
	const struct hk_sub *s;
	struct cf_obj *o;
	cJSON *body;

	for (; p->at < 4 * p->n; p->at++) {
		o = &p->objs[p->at % p->n];
		if (cf_pass_of(o) != (int)(p->at / p->n) ||
		    o->act == HK_CFG_SAME)
			continue;
		break;
	}
	if (p->n == 0 || p->at >= 4 * p->n) {
		log_info("config_done", "changed=%zu failed=%zu unchanged=%zu",
		    p->changed, p->failed, hk_cfgplan_count(p, HK_CFG_SAME));
		if (p->done != NULL)
			p->done(p, p->arg);
		return;
	}
	o = &p->objs[p->at % p->n];
	/* Renumbered so cf_step_done finds it: at - 1 is the object. */
	p->at = (p->at / p->n) * p->n + (size_t)(o - p->objs) + 1;
	body = o->body != NULL ? cJSON_Duplicate(o->body, 1) : NULL;
	if (o->kind == CF_WEBHOOK) {
		wh = o->id[0] != '\0' ? hk_webhook_find(o->id) : NULL;
		if (o->act == HK_CFG_CREATE)
			hk_webhook_create(body, cf_wh_done, p);
		else if (wh == NULL) {
			cJSON_Delete(body);
			cf_step_done(p, HK_ENOTFOUND, "deleted meanwhile");
		} else if (o->act == HK_CFG_UPDATE) {
			/* A name is a webhook's key here: never renamed. */
			cJSON_DeleteItemFromObjectCaseSensitive(body, "name");
			hk_webhook_update(wh, body, cf_wh_done, p);
		} else
			hk_webhook_delete(wh, cf_wh_done, p);
		return;
	}
	s = o->id[0] != '\0' ? hk_sub_find(o->id) : NULL;
	if (o->act == HK_CFG_CREATE)
		hk_sub_create(body, cf_sub_done, p);
	else if (s == NULL) {
		cJSON_Delete(body);
		cf_step_done(p, HK_ENOTFOUND, "deleted meanwhile");
	} else if (o->act == HK_CFG_UPDATE) {
		/* Enabled or disabled by the operator: theirs, unless the file says. */
		if (body != NULL &&
		    cJSON_GetObjectItemCaseSensitive(body, "active") == NULL)
			cJSON_AddBoolToObject(body, "active", s->sb_active);
		hk_sub_update(s, body, 1, cf_sub_done, p);
	} else
		hk_sub_delete(s, cf_sub_done, p);
}

void
hk_cfgplan_apply(
    struct hk_cfgplan *p, void (*done)(struct hk_cfgplan *, void *), void *arg)
{
	p->at = 0;
	p->done = done;
	p->arg = arg;
	cf_next(p);
}
