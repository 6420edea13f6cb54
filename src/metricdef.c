/* SPDX-License-Identifier: MIT */
#include "metricdef.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "promql.h"
#include "util.h"
#include "yamlh.h"

/* values this close to a limit count as at the limit: 1.5 computed as 1.4999999999999998 is 1.5 */
#define INCREASE_TOLERANCE 1e-9

/*
 * A decimal number as people write limits: optional sign, digits, optional fraction and exponent.
 * strtod() alone would also take hex, "inf" and "nan".
 */
static int
parse_number(double *out, const char *s, size_t len)
{
	char text[64];
	size_t i = 0;
	char *end;
	double v;

	if (len == 0 || len >= sizeof(text)) {
		return -1;
	}
	memcpy(text, s, len);
	text[len] = '\0';
	if (text[i] == '-' || text[i] == '+') {
		i++;
	}
	if (!isdigit((unsigned char)text[i]) &&
	    !(text[i] == '.' && isdigit((unsigned char)text[i + 1]))) {
		return -1;
	}
	for (; text[i] != '\0'; i++) {
		if (!isdigit((unsigned char)text[i]) && strchr(".eE+-", text[i]) == NULL) {
			return -1;
		}
	}
	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v)) {
		return -1;
	}
	*out = v;
	return 0;
}

static const char *
forms(enum increase_subject subject)
{
	switch (subject) {
	case INCREASE_OF_ERROR_RATE:
		return "expected percentage points over the baseline such as +0.5%, or a ratio "
		       "such as 2x";
	case INCREASE_OF_LATENCY:
		return "expected +20% (relative), +100ms (absolute) or a ratio such as 1.5x";
	case INCREASE_OF_METRIC:
	default:
		return "expected a ratio such as 1.5x, a relative increase such as +20% or an "
		       "absolute one such as +100";
	}
}

int
metricdef_parse_increase(struct increase_limit *out,
			 const char *s,
			 enum increase_subject subject,
			 struct error *err)
{
	size_t len = strlen(s);
	double v;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		return 0;
	}
	if (len >= sizeof(out->text)) {
		return error_set(err, ERR_CONFIG, "%s", forms(subject));
	}
	(void)snprintf(out->text, sizeof(out->text), "%s", s);
	if (s[len - 1] == 'x' || s[len - 1] == 'X') {
		if (s[0] == '+' || s[0] == '-' || parse_number(&v, s, len - 1) < 0 || v <= 0.0) {
			return error_set(err, ERR_CONFIG,
					 "%s (a ratio is a number above 0 followed by x)",
					 forms(subject));
		}
		out->kind = INCREASE_RATIO;
		out->value = v;
		return 0;
	}
	if (s[0] != '+') {
		return error_set(err, ERR_CONFIG, "%s (an increase starts with +)", forms(subject));
	}
	if (s[len - 1] == '%') {
		if (parse_number(&v, s + 1, len - 2) < 0 || v < 0.0 || s[1] == '+' || s[1] == '-') {
			return error_set(err, ERR_CONFIG, "%s", forms(subject));
		}
		out->kind = subject == INCREASE_OF_ERROR_RATE ? INCREASE_POINTS : INCREASE_PERCENT;
		out->value = v / 100.0;
		return 0;
	}
	if (subject == INCREASE_OF_LATENCY) {
		int64_t ms;
		struct error sub = ERROR_INIT;
		if (config_parse_duration(&ms, s + 1, &sub) < 0) {
			return error_set(err, ERR_CONFIG, "%s", forms(subject));
		}
		out->kind = INCREASE_ABSOLUTE;
		out->value = (double)ms;
		return 0;
	}
	if (subject == INCREASE_OF_METRIC && parse_number(&v, s + 1, len - 1) == 0 && v >= 0.0 &&
	    s[1] != '+' && s[1] != '-') {
		out->kind = INCREASE_ABSOLUTE;
		out->value = v;
		return 0;
	}
	return error_set(err, ERR_CONFIG, "%s", forms(subject));
}

