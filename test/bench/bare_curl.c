/*
 * bare_curl.c: the reference of scripts/bench-deliver. Posts one body N
 * times to URL with CONC requests in flight, through libcurl's multi
 * interface and nothing else: no store, no signing, no scheduling. What
 * hookd's delivery engine adds on top is measured against this.
 *
 * usage: bare_curl URL BODYFILE N CONC [HEADERFILE]
 * prints: requests=N failed=F seconds=S rate=R
 *
 * HEADERFILE, one "Name: value" line each, adds those headers to every
 * request: with hookd's own set it shows what sending them costs curl.
 *
 * usage: bare_curl URL BODYFILE N CONC HEADERFILE OUTFILE
 *
 * The floor of a delivery engine on libcurl that keeps proto/delivery.md's
 * promises and does nothing else: each request is signed (HMAC-SHA256
 * of the body, hex, and of "id.timestamp.body", base64, as hookd's two
 * signature headers; they replace the lines of those names in
 * HEADERFILE; with hookd's own lib/sig.c), and every
 * outcome (status, latency, the response's first bytes) is made durable
 * in OUTFILE by one writer thread: one write and one fdatasync for all
 * the outcomes queued meanwhile (group commit). No queue, no index, no
 * retry, no LMDB.
 *
 * An OUTFILE that starts with postgresql:// or postgres:// is a libpq
 * URI instead (scripts/bench-cluster): the writer commits each batch of
 * outcome records to the table bare_outcomes (made anew) in one
 * transaction, one INSERT and one COMMIT (test/bench/bench_pg.h).
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_log.h"
#include "bench_pg.h"
#include "sig.h"

#define REC_HEAD 64 /* response bytes kept per outcome */

/* One request of the durable mode and the outcome it leaves. */
struct req {
	struct req *next;
	long i; /* which request: its signed id, its record's */
	double t0;
	struct curl_slist sig[2]; /* the two signature lines, in the list */
	char hex[96], b64[96];
	char rec[160 + REC_HEAD]; /* the outcome record */
	size_t reclen, headlen;
};

static struct {
	int fd;
	const char *conninfo; /* outcomes to PostgreSQL, not to fd */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct req *queued, **qtail;
	int closing;
	int idle; /* the writer waits for a first outcome: wake it */
	int ready; /* the writer has its table (PostgreSQL) */
	long synced;
	pthread_t thread;
} out = {.fd = -1};

static double now(void);

/*
 * The writer: every outcome queued meanwhile, one writev, one fdatasync.
 * Like hookd's --outcome-delay, it gathers outcomes for up to 5 ms
 * after the previous batch: fewer, larger syncs, the cheapest way. The
 * end of the run cuts the gathering short.
 */
static void *
writer(void *arg)
{
	static struct bench_log log;
	static struct bench_pg pg;
	struct req *batch, *r, *next;
	struct timespec until;
	double last = 0, at;

	(void)arg;
	if (out.conninfo != NULL)
		bench_pg_open(&pg, out.conninfo, "bare_outcomes");
	pthread_mutex_lock(&out.lock);
	out.ready = 1;
	pthread_cond_broadcast(&out.cond);
	pthread_mutex_unlock(&out.lock);
	for (;;) {
		pthread_mutex_lock(&out.lock);
		while (out.queued == NULL && !out.closing) {
			out.idle = 1;
			pthread_cond_wait(&out.cond, &out.lock);
			out.idle = 0;
		}
		/* Gathering: only the end of the run wakes it early. */
		at = last + 0.005;
		until.tv_sec = (time_t)at;
		until.tv_nsec = (long)((at - (double)until.tv_sec) * 1e9);
		while (!out.closing && now() < at &&
		    pthread_cond_timedwait(&out.cond, &out.lock, &until) == 0)
			;
		batch = out.queued;
		out.queued = NULL;
		out.qtail = &out.queued;
		pthread_mutex_unlock(&out.lock);
		last = now();
		if (batch == NULL)
			return NULL;
		if (out.conninfo != NULL) {
			for (r = batch; r != NULL; r = r->next)
				bench_pg_add(&pg, r->rec, r->reclen);
			bench_pg_commit(&pg);
		} else {
			log.fd = out.fd;
			for (r = batch; r != NULL; r = r->next)
				bench_log_add(&log, r->rec, r->reclen);
			bench_log_sync(&log);
		}
		for (r = batch; r != NULL; r = next) {
			next = r->next;
			free(r);
		}
		out.synced++;
	}
}

