/*
 * admin.c: the admin listener: authentication, routing and the helpers
 * every /api handler shares (JSON bodies, paging, query parameters).
 *
 * Every request but /healthz, /readyz and the console's own files
 * (console.c) needs the admin token as a bearer token, compared in
 * constant time. Admin bodies are JSON objects;
 * a member the endpoint does not know is refused with 400 bad_request
 * (a typo such as "enabeld" must not be silently ignored).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "hk.h"
#include "hookd.h"
#include "id.h"

#define ADMIN_MAXSEG 6

void
hk_admin_405(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Allow", allow);
	hk_http_error(req, 405, "method_not_allowed", "allowed: %s", allow);
}

int
hk_admin_body(struct evhttp_request *req, cJSON **out)
{
	struct evbuffer *eb = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(eb);
	const char *end, *p;
	cJSON *j;

	*out = NULL;
	if (len == 0) {
		/* An empty body is an empty object: nothing to change. */
		if ((*out = cJSON_CreateObject()) == NULL) {
			hk_http_error(req, 500, "internal", "out of memory");
			return -1;
		}
		return 0;
	}
	if ((p = (const char *)evbuffer_pullup(eb, -1)) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return -1;
	}
	j = cJSON_ParseWithLengthOpts(p, len, &end, 0);
	if (j != NULL)
		while (end < p + len &&
		    (*end == ' ' || *end == '\t' || *end == '\r' ||
		        *end == '\n'))
			end++;
	if (j == NULL || end != p + len) {
		cJSON_Delete(j);
		hk_http_error(
		    req, 400, "invalid_json", "the body is not valid JSON");
		return -1;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		hk_http_error(
		    req, 400, "bad_request", "the body must be a JSON object");
		return -1;
	}
	*out = j;
	return 0;
}

int
hk_admin_known(
    struct evhttp_request *req, const cJSON *obj, const char *const *names)
{
	const cJSON *m;
	size_t i;

	cJSON_ArrayForEach(m, obj) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(m->string, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			hk_http_error(req, 400, "bad_request",
			    "unknown field %.64s", m->string);
			return -1;
		}
	}
	return 0;
}

int
hk_admin_query(
    struct evhttp_request *req, const char *name, char *out, size_t len)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq params;
	const char *v;
	int rc = 0;

	out[0] = '\0';
	if (q == NULL)
		return 0;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) != 0)
		return -1;
	if ((v = evhttp_find_header(&params, name)) != NULL) {
		if (strlen(v) >= len)
			rc = -1;
		else {
			memcpy(out, v, strlen(v) + 1);
			rc = 1;
		}
	}
	evhttp_clear_headers(&params);
	return rc;
}

int
hk_admin_managed(struct evhttp_request *req, const cJSON *body, int managed,
    const char *operational)
{
	const cJSON *c;

	if (body != NULL &&
	    (cJSON_GetObjectItemCaseSensitive(body, "managedBy") != NULL ||
	        cJSON_GetObjectItemCaseSensitive(body, "token") != NULL)) {
		hk_http_error(req, 400, "bad_request",
		    "managedBy and token are set by the configuration file "
		    "(--config) only");
		return -1;
	}
	if (!managed)
		return 0;
	/* An operational change (enable, disable) is the operator's. */
	if (body != NULL && operational != NULL && cJSON_IsObject(body) &&
	    body->child != NULL) {
		for (c = body->child; c != NULL; c = c->next)
			if (strcmp(c->string, operational) != 0)
				break;
		if (c == NULL)
			return 0;
	}
	hk_http_error(req, 409, "managed_by_config",
	    "this is the configuration file's: change it there and reload "
	    "(SIGHUP)");
	return -1;
}

int
hk_admin_window(struct evhttp_request *req, int64_t *since, int64_t *until)
{
	char v[2][64];

	*since = -1;
	*until = -1;
	if (hk_admin_query(req, "since", v[0], sizeof(v[0])) < 0 ||
	    hk_admin_query(req, "until", v[1], sizeof(v[1])) < 0 ||
	    (v[0][0] != '\0' && hk_time_parse(v[0], since) != 0) ||
	    (v[1][0] != '\0' && hk_time_parse(v[1], until) != 0)) {
		hk_http_error(req, 400, "bad_request",
		    "since and until must be ISO 8601 times or seconds since the epoch");
		return -1;
	}
	return 0;
}

