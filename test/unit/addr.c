/* Unit tests of lib/addr.c: the SSRF guard's address judgement. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "hk.h"
#include "t.h"

/* Whether HOST parses and is judged ALLOWED under ALLOW ("" for none). */
static int
judged(const char *host, const char *allow)
{
	struct hk_cidrs cs;
	struct hk_addr a;
	char err[128];
	int ok;

	if (hk_addr_literal(host, &a) != 0)
		return -1;
	if (hk_cidrs_parse(allow, &cs, err) != 0)
		return -2;
	ok = hk_addr_allowed(&a, &cs);
	hk_cidrs_free(&cs);
	return ok;
}

static void
test_refused(void)
{
	/* Every spelling of loopback curl accepts, and the rest. */
	static const char *bad[] = {"127.0.0.1", "2130706433", "0x7f000001",
	    "0177.0.0.1", "127.1", "0", "0.0.0.0", "[::ffff:127.0.0.1]",
	    "[::ffff:7f00:1]", "::1", "[::1]", "::", "10.1.2.3", "172.16.0.1",
	    "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.169.254",
	    "224.0.0.1", "255.255.255.255", "240.0.0.1", "198.18.0.1",
	    "192.0.2.1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1",
	    "ff02::1", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1",
	    "64:ff9b:1::8.8.8.8", "2002:7f00:1::", "2002:a00:1::1",
	    "2001:0:4136:e378:8000:63bf:80ff:fffe", "2001:db8::1", "3fff::1",
	    "100::1", "::ffff:169.254.169.254", "0x0a.0.0.1", "012.0.0.1",
	    "167772161"};
	size_t i;

	for (i = 0; i < HK_NELEM(bad); i++) {
		if (judged(bad[i], "") != 0)
			fprintf(stderr, "not refused: %s (%d)\n", bad[i],
			    judged(bad[i], ""));
		T_CHECK(judged(bad[i], "") == 0);
	}
}

static void
test_allowed(void)
{
	static const char *good[] = {"8.8.8.8", "1.1.1.1", "93.184.216.34",
	    "2606:4700::1111", "[2a00:1450:4001:80b::200e]", "::ffff:8.8.8.8",
	    "64:ff9b::808:808", "2002:808:808::1", "172.32.0.1", "100.128.0.1",
	    "11.0.0.1",
	    /* Teredo with a global server and client 8.8.4.4. */
	    "2001:0:808:808::f7f7:fbfb"};
	size_t i;

	for (i = 0; i < HK_NELEM(good); i++) {
		if (judged(good[i], "") != 1)
			fprintf(stderr, "not allowed: %s\n", good[i]);
		T_CHECK(judged(good[i], "") == 1);
	}
}

static void
test_allow_list(void)
{
	T_CHECK(judged("127.0.0.1", "127.0.0.0/8") == 1);
	T_CHECK(judged("2130706433", "127.0.0.0/8") == 1);
	T_CHECK(judged("[::ffff:127.0.0.1]", "127.0.0.0/8") == 1);
	T_CHECK(judged("10.0.0.1", "127.0.0.0/8") == 0);
	T_CHECK(judged("10.2.3.4", " 127.0.0.0/8 , 10.0.0.0/8 ") == 1);
	T_CHECK(judged("192.168.1.1", "192.168.1.1") == 1);
	T_CHECK(judged("192.168.1.2", "192.168.1.1") == 0);
	T_CHECK(judged("::1", "::1/128") == 1);
	T_CHECK(judged("fd00::5", "fd00::/8") == 1);
	T_CHECK(judged("fe80::5", "fd00::/8") == 0);
	T_CHECK(judged("172.20.0.1", "172.16.0.0/12") == 1);
	T_CHECK(judged("172.32.0.1", "172.16.0.0/12") == 1); /* global */
}

static void
test_parse(void)
{
	struct hk_cidrs cs;
	struct hk_addr a;
	char err[128], s[64];

	T_CHECK(hk_addr_literal("example.com", &a) == HK_EINVAL);
	T_CHECK(hk_addr_literal("1.2.3.4.nip.io", &a) == HK_EINVAL);
	T_CHECK(hk_addr_literal("", &a) == HK_EINVAL);
	T_CHECK(hk_addr_literal("[::1", &a) == HK_EINVAL);
	T_CHECK(hk_addr_literal("1.2.3.4 ", &a) == HK_EINVAL);
	T_CHECK(hk_addr_literal("256.1.1.1", &a) == HK_EINVAL);
	T_CHECK(hk_addr_literal("0x7f.1", &a) == 0);
	T_STREQ(hk_addr_str(&a, s), "127.0.0.1");
	T_CHECK(hk_addr_literal("[2001:db8::1]", &a) == 0);
	T_STREQ(hk_addr_str(&a, s), "2001:db8::1");
	T_CHECK(hk_cidrs_parse("10.0.0.0/33", &cs, err) == HK_EINVAL);
	T_STREQ(err, "10.0.0.0/33");
	T_CHECK(hk_cidrs_parse("127.1/8", &cs, err) == HK_EINVAL);
	T_CHECK(hk_cidrs_parse("x", &cs, err) == HK_EINVAL);
	T_CHECK(hk_cidrs_parse("::/129", &cs, err) == HK_EINVAL);
	T_CHECK(hk_cidrs_parse("10.0.0.0/", &cs, err) == HK_EINVAL);
	T_CHECK(hk_cidrs_parse("", &cs, err) == 0 && cs.n == 0);
	T_CHECK(hk_cidrs_parse("1.2.3.0/24,,::/0", &cs, err) == 0 && cs.n == 2);
	hk_cidrs_free(&cs);
}

static void
test_sockaddr(void)
{
	struct sockaddr_in s4 = {0};
	struct sockaddr_in6 s6 = {0};
	struct hk_addr a;

	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	T_CHECK(hk_addr_from_sa((struct sockaddr *)&s4, &a) == 0);
	T_CHECK(!hk_addr_global(&a));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2606:4700::1111", &s6.sin6_addr);
	T_CHECK(hk_addr_from_sa((struct sockaddr *)&s6, &a) == 0);
	T_CHECK(hk_addr_global(&a));
	s6.sin6_family = AF_UNIX;
	T_CHECK(hk_addr_from_sa((struct sockaddr *)&s6, &a) == HK_EINVAL);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"refused", test_refused},
	    {"allowed", test_allowed},
	    {"allow_list", test_allow_list},
	    {"parse", test_parse},
	    {"sockaddr", test_sockaddr},
	};

	return t_run("addr", cases, HK_NELEM(cases));
}
