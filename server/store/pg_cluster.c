/*
 * pg_cluster.c: cluster mode of the PostgreSQL engine (SPEC §9). Every
 * node on one database beats (its row in hookd_nodes), holds a fair
 * share of the subscriptions (a lease each in hookd_leases, with a
 * fencing epoch from the sequence hookd_epoch), and learns what the
 * others changed (hookd_changes, a log numbered by hookd_meta's
 * config_version; NOTIFY as the hint, a poll at every beat as the
 * fallback).
 *
 * The share. A beat renews this node's leases that have not expired,
 * counts the live nodes (a heartbeat within the lease) and the
 * subscriptions, and claims unleased or expired ones up to its share
 * (the count over the nodes, one more for the first nodes by name where
 * it does not divide evenly); above it, it gives some up:
 * the loop stops starting their attempts, waits until none of them is
 * out (sw_busy), and only then is the lease deleted, so a handover
 * never sends one delivery from two nodes at once. A lease lost
 * otherwise (the node paused, the database gone) is fenced: the writer
 * checks, inside every transaction that records an outcome or an
 * engine's change of a subscription, that this node still holds the
 * lease under the epoch the attempt began with (pc_fence, FOR SHARE in
 * id order, as renewals lock), and records nothing otherwise. The loop
 * stops serving when the last renewal is older than the lease less a
 * tenth (its own monotonic clock), before the database lets another
 * node take over.
 *
 * Threads. A cluster thread owns a third connection: it LISTENs and
 * beats, so a node whose writer or reader is busy keeps its leases. It
 * tells the loop what it learned through messages and an eventfd; the
 * loop answers hk_st_serves from its own copy and hands back the leases
 * it has drained. Lease decisions are the thread's, serving the loop's.
 * The thread names the records others changed; the loop reads them
 * through the writer (PG_REFRESH), so they reach the caches in order
 * with this node's own changes, and a lease gained is served once its
 * record (the engine state the last holder saved) is read.
 */
#include <sys/eventfd.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <sodium.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "buf.h"
#include "map.h"
#include "store/pg.h"

#define PC_BEAT_MIN_MS 100 /* beats asked for by a hint: no closer */
/* The change log's version read this often, should a NOTIFY be lost
 * (SPEC §9: a change in force everywhere within 1 s). */
#define PC_POLL_MS 400
#define PC_TRIM_EVERY_US 60000000 /* the change log's trim */
#define PC_DRAIN_MS 100 /* a lease given up: how often it is looked at */

enum pc_kind {
	PC_VALID, /* the leases held are good until pm_epoch (mono us) */
	PC_GAIN, /* pm_id is served under pm_epoch, once read again */
	PC_LOST, /* pm_id is no longer served */
	PC_DRAIN, /* pm_id is to be given up once idle */
	PC_CHANGED, /* another node changed pm_list/pm_id */
	PC_RELOAD, /* every record is to be read again */
	PC_WAKE, /* deliveries may be due */
	PC_NODES /* the live nodes: pm_nodes */
};

struct pc_msg {
	struct pc_msg *next;
	enum pc_kind kind;
	enum hk_st_list list;
	char id[HK_ID_MAX];
	int64_t epoch;
	struct hk_st_node *nodes;
	size_t nnodes;
	char *strings; /* the nodes' strings */
};

/* A lease as the thread keeps it. */
struct pc_lease {
	char sub[HK_ID_MAX];
	int64_t epoch;
	int draining;
};

/* A lease as the loop serves it. */
struct pc_serve {
	char sub[HK_ID_MAX];
	int64_t epoch;
	int draining;
	int loading; /* gained: served once its record is read again */
	int reading; /* ... and that read is out */
};

/*
 * A record read again through the writer (PG_REFRESH), in order with
 * this node's own changes: it is never older than what their so_done
 * put in the cache before it, and those after it come later. Read by
 * the cluster thread instead, a record could reach the loop after a
 * newer change of this node's had, and undo it in the cache.
 */
struct pc_refresh {
	struct hk_st_op op;
	enum hk_st_list list;
	char id[HK_ID_MAX]; /* "": every record (a full reload) */
	int64_t epoch; /* the gained lease that waits for it, or 0 */
	PGresult *res; /* (list, id, body) rows */
};

/* A record the loop knows of (for a full reload's sweep). */
struct pc_known {
	char id[HK_ID_MAX];
	uint64_t gen;
};

/* Handed back by the loop: a drained lease to delete. */
struct pc_release {
	struct pc_release *next;
	char sub[HK_ID_MAX];
	int64_t epoch;
};

static struct {
	int inited;
	int on;
	char node[128];
	char inst[33]; /* this process's run: a restart is another */
	char pub[128], adm[128]; /* lock: the loop sets them once bound */
	int64_t lease_ms;
	char lease_txt[24];

	/* The thread. */
	pthread_t thread;
	int started;
	struct pg_link link;
	int listening;
	struct hk_map held; /* sub -> struct pc_lease */
	int64_t seen; /* the change log read up to */
	uint64_t reloaded; /* the loop's reload asks done */
	int64_t next_beat_us, trim_us, hint_us, poll_us;
	int hinted; /* a beat was asked for */

	/* Shared (lock). */
	pthread_mutex_t lock;
	struct pc_msg *mhead, **mtail; /* for the loop */
	struct pc_release *rhead; /* for the thread */
	char *stats;
	size_t statslen;
	int closing;
	uint64_t reload_asks; /* the loop's: a record it could not read */
	int lefd, tefd; /* wake the loop; wake the thread */

	/* The loop. */
	struct event *ready, *drain;
	struct hk_st_watch watch;
	int watching;
	struct hk_map served; /* sub -> struct pc_serve */
	int64_t valid_until; /* mono us */
	struct pc_msg *nodes; /* the last PC_NODES */
	struct hk_map known[2]; /* webhooks, subscriptions */
	uint64_t gen; /* the sweep's generation */
	int refresh_failing; /* reads again that failed in a row */
} pc;

/* ---- the thread ---- */

static void
pc_post(struct pc_msg **list, enum pc_kind kind, const char *id, int64_t epoch)
{
	struct pc_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return; /* the next beat says it again */
	m->kind = kind;
	m->epoch = epoch;
	if (id != NULL)
		snprintf(m->id, sizeof(m->id), "%s", id);
	m->next = *list;
	*list = m;
}

/* Hands LIST (built newest first) to the loop, oldest first. */
static void
pc_send(struct pc_msg *list)
{
	struct pc_msg *rev = NULL, *m;

	if (list == NULL)
		return;
	while ((m = list) != NULL) {
		list = m->next;
		m->next = rev;
		rev = m;
	}
	pthread_mutex_lock(&pc.lock);
	*pc.mtail = rev;
	for (m = rev; m->next != NULL; m = m->next)
		;
	pc.mtail = &m->next;
	pthread_mutex_unlock(&pc.lock);
	pg_wake(pc.lefd);
}

