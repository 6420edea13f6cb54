/* SPDX-License-Identifier: MIT */
#ifndef SRC_PROMQL_H
#define SRC_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * Query templates: {{namespace}}, {{environment}}, {{deployments}}, {{new_pods}} and
 * {{since_deploy}} in PromQL, replaced before a query is sent. Pure, for unit tests and fuzzing.
 *
 * A value goes where the template puts it, escaped for that place: the four text placeholders
 * must stand inside a double- or single-quoted PromQL string, where the regexes
 * ({{deployments}}, {{new_pods}}) are regex-escaped first and every value is then
 * string-escaped, so no value can end its string; {{since_deploy}} is a duration written
 * outside strings (inside one it is harmless text).
 */

enum promql_placeholder {
	PROMQL_NAMESPACE = 1 << 0,
	PROMQL_ENVIRONMENT = 1 << 1,
	PROMQL_DEPLOYMENTS = 1 << 2,
	PROMQL_NEW_PODS = 1 << 3,
	PROMQL_SINCE_DEPLOY = 1 << 4,
};

/* the placeholders that need facts read from the cluster at preflight */
#define PROMQL_NEEDS_CLUSTER (PROMQL_NEW_PODS | PROMQL_SINCE_DEPLOY)
/* {{since_deploy}} is never shorter than this: a rate() needs a few scrapes */
#define PROMQL_MIN_SINCE_DEPLOY_S 30

struct promql_vars {
	const char *namespace;
	const char *environment;
	char *const *deployments;     /* NULL-terminated */
	char *const *new_replicasets; /* NULL-terminated ReplicaSet names; NULL: not known */
	int64_t since_deploy_s;       /* < 0: not known */
};

/*
 * Checks a template without expanding it: every {{…}} is known and in a place it may go.
 * *used_out gets the placeholders used (enum promql_placeholder bits). ERR_CONFIG says what
 * and where ("unknown placeholder {{pods}} at character 31").
 */
int promql_template_check(unsigned *used_out, const char *tmpl, struct error *err);

/*
 * Expands a template checked by promql_template_check(). A placeholder whose value is not known
 * (new_replicasets NULL, since_deploy_s < 0) is ERR_NOT_FOUND naming it. *out is the caller's.
 */
int promql_template_expand(char **out,
			   const char *tmpl,
			   const struct promql_vars *vars,
			   struct error *err);

/* appends s regex-escaped for RE2 (every metacharacter behind a backslash) to a new string */
char *promql_regex_escape(const char *s);

#endif
