/*
 * store.h: hookd's durable state, behind one interface of domain
 * operations. Nothing above this header knows which engine keeps it;
 * LMDB (server/store/lmdb*.c) is the first, and the only one that may
 * name an mdb_ function or MDB_ type.
 *
 * Records are the domain's text (webhooks, subscriptions, events'
 * envelopes, attempts, log entries: JSON), and delivery records, which
 * are lib/dlv.c's. The store keeps them by id with the indexes the
 * operations below need; it parses none of them but delivery records.
 *
 * Writes. The loop thread fills an operation (one of the structs below,
 * whose first member is a struct hk_st_op) and hands it to
 * hk_st_submit(). The engine applies it on its writer thread, gathered
 * with whatever else was submitted meanwhile into one transaction, and
 * calls so_done on the loop thread once that transaction is durable
 * (committed and synced) or refused. Promises:
 *  - Durability: so_done(op, 0) means the change survives a crash or
 *    power loss.
 *  - Ordering: operations apply, and their so_done run, in submission
 *    order; an operation sees every change submitted before it.
 *  - Atomicity: an operation applies whole or not at all. A refusal
 *    (HK_EINVAL, HK_EEXIST, HK_ENOTFOUND, HK_EDUP) changes nothing; a
 *    failure of the transaction (HK_EFULL, HK_EIO, HK_ENOMEM) fails only
 *    the operations that did not fit, never commits part of one, and
 *    loses nothing committed before. HK_ESHUTDOWN from hk_st_submit: the
 *    store is closing, so_done will not run.
 *  - Threads: callbacks named "writer thread" run there, inside the
 *    transaction; they touch only their operation and must not call
 *    into the store. Everything else runs on the loop thread.
 *  - Ownership: an operation and everything it points to stay valid and
 *    unchanged from submission until so_done, which may free it. Out
 *    fields are set by the engine before so_done.
 *
 * Reads. hk_st_read() pages through a list by cursor and
 * hk_st_get() fetches one record; both answer through callbacks on the
 * loop thread, which may run before they return (LMDB always does; an
 * engine on a server answers later). A row is valid only during its
 * callback, and callbacks must not start reads of their own (the done
 * callback may). A read sees every operation whose so_done has run.
 * hk_st_scan() is the start-up load: synchronous, before the loop runs.
 *
 * Errors are lib/hk.h codes, returned or passed to done; the store logs
 * only what no caller can decide (a broken disk).
 */
#ifndef HK_ST_STORE_H
#define HK_ST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dlv.h"
#include "id.h"

struct event_base;

/* Opening. */
struct hk_st_conf {
	const char *sc_where; /* a data directory (LMDB) */
	size_t sc_mapsize; /* LMDB: the map's size in bytes */
	int sc_highwater; /* percent of the space above which hk_st_full */
	struct event_base *sc_base; /* the loop the engine answers on */
	/* Read only (hookd --check): nothing written, no writer started;
	 * hk_st_open answers HK_ENOTFOUND when there is no store yet. */
	int sc_readonly;
	/*
	 * Cluster mode (an engine several nodes share): this node's name,
	 * its listeners' addresses as others should see them, the lease
	 * (ms) after which a silent node's subscriptions go to others, and
	 * the master key's check value (the store refuses to open when it
	 * holds another one: HK_ECRYPTO).
	 */
	const char *sc_node;
	const char *sc_public, *sc_admin;
	int64_t sc_lease_ms;
	const char *sc_keycheck;
	/*
	 * How long a commit may wait (a synchronous standby gone) before it
	 * fails and writes are refused until one returns in time (ms).
	 */
	int64_t sc_commit_ms;
};

/* Opens (creating) the store and starts its writer. 0, or a code and
 * *CAUSE (the caller frees it). */
int hk_st_open(const struct hk_st_conf *, char **cause);
/*
 * Drains: every submitted operation is applied and its so_done run,
 * then the writer stops and the store closes.
 */
