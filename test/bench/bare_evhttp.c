/*
 * bare_evhttp.c: the ceiling of the HTTP library hookd uses.
 *
 * One thread, one libevent evhttp server on the address given (host:port,
 * port 0 for one the kernel picks), answering every POST with 202 and a
 * small JSON body, and anything else with 405. Nothing is parsed, checked
 * or stored: evhttp reads the request and its body, the callback answers.
 * The bound address is printed on stdout ("listening 127.0.0.1:NNNN");
 * SIGTERM or SIGINT ends it with status 0. scripts/bench-ingest builds
 * and runs it next to hookd.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#define BARE_BODY "{\"status\":\"accepted\"}\n"
#define BARE_MAX_BODY (1024 * 1024)
#define BARE_MAX_HEADERS (16 * 1024)

static void
bare_request(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(h, "Allow", "POST");
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(out, BARE_BODY, sizeof(BARE_BODY) - 1);
	evhttp_send_reply(req, 202, "Accepted", NULL);
}

static void
bare_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* Splits HOST:PORT (or a bare PORT) into HOST and PORT; -1 if malformed. */
static int
bare_addr(char *spec, const char **host, unsigned short *port)
{
	char *colon, *end;
	unsigned long p;

	*host = "127.0.0.1";
	if ((colon = strrchr(spec, ':')) != NULL) {
		*colon = '\0';
		if (*spec != '\0')
			*host = spec;
		spec = colon + 1;
	}
	p = strtoul(spec, &end, 10);
	if (*spec == '\0' || *end != '\0' || p > 65535)
		return -1;
	*port = (unsigned short)p;
	return 0;
}

int
main(int argc, char **argv)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	struct event_base *base;
	struct event *sterm, *sint;
	struct evhttp *http;
	socklen_t sl = sizeof(ss);
	char name[INET6_ADDRSTRLEN];
	unsigned short port;
	const char *host;

	if (argc != 2 || bare_addr(argv[1], &host, &port) != 0) {
		fprintf(stderr, "usage: bare_evhttp host:port\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL ||
	    (http = evhttp_new(base)) == NULL) {
		fprintf(stderr, "bare_evhttp: cannot set up libevent\n");
		return 1;
	}
	evhttp_set_max_body_size(http, BARE_MAX_BODY);
	evhttp_set_max_headers_size(http, BARE_MAX_HEADERS);
	evhttp_set_timeout(http, 60);
	evhttp_set_allowed_methods(http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	        EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, bare_request, NULL);
	if ((bs = evhttp_bind_socket_with_handle(http, host, port)) == NULL) {
		fprintf(stderr, "bare_evhttp: cannot listen on %s:%u\n", host,
		    port);
		return 1;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	        &sl) != 0) {
		perror("bare_evhttp: getsockname");
		return 1;
	}
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    name, sizeof(name));
		printf("listening [%s]:%u\n", name,
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, name,
		    sizeof(name));
		printf("listening %s:%u\n", name,
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	fflush(stdout);
	sterm = evsignal_new(base, SIGTERM, bare_signal, base);
	sint = evsignal_new(base, SIGINT, bare_signal, base);
	if (sterm == NULL || sint == NULL || evsignal_add(sterm, NULL) != 0 ||
	    evsignal_add(sint, NULL) != 0) {
		fprintf(stderr, "bare_evhttp: cannot catch signals\n");
		return 1;
	}
	event_base_dispatch(base);
	event_free(sterm);
	event_free(sint);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
