/*
 * event.c: the commit of an event (one HK_ST_EVENT, store.h): its
 * envelope, its idempotency key and a delivery to each subscription it
 * matches, durable together or not at all; and the envelope's helpers
 * (its head, type patterns, type checks).
 *
 * A key is remembered for --retention: after that a repeat creates a new
 * event. The operation owns copies of everything it points to, from
 * hk_event_submit() until hk_event_op_free(). Loop thread only; the store
 * applies the operation on its writer thread.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "env.h"
#include "hdr.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "json.h"

/* Who hears of committed events (the console's stream). */
static void (*event_watcher)(const char *env, size_t len);

void
hk_event_watch(void (*fn)(const char *env, size_t len))
{
	event_watcher = fn;
}

/* so_done: the event is durable (or refused); its caller hears of it. */
static void
event_done(struct hk_st_op *op, int rc)
{
	struct hk_event_op *eo = (struct hk_event_op *)(void *)op;

	if (rc == HK_EDUP)
		memcpy(eo->eo_dup_id, eo->eo_ev.ev_dup, HK_ID_MAX);
	if (rc == 0 && eo->eo_ev.ev_nsubs > 0)
		hk_engine_kick();
	if (rc == 0 && event_watcher != NULL)
		event_watcher(eo->eo_env.b, eo->eo_env.len);
	if (eo->eo_done != NULL)
		eo->eo_done(eo, rc);
	else {
		if (rc != 0 && rc != HK_EDUP)
			log_error("event_commit", "event=%s error=%s",
			    eo->eo_id, hk_logq(hk_strerror(rc)));
		hk_event_op_free(eo);
	}
}

/* The active subscriptions that want this event, for its commit. */
static int
event_fanout(struct hk_event_op *eo, const char *type, const char *source)
{
	struct hk_st_event *e = &eo->eo_ev;
	struct hk_sub *s;
	size_t n = 0;

	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
		if (hk_sub_matches(s, type, source))
			n++;
	if (n == 0)
		return 0;
	e->ev_subs = calloc(n, sizeof(*e->ev_subs));
	eo->eo_sub_max = calloc(n, sizeof(*eo->eo_sub_max));
	if (e->ev_subs == NULL || eo->eo_sub_max == NULL)
		return HK_ENOMEM;
	e->ev_max = eo->eo_sub_max;
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
		if (e->ev_nsubs < n && hk_sub_matches(s, type, source)) {
			memcpy(e->ev_subs[e->ev_nsubs], s->sb_id, HK_ID_MAX);
			eo->eo_sub_max[e->ev_nsubs++] = s->sb_max_attempts;
		}
	return 0;
}

/* Frees EO and everything it owns; NULL is a no-op. */
void
hk_event_op_free(struct hk_event_op *eo)
{
	if (eo == NULL)
		return;
	free(eo->eo_idem);
	free(eo->eo_ev.ev_subs);
	free(eo->eo_sub_max);
	hk_buf_free(&eo->eo_env);
	free(eo);
}

/* The idempotency key SCOPE '\0' IDEM, owned by EO. 0 or HK_ENOMEM. */
static int
event_idem(struct hk_event_op *eo, const char *scope, const char *idem)
{
	size_t slen = strlen(scope), klen = strlen(idem);

	if ((eo->eo_idem = malloc(slen + 1 + klen)) == NULL)
		return HK_ENOMEM;
	memcpy(eo->eo_idem, scope, slen + 1);
	memcpy(eo->eo_idem + slen + 1, idem, klen);
	eo->eo_ev.ev_idem = eo->eo_idem;
	eo->eo_ev.ev_idem_len = slen + 1 + klen;
	return 0;
}

struct hk_event_op *
hk_event_submit(const char *type, const char *source, const char *name,
    const char *payload, size_t plen, const char *scope, const char *idem,
    hk_event_done_fn done, void *arg, int *err)
{
	struct hk_event_op *eo;
	struct hk_st_event *e;
	struct hk_env env;

	if ((eo = calloc(1, sizeof(*eo))) == NULL) {
		*err = HK_ENOMEM;
		return NULL;
	}
	e = &eo->eo_ev;
	e->ev_ms = hk_now_ms();
	hk_id_at("evt_", e->ev_ms, eo->eo_id);
	memcpy(e->ev_id, eo->eo_id, HK_ID_MAX);
	env.ev_id = eo->eo_id;
	env.ev_type = type;
	env.ev_ms = e->ev_ms;
	env.ev_webhook = source;
	env.ev_name = name;
	env.ev_payload = payload;
	env.ev_payload_len = plen;
	if (hk_env_build(&eo->eo_env, &env) != 0 ||
	    event_fanout(eo, type, source) != 0 ||
	    (idem != NULL && event_idem(eo, scope, idem) != 0))
		goto nomem;
	e->ev_env = eo->eo_env.b;
	e->ev_envlen = eo->eo_env.len;
	e->ev_idem_ttl_ms = hd->hd_conf.cf_retention_ms;
	e->ev_op.so_kind = HK_ST_EVENT;
	e->ev_op.so_done = event_done;
	e->ev_arg = eo;
	eo->eo_done = done;
	eo->eo_arg = arg;
	if ((*err = hk_st_submit(&e->ev_op)) != 0) {
		hk_event_op_free(eo);
		return NULL;
	}
	return eo;
nomem:
	hk_event_op_free(eo);
	*err = HK_ENOMEM;
	return NULL;
}

/*
 * An event type goes out in a header line: only visible ASCII, so no
 * byte from a sender can split the request at a receiver (proto/http.md).
 */
int
hk_event_type_ok(const char *t)
{
	size_t n = strlen(t);

	return n <= HOOKD_TYPE_MAX && hk_hdr_visible(t, n);
}

int
hk_event_type_raw(const struct hk_json_str *raw, char *out, size_t len)
{
	struct hk_json_str s;
	long n;

	if (raw->p == NULL || raw->kind != HK_JSON_STRING)
		return -1;
	s.p = raw->p + 1;
	s.len = raw->len - 2;
	s.kind = HK_JSON_STRING;
	/* A \u0000 would cut the C string: what follows is never checked. */
	if ((n = hk_json_unescape(&s, out, len)) < 0 ||
	    (size_t)n != strlen(out) || !hk_event_type_ok(out))
		return -1;
	return 0;
}

/*
 * The members before the payload of a stored envelope, parsed. The
 * payload is the last member, and the text ,"payload": cannot occur
 * inside the strings before it (their quotes are escaped), so the head
 * is cut there and closed.
 */
cJSON *
hk_event_head(const char *env, size_t len)
{
	static const char mark[] = ",\"payload\":";
	char *cut, *tmp;
	cJSON *j;
	size_t n;

	cut = memmem(env, len, mark, sizeof(mark) - 1);
	if (cut == NULL)
		return NULL;
	n = (size_t)(cut - env);
	if ((tmp = malloc(n + 2)) == NULL)
		return NULL;
	memcpy(tmp, env, n);
	tmp[n] = '}';
	tmp[n + 1] = '\0';
	j = cJSON_Parse(tmp);
	free(tmp);
	return j;
}

/* Whether TYPE matches PATTERN: exact, "prefix.*" or "*". */
int
hk_event_match(const char *pattern, const char *type)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, type, n - 1) == 0;
	return strcmp(pattern, type) == 0;
}
