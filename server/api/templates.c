/*
 * templates.c: POST /api/templates/preview (proto/admin.md), what a
 * subscription's template would send.
 *
 * The template is judged exactly as a subscription's is when saved
 * (hk_tmpl_validate: the same 400 and message), then rendered against
 * a stored event (eventId), an event given in the body (event, an
 * envelope as GET /api/events/{id} shows it; its payload keeps its
 * digits), or the sample event the save check uses. Rendering against a
 * stored envelope is lib/env.c's, the engine's own. Nothing is stored.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "env.h"
#include "hk.h"
#include "hookd.h"
#include "json.h"
#include "tmpl.h"

/* A preview waiting for its stored event. */
struct tpl_preview {
	struct hk_st_read rd;
	struct evhttp_request *req;
	char *tmpl;
	char id[HK_ID_MAX];
	struct hk_buf out;
	int rc;
};

/* Answers {"body":…,"json":…} for the rendering in OUT. */
static void
tpl_answer(struct evhttp_request *req, const struct hk_buf *out)
{
	struct hk_buf b = HK_BUF_INIT;
	cJSON *j =
	    cJSON_ParseWithLength(out->b != NULL ? out->b : "", out->len);

	if (hk_buf_adds(&b, "{\"body\":\"") != 0 ||
	    hk_buf_add_jsonesc(&b, out->b != NULL ? out->b : "", out->len) !=
	        0 ||
	    hk_buf_addc(&b, '"') != 0 ||
	    hk_buf_printf(
	        &b, ",\"json\":%s}\n", j != NULL ? "true" : "false") != 0)
		hk_http_error(req, 500, "internal", "out of memory");
	else
		hk_http_reply(req, 200, &b);
	cJSON_Delete(j);
	hk_buf_free(&b);
}

static void
tpl_rendered(struct evhttp_request *req, int rc, const struct hk_buf *out)
{
	if (rc == HK_ENOMEM)
		hk_http_error(req, 500, "internal", "out of memory");
	else if (rc != 0)
		hk_http_error(req, 400, "bad_request",
		    "the template cannot be rendered against this event");
	else
		tpl_answer(req, out);
}

static int
tpl_row(struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct tpl_preview *p = (struct tpl_preview *)rd;

	(void)id;
	p->rc = hk_env_render(p->tmpl, text, len, &p->out);
	return 1;
}

static void
tpl_done(struct hk_st_read *rd, int rc)
{
	struct tpl_preview *p = (struct tpl_preview *)rd;

	if (rc == HK_ENOTFOUND)
		hk_http_error(p->req, 404, "not_found", "no event %s", p->id);
	else if (rc != 0)
		hk_http_error(p->req, 503, "unavailable",
		    "cannot read the store: %s", hk_strerror(rc));
	else
		tpl_rendered(p->req, p->rc, &p->out);
	hk_buf_free(&p->out);
	free(p->tmpl);
	free(p);
}

/* Against stored event ID: read, then rendered in tpl_row. */
static void
tpl_stored(struct evhttp_request *req, const char *tmpl, const char *id)
{
	struct tpl_preview *p;

	if (!hk_id_valid("evt_", id)) {
		hk_http_error(req, 404, "not_found", "no event %.80s", id);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->tmpl = strdup(tmpl)) == NULL) {
		free(p);
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	p->req = req;
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->rd.rd_list = HK_SL_EVENTS;
	p->rd.rd_row = tpl_row;
	p->rd.rd_done = tpl_done;
	hk_st_get(&p->rd, p->id);
}

/* The string member NAME of J: its value, DEF when absent, NULL if not a
 * string. */
