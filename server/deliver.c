/*
 * deliver.c: deliveries, the on-disk queue, and the engine that sends
 * them (SPEC §4).
 *
 * A delivery is created in its event's commit: its record
 * (HK_DB_DELIVERIES), its queue entry (HK_DB_QUEUE, keyed by class, due
 * time and id; class 0 holds first attempts, class 1 retries, so fresh
 * events go before a backlog of retries) and two indexes (per event, per
 * subscription).
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
#include "id.h"
#include "json.h"
#include "tmpl.h"

#define ENG_IDLE_MS 1000 /* a pass at least this often */
#define ENG_RESPONSE_KEEP 1024 /* bytes of a response kept per attempt */
#define ENG_RESPONSE_MAX (1024 * 1024) /* read beyond this: too_large */
#define ENG_CIRCUIT 5 /* consecutive failures that open it */
#define ENG_FAILING_AT 4 /* failed attempts before .failing */
#define DLV_RECOVER_MAX 10000 /* deliveries one recover call touches */
#define ENG_STORE_PAUSE_US 5000000 /* after a failed outcome commit */
#define ENG_HDRS_MAX (11 + HOOKD_SUB_HEADERS_MAX) /* eng_sign's 11, a sub's */
_Static_assert(ENG_HDRS_MAX <= HK_HDRS_MAX, "a delivery's lines fit a set");
#define ENG_IDLE_HANDLES 256 /* easy handles kept for reuse */

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

size_t
hk_queue_key(const char *sub, int cls, int64_t due, const char *dlv, char *out)
{
	size_t s = strlen(sub), n = strlen(dlv);
	int i;

	memcpy(out, sub, s);
	out[s] = (char)cls;
	for (i = 0; i < 8; i++)
		out[s + 1 + i] = (char)((uint64_t)due >> (56 - 8 * i));
	memcpy(out + s + 9, dlv, n);
	return s + 9 + n;
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

/* An attempt's key: the delivery id, then the attempt number (BE). */
static size_t
dlv_attempt_key(const char *dlv, int attempt, char *out)
{
	size_t n = strlen(dlv);

	memcpy(out, dlv, n);
	out[n] = (char)((attempt >> 8) & 0xff);
	out[n + 1] = (char)(attempt & 0xff);
	return n + 2;
}

/* An index key: PREFIX id followed by a delivery id. */
static size_t
dlv_index_key(const char *prefix, const char *dlv, char *out)
{
	size_t a = strlen(prefix), b = strlen(dlv);

	memcpy(out, prefix, a);
	memcpy(out + a, dlv, b);
	return a + b;
}

static int
dlv_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	MDB_val key = {klen, (void *)(uintptr_t)k};
	MDB_val val = {vlen, (void *)(uintptr_t)v};
	int rc;

	if ((rc = mdb_put(txn, dbi, &key, &val, 0)) != 0)
		return hk_store_err(rc);
	return 0;
}

static int
dlv_del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen)
{
	MDB_val key = {klen, (void *)(uintptr_t)k};
	int rc = mdb_del(txn, dbi, &key, NULL);

	return rc == 0 || rc == MDB_NOTFOUND ? 0 : hk_store_err(rc);
}

/* Writes a delivery record (a cJSON object) under its id. */
static int
dlv_write(struct hk_store *st, MDB_txn *txn, const cJSON *rec, const char *id)
{
	char *text = hk_json_text(rec);
	int rc;

	if (text == NULL)
		return HK_ENOMEM;
	rc = hk_store_put(txn, hk_store_dbi(st, HK_DB_DELIVERIES), id,
	    strlen(id), text, strlen(text), 0);
	free(text);
	return rc;
}

/* Reads and parses delivery ID; NULL when absent or unreadable. */
static cJSON *
dlv_read(struct hk_store *st, MDB_txn *txn, const char *id)
{
	MDB_val k = {strlen(id), (void *)(uintptr_t)id}, v;

	if (mdb_get(txn, hk_store_dbi(st, HK_DB_DELIVERIES), &k, &v) != 0)
		return NULL;
	return cJSON_ParseWithLength(v.mv_data, v.mv_size);
}

