/*
 * sender.c: signed POSTs through libcurl's multi interface on the loop
 * (sender.h). Easy handles are kept and reset rather than made anew: a
 * reset clears every option (nothing of one request reaches the next)
 * and skips a new handle's allocation and set-up; the multi handle's
 * pool keeps the connections.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <sodium.h>

#include "addr.h"
#include "clock.h"
#include "engine/sender.h"
#include "hk.h"
#include "sig.h"

_Static_assert(HK_SEND_HDRS <= HK_HDRS_MAX, "a request's lines fit a set");

#define SEND_IDLE_HANDLES 256 /* easy handles kept for reuse */

static struct {
	CURLM *multi;
	struct event *timer;
	CURL *idle[SEND_IDLE_HANDLES];
	size_t nidle;
} snd;

static void send_check(void);

static void
send_sock_event(evutil_socket_t fd, short what, void *arg)
{
	int running, flags = 0;

	(void)arg;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(snd.multi, fd, flags, &running);
	send_check();
}

static int
send_sockcb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct event *ev = sockp;
	short kind;

	(void)e;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL) {
			event_free(ev);
			curl_multi_assign(snd.multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (ev != NULL) {
		event_del(ev);
		event_assign(ev, hd->hd_base, s, kind, send_sock_event, NULL);
	} else {
		if ((ev = event_new(
		         hd->hd_base, s, kind, send_sock_event, NULL)) == NULL)
			return -1;
		curl_multi_assign(snd.multi, s, ev);
	}
	return event_add(ev, NULL);
}

static void
send_timeout(evutil_socket_t fd, short what, void *arg)
{
	int running;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(snd.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	send_check();
}

static int
send_timercb(CURLM *m, long ms, void *userp)
{
	struct timeval tv;

	(void)m;
	(void)userp;
	if (ms < 0)
		return evtimer_del(snd.timer);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(snd.timer, &tv);
}

/* Every socket is opened here: the address is judged before the connect. */
static curl_socket_t
send_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *ca)
{
	struct hk_send *s = arg;
	struct hk_addr a;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    hk_addr_from_sa(&ca->addr, &a) != 0 ||
	    !hk_addr_allowed(&a, &hd->hd_allow)) {
		s->ss_refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(ca->family, ca->socktype | SOCK_CLOEXEC, ca->protocol);
}

static size_t
send_write(char *p, size_t size, size_t n, void *arg)
{
	struct hk_send *s = arg;
	size_t len = size * n, keep;

	if (s->ss_resp.len < HK_SEND_KEEP) {
		keep = HK_SEND_KEEP - s->ss_resp.len;
		if (keep > len)
			keep = len;
		if (hk_buf_add(&s->ss_resp, p, keep) != 0)
			return 0;
	}
	s->ss_resp_total += len;
	if (s->ss_resp_total > HK_SEND_MAX) {
		s->ss_too_large = 1;
		return 0; /* abort the transfer */
	}
	return len;
}

static size_t
send_header(char *p, size_t size, size_t n, void *arg)
{
	struct hk_send *s = arg;
	size_t len = size * n, v, line = len;

	/* A new response (after a 100 Continue, say) starts the lines over. */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
		s->ss_resp_hdrs.len = 0;
	while (line > 0 && (p[line - 1] == '\n' || p[line - 1] == '\r'))
		line--;
	if (line > 0 && s->ss_resp_hdrs.len + line + 1 <= HK_SEND_KEEP &&
	    (hk_buf_add(&s->ss_resp_hdrs, p, line) != 0 ||
	        hk_buf_addc(&s->ss_resp_hdrs, '\n') != 0))
		return 0;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		for (v = 12; v < len && p[v] == ' '; v++)
			;
		snprintf(s->ss_retry_after, sizeof(s->ss_retry_after), "%.*s",
		    (int)(len - v), p + v);
		s->ss_retry_after[strcspn(s->ss_retry_after, "\r\n")] = '\0';
	}
	return len;
}

/*
 * The list curl reads (it keeps no copy) lives in the request itself,
 * its lines in ss_hdrs (lib/hdr.c, the one place header lines are
 * made): no allocation per line, where curl_slist_append makes two.
 */
static struct curl_slist *
send_hdr_link(struct hk_send *s)
{
	size_t i, n = hk_hdrs_count(&s->ss_hdrs);

	for (i = 0; i < n && i < HK_SEND_HDRS; i++) {
		s->ss_hdr[i].data =
		    (char *)(uintptr_t)hk_hdrs_line(&s->ss_hdrs, i);
		s->ss_hdr[i].next = i + 1 < n ? &s->ss_hdr[i + 1] : NULL;
	}
	return n > 0 ? &s->ss_hdr[0] : NULL;
}

