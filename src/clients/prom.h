/* SPDX-License-Identifier: MIT */
#ifndef SRC_CLIENTS_PROM_H
#define SRC_CLIENTS_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "http.h"
#include "retry.h"

/*
 * The Prometheus HTTP API client: instant queries (GET /api/v1/query) turned into C structs.
 * A failed query (transport, HTTP status, "status":"error", a body that is not the API's JSON)
 * is an error with the errorType kept apart, never a result: the caller decides what it means.
 */

enum prom_result_type {
	PROM_VECTOR,
	PROM_SCALAR,
};

struct prom_sample {
	char *labels;      /* {status="500"}, "{}" for none; outside text, capped */
	double value;      /* NaN, +Inf and -Inf as sent */
	char *value_text;  /* the value string as sent */
	double timestamp;  /* seconds since the epoch, as sent (any precision) */
};

struct prom_result {
	enum prom_result_type type;
	struct prom_sample *samples; /* a scalar is one sample without labels */
	size_t n;
	char **warnings;             /* NULL-terminated, or NULL: the API's "warnings" */
	char error_type[32];         /* on failure: the API's errorType ("bad_data", "timeout"), else "" */
	long http_status;            /* 0 when no HTTP exchange completed */
};

#define PROM_RESULT_INIT { PROM_VECTOR, NULL, 0, NULL, { 0 }, 0 }

struct prom_client {
	struct http *http;
	const char *base_url;  /* no trailing slash; may carry a ?query of its own */
	const char *token;     /* Authorization: Bearer; NULL for none */
	const char *username;  /* basic auth (never with a token); NULL for none */
	const char *password;
	const char *const *headers; /* extra "Name: value" lines (tenant headers), NULL-terminated */
	int64_t timeout_ms;    /* per attempt */
	struct retry_policy retry;
};

struct prom_query {
	const char *expr;           /* in: PromQL, borrowed */
	int64_t time;               /* in: evaluation time (epoch s, the API's time=); 0: now */
	int rc;                     /* out: 0, or the negative code of err */
	struct prom_result result;  /* out: filled when rc == 0; error_type/http_status also on failure */
	struct error err;           /* out: why there is no result */
	int attempts;
	int64_t elapsed_ms;
};

/* the query URL: {base}/api/v1/query?query=<percent-encoded expr>; caller frees */
char *prom_query_url(const char *base_url, const char *expr);
/* the same with &time=<epoch seconds> when time > 0 (a query evaluated in the past) */
char *prom_query_url_at(const char *base_url, const char *expr, int64_t time);

/*
 * Runs n instant queries concurrently (one HTTP batch; transient failures retried per c->retry,
 * a GET being idempotent). Each query's own outcome is in its rc/result/err. Returns 0, or
 * ERR_CANCELLED after SIGTERM/SIGINT. Dispose each query's result with prom_result_dispose().
 */
int prom_query_run(const struct prom_client *c, struct prom_query *queries, size_t n, struct error *err);

/*
 * Parses one /api/v1/query reply. Pure: for unit tests and fuzzing. Returns 0 with *out filled
 * (vector or scalar), or an error: ERR_HTTP/ERR_AUTH/ERR_NOT_FOUND/ERR_TIMEOUT for an error
 * envelope or status (out->error_type set when the API named one), ERR_PARSE for a body that is
 * not the API's JSON or a result type other than vector and scalar. *out is valid (disposable)
 * in both cases; on failure it holds no samples.
 */
int prom_response_parse(struct prom_result *out, long http_status, const char *body, size_t len,
			struct error *err);

/* *out = the index of the largest value (+Inf counts, NaN never); false when every value is NaN */
bool prom_result_worst(size_t *out, const struct prom_result *r);

void prom_result_dispose(struct prom_result *r);

#endif
