/* SPDX-License-Identifier: MIT */
#ifndef SRC_CLIENTS_SLACK_H
#define SRC_CLIENTS_SLACK_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "retry.h"

/*
 * Slack incoming webhook: a message is a notification fallback `text` plus Block Kit blocks, built
 * with json-c so that quotes, newlines and Unicode in a commit subject cannot break the payload.
 * The webhook URL is the credential: it is never logged (the path is masked too).
 */

/* Block Kit limits (Slack's block reference) */
#define SLACK_MAX_BLOCKS 50
#define SLACK_MAX_SECTION_TEXT 3000
#define SLACK_MAX_FIELDS 10
#define SLACK_MAX_FIELD_TEXT 2000
#define SLACK_MAX_HEADER_TEXT 150
#define SLACK_MAX_SECTIONS 8

/* texts are mrkdwn the caller composed with slack_escape()/slack_link(), except header (plain) */
struct slack_message {
	char *text;                          /* notification fallback, mrkdwn */
	char *header;                        /* plain text */
	char *sections[SLACK_MAX_SECTIONS];  /* section texts, mrkdwn */
	size_t n_sections;
	char *fields[SLACK_MAX_FIELDS];      /* "*Title*\nvalue", mrkdwn */
	size_t n_fields;
	char *context;                       /* a small grey line at the end, mrkdwn; may be NULL */
};

void slack_message_dispose(struct slack_message *m);
/* takes ownership of text; extra fields or sections past the limits are dropped (and freed) */
void slack_message_add_field(struct slack_message *m, char *text);
void slack_message_add_section(struct slack_message *m, char *text);

/* appends outside text to mrkdwn: only &, < and > are special ("<!channel>" cannot ping) */
void slack_escape(struct buf *out, const char *s);
/* appends <url|label>, the label escaped */
void slack_link(struct buf *out, const char *url, const char *label);
/* appends `s` with backticks replaced so the code span cannot be closed early */
void slack_code(struct buf *out, const char *s);
/*
 * Cuts mrkdwn in place to at most max bytes (so at most max characters) at a character boundary,
 * never inside an entity (&amp;) or a link (<…>), and marks the cut with an ellipsis.
 */
void slack_cut(char *s, size_t max);

/* the JSON payload, every limit enforced and every string scrubbed of secrets; caller frees */
char *slack_payload_new(const struct slack_message *m);

/*
 * POSTs payload to the webhook. Success is HTTP 200 with the body "ok". 429 is retried after
 * Retry-After when the policy's bound allows (non-idempotent: nothing else is retried unless the
 * request cannot have left). Returns 0, or ERR_HTTP/ERR_AUTH/ERR_NOT_FOUND with Slack's error
 * string quoted, or a transport error.
 */
int slack_post(struct http *http, const char *webhook_url, const char *payload, const struct retry_policy *retry,
	       struct error *err);

#endif