static const char *
dlv_str(const cJSON *rec, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int64_t
dlv_num(const cJSON *rec, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static void
dlv_set_num(cJSON *rec, const char *name, double n)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

	if (v != NULL)
		cJSON_SetNumberValue(v, n);
	else
		cJSON_AddNumberToObject(rec, name, n);
}

static void
dlv_set_str(cJSON *rec, const char *name, const char *s)
{
	cJSON_DeleteItemFromObjectCaseSensitive(rec, name);
	if (s != NULL)
		cJSON_AddStringToObject(rec, name, s);
	else
		cJSON_AddNullToObject(rec, name);
}

/*
 * A delivery record as a struct: the paths every attempt takes (its
 * start, its outcome) read and write records without building a tree.
 * The JSON has exactly these members, in this order; the rarer API paths
 * edit records with cJSON (dlv_read, dlv_write).
 */
struct dlv_rec {
	char id[HK_ID_MAX];
	char event[HK_ID_MAX];
	char sub[HK_ID_MAX];
	char status[16];
	long long attempts;
	char next[HK_ISO_LEN]; /* nextAttemptAt; "" for null */
	char created[HK_ISO_LEN];
	char updated[HK_ISO_LEN];
	long long limit;
	long long cls;
	long long due;
};

enum {
	DR_ID,
	DR_EVENT,
	DR_SUB,
	DR_STATUS,
	DR_ATTEMPTS,
	DR_NEXT,
	DR_CREATED,
	DR_UPDATED,
	DR_LIMIT,
	DR_CLS,
	DR_DUE,
	DR_COUNT
};

static const char *const dlv_names[DR_COUNT] = {"id", "event", "subscription",
    "status", "attemptCount", "nextAttemptAt", "createdAt", "updatedAt",
    "limit", "cls", "due"};

/* A string member into OUT ("" when absent or null); 0 or -1. */
static int
dlv_rec_str(const struct hk_json_str *v, char *out, size_t len)
{
	out[0] = '\0';
	if (v->p == NULL || v->kind == HK_JSON_NULL)
		return 0;
	if (v->kind != HK_JSON_STRING)
		return -1;
	return hk_json_unescape(v, out, len) < 0 ? -1 : 0;
}

/* A number member, as dlv_num() reads it (0 when absent). */
static long long
dlv_rec_num(const struct hk_json_str *v)
{
	char buf[64], *end;
	long long n;

	if (v->p == NULL || v->kind != HK_JSON_NUMBER || v->len >= sizeof(buf))
		return 0;
	memcpy(buf, v->p, v->len);
	buf[v->len] = '\0';
	n = strtoll(buf, &end, 10);
	return *end == '\0' ? n : (long long)strtod(buf, NULL);
}

/* Parses record TEXT into R; 0, or -1 when it is not one. */
static int
dlv_parse(const void *text, size_t len, struct dlv_rec *r)
{
	struct hk_json_str m[DR_COUNT];

	if (hk_json_members(text, len, dlv_names, DR_COUNT, m) != 0 ||
	    dlv_rec_str(&m[DR_ID], r->id, sizeof(r->id)) != 0 ||
	    dlv_rec_str(&m[DR_EVENT], r->event, sizeof(r->event)) != 0 ||
	    dlv_rec_str(&m[DR_SUB], r->sub, sizeof(r->sub)) != 0 ||
	    dlv_rec_str(&m[DR_STATUS], r->status, sizeof(r->status)) != 0 ||
	    dlv_rec_str(&m[DR_NEXT], r->next, sizeof(r->next)) != 0 ||
	    dlv_rec_str(&m[DR_CREATED], r->created, sizeof(r->created)) != 0 ||
	    dlv_rec_str(&m[DR_UPDATED], r->updated, sizeof(r->updated)) != 0)
		return -1;
	r->attempts = dlv_rec_num(&m[DR_ATTEMPTS]);
	r->limit = dlv_rec_num(&m[DR_LIMIT]);
	r->cls = dlv_rec_num(&m[DR_CLS]);
	r->due = dlv_rec_num(&m[DR_DUE]);
	return 0;
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

/* Writes R under its id. */
static int
dlv_put_rec(struct hk_store *st, MDB_txn *txn, const struct dlv_rec *r)
{
	struct hk_buf b = HK_BUF_INIT;
	int rc = HK_ENOMEM;

	if (dlv_print_str(&b, "{\"id\":", r->id) == 0 &&
	    dlv_print_str(&b, ",\"event\":", r->event) == 0 &&
	    dlv_print_str(&b, ",\"subscription\":", r->sub) == 0 &&
	    dlv_print_str(&b, ",\"status\":", r->status) == 0 &&
	    dlv_print_num(&b, ",\"attemptCount\":", r->attempts) == 0 &&
	    dlv_print_str(&b, ",\"nextAttemptAt\":",
	        r->next[0] != '\0' ? r->next : NULL) == 0 &&
	    dlv_print_str(&b, ",\"createdAt\":", r->created) == 0 &&
	    dlv_print_str(&b, ",\"updatedAt\":", r->updated) == 0 &&
	    dlv_print_num(&b, ",\"limit\":", r->limit) == 0 &&
	    dlv_print_num(&b, ",\"cls\":", r->cls) == 0 &&
	    dlv_print_num(&b, ",\"due\":", r->due) == 0 &&
	    hk_buf_addc(&b, '}') == 0)
		rc = hk_store_put(txn, hk_store_dbi(st, HK_DB_DELIVERIES),
		    r->id, strlen(r->id), b.b, b.len, 0);
	hk_buf_free(&b);
	return rc;
}

/* Puts the queue entry of delivery ID for (CLS, DUE), or removes it. */
static int
dlv_queue_at(struct hk_store *st, MDB_txn *txn, const char *sub, int cls,
    int64_t due, const char *id, int add)
{
	char k[HK_QKEY_MAX];
	size_t n = hk_queue_key(sub, cls, due, id, k);
	MDB_dbi q = hk_store_dbi(st, HK_DB_QUEUE);

	return add ? dlv_put(txn, q, k, n, "", 0) : dlv_del(txn, q, k, n);
}

/* Puts R's queue entry for its (cls, due), or removes it. */
static int
dlv_queue_rec(
    struct hk_store *st, MDB_txn *txn, const struct dlv_rec *r, int add)
{
	return dlv_queue_at(st, txn, r->sub, (int)r->cls, r->due, r->id, add);
}

/* Puts REC's queue entry for its (cls, due), or removes it. */
static int
dlv_queue(struct hk_store *st, MDB_txn *txn, const cJSON *rec, int add)
{
	return dlv_queue_at(st, txn, dlv_str(rec, "subscription"),
	    (int)dlv_num(rec, "cls"), dlv_num(rec, "due"), dlv_str(rec, "id"),
	    add);
}

/* Makes REC pending again, due now, allowed one more attempt. */
static void
dlv_requeue(cJSON *rec, int64_t now)
{
	char iso[HK_ISO_LEN];

	dlv_set_str(rec, "status", "pending");
	dlv_set_num(rec, "cls", 0);
	dlv_set_num(rec, "due", (double)now);
	dlv_set_num(rec, "limit", (double)dlv_num(rec, "attemptCount") + 1);
	dlv_set_str(rec, "nextAttemptAt", hk_time_iso(now, iso));
	dlv_set_str(rec, "updatedAt", iso);
}

int
hk_delivery_create(struct hk_store *st, MDB_txn *txn, const char *evt,
    const char *sub, int max_attempts, int64_t now, char *id)
{
	char k[HK_QKEY_MAX];
	struct dlv_rec r;
	size_t n;
	int rc;

	hk_id_at("dlv_", now, id);
	memset(&r, 0, sizeof(r));
	memcpy(r.id, id, sizeof(r.id));
	snprintf(r.event, sizeof(r.event), "%s", evt);
	snprintf(r.sub, sizeof(r.sub), "%s", sub);
	memcpy(r.status, "pending", sizeof("pending"));
	hk_time_iso(now, r.next);
	memcpy(r.created, r.next, sizeof(r.created));
	memcpy(r.updated, r.next, sizeof(r.updated));
	r.limit = max_attempts;
	r.due = now;
	if ((rc = dlv_put_rec(st, txn, &r)) != 0 ||
	    (rc = dlv_queue_rec(st, txn, &r, 1)) != 0)
		return rc;
	n = dlv_index_key(evt, id, k);
	if ((rc = dlv_put(txn, hk_store_dbi(st, HK_DB_EVDLV), k, n, "", 0)) !=
	    0)
		return rc;
	n = dlv_index_key(sub, id, k);
	return dlv_put(txn, hk_store_dbi(st, HK_DB_SUBDLV), k, n, "", 0);
}

int
hk_delivery_cancel_all(
    struct hk_store *st, MDB_txn *txn, const char *sub, uint64_t *count)
{
	size_t slen = strlen(sub);
	char iso[HK_ISO_LEN], id[HK_ID_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	cJSON *rec;
	int rc, rc2 = 0;

	*count = 0;
	if ((rc = mdb_cursor_open(txn, hk_store_dbi(st, HK_DB_SUBDLV), &cur)) !=
	    0)
		return hk_store_err(rc);
	k.mv_data = (void *)(uintptr_t)sub;
	k.mv_size = slen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= slen || k.mv_size - slen >= HK_ID_MAX ||
		    memcmp(k.mv_data, sub, slen) != 0)
			break;
		memcpy(id, (char *)k.mv_data + slen, k.mv_size - slen);
		id[k.mv_size - slen] = '\0';
		if ((rec = dlv_read(st, txn, id)) == NULL)
			continue;
		if (strcmp(dlv_str(rec, "status"), "pending") == 0) {
			if ((rc2 = dlv_queue(st, txn, rec, 0)) == 0) {
				dlv_set_str(rec, "status", "cancelled");
				dlv_set_str(rec, "nextAttemptAt", NULL);
				dlv_set_str(rec, "updatedAt",
				    hk_time_iso(hk_now_ms(), iso));
				rc2 = dlv_write(st, txn, rec, id);
			}
			(*count)++;
		}
		cJSON_Delete(rec);
		if (rc2 != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc2;
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
 * The headers of SPEC §4's table, signed with SECRET and, during a
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
		    "header %s not sent: its name or value has a byte outside "
		    "visible ASCII, space and tab",
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
		    "response larger than "
		    "%d bytes",
		    ENG_RESPONSE_MAX);
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

struct outcome_op {
	struct hk_store_op op;
	struct job *job;
	char *attempt; /* the attempt's JSON */
	int final; /* 0 retry, 1 succeeded, 2 failed */
	int64_t due; /* the retry's due time */
	int gone; /* the delivery was cancelled or vanished meanwhile */
	struct outcome_op *next; /* waiting in eng.outq */
};

static int
outcome_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct outcome_op *o = (struct outcome_op *)sop;
	struct job *j = o->job;
	char key[HK_ID_MAX + 2];
	struct dlv_rec r;
	MDB_val k = {strlen(j->dlv), j->dlv}, v;
	size_t n;
	int rc;

	if (mdb_get(txn, hk_store_dbi(st, HK_DB_DELIVERIES), &k, &v) != 0 ||
	    dlv_parse(v.mv_data, v.mv_size, &r) != 0 ||
	    strcmp(r.status, "pending") != 0) {
		o->gone = 1;
		return 0;
	}
	/* Attempts live beside the record: it stays small to rewrite. */
	n = dlv_attempt_key(j->dlv, j->attempt, key);
	if ((rc = dlv_put(txn, hk_store_dbi(st, HK_DB_ATTEMPTS), key, n,
	         o->attempt, strlen(o->attempt))) != 0)
		return rc;
	/* The old queue entry goes in the same commit as the outcome. */
	if ((rc = dlv_queue_rec(st, txn, &r, 0)) != 0)
		return rc;
	r.attempts = j->attempt;
	hk_time_iso(hk_now_ms(), r.updated);
	if (o->final) {
		snprintf(r.status, sizeof(r.status), "%s",
		    o->final == 1 ? "succeeded" : "failed");
		r.next[0] = '\0';
	} else {
		r.cls = 1;
		r.due = o->due;
		hk_time_iso(o->due, r.next);
		if ((rc = dlv_queue_rec(st, txn, &r, 1)) != 0)
			return rc;
	}
	return dlv_put_rec(st, txn, &r);
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
		hk_stream_outcome(j->dlv, j->evt, j->sub, o->final, o->attempt);
	hk_map_del(&eng.inflight, j->dlv, strlen(j->dlv));
	if (s != NULL) {
		if (j->probe)
			s->sb_probing = 0;
		s->sb_ordered_busy = 0;
		if (ok) {
			s->sb_fails = 0;
			s->sb_probe_after = 0;
			if (s->sb_failing_since != 0) {
				s->sb_failing_since = 0;
				save = 1;
			}
		} else {
			/* An open circuit spaces its probes like retries. */
			if (++s->sb_fails >= ENG_CIRCUIT)
				s->sb_probe_after = hk_now_ms() +
				    hk_backoff_ms(s->sb_fails - ENG_CIRCUIT + 1,
				        s->sb_initial_ms, s->sb_max_ms,
				        randombytes_uniform(1000000) / 1e6);
			if (s->sb_failing_since == 0) {
				s->sb_failing_since = hk_now_ms();
				save = 1;
			}
		}
		if (s->sb_ordered && rc == 0 && !o->gone) {
			/* The head waits for its retries; others wait for it. */
			if (o->final &&
			    strcmp(s->sb_ordered_head, j->dlv) == 0) {
				s->sb_ordered_head[0] = '\0';
				save = 1;
			} else if (!o->final && s->sb_ordered_head[0] == '\0') {
				memcpy(
				    s->sb_ordered_head, j->dlv, sizeof(j->dlv));
				save = 1;
			}
		}
		if (s->sb_active &&
		    ((!ok && j->status == 410) ||
		        (!ok &&
		            hk_now_ms() - s->sb_failing_since >
		                hd->hd_conf.cf_disable_after_ms))) {
			s->sb_active = 0;
			free(s->sb_disabled_reason);
			s->sb_disabled_reason =
			    strdup(j->status == 410 ? "gone" : "failing");
			save = disable = 1;
			log_warn("subscription_disabled",
			    "subscription=%s "
			    "reason=%s",
			    s->sb_id, s->sb_disabled_reason);
			eng_notify("hookd.subscription.disabled", j, s);
		}
		if (save)
			hk_sub_save_state(s, disable);
	}
	if (rc == 0 && !o->gone) {
		if (ok && j->attempt > ENG_FAILING_AT)
			eng_notify("hookd.delivery.recovered", j, s);
		else if (!ok && j->attempt == ENG_FAILING_AT && !o->final)
			eng_notify("hookd.delivery.failing", j, s);
		if (o->final == 2)
			eng_notify("hookd.delivery.exhausted", j, s);
	}
	hd->hd_stats.s_attempts++;
	if (j->attempt > 1)
		hd->hd_stats.s_retries++;
	hk_stats_attempt(j->sub, ok, j->latency_ms * 1000);
	if (rc == 0 && !o->gone && o->final == 1) {
		hd->hd_stats.s_succeeded++;
		hk_stats_first_success(
		    (hk_now_ms() - hk_id_ms("evt_", j->evt)) * 1000);
	} else if (rc == 0 && !o->gone && o->final == 2)
		hd->hd_stats.s_failed++;
	log_debug("attempt",
	    "delivery=%s attempt=%d status=%ld reason=%s "
	    "ms=%lld",
	    j->dlv, j->attempt, j->status, j->reason, (long long)j->latency_ms);
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

/* An attempt is over: commit what happened and when the next one is. */
static void
job_finish(struct job *j)
{
	struct hk_sub *s = hk_sub_find(j->sub);
	struct outcome_op *o;
	struct hk_buf a = HK_BUF_INIT;
	char iso[HK_ISO_LEN], *p;
	int64_t delay, ra;
	size_t i;

	/*
	 * The request is over: its slot under --max-in-flight and maxInFlight
	 * is free now, while the outcome commits. The delivery itself stays
	 * in flight (not sent again) until then; an ordered subscription and
	 * an open circuit's probe wait for the outcome.
	 */
	eng.ninflight--;
	if (s != NULL)
		s->sb_inflight--;
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
	if (job_ok(j))
		o->final = 1;
	else if (j->attempt >= j->limit || j->status == 410 || s == NULL)
		o->final = 2;
	else {
		delay = hk_backoff_ms(j->attempt, s->sb_initial_ms,
		    s->sb_max_ms, randombytes_uniform(1000000) / 1e6);
		if ((j->status == 429 || j->status == 503) &&
		    j->retry_after[0] != '\0' &&
		    hk_retry_after_ms(
		        j->retry_after, hk_now_ms(), s->sb_max_ms, &ra) == 0)
			delay = ra;
		o->due = hk_now_ms() + delay;
	}
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
		if (s != NULL) {
			if (j->probe)
				s->sb_probing = 0;
			s->sb_ordered_busy = 0;
		}
		job_free(j);
	}
}

/* ---- the scheduler ---- */

/* Whether S can take one more attempt now, for delivery DLV. */
static int
eng_may_send(struct hk_sub *s, const char *dlv)
{
	int64_t wait;

	if (!s->sb_active || s->sb_inflight >= s->sb_max_in_flight)
		return 0;
	if (s->sb_fails >= ENG_CIRCUIT && s->sb_probing)
		return 0; /* open circuit: one probe at a time */
	if (s->sb_ordered &&
	    (s->sb_ordered_busy ||
	        (s->sb_ordered_head[0] != '\0' &&
	            strcmp(s->sb_ordered_head, dlv) != 0)))
		return 0;
	if (s->sb_rate > 0 &&
	    hk_bucket_take(&s->sb_bucket, hk_mono_us(), &wait) != 0)
		return 0;
	return 1;
}

/* Builds and starts the attempt of queue entry DLV (key QK) for S. */
static int
eng_dispatch(MDB_txn *txn, struct hk_sub *s, const char *dlv, const MDB_val *qk)
{
	static const char *const env_names[] = {"event"};
	char hbuf[1024];
	size_t n;
	struct hk_tmpl_vars tv;
	struct hk_json_str etype;
	struct dlv_rec r;
	struct job *j;
	MDB_val k, v;
	cJSON *head = NULL;
	char *cut;
	int rc = -1, scanned, signed_rc;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	snprintf(j->dlv, sizeof(j->dlv), "%s", dlv);
	snprintf(j->sub, sizeof(j->sub), "%s", s->sb_id);
	memcpy(j->qkey, qk->mv_data, qk->mv_size);
	j->qklen = qk->mv_size;
	k.mv_data = j->dlv;
	k.mv_size = strlen(j->dlv);
	if (mdb_get(txn, hk_store_dbi(hd->hd_store, HK_DB_DELIVERIES), &k,
	        &v) != 0 ||
	    dlv_parse(v.mv_data, v.mv_size, &r) != 0 ||
	    strcmp(r.status, "pending") != 0)
		goto out;
	memcpy(j->evt, r.event, sizeof(j->evt));
	j->attempt = (int)r.attempts + 1;
	j->limit = (int)r.limit;
	k.mv_data = j->evt;
	k.mv_size = strlen(j->evt);
	if (mdb_get(txn, hk_store_dbi(hd->hd_store, HK_DB_EVENTS), &k, &v) !=
	        0 ||
	    (cut = memmem(v.mv_data, v.mv_size, ",\"payload\":", 11)) == NULL)
		goto out;
	/*
	 * The type is in the envelope's head, before its payload: scanning
	 * that (closed with a brace) spares a pass over the payload.
	 */
	n = (size_t)(cut - (char *)v.mv_data);
	if (n + 1 < sizeof(hbuf)) {
		memcpy(hbuf, v.mv_data, n);
		hbuf[n++] = '}';
		scanned = hk_json_scan(hbuf, n, env_names, 1, &etype);
	} else
		scanned =
		    hk_json_scan(v.mv_data, v.mv_size, env_names, 1, &etype);
	if (scanned != 0)
		goto out;
	if (etype.p == NULL ||
	    hk_json_unescape(&etype, j->type, sizeof(j->type)) < 0)
		j->type[0] = '\0';
	if (s->sb_template != NULL) {
		const cJSON *src, *ts, *nm;
		const char *payload = cut + 11;

		if ((head = hk_event_head(v.mv_data, v.mv_size)) == NULL)
			goto out;
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
		    (size_t)((char *)v.mv_data + v.mv_size - 1 - payload);
		if (hk_tmpl_render(s->sb_template, &tv, &j->body) != 0)
			goto out;
	} else if (hk_buf_add(&j->body, v.mv_data, v.mv_size) != 0)
		goto out;
	signed_rc = eng_sign(j, s->sb_secret,
	    s->sb_prev_secret != NULL && s->sb_prev_until > hk_now_ms()
	        ? s->sb_prev_secret
	        : NULL,
	    s->sb_headers);
	if ((signed_rc != 0 && signed_rc != HK_EINVAL) ||
	    (signed_rc == 0 &&
	        job_start(j, s->sb_url, s->sb_timeout_ms) != 0) ||
	    hk_map_put(&eng.inflight, j->dlv, strlen(j->dlv), j) != 0)
		goto out;
	eng.ninflight++;
	s->sb_inflight++;
	if (s->sb_fails >= ENG_CIRCUIT)
		s->sb_probing = j->probe = 1;
	if (s->sb_ordered)
		s->sb_ordered_busy = 1;
	rc = 0;
	/* A header that may not be sent: a failed attempt, recorded. */
	if (signed_rc == HK_EINVAL) {
		j->at_ms = hk_now_ms();
		log_warn("attempt_refused", "delivery=%s error=%s", j->dlv,
		    hk_logq(j->error));
		job_finish(j);
	}
out:
	cJSON_Delete(head);
	if (rc != 0)
		job_free(j);
	return rc;
}

/*
 * An ordered subscription whose head failed: only the head may go, when
 * its retry is due. A head that is no longer pending (retried by hand
 * and done, cancelled) releases the others.
 */
static int
eng_serve_head(MDB_txn *txn, struct hk_sub *s, int64_t now, int64_t *next)
{
	char key[HK_QKEY_MAX];
	MDB_val k = {strlen(s->sb_ordered_head), s->sb_ordered_head}, v, qk;
	cJSON *rec = NULL;
	int64_t due;

	if (hk_map_get(&eng.inflight, s->sb_ordered_head,
	        strlen(s->sb_ordered_head)) != NULL)
		return 0;
	if (mdb_get(txn, hk_store_dbi(hd->hd_store, HK_DB_DELIVERIES), &k,
	        &v) != 0 ||
	    (rec = cJSON_ParseWithLength(v.mv_data, v.mv_size)) == NULL ||
	    strcmp(dlv_str(rec, "status"), "pending") != 0) {
		cJSON_Delete(rec);
		s->sb_ordered_head[0] = '\0';
		hk_sub_save_state(s, 0);
		eng_schedule(0);
		return 0;
	}
	due = dlv_num(rec, "due");
	qk.mv_size = hk_queue_key(
	    s->sb_id, (int)dlv_num(rec, "cls"), due, s->sb_ordered_head, key);
	qk.mv_data = key;
	cJSON_Delete(rec);
	if (due > now) {
		if (due < *next)
			*next = due;
		return 0;
	}
	if ((int64_t)eng.ninflight >= hd->hd_conf.cf_max_in_flight)
		return -1;
	if (eng_may_send(s, s->sb_ordered_head) &&
	    eng_dispatch(txn, s, s->sb_ordered_head, &qk) != 0)
		log_warn("dispatch", "delivery=%s error=%s", s->sb_ordered_head,
		    hk_logq("cannot start the attempt"));
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
	MDB_val k, v;
	int64_t due;
	int cls, rc;

	if (s->sb_fails >= ENG_CIRCUIT && now < s->sb_probe_after) {
		if (s->sb_probe_after < *next)
			*next = s->sb_probe_after;
		return 0;
	}
	if (s->sb_ordered && s->sb_ordered_head[0] != '\0')
		return eng_serve_head(txn, s, now, next);
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
		if (cls == 0 && s->sb_resume_len > 0) {
			k.mv_data = s->sb_resume;
			k.mv_size = s->sb_resume_len;
			s->sb_resume_len = 0;
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
			    !eng_may_send(s, dlv)) {
				if (cls == 0 &&
				    k.mv_size <= sizeof(s->sb_resume)) {
					memcpy(
					    s->sb_resume, k.mv_data, k.mv_size);
					s->sb_resume_len = k.mv_size;
				}
				return (int64_t)eng.ninflight >=
				        hd->hd_conf.cf_max_in_flight
				    ? -1
				    : 0;
			}
			if (eng_dispatch(txn, s, dlv, &k) != 0)
				log_warn("dispatch", "delivery=%s error=%s",
				    dlv, hk_logq("cannot start the attempt"));
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
	/* The type goes out in a header line: SPEC §3's rule, checked. */
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

/* Appends the attempts of delivery ID, as a JSON array, to B. */
static int
dlv_attempts(MDB_txn *txn, const char *id, struct hk_buf *b)
{
	size_t ilen = strlen(id);
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, n = 0;

	if (hk_buf_addc(b, '[') != 0)
		return HK_ENOMEM;
	if (mdb_cursor_open(
	        txn, hk_store_dbi(hd->hd_store, HK_DB_ATTEMPTS), &cur) != 0)
		return HK_EIO;
	k.mv_data = (void *)(uintptr_t)id;
	k.mv_size = ilen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != ilen + 2 || memcmp(k.mv_data, id, ilen) != 0)
			break;
		if ((n++ > 0 && hk_buf_addc(b, ',') != 0) ||
		    hk_buf_add(b, v.mv_data, v.mv_size) != 0) {
			mdb_cursor_close(cur);
			return HK_ENOMEM;
		}
	}
	mdb_cursor_close(cur);
	return hk_buf_addc(b, ']');
}

/* Appends REC in its public form (internal fields dropped) to B. */
static int
dlv_public(MDB_txn *txn, struct hk_buf *b, const MDB_val *v, int with_attempts)
{
	cJSON *rec = cJSON_ParseWithLength(v->mv_data, v->mv_size);
	const char *id;
	char *text;
	int rc;

	if (rec == NULL)
		return HK_ENOMEM;
	id = dlv_str(rec, "id");
	if (hk_map_get(&eng.inflight, id, strlen(id)) != NULL &&
	    strcmp(dlv_str(rec, "status"), "pending") == 0)
		dlv_set_str(rec, "status", "in_flight");
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "cls");
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "due");
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "limit");
	text = hk_json_text(rec);
	if (text == NULL) {
		cJSON_Delete(rec);
		return HK_ENOMEM;
	}
	/* The record's closing brace gives way to its attempts. */
	rc = hk_buf_add(b, text, strlen(text) - 1);
	if (rc == 0 && with_attempts)
		rc = hk_buf_adds(b, ",\"attempts\":") ||
		    dlv_attempts(txn, dlv_str(rec, "id"), b);
	if (rc == 0)
		rc = hk_buf_addc(b, '}');
	free(text);
	cJSON_Delete(rec);
	return rc;
}

