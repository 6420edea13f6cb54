/* SPDX-License-Identifier: MIT */
#include "checks/smoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonh.h"
#include "log.h"
#include "outside.h"
#include "util.h"

char *
login_body_new(const char *username, const char *password)
{
	struct json_object *o = json_object_new_object();
	char *out;

	jsonh_add_string(o, "username", username);
	jsonh_add_string(o, "password", password);
	out = xstrdup(jsonh_to_string(o, false));
	/* json-c keeps its own copies: wipe them before releasing */
	{
		struct json_object *pw = jsonh_member(o, "password");
		char *p = (char *)json_object_get_string(pw);
		secret_wipe(p, strlen(p));
		const char *ser = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		secret_wipe((void *)ser, strlen(ser));
	}
	json_object_put(o);
	return out;
}

void
login_judge(struct check_result *r, char **token_out, const struct http_request *req, char *const *token_path,
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
			  "the credentials were rejected (HTTP %ld); check the username and password inputs", code);
		return;
	}
	if (code >= 300 && code < 400) {
		check_set(r, CHECK_FAIL, value, "2xx with a token", "login was redirected (HTTP %ld, not followed)", code);
		return;
	}
	if (code < 200 || code > 299) {
		check_set(r, CHECK_FAIL, value, "2xx with a token", "login failed with HTTP %ld", code);
		return;
	}
	if (jsonh_parse(&doc, req->resp.body.data, req->resp.body.len, NULL) < 0) {
		check_set(r, CHECK_FAIL, value, "2xx with a token", "HTTP %ld but the reply is not valid JSON (%zu bytes)",
			  code, req->resp.body.len);
		return;
	}
	tok = jsonh_path(doc, token_path);
	if (tok == NULL) {
		check_set(r, CHECK_FAIL, value, "2xx with a token", "HTTP %ld but the reply has no '%s' (token-path)", code,
			  token_path_text);
	} else if (!json_object_is_type(tok, json_type_string)) {
		check_set(r, CHECK_FAIL, value, "2xx with a token", "HTTP %ld but '%s' is not a string (token-path)", code,
			  token_path_text);
	} else if ((t = json_object_get_string(tok))[0] == '\0') {
		check_set(r, CHECK_FAIL, value, "2xx with a token", "HTTP %ld but '%s' is an empty string (token-path)",
			  code, token_path_text);
	} else if ((size_t)json_object_get_string_len(tok) != strlen(t) || !header_value_ok(t)) {
		/*
		 * the token goes into an Authorization header: CR or LF would add headers of the
		 * server's choosing to every endpoint request, so it is refused and never sent
		 */
		log_mask(t);
		secret_wipe((void *)t, strlen(t));
		check_set(r, CHECK_FAIL, value, "2xx with a token",
			  "HTTP %ld but the token at '%s' holds control characters (CR, LF, NUL, ...): refused, never sent",
			  code, token_path_text);
	} else {
		*token_out = xstrdup(t);
		secret_wipe((void *)t, strlen(t));
		check_set(r, CHECK_PASS, value, "2xx with a token", "HTTP %ld, token received at '%s'", code,
			  token_path_text);
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
	} else if (code >= 300 && code < 400 && http_response_header(&req->resp, "location") != NULL) {
		const char *loc = http_response_header(&req->resp, "location");
		char *where = outside_line(loc, strlen(loc), CHECK_EXCERPT_MAX);
		check_set(r, CHECK_FAIL, value, buf_str(&limit), "HTTP %ld, expected %s: redirected to %s (not followed)",
			  code, buf_str(&limit), where);
		free(where);
	} else {
		char *ex = outside_line(req->resp.body.data, req->resp.body.len, CHECK_EXCERPT_MAX);
		check_set(r, CHECK_FAIL, value, buf_str(&limit), "HTTP %ld, expected %s%s%s%s", code, buf_str(&limit),
			  req->attempts > 1 ? " (after retries)" : "", ex[0] != '\0' ? ": " : "", ex);
		free(ex);
	}
	buf_dispose(&limit);
}
