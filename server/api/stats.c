/*
 * stats.c: the figures of proto/api.md rendered: /api/stats, the
 * per-webhook and per-subscription stats, /api/stats/history and
 * /metrics. domain/stats.c collects them; this file only reads its
 * series (domain/stats.h) on the loop thread and answers, 500 when the
 * answer cannot be allocated. Percentiles are read off the histogram
 * (the upper bound of the bucket the rank falls in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <cjson/cJSON.h>

#include "clock.h"
#include "domain/stats.h"
#include "hk.h"
#include "hookd.h"
#include "store/store.h"

#define NB HK_STATS_NB

/* The upper bound (ms) of the bucket where quantile Q falls; -1: none. */
static double
stats_quantile(const uint32_t *h, uint32_t n, double q)
{
	uint64_t rank = (uint64_t)(q * n + 0.999999), seen = 0;
	size_t b;

	if (n == 0)
		return -1;
	for (b = 0; b < NB; b++) {
		seen += h[b];
		if (seen >= rank)
			return b < NB - 1 ? hk_stats_le_ms[b]
			                  : hk_stats_le_ms[NB - 2];
	}
	return hk_stats_le_ms[NB - 2];
}

static void
stats_json_window(struct hk_buf *b, const char *name,
    const struct hk_stats_slot *w, double seconds)
{
	double p50 = stats_quantile(w->h, w->n, 0.5);
	double p90 = stats_quantile(w->h, w->n, 0.9);
	double p99 = stats_quantile(w->h, w->n, 0.99);

	hk_buf_printf(b, "\"%s\":{\"count\":%u,\"perSecond\":%.3f,", name, w->n,
	    (double)w->n / seconds);
	if (w->n > 0)
		hk_buf_printf(b,
		    "\"successRate\":%.4f,\"errorRate\":%.4f,"
		    "\"latencyMs\":{\"p50\":%g,\"p90\":%g,\"p99\":%g}}",
		    (double)(w->n - w->err) / w->n, (double)w->err / w->n, p50,
		    p90, p99);
	else
		hk_buf_adds(b,
		    "\"successRate\":null,\"errorRate\":null,"
		    "\"latencyMs\":{\"p50\":null,\"p90\":null,\"p99\":null}}");
}

/* {"1m":…,"1h":…,"24h":…} of series S into B. */
static void
stats_json_series(struct hk_buf *b, const struct hk_series *s)
{
	static const struct hk_series zero;
	struct hk_stats_slot w;

	if (s == NULL)
		s = &zero;
	hk_buf_addc(b, '{');
	hk_stats_window(s->m, HK_NELEM(s->m), HK_STATS_MIN_S, &w);
	stats_json_window(b, "1m", &w, 60);
	hk_buf_addc(b, ',');
	hk_stats_window(s->hr, HK_NELEM(s->hr), HK_STATS_HOUR_S, &w);
	stats_json_window(b, "1h", &w, 3600);
	hk_buf_addc(b, ',');
	hk_stats_window(s->d, HK_NELEM(s->d), HK_STATS_DAY_S, &w);
	stats_json_window(b, "24h", &w, 86400);
	hk_buf_printf(b, ",\"total\":{\"count\":%llu,\"errors\":%llu}}",
	    (unsigned long long)s->n, (unsigned long long)s->err);
}

/*
 * One window's slots, oldest first: accepted events, and delivery
 * attempts with their failures and latency.
 */
