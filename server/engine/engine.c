/*
 * engine.c: the delivery engine (proto/delivery.md): the scheduler, each
 * attempt's fate, the circuit, and the outcomes it asks the store to
 * record. A delivery's record and its transitions are the store's
 * (store.h: HK_ST_OUTCOME, hk_st_due); requests are the sender's.
 *
 * A pass reads, subscription by subscription, the due part of its queue
 * (hk_st_due) and starts what the limits allow (--max-in-flight, each
 * subscription's maxInFlight, rate, circuit and order). An attempt's
 * outcome is committed by the store's writer (the attempt, the move);
 * until that commit is done the delivery stays marked in flight and its
 * old queue entry stays on disk, so a crash repeats an attempt and never
 * loses one. Outcomes wait up to --outcome-delay to share a commit.
 *
 * A command subscription's attempt is a run of its command (engine/
 * runner.c) instead of a request; the same queue, limits, order,
 * circuit and fate (eng_fate) apply, and its record holds the exit code
 * and the output instead of the status and the answer.
 *
 * The engine's own state of a subscription (circuit, in-flight count,
 * probe, bucket, where its read stopped) is here, in struct eng_sub,
 * never in the subscription's record. Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "backoff.h"
#include "clock.h"
#include "engine/runner.h"
#include "engine/sender.h"
#include "env.h"
#include "hdr.h"
#include "hk.h"
#include "hookd.h"
#include "id.h"
#include "json.h"
#include "store/store.h"

#define ENG_IDLE_MS 1000 /* a pass at least this often */
#define ENG_FAILING_AT 4 /* failed attempts before .failing */
#define ENG_STORE_PAUSE_US 5000000 /* after a failed outcome commit */

/*
 * The engine's own state of one subscription, found by its id: made on
 * first use, dropped when the subscription is deleted (after its read,
 * if one is out).
 */
struct eng_sub {
	struct hk_st_due du; /* its queue's read; du_pos is where it stopped */
	char id[HK_ID_MAX];
	int inflight; /* requests out now */
	int fails; /* consecutive failed attempts */
	int probing; /* the circuit is open and its probe is out */
	int64_t probe_after; /* open circuit: no probe before (wall ms) */
	int ordered_busy; /* ordered: an attempt is out or committing */
	/* ordered: the delivery everything else waits for (stored too). */
	char ordered_head[HK_ID_MAX];
	int64_t failing_since; /* first failure since the last success */
	char head[HK_ID_MAX]; /* an ordered head's read: du_only */
	int reading; /* du is out */
	int dead; /* forgotten while reading: freed when the read ends */
	struct hk_bucket bucket; /* the subscription's rate */
	double rate; /* the rate the bucket was set for */
	/* The lease this state was built under (store.h: hk_st_serves), and
	 * the attempts out or committing under any. */
	int64_t epoch;
	int jobs;
};

/* One attempt in flight. */
struct job {
	struct hk_send send; /* first: the sender's callback gets it */
	char sub[HK_ID_MAX];
	int limit; /* the delivery's attempts at most */
	int probe; /* the one request an open circuit lets through */
	int templated; /* its body is its subscription's template's */
	int finished; /* the request is over; its outcome is on the way */
	int64_t epoch; /* the lease it runs under */
	/* A command's run instead of the request; argv and envp its own. */
	int command;
	struct hk_run run;
	char **argv, **envp;
};

/* What a finished attempt leads to (eng_fate decides). */
enum eng_fate {
	ENG_RETRY, /* pending again, due later */
	ENG_SUCCEEDED,
	ENG_FAILED /* for good: exhausted, gone, or its subscription deleted */
};

struct outcome_op {
	struct hk_st_outcome oc;
	struct job *job;
	enum eng_fate fate;
	const char *disable; /* the subscription goes off: why, or NULL */
	struct outcome_op *next; /* waiting in eng.outq */
};

static struct {
	struct event *tick;
	struct hk_map inflight; /* dlv id -> job, until its outcome commits */
	struct hk_map subs; /* sub id -> struct eng_sub */
	size_t ninflight;
	int scheduled;
	int64_t pause_until; /* after a failed commit: no new attempts */
	/* The pass: reads still out (and the pass itself), earliest due. */
	int pass_reads;
	int64_t pass_now, pass_next;
	int capped; /* --max-in-flight reached during the pass */
	/* Outcomes gathered for up to --outcome-delay (eng_outcome_flush). */
	struct outcome_op *outq, **outq_tail;
	struct event *outq_ev;
	hk_engine_outcome_fn observer;
} eng;

static const enum hk_dstate fate_state[] = {
    [ENG_RETRY] = HK_DS_PENDING,
    [ENG_SUCCEEDED] = HK_DS_SUCCEEDED,
    [ENG_FAILED] = HK_DS_FAILED,
};

static const char *const fate_name[] = {[ENG_RETRY] = "retry",
    [ENG_SUCCEEDED] = "succeeded",
    [ENG_FAILED] = "failed"};

static void eng_schedule(int64_t ms);

static struct eng_sub *
eng_sub_find(const char *id)
{
	return hk_map_get(&eng.subs, id, strlen(id));
}

/* The engine's state of S, made on first use; its bucket follows S's rate. */
static struct eng_sub *
eng_sub_get(const struct hk_sub *s)
{
	struct eng_sub *es = eng_sub_find(s->sb_id);

	if (es == NULL) {
		if ((es = calloc(1, sizeof(*es))) == NULL)
			return NULL;
		memcpy(es->id, s->sb_id, sizeof(es->id));
		if (hk_map_put(&eng.subs, es->id, strlen(es->id), es) != 0) {
			free(es);
			return NULL;
		}
		hk_bucket_init(
		    &es->bucket, s->sb_rate, s->sb_rate, hk_mono_us());
		es->rate = s->sb_rate;
		/* From where the record says the last run left it. */
		memcpy(es->ordered_head, s->sb_ordered_head,
		    sizeof(es->ordered_head));
		es->failing_since = s->sb_failing_since;
	} else if (es->rate != s->sb_rate) {
		hk_bucket_set(&es->bucket, s->sb_rate, s->sb_rate);
		es->rate = s->sb_rate;
	}
	return es;
}