int
hk_admin_page(
    struct evhttp_request *req, int *limit, char *after, size_t afterlen)
{
	char buf[16], *end;
	long n;

	*limit = HOOKD_LIST_DEFAULT;
	switch (hk_admin_query(req, "limit", buf, sizeof(buf))) {
	case 1:
		n = strtol(buf, &end, 10);
		if (*end != '\0' || end == buf || n < 1 || n > HOOKD_LIST_MAX) {
			hk_http_error(req, 400, "bad_request",
			    "limit must be from 1 to %d", HOOKD_LIST_MAX);
			return -1;
		}
		*limit = (int)n;
		break;
	case -1:
		hk_http_error(req, 400, "bad_request", "malformed query");
		return -1;
	}
	if (hk_admin_query(req, "after", after, afterlen) < 0) {
		hk_http_error(req, 400, "bad_request", "after is not a cursor");
		return -1;
	}
	return 0;
}

static int
admin_pager_row(
    struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct hk_admin_pager *pg = (struct hk_admin_pager *)rd;
	int r = pg->pg_item(pg, id, text, len);

	if (r < 0 && pg->pg_rc == 0)
		r = -1;
	return r;
}

static void
admin_pager_done(struct hk_st_read *rd, int rc)
{
	struct hk_admin_pager *pg = (struct hk_admin_pager *)rd;
	struct hk_buf *b = &pg->pg_b;

	if (rc == 0)
		rc = pg->pg_rc;
	if (rc == HK_ENOMEM)
		hk_http_error(pg->pg_req, 500, "internal", "out of memory");
	else if (rc != 0)
		hk_http_error(pg->pg_req, 503, "unavailable",
		    "cannot read the store: %s", hk_strerror(rc));
	else if (hk_buf_adds(b, "],\"next\":") != 0 ||
	    hk_buf_add_jsonstr(b, rd->rd_more ? rd->rd_next : NULL) != 0 ||
	    hk_buf_adds(b, "}\n") != 0)
		hk_http_error(pg->pg_req, 500, "internal", "out of memory");
	else
		hk_http_reply(pg->pg_req, 200, b);
	if (pg->pg_free != NULL)
		pg->pg_free(pg);
	hk_buf_free(b);
	free(pg);
}

