/* SPDX-License-Identifier: MIT */
/*
 * Retry-After (delta seconds or an HTTP date, retry_after_parse) and the retry decision it feeds:
 * whatever a server sends, the wait stays within the policy's bounds.
 */
#include "fuzz.h"
#include "log.h"
#include "retry.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 429, 503, 502, 504, 500, 200 };
	struct retry_policy p = { 3, 500, 8000, 30000 };
	struct retry_input in;
	enum retry_verdict v;
	int64_t ms, delay = -1;
	char *s;

	if (size < 4) {
		return 0;
	}
	log_init(false, false);
	s = fuzz_strndup(data + 4, size - 4);
	/* a fixed "now" (2025-01-01) keeps a crash reproducible */
	ms = retry_after_parse(s, 1735689600);
	FUZZ_ASSERT(ms == -1 || ms >= 0);

	memset(&in, 0, sizeof(in));
	in.retries_done = data[0] % 5;
	in.transport = (enum transport_outcome)(data[1] % (TRANSPORT_OTHER + 1));
	in.status = statuses[data[2] % (sizeof(statuses) / sizeof(statuses[0]))];
	in.retry_after_ms = ms;
	in.idempotent = (data[3] & 1) != 0;
	in.jitter = (uint32_t)data[3] * 2654435761u;
	v = retry_decide(&p, &in, &delay);
	if (v == RETRY_YES) {
		FUZZ_ASSERT(in.retries_done < p.max_retries);
		FUZZ_ASSERT(delay >= 0 && delay <= (p.max_delay_ms > p.max_retry_after_ms ? p.max_delay_ms
											   : p.max_retry_after_ms));
	} else {
		FUZZ_ASSERT(delay == 0);
	}
	/* TLS failures and oversized replies are never retried */
	if (in.transport == TRANSPORT_TLS || in.transport == TRANSPORT_TOO_BIG) {
		FUZZ_ASSERT(v == RETRY_NO);
	}
	/* a state-changing request is never repeated once it may have reached the server, unless asked */
	if (!in.idempotent && v == RETRY_YES) {
		FUZZ_ASSERT(in.transport == TRANSPORT_DNS || in.transport == TRANSPORT_CONNECT ||
			    (in.transport == TRANSPORT_OK && (in.status == 429 || in.status == 503) && ms >= 0));
	}
	free(s);
	return 0;
}