void hk_st_close(void);
/* Operations submitted whose so_done has not run yet. */
size_t hk_st_inflight(void);

/* Lists, the unit of reads and of counts. */
enum hk_st_list {
	HK_SL_WEBHOOKS, /* id -> webhook JSON */
	HK_SL_SUBS, /* id -> subscription JSON */
	HK_SL_EVENTS, /* id -> envelope JSON */
	HK_SL_DELIVERIES, /* id -> delivery record (scope: a subscription) */
	HK_SL_PENDING, /* counted only: deliveries waiting in the queue */
	HK_SL_LOG, /* a webhook's request log (scope: the webhook) */
	HK_SL_EVENT_DELIVERIES, /* an event's deliveries (scope: the event) */
	HK_SL_ATTEMPTS, /* a delivery's attempts (scope: it), oldest first */
	HK_SL_FAILED, /* the failed deliveries (no scope): an index */
	HK_SL_COUNT
};

/* Figures as of the last commit; never waits. */
struct hk_st_usage {
	size_t su_size; /* the space: LMDB's map */
	size_t su_used; /* bytes in use */
	uint64_t su_commits;
	uint64_t su_ops;
	int su_failed; /* the last transaction failed (disk or space) */
	int su_broken; /* a write failed: nothing is written until restart */
	uint64_t su_rows[HK_SL_COUNT]; /* webhooks .. pending; others 0 */
};
void hk_st_usage(struct hk_st_usage *);
/*
 * Whether new data is refused, and why: 0, HK_EFULL (above the
 * high-water mark) or HK_EIO (the store unreachable, or its commits
 * stalled).
 */
int hk_st_full(void);

/* Writes. */
enum hk_st_kind {
	HK_ST_WEBHOOK, /* struct hk_st_record */
	HK_ST_SUB, /* struct hk_st_record */
	HK_ST_EVENT, /* struct hk_st_event */
	HK_ST_OUTCOME, /* struct hk_st_outcome */
	HK_ST_DELIVERIES, /* struct hk_st_dlvop */
	HK_ST_LOG, /* struct hk_st_log */
	HK_ST_PURGE, /* struct hk_st_purge */
	HK_ST_KINDS
};

#define HK_ST_ENG_LEN 48

struct hk_st_op {
	enum hk_st_kind so_kind;
	/* Loop thread, once the operation is durable or refused; may free. */
	void (*so_done)(struct hk_st_op *, int rc);
	/* The engine's own, from submission to so_done. */
	union {
		void *p;
		int64_t i;
		unsigned char b[HK_ST_ENG_LEN];
	} so_eng;
};

/* Queues OP (so_kind and so_done set). 0, or HK_ESHUTDOWN. */
int hk_st_submit(struct hk_st_op *);

/*
 * A webhook or subscription: created, changed or deleted. A change is a
 * read-modify-write inside the writer's transaction: rc_modify gets the
 * record as stored and makes the new one from it, so two changes at once
 * (an admin PATCH, an engine save) each keep the other's fields.
 */
enum hk_st_verb { HK_ST_CREATE, HK_ST_UPDATE, HK_ST_DELETE };
#define HK_ST_NAME_MAX 64 /* webhook names, in bytes */

