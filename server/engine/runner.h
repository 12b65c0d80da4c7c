/*
 * runner.h: one run of a local command for a command subscription's
 * attempt (SPEC §11), without ever blocking the loop.
 *
 * The child is started with posix_spawn in a process group of its own,
 * default signal dispositions, an empty signal mask and no descriptor of
 * hookd's but its three standard ones. Its stdin is a pipe the loop
 * feeds (rn_stdin) or /dev/null; stdout and stderr are pipes the loop
 * drains, keeping the first HK_RUN_KEEP bytes of each and counting the
 * rest, so what a run costs is bounded whatever the child writes. The
 * loop reaps its own children by pid (waitpid WNOHANG) when libevent's
 * SIGCHLD self-pipe fires; at rn_timeout_ms the whole process group is
 * killed (SIGKILL) and the run's reason is "timeout".
 *
 * A caller fills the in fields and calls hk_run_start; rn_done runs
 * later, on a pass of the loop of its own (never inside
 * hk_run_start), with the out fields set; the caller then frees what it
 * owns and calls hk_run_clear. Loop thread only.
 */
#ifndef HK_RUNNER_H
#define HK_RUNNER_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>

#include "buf.h"

#define HK_RUN_KEEP 1024 /* bytes of stdout and of stderr kept */

struct hk_run {
	/* In, before hk_run_start; the caller's until rn_done has run. */
	char *const *rn_argv; /* NULL-ended; argv[0] an absolute path */
	char *const *rn_envp; /* NULL-ended: the child's whole environment */
	const char *rn_cwd; /* NULL: hookd's own */
	const char *rn_stdin; /* the bytes to feed; NULL: /dev/null */
	size_t rn_stdin_len;
	int64_t rn_timeout_ms;
	void (*rn_done)(struct hk_run *);
	void *rn_arg;
	/* Out, when rn_done runs (or hk_run_start failed). */
	const char *rn_reason; /* NULL (exit 0), "exit", "timeout", "spawn" */
	int rn_exit; /* the exit status; -1: none (killed, not started) */
	int rn_signal; /* the signal that ended it, 0: none */
	char rn_error[256]; /* "" when it exited 0 */
	int64_t rn_at_ms; /* started at (wall) */
	int64_t rn_latency_ms; /* until it was reaped */
	struct hk_buf rn_out, rn_err; /* their first HK_RUN_KEEP bytes */
	size_t rn_out_total, rn_err_total; /* bytes written in all */
	/* The runner's (a zeroed struct is a run not started). */
	int rn_started;
	pid_t rn_pid; /* 0: not running */
	int rn_fd[3]; /* stdin's write end, stdout's and stderr's read ends */
	struct event *rn_ev[3];
	struct event *rn_timer; /* the timeout, then the drain's grace */
	size_t rn_stdin_off;
	int64_t rn_t0_us;
	int rn_reaped;
	int rn_timed_out;
	int rn_finishing; /* rn_done is scheduled */
	LIST_ENTRY(hk_run) rn_entry;
};

/* Watches SIGCHLD. 0, or HK_ERR with *CAUSE (the caller frees it). */
int hk_runner_init(char **cause);
/* Kills and reaps what still runs (their rn_done never runs). */
void hk_runner_free(void);

/*
 * Starts R. 0: rn_done will run. -1: nothing runs (rn_reason "spawn",
 * rn_error says why, rn_done will not run); hk_run_clear still applies.
 */
int hk_run_start(struct hk_run *);
/* Whether R's command exited 0 in time. */
int hk_run_ok(const struct hk_run *);
/*
 * Frees what R holds (not R); a child still running is killed with its
 * process group and reaped first. A zeroed R never started is left be.
 */
void hk_run_clear(struct hk_run *);

#endif
