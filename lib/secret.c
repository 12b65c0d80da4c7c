/* secret.c: tokens, secrets, the master key and sealing. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hk.h"
#include "secret.h"

void
hk_token_new(const char *prefix, char out[HK_TOKEN_LEN])
{
	unsigned char raw[32];
	size_t plen = strlen(prefix);

	if (plen > 6)
		plen = 6;
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, prefix, plen);
	sodium_bin2base64(out + plen, HK_TOKEN_LEN - plen, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
hk_token_hash(const char *token, size_t len, char out[HK_TOKEN_HASH_LEN])
{
	unsigned char h[32];

	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)token, len, NULL, 0);
	sodium_bin2hex(out, HK_TOKEN_HASH_LEN, h, sizeof(h));
}

int
hk_str_ct_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return sodium_memcmp(a, b, la) == 0;
}

void
hk_secret_new(char out[HK_SECRET_LEN])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "whsec_", 6);
	sodium_bin2base64(out + 6, HK_SECRET_LEN - 6, raw, sizeof(raw),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, sizeof(raw));
}

/* Writes a new random key to PATH, refusing to overwrite. */
static int
mkey_create(const char *path, unsigned char key[HK_MKEY_LEN], char **cause)
{
	int fd;
	ssize_t n;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		return HK_EIO;
	}
	randombytes_buf(key, HK_MKEY_LEN);
	n = write(fd, key, HK_MKEY_LEN);
	if (n != HK_MKEY_LEN || fsync(fd) != 0) {
		if (asprintf(cause, "%s: cannot write key", path) == -1)
			*cause = NULL;
		close(fd);
		unlink(path);
		return HK_EIO;
	}
	close(fd);
	return 0;
}

int
hk_mkey_load(
    const char *path, int create, unsigned char key[HK_MKEY_LEN], char **cause)
{
	struct stat st;
	int fd, rc = HK_EINVAL;
	ssize_t n;

	*cause = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT && create)
			return mkey_create(path, key, cause);
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		return HK_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (asprintf(cause, "%s: not a regular file", path) == -1)
			*cause = NULL;
		goto done;
	}
	if (st.st_mode & 077) {
		if (asprintf(cause,
		        "%s: mode %03o, must not be readable by group or others",
		        path, (unsigned)(st.st_mode & 0777)) == -1)
			*cause = NULL;
		goto done;
	}
	n = read(fd, key, HK_MKEY_LEN);
	if (n != HK_MKEY_LEN || st.st_size != HK_MKEY_LEN) {
		if (asprintf(cause, "%s: must hold exactly %d bytes", path,
		        HK_MKEY_LEN) == -1)
			*cause = NULL;
		sodium_memzero(key, HK_MKEY_LEN);
		goto done;
	}
	rc = 0;
done:
	close(fd);
	return rc;
}

char *
hk_seal(const unsigned char key[HK_MKEY_LEN], const char *plain)
{
	size_t plen = strlen(plain);
	size_t blen =
	    crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
	size_t olen =
	    sodium_base64_encoded_len(blen, sodium_base64_VARIANT_ORIGINAL);
	unsigned char *box;
	char *out;

	if ((box = malloc(blen)) == NULL)
		return NULL;
	if ((out = malloc(olen)) == NULL) {
		free(box);
		return NULL;
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)plain, plen, box, key);
	sodium_bin2base64(out, olen, box, blen, sodium_base64_VARIANT_ORIGINAL);
	free(box);
	return out;
}

char *
hk_unseal(const unsigned char key[HK_MKEY_LEN], const char *sealed, int *err)
{
	size_t slen = strlen(sealed), blen;
	unsigned char *box = NULL;
	char *plain = NULL;

	*err = HK_ENOMEM;
	if ((box = malloc(slen + 1)) == NULL)
		return NULL;
	*err = HK_ECRYPTO;
	if (sodium_base642bin(box, slen + 1, sealed, slen, NULL, &blen, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto done;
	if ((plain = malloc(blen + 1)) == NULL) {
		*err = HK_ENOMEM;
		goto done;
	}
	if (crypto_secretbox_open_easy((unsigned char *)plain,
	        box + crypto_secretbox_NONCEBYTES,
	        blen - crypto_secretbox_NONCEBYTES, box, key) != 0) {
		free(plain);
		plain = NULL;
		goto done;
	}
	plain[blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES] =
	    '\0';
	*err = 0;
done:
	free(box);
	return plain;
}
