/* SPDX-License-Identifier: MIT */
/*
 * Health and database replies (health_judge, database_judge). Input: byte 0 picks the status,
 * byte 1 the max-db-query-time, then "Location header value\nbody". Details are one printable
 * line of valid UTF-8 whatever the server sent.
 */
#include "checks/judge.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

static const long statuses[] = { 200, 204, 299, 302, 308, 404, 500, 503, 100, 0 };
static const int64_t limits[] = { -1, 0, 250, 1000 };

static void
check_result_ok(const struct check_result *r)
{
	const char *const texts[] = { r->detail, r->value, r->limit };
	size_t i;
	const char *c;

	FUZZ_ASSERT(r->detail != NULL);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		for (c = texts[i]; c != NULL && *c != '\0'; c++) {
			FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
		}
		FUZZ_ASSERT(texts[i] == NULL || fuzz_utf8_valid(texts[i]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_list list = { NULL, 0 };
	struct check_result *r;
	struct http_request req;
	char *location;
	const uint8_t *body;
	size_t body_len;

	if (size < 2) {
		return 0;
	}
	log_init(false, false);
	body = fuzz_split_line(&location, data + 2, size - 2, &body_len);
	memset(&req, 0, sizeof(req));
	req.state = HTTP_DONE;
	req.transport = TRANSPORT_OK;
	req.attempts = 1;
	req.resp.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	req.resp.retry_after_ms = -1;
	buf_append(&req.resp.body, body, body_len);
	req.resp.headers = xcalloc(1, sizeof(*req.resp.headers));
	req.resp.headers[0].name = xstrdup("location");
	req.resp.headers[0].value = location;
	req.resp.n_headers = 1;

	r = check_list_add(&list, "health", PHASE_READINESS);
	health_judge(r, &req);
	check_result_ok(r);
	r = check_list_add(&list, "database", PHASE_SMOKE);
	database_judge(r, &req, limits[data[1] % (sizeof(limits) / sizeof(limits[0]))]);
	check_result_ok(r);
	check_list_dispose(&list);
	http_request_dispose(&req);
	return 0;
}
