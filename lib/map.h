/*
 * map.h: a string-keyed hash map of borrowed pointers.
 *
 * Keys are copied in; values are the caller's. Open addressing with
 * linear probing and tombstones, grown at 70 % load. Not thread-safe.
 */
#ifndef HK_MAP_H
#define HK_MAP_H

#include <stddef.h>

struct hk_map_slot;

struct hk_map {
	struct hk_map_slot *m_slots;
	size_t m_cap; /* a power of two, or 0 */
	size_t m_used; /* live entries */
	size_t m_dead; /* tombstones */
};

#define HK_MAP_INIT                                                            \
	{                                                                      \
		NULL, 0, 0, 0                                                  \
	}

/* The value of KEY (LEN bytes), or NULL. */
void *hk_map_get(const struct hk_map *, const char *key, size_t len);
/* Sets KEY to VAL, replacing. Returns 0 or HK_ENOMEM. */
int hk_map_put(struct hk_map *, const char *key, size_t len, void *val);
/* Removes KEY; returns its value or NULL. */
void *hk_map_del(struct hk_map *, const char *key, size_t len);
/* Calls FN on every value; FN must not change the map. */
void hk_map_foreach(const struct hk_map *, void (*fn)(void *val));
/* Frees the map's own memory (not the values). */
void hk_map_free(struct hk_map *);

#endif
