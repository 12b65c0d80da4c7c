/* map.c: open-addressing string hash map. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "map.h"

struct hk_map_slot {
	char *ms_key; /* NULL: empty; map_dead: tombstone */
	size_t ms_len;
	uint64_t ms_hash;
	void *ms_val;
};

static char map_dead[1];

/* FNV-1a, 64 bits. */
static uint64_t
map_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The slot holding KEY, or NULL. */
static struct hk_map_slot *
map_find(const struct hk_map *m, const char *key, size_t len, uint64_t h)
{
	size_t i, mask;
	struct hk_map_slot *s;

	if (m->m_cap == 0)
		return NULL;
	mask = m->m_cap - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		s = &m->m_slots[i];
		if (s->ms_key == NULL)
			return NULL;
		if (s->ms_key != map_dead && s->ms_hash == h &&
		    s->ms_len == len && memcmp(s->ms_key, key, len) == 0)
			return s;
	}
}

/* Rehashes into CAP slots, dropping tombstones. */
static int
map_resize(struct hk_map *m, size_t cap)
{
	struct hk_map_slot *old = m->m_slots, *s, *n;
	size_t oldcap = m->m_cap, i, j;

	if ((n = calloc(cap, sizeof(*n))) == NULL)
		return HK_ENOMEM;
	for (i = 0; i < oldcap; i++) {
		s = &old[i];
		if (s->ms_key == NULL || s->ms_key == map_dead)
			continue;
		for (j = s->ms_hash & (cap - 1); n[j].ms_key != NULL;
		     j = (j + 1) & (cap - 1))
			;
		n[j] = *s;
	}
	free(old);
	m->m_slots = n;
	m->m_cap = cap;
	m->m_dead = 0;
	return 0;
}

void *
hk_map_get(const struct hk_map *m, const char *key, size_t len)
{
	struct hk_map_slot *s = map_find(m, key, len, map_hash(key, len));

	return s != NULL ? s->ms_val : NULL;
}

int
hk_map_put(struct hk_map *m, const char *key, size_t len, void *val)
{
	uint64_t h = map_hash(key, len);
	struct hk_map_slot *s;
	size_t i;
	char *k;

	if ((s = map_find(m, key, len, h)) != NULL) {
		s->ms_val = val;
		return 0;
	}
	if ((m->m_used + m->m_dead + 1) * 10 >= m->m_cap * 7 &&
	    map_resize(m, m->m_cap ? m->m_cap * 2 : 16) != 0)
		return HK_ENOMEM;
	if ((k = malloc(len + 1)) == NULL)
		return HK_ENOMEM;
	memcpy(k, key, len);
	k[len] = '\0';
	for (i = h & (m->m_cap - 1);; i = (i + 1) & (m->m_cap - 1)) {
		s = &m->m_slots[i];
		if (s->ms_key == NULL || s->ms_key == map_dead)
			break;
	}
	if (s->ms_key == map_dead)
		m->m_dead--;
	s->ms_key = k;
	s->ms_len = len;
	s->ms_hash = h;
	s->ms_val = val;
	m->m_used++;
	return 0;
}

void *
hk_map_del(struct hk_map *m, const char *key, size_t len)
{
	struct hk_map_slot *s = map_find(m, key, len, map_hash(key, len));
	void *v;

	if (s == NULL)
		return NULL;
	v = s->ms_val;
	free(s->ms_key);
	s->ms_key = map_dead;
	s->ms_val = NULL;
	m->m_used--;
	m->m_dead++;
	return v;
}

void
hk_map_free(struct hk_map *m)
{
	size_t i;

	for (i = 0; i < m->m_cap; i++)
		if (m->m_slots[i].ms_key != NULL &&
		    m->m_slots[i].ms_key != map_dead)
			free(m->m_slots[i].ms_key);
	free(m->m_slots);
	m->m_slots = NULL;
	m->m_cap = m->m_used = m->m_dead = 0;
}

void
hk_map_foreach(const struct hk_map *m, void (*fn)(void *val))
{
	size_t i;

	for (i = 0; i < m->m_cap; i++)
		if (m->m_slots[i].ms_key != NULL &&
		    m->m_slots[i].ms_key != map_dead)
			fn(m->m_slots[i].ms_val);
}