static void
pc_msg_free(struct pc_msg *m)
{
	free(m->nodes);
	free(m->strings);
	free(m);
}

static void
pc_p_ms(struct pg_params *p)
{
	pg_p_text(p, pc.lease_txt);
}

/* The live nodes: a PC_NODES message, how many, and this one's rank. */
static int
pc_read_nodes(PGconn *c, struct pc_msg **out, int *live, int *rank)
{
	struct pg_params p = {0};
	struct pc_msg *m;
	PGresult *r;
	size_t size = 0, off = 0;
	int i, n, k, rc;
	static const int cols[] = {0, 1, 2, 4};

	pc_p_ms(&p);
	if ((r = pg_exec(c,
	         "SELECT n.id, n.public_addr, n.admin_addr, "
	         "(extract(epoch FROM n.heartbeat_at) * 1000)::bigint, "
	         "coalesce(n.stats, ''), (SELECT count(*) FROM hookd_leases l "
	         "WHERE l.node = n.id AND l.expires_at > now()) FROM "
	         "hookd_nodes n WHERE n.heartbeat_at > now() - $1::bigint * "
	         "interval '1 ms' ORDER BY n.id",
	         &p, &rc)) == NULL)
		return rc;
	n = PQntuples(r);
	*live = n;
	*rank = 0;
	for (i = 0; i < n; i++)
		if (strcmp(PQgetvalue(r, i, 0), pc.node) == 0)
			*rank = i;
	for (i = 0; i < n; i++)
		for (k = 0; k < 4; k++)
			size += (size_t)PQgetlength(r, i, cols[k]) + 1;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (n > 0 &&
	        (m->nodes = calloc((size_t)n, sizeof(*m->nodes))) == NULL) ||
	    (m->strings = malloc(size + 1)) == NULL) {
		if (m != NULL)
			pc_msg_free(m);
		PQclear(r);
		return 0; /* the count holds; the picture waits a beat */
	}
	m->kind = PC_NODES;
	m->nnodes = (size_t)n;
	for (i = 0; i < n; i++) {
		const char **dst[] = {&m->nodes[i].sn_id,
		    &m->nodes[i].sn_public, &m->nodes[i].sn_admin,
		    &m->nodes[i].sn_stats};
		for (k = 0; k < 4; k++) {
			size_t len = (size_t)PQgetlength(r, i, cols[k]);

			memcpy(
			    m->strings + off, PQgetvalue(r, i, cols[k]), len);
			m->strings[off + len] = '\0';
			*dst[k] = m->strings + off;
			off += len + 1;
		}
		if (m->nodes[i].sn_stats[0] == '\0')
			m->nodes[i].sn_stats = NULL;
		m->nodes[i].sn_heartbeat_ms = pg_int(r, i, 3);
		m->nodes[i].sn_subs = (uint64_t)pg_int(r, i, 5);
		m->nodes[i].sn_self = strcmp(m->nodes[i].sn_id, pc.node) == 0;
	}
	PQclear(r);
	m->next = *out;
	*out = m;
	return 0;
}

/* hk_map_foreach's accumulators: the thread's only. */
static struct {
	struct pc_lease **v;
	size_t n;
	int active;
} pc_acc;

static void
pc_collect(void *val)
{
	struct pc_lease *l = val;

	pc_acc.v[pc_acc.n++] = l;
	if (!l->draining)
		pc_acc.active++;
}

static int
pc_lease_cmp(const void *a, const void *b)
{
	const struct pc_lease *x = *(struct pc_lease *const *)a;
	const struct pc_lease *y = *(struct pc_lease *const *)b;

	return strcmp(x->sub, y->sub);
}

/* Every lease held, sorted by subscription (the caller frees *V). */
static size_t
pc_held_sorted(struct pc_lease ***v)
{
	memset(&pc_acc, 0, sizeof(pc_acc));
	if ((pc_acc.v = calloc(pc.held.m_used + 1, sizeof(*pc_acc.v))) ==
	    NULL) {
		*v = NULL;
		return 0;
	}
	hk_map_foreach(&pc.held, pc_collect);
	qsort(pc_acc.v, pc_acc.n, sizeof(*pc_acc.v), pc_lease_cmp);
	*v = pc_acc.v;
	return pc_acc.n;
}

