/* SPDX-License-Identifier: MIT */
#include "clients/oidc.h"

#include <stdlib.h>
#include <string.h>

#include "jsonh.h"
#include "log.h"
#include "util.h"

#define OIDC_MAX_REPLY (64 * 1024)
#define OIDC_MAX_TOKEN (16 * 1024)

static const char *const oidc_headers[] = { "Accept: application/json", NULL };

int
oidc_token_parse(char **out, const char *body, size_t len, struct error *err)
{
	struct json_object *doc = NULL;
	const char *value;
	size_t i, n;
	int rc;

	*out = NULL;
	rc = jsonh_parse(&doc, body, len, err);
	if (rc < 0) {
		error_prefix(err, "the token service's answer: ");
		return ERR_PARSE;
	}
	value = jsonh_get_string_or(doc, "value", NULL);
	if (value == NULL || value[0] == '\0') {
		json_object_put(doc);
		return error_set(err, ERR_PARSE, "the token service's answer has no \"value\"");
	}
	n = strlen(value);
	/* it becomes an Authorization header: one token of printable ASCII, nothing else */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c <= 0x20 || c >= 0x7f) {
			break;
		}
	}
	if (i < n || n > OIDC_MAX_TOKEN) {
		/* whatever it is, it may be the credential: masked before the error is printed */
		log_mask(value);
		json_object_put(doc);
		return error_set(err, ERR_PARSE, "the token service's \"value\" is not a token (%zu bytes)", n);
	}
	*out = xstrdup(value);
	json_object_put(doc);
	return 0;
}

int
oidc_token_request(char **out, struct http *http, const char *request_url, const char *request_token,
		   const char *audience, const struct retry_policy *retry, int64_t timeout_ms, struct error *err)
{
	struct http_request req;
	char *param = NULL, *url = NULL, *escaped = http_escape(audience);
	int rc;

	*out = NULL;
	memset(&req, 0, sizeof(req));
	param = xasprintf("audience=%s", escaped);
	url = http_url_append_query(request_url, param);
	if (url == NULL) {
		rc = error_set(err, ERR_CONFIG, "ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL");
		goto out;
	}
	req.url = url;
	req.bearer = request_token;
	req.headers = oidc_headers;
	req.timeout_ms = timeout_ms;
	req.max_body = OIDC_MAX_REPLY;
	req.idempotent = true;
	req.max_retries = -1;
	rc = http_perform(http, &req, retry, err);
	if (rc < 0) {
		error_prefix(err, "GitHub OIDC token request: ");
		goto out;
	}
	if (req.resp.status != 200) {
		enum error_code code = http_status_error_code(req.resp.status);
		rc = error_set(err, code == ERR_OK ? ERR_HTTP : code,
			       "GitHub OIDC token request: HTTP %ld from the token service%s", req.resp.status,
			       code == ERR_AUTH ? " (the request token was refused)" : "");
		err->http_status = req.resp.status;
		goto out;
	}
	rc = oidc_token_parse(out, req.resp.body.data != NULL ? req.resp.body.data : "", req.resp.body.len, err);
	if (rc < 0) {
		error_prefix(err, "GitHub OIDC token request: ");
		goto out;
	}
	/* masked before anything else is printed: the ID token is the cluster credential now */
	log_mask(*out);
out:
	if (req.resp.body.data != NULL) {
		secret_wipe(req.resp.body.data, req.resp.body.len);
	}
	http_request_dispose(&req);
	free(url);
	free(param);
	free(escaped);
	return rc;
}
