/*
 * http.c: the listeners (evhttp on TCP or a Unix socket) and JSON replies.
 *
 * Both listeners are evhttp servers on the one event base, with header
 * and body limits, an idle timeout and the connection bounds of conn.c.
 * A body over the limit is answered 413 from its Content-Length, before
 * it is read. evhttp's lingering close (drain the body, then answer) is
 * not used: in libevent 2.1.12 it never answers a second request of a
 * keep-alive connection, and it makes a client wait for its whole body
 * to be drained. conn.c answers first and drains after (for a moment).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "hk.h"
#include "hookd.h"
#include "json.h"

#define HTTP_BACKLOG 1024
#define HTTP_LISTENERS 4

/* The per-request hooks of each listener, found by its evhttp. */
static struct http_hooks {
	struct evhttp *hh_http;
	void (*hh_headers)(struct evhttp_request *);
	void (*hh_too_large)(struct evhttp_request *, const char *);
} http_hooks[HTTP_LISTENERS];

/*
 * evhttp frees a request's URI before it answers a body over the limit,
 * so the path is kept, for that answer, in an output header of the
 * request: freed with it, and removed before any response is sent.
 */
#define HTTP_STASH "X-Hookd-Path"

/* Removes the stashed path from REQ's output headers. */
static void
http_unstash(struct evhttp_request *req)
{
	evhttp_remove_header(
	    evhttp_request_get_output_headers(req), HTTP_STASH);
}

/*
 * The hooks of the listener a server request arrived on: evhttp makes
 * each with evhttp_request_new(its handler, the evhttp), so cb_arg names
 * the listener. NULL for none.
 */
static const struct http_hooks *
http_hooks_of(void *http)
{
	size_t i;

	for (i = 0; i < HK_NELEM(http_hooks); i++)
		if (http != NULL && http_hooks[i].hh_http == http)
			return &http_hooks[i];
	return NULL;
}

/* evhttp has read a request's headers and not yet looked at its body. */
static int
http_headers_read(struct evhttp_request *req, void *arg)
{
	const struct http_hooks *hh = http_hooks_of(arg);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (hh == NULL)
		return 0;
	if (hh->hh_too_large != NULL && path != NULL)
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), HTTP_STASH, path);
	if (hh->hh_headers != NULL)
		hh->hh_headers(req);
	return 0;
}

/*
 * evhttp 2.1 has no server-side hook between a request's headers and its
 * body, where the body limit of the route must be set (proto/operation.md: a path
 * that names no webhook is refused before its body is read, and before
 * a 100 Continue). Each request has a header callback, called in
 * evhttp_read_header() before evhttp_get_body() for server requests too;
 * evhttp makes its server requests through this exported function (via
 * the PLT), so this definition interposes on it and sets that callback
 * on the requests of a listener with hooks.
 */
struct evhttp_request *
evhttp_request_new(void (*cb)(struct evhttp_request *, void *), void *arg)
{
	static struct evhttp_request *(*real)(
	    void (*)(struct evhttp_request *, void *), void *);
	struct evhttp_request *req;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "evhttp_request_new");
	if (real == NULL)
		abort(); /* libevent is linked: cannot happen */
	req = real(cb, arg);
	if (req != NULL && http_hooks_of(arg) != NULL)
		evhttp_request_set_header_cb(req, http_headers_read);
	return req;
}

const char *
hk_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

void
hk_http_reply(struct evhttp_request *req, int status, const struct hk_buf *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	http_unstash(req);
	/* Stopping: every answer ends its connection. */
	if (hd->hd_stopping && evhttp_find_header(h, "Connection") == NULL)
		evhttp_add_header(h, "Connection", "close");
	if (b != NULL) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(
		    evhttp_request_get_output_buffer(req), b->b, b->len);
	}
	evhttp_send_reply(req, status, hk_http_reason(status), NULL);
}

void
hk_http_error(struct evhttp_request *req, int status, const char *code,
    const char *fmt, ...)
{
	struct hk_buf b = HK_BUF_INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (hk_buf_adds(&b, "{\"error\":{\"code\":") ||
	    hk_buf_add_jsonstr(&b, code) || hk_buf_adds(&b, ",\"message\":") ||
	    hk_buf_add_jsonstr(&b, msg) || hk_buf_adds(&b, "}}\n")) {
		hk_buf_free(&b);
		evhttp_send_reply(req, status, hk_http_reason(status), NULL);
		return;
	}
	hk_http_reply(req, status, &b);
	hk_buf_free(&b);
}

