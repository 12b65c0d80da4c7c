/* addr.c: address literals, special-purpose ranges, CIDR lists. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hk.h"

static const uint8_t addr_mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void
addr_set4(struct hk_addr *a, const uint8_t v4[4])
{
	memcpy(a->a, addr_mapped, 12);
	memcpy(a->a + 12, v4, 4);
}

static int
addr_is4(const struct hk_addr *a)
{
	return memcmp(a->a, addr_mapped, 12) == 0;
}

int
hk_addr_literal(const char *host, struct hk_addr *out)
{
	char buf[64], *pct;
	struct in_addr v4;
	size_t n = strlen(host), i;

	if (n == 0 || n >= sizeof(buf))
		return HK_EINVAL;
	if (host[0] == '[') {
		if (n < 3 || host[n - 1] != ']')
			return HK_EINVAL;
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
	} else
		memcpy(buf, host, n + 1);
	for (i = 0; buf[i] != '\0'; i++)
		if (isspace((unsigned char)buf[i]))
			return HK_EINVAL;
	if (strchr(buf, ':') != NULL) {
		/* A zone ("fe80::1%eth0") does not change the address. */
		if ((pct = strchr(buf, '%')) != NULL)
			*pct = '\0';
		return inet_pton(AF_INET6, buf, out->a) == 1 ? 0 : HK_EINVAL;
	}
	/*
	 * inet_aton reads what resolvers read: "127.1", "2130706433",
	 * "0x7f000001", "0177.0.0.1", "0".
	 */
	if (inet_aton(buf, &v4) == 0)
		return HK_EINVAL;
	addr_set4(out, (const uint8_t *)&v4.s_addr);
	return 0;
}

int
hk_addr_from_sa(const struct sockaddr *sa, struct hk_addr *out)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		addr_set4(out, (const uint8_t *)&s4->sin_addr.s_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out->a,
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
		return 0;
	}
	return HK_EINVAL;
}

/* Whether the first BITS bits of A and NET agree. */
static int
addr_in(const uint8_t *a, const uint8_t *net, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ net[full]) & (0xff << (8 - rest))) == 0;
}

struct addr_range {
	uint8_t net[16];
	int bits;
};

/* IPv4 ranges that are not global (IANA special-purpose registry). */
static const struct addr_range addr_bad4[] = {
    {{0}, 8}, /* "this network", 0.0.0.0 */
    {{10}, 8}, /* private */
    {{100, 64}, 10}, /* shared address space (CGNAT) */
    {{127}, 8}, /* loopback */
    {{169, 254}, 16}, /* link-local */
    {{172, 16}, 12}, /* private */
    {{192, 0, 0}, 24}, /* IETF protocol assignments */
    {{192, 0, 2}, 24}, /* documentation */
    {{192, 31, 196}, 24}, /* AS112 */
    {{192, 52, 193}, 24}, /* AMT */
    {{192, 88, 99}, 24}, /* 6to4 relay anycast */
    {{192, 168}, 16}, /* private */
    {{192, 175, 48}, 24}, /* AS112 */
    {{198, 18}, 15}, /* benchmarking */
    {{198, 51, 100}, 24}, /* documentation */
    {{203, 0, 113}, 24}, /* documentation */
    {{224}, 4}, /* multicast */
    {{240}, 4}, /* reserved, broadcast */
};

/* IPv6 ranges inside 2000::/3 that are not global. */
static const struct addr_range addr_bad6[] = {
    {{0x20, 0x01, 0x00, 0x00}, 23}, /* IETF protocol assignments */
    {{0x20, 0x01, 0x0d, 0xb8}, 32}, /* documentation */
    {{0x3f, 0xff}, 20}, /* documentation */
};

static int
addr_global4(const uint8_t v4[4])
{
	size_t i;

	for (i = 0; i < HK_NELEM(addr_bad4); i++)
		if (addr_in(v4, addr_bad4[i].net, addr_bad4[i].bits))
			return 0;
	return 1;
}

/*
 * The IPv4 addresses A carries: mapped, compatible, NAT64 (64:ff9b::/96),
 * 6to4 (2002::/16), Teredo (2001::/32: server, and the client's address,
 * inverted). Returns how many were written to V4 (0-2).
 */