/* Signs BODY for request R and links its two lines in front of H. */
static struct curl_slist *
sign(struct req *r, long i, const char *body, long len, struct curl_slist *h)
{
	static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	static unsigned char key[HK_SIG_KEYMAX];
	static int klen;
	char id[32];
	int k;

	if (klen == 0 && (klen = hk_sig_standard_key(secret, key)) <= 0)
		abort();
	snprintf(id, sizeof(id), "evt_%026ld", i);
	k = snprintf(r->hex, sizeof(r->hex), "X-Webhook-Signature: ");
	hk_sig_hex(
	    secret, (const unsigned char *)body, (size_t)len, r->hex + k);
	k = snprintf(r->b64, sizeof(r->b64), "webhook-signature: ");
	if (hk_sig_standard_v1(key, (size_t)klen, id, (long long)time(NULL),
	        (const unsigned char *)body, (size_t)len, r->b64 + k,
	        sizeof(r->b64) - (size_t)k) != 0)
		abort();
	r->sig[0].data = r->hex;
	r->sig[0].next = &r->sig[1];
	r->sig[1].data = r->b64;
	r->sig[1].next = h;
	return &r->sig[0];
}

static size_t
keep(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = size * n, room = REC_HEAD - r->headlen;

	if (room > 0) {
		memcpy(r->rec + 128 + r->headlen, p, len < room ? len : room);
		r->headlen += len < room ? len : room;
	}
	return len;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/*
 * Easy handles are reset and reused, as hookd does: a new handle per
 * request would cost the reference and the floor what hookd does not pay.
 */
static CURL *idle[1024];
static int nidle;

static void
put(CURL *e)
{
	if (nidle < (int)(sizeof(idle) / sizeof(idle[0]))) {
		curl_easy_reset(e);
		idle[nidle++] = e;
	} else
		curl_easy_cleanup(e);
}

static CURL *
post(const char *url, const char *body, long len, struct curl_slist *h)
{
	CURL *e = nidle > 0 ? idle[--nidle] : curl_easy_init();

	if (e == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	return e;
}

/* Writes R's outcome record and queues it for the writer. */
static void
outcome(struct req *r, long status, CURLcode res)
{
	size_t i;
	int k;

	k = snprintf(r->rec, 128, "dlv_%026ld status=%ld result=%d us=%ld ",
	    r->i, status, (int)res, (long)((now() - r->t0) * 1e6));
	r->reclen = k < 0 ? 0 : k > 127 ? 127 : (size_t)k;
	memmove(r->rec + r->reclen, r->rec + 128, r->headlen);
	for (i = r->reclen; i < r->reclen + r->headlen; i++)
		if (r->rec[i] == '\n' || r->rec[i] == '\r')
			r->rec[i] = ' '; /* one line per outcome */
	r->reclen += r->headlen;
	r->rec[r->reclen++] = '\n';
	pthread_mutex_lock(&out.lock);
	*out.qtail = r;
	out.qtail = &r->next;
	if (out.idle)
		pthread_cond_signal(&out.cond);
	pthread_mutex_unlock(&out.lock);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct curl_slist *h = NULL;
	struct rusage ru;
	long n, conc, started = 0, done = 0, failed = 0, len, status;
	char *body;
	FILE *f;
	CURLM *m;
	CURLMsg *msg;
	CURL *e;
	double t0, t1;
	int running, left;

	if (argc < 5 || argc > 7) {
		fprintf(stderr,
		    "usage: bare_curl URL BODYFILE N CONC [HEADERFILE [OUTFILE]]\n");
		return 2;
	}
	n = atol(argv[3]);
	conc = atol(argv[4]);
	if ((f = fopen(argv[2], "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (body = malloc((size_t)len + 1)) == NULL ||
	    fread(body, 1, (size_t)len, f) != (size_t)len) {
		perror(argv[2]);
		return 1;
	}
	fclose(f);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (hk_sig_init() != 0)
		return 1;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	if (argc >= 6) {
		char line[1024];

		if ((f = fopen(argv[5], "r")) == NULL) {
			perror(argv[5]);
			return 1;
		}
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] == '\0' ||
			    (argc == 7 &&
			        (strncasecmp(
			             line, "X-Webhook-Signature:", 20) == 0 ||
			            strncasecmp(
			                line, "webhook-signature:", 18) == 0)))
				continue;
			h = curl_slist_append(h, line);
		}
		fclose(f);
	}
	if (argc == 7) {
		out.qtail = &out.queued;
		pthread_condattr_t ca;

		pthread_mutex_init(&out.lock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* as now() */
		pthread_cond_init(&out.cond, &ca);
		if (strncmp(argv[6], "postgresql://", 13) == 0 ||
		    strncmp(argv[6], "postgres://", 11) == 0)
			out.conninfo = argv[6];
		if ((out.conninfo == NULL &&
		        (out.fd = open(argv[6], O_WRONLY | O_CREAT | O_APPEND,
		             0600)) == -1) ||
		    pthread_create(&out.thread, NULL, writer, NULL) != 0) {
			perror(argv[6]);
			return 1;
		}
		/* Connected before the clock starts. */
		pthread_mutex_lock(&out.lock);
		while (!out.ready)
			pthread_cond_wait(&out.cond, &out.lock);
		pthread_mutex_unlock(&out.lock);
	}
	m = curl_multi_init();
	t0 = now();
	while (done < n) {
		while (started < n && started - done < conc) {
			if ((e = post(argv[1], body, len, h)) == NULL)
				return 1;
			if (out.fd != -1 || out.conninfo != NULL) {
				struct req *r = calloc(1, sizeof(*r));

				if (r == NULL)
					return 1;
				r->i = started;
				r->t0 = now();
				curl_easy_setopt(e, CURLOPT_HTTPHEADER,
				    sign(r, started, body, len, h));
				curl_easy_setopt(
				    e, CURLOPT_WRITEFUNCTION, keep);
				curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
				curl_easy_setopt(e, CURLOPT_PRIVATE, r);
			}
			curl_multi_add_handle(m, e);
			started++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct req *r = NULL;
			CURLcode res = msg->data.result;

			if (msg->msg != CURLMSG_DONE)
				continue;
			e = msg->easy_handle;
			status = 0;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
			if (res != CURLE_OK || status < 200 || status > 299)
				failed++;
			/* Done with the handle before its outcome leaves. */
			curl_multi_remove_handle(m, e);
			put(e);
			done++;
			if (r != NULL)
				outcome(r, status, res);
		}
		/*
		 * Wait only when nothing can start: polling while finished
		 * transfers wait to be replaced idles up to the timeout with
		 * no socket to wake it (every transfer may just have ended).
		 */
		if (done < n && !(started < n && started - done < conc))
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	if (out.fd != -1 || out.conninfo != NULL) {
		/* Every outcome durable before the clock stops. */
		pthread_mutex_lock(&out.lock);
		out.closing = 1;
		pthread_cond_signal(&out.cond);
		pthread_mutex_unlock(&out.lock);
		pthread_join(out.thread, NULL);
	}
	getrusage(RUSAGE_SELF, &ru);
	t1 = now();
	printf("requests=%ld failed=%ld seconds=%.3f rate=%.0f cpu_us=%.1f "
	       "syncs=%ld\n",
	    n, failed, t1 - t0, (double)n / (t1 - t0),
	    ((double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	        (double)ru.ru_stime.tv_sec * 1e6 +
	        (double)ru.ru_stime.tv_usec) /
	        (double)n,
	    out.synced);
	curl_multi_cleanup(m);
	while (nidle > 0)
		curl_easy_cleanup(idle[--nidle]);
	curl_slist_free_all(h);
	free(body);
	curl_global_cleanup();
	return failed > 0;
}
