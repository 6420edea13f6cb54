/* SPDX-License-Identifier: MIT */
#include "yamlh.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util.h"

struct yamlh_doc {
	yaml_document_t yd;
};

int
yamlh_parse(struct yamlh_doc **out, const char *text, size_t len, size_t max, struct error *err)
{
	yaml_parser_t parser;
	struct yamlh_doc *d;
	int rc;

	if (len > max) {
		return error_set(err, ERR_CONFIG, "larger than %zu bytes", max);
	}
	if (!yaml_parser_initialize(&parser)) {
		abort();
	}
	d = xcalloc(1, sizeof(*d));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &d->yd)) {
		rc = error_set(err, ERR_CONFIG, "invalid YAML at line %zu: %s%s%s",
			       parser.problem_mark.line + 1,
			       parser.problem != NULL ? parser.problem : "syntax error",
			       parser.context != NULL ? " " : "",
			       parser.context != NULL ? parser.context : "");
		yaml_parser_delete(&parser);
		free(d);
		return rc;
	}
	yaml_parser_delete(&parser);
	*out = d;
	return 0;
}

void
yamlh_free(struct yamlh_doc *d)
{
	if (d == NULL) {
		return;
	}
	yaml_document_delete(&d->yd);
	free(d);
}

static yaml_node_t *
node(const struct yamlh_doc *d, int index)
{
	/* libyaml's getter takes a non-const document but only reads it */
	return index <= 0 ? NULL : yaml_document_get_node((yaml_document_t *)&d->yd, index);
}

int
yamlh_root(const struct yamlh_doc *d)
{
	return node(d, 1) != NULL ? 1 : 0;
}

enum yamlh_kind
yamlh_kind(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL) {
		return YAMLH_NONE;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return YAMLH_SCALAR;
	case YAML_SEQUENCE_NODE:
		return YAMLH_SEQUENCE;
	case YAML_MAPPING_NODE:
		return YAMLH_MAPPING;
	case YAML_NO_NODE:
	default:
		return YAMLH_NONE;
	}
}

size_t
yamlh_line(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);
	return n != NULL ? n->start_mark.line + 1 : 0;
}

const char *
yamlh_scalar(const struct yamlh_doc *d, int index, size_t *len_out)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		return NULL;
	}
	if (len_out != NULL) {
		*len_out = n->data.scalar.length;
	}
	return (const char *)n->data.scalar.value;
}

bool
yamlh_is_null(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);
	const char *v;

	if (n == NULL) {
		return true;
	}
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		return false;
	}
	v = (const char *)n->data.scalar.value;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

size_t
yamlh_length(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL) {
		return 0;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	}
	if (n->type == YAML_MAPPING_NODE) {
		return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	}
	return 0;
}

int
yamlh_item(const struct yamlh_doc *d, int index, size_t i)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_SEQUENCE_NODE || i >= yamlh_length(d, index)) {
		return 0;
	}
	return n->data.sequence.items.start[i];
}

int
yamlh_key(const struct yamlh_doc *d, int index, size_t i)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_MAPPING_NODE || i >= yamlh_length(d, index)) {
		return 0;
	}
	return n->data.mapping.pairs.start[i].key;
}

int
yamlh_value(const struct yamlh_doc *d, int index, size_t i)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_MAPPING_NODE || i >= yamlh_length(d, index)) {
		return 0;
	}
	return n->data.mapping.pairs.start[i].value;
}
