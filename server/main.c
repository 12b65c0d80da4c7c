/*
 * main.c: hookd's start, its loop and its orderly stop.
 *
 * Start: flags, the data directory (0700), the master key, the admin
 * token, the store and its writer thread, the webhooks, the listeners.
 * Any failure there is fatal and says why. Then one libevent loop runs
 * until SIGTERM or SIGINT: the listeners stop accepting, requests waiting
 * for a commit get their answer (for at most --shutdown-grace), the store
 * drains and closes, and hookd exits 0.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <sodium.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"

struct hookd *hd;

/* Descriptors kept for the store, logs, the loop, signals, DNS, files. */
#define MAIN_FD_BASE 64
/* Per delivery in flight: its socket, an idle cached one, a resolve. */
#define MAIN_FD_DELIVERY 3

static struct event *main_sig_term, *main_sig_int, *main_sig_hup;
static struct event *main_stop_ev;
static struct event *main_pub_ev; /* this node's counters, each second */
static struct hk_tls *main_tls_public, *main_tls_admin;
static int64_t main_stop_deadline;

/*
 * Stopping: idle connections are closed; wait until no request is
 * arriving, being handled or waiting for a commit, or the grace ends.
 */
static void
main_stop_check(evutil_socket_t fd, short what, void *arg)
{
	size_t busy;

	(void)fd;
	(void)what;
	(void)arg;
	busy = hk_conns_drain(hd->hd_public.ls_conns) +
	    hk_conns_drain(hd->hd_admin.ls_conns);
	if ((busy == 0 && hk_st_inflight() == 0) ||
	    hk_mono_us() / 1000 >= main_stop_deadline)
		event_base_loopexit(hd->hd_base, NULL);
}

/*
 * The certificate and key of a listener: both flags or neither, files
 * read and matched at the start (a bad one stops hookd before it opens
 * the store). NULL: plain HTTP.
 */
static struct hk_tls *
main_tls_open(
    const char *name, const char *flag, const char *cert, const char *key)
{
	struct hk_tls *t;
	char *cause = NULL;

	if (cert == NULL && key == NULL)
		return NULL;
	if (cert == NULL || key == NULL)
		hk_fatal("tls", "listener=%s error=%s", name,
		    hk_logq(strcmp(flag, "tls") == 0
		            ? "--tls-cert and --tls-key go together"
		            : "--admin-tls-cert and --admin-tls-key go together"));
	if ((t = hk_tls_new(name, cert, key, &cause)) == NULL)
		hk_fatal("tls", "listener=%s error=%s", name,
		    hk_logq(cause != NULL ? cause : "out of memory"));
	return t;
}

/* SIGHUP: a listener's files again; a failure keeps the old context. */
static void
main_tls_reload(struct hk_tls *t, const char *name)
{
	char *cause = NULL;

	if (t == NULL)
		return;
	if (hk_tls_reload(t, &cause) == 0)
		log_info("tls_reloaded", "listener=%s", name);
	else
		log_error("tls_reload_failed", "listener=%s error=%s", name,
		    hk_logq(cause != NULL ? cause : "out of memory"));
	free(cause);
}

/*
 * The listeners, once what the configuration file declares is in place
 * (an event that arrived before would match none of its subscriptions).
 */
static void main_listen(struct hk_listener *, const char *, int64_t,
    struct hk_tls *, void (*)(struct evhttp_request *, void *));

