/*
 * buf.h: a growable byte buffer, always NUL-terminated.
 *
 * The buffer owns b; hk_buf_free() releases it. Appends return 0 or
 * HK_ENOMEM and leave the buffer as it was on failure. Not thread-safe.
 */
#ifndef HK_BUF_H
#define HK_BUF_H

#include <stddef.h>

struct hk_buf {
	char *b;
	size_t len;
	size_t cap;
};

#define HK_BUF_INIT                                                            \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Makes room for N more bytes, so the appends after it do not realloc. */
int hk_buf_reserve(struct hk_buf *, size_t n);
int hk_buf_add(struct hk_buf *, const void *, size_t);
int hk_buf_adds(struct hk_buf *, const char *);
int hk_buf_addc(struct hk_buf *, char);
int hk_buf_printf(struct hk_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends V in decimal (printf is the slowest part of a small answer). */
int hk_buf_add_u64(struct hk_buf *, unsigned long long v);
int hk_buf_add_i64(struct hk_buf *, long long v);
/* Appends S as the contents of a JSON string, escaped, without quotes. */
int hk_buf_add_jsonesc(struct hk_buf *, const char *s, size_t len);
/* Appends S as a quoted JSON string, or null when S is NULL. */
int hk_buf_add_jsonstr(struct hk_buf *, const char *s);
void hk_buf_reset(struct hk_buf *);
void hk_buf_free(struct hk_buf *);
/* Hands the contents to the caller (who frees them); the buffer is empty. */
char *hk_buf_take(struct hk_buf *);

#endif