struct hk_st_record {
	struct hk_st_op rc_op; /* HK_ST_WEBHOOK or HK_ST_SUB */
	enum hk_st_verb rc_verb;
	char rc_id[HK_ID_MAX];
	/* CREATE: the record; UPDATE: what rc_modify made. */
	char *rc_text;
	size_t rc_len;
	/*
	 * UPDATE, DELETE (optional there): writer thread, with the stored
	 * record OLD (valid during the call). Sets rc_text and rc_len (an
	 * update), and for a webhook rc_old_name; returns 0 or a refusal.
	 * It may run again for the same operation (a failed batch is
	 * reapplied): it starts afresh each time.
	 */
	int (*rc_modify)(struct hk_st_record *, const char *old, size_t len);
	/* Webhooks: the unique name after the change, and before it. A
	 * name another webhook holds refuses the operation: HK_EEXIST.
	 * Subscriptions: rc_name alone, "" for none (set by rc_modify on
	 * an update), unique the same way. */
	char rc_name[HK_ST_NAME_MAX + 1];
	char rc_old_name[HK_ST_NAME_MAX + 1];
	/* Out, DELETE of a subscription: its pending deliveries, now
	 * cancelled. A webhook's DELETE drops its request log. */
	uint64_t rc_cancelled;
	/* An engine's change of a subscription under its lease (0: not an
	 * engine's): HK_EFENCED once this node no longer holds it. */
	int64_t rc_epoch;
	void *rc_arg;
};

/*
 * An event and one pending delivery to each subscription it matched,
 * in one transaction. HK_EDUP when its idempotency key names an event
 * accepted less than ev_idem_ttl ago (that event's id in ev_dup).
 */
struct hk_st_event {
	struct hk_st_op ev_op; /* HK_ST_EVENT */
	char ev_id[HK_ID_MAX];
	int64_t ev_ms; /* accepted at (wall ms): the deliveries' creation */
	const char *ev_env; /* the envelope */
	size_t ev_envlen;
	const char *ev_idem; /* scope '\0' key, or NULL */
	size_t ev_idem_len;
	int64_t ev_idem_ttl_ms; /* a key is remembered this long */
	char (*ev_subs)[HK_ID_MAX]; /* the subscriptions it matched */
	const int *ev_max; /* their maxAttempts */
	size_t ev_nsubs;
	char ev_dup[HK_ID_MAX]; /* out, HK_EDUP */
	void *ev_arg;
};

/*
 * An attempt's outcome: attempt number oc_attempt of pending delivery
 * oc_dlv is recorded (its JSON) and the delivery moves to oc_to (pending
 * again: a retry due at oc_due; succeeded; failed), in one transaction.
 * A delivery no longer pending (cancelled, purged) records nothing:
 * oc_gone is set, and the operation succeeds.
 */
struct hk_st_outcome {
	struct hk_st_op oc_op; /* HK_ST_OUTCOME */
	char oc_dlv[HK_ID_MAX];
	int oc_attempt;
	/* The subscription and the lease the attempt ran under (hk_st_serves);
	 * a lease this node no longer holds records nothing: oc_gone and
	 * oc_fenced are set, and the operation succeeds. */
	char oc_sub[HK_ID_MAX];
	int64_t oc_epoch;
	int oc_fenced; /* out */
	const char *oc_text;
	size_t oc_len;
	enum hk_dstate oc_to;
	int64_t oc_due;
	int oc_gone; /* out */
	void *oc_arg;
};

/* Admin changes of deliveries. */
enum hk_st_dverb {
	/* Delivery do_id: failed -> pending with one attempt more, or
	 * pending -> due now; HK_EEXIST for any other state. */
	HK_ST_RETRY,
	/* Failed deliveries of subscription do_id created in [do_since,
	 * do_until) (do_until 0: no end) pending again, do_max at most;
	 * do_count says how many. */
	HK_ST_RECOVER,
	/* One new delivery of event do_id to each of do_subs; their ids in
	 * do_ids (a JSON array's members, comma separated). */
	HK_ST_REPLAY
};

struct hk_buf;

struct hk_st_dlvop {
	struct hk_st_op do_op; /* HK_ST_DELIVERIES */
	enum hk_st_dverb do_verb;
	char do_id[HK_ID_MAX];
	int64_t do_since, do_until;
	uint64_t do_max;
	char (*do_subs)[HK_ID_MAX];
	const int *do_sub_max;
	size_t do_nsubs;
	int64_t do_now;
	uint64_t do_count; /* out */
	struct hk_buf *do_ids; /* out, REPLAY */
	void *do_arg;
};