static void
main_open(void)
{
	struct hk_conf *cf = &hd->hd_conf;

	main_listen(&hd->hd_public, cf->cf_listen, hk_webhook_body_ceiling(),
	    main_tls_public, hk_ingest_request);
	/* Published events are bounded like received ones, plus the wrapper. */
	main_listen(&hd->hd_admin, cf->cf_admin, cf->cf_max_body + 65536,
	    main_tls_admin, hk_admin_request);
	free(hd->hd_public_url);
	if (cf->cf_public_url != NULL) {
		hd->hd_public_url = strdup(cf->cf_public_url);
		if (hd->hd_public_url != NULL) {
			size_t n = strlen(hd->hd_public_url);

			while (n > 0 && hd->hd_public_url[n - 1] == '/')
				hd->hd_public_url[--n] = '\0';
		}
	} else if (asprintf(&hd->hd_public_url, "%s://%s",
	               hd->hd_public.ls_tls ? "https" : "http",
	               hd->hd_public.ls_addr) == -1)
		hd->hd_public_url = NULL;
	if (hd->hd_public_url == NULL)
		hk_fatal("start", "error=%s", hk_logq("out of memory"));
	/* What /api/cluster shows of this node: where it can be reached. */
	hk_st_addresses(cf->cf_public_url != NULL ? cf->cf_public_url
	                                          : hd->hd_public.ls_addr,
	    hd->hd_admin.ls_addr);

	log_info("listening", "version=%s public=%s admin=%s data=%s tls=%s",
	    VERSION, hd->hd_public.ls_addr, hk_logq(hd->hd_admin.ls_addr),
	    hk_logq(cf->cf_data),
	    main_tls_public != NULL
	        ? (main_tls_admin != NULL ? "public,admin" : "public")
	        : (main_tls_admin != NULL ? "admin" : "none"));
}

/*
 * The configuration file is applied; a reload asked for meanwhile runs.
 * The first application, at start, opens the listeners when it ends.
 */
static int main_cfg_busy, main_cfg_again, main_cfg_started;

static void main_cfg_apply(void);

static void
main_cfg_done(struct hk_cfgplan *p, void *arg)
{
	(void)arg;
	hk_cfgplan_free(p);
	main_cfg_busy = 0;
	if (!main_cfg_started) {
		main_cfg_started = 1;
		if (!hd->hd_stopping)
			main_open();
	}
	if (main_cfg_again) {
		main_cfg_again = 0;
		main_cfg_apply();
	}
}

/*
 * Reads the configuration file and starts applying it. A file that
 * cannot be read or is wrong changes nothing: at start hookd exits, on
 * SIGHUP it keeps running on what it has.
 */
static void
main_cfg_apply(void)
{
	struct hk_cfgplan *p;
	char err[1024];

	if (hd->hd_conf.cf_config == NULL || hd->hd_stopping)
		return;
	if (main_cfg_busy) {
		main_cfg_again = 1;
		return;
	}
	if ((p = hk_cfgplan_make(hd->hd_conf.cf_config, err, sizeof(err))) ==
	    NULL) {
		log_error("config_refused", "file=%s error=%s",
		    hk_logq(hd->hd_conf.cf_config), hk_logq(err));
		return;
	}
	main_cfg_busy = 1;
	hk_cfgplan_apply(p, main_cfg_done, NULL);
}

static void
main_signal(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tick = {0, 20000};

	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		hk_log_reopen();
		log_info("logs_reopened", "signal=HUP");
		main_tls_reload(main_tls_public, "public");
		main_tls_reload(main_tls_admin, "admin");
		main_cfg_apply();
		return;
	}
	if (hd->hd_stopping) {
		log_warn("stopping_now", "signal=%d", (int)sig);
		event_base_loopexit(hd->hd_base, NULL);
		return;
	}
	log_info("stopping", "signal=%s grace_ms=%lld",
	    sig == SIGTERM ? "TERM" : "INT",
	    (long long)hd->hd_conf.cf_shutdown_grace_ms);
	hd->hd_stopping = 1;
	hk_listen_pause(&hd->hd_public);
	hk_listen_pause(&hd->hd_admin);
	main_stop_deadline =
	    hk_mono_us() / 1000 + hd->hd_conf.cf_shutdown_grace_ms;
	main_stop_ev =
	    event_new(hd->hd_base, -1, EV_PERSIST, main_stop_check, NULL);
	if (main_stop_ev == NULL || event_add(main_stop_ev, &tick) != 0)
		event_base_loopexit(hd->hd_base, NULL);
}