bool
metricdef_increase_exceeded(const struct increase_limit *limit,
			    double value,
			    double baseline,
			    bool *defined_out,
			    double *increase_out)
{
	double inc = 0.0;
	bool defined = true, exceeded = false;

	switch (limit->kind) {
	case INCREASE_POINTS:
	case INCREASE_ABSOLUTE:
		inc = value - baseline;
		exceeded = inc > limit->value + INCREASE_TOLERANCE * fmax(1.0, fabs(limit->value));
		break;
	case INCREASE_RATIO:
		if (baseline == 0.0) {
			defined = false;
			break;
		}
		inc = value / baseline;
		exceeded = inc > limit->value * (1.0 + INCREASE_TOLERANCE);
		break;
	case INCREASE_PERCENT:
		if (baseline == 0.0) {
			defined = false;
			break;
		}
		inc = value / baseline - 1.0;
		exceeded = inc > limit->value + INCREASE_TOLERANCE;
		break;
	case INCREASE_NONE:
	default:
		break;
	}
	if (defined_out != NULL) {
		*defined_out = defined;
	}
	if (increase_out != NULL) {
		*increase_out = inc;
	}
	return exceeded;
}

/* ---- the metrics list ---- */

void
metricdef_list_free(struct metric_def *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++) {
		free(list[i].name);
		free(list[i].query);
	}
	free(list);
}

static const char *const builtin_names[] = {
	"health",          "database",          "login", "error-rate", "latency",
	"recovery-health", "recovery-database",
};

/* "item 2 (queue-depth): " */
static void
where(struct buf *b, size_t index, const char *name)
{
	buf_printf(b, "item %zu", index + 1);
	if (name != NULL) {
		buf_printf(b, " (%s)", name);
	}
	buf_puts(b, ": ");
}

/* a value quoted in a message: bounded, control characters escaped */
static void
quote(struct buf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i < 60; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else {
			buf_putc(b, (char)c);
		}
	}
	if (i < len) {
		buf_puts(b, "...");
	}
}

static int
fail_key(struct error *err,
	 size_t index,
	 const char *name,
	 const char *key,
	 const char *what,
	 const char *value,
	 size_t len)
{
	struct buf b = BUF_INIT;
	int rc;

	where(&b, index, name);
	buf_puts(&b, "key '");
	quote(&b, key, strlen(key)); /* a key is outside text: one line, bounded */
	buf_printf(&b, "': %s", what);
	if (value != NULL) {
		buf_puts(&b, ", got '");
		quote(&b, value, len);
		buf_puts(&b, "'");
	}
	rc = error_set(err, ERR_CONFIG, "%s", buf_str(&b));
	buf_dispose(&b);
	return rc;
}

static bool
valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-') {
		return false;
	}
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-')) {
			return false;
		}
	}
	return true;
}

static int
parse_policy(int *out, const char *v, bool allow_pass)
{
	if (allow_pass && strcmp(v, "pass") == 0) {
		*out = POLICY_PASS;
	} else if (strcmp(v, "warn") == 0) {
		*out = POLICY_WARN;
	} else if (strcmp(v, "fail") == 0) {
		*out = POLICY_FAIL;
	} else {
		return -1;
	}
	return 0;
}

/* one key of an item; the scalar's text is v (len bytes, no NUL inside) */
static int
parse_key(struct metric_def *m,
	  size_t index,
	  const char *key,
	  const char *v,
	  size_t len,
	  struct error *err)
{
	struct error sub = ERROR_INIT;