int
hk_delivery_of_event(MDB_txn *txn, const char *evt, struct hk_buf *b)
{
	size_t elen = strlen(evt);
	char id[HK_ID_MAX];
	MDB_cursor *cur;
	MDB_val k, v, d;
	int rc, n = 0;

	if (hk_buf_addc(b, '[') != 0)
		return HK_ENOMEM;
	if (mdb_cursor_open(
	        txn, hk_store_dbi(hd->hd_store, HK_DB_EVDLV), &cur) != 0)
		return HK_EIO;
	k.mv_data = (void *)(uintptr_t)evt;
	k.mv_size = elen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && n < HOOKD_LIST_MAX;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= elen || k.mv_size - elen >= HK_ID_MAX ||
		    memcmp(k.mv_data, evt, elen) != 0)
			break;
		memcpy(id, (char *)k.mv_data + elen, k.mv_size - elen);
		id[k.mv_size - elen] = '\0';
		d.mv_data = id;
		d.mv_size = strlen(id);
		if (mdb_get(txn, hk_store_dbi(hd->hd_store, HK_DB_DELIVERIES),
		        &d, &v) != 0)
			continue;
		if ((n++ > 0 && hk_buf_addc(b, ',') != 0) ||
		    dlv_public(txn, b, &v, 1) != 0) {
			mdb_cursor_close(cur);
			return HK_ENOMEM;
		}
	}
	mdb_cursor_close(cur);
	return hk_buf_addc(b, ']');
}

