/* SPDX-License-Identifier: MIT */
#include "clients/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "outside.h"
#include "util.h"

#define WEBHOOK_TIMEOUT_MS 10000
#define WEBHOOK_MAX_REPLY (64 * 1024)

void
webhook_signature(char out[WEBHOOK_SIGNATURE_LEN + 1], const char *secret, const char *body, size_t len)
{
	memcpy(out, "sha256=", 7);
	digest_hmac_sha256_hex(out + 7, secret, strlen(secret), body, len);
}

/* the first line of the reply, as outside text: scrubbed, printable, bounded */
static char *
reply_excerpt(const struct http_response *resp)
{
	const char *body = resp->body.data != NULL ? resp->body.data : "";
	size_t first = 0;
	char *out;

	while (first < resp->body.len && body[first] != '\n' && body[first] != '\r') {
		first++;
	}
	out = outside_line(body, first, 200);
	if (out[0] == '\0') {
		free(out);
		out = xstrdup("(empty reply)");
	}
	return out;
}

/* the parts of the URL a server or a debug line may show on their own: path and query, and the URL
 * without its query (url_for_log's form); the whole URL is masked by config */
static void
mask_url_parts(const char *url)
{
	struct http_url u;
	struct error err = ERROR_INIT;
	char *part;

	if (http_url_parse(&u, url, &err) == 0) {
		/* as for Slack's: a short, common path masked would blank out ordinary words */
		if (strlen(u.path) >= 12) {
			log_mask(u.path);
		}
		if (u.query != NULL && strlen(u.query) >= 12) {
			log_mask(u.query);
		}
	}
	http_url_dispose(&u);
	part = url_for_log(url);
	if (part != NULL && strcmp(part, url) != 0) {
		log_mask(part);
	}
	secret_free(part);
}

int
webhook_post(struct http *http, const char *url, const char *body, size_t len, const char *event,
	     const char *secret, const struct retry_policy *retry, struct error *err)
{
	char event_header[64], delivery[64], signature[32 + WEBHOOK_SIGNATURE_LEN + 1];
	char sig[WEBHOOK_SIGNATURE_LEN + 1], id[33];
	const char *headers[5];
	struct http_request req;
	char *excerpt = NULL;
	size_t n = 0;
	int rc;

	mask_url_parts(url);
	(void)snprintf(event_header, sizeof(event_header), "X-Atom-Safety-Event: %s", event);
	random_hex(id, 16);
	(void)snprintf(delivery, sizeof(delivery), "X-Atom-Safety-Delivery: %s", id);
	headers[n++] = "Accept: application/json, text/plain;q=0.9, */*;q=0.1";
	headers[n++] = event_header;
	headers[n++] = delivery;
	if (secret != NULL && secret[0] != '\0') {
		webhook_signature(sig, secret, body, len);
		(void)snprintf(signature, sizeof(signature), "X-Atom-Safety-Signature-256: %s", sig);
		headers[n++] = signature;
	}
	headers[n] = NULL;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.body = body;
	req.body_len = len;
	req.content_type = "application/json";
	req.headers = headers;
	req.timeout_ms = WEBHOOK_TIMEOUT_MS;
	req.max_body = WEBHOOK_MAX_REPLY;
	req.idempotent = false; /* a repeated POST may be acted on twice */
	req.max_retries = -1;

	rc = http_perform(http, &req, retry, err);
	if (rc < 0) {
		error_prefix(err, "webhook: ");
		goto out;
	}
	if (req.resp.status >= 200 && req.resp.status <= 299) {
		rc = 0;
		goto out;
	}
	excerpt = reply_excerpt(&req.resp);
	if (req.resp.status == 401 || req.resp.status == 403) {
		rc = error_set(err, ERR_AUTH, "webhook refused the delivery (HTTP %ld: %s)%s", req.resp.status, excerpt,
			       secret != NULL && secret[0] != '\0' ? "; check webhook-secret on both sides"
								   : "; the receiver may expect a signature (webhook-secret)");
	} else if (req.resp.status == 404 || req.resp.status == 410) {
		rc = error_set(err, ERR_NOT_FOUND, "webhook answered HTTP %ld: %s", req.resp.status, excerpt);
	} else if (req.resp.status >= 300 && req.resp.status <= 399) {
		rc = error_set(err, ERR_HTTP, "webhook answered HTTP %ld (redirects are not followed)", req.resp.status);
	} else {
		rc = error_set(err, ERR_HTTP, "webhook answered HTTP %ld: %s", req.resp.status, excerpt);
	}
	err->http_status = req.resp.status;
out:
	secret_wipe(sig, sizeof(sig));
	secret_wipe(signature, sizeof(signature));
	free(excerpt);
	http_request_dispose(&req);
	return rc;
}