/* The soft RLIMIT_NOFILE, raised to the hard limit where it is lower. */
static int64_t
main_nofile(void)
{
	struct rlimit rl, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		hk_fatal("descriptors", "error=%s", hk_logq(strerror(errno)));
	if (rl.rlim_cur < rl.rlim_max) {
		want = rl;
		want.rlim_cur = rl.rlim_max;
		/* An unlimited hard limit may be above fs.nr_open: kept. */
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT32_MAX
	    ? INT32_MAX
	    : (int64_t)rl.rlim_cur;
}

/*
 * proto/operation.md: --max-in-flight and --max-connections (per listener) are
 * lowered where they would not fit the descriptor limit, so that
 * connections can never take what the store, admin calls and deliveries
 * need; what was chosen is logged.
 */
static void
main_descriptors(struct hk_conf *cf)
{
	int64_t lim = main_nofile(), avail = lim - MAIN_FD_BASE, conns;
	int lowered = 0;

	if (avail < 2 + MAIN_FD_DELIVERY)
		hk_fatal("descriptors", "limit=%lld error=%s", (long long)lim,
		    hk_logq("too few descriptors (RLIMIT_NOFILE)"));
	if (MAIN_FD_DELIVERY * cf->cf_max_in_flight > avail / 2) {
		cf->cf_max_in_flight = avail / 2 / MAIN_FD_DELIVERY;
		if (cf->cf_max_in_flight < 1)
			cf->cf_max_in_flight = 1;
		lowered = 1;
	}
	conns = (avail - MAIN_FD_DELIVERY * cf->cf_max_in_flight) / 2;
	if (cf->cf_max_connections > conns) {
		cf->cf_max_connections = conns;
		lowered = 1;
	}
	hk_log(lowered ? HK_LOG_WARN : HK_LOG_INFO, "descriptors",
	    "limit=%lld max_connections=%lld max_in_flight=%lld%s",
	    (long long)lim, (long long)cf->cf_max_connections,
	    (long long)cf->cf_max_in_flight,
	    lowered ? " lowered=to_fit_the_limit" : "");
}

/* Reads a token from PATH: its first line, without surrounding space. */
static char *
main_read_token(const char *path, char **cause)
{
	char buf[512], *s, *e;
	struct stat st = {0};
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		return NULL;
	}
	/* A token others can read is no secret: refused like the key. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		if ((S_ISREG(st.st_mode)
		            ? asprintf(cause,
		                  "%s: mode %03o, must not be readable by group or others",
		                  path, (unsigned)(st.st_mode & 0777))
		            : asprintf(
		                  cause, "%s: not a regular file", path)) == -1)
			*cause = NULL;
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	for (s = buf; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';)
		s++;
	for (e = s;
	     *e != '\0' && *e != '\n' && *e != '\r' && *e != ' ' && *e != '\t';)
		e++;
	*e = '\0';
	if (strlen(s) < 16) {
		if (asprintf(cause,
		        "%s: the admin token must be at least 16 characters",
		        path) == -1)
			*cause = NULL;
		sodium_memzero(buf, sizeof(buf));
		return NULL;
	}
	s = strdup(s);
	sodium_memzero(buf, sizeof(buf));
	return s;
}

/* The admin token: --admin-token-file, or <data>/admin.token (created). */
static char *
main_admin_token(const struct hk_conf *cf)
{
	char path[4096], tok[HK_TOKEN_LEN], *cause = NULL, *t;
	int fd;

	if (cf->cf_admin_token_file != NULL) {
		if ((t = main_read_token(cf->cf_admin_token_file, &cause)) ==
		    NULL)
			hk_fatal("admin_token", "error=%s", hk_logq(cause));
		return t;
	}
	snprintf(path, sizeof(path), "%s/admin.token", cf->cf_data);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno != EEXIST)
		hk_fatal("admin_token", "path=%s error=%s", hk_logq(path),
		    hk_logq(strerror(errno)));
	if (fd != -1) {
		hk_token_new("hkadm_", tok);
		if (write(fd, tok, strlen(tok)) != (ssize_t)strlen(tok) ||
		    write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
			close(fd);
			unlink(path);
			hk_fatal("admin_token", "path=%s error=%s",
			    hk_logq(path), hk_logq(strerror(errno)));
		}
		close(fd);
		log_info("admin_token_created", "path=%s", hk_logq(path));
		sodium_memzero(tok, sizeof(tok));
	}
	if ((t = main_read_token(path, &cause)) == NULL)
		hk_fatal("admin_token", "error=%s", hk_logq(cause));
	return t;
}