static void
stats_json_slots(struct hk_buf *b, const char *name,
    const struct hk_stats_slot *ingest, const struct hk_stats_slot *attempt,
    size_t nslots, int64_t len_s)
{
	static const struct hk_stats_slot none;
	int64_t now = hk_now_ms() / 1000 / len_s, e;
	const struct hk_stats_slot *in, *at;
	char iso[HK_ISO_LEN];
	double p50, p99;

	hk_buf_printf(b, "\"%s\":{\"slotSeconds\":%lld,\"slots\":[", name,
	    (long long)len_s);
	for (e = now - (int64_t)nslots + 1; e <= now; e++) {
		in = hk_stats_slot(ingest, nslots, e);
		at = hk_stats_slot(attempt, nslots, e);
		if (in == NULL)
			in = &none;
		if (at == NULL)
			at = &none;
		p50 = stats_quantile(at->h, at->n, 0.5);
		p99 = stats_quantile(at->h, at->n, 0.99);
		hk_buf_printf(b,
		    "%s{\"start\":\"%s\",\"accepted\":%u,\"attempts\":%u,"
		    "\"failed\":%u,\"latencyMs\":",
		    e > now - (int64_t)nslots + 1 ? "," : "",
		    hk_time_iso(e * len_s * 1000, iso), in->n, at->n, at->err);
		if (at->n > 0)
			hk_buf_printf(b, "{\"p50\":%g,\"p99\":%g}}", p50, p99);
		else
			hk_buf_adds(b, "{\"p50\":null,\"p99\":null}}");
	}
	hk_buf_adds(b, "]}");
}

void
hk_stats_history(struct evhttp_request *req)
{
	const struct hk_series *in = hk_stats_total(HK_STATS_INGEST);
	const struct hk_series *at = hk_stats_total(HK_STATS_ATTEMPT);
	struct hk_buf b = HK_BUF_INIT;

	hk_buf_addc(&b, '{');
	stats_json_slots(
	    &b, "hour", in->hr, at->hr, HK_NELEM(in->hr), HK_STATS_HOUR_S);
	hk_buf_addc(&b, ',');
	stats_json_slots(
	    &b, "day", in->d, at->d, HK_NELEM(in->d), HK_STATS_DAY_S);
	if (hk_buf_adds(&b, "}\n") != 0) {
		hk_http_error(req, 500, "internal", "out of memory");
		hk_buf_free(&b);
		return;
	}
	hk_http_reply(req, 200, &b);
	hk_buf_free(&b);
}

/* GET /api/webhooks/{id}/stats and /api/subscriptions/{id}/stats. */
void
hk_stats_entity(struct evhttp_request *req, const char *id)
{
	struct hk_buf b = HK_BUF_INIT;

	hk_buf_printf(&b, "{\"id\":\"%s\",\"windows\":", id);
	stats_json_series(&b, hk_stats_series(id));
	if (hk_buf_adds(&b, "}\n") != 0) {
		hk_http_error(req, 500, "internal", "out of memory");
		hk_buf_free(&b);
		return;
	}
	hk_http_reply(req, 200, &b);
	hk_buf_free(&b);
}

struct stats_counts {
	size_t wh_on, wh_off, sub_on, sub_off, circuits;
	size_t events, deliveries, pending;
	struct hk_st_usage u;
};

static void
stats_count(struct stats_counts *c)
{
	struct hk_webhook *wh;
	struct hk_sub *s;

	memset(c, 0, sizeof(*c));
	TAILQ_FOREACH(wh, hk_webhook_all(), wh_entry) {
		if (wh->wh_enabled)
			c->wh_on++;
		else
			c->wh_off++;
	}
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry) {
		if (s->sb_active)
			c->sub_on++;
		else
			c->sub_off++;
		if (hk_engine_circuit_open(s->sb_id))
			c->circuits++;
	}
	hk_st_usage(&c->u);
	c->events = c->u.su_rows[HK_SL_EVENTS];
	c->deliveries = c->u.su_rows[HK_SL_DELIVERIES];
	c->pending = c->u.su_rows[HK_SL_PENDING];
}

