/*
 * addr.h: which addresses a delivery may connect to (the SSRF guard).
 *
 * By default only globally routable unicast addresses are allowed:
 * loopback, private, shared (CGNAT), link-local, multicast, reserved,
 * documentation and unspecified ranges are refused, in IPv4 and IPv6. An
 * IPv6 address that embeds an IPv4 one (mapped, compatible, NAT64, 6to4,
 * Teredo) is judged by the embedded address. An allow list of CIDR
 * ranges (--allow-targets) opens ranges; it is checked against the
 * address as given and against the embedded one.
 *
 * hk_addr_literal() reads a host the way resolvers do, so that every
 * spelling curl accepts ("2130706433", "0x7f000001", "0177.0.0.1",
 * "127.1", "0", "[::ffff:127.0.0.1]") is judged as the address it is.
 *
 * Pure functions; thread-safe.
 */
#ifndef HK_ADDR_H
#define HK_ADDR_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* An address: IPv4 is kept as its IPv4-mapped IPv6 form. */
struct hk_addr {
	uint8_t a[16];
};

struct hk_cidr {
	struct hk_addr net;
	int bits; /* prefix length over the 128-bit form */
};

struct hk_cidrs {
	struct hk_cidr *c;
	size_t n;
};

/*
 * Parses HOST (no port; IPv6 with or without brackets) as an address
 * literal in any form inet_aton or inet_pton accept. Returns 0, or
 * HK_EINVAL when HOST is a name (or malformed).
 */
int hk_addr_literal(const char *host, struct hk_addr *);
/* From a struct sockaddr (AF_INET or AF_INET6). 0 or HK_EINVAL. */
int hk_addr_from_sa(const struct sockaddr *, struct hk_addr *);
/* Whether A is globally routable unicast (after unwrapping IPv4). */
int hk_addr_global(const struct hk_addr *);
/* Whether A may be connected to: global, or inside ALLOW. */
int hk_addr_allowed(const struct hk_addr *, const struct hk_cidrs *allow);
/* The text form of A (IPv4 dotted when it is one); OUT has 64 bytes. */
const char *hk_addr_str(const struct hk_addr *, char out[64]);

/*
 * Parses a comma-separated list of CIDR ranges ("127.0.0.0/8,::1/128";
 * a bare address is a /32 or /128). Returns 0 or HK_EINVAL (with the
 * offending entry in ERR, 128 bytes) or HK_ENOMEM. Free with
 * hk_cidrs_free.
 */
int hk_cidrs_parse(const char *, struct hk_cidrs *, char err[128]);
void hk_cidrs_free(struct hk_cidrs *);

#endif
