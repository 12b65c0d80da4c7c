/*
 * conn.c: bounds on the connections of one listener.
 *
 * evhttp (libevent 2.1) neither counts connections nor bounds the time a
 * whole request may take: its timeouts restart on every byte, so a client
 * sending one byte a second never times out. This file fills both gaps
 * through the one hook evhttp gives, evhttp_set_bevcb(): every connection
 * gets a bufferevent made here, without BEV_OPT_CLOSE_ON_FREE (evhttp
 * then closes the socket itself). Its state is released from evhttp's
 * close callback, which evhttp_connection_free() calls while the socket
 * is still open: the bufferevent's events are then unregistered before
 * its descriptor number can be reused by the next accept (a reference
 * kept past that left them registered on the new socket, whose requests
 * then hung). The close callback is set on the evhttp connection as soon
 * as the loop runs again after the accept (the bufferevent's callback
 * argument is that connection); until then an extra reference keeps the
 * bufferevent alive, so a connection evhttp dropped at once is seen too.
 *
 * - Count: a connection past the maximum evicts one that holds no work:
 *   the connection idle the longest, else the request that has been
 *   arriving the longest, else a connection accepted less than a second
 *   ago that has sent nothing yet (Apache's event MPM closes idle
 *   keep-alive connections the same way when it runs short). A flood of
 *   idle or dribbling connections so cannot lock out a client that sends
 *   a whole request. A request being handled is never evicted; when every
 *   connection holds one, the listener stops accepting (the kernel's
 *   backlog holds the rest, as nginx does) until one is gone.
 * - Deadline: the first byte of a request starts its clock (an input
 *   buffer callback), the response stops it (an output buffer callback).
 *   A request still arriving when its deadline passes has its socket shut
 *   down, and evhttp tears the connection down on the EOF it then reads.
 *   A request being handled (evhttp stops reading then) is never cut.
 * - TLS: on a listener with a certificate the bufferevent is an OpenSSL
 *   one, accepting, that owns its SSL and socket (BEV_OPT_CLOSE_ON_FREE:
 *   the SSL is freed with it, and the socket is closed when it is
 *   finalized, after its events are gone, so the reuse above stays
 *   safe). Its input buffer sees only decrypted bytes, so the handshake
 *   starts the first request's clock at the accept: a client that never
 *   finishes it is cut like one that dribbles its request. A close
 *   without close_notify is an EOF (dirty shutdown allowed), as over TCP.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"

#define CONNS_SWEEP_US 250000
#define CONNS_FRESH_US 1000000 /* a new connection's first bytes are due */
#define CONNS_EMFILE_EVICT 4 /* closed per accept out of descriptors */
#define CONNS_EMFILE_PAUSE_US 10000 /* then: until evhttp has closed them */
#define CONNS_LISTENERS 4
#define CONNS_LINGER_MAX 16 /* sockets draining at once, per listener */
#define CONNS_LINGER_US 2000000 /* how long one drains at most */
#define CONNS_LINGER_PASS 262144 /* bytes discarded per pass of the loop */

struct hk_conn {
	struct bufferevent *cn_bev;
	struct hk_conns *cn_owner;
	struct event *cn_adopt; /* right after the accept: set the close cb */
	struct event *cn_quiet; /* a response is queued: stop reading */
	int cn_ref; /* our extra reference, until adopted */
	struct evbuffer_cb_entry *cn_incb;
	struct evbuffer_cb_entry *cn_outcb;
	int64_t cn_start_us; /* first byte of the request arriving; 0: none */
	int64_t cn_idle_us; /* accepted, or its last response queued */
	int cn_served; /* a response was queued */
	int cn_linger; /* its request's body was refused unread */
	int cn_cut;
	void (*cn_close_cb)(void *); /* hk_conns_on_close() */
	void *cn_close_arg;
	TAILQ_ENTRY(hk_conn) cn_entry;
};