int
hk_send_sign(struct hk_send *s, const char *secret, const char *prev,
    const cJSON *custom)
{
	struct hk_hdr_field own[HOOKD_SUB_HEADERS_MAX];
	struct hk_hdr_delivery d;
	unsigned char key[HK_SIG_KEYMAX];
	char hex[65], v1[2][128];
	int64_t now = hk_now_ms();
	const char *keys[2] = {secret, prev};
	const unsigned char *body = (const unsigned char *)s->ss_body.b;
	const cJSON *c;
	size_t l, nown = 0;
	int i, klen, n = 0, rc;

	hk_sig_hex(secret, body, s->ss_body.len, hex);
	for (i = 0; i < 2; i++) {
		if (keys[i] == NULL ||
		    (klen = hk_sig_standard_key(keys[i], key)) < 0)
			continue;
		hk_sig_standard_v1(key, (size_t)klen, s->ss_evt, now / 1000,
		    body, s->ss_body.len, v1[n], sizeof(v1[n]));
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
	d.type = s->ss_type;
	d.event = s->ss_evt;
	d.delivery = s->ss_dlv;
	d.sig_hex = hex;
	d.sig_v1 = v1[0];
	d.user_agent = "hookd/" VERSION;
	d.attempt = s->ss_attempt;
	d.now_ms = now;
	d.custom = own;
	d.ncustom = nown;
	s->ss_ncustom = nown;
	if ((rc = hk_hdrs_delivery(&s->ss_hdrs, &d)) == HK_EINVAL) {
		s->ss_reason = "bad_header";
		snprintf(s->ss_error, sizeof(s->ss_error),
		    "header %s not sent: "
		    "its name or value has a byte outside visible ASCII, space and tab",
		    s->ss_hdrs.h_bad);
	}
	return rc;
}

static CURL *
send_easy_get(void)
{
	return snd.nidle > 0 ? snd.idle[--snd.nidle] : curl_easy_init();
}

/* Takes E out of the multi handle and keeps or frees it. */
static void
send_easy_put(CURL *e)
{
	curl_multi_remove_handle(snd.multi, e);
	if (snd.nidle < SEND_IDLE_HANDLES) {
		curl_easy_reset(e);
		snd.idle[snd.nidle++] = e;
	} else
		curl_easy_cleanup(e);
}

void
hk_send_clear(struct hk_send *s)
{
	if (s->ss_easy != NULL)
		send_easy_put(s->ss_easy);
	s->ss_easy = NULL;
	hk_hdrs_free(&s->ss_hdrs);
	hk_buf_free(&s->ss_body);
	hk_buf_free(&s->ss_resp);
	hk_buf_free(&s->ss_resp_hdrs);
}

int
hk_send_start(struct hk_send *s, const char *url, int64_t timeout_ms)
{
	CURL *e;

	if ((s->ss_easy = e = send_easy_get()) == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->ss_body.b);
	curl_easy_setopt(
	    e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->ss_body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, send_hdr_link(s));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(timeout_ms < 10000 ? timeout_ms : 10000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* Never follow a redirect, never use a proxy from the environment. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, send_opensocket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, send_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, send_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	s->ss_t0_us = hk_mono_us();
	s->ss_at_ms = hk_now_ms();
	if (curl_multi_add_handle(snd.multi, e) != CURLM_OK) {
		send_easy_put(e);
		s->ss_easy = NULL;
		return -1;
	}
	return 0;
}

/* Judges a finished transfer: S's status, reason and error. */
static void
send_outcome(struct hk_send *s, CURLcode rc)
{
	s->ss_latency_ms = (hk_mono_us() - s->ss_t0_us) / 1000;
	s->ss_status = 0;
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && s->ss_too_large))
		curl_easy_getinfo(
		    s->ss_easy, CURLINFO_RESPONSE_CODE, &s->ss_status);
	if (s->ss_too_large) {
		s->ss_reason = "too_large";
		snprintf(s->ss_error, sizeof(s->ss_error),
		    "response larger than %d bytes", HK_SEND_MAX);
		return;
	}
	switch (rc) {
	case CURLE_OK:
		s->ss_reason = "status";
		if (s->ss_status >= 200 && s->ss_status < 300)
			s->ss_error[0] = '\0';
		else
			snprintf(s->ss_error, sizeof(s->ss_error), "HTTP %ld",
			    s->ss_status);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		s->ss_reason = "timeout";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		s->ss_reason = "dns";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		s->ss_reason = "tls";
		break;
	default:
		s->ss_reason = s->ss_refused ? "target_not_allowed" : "connect";
		break;
	}
	snprintf(s->ss_error, sizeof(s->ss_error), "%s",
	    s->ss_refused
	        ? "the target address is not allowed (see --allow-targets)"
	        : curl_easy_strerror(rc));
}

int
hk_send_ok(const struct hk_send *s)
{
	return s->ss_reason != NULL && strcmp(s->ss_reason, "status") == 0 &&
	    s->ss_status >= 200 && s->ss_status < 300;
}

static void
send_check(void)
{
	struct hk_send *s;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(snd.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(
		    m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		send_outcome(s, m->data.result);
		send_easy_put(s->ss_easy);
		s->ss_easy = NULL;
		s->ss_done(s);
	}
}

int
hk_sender_init(char **cause)
{
	*cause = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (snd.multi = curl_multi_init()) == NULL) {
		*cause = strdup("libcurl failed to start");
		return HK_ERR;
	}
	curl_multi_setopt(snd.multi, CURLMOPT_SOCKETFUNCTION, send_sockcb);
	curl_multi_setopt(snd.multi, CURLMOPT_TIMERFUNCTION, send_timercb);
	/*
	 * By default the pool keeps four idle connections per transfer
	 * running: between a burst's attempts (waiting for their outcomes to
	 * commit) it shrinks and closes what the next ones would reuse.
	 */
	curl_multi_setopt(snd.multi, CURLMOPT_MAXCONNECTS,
	    (long)hd->hd_conf.cf_max_in_flight);
	if ((snd.timer = evtimer_new(hd->hd_base, send_timeout, NULL)) ==
	    NULL) {
		*cause = strdup("cannot create timers");
		return HK_ERR;
	}
	return 0;
}

void
hk_sender_free(void)
{
	while (snd.nidle > 0)
		curl_easy_cleanup(snd.idle[--snd.nidle]);
	if (snd.multi != NULL)
		curl_multi_cleanup(snd.multi);
	if (snd.timer != NULL)
		event_free(snd.timer);
	memset(&snd, 0, sizeof(snd));
	curl_global_cleanup();
}
