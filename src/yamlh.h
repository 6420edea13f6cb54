/* SPDX-License-Identifier: MIT */
#ifndef SRC_YAMLH_H
#define SRC_YAMLH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/*
 * A small read-only view of one YAML document, so that modules other than kubeconfig.c can read
 * YAML inputs without including <yaml.h>. Implemented in kubeconfig.c, the one owner of libyaml,
 * which loads kubeconfig documents through it too. Nodes are handles (libyaml's indices); 0 is
 * "none". Strings are borrowed from the document.
 */

enum yamlh_kind {
	YAMLH_NONE,
	YAMLH_SCALAR,
	YAMLH_SEQUENCE,
	YAMLH_MAPPING,
};

struct yamlh_doc;

/* parses text (at most max bytes); ERR_CONFIG "invalid YAML at line N: …" on a syntax error */
int
yamlh_parse(struct yamlh_doc **out, const char *text, size_t len, size_t max, struct error *err);
void yamlh_free(struct yamlh_doc *d);

int yamlh_root(const struct yamlh_doc *d);
enum yamlh_kind yamlh_kind(const struct yamlh_doc *d, int node);
/* the node's line, from 1 */
size_t yamlh_line(const struct yamlh_doc *d, int node);
/* a scalar's text (NULL for other kinds); *len_out may be NULL; text may hold NUL bytes */
const char *yamlh_scalar(const struct yamlh_doc *d, int node, size_t *len_out);
/* a plain (unquoted) scalar that YAML reads as null: "", ~, null */
bool yamlh_is_null(const struct yamlh_doc *d, int node);
/* items of a sequence, pairs of a mapping (in document order) */
size_t yamlh_length(const struct yamlh_doc *d, int node);
int yamlh_item(const struct yamlh_doc *d, int node, size_t i);
int yamlh_key(const struct yamlh_doc *d, int node, size_t i);
int yamlh_value(const struct yamlh_doc *d, int node, size_t i);

#endif