struct hk_conns {
	struct event_base *cs_base;
	struct evconnlistener *cs_lev;
	struct hk_tls *cs_tls; /* NULL: plain HTTP */
	struct event *cs_sweep;
	struct event *cs_resume; /* after accept() failed (EMFILE) */
	int64_t cs_max;
	int64_t cs_deadline_us;
	size_t cs_count;
	size_t cs_cut; /* counted, but shut down and on their way out */
	int cs_paused;
	TAILQ_HEAD(, hk_conn) cs_list;
	TAILQ_HEAD(, hk_linger) cs_lingers;
	size_t cs_nlinger;
};

/* A closed connection's socket, drained so that its answer is read. */
struct hk_linger {
	struct hk_conns *lg_owner;
	struct event *lg_ev;
	evutil_socket_t lg_fd; /* a dup: evhttp closes its own */
	int64_t lg_until_us;
	TAILQ_ENTRY(hk_linger) lg_entry;
};

static struct hk_conns *conns_registry[CONNS_LISTENERS];

/* Bytes arrived: a request begins if none was under way. */
static void
conns_input(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct hk_conn *c = arg;

	(void)b;
	if (info->n_added > 0 && c->cn_start_us == 0)
		c->cn_start_us = hk_mono_us();
}

/*
 * A response is going out: the request was read in time. evhttp is
 * about to read again while it writes, only to notice a close; see
 * conns_quiet.
 */
static void
conns_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct hk_conn *c = arg;

	(void)b;
	if (info->n_added > 0) {
		c->cn_start_us = 0;
		c->cn_idle_us = hk_mono_us();
		c->cn_served = 1;
		event_active(c->cn_quiet, EV_TIMEOUT, 0);
	}
}

/*
 * While evhttp writes a response it reads with no read callback, only to
 * notice a close, and a half-close (the client's FIN after pipelined
 * requests) makes it drop the connection with those requests unanswered.
 * Not reading then leaves the bytes and the EOF in the socket: evhttp
 * reads them once the response is out, answers every whole request that
 * came before the EOF, and a client gone for good is noticed by the
 * failing write.
 */
static void
conns_quiet(evutil_socket_t fd, short what, void *arg)
{
	struct hk_conn *c = arg;
	bufferevent_data_cb rcb;

	(void)fd;
	(void)what;
	bufferevent_getcb(c->cn_bev, &rcb, NULL, NULL, NULL);
	if (rcb == NULL)
		bufferevent_disable(c->cn_bev, EV_READ);
}

/* Whether evhttp is reading C: between requests, or one arriving. */
static int
conns_reading(struct hk_conn *c)
{
	return (bufferevent_get_enabled(c->cn_bev) & EV_READ) != 0;
}

/*
 * Shuts C's socket down; evhttp tears it down on the EOF it then reads.
 * WHY names the log line; NULL: none.
 */
static void
conns_cut(struct hk_conns *cs, struct hk_conn *c, const char *why)
{
	evutil_socket_t s;
	int64_t now = hk_mono_us();

	if ((s = bufferevent_getfd(c->cn_bev)) == -1)
		return;
	if (why != NULL)
		log_info(why, "fd=%d ms=%lld", (int)s,
		    c->cn_start_us != 0
		        ? (long long)((now - c->cn_start_us) / 1000)
		        : 0LL);
	shutdown(s, SHUT_RDWR);
	c->cn_cut = 1;
	cs->cs_cut++;
}

/*
 * Whether bytes wait in C's socket that evhttp has not read yet: a
 * connection accepted in the same pass as others, its request already
 * sent, is not idle.
 */
static int
conns_unread(struct hk_conn *c)
{
	evutil_socket_t s = bufferevent_getfd(c->cn_bev);
	int n = 0;

	return s != -1 && ioctl(s, FIONREAD, &n) == 0 && n > 0;
}

/* Whether C was accepted a moment ago and may be sending its request. */
static int
conns_fresh(const struct hk_conn *c, int64_t now)
{
	return !c->cn_served && now - c->cn_idle_us < CONNS_FRESH_US;
}

/* Whether A has been idle longer than B (B may be NULL). */
static int
conns_idler(const struct hk_conn *a, const struct hk_conn *b)
{
	return b == NULL || a->cn_idle_us < b->cn_idle_us;
}