static void
main_listen(struct hk_listener *ls, const char *spec, int64_t max_body,
    struct hk_tls *tls, void (*cb)(struct evhttp_request *, void *))
{
	const struct hk_conf *cf = &hd->hd_conf;
	struct hk_listen_conf lc;
	char *cause = NULL;

	memset(&lc, 0, sizeof(lc));
	if (cb == hk_ingest_request) {
		lc.lc_headers = hk_ingest_headers;
		lc.lc_too_large = hk_ingest_too_large;
	}
	lc.lc_max_headers = cf->cf_max_headers;
	lc.lc_max_body = max_body;
	lc.lc_idle_ms = cf->cf_idle_timeout_ms;
	lc.lc_deadline_ms = cf->cf_request_timeout_ms;
	lc.lc_max_conns = cf->cf_max_connections;
	lc.lc_tls = tls;
	if (hk_listen(ls, hd->hd_base, spec, &lc, cb, NULL, &cause) != 0)
		hk_fatal("listen", "address=%s error=%s", hk_logq(spec),
		    hk_logq(cause != NULL ? cause : "cannot listen"));
}

/*
 * Refuses a data directory in memory (tmpfs, ramfs): its fsync is a
 * no-op and a reboot loses it, so every 202 would be a promise hookd
 * cannot keep. There is no setting that trades durability for speed.
 */
static void
main_durable(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf) == -1)
		hk_fatal("data_dir", "path=%s error=%s", hk_logq(dir),
		    hk_logq(strerror(errno)));
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		hk_fatal("data_dir", "path=%s error=%s", hk_logq(dir),
		    hk_logq("the data directory is in memory (tmpfs): "
		            "accepted events would not survive a reboot"));
}

/*
 * One hookd per data directory: a write lock on <data>/hookd.lock, held
 * until exit. The kernel drops it when the process dies however it
 * dies, so a crash leaves nothing to clean up; LMDB's own lock.mdb is
 * shared by design and cannot say this. The holder's pid comes from the
 * lock itself (F_GETLK), or, in another pid namespace, from the file.
 */
static void
main_lock_data(const char *dir)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[4096], pid[32] = "", msg[80];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/hookd.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		hk_fatal("data_dir", "path=%s error=%s", hk_logq(path),
		    hk_logq(strerror(errno)));
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno != EACCES && errno != EAGAIN)
			hk_fatal("data_dir", "path=%s error=%s", hk_logq(path),
			    hk_logq(strerror(errno)));
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK &&
		    fl.l_pid > 0)
			snprintf(pid, sizeof(pid), "%ld", (long)fl.l_pid);
		else if ((n = pread(fd, pid, sizeof(pid) - 1, 0)) > 0)
			pid[strcspn(pid, "\n")] = '\0';
		snprintf(msg, sizeof(msg), "data directory in use by %s%s",
		    pid[0] != '\0' ? "pid " : "another process", pid);
		hk_fatal(
		    "data_dir", "path=%s error=%s", hk_logq(dir), hk_logq(msg));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("data_dir", "path=%s error=%s", hk_logq(path),
		    hk_logq(strerror(errno)));
	/* Kept open: closing any descriptor of the file drops the lock. */
}

/*
 * The loop. epoll with libevent's changelist: a descriptor whose events
 * change several times in one pass (curl turns a connection from
 * writing to reading each attempt) costs one epoll_ctl, not a delete
 * and an add. Its one hazard is dup()ed descriptors, which hookd has
 * none of.
 */
static struct event_base *
main_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *b;

	if (cfg == NULL)
		return event_base_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return b != NULL ? b : event_base_new();
}

/*
 * hookd --config FILE --check: the plan against the store as it is, read
 * without its lock and writing nothing (an empty store when there is
 * none). Exits 0 with the plan on stdout, 1 when the file is wrong.
 */
