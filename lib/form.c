/* form.c: urlencoded form decoding. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "form.h"
#include "hk.h"
#include "json.h"
#include "map.h"

/* The value of hex digit C, or -1. */
static int
form_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes S[0..n) into OUT, which has room for n+1 bytes. */
static int
form_decode(const char *s, size_t n, char *out, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			if (n - i < 3 || (hi = form_hex(s[i + 1])) < 0 ||
			    (lo = form_hex(s[i + 2])) < 0)
				return HK_EINVAL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

int
hk_form_get(
    const char *body, size_t len, const char *name, char **out, size_t *outlen)
{
	size_t nlen = strlen(name), flen, i = 0, j;
	const char *f, *eq;
	int rc;

	while (i <= len) {
		for (j = i; j < len && body[j] != '&'; j++)
			;
		f = body + i;
		flen = j - i;
		eq = memchr(f, '=', flen);
		if (eq != NULL && (size_t)(eq - f) == nlen &&
		    memcmp(f, name, nlen) == 0) {
			if ((*out = malloc(flen - nlen)) == NULL)
				return HK_ENOMEM;
			rc = form_decode(eq + 1, flen - nlen - 1, *out, outlen);
			if (rc != 0) {
				free(*out);
				*out = NULL;
			}
			return rc;
		}
		i = j + 1;
	}
	return HK_ENOTFOUND;
}

/*
 * Whether S[0..n) is UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF) without NUL: what a JSON string can carry.
 */
static int
form_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	unsigned long c;

	while (i < n) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1, c = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 2, c = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3, c = s[i] & 0x07;
		else
			return 0;
		if (n - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 &&
		        (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (need == 3 && (c < 0x10000 || c > 0x10ffff)))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* Decodes S[0..n) into a new string (caller frees); 0 or an HK_E code. */
static int
form_text(const char *s, size_t n, char **out)
{
	size_t olen;

	if ((*out = malloc(n + 1)) == NULL)
		return HK_ENOMEM;
	if (form_decode(s, n, *out, &olen) != 0 ||
	    !form_utf8((const unsigned char *)*out, olen)) {
		free(*out);
		*out = NULL;
		return HK_EINVAL;
	}
	return 0;
}

/*
 * Adds NAME = VALUE to OBJ; a second value makes the member an array.
 * SEEN maps names to their members, so a form of many fields costs one
 * lookup each.
 */
static int
form_add(cJSON *obj, struct hk_map *seen, const char *name, const char *value)
{
	cJSON *v, *old, *arr = NULL, *first = NULL;

	if ((v = cJSON_CreateString(value)) == NULL)
		return HK_ENOMEM;
	if ((old = hk_map_get(seen, name, strlen(name))) == NULL) {
		if (hk_map_put(seen, name, strlen(name), v) != 0) {
			cJSON_Delete(v);
			return HK_ENOMEM;
		}
		cJSON_AddItemToObject(obj, name, v);
		return 0;
	}
	if (!cJSON_IsArray(old)) {
		/* In place of the first value, keeping the member's place. */
		if ((arr = cJSON_CreateArray()) == NULL ||
		    (first = cJSON_CreateString(old->valuestring)) == NULL ||
		    hk_map_put(seen, name, strlen(name), arr) != 0) {
			cJSON_Delete(arr);
			cJSON_Delete(first);
			cJSON_Delete(v);
			return HK_ENOMEM;
		}
		arr->string = old->string;
		old->string = NULL;
		cJSON_ReplaceItemViaPointer(obj, old, arr); /* frees OLD */
		cJSON_AddItemToArray(arr, first);
		old = arr;
	}
	cJSON_AddItemToArray(old, v);
	return 0;
}

int
hk_form_json(const char *body, size_t len, struct hk_buf *out)
{
	struct hk_map seen = HK_MAP_INIT;
	size_t i = 0, j, flen, nlen;
	char *name = NULL, *value = NULL;
	const char *f, *eq;
	cJSON *obj;
	int rc = 0;

	if ((obj = cJSON_CreateObject()) == NULL)
		return HK_ENOMEM;
	while (i < len && rc == 0) {
		for (j = i; j < len && body[j] != '&'; j++)
			;
		f = body + i;
		flen = j - i;
		i = j + 1;
		if (flen == 0)
			continue; /* "a=1&&b=2" */
		eq = memchr(f, '=', flen);
		nlen = eq != NULL ? (size_t)(eq - f) : flen;
		if ((rc = form_text(f, nlen, &name)) != 0 ||
		    (rc = form_text(eq != NULL ? eq + 1 : f + flen,
		         eq != NULL ? flen - nlen - 1 : 0, &value)) != 0)
			break;
		rc = form_add(obj, &seen, name, value);
		free(name);
		free(value);
		name = value = NULL;
	}
	free(name);
	free(value);
	if (rc == 0)
		rc = hk_json_print(out, obj);
	hk_map_free(&seen);
	cJSON_Delete(obj);
	return rc;
}
