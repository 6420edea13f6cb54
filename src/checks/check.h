/* SPDX-License-Identifier: MIT */
#ifndef SRC_CHECKS_CHECK_H
#define SRC_CHECKS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "attr.h"

enum check_status {
	CHECK_PASS,
	CHECK_FAIL,
	CHECK_WARN,
	CHECK_SKIP,
};

enum check_phase {
	PHASE_READINESS,
	PHASE_SMOKE,
	PHASE_METRICS,
	PHASE_RECOVERY,
};

/*
 * The one currency of the gate: report, summary, outputs, issue and Slack writers consume only
 * these. Strings are owned, one line, scrubbed of secrets when set through check_set().
 */
struct check_result {
	char *name;
	enum check_phase phase;
	enum check_status status;
	int64_t elapsed_ms;
	char *value;   /* measured: "HTTP 200", "0.42%", "183 ms"; may be NULL */
	char *limit;   /* in force: "2xx", "< 1%", "≤ 500 ms"; may be NULL */
	char *detail;  /* one line, never a secret */
	struct json_object *data; /* optional extra facts for the report (owned), e.g. samples */
};

struct check_list {
	struct check_result **items;
	size_t n;
};

/* appends a new result (status SKIP, no detail) and returns it; the list owns it */
struct check_result *check_list_add(struct check_list *list, const char *name, enum check_phase phase);
struct check_result *check_list_find(const struct check_list *list, const char *name);
void check_list_dispose(struct check_list *list);
/* number of results with that status */
size_t check_list_count(const struct check_list *list, enum check_status status);

/* sets status, value, limit and a printf-formatted detail (flattened to one line and scrubbed) */
void check_set(struct check_result *r, enum check_status status, const char *value, const char *limit,
	       const char *fmt, ...) ATTR_PRINTF(5, 6);

const char *check_status_name(enum check_status s);
const char *check_phase_name(enum check_phase p);

/* the longest value, limit or detail, in bytes (outside_line cuts there) */
#define CHECK_TEXT_MAX 2000
/* the longest excerpt of a reply body quoted in a detail */
#define CHECK_EXCERPT_MAX 200

#endif