/*
 * The connection to evict for a new one: the one idle the longest, else
 * the one whose request has been arriving the longest, else one that was
 * accepted a moment ago and has sent nothing yet (a client whose request
 * is on its way: under load its bytes come well after the accept, and
 * evicting it before a dribbling request lost a whole request). NULL
 * when every connection has a request being handled or on its way.
 */
static struct hk_conn *
conns_victim(struct hk_conns *cs)
{
	struct hk_conn *c, *idle = NULL, *fresh = NULL, *slow = NULL;
	bufferevent_data_cb rcb;
	int64_t now = hk_mono_us();

	TAILQ_FOREACH(c, &cs->cs_list, cn_entry) {
		bufferevent_getcb(c->cn_bev, &rcb, NULL, NULL, NULL);
		if (c->cn_cut || rcb == NULL || !conns_reading(c))
			continue;
		if (c->cn_start_us == 0) {
			if (conns_unread(c))
				continue;
			if (!conns_fresh(c, now)) {
				if (conns_idler(c, idle))
					idle = c;
			} else if (conns_idler(c, fresh))
				fresh = c;
			continue;
		}
		if (slow == NULL || c->cn_start_us < slow->cn_start_us)
			slow = c;
	}
	return idle != NULL ? idle : slow != NULL ? slow : fresh;
}

/* Connections that count against the maximum. */
static size_t
conns_live(struct hk_conns *cs)
{
	return cs->cs_count - cs->cs_cut;
}

/*
 * Pauses accepting when the maximum is reached and no connection can
 * make room; resumes when one can.
 */
static void
conns_gate(struct hk_conns *cs)
{
	int full;

	if (cs->cs_lev == NULL)
		return;
	full = conns_live(cs) >= (size_t)cs->cs_max && conns_victim(cs) == NULL;
	if (!cs->cs_paused && full) {
		evconnlistener_disable(cs->cs_lev);
		cs->cs_paused = 1;
		log_warn("max_connections", "count=%zu", conns_live(cs));
	} else if (cs->cs_paused && !full) {
		evconnlistener_enable(cs->cs_lev);
		cs->cs_paused = 0;
	}
}

static void conns_adopt(evutil_socket_t, short, void *);
static void conns_release(struct hk_conns *, struct hk_conn *);

/* Frees C before evhttp has seen it. */
static void
conns_discard(struct hk_conn *c)
{
	if (c->cn_adopt != NULL)
		event_free(c->cn_adopt);
	if (c->cn_quiet != NULL)
		event_free(c->cn_quiet);
	if (c->cn_bev != NULL)
		bufferevent_free(c->cn_bev);
	free(c);
}

/*
 * A TLS connection's bufferevent, with a session of the listener's
 * current context. Out of memory it is NULL, and evhttp then makes a
 * plain one: the client's handshake is answered 400 and closed.
 */
