/*
 * deliver.c: the engine that sends deliveries (proto/delivery.md), and the
 * deliveries API. A delivery's record, queue entry and transitions are
 * delivery.c's; the engine reads them and asks the writer for changes.
 *
 * The engine runs on the loop. A scan reads the due part of the queue,
 * at most ENG_SCAN entries a pass, and starts what the limits allow
 * (--max-in-flight, each subscription's maxInFlight, rate, circuit and
 * order). Requests go through libcurl's multi interface driven by
 * libevent: socket and timer callbacks, curl_multi_socket_action, no
 * thread and no blocking call. An attempt's outcome is committed by the
 * writer (the record, the new queue entry); until that commit is done
 * the delivery stays marked in flight, and its old queue entry stays on
 * disk, so a crash repeats an attempt and never loses one. Outcomes wait
 * up to --outcome-delay to share a commit (eng_outcome_flush); curl's
 * connections and easy handles are kept for the next attempts.
 *
 * Every connect goes through eng_opensocket, which judges the address
 * curl is about to connect to: DNS cannot point a public name inside.
 */
#include <sys/socket.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/dns.h>
#include <sodium.h>

#include "backoff.h"
#include "clock.h"
#include "env.h"
#include "hdr.h"
#include "hk.h"
#include "hookd.h"
#include "store/lmdb.h"
#include "id.h"
#include "json.h"
#include "tmpl.h"

#define ENG_IDLE_MS 1000 /* a pass at least this often */
#define ENG_RESPONSE_KEEP 1024 /* bytes of a response kept per attempt */
#define ENG_RESPONSE_MAX (1024 * 1024) /* read beyond this: too_large */
#define ENG_CIRCUIT 5 /* consecutive failures that open a circuit */
#define ENG_FAILING_AT 4 /* failed attempts before .failing */
#define DLV_RECOVER_MAX 10000 /* deliveries one recover call touches */
#define ENG_STORE_PAUSE_US 5000000 /* after a failed outcome commit */
#define ENG_HDRS_MAX (11 + HOOKD_SUB_HEADERS_MAX) /* eng_sign's 11, a sub's */
_Static_assert(ENG_HDRS_MAX <= HK_HDRS_MAX, "a delivery's lines fit a set");
#define ENG_IDLE_HANDLES 256 /* easy handles kept for reuse */

/*
 * The engine's own state of one subscription (loop only), found by its
 * id: made on first use, dropped when the subscription is deleted. The
 * subscription's record knows nothing of it.
 */
struct eng_sub {
	char id[HK_ID_MAX];
	int inflight; /* requests out now */
	int fails; /* consecutive failed attempts */
	int probing; /* the circuit is open and its probe is out */
	int64_t probe_after; /* open circuit: no probe before (wall ms) */
	int ordered_busy; /* ordered: an attempt is out or committing */
	/* Where the last pass stopped among first attempts (a queue key). */
	char resume[HK_QKEY_MAX];
	size_t resume_len;
	struct hk_bucket bucket; /* the subscription's rate */
	double rate; /* the rate the bucket was set for */
};

/* One attempt in flight (or a one-off test request). */
struct job {
	char dlv[HK_ID_MAX];
	char sub[HK_ID_MAX];
	char evt[HK_ID_MAX];
	char type[HOOKD_TYPE_MAX + 1];
	int attempt;
	int limit;
	char qkey[HK_QKEY_MAX];
	size_t qklen;
	CURL *easy;
	struct curl_slist hdr[ENG_HDRS_MAX]; /* CURLOPT_HTTPHEADER */
	struct hk_hdrs hdrs; /* the lines hdr points into */
	struct hk_buf body;
	struct hk_buf resp;
	size_t resp_total;
	char retry_after[64];
	int refused;
	int too_large;
	int probe; /* the one request an open circuit lets through */
	int64_t t0_us;
	int64_t at_ms;
	/* The outcome. */
	long status;
	const char *reason;
	char error[256];
	int64_t latency_ms;
	/* A test request answers REQ instead of committing. */
	struct evhttp_request *req;
	int test;
};

static struct {
	CURLM *multi;
	struct event *curl_timer;
	struct event *tick;
	struct hk_map inflight; /* dlv id -> job, until its outcome commits */
	struct hk_map subs; /* sub id -> struct eng_sub */
	size_t ninflight;
	int scheduled;
	int64_t pause_until; /* after a failed commit: no new attempts */
	/* Outcomes gathered for up to --outcome-delay (eng_outcome_flush). */
	struct outcome_op *outq, **outq_tail;
	struct event *outq_ev;
	/* Finished handles, reset, for the next attempts (eng_easy_put). */
	CURL *idle[ENG_IDLE_HANDLES];
	size_t nidle;
} eng;

/* The engine's state of subscription ID, if it has any. */
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
	} else if (es->rate != s->sb_rate) {
		hk_bucket_set(&es->bucket, s->sb_rate, s->sb_rate);
		es->rate = s->sb_rate;
	}
	return es;
}

void
hk_engine_forget(const char *sub)
{
	free(hk_map_del(&eng.subs, sub, strlen(sub)));
}

int
hk_engine_circuit_open(const char *sub)
{
	const struct eng_sub *es = eng_sub_find(sub);

	return es != NULL && es->fails >= ENG_CIRCUIT;
}

/* The due time in a queue key whose subscription id is SLEN bytes. */
static int64_t
queue_due(const unsigned char *k, size_t slen)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | k[slen + 1 + i];
	return (int64_t)v;
}

/* Appends the text KEY (",\"name\":") and the string V, or null. */
static int
dlv_print_str(struct hk_buf *b, const char *key, const char *v)
{
	return hk_buf_adds(b, key) || hk_buf_add_jsonstr(b, v) ? -1 : 0;
}

static int
dlv_print_num(struct hk_buf *b, const char *key, long long v)
{
	return hk_buf_adds(b, key) || hk_buf_add_i64(b, v) ? -1 : 0;
}

/* ---- the engine: curl multi on the loop ---- */

static void eng_check(void);
static void eng_schedule(int64_t ms);

static void
eng_sock_event(evutil_socket_t fd, short what, void *arg)
{
	int running, flags = 0;

	(void)arg;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(eng.multi, fd, flags, &running);
	eng_check();
}

static int
eng_sockcb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct event *ev = sockp;
	short kind;

	(void)e;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL) {
			event_free(ev);
			curl_multi_assign(eng.multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (ev != NULL) {
		event_del(ev);
		event_assign(ev, hd->hd_base, s, kind, eng_sock_event, NULL);
	} else {
		if ((ev = event_new(
		         hd->hd_base, s, kind, eng_sock_event, NULL)) == NULL)
			return -1;
		curl_multi_assign(eng.multi, s, ev);
	}
	return event_add(ev, NULL);
}

static void
eng_curl_timeout(evutil_socket_t fd, short what, void *arg)
{
	int running;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(eng.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	eng_check();
}

static int
eng_timercb(CURLM *m, long ms, void *userp)
{
	struct timeval tv;

	(void)m;
	(void)userp;
	if (ms < 0)
		return evtimer_del(eng.curl_timer);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(eng.curl_timer, &tv);
}

/*
 * Every socket of a delivery is opened here: the address curl resolved
 * is judged before the connect, so a public name that resolves inside
 * is refused like the address itself.
 */
static curl_socket_t
eng_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *ca)
{
	struct job *j = arg;
	struct hk_addr a;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    hk_addr_from_sa(&ca->addr, &a) != 0 ||
	    !hk_addr_allowed(&a, &hd->hd_allow)) {
		j->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(ca->family, ca->socktype | SOCK_CLOEXEC, ca->protocol);
}

static size_t
eng_write(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = size * n, keep;

	if (j->resp.len < ENG_RESPONSE_KEEP) {
		keep = ENG_RESPONSE_KEEP - j->resp.len;
		if (keep > len)
			keep = len;
		if (hk_buf_add(&j->resp, p, keep) != 0)
			return 0;
	}
	j->resp_total += len;
	if (j->resp_total > ENG_RESPONSE_MAX) {
		j->too_large = 1;
		return 0; /* abort the transfer */
	}
	return len;
}

static size_t
eng_header(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = size * n, v;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		for (v = 12; v < len && p[v] == ' '; v++)
			;
		snprintf(j->retry_after, sizeof(j->retry_after), "%.*s",
		    (int)(len - v), p + v);
		j->retry_after[strcspn(j->retry_after, "\r\n")] = '\0';
	}
	return len;
}

