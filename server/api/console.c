/*
 * console.c: the operator console of proto/console.md on the admin listener.
 *
 * Its HTML, CSS and JavaScript are compiled into hookd (scripts/embed
 * writes them into hk_console_files), so a plain binary serves the
 * console offline, with nothing on disk to go stale. They are served
 * without the admin token: they hold no data, and every /api call the
 * page makes sends the token itself.
 *
 * GET /api/stream (with the token) is the live view's feed: a chunked
 * text/event-stream answer that stays open, one "event" message per
 * committed event and one "delivery" message per committed outcome. A
 * stream that falls behind (its unsent bytes past STREAM_BACKLOG) is
 * ended rather than buffered without bound; the page reconnects.
 *
 * Each message has an id, this process's start time and a sequence
 * number, and the last STREAM_RING messages (STREAM_RING_BYTES at most)
 * are kept, so a reader that reconnects with Last-Event-ID gets what it
 * missed. One whose id is not in the ring (too old, or another process's)
 * gets a "gap" message instead: it reloads what it shows. Messages are
 * made and kept only while a stream is open and for STREAM_KEEP_MS after
 * the last one closed (a reader reconnects within seconds); otherwise
 * they are only counted, which keeps ids honest and costs nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"

/* The page loads nothing from elsewhere: scripts, styles, images, fetch. */
#define CONSOLE_CSP "default-src 'self'"
/* Unsent bytes after which a slow stream is ended. */
#define STREAM_BACKLOG (1024 * 1024)
/* A comment this often keeps idle timeouts and proxies from closing it. */
#define STREAM_PING_S 15
/* The first bytes: a comment, and the page's reconnection delay. */
#define STREAM_HELLO ": hookd\nretry: 3000\n\n"

struct stream {
	struct evhttp_request *st_req;
	struct evhttp_connection *st_evcon;
	TAILQ_ENTRY(stream) st_entry;
};

static TAILQ_HEAD(, stream) streams = TAILQ_HEAD_INITIALIZER(streams);
static size_t nstreams;
static struct event *stream_ping_ev;

/* Messages kept for readers that reconnect, by count and by bytes. */
#define STREAM_RING 1024
#define STREAM_RING_BYTES (STREAM_BACKLOG / 2) /* a replay fits */
#define STREAM_KEEP_MS 60000
#define STREAM_GAP "event: gap\ndata: {}\n\n"

struct stream_msg {
	uint64_t sm_seq;
	char *sm_text;
	size_t sm_len;
};

/* Oldest first from m[head]; sequence numbers rise by one or more. */
static struct {
	struct stream_msg m[STREAM_RING];
	size_t head, n, bytes;
	uint64_t next; /* the last message's sequence number */
	int64_t epoch; /* this process's start (ms): ids of another differ */
	int64_t keep_until; /* wall ms: messages are kept until then */
	int paused; /* messages were counted, not kept: the ring has a hole */
} ring;

static void stream_ring_drop(void);

/* Whether messages are made now; if not, the next one is counted. */
static int
stream_recording(void)
{
	if (nstreams > 0 || hk_now_ms() < ring.keep_until) {
		/* What is kept runs on without a hole, or starts afresh. */
		while (ring.paused && ring.n > 0)
			stream_ring_drop();
		ring.paused = 0;
		return 1;
	}
	ring.next++;
	ring.paused = 1;
	return 0;
}

/* The file served at PATH ("/" is the page itself), or NULL. */
static const struct hk_console_file *
console_find(const char *path)
{
	const struct hk_console_file *f;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (f = hk_console_files; f->cf_path != NULL; f++)
		if (strcmp(f->cf_path, path) == 0)
			return f;
	return NULL;
}

/* Whether the client's If-None-Match names the file's current ETag. */
static int
console_fresh(struct evhttp_request *req, const struct hk_console_file *f)
{
	const char *inm = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "If-None-Match");

	return inm != NULL &&
	    (strcmp(inm, "*") == 0 || strstr(inm, f->cf_etag) != NULL);
}

int
hk_console_serve(struct evhttp_request *req, const char *path)
{
	const struct hk_console_file *f = console_find(path);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (f == NULL)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		hk_admin_405(req, "GET, HEAD");
		return 1;
	}
	evhttp_add_header(h, "Content-Security-Policy", CONSOLE_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	/* Revalidated each time: a new hookd binary brings new files. */
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "ETag", f->cf_etag);
	if (console_fresh(req, f)) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return 1;
	}
	evhttp_add_header(h, "Content-Type", f->cf_type);
	evbuffer_add_reference(evhttp_request_get_output_buffer(req),
	    f->cf_data, f->cf_len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
	return 1;
}