static struct bufferevent *
conns_tls_bev(struct hk_conns *cs, struct event_base *base)
{
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = hk_tls_session(cs->cs_tls)) == NULL)
		return NULL;
	if ((bev = bufferevent_openssl_socket_new(base, -1, ssl,
	         BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* evhttp's bevcb: the bufferevent of a new connection. */
static struct bufferevent *
conns_bev(struct event_base *base, void *arg)
{
	struct hk_conns *cs = arg;
	struct hk_conn *c, *victim;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL; /* evhttp makes its own; it goes uncounted */
	c->cn_bev = cs->cs_tls != NULL ? conns_tls_bev(cs, base)
	                               : bufferevent_socket_new(base, -1, 0);
	c->cn_adopt = event_new(base, -1, 0, conns_adopt, c);
	c->cn_quiet = event_new(base, -1, 0, conns_quiet, c);
	if (c->cn_bev == NULL || c->cn_adopt == NULL || c->cn_quiet == NULL) {
		conns_discard(c);
		return NULL;
	}
	bufferevent_incref(c->cn_bev);
	c->cn_ref = 1;
	c->cn_owner = cs;
	c->cn_idle_us = hk_mono_us();
	if (cs->cs_tls != NULL)
		c->cn_start_us = c->cn_idle_us; /* the handshake counts */
	if (conns_live(cs) >= (size_t)cs->cs_max &&
	    (victim = conns_victim(cs)) != NULL)
		conns_cut(cs, victim, "connection_evicted");
	c->cn_incb =
	    evbuffer_add_cb(bufferevent_get_input(c->cn_bev), conns_input, c);
	c->cn_outcb =
	    evbuffer_add_cb(bufferevent_get_output(c->cn_bev), conns_output, c);
	TAILQ_INSERT_TAIL(&cs->cs_list, c, cn_entry);
	cs->cs_count++;
	event_active(c->cn_adopt, EV_TIMEOUT, 0);
	conns_gate(cs);
	return c->cn_bev;
}

/* Closes a lingering socket. */
static void
conns_linger_end(struct hk_linger *lg)
{
	TAILQ_REMOVE(&lg->lg_owner->cs_lingers, lg, lg_entry);
	lg->lg_owner->cs_nlinger--;
	event_free(lg->lg_ev);
	evutil_closesocket(lg->lg_fd);
	free(lg);
}

/* Discards what a lingering socket receives, until EOF or its time. */
static void
conns_linger_read(evutil_socket_t fd, short what, void *arg)
{
	struct hk_linger *lg = arg;
	char buf[16384];
	size_t total = 0;
	ssize_t n = 1;

	(void)what;
	while (total < CONNS_LINGER_PASS &&
	    (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		total += (size_t)n;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
	    hk_mono_us() >= lg->lg_until_us)
		conns_linger_end(lg);
}

/*
 * A connection closed with bytes unread (a body refused before it was
 * read: 413, or 404 for no webhook): closing its socket at once would
 * reset it, and a client still sending loses the answer it was sent.
 * Its socket (a dup: evhttp closes its own and has shut down writing,
 * so the client sees the answer and the end) is drained for a moment,
 * as httpd's and nginx's lingering close do; bounded in number and time.
 */
static void
conns_linger(struct hk_conns *cs, struct hk_conn *c)
{
	struct timeval tv = {0, 200000};
	struct hk_linger *lg;
	evutil_socket_t s = bufferevent_getfd(c->cn_bev);

	if (c->cn_cut || s == -1 || cs->cs_nlinger >= CONNS_LINGER_MAX ||
	    (!c->cn_linger && !conns_unread(c)) ||
	    (lg = calloc(1, sizeof(*lg))) == NULL)
		return;
	lg->lg_owner = cs;
	lg->lg_until_us = hk_mono_us() + CONNS_LINGER_US;
	if ((lg->lg_fd = dup(s)) == -1) {
		free(lg);
		return;
	}
	lg->lg_ev = event_new(cs->cs_base, lg->lg_fd, EV_READ | EV_PERSIST,
	    conns_linger_read, lg);
	if (lg->lg_ev == NULL || event_add(lg->lg_ev, &tv) != 0) {
		if (lg->lg_ev != NULL)
			event_free(lg->lg_ev);
		evutil_closesocket(lg->lg_fd);
		free(lg);
		return;
	}
	TAILQ_INSERT_TAIL(&cs->cs_lingers, lg, lg_entry);
	cs->cs_nlinger++;
}

/* evhttp is freeing the connection; its socket is still open. */
static void
conns_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hk_conn *c = arg;
	struct hk_conns *cs = c->cn_owner;

	(void)evcon;
	if (c->cn_close_cb != NULL)
		c->cn_close_cb(c->cn_close_arg);
	conns_linger(cs, c);
	conns_release(cs, c);
	conns_gate(cs);
}

/*
 * evhttp keeps one close callback per connection, and conn.c's must run:
 * others are chained here. CB(ARG) runs once, while evhttp frees the
 * connection (hookd stopping too); CB NULL forgets it.
 */
int
hk_conns_on_close(
    struct evhttp_connection *evcon, void (*cb)(void *), void *arg)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct hk_conn *c;
	size_t i;

	for (i = 0; i < HK_NELEM(conns_registry); i++) {
		if (conns_registry[i] == NULL)
			continue;
		TAILQ_FOREACH(c, &conns_registry[i]->cs_list, cn_entry)
			if (c->cn_bev == bev) {
				c->cn_close_cb = cb;
				c->cn_close_arg = arg;
				return 0;
			}
	}
	return -1;
}

/*
 * An OpenSSL bufferevent writes a response as several TLS records, one
 * send() each (headers, then body); Nagle's algorithm held the second
 * for the client's delayed ACK, 40 ms a request on a kept-alive
 * connection. nginx sets TCP_NODELAY on kept-alive connections too.
 */
static void
conns_nodelay(struct hk_conn *c)
{
	evutil_socket_t s = bufferevent_getfd(c->cn_bev);
	int one = 1;

	if (s != -1)
		(void)setsockopt(
		    s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * The loop runs again after the accept: the bufferevent's callback
 * argument is now evhttp's connection, whose close callback releases C.
 * Cleared callbacks mean evhttp already freed it (it failed at once).
 */
static void
conns_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct hk_conn *c = arg;
	bufferevent_data_cb rcb;
	bufferevent_event_cb ecb;
	void *evcon;

	(void)fd;
	(void)what;
	bufferevent_getcb(c->cn_bev, &rcb, NULL, &ecb, &evcon);
	if (rcb == NULL && ecb == NULL) {
		conns_release(c->cn_owner, c);
		return;
	}
	evhttp_connection_set_closecb(evcon, conns_closed, c);
	if (c->cn_owner->cs_tls != NULL)
		conns_nodelay(c);
	c->cn_ref = 0;
	bufferevent_decref(c->cn_bev); /* evhttp holds its own */
}

/* Forgets C, whose bufferevent evhttp is freeing or has freed. */
static void
conns_release(struct hk_conns *cs, struct hk_conn *c)
{
	TAILQ_REMOVE(&cs->cs_list, c, cn_entry);
	if (c->cn_incb != NULL)
		evbuffer_remove_cb_entry(
		    bufferevent_get_input(c->cn_bev), c->cn_incb);
	if (c->cn_outcb != NULL)
		evbuffer_remove_cb_entry(
		    bufferevent_get_output(c->cn_bev), c->cn_outcb);
	event_free(c->cn_adopt);
	event_free(c->cn_quiet);
	if (c->cn_ref)
		bufferevent_decref(c->cn_bev);
	if (c->cn_cut)
		cs->cs_cut--;
	free(c);
	cs->cs_count--;
}

/* The periodic sweep: cut overdue requests. */
static void
conns_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct hk_conns *cs = arg;
	struct hk_conn *c, *next;
	int64_t now = hk_mono_us();

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&cs->cs_list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, cn_entry);
		if (c->cn_cut || c->cn_start_us == 0 ||
		    now - c->cn_start_us < cs->cs_deadline_us ||
		    !conns_reading(c))
			continue;
		conns_cut(cs, c, "request_deadline");
	}
	conns_gate(cs);
}