void
hk_engine_forget(const char *sub)
{
	struct eng_sub *es = hk_map_del(&eng.subs, sub, strlen(sub));

	if (es != NULL && es->reading)
		es->dead = 1;
	else
		free(es);
}

int
hk_engine_circuit_open(const char *sub)
{
	const struct eng_sub *es = eng_sub_find(sub);

	return es != NULL && es->fails >= HK_CIRCUIT_FAILS;
}

int
hk_engine_in_flight(const char *dlv)
{
	return hk_map_get(&eng.inflight, dlv, strlen(dlv)) != NULL;
}

int
hk_engine_sending(const char *dlv)
{
	const struct job *j = hk_map_get(&eng.inflight, dlv, strlen(dlv));

	if (j != NULL && j->finished) {
		/* A change asked for now goes to the store after the outcome. */
		hk_engine_flush();
		return 0;
	}
	return j != NULL;
}

int
hk_engine_busy(const char *sub)
{
	const struct eng_sub *es = eng_sub_find(sub);

	return es != NULL && es->jobs > 0;
}

size_t
hk_engine_inflight(void)
{
	return eng.ninflight;
}

void
hk_engine_observe(hk_engine_outcome_fn fn)
{
	eng.observer = fn;
}

/* Frees a NULL-ended array of strings. */
static void
eng_strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->command)
		hk_run_clear(&j->run);
	eng_strv_free(j->argv);
	eng_strv_free(j->envp);
	hk_send_clear(&j->send);
	free(j);
}

/* Whether J's attempt succeeded: a 2xx, or its command's exit 0. */
static int
job_ok(const struct job *j)
{
	return j->command ? hk_run_ok(&j->run) : hk_send_ok(&j->send);
}

/* ---- outcomes ---- */

/* Publishes an operational event about J (never about one of those). */
static void
eng_notify(const char *type, const struct job *j, const struct hk_sub *s)
{
	const struct hk_send *r = &j->send;
	struct hk_buf p = HK_BUF_INIT;
	int err;

	if (strncmp(r->ss_type, "hookd.", 6) == 0)
		return;
	if (hk_buf_printf(&p, "{\"subscription\":\"%s\",\"url\":", j->sub) ||
	    hk_buf_add_jsonstr(&p, s != NULL ? s->sb_url : NULL) ||
	    hk_buf_printf(&p,
	        ",\"delivery\":\"%s\",\"event\":\"%s\","
	        "\"attempts\":%d,\"lastError\":",
	        r->ss_dlv, r->ss_evt, r->ss_attempt) ||
	    hk_buf_add_jsonstr(
	        &p, r->ss_error[0] != '\0' ? r->ss_error : NULL) ||
	    hk_buf_addc(&p, '}') ||
	    hk_event_submit(type, NULL, "hookd", p.b, p.len, NULL, NULL, NULL,
	        NULL, &err) == NULL)
		log_warn("notify", "type=%s error=%s", type,
		    hk_logq("cannot publish"));
	hk_buf_free(&p);
}

/* The circuit, failing since, the ordered head, auto-disable: after J. */
static void
eng_after(struct outcome_op *o, struct hk_sub *s, struct eng_sub *es, int rc)
{
	struct job *j = o->job;
	int ok = job_ok(j), save = 0, disable = 0;
	int recorded = rc == 0 && !o->oc.oc_gone;

	if (j->probe)
		es->probing = 0;
	es->ordered_busy = 0;
	if (ok) {
		es->fails = 0;
		es->probe_after = 0;
		if (es->failing_since != 0) {
			es->failing_since = 0;
			save = 1;
		}
	} else {
		/* An open circuit spaces its probes like retries. */
		if (++es->fails >= HK_CIRCUIT_FAILS)
			es->probe_after = hk_now_ms() +
			    hk_backoff_ms(es->fails - HK_CIRCUIT_FAILS + 1,
			        s->sb_initial_ms, s->sb_max_ms,
			        randombytes_uniform(1000000) / 1e6);
		if (es->failing_since == 0) {
			es->failing_since = hk_now_ms();
			save = 1;
		}
	}
	if (s->sb_ordered && recorded) {
		/* The head waits for its retries; others wait for it. */
		if (o->fate != ENG_RETRY &&
		    strcmp(es->ordered_head, j->send.ss_dlv) == 0) {
			es->ordered_head[0] = '\0';
			save = 1;
		} else if (o->fate == ENG_RETRY &&
		    es->ordered_head[0] == '\0') {
			memcpy(es->ordered_head, j->send.ss_dlv,
			    sizeof(es->ordered_head));
			save = 1;
		}
	}
	if (!ok && o->disable == NULL &&
	    hk_now_ms() - es->failing_since > hd->hd_conf.cf_disable_after_ms)
		o->disable = "failing";
	if (s->sb_active && o->disable != NULL) {
		s->sb_active = 0;
		free(s->sb_disabled_reason);
		s->sb_disabled_reason = strdup(o->disable);
		save = disable = 1;
		log_warn("subscription_disabled", "subscription=%s reason=%s",
		    s->sb_id, o->disable);
		eng_notify("hookd.subscription.disabled", j, s);
	}
	if (save)
		hk_sub_save_state(
		    s, es->failing_since, es->ordered_head, disable, es->epoch);
}