void
hk_http_json(struct evhttp_request *req, int status, cJSON *j)
{
	struct hk_buf b = HK_BUF_INIT;
	char *s;

	s = hk_json_text(j);
	cJSON_Delete(j);
	if (s == NULL) {
		hk_http_error(req, 500, "internal", "out of memory");
		return;
	}
	b.b = s;
	b.len = strlen(s);
	b.cap = b.len + 1;
	hk_buf_addc(&b, '\n');
	hk_http_reply(req, status, &b);
	hk_buf_free(&b);
}

const char *
hk_http_peer(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(
	    buf, len, "%s", addr != NULL && *addr != '\0' ? addr : "local");
	return buf;
}

/*
 * Whether S is an RFC 9110 token: evhttp keeps a space or tab before a
 * header's colon in its name, so "Transfer-Encoding : chunked" would be
 * ignored and the body framed by Content-Length instead.
 */
static int
http_token(const char *s)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(tchar, *s) == NULL)
			return 0;
	return 1;
}

/* What is wrong with the framing of REQ's headers, or NULL. */
static const char *
http_framing_error(struct evhttp_request *req)
{
	struct evkeyvalq *q = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	int ncl = 0, nhost = 0, te = 0;
	size_t n;

	TAILQ_FOREACH(kv, q, next) {
		n = strlen(kv->key);
		if (!http_token(kv->key))
			return "a header name that is not a token";
		if (n == 14 && strcasecmp(kv->key, "Content-Length") == 0 &&
		    ++ncl > 1)
			return "more than one Content-Length";
		if (n == 4 && strcasecmp(kv->key, "Host") == 0)
			nhost++;
		if (n == 17 && strcasecmp(kv->key, "Transfer-Encoding") == 0) {
			te = 1;
			if (strcasecmp(kv->value, "chunked") != 0)
				return "the only transfer coding accepted is chunked";
		}
	}
	if (te && req->major == 1 && req->minor == 0)
		return "HTTP/1.0 has no chunked transfer coding";
	if (nhost > 1)
		return "more than one Host";
	if (nhost == 0 && req->major == 1 && req->minor >= 1)
		return "HTTP/1.1 needs a Host header";
	return NULL;
}

/* Refuses (400, Connection: close) doubtful framing; 0 or -1. */
static int
http_framing(struct evhttp_request *req)
{
	const char *msg;

	if ((msg = http_framing_error(req)) == NULL)
		return 0;
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Connection", "close");
	hk_http_error(req, 400, "bad_request", "%s", msg);
	return -1;
}

const char *
hk_http_begin(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	http_unstash(req);
	if (path == NULL) {
		hk_http_error(req, 400, "bad_request", "malformed request URI");
		return NULL;
	}
	if (http_framing(req) != 0 || hk_health(req, path))
		return NULL;
	return path;
}

/* Set when http_strtoll refused a number evhttp asked it to read. */
static int http_number_refused;

/*
 * evhttp reads Content-Length (base 10) and chunk sizes (base 16) with
 * evutil_strtoll(), which is strtoll(): it takes leading space, a sign
 * and, in base 16, a 0x prefix, so "+14" and "0x1c" were lengths. This
 * definition interposes on libevent's exported one (evhttp calls it
 * through the PLT) and reads digits only; evhttp then finds the rest of
 * the field unread and refuses the request (400).
 */
ev_int64_t
evutil_strtoll(const char *s, char **endptr, int base)
{
	const char *p;
	uint64_t v = 0;
	int d, over = 0;

	while (*s == ' ' || *s == '\t') /* OWS evhttp left before a value */
		s++;
	for (p = s;; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = tolower((unsigned char)*p) - 'a' + 10;
		else
			break;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)d) / (uint64_t)base)
			over = 1;
		else
			v = v * (uint64_t)base + (uint64_t)d;
	}
	/*
	 * A chunk extension (RFC 9112 §7.1.1) follows a ';': evhttp 2.1
	 * refuses any, so it is shown the end of the line there instead.
	 */
	if (base == 16 && p != s && *p == ';')
		p = "";
	if (endptr != NULL)
		*endptr = (char *)(uintptr_t)p;
	if (p == s || (*p != '\0' && *p != ' '))
		http_number_refused = 1;
	if (over) {
		errno = ERANGE;
		return INT64_MAX;
	}
	return (ev_int64_t)v;
}

/*
 * evhttp answers some errors itself (an unparsable request, a body over
 * the limit, an unknown method, a bad Expect) through evhttp_send_error(),
 * with an HTML page that libevent 2.1 offers no hook to change. This
 * definition interposes on libevent's exported one (its internal calls go
 * through the PLT), so those answers carry the JSON error body of proto/http.md
 * like every other. It must keep the original's effects: the status, and
 * Connection: close.
 */
