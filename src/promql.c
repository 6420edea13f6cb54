/* SPDX-License-Identifier: MIT */
#include "promql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* where the scanner is in the PromQL text */
enum place {
	PLACE_CODE,
	PLACE_DOUBLE,  /* "…" */
	PLACE_SINGLE,  /* '…' */
	PLACE_RAW,     /* `…`: no escapes exist, so no text value may go there */
	PLACE_COMMENT, /* # to the end of the line: left as written */
};

static const struct {
	const char *name;
	enum promql_placeholder id;
} placeholders[] = {
	{ "namespace", PROMQL_NAMESPACE },       { "environment", PROMQL_ENVIRONMENT },
	{ "deployments", PROMQL_DEPLOYMENTS },   { "new_pods", PROMQL_NEW_PODS },
	{ "since_deploy", PROMQL_SINCE_DEPLOY },
};

#define N_PLACEHOLDERS (sizeof(placeholders) / sizeof(placeholders[0]))

static enum place
next_place(enum place p, const char *s, size_t *i)
{
	char c = s[*i];

	switch (p) {
	case PLACE_CODE:
		if (c == '"') {
			return PLACE_DOUBLE;
		}
		if (c == '\'') {
			return PLACE_SINGLE;
		}
		if (c == '`') {
			return PLACE_RAW;
		}
		if (c == '#') {
			return PLACE_COMMENT;
		}
		return PLACE_CODE;
	case PLACE_DOUBLE:
	case PLACE_SINGLE:
		if (c == '\\' && s[*i + 1] != '\0') {
			(*i)++; /* the escaped character cannot end the string */
			return p;
		}
		if ((p == PLACE_DOUBLE && c == '"') || (p == PLACE_SINGLE && c == '\'')) {
			return PLACE_CODE;
		}
		return p;
	case PLACE_RAW:
		return c == '`' ? PLACE_CODE : PLACE_RAW;
	case PLACE_COMMENT:
	default:
		return c == '\n' ? PLACE_CODE : PLACE_COMMENT;
	}
}

/*
 * At s[i] == '{' '{': the placeholder's id and the length of "{{ name }}", or 0 with an error.
 * Spaces inside the braces are allowed, as in Go templates.
 */
static int
read_placeholder(enum promql_placeholder *id_out,
		 size_t *len_out,
		 const char *s,
		 size_t i,
		 struct error *err)
{
	size_t j = i + 2, start, end;
	size_t k;

	while (s[j] == ' ') {
		j++;
	}
	start = j;
	while ((s[j] >= 'a' && s[j] <= 'z') || s[j] == '_' || (s[j] >= 'A' && s[j] <= 'Z') ||
	       (s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == '-') {
		j++;
	}
	end = j;
	while (s[j] == ' ') {
		j++;
	}
	if (s[j] != '}' || s[j + 1] != '}' || end == start) {
		return error_set(
			err, ERR_CONFIG,
			"'{{' at character %zu does not start a placeholder such as {{namespace}} "
			"(known: {{namespace}}, {{environment}}, {{deployments}}, {{new_pods}}, "
			"{{since_deploy}})",
			i + 1);
	}
	for (k = 0; k < N_PLACEHOLDERS; k++) {
		if (strlen(placeholders[k].name) == end - start &&
		    memcmp(placeholders[k].name, s + start, end - start) == 0) {
			*id_out = placeholders[k].id;
			*len_out = j + 2 - i;
			return 0;
		}
	}
	return error_set(err, ERR_CONFIG,
			 "unknown placeholder {{%.*s}} at character %zu (known: {{namespace}}, "
			 "{{environment}}, "
			 "{{deployments}}, {{new_pods}}, {{since_deploy}})",
			 (int)(end - start > 40 ? 40 : end - start), s + start, i + 1);
}

static const char *
placeholder_name(enum promql_placeholder id)
{
	size_t k;

	for (k = 0; k < N_PLACEHOLDERS; k++) {
		if (placeholders[k].id == id) {
			return placeholders[k].name;
		}
	}
	return "?";
}

/* a text value must stand inside a string it can be escaped for */
static int
check_place(enum promql_placeholder id, enum place p, size_t at, struct error *err)
{
	if (id == PROMQL_SINCE_DEPLOY || p == PLACE_DOUBLE || p == PLACE_SINGLE) {
		return 0;
	}
	if (p == PLACE_RAW) {
		return error_set(err, ERR_CONFIG,
				 "{{%s}} at character %zu is inside a `raw string`, where its "
				 "value cannot be escaped: "
				 "use a \"double-quoted\" string",
				 placeholder_name(id), at + 1);
	}
	return error_set(err, ERR_CONFIG,
			 "{{%s}} at character %zu must be inside a quoted label value, such as "
			 "namespace=\"{{namespace}}\" or deployment=~\"{{deployments}}\"",
			 placeholder_name(id), at + 1);
}

/*
 * Walks the template; for each placeholder calls emit (when set) with its id and place, and
 * copies everything else into out (when set).
 */
typedef int emit_fn(struct buf *out,
		    enum promql_placeholder id,
		    enum place p,
		    const struct promql_vars *vars,
		    struct error *err);

static int
walk(unsigned *used_out,
     struct buf *out,
     const char *tmpl,
     emit_fn *emit,
     const struct promql_vars *vars,
     struct error *err)
{
	enum place p = PLACE_CODE;
	unsigned used = 0;
	size_t i = 0;
	int rc;

