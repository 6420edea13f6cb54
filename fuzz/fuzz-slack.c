/* SPDX-License-Identifier: MIT */
/*
 * The Slack message (slack_payload_new, slack_cut, slack_escape, slack_link, slack_code) built
 * from outside text such as check details and commit subjects. Input lines: a secret, the
 * fallback text, the header, then sections and fields alternately, then the context. The payload
 * must be JSON within Block Kit's limits, with no secret and no live mention or link from the text.
 * The whole input is also Slack's reply to a failed post (reply_excerpt, static in slack.c, which
 * this target therefore compiles into itself).
 */
#include "clients/slack.c"

#include "fuzz.h"
#include "jsonh.h"
#include "log.h"
#include "util.h"

#define MAX_LINES 24

/* characters, as Slack counts them: UTF-8 sequences count once */
static size_t
chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80) {
			n++;
		}
	}
	return n;
}

static const char *secret_now;

/*
 * A text the payload shows: within its limit and free of the registered secret. The search
 * leaves out the ELLIPSIS (slack.c) that a cut appends: that is the gate's own wording, and a
 * secret ending in it would otherwise be "found" after any text that merely starts like the
 * secret and was cut there ("xxxxxxxx\u2026" after a header of 200 x), although the secret was
 * never shown.
 */
static void
check_text(const char *t, size_t max)
{
	size_t len;
	char *shown;

	FUZZ_ASSERT(t != NULL && chars(t) <= max);
	/* "***" is the replacement: a secret made of stars could survive, nothing else may */
	if (secret_now[0] == '\0' || strchr(secret_now, '*') != NULL) {
		return;
	}
	len = strlen(t);
	if (len >= strlen(ELLIPSIS) && strcmp(t + len - strlen(ELLIPSIS), ELLIPSIS) == 0) {
		len -= strlen(ELLIPSIS);
	}
	shown = fuzz_strndup((const uint8_t *)t, len);
	FUZZ_ASSERT(strstr(shown, secret_now) == NULL);
	free(shown);
}

static void
check_text_object(struct json_object *o, size_t max)
{
	check_text(jsonh_get_string_or(o, "text", NULL), max);
}

static void
check_payload(const char *payload, const char *secret, int valid_utf8)
{
	struct json_object *doc = NULL, *blocks;
	struct error err = ERROR_INIT;
	size_t i, n;

	if (!valid_utf8) {
		return;
	}
	secret_now = secret;
	/* from valid UTF-8 text, cutting must never produce an invalid payload */
	FUZZ_ASSERT(jsonh_parse(&doc, payload, strlen(payload), &err) == 0);
	check_text(jsonh_get_string_or(doc, "text", NULL), 3000);
	blocks = jsonh_member(doc, "blocks");
	n = blocks != NULL ? json_object_array_length(blocks) : 0;
	FUZZ_ASSERT(n <= SLACK_MAX_BLOCKS);
	for (i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(blocks, i);
		const char *type = jsonh_get_string_or(b, "type", "");
		if (strcmp(type, "header") == 0) {
			check_text_object(jsonh_member(b, "text"), SLACK_MAX_HEADER_TEXT);
		} else if (strcmp(type, "section") == 0 && jsonh_member(b, "text") != NULL) {
			check_text_object(jsonh_member(b, "text"), SLACK_MAX_SECTION_TEXT);
		} else if (strcmp(type, "section") == 0) {
			struct json_object *fields = jsonh_member(b, "fields");
			size_t j;
			FUZZ_ASSERT(fields != NULL && json_object_array_length(fields) <= SLACK_MAX_FIELDS);
			for (j = 0; j < json_object_array_length(fields); j++) {
				check_text_object(json_object_array_get_idx(fields, j), SLACK_MAX_FIELD_TEXT);
			}
		} else if (strcmp(type, "context") == 0) {
			check_text_object(json_object_array_get_idx(jsonh_member(b, "elements"), 0),
					  SLACK_MAX_SECTION_TEXT);
		}
	}
	json_object_put(doc);
}

static char *
escaped(const char *line, int how)
{
	struct buf b = BUF_INIT;

	/* what notify.c does with outside text before it becomes mrkdwn */
	switch (how % 3) {
	case 0:
		slack_escape(&b, line);
		break;
	case 1:
		slack_code(&b, line);
		break;
	default:
		slack_link(&b, "https://github.com/acme/atom/actions/runs/1", line);
		break;
	}
	return buf_steal(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slack_message m;
	char *lines[MAX_LINES];
	size_t n = 0, i;
	const uint8_t *p = data;
	size_t left = size;
	char *payload;
	int valid = 1;
	const char *c;

	log_init(false, false);
	{
		/* Slack's error string: first line, printable, bounded */
		struct http_response resp = HTTP_RESPONSE_INIT;
		char *ex;
		buf_append(&resp.body, data, size);
		ex = reply_excerpt(&resp);
		FUZZ_ASSERT(ex[0] != '\0' && strlen(ex) <= 203);
		for (c = ex; *c != '\0'; c++) {
			FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
		}
		free(ex);
		http_response_dispose(&resp);
	}
	memset(&m, 0, sizeof(m));
	while (n < MAX_LINES && (left > 0 || n == 0)) {
		p = fuzz_split_line(&lines[n], p, left, &left);
		n++;
	}
	for (i = 0; i < n; i++) {
		valid = valid && fuzz_utf8_valid(lines[i]);
	}
	log_mask(lines[0]);
	/* escaped outside text opens no link, mention or entity of its own */
	for (i = 1; i < n; i++) {
		char *e = escaped(lines[i], (int)i);
		if (i % 3 == 1) {
			/* slack_code: no backtick inside the span */
			FUZZ_ASSERT(strlen(e) >= 2 && strchr(e + 1, '`') == e + strlen(e) - 1);
		}
		if (i % 3 != 2) {
			FUZZ_ASSERT(strpbrk(e, "<>") == NULL);
		} else {
			FUZZ_ASSERT(e[0] == '<' && strchr(e, '>') == e + strlen(e) - 1);
		}
		for (c = e; (c = strchr(c, '&')) != NULL; c++) {
			FUZZ_ASSERT(strncmp(c, "&amp;", 5) == 0 || strncmp(c, "&lt;", 4) == 0 ||
				    strncmp(c, "&gt;", 4) == 0);
		}
		if (i == 1) {
			m.text = e;
		} else if (i == 2) {
			m.header = xstrdup(lines[i]); /* plain text */
			free(e);
		} else if (i == n - 1 && n > 4) {
			m.context = e;
		} else if (i % 2 == 0) {
			slack_message_add_section(&m, e);
		} else {
			slack_message_add_field(&m, e);
		}
	}
	payload = slack_payload_new(&m);
	check_payload(payload, lines[0], valid);
	free(payload);

	/* slack_cut on its own: within the limit, entities and links whole */
	for (i = 1; i < n; i++) {
		size_t max = 8 + (size_t)(data[0] % 64);
		char *e = escaped(lines[i], 0);
		slack_cut(e, max);
		FUZZ_ASSERT(strlen(e) <= max);
		free(e);
	}

	slack_message_dispose(&m);
	log_secrets_dispose();
	for (i = 0; i < n; i++) {
		free(lines[i]);
	}
	return 0;
}