/*
 * Request-log entries, written together. Each is a webhook id, a log id
 * (time-sortable) and its JSON. Before adding them, the oldest entries
 * of all webhooks are dropped until the log fits in lg_budget bytes;
 * if it cannot, the entries are dropped (lg_over) and the operation
 * succeeds.
 */
struct hk_st_log_entry {
	const char *le_webhook;
	const char *le_id;
	const char *le_text;
	size_t le_len;
};

struct hk_st_log {
	struct hk_st_op lg_op; /* HK_ST_LOG */
	const struct hk_st_log_entry *lg_entries;
	size_t lg_n;
	uint64_t lg_budget;
	uint64_t lg_trimmed; /* out: old entries dropped */
	int lg_over; /* out */
};

/*
 * Retention: events accepted before pu_cutoff whose deliveries are all
 * final go, with their deliveries and attempts; request-log entries and
 * idempotency keys older than it too. One operation does a bounded
 * share and says so in pu_full; pu_pos (engine-private, kept by the
 * caller between operations) is where the next goes on.
 */
struct hk_st_purge {
	struct hk_st_op pu_op; /* HK_ST_PURGE */
	int64_t pu_cutoff;
	uint64_t pu_events, pu_logs, pu_deliveries; /* out */
	int pu_full; /* out */
	char pu_pos[HK_ID_MAX + 320];
	size_t pu_poslen;
};

/*
 * Reads. A read pages through list rd_list (within rd_scope where the
 * list has one), newest first unless rd_oldest, starting after cursor
 * rd_after (an id; NULL or "": from the start). For each row, rd_row(rd,
 * id, text, len) returns 1 (counted), 0 (skipped: filtered out) or -1
 * (stop). The read stops after rd_limit counted rows (0: no limit) or
 * rd_scan rows looked at (0: no bound), sets rd_more when rows remain
 * and rd_next to the cursor of the next page (the last row looked at),
 * then calls rd_done(rd, rc): 0, HK_ENOTFOUND (hk_st_get: no such
 * record), or a store failure. With rd_attempt set, each delivery row
 * is followed by its attempts, oldest first (N from 1).
 */
struct hk_st_read {
	enum hk_st_list rd_list;
	const char *rd_scope;
	const char *rd_after;
	int rd_oldest;
	size_t rd_limit;
	size_t rd_scan;
	int (*rd_row)(
	    struct hk_st_read *, const char *id, const char *text, size_t len);
	void (*rd_attempt)(struct hk_st_read *, const char *dlv, int n,
	    const char *text, size_t len);
	void (*rd_done)(struct hk_st_read *, int rc);
	int rd_more; /* out */
	char rd_next[HK_ID_MAX]; /* out */
	void *rd_arg;
};

/* Starts RD; its rd_done always runs (maybe before this returns). */
void hk_st_read(struct hk_st_read *);
/* Reads record ID of RD's list as one row (rd_after, rd_limit unused). */
void hk_st_get(struct hk_st_read *, const char *id);
/*
 * Every row of LIST, oldest first, through ROW (which returns 0 to go
 * on, or a code that stops the scan and is returned). Start-up only.
 */
int hk_st_scan(enum hk_st_list,
    int (*row)(void *arg, const char *id, const char *text, size_t len),
    void *arg);

/*
 * The scheduler's read of one subscription's queue: its pending
 * deliveries due by du_now, first attempts before retries, each in due
 * order. du_pick(du, dlv) says what to do with the next one: 1 take it,
 * 0 step over it (in flight), -1 stop (a limit: the position is kept in
 * du_pos, and the next read of first attempts resumes there). A taken
 * one is passed to du_take with its record and its event's envelope
 * (valid during the call; the record NULL when it is missing or
 * unreadable, the envelope NULL when the event is missing). With
 * du_only set (an ordered subscription's head) only that delivery is
 * looked at, and du_gone is set when it is no longer pending. du_next
 * is the earliest due time past du_now (INT64_MAX: none); then
 * du_done(du, rc). The read sees every outcome whose so_done has run,
 * also one whose so_done runs while the read is out (an engine that
 * answers later steps over such a delivery rather than hand it to
 * du_take as still pending: its attempt would go twice).
 */