/*
 * The list curl reads (it keeps no copy) lives in the job itself, its
 * lines in j->hdrs (lib/hdr.c, the one place header lines are made): no
 * allocation per line, where curl_slist_append makes two. Tied once the
 * text no longer moves.
 */
static struct curl_slist *
eng_hdr_link(struct job *j)
{
	size_t i, n = hk_hdrs_count(&j->hdrs);

	for (i = 0; i < n && i < ENG_HDRS_MAX; i++) {
		j->hdr[i].data = (char *)(uintptr_t)hk_hdrs_line(&j->hdrs, i);
		j->hdr[i].next = i + 1 < n ? &j->hdr[i + 1] : NULL;
	}
	return n > 0 ? &j->hdr[0] : NULL;
}

/*
 * The headers of proto/delivery.md's table, signed with SECRET and, during a
 * rotation, PREV (one webhook-signature entry per valid secret), then
 * CUSTOM's. Returns 0; HK_EINVAL when a field may not be sent (j->error
 * says which: the attempt fails, nothing is sent); another error.
 */
static int
eng_sign(
    struct job *j, const char *secret, const char *prev, const cJSON *custom)
{
	struct hk_hdr_field own[HOOKD_SUB_HEADERS_MAX];
	struct hk_hdr_delivery d;
	unsigned char key[HK_SIG_KEYMAX];
	char hex[65], v1[2][128];
	int64_t now = hk_now_ms();
	const char *keys[2] = {secret, prev};
	const cJSON *c;
	size_t l, nown = 0;
	int i, klen, n = 0, rc;

	hk_sig_hex(secret, (const unsigned char *)j->body.b, j->body.len, hex);
	for (i = 0; i < 2; i++) {
		if (keys[i] == NULL ||
		    (klen = hk_sig_standard_key(keys[i], key)) < 0)
			continue;
		hk_sig_standard_v1(key, (size_t)klen, j->evt, now / 1000,
		    (const unsigned char *)j->body.b, j->body.len, v1[n],
		    sizeof(v1[n]));
		n++;
	}
	sodium_memzero(key, sizeof(key));
	if (n == 0)
		return HK_ERR;
	/* Two signatures are space-separated (Standard Webhooks). */
	if (n > 1 && (l = strlen(v1[0])) + 1 + strlen(v1[1]) < sizeof(v1[0])) {
		v1[0][l] = ' ';
		memcpy(v1[0] + l + 1, v1[1], strlen(v1[1]) + 1);
	}
	for (c = custom != NULL ? custom->child : NULL; c != NULL; c = c->next)
		if (cJSON_IsString(c) && nown < HK_NELEM(own)) {
			own[nown].name = c->string;
			own[nown++].value = c->valuestring;
		}
	d.type = j->type;
	d.event = j->evt;
	d.delivery = j->dlv;
	d.sig_hex = hex;
	d.sig_v1 = v1[0];
	d.user_agent = "hookd/" VERSION;
	d.attempt = j->attempt;
	d.now_ms = now;
	d.custom = own;
	d.ncustom = nown;
	if ((rc = hk_hdrs_delivery(&j->hdrs, &d)) == HK_EINVAL) {
		j->reason = "bad_header";
		snprintf(j->error, sizeof(j->error),
		    "header %s not sent: "
		    "its name or value has a byte outside visible ASCII, space and tab",
		    j->hdrs.h_bad);
	}
	return rc;
}

/*
 * Easy handles are kept and reset rather than made anew: a reset clears
 * every option (nothing of one attempt reaches the next), and skips the
 * allocation and set-up of a new handle each attempt.
 */
static CURL *
eng_easy_get(void)
{
	return eng.nidle > 0 ? eng.idle[--eng.nidle] : curl_easy_init();
}

/* Takes E out of the multi handle and keeps or frees it. */
static void
eng_easy_put(CURL *e)
{
	curl_multi_remove_handle(eng.multi, e);
	if (eng.nidle < ENG_IDLE_HANDLES) {
		curl_easy_reset(e);
		eng.idle[eng.nidle++] = e;
	} else
		curl_easy_cleanup(e);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->easy != NULL)
		eng_easy_put(j->easy);
	hk_hdrs_free(&j->hdrs);
	hk_buf_free(&j->body);
	hk_buf_free(&j->resp);
	free(j);
}

/* Starts J's request to URL; its body and headers are set. 0 or -1. */
static int
job_start(struct job *j, const char *url, int64_t timeout_ms)
{
	CURL *e;

	if ((j->easy = e = eng_easy_get()) == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body.b);
	curl_easy_setopt(
	    e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, eng_hdr_link(j));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(timeout_ms < 10000 ? timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* Never follow a redirect, never use a proxy from the environment. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, eng_opensocket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, eng_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, eng_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	j->t0_us = hk_mono_us();
	j->at_ms = hk_now_ms();
	if (curl_multi_add_handle(eng.multi, e) != CURLM_OK)
		return -1;
	return 0;
}

/* Judges a finished transfer: J's status, reason and error. */
static void
job_outcome(struct job *j, CURLcode rc)
{
	j->latency_ms = (hk_mono_us() - j->t0_us) / 1000;
	j->status = 0;
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && j->too_large))
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
	if (j->too_large) {
		j->reason = "too_large";
		snprintf(j->error, sizeof(j->error),
		    "response larger than %d bytes", ENG_RESPONSE_MAX);
		return;
	}
	switch (rc) {
	case CURLE_OK:
		j->reason = "status";
		if (j->status >= 200 && j->status < 300)
			j->error[0] = '\0';
		else
			snprintf(
			    j->error, sizeof(j->error), "HTTP %ld", j->status);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		j->reason = "timeout";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		j->reason = "dns";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		j->reason = "tls";
		break;
	default:
		j->reason = j->refused ? "target_not_allowed" : "connect";
		break;
	}
	snprintf(j->error, sizeof(j->error), "%s",
	    j->refused
	        ? "the target address is not allowed (see --allow-targets)"
	        : curl_easy_strerror(rc));
}

static int
job_ok(const struct job *j)
{
	return j->reason != NULL && strcmp(j->reason, "status") == 0 &&
	    j->status >= 200 && j->status < 300;
}

/* A test request is over: answer {success, statusCode, latencyMs, message}. */
static void
job_test_done(struct job *j)
{
	struct hk_buf b = HK_BUF_INIT;

	hk_buf_printf(&b,
	    "{\"success\":%s,\"statusCode\":", job_ok(j) ? "true" : "false");
	if (j->status > 0)
		hk_buf_printf(&b, "%ld", j->status);
	else
		hk_buf_adds(&b, "null");
	hk_buf_printf(&b,
	    ",\"latencyMs\":%lld,\"reason\":\"%s\","
	    "\"message\":",
	    (long long)j->latency_ms, j->reason);
	hk_buf_add_jsonstr(&b, job_ok(j) ? "delivered" : j->error);
	hk_buf_adds(&b, "}\n");
	hk_http_reply(j->req, 200, &b);
	hk_buf_free(&b);
	job_free(j);
}

static void job_finish(struct job *);

