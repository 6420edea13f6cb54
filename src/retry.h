/* SPDX-License-Identifier: MIT */
#ifndef SRC_RETRY_H
#define SRC_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* how a transfer ended, before any HTTP status is looked at */
enum transport_outcome {
	TRANSPORT_OK,          /* a complete HTTP exchange */
	TRANSPORT_DNS,         /* name resolution failed: the request never left */
	TRANSPORT_CONNECT,     /* connection refused/unreachable: the request never left */
	TRANSPORT_TIMEOUT,     /* may have reached the server */
	TRANSPORT_RESET,       /* connection reset or closed mid-exchange */
	TRANSPORT_TLS,         /* certificate or handshake failure: never retried */
	TRANSPORT_TOO_BIG,     /* body over the cap: never retried */
	TRANSPORT_OTHER,
};

struct retry_policy {
	int max_retries;           /* extra attempts */
	int64_t base_delay_ms;     /* first backoff */
	int64_t max_delay_ms;      /* backoff cap */
	int64_t max_retry_after_ms; /* Retry-After is honoured up to this */
};

struct retry_input {
	int retries_done;
	enum transport_outcome transport;
	long status;              /* when transport is OK */
	int64_t retry_after_ms;   /* from Retry-After, -1 if absent */
	bool idempotent;          /* false for login, PATCH, issue, Slack */
	uint32_t jitter;          /* random, passed in so the function is pure */
};

enum retry_verdict {
	RETRY_NO,        /* final: the outcome stands */
	RETRY_YES,       /* try again after *delay_ms_out */
	RETRY_EXHAUSTED, /* transient, but no attempts left */
};

/*
 * Retries only what is transient: DNS, connect, reset, timeout, 429/502/503/504.
 * Non-idempotent requests retry only when they cannot have reached the server (DNS, connect)
 * or on 429/503 carrying Retry-After. Backoff doubles from base with full jitter in its upper half.
 */
enum retry_verdict retry_decide(const struct retry_policy *p, const struct retry_input *in,
				int64_t *delay_ms_out);

/* parses a Retry-After value (delta seconds or HTTP date) into ms from now_epoch_s; -1 if invalid */
int64_t retry_after_parse(const char *value, int64_t now_epoch_s);

#endif
