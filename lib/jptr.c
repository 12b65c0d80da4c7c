/* jptr.c: JSON Pointer lookups. */
#include <stdlib.h>
#include <string.h>

#include "hk.h"
#include "jptr.h"

#define JPTR_TOKMAX 256

/* Unescapes one reference token (~0, ~1) of length N into OUT. */
static int
jptr_token(const char *s, size_t n, char out[JPTR_TOKMAX])
{
	size_t i, o = 0;

	if (n >= JPTR_TOKMAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '~') {
			if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
				return -1;
			out[o++] = s[i + 1] == '0' ? '~' : '/';
			i++;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return 0;
}

/*
 * Takes the reference token after the '/' at *P, unescaped into TOK, and
 * moves *P to the next '/' or the end: 0, or -1 when it is malformed.
 */
static int
jptr_step(const char **p, char tok[JPTR_TOKMAX])
{
	const char *s = *p + 1, *next;

	if ((next = strchr(s, '/')) == NULL)
		next = s + strlen(s);
	if (jptr_token(s, (size_t)(next - s), tok) != 0)
		return -1;
	*p = next;
	return 0;
}

/* The array index TOK names, or -1 (no sign, no leading zero). */
static long
jptr_index(const char *tok)
{
	char *end;
	long v;

	if (tok[0] < '0' || tok[0] > '9' || (tok[0] == '0' && tok[1] != '\0'))
		return -1;
	v = strtol(tok, &end, 10);
	if (*end != '\0' || v > 1000000)
		return -1;
	return v;
}

int
hk_jptr_valid(const char *p)
{
	char tok[JPTR_TOKMAX];

	if (p == NULL || (*p != '\0' && *p != '/'))
		return 0;
	while (*p == '/') {
		if (jptr_step(&p, tok) != 0)
			return 0;
	}
	return 1;
}

const cJSON *
hk_jptr_get(const cJSON *node, const char *p)
{
	char tok[JPTR_TOKMAX];
	const cJSON *child;
	long idx;

	if (p == NULL || (*p != '\0' && *p != '/'))
		return NULL;
	while (node != NULL && *p == '/') {
		if (jptr_step(&p, tok) != 0)
			return NULL;
		if (cJSON_IsObject(node)) {
			/* Exact, case-sensitive member names. */
			for (child = node->child; child != NULL;
			     child = child->next)
				if (child->string != NULL &&
				    strcmp(child->string, tok) == 0)
					break;
			node = child;
		} else if (cJSON_IsArray(node)) {
			if ((idx = jptr_index(tok)) < 0)
				return NULL;
			node = cJSON_GetArrayItem(node, (int)idx);
		} else
			return NULL;
	}
	return node;
}

/* The kind of the value whose text starts at C. */
static int
jptr_kind(char c)
{
	switch (c) {
	case '{':
		return HK_JSON_OBJECT;
	case '[':
		return HK_JSON_ARRAY;
	case '"':
		return HK_JSON_STRING;
	case 't':
	case 'f':
		return HK_JSON_BOOL;
	case 'n':
		return HK_JSON_NULL;
	default:
		return HK_JSON_NUMBER;
	}
}

int
hk_jptr_text(
    const char *text, size_t len, const char *p, struct hk_json_str *out)
{
	char tok[JPTR_TOKMAX];
	int rc;

	if (p == NULL || (*p != '\0' && *p != '/'))
		return HK_EINVAL;
	/* The root, without the whitespace around it. */
	while (len > 0 && strchr(" \t\r\n", *text) != NULL && *text != '\0')
		text++, len--;
	while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL &&
	    text[len - 1] != '\0')
		len--;
	if (len == 0)
		return HK_EINVAL;
	out->p = text;
	out->len = len;
	out->kind = jptr_kind(*text);
	while (*p == '/') {
		if (jptr_step(&p, tok) != 0)
			return HK_EINVAL;
		/* An index as RFC 6901 spells it: no sign, no leading zero. */
		if (out->kind == HK_JSON_ARRAY && jptr_index(tok) < 0)
			return HK_ENOTFOUND;
		if ((rc = hk_json_child(out->p, out->len, tok, out)) != 0)
			return rc;
	}
	return 0;
}