static void
eng_check(void)
{
	struct job *j;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(eng.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(
		    m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		job_outcome(j, m->data.result);
		eng_easy_put(j->easy);
		j->easy = NULL;
		if (j->test)
			job_test_done(j);
		else
			job_finish(j);
	}
}

/* ---- outcomes ---- */

/* What a finished attempt leads to (eng_fate decides). */
enum eng_fate {
	ENG_RETRY, /* pending again, due later */
	ENG_SUCCEEDED,
	ENG_FAILED /* for good: exhausted, gone, or its subscription deleted */
};

struct outcome_op {
	struct hk_store_op op;
	struct job *job;
	char *attempt; /* the attempt's JSON */
	enum eng_fate fate;
	const char *disable; /* the subscription goes off: why, or NULL */
	int64_t due; /* the retry's due time */
	int gone; /* the delivery was cancelled or vanished meanwhile */
	struct outcome_op *next; /* waiting in eng.outq */
};

static const enum hk_dstate fate_state[] = {
    [ENG_RETRY] = HK_DS_PENDING,
    [ENG_SUCCEEDED] = HK_DS_SUCCEEDED,
    [ENG_FAILED] = HK_DS_FAILED,
};

static int
outcome_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct outcome_op *o = (struct outcome_op *)sop;
	struct job *j = o->job;
	struct hk_delivery d;

	if (hk_delivery_read(st, txn, j->dlv, &d) != 0 ||
	    d.state != HK_DS_PENDING) {
		o->gone = 1;
		return 0;
	}
	/* The old queue entry goes in the same commit as the outcome. */
	return hk_delivery_attempt(st, txn, &d, j->attempt, o->attempt,
	    strlen(o->attempt), fate_state[o->fate], o->due);
}

/* Publishes an operational event about J (never about one of those). */
static void
eng_notify(const char *type, const struct job *j, const struct hk_sub *s)
{
	struct hk_buf p = HK_BUF_INIT;
	int err;

	if (strncmp(j->type, "hookd.", 6) == 0)
		return;
	if (hk_buf_printf(&p, "{\"subscription\":\"%s\",\"url\":", j->sub) ||
	    hk_buf_add_jsonstr(&p, s != NULL ? s->sb_url : NULL) ||
	    hk_buf_printf(&p,
	        ",\"delivery\":\"%s\",\"event\":\"%s\","
	        "\"attempts\":%d,\"lastError\":",
	        j->dlv, j->evt, j->attempt) ||
	    hk_buf_add_jsonstr(&p, j->error[0] != '\0' ? j->error : NULL) ||
	    hk_buf_addc(&p, '}') ||
	    hk_event_submit(type, NULL, "hookd", p.b, p.len, NULL, NULL, NULL,
	        NULL, &err) == NULL)
		log_warn("notify", "type=%s error=%s", type,
		    hk_logq("cannot publish"));
	hk_buf_free(&p);
}