void *
hk_admin_pager(struct evhttp_request *req, enum hk_st_list list,
    const char *scope, size_t size)
{
	struct hk_admin_pager *pg;
	int limit;

	if (size < sizeof(*pg) || (pg = calloc(1, size)) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	if (hk_admin_page(req, &limit, pg->pg_after, sizeof(pg->pg_after)) !=
	    0) {
		free(pg);
		return NULL;
	}
	if (scope != NULL)
		snprintf(pg->pg_scope, sizeof(pg->pg_scope), "%s", scope);
	pg->pg_req = req;
	pg->pg_rd.rd_list = list;
	pg->pg_rd.rd_scope = pg->pg_scope;
	pg->pg_rd.rd_after = pg->pg_after;
	pg->pg_rd.rd_limit = (size_t)limit;
	pg->pg_rd.rd_scan = HOOKD_SCAN_MAX;
	pg->pg_rd.rd_row = admin_pager_row;
	pg->pg_rd.rd_done = admin_pager_done;
	return pg;
}

void
hk_admin_pager_start(struct hk_admin_pager *pg)
{
	if (hk_buf_adds(&pg->pg_b, "{\"data\":[") != 0) {
		pg->pg_rc = HK_ENOMEM;
		pg->pg_rd.rd_done(&pg->pg_rd, 0);
		return;
	}
	hk_st_read(&pg->pg_rd);
}

int
hk_admin_pager_add(struct hk_admin_pager *pg, const char *text, size_t len)
{
	if ((pg->pg_n > 0 && hk_buf_addc(&pg->pg_b, ',') != 0) ||
	    hk_buf_add(&pg->pg_b, text, len) != 0) {
		pg->pg_rc = HK_ENOMEM;
		return -1;
	}
	pg->pg_n++;
	return 1;
}

void
hk_admin_list(struct evhttp_request *req, void *(*older)(void *),
    const char *(*id)(const void *), cJSON *(*pub)(const void *))
{
	char after[HK_ID_MAX] = "";
	void *it, *last = NULL;
	cJSON *j, *data;
	int limit, n = 0;

	if (hk_admin_page(req, &limit, after, sizeof(after)) != 0)
		return;
	if ((j = cJSON_CreateObject()) == NULL ||
	    (data = cJSON_AddArrayToObject(j, "data")) == NULL) {
		cJSON_Delete(j);
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	for (it = older(NULL); it != NULL; it = older(it)) {
		if (after[0] != '\0' && strcmp(id(it), after) >= 0)
			continue;
		if (n == limit)
			break;
		cJSON_AddItemToArray(data, pub(it));
		last = it;
		n++;
	}
	if (it != NULL && last != NULL)
		cJSON_AddStringToObject(j, "next", id(last));
	else
		cJSON_AddNullToObject(j, "next");
	hk_http_json(req, 200, j);
}

/* Whether the request carries the admin token. */
static int
admin_authorized(struct evhttp_request *req)
{
	const char *h = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		hk_http_error(req, 401, "missing_token",
		    "send Authorization: Bearer <admin token>");
		return 0;
	}
	for (h += 7; *h == ' '; h++)
		;
	if (!hk_str_ct_eq(h, hd->hd_admin_token)) {
		hk_http_error(
		    req, 401, "invalid_token", "the admin token is not valid");
		return 0;
	}
	return 1;
}

void
hk_admin_request(struct evhttp_request *req, void *arg)
{
	const char *path;
	char buf[512], *seg[ADMIN_MAXSEG], *p, *s;
	int nseg = 0;

	(void)arg;
	if ((path = hk_http_begin(req)) == NULL)
		return;
	if (hk_console_serve(req, path))
		return;
	if (!admin_authorized(req))
		return;
	if (strlen(path) >= sizeof(buf)) {
		hk_http_error(req, 404, "not_found", "no such endpoint");
		return;
	}
	memcpy(buf, path, strlen(path) + 1);
	for (p = buf; (s = strsep(&p, "/")) != NULL;) {
		if (*s == '\0')
			continue;
		if (nseg == ADMIN_MAXSEG) {
			nseg = 0;
			break;
		}
		seg[nseg++] = s;
	}
	if (nseg == 1 && strcmp(seg[0], "metrics") == 0) {
		if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
			hk_stats_metrics(req);
		else
			hk_admin_405(req, "GET");
		return;
	}
	if (nseg == 2 && strcmp(seg[0], "api") == 0 &&
	    strcmp(seg[1], "stream") == 0) {
		hk_stream_request(req);
		return;
	}
	if (nseg == 2 && strcmp(seg[0], "api") == 0 &&
	    strcmp(seg[1], "cluster") == 0) {
		if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
			hk_admin_405(req, "GET");
		else
			hk_cluster_get(req);
		return;
	}
	if ((nseg == 2 || (nseg == 3 && strcmp(seg[2], "history") == 0)) &&
	    strcmp(seg[0], "api") == 0 && strcmp(seg[1], "stats") == 0) {
		if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
			hk_admin_405(req, "GET");
		else if (nseg == 3)
			hk_stats_history(req);
		else
			hk_stats_all(req);
		return;
	}
	if (nseg >= 2 && strcmp(seg[0], "api") == 0) {
		if (strcmp(seg[1], "webhooks") == 0) {
			hk_webhook_route(req, seg, nseg);
			return;
		}
		if (strcmp(seg[1], "events") == 0) {
			hk_event_route(req, seg, nseg);
			return;
		}
		if (strcmp(seg[1], "templates") == 0) {
			hk_template_route(req, seg, nseg);
			return;
		}
		if (strcmp(seg[1], "subscriptions") == 0) {
			hk_sub_route(req, seg, nseg);
			return;
		}
		if (strcmp(seg[1], "deliveries") == 0) {
			hk_delivery_route(req, seg, nseg);
			return;
		}
		if (strcmp(seg[1], "test-delivery") == 0 && nseg == 2) {
			if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
				hk_delivery_test(req);
			else
				hk_admin_405(req, "POST");
			return;
		}
	}
	hk_http_error(req, 404, "not_found", "no such endpoint");
}
