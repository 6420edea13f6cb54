/* SPDX-License-Identifier: MIT */
#include "retry.h"
#include "tap.h"

static const struct retry_policy policy = { 3, 200, 5000, 30000 };

static enum retry_verdict
decide(int done, enum transport_outcome t, long status, int64_t ra, bool idem, int64_t *delay)
{
	struct retry_input in = { done, t, status, ra, idem, 12345 };
	return retry_decide(&policy, &in, delay);
}

static void
test_retry__transient(void)
{
	int64_t d;
	is_int(decide(0, TRANSPORT_CONNECT, 0, -1, true, &d), RETRY_YES, "connection refused is retried");
	ok(d >= 100 && d <= 200, "first delay within [base/2, base]: %lld", (long long)d);
	is_int(decide(0, TRANSPORT_DNS, 0, -1, false, &d), RETRY_YES, "DNS failure retried even for a POST");
	is_int(decide(0, TRANSPORT_TIMEOUT, 0, -1, true, &d), RETRY_YES, "timeout retried when idempotent");
	is_int(decide(0, TRANSPORT_TIMEOUT, 0, -1, false, &d), RETRY_NO, "timeout not retried for a POST");
	is_int(decide(0, TRANSPORT_RESET, 0, -1, true, &d), RETRY_YES, "reset retried");
	is_int(decide(0, TRANSPORT_OK, 502, -1, true, &d), RETRY_YES, "502 retried");
	is_int(decide(0, TRANSPORT_OK, 503, -1, true, &d), RETRY_YES, "503 retried");
	is_int(decide(0, TRANSPORT_OK, 504, -1, true, &d), RETRY_YES, "504 retried");
	is_int(decide(0, TRANSPORT_OK, 429, -1, true, &d), RETRY_YES, "429 retried");
	is_int(decide(0, TRANSPORT_OK, 429, -1, false, &d), RETRY_NO, "429 without Retry-After not retried for a POST");
	is_int(decide(0, TRANSPORT_OK, 429, 1000, false, &d), RETRY_YES, "429 with Retry-After retried for a POST");
	is_int(d, 1000, "Retry-After honoured");
	is_int(decide(0, TRANSPORT_OK, 502, -1, false, &d), RETRY_NO, "502 not retried for a POST");
}

static void
test_retry__final(void)
{
	int64_t d;
	is_int(decide(0, TRANSPORT_OK, 500, -1, true, &d), RETRY_NO, "500 never retried");
	is_int(decide(0, TRANSPORT_OK, 404, -1, true, &d), RETRY_NO, "404 never retried");
	is_int(decide(0, TRANSPORT_OK, 401, -1, true, &d), RETRY_NO, "401 never retried");
	is_int(decide(0, TRANSPORT_OK, 200, -1, true, &d), RETRY_NO, "200 final");
	is_int(decide(0, TRANSPORT_TLS, 0, -1, true, &d), RETRY_NO, "TLS failure never retried");
	is_int(decide(0, TRANSPORT_TOO_BIG, 0, -1, true, &d), RETRY_NO, "oversized reply never retried");
	is_int(decide(3, TRANSPORT_CONNECT, 0, -1, true, &d), RETRY_EXHAUSTED, "no attempts left");
	is_int(decide(0, TRANSPORT_OK, 503, 60000, true, &d), RETRY_EXHAUSTED, "Retry-After beyond the bound is not waited for");
}

static void
test_retry__backoff(void)
{
	int64_t d0, d1, d2, d9;
	struct retry_policy p = { 10, 200, 5000, 30000 };
	struct retry_input in = { 0, TRANSPORT_CONNECT, 0, -1, true, 0xffffffffu };
	(void)retry_decide(&p, &in, &d0);
	in.retries_done = 1;
	(void)retry_decide(&p, &in, &d1);
	in.retries_done = 2;
	(void)retry_decide(&p, &in, &d2);
	in.retries_done = 9;
	(void)retry_decide(&p, &in, &d9);
	ok(d0 <= 200 && d1 <= 400 && d2 <= 800, "delays double: %lld %lld %lld", (long long)d0, (long long)d1, (long long)d2);
	ok(d1 >= 200 && d2 >= 400, "jitter stays in the upper half");
	ok(d9 <= 5000 && d9 >= 2500, "capped at max delay: %lld", (long long)d9);
}

static void
test_retry__retry_after(void)
{
	is_int(retry_after_parse("3", 0), 3000, "delta seconds");
	is_int(retry_after_parse(" 0", 0), 0, "zero");
	is_int(retry_after_parse("abc", 0), -1, "garbage");
	is_int(retry_after_parse("-1", 0), -1, "negative");
	is_int(retry_after_parse("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480), 10000, "HTTP date");
	is_int(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0, "date in the past");
}

int
main(void)
{
	test_retry__transient();
	test_retry__final();
	test_retry__backoff();
	test_retry__retry_after();
	return tap_done();
}