static void
outcome_done(struct hk_store_op *sop, int rc)
{
	struct outcome_op *o = (struct outcome_op *)sop;
	struct job *j = o->job;
	struct hk_sub *s = hk_sub_find(j->sub);
	struct eng_sub *es = s != NULL ? eng_sub_get(s) : NULL;
	int ok = job_ok(j), save = 0, disable = 0;

	if (rc != 0) {
		/*
		 * The queue entry is still there: the attempt will repeat,
		 * after a pause, not in a loop against a failing store.
		 */
		log_error("delivery_commit", "delivery=%s error=%s", j->dlv,
		    hk_logq(hk_strerror(rc)));
		eng.pause_until = hk_mono_us() + ENG_STORE_PAUSE_US;
	}
	if (rc == 0 && !o->gone)
		hk_stream_outcome(
		    j->dlv, j->evt, j->sub, fate_state[o->fate], o->attempt);
	hk_map_del(&eng.inflight, j->dlv, strlen(j->dlv));
	if (s != NULL && es != NULL) {
		if (j->probe)
			es->probing = 0;
		es->ordered_busy = 0;
		if (ok) {
			es->fails = 0;
			es->probe_after = 0;
			if (s->sb_failing_since != 0) {
				s->sb_failing_since = 0;
				save = 1;
			}
		} else {
			/* An open circuit spaces its probes like retries. */
			if (++es->fails >= ENG_CIRCUIT)
				es->probe_after = hk_now_ms() +
				    hk_backoff_ms(es->fails - ENG_CIRCUIT + 1,
				        s->sb_initial_ms, s->sb_max_ms,
				        randombytes_uniform(1000000) / 1e6);
			if (s->sb_failing_since == 0) {
				s->sb_failing_since = hk_now_ms();
				save = 1;
			}
		}
		if (s->sb_ordered && rc == 0 && !o->gone) {
			/* The head waits for its retries; others wait for it. */
			if (o->fate != ENG_RETRY &&
			    strcmp(s->sb_ordered_head, j->dlv) == 0) {
				s->sb_ordered_head[0] = '\0';
				save = 1;
			} else if (o->fate == ENG_RETRY &&
			    s->sb_ordered_head[0] == '\0') {
				memcpy(
				    s->sb_ordered_head, j->dlv, sizeof(j->dlv));
				save = 1;
			}
		}
		if (!ok && o->disable == NULL &&
		    hk_now_ms() - s->sb_failing_since >
		        hd->hd_conf.cf_disable_after_ms)
			o->disable = "failing";
		if (s->sb_active && o->disable != NULL) {
			s->sb_active = 0;
			free(s->sb_disabled_reason);
			s->sb_disabled_reason = strdup(o->disable);
			save = disable = 1;
			log_warn("subscription_disabled",
			    "subscription=%s reason=%s", s->sb_id,
			    s->sb_disabled_reason);
			eng_notify("hookd.subscription.disabled", j, s);
		}
		if (save)
			hk_sub_save_state(s, disable);
	}
	if (rc == 0 && !o->gone) {
		if (ok && j->attempt > ENG_FAILING_AT)
			eng_notify("hookd.delivery.recovered", j, s);
		else if (!ok && j->attempt == ENG_FAILING_AT &&
		    o->fate == ENG_RETRY)
			eng_notify("hookd.delivery.failing", j, s);
		if (o->fate == ENG_FAILED)
			eng_notify("hookd.delivery.exhausted", j, s);
	}
	hd->hd_stats.s_attempts++;
	if (j->attempt > 1)
		hd->hd_stats.s_retries++;
	hk_stats_attempt(j->sub, ok, j->latency_ms * 1000);
	if (rc == 0 && !o->gone && o->fate == ENG_SUCCEEDED) {
		hd->hd_stats.s_succeeded++;
		hk_stats_first_success(
		    (hk_now_ms() - hk_id_ms("evt_", j->evt)) * 1000);
	} else if (rc == 0 && !o->gone && o->fate == ENG_FAILED)
		hd->hd_stats.s_failed++;
	free(o->attempt);
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
		if (hk_store_submit(hd->hd_store, &o->op) != 0)
			outcome_done(&o->op, HK_ESHUTDOWN);
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

static const char *const fate_name[] = {[ENG_RETRY] = "retry",
    [ENG_SUCCEEDED] = "succeeded",
    [ENG_FAILED] = "failed"};

/*
 * Every finished attempt's fate is decided here, and a failure logged
 * here once with its cause: retried after the backoff (or the target's
 * Retry-After), or failed for good (410 Gone, which disables the
 * subscription too; attempts exhausted; the subscription deleted). *DUE
 * is a retry's due time, *DISABLE why the subscription goes off (its
 * failing too long is judged once the outcome is in, outcome_done).
 */
static enum eng_fate
eng_fate(const struct job *j, const struct hk_sub *s, int64_t *due,
    const char **disable)
{
	enum eng_fate f = ENG_RETRY;
	const char *cause = j->error;
	int64_t delay, ra;

	*due = 0;
	*disable = NULL;
	if (job_ok(j)) {
		f = ENG_SUCCEEDED;
		cause = "delivered";
	} else if (j->status == 410) {
		f = ENG_FAILED;
		cause = "the target answered 410 Gone";
		*disable = "gone";
	} else if (s == NULL) {
		f = ENG_FAILED;
		cause = "its subscription was deleted";
	} else if (j->attempt >= j->limit) {
		f = ENG_FAILED;
		cause = "its last attempt failed";
	} else {
		delay = hk_backoff_ms(j->attempt, s->sb_initial_ms,
		    s->sb_max_ms, randombytes_uniform(1000000) / 1e6);
		if ((j->status == 429 || j->status == 503) &&
		    j->retry_after[0] != '\0' &&
		    hk_retry_after_ms(
		        j->retry_after, hk_now_ms(), s->sb_max_ms, &ra) == 0)
			delay = ra;
		*due = hk_now_ms() + delay;
	}
	/* A header that may not be sent is the subscription's mistake. */
	if (j->reason != NULL && strcmp(j->reason, "bad_header") == 0)
		log_warn("attempt_refused", "delivery=%s fate=%s error=%s",
		    j->dlv, fate_name[f], hk_logq(j->error));
	else
		log_debug("attempt",
		    "delivery=%s attempt=%d status=%ld reason=%s ms=%lld "
		    "fate=%s error=%s cause=%s",
		    j->dlv, j->attempt, j->status, j->reason,
		    (long long)j->latency_ms, fate_name[f], hk_logq(j->error),
		    hk_logq(cause));
	return f;
}

/* An attempt is over: commit what happened and when the next one is. */
static void
job_finish(struct job *j)
{
	struct hk_sub *s = hk_sub_find(j->sub);
	struct eng_sub *es = eng_sub_find(j->sub);
	struct outcome_op *o;
	struct hk_buf a = HK_BUF_INIT;
	char iso[HK_ISO_LEN], *p;
	size_t i;

	/*
	 * The request is over: its slot under --max-in-flight and maxInFlight
	 * is free now, while the outcome commits. The delivery itself stays
	 * in flight (not sent again) until then; an ordered subscription and
	 * an open circuit's probe wait for the outcome.
	 */
	eng.ninflight--;
	if (es != NULL)
		es->inflight--;
	eng_schedule(0);
	if ((o = calloc(1, sizeof(*o))) == NULL)
		goto fail;
	o->job = j;
	/* Keep the response printable: JSON strings hold text. */
	for (p = j->resp.b, i = 0; p != NULL && i < j->resp.len; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\n' && p[i] != '\t')
			p[i] = '?';
	if (hk_buf_reserve(&a, 256 + j->resp.len) ||
	    hk_buf_adds(&a, "{\"attempt\":") ||
	    hk_buf_add_i64(&a, j->attempt) ||
	    dlv_print_str(&a, ",\"at\":", hk_time_iso(j->at_ms, iso)) ||
	    hk_buf_adds(&a, ",\"statusCode\":") ||
	    (j->status > 0 ? hk_buf_add_i64(&a, j->status)
	                   : hk_buf_adds(&a, "null")) ||
	    dlv_print_num(&a, ",\"latencyMs\":", j->latency_ms) ||
	    dlv_print_str(
	        &a, ",\"error\":", j->error[0] != '\0' ? j->error : NULL) ||
	    dlv_print_str(&a, ",\"reason\":", j->reason) ||
	    hk_buf_adds(&a, ",\"response\":\"") ||
	    hk_buf_add_jsonesc(
	        &a, j->resp.b != NULL ? j->resp.b : "", j->resp.len) ||
	    hk_buf_adds(&a, "\"}"))
		goto fail;
	o->attempt = hk_buf_take(&a);
	o->fate = eng_fate(j, s, &o->due, &o->disable);
	o->op.so_apply = outcome_apply;
	o->op.so_done = outcome_done;
	eng_outcome_submit(o, j->probe || (s != NULL && s->sb_ordered));
	return;
fail:
	/* Not recorded: the queue entry stays, the attempt repeats later. */
	hk_buf_free(&a);
	if (o != NULL) {
		o->op.so_done = outcome_done;
		outcome_done(&o->op, HK_ESHUTDOWN);
	} else {
		hk_map_del(&eng.inflight, j->dlv, strlen(j->dlv));
		if (es != NULL) {
			if (j->probe)
				es->probing = 0;
			es->ordered_busy = 0;
		}
		job_free(j);
	}
}

/* ---- the scheduler ---- */

/* Whether S can take one more attempt now, for delivery DLV. */
static int
eng_may_send(const struct hk_sub *s, struct eng_sub *es, const char *dlv)
{
	int64_t wait;

	if (!s->sb_active || es->inflight >= s->sb_max_in_flight)
		return 0;
	if (es->fails >= ENG_CIRCUIT && es->probing)
		return 0; /* open circuit: one probe at a time */
	if (s->sb_ordered &&
	    (es->ordered_busy ||
	        (s->sb_ordered_head[0] != '\0' &&
	            strcmp(s->sb_ordered_head, dlv) != 0)))
		return 0;
	if (s->sb_rate > 0 &&
	    hk_bucket_take(&es->bucket, hk_mono_us(), &wait) != 0)
		return 0;
	return 1;
}

/*
 * Builds J's body for S from its event record EV (the envelope, or the
 * subscription's template over it). NULL, or why it cannot be built.
 */
static const char *
eng_body(struct job *j, const struct hk_sub *s, const MDB_val *ev)
{
	static const char *const env_names[] = {"event"};
	struct hk_json_str etype;
	struct hk_tmpl_vars tv;
	const cJSON *src, *ts, *nm;
	const char *payload, *cause = NULL;
	char hbuf[1024], *cut;
	cJSON *head;
	size_t n;
	int scanned;

	if ((cut = memmem(ev->mv_data, ev->mv_size, ",\"payload\":", 11)) ==
	    NULL)
		return "its event record has no payload";
	/*
	 * The type is in the envelope's head, before its payload: scanning
	 * that (closed with a brace) spares a pass over the payload.
	 */
	n = (size_t)(cut - (char *)ev->mv_data);
	if (n + 1 < sizeof(hbuf)) {
		memcpy(hbuf, ev->mv_data, n);
		hbuf[n++] = '}';
		scanned = hk_json_scan(hbuf, n, env_names, 1, &etype);
	} else
		scanned = hk_json_scan(
		    ev->mv_data, ev->mv_size, env_names, 1, &etype);
	if (scanned != 0)
		return "its event record is not JSON";
	if (etype.p == NULL ||
	    hk_json_unescape(&etype, j->type, sizeof(j->type)) < 0)
		j->type[0] = '\0';
	if (s->sb_template == NULL)
		return hk_buf_add(&j->body, ev->mv_data, ev->mv_size) != 0
		    ? "out of memory"
		    : NULL;
	if ((head = hk_event_head(ev->mv_data, ev->mv_size)) == NULL)
		return "its event's head is unreadable";
	payload = cut + 11;
	src = cJSON_GetObjectItemCaseSensitive(head, "source");
	ts = cJSON_GetObjectItemCaseSensitive(head, "timestamp");
	nm = cJSON_GetObjectItemCaseSensitive(src, "name");
	memset(&tv, 0, sizeof(tv));
	tv.event_type = j->type;
	tv.event_id = j->evt;
	tv.timestamp = cJSON_IsString(ts) ? ts->valuestring : "";
	tv.source_name = cJSON_IsString(nm) ? nm->valuestring : "";
	tv.payload = payload;
	/* The payload runs to the envelope's closing brace. */
	tv.payload_len =
	    (size_t)((char *)ev->mv_data + ev->mv_size - 1 - payload);
	if (hk_tmpl_render(s->sb_template, &tv, &j->body) != 0)
		cause = "its template cannot be rendered";
	cJSON_Delete(head);
	return cause;
}

/*
 * Builds and starts the attempt of queue entry DLV (key QK) for S.
 * NULL, or why it could not start: nothing is recorded then, the entry
 * stays queued and is tried again on a later pass.
 */
static const char *
eng_dispatch(MDB_txn *txn, const struct hk_sub *s, struct eng_sub *es,
    const char *dlv, const MDB_val *qk)
{
	struct hk_delivery d;
	const char *cause;
	struct job *j;
	MDB_val k, v;
	int rc;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return "out of memory";
	snprintf(j->dlv, sizeof(j->dlv), "%s", dlv);
	snprintf(j->sub, sizeof(j->sub), "%s", s->sb_id);
	memcpy(j->qkey, qk->mv_data, qk->mv_size);
	j->qklen = qk->mv_size;
	if ((rc = hk_delivery_read(hd->hd_store, txn, j->dlv, &d)) != 0) {
		cause = rc == HK_ENOTFOUND
		    ? "its delivery record is missing"
		    : "its delivery record is unreadable";
		goto out;
	}
	if (d.state != HK_DS_PENDING) {
		cause = "its delivery is no longer pending";
		goto out;
	}
	memcpy(j->evt, d.event, sizeof(j->evt));
	j->attempt = (int)d.attempts + 1;
	j->limit = (int)d.limit;
	k.mv_data = j->evt;
	k.mv_size = strlen(j->evt);
	if (mdb_get(txn, hk_store_dbi(hd->hd_store, HK_DB_EVENTS), &k, &v) !=
	    0) {
		cause = "its event record is missing";
		goto out;
	}
	if ((cause = eng_body(j, s, &v)) != NULL)
		goto out;
	rc = eng_sign(j, s->sb_secret,
	    s->sb_prev_secret != NULL && s->sb_prev_until > hk_now_ms()
	        ? s->sb_prev_secret
	        : NULL,
	    s->sb_headers);
	if (rc != 0 && rc != HK_EINVAL) {
		cause = rc == HK_ERR ? "no secret can sign it"
		                     : "its header lines cannot be built";
		goto out;
	}
	if (rc == 0 && job_start(j, s->sb_url, s->sb_timeout_ms) != 0) {
		cause = "libcurl cannot start the request";
		goto out;
	}
	if (hk_map_put(&eng.inflight, j->dlv, strlen(j->dlv), j) != 0) {
		cause = "out of memory";
		goto out;
	}
	eng.ninflight++;
	es->inflight++;
	if (es->fails >= ENG_CIRCUIT)
		es->probing = j->probe = 1;
	if (s->sb_ordered)
		es->ordered_busy = 1;
	/* A header that may not be sent: a failed attempt, recorded. */
	if (rc == HK_EINVAL) {
		j->at_ms = hk_now_ms();
		job_finish(j);
	}
	return NULL;
out:
	job_free(j);
	return cause;
}

/* Starts the attempt of DLV; one that cannot start is logged once here. */
static void
eng_start(MDB_txn *txn, const struct hk_sub *s, struct eng_sub *es,
    const char *dlv, const MDB_val *qk)
{
	const char *cause = eng_dispatch(txn, s, es, dlv, qk);

	if (cause != NULL)
		log_warn(
		    "dispatch", "delivery=%s error=%s", dlv, hk_logq(cause));
}

/*
 * An ordered subscription whose head failed: only the head may go, when
 * its retry is due. A head that is no longer pending (retried by hand
 * and done, cancelled) releases the others.
 */
static int
eng_serve_head(MDB_txn *txn, struct hk_sub *s, struct eng_sub *es, int64_t now,
    int64_t *next)
{
	char key[HK_QKEY_MAX];
	struct hk_delivery d;
	MDB_val qk;
	int64_t due;

	if (hk_map_get(&eng.inflight, s->sb_ordered_head,
	        strlen(s->sb_ordered_head)) != NULL)
		return 0;
	if (hk_delivery_read(hd->hd_store, txn, s->sb_ordered_head, &d) != 0 ||
	    d.state != HK_DS_PENDING) {
		s->sb_ordered_head[0] = '\0';
		hk_sub_save_state(s, 0);
		eng_schedule(0);
		return 0;
	}
	due = d.due;
	qk.mv_size =
	    hk_queue_key(s->sb_id, d.cls, due, s->sb_ordered_head, key);
	qk.mv_data = key;
	if (due > now) {
		if (due < *next)
			*next = due;
		return 0;
	}
	if ((int64_t)eng.ninflight >= hd->hd_conf.cf_max_in_flight)
		return -1;
	if (eng_may_send(s, es, s->sb_ordered_head))
		eng_start(txn, s, es, s->sb_ordered_head, &qk);
	return 0;
}

/*
 * Starts what S may send now: its due entries in key order (first
 * attempts, then retries), skipping those in flight. Sets *NEXT to the
 * earliest entry due later. Returns -1 when the global cap is reached.
 */
static int
eng_serve(
    MDB_txn *txn, MDB_cursor *cur, struct hk_sub *s, int64_t now, int64_t *next)
{
	size_t slen = strlen(s->sb_id);
	char start[HK_QKEY_MAX], dlv[HK_ID_MAX];
	const unsigned char *kp;
	struct eng_sub *es;
	MDB_val k, v;
	int64_t due;
	int cls, rc;

	if ((es = eng_sub_get(s)) == NULL)
		return 0; /* out of memory: the next pass tries again */
	if (es->fails >= ENG_CIRCUIT && now < es->probe_after) {
		if (es->probe_after < *next)
			*next = es->probe_after;
		return 0;
	}
	if (s->sb_ordered && s->sb_ordered_head[0] != '\0')
		return eng_serve_head(txn, s, es, now, next);
	for (cls = 0; cls < 2; cls++) {
		memcpy(start, s->sb_id, slen);
		start[slen] = (char)cls;
		k.mv_data = start;
		k.mv_size = slen + 1;
		/*
		 * First attempts resume where the last pass stopped: what is
		 * before it is in flight, and new ones are queued after it.
		 * A pass that finds nothing due from there starts over next
		 * time, so nothing is left behind for long.
		 */
		if (cls == 0 && es->resume_len > 0) {
			k.mv_data = es->resume;
			k.mv_size = es->resume_len;
			es->resume_len = 0;
		}
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			kp = k.mv_data;
			if (k.mv_size <= slen + 9 ||
			    k.mv_size - slen - 9 >= HK_ID_MAX ||
			    memcmp(kp, s->sb_id, slen) != 0 || kp[slen] != cls)
				break;
			if ((due = queue_due(kp, slen)) > now) {
				if (due < *next)
					*next = due;
				break;
			}
			memcpy(dlv, kp + slen + 9, k.mv_size - slen - 9);
			dlv[k.mv_size - slen - 9] = '\0';
			if (hk_map_get(&eng.inflight, dlv, strlen(dlv)) != NULL)
				continue;
			if ((int64_t)eng.ninflight >=
			        hd->hd_conf.cf_max_in_flight ||
			    !eng_may_send(s, es, dlv)) {
				if (cls == 0 &&
				    k.mv_size <= sizeof(es->resume)) {
					memcpy(
					    es->resume, k.mv_data, k.mv_size);
					es->resume_len = k.mv_size;
				}
				return (int64_t)eng.ninflight >=
				        hd->hd_conf.cf_max_in_flight
				    ? -1
				    : 0;
			}
			eng_start(txn, s, es, dlv, &k);
		}
	}
	return 0;
}

/*
 * One pass: every active subscription's own part of the queue (keys
 * begin with its id), so a dead endpoint's backlog costs a seek, never a
 * scan in front of another subscription's fresh events.
 */
static void
eng_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = hk_now_ms(), next = now + ENG_IDLE_MS;
	MDB_cursor *cur;
	MDB_txn *txn;
	struct hk_sub *s;

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
	if (hk_store_rbegin(hd->hd_store, &txn) != 0)
		return;
	if (mdb_cursor_open(
	        txn, hk_store_dbi(hd->hd_store, HK_DB_QUEUE), &cur) != 0) {
		hk_store_rend(hd->hd_store);
		eng_schedule(ENG_IDLE_MS);
		return;
	}
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
		if (s->sb_active && eng_serve(txn, cur, s, now, &next) != 0)
			break;
	mdb_cursor_close(cur);
	hk_store_rend(hd->hd_store);
	/* An ending attempt or a new event brings the next pass sooner. */
	eng_schedule(next - now);
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

size_t
hk_engine_inflight(void)
{
	return eng.ninflight;
}

int
hk_engine_init(char **cause)
{
	*cause = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (eng.multi = curl_multi_init()) == NULL) {
		*cause = strdup("libcurl failed to start");
		return HK_ERR;
	}
	curl_multi_setopt(eng.multi, CURLMOPT_SOCKETFUNCTION, eng_sockcb);
	curl_multi_setopt(eng.multi, CURLMOPT_TIMERFUNCTION, eng_timercb);
	/*
	 * By default the pool keeps four idle connections per transfer
	 * running: between a burst's attempts (waiting for their outcomes to
	 * commit) it shrinks and closes what the next ones would reuse.
	 */
	curl_multi_setopt(eng.multi, CURLMOPT_MAXCONNECTS,
	    (long)hd->hd_conf.cf_max_in_flight);
	eng.curl_timer = evtimer_new(hd->hd_base, eng_curl_timeout, NULL);
	eng.tick = evtimer_new(hd->hd_base, eng_tick, NULL);
	eng.outq_tail = &eng.outq;
	eng.outq_ev = evtimer_new(hd->hd_base, eng_outcome_flush, NULL);
	if (eng.curl_timer == NULL || eng.tick == NULL || eng.outq_ev == NULL) {
		*cause = strdup("cannot create timers");
		return HK_ERR;
	}
	eng_schedule(0);
	return 0;
}

