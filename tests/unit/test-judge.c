/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "checks/judge.h"
#include "tap.h"
#include "util.h"

static void
reply(struct http_request *req, long status, const char *body)
{
	memset(req, 0, sizeof(*req));
	req->state = HTTP_DONE;
	req->transport = TRANSPORT_OK;
	req->attempts = 1;
	req->resp.status = status;
	req->resp.retry_after_ms = -1;
	buf_puts(&req->resp.body, body);
}

static void
test_judge__health(void)
{
	struct check_list l = { NULL, 0 };
	struct check_result *r = check_list_add(&l, "health", PHASE_READINESS);
	struct http_request req;

	reply(&req, 200, "{\"status\":\"ok\"}");
	health_judge(r, &req);
	is_int(r->status, CHECK_PASS, "200 ok passes");
	http_request_dispose(&req);
	reply(&req, 200, "{\"status\":\"Unhealthy\"}");
	health_judge(r, &req);
	is_int(r->status, CHECK_FAIL, "status Unhealthy fails");
	http_request_dispose(&req);
	reply(&req, 200, "plain text OK");
	health_judge(r, &req);
	is_int(r->status, CHECK_PASS, "non-JSON 200 passes");
	http_request_dispose(&req);
	reply(&req, 204, "");
	health_judge(r, &req);
	is_int(r->status, CHECK_PASS, "204 passes");
	http_request_dispose(&req);
	reply(&req, 503, "{\"status\":\"starting\"}\n::error::injected");
	health_judge(r, &req);
	is_int(r->status, CHECK_FAIL, "503 fails");
	ok(strchr(r->detail, '\n') == NULL, "detail is one line: %s", r->detail);
	http_request_dispose(&req);
	reply(&req, 200, "{\"status\":[\"fail\"]}");
	health_judge(r, &req);
	is_int(r->status, CHECK_PASS, "a non-string status is not judged");
	http_request_dispose(&req);
	check_list_dispose(&l);
}

static void
test_judge__database(void)
{
	struct check_list l = { NULL, 0 };
	struct check_result *r = check_list_add(&l, "database", PHASE_SMOKE);
	struct http_request req;

	reply(&req, 200, "{\"status\":\"ok\",\"query_time_ms\":12.5,\"pool\":{\"size\":10,\"idle\":8}}");
	database_judge(r, &req, 250);
	is_int(r->status, CHECK_PASS, "fast query passes");
	is_str(r->value, "query 12.5 ms", "query time is the value");
	ok(strstr(r->detail, "size=10") != NULL && strstr(r->detail, "idle=8") != NULL, "pool shown: %s", r->detail);
	database_judge(r, &req, 10);
	is_int(r->status, CHECK_FAIL, "slower than the limit fails");
	http_request_dispose(&req);
	reply(&req, 200, "{\"status\":\"ok\",\"database\":{\"query_time_ms\":3}}");
	database_judge(r, &req, 250);
	is_str(r->value, "query 3.0 ms", "nested query time found");
	http_request_dispose(&req);
	reply(&req, 200, "{\"status\":\"ok\"}");
	database_judge(r, &req, 250);
	is_int(r->status, CHECK_WARN, "limit set but no query time: warn");
	database_judge(r, &req, -1);
	is_int(r->status, CHECK_PASS, "no limit, no query time: pass");
	http_request_dispose(&req);
	check_list_dispose(&l);
}

static void
test_judge__login(void)
{
	struct check_list l = { NULL, 0 };
	struct check_result *r = check_list_add(&l, "login", PHASE_SMOKE);
	struct http_request req;
	char data_seg[] = "data", token_seg[] = "token";
	char *path[] = { data_seg, token_seg, NULL };
	char *token = NULL;

	reply(&req, 200, "{\"data\":{\"token\":\"abc\"}}");
	login_judge(r, &token, &req, path, "data.token");
	ok(r->status == CHECK_PASS && token != NULL && strcmp(token, "abc") == 0, "token extracted");
	free(token);
	http_request_dispose(&req);
	reply(&req, 200, "{\"data\":{\"token\":\"\"}}");
	login_judge(r, &token, &req, path, "data.token");
	ok(r->status == CHECK_FAIL && token == NULL, "empty token fails");
	http_request_dispose(&req);
	reply(&req, 200, "{\"data\":{\"token\":42}}");
	login_judge(r, &token, &req, path, "data.token");
	ok(r->status == CHECK_FAIL && strstr(r->detail, "not a string") != NULL, "numeric token fails");
	http_request_dispose(&req);
	reply(&req, 403, "{\"detail\":\"nope\"}");
	login_judge(r, &token, &req, path, "data.token");
	ok(r->status == CHECK_FAIL && strstr(r->detail, "rejected") != NULL, "403 is rejected credentials");
	http_request_dispose(&req);
	reply(&req, 500, "{\"access_token\":\"leaky\"}");
	login_judge(r, &token, &req, path, "data.token");
	ok(r->status == CHECK_FAIL && strstr(r->detail, "leaky") == NULL, "the login reply is never quoted");
	http_request_dispose(&req);
	check_list_dispose(&l);
}

static void
test_judge__endpoint(void)
{
	struct check_list l = { NULL, 0 };
	struct check_result *r = check_list_add(&l, "GET /x", PHASE_SMOKE);
	struct http_request req;
	struct endpoint e;
	struct error err = ERROR_INIT;

	memset(&e, 0, sizeof(e));
	(void)config_parse_status_set(&e.expected, "200,204", &err);
	reply(&req, 204, "");
	endpoint_judge(r, &req, &e);
	ok(r->status == CHECK_PASS && strcmp(r->limit, "200,204") == 0, "expected list");
	http_request_dispose(&req);
	reply(&req, 201, "created");
	endpoint_judge(r, &req, &e);
	is_int(r->status, CHECK_FAIL, "201 not in the list");
	http_request_dispose(&req);
	memset(&req, 0, sizeof(req));
	req.state = HTTP_DONE;
	req.transport = TRANSPORT_CONNECT;
	req.attempts = 4;
	(void)error_set(&req.err, ERR_NETWORK, "connection failed: refused");
	endpoint_judge(r, &req, &e);
	ok(r->status == CHECK_FAIL && strstr(r->detail, "after 4 attempts") != NULL, "transport failure: %s", r->detail);
	check_list_dispose(&l);
}

int
main(void)
{
	test_judge__health();
	test_judge__database();
	test_judge__login();
	test_judge__endpoint();
	return tap_done();
}
