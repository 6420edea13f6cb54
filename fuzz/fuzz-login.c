/* SPDX-License-Identifier: MIT */
/*
 * The login reply (login_judge): status, body and token-path all outside the gate's control.
 * Input: byte 0 picks the status, then "token-path\nbody". A token found must be a non-empty
 * string, and the check's texts must never show it.
 *
 * "Never show it" is checked by difference, not by searching the detail for the token: the same
 * reply with the token replaced by another string of the same length must give the same value,
 * limit and detail. A substring search fails on harmless input, since a token may equal a piece
 * of the message's own wording ("received", "HTTP 200, token") or of the quoted token-path (the
 * token "s_token'" at the path 'access_token'); a text that depends on the token value is what
 * a leak really is.
 */
#include "checks/judge.h"
#include "fuzz.h"
#include "jsonh.h"
#include "log.h"
#include "util.h"

#include <json-c/json.h>

static const long statuses[] = { 200, 201, 204, 301, 302, 400, 401, 403, 404, 429, 500, 503 };

static int
same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Judges the reply again with the token at token-path replaced by a string of the same length
 * that differs from it in every byte: the check must pass with that token and say exactly what
 * it said for the first one.
 */
static void
check_token_hidden(const struct check_result *r, const struct http_request *req,
		   char *const *segments, const char *path, size_t token_len)
{
	struct check_list list = { NULL, 0 };
	struct check_result *r2;
	struct http_request req2;
	struct json_object *doc = NULL, *tok;
	char *other, *token2 = NULL;
	const char *body;
	size_t i;

	FUZZ_ASSERT(jsonh_parse(&doc, req->resp.body.data, req->resp.body.len, NULL) == 0);
	tok = jsonh_path(doc, segments);
	FUZZ_ASSERT(tok != NULL && json_object_is_type(tok, json_type_string));
	other = xmalloc(token_len + 1);
	for (i = 0; i < token_len; i++) {
		other[i] = json_object_get_string(tok)[i] == 'Q' ? 'Z' : 'Q';
	}
	other[token_len] = '\0';
	FUZZ_ASSERT(json_object_set_string(tok, other) == 1);
	body = jsonh_to_string(doc, false);

	memset(&req2, 0, sizeof(req2));
	req2.state = req->state;
	req2.transport = req->transport;
	req2.attempts = req->attempts;
	req2.resp.status = req->resp.status;
	req2.resp.retry_after_ms = -1;
	buf_append(&req2.resp.body, body, strlen(body));
	r2 = check_list_add(&list, "login", PHASE_SMOKE);
	login_judge(r2, &token2, &req2, segments, path);
	FUZZ_ASSERT(token2 != NULL && strcmp(token2, other) == 0);
	FUZZ_ASSERT(r2->status == r->status && same_text(r2->value, r->value) &&
		    same_text(r2->limit, r->limit));
	FUZZ_ASSERT(same_text(r2->detail, r->detail));
	secret_free(token2);
	free(other);
	check_list_dispose(&list);
	http_request_dispose(&req2);
	json_object_put(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_list list = { NULL, 0 };
	struct check_result *r;
	struct http_request req;
	struct error err = ERROR_INIT;
	char **segments = NULL;
	char *path, *token = NULL;
	const uint8_t *body;
	size_t body_len;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	body = fuzz_split_line(&path, data + 1, size - 1, &body_len);
	if (config_parse_token_path(&segments, path, &err) < 0) {
		free(path);
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.state = HTTP_DONE;
	req.transport = TRANSPORT_OK;
	req.attempts = 1;
	req.resp.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	req.resp.retry_after_ms = -1;
	buf_append(&req.resp.body, body, body_len);

	r = check_list_add(&list, "login", PHASE_SMOKE);
	login_judge(r, &token, &req, segments, path);
	FUZZ_ASSERT(r->detail != NULL && strchr(r->detail, '\n') == NULL);
	if (token != NULL) {
		FUZZ_ASSERT(r->status == CHECK_PASS && token[0] != '\0');
		check_token_hidden(r, &req, segments, path, strlen(token));
		secret_free(token);
	} else {
		FUZZ_ASSERT(r->status != CHECK_PASS);
	}
	check_list_dispose(&list);
	http_request_dispose(&req);
	strv_free(segments);
	free(path);
	/*
	 * a token refused for its control characters is masked: without this the list of secrets
	 * grows with every input, slowing each run (565 exec/s after 30 s) and making a finding
	 * depend on the inputs before it
	 */
	log_secrets_dispose();
	return 0;
}
