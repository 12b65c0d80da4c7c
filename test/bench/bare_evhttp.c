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
 *
 * With a second argument, FILE, it is the floor of durable ingest
 * instead: the architecture the foundation issue asks of hookd and
 * nothing else. Each POST's body is queued for one writer thread,
 * which appends everything queued to FILE with one writev and makes it
 * durable with one fdatasync (group commit), then wakes the loop
 * through an eventfd; the loop answers the batch's requests. No
 * parsing, no index, no LMDB: what a durable 202 costs at least here.
 *
 * A FILE that starts with postgresql:// or postgres:// is a libpq URI
 * instead (scripts/bench-cluster, the floor of durable ingest on
 * PostgreSQL): the writer, connected (and its table bare_events made
 * anew) before anything listens, INSERTs each batch with one statement
 * and COMMITs it in one transaction (test/bench/bench_pg.h); with
 * synchronous_commit on, COMMIT returns once the WAL is flushed.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "bench_log.h"
#include "bench_pg.h"

#define BARE_BODY "{\"status\":\"accepted\"}\n"
#define BARE_MAX_BODY (1024 * 1024)
#define BARE_MAX_HEADERS (16 * 1024)

/* A request waiting for its body to be on disk (durable mode). */
struct pending {
	struct pending *next;
	struct evhttp_request *req;
	size_t len;
	char body[];
};

static struct {
	int fd; /* FILE, or -1: not durable */
	const char *conninfo; /* or PostgreSQL's, where the writer commits */
	int ready; /* the writer has its table */
	int efd; /* writer -> loop: a batch is durable */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pending *queued, **qtail; /* loop -> writer */
	struct pending *done, **dtail; /* writer -> loop */
} dur = {.fd = -1, .efd = -1};

static void
bare_answer(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(out, BARE_BODY, sizeof(BARE_BODY) - 1);
	evhttp_send_reply(req, 202, "Accepted", NULL);
}

static void
bare_request(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct pending *p;
	size_t len;

	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(h, "Allow", "POST");
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return;
	}
	if (dur.fd == -1 && dur.conninfo == NULL) {
		bare_answer(req);
		return;
	}
	len = evbuffer_get_length(in);
	if ((p = malloc(sizeof(*p) + len)) == NULL) {
		evhttp_send_reply(req, 503, "Service Unavailable", NULL);
		return;
	}
	p->next = NULL;
	p->req = req;
	p->len = len;
	evbuffer_remove(in, p->body, len);
	pthread_mutex_lock(&dur.lock);
	*dur.qtail = p;
	dur.qtail = &p->next;
	pthread_cond_signal(&dur.cond);
	pthread_mutex_unlock(&dur.lock);
}

/*
 * The writer: append everything queued, one fdatasync (or one
 * transaction), hand it back.
 */
static void *
bare_writer(void *arg)
{
	static struct bench_log log;
	static struct bench_pg pg;
	struct pending *batch, *p, *last;
	uint64_t one = 1;

	(void)arg;
	if (dur.conninfo != NULL)
		bench_pg_open(&pg, dur.conninfo, "bare_events");
	pthread_mutex_lock(&dur.lock);
	dur.ready = 1;
	pthread_cond_broadcast(&dur.cond);
	pthread_mutex_unlock(&dur.lock);
	for (;;) {
		pthread_mutex_lock(&dur.lock);
		while (dur.queued == NULL) /* runs until the process ends */
			pthread_cond_wait(&dur.cond, &dur.lock);
		batch = dur.queued;
		dur.queued = NULL;
		dur.qtail = &dur.queued;
		pthread_mutex_unlock(&dur.lock);
		log.fd = dur.fd;
		for (p = batch; p != NULL; p = p->next) {
			if (dur.conninfo != NULL)
				bench_pg_add(&pg, p->body, p->len);
			else
				bench_log_add(&log, p->body, p->len);
			last = p;
		}
		if (dur.conninfo != NULL)
			bench_pg_commit(&pg);
		else
			bench_log_sync(&log);
		pthread_mutex_lock(&dur.lock);
		*dur.dtail = batch;
		dur.dtail = &last->next;
		pthread_mutex_unlock(&dur.lock);
		while (
		    write(dur.efd, &one, sizeof(one)) == -1 && errno == EINTR)
			;
	}
	return NULL; /* not reached: the writer lasts as long as the process */
}

/* The loop: answer every request whose body is durable. */
static void
bare_durable(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p, *next;
	uint64_t v;

	(void)what;
	(void)arg;
	while (read(fd, &v, sizeof(v)) > 0)
		;
	pthread_mutex_lock(&dur.lock);
	p = dur.done;
	dur.done = NULL;
	dur.dtail = &dur.done;
	pthread_mutex_unlock(&dur.lock);
	for (; p != NULL; p = next) {
		next = p->next;
		bare_answer(p->req);
		free(p);
	}
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

	if (argc < 2 || argc > 3 || bare_addr(argv[1], &host, &port) != 0) {
		fprintf(stderr, "usage: bare_evhttp host:port [file]\n");
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
	sterm = evsignal_new(base, SIGTERM, bare_signal, base);
	sint = evsignal_new(base, SIGINT, bare_signal, base);
	if (sterm == NULL || sint == NULL || evsignal_add(sterm, NULL) != 0 ||
	    evsignal_add(sint, NULL) != 0) {
		fprintf(stderr, "bare_evhttp: cannot catch signals\n");
		return 1;
	}
	if (argc == 3) {
		pthread_t writer;
		struct event *ev;

		dur.qtail = &dur.queued;
		dur.dtail = &dur.done;
		pthread_mutex_init(&dur.lock, NULL);
		pthread_cond_init(&dur.cond, NULL);
		if (strncmp(argv[2], "postgresql://", 13) == 0 ||
		    strncmp(argv[2], "postgres://", 11) == 0)
			dur.conninfo = argv[2];
		else if ((dur.fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND,
		              0600)) == -1) {
			perror("bare_evhttp: durable mode");
			return 1;
		}
		if ((dur.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
		    (ev = event_new(base, dur.efd, EV_READ | EV_PERSIST,
		         bare_durable, NULL)) == NULL ||
		    event_add(ev, NULL) != 0 ||
		    pthread_create(&writer, NULL, bare_writer, NULL) != 0) {
			perror("bare_evhttp: durable mode");
			return 1;
		}
		/* A writer that cannot connect ends the program. */
		pthread_mutex_lock(&dur.lock);
		while (!dur.ready)
			pthread_cond_wait(&dur.cond, &dur.lock);
		pthread_mutex_unlock(&dur.lock);
	}
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
	event_base_dispatch(base);
	event_free(sterm);
	event_free(sint);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
