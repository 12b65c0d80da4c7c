/*
 * runner.c: command runs on the loop (runner.h). Every descriptor of a
 * run is non-blocking on hookd's side and watched by the loop; the only
 * waitpid that may wait is hk_run_clear's, right after a SIGKILL (at
 * shutdown, or when a run is dropped), and every other is WNOHANG for a
 * pid this file started, so children of anyone else are never reaped
 * here.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "engine/runner.h"
#include "hk.h"
#include "hookd.h"

#define RUN_READ_MAX 65536 /* bytes read per call */
#define RUN_READS 16 /* reads per wakeup: a flood shares the loop */
#define RUN_GRACE_MS 200 /* after the exit, for output still in pipes */

static struct {
	struct event *sigchld;
	LIST_HEAD(, hk_run) running;
} rn;

static void run_finish(struct hk_run *);

/* Closes descriptor I of R and stops watching it. */
static void
run_close(struct hk_run *r, int i)
{
	if (r->rn_ev[i] != NULL) {
		event_free(r->rn_ev[i]);
		r->rn_ev[i] = NULL;
	}
	if (r->rn_fd[i] != -1) {
		close(r->rn_fd[i]);
		r->rn_fd[i] = -1;
	}
}

/* Whether R's work is over: reaped, and its output read to the end. */
static void
run_check(struct hk_run *r)
{
	if (r->rn_reaped && r->rn_fd[1] == -1 && r->rn_fd[2] == -1)
		run_finish(r);
}

/* stdout or stderr is readable: keep the head, count the rest. */
static void
run_read(evutil_socket_t fd, short what, void *arg)
{
	static char buf[RUN_READ_MAX];
	struct hk_run *r = arg;
	int i = fd == r->rn_fd[1] ? 1 : 2, k;
	struct hk_buf *b = i == 1 ? &r->rn_out : &r->rn_err;
	size_t *total = i == 1 ? &r->rn_out_total : &r->rn_err_total;
	ssize_t n;

	(void)what;
	for (k = 0; k < RUN_READS; k++) {
		if ((n = read(fd, buf, sizeof(buf))) > 0) {
			if (b->len < HK_RUN_KEEP)
				/* Out of memory: less is kept, nothing else. */
				(void)hk_buf_add(b, buf,
				    (size_t)n < HK_RUN_KEEP - b->len
				        ? (size_t)n
				        : HK_RUN_KEEP - b->len);
			*total += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		break; /* the end, or an error: either way no more */
	}
	if (k == RUN_READS)
		return;
	run_close(r, i);
	run_check(r);
}

/* stdin is writable: the next part of the body, closed at its end. */
static void
run_write(evutil_socket_t fd, short what, void *arg)
{
	struct hk_run *r = arg;
	ssize_t n;

	(void)what;
	while (r->rn_stdin_off < r->rn_stdin_len) {
		n = write(fd, r->rn_stdin + r->rn_stdin_off,
		    r->rn_stdin_len - r->rn_stdin_off);
		if (n > 0) {
			r->rn_stdin_off += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		break; /* EPIPE: the command does not read it all */
	}
	run_close(r, 0);
}

/*
 * The timeout (the group is killed); after the exit, the grace; once
 * the run is over, rn_done, on a pass of its own so that the caller may
 * free R there.
 */
static void
run_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hk_run *r = arg;

	(void)fd;
	(void)what;
	if (r->rn_finishing) {
		r->rn_finishing = 0;
		r->rn_done(r);
		return;
	}
	if (r->rn_reaped) {
		/* Something the command left behind holds its output open. */
		run_close(r, 1);
		run_close(r, 2);
		run_check(r);
		return;
	}
	r->rn_timed_out = 1;
	kill(-r->rn_pid, SIGKILL);
	/* A child that left its group is still ours to stop. */
	kill(r->rn_pid, SIGKILL);
}

/* R's child ended with wait status ST. */
static void
run_reaped(struct hk_run *r, int st)
{
	struct timeval tv = {RUN_GRACE_MS / 1000, (RUN_GRACE_MS % 1000) * 1000};

	r->rn_reaped = 1;
	r->rn_latency_ms = (hk_mono_us() - r->rn_t0_us) / 1000;
	LIST_REMOVE(r, rn_entry);
	r->rn_pid = 0;
	if (WIFEXITED(st))
		r->rn_exit = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		r->rn_signal = WTERMSIG(st);
	/* No more input: the pipe's other end is gone. */
	run_close(r, 0);
	if (r->rn_timed_out) {
		/* What its group left in the pipes is not worth waiting for. */
		run_close(r, 1);
		run_close(r, 2);
	} else if (r->rn_fd[1] != -1 || r->rn_fd[2] != -1)
		evtimer_add(r->rn_timer, &tv);
	run_check(r);
}

/* SIGCHLD: every child of ours that has ended is reaped. */
static void
run_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct hk_run *r, *next;
	pid_t pid;
	int st;

	(void)sig;
	(void)what;
	(void)arg;
	for (r = LIST_FIRST(&rn.running); r != NULL; r = next) {
		next = LIST_NEXT(r, rn_entry);
		pid = waitpid(r->rn_pid, &st, WNOHANG);
		if (pid == r->rn_pid)
			run_reaped(r, st);
		else if (pid == -1 && errno == ECHILD)
			/*
			 * Someone else's waitpid took it: its status is lost,
			 * so the attempt counts as failed (exit 255, retried),
			 * never as a success.
			 */
			run_reaped(r, 255 << 8);
	}
}

