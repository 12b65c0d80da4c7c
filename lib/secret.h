/*
 * secret.h: tokens, HMAC secrets and the master key that seals them.
 *
 * Tokens are "whtok_" + URL-safe base64 (no padding) of 32 random bytes;
 * only their hash (BLAKE2b-256, hex) is stored. Secrets are "whsec_" +
 * standard base64 of 32 random bytes (the Standard Webhooks form). A
 * secret at rest is sealed with XSalsa20-Poly1305 (crypto_secretbox)
 * under the 32-byte master key, as base64 of nonce || ciphertext.
 *
 * Thread-safe; needs sodium_init() (hk_sig_init()) first. Key material
 * that passes through a stack buffer is wiped with sodium_memzero.
 */
#ifndef HK_SECRET_H
#define HK_SECRET_H

#include <stddef.h>

#define HK_TOKEN_LEN 50 /* "whtok_" + 43, and NUL */
#define HK_TOKEN_HASH_LEN 65 /* 64 hex digits and NUL */
#define HK_SECRET_LEN 51 /* "whsec_" + 44, and NUL */
#define HK_MKEY_LEN 32

/* A new token with PREFIX ("whtok_", "hkadm_") into OUT (HK_TOKEN_LEN). */
void hk_token_new(const char *prefix, char out[HK_TOKEN_LEN]);
/* The hex BLAKE2b-256 of TOKEN into OUT. */
void hk_token_hash(const char *token, size_t len, char out[HK_TOKEN_HASH_LEN]);
/* Constant-time equality of two NUL-terminated strings (length first). */
int hk_str_ct_eq(const char *a, const char *b);

/* A new "whsec_…" secret into OUT (HK_SECRET_LEN). */
void hk_secret_new(char out[HK_SECRET_LEN]);

/*
 * Reads the master key from PATH, or creates it there (mode 0600) when
 * CREATE is set and it does not exist. A file that is not exactly 32
 * bytes, or readable by group or others, is refused. Returns 0, HK_EINVAL
 * (bad file, detail in *cause, which the caller frees) or HK_EIO.
 */
int hk_mkey_load(
    const char *path, int create, unsigned char key[HK_MKEY_LEN], char **cause);

/*
 * Seals PLAIN under KEY. Returns a base64 string the caller frees, or
 * NULL when out of memory.
 */
char *hk_seal(const unsigned char key[HK_MKEY_LEN], const char *plain);
/*
 * Opens what hk_seal produced. Returns the plaintext (caller frees, and
 * should sodium_memzero it), or NULL with *err set to HK_ECRYPTO or
 * HK_ENOMEM.
 */
char *hk_unseal(
    const unsigned char key[HK_MKEY_LEN], const char *sealed, int *err);

#endif
