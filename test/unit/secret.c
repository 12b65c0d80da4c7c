/*
 * Unit tests of lib/secret.c: tokens and their hashes, signing secrets,
 * the master key and the secrets sealed with it.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hk.h"
#include "secret.h"
#include "t.h"

/* Tokens and secrets are random, of their alphabet; hashes are stable. */
static void
test_tokens(void)
{
	char t[HK_TOKEN_LEN], u[HK_TOKEN_LEN], h1[HK_TOKEN_HASH_LEN],
	    h2[HK_TOKEN_HASH_LEN], s[HK_SECRET_LEN];
	unsigned char raw[64];
	size_t i, n;

	hk_token_new("whtok_", t);
	hk_token_new("whtok_", u);
	T_CHECK(strncmp(t, "whtok_", 6) == 0 && strlen(t) == 6 + 43);
	T_CHECK(strcmp(t, u) != 0);
	for (i = 6; i < strlen(t); i++)
		T_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		               "vwxyz0123456789-_",
		            t[i]) != NULL);
	hk_token_hash(t, strlen(t), h1);
	hk_token_hash(t, strlen(t), h2);
	T_CHECK(strlen(h1) == 64 && strcmp(h1, h2) == 0);
	hk_token_hash(u, strlen(u), h2);
	T_CHECK(strcmp(h1, h2) != 0);
	T_CHECK(hk_str_ct_eq("abc", "abc"));
	T_CHECK(!hk_str_ct_eq("abc", "abd"));
	T_CHECK(!hk_str_ct_eq("abc", "ab"));
	T_CHECK(!hk_str_ct_eq("", "a"));
	hk_secret_new(s);
	T_CHECK(strncmp(s, "whsec_", 6) == 0 && strlen(s) == 6 + 44);
	T_CHECK(sodium_base642bin(raw, sizeof(raw), s + 6, strlen(s + 6), NULL,
	            &n, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    n == 32);
}

/* The master key: made once, refused if readable or resized; seals open. */
static void
test_mkey(void)
{
	unsigned char k1[HK_MKEY_LEN], k2[HK_MKEY_LEN];
	char dir[] = "/tmp/hookd-unit.XXXXXX", path[256], *cause = NULL;
	char *sealed, *plain;
	struct stat st;
	int fd, err;

	T_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	T_CHECK(hk_mkey_load(path, 0, k1, &cause) != 0);
	free(cause);
	cause = NULL;
	T_CHECK(hk_mkey_load(path, 1, k1, &cause) == 0);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	    st.st_size == HK_MKEY_LEN);
	T_CHECK(hk_mkey_load(path, 1, k2, &cause) == 0);
	T_CHECK(memcmp(k1, k2, HK_MKEY_LEN) == 0);
	/* Sealed secrets open with the key, and only with it. */
	sealed = hk_seal(k1, "whsec_secret-value");
	T_CHECK(sealed != NULL && strstr(sealed, "secret-value") == NULL);
	plain = hk_unseal(k1, sealed, &err);
	T_STREQ(plain, "whsec_secret-value");
	free(plain);
	k2[0] ^= 1;
	T_CHECK(hk_unseal(k2, sealed, &err) == NULL && err == HK_ECRYPTO);
	sealed[5] = sealed[5] == 'A' ? 'B' : 'A';
	T_CHECK(hk_unseal(k1, sealed, &err) == NULL && err == HK_ECRYPTO);
	T_CHECK(hk_unseal(k1, "%%%", &err) == NULL);
	free(sealed);
	/* Readable by others, or the wrong size: refused. */
	chmod(path, 0644);
	T_CHECK(hk_mkey_load(path, 1, k2, &cause) == HK_EINVAL);
	free(cause);
	cause = NULL;
	chmod(path, 0600);
	fd = open(path, O_WRONLY | O_APPEND);
	T_CHECK(fd != -1 && write(fd, "x", 1) == 1);
	close(fd);
	T_CHECK(hk_mkey_load(path, 1, k2, &cause) == HK_EINVAL);
	free(cause);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	static const struct t_case cases[] = {
	    {"tokens", test_tokens},
	    {"mkey", test_mkey},
	};

	/* Tokens and secrets draw on libsodium's random bytes. */
	if (sodium_init() < 0) {
		fprintf(stderr, "secret: sodium_init failed\n");
		return 1;
	}
	return t_run("secret", cases, HK_NELEM(cases));
}
