/* SPDX-License-Identifier: MIT */
#include "clients/pagerduty.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonh.h"
#include "log.h"
#include "outside.h"
#include "util.h"

#define PAGERDUTY_TIMEOUT_MS 10000
#define PAGERDUTY_MAX_REPLY (64 * 1024)
#define PAGERDUTY_MAX_WAIT_MS 60000 /* all attempts and waits together */

static void
add_scrubbed(struct json_object *o, const char *key, const char *value)
{
	char *clean;

	if (value == NULL) {
		return;
	}
	clean = log_scrub(value);
	jsonh_add_string(o, key, clean);
	free(clean);
}

char *
pagerduty_payload_new(const struct pagerduty_event *ev, const char *routing_key)
{
	struct json_object *root = json_object_new_object();
	size_t i;
	char *out;

	jsonh_add_string(root, "routing_key", routing_key);
	jsonh_add_string(root, "event_action", ev->action);
	add_scrubbed(root, "dedup_key", ev->dedup_key);
	if (strcmp(ev->action, "trigger") == 0) {
		struct json_object *payload = json_object_new_object();
		struct json_object *links = json_object_new_array();
		char *summary = log_scrub(ev->summary != NULL ? ev->summary : "atom-safety gate failed");

		if (strlen(summary) > PAGERDUTY_SUMMARY_MAX) {
			summary[utf8_floor(summary, PAGERDUTY_SUMMARY_MAX)] = '\0';
		}
		jsonh_add_string(payload, "summary", summary);
		free(summary);
		add_scrubbed(payload, "source", ev->source != NULL ? ev->source : "atom-safety");
		jsonh_add_string(payload, "severity", ev->severity != NULL ? ev->severity : "error");
		add_scrubbed(payload, "timestamp", ev->timestamp);
		add_scrubbed(payload, "component", ev->component);
		add_scrubbed(payload, "group", ev->group);
		add_scrubbed(payload, "class", ev->class_name);
		if (ev->custom_details != NULL) {
			/* a copy through text, scrubbed: outside text in check details may echo a secret */
			struct json_object *copy = NULL;
			char *text = log_scrub(jsonh_to_string(ev->custom_details, false));
			if (jsonh_parse(&copy, text, strlen(text), NULL) == 0) {
				jsonh_add(payload, "custom_details", copy);
			}
			free(text);
		}
		jsonh_add(root, "payload", payload);
		for (i = 0; i < sizeof(ev->links) / sizeof(ev->links[0]); i++) {
			struct json_object *l;
			if (ev->links[i].href == NULL) {
				continue;
			}
			l = json_object_new_object();
			add_scrubbed(l, "href", ev->links[i].href);
			add_scrubbed(l, "text", ev->links[i].text);
			jsonh_append(links, l);
		}
		jsonh_add(root, "links", links);
		add_scrubbed(root, "client", ev->client);
		add_scrubbed(root, "client_url", ev->client_url);
	}
	out = xstrdup(jsonh_to_string(root, false));
	json_object_put(root);
	return out;
}


char *
pagerduty_reply_message(const char *body, size_t len)
{
	struct json_object *doc = NULL, *errors;
	struct buf b = BUF_INIT;
	char *out;

	if (len > 0 && jsonh_parse(&doc, body, len, NULL) == 0) {
		const char *msg = jsonh_get_string_or(doc, "message", NULL);
		if (msg != NULL) {
			outside_append(&b, msg, strlen(msg), 200);
		}
		errors = jsonh_member(doc, "errors");
		if (errors != NULL && json_object_is_type(errors, json_type_array)) {
			size_t i, n = json_object_array_length(errors);
			for (i = 0; i < n && i < 5; i++) {
				struct json_object *e = json_object_array_get_idx(errors, i);
				if (e == NULL || !json_object_is_type(e, json_type_string)) {
					continue;
				}
				buf_puts(&b, b.len > 0 ? (i == 0 ? ": " : "; ") : "");
				outside_append(&b, json_object_get_string(e), (size_t)json_object_get_string_len(e), 200);
			}
		}
	}
	json_object_put(doc);
	if (b.len == 0 && len > 0) {
		/* not PagerDuty's JSON (a proxy's page): its first line */
		size_t first = 0;
		while (first < len && body[first] != '\n' && body[first] != '\r') {
			first++;
		}
		outside_append(&b, body, first, 200);
	}
	if (b.len == 0) {
		buf_puts(&b, "(empty reply)");
	}
	out = buf_steal(&b);
	return out;
}