	if (strcmp(key, "query") == 0) {
		unsigned used;
		if (len == 0) {
			return fail_key(err, index, m->name, key, "expected a PromQL expression",
					NULL, 0);
		}
		if (len > 8192) {
			return fail_key(err, index, m->name, key,
					"expected a PromQL expression of at most 8192 characters",
					NULL, 0);
		}
		if (promql_template_check(&used, v, &sub) < 0) {
			return fail_key(err, index, m->name, key, sub.msg, NULL, 0);
		}
		m->query = xstrdup(v);
	} else if (strcmp(key, "max") == 0 || strcmp(key, "min") == 0) {
		double d;
		if (parse_number(&d, v, len) < 0) {
			return fail_key(err, index, m->name, key, "expected a number", v, len);
		}
		if (key[1] == 'a') {
			m->has_max = true;
			m->max = d;
		} else {
			m->has_min = true;
			m->min = d;
		}
	} else if (strcmp(key, "max-increase") == 0) {
		if (len == 0 ||
		    metricdef_parse_increase(&m->increase, v, INCREASE_OF_METRIC, &sub) < 0) {
			return fail_key(err, index, m->name, key,
					len == 0 ? forms(INCREASE_OF_METRIC) : sub.msg, v, len);
		}
	} else if (strcmp(key, "on-no-data") == 0) {
		if (parse_policy(&m->on_no_data, v, true) < 0) {
			return fail_key(err, index, m->name, key, "expected pass, warn or fail", v,
					len);
		}
	} else if (strcmp(key, "on-query-error") == 0) {
		if (parse_policy(&m->on_query_error, v, false) < 0) {
			return fail_key(err, index, m->name, key, "expected warn or fail", v, len);
		}
	} else {
		return fail_key(err, index, m->name, key,
				"unknown key (expected name, query, max, min, max-increase, "
				"on-no-data, on-query-error)",
				NULL, 0);
	}
	return 0;
}

/* the item's name first, so every later message can name the item */
static int
parse_name(struct metric_def *m,
	   const struct yamlh_doc *d,
	   int item,
	   size_t index,
	   const struct metric_def *done,
	   struct error *err)
{
	size_t i, n = yamlh_length(d, item), len = 0;
	const char *v = NULL;

	for (i = 0; i < n; i++) {
		const char *k = yamlh_scalar(d, yamlh_key(d, item, i), NULL);
		if (k != NULL && strcmp(k, "name") == 0) {
			if (v != NULL) {
				return fail_key(err, index, NULL, "name", "given twice", NULL, 0);
			}
			v = yamlh_scalar(d, yamlh_value(d, item, i), &len);
			if (v == NULL) {
				return fail_key(err, index, NULL, "name",
						"expected a name such as checkout-errors", NULL, 0);
			}
		}
	}
	if (v == NULL) {
		return fail_key(err, index, NULL, "name",
				"required (a name such as checkout-errors)", NULL, 0);
	}
	if (!valid_name(v, len) || strlen(v) != len) {
		return fail_key(err, index, NULL, "name",
				"expected lower-case letters, digits and '-' (at most 63, not "
				"starting or ending with '-')",
				v, len);
	}
	for (i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++) {
		if (strcmp(v, builtin_names[i]) == 0) {
			return fail_key(err, index, NULL, "name", "is the name of a built-in check",
					v, len);
		}
	}
	for (i = 0; i < index; i++) {
		if (strcmp(done[i].name, v) == 0) {
			struct buf b = BUF_INIT;
			int rc;
			buf_printf(&b, "the name is already used by item %zu", i + 1);
			rc = fail_key(err, index, NULL, "name", buf_str(&b), v, len);
			buf_dispose(&b);
			return rc;
		}
	}
	m->name = xstrdup(v);
	return 0;
}

static int
parse_item(struct metric_def *m,
	   const struct yamlh_doc *d,
	   int item,
	   size_t index,
	   const struct metric_def *done,
	   struct error *err)
{
	size_t i, j, n;
	int rc;

