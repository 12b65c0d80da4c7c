/*
 * bare_spawn.c: the reference of scripts/bench-commands. Runs PROG N
 * times with CONC children at once through posix_spawn and waitpid and
 * nothing else: no queue, no store, no pipes, no output kept. What
 * hookd's runner and engine add on top is measured against this.
 *
 * usage: bare_spawn N CONC PROG [ARG ...]
 * prints: commands=N failed=F seconds=S rate=R
 */
#include <sys/wait.h>

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern char **environ;

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
	long n, conc, started = 0, done = 0, failed = 0, running = 0;
	double t0, s;
	pid_t pid;
	int st;

	if (argc < 4) {
		fprintf(stderr, "usage: bare_spawn N CONC PROG [ARG ...]\n");
		return 2;
	}
	n = atol(argv[1]);
	conc = atol(argv[2]);
	t0 = now();
	while (done < n) {
		while (running < conc && started < n) {
			if (posix_spawn(&pid, argv[3], NULL, NULL, argv + 3,
			        environ) != 0) {
				failed++;
				done++;
				started++;
				continue;
			}
			started++;
			running++;
		}
		if (running == 0)
			continue;
		if ((pid = waitpid(-1, &st, 0)) == -1)
			break;
		running--;
		done++;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	s = now() - t0;
	printf("commands=%ld failed=%ld seconds=%.2f rate=%.0f\n", n, failed, s,
	    (double)n / s);
	return 0;
}
