/* SPDX-License-Identifier: MIT */
#include "checks/judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonh.h"
#include "log.h"
#include "outside.h"
#include "util.h"

void
judge_transport_failure(struct check_result *r, const struct http_request *req)
{
	if (req->state == HTTP_ABORTED) {
		check_set(r, CHECK_SKIP, NULL, NULL, "%s", req->err.msg);
		return;
	}
	if (req->attempts > 1) {
		check_set(r, CHECK_FAIL, transport_outcome_name(req->transport), NULL,
			  "%s (after %d attempts)", req->err.msg, req->attempts);
	} else {
		check_set(r, CHECK_FAIL, transport_outcome_name(req->transport), NULL, "%s",
			  req->err.msg);
	}
}

/* the reply's top-level "status" when the body is a JSON object, else NULL; caller frees */
static char *
json_status(const struct http_request *req, struct json_object **doc_out)
{
	struct json_object *doc = NULL;
	const char *s;
	char *out = NULL;

	*doc_out = NULL;
	if (jsonh_parse(&doc, req->resp.body.data, req->resp.body.len, NULL) < 0) {
		return NULL;
	}
	s = jsonh_get_string_or(doc, "status", NULL);
	if (s != NULL) {
		out = xstrdup(s);
	}
	*doc_out = doc;
	return out;
}

static bool
status_is_bad(const char *s)
{
	static const char *const bad[] = { "fail", "down", "error", "unhealthy" };
	size_t i;

	for (i = 0; s != NULL && i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (str_ieq(s, bad[i])) {
			return true;
		}
	}
	return false;
}

/* shared by health and database: true when the basic rule passed; *doc_out is the JSON body */
static bool
judge_basic(struct check_result *r,
	    const struct http_request *req,
	    struct json_object **doc_out,
	    char **status_out)
{
	char value[32];
	char *status;
	long code = req->resp.status;

	*doc_out = NULL;
	*status_out = NULL;
	if (req->transport != TRANSPORT_OK || req->state != HTTP_DONE) {
		judge_transport_failure(r, req);
		return false;
	}
	(void)snprintf(value, sizeof(value), "HTTP %ld", code);
	status = json_status(req, doc_out);
	*status_out = status;
	if (code >= 300 && code < 400) {
		const char *loc = http_response_header(&req->resp, "location");
		char *where = outside_line(loc != NULL ? loc : "?", loc != NULL ? strlen(loc) : 1,
					   CHECK_EXCERPT_MAX);
		check_set(r, CHECK_FAIL, value, "2xx", "redirected to %s (not followed)", where);
		free(where);
		return false;
	}
	if (code < 200 || code > 299) {
		char *ex = outside_line(req->resp.body.data, req->resp.body.len, CHECK_EXCERPT_MAX);
		check_set(r, CHECK_FAIL, value, "2xx", "HTTP %ld%s%s", code,
			  ex[0] != '\0' ? ": " : "", ex);
		free(ex);
		return false;
	}
	if (status_is_bad(status)) {
		check_set(r, CHECK_FAIL, value, "2xx", "HTTP %ld but the reply says status \"%s\"",
			  code, status);
		return false;
	}
	return true;
}

void
health_judge(struct check_result *r, const struct http_request *req)
{
	struct json_object *doc;
	char *status;
	char value[32];

	if (judge_basic(r, req, &doc, &status)) {
		(void)snprintf(value, sizeof(value), "HTTP %ld", req->resp.status);
		if (status != NULL) {
			check_set(r, CHECK_PASS, value, "2xx", "HTTP %ld, status \"%s\"",
				  req->resp.status, status);
		} else {
			check_set(r, CHECK_PASS, value, "2xx", "HTTP %ld", req->resp.status);
		}
	}
	free(status);
	json_object_put(doc);
}

void
database_judge(struct check_result *r, const struct http_request *req, int64_t max_query_ms)
{
	struct json_object *doc, *pool, *db;
	char *status;
	struct buf detail = BUF_INIT;
	char value[64], limit[64];
	double qt = -1;
	bool have_qt;
	enum check_status verdict = CHECK_PASS;

	limit[0] = '\0';
	if (max_query_ms >= 0) {
		(void)snprintf(limit, sizeof(limit), "query <= %lld ms", (long long)max_query_ms);
	}
	if (!judge_basic(r, req, &doc, &status)) {
		free(r->limit);
		r->limit = xstrdup(limit[0] != '\0' ? limit : "2xx");
		free(status);
		json_object_put(doc);
		return;
	}
	db = jsonh_member(doc, "database");
	have_qt = jsonh_get_double(&qt, doc, "query_time_ms") ||
		  jsonh_get_double(&qt, db, "query_time_ms");
	pool = jsonh_member(doc, "pool");
	if (pool == NULL) {
		pool = jsonh_member(db, "pool");
	}
	if (pool == NULL) {
		pool = jsonh_member(doc, "connection_pool");
	}
	buf_printf(&detail, "HTTP %ld", req->resp.status);
	if (status != NULL) {
		buf_printf(&detail, ", status \"%s\"", status);
	}
	if (db != NULL && json_object_is_type(db, json_type_string)) {
		buf_printf(&detail, ", database %s", json_object_get_string(db));
	}
	if (have_qt) {
		buf_printf(&detail, ", query %.1f ms", qt);
		(void)snprintf(value, sizeof(value), "query %.1f ms", qt);
	} else {
		(void)snprintf(value, sizeof(value), "HTTP %ld", req->resp.status);
	}
	if (pool != NULL && json_object_is_type(pool, json_type_object)) {
		buf_puts(&detail, ", pool");
		json_object_object_foreach(pool, key, val) {
			const char *text = json_object_get_string(val);
			buf_printf(&detail, " %s=%s", key, text != NULL ? text : "null");
		}
	}
	if (max_query_ms >= 0) {
		if (!have_qt) {
			verdict = CHECK_WARN;
			buf_puts(&detail, "; the reply has no query_time_ms, so max-db-query-time "
					  "could not be applied");
		} else if (qt > (double)max_query_ms) {
			verdict = CHECK_FAIL;
			buf_printf(&detail, "; slower than max-db-query-time %lld ms",
				   (long long)max_query_ms);
		}
	}
	check_set(r, verdict, value, limit[0] != '\0' ? limit : "2xx", "%s", buf_str(&detail));
	buf_dispose(&detail);
	free(status);
	json_object_put(doc);
}