static void
outcome_done(struct hk_st_op *op, int rc)
{
	struct outcome_op *o = (struct outcome_op *)op;
	struct job *j = o->job;
	struct hk_send *r = &j->send;
	struct hk_sub *s = hk_sub_find(j->sub);
	struct eng_sub *es = s != NULL ? eng_sub_get(s) : NULL;
	int ok = job_ok(j), recorded = rc == 0 && !o->oc.oc_gone;
	int fenced = rc == 0 && o->oc.oc_fenced;

	if (es != NULL)
		es->jobs--;
	if (fenced)
		/* Another node serves it now: its state is that node's. */
		log_info("delivery_fenced",
		    "delivery=%s subscription=%s attempt=%d epoch=%lld",
		    r->ss_dlv, j->sub, r->ss_attempt, (long long)j->epoch);
	if (rc != 0) {
		/*
		 * The queue entry is still there: the attempt will repeat,
		 * after a pause, not in a loop against a failing store.
		 */
		log_error("delivery_commit", "delivery=%s error=%s", r->ss_dlv,
		    hk_logq(hk_strerror(rc)));
		eng.pause_until = hk_mono_us() + ENG_STORE_PAUSE_US;
	}
	if (recorded && eng.observer != NULL)
		eng.observer(r->ss_dlv, r->ss_evt, j->sub, fate_state[o->fate],
		    o->oc.oc_text);
	hk_map_del(&eng.inflight, r->ss_dlv, strlen(r->ss_dlv));
	if (s != NULL && es != NULL && !fenced && es->epoch == j->epoch)
		eng_after(o, s, es, rc);
	if (recorded) {
		if (ok && r->ss_attempt > ENG_FAILING_AT)
			eng_notify("hookd.delivery.recovered", j, s);
		else if (!ok && r->ss_attempt == ENG_FAILING_AT &&
		    o->fate == ENG_RETRY)
			eng_notify("hookd.delivery.failing", j, s);
		if (o->fate == ENG_FAILED)
			eng_notify("hookd.delivery.exhausted", j, s);
	}
	hd->hd_stats.s_attempts++;
	if (r->ss_attempt > 1)
		hd->hd_stats.s_retries++;
	hk_stats_attempt(j->sub, ok, r->ss_latency_ms * 1000);
	if (recorded && o->fate == ENG_SUCCEEDED) {
		hd->hd_stats.s_succeeded++;
		hk_stats_first_success(
		    (hk_now_ms() - hk_id_ms("evt_", r->ss_evt)) * 1000);
	} else if (recorded && o->fate == ENG_FAILED)
		hd->hd_stats.s_failed++;
	free((char *)(uintptr_t)o->oc.oc_text);
	free(o);
	job_free(j);
	eng_schedule(0);
}

/*
 * Hands the gathered outcomes to the store. Nobody waits on an outcome
 * as a client waits on a 202: its slot is free already, and until it
 * commits the delivery only stays marked in flight. So outcomes wait up
 * to --outcome-delay to share one commit (one fsync for dozens instead
 * of for a handful), except where the next attempt waits for this one:
 * an ordered subscription's, and an open circuit's probe.
 */
static void
eng_outcome_flush(evutil_socket_t fd, short what, void *arg)
{
	struct outcome_op *o, *next;

	(void)fd;
	(void)what;
	(void)arg;
	o = eng.outq;
	eng.outq = NULL;
	eng.outq_tail = &eng.outq;
	for (; o != NULL; o = next) {
		next = o->next;
		if (hk_st_submit(&o->oc.oc_op) != 0)
			outcome_done(&o->oc.oc_op, HK_ESHUTDOWN);
	}
}

static void
eng_outcome_submit(struct outcome_op *o, int now)
{
	int64_t ms = hd->hd_conf.cf_outcome_delay_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	o->next = NULL;
	if (eng.outq_tail == NULL)
		eng.outq_tail = &eng.outq;
	*eng.outq_tail = o;
	eng.outq_tail = &o->next;
	if (now || ms == 0 || eng.outq_ev == NULL) {
		eng_outcome_flush(-1, 0, NULL);
		return;
	}
	if (!evtimer_pending(eng.outq_ev, NULL))
		evtimer_add(eng.outq_ev, &tv);
}

void
hk_engine_flush(void)
{
	eng_outcome_flush(-1, 0, NULL);
}

/*
 * Every finished attempt's fate is decided here, and a failure logged
 * here once with its cause: retried after the backoff (or the target's
 * Retry-After), or failed for good (410 Gone, which disables the
 * subscription too; attempts exhausted; the subscription deleted). *DUE
 * is a retry's due time, *DISABLE why the subscription goes off (its
 * failing too long is judged once the outcome is in, eng_after).
 */
static enum eng_fate
eng_fate(const struct job *j, const struct hk_sub *s, int64_t *due,
    const char **disable)
{
	const struct hk_send *r = &j->send;
	enum eng_fate f = ENG_RETRY;
	const char *cause = r->ss_error;
	int64_t delay, ra;

	*due = 0;
	*disable = NULL;
	if (job_ok(j)) {
		f = ENG_SUCCEEDED;
		cause = "delivered";
	} else if (r->ss_status == 410) {
		f = ENG_FAILED;
		cause = "the target answered 410 Gone";
		*disable = "gone";
	} else if (s == NULL) {
		f = ENG_FAILED;
		cause = "its subscription was deleted";
	} else if (r->ss_attempt >= j->limit) {
		f = ENG_FAILED;
		cause = "its last attempt failed";
	} else {
		delay = hk_backoff_ms(r->ss_attempt, s->sb_initial_ms,
		    s->sb_max_ms, randombytes_uniform(1000000) / 1e6);
		if ((r->ss_status == 429 || r->ss_status == 503) &&
		    r->ss_retry_after[0] != '\0' &&
		    hk_retry_after_ms(
		        r->ss_retry_after, hk_now_ms(), s->sb_max_ms, &ra) == 0)
			delay = ra;
		*due = hk_now_ms() + delay;
	}
	/* A header that may not be sent is the subscription's mistake. */
	if (r->ss_reason != NULL && strcmp(r->ss_reason, "bad_header") == 0)
		log_warn("attempt_refused", "delivery=%s fate=%s error=%s",
		    r->ss_dlv, fate_name[f], hk_logq(r->ss_error));
	else
		log_debug("attempt",
		    "delivery=%s attempt=%d status=%ld reason=%s ms=%lld "
		    "fate=%s error=%s cause=%s",
		    r->ss_dlv, r->ss_attempt, r->ss_status, r->ss_reason,
		    (long long)r->ss_latency_ms, fate_name[f],
		    hk_logq(r->ss_error), hk_logq(cause));
	return f;
}