static int
pc_hold(const char *sub, int64_t epoch)
{
	struct pc_lease *l = hk_map_get(&pc.held, sub, strlen(sub));

	if (l != NULL) {
		l->epoch = epoch;
		l->draining = 0;
		return 0;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return HK_ENOMEM;
	snprintf(l->sub, sizeof(l->sub), "%s", sub);
	l->epoch = epoch;
	if (hk_map_put(&pc.held, l->sub, strlen(l->sub), l) != 0) {
		free(l);
		return HK_ENOMEM;
	}
	return 0;
}

/* Renews the leases held; those it could not are lost (PC_LOST). */
/* Forgets the lease SUB held under EPOCH. */
static void
pc_unhold(const char *sub, int64_t epoch)
{
	struct pc_lease *l = hk_map_get(&pc.held, sub, strlen(sub));

	if (l != NULL && l->epoch == epoch) {
		hk_map_del(&pc.held, l->sub, strlen(l->sub));
		free(l);
	}
}

static int
pc_renew(PGconn *c, struct pc_msg **out)
{
	struct pg_params p = {0};
	struct pc_lease **v, *l;
	struct pg_arr subs, epochs;
	PGresult *r = NULL;
	size_t i, n;
	int rc, k;

	/*
	 * Only the leases this thread knows it holds: a row of this run's
	 * that it dropped (a release whose DELETE failed, a claim of a beat
	 * that failed) is left to expire, never renewed unserved.
	 */
	n = pc_held_sorted(&v);
	pg_arr_init(&subs, PG_OID_TEXT);
	pg_arr_init(&epochs, PG_OID_INT8);
	for (i = 0; i < n; i++) {
		pg_arr_text(&subs, v[i]->sub);
		pg_arr_int(&epochs, v[i]->epoch);
	}
	pc_p_ms(&p);
	pg_p_text(&p, pc.node);
	pg_p_text(&p, pc.inst);
	if ((rc = pg_arr_param(&p, &subs)) == 0 &&
	    (rc = pg_arr_param(&p, &epochs)) == 0)
		r = pg_exec(c,
		    "UPDATE hookd_leases SET expires_at = now() + $1::bigint * "
		    "interval '1 ms' WHERE sub IN (SELECT sub FROM hookd_leases "
		    "WHERE node = $2 AND instance = $3 AND expires_at > now() "
		    "AND (sub, epoch) IN (SELECT * FROM unnest($4::text[], "
		    "$5::int8[])) ORDER BY sub FOR UPDATE) RETURNING sub, epoch",
		    &p, &rc);
	hk_buf_free(&subs.b);
	hk_buf_free(&epochs.b);
	if (r == NULL) {
		free(v);
		return rc;
	}
	for (i = 0; i < n; i++) {
		l = v[i];
		for (k = 0; k < PQntuples(r); k++)
			if (strcmp(PQgetvalue(r, k, 0), l->sub) == 0 &&
			    pg_int(r, k, 1) == l->epoch)
				break;
		if (k < PQntuples(r))
			continue;
		pc_post(out, PC_LOST, l->sub, l->epoch);
		hk_map_del(&pc.held, l->sub, strlen(l->sub));
		free(l);
	}
	free(v);
	PQclear(r);
	return 0;
}

/* Claims up to WANT unleased or expired subscriptions (PC_GAIN each). */
static int
pc_claim(PGconn *c, int want, struct pc_msg **out)
{
	struct pg_params p = {0};
	PGresult *r;
	int i, rc;

	pc_p_ms(&p);
	pg_p_text(&p, pc.node);
	pg_p_text(&p, pc.inst);
	pg_p_int(&p, want);
	/* In id order, as renewals and the writer's fence lock leases. */
	if ((r = pg_exec(c,
	         "WITH c AS (INSERT INTO hookd_leases (sub, node, instance, "
	         "epoch, expires_at) SELECT s.id, $2, $3, "
	         "nextval('hookd_epoch'), now() + $1::bigint * interval '1 ms' "
	         "FROM hookd_subs s LEFT JOIN hookd_leases l ON l.sub = s.id "
	         "WHERE l.sub IS NULL OR l.expires_at < now() ORDER BY s.id "
	         "LIMIT $4 ON CONFLICT (sub) DO UPDATE SET node = "
	         "EXCLUDED.node, instance = EXCLUDED.instance, epoch = "
	         "EXCLUDED.epoch, expires_at = EXCLUDED.expires_at WHERE "
	         "hookd_leases.expires_at < now() RETURNING sub, epoch) "
	         "SELECT sub, epoch FROM c",
	         &p, &rc)) == NULL)
		return rc;
	for (i = 0; i < PQntuples(r); i++) {
		if (pc_hold(PQgetvalue(r, i, 0), pg_int(r, i, 1)) != 0)
			continue; /* not told: it expires, another takes it */
		pc_post(out, PC_GAIN, PQgetvalue(r, i, 0), pg_int(r, i, 1));
	}
	PQclear(r);
	return 0;
}

/* Gives up N leases above the share, the last by id (PC_DRAIN). */
static void
pc_shed(int n, struct pc_msg **out)
{
	struct pc_lease **v;
	size_t i, k;

	k = pc_held_sorted(&v);
	for (i = k; i-- > 0 && n > 0;) {
		if (v[i]->draining)
			continue;
		v[i]->draining = 1;
		pc_post(out, PC_DRAIN, v[i]->sub, v[i]->epoch);
		n--;
	}
	free(v);
}

/*
 * What other nodes changed since pc.seen, or everything after a gap (or
 * when the loop asks): names only, which the loop reads again through
 * the writer (struct pc_refresh).
 */
static int
pc_changes(PGconn *c, struct pc_msg **out)
{
	struct pg_params p = {0};
	PGresult *r;
	int64_t cur, low;
	uint64_t asks;
	int i, rc, full;

	if ((r = pg_exec(c,
	         "SELECT (SELECT value::bigint FROM hookd_meta WHERE key = "
	         "'config_version'), coalesce((SELECT min(ver) FROM "
	         "hookd_changes), 0)",
	         NULL, &rc)) == NULL)
		return rc;
	cur = pg_int(r, 0, 0);
	low = pg_int(r, 0, 1);
	PQclear(r);
	pthread_mutex_lock(&pc.lock);
	asks = pc.reload_asks;
	pthread_mutex_unlock(&pc.lock);
	if (cur <= pc.seen && asks == pc.reloaded)
		return 0;
	/* Trimmed past what this node saw: read everything again. */
	full = asks != pc.reloaded || low == 0 || low > pc.seen + 1;
	if (full) {
		log_info("cluster_reload", "from=%lld to=%lld",
		    (long long)pc.seen, (long long)cur);
		pc_post(out, PC_RELOAD, NULL, 0);
		pc.reloaded = asks;
		pc.seen = cur;
		return 0;
	}
	pg_p_int(&p, pc.seen);
	pg_p_int(&p, cur);
	pg_p_text(&p, pc.inst);
	if ((r = pg_exec(c,
	         "SELECT c.list::bigint, c.id FROM hookd_changes c WHERE "
	         "c.ver > $1 AND c.ver <= $2 AND c.node <> $3 ORDER BY c.ver",
	         &p, &rc)) == NULL)
		return rc;
	for (i = 0; i < PQntuples(r); i++) {
		pc_post(out, PC_CHANGED, PQgetvalue(r, i, 1), 0);
		(*out)->list =
		    pg_int(r, i, 0) == 0 ? HK_SL_WEBHOOKS : HK_SL_SUBS;
	}
	PQclear(r);
	pc.seen = cur;
	return 0;
}

/* Deletes the leases the loop has drained; others may take them now. */
static void
pc_releases(PGconn *c)
{
	struct pc_release *list, *rl;
	int any = 0;

	pthread_mutex_lock(&pc.lock);
	list = pc.rhead;
	pc.rhead = NULL;
	pthread_mutex_unlock(&pc.lock);
	/* Its COMMIT bounded: a synchronous standby gone hangs no beat. */
	if (list != NULL && pg_simple(c, "BEGIN") != 0)
		c = NULL;
	while ((rl = list) != NULL) {
		struct pg_params p = {0};

		list = rl->next;
		pg_p_text(&p, rl->sub);
		pg_p_text(&p, pc.node);
		pg_p_int(&p, rl->epoch);
		/*
		 * Failing, it expires by itself: the same in a lease's time
		 * (no longer held, it is not renewed).
		 */
		if (c != NULL &&
		    pg_run(c,
		        "DELETE FROM hookd_leases WHERE sub = $1 AND node = $2 "
		        "AND epoch = $3",
		        &p) == 0)
			any = 1;
		pc_unhold(rl->sub, rl->epoch);
		free(rl);
	}
	if (c == NULL)
		return;
	if (any)
		(void)pg_run(c, "SELECT pg_notify('hookd_lease', '')", NULL);
	if (PQtransactionStatus(c) == PQTRANS_INERROR)
		(void)pg_simple(c, "ROLLBACK");
	else
		(void)pg_commit(c);
}

/* One beat, in one transaction; what it learned goes to the loop after. */
static int
pc_beat(PGconn *c)
{
	struct pg_params p = {0};
	struct pc_msg *out = NULL, *m;
	struct pc_lease **v;
	PGresult *r;
	int64_t t0 = hk_mono_us();
	int rc, live = 1, rank = 0, subs, held = 0, share;
	char *stats, pub[sizeof(pc.pub)], adm[sizeof(pc.adm)];
	int64_t seen = pc.seen; /* put back if the beat fails */
	uint64_t reloaded = pc.reloaded;

	pthread_mutex_lock(&pc.lock);
	stats = pc.stats != NULL ? strdup(pc.stats) : NULL;
	memcpy(pub, pc.pub, sizeof(pub));
	memcpy(adm, pc.adm, sizeof(adm));
	pthread_mutex_unlock(&pc.lock);
	/*
	 * Renewed no earlier than T0: the database's expiry is later than
	 * T0 + lease by its own clock; the loop stops a tenth before.
	 */
	pc_post(&out, PC_VALID, NULL, t0 + pc.lease_ms * 900);
	if ((rc = pg_simple(c, "BEGIN")) != 0)
		goto fail;
	pg_p_text(&p, pc.node);
	pg_p_text(&p, pc.inst);
	pg_p_text(&p, pub);
	pg_p_text(&p, adm);
	if (stats != NULL)
		pg_p_text(&p, stats);
	else
		pg_p_text(&p, "");
	if ((rc = pg_run(c,
	         "INSERT INTO hookd_nodes (id, instance, public_addr, "
	         "admin_addr, stats) VALUES ($1, $2, $3, $4, nullif($5, '')) "
	         "ON CONFLICT (id) DO UPDATE SET instance = EXCLUDED.instance, "
	         "public_addr = EXCLUDED.public_addr, admin_addr = "
	         "EXCLUDED.admin_addr, stats = EXCLUDED.stats, heartbeat_at = "
	         "now()",
	         &p)) != 0)
		goto fail;
	if ((rc = pc_renew(c, &out)) != 0 ||
	    (rc = pc_read_nodes(c, &out, &live, &rank)) != 0)
		goto fail;
	if ((r = pg_exec(c, "SELECT count(*) FROM hookd_subs", NULL, &rc)) ==
	    NULL)
		goto fail;
	subs = (int)pg_int(r, 0, 0);
	PQclear(r);
	/*
	 * The shares add up to the subscriptions: the first nodes by name
	 * take one more each where they do not divide evenly.
	 */
	if (live < 1)
		live = 1;
	share = subs / live + (rank < subs % live);
	(void)pc_held_sorted(&v);
	free(v);
	held = pc_acc.active;
	if (held < share && (rc = pc_claim(c, share - held, &out)) != 0)
		goto fail;
	else if (held > share)
		pc_shed(held - share, &out);
	if ((rc = pc_changes(c, &out)) != 0)
		goto fail;
	if (t0 >= pc.trim_us) {
		pc.trim_us = t0 + PC_TRIM_EVERY_US;
		if ((rc = pg_run(c,
		         "DELETE FROM hookd_changes WHERE at < now() - "
		         "interval '1 hour'",
		         NULL)) != 0 ||
		    (rc = pg_run(c,
		         "DELETE FROM hookd_nodes WHERE heartbeat_at < now() - "
		         "interval '1 day'",
		         NULL)) != 0)
			goto fail;
	}
	if ((rc = pg_commit(c)) != 0)
		goto fail;
	free(stats);
	pc_post(&out, PC_WAKE, NULL, 0);
	pc_send(out);
	return 0;
fail:
	free(stats);
	pc.seen = seen;
	pc.reloaded = reloaded;
	if (PQstatus(c) == CONNECTION_OK)
		(void)pg_simple(c, "ROLLBACK");
	while ((m = out) != NULL) {
		/*
		 * A claim of this beat is not held: rolled back, or (a COMMIT
		 * whose answer was lost) kept but not renewed, so it expires.
		 */
		if (m->kind == PC_GAIN)
			pc_unhold(m->id, m->epoch);
		out = m->next;
		pc_msg_free(m);
	}
	return rc;
}

/* Reads what NOTIFY brought: the hints it carries. */
static void
pc_notified(PGconn *c, int *config, int *work, int *lease)
{
	PGnotify *n;

	if (!PQconsumeInput(c))
		return;
	while ((n = PQnotifies(c)) != NULL) {
		/* This process's own: not the node id, which two may share. */
		int own = strcmp(n->extra, pc.inst) == 0;

		if (strcmp(n->relname, "hookd_config") == 0 && !own)
			*config = 1;
		else if (strcmp(n->relname, "hookd_work") == 0 && !own)
			*work = 1;
		else if (strcmp(n->relname, "hookd_lease") == 0)
			*lease = 1;
		PQfreemem(n);
	}
}

static int
pc_closing(void)
{
	int closing;

	pthread_mutex_lock(&pc.lock);
	closing = pc.closing;
	pthread_mutex_unlock(&pc.lock);
	return closing;
}

/* Waits for the database's socket, the loop's wake, or MS. */
static void
pc_wait(PGconn *c, int64_t ms)
{
	struct pollfd fds[2];
	uint64_t v;
	int n = 0;

	fds[n].fd = pc.tefd;
	fds[n++].events = POLLIN;
	if (c != NULL && PQstatus(c) == CONNECTION_OK && PQsocket(c) >= 0) {
		fds[n].fd = PQsocket(c);
		fds[n++].events = POLLIN;
	}
	if (ms < 0)
		ms = 0;
	if (poll(fds, (nfds_t)n, (int)(ms > 60000 ? 60000 : ms)) > 0 &&
	    (fds[0].revents & POLLIN))
		while (read(pc.tefd, &v, sizeof(v)) == -1 && errno == EINTR)
			;
}

static void *
pc_thread(void *arg)
{
	struct pc_msg *out, *m;
	int64_t now, beat_us = pc.lease_ms * 200; /* a fifth of the lease */
	int config, work, lease, hinted;

	(void)arg;
	while (!pc_closing()) {
		now = hk_mono_us();
		if (!pg_link_ok(&pc.link)) {
			pc.listening = 0;
			pc_wait(NULL, (pc.link.retry_us - now) / 1000 + 1);
			continue;
		}
		if (!pc.listening) {
			if (pg_simple(pc.link.c,
			        "LISTEN hookd_config; LISTEN hookd_work; "
			        "LISTEN hookd_lease") != 0)
				continue;
			pc.listening = 1;
			pc.next_beat_us = now; /* what it missed, now */
		}
		config = work = lease = 0;
		pc_notified(pc.link.c, &config, &work, &lease);
		if (work) {
			out = NULL;
			pc_post(&out, PC_WAKE, NULL, 0);
			pc_send(out);
		}
		if (config || now >= pc.poll_us) {
			/* Read now; a beat reads it too, should this fail. */
			pc.poll_us = now + PC_POLL_MS * 1000;
			out = NULL;
			if (pc_changes(pc.link.c, &out) == 0)
				pc_send(out);
			else
				while ((m = out) != NULL) {
					out = m->next;
					pc_msg_free(m);
				}
		}
		/* A subscription made, deleted or let go: shares change. */
		hinted = lease;
		if (hinted && now - pc.hint_us >= PC_BEAT_MIN_MS * 1000) {
			pc.hint_us = now;
			pc.next_beat_us = now;
		} else if (hinted &&
		    pc.next_beat_us > pc.hint_us + PC_BEAT_MIN_MS * 1000)
			pc.next_beat_us = pc.hint_us + PC_BEAT_MIN_MS * 1000;
		pc_releases(pc.link.c);
		if (now >= pc.next_beat_us) {
			/* A failed beat goes again soon; the lease allows it. */
			pc.next_beat_us = now +
			    (pc_beat(pc.link.c) == 0 ? beat_us : beat_us / 4);
			continue;
		}
		pc_wait(pc.link.c,
		    ((pc.next_beat_us < pc.poll_us ? pc.next_beat_us
		                                   : pc.poll_us) -
		        now) /
		            1000 +
		        1);
	}
	return NULL;
}

/* ---- the writer ---- */

/* Whether OP carries a lease to check, and its subscription and epoch. */
static int
pc_fenced_op(struct hk_st_op *op, const char **sub, int64_t *epoch)
{
	if (op->so_kind == HK_ST_OUTCOME) {
		struct hk_st_outcome *oc = (struct hk_st_outcome *)(void *)op;

		*sub = oc->oc_sub;
		*epoch = oc->oc_epoch;
	} else if (op->so_kind == HK_ST_SUB) {
		struct hk_st_record *rc = (struct hk_st_record *)(void *)op;

		*sub = rc->rc_id;
		*epoch = rc->rc_epoch;
	} else
		return 0;
	return *epoch != 0;
}

static int
pc_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
pc_fence(PGconn *c, struct hk_st_op *list, int (*skip)(struct hk_st_op *),
    void (*fence)(struct hk_st_op *),
    struct hk_st_op *(*next)(struct hk_st_op *))
{
	struct pg_params p = {0};
	struct hk_buf arr = HK_BUF_INIT;
	struct hk_st_op *op;
	const char **subs = NULL, *sub;
	int64_t epoch;
	PGresult *r;
	size_t n = 0, cap = 0, i;
	int rc = 0, k, ok;

	if (!pc.on)
		return 0;
	for (op = list; op != NULL; op = next(op)) {
		if (skip(op) || !pc_fenced_op(op, &sub, &epoch))
			continue;
		if (n == cap) {
			const char **v;

			cap = cap ? 2 * cap : 16;
			if ((v = realloc(subs, cap * sizeof(*v))) == NULL) {
				free(subs);
				return HK_ENOMEM;
			}
			subs = v;
		}
		subs[n++] = sub;
	}
	if (n == 0)
		return 0;
	qsort(subs, n, sizeof(*subs), pc_str_cmp);
	/* Ids are [a-z0-9_]: an array literal needs no quoting. */
	rc = hk_buf_addc(&arr, '{');
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0 && strcmp(subs[i], subs[i - 1]) == 0)
			continue;
		if (i > 0)
			rc = hk_buf_addc(&arr, ',');
		if (rc == 0)
			rc = hk_buf_adds(&arr, subs[i]);
	}
	if (rc == 0)
		rc = hk_buf_add(&arr, "}", 2); /* with the NUL */
	free(subs);
	if (rc != 0) {
		hk_buf_free(&arr);
		return HK_ENOMEM;
	}
	pg_p_text(&p, arr.b);
	pg_p_text(&p, pc.node);
	r = pg_execp(c,
	    "SELECT sub, epoch FROM hookd_leases WHERE sub = ANY($1::text[]) "
	    "AND node = $2 AND expires_at > now() ORDER BY sub FOR SHARE",
	    &p, &rc);
	hk_buf_free(&arr);
	if (r == NULL)
		return rc;
	for (op = list; op != NULL; op = next(op)) {
		if (skip(op) || !pc_fenced_op(op, &sub, &epoch))
			continue;
		for (k = 0, ok = 0; k < PQntuples(r) && !ok; k++)
			ok = strcmp(PQgetvalue(r, k, 0), sub) == 0 &&
			    pg_int(r, k, 1) == epoch;
		if (!ok)
			fence(op);
	}
	PQclear(r);
	return 0;
}