static int
main_check(struct hk_conf *cf)
{
	struct hk_buf b = HK_BUF_INIT;
	struct hk_st_conf sc;
	struct hk_cfgplan *p;
	char path[4096], err[1024], *cause = NULL;
	int rc, opened = 0;

	if (cf->cf_config == NULL) {
		fprintf(stderr, "hookd: --check needs --config FILE\n");
		return 2;
	}
	if ((hd->hd_base = event_base_new()) == NULL)
		return 1;
	hd->hd_public_url = strdup("");
	memset(&sc, 0, sizeof(sc));
	sc.sc_where = cf->cf_store != NULL ? cf->cf_store : cf->cf_data;
	sc.sc_mapsize = (size_t)cf->cf_map_size;
	sc.sc_base = hd->hd_base;
	sc.sc_readonly = 1;
	if ((rc = hk_st_open(&sc, &cause)) == 0)
		opened = 1;
	else if (rc != HK_ENOTFOUND) {
		/* A conninfo may hold a password: never printed. */
		fprintf(stderr, "hookd: %s: %s\n",
		    cf->cf_store != NULL ? "the store" : cf->cf_data,
		    cause != NULL ? cause : hk_strerror(rc));
		free(cause);
		return 1;
	}
	free(cause);
	cause = NULL;
	if (opened) {
		/* The store's secrets open with its key, never a new one. */
		if (cf->cf_master_key_file != NULL)
			snprintf(
			    path, sizeof(path), "%s", cf->cf_master_key_file);
		else
			snprintf(
			    path, sizeof(path), "%s/master.key", cf->cf_data);
		if ((rc = hk_mkey_load(path, 0, hd->hd_mkey, &cause)) != 0 ||
		    hk_webhook_load(&cause) != 0 || hk_sub_load(&cause) != 0) {
			fprintf(stderr, "hookd: %s: %s\n", cf->cf_data,
			    cause != NULL ? cause : hk_strerror(rc));
			free(cause);
			return 1;
		}
	}
	if ((p = hk_cfgplan_make(cf->cf_config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "hookd: %s\n", err);
		rc = 1;
	} else {
		rc = hk_cfgplan_print(p, &b) != 0 ||
		    fwrite(b.b != NULL ? b.b : "", 1, b.len, stdout) != b.len;
		printf("%zu to create, %zu to update, %zu to delete, "
		       "%zu unchanged\n",
		    hk_cfgplan_count(p, HK_CFG_CREATE),
		    hk_cfgplan_count(p, HK_CFG_UPDATE),
		    hk_cfgplan_count(p, HK_CFG_DELETE),
		    hk_cfgplan_count(p, HK_CFG_SAME));
		hk_cfgplan_free(p);
	}
	hk_buf_free(&b);
	hk_sub_free_all();
	hk_webhook_free_all();
	if (opened)
		hk_st_close();
	return rc;
}

/*
 * Descriptors 0-2 open (on /dev/null where closed): a pipe or socket
 * made later must never land on one, where a child's stdio would reach
 * it.
 */
static void
main_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1 && fd <= 2)
		(void)fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

static void
main_publish(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	hk_stats_publish();
}

/* The node's name: --node-id, or this host's name and public port. */
static void
main_node(const struct hk_conf *cf, char *out, size_t len)
{
	const char *port = strrchr(cf->cf_listen, ':');
	char host[96];

	if (cf->cf_node_id != NULL) {
		snprintf(out, len, "%s", cf->cf_node_id);
		return;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "hookd");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, len, "%s:%s", host, port != NULL ? port + 1 : "0");
}

/*
 * What the store keeps to tell whether a node's master key is the one
 * its data was sealed with: a keyed hash, which shows nothing of it.
 */
static void
main_keycheck(char out[33])
{
	static const char what[] = "hookd master key check";
	unsigned char h[16];

	crypto_generichash(h, sizeof(h), (const unsigned char *)what,
	    sizeof(what) - 1, hd->hd_mkey, HK_MKEY_LEN);
	sodium_bin2hex(out, 33, h, sizeof(h));
}

/* Another node's change reaches the registry it belongs to. */
static void
main_changed(enum hk_st_list list, const char *id, const char *text, size_t len)
{
	if (list == HK_SL_WEBHOOKS)
		hk_webhook_external(id, text, len);
	else if (list == HK_SL_SUBS)
		hk_sub_external(id, text, len);
}