/* The members every attempt record starts with: its number and time. */
static int
eng_attempt_head(struct hk_buf *a, const struct hk_send *r)
{
	char iso[HK_ISO_LEN];

	return hk_buf_adds(a, "{\"attempt\":") ||
	    hk_buf_add_i64(a, r->ss_attempt) || hk_buf_adds(a, ",\"at\":") ||
	    hk_buf_add_jsonstr(a, hk_time_iso(r->ss_at_ms, iso));
}

/* ... and has after its status: latency, error and reason. */
static int
eng_attempt_tail(struct hk_buf *a, const struct hk_send *r)
{
	return hk_buf_adds(a, ",\"latencyMs\":") ||
	    hk_buf_add_i64(a, r->ss_latency_ms) ||
	    hk_buf_adds(a, ",\"error\":") ||
	    hk_buf_add_jsonstr(
	        a, r->ss_error[0] != '\0' ? r->ss_error : NULL) ||
	    hk_buf_adds(a, ",\"reason\":") ||
	    hk_buf_add_jsonstr(a, r->ss_reason);
}

/* Appends the lines LINES (each ending in '\n') as a JSON array. */
static int
eng_lines_json(struct hk_buf *a, const char *lines, size_t len)
{
	const char *p = lines, *e = lines + len, *nl;
	int n = 0;

	if (hk_buf_addc(a, '[') != 0)
		return -1;
	for (; p != NULL && p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if ((n++ > 0 && hk_buf_addc(a, ',') != 0) ||
		    hk_buf_addc(a, '"') != 0 ||
		    hk_buf_add_jsonesc(a, p, (size_t)(nl - p)) != 0 ||
		    hk_buf_addc(a, '"') != 0)
			return -1;
	}
	return hk_buf_addc(a, ']');
}

/*
 * The header lines R sent, as a JSON array. A subscription's own header
 * values are sealed at rest and redacted in every answer (often they
 * are the receiver's credential): here too.
 */
static int
eng_sent_json(struct hk_buf *a, const struct hk_send *r)
{
	size_t i, n = hk_hdrs_count(&r->ss_hdrs);
	const char *line, *colon;

	if (hk_buf_addc(a, '[') != 0)
		return -1;
	for (i = 0; i < n; i++) {
		line = hk_hdrs_line(&r->ss_hdrs, i);
		/* "Name:" tells curl not to send one of its own: not sent. */
		if (line[0] == '\0' || line[strlen(line) - 1] == ':')
			continue;
		if (a->b[a->len - 1] != '[' && hk_buf_addc(a, ',') != 0)
			return -1;
		if (i + r->ss_ncustom >= n &&
		    (colon = strchr(line, ':')) != NULL) {
			if (hk_buf_addc(a, '"') != 0 ||
			    hk_buf_add_jsonesc(
			        a, line, (size_t)(colon - line)) ||
			    hk_buf_adds(a, ": [redacted]\"") != 0)
				return -1;
		} else if (hk_buf_add_jsonstr(a, line) != 0)
			return -1;
	}
	return hk_buf_addc(a, ']');
}

/*
 * The attempt's record (proto/delivery.md, "attempts"): what was sent
 * (header lines; the body when a template made it, else the envelope is
 * the event's) and what came back.
 */
