/*
 * cfgdoc.h: a configuration file's text (YAML 1.1 or JSON) as a cJSON
 * tree, with the line each value starts on, for messages that say where
 * a file is wrong.
 *
 * YAML is read by libyaml: mappings become objects (keys must be plain
 * scalars), sequences arrays; a plain scalar is null (~, null, empty),
 * true/false, an integer or a float when it reads as one, else a
 * string; a quoted or block scalar is always a string. Anchors and
 * aliases, tags and several documents are refused: a configuration is
 * one plain document. JSON is taken as YAML 1.2 does (a file that starts
 * with '{' is JSON, parsed by cJSON).
 *
 * Pure; thread-safe. Errors: HK_EINVAL with "line N: what" in ERR.
 */
#ifndef HK_CFGDOC_H
#define HK_CFGDOC_H

#include <stddef.h>

#include <cJSON.h>

struct hk_cfgdoc {
	cJSON *cd_root;
	struct hk_cfgdoc_line {
		const cJSON *item;
		int line;
	} * cd_lines;
	size_t cd_nlines, cd_cap;
};

/* Parses TEXT (LEN bytes) into DOC. 0, HK_EINVAL (ERR says where), HK_ENOMEM. */
int hk_cfgdoc_parse(struct hk_cfgdoc *doc, const char *text, size_t len,
    char *err, size_t errlen);
/* The line ITEM starts on (1-based), or 0 when not known (JSON input). */
int hk_cfgdoc_line(const struct hk_cfgdoc *doc, const cJSON *item);
void hk_cfgdoc_free(struct hk_cfgdoc *doc);

#endif
