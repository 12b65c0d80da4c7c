/*
 * status.c: links.status, the sender's view of what became of its event
 * (proto/http.md, Responses).
 *
 * On the public listener, behind the webhook's own authentication
 * (ingest.c), so it shows only what the sender may know: the event's id,
 * type, time and state, and how many of its deliveries are pending,
 * succeeded or failed. No target, subscription or attempt detail: those
 * are the operator's (GET /api/events/{id} on the admin listener), but
 * for a command subscription that sets exposeResult: the operator chose
 * to show its senders each attempt's exit code and output (SPEC §11,
 * seed 000's run status).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "hookd.h"

/* Counts of one event's deliveries by what they mean for the sender. */
struct status_counts {
	int total;
	int pending; /* pending or in flight */
	int succeeded;
	int failed; /* failed for good, or cancelled: it will not arrive */
};

/* Counts the deliveries of DLV, the JSON array hk_delivery_of_event made. */
static int
status_count(const struct hk_buf *dlv, struct status_counts *c)
{
	const cJSON *d, *s;
	cJSON *arr;

	memset(c, 0, sizeof(*c));
	if ((arr = cJSON_ParseWithLength(dlv->b, dlv->len)) == NULL)
		return HK_ENOMEM;
	cJSON_ArrayForEach(d, arr) {
		s = cJSON_GetObjectItemCaseSensitive(d, "status");
		c->total++;
		if (!cJSON_IsString(s))
			continue;
		if (strcmp(s->valuestring, "pending") == 0 ||
		    strcmp(s->valuestring, "in_flight") == 0)
			c->pending++;
		else if (strcmp(s->valuestring, "succeeded") == 0)
			c->succeeded++;
		else
			c->failed++;
	}
	cJSON_Delete(arr);
	return 0;
}

/* Appends attempt A of a command as links.status shows it. */
static int
status_attempt(struct hk_buf *b, const cJSON *a)
{
	static const char *const keep[][2] = {{"attempt", "attempt"},
	    {"at", "at"}, {"exitCode", "exitCode"}, {"latencyMs", "latencyMs"},
	    {"reason", "reason"}, {"response", "stdout"}, {"stderr", "stderr"}};
	const cJSON *v;
	char *text;
	size_t i;
	int rc = 0;

	if (hk_buf_addc(b, '{') != 0)
		return HK_ENOMEM;
	for (i = 0; i < HK_NELEM(keep) && rc == 0; i++) {
		v = cJSON_GetObjectItemCaseSensitive(a, keep[i][0]);
		text = v != NULL ? cJSON_PrintUnformatted(v) : NULL;
		rc = (i > 0 && hk_buf_addc(b, ',') != 0) ||
		        hk_buf_add_jsonstr(b, keep[i][1]) ||
		        hk_buf_addc(b, ':') ||
		        hk_buf_adds(b, text != NULL ? text : "null")
		    ? HK_ENOMEM
		    : 0;
		free(text);
	}
	return rc != 0 || hk_buf_addc(b, '}') != 0 ? HK_ENOMEM : 0;
}

/*
 * Appends ,"runs":[…] for the deliveries of DLV whose subscription is a
 * command with exposeResult: nothing when there is none, so what every
 * other sender sees is as it was.
 */
static int
status_runs(struct hk_buf *b, const struct hk_buf *dlv)
{
	const cJSON *d, *sub, *st, *a, *atts;
	const struct hk_sub *s;
	cJSON *arr;
	int n = 0, k, rc = 0;

	if ((arr = cJSON_ParseWithLength(dlv->b, dlv->len)) == NULL)
		return HK_ENOMEM;
	cJSON_ArrayForEach(d, arr) {
		sub = cJSON_GetObjectItemCaseSensitive(d, "subscription");
		st = cJSON_GetObjectItemCaseSensitive(d, "status");
		if (!cJSON_IsString(sub) || !cJSON_IsString(st) ||
		    (s = hk_sub_find(sub->valuestring)) == NULL ||
		    !s->sb_command || !s->sb_expose)
			continue;
		if (hk_buf_adds(b, n++ == 0 ? ",\"runs\":[" : ",") ||
		    hk_buf_adds(b, "{\"subscription\":") ||
		    hk_buf_add_jsonstr(
		        b, s->sb_name != NULL ? s->sb_name : s->sb_id) ||
		    hk_buf_adds(b, ",\"state\":") ||
		    hk_buf_add_jsonstr(b, st->valuestring) ||
		    hk_buf_adds(b, ",\"attempts\":[")) {
			rc = HK_ENOMEM;
			break;
		}
		k = 0;
		atts = cJSON_GetObjectItemCaseSensitive(d, "attempts");
		cJSON_ArrayForEach(a, atts) {
			if ((k++ > 0 && hk_buf_addc(b, ',') != 0) ||
			    status_attempt(b, a) != 0) {
				rc = HK_ENOMEM;
				break;
			}
		}
		if (rc != 0 || hk_buf_adds(b, "]}") != 0) {
			rc = HK_ENOMEM;
			break;
		}
	}
	if (rc == 0 && n > 0 && hk_buf_addc(b, ']') != 0)
		rc = HK_ENOMEM;
	cJSON_Delete(arr);
	return rc;
}

/* proto/http.md's state of an event with the counts C. */
static const char *
status_state(const struct status_counts *c)
{
	if (c->total == 0)
		return "accepted";
	if (c->pending > 0)
		return "delivering";
	return c->failed > 0 ? "failed" : "delivered";
}