static bool
retryable(const struct http_request *req)
{
	if (req->transport != TRANSPORT_OK) {
		/* the dedup_key makes a repeated event harmless, so even a timeout may be retried */
		return req->transport == TRANSPORT_DNS || req->transport == TRANSPORT_CONNECT ||
		       req->transport == TRANSPORT_TIMEOUT || req->transport == TRANSPORT_RESET;
	}
	return req->resp.status == 429 || (req->resp.status >= 500 && req->resp.status <= 599);
}

static int
final_error(const struct http_request *req, int attempts, struct error *err)
{
	char *msg;
	int rc;

	if (req->transport != TRANSPORT_OK) {
		return error_set(err, req->err.code != ERR_OK ? req->err.code : ERR_NETWORK, "PagerDuty: %s (%d attempt%s)",
				 req->err.msg, attempts, attempts == 1 ? "" : "s");
	}
	msg = pagerduty_reply_message(req->resp.body.data != NULL ? req->resp.body.data : "", req->resp.body.len);
	switch (req->resp.status) {
	case 400:
		rc = error_set(err, ERR_HTTP, "PagerDuty refused the event (HTTP 400): %s", msg);
		break;
	case 401:
	case 403:
		rc = error_set(err, ERR_AUTH, "PagerDuty refused the event (HTTP %ld: %s); check pagerduty-routing-key",
			       req->resp.status, msg);
		break;
	case 429:
		rc = error_set(err, ERR_HTTP, "PagerDuty rate limit (HTTP 429) after %d attempt%s: %s", attempts,
			       attempts == 1 ? "" : "s", msg);
		break;
	default:
		rc = error_set(err, ERR_HTTP, "PagerDuty answered HTTP %ld after %d attempt%s: %s", req->resp.status,
			       attempts, attempts == 1 ? "" : "s", msg);
		break;
	}
	err->http_status = req->resp.status;
	free(msg);
	return rc;
}

int
pagerduty_send(struct http *http, const char *url, const char *payload, const struct retry_policy *retry,
	       struct error *err)
{
	static const char *const headers[] = { "Accept: application/json", NULL };
	struct http_request req;
	int64_t deadline = clock_ms() + PAGERDUTY_MAX_WAIT_MS;
	int64_t delay = retry->base_delay_ms > 0 ? retry->base_delay_ms : 200;
	int attempts = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	for (;;) {
		struct http_batch_opts opts;
		int64_t left = deadline - clock_ms(), wait;

		memset(&opts, 0, sizeof(opts));
		opts.max_parallel = 1;
		opts.retry = *retry;
		opts.retry.max_retries = 0; /* retried here, where 500 counts as transient too */
		opts.deadline_ms = deadline;
		http_request_dispose(&req);
		req.method = "POST";
		req.url = url;
		req.body = payload;
		req.body_len = strlen(payload);
		req.content_type = "application/json";
		req.headers = headers;
		req.timeout_ms = left < PAGERDUTY_TIMEOUT_MS ? left : PAGERDUTY_TIMEOUT_MS;
		req.max_body = PAGERDUTY_MAX_REPLY;
		req.idempotent = true;
		req.max_retries = 0;
		attempts++;
		rc = http_batch_run_one(http, &req, &opts, err);
		if (rc < 0) {
			goto out;
		}
		if (req.state != HTTP_DONE) {
			rc = error_set(err, ERR_TIMEOUT, "PagerDuty: no answer within %d s", PAGERDUTY_MAX_WAIT_MS / 1000);
			goto out;
		}
		if (req.transport == TRANSPORT_OK && req.resp.status >= 200 && req.resp.status <= 299) {
			rc = 0;
			goto out;
		}
		if (!retryable(&req) || attempts > retry->max_retries) {
			rc = final_error(&req, attempts, err);
			goto out;
		}
		wait = delay / 2 + (int64_t)(random_u32() % (uint32_t)(delay / 2 + 1));
		if (req.transport == TRANSPORT_OK && req.resp.retry_after_ms >= 0) {
			if (req.resp.retry_after_ms > retry->max_retry_after_ms) {
				rc = final_error(&req, attempts, err);
				goto out;
			}
			wait = req.resp.retry_after_ms > wait ? req.resp.retry_after_ms : wait;
		}
		if (clock_ms() + wait >= deadline) {
			rc = final_error(&req, attempts, err);
			goto out;
		}
		log_info("  PagerDuty: %s%ld, retrying in %lld ms", req.transport == TRANSPORT_OK ? "HTTP " : "transport ",
			 req.transport == TRANSPORT_OK ? req.resp.status : (long)req.transport, (long long)wait);
		if (cancel_sleep_ms(wait) < 0) {
			rc = error_set(err, ERR_CANCELLED, "cancelled by signal %d", cancel_signal());
			goto out;
		}
		delay = delay * 2 > retry->max_delay_ms ? retry->max_delay_ms : delay * 2;
	}
out:
	http_request_dispose(&req);
	return rc;
}