void
login_judge(struct check_result *r,
	    char **token_out,
	    const struct http_request *req,
	    char *const *token_path,
	    const char *token_path_text)
{
	struct json_object *doc = NULL, *tok;
	char value[32];
	long code = req->resp.status;
	const char *t;

	*token_out = NULL;
	if (req->transport != TRANSPORT_OK || req->state != HTTP_DONE) {
		judge_transport_failure(r, req);
		return;
	}
	(void)snprintf(value, sizeof(value), "HTTP %ld", code);
	/* the login reply may carry tokens: it is never quoted in any message */
	if (code == 401 || code == 403) {
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "the credentials were rejected (HTTP %ld); check the username and "
			  "password inputs",
			  code);
		return;
	}
	if (code >= 300 && code < 400) {
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "login was redirected (HTTP %ld, not followed)", code);
		return;
	}
	if (code < 200 || code > 299) {
		check_set(r, CHECK_FAIL, value, "2xx with a token", "login failed with HTTP %ld",
			  code);
		return;
	}
	if (jsonh_parse(&doc, req->resp.body.data, req->resp.body.len, NULL) < 0) {
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "HTTP %ld but the reply is not valid JSON (%zu bytes)", code,
			  req->resp.body.len);
		return;
	}
	tok = jsonh_path(doc, token_path);
	if (tok == NULL) {
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "HTTP %ld but the reply has no '%s' (token-path)", code, token_path_text);
	} else if (!json_object_is_type(tok, json_type_string)) {
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "HTTP %ld but '%s' is not a string (token-path)", code, token_path_text);
	} else if ((t = json_object_get_string(tok))[0] == '\0') {
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "HTTP %ld but '%s' is an empty string (token-path)", code,
			  token_path_text);
	} else if ((size_t)json_object_get_string_len(tok) != strlen(t) || !header_value_ok(t)) {
		/*
		 * the token goes into an Authorization header: CR or LF would add headers of the
		 * server's choosing to every endpoint request, so it is refused and never sent
		 */
		log_mask(t);
		secret_wipe((void *)t, strlen(t));
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "HTTP %ld but the token at '%s' holds control characters (CR, LF, NUL, ...): "
			  "refused, never sent",
			  code, token_path_text);
	} else {
		*token_out = xstrdup(t);
		secret_wipe((void *)t, strlen(t));
		check_set(r, CHECK_PASS, value, "2xx with a token",
			  "HTTP %ld, token received at '%s'", code, token_path_text);
	}
	json_object_put(doc);
}

void
endpoint_judge(struct check_result *r, const struct http_request *req, const struct endpoint *e)
{
	char value[32];
	struct buf limit = BUF_INIT;
	size_t i;
	long code = req->resp.status;

	if (e->expected.n == 0) {
		buf_puts(&limit, "2xx");
	}
	for (i = 0; i < e->expected.n; i++) {
		int c = e->expected.codes[i];
		if (i > 0) {
			buf_putc(&limit, ',');
		}
		if (c < 10) {
			buf_printf(&limit, "%dxx", c);
		} else {
			buf_printf(&limit, "%d", c);
		}
	}
	if (req->transport != TRANSPORT_OK || req->state != HTTP_DONE) {
		judge_transport_failure(r, req);
		free(r->limit);
		r->limit = buf_steal(&limit);
		return;
	}
	(void)snprintf(value, sizeof(value), "HTTP %ld", code);
	if (status_set_matches(&e->expected, code)) {
		check_set(r, CHECK_PASS, value, buf_str(&limit), "HTTP %ld%s", code,
			  req->attempts > 1 ? " after retries" : "");
	} else if (code >= 300 && code < 400 &&
		   http_response_header(&req->resp, "location") != NULL) {
		const char *loc = http_response_header(&req->resp, "location");
		char *where = outside_line(loc, strlen(loc), CHECK_EXCERPT_MAX);
		check_set(r, CHECK_FAIL, value, buf_str(&limit),
			  "HTTP %ld, expected %s: redirected to %s (not followed)", code,
			  buf_str(&limit), where);
		free(where);
	} else {
		char *ex = outside_line(req->resp.body.data, req->resp.body.len, CHECK_EXCERPT_MAX);
		check_set(r, CHECK_FAIL, value, buf_str(&limit), "HTTP %ld, expected %s%s%s%s",
			  code, buf_str(&limit), req->attempts > 1 ? " (after retries)" : "",
			  ex[0] != '\0' ? ": " : "", ex);
		free(ex);
	}
	buf_dispose(&limit);
}