int
pc_changed(PGconn *c, enum hk_st_list list, const char *id)
{
	struct pg_params p = {0};

	pg_p_int(&p, list == HK_SL_WEBHOOKS ? 0 : 1);
	pg_p_text(&p, id);
	pg_p_text(&p, pc.inst); /* hookd_changes.node: the run that made it */
	/* The row lock on the counter numbers the changes in commit order. */
	return pg_runp(c,
	    "WITH v AS (UPDATE hookd_meta SET value = (value::bigint + 1)"
	    "::text WHERE key = 'config_version' RETURNING value::bigint AS "
	    "ver) INSERT INTO hookd_changes (ver, list, id, node) SELECT ver, "
	    "$1::smallint, $2, $3 FROM v",
	    &p);
}

int
pc_notify(PGconn *c, int config, int work, int lease)
{
	struct pg_params p = {0};
	int rc = 0;

	pg_p_text(&p, pc.inst);
	if (config)
		rc = pg_runp(c, "SELECT pg_notify('hookd_config', $1)", &p);
	if (rc == 0 && work)
		rc = pg_runp(c, "SELECT pg_notify('hookd_work', $1)", &p);
	if (rc == 0 && lease)
		rc = pg_runp(c, "SELECT pg_notify('hookd_lease', $1)", &p);
	return rc;
}

