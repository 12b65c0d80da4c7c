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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static CURL *
post(const char *url, const char *body, long len, struct curl_slist *h)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	return e;
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
	long n, conc, started = 0, done = 0, failed = 0, len, status;
	char *body;
	FILE *f;
	CURLM *m;
	CURLMsg *msg;
	CURL *e;
	double t0;
	int running, left;

	if (argc != 5 && argc != 6) {
		fprintf(stderr,
		    "usage: bare_curl URL BODYFILE N CONC [HEADERFILE]\n");
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
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	if (argc == 6) {
		char line[1024];

		if ((f = fopen(argv[5], "r")) == NULL) {
			perror(argv[5]);
			return 1;
		}
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] != '\0')
				h = curl_slist_append(h, line);
		}
		fclose(f);
	}
	m = curl_multi_init();
	t0 = now();
	while (done < n) {
		while (started < n && started - done < conc) {
			if ((e = post(argv[1], body, len, h)) == NULL)
				return 1;
			curl_multi_add_handle(m, e);
			started++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			e = msg->easy_handle;
			status = 0;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			if (msg->data.result != CURLE_OK || status < 200 ||
			    status > 299)
				failed++;
			curl_multi_remove_handle(m, e);
			curl_easy_cleanup(e);
			done++;
		}
		if (done < n)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	printf("requests=%ld failed=%ld seconds=%.3f rate=%.0f\n", n, failed,
	    now() - t0, (double)n / (now() - t0));
	curl_multi_cleanup(m);
	curl_slist_free_all(h);
	free(body);
	curl_global_cleanup();
	return failed > 0;
}
