/* SPDX-License-Identifier: MIT */
#ifndef SRC_CLIENTS_PAGERDUTY_H
#define SRC_CLIENTS_PAGERDUTY_H

#include <stddef.h>

#include "error.h"
#include "http.h"
#include "retry.h"

struct json_object;

/*
 * PagerDuty Events API v2: one POST of {routing_key, event_action, dedup_key, payload, links} to
 * the enqueue endpoint, answered 202 {"status":"success","dedup_key":…}. The routing key is the
 * credential: masked by config, never in a message. Events are keyed by dedup_key, so sending
 * one twice is harmless: 429 and 5xx are retried with backoff, within the retry policy.
 */

#define PAGERDUTY_SUMMARY_MAX 1024 /* PagerDuty truncates payload.summary at 1024 characters */

struct pagerduty_link {
	const char *href;
	const char *text;
};

struct pagerduty_event {
	const char *action;         /* "trigger" or "resolve" */
	const char *dedup_key;
	/* trigger only */
	const char *summary;
	const char *source;
	const char *severity;       /* critical, error, warning, info */
	const char *timestamp;      /* RFC 3339, may be NULL */
	const char *component;
	const char *group;
	const char *class_name;
	struct json_object *custom_details; /* borrowed, may be NULL */
	struct pagerduty_link links[4];     /* href NULL: unused */
	const char *client;
	const char *client_url;
};

/* the request body, every string scrubbed of secrets but the routing key; caller frees */
char *pagerduty_payload_new(const struct pagerduty_event *ev, const char *routing_key);

/*
 * PagerDuty's words for a refused event: "message: errors[0]; errors[1]" from a JSON reply, else
 * the first line of the body; one printable line, bounded. Exposed for tests and fuzzing; caller frees
 */
char *pagerduty_reply_message(const char *body, size_t len);

/* sends payload; 0 on 202, else ERR_HTTP (400: PagerDuty's errors quoted), ERR_AUTH, transport codes */
int pagerduty_send(struct http *http, const char *url, const char *payload, const struct retry_policy *retry,
		   struct error *err);

#endif