/* ---- the loop ---- */

static int
pc_know(enum hk_st_list list, const char *id, int gone)
{
	struct hk_map *m = &pc.known[list == HK_SL_WEBHOOKS ? 0 : 1];
	struct pc_known *k = hk_map_get(m, id, strlen(id));

	if (gone) {
		free(hk_map_del(m, id, strlen(id)));
		return 0;
	}
	if (k == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return HK_ENOMEM;
		snprintf(k->id, sizeof(k->id), "%s", id);
		if (hk_map_put(m, k->id, strlen(k->id), k) != 0) {
			free(k);
			return HK_ENOMEM;
		}
	}
	k->gen = pc.gen;
	return 0;
}

void
pc_scanned(enum hk_st_list list, const char *id)
{
	if (list == HK_SL_WEBHOOKS || list == HK_SL_SUBS)
		(void)pc_know(list, id, 0);
}

/* After a full reload: what it did not find was deleted meanwhile. */
static struct {
	struct pc_known **v;
	size_t n;
} pc_old;

static void
pc_old_collect(void *val)
{
	struct pc_known *k = val;

	if (k->gen != pc.gen)
		pc_old.v[pc_old.n++] = k;
}

static void
pc_sweep(void)
{
	size_t i, l;
	enum hk_st_list lists[] = {HK_SL_WEBHOOKS, HK_SL_SUBS};

	for (l = 0; l < 2; l++) {
		pc_old.n = 0;
		if ((pc_old.v = calloc(
		         pc.known[l].m_used + 1, sizeof(*pc_old.v))) == NULL)
			return;
		hk_map_foreach(&pc.known[l], pc_old_collect);
		for (i = 0; i < pc_old.n; i++) {
			char id[HK_ID_MAX];

			snprintf(id, sizeof(id), "%s", pc_old.v[i]->id);
			(void)pc_know(lists[l], id, 1);
			if (pc.watch.sw_changed != NULL)
				pc.watch.sw_changed(lists[l], id, NULL, 0);
		}
		free(pc_old.v);
		pc_old.v = NULL;
	}
}

