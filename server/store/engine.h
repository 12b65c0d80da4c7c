/*
 * engine.h: what a storage engine provides to store.c, which picks one
 * at hk_st_open() and passes every call of store.h on to it. An engine
 * keeps the promises store.h states; it has no other caller.
 */
#ifndef HK_ST_ENGINE_H
#define HK_ST_ENGINE_H

#include "store/store.h"

struct hk_st_engine {
	const char *se_name;
	/* Whether WHERE (hk_st_conf's sc_where) names this engine's store. */
	int (*se_claims)(const char *where);
	int (*se_open)(const struct hk_st_conf *, char **cause);
	void (*se_close)(void);
	size_t (*se_inflight)(void);
	void (*se_usage)(struct hk_st_usage *);
	int (*se_full)(void);
	int (*se_submit)(struct hk_st_op *);
	void (*se_read)(struct hk_st_read *, const char *id);
	void (*se_due)(struct hk_st_due *);
	int (*se_scan)(enum hk_st_list,
	    int (*)(void *, const char *, const char *, size_t), void *);
	/* Cluster mode; NULL: one node, which serves everything. */
	void (*se_watch)(const struct hk_st_watch *);
	int (*se_serves)(const char *sub, int64_t *epoch);
	size_t (*se_nodes)(const struct hk_st_node **);
	void (*se_publish)(const char *, size_t);
	void (*se_addresses)(const char *, const char *);
};

extern const struct hk_st_engine hk_st_lmdb;
extern const struct hk_st_engine hk_st_pg;

#endif
