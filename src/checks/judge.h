/* SPDX-License-Identifier: MIT */
#ifndef SRC_CHECKS_JUDGE_H
#define SRC_CHECKS_JUDGE_H

#include <stdint.h>

#include "checks/check.h"
#include "config.h"
#include "http.h"

/*
 * Pure judges: turn one finished exchange into a check result, no I/O (tests/unit/test-judge.c,
 * fuzz/fuzz-health.c, fuzz/fuzz-login.c). They never see a secret other than through the
 * scrubbing check_set().
 */

/* health rule: 2xx unless the JSON body's top-level status is fail/down/error/unhealthy */
void health_judge(struct check_result *r, const struct http_request *req);
/* health rule plus query_time_ms, pool and max-db-query-time (-1: none) */
void database_judge(struct check_result *r, const struct http_request *req, int64_t max_query_ms);
/* pass on 2xx with a non-empty string at token_path; *token_out a copy (caller masks, frees) */
void login_judge(struct check_result *r,
		 char **token_out,
		 const struct http_request *req,
		 char *const *token_path,
		 const char *token_path_text);
/* an authenticated endpoint: its expected statuses */
void
endpoint_judge(struct check_result *r, const struct http_request *req, const struct endpoint *e);
/* common wording for an exchange that produced no HTTP status */
void judge_transport_failure(struct check_result *r, const struct http_request *req);

#endif