static void
pc_release(const char *sub, int64_t epoch)
{
	struct pc_release *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return; /* it expires instead */
	snprintf(rl->sub, sizeof(rl->sub), "%s", sub);
	rl->epoch = epoch;
	pthread_mutex_lock(&pc.lock);
	rl->next = pc.rhead;
	pc.rhead = rl;
	pthread_mutex_unlock(&pc.lock);
	pg_wake(pc.tefd);
}

/* Writer thread: the record(s) F names, as they are now. */
int
pc_refresh_apply(struct hk_st_op *op, struct pg_tx *tx)
{
	struct pc_refresh *f = (struct pc_refresh *)(void *)op;
	struct pg_params p = {0};
	int rc;

	PQclear(f->res); /* applied again: a failed batch */
	if (f->id[0] == '\0')
		f->res = pg_exec(tx->tx_conn,
		    "SELECT 0::bigint, id, body FROM hookd_webhooks UNION ALL "
		    "SELECT 1, id, body FROM hookd_subs",
		    NULL, &rc);
	else {
		pg_p_text(&p, f->id);
		f->res = pg_exec(tx->tx_conn,
		    f->list == HK_SL_WEBHOOKS
		        ? "SELECT 0::bigint, id, body FROM hookd_webhooks "
		          "WHERE id = $1"
		        : "SELECT 1::bigint, id, body FROM hookd_subs WHERE "
		          "id = $1",
		    &p, &rc);
	}
	return f->res != NULL ? 0 : rc;
}

/* Asks the thread for a full reload (any thread). */
void
pc_reload_ask(void)
{
	if (!pc.on)
		return;
	pthread_mutex_lock(&pc.lock);
	pc.reload_asks++;
	pthread_mutex_unlock(&pc.lock);
	pg_wake(pc.tefd);
}

/* The cache takes record ID of LIST as stored now (TEXT NULL: gone). */
static void
pc_install(enum hk_st_list list, const char *id, const char *text, size_t len)
{
	(void)pc_know(list, id, text == NULL);
	if (pc.watch.sw_changed != NULL)
		pc.watch.sw_changed(list, id, text, len);
}

/*
 * A gained lease's record is read (RC 0): it is served from now on.
 * Unread (the writer lost, say), it stays held and unserved, read again
 * at the next beat (pc_read_gain): handing it back would have it
 * claimed anew, with a new epoch, as fast as the hints go.
 */
static void
pc_gained(const char *sub, int64_t epoch, int rc)
{
	struct pc_serve *s = hk_map_get(&pc.served, sub, strlen(sub));

	if (s == NULL || s->epoch != epoch || !s->loading)
		return; /* lost or gained again meanwhile */
	s->reading = 0;
	if (rc != 0)
		return;
	s->loading = 0;
	log_info("lease_gained", "subscription=%s epoch=%lld", sub,
	    (long long)epoch);
}

static int pc_refresh(enum hk_st_list, const char *id, int64_t epoch);

/* Reads the record of gained lease VAL (a pc_serve), unless it is out. */
static void
pc_read_gain(void *val)
{
	struct pc_serve *s = val;

	if (s->loading && !s->reading &&
	    pc_refresh(HK_SL_SUBS, s->sub, s->epoch) == 0)
		s->reading = 1;
}

static void
pc_refreshed(struct hk_st_op *op, int rc)
{
	struct pc_refresh *f = (struct pc_refresh *)(void *)op;
	int i, n;

	if (rc == 0) {
		if (f->id[0] == '\0')
			pc.gen++; /* what the reload finds is marked with it */
		n = PQntuples(f->res);
		for (i = 0; i < n; i++)
			pc_install(pg_int(f->res, i, 0) == 0 ? HK_SL_WEBHOOKS
			                                     : HK_SL_SUBS,
			    PQgetvalue(f->res, i, 1), PQgetvalue(f->res, i, 2),
			    (size_t)PQgetlength(f->res, i, 2));
		if (f->id[0] == '\0')
			pc_sweep();
		else if (n == 0)
			pc_install(f->list, f->id, NULL, 0);
	} else if (rc != HK_ESHUTDOWN) {
		/* Once per outage: the reload is asked again at every beat. */
		if (!pc.refresh_failing++)
			log_warn("cluster_refresh", "record=%s error=%s",
			    f->id[0] != '\0' ? f->id : "all",
			    hk_logq(hk_strerror(rc)));
		pc_reload_ask();
	}
	if (rc == 0)
		pc.refresh_failing = 0;
	if (f->epoch != 0)
		pc_gained(f->id, f->epoch, rc);
	PQclear(f->res);
	free(f);
	if (pc.watch.sw_wake != NULL)
		pc.watch.sw_wake();
}

/*
 * Reads record ID of LIST again (ID NULL: every record), for the
 * lease of EPOCH (0: none) if it waits. 0, or the code it could not.
 */
static int
pc_refresh(enum hk_st_list list, const char *id, int64_t epoch)
{
	struct pc_refresh *f = calloc(1, sizeof(*f));
	int rc;

	if (f == NULL)
		return HK_ENOMEM;
	f->op.so_kind = PG_REFRESH;
	f->op.so_done = pc_refreshed;
	f->list = list;
	if (id != NULL)
		snprintf(f->id, sizeof(f->id), "%s", id);
	f->epoch = epoch;
	if ((rc = pg_submit(&f->op)) != 0)
		free(f);
	return rc;
}

void
pc_reaped(struct hk_st_op *op, int rc)
{
	struct hk_st_record *r = (struct hk_st_record *)(void *)op;

	/*
	 * An engine's change of a subscription whose lease had gone: the
	 * cache holds what was refused (a disable, say), the store not.
	 */
	if (rc == HK_EFENCED && op->so_kind == HK_ST_SUB &&
	    pc_refresh(HK_SL_SUBS, r->rc_id, 0) != 0)
		pc_reload_ask();
	if (rc != 0 ||
	    (op->so_kind != HK_ST_WEBHOOK && op->so_kind != HK_ST_SUB))
		return;
	(void)pc_know(
	    op->so_kind == HK_ST_WEBHOOK ? HK_SL_WEBHOOKS : HK_SL_SUBS,
	    r->rc_id, r->rc_verb == HK_ST_DELETE);
}

