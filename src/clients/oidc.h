/* SPDX-License-Identifier: MIT */
#ifndef SRC_CLIENTS_OIDC_H
#define SRC_CLIENTS_OIDC_H

#include <stdint.h>

#include "error.h"
#include "http.h"
#include "retry.h"

/*
 * GitHub Actions OIDC: asks the runner's token service for an ID token (a JWT) for audience.
 * The runner hands a job with `permissions: id-token: write` ACTIONS_ID_TOKEN_REQUEST_URL and
 * ACTIONS_ID_TOKEN_REQUEST_TOKEN; the request is `GET <url>&audience=<audience>` with the request
 * token as bearer, the answer {"value": "<jwt>"} (@actions/core oidc-utils.ts). The ID token is
 * masked before this returns. *out is a secret the caller frees with secret_free(). Returns 0,
 * ERR_AUTH/ERR_HTTP/... for a refusal, a transport error code, or ERR_PARSE for an answer
 * without a usable token.
 */
int oidc_token_request(char **out, struct http *http, const char *request_url, const char *request_token,
		       const char *audience, const struct retry_policy *retry, int64_t timeout_ms, struct error *err);

/* the ID token from the token service's answer, checked to be one header-safe token; 0 or ERR_PARSE */
int oidc_token_parse(char **out, const char *body, size_t len, struct error *err);

#endif