	while (tmpl[i] != '\0') {
		if (p != PLACE_COMMENT && tmpl[i] == '{' && tmpl[i + 1] == '{') {
			enum promql_placeholder id = PROMQL_NAMESPACE;
			size_t len = 0;
			rc = read_placeholder(&id, &len, tmpl, i, err);
			if (rc == 0) {
				rc = check_place(id, p, i, err);
			}
			if (rc == 0 && emit != NULL) {
				rc = emit(out, id, p, vars, err);
			}
			if (rc < 0) {
				return rc;
			}
			used |= (unsigned)id;
			i += len;
			continue;
		}
		{
			size_t at = i;
			p = next_place(p, tmpl, &i);
			if (out != NULL) {
				buf_append(out, tmpl + at, i - at + 1);
			}
			i++;
		}
	}
	if (used_out != NULL) {
		*used_out = used;
	}
	return 0;
}

int
promql_template_check(unsigned *used_out, const char *tmpl, struct error *err)
{
	return walk(used_out, NULL, tmpl, NULL, NULL, err);
}

char *
promql_regex_escape(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s != '\0'; s++) {
		if (strchr("\\.+*?()|[]{}^$", *s) != NULL) {
			buf_putc(&b, '\\');
		}
		buf_putc(&b, *s);
	}
	return buf_steal(&b);
}

/* PromQL string escapes (Go's): the closing quote, the backslash and every control character */
static void
put_string_escaped(struct buf *out, const char *s, enum place p)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\' || (c == '"' && p == PLACE_DOUBLE) ||
		    (c == '\'' && p == PLACE_SINGLE)) {
			buf_putc(out, '\\');
			buf_putc(out, (char)c);
		} else if (c == '\n') {
			buf_puts(out, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(out, "\\x%02x", c);
		} else {
			buf_putc(out, (char)c);
		}
	}
}

static int
emit_value(struct buf *out,
	   enum promql_placeholder id,
	   enum place p,
	   const struct promql_vars *vars,
	   struct error *err)
{
	struct buf v = BUF_INIT;
	size_t i;

	switch (id) {
	case PROMQL_NAMESPACE:
		buf_puts(&v, vars->namespace != NULL ? vars->namespace : "default");
		break;
	case PROMQL_ENVIRONMENT:
		buf_puts(&v, vars->environment != NULL ? vars->environment : "");
		break;
	case PROMQL_DEPLOYMENTS:
		if (vars->deployments == NULL || vars->deployments[0] == NULL) {
			buf_dispose(&v);
			return error_set(err, ERR_NOT_FOUND,
					 "{{deployments}}: no deployment is named");
		}
		for (i = 0; vars->deployments[i] != NULL; i++) {
			char *re = promql_regex_escape(vars->deployments[i]);
			buf_printf(&v, "%s%s", i > 0 ? "|" : "", re);
			free(re);
		}
		break;
	case PROMQL_NEW_PODS:
		if (vars->new_replicasets == NULL || vars->new_replicasets[0] == NULL) {
			buf_dispose(&v);
			return error_set(err, ERR_NOT_FOUND,
					 "{{new_pods}}: the new ReplicaSets were not read from the "
					 "cluster at preflight");
		}
		for (i = 0; vars->new_replicasets[i] != NULL; i++) {
			char *re = promql_regex_escape(vars->new_replicasets[i]);
			/* a pod is named <replicaset>-<5 characters> */
			buf_printf(&v, "%s%s-.*", i > 0 ? "|" : "", re);
			free(re);
		}
		break;
	case PROMQL_SINCE_DEPLOY:
	default:
		if (vars->since_deploy_s < 0) {
			buf_dispose(&v);
			return error_set(err, ERR_NOT_FOUND,
					 "{{since_deploy}}: the deploy time was not read from the "
					 "cluster at preflight");
		}
		buf_printf(&v, "%llds",
			   (long long)(vars->since_deploy_s < PROMQL_MIN_SINCE_DEPLOY_S
					       ? PROMQL_MIN_SINCE_DEPLOY_S
					       : vars->since_deploy_s));
		break;
	}
	if (p == PLACE_DOUBLE || p == PLACE_SINGLE) {
		put_string_escaped(out, buf_str(&v), p);
	} else {
		buf_puts(out, buf_str(&v)); /* only {{since_deploy}}: digits and 's' */
	}
	buf_dispose(&v);
	return 0;
}

int
promql_template_expand(char **out,
		       const char *tmpl,
		       const struct promql_vars *vars,
		       struct error *err)
{
	struct buf b = BUF_INIT;
	int rc;

	rc = walk(NULL, &b, tmpl, emit_value, vars, err);
	if (rc < 0) {
		buf_dispose(&b);
		return rc;
	}
	*out = buf_steal(&b);
	return 0;
}