void
evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
	const char *code = "bad_request", *msg = "malformed request";
	const struct http_hooks *hh = NULL;
	char *path = NULL;
	const char *p;

	(void)reason;
	if (error == 413 && req->chunked && http_number_refused)
		error = 400; /* a chunk size that is not one: "too long" */
	http_number_refused = 0;
	switch (error) {
	case 413:
		/*
		 * evhttp says 413 for headers over the limit too; then it has
		 * not looked for a body yet.
		 */
		if (req->ntoread == 0 && req->body_size == 0 && !req->chunked) {
			error = 431;
			code = "bad_request";
			msg = "request headers exceed the limit";
		} else {
			code = "payload_too_large";
			msg = "request body exceeds the limit";
			hh = http_hooks_of(req->cb_arg);
			if (req->evcon != NULL)
				hk_conns_linger(req->evcon);
		}
		break;
	case 501: /* a method evhttp does not know: as proto/http.md's 405 */
		error = 405;
		/* FALLTHROUGH */
	case 405:
		code = "method_not_allowed";
		msg = "method not supported";
		break;
	case 503:
		code = "unavailable";
		msg = "unavailable";
		break;
	}
	/* A request line evhttp could not parse has no version yet. */
	if (req->major == 0) {
		req->major = 1;
		req->minor = 1;
	}
	if (hh != NULL &&
	    (p = evhttp_find_header(
	         evhttp_request_get_output_headers(req), HTTP_STASH)) != NULL)
		path = strdup(p);
	evhttp_clear_headers(evhttp_request_get_output_headers(req));
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Connection", "close");
	if (path != NULL && hh->hh_too_large != NULL)
		hh->hh_too_large(req, path); /* the route's answer and log */
	else
		hk_http_error(req, error, code, "%s", msg);
	free(path);
}

/* Binds a Unix socket at PATH (replacing a stale one), mode 0600. */
static int
http_unix_socket(const char *path, char **cause)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (asprintf(cause, "%s: path too long", path) == -1)
			*cause = NULL;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(
	         AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
		*cause = NULL;
	return -1;
}