static int
eng_attempt_json(struct hk_buf *a, struct hk_send *r, int templated)
{
	char *p;
	size_t i, blen;

	/* Keep the response printable: JSON strings hold text. */
	for (p = r->ss_resp.b, i = 0; p != NULL && i < r->ss_resp.len; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\n' && p[i] != '\t')
			p[i] = '?';
	blen = r->ss_body.len < HK_SEND_KEEP ? r->ss_body.len : HK_SEND_KEEP;
	return hk_buf_reserve(a, 1024 + r->ss_resp.len) ||
	    eng_attempt_head(a, r) || hk_buf_adds(a, ",\"statusCode\":") ||
	    (r->ss_status > 0 ? hk_buf_add_i64(a, r->ss_status)
	                      : hk_buf_adds(a, "null")) ||
	    eng_attempt_tail(a, r) ||
	    hk_buf_adds(a, ",\"request\":{\"headers\":") ||
	    eng_sent_json(a, r) || hk_buf_adds(a, ",\"body\":") ||
	    (templated ? hk_buf_addc(a, '"') ||
	                hk_buf_add_jsonesc(a, r->ss_body.b, blen) ||
	                hk_buf_addc(a, '"')
	               : hk_buf_adds(a, "null")) ||
	    hk_buf_adds(a, ",\"bodySize\":") ||
	    hk_buf_add_i64(a, (int64_t)r->ss_body.len) ||
	    hk_buf_adds(a, "},\"responseHeaders\":") ||
	    eng_lines_json(a, r->ss_resp_hdrs.b, r->ss_resp_hdrs.len) ||
	    hk_buf_adds(a, ",\"response\":\"") ||
	    hk_buf_add_jsonesc(
	        a, r->ss_resp.b != NULL ? r->ss_resp.b : "", r->ss_resp.len) ||
	    hk_buf_adds(a, "\"}");
}

/* Appends B's head (a run's output) as a JSON string of text. */
static int
eng_text_json(struct hk_buf *a, struct hk_buf *b)
{
	size_t i;

	for (i = 0; b->b != NULL && i < b->len; i++)
		if ((unsigned char)b->b[i] < 0x20 && b->b[i] != '\n' &&
		    b->b[i] != '\t')
			b->b[i] = '?';
	return hk_buf_addc(a, '"') ||
	    hk_buf_add_jsonesc(a, b->b != NULL ? b->b : "", b->len) ||
	    hk_buf_addc(a, '"');
}

/*
 * A command's attempt record (proto/delivery.md, "Command targets"):
 * its exit code and the head of what it wrote, as an answer's would be.
 */
static int
eng_run_json(struct hk_buf *a, struct job *j)
{
	struct hk_run *rn = &j->run;
	struct hk_send *r = &j->send;

	return hk_buf_reserve(a, 512 + rn->rn_out.len + rn->rn_err.len) ||
	    eng_attempt_head(a, r) ||
	    hk_buf_adds(a, ",\"statusCode\":null,\"exitCode\":") ||
	    (rn->rn_exit >= 0 ? hk_buf_add_i64(a, rn->rn_exit)
	                      : hk_buf_adds(a, "null")) ||
	    eng_attempt_tail(a, r) || hk_buf_adds(a, ",\"response\":") ||
	    eng_text_json(a, &rn->rn_out) || hk_buf_adds(a, ",\"stderr\":") ||
	    eng_text_json(a, &rn->rn_err) ||
	    hk_buf_adds(a, ",\"stdoutBytes\":") ||
	    hk_buf_add_i64(a, (int64_t)rn->rn_out_total) ||
	    hk_buf_adds(a, ",\"stderrBytes\":") ||
	    hk_buf_add_i64(a, (int64_t)rn->rn_err_total) || hk_buf_addc(a, '}');
}

/* An attempt is over: commit what happened and when the next one is. */
static void
job_finish(struct hk_send *r)
{
	struct job *j = (struct job *)r;
	struct hk_sub *s = hk_sub_find(j->sub);
	struct eng_sub *es = eng_sub_find(j->sub);
	struct hk_buf a = HK_BUF_INIT;
	struct outcome_op *o;

	/*
	 * The request is over: its slot under --max-in-flight and maxInFlight
	 * is free now, while the outcome commits. The delivery itself stays
	 * in flight (not sent again) until then; an ordered subscription and
	 * an open circuit's probe wait for the outcome.
	 */
	j->finished = 1;
	eng.ninflight--;
	if (es != NULL)
		es->inflight--;
	eng_schedule(0);
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (j->command ? eng_run_json(&a, j)
	                : eng_attempt_json(&a, r, j->templated))) {
		/* Not recorded: the queue entry stays, the attempt repeats. */
		log_error("delivery_commit", "delivery=%s error=%s", r->ss_dlv,
		    hk_logq("out of memory"));
		hk_buf_free(&a);
		free(o);
		hk_map_del(&eng.inflight, r->ss_dlv, strlen(r->ss_dlv));
		if (es != NULL) {
			if (j->probe)
				es->probing = 0;
			es->ordered_busy = 0;
			es->jobs--;
		}
		job_free(j);
		return;
	}
	o->job = j;
	o->fate = eng_fate(j, s, &o->oc.oc_due, &o->disable);
	o->oc.oc_op.so_kind = HK_ST_OUTCOME;
	o->oc.oc_op.so_done = outcome_done;
	memcpy(o->oc.oc_dlv, r->ss_dlv, sizeof(o->oc.oc_dlv));
	memcpy(o->oc.oc_sub, j->sub, sizeof(o->oc.oc_sub));
	o->oc.oc_epoch = j->epoch;
	o->oc.oc_attempt = r->ss_attempt;
	o->oc.oc_len = a.len;
	o->oc.oc_text = hk_buf_take(&a);
	o->oc.oc_to = fate_state[o->fate];
	eng_outcome_submit(o, j->probe || (s != NULL && s->sb_ordered));
}

/* ---- the scheduler ---- */

/* Whether S can take one more attempt now, for delivery DLV. */
static int
eng_may_send(const struct hk_sub *s, struct eng_sub *es, const char *dlv)
{
	int64_t wait;

	if (!s->sb_active || es->inflight >= s->sb_max_in_flight)
		return 0;
	if (es->fails >= HK_CIRCUIT_FAILS && es->probing)
		return 0; /* open circuit: one probe at a time */
	if (s->sb_ordered &&
	    (es->ordered_busy ||
	        (es->ordered_head[0] != '\0' &&
	            strcmp(es->ordered_head, dlv) != 0)))
		return 0;
	if (s->sb_rate > 0 &&
	    hk_bucket_take(&es->bucket, hk_mono_us(), &wait) != 0)
		return 0;
	return 1;
}

/*
 * Builds J's body for S from its event's envelope ENV: the envelope, or
 * the subscription's template over it. NULL, or why it cannot be built.
 */
