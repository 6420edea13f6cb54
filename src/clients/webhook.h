/* SPDX-License-Identifier: MIT */
#ifndef SRC_CLIENTS_WEBHOOK_H
#define SRC_CLIENTS_WEBHOOK_H

#include <stddef.h>

#include "digest.h"
#include "error.h"
#include "http.h"
#include "retry.h"

/*
 * A signed webhook: POST of a JSON document with
 *   Content-Type: application/json
 *   X-Atom-Safety-Event: failed | rolled-back | rollback-failed | recovered | passed
 *   X-Atom-Safety-Delivery: <32 hex>, random per delivery (a receiver may drop repeats)
 *   X-Atom-Safety-Signature-256: sha256=<hex HMAC-SHA256 of the exact body>, when a secret is set
 * the scheme GitHub signs its own deliveries with (X-Hub-Signature-256). The URL is a credential:
 * masked, never in a message. Non-idempotent: retried only when it cannot have arrived, or on
 * 429/503 with Retry-After.
 */

#define WEBHOOK_SIGNATURE_LEN (7 + DIGEST_SHA256_HEX) /* "sha256=" + hex */

/* "sha256=<hex>" for body under secret */
void webhook_signature(char out[WEBHOOK_SIGNATURE_LEN + 1], const char *secret, const char *body, size_t len);

/* any 2xx is delivered; returns 0, or ERR_HTTP/ERR_AUTH/ERR_NOT_FOUND quoting the reply's start */
int webhook_post(struct http *http, const char *url, const char *body, size_t len, const char *event,
		 const char *secret, const struct retry_policy *retry, struct error *err);

#endif
