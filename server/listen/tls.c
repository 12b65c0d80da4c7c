/*
 * tls.c: the certificate and key of one listener (proto/operation.md), as an
 * OpenSSL context that conn.c gives every new connection.
 *
 * TLS 1.2 and 1.3 only; for 1.2 only ECDHE with AES-GCM or
 * ChaCha20-Poly1305 (forward secrecy, AEAD; Mozilla's "intermediate"
 * list); no compression, no renegotiation; ALPN http/1.1 when a client
 * asks. SIGHUP rereads the files into a new context used for new
 * connections; a connection keeps the context it began with (SSL_CTX is
 * reference counted, each SSL holds one), and a file that fails to load
 * keeps the old context. The files are read on the loop thread, at the
 * start and on SIGHUP only: they are local and SIGHUP is rare, so the
 * loop waits for two small local reads, never for the network.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "hk.h"
#include "hookd.h"

#define TLS_FILE_MAX (1024 * 1024) /* a key or chain larger is no PEM */

/* Forward secrecy and AEAD only; TLS 1.3's own suites are all that. */
#define TLS_CIPHERS12                                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct hk_tls {
	char *tl_name; /* the listener: public, admin */
	char *tl_cert;
	char *tl_key;
	SSL_CTX *tl_ctx; /* for new connections */
};

/* OpenSSL's last error as text, or FALLBACK; clears the queue. */
static const char *
tls_err(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "%s", fallback);
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* *CAUSE = "PATH: WHAT (detail)"; returns -1. */
static int
tls_fail(char **cause, const char *path, const char *what)
{
	char detail[256];

	tls_err(detail, sizeof(detail), "");
	if (asprintf(cause, "%s: %s%s%s%s", path, what, *detail ? " (" : "",
	        detail, *detail ? ")" : "") == -1)
		*cause = NULL;
	return -1;
}

/*
 * Reads PATH whole into a buffer the caller cleanses and frees (a key
 * read through stdio would leave copies in its buffers).
 */
static char *
tls_read(const char *path, size_t *len, char **cause)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) != 0) {
		if (asprintf(cause, "%s: cannot read: %s", path,
		        strerror(errno)) == -1)
			*cause = NULL;
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (st.st_size > TLS_FILE_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		if (asprintf(cause, "%s: cannot read: too large", path) == -1)
			*cause = NULL;
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* ALPN: HTTP/1.1 when offered; otherwise none (no h2 here). */
static int
tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in,
	        inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* A server context with hookd's protocol settings and no keys yet. */
static SSL_CTX *
tls_ctx_new(void)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS12) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	        SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	return ctx;
}

/* Loads the private key from KEY's text, cleansed after. */
static int
tls_use_key(SSL_CTX *ctx, const char *key, char **cause)
{
	EVP_PKEY *pk = NULL;
	size_t len = 0;
	char *buf;
	BIO *bio;

	if ((buf = tls_read(key, &len, cause)) == NULL)
		return -1;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (pk == NULL)
		return tls_fail(cause, key, "no PEM private key");
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		EVP_PKEY_free(pk);
		return tls_fail(cause, key, "key refused");
	}
	EVP_PKEY_free(pk);
	return 0;
}

/* A new context from the files of T; NULL and *CAUSE on failure. */
static SSL_CTX *
tls_load(struct hk_tls *t, char **cause)
{
	SSL_CTX *ctx;

	*cause = NULL;
	if ((ctx = tls_ctx_new()) == NULL) {
		tls_fail(cause, t->tl_name, "cannot make a TLS context");
		return NULL;
	}
	if (access(t->tl_cert, R_OK) != 0) {
		if (asprintf(cause, "%s: cannot read: %s", t->tl_cert,
		        strerror(errno)) == -1)
			*cause = NULL;
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, t->tl_cert) != 1) {
		tls_fail(cause, t->tl_cert, "no PEM certificate");
		goto fail;
	}
	if (tls_use_key(ctx, t->tl_key, cause) != 0)
		goto fail;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_fail(cause, t->tl_key, "does not match the certificate");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

struct hk_tls *
hk_tls_new(const char *name, const char *cert, const char *key, char **cause)
{
	struct hk_tls *t;

	*cause = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->tl_name = strdup(name)) == NULL ||
	    (t->tl_cert = strdup(cert)) == NULL ||
	    (t->tl_key = strdup(key)) == NULL) {
		hk_tls_free(t);
		return NULL;
	}
	if ((t->tl_ctx = tls_load(t, cause)) == NULL) {
		hk_tls_free(t);
		return NULL;
	}
	return t;
}

int
hk_tls_reload(struct hk_tls *t, char **cause)
{
	SSL_CTX *ctx;

	if ((ctx = tls_load(t, cause)) == NULL)
		return -1;
	SSL_CTX_free(t->tl_ctx); /* connections hold their own reference */
	t->tl_ctx = ctx;
	return 0;
}

struct ssl_st *
hk_tls_session(struct hk_tls *t)
{
	return SSL_new(t->tl_ctx);
}

void
hk_tls_free(struct hk_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->tl_ctx);
	free(t->tl_name);
	free(t->tl_cert);
	free(t->tl_key);
	free(t);
}