/* GET /api/deliveries?status&subscription&event&limit&after. */
static void
dlv_list(struct evhttp_request *req)
{
	char after[HK_ID_MAX] = "", status[16], sub[HK_ID_MAX], evt[HK_ID_MAX];
	char last[HK_ID_MAX] = "", pat[3 * HK_ID_MAX];
	struct hk_buf b = HK_BUF_INIT;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	int limit, n = 0, rc, more = 0;
	long scanned = 0;

	if (hk_admin_page(req, &limit, after, sizeof(after)) != 0)
		return;
	if (hk_admin_query(req, "status", status, sizeof(status)) < 0 ||
	    hk_admin_query(req, "subscription", sub, sizeof(sub)) < 0 ||
	    hk_admin_query(req, "event", evt, sizeof(evt)) < 0) {
		hk_http_error(req, 400, "bad_request", "a filter is too long");
		return;
	}
	if (status[0] != '\0' && strcmp(status, "pending") != 0 &&
	    strcmp(status, "in_flight") != 0 &&
	    strcmp(status, "succeeded") != 0 && strcmp(status, "failed") != 0 &&
	    strcmp(status, "cancelled") != 0) {
		hk_http_error(req, 400, "bad_request",
		    "status must be pending, "
		    "in_flight, succeeded, failed or cancelled");
		return;
	}
	if ((rc = hk_admin_newest(req, HK_DB_DELIVERIES, after, strlen(after),
	         &cur, &k, &v)) == -1)
		return;
	txn = mdb_cursor_txn(cur);
	hk_buf_adds(&b, "{\"data\":[");
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		const char *id;
		int in_flight;

		if (k.mv_size >= HK_ID_MAX)
			continue;
		if (n == limit || scanned == HOOKD_SCAN_MAX) {
			more = 1;
			break;
		}
		scanned++;
		memcpy(last, k.mv_data, k.mv_size);
		last[k.mv_size] = '\0';
		id = last;
		in_flight = hk_map_get(&eng.inflight, id, strlen(id)) != NULL;
		/* Cheap filters on the raw record before parsing it. */
		if (sub[0] != '\0' &&
		    (snprintf(pat, sizeof(pat), "\"subscription\":\"%s\"", sub),
		        memmem(v.mv_data, v.mv_size, pat, strlen(pat)) == NULL))
			continue;
		if (evt[0] != '\0' &&
		    (snprintf(pat, sizeof(pat), "\"event\":\"%s\"", evt),
		        memmem(v.mv_data, v.mv_size, pat, strlen(pat)) == NULL))
			continue;
		if (status[0] != '\0') {
			snprintf(pat, sizeof(pat), "\"status\":\"%s\"",
			    strcmp(status, "in_flight") == 0 ? "pending"
			                                     : status);
			if (memmem(v.mv_data, v.mv_size, pat, strlen(pat)) ==
			        NULL ||
			    (strcmp(status, "in_flight") == 0) != in_flight ||
			    (strcmp(status, "pending") == 0 && in_flight))
				continue;
		}
		if ((n++ > 0 && hk_buf_addc(&b, ',') != 0) ||
		    dlv_public(txn, &b, &v, 0) != 0)
			break;
	}
	hk_admin_page_end(req, cur, &b, more && last[0] != '\0' ? last : NULL);
}