/* R is over: its outcome in words, then rn_done. */
static void
run_finish(struct hk_run *r)
{
	struct timeval tv = {0, 0};

	if (r->rn_finishing)
		return;
	evtimer_del(r->rn_timer);
	if (r->rn_timed_out) {
		r->rn_reason = "timeout";
		r->rn_exit = -1;
		r->rn_signal = 0;
		snprintf(r->rn_error, sizeof(r->rn_error),
		    "killed after its timeout of %lld ms",
		    (long long)r->rn_timeout_ms);
	} else if (r->rn_signal != 0) {
		r->rn_reason = "exit";
		r->rn_exit = -1;
		snprintf(r->rn_error, sizeof(r->rn_error),
		    "killed by signal %d (%s)", r->rn_signal,
		    strsignal(r->rn_signal));
	} else if (r->rn_exit != 0) {
		r->rn_reason = "exit";
		snprintf(r->rn_error, sizeof(r->rn_error), "exit status %d",
		    r->rn_exit);
	}
	r->rn_finishing = 1;
	evtimer_add(r->rn_timer, &tv);
}

/* A pipe: hookd's end (END, 0 read or 1 write) non-blocking. */
static int
run_pipe(int p[2], int end)
{
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if (fcntl(p[end], F_SETFL, fcntl(p[end], F_GETFL) | O_NONBLOCK) != 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	return 0;
}

/* The spawn's attributes and file actions for R's child ends IN, OUT, ERR. */
static int
run_setup(const struct hk_run *r, posix_spawnattr_t *at,
    posix_spawn_file_actions_t *fa, int in, int out, int err)
{
	sigset_t none, all;

	sigemptyset(&none);
	sigfillset(&all);
	/* The child starts as a process does: hookd's signal state is its. */
	if (posix_spawnattr_setflags(at,
	        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	            POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(at, 0) != 0 ||
	    posix_spawnattr_setsigmask(at, &none) != 0 ||
	    posix_spawnattr_setsigdefault(at, &all) != 0)
		return -1;
	if ((in == -1 ? posix_spawn_file_actions_addopen(
	                    fa, 0, "/dev/null", O_RDONLY, 0)
	              : posix_spawn_file_actions_adddup2(fa, in, 0)) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, out, 1) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, err, 2) != 0 ||
	    /* Whatever hookd opened without O_CLOEXEC stays hookd's. */
	    posix_spawn_file_actions_addclosefrom_np(fa, 3) != 0)
		return -1;
	if (r->rn_cwd != NULL &&
	    posix_spawn_file_actions_addchdir_np(fa, r->rn_cwd) != 0)
		return -1;
	return 0;
}

/* Watches descriptor I of R for WHAT with CB. */
static int
run_watch(struct hk_run *r, int i, short what, event_callback_fn cb)
{
	if (r->rn_fd[i] == -1)
		return 0;
	if ((r->rn_ev[i] = event_new(
	         hd->hd_base, r->rn_fd[i], what | EV_PERSIST, cb, r)) == NULL)
		return -1;
	return event_add(r->rn_ev[i], NULL);
}

