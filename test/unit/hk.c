/*
 * Unit tests of lib/hk.c: every error code has its own text, and an
 * unknown code still reads as an error.
 */
#include <string.h>

#include "hk.h"
#include "t.h"

static void
test_strerror(void)
{
	static const int codes[] = {HK_OK, HK_ERR, HK_AGAIN, HK_ENOMEM,
	    HK_EINVAL, HK_ENOTFOUND, HK_EEXIST, HK_EFULL, HK_EIO, HK_EDUP,
	    HK_ESIGMISSING, HK_ESIG, HK_ESTALE, HK_ESHUTDOWN, HK_ECRYPTO};
	size_t i, j;

	T_STREQ(hk_strerror(HK_OK), "success");
	T_STREQ(hk_strerror(HK_EIO), "i/o error");
	T_STREQ(hk_strerror(HK_EFULL), "store is full");
	T_STREQ(hk_strerror(-999), "error");
	T_STREQ(hk_strerror(1), "error");
	/* Codes but HK_ERR each say something of their own. */
	for (i = 0; i < HK_NELEM(codes); i++)
		for (j = i + 1; j < HK_NELEM(codes); j++)
			if (codes[i] != HK_ERR && codes[j] != HK_ERR)
				T_CHECK(strcmp(hk_strerror(codes[i]),
				            hk_strerror(codes[j])) != 0);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"strerror", test_strerror},
	};

	return t_run("hk", cases, HK_NELEM(cases));
}