static void
dlv_show(struct evhttp_request *req, const char *id)
{
	struct hk_buf b = HK_BUF_INIT;
	MDB_txn *txn;
	MDB_val k = {strlen(id), (void *)(uintptr_t)id}, v;
	int rc;

	if (hk_store_rbegin(hd->hd_store, &txn) != 0) {
		hk_http_error(req, 503, "unavailable", "cannot read the store");
		return;
	}
	rc = mdb_get(txn, hk_store_dbi(hd->hd_store, HK_DB_DELIVERIES), &k, &v);
	if (rc == 0)
		rc = dlv_public(txn, &b, &v, 1) || hk_buf_addc(&b, '\n');
	hk_store_rend(hd->hd_store);
	if (rc == MDB_NOTFOUND)
		hk_http_error(req, 404, "not_found", "no delivery %.80s", id);
	else if (rc != 0)
		hk_http_error(req, 500, "internal", "cannot read delivery");
	else
		hk_http_reply(req, 200, &b);
	hk_buf_free(&b);
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

/* Brings pending REC's next attempt forward to NOW; its limit stays. */
static void
dlv_due_now(cJSON *rec, int64_t now)
{
	char iso[HK_ISO_LEN];

	dlv_set_num(rec, "due", (double)now);
	dlv_set_str(rec, "nextAttemptAt", hk_time_iso(now, iso));
	dlv_set_str(rec, "updatedAt", iso);
}

/*
 * Retry now: a pending delivery's next attempt is due at once (it uses
 * no attempt of its own); a failed one is pending again with one more.
 */
static int
dlv_retry_one(struct hk_store *st, MDB_txn *txn, cJSON *rec, int *busy)
{
	int rc;

	if (strcmp(dlv_str(rec, "status"), "pending") == 0) {
		if ((rc = dlv_queue(st, txn, rec, 0)) != 0)
			return rc;
		dlv_due_now(rec, hk_now_ms());
	} else if (strcmp(dlv_str(rec, "status"), "failed") == 0)
		dlv_requeue(rec, hk_now_ms());
	else {
		*busy = 1;
		return HK_EEXIST;
	}
	if ((rc = dlv_queue(st, txn, rec, 1)) != 0)
		return rc;
	return dlv_write(st, txn, rec, dlv_str(rec, "id"));
}

static int
dlv_op_apply(struct hk_store_op *sop, struct hk_store *st, MDB_txn *txn)
{
	struct dlv_op *o = (struct dlv_op *)sop;
	size_t ilen = strlen(o->id), i;
	char id[HK_ID_MAX], iso[HK_ISO_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	cJSON *rec;
	int64_t created;
	int rc = 0;

	switch (o->kind) {
	case DLV_RETRY:
		if ((rec = dlv_read(st, txn, o->id)) == NULL)
			return HK_ENOTFOUND;
		/* The record may be in flight: the loop checked before. */
		rc = dlv_retry_one(st, txn, rec, &o->busy);
		cJSON_Delete(rec);
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
			if ((rec = dlv_read(st, txn, id)) == NULL)
				continue;
			rc = 0;
			if (strcmp(dlv_str(rec, "status"), "failed") == 0) {
				rc = dlv_retry_one(st, txn, rec, &o->busy);
				o->count++;
			}
			cJSON_Delete(rec);
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
		    "the delivery is in "
		    "flight or already succeeded");
	else if (rc != 0)
		hk_http_unavailable(o->req, rc);
	else {
		if (o->kind == DLV_RETRY)
			hk_buf_printf(&b,
			    "{\"status\":\"pending\",\"id\":\"%s\"}"
			    "\n",
			    o->id);
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
		    "since (and until) must "
		    "be ISO 8601 times");
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
	TAILQ_FOREACH(s, hk_sub_all(), sb_entry)
	{
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
			hk_http_error(req, 409, "conflict",
			    "the delivery is in "
			    "flight");
		else if (!hk_id_valid("dlv_", seg[2]))
			hk_http_error(
			    req, 404, "not_found", "no delivery %.80s", seg[2]);
		else if ((o = dlv_op_new(req, DLV_RETRY, seg[2])) != NULL)
			dlv_op_submit(o);
	} else
		hk_http_error(req, 404, "not_found", "no such endpoint");
}