static void
eng_free_job(void *arg)
{
	struct job *j = arg;

	job_free(j);
}

void
hk_engine_free(void)
{
	/* Attempts still in flight stay queued: they run after a restart. */
	hk_map_foreach(&eng.inflight, eng_free_job);
	hk_map_free(&eng.inflight);
	hk_map_foreach(&eng.subs, free);
	hk_map_free(&eng.subs);
	while (eng.nidle > 0)
		curl_easy_cleanup(eng.idle[--eng.nidle]);
	if (eng.multi != NULL)
		curl_multi_cleanup(eng.multi);
	if (eng.curl_timer != NULL)
		event_free(eng.curl_timer);
	if (eng.tick != NULL)
		event_free(eng.tick);
	if (eng.outq_ev != NULL)
		event_free(eng.outq_ev);
	memset(&eng, 0, sizeof(eng));
	curl_global_cleanup();
}

/* ---- one-off test requests ---- */

/* Starts a signed test request to URL; answers REQ when it ends. */
static void
eng_test(struct evhttp_request *req, const char *url, const char *type,
    const char *payload, size_t plen, const char *secret, const char *prev,
    int64_t timeout_ms, const cJSON *headers)
{
	struct hk_env env;
	struct job *j;
	int rc = HK_ENOMEM;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	j->test = 1;
	j->req = req;
	j->attempt = 1;
	hk_id_new("evt_", j->evt);
	hk_id_new("dlv_", j->dlv);
	snprintf(j->type, sizeof(j->type), "%s", type);
	env.ev_id = j->evt;
	env.ev_type = type;
	env.ev_ms = hk_now_ms();
	env.ev_webhook = NULL;
	env.ev_name = "hookd";
	env.ev_payload = payload;
	env.ev_payload_len = plen;
	if (hk_env_build(&j->body, &env) == 0)
		rc = eng_sign(j, secret, prev, headers);
	if (rc == HK_EINVAL) {
		/* Not sent: answered as a failed attempt would be. */
		job_test_done(j);
		return;
	}
	if (rc != 0 || job_start(j, url, timeout_ms) != 0) {
		hk_http_error(req, 500, "internal", "cannot start the request");
		job_free(j);
	}
}

