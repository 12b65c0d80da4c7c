/* json.c: a one-pass JSON checker (json.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "json.h"

/*
 * cJSON reads a number through a 64-byte buffer and fails on a longer
 * one; admin bodies (POST /api/events) are read by cJSON, so one limit
 * holds for every body: a number it cannot read is refused here too.
 */
#define JSON_NUMBER_MAX 63

typedef const unsigned char *ptr;

static ptr
json_ws(ptr p, ptr e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
json_hex4(ptr p, ptr e, unsigned *v)
{
	int i;

	*v = 0;
	if (e - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			*v |= p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			*v |= (p[i] | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return 0;
}

/*
 * The length of the UTF-8 sequence at P (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or 0 when it is not one.
 */
static size_t
json_utf8(ptr p, ptr e)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Skips characters a string holds as they are: printable ASCII other
 * than '"' and '\\'. Eight at a time while none of the eight needs a
 * look (the byte tests of "Bit Twiddling Hacks": a byte below 0x20, a
 * byte equal to '"' or '\\', a byte with its high bit set).
 */
static ptr
json_plain(ptr p, ptr e)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t w, q, b;

	while (e - p >= 8) {
		memcpy(&w, p, 8);
		if ((w & high) != 0)
			break;
		/* No byte is 0x80 or more: x - ones borrows iff a byte is 0. */
		q = w ^ (ones * '"');
		b = w ^ (ones * '\\');
		if ((((w - ones * 0x20) | (q - ones) | (b - ones)) & high) != 0)
			break;
		p += 8;
	}
	while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/*
 * The string whose opening quote is at *PP: checks it, sets S to its
 * contents and *PP past the closing quote. Returns 0 or -1.
 */
static int
json_string(ptr *pp, ptr e, struct hk_json_str *s)
{
	ptr p = *pp + 1;
	unsigned u, lo;
	size_t n;

	s->p = (const char *)p;
	for (;;) {
		p = json_plain(p, e);
		if (p == e || *p < 0x20)
			return -1;
		if (*p == '"')
			break;
		if (*p >= 0x80) {
			if ((n = json_utf8(p, e)) == 0)
				return -1;
			p += n;
			continue;
		}
		/* A backslash. */
		if (++p == e)
			return -1;
		switch (*p) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			p++;
			break;
		case 'u':
			if (json_hex4(p + 1, e, &u) != 0)
				return -1;
			p += 5;
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1; /* a low surrogate alone */
			if (u >= 0xd800 && u <= 0xdbff) {
				if (e - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				    json_hex4(p + 2, e, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				p += 6;
			}
			break;
		default:
			return -1;
		}
	}
	s->len = (size_t)(p - (ptr)s->p);
	*pp = p + 1;
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at *PP. */
static int
json_number(ptr *pp, ptr e)
{
	ptr p = *pp, start = p;

#define DIGIT(q) ((q) < e && *(q) >= '0' && *(q) <= '9')
	if (p < e && *p == '-')
		p++;
	if (!DIGIT(p))
		return -1;
	if (*p++ != '0')
		while (DIGIT(p))
			p++;
	if (p < e && *p == '.') {
		p++;
		if (!DIGIT(p))
			return -1;
		while (DIGIT(p))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (!DIGIT(p))
			return -1;
		while (DIGIT(p))
			p++;
	}
#undef DIGIT
	if (p - start > JSON_NUMBER_MAX)
		return -1;
	*pp = p;
	return 0;
}

/* Which of NAMES (of lengths LENS) the member name S is, or -1. */
static int
json_name(const struct hk_json_str *s, const char *const *names,
    const size_t *lens, size_t n)
{
	char buf[512]; /* longer than any name looked for */
	const char *k = s->p;
	size_t i, klen = s->len;
	long dl;

	if (memchr(s->p, '\\', s->len) != NULL) {
		if ((dl = hk_json_unescape(s, buf, sizeof(buf))) < 0)
			return -1; /* longer than any name */
		k = buf;
		klen = (size_t)dl;
	}
	for (i = 0; i < n; i++)
		if (lens[i] == klen && memcmp(names[i], k, klen) == 0)
			return (int)i;
	return -1;
}

/* What a scan picks out (json_scan's MODE). */
enum {
	SCAN_STRINGS, /* string members, without their quotes */
	SCAN_SCALARS, /* and numbers and nulls */
	SCAN_RAW, /* every member's whole text, as found */
	SCAN_FIND /* SCAN_RAW, of trusted text, stopping at the first found */
};

/* Sets OUT to the text [START, END) of kind KIND. */
static void
json_take(struct hk_json_str *out, ptr start, ptr end, int kind)
{
	out->p = (const char *)start;
	out->len = (size_t)(end - start);
	out->kind = kind;
}

/*
 * One pass over TEXT, picking out members by MODE. WANT >= 0: when TEXT
 * is an array, its element WANT is OUT[0] (raw modes only).
 */
static int
json_scan(const char *text, size_t len, const char *const *names, size_t n,
    struct hk_json_str *out, int mode, long want)
{
	ptr p = (ptr)text, e = p + len, start, open = NULL;
	unsigned char stack[HK_JSON_DEPTH]; /* '{' or '[' per level */
	size_t lens[HK_JSON_NAMES];
	struct hk_json_str s;
	unsigned seen = 0;
	int depth = 0, member = -1, m, open_m = -1, raw = mode >= SCAN_RAW;
	long elem = 0;
	size_t i;

	if (n > HK_JSON_NAMES)
		return HK_EINVAL;
	for (i = 0; i < n; i++) {
		out[i].p = NULL;
		lens[i] = strlen(names[i]);
	}
	if (want >= 0)
		out[0].p = NULL;
	p = json_ws(p, e);
value:
	/* MEMBER: the top-level name this value belongs to, if wanted. */
	m = member;
	member = -1;
	if (depth == 1 && stack[0] == '[' && want >= 0 && elem++ == want)
		m = 0;
	if (p == e)
		return HK_EINVAL;
	start = p;
	switch (*p) {
	case '{':
	case '[':
		if (depth == HK_JSON_DEPTH)
			return HK_EINVAL;
		if (m >= 0 && raw) {
			open = p; /* taken when its level closes */
			open_m = m;
		}
		stack[depth++] = *p;
		p = json_ws(p + 1, e);
		if (p < e && *p == (stack[depth - 1] == '{' ? '}' : ']')) {
			p++;
			depth--;
			goto closed;
		}
		if (stack[depth - 1] == '[')
			goto value;
		goto key;
	case '"':
		if (json_string(&p, e, &s) != 0)
			return HK_EINVAL;
		if (m >= 0 && raw)
			json_take(&out[m], start, p, HK_JSON_STRING);
		else if (m >= 0) {
			out[m] = s;
			out[m].kind = HK_JSON_STRING;
		}
		goto taken;
	case 't':
		if (e - p < 4 || memcmp(p, "true", 4) != 0)
			return HK_EINVAL;
		p += 4;
		if (m >= 0 && raw)
			json_take(&out[m], start, p, HK_JSON_BOOL);
		goto taken;
	case 'f':
		if (e - p < 5 || memcmp(p, "false", 5) != 0)
			return HK_EINVAL;
		p += 5;
		if (m >= 0 && raw)
			json_take(&out[m], start, p, HK_JSON_BOOL);
		goto taken;
	case 'n':
		if (e - p < 4 || memcmp(p, "null", 4) != 0)
			return HK_EINVAL;
		p += 4;
		if (m >= 0 && mode != SCAN_STRINGS)
			json_take(&out[m], start, p, HK_JSON_NULL);
		goto taken;
	default:
		if (json_number(&p, e) != 0)
			return HK_EINVAL;
		if (m >= 0 && mode != SCAN_STRINGS)
			json_take(&out[m], start, p, HK_JSON_NUMBER);
		goto taken;
	}
closed:
	/* A container just closed: the wanted one, when back at its level. */
	if (open != NULL && depth == 1) {
		json_take(&out[open_m], open, p,
		    *open == '{' ? HK_JSON_OBJECT : HK_JSON_ARRAY);
		open = NULL;
		m = open_m;
		goto taken;
	}
	goto next;
taken:
	if (mode == SCAN_FIND && m >= 0)
		return 0;
	goto next;
key:
	if (p == e || *p != '"' || json_string(&p, e, &s) != 0)
		return HK_EINVAL;
	/* Only the first member of a name counts, as in cJSON. */
	if (depth == 1 && n > 0 && (m = json_name(&s, names, lens, n)) >= 0 &&
	    !(seen & (1u << m))) {
		seen |= 1u << m;
		member = m;
	}
	p = json_ws(p, e);
	if (p == e || *p != ':')
		return HK_EINVAL;
	p = json_ws(p + 1, e);
	goto value;
next:
	p = json_ws(p, e);
	if (depth == 0)
		return p == e ? 0 : HK_EINVAL;
	if (p == e)
		return HK_EINVAL;
	if (*p == ',') {
		p = json_ws(p + 1, e);
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
	if (*p != (stack[depth - 1] == '{' ? '}' : ']'))
		return HK_EINVAL;
	p++;
	depth--;
	goto closed;
}

int
hk_json_scan(const char *text, size_t len, const char *const *names, size_t n,
    struct hk_json_str *out)
{
	return json_scan(text, len, names, n, out, SCAN_STRINGS, -1);
}

int
hk_json_members(const char *text, size_t len, const char *const *names,
    size_t n, struct hk_json_str *out)
{
	return json_scan(text, len, names, n, out, SCAN_SCALARS, -1);
}

int
hk_json_raw(const char *text, size_t len, const char *const *names, size_t n,
    struct hk_json_str *out)
{
	return json_scan(text, len, names, n, out, SCAN_RAW, -1);
}

int
hk_json_child(
    const char *text, size_t len, const char *key, struct hk_json_str *out)
{
	ptr p = json_ws((ptr)text, (ptr)text + len);
	const char *k;
	long idx = 0;
	int rc;

	out->p = NULL;
	if (p == (ptr)text + len || (*p != '{' && *p != '['))
		return HK_ENOTFOUND;
	if (*p == '[') {
		/* An index: decimal digits, no sign. */
		for (k = key; *k >= '0' && *k <= '9' && idx < 100000000; k++)
			idx = idx * 10 + (*k - '0');
		if (k == key || *k != '\0')
			return HK_ENOTFOUND;
		rc = json_scan(text, len, NULL, 0, out, SCAN_FIND, idx);
	} else
		rc = json_scan(text, len, &key, 1, out, SCAN_FIND, -1);
	if (rc != 0)
		return rc;
	return out->p != NULL ? 0 : HK_ENOTFOUND;
}

/* Appends code point U as UTF-8 at OUT[*N] if it fits in CAP. */
static int
json_put(char *out, size_t cap, size_t *n, unsigned u)
{
	unsigned char b[4];
	size_t k;

	if (u < 0x80) {
		b[0] = (unsigned char)u;
		k = 1;
	} else if (u < 0x800) {
		b[0] = (unsigned char)(0xc0 | u >> 6);
		b[1] = (unsigned char)(0x80 | (u & 0x3f));
		k = 2;
	} else if (u < 0x10000) {
		b[0] = (unsigned char)(0xe0 | u >> 12);
		b[1] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (u & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | u >> 18);
		b[1] = (unsigned char)(0x80 | (u >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (u & 0x3f));
		k = 4;
	}
	if (*n + k >= cap)
		return -1;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

long
hk_json_unescape(const struct hk_json_str *s, char *out, size_t outlen)
{
	ptr p = (ptr)s->p, e = p + s->len;
	size_t n = 0;
	unsigned u, lo;
	int rc = 0;

	if (outlen == 0)
		return -1;
	while (p < e && rc == 0) {
		if (*p != '\\') {
			u = *p++;
			if (n + 1 >= outlen)
				rc = -1;
			else
				out[n++] = (char)u;
			continue;
		}
		switch (p[1]) {
		case 'b':
			u = '\b';
			break;
		case 'f':
			u = '\f';
			break;
		case 'n':
			u = '\n';
			break;
		case 'r':
			u = '\r';
			break;
		case 't':
			u = '\t';
			break;
		case 'u':
			/* Checked by the scan: four hex digits, pairs whole. */
			json_hex4(p + 2, e, &u);
			if (u >= 0xd800 && u <= 0xdbff) {
				json_hex4(p + 8, e, &lo);
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			p += 4;
			break;
		default:
			u = p[1];
			break;
		}
		p += 2;
		rc = json_put(out, outlen, &n, u);
	}
	out[n] = '\0';
	return rc == 0 ? (long)n : -1;
}

/* A number as cJSON writes it: the shortest of 15 or 17 digits. */
static int
json_print_number(struct hk_buf *b, double d)
{
	char tmp[32];

	if (isnan(d) || isinf(d))
		return hk_buf_adds(b, "null");
	if (d == 0 && signbit(d))
		return hk_buf_adds(b, "-0");
	if (d == floor(d) && fabs(d) <= 9007199254740992.0)
		return hk_buf_add_i64(b, (long long)d);
	snprintf(tmp, sizeof(tmp), "%1.15g", d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof(tmp), "%1.17g", d);
	return hk_buf_adds(b, tmp);
}

int
hk_json_print(struct hk_buf *b, const cJSON *j)
{
	const cJSON *c;
	int open, close;

	if (j == NULL)
		return hk_buf_adds(b, "null");
	switch (j->type & 0xff) {
	case cJSON_False:
		return hk_buf_adds(b, "false");
	case cJSON_True:
		return hk_buf_adds(b, "true");
	case cJSON_NULL:
		return hk_buf_adds(b, "null");
	case cJSON_Number:
		return json_print_number(b, j->valuedouble);
	case cJSON_String:
		return hk_buf_add_jsonstr(b, j->valuestring);
	case cJSON_Raw:
		return j->valuestring != NULL ? hk_buf_adds(b, j->valuestring)
		                              : hk_buf_adds(b, "null");
	case cJSON_Array:
	case cJSON_Object:
		break;
	default:
		return hk_buf_adds(b, "null");
	}
	open = cJSON_IsObject(j) ? '{' : '[';
	close = cJSON_IsObject(j) ? '}' : ']';
	if (hk_buf_addc(b, (char)open) != 0)
		return HK_ENOMEM;
	for (c = j->child; c != NULL; c = c->next) {
		if (c != j->child && hk_buf_addc(b, ',') != 0)
			return HK_ENOMEM;
		if (cJSON_IsObject(j) &&
		    (hk_buf_add_jsonstr(
		         b, c->string != NULL ? c->string : "") ||
		        hk_buf_addc(b, ':')))
			return HK_ENOMEM;
		if (hk_json_print(b, c) != 0)
			return HK_ENOMEM;
	}
	return hk_buf_addc(b, (char)close);
}

char *
hk_json_text(const cJSON *j)
{
	struct hk_buf b = HK_BUF_INIT;

	if (hk_json_print(&b, j) != 0) {
		hk_buf_free(&b);
		return NULL;
	}
	return hk_buf_take(&b);
}