static const char *
eng_body(struct job *j, const struct hk_sub *s, const char *env, size_t len)
{
	static const char *const env_names[] = {"event"};
	struct hk_send *r = &j->send;
	struct hk_json_str etype;
	char hbuf[1024];
	const char *cut;
	size_t n;
	int rc;

	if ((cut = memmem(env, len, ",\"payload\":", 11)) == NULL)
		return "its event record has no payload";
	/*
	 * The type is in the envelope's head, before its payload: scanning
	 * that (closed with a brace) spares a pass over the payload.
	 */
	n = (size_t)(cut - env);
	if (n + 1 < sizeof(hbuf)) {
		memcpy(hbuf, env, n);
		hbuf[n++] = '}';
		rc = hk_json_scan(hbuf, n, env_names, 1, &etype);
	} else
		rc = hk_json_scan(env, len, env_names, 1, &etype);
	if (rc != 0)
		return "its event record is not JSON";
	if (etype.p == NULL ||
	    hk_json_unescape(&etype, r->ss_type, sizeof(r->ss_type)) < 0)
		r->ss_type[0] = '\0';
	j->templated = s->sb_template != NULL;
	if (s->sb_template == NULL)
		rc = hk_buf_add(&r->ss_body, env, len);
	else
		rc = hk_env_render(s->sb_template, env, len, &r->ss_body);
	if (rc == HK_EINVAL)
		return "its template cannot be rendered";
	return rc != 0 ? "out of memory" : NULL;
}

/* A command's run is over: its outcome in the attempt's terms. */
static void
eng_run_done(struct hk_run *rn)
{
	struct job *j = rn->rn_arg;
	struct hk_send *r = &j->send;

	r->ss_reason = rn->rn_reason;
	snprintf(r->ss_error, sizeof(r->ss_error), "%s", rn->rn_error);
	r->ss_at_ms = rn->rn_at_ms;
	r->ss_latency_ms = rn->rn_latency_ms;
	job_finish(r);
}

/* "NAME=VALUE" appended to V (N entries so far). 0 or -1. */
static int
eng_env_add(char **v, size_t *n, const char *name, const char *val)
{
	if (asprintf(&v[*n], "%s=%s", name, val) == -1) {
		v[*n] = NULL;
		return -1;
	}
	(*n)++;
	return 0;
}

/*
 * J's argv and environment for S's command, rendered against the event's
 * envelope ENV by the template rules: the configured variables, the
 * HOOKD_* ones and hookd's PATH (unless configured), nothing else.
 */
static const char *
eng_cmd_build(
    struct job *j, const struct hk_sub *s, const char *env, size_t envlen)
{
	struct hk_buf b = HK_BUF_INIT;
	const cJSON *e, *vars;
	const char *path = getenv("PATH");
	char num[16];
	size_t i, n = 0, cap;
	int rc = 0;

	if ((j->argv = calloc(s->sb_cmd_argc + 1, sizeof(char *))) == NULL)
		return "out of memory";
	for (i = 0; i < s->sb_cmd_argc && rc == 0; i++) {
		b.len = 0;
		/* argv[0] is a path, not a template. */
		rc = i == 0 ? hk_buf_adds(&b, s->sb_cmd_argv[0])
		            : hk_env_render(s->sb_cmd_argv[i], env, envlen, &b);
		if (rc == 0 && hk_buf_addc(&b, '\0') != 0)
			rc = HK_ENOMEM;
		if (rc == 0 && (j->argv[i] = strdup(b.b)) == NULL)
			rc = HK_ENOMEM;
	}
	cap = (size_t)cJSON_GetArraySize(s->sb_cmd_env) + 6;
	if (rc == 0 && (j->envp = calloc(cap, sizeof(char *))) == NULL)
		rc = HK_ENOMEM;
	vars = rc == 0 ? s->sb_cmd_env : NULL;
	cJSON_ArrayForEach(e, vars) {
		b.len = 0;
		if ((rc = hk_env_render(e->valuestring, env, envlen, &b)) ||
		    (rc = hk_buf_addc(&b, '\0')) ||
		    (rc = eng_env_add(j->envp, &n, e->string, b.b)))
			break;
		if (strcmp(e->string, "PATH") == 0)
			path = NULL;
	}
	snprintf(num, sizeof(num), "%d", j->send.ss_attempt);
	if (rc == 0 &&
	    (eng_env_add(j->envp, &n, "HOOKD_EVENT_ID", j->send.ss_evt) ||
	        eng_env_add(j->envp, &n, "HOOKD_EVENT_TYPE", j->send.ss_type) ||
	        eng_env_add(j->envp, &n, "HOOKD_DELIVERY_ID", j->send.ss_dlv) ||
	        eng_env_add(j->envp, &n, "HOOKD_ATTEMPT", num) ||
	        (path != NULL && eng_env_add(j->envp, &n, "PATH", path))))
		rc = HK_ENOMEM;
	hk_buf_free(&b);
	if (rc == HK_EINVAL)
		return "its command's arguments cannot be rendered";
	if (rc != 0)
		return "out of memory";
	j->command = 1;
	j->run.rn_argv = j->argv;
	j->run.rn_envp = j->envp;
	j->run.rn_cwd = s->sb_cmd_cwd;
	if (s->sb_cmd_stdin == HK_CMD_STDIN_BODY) {
		j->run.rn_stdin =
		    j->send.ss_body.b != NULL ? j->send.ss_body.b : "";
		j->run.rn_stdin_len = j->send.ss_body.len;
	}
	j->run.rn_timeout_ms = s->sb_cmd_timeout_ms;
	j->run.rn_done = eng_run_done;
	j->run.rn_arg = j;
	return NULL;
}

/*
 * Builds and starts the attempt of pending delivery D for S, its event's
 * envelope ENV. NULL, or why it could not start: nothing is recorded
 * then, the entry stays queued and is tried again on a later pass.
 */