static int
addr_embedded(const struct hk_addr *a, uint8_t v4[2][4])
{
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const uint8_t zero[12];
	const uint8_t *b = a->a;
	int i;

	if (addr_is4(a) || memcmp(b, zero, 12) == 0 ||
	    memcmp(b, nat64, 12) == 0) {
		memcpy(v4[0], b + 12, 4);
		return 1;
	}
	if (b[0] == 0x20 && b[1] == 0x02) {
		memcpy(v4[0], b + 2, 4);
		return 1;
	}
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
		memcpy(v4[0], b + 4, 4);
		for (i = 0; i < 4; i++)
			v4[1][i] = b[12 + i] ^ 0xff;
		return 2;
	}
	return 0;
}

int
hk_addr_global(const struct hk_addr *a)
{
	static const uint8_t zero[12];
	uint8_t v4[2][4];
	size_t k;
	int i, n;

	if ((n = addr_embedded(a, v4)) > 0) {
		for (i = 0; i < n; i++)
			if (!addr_global4(v4[i]))
				return 0;
		/* IPv4-compatible addresses (::/96) are deprecated. */
		return memcmp(a->a, zero, 12) != 0;
	}
	/* Global unicast is 2000::/3. */
	if ((a->a[0] & 0xe0) != 0x20)
		return 0;
	for (k = 0; k < HK_NELEM(addr_bad6); k++)
		if (addr_in(a->a, addr_bad6[k].net, addr_bad6[k].bits))
			return 0;
	return 1;
}

static int
addr_listed(const struct hk_addr *a, const struct hk_cidrs *allow)
{
	size_t i;

	for (i = 0; allow != NULL && i < allow->n; i++)
		if (addr_in(a->a, allow->c[i].net.a, allow->c[i].bits))
			return 1;
	return 0;
}

int
hk_addr_allowed(const struct hk_addr *a, const struct hk_cidrs *allow)
{
	struct hk_addr e;
	uint8_t v4[2][4];
	int i, n;

	if (addr_listed(a, allow))
		return 1;
	/* An embedded address the operator opened is open in any form. */
	n = addr_embedded(a, v4);
	for (i = 0; i < n; i++) {
		addr_set4(&e, v4[i]);
		if (!addr_listed(&e, allow))
			break;
	}
	if (n > 0 && i == n)
		return 1;
	return hk_addr_global(a);
}

const char *
hk_addr_str(const struct hk_addr *a, char out[64])
{
	if (addr_is4(a))
		inet_ntop(AF_INET, a->a + 12, out, 64);
	else
		inet_ntop(AF_INET6, a->a, out, 64);
	return out;
}

int
hk_cidrs_parse(const char *s, struct hk_cidrs *out, char err[128])
{
	char item[80], *slash, *end;
	struct hk_cidr *c;
	const char *p, *e;
	size_t len;
	long bits;

	out->c = NULL;
	out->n = 0;
	err[0] = '\0';
	for (p = s; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		for (e = p; *e != '\0' && *e != ','; e++)
			;
		while (p < e && isspace((unsigned char)*p))
			p++;
		len = (size_t)(e - p);
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0)
			continue;
		if (len >= sizeof(item))
			goto bad;
		memcpy(item, p, len);
		item[len] = '\0';
		if ((c = realloc(out->c, (out->n + 1) * sizeof(*c))) == NULL) {
			hk_cidrs_free(out);
			return HK_ENOMEM;
		}
		out->c = c;
		c = &out->c[out->n];
		if ((slash = strchr(item, '/')) != NULL)
			*slash++ = '\0';
		/* Ranges take only the plain forms, not inet_aton's. */
		if (strchr(item, ':') != NULL) {
			if (inet_pton(AF_INET6, item, c->net.a) != 1)
				goto bad;
			bits = 128;
		} else {
			uint8_t v4[4];

			if (inet_pton(AF_INET, item, v4) != 1)
				goto bad;
			addr_set4(&c->net, v4);
			bits = 32;
		}
		if (slash != NULL) {
			long max = bits;

			bits = strtol(slash, &end, 10);
			if (*slash == '\0' || *end != '\0' || bits < 0 ||
			    bits > max)
				goto bad;
		}
		c->bits = (int)bits + (strchr(item, ':') == NULL ? 96 : 0);
		out->n++;
	}
	return 0;
bad:
	snprintf(err, 128, "%.*s", (int)(e - p), p);
	hk_cidrs_free(out);
	return HK_EINVAL;
}

void
hk_cidrs_free(struct hk_cidrs *cs)
{
	free(cs->c);
	cs->c = NULL;
	cs->n = 0;
}