/* This node's counters: what a cluster's total adds up. */
static int
stats_counters(struct hk_buf *b)
{
	const struct hk_stats *st = &hd->hd_stats;

	return hk_buf_printf(b,
	    "{\"received\":%llu,\"accepted\":%llu,\"duplicates\":%llu,"
	    "\"rateLimited\":%llu,\"rejected\":%llu,\"bytes\":%llu,"
	    "\"succeeded\":%llu,\"failed\":%llu,\"attempts\":%llu,"
	    "\"retries\":%llu,\"inFlight\":%zu}",
	    (unsigned long long)st->s_received,
	    (unsigned long long)st->s_accepted,
	    (unsigned long long)st->s_duplicates,
	    (unsigned long long)st->s_rate_limited,
	    (unsigned long long)st->s_rejected, (unsigned long long)st->s_bytes,
	    (unsigned long long)st->s_succeeded,
	    (unsigned long long)st->s_failed,
	    (unsigned long long)st->s_attempts,
	    (unsigned long long)st->s_retries, hk_engine_inflight());
}

void
hk_stats_publish(void)
{
	struct hk_buf b = HK_BUF_INIT;

	if (stats_counters(&b) == 0)
		hk_st_publish(b.b, b.len);
	hk_buf_free(&b);
}

/* Adds the numbers of object FROM into TOTAL, member by member. */
static void
stats_add_up(cJSON *total, const cJSON *from)
{
	const cJSON *v;
	cJSON *t;

	cJSON_ArrayForEach(v, from) {
		if (!cJSON_IsNumber(v) || v->string == NULL)
			continue;
		if ((t = cJSON_GetObjectItemCaseSensitive(total, v->string)) ==
		    NULL)
			cJSON_AddNumberToObject(
			    total, v->string, v->valuedouble);
		else
			cJSON_SetNumberValue(
			    t, t->valuedouble + v->valuedouble);
	}
}

/*
 * This node's name, and in a cluster every live node's counters (this
 * node's as of now, the others' as of their last heartbeat) and their
 * total.
 */
static void
stats_cluster(struct hk_buf *b)
{
	const struct hk_st_node *nv;
	struct hk_buf self = HK_BUF_INIT;
	size_t n = hk_st_nodes(&nv), i;
	cJSON *total, *c;
	char *t;

	hk_buf_adds(b, ",\"node\":");
	hk_buf_add_jsonstr(b, hd->hd_node);
	if (n == 0 || (total = cJSON_CreateObject()) == NULL)
		return;
	(void)stats_counters(&self);
	hk_buf_adds(b, ",\"cluster\":{\"nodes\":[");
	for (i = 0; i < n; i++) {
		const char *text = nv[i].sn_self ? self.b : nv[i].sn_stats;

		hk_buf_adds(b, i > 0 ? ",{\"nodeId\":" : "{\"nodeId\":");
		hk_buf_add_jsonstr(b, nv[i].sn_id);
		hk_buf_printf(b, ",\"self\":%s,\"counters\":",
		    nv[i].sn_self ? "true" : "false");
		if (text == NULL || (c = cJSON_Parse(text)) == NULL) {
			hk_buf_adds(b, "null}");
			continue;
		}
		stats_add_up(total, c);
		cJSON_Delete(c);
		hk_buf_adds(b, text);
		hk_buf_addc(b, '}');
	}
	hk_buf_adds(b, "],\"total\":");
	if ((t = cJSON_PrintUnformatted(total)) != NULL)
		hk_buf_adds(b, t);
	else
		hk_buf_adds(b, "null");
	hk_buf_addc(b, '}');
	free(t);
	cJSON_Delete(total);
	hk_buf_free(&self);
}

