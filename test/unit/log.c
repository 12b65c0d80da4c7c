/*
 * Unit tests of server/log.c: lines from several threads at once (the
 * loop, the store's writer, reader and cluster threads) come out whole,
 * each with its own quoted values.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hookd.h"
#include "t.h"

#define LOG_THREADS 4
#define LOG_LINES 5000

static void *
log_thread(void *arg)
{
	int id = (int)(long)arg, i;
	char v[64];

	for (i = 0; i < LOG_LINES; i++) {
		/* A space: hk_logq quotes it into its buffer. */
		snprintf(v, sizeof(v), "v %d %d", id, i);
		log_info("t", "thread=%d n=%d v=%s pad=%s", id, i, hk_logq(v),
		    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
	}
	return NULL;
}

static void
test_threads(void)
{
	char path[] = "/tmp/hookd-unit-log-XXXXXX", *text, *line, *save;
	pthread_t th[LOG_THREADS];
	int fd, i, seen[LOG_THREADS] = {0}, bad = 0;
	size_t len;

	T_CHECK((fd = mkstemp(path)) != -1);
	close(fd);
	hk_log_init(HK_LOG_INFO, path);
	for (i = 0; i < LOG_THREADS; i++)
		T_CHECK(pthread_create(
		            &th[i], NULL, log_thread, (void *)(long)i) == 0);
	for (i = 0; i < LOG_THREADS; i++)
		pthread_join(th[i], NULL);
	fflush(stderr);
	T_CHECK((text = t_slurp(path, &len)) != NULL);
	unlink(path);
	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int id, n, qid, qn, end = 0;

		if (sscanf(line,
		        "ts=%*s level=info event=t thread=%d n=%d v=\"v %d %d\" "
		        "pad=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz%n",
		        &id, &n, &qid, &qn, &end) != 4 ||
		    line[end] != '\0' || id != qid || n != qn || id < 0 ||
		    id >= LOG_THREADS || n != seen[id]) {
			if (bad++ < 3)
				fprintf(
				    stdout, "a broken line: %.200s\n", line);
			continue;
		}
		seen[id]++;
	}
	free(text);
	T_CHECK(bad == 0);
	for (i = 0; i < LOG_THREADS; i++)
		T_CHECK(seen[i] == LOG_LINES);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"log_threads", test_threads},
	};

	return t_run("log", cases, sizeof(cases) / sizeof(cases[0]));
}
