/* SPDX-License-Identifier: MIT */
/*
 * GitHub replies: the created issue (issue_from_reply), error messages (github_message), rate
 * limits (rate_limited, from headers and body) and pagination (github_link_next). The reply
 * parsers are static in github.c, so this target compiles github.c into itself. Input: byte 0
 * picks the status, then "Name: value" header lines up to an empty line, then the body.
 */
#include "clients/github.c"

#include <ctype.h>

#include "fuzz.h"

/*
 * gcc 12's -fanalyzer loses the header strings once they are stored in the heap array and
 * reports them leaked; http_response_dispose() frees them, and LeakSanitizer checks that on
 * every fuzz run (tests/steps/fuzz.sh), so the analyzer's word is not needed here.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif

static const long statuses[] = { 201, 200, 403, 429, 422, 404, 410, 500, 401, 301 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct github_issue issue;
	struct error err = ERROR_INIT;
	const uint8_t *p, *end;
	char *msg, *next;
	int64_t wait = 0;
	const char *c;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	resp.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	p = data + 1;
	end = data + size;
	resp.headers = xcalloc(16, sizeof(*resp.headers));
	/* headers, as http.c stores them: lower-case names, values trimmed */
	while (p < end && resp.n_headers < 16) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *line_end = nl != NULL ? nl : end;
		const uint8_t *colon = memchr(p, ':', (size_t)(line_end - p));
		struct http_header *h;
		char *q;
		if (line_end == p) {
			p = line_end + 1;
			break;
		}
		if (colon != NULL) {
			const uint8_t *v = colon + 1;
			while (v < line_end && *v == ' ') {
				v++;
			}
			h = &resp.headers[resp.n_headers++];
			h->name = fuzz_strndup(p, (size_t)(colon - p));
			for (q = h->name; *q != '\0'; q++) {
				*q = (char)tolower((unsigned char)*q);
			}
			h->value = fuzz_strndup(v, (size_t)(line_end - v));
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (p < end) {
		buf_append(&resp.body, p, (size_t)(end - p));
	}
	if (http_response_header(&resp, "retry-after") != NULL) {
		resp.retry_after_ms = retry_after_parse(http_response_header(&resp, "retry-after"), 1735689600);
	}

	memset(&issue, 0, sizeof(issue));
	if (issue_from_reply(&issue, &resp, "creating the issue", &err) == 0) {
		FUZZ_ASSERT(issue.number > 0 && issue.html_url != NULL);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}
	github_issue_dispose(&issue);

	msg = github_message(&resp);
	FUZZ_ASSERT(msg != NULL && strlen(msg) < 700);
	for (c = msg; *c != '\0'; c++) {
		FUZZ_ASSERT((unsigned char)*c >= 0x20);
	}
	free(msg);

	if (rate_limited(&resp, &wait)) {
		FUZZ_ASSERT(wait >= -1);
	}
	next = github_link_next(http_response_header(&resp, "link"));
	FUZZ_ASSERT(next == NULL || (strchr(next, '<') == NULL && strchr(next, '>') == NULL));
	free(next);
	http_response_dispose(&resp);
	return 0;
}
