/* SPDX-License-Identifier: MIT */
#ifndef SRC_CHECKS_SMOKE_H
#define SRC_CHECKS_SMOKE_H

#include "checks/check.h"
#include "config.h"
#include "error.h"
#include "gate.h"
#include "http.h"

/*
 * Pure judges: turn one finished exchange into a check result. They never see a secret
 * other than through the scrubbing check_set().
 */
/* health rule: 2xx unless the JSON body's top-level status is fail/down/error/unhealthy */
void health_judge(struct check_result *r, const struct http_request *req);
/* health rule plus query_time_ms, pool and max-db-query-time (-1: none) */
void database_judge(struct check_result *r, const struct http_request *req, int64_t max_query_ms);
/* pass on 2xx with a non-empty string at token_path; *token_out gets a copy (caller masks and frees) */
void login_judge(struct check_result *r, char **token_out, const struct http_request *req,
		 char *const *token_path, const char *token_path_text);
void endpoint_judge(struct check_result *r, const struct http_request *req, const struct endpoint *e);
/* common wording for an exchange that produced no HTTP status */
void judge_transport_failure(struct check_result *r, const struct http_request *req);
/* builds {"username":…,"password":…}; the caller wipes and frees */
char *login_body_new(const char *username, const char *password);

/* waits for the health endpoint (wait-timeout) and records the 'health' check */
int smoke_readiness(struct gate *g, struct error *err);
/* database, login and the authenticated endpoints, concurrently */
int smoke_run(struct gate *g, struct error *err);
/* health and database again, as 'recovery-health' and 'recovery-database' (after a rollback) */
int smoke_verify_recovery(struct gate *g, int64_t wait_ms, bool *ok_out, struct error *err);

#endif