static struct {
	struct pc_serve **v;
	size_t n;
} pc_dr;

static void
pc_drain_collect(void *val)
{
	struct pc_serve *s = val;

	if (s->draining)
		pc_dr.v[pc_dr.n++] = s;
}

/* Leases given up whose attempts are all over go back to the thread. */
static void
pc_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {0, PC_DRAIN_MS * 1000};
	size_t i, left = 0;

	(void)fd;
	(void)what;
	(void)arg;
	pc_dr.n = 0;
	if ((pc_dr.v = calloc(pc.served.m_used + 1, sizeof(*pc_dr.v))) == NULL)
		goto again;
	hk_map_foreach(&pc.served, pc_drain_collect);
	for (i = 0; i < pc_dr.n; i++) {
		struct pc_serve *s = pc_dr.v[i];

		if (pc.watch.sw_busy != NULL && pc.watch.sw_busy(s->sub)) {
			left++;
			continue;
		}
		pc_release(s->sub, s->epoch);
		hk_map_del(&pc.served, s->sub, strlen(s->sub));
		free(s);
	}
	free(pc_dr.v);
	pc_dr.v = NULL;
	if (left == 0)
		return;
again:
	evtimer_add(pc.drain, &tv);
}

static void
pc_apply(struct pc_msg *m, int *wake)
{
	struct pc_serve *s = hk_map_get(&pc.served, m->id, strlen(m->id));
	struct timeval tv = {0, PC_DRAIN_MS * 1000};

	switch (m->kind) {
	case PC_VALID:
		pc.valid_until = m->epoch;
		/* A beat: gained leases whose read failed try again. */
		hk_map_foreach(&pc.served, pc_read_gain);
		break;
	case PC_GAIN:
		if (s == NULL && (s = calloc(1, sizeof(*s))) != NULL) {
			snprintf(s->sub, sizeof(s->sub), "%s", m->id);
			if (hk_map_put(&pc.served, s->sub, strlen(s->sub), s) !=
			    0) {
				free(s);
				s = NULL;
			}
		}
		if (s == NULL) {
			pc_release(m->id, m->epoch);
			break;
		}
		s->epoch = m->epoch;
		s->draining = 0;
		/* The engine state the last holder saved, before serving. */
		s->loading = 1;
		s->reading = 0;
		pc_read_gain(s);
		break;
	case PC_LOST:
		if (s != NULL && s->epoch == m->epoch) {
			hk_map_del(&pc.served, s->sub, strlen(s->sub));
			free(s);
			log_info("lease_lost", "subscription=%s epoch=%lld",
			    m->id, (long long)m->epoch);
		}
		break;
	case PC_DRAIN:
		if (s != NULL && s->epoch == m->epoch) {
			s->draining = 1;
			log_info("lease_shed", "subscription=%s epoch=%lld",
			    m->id, (long long)m->epoch);
			if (!evtimer_pending(pc.drain, NULL))
				evtimer_add(pc.drain, &tv);
		}
		break;
	case PC_CHANGED:
		if (pc_refresh(m->list, m->id, 0) != 0)
			pc_reload_ask();
		break;
	case PC_RELOAD:
		if (pc_refresh(HK_SL_COUNT, NULL, 0) != 0)
			pc_reload_ask();
		break;
	case PC_WAKE:
		*wake = 1;
		break;
	case PC_NODES:
		if (pc.nodes != NULL)
			pc_msg_free(pc.nodes);
		pc.nodes = m;
		return; /* kept */
	}
	pc_msg_free(m);
}

static void
pc_ready(evutil_socket_t fd, short what, void *arg)
{
	struct pc_msg *list, *m;
	int wake = 0;

	(void)fd;
	(void)what;
	(void)arg;
	pg_drain(pc.lefd);
	pthread_mutex_lock(&pc.lock);
	list = pc.mhead;
	pc.mhead = NULL;
	pc.mtail = &pc.mhead;
	pthread_mutex_unlock(&pc.lock);
	while ((m = list) != NULL) {
		list = m->next;
		m->next = NULL;
		pc_apply(m, &wake);
	}
	if (wake && pc.watch.sw_wake != NULL)
		pc.watch.sw_wake();
}

void
pc_watch(const struct hk_st_watch *w)
{
	pc.watch = *w;
}

int
pc_serves(const char *sub, int64_t *epoch)
{
	const struct pc_serve *s = hk_map_get(&pc.served, sub, strlen(sub));

	*epoch = 0;
	if (s == NULL || s->draining || s->loading ||
	    hk_mono_us() >= pc.valid_until)
		return 0;
	*epoch = s->epoch;
	return 1;
}

size_t
pc_nodes(const struct hk_st_node **nodes)
{
	if (pc.nodes == NULL) {
		*nodes = NULL;
		return 0;
	}
	*nodes = pc.nodes->nodes;
	return pc.nodes->nnodes;
}

void
pc_addresses(const char *public_addr, const char *admin_addr)
{
	if (!pc.inited)
		return;
	pthread_mutex_lock(&pc.lock);
	snprintf(pc.pub, sizeof(pc.pub), "%s", public_addr);
	snprintf(pc.adm, sizeof(pc.adm), "%s", admin_addr);
	pthread_mutex_unlock(&pc.lock);
}

void
pc_publish(const char *text, size_t len)
{
	char *t = malloc(len + 1);

	if (t == NULL)
		return;
	memcpy(t, text, len);
	t[len] = '\0';
	pthread_mutex_lock(&pc.lock);
	free(pc.stats);
	pc.stats = t;
	pc.statslen = len;
	pthread_mutex_unlock(&pc.lock);
}

/* ---- open and close ---- */

/* The master key's check value: set by the first node, matched by all. */
static int
pc_keycheck(PGconn *c, const char *check, char **cause)
{
	struct pg_params p = {0};
	PGresult *r;
	int rc, same;

	if (check == NULL)
		return 0;
	pg_p_text(&p, check);
	if ((r = pg_exec(c,
	         "INSERT INTO hookd_meta VALUES ('key_check', $1) ON CONFLICT "
	         "(key) DO UPDATE SET value = hookd_meta.value RETURNING value",
	         &p, &rc)) == NULL)
		return pg_cause(
		    cause, "cannot read the key check", PQerrorMessage(c));
	same = strcmp(PQgetvalue(r, 0, 0), check) == 0;
	PQclear(r);
	if (!same) {
		(void)pg_cause(cause,
		    "the master key is not the one this database was made "
		    "with (--master-key-file must be the same file on every "
		    "node)",
		    NULL);
		return HK_ECRYPTO;
	}
	return 0;
}

static void
pc_free_map(void *val)
{
	free(val);
}