#define HK_ST_POS_MAX (2 * HK_ID_MAX + 16)

struct hk_st_due {
	const char *du_sub;
	int64_t du_now;
	const char *du_only;
	int (*du_pick)(struct hk_st_due *, const char *dlv);
	/*
	 * Optional: the ids of du_sub's deliveries whose attempts are out
	 * (du_pick would step over them), at most MAX into IDS (valid
	 * until the loop's next turn): an engine whose reads cost by the
	 * row may leave them out.
	 */
	size_t (*du_busy)(struct hk_st_due *, const char **ids, size_t max);
	void (*du_take)(struct hk_st_due *, const char *dlv,
	    const struct hk_delivery *, const char *env, size_t envlen);
	void (*du_done)(struct hk_st_due *, int rc);
	unsigned char du_pos[HK_ST_POS_MAX]; /* in/out, engine-private */
	size_t du_poslen;
	int64_t du_next; /* out */
	int du_gone; /* out */
	/*
	 * In: an ordered subscription that knows no head. Its pending retry,
	 * if it has one, is its head (one whose saving a crash cut off): it
	 * is named in du_head (out) and nothing else is looked at.
	 */
	int du_ordered;
	char du_head[HK_ID_MAX];
	void *du_arg;
};

/* Starts DU; its du_done always runs (maybe before this returns). */
void hk_st_due(struct hk_st_due *);

/*
 * Cluster mode. An engine that several nodes share (PostgreSQL) divides
 * the subscriptions among the live ones, one lease each with a fencing
 * epoch, and tells each node what the others changed; a store of one
 * node (LMDB) serves every subscription under epoch 0 and tells nothing.
 * Loop thread only; the callbacks run on it.
 */
struct hk_st_watch {
	/* Another node changed webhook or subscription ID (HK_SL_WEBHOOKS,
	 * HK_SL_SUBS): TEXT is its record now, NULL when it was deleted. */
	void (*sw_changed)(
	    enum hk_st_list, const char *id, const char *text, size_t len);
	/* Work this node did not make may be due (another node's event or
	 * retry, a lease gained): the scheduler should look. */
	void (*sw_wake)(void);
	/* Whether this node still has attempts of SUB out or committing:
	 * a lease it gives up waits for them. */
	int (*sw_busy)(const char *sub);
};
void hk_st_watch(const struct hk_st_watch *);

/*
 * Whether this node serves SUB's deliveries now; *EPOCH is the lease's,
 * for the outcomes (oc_epoch) and state changes (rc_epoch) it makes.
 */
int hk_st_serves(const char *sub, int64_t *epoch);

/* The live nodes as of the last heartbeat. */
struct hk_st_node {
	const char *sn_id, *sn_public, *sn_admin;
	int64_t sn_heartbeat_ms; /* wall ms, the database's clock */
	uint64_t sn_subs; /* leases held */
	const char *sn_stats; /* what it published, or NULL */
	int sn_self;
};
/* *NODES until the loop's next turn; 0 when the store has no cluster. */
size_t hk_st_nodes(const struct hk_st_node **nodes);
/* TEXT (a JSON object, copied) goes out with this node's next heartbeat. */
void hk_st_publish(const char *text, size_t len);
/* The listeners' addresses once bound (hk_st_conf's are as configured:
 * a port 0 is not one to reach); copied, shown from the next beat. */
void hk_st_addresses(const char *public_addr, const char *admin_addr);

#endif
