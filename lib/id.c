/* id.c: monotonic time-sortable ids. */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "hk.h"
#include "id.h"

static const char id_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t id_last_ms = -1;
static unsigned char id_last_rand[10];

/* Adds one to the 80-bit big-endian counter; returns 1 on overflow. */
static int
id_increment(unsigned char r[10])
{
	int i;

	for (i = 9; i >= 0; i--)
		if (++r[i] != 0)
			return 0;
	return 1;
}

/* Encodes 40 bits (five bytes of P) as 8 base32 characters. */
static void
id_encode40(const unsigned char *p, char *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 5; i++)
		v = v << 8 | p[i];
	for (i = 7; i >= 0; i--) {
		out[i] = id_alphabet[v & 31];
		v >>= 5;
	}
}

/* Encodes 48 bits of time and 80 bits of R as 26 base32 characters. */
static void
id_encode(int64_t ms, const unsigned char r[10], char *out)
{
	uint64_t t = (uint64_t)ms;
	int i;

	for (i = 9; i >= 0; i--) {
		out[i] = id_alphabet[t & 31];
		t >>= 5;
	}
	id_encode40(r, out + 10);
	id_encode40(r + 5, out + 18);
}

/*
 * Random bytes for new ids, drawn from libsodium a pool at a time: its
 * generator is a system call per draw, and a busy second needs
 * thousands of ids. Called with id_lock held.
 */
static void
id_random(unsigned char *out, size_t n)
{
	static unsigned char pool[320];
	static size_t left;

	if (left < n) {
		randombytes_buf(pool, sizeof(pool));
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, n);
	sodium_memzero(pool + sizeof(pool) - left, n);
	left -= n;
}

char *
hk_id_at(const char *prefix, int64_t ms, char out[HK_ID_MAX])
{
	unsigned char r[10];
	size_t plen = strlen(prefix);

	if (plen > HK_ID_MAX - HK_ID_BODY - 1)
		plen = HK_ID_MAX - HK_ID_BODY - 1;
	if (ms < 0)
		ms = 0;
	ms &= ((int64_t)1 << 48) - 1;
	pthread_mutex_lock(&id_lock);
	/*
	 * A clock that stepped back keeps counting from the last id, so the
	 * order of creation survives.
	 */
	if (ms <= id_last_ms) {
		ms = id_last_ms;
		if (id_increment(id_last_rand))
			ms = ++id_last_ms;
	} else {
		id_random(id_last_rand, sizeof(id_last_rand));
		id_last_rand[0] &= 0x7f; /* room to count up */
		id_last_ms = ms;
	}
	memcpy(r, id_last_rand, sizeof(r));
	pthread_mutex_unlock(&id_lock);
	memcpy(out, prefix, plen);
	id_encode(ms, r, out + plen);
	out[plen + HK_ID_BODY] = '\0';
	return out;
}

char *
hk_id_new(const char *prefix, char out[HK_ID_MAX])
{
	return hk_id_at(prefix, hk_now_ms(), out);
}

int
hk_id_valid(const char *prefix, const char *s)
{
	size_t plen = strlen(prefix), i;

	if (s == NULL || strncmp(s, prefix, plen) != 0 ||
	    strlen(s) != plen + HK_ID_BODY)
		return 0;
	for (i = plen; s[i] != '\0'; i++)
		if (strchr(id_alphabet, s[i]) == NULL)
			return 0;
	/* The first character carries only 3 bits of 48. */
	return s[plen] <= '7';
}

int64_t
hk_id_ms(const char *prefix, const char *s)
{
	size_t plen = strlen(prefix);
	int64_t ms = 0;
	int i;

	if (!hk_id_valid(prefix, s))
		return -1;
	for (i = 0; i < 10; i++)
		ms = ms << 5 |
		    (int64_t)(strchr(id_alphabet, s[plen + i]) - id_alphabet);
	return ms;
}