/* Forgets S (its connection is closing or closed) and frees it. */
static void
stream_drop(struct stream *s)
{
	TAILQ_REMOVE(&streams, s, st_entry);
	if (--nstreams == 0)
		ring.keep_until = hk_now_ms() + STREAM_KEEP_MS;
	hk_conns_on_close(s->st_evcon, NULL, NULL);
	free(s);
	if (nstreams == 0 && stream_ping_ev != NULL) {
		event_free(stream_ping_ev);
		stream_ping_ev = NULL;
	}
}

/* The connection closes: the client went away or hookd is stopping. */
static void
stream_closed(void *arg)
{
	struct stream *s = arg;
	struct evhttp_request *req = s->st_req;

	stream_drop(s);
	/*
	 * A client that left mid-answer: evhttp let go of the request and
	 * leaves it to us to free. One still on the connection (hookd is
	 * stopping) goes with the connection.
	 */
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* Ends S's answer cleanly (the last chunk) and forgets it. */
static void
stream_end(struct stream *s)
{
	struct evhttp_request *req = s->st_req;

	stream_drop(s);
	evhttp_send_reply_end(req);
}

/* Sends TEXT on S; ends S when it fell too far behind. 0, or -1 if ended. */
static int
stream_write(struct stream *s, const char *text, size_t len)
{
	struct bufferevent *bev =
	    evhttp_connection_get_bufferevent(s->st_evcon);
	struct evbuffer *eb;

	if (bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > STREAM_BACKLOG) {
		log_warn("stream_behind", "streams=%zu", nstreams - 1);
		stream_end(s);
		return -1;
	}
	if ((eb = evbuffer_new()) == NULL || evbuffer_add(eb, text, len) != 0) {
		if (eb != NULL)
			evbuffer_free(eb);
		stream_end(s);
		return -1;
	}
	evhttp_send_reply_chunk(s->st_req, eb);
	evbuffer_free(eb);
	return 0;
}

/* Sends TEXT to every stream. */
static void
stream_send(const char *text, size_t len)
{
	struct stream *s, *next;

	for (s = TAILQ_FIRST(&streams); s != NULL; s = next) {
		next = TAILQ_NEXT(s, st_entry);
		stream_write(s, text, len);
	}
}

static void
stream_ring_drop(void)
{
	struct stream_msg *m = &ring.m[ring.head];

	ring.bytes -= m->sm_len;
	free(m->sm_text);
	m->sm_text = NULL;
	ring.head = (ring.head + 1) % STREAM_RING;
	ring.n--;
}

/*
 * Sends message TYPE with DATA (LEN bytes of one-line JSON) to every
 * stream under the next id, and keeps it for readers that reconnect.
 */
static void
stream_publish(const char *type, const char *data, size_t len)
{
	struct hk_buf b = HK_BUF_INIT;
	struct stream_msg *m;

	if (ring.epoch == 0)
		ring.epoch = hd->hd_started_ms;
	if (hk_buf_printf(&b, "id: %" PRId64 ".%" PRIu64 "\nevent: %s\ndata: ",
	        ring.epoch, ++ring.next, type) != 0 ||
	    hk_buf_add(&b, data, len) != 0 || hk_buf_adds(&b, "\n\n") != 0) {
		hk_buf_free(&b);
		return;
	}
	stream_send(b.b, b.len);
	while (ring.n > 0 &&
	    (ring.n == STREAM_RING || ring.bytes + b.len > STREAM_RING_BYTES))
		stream_ring_drop();
	if (b.len > STREAM_RING_BYTES) {
		hk_buf_free(&b);
		return;
	}
	m = &ring.m[(ring.head + ring.n) % STREAM_RING];
	m->sm_seq = ring.next;
	m->sm_len = b.len;
	m->sm_text = b.b; /* the ring owns it now */
	ring.bytes += b.len;
	ring.n++;
}

/*
 * A reader back with Last-Event-ID ID: what it missed, or a gap when
 * the ring no longer holds (or never held) the message after ID.
 */
static void
stream_resume(struct stream *s, const char *id)
{
	uint64_t seq, first;
	int64_t epoch;
	size_t i;
	int n = -1;

	if (sscanf(id, "%" SCNd64 ".%" SCNu64 "%n", &epoch, &seq, &n) != 2 ||
	    n != (int)strlen(id) || epoch != ring.epoch || seq > ring.next) {
		stream_write(s, STREAM_GAP, strlen(STREAM_GAP));
		return;
	}
	first = ring.n > 0 ? ring.m[ring.head].sm_seq : ring.next + 1;
	if (seq + 1 < first) {
		stream_write(s, STREAM_GAP, strlen(STREAM_GAP));
		return;
	}
	for (i = 0; i < ring.n; i++) {
		const struct stream_msg *m =
		    &ring.m[(ring.head + i) % STREAM_RING];

		if (m->sm_seq > seq &&
		    stream_write(s, m->sm_text, m->sm_len) != 0)
			return;
	}
}

/* The periodic comment line of every stream. */
static void
stream_ping(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	stream_send(": ping\n\n", strlen(": ping\n\n"));
}

/* Sends one SSE message: "event: TYPE" and the JSON J as its data. */
static void
stream_message(const char *type, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	/* Unformatted JSON has no newline: one data line is the message. */
	if (s != NULL)
		stream_publish(type, s, strlen(s));
	cJSON_free(s);
}

void
hk_stream_request(struct evhttp_request *req)
{
	struct timeval tv = {STREAM_PING_S, 0};
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *last;
	struct stream *s;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		hk_admin_405(req, "GET");
		return;
	}
	if ((int64_t)nstreams >= hd->hd_conf.cf_max_streams) {
		evhttp_add_header(h, "Retry-After", "10");
		hk_http_error(req, 503, "unavailable",
		    "%zu streams are open (--max-streams)", nstreams);
		return;
	}
	if (stream_ping_ev == NULL &&
	    ((stream_ping_ev = event_new(
	          hd->hd_base, -1, EV_PERSIST, stream_ping, NULL)) == NULL ||
	        event_add(stream_ping_ev, &tv) != 0)) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		if (nstreams == 0) {
			event_free(stream_ping_ev);
			stream_ping_ev = NULL;
		}
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	s->st_req = req;
	s->st_evcon = evhttp_request_get_connection(req);
	TAILQ_INSERT_TAIL(&streams, s, st_entry);
	nstreams++;
	if (hk_conns_on_close(s->st_evcon, stream_closed, s) != 0) {
		stream_drop(s);
		hk_http_error(req, 500, "internal", "connection not tracked");
		return;
	}
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(req, 200, "OK");
	if (stream_write(s, STREAM_HELLO, strlen(STREAM_HELLO)) == 0 &&
	    (last = evhttp_find_header(evhttp_request_get_input_headers(req),
	         "Last-Event-ID")) != NULL)
		stream_resume(s, last);
}