int
pc_open(PGconn *c, const struct hk_st_conf *sc, char **cause)
{
	struct pg_params p = {0};
	PGresult *r;
	unsigned char rnd[16];
	int rc;

	memset(&pc, 0, sizeof(pc));
	pc.lefd = pc.tefd = -1;
	pc.mtail = &pc.mhead;
	pthread_mutex_init(&pc.lock, NULL);
	pc.inited = 1;
	/*
	 * One transaction, its COMMIT bounded (pg_commit): with a
	 * synchronous standby gone, a write's commit waits for ever, and
	 * the start would hang instead of saying why.
	 */
	if (pg_simple(c, "BEGIN") != 0)
		return pg_cause(cause, "cannot register", PQerrorMessage(c));
	if ((rc = pc_keycheck(c, sc->sc_keycheck, cause)) != 0)
		return rc;
	snprintf(pc.node, sizeof(pc.node), "%s",
	    sc->sc_node != NULL ? sc->sc_node : "hookd");
	snprintf(pc.pub, sizeof(pc.pub), "%s",
	    sc->sc_public != NULL ? sc->sc_public : "");
	snprintf(pc.adm, sizeof(pc.adm), "%s",
	    sc->sc_admin != NULL ? sc->sc_admin : "");
	pc.lease_ms = sc->sc_lease_ms > 0 ? sc->sc_lease_ms : 10000;
	snprintf(
	    pc.lease_txt, sizeof(pc.lease_txt), "%lld", (long long)pc.lease_ms);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pc.inst, sizeof(pc.inst), rnd, sizeof(rnd));
	pc.link.name = "cluster";
	/* Read before the caller's scan: a change after it is read again. */
	if ((r = pg_exec(c,
	         "SELECT value::bigint FROM hookd_meta WHERE key = "
	         "'config_version'",
	         NULL, &rc)) == NULL)
		return pg_cause(
		    cause, "cannot read the config version", PQerrorMessage(c));
	pc.seen = PQntuples(r) > 0 ? pg_int(r, 0, 0) : 0;
	PQclear(r);
	/*
	 * A node of this name that ran before (a restart) left leases that
	 * nobody renews now: they expire at once, and this run claims anew.
	 */
	pg_p_text(&p, pc.node);
	pg_p_text(&p, pc.inst);
	if ((r = pg_exec(c,
	         "WITH x AS (UPDATE hookd_leases SET expires_at = now() - "
	         "interval '1 ms' WHERE node = $1 AND instance <> $2 RETURNING "
	         "1) SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM "
	         "hookd_nodes WHERE id = $1 AND heartbeat_at > now() - "
	         "interval '2 seconds')",
	         &p, &rc)) == NULL)
		return pg_cause(cause, "cannot register", PQerrorMessage(c));
	if (pg_int(r, 0, 1) > 0)
		log_warn("cluster_node", "node=%s error=%s", pc.node,
		    hk_logq("a node of this name beat seconds ago: two nodes "
		            "with one --node-id fence each other"));
	PQclear(r);
	if (pg_commit(c) != 0)
		return pg_cause(cause, "cannot register", pg_commit_why(c));
	pc.lefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pc.tefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pc.lefd == -1 || pc.tefd == -1)
		return pg_cause(cause, "eventfd", strerror(errno));
	pc.ready = event_new(
	    sc->sc_base, pc.lefd, EV_READ | EV_PERSIST, pc_ready, NULL);
	pc.drain = evtimer_new(sc->sc_base, pc_drain_tick, NULL);
	if (pc.ready == NULL || pc.drain == NULL ||
	    event_add(pc.ready, NULL) != 0)
		return pg_cause(cause, "cannot watch the cluster", NULL);
	pc.on = 1;
	if (pthread_create(&pc.thread, NULL, pc_thread, NULL) != 0) {
		pc.on = 0;
		return pg_cause(cause, "cannot start the cluster thread", NULL);
	}
	pc.started = 1;
	log_info("cluster_join", "node=%s lease_ms=%lld", pc.node,
	    (long long)pc.lease_ms);
	return 0;
}

void
pc_close(void)
{
	struct pc_msg *m;
	struct pc_release *rl;

	if (!pc.inited)
		return;
	if (pc.started) {
		pthread_mutex_lock(&pc.lock);
		pc.closing = 1;
		pthread_mutex_unlock(&pc.lock);
		pg_wake(pc.tefd);
		pthread_join(pc.thread, NULL);
		pc.started = 0;
		/* Others need not wait out the lease: this node is gone. */
		if (pc.link.c != NULL && PQstatus(pc.link.c) == CONNECTION_OK) {
			struct pg_params p = {0};

			pg_p_text(&p, pc.node);
			pg_p_text(&p, pc.inst);
			/*
			 * One transaction, so its COMMIT is bounded: a
			 * synchronous standby gone must not hold the exit.
			 */
			if (pg_simple(pc.link.c, "BEGIN") == 0 &&
			    pg_run(pc.link.c,
			        "DELETE FROM hookd_leases WHERE node = $1 AND "
			        "instance = $2",
			        &p) == 0 &&
			    pg_run(pc.link.c,
			        "UPDATE hookd_nodes SET heartbeat_at = now() - "
			        "interval '1 day' WHERE id = $1 AND instance = "
			        "$2",
			        &p) == 0 &&
			    pg_run(pc.link.c,
			        "SELECT pg_notify('hookd_lease', '')",
			        NULL) == 0)
				(void)pg_commit(pc.link.c);
			else if (PQstatus(pc.link.c) == CONNECTION_OK)
				(void)pg_simple(pc.link.c, "ROLLBACK");
		}
	}
	pc.on = 0;
	while ((m = pc.mhead) != NULL) {
		pc.mhead = m->next;
		pc_msg_free(m);
	}
	while ((rl = pc.rhead) != NULL) {
		pc.rhead = rl->next;
		free(rl);
	}
	if (pc.nodes != NULL)
		pc_msg_free(pc.nodes);
	hk_map_foreach(&pc.held, pc_free_map);
	hk_map_free(&pc.held);
	hk_map_foreach(&pc.served, pc_free_map);
	hk_map_free(&pc.served);
	hk_map_foreach(&pc.known[0], pc_free_map);
	hk_map_free(&pc.known[0]);
	hk_map_foreach(&pc.known[1], pc_free_map);
	hk_map_free(&pc.known[1]);
	if (pc.ready != NULL)
		event_free(pc.ready);
	if (pc.drain != NULL)
		event_free(pc.drain);
	if (pc.lefd != -1)
		close(pc.lefd);
	if (pc.tefd != -1)
		close(pc.tefd);
	PQfinish(pc.link.c);
	free(pc.stats);
	pthread_mutex_destroy(&pc.lock);
	memset(&pc, 0, sizeof(pc));
	pc.lefd = pc.tefd = -1;
}