void
hk_engine_test_sub(struct evhttp_request *req, const struct hk_sub *s)
{
	eng_test(req, s->sb_url, "webhook.test", "{\"test\":true}", 13,
	    s->sb_secret,
	    s->sb_prev_secret != NULL && s->sb_prev_until > hk_now_ms()
	        ? s->sb_prev_secret
	        : NULL,
	    s->sb_timeout_ms, s->sb_headers);
}

/* POST /api/test-delivery: {url, event, payload, secret?}. */
void
hk_engine_test_delivery(struct evhttp_request *req)
{
	static const char *const fields[] = {
	    "url", "event", "payload", "secret", NULL};
	static const char *const raws[] = {"event", "payload"};
	char host[256], err[256], sec[HK_SECRET_LEN];
	char type[HOOKD_TYPE_MAX + 2] = "webhook.test";
	struct hk_json_str raw[2];
	const cJSON *url, *secret;
	const char *code;
	struct hk_buf b = HK_BUF_INIT;
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0 ||
	    hk_event_body_raw(req, raws, 2, raw) != 0)
		goto out;
	url = cJSON_GetObjectItemCaseSensitive(j, "url");
	secret = cJSON_GetObjectItemCaseSensitive(j, "secret");
	/* The type goes out in a header line: proto/http.md's rule, checked. */
	if (!cJSON_IsString(url) ||
	    (raw[0].p != NULL &&
	        hk_event_type_raw(&raw[0], type, sizeof(type)) != 0) ||
	    (secret != NULL &&
	        (!cJSON_IsString(secret) || *secret->valuestring == '\0' ||
	            strlen(secret->valuestring) > 200))) {
		hk_http_error(req, 400, "bad_request",
		    "url (string), event (" HOOKD_TYPE_RULE
		    ") and secret (1-200 characters) are expected");
		goto out;
	}
	if (hk_sub_check_url(url->valuestring, host, sizeof(host), &code, err,
	        sizeof(err)) != 0) {
		if (strcmp(code, "target_not_allowed") != 0) {
			hk_http_error(req, 400, code, "%s", err);
			goto out;
		}
		/* A refused target is an answer, not a bad request. */
		hk_buf_adds(&b,
		    "{\"success\":false,\"statusCode\":null,"
		    "\"latencyMs\":0,\"reason\":\"target_not_allowed\","
		    "\"message\":");
		hk_buf_add_jsonstr(&b, err);
		hk_buf_adds(&b, "}\n");
		hk_http_reply(req, 200, &b);
		hk_buf_free(&b);
		goto out;
	}
	if (secret == NULL)
		hk_secret_new(sec);
	/* The payload as sent: a number keeps its digits. */
	eng_test(req, url->valuestring, type,
	    raw[1].p != NULL ? raw[1].p : "{}",
	    raw[1].p != NULL ? raw[1].len : 2,
	    secret != NULL ? secret->valuestring : sec, NULL, 10000, NULL);
out:
	cJSON_Delete(j);
}

/* ---- the deliveries API ---- */

int
hk_delivery_public(struct hk_buf *b, const char *text, size_t len, int open)
{
	struct hk_delivery d;

	if (hk_delivery_parse(text, len, &d) != 0)
		return HK_EINVAL;
	if (d.state == HK_DS_PENDING &&
	    hk_map_get(&eng.inflight, d.id, strlen(d.id)) != NULL)
		d.state = HK_DS_IN_FLIGHT;
	return hk_delivery_print(
	    b, &d, HK_DLV_PUBLIC | (open ? HK_DLV_OPEN : 0));
}

/* A read of an event's deliveries with their attempts, as JSON. */
struct dlv_of_event {
	struct hk_st_read rd;
	struct hk_buf *b;
	void (*done)(void *, int);
	void *arg;
	size_t n; /* deliveries written */
	int nattempts; /* of the last one */
	int rc;
};

/* Closes the last delivery's attempts and object. */
static int
dlv_of_event_close(struct dlv_of_event *oe)
{
	return oe->n > 0 && hk_buf_adds(oe->b, "]}") != 0 ? HK_ENOMEM : 0;
}

static int
dlv_of_event_row(
    struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct dlv_of_event *oe = (struct dlv_of_event *)rd;
	int rc;

	(void)id;
	if ((rc = dlv_of_event_close(oe)) != 0 ||
	    (oe->n > 0 && hk_buf_addc(oe->b, ',') != 0)) {
		oe->rc = HK_ENOMEM;
		return -1;
	}
	if ((rc = hk_delivery_public(oe->b, text, len, 1)) != 0) {
		oe->rc = rc;
		return -1;
	}
	oe->n++;
	oe->nattempts = 0;
	if (hk_buf_adds(oe->b, ",\"attempts\":[") != 0) {
		oe->rc = HK_ENOMEM;
		return -1;
	}
	return 1;
}

static void
dlv_of_event_attempt(struct hk_st_read *rd, const char *dlv, int n,
    const char *text, size_t len)
{
	struct dlv_of_event *oe = (struct dlv_of_event *)rd;

	(void)dlv;
	(void)n;
	if ((oe->nattempts++ > 0 && hk_buf_addc(oe->b, ',') != 0) ||
	    hk_buf_add(oe->b, text, len) != 0)
		oe->rc = HK_ENOMEM;
}

static void
dlv_of_event_done(struct hk_st_read *rd, int rc)
{
	struct dlv_of_event *oe = (struct dlv_of_event *)rd;

	if (rc == 0)
		rc = oe->rc;
	if (rc == 0 && (dlv_of_event_close(oe) != 0 ||
	                   hk_buf_addc(oe->b, ']') != 0))
		rc = HK_ENOMEM;
	oe->done(oe->arg, rc);
	free(oe);
}