static const char *
tpl_str(const cJSON *j, const char *name, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	if (v == NULL)
		return def;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Against the event EV of the body, whose text is RAW: made an envelope. */
static void
tpl_given(struct evhttp_request *req, const char *tmpl, const cJSON *ev,
    const struct hk_json_str *raw)
{
	struct hk_buf env = HK_BUF_INIT, out = HK_BUF_INIT;
	struct hk_json_str payload;
	const char *ts;
	struct hk_env e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.ev_id = tpl_str(ev, "id", "evt_sample");
	e.ev_type = tpl_str(ev, "event", "sample.event");
	e.ev_name = tpl_str(
	    cJSON_GetObjectItemCaseSensitive(ev, "source"), "name", "sample");
	ts = tpl_str(ev, "timestamp", "2025-01-01T00:00:00.000Z");
	if (e.ev_id == NULL || e.ev_type == NULL || e.ev_name == NULL ||
	    ts == NULL || hk_time_parse(ts, &e.ev_ms) != 0) {
		hk_http_error(req, 400, "bad_request",
		    "event must be an event as GET /api/events/{id} shows it: "
		    "id, event, timestamp and source.name strings, a payload");
		return;
	}
	rc = hk_json_child(raw->p, raw->len, "payload", &payload);
	if (rc == HK_ENOTFOUND) {
		payload.p = "{}";
		payload.len = 2;
	} else if (rc != 0) {
		hk_http_error(
		    req, 400, "invalid_json", "the body is not valid JSON");
		return;
	}
	e.ev_payload = payload.p;
	e.ev_payload_len = payload.len;
	if ((rc = hk_env_build(&env, &e)) == 0)
		rc = hk_env_render(tmpl, env.b, env.len, &out);
	tpl_rendered(req, rc, &out);
	hk_buf_free(&env);
	hk_buf_free(&out);
}

/* Against the sample event of the save check (payload fields are 0). */
static void
tpl_sample(struct evhttp_request *req, const char *tmpl)
{
	struct hk_tmpl_vars tv = {"sample.event", "evt_sample",
	    "2025-01-01T00:00:00.000Z", "sample", "{}", 2, NULL, 1};
	struct hk_buf out = HK_BUF_INIT;

	tpl_rendered(req, hk_tmpl_render(tmpl, &tv, &out), &out);
	hk_buf_free(&out);
}

static void
tpl_preview(struct evhttp_request *req)
{
	static const char *const known[] = {
	    "template", "event", "eventId", NULL};
	static const char *const raw_names[] = {"event"};
	struct hk_json_str raw;
	const cJSON *t, *ev, *id;
	char err[256];
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, known) != 0)
		goto out;
	t = cJSON_GetObjectItemCaseSensitive(j, "template");
	ev = cJSON_GetObjectItemCaseSensitive(j, "event");
	id = cJSON_GetObjectItemCaseSensitive(j, "eventId");
	if (!cJSON_IsString(t) || strlen(t->valuestring) > HOOKD_TEMPLATE_MAX) {
		hk_http_error(req, 400, "bad_request",
		    "template must be a string of at most %d bytes",
		    HOOKD_TEMPLATE_MAX);
		goto out;
	}
	if ((ev != NULL && !cJSON_IsObject(ev)) ||
	    (id != NULL && !cJSON_IsString(id)) || (ev != NULL && id != NULL)) {
		hk_http_error(req, 400, "bad_request",
		    "give event (an object) or eventId (a string), not both");
		goto out;
	}
	if (hk_tmpl_validate(t->valuestring, err, sizeof(err)) != 0) {
		hk_http_error(req, 400, "bad_request", "%s", err);
		goto out;
	}
	if (id != NULL)
		tpl_stored(req, t->valuestring, id->valuestring);
	else if (ev == NULL)
		tpl_sample(req, t->valuestring);
	else if (hk_event_body_raw(req, raw_names, 1, &raw) == 0)
		tpl_given(req, t->valuestring, ev, &raw);
out:
	cJSON_Delete(j);
}

void
hk_template_route(struct evhttp_request *req, char **seg, int nseg)
{
	if (nseg != 3 || strcmp(seg[2], "preview") != 0) {
		hk_http_error(req, 404, "not_found", "no such endpoint");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		hk_admin_405(req, "POST");
		return;
	}
	tpl_preview(req);
}