/* Binds host:port (or [v6]:port); the actual address goes to OUT. */
static int
http_tcp_socket(const char *spec, char *out, size_t outlen, char **cause)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], serv[16], nh[INET6_ADDRSTRLEN];
	const char *colon;
	int fd = -1, one = 1, rc;

	colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec ||
	    strlen(colon + 1) >= sizeof(serv) ||
	    (size_t)(colon - spec) >= sizeof(host)) {
		if (asprintf(cause, "%s: want host:port or unix:/path", spec) ==
		    -1)
			*cause = NULL;
		return -1;
	}
	if (spec[0] == '[' && colon[-1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 2),
		    spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	snprintf(serv, sizeof(serv), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		if (asprintf(cause, "%s: %s", spec, gai_strerror(rc)) == -1)
			*cause = NULL;
		return -1;
	}
	fd = socket(res->ai_family,
	    res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		if (asprintf(cause, "%s: %s", spec, strerror(errno)) == -1)
			*cause = NULL;
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    nh, sizeof(nh));
		snprintf(out, outlen, "[%s]:%u", nh,
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, nh,
		    sizeof(nh));
		snprintf(out, outlen, "%s:%u", nh,
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	return fd;
}

/* Registers the per-request hooks of LC for the listener HTTP. */
static void
http_hooks_add(struct evhttp *http, const struct hk_listen_conf *lc)
{
	size_t i;

	if (lc->lc_headers == NULL && lc->lc_too_large == NULL)
		return;
	for (i = 0; i < HK_NELEM(http_hooks); i++)
		if (http_hooks[i].hh_http == NULL) {
			http_hooks[i].hh_http = http;
			http_hooks[i].hh_headers = lc->lc_headers;
			http_hooks[i].hh_too_large = lc->lc_too_large;
			return;
		}
}

/* Forgets the hooks of HTTP, about to be freed. */
static void
http_hooks_del(struct evhttp *http)
{
	size_t i;

	for (i = 0; i < HK_NELEM(http_hooks); i++)
		if (http_hooks[i].hh_http == http)
			memset(&http_hooks[i], 0, sizeof(http_hooks[i]));
}

int
hk_listen(struct hk_listener *ls, struct event_base *base, const char *spec,
    const struct hk_listen_conf *lc,
    void (*cb)(struct evhttp_request *, void *), void *arg, char **cause)
{
	struct timeval idle;
	int fd;

	memset(ls, 0, sizeof(*ls));
	*cause = NULL;
	if (strncmp(spec, "unix:", 5) == 0) {
		if ((fd = http_unix_socket(spec + 5, cause)) == -1)
			return -1;
		if ((ls->ls_unix_path = strdup(spec + 5)) == NULL) {
			close(fd);
			return -1;
		}
		snprintf(ls->ls_addr, sizeof(ls->ls_addr), "%s", spec);
	} else if ((fd = http_tcp_socket(
	                spec, ls->ls_addr, sizeof(ls->ls_addr), cause)) == -1)
		return -1;
	if ((ls->ls_http = evhttp_new(base)) == NULL)
		goto fail;
	ls->ls_lev = evconnlistener_new(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, HTTP_BACKLOG, fd);
	if (ls->ls_lev == NULL)
		goto fail;
	fd = -1; /* the listener owns it */
	ls->ls_conns = hk_conns_new(
	    base, ls->ls_http, lc->lc_max_conns, lc->lc_deadline_ms);
	if (ls->ls_conns == NULL)
		goto fail;
	hk_conns_set_tls(ls->ls_conns, lc->lc_tls);
	ls->ls_tls = lc->lc_tls != NULL;
	evhttp_set_max_headers_size(ls->ls_http, lc->lc_max_headers);
	evhttp_set_max_body_size(ls->ls_http, lc->lc_max_body);
	idle.tv_sec = lc->lc_idle_ms / 1000;
	idle.tv_usec = (lc->lc_idle_ms % 1000) * 1000;
	evhttp_set_timeout_tv(ls->ls_http, &idle);
	/* Every method reaches the handlers, which answer 405 themselves. */
	evhttp_set_allowed_methods(ls->ls_http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	        EVHTTP_REQ_PATCH);
	evhttp_set_gencb(ls->ls_http, cb, arg);
	http_hooks_add(ls->ls_http, lc);
	if ((ls->ls_bound = evhttp_bind_listener(ls->ls_http, ls->ls_lev)) ==
	    NULL)
		goto fail;
	hk_conns_set_listener(ls->ls_conns, ls->ls_lev);
	return 0;
fail:
	if (*cause == NULL && asprintf(cause, "%s: cannot listen", spec) == -1)
		*cause = NULL;
	if (fd != -1)
		close(fd);
	if (ls->ls_lev != NULL && ls->ls_http == NULL)
		evconnlistener_free(ls->ls_lev);
	hk_listen_close(ls);
	return -1;
}

/*
 * Closing the socket, not only no longer accepting, refuses new clients
 * at once (they can try another instance) instead of leaving them in the
 * backlog until exit.
 */
void
hk_listen_pause(struct hk_listener *ls)
{
	if (ls->ls_bound == NULL)
		return;
	if (ls->ls_conns != NULL)
		hk_conns_set_listener(ls->ls_conns, NULL);
	evhttp_del_accept_socket(ls->ls_http, ls->ls_bound);
	ls->ls_bound = NULL;
	ls->ls_lev = NULL;
}

void
hk_listen_close(struct hk_listener *ls)
{
	/* evhttp_free frees the bound listener and every connection. */
	if (ls->ls_conns != NULL)
		hk_conns_set_listener(ls->ls_conns, NULL);
	if (ls->ls_http != NULL) {
		http_hooks_del(ls->ls_http);
		evhttp_free(ls->ls_http);
	}
	ls->ls_http = NULL;
	ls->ls_lev = NULL;
	ls->ls_bound = NULL;
	hk_conns_free(ls->ls_conns);
	ls->ls_conns = NULL;
	if (ls->ls_unix_path != NULL) {
		unlink(ls->ls_unix_path);
		free(ls->ls_unix_path);
		ls->ls_unix_path = NULL;
	}
}

void
hk_http_unavailable(struct evhttp_request *req, int rc)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
	    rc == HK_ESHUTDOWN ? "10" : "5");
	hk_http_error(
	    req, 503, "unavailable", "%s", hk_http_unavailable_why(rc));
}

const char *
hk_http_unavailable_why(int rc)
{
	return rc == HK_EFULL
	    ? "the store is full; nothing accepted is lost, retry later"
	    : rc == HK_ESHUTDOWN ? "hookd is shutting down"
	    : rc == HK_EIO
	    ? "the store refused a write or cannot be reached; nothing accepted is lost, retry later"
	    : hk_strerror(rc);
}