void
hk_delivery_of_event(const char *evt, struct hk_buf *b,
    void (*done)(void *, int), void *arg)
{
	struct dlv_of_event *oe;

	if ((oe = calloc(1, sizeof(*oe) + strlen(evt) + 1)) == NULL ||
	    hk_buf_addc(b, '[') != 0) {
		free(oe);
		done(arg, HK_ENOMEM);
		return;
	}
	oe->rd.rd_list = HK_SL_EVENT_DELIVERIES;
	oe->rd.rd_scope = memcpy(oe + 1, evt, strlen(evt) + 1);
	oe->rd.rd_oldest = 1;
	oe->rd.rd_limit = HOOKD_LIST_MAX;
	oe->rd.rd_row = dlv_of_event_row;
	oe->rd.rd_attempt = dlv_of_event_attempt;
	oe->rd.rd_done = dlv_of_event_done;
	oe->b = b;
	oe->done = done;
	oe->arg = arg;
	hk_st_read(&oe->rd);
}

/* A page of deliveries with its filters (empty: any). */
struct dlv_page {
	struct hk_admin_pager pg;
	char sub[HK_ID_MAX], evt[HK_ID_MAX];
	enum hk_dstate want;
	int any;
};

static int
dlv_item(struct hk_admin_pager *pg, const char *id, const char *text,
    size_t len)
{
	struct dlv_page *dp = (struct dlv_page *)pg;
	struct hk_delivery d;
	size_t n = pg->pg_b.len;

	(void)id;
	if (hk_delivery_parse(text, len, &d) != 0)
		return 0;
	if (d.state == HK_DS_PENDING &&
	    hk_map_get(&eng.inflight, d.id, strlen(d.id)) != NULL)
		d.state = HK_DS_IN_FLIGHT;
	if ((dp->sub[0] != '\0' && strcmp(d.sub, dp->sub) != 0) ||
	    (dp->evt[0] != '\0' && strcmp(d.event, dp->evt) != 0) ||
	    (!dp->any && d.state != dp->want))
		return 0;
	if ((pg->pg_n > 0 && hk_buf_addc(&pg->pg_b, ',') != 0) ||
	    hk_delivery_print(&pg->pg_b, &d, HK_DLV_PUBLIC) != 0) {
		pg->pg_b.len = n;
		pg->pg_rc = HK_ENOMEM;
		return -1;
	}
	pg->pg_n++;
	return 1;
}

/* GET /api/deliveries?status&subscription&event&limit&after. */
static void
dlv_list(struct evhttp_request *req)
{
	char status[16], sub[HK_ID_MAX], evt[HK_ID_MAX];
	struct dlv_page *dp;
	enum hk_dstate want = HK_DS_PENDING;

	if (hk_admin_query(req, "status", status, sizeof(status)) < 0 ||
	    hk_admin_query(req, "subscription", sub, sizeof(sub)) < 0 ||
	    hk_admin_query(req, "event", evt, sizeof(evt)) < 0) {
		hk_http_error(req, 400, "bad_request", "a filter is too long");
		return;
	}
	if (status[0] != '\0' &&
	    hk_dstate_parse(status, strlen(status), &want) != 0) {
		hk_http_error(req, 400, "bad_request",
		    "status must be pending, in_flight, succeeded, failed or cancelled");
		return;
	}
	/* A subscription's or an event's deliveries are a key range. */
	if ((dp = hk_admin_pager(req,
	         sub[0] == '\0' && evt[0] != '\0' ? HK_SL_EVENT_DELIVERIES
	                                          : HK_SL_DELIVERIES,
	         sub[0] != '\0' ? sub : evt, sizeof(*dp))) == NULL)
		return;
	memcpy(dp->sub, sub, sizeof(sub));
	memcpy(dp->evt, evt, sizeof(evt));
	dp->want = want;
	dp->any = status[0] == '\0';
	dp->pg.pg_item = dlv_item;
	hk_admin_pager_start(&dp->pg);
}

/* GET /api/deliveries/{id}: the delivery with its attempts. */
struct dlv_one {
	struct hk_st_read rd;
	char id[HK_ID_MAX];
	struct hk_buf b;
	int nattempts;
	int rc;
};

static int
dlv_one_row(struct hk_st_read *rd, const char *id, const char *text, size_t len)
{
	struct dlv_one *o = (struct dlv_one *)rd;

	(void)id;
	if ((o->rc = hk_delivery_public(&o->b, text, len, 1)) != 0 ||
	    (o->rc = hk_buf_adds(&o->b, ",\"attempts\":[")) != 0)
		return -1;
	return 1;
}

static void
dlv_one_attempt(struct hk_st_read *rd, const char *dlv, int n,
    const char *text, size_t len)
{
	struct dlv_one *o = (struct dlv_one *)rd;

	(void)dlv;
	(void)n;
	if ((o->nattempts++ > 0 && hk_buf_addc(&o->b, ',') != 0) ||
	    hk_buf_add(&o->b, text, len) != 0)
		o->rc = HK_ENOMEM;
}

static void
dlv_one_done(struct hk_st_read *rd, int rc)
{
	struct dlv_one *o = (struct dlv_one *)rd;
	struct evhttp_request *req = rd->rd_arg;

	if (rc == 0)
		rc = o->rc;
	if (rc == 0 && hk_buf_adds(&o->b, "]}\n") != 0)
		rc = HK_ENOMEM;
	if (rc == HK_ENOTFOUND)
		hk_http_error(req, 404, "not_found", "no delivery %s", o->id);
	else if (rc == HK_EIO || rc == HK_EFULL)
		hk_http_error(req, 503, "unavailable", "cannot read the store");
	else if (rc != 0)
		hk_http_error(req, 500, "internal", "cannot read delivery");
	else
		hk_http_reply(req, 200, &o->b);
	hk_buf_free(&o->b);
	free(o);
}

static void
dlv_show(struct evhttp_request *req, const char *id)
{
	struct dlv_one *o;

	if (!hk_id_valid("dlv_", id)) {
		hk_http_error(req, 404, "not_found", "no delivery %.80s", id);
		return;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	o->rd.rd_list = HK_SL_DELIVERIES;
	o->rd.rd_row = dlv_one_row;
	o->rd.rd_attempt = dlv_one_attempt;
	o->rd.rd_done = dlv_one_done;
	o->rd.rd_arg = req;
	snprintf(o->id, sizeof(o->id), "%s", id);
	hk_st_get(&o->rd, o->id);
}

/*
 * Retry, recover and replay: changes the writer makes to deliveries on
 * an admin request, answered with a count or the changed ids.
 */
enum dlv_kind { DLV_RETRY, DLV_RECOVER, DLV_REPLAY };

struct dlv_op {
	struct hk_store_op op;
	enum dlv_kind kind;
	struct evhttp_request *req;
	char id[HK_ID_MAX]; /* delivery, subscription or event */
	int64_t since, until;
	char (*subs)[HK_ID_MAX]; /* replay: the subscriptions */
	int *max;
	size_t nsubs;
	uint64_t count;
	struct hk_buf out; /* the ids created or changed */
	int busy;
};

static int
dlv_op_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct dlv_op *o = (struct dlv_op *)sop;
	size_t ilen = strlen(o->id), i;
	char id[HK_ID_MAX], iso[HK_ISO_LEN];
	struct hk_delivery d;
	MDB_cursor *cur;
	MDB_val k, v;
	int64_t created;
	int rc = 0;

	switch (o->kind) {
	case DLV_RETRY:
		if (hk_delivery_read(st, txn, o->id, &d) != 0)
			return HK_ENOTFOUND;
		/* The record may be in flight: the loop checked before. */
		if ((rc = hk_delivery_retry(st, txn, &d)) == HK_EEXIST)
			o->busy = 1;
		return rc;
	case DLV_RECOVER:
		if ((rc = mdb_cursor_open(
		         txn, hk_store_dbi(st, HK_DB_SUBDLV), &cur)) != 0)
			return hk_store_err(rc);
		k.mv_data = o->id;
		k.mv_size = ilen;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size <= ilen ||
			    k.mv_size - ilen >= HK_ID_MAX ||
			    memcmp(k.mv_data, o->id, ilen) != 0 ||
			    o->count >= DLV_RECOVER_MAX)
				break;
			memcpy(id, (char *)k.mv_data + ilen, k.mv_size - ilen);
			id[k.mv_size - ilen] = '\0';
			created = hk_id_ms("dlv_", id);
			if (created < o->since ||
			    (o->until > 0 && created >= o->until))
				continue;
			rc = 0;
			if (hk_delivery_read(st, txn, id, &d) != 0 ||
			    d.state != HK_DS_FAILED)
				continue;
			rc = hk_delivery_retry(st, txn, &d);
			o->count++;
			if (rc != 0)
				break;
		}
		mdb_cursor_close(cur);
		return rc == MDB_NOTFOUND ? 0 : rc;
	case DLV_REPLAY:
		hk_time_iso(hk_now_ms(), iso);
		for (i = 0; i < o->nsubs; i++) {
			if ((rc = hk_delivery_create(st, txn, o->id, o->subs[i],
			         o->max[i], hk_now_ms(), id)) != 0)
				return rc;
			if ((o->count++ > 0 &&
			        hk_buf_addc(&o->out, ',') != 0) ||
			    hk_buf_add_jsonstr(&o->out, id) != 0)
				return HK_ENOMEM;
		}
		return 0;
	}
	return HK_EINVAL;
}

