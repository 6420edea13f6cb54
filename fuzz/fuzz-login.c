/* SPDX-License-Identifier: MIT */
/*
 * The login reply (login_judge): status, body and token-path all outside the gate's control.
 * Input: byte 0 picks the status, then "token-path\nbody". A token found must be a non-empty
 * string, and the check's detail must never contain it.
 */
#include "checks/judge.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

static const long statuses[] = { 200, 201, 204, 301, 302, 400, 401, 403, 404, 429, 500, 503 };

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
		/* the token may be a substring of the path text only by coincidence; a long one never is */
		FUZZ_ASSERT(strlen(token) < 8 || strstr(r->detail, token) == NULL || strstr(path, token) != NULL);
		secret_free(token);
	} else {
		FUZZ_ASSERT(r->status != CHECK_PASS);
	}
	check_list_dispose(&list);
	http_request_dispose(&req);
	strv_free(segments);
	free(path);
	return 0;
}
