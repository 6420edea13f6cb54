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
/*
 * Requests in flight per batch: HTTP/1.1 needs a connection per request, so at most
 * HTTP_MAX_PARALLEL there; on an origin that has answered over HTTP/2 they are streams of one
 * connection, up to HTTP_MAX_STREAMS (libcurl keeps each connection within the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS and opens another, up to HTTP_MAX_PARALLEL, for more).
 */
#define HTTP_MAX_PARALLEL 24
#define HTTP_MAX_STREAMS 100

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
	const char *proxy;       /* kubeconfig proxy-url: replaces the job's proxy variables; NULL: those */
	const char *ca_hint;     /* said after "unknown issuer": where the user can give the CA */
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
	bool certificate_rejected; /* TLS: the server's certificate did not verify (not a glitch) */
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
/*
 * A time budget for every request from now on: each attempt ends by deadline_ms (monotonic) and
 * lasts at most request_ms, nothing is retried, and a batch started past the deadline sends
 * nothing (ERR_TIMEOUT, "the time allowed (what) ran out"). deadline_ms 0 lifts it.
 */
void http_budget_set(struct http *h, int64_t deadline_ms, int64_t request_ms, const char *what);
/* the budget's deadline (monotonic), 0 when none: clients that wait between requests stop there */
int64_t http_budget_deadline(const struct http *h);

/*
 * The system CA bundle for every request (SSL_CERT_FILE, as curl's tool and OpenSSL honour it);
 * NULL: libcurl's built-in default. Call before http_trust_add().
 */
void http_set_ca_file(struct http *h, const char *path);
/*
 * Requests to base_url's origin (scheme, host, port) that carry no http_tls of their own trust pem
 * (a PEM bundle, may be NULL) in addition to the system store, and a TLS failure with an unknown
 * issuer says hint ("pass the CA in the ca-cert input"). Returns 0, ERR_CONFIG for a URL that is
 * not http(s), or ERR_IO when the system bundle cannot be read to combine it with pem.
 */
int http_trust_add(struct http *h, const char *base_url, const char *pem, size_t pem_len, const char *hint,
		   struct error *err);

struct http_batch *http_batch_new(struct http *h, const struct http_batch_opts *opts);
/* queues req (FIFO: no request starves); allowed from on_done */
void http_batch_add(struct http_batch *b, struct http_request *req);
/* aborts queued and running requests (state HTTP_ABORTED, on_done not called) */
void http_batch_abort(struct http_batch *b);
/*
 * runs until every request is final; returns 0, ERR_CANCELLED after SIGTERM/SIGINT, or ERR_TIMEOUT
 * when started past http_budget_set()'s deadline (nothing is sent then)
 */
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
/*
 * The parts of a URL that carry credentials, as they appear in the URL and decoded: the user-info,
 * every query value of min_len bytes or more (a hosted Prometheus takes ?api_key=...) and, with
 * with_path, the path (a webhook's path is its secret). A URL that cannot be parsed but holds a
 * '?' or '@' is returned whole. NULL-terminated; free with strv_free after wiping.
 */
char **http_url_secrets(const char *url, bool with_path, size_t min_len);

/*
 * URLs go through libcurl's URL API (CURLU) only: the same parser that later sends the request
 * decides what the host is, so a check made here cannot be fooled by a URL libcurl reads
 * differently (user-info, IPv6 literals, default ports, upper-case schemes).
 */
struct http_url {
	char *scheme;    /* lower-case: "http" or "https" (other schemes are refused) */
	char *host;      /* lower-case as libcurl normalises it; IPv6 literals in brackets */
	char *port;      /* the explicit port, else the scheme's default */
	char *path;      /* at least "/" */
	char *query;     /* NULL: none */
	char *userinfo;  /* "user[:password]" as written, NULL: none; a credential, wiped on dispose */
	bool has_fragment;
};

/*
 * parses an absolute http:// or https:// URL; on failure returns ERR_CONFIG with a message that
 * never quotes the URL (it may hold a credential). Dispose out even after a failure.
 */
int http_url_parse(struct http_url *out, const char *url, struct error *err);
void http_url_dispose(struct http_url *u);
/* "scheme://host:port" with the port always written; NULL when url is not an http(s) URL */
char *http_url_origin(const char *url);
/* same scheme, host and port (RFC 6454); false when either does not parse */
bool http_url_same_origin(const char *a, const char *b);
/*
 * base's path (trailing slashes dropped) followed by path_query ("/p" or "/p?q"), keeping base's
 * scheme, host and port; base's own query, if any, follows path_query's. NULL when base is not
 * an http(s) URL. Caller frees.
 */
char *http_url_join(const char *base, const char *path_query);
/* url with "name=value" (already encoded) appended to its query; NULL when not http(s) */
char *http_url_append_query(const char *url, const char *param);

/*
 * HTTP status to error code, decided once for every client (each keeps its own message):
 * 2xx ERR_OK, 401/403 ERR_AUTH, 404 ERR_NOT_FOUND, 409/422 ERR_CONFLICT, anything else ERR_HTTP
 */
enum error_code http_status_error_code(long status);
/* the outcome of a finished request: transport errors keep their code (timeout: ERR_TIMEOUT) */
enum error_code http_request_error_code(const struct http_request *req);
/* short description of a failed exchange: "connection refused", "timed out after 10s" */
const char *transport_outcome_name(enum transport_outcome t);

#endif