static const char *
eng_dispatch(const struct hk_sub *s, struct eng_sub *es,
    const struct hk_delivery *d, const char *env, size_t envlen)
{
	const char *cause;
	struct job *j;
	int rc;

	if (d == NULL)
		return "its delivery record is missing or unreadable";
	if (d->state != HK_DS_PENDING)
		return "its delivery is no longer pending";
	if (env == NULL)
		return "its event record is missing";
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return "out of memory";
	memcpy(j->send.ss_dlv, d->id, sizeof(j->send.ss_dlv));
	memcpy(j->send.ss_evt, d->event, sizeof(j->send.ss_evt));
	memcpy(j->sub, s->sb_id, sizeof(j->sub));
	j->epoch = es->epoch;
	j->send.ss_attempt = (int)d->attempts + 1;
	j->send.ss_done = job_finish;
	j->limit = (int)d->limit;
	if ((cause = eng_body(j, s, env, envlen)) != NULL)
		goto out;
	if (s->sb_command) {
		if ((cause = eng_cmd_build(j, s, env, envlen)) != NULL)
			goto out;
		if (hk_map_put(&eng.inflight, d->id, strlen(d->id), j) != 0) {
			cause = "out of memory";
			goto out;
		}
		/* A command that cannot start: a failed attempt, recorded. */
		rc = hk_run_start(&j->run);
		goto started;
	}
	rc = hk_send_sign(&j->send, s->sb_secret,
	    s->sb_prev_secret != NULL && s->sb_prev_until > hk_now_ms()
	        ? s->sb_prev_secret
	        : NULL,
	    s->sb_headers);
	if (rc != 0 && rc != HK_EINVAL) {
		cause = rc == HK_ERR ? "no secret can sign it"
		                     : "its header lines cannot be built";
		goto out;
	}
	if (hk_map_put(&eng.inflight, d->id, strlen(d->id), j) != 0) {
		cause = "out of memory";
		goto out;
	}
	if (rc == 0 && hk_send_start(&j->send, s->sb_url, s->sb_timeout_ms)) {
		hk_map_del(&eng.inflight, d->id, strlen(d->id));
		cause = "libcurl cannot start the request";
		goto out;
	}
started:
	eng.ninflight++;
	es->inflight++;
	es->jobs++;
	if (es->fails >= HK_CIRCUIT_FAILS)
		es->probing = j->probe = 1;
	if (s->sb_ordered)
		es->ordered_busy = 1;
	/* A header that may not be sent: a failed attempt, recorded. */
	if (rc == HK_EINVAL) {
		j->send.ss_at_ms = hk_now_ms();
		job_finish(&j->send);
	} else if (j->command && rc != 0) {
		j->run.rn_at_ms = hk_now_ms();
		eng_run_done(&j->run);
	}
	return NULL;
out:
	job_free(j);
	return cause;
}

/* hk_st_due's pick: whether the limits let DLV go now. */
static int
eng_pick(struct hk_st_due *du, const char *dlv)
{
	struct eng_sub *es = (struct eng_sub *)du;
	const struct hk_sub *s = hk_sub_find(es->id);

	if (hk_engine_in_flight(dlv))
		return 0;
	if ((int64_t)eng.ninflight >= hd->hd_conf.cf_max_in_flight) {
		eng.capped = 1;
		return -1;
	}
	return s != NULL && eng_may_send(s, es, dlv) ? 1 : -1;
}

/* hk_st_due's busy: the attempts of this subscription that are out. */
static struct {
	const char *sub;
	const char **ids;
	size_t n, max;
} eng_busy_of;

static void
eng_busy_one(void *val)
{
	const struct job *j = val;

	if (eng_busy_of.n < eng_busy_of.max &&
	    strcmp(j->sub, eng_busy_of.sub) == 0)
		eng_busy_of.ids[eng_busy_of.n++] = j->send.ss_dlv;
}

static size_t
eng_busy(struct hk_st_due *du, const char **ids, size_t max)
{
	struct eng_sub *es = (struct eng_sub *)du;

	if (es->jobs == 0)
		return 0;
	eng_busy_of.sub = es->id;
	eng_busy_of.ids = ids;
	eng_busy_of.n = 0;
	eng_busy_of.max = max;
	hk_map_foreach(&eng.inflight, eng_busy_one);
	return eng_busy_of.n;
}

/* hk_st_due's take: start it; one that cannot start is logged once here. */
static void
eng_take(struct hk_st_due *du, const char *dlv, const struct hk_delivery *d,
    const char *env, size_t envlen)
{
	struct eng_sub *es = (struct eng_sub *)du;
	const struct hk_sub *s = hk_sub_find(es->id);
	const char *cause;

	if (s == NULL)
		return;
	if ((cause = eng_dispatch(s, es, d, env, envlen)) != NULL)
		log_warn(
		    "dispatch", "delivery=%s error=%s", dlv, hk_logq(cause));
}

/* A pass's read, or the pass itself, is over; the last schedules the next. */
static void
eng_pass_end(void)
{
	if (--eng.pass_reads > 0)
		return;
	/* An ending attempt or a new event brings the next pass sooner. */
	eng_schedule(eng.pass_next - hk_now_ms());
}

static void
eng_read_done(struct hk_st_due *du, int rc)
{
	struct eng_sub *es = (struct eng_sub *)du;
	struct hk_sub *s;

	es->reading = 0;
	if (rc != 0)
		log_warn("queue_read", "subscription=%s error=%s", es->id,
		    hk_logq(hk_strerror(rc)));
	if (du->du_next < eng.pass_next)
		eng.pass_next = du->du_next;
	/*
	 * An ordered head no longer pending (retried by hand and done,
	 * cancelled) releases the others.
	 */
	if (du->du_only != NULL && du->du_gone && !es->dead &&
	    (s = hk_sub_find(es->id)) != NULL &&
	    strcmp(es->ordered_head, du->du_only) == 0) {
		es->ordered_head[0] = '\0';
		hk_sub_save_state(
		    s, es->failing_since, es->ordered_head, 0, es->epoch);
		eng_schedule(0);
	}
	if (du->du_ordered && du->du_head[0] != '\0' && !es->dead &&
	    es->ordered_head[0] == '\0' && (s = hk_sub_find(es->id)) != NULL) {
		memcpy(es->ordered_head, du->du_head, sizeof(es->ordered_head));
		log_info("ordered_head", "subscription=%s delivery=%s", es->id,
		    es->ordered_head);
		hk_sub_save_state(
		    s, es->failing_since, es->ordered_head, 0, es->epoch);
		eng_schedule(0);
	}
	if (es->dead)
		free(es);
	eng_pass_end();
}