/*
 * Out of descriptors: closes a few connections without work, of any
 * listener (idle public connections make room for an admin call,
 * proto/operation.md). Returns how many.
 */
static int
conns_evict_some(void)
{
	struct hk_conn *c;
	size_t i;
	int n = 0;

	for (i = 0; i < HK_NELEM(conns_registry); i++)
		while (conns_registry[i] != NULL && n < CONNS_EMFILE_EVICT &&
		    (c = conns_victim(conns_registry[i])) != NULL) {
			conns_cut(conns_registry[i], c, "connection_evicted");
			n++;
		}
	return n;
}

/*
 * Accept failed: out of descriptors (EMFILE, ENFILE), connections
 * without work are closed and accepting resumes as soon as they are
 * gone; otherwise, or with none to close, a pause of a second, as httpd
 * does, or the readable listener spins the loop. The callback's argument
 * is evhttp's, so the listener is found in the registry.
 */
static void
conns_accept_error(struct evconnlistener *lev, void *arg)
{
	struct hk_conns *cs = NULL;
	struct timeval tv = {1, 0};
	int err = errno;
	size_t i;

	(void)arg;
	for (i = 0; i < HK_NELEM(conns_registry); i++)
		if (conns_registry[i] != NULL &&
		    conns_registry[i]->cs_lev == lev)
			cs = conns_registry[i];
	if (cs == NULL)
		return;
	log_warn("accept", "error=%s", hk_logq(strerror(err)));
	if ((err == EMFILE || err == ENFILE) && conns_evict_some() > 0) {
		tv.tv_sec = 0;
		tv.tv_usec = CONNS_EMFILE_PAUSE_US;
	}
	evconnlistener_disable(lev);
	evtimer_add(cs->cs_resume, &tv);
}