void
hk_stream_event(const char *env, size_t len)
{
	static const char key[] = ",\"payload\":";
	struct hk_buf b = HK_BUF_INIT;
	const char *p;

	if (!stream_recording())
		return;
	/*
	 * The payload may be a megabyte and is the envelope's last member
	 * (env.h): the message is everything before it, never parsed. A
	 * JSON string cannot hold a bare quote, so the first match is it.
	 */
	if ((p = memmem(env, len, key, sizeof(key) - 1)) == NULL)
		return;
	if (hk_buf_add(&b, env, (size_t)(p - env)) == 0 &&
	    hk_buf_addc(&b, '}') == 0)
		stream_publish("event", b.b, b.len);
	hk_buf_free(&b);
}

void
hk_stream_outcome(const char *dlv, const char *evt, const char *sub,
    enum hk_dstate state, const char *attempt)
{
	cJSON *j, *a;

	if (!stream_recording() || (j = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(j, "delivery", dlv);
	cJSON_AddStringToObject(j, "event", evt);
	cJSON_AddStringToObject(j, "subscription", sub);
	cJSON_AddStringToObject(j, "status", hk_dstate_name(state));
	if (attempt != NULL && (a = cJSON_Parse(attempt)) != NULL)
		cJSON_AddItemToObject(j, "attempt", a);
	stream_message("delivery", j);
	cJSON_Delete(j);
}

void
hk_stream_free(void)
{
	while (ring.n > 0)
		stream_ring_drop();
}
