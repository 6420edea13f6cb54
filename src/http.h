/* SPDX-License-Identifier: MIT */
#ifndef SRC_HTTP_H
#define SRC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "retry.h"

/*
 * The only user of libcurl. Every request, even a single one, runs as part of a batch on the
 * multi interface, so there is one code path: bounded parallelism, keep-alive connections
 * shared through one multi handle (HTTP/2 multiplexed where offered), retries as due times
 * (nothing sleeps), and cancellation through the SIGTERM self-pipe.
 */

#define HTTP_DEFAULT_MAX_BODY (1024 * 1024)
#define HTTP_MAX_PARALLEL 24

/* optional TLS settings (Kubernetes API); PEM blobs are copied by libcurl */
struct http_tls {
	const char *ca_pem;
	size_t ca_len;
	const char *ca_file;
	const char *cert_pem;
	size_t cert_len;
	const char *cert_file;
	const char *key_pem;
	size_t key_len;
	const char *key_file;
	bool insecure;
	const char *server_name; /* tls-server-name: verify the certificate against this name */
};

struct http_header {
	char *name; /* lower-case */
	char *value;
};

struct http_response {
	long status;            /* 0 when no HTTP exchange completed */
	char *content_type;
	struct buf body;
	struct http_header *headers;
	size_t n_headers;
	int64_t retry_after_ms; /* -1 if absent */
	bool body_truncated;
	long http_version;      /* 11, 20 */
};

#define HTTP_RESPONSE_INIT { 0, NULL, BUF_INIT, NULL, 0, -1, false, 0 }

enum http_state {
	HTTP_PENDING,
	HTTP_RUNNING,
	HTTP_WAITING_RETRY,
	HTTP_DONE,
	HTTP_ABORTED,
};

struct http_request;
/* streaming consumer: return non-zero to stop the transfer */
typedef int http_data_fn(struct http_request *req, const char *data, size_t len);

struct http_request {
	/* set by the caller; strings are borrowed and must outlive the batch */
	const char *method;        /* NULL: GET */
	const char *url;
	const char *body;          /* NULL: no body */
	size_t body_len;
	const char *content_type;  /* for the body */
	const char *bearer;        /* Authorization: Bearer, never logged */
	const char *basic_user;    /* HTTP basic auth */
	const char *basic_password;
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
	const struct http_tls *tls;
	int64_t timeout_ms;        /* per attempt; 0: 30 s */
	size_t max_body;           /* 0: HTTP_DEFAULT_MAX_BODY */
	bool idempotent;
	int max_retries;           /* -1: the batch policy's */
	http_data_fn *on_data;     /* when set, the body is streamed here, not stored */
	void *user;

	/* results */
	enum http_state state;
	struct http_response resp;
	enum transport_outcome transport;
	struct error err;          /* why no usable response arrived (transport != OK) */
	int attempts;
	int64_t started_ms;        /* monotonic, first attempt */
	int64_t elapsed_ms;        /* first attempt to final outcome */

	void *priv;                /* http.c's per-request state */
};

struct http;
struct http_batch;

typedef void http_done_fn(struct http_request *req, void *user);

struct http_batch_opts {
	int max_parallel;          /* 0: HTTP_MAX_PARALLEL */
	struct retry_policy retry;
	http_done_fn *on_done;     /* called once per request at its final outcome; may add or abort */
	void *user;
	bool ignore_cancel;        /* for a state-changing request that must be sent whole or not at all */
	int64_t deadline_ms;       /* monotonic; 0: none. Past it, remaining requests are aborted */
};

/*
 * libcurl's global set-up: the first library call in main(), before any other thread or request
 * (curl's tool_main.c); ERR_GENERIC when libcurl cannot initialise. http_global_cleanup undoes it
 * at the very end.
 */
int http_global_init(struct error *err);
void http_global_cleanup(void);

struct http *http_new(void);
void http_free(struct http *h);

struct http_batch *http_batch_new(struct http *h, const struct http_batch_opts *opts);
/* queues req (FIFO: no request starves); allowed from on_done */
void http_batch_add(struct http_batch *b, struct http_request *req);
/* aborts queued and running requests (state HTTP_ABORTED, on_done not called) */
void http_batch_abort(struct http_batch *b);
/* runs until every request is final; returns 0, or ERR_CANCELLED after SIGTERM/SIGINT */
int http_batch_run(struct http_batch *b, struct error *err);
void http_batch_free(struct http_batch *b);

/*
 * runs req alone as a batch with these options (deadline, retry policy, ignore_cancel); returns what
 * http_batch_run() returns: the request's own outcome is in req->state, transport and resp
 */
int http_batch_run_one(struct http *h, struct http_request *req, const struct http_batch_opts *opts,
		       struct error *err);

/* runs one request as a batch of one; returns 0 when an HTTP status arrived, else the error code */
int http_perform(struct http *h, struct http_request *req, const struct retry_policy *retry,
		 struct error *err);

/* response header lookup, case-insensitive; borrowed or NULL */
const char *http_response_header(const struct http_response *resp, const char *name);
void http_response_dispose(struct http_response *resp);
/* frees results so the request can be reused */
void http_request_dispose(struct http_request *req);

/* URL-encodes s (RFC 3986 unreserved kept); caller frees */
char *http_escape(const char *s);
/* short description of a failed exchange: "connection refused", "timed out after 10s" */
const char *transport_outcome_name(enum transport_outcome t);

#endif