/* The pause after an accept error is over. */
static void
conns_resume(evutil_socket_t fd, short what, void *arg)
{
	struct hk_conns *cs = arg;

	(void)fd;
	(void)what;
	if (!cs->cs_paused && cs->cs_lev != NULL)
		evconnlistener_enable(cs->cs_lev);
}

struct hk_conns *
hk_conns_new(struct event_base *base, struct evhttp *http, int64_t max,
    int64_t deadline_ms)
{
	struct hk_conns *cs;
	struct timeval tv = {0, CONNS_SWEEP_US};

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	cs->cs_base = base;
	cs->cs_max = max;
	cs->cs_deadline_us = deadline_ms * 1000;
	TAILQ_INIT(&cs->cs_list);
	TAILQ_INIT(&cs->cs_lingers);
	cs->cs_sweep = event_new(base, -1, EV_PERSIST, conns_sweep, cs);
	cs->cs_resume = evtimer_new(base, conns_resume, cs);
	if (cs->cs_sweep == NULL || cs->cs_resume == NULL) {
		hk_conns_free(cs);
		return NULL;
	}
	event_add(cs->cs_sweep, &tv);
	evhttp_set_bevcb(http, conns_bev, cs);
	return cs;
}

void
hk_conns_set_tls(struct hk_conns *cs, struct hk_tls *tls)
{
	cs->cs_tls = tls;
}

void
hk_conns_set_listener(struct hk_conns *cs, struct evconnlistener *lev)
{
	size_t i;

	cs->cs_lev = lev;
	if (lev == NULL)
		return; /* closing: evhttp_free() frees the listener */
	for (i = 0; i < HK_NELEM(conns_registry); i++)
		if (conns_registry[i] == NULL) {
			conns_registry[i] = cs;
			evconnlistener_set_error_cb(lev, conns_accept_error);
			break;
		}
}

size_t
hk_conns_count(struct hk_conns *cs)
{
	return cs->cs_count;
}

void
hk_conns_linger(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct hk_conn *c;
	size_t i;

	for (i = 0; i < HK_NELEM(conns_registry); i++)
		if (conns_registry[i] != NULL)
			TAILQ_FOREACH(c, &conns_registry[i]->cs_list, cn_entry)
				if (c->cn_bev == bev) {
					c->cn_linger = 1;
					return;
				}
}

/*
 * Stopping (proto/operation.md): a connection has work while a request arrives, is
 * handled or answered, bytes wait unread, or it was accepted a moment
 * ago and may be sending one; the others are closed.
 */
size_t
hk_conns_drain(struct hk_conns *cs)
{
	struct hk_conn *c, *next;
	bufferevent_data_cb rcb;
	int64_t now = hk_mono_us();
	size_t busy = 0;

	for (c = TAILQ_FIRST(&cs->cs_list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, cn_entry);
		if (c->cn_cut)
			continue;
		bufferevent_getcb(c->cn_bev, &rcb, NULL, NULL, NULL);
		if (rcb == NULL || !conns_reading(c) || c->cn_start_us != 0 ||
		    conns_unread(c) || conns_fresh(c, now))
			busy++;
		else
			conns_cut(cs, c, NULL);
	}
	return busy;
}

void
hk_conns_free(struct hk_conns *cs)
{
	struct hk_conn *c;

	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < HK_NELEM(conns_registry); i++)
		if (conns_registry[i] == cs)
			conns_registry[i] = NULL;
	/* Called after evhttp_free(), whose close callbacks released all. */
	while ((c = TAILQ_FIRST(&cs->cs_list)) != NULL)
		conns_release(cs, c);
	while (!TAILQ_EMPTY(&cs->cs_lingers))
		conns_linger_end(TAILQ_FIRST(&cs->cs_lingers));
	if (cs->cs_sweep != NULL)
		event_free(cs->cs_sweep);
	if (cs->cs_resume != NULL)
		event_free(cs->cs_resume);
	free(cs);
}
