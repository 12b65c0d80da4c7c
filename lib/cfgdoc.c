/*
 * cfgdoc.c: YAML or JSON into cJSON (cfgdoc.h), through libyaml's event
 * parser: a stack of open containers, each event a value added to the
 * one on top.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "cfgdoc.h"
#include "hk.h"

#define CD_DEPTH 64 /* containers open at once */

struct cd_frame {
	cJSON *node;
	char *key; /* a mapping's key waiting for its value */
};

static int
cd_note(struct hk_cfgdoc *doc, const cJSON *item, int line)
{
	struct hk_cfgdoc_line *p;
	size_t cap;

	if (doc->cd_nlines == doc->cd_cap) {
		cap = doc->cd_cap ? doc->cd_cap * 2 : 64;
		if ((p = realloc(doc->cd_lines, cap * sizeof(*p))) == NULL)
			return HK_ENOMEM;
		doc->cd_lines = p;
		doc->cd_cap = cap;
	}
	doc->cd_lines[doc->cd_nlines].item = item;
	doc->cd_lines[doc->cd_nlines++].line = line;
	return 0;
}

/* A plain scalar's value, as YAML 1.1's core types read it. */
static cJSON *
cd_plain(const char *s, size_t n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	char *end;
	double d;
	size_t i;

	for (i = 0; i < HK_NELEM(nulls); i++)
		if (strcmp(s, nulls[i]) == 0)
			return cJSON_CreateNull();
	for (i = 0; i < HK_NELEM(yes); i++)
		if (strcmp(s, yes[i]) == 0)
			return cJSON_CreateTrue();
	for (i = 0; i < HK_NELEM(no); i++)
		if (strcmp(s, no[i]) == 0)
			return cJSON_CreateFalse();
	/* A number only when the whole text is one, in decimal. */
	if (n > 0 && strspn(s, "0123456789+-.eE") == n &&
	    (s[0] != '0' || n == 1 || s[1] == '.')) {
		errno = 0;
		d = strtod(s, &end);
		if (errno == 0 && *end == '\0' && isfinite(d))
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(s);
}

/* Adds V to the container on top (or makes it the root). */
static int
cd_add(struct hk_cfgdoc *doc, struct cd_frame *st, int depth, cJSON *v,
    int line, char *err, size_t errlen)
{
	struct cd_frame *top;

	if (v == NULL)
		return HK_ENOMEM;
	if (cd_note(doc, v, line) != 0) {
		cJSON_Delete(v);
		return HK_ENOMEM;
	}
	if (depth == 0) {
		doc->cd_root = v;
		return 0;
	}
	top = &st[depth - 1];
	if (cJSON_IsArray(top->node)) {
		cJSON_AddItemToArray(top->node, v);
		return 0;
	}
	if (top->key == NULL) {
		/* A mapping's key: a plain string, nothing else. */
		if (!cJSON_IsString(v) && !cJSON_IsNumber(v) &&
		    !cJSON_IsBool(v)) {
			snprintf(err, errlen,
			    "line %d: a key must be a plain word", line);
			cJSON_Delete(v);
			return HK_EINVAL;
		}
		top->key = strdup(cJSON_IsString(v) ? v->valuestring
		        : cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? "true" : "false")
		                          : "");
		if (cJSON_IsNumber(v) && top->key != NULL) {
			free(top->key);
			if (asprintf(&top->key, "%.17g", v->valuedouble) < 0)
				top->key = NULL;
		}
		cJSON_Delete(v);
		return top->key == NULL ? HK_ENOMEM : 0;
	}
	if (cJSON_GetObjectItemCaseSensitive(top->node, top->key) != NULL) {
		snprintf(err, errlen, "line %d: %.80s is given twice", line,
		    top->key);
		cJSON_Delete(v);
		return HK_EINVAL;
	}
	cJSON_AddItemToObject(top->node, top->key, v);
	free(top->key);
	top->key = NULL;
	return 0;
}

static int
cd_yaml(struct hk_cfgdoc *doc, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct cd_frame st[CD_DEPTH];
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, done = 0, rc = 0, line, docs = 0;
	cJSON *v;

	memset(st, 0, sizeof(st));
	if (!yaml_parser_initialize(&p))
		return HK_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(err, errlen, "line %d: %s",
			    (int)p.problem_mark.line + 1,
			    p.problem != NULL ? p.problem : "not YAML");
			rc = HK_EINVAL;
			break;
		}
		line = (int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				snprintf(err, errlen,
				    "line %d: one document only", line);
				rc = HK_EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT:
			snprintf(err, errlen,
			    "line %d: aliases are not taken: write the value out",
			    line);
			rc = HK_EINVAL;
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.anchor != NULL) {
				snprintf(err, errlen,
				    "line %d: anchors are not taken", line);
				rc = HK_EINVAL;
				break;
			}
			v = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
			    ? cd_plain((const char *)ev.data.scalar.value,
			          ev.data.scalar.length)
			    : cJSON_CreateString(
			          (const char *)ev.data.scalar.value);
			rc = cd_add(doc, st, depth, v, line, err, errlen);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == CD_DEPTH) {
				snprintf(err, errlen,
				    "line %d: nested too deep", line);
				rc = HK_EINVAL;
				break;
			}
			v = ev.type == YAML_SEQUENCE_START_EVENT
			    ? cJSON_CreateArray()
			    : cJSON_CreateObject();
			if ((rc = cd_add(
			         doc, st, depth, v, line, err, errlen)) == 0) {
				st[depth].node = v;
				st[depth++].key = NULL;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0) {
				free(st[depth - 1].key);
				st[--depth].key = NULL;
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	while (depth > 0)
		free(st[--depth].key);
	yaml_parser_delete(&p);
	if (rc == 0 && doc->cd_root == NULL)
		doc->cd_root = cJSON_CreateObject(); /* an empty file */
	return rc;
}

static int
cd_json(struct hk_cfgdoc *doc, const char *text, size_t len, char *err,
    size_t errlen)
{
	const char *end = NULL, *p;
	int line = 1;

	doc->cd_root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (doc->cd_root != NULL)
		return 0;
	for (p = text; end != NULL && p < end && p < text + len; p++)
		line += *p == '\n';
	snprintf(err, errlen, "line %d: not JSON", line);
	return HK_EINVAL;
}

int
hk_cfgdoc_parse(struct hk_cfgdoc *doc, const char *text, size_t len, char *err,
    size_t errlen)
{
	size_t i = 0;
	int rc;

	memset(doc, 0, sizeof(*doc));
	err[0] = '\0';
	while (i < len && strchr(" \t\r\n", text[i]) != NULL)
		i++;
	rc = i < len && text[i] == '{' ? cd_json(doc, text, len, err, errlen)
	                               : cd_yaml(doc, text, len, err, errlen);
	if (rc == 0 && !cJSON_IsObject(doc->cd_root)) {
		snprintf(err, errlen,
		    "line 1: the file must be a mapping "
		    "(webhooks:, subscriptions:)");
		rc = HK_EINVAL;
	}
	if (rc != 0) {
		hk_cfgdoc_free(doc);
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
	}
	return rc;
}

int
hk_cfgdoc_line(const struct hk_cfgdoc *doc, const cJSON *item)
{
	size_t i;

	for (i = 0; i < doc->cd_nlines; i++)
		if (doc->cd_lines[i].item == item)
			return doc->cd_lines[i].line;
	return 0;
}

void
hk_cfgdoc_free(struct hk_cfgdoc *doc)
{
	cJSON_Delete(doc->cd_root);
	free(doc->cd_lines);
	memset(doc, 0, sizeof(*doc));
}