static const struct hk_st_watch main_watch = {
    main_changed, hk_engine_kick, hk_engine_busy};

int
main(int argc, char **argv)
{
	static struct hookd hookd;
	struct hk_conf *cf = &hookd.hd_conf;
	struct hk_st_conf sc;
	char path[4096], node[128], keycheck[33], *cause = NULL;
	int rc;

	hd = &hookd;
	memset(&sc, 0, sizeof(sc));
	main_stdio();
	if ((rc = hk_conf_load(cf, argc, argv)) != 0)
		return rc > 0 ? 0 : 2;
	hk_log_init((int)cf->cf_log_level, cf->cf_log_file);
	signal(SIGPIPE, SIG_IGN);
	if (cf->cf_check) {
		if (hk_sig_init() != 0)
			return 1;
		return main_check(cf);
	}
	main_descriptors(cf);
	if (hk_sig_init() != 0)
		hk_fatal("start", "error=%s", hk_logq("libsodium failed"));
	if (cf->cf_allow_targets != NULL) {
		char err[128];

		if (hk_cidrs_parse(cf->cf_allow_targets, &hd->hd_allow, err) !=
		    0)
			hk_fatal("allow_targets", "error=%s", hk_logq(err));
	}
	hd->hd_started_ms = hk_now_ms();
	main_tls_public =
	    main_tls_open("public", "tls", cf->cf_tls_cert, cf->cf_tls_key);
	main_tls_admin = main_tls_open(
	    "admin", "admin-tls", cf->cf_admin_tls_cert, cf->cf_admin_tls_key);

	if (mkdir(cf->cf_data, 0700) == -1 && errno != EEXIST)
		hk_fatal("data_dir", "path=%s error=%s", hk_logq(cf->cf_data),
		    hk_logq(strerror(errno)));
	main_durable(cf->cf_data);
	main_lock_data(cf->cf_data);
	if (cf->cf_master_key_file != NULL)
		rc = hk_mkey_load(
		    cf->cf_master_key_file, 0, hd->hd_mkey, &cause);
	else {
		snprintf(path, sizeof(path), "%s/master.key", cf->cf_data);
		rc = hk_mkey_load(path, 1, hd->hd_mkey, &cause);
	}
	if (rc != 0)
		hk_fatal("master_key", "error=%s",
		    hk_logq(cause != NULL ? cause : hk_strerror(rc)));
	hd->hd_admin_token = main_admin_token(cf);

	if ((hd->hd_base = main_base()) == NULL)
		hk_fatal("start", "error=%s", hk_logq("event_base_new failed"));
	sc.sc_where = cf->cf_store != NULL ? cf->cf_store : cf->cf_data;
	sc.sc_mapsize = (size_t)cf->cf_map_size;
	sc.sc_highwater = (int)cf->cf_highwater;
	sc.sc_base = hd->hd_base;
	main_node(cf, node, sizeof(node));
	snprintf(hd->hd_node, sizeof(hd->hd_node), "%s", node);
	main_keycheck(keycheck);
	sc.sc_node = node;
	sc.sc_public =
	    cf->cf_public_url != NULL ? cf->cf_public_url : cf->cf_listen;
	sc.sc_admin = cf->cf_admin;
	sc.sc_lease_ms = cf->cf_lease_ms;
	sc.sc_commit_ms = cf->cf_commit_timeout_ms;
	sc.sc_keycheck = keycheck;
	if ((rc = hk_st_open(&sc, &cause)) != 0)
		hk_fatal("store", "error=%s",
		    hk_logq(cause != NULL ? cause : hk_strerror(rc)));
	hk_st_watch(&main_watch);

	/* Signals first: a stop asked for during the start is kept. */
	main_sig_term = evsignal_new(hd->hd_base, SIGTERM, main_signal, NULL);
	main_sig_int = evsignal_new(hd->hd_base, SIGINT, main_signal, NULL);
	main_sig_hup = evsignal_new(hd->hd_base, SIGHUP, main_signal, NULL);
	if (main_sig_term == NULL || main_sig_int == NULL ||
	    main_sig_hup == NULL || event_add(main_sig_term, NULL) != 0 ||
	    event_add(main_sig_int, NULL) != 0 ||
	    event_add(main_sig_hup, NULL) != 0)
		hk_fatal("start", "error=%s", hk_logq("cannot watch signals"));
	/* The URLs printed before the listener exists are fixed below. */
	hd->hd_public_url = strdup("");
	if (hk_webhook_load(&cause) != 0)
		hk_fatal("webhooks", "error=%s",
		    hk_logq(cause != NULL ? cause : "cannot load"));
	if (hk_sub_load(&cause) != 0)
		hk_fatal("subscriptions", "error=%s",
		    hk_logq(cause != NULL ? cause : "cannot load"));
	/* Names in subscription URLs are judged without blocking the loop. */
	if ((hd->hd_dns = evdns_base_new(
	         hd->hd_base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		hd->hd_dns = evdns_base_new(hd->hd_base, 0);
	if (hd->hd_dns != NULL) {
		evdns_base_set_option(hd->hd_dns, "timeout:", "2");
		evdns_base_set_option(hd->hd_dns, "attempts:", "1");
	}
	/* The console's stream hears of each committed event. */
	hk_event_watch(hk_stream_event);
	if (hk_purge_init() != 0)
		hk_fatal(
		    "start", "error=%s", hk_logq("cannot start retention"));
	if (hk_engine_init(&cause) != 0)
		hk_fatal("engine", "error=%s",
		    hk_logq(cause != NULL ? cause : "cannot start"));
	hk_engine_observe(hk_stream_outcome);
	if ((main_pub_ev = event_new(
	         hd->hd_base, -1, EV_PERSIST, main_publish, NULL)) == NULL ||
	    event_add(main_pub_ev, &(struct timeval){1, 0}) != 0)
		hk_fatal("start", "error=%s", hk_logq("cannot start a timer"));
	hk_stats_publish();
	/* The file's objects before anything is answered; a bad one is fatal. */
	if (cf->cf_config != NULL) {
		struct hk_cfgplan *p;
		char err[1024];

		if ((p = hk_cfgplan_make(cf->cf_config, err, sizeof(err))) ==
		    NULL)
			hk_fatal("config", "file=%s error=%s",
			    hk_logq(cf->cf_config), hk_logq(err));
		main_cfg_busy = 1;
		hk_cfgplan_apply(p, main_cfg_done, NULL);
	}

	if (cf->cf_config == NULL)
		main_open();
	event_base_dispatch(hd->hd_base);

	/* Answer what the writer finished, then drop the connections. */
	{
		struct hk_st_usage u;

		hk_st_usage(&u);
		log_info("store_totals", "commits=%llu ops=%llu",
		    (unsigned long long)u.su_commits,
		    (unsigned long long)u.su_ops);
	}
	hk_engine_flush(); /* outcomes still gathering */
	hk_st_close();
	hk_engine_free();
	hk_reqlog_free();
	hk_stream_free();
	hk_purge_free();
	hk_listen_close(&hd->hd_public);
	hk_listen_close(&hd->hd_admin);
	hk_tls_free(main_tls_public);
	hk_tls_free(main_tls_admin);
	log_info("stopped", "uptime_ms=%lld",
	    (long long)(hk_now_ms() - hd->hd_started_ms));
	if (main_stop_ev != NULL)
		event_free(main_stop_ev);
	event_free(main_sig_term);
	event_free(main_sig_int);
	event_free(main_sig_hup);
	if (main_pub_ev != NULL)
		event_free(main_pub_ev);
	/* evdns_base_free() deletes events of the base: free it first. */
	if (hd->hd_dns != NULL)
		evdns_base_free(hd->hd_dns, 1);
	event_base_free(hd->hd_base);
	hk_webhook_free_all();
	hk_sub_free_all();
	hk_stats_free();
	hk_cidrs_free(&hd->hd_allow);
	free(hd->hd_public_url);
	sodium_memzero(hd->hd_admin_token, strlen(hd->hd_admin_token));
	free(hd->hd_admin_token);
	sodium_memzero(hd->hd_mkey, sizeof(hd->hd_mkey));
	hk_conf_free(cf);
	return 0;
}