static void
dlv_op_done(struct hk_store_op *sop, int rc)
{
	struct dlv_op *o = (struct dlv_op *)sop;
	struct hk_buf b = HK_BUF_INIT;

	if (rc == HK_ENOTFOUND)
		hk_http_error(
		    o->req, 404, "not_found", "no delivery %s", o->id);
	else if (rc == HK_EEXIST)
		hk_http_error(o->req, 409, "conflict",
		    "the delivery is in flight or already succeeded");
	else if (rc != 0)
		hk_http_unavailable(o->req, rc);
	else {
		if (o->kind == DLV_RETRY)
			hk_buf_printf(&b,
			    "{\"status\":\"%s\",\"id\":\"%s\"}"
			    "\n",
			    hk_dstate_name(HK_DS_PENDING), o->id);
		else if (o->kind == DLV_RECOVER)
			hk_buf_printf(&b, "{\"recovered\":%llu}\n",
			    (unsigned long long)o->count);
		else
			hk_buf_printf(&b, "{\"deliveries\":[%s]}\n",
			    o->out.b != NULL ? o->out.b : "");
		hk_http_reply(o->req, o->kind == DLV_REPLAY ? 202 : 200, &b);
		hk_buf_free(&b);
		hk_engine_kick();
	}
	free(o->subs);
	free(o->max);
	hk_buf_free(&o->out);
	free(o);
}

static struct dlv_op *
dlv_op_new(struct evhttp_request *req, enum dlv_kind kind, const char *id)
{
	struct dlv_op *o;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return NULL;
	}
	o->kind = kind;
	o->req = req;
	snprintf(o->id, sizeof(o->id), "%s", id);
	o->op.so_apply = dlv_op_apply;
	o->op.so_done = dlv_op_done;
	return o;
}

static void
dlv_op_submit(struct dlv_op *o)
{
	int rc;

	if ((rc = hk_store_submit(hd->hd_store, &o->op)) != 0) {
		hk_http_unavailable(o->req, rc);
		hk_buf_free(&o->out);
		free(o->subs);
		free(o->max);
		free(o);
	}
}

void
hk_delivery_recover(struct evhttp_request *req, const struct hk_sub *s)
{
	static const char *const fields[] = {"since", "until", NULL};
	const cJSON *since, *until;
	struct dlv_op *o;
	cJSON *j;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0 ||
	    (o = dlv_op_new(req, DLV_RECOVER, s->sb_id)) == NULL) {
		cJSON_Delete(j);
		return;
	}
	since = cJSON_GetObjectItemCaseSensitive(j, "since");
	until = cJSON_GetObjectItemCaseSensitive(j, "until");
	if (!cJSON_IsString(since) ||
	    hk_time_parse(since->valuestring, &o->since) != 0 ||
	    (until != NULL &&
	        (!cJSON_IsString(until) ||
	            hk_time_parse(until->valuestring, &o->until) != 0))) {
		hk_http_error(req, 400, "bad_request",
		    "since (and until) must be ISO 8601 times");
		cJSON_Delete(j);
		free(o);
		return;
	}
	cJSON_Delete(j);
	dlv_op_submit(o);
}

void
hk_delivery_replay(struct evhttp_request *req, const char *evt)
{
	static const char *const fields[] = {"subscription", NULL};
	const cJSON *only;
	struct hk_sub *s;
	struct dlv_op *o;
	MDB_txn *txn;
	MDB_val k = {strlen(evt), (void *)(uintptr_t)evt}, v;
	cJSON *j, *head = NULL;
	const cJSON *t, *src;
	size_t n = 0;
	int rc;

	if (hk_admin_body(req, &j) != 0)
		return;
	if (hk_admin_known(req, j, fields) != 0) {
		cJSON_Delete(j);
		return;
	}
	only = cJSON_GetObjectItemCaseSensitive(j, "subscription");
	if (only != NULL &&
	    (!cJSON_IsString(only) || hk_sub_find(only->valuestring) == NULL)) {
		hk_http_error(req, 404, "not_found", "no such subscription");
		cJSON_Delete(j);
		return;
	}
	if (hk_store_rbegin(hd->hd_store, &txn) != 0) {
		hk_http_error(req, 503, "unavailable", "cannot read the store");
		cJSON_Delete(j);
		return;
	}
	rc = mdb_get(txn, hk_store_dbi(hd->hd_store, HK_DB_EVENTS), &k, &v);
	if (rc == 0)
		head = hk_event_head(v.mv_data, v.mv_size);
	hk_store_rend(hd->hd_store);
	if (rc != 0 || head == NULL) {
		hk_http_error(req, 404, "not_found", "no event %.80s", evt);
		cJSON_Delete(j);
		cJSON_Delete(head);
		return;
	}
	t = cJSON_GetObjectItemCaseSensitive(head, "event");
	src = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(head, "source"), "webhook");
	if ((o = dlv_op_new(req, DLV_REPLAY, evt)) == NULL) {
		cJSON_Delete(j);
		cJSON_Delete(head);
		return;
	}
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry) {
		if (only != NULL
		        ? strcmp(s->sb_id, only->valuestring) != 0
		        : !hk_sub_matches(s,
		              cJSON_IsString(t) ? t->valuestring : "",
		              cJSON_IsString(src) ? src->valuestring : NULL))
			continue;
		o->subs = reallocarray(o->subs, n + 1, sizeof(*o->subs));
		o->max = reallocarray(o->max, n + 1, sizeof(*o->max));
		if (o->subs == NULL || o->max == NULL)
			break;
		memcpy(o->subs[n], s->sb_id, HK_ID_MAX);
		o->max[n++] = s->sb_max_attempts;
	}
	o->nsubs = n;
	cJSON_Delete(j);
	cJSON_Delete(head);
	dlv_op_submit(o);
}

void
hk_delivery_route(struct evhttp_request *req, char **seg, int nseg)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct dlv_op *o;

	if (nseg == 2) {
		if (m == EVHTTP_REQ_GET)
			dlv_list(req);
		else
			hk_admin_405(req, "GET");
	} else if (nseg == 3) {
		if (m == EVHTTP_REQ_GET)
			dlv_show(req, seg[2]);
		else
			hk_admin_405(req, "GET");
	} else if (nseg == 4 && strcmp(seg[3], "retry") == 0) {
		if (m != EVHTTP_REQ_POST)
			hk_admin_405(req, "POST");
		else if (hk_map_get(&eng.inflight, seg[2], strlen(seg[2])) !=
		    NULL)
			hk_http_error(
			    req, 409, "conflict", "the delivery is in flight");
		else if (!hk_id_valid("dlv_", seg[2]))
			hk_http_error(
			    req, 404, "not_found", "no delivery %.80s", seg[2]);
		else if ((o = dlv_op_new(req, DLV_RETRY, seg[2])) != NULL)
			dlv_op_submit(o);
	} else
		hk_http_error(req, 404, "not_found", "no such endpoint");
}
