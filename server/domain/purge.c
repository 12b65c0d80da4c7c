/*
 * purge.c: retention (proto/operation.md): events and request logs older
 * than --retention, whose deliveries are all final, are deleted, and
 * idempotency keys of that age forgotten.
 *
 * A libevent timer submits one HK_ST_PURGE operation at a time (store.h);
 * the store does a bounded share of the work in it, so neither the loop
 * nor other commits wait long. When a share was full the next comes
 * soon, else after the interval. The store's resume position is kept
 * here between operations, as bytes this file never reads. Loop thread
 * only; a failed operation is logged once and retried on the next tick.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hk.h"
#include "hookd.h"
#include "store/store.h"

#define PURGE_MAX_MS 60000 /* the interval, at most */

static struct event *purge_ev;
static int purge_running;
/* Where the store's next share goes on (hk_st_purge's pu_pos). */
static char purge_pos[sizeof(((struct hk_st_purge *)0)->pu_pos)];
static size_t purge_poslen;

static void purge_schedule(int64_t ms);

/* so_done: the share is durable (counted, logged) or failed. */
static void
purge_done(struct hk_st_op *op, int rc)
{
	struct hk_st_purge *o = (struct hk_st_purge *)(void *)op;

	purge_running = 0;
	if (rc != 0)
		log_warn("purge", "error=%s", hk_logq(hk_strerror(rc)));
	else {
		hd->hd_stats.s_purged_events += o->pu_events;
		hd->hd_stats.s_purged_logs += o->pu_logs;
		hd->hd_stats.s_purged_deliveries += o->pu_deliveries;
		memcpy(purge_pos, o->pu_pos, o->pu_poslen);
		purge_poslen = o->pu_poslen;
		if (o->pu_events + o->pu_logs + o->pu_deliveries > 0)
			log_info("purged",
			    "events=%llu deliveries=%llu logs=%llu",
			    (unsigned long long)o->pu_events,
			    (unsigned long long)o->pu_deliveries,
			    (unsigned long long)o->pu_logs);
	}
	purge_schedule(rc == 0 && o->pu_full ? 100 : -1);
	free(o);
}

/* The timer: one share, unless one is on its way or hookd stops. */
static void
purge_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hk_st_purge *o;

	(void)fd;
	(void)what;
	(void)arg;
	if (purge_running || hd->hd_stopping)
		return;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		purge_schedule(-1);
		return;
	}
	o->pu_cutoff = hk_now_ms() - hd->hd_conf.cf_retention_ms;
	memcpy(o->pu_pos, purge_pos, purge_poslen);
	o->pu_poslen = purge_poslen;
	o->pu_op.so_kind = HK_ST_PURGE;
	o->pu_op.so_done = purge_done;
	if (hk_st_submit(&o->pu_op) != 0) {
		free(o);
		return;
	}
	purge_running = 1;
}

/* The next pass in MS, or after the interval (-1). */
static void
purge_schedule(int64_t ms)
{
	int64_t every = hd->hd_conf.cf_retention_ms / 4;
	struct timeval tv;

	if (ms < 0)
		ms = every < 250           ? 250
		    : every > PURGE_MAX_MS ? PURGE_MAX_MS
		                           : every;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(purge_ev, &tv);
}

/* Arms the timer (after the store opened). 0 or HK_ENOMEM. */
int
hk_purge_init(void)
{
	if ((purge_ev = evtimer_new(hd->hd_base, purge_tick, NULL)) == NULL)
		return HK_ENOMEM;
	purge_schedule(-1);
	return 0;
}

/* Stops the timer; a share on its way still finishes with the store. */
void
hk_purge_free(void)
{
	if (purge_ev != NULL)
		event_free(purge_ev);
	purge_ev = NULL;
}
