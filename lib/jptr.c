/* jptr.c: JSON Pointer lookups. */
#include <stdlib.h>
#include <string.h>

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
	const char *next;

	if (p == NULL || (*p != '\0' && *p != '/'))
		return 0;
	while (*p == '/') {
		p++;
		next = strchr(p, '/');
		if (next == NULL)
			next = p + strlen(p);
		if (jptr_token(p, (size_t)(next - p), tok) != 0)
			return 0;
		p = next;
	}
	return 1;
}

const cJSON *
hk_jptr_get(const cJSON *node, const char *p)
{
	char tok[JPTR_TOKMAX];
	const char *next;
	const cJSON *child;
	long idx;

	if (p == NULL || (*p != '\0' && *p != '/'))
		return NULL;
	while (node != NULL && *p == '/') {
		p++;
		next = strchr(p, '/');
		if (next == NULL)
			next = p + strlen(p);
		if (jptr_token(p, (size_t)(next - p), tok) != 0)
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
		p = next;
	}
	return node;
}
