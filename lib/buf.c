/* buf.c: growable byte buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hk.h"

/* Makes room for N more bytes and the terminating NUL. */
static int
buf_grow(struct hk_buf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (n > (size_t)-1 - b->len - 1)
		return HK_ENOMEM;
	want = b->len + n + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > (size_t)-1 / 2 ? want : cap * 2;
	if ((p = realloc(b->b, cap)) == NULL)
		return HK_ENOMEM;
	b->b = p;
	b->cap = cap;
	return 0;
}

int
hk_buf_reserve(struct hk_buf *b, size_t n)
{
	return buf_grow(b, n);
}

int
hk_buf_add(struct hk_buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) != 0)
		return HK_ENOMEM;
	if (n > 0)
		memcpy(b->b + b->len, p, n);
	b->len += n;
	b->b[b->len] = '\0';
	return 0;
}

int
hk_buf_adds(struct hk_buf *b, const char *s)
{
	return hk_buf_add(b, s, strlen(s));
}

int
hk_buf_addc(struct hk_buf *b, char c)
{
	return hk_buf_add(b, &c, 1);
}

int
hk_buf_add_u64(struct hk_buf *b, unsigned long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return hk_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int
hk_buf_add_i64(struct hk_buf *b, long long v)
{
	if (v >= 0)
		return hk_buf_add_u64(b, (unsigned long long)v);
	if (hk_buf_addc(b, '-') != 0)
		return HK_ENOMEM;
	if (hk_buf_add_u64(b, -(unsigned long long)v) != 0) {
		b->b[--b->len] = '\0';
		return HK_ENOMEM;
	}
	return 0;
}

int
hk_buf_printf(struct hk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) != 0)
		return HK_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->b + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int
hk_buf_add_jsonesc(struct hk_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;
	unsigned char c;
	char esc[6];

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (hk_buf_add(b, s + start, i - start) != 0)
			return HK_ENOMEM;
		start = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			if (hk_buf_add(b, esc, 6) != 0)
				return HK_ENOMEM;
			continue;
		}
		if (hk_buf_add(b, esc, 2) != 0)
			return HK_ENOMEM;
	}
	return hk_buf_add(b, s + start, len - start);
}

int
hk_buf_add_jsonstr(struct hk_buf *b, const char *s)
{
	if (s == NULL)
		return hk_buf_add(b, "null", 4);
	if (hk_buf_addc(b, '"') != 0 ||
	    hk_buf_add_jsonesc(b, s, strlen(s)) != 0 ||
	    hk_buf_addc(b, '"') != 0)
		return HK_ENOMEM;
	return 0;
}

void
hk_buf_reset(struct hk_buf *b)
{
	b->len = 0;
	if (b->b != NULL)
		b->b[0] = '\0';
}

void
hk_buf_free(struct hk_buf *b)
{
	free(b->b);
	b->b = NULL;
	b->len = b->cap = 0;
}

char *
hk_buf_take(struct hk_buf *b)
{
	char *p = b->b;

	if (p == NULL)
		p = calloc(1, 1);
	b->b = NULL;
	b->len = b->cap = 0;
	return p;
}