	memset(m, 0, sizeof(*m));
	m->on_no_data = -1;
	m->on_query_error = -1;
	if (yamlh_kind(d, item) != YAMLH_MAPPING) {
		return error_set(
			err, ERR_CONFIG,
			"item %zu (line %zu): expected a mapping with name, query and a limit",
			index + 1, yamlh_line(d, item));
	}
	rc = parse_name(m, d, item, index, done, err);
	if (rc < 0) {
		return rc;
	}
	n = yamlh_length(d, item);
	for (i = 0; i < n; i++) {
		size_t klen = 0, vlen = 0;
		const char *k = yamlh_scalar(d, yamlh_key(d, item, i), &klen);
		int value = yamlh_value(d, item, i);
		const char *v = yamlh_scalar(d, value, &vlen);
		char key[40];

		if (k == NULL || strlen(k) != klen) {
			return fail_key(err, index, m->name, "?", "expected a plain key", NULL, 0);
		}
		(void)snprintf(key, sizeof(key), "%s", k);
		if (strcmp(k, "name") == 0) {
			continue;
		}
		for (j = 0; j < i; j++) {
			const char *earlier = yamlh_scalar(d, yamlh_key(d, item, j), NULL);
			if (earlier != NULL && strcmp(earlier, k) == 0) {
				return fail_key(err, index, m->name, key, "given twice", NULL, 0);
			}
		}
		if (v == NULL || yamlh_is_null(d, value)) {
			return fail_key(err, index, m->name, key, "expected a value", NULL, 0);
		}
		if (strlen(v) != vlen) {
			return fail_key(err, index, m->name, key, "holds a NUL character", NULL, 0);
		}
		rc = parse_key(m, index, key, v, vlen, err);
		if (rc < 0) {
			return rc;
		}
	}
	if (m->query == NULL) {
		return fail_key(err, index, m->name, "query", "required (the PromQL to evaluate)",
				NULL, 0);
	}
	if (!m->has_max && !m->has_min && m->increase.kind == INCREASE_NONE) {
		return fail_key(err, index, m->name, "max",
				"at least one of max, min or max-increase is required", NULL, 0);
	}
	if (m->has_max && m->has_min && m->min > m->max) {
		return fail_key(err, index, m->name, "min", "greater than max: no value could pass",
				NULL, 0);
	}
	return 0;
}

int
metricdef_parse_list(struct metric_def **out, size_t *n_out, const char *yaml, struct error *err)
{
	struct yamlh_doc *d = NULL;
	struct metric_def *list = NULL;
	size_t i, n = 0, count;
	int root, rc;

	*out = NULL;
	*n_out = 0;
	rc = yamlh_parse(&d, yaml, strlen(yaml), METRICDEF_MAX_YAML, err);
	if (rc < 0) {
		return rc;
	}
	root = yamlh_root(d);
	if (root == 0 || yamlh_is_null(d, root)) {
		goto out; /* an empty document: no metrics */
	}
	if (yamlh_kind(d, root) != YAMLH_SEQUENCE) {
		rc = error_set(err, ERR_CONFIG,
			       "expected a YAML list of metrics (lines starting with '- name:')");
		goto out;
	}
	count = yamlh_length(d, root);
	if (count == 0) {
		goto out; /* [] : no metrics, as an empty input */
	}
	if (count > METRICDEF_MAX_METRICS) {
		rc = error_set(err, ERR_CONFIG, "too many metrics (%zu; at most %d)", count,
			       METRICDEF_MAX_METRICS);
		goto out;
	}
	list = xcalloc(count + 1, sizeof(*list));
	for (i = 0; i < count; i++) {
		rc = parse_item(&list[i], d, yamlh_item(d, root, i), i, list, err);
		n = i + 1; /* the item is freed with the list, complete or not */
		if (rc < 0) {
			goto out;
		}
	}
	*out = list;
	*n_out = n;
	list = NULL;
	n = 0;
out:
	metricdef_list_free(list, n);
	yamlh_free(d);
	return rc;
}