/*
 * S's lease is EPOCH now (another node served it meanwhile): the state
 * starts again from the record, which the store refreshed when the
 * lease was taken.
 */
static void
eng_sub_renew(struct eng_sub *es, const struct hk_sub *s, int64_t epoch)
{
	es->epoch = epoch;
	es->fails = es->probing = es->ordered_busy = 0;
	es->probe_after = 0;
	memcpy(es->ordered_head, s->sb_ordered_head, sizeof(es->ordered_head));
	es->failing_since = s->sb_failing_since;
	es->du.du_poslen = 0;
	hk_bucket_init(&es->bucket, s->sb_rate, s->sb_rate, hk_mono_us());
	es->rate = s->sb_rate;
}

/* Starts the read of S's due deliveries, if its circuit lets any go. */
static void
eng_serve(struct hk_sub *s, int64_t epoch)
{
	struct eng_sub *es;

	if ((es = eng_sub_get(s)) == NULL || es->reading)
		return; /* out of memory: the next pass tries again */
	if (es->epoch != epoch) {
		/* Attempts of the lease before are fenced: they end first. */
		if (es->jobs > 0)
			return;
		eng_sub_renew(es, s, epoch);
	}
	if (es->fails >= HK_CIRCUIT_FAILS && eng.pass_now < es->probe_after) {
		if (es->probe_after < eng.pass_next)
			eng.pass_next = es->probe_after;
		return;
	}
	es->du.du_only = NULL;
	/* An ordered subscription whose head failed: only the head may go. */
	if (s->sb_ordered && es->ordered_head[0] != '\0') {
		if (hk_engine_in_flight(es->ordered_head))
			return;
		memcpy(es->head, es->ordered_head, sizeof(es->head));
		es->du.du_only = es->head;
	}
	/* No head known: a retry a crash left unsaved would be the head. */
	es->du.du_ordered = s->sb_ordered && es->du.du_only == NULL;
	es->du.du_sub = es->id;
	es->du.du_now = eng.pass_now;
	es->du.du_pick = eng_pick;
	es->du.du_busy = eng_busy;
	es->du.du_take = eng_take;
	es->du.du_done = eng_read_done;
	es->reading = 1;
	eng.pass_reads++;
	hk_st_due(&es->du);
}

/*
 * One pass: every active subscription's own part of the queue, so a
 * dead endpoint's backlog costs a seek, never a scan in front of
 * another subscription's fresh events.
 */
static void
eng_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hk_sub *s;
	int64_t epoch;

	(void)fd;
	(void)what;
	(void)arg;
	eng.scheduled = 0;
	if (hd->hd_stopping)
		return;
	if (hk_mono_us() < eng.pause_until) {
		eng_schedule((eng.pause_until - hk_mono_us()) / 1000 + 1);
		return;
	}
	if (eng.pass_reads > 0)
		return; /* a pass is still reading: its end schedules */
	eng.pass_now = hk_now_ms();
	eng.pass_next = eng.pass_now + ENG_IDLE_MS;
	eng.capped = 0;
	eng.pass_reads = 1;
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry) {
		/*
		 * A stored command without --allow-commands waits, queued:
		 * running one is the operator's choice at every start.
		 */
		if (s->sb_active &&
		    (!s->sb_command || hd->hd_conf.cf_allow_commands) &&
		    hk_st_serves(s->sb_id, &epoch))
			eng_serve(s, epoch);
		if (eng.capped)
			break;
	}
	eng_pass_end();
}

static void
eng_schedule(int64_t ms)
{
	struct timeval tv;

	if (eng.tick == NULL)
		return;
	if (ms < 0)
		ms = 0;
	if (eng.scheduled && ms > 0)
		return; /* a sooner or equal pass is pending */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(eng.tick, &tv);
	eng.scheduled = 1;
}

void
hk_engine_kick(void)
{
	eng_schedule(0);
}

int
hk_engine_init(char **cause)
{
	if (hk_sender_init(cause) != 0 || hk_runner_init(cause) != 0)
		return HK_ERR;
	eng.tick = evtimer_new(hd->hd_base, eng_tick, NULL);
	eng.outq_tail = &eng.outq;
	eng.outq_ev = evtimer_new(hd->hd_base, eng_outcome_flush, NULL);
	if (eng.tick == NULL || eng.outq_ev == NULL) {
		*cause = strdup("cannot create timers");
		return HK_ERR;
	}
	eng_schedule(0);
	return 0;
}

static void
eng_free_job(void *arg)
{
	job_free(arg);
}

void
hk_engine_free(void)
{
	/* Attempts still in flight stay queued: they run after a restart. */
	hk_map_foreach(&eng.inflight, eng_free_job);
	hk_map_free(&eng.inflight);
	hk_map_foreach(&eng.subs, free);
	hk_map_free(&eng.subs);
	if (eng.tick != NULL)
		event_free(eng.tick);
	if (eng.outq_ev != NULL)
		event_free(eng.outq_ev);
	memset(&eng, 0, sizeof(eng));
	hk_runner_free();
	hk_sender_free();
}