/* GET /api/cluster: the live nodes; one, this, without a cluster. */
void
hk_cluster_get(struct evhttp_request *req)
{
	const struct hk_st_node *nv;
	struct hk_buf b = HK_BUF_INIT;
	struct hk_st_node one;
	struct hk_sub *s;
	char iso[HK_ISO_LEN];
	size_t n = hk_st_nodes(&nv), i, subs = 0;

	if (n == 0) {
		TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
			subs++;
		memset(&one, 0, sizeof(one));
		one.sn_id = hd->hd_node;
		one.sn_public = hd->hd_conf.cf_public_url != NULL
		    ? hd->hd_conf.cf_public_url
		    : hd->hd_conf.cf_listen;
		one.sn_admin = hd->hd_conf.cf_admin;
		one.sn_heartbeat_ms = hk_now_ms();
		one.sn_subs = subs;
		one.sn_self = 1;
		nv = &one;
		n = 1;
	}
	hk_buf_adds(&b, "{\"data\":[");
	for (i = 0; i < n; i++) {
		hk_buf_adds(&b, i > 0 ? ",{\"nodeId\":" : "{\"nodeId\":");
		hk_buf_add_jsonstr(&b, nv[i].sn_id);
		hk_buf_adds(&b, ",\"publicAddr\":");
		hk_buf_add_jsonstr(&b, nv[i].sn_public);
		hk_buf_adds(&b, ",\"adminAddr\":");
		hk_buf_add_jsonstr(&b, nv[i].sn_admin);
		hk_buf_printf(&b,
		    ",\"heartbeatAt\":\"%s\",\"subscriptions\":%llu,"
		    "\"self\":%s}",
		    hk_time_iso(nv[i].sn_heartbeat_ms, iso),
		    (unsigned long long)nv[i].sn_subs,
		    nv[i].sn_self ? "true" : "false");
	}
	hk_buf_adds(&b, "]}\n");
	if (b.b == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	hk_http_reply(req, 200, &b);
	hk_buf_free(&b);
}

/* GET /api/stats. */
void
hk_stats_all(struct evhttp_request *req)
{
	const struct hk_stats *st = &hd->hd_stats;
	struct hk_buf b = HK_BUF_INIT;
	struct stats_counts c;
	const char *code;
	uint64_t n;
	size_t i;

	stats_count(&c);
	hk_buf_printf(&b,
	    "{\"version\":\"%s\",\"uptimeSeconds\":%lld,"
	    "\"ingest\":{\"received\":%llu,\"accepted\":%llu,"
	    "\"duplicates\":%llu,\"rateLimited\":%llu,\"bytes\":%llu,"
	    "\"rejected\":%llu,\"rejectedByCode\":{",
	    VERSION, (long long)((hk_now_ms() - hd->hd_started_ms) / 1000),
	    (unsigned long long)st->s_received,
	    (unsigned long long)st->s_accepted,
	    (unsigned long long)st->s_duplicates,
	    (unsigned long long)st->s_rate_limited,
	    (unsigned long long)st->s_bytes,
	    (unsigned long long)st->s_rejected);
	for (i = 0; (code = hk_stats_code(i, &n)) != NULL; i++)
		hk_buf_printf(&b, "%s\"%s\":%llu", i > 0 ? "," : "", code,
		    (unsigned long long)n);
	hk_buf_printf(&b,
	    "},\"requestLogDropped\":%llu,\"requestLogSuppressed\":%llu,"
	    "\"requestLogTrimmed\":%llu},"
	    "\"delivery\":{\"pending\":%zu,\"inFlight\":%zu,"
	    "\"succeeded\":%llu,\"failed\":%llu,\"attempts\":%llu,"
	    "\"retries\":%llu,\"circuitsOpen\":%zu},\"latency\":{"
	    "\"ingest\":",
	    (unsigned long long)hk_reqlog_dropped(),
	    (unsigned long long)hk_reqlog_suppressed(),
	    (unsigned long long)hk_reqlog_trimmed(), c.pending,
	    hk_engine_inflight(), (unsigned long long)st->s_succeeded,
	    (unsigned long long)st->s_failed,
	    (unsigned long long)st->s_attempts,
	    (unsigned long long)st->s_retries, c.circuits);
	stats_json_series(&b, hk_stats_total(HK_STATS_INGEST));
	hk_buf_adds(&b, ",\"deliveryAttempt\":");
	stats_json_series(&b, hk_stats_total(HK_STATS_ATTEMPT));
	hk_buf_adds(&b, ",\"eventToFirstSuccess\":");
	stats_json_series(&b, hk_stats_total(HK_STATS_FIRST));
	hk_buf_printf(&b,
	    "},\"webhooks\":{\"enabled\":%zu,\"disabled\":%zu},"
	    "\"subscriptions\":{\"active\":%zu,\"disabled\":%zu},"
	    "\"store\":{\"mapSize\":%zu,\"bytesUsed\":%zu,\"events\":%zu,"
	    "\"deliveries\":%zu,\"commits\":%llu},\"retention\":{"
	    "\"purgedEvents\":%llu,\"purgedLogs\":%llu,\"purgedDeliveries\":"
	    "%llu}",
	    c.wh_on, c.wh_off, c.sub_on, c.sub_off, c.u.su_size, c.u.su_used,
	    c.events, c.deliveries, (unsigned long long)c.u.su_commits,
	    (unsigned long long)st->s_purged_events,
	    (unsigned long long)st->s_purged_logs,
	    (unsigned long long)st->s_purged_deliveries);
	stats_cluster(&b);
	hk_buf_adds(&b, "}\n");
	if (b.b == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	hk_http_reply(req, 200, &b);
	hk_buf_free(&b);
}

/* Prometheus label values escape \, " and newlines. */
static void
prom_label(struct hk_buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			hk_buf_addc(b, '\\');
		if (*v == '\n') {
			hk_buf_adds(b, "\\n");
			continue;
		}
		hk_buf_addc(b, *v);
	}
}

static void
prom_head(
    struct hk_buf *b, const char *name, const char *type, const char *help)
{
	hk_buf_printf(
	    b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's _bucket, _sum and _count lines, LABEL may be "". */
static void
prom_hist(struct hk_buf *b, const char *name, const char *lname,
    const char *lval, const struct hk_series *s)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < NB; i++) {
		cum += s->h[i];
		hk_buf_printf(b, "%s_bucket{", name);
		if (lname != NULL) {
			hk_buf_printf(b, "%s=\"", lname);
			prom_label(b, lval);
			hk_buf_adds(b, "\",");
		}
		if (i < NB - 1)
			hk_buf_printf(b, "le=\"%g\"} %llu\n",
			    hk_stats_le_ms[i] / 1000, (unsigned long long)cum);
		else
			hk_buf_printf(
			    b, "le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	hk_buf_printf(b, "%s_sum", name);
	if (lname != NULL) {
		hk_buf_printf(b, "{%s=\"", lname);
		prom_label(b, lval);
		hk_buf_adds(b, "\"}");
	}
	hk_buf_printf(b, " %.6f\n%s_count", s->sum_s, name);
	if (lname != NULL) {
		hk_buf_printf(b, "{%s=\"", lname);
		prom_label(b, lval);
		hk_buf_adds(b, "\"}");
	}
	hk_buf_printf(b, " %llu\n", (unsigned long long)s->n);
}

static void
prom_counter(struct hk_buf *b, const char *name, const char *help, uint64_t v)
{
	prom_head(b, name, "counter", help);
	hk_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
prom_gauge(struct hk_buf *b, const char *name, const char *help, double v)
{
	prom_head(b, name, "gauge", help);
	hk_buf_printf(b, "%s %.15g\n", name, v);
}

/* In a cluster: the live nodes, and the subscriptions this one serves. */
static void
stats_prom_cluster(struct hk_buf *b)
{
	const struct hk_st_node *nv;
	size_t n = hk_st_nodes(&nv), i;

	for (i = 0; i < n && !nv[i].sn_self; i++)
		;
	if (n == 0)
		return;
	prom_gauge(
	    b, "hookd_cluster_nodes", "Live nodes in the cluster.", (double)n);
	prom_gauge(b, "hookd_cluster_leases",
	    "Subscriptions this node serves (leases held).",
	    i < n ? (double)nv[i].sn_subs : 0);
}

/* GET /metrics: the Prometheus text exposition format 0.0.4. */
void
hk_stats_metrics(struct evhttp_request *req)
{
	const struct hk_stats *st = &hd->hd_stats;
	struct hk_buf b = HK_BUF_INIT;
	struct stats_counts c;
	struct hk_webhook *wh;
	struct hk_sub *s;
	const struct hk_series *ss;
	const char *code;
	uint64_t n;
	size_t i;

	stats_count(&c);
	prom_head(&b, "hookd_build_info", "gauge", "hookd's version.");
	hk_buf_printf(&b, "hookd_build_info{version=\"%s\"} 1\n", VERSION);
	prom_gauge(&b, "hookd_uptime_seconds", "Seconds since hookd started.",
	    (double)(hk_now_ms() - hd->hd_started_ms) / 1000);
	prom_counter(&b, "hookd_ingest_received_total",
	    "Requests to a webhook URL.", st->s_received);
	prom_counter(&b, "hookd_ingest_accepted_total",
	    "Events accepted (202).", st->s_accepted);
	prom_counter(&b, "hookd_ingest_duplicates_total",
	    "Requests answered as duplicates.", st->s_duplicates);
	prom_counter(&b, "hookd_ingest_rate_limited_total",
	    "Requests refused by a rate limit.", st->s_rate_limited);
	prom_counter(&b, "hookd_ingest_bytes_total",
	    "Body bytes received on webhook URLs.", st->s_bytes);
	prom_head(&b, "hookd_ingest_rejected_total", "counter",
	    "Requests refused, by error code.");
	for (i = 0; (code = hk_stats_code(i, &n)) != NULL; i++)
		hk_buf_printf(&b,
		    "hookd_ingest_rejected_total{code=\"%s\"} %llu\n", code,
		    (unsigned long long)n);
	prom_head(&b, "hookd_ingest_latency_seconds", "histogram",
	    "Time from a request read to its 202.");
	prom_hist(&b, "hookd_ingest_latency_seconds", NULL, NULL,
	    hk_stats_total(HK_STATS_INGEST));
	prom_head(&b, "hookd_webhook_requests_total", "counter",
	    "Requests to each webhook, by result.");
	TAILQ_FOREACH(wh, hk_webhook_all(), wh_entry) {
		ss = hk_stats_series(wh->wh_id);
		hk_buf_printf(&b,
		    "hookd_webhook_requests_total{webhook=\"%s\","
		    "name=\"",
		    wh->wh_id);
		prom_label(&b, wh->wh_name);
		hk_buf_printf(&b, "\",result=\"ok\"} %llu\n",
		    ss != NULL ? (unsigned long long)(ss->n - ss->err) : 0ULL);
		hk_buf_printf(&b,
		    "hookd_webhook_requests_total{webhook=\"%s\","
		    "name=\"",
		    wh->wh_id);
		prom_label(&b, wh->wh_name);
		hk_buf_printf(&b, "\",result=\"error\"} %llu\n",
		    ss != NULL ? (unsigned long long)ss->err : 0ULL);
	}
	prom_head(&b, "hookd_webhook_latency_seconds", "histogram",
	    "Time from a webhook request read to its answer.");
	TAILQ_FOREACH(wh, hk_webhook_all(), wh_entry)
		if ((ss = hk_stats_series(wh->wh_id)) != NULL)
			prom_hist(&b, "hookd_webhook_latency_seconds",
			    "webhook", wh->wh_id, ss);
	prom_counter(&b, "hookd_delivery_attempts_total",
	    "Delivery attempts made.", st->s_attempts);
	prom_counter(&b, "hookd_delivery_retries_total",
	    "Delivery attempts after the first.", st->s_retries);
	prom_counter(&b, "hookd_delivery_succeeded_total",
	    "Deliveries that succeeded.", st->s_succeeded);
	prom_counter(&b, "hookd_delivery_failed_total",
	    "Deliveries that failed for good.", st->s_failed);
	prom_gauge(&b, "hookd_delivery_pending", "Deliveries waiting.",
	    (double)c.pending);
	prom_gauge(&b, "hookd_delivery_in_flight", "Requests out now.",
	    (double)hk_engine_inflight());
	prom_gauge(&b, "hookd_circuits_open",
	    "Subscriptions whose circuit is open.", (double)c.circuits);
	prom_head(&b, "hookd_delivery_attempt_latency_seconds", "histogram",
	    "Latency of delivery attempts.");
	prom_hist(&b, "hookd_delivery_attempt_latency_seconds", NULL, NULL,
	    hk_stats_total(HK_STATS_ATTEMPT));
	prom_head(&b, "hookd_event_first_success_seconds", "histogram",
	    "Time from an event's acceptance to its first delivery.");
	prom_hist(&b, "hookd_event_first_success_seconds", NULL, NULL,
	    hk_stats_total(HK_STATS_FIRST));
	prom_head(&b, "hookd_subscription_attempts_total", "counter",
	    "Attempts to each subscription, by result.");
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry) {
		ss = hk_stats_series(s->sb_id);
		hk_buf_printf(&b,
		    "hookd_subscription_attempts_total{"
		    "subscription=\"%s\",result=\"success\"} %llu\n",
		    s->sb_id,
		    ss != NULL ? (unsigned long long)(ss->n - ss->err) : 0ULL);
		hk_buf_printf(&b,
		    "hookd_subscription_attempts_total{"
		    "subscription=\"%s\",result=\"failure\"} %llu\n",
		    s->sb_id, ss != NULL ? (unsigned long long)ss->err : 0ULL);
	}
	prom_head(&b, "hookd_subscription_latency_seconds", "histogram",
	    "Attempt latency of each subscription.");
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
		if ((ss = hk_stats_series(s->sb_id)) != NULL)
			prom_hist(&b, "hookd_subscription_latency_seconds",
			    "subscription", s->sb_id, ss);
	prom_head(&b, "hookd_webhooks", "gauge", "Webhooks by state.");
	hk_buf_printf(&b,
	    "hookd_webhooks{state=\"enabled\"} %zu\n"
	    "hookd_webhooks{state=\"disabled\"} %zu\n",
	    c.wh_on, c.wh_off);
	prom_head(
	    &b, "hookd_subscriptions", "gauge", "Subscriptions by state.");
	hk_buf_printf(&b,
	    "hookd_subscriptions{state=\"active\"} %zu\n"
	    "hookd_subscriptions{state=\"disabled\"} %zu\n",
	    c.sub_on, c.sub_off);
	prom_gauge(&b, "hookd_store_map_size_bytes", "LMDB map size.",
	    (double)c.u.su_size);
	prom_gauge(&b, "hookd_store_used_bytes", "LMDB pages in use, bytes.",
	    (double)c.u.su_used);
	prom_gauge(
	    &b, "hookd_store_events", "Events stored.", (double)c.events);
	prom_gauge(&b, "hookd_store_deliveries", "Deliveries stored.",
	    (double)c.deliveries);
	prom_counter(&b, "hookd_store_commits_total",
	    "Write transactions committed.", c.u.su_commits);
	stats_prom_cluster(&b);
	prom_counter(&b, "hookd_retention_purged_events_total",
	    "Events purged by retention.", st->s_purged_events);
	prom_counter(&b, "hookd_request_log_dropped_total",
	    "Request log entries that could not be written.",
	    hk_reqlog_dropped());
	prom_counter(&b, "hookd_request_log_suppressed_total",
	    "Refusals before authentication counted but not logged.",
	    hk_reqlog_suppressed());
	prom_counter(&b, "hookd_request_log_trimmed_total",
	    "Request log entries deleted to keep within --log-budget.",
	    hk_reqlog_trimmed());
	if (b.b == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evbuffer_add(evhttp_request_get_output_buffer(req), b.b, b.len);
	evhttp_send_reply(req, 200, "OK", NULL);
	hk_buf_free(&b);
}