int
hk_run_start(struct hk_run *r)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	struct timeval tv = {
	    r->rn_timeout_ms / 1000, (r->rn_timeout_ms % 1000) * 1000};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc, i;

	r->rn_reason = NULL;
	r->rn_exit = -1;
	r->rn_error[0] = '\0';
	for (i = 0; i < 3; i++)
		r->rn_fd[i] = -1;
	r->rn_started = 1;
	r->rn_at_ms = hk_now_ms();
	r->rn_t0_us = hk_mono_us();
	if ((r->rn_stdin != NULL && run_pipe(in, 1) != 0) ||
	    run_pipe(out, 0) != 0 || run_pipe(err, 0) != 0) {
		rc = errno;
		goto fail;
	}
	if ((r->rn_timer = evtimer_new(hd->hd_base, run_timer, r)) == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_init(&fa);
	if (run_setup(r, &at, &fa, in[0], out[1], err[1]) != 0)
		rc = ENOMEM;
	else
		rc = posix_spawn(&r->rn_pid, r->rn_argv[0], &fa, &at,
		    r->rn_argv, r->rn_envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		r->rn_pid = 0;
		goto fail;
	}
	LIST_INSERT_HEAD(&rn.running, r, rn_entry);
	/* The child's ends are the child's now. */
	if (in[0] != -1)
		close(in[0]);
	close(out[1]);
	close(err[1]);
	r->rn_fd[0] = in[1];
	r->rn_fd[1] = out[0];
	r->rn_fd[2] = err[0];
	if (r->rn_fd[0] != -1 && r->rn_stdin_len == 0)
		run_close(r, 0);
	if (run_watch(r, 0, EV_WRITE, run_write) != 0 ||
	    run_watch(r, 1, EV_READ, run_read) != 0 ||
	    run_watch(r, 2, EV_READ, run_read) != 0 ||
	    evtimer_add(r->rn_timer, &tv) != 0) {
		/* Unwatched, it would never end: stopped now, as a timeout. */
		r->rn_timed_out = 1;
		kill(-r->rn_pid, SIGKILL);
	}
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
	}
	r->rn_reason = "spawn";
	snprintf(r->rn_error, sizeof(r->rn_error), "cannot start %s: %s",
	    r->rn_argv[0], strerror(rc));
	r->rn_latency_ms = (hk_mono_us() - r->rn_t0_us) / 1000;
	return -1;
}

int
hk_run_ok(const struct hk_run *r)
{
	return r->rn_reason == NULL && r->rn_exit == 0;
}

void
hk_run_clear(struct hk_run *r)
{
	int st, i;

	if (!r->rn_started)
		return; /* zeroed, never started: nothing to close */
	if (r->rn_pid > 0) {
		kill(-r->rn_pid, SIGKILL);
		kill(r->rn_pid, SIGKILL);
		while (waitpid(r->rn_pid, &st, 0) == -1 && errno == EINTR)
			;
		LIST_REMOVE(r, rn_entry);
		r->rn_pid = 0;
	}
	for (i = 0; i < 3; i++)
		run_close(r, i);
	if (r->rn_timer != NULL) {
		event_free(r->rn_timer);
		r->rn_timer = NULL;
	}
	hk_buf_free(&r->rn_out);
	hk_buf_free(&r->rn_err);
}

int
hk_runner_init(char **cause)
{
	LIST_INIT(&rn.running);
	if ((rn.sigchld = evsignal_new(
	         hd->hd_base, SIGCHLD, run_sigchld, NULL)) == NULL ||
	    event_add(rn.sigchld, NULL) != 0) {
		*cause = strdup("cannot watch SIGCHLD");
		return HK_ERR;
	}
	return 0;
}

void
hk_runner_free(void)
{
	struct hk_run *r;

	/* Normally none: the engine clears its runs before this. */
	while ((r = LIST_FIRST(&rn.running)) != NULL)
		hk_run_clear(r);
	if (rn.sigchld != NULL)
		event_free(rn.sigchld);
	memset(&rn, 0, sizeof(rn));
}