/* A status read: the event's head, then its deliveries. */
struct status_rd {
	struct hk_st_read rd;
	char evt[HK_ID_MAX];
	char wh[HK_ID_MAX];
	cJSON *head;
	struct hk_buf dlv;
	struct hk_buf out;
	int rc;
	hk_status_fn done;
	void *arg;
};

static int
status_row(struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct status_rd *sr = (struct status_rd *)rd;

	(void)id;
	if ((sr->head = hk_event_head(text, len)) == NULL)
		sr->rc = HK_EIO;
	return 1;
}

/* The answer of SR, its reads done: proto/http.md's status object. */
static int
status_answer(struct status_rd *sr)
{
	struct status_counts c;
	const cJSON *t, *at, *src;
	struct hk_buf *b = &sr->out;
	int rc;

	/* Another webhook's event is not this sender's to see. */
	src = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(sr->head, "source"), "webhook");
	t = cJSON_GetObjectItemCaseSensitive(sr->head, "event");
	at = cJSON_GetObjectItemCaseSensitive(sr->head, "timestamp");
	if (!cJSON_IsString(src) || strcmp(src->valuestring, sr->wh) != 0)
		return HK_ENOTFOUND;
	if (!cJSON_IsString(t) || !cJSON_IsString(at))
		return HK_EIO;
	if ((rc = status_count(&sr->dlv, &c)) != 0)
		return rc;
	if (hk_buf_adds(b, "{\"eventId\":") || hk_buf_add_jsonstr(b, sr->evt) ||
	    hk_buf_adds(b, ",\"type\":") ||
	    hk_buf_add_jsonstr(b, t->valuestring) ||
	    hk_buf_adds(b, ",\"receivedAt\":") ||
	    hk_buf_add_jsonstr(b, at->valuestring) ||
	    hk_buf_printf(b,
	        ",\"state\":\"%s\",\"deliveries\":{\"total\":%d,"
	        "\"pending\":%d,\"succeeded\":%d,\"failed\":%d}",
	        status_state(&c), c.total, c.pending, c.succeeded, c.failed) ||
	    status_runs(b, &sr->dlv) != 0 || hk_buf_adds(b, "}\n"))
		return HK_ENOMEM;
	return 0;
}

static void
status_end(struct status_rd *sr, int rc)
{
	if (rc == 0)
		rc = status_answer(sr);
	else if (rc != HK_ENOTFOUND)
		rc = HK_EIO;
	sr->done(sr->arg, rc, &sr->out);
	cJSON_Delete(sr->head);
	hk_buf_free(&sr->dlv);
	hk_buf_free(&sr->out);
	free(sr);
}

static void
status_dlv_done(void *arg, int rc)
{
	status_end(arg, rc);
}

static void
status_event_done(struct hk_st_read *rd, int rc)
{
	struct status_rd *sr = (struct status_rd *)rd;

	if (rc == 0)
		rc = sr->rc;
	if (rc != 0)
		status_end(sr, rc);
	else
		hk_delivery_of_event(sr->evt, &sr->dlv, status_dlv_done, sr);
}

/* The webhook of id or name S (N bytes, not NUL-terminated), or NULL. */
static struct hk_webhook *
status_find(const char *s, size_t n)
{
	char key[HK_ID_MAX + HOOKD_NAME_MAX];

	if (n >= sizeof(key))
		return NULL;
	memcpy(key, s, n);
	key[n] = '\0';
	return hk_webhook_find(key);
}

void
hk_status_read(const char *evt, const char *wh_id, hk_status_fn done, void *arg)
{
	struct status_rd *sr;

	if (!hk_id_valid("evt_", evt)) {
		done(arg, HK_ENOTFOUND, NULL);
		return;
	}
	if ((sr = calloc(1, sizeof(*sr))) == NULL) {
		done(arg, HK_ENOMEM, NULL);
		return;
	}
	snprintf(sr->evt, sizeof(sr->evt), "%s", evt);
	snprintf(sr->wh, sizeof(sr->wh), "%s", wh_id);
	sr->done = done;
	sr->arg = arg;
	sr->rd.rd_list = HK_SL_EVENTS;
	sr->rd.rd_row = status_row;
	sr->rd.rd_done = status_event_done;
	hk_st_get(&sr->rd, sr->evt);
}

int
hk_status_link(struct hk_buf *b, const char *name, const char *evt)
{
	const char *base = hd->hd_conf.cf_public_url != NULL &&
	        *hd->hd_conf.cf_public_url != '\0'
	    ? hd->hd_public_url
	    : "";

	return hk_buf_printf(
	    b, ",\"status\":\"%s/webhooks/%s/events/%s\"", base, name, evt);
}

struct hk_webhook *
hk_status_route(const char *path, int *by_url, char *evt, size_t len)
{
	const char *p, *e;
	size_t n;

	if (strncmp(path, "/webhooks/", 10) == 0)
		p = path + 10, *by_url = 0;
	else if (strncmp(path, "/hooks/", 7) == 0)
		p = path + 7, *by_url = 1;
	else
		return NULL;
	/* NAME/events/ID: one segment each. */
	if ((e = strstr(p, "/events/")) == NULL || e == p ||
	    memchr(p, '/', (size_t)(e - p)) != NULL)
		return NULL;
	n = (size_t)(e - p);
	e += 8;
	if (*e == '\0' || strchr(e, '/') != NULL || strlen(e) >= len)
		return NULL;
	memcpy(evt, e, strlen(e) + 1);
	if (*by_url)
		return hk_webhook_by_token(p, n);
	return status_find(p, n);
}
