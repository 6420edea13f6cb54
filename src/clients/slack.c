/* SPDX-License-Identifier: MIT */
#include "clients/slack.h"

#include <stdlib.h>
#include <string.h>

#include "jsonh.h"
#include "log.h"
#include "outside.h"
#include "util.h"

#define SLACK_TIMEOUT_MS 15000
#define SLACK_MAX_REPLY (64 * 1024)
#define SLACK_MAX_FALLBACK 3000
#define SLACK_REPLY_MAX 200 /* of the reply quoted in an error */
#define ELLIPSIS "\xe2\x80\xa6"

void
slack_message_dispose(struct slack_message *m)
{
	size_t i;

	free(m->text);
	free(m->header);
	for (i = 0; i < m->n_sections; i++) {
		free(m->sections[i]);
	}
	for (i = 0; i < m->n_fields; i++) {
		free(m->fields[i]);
	}
	free(m->context);
	memset(m, 0, sizeof(*m));
}

void
slack_message_add_field(struct slack_message *m, char *text)
{
	if (m->n_fields >= SLACK_MAX_FIELDS) {
		free(text);
		return;
	}
	m->fields[m->n_fields++] = text;
}

void
slack_message_add_section(struct slack_message *m, char *text)
{
	if (m->n_sections >= SLACK_MAX_SECTIONS) {
		free(text);
		return;
	}
	m->sections[m->n_sections++] = text;
}

void
slack_escape(struct buf *out, const char *text)
{
	/* scrubbed before escaping: a secret holding '&', '<' or '>' would no longer match afterwards */
	char *clean = text != NULL ? log_scrub(text) : NULL;
	const char *s;

	for (s = clean; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_puts(out, "&amp;");
			break;
		case '<':
			buf_puts(out, "&lt;");
			break;
		case '>':
			buf_puts(out, "&gt;");
			break;
		default:
			buf_putc(out, (unsigned char)*s < 0x20 && *s != '\n' ? ' ' : *s);
			break;
		}
	}
	free(clean);
}

void
slack_link(struct buf *out, const char *url, const char *label)
{
	char *clean = xstrdup(label);
	const char *p;
	char *c;

	buf_putc(out, '<');
	/* our URLs never hold these; if one did, it must not end the link or start the label */
	for (p = url; *p != '\0'; p++) {
		if (*p == '|' || *p == '<' || *p == '>' || *p == ' ' || (unsigned char)*p < 0x20) {
			buf_printf(out, "%%%02X", (unsigned char)*p);
		} else {
			buf_putc(out, *p);
		}
	}
	buf_putc(out, '|');
	/* a '|' in the label would be taken for the separator */
	for (c = clean; *c != '\0'; c++) {
		if (*c == '|') {
			*c = '/';
		}
	}
	slack_escape(out, clean);
	buf_putc(out, '>');
	free(clean);
}

void
slack_code(struct buf *out, const char *s)
{
	struct buf tmp = BUF_INIT;
	char *p;

	buf_puts(&tmp, s != NULL ? s : "");
	for (p = tmp.data; p != NULL && *p != '\0'; p++) {
		if (*p == '`') {
			*p = '\'';
		} else if (*p == '\n' || (unsigned char)*p < 0x20) {
			*p = ' ';
		}
	}
	buf_putc(out, '`');
	slack_escape(out, buf_str(&tmp));
	buf_putc(out, '`');
	buf_dispose(&tmp);
}

static void
cut_plain(char *s, size_t max)
{
	size_t len = strlen(s), cut;

	if (len <= max) {
		return;
	}
	cut = utf8_floor(s, max - strlen(ELLIPSIS));
	memcpy(s + cut, ELLIPSIS, strlen(ELLIPSIS) + 1);
}

void
slack_cut(char *s, size_t max)
{
	size_t len = strlen(s), cut, i;

	if (len <= max) {
		return;
	}
	cut = utf8_floor(s, max - strlen(ELLIPSIS));
	/* never leave half an entity ("&am") or half a link ("<https://…") */
	for (i = cut; i > 0 && cut - i < 8; i--) {
		if (s[i - 1] == ';') {
			break;
		}
		if (s[i - 1] == '&') {
			cut = i - 1;
			break;
		}
	}
	for (i = cut; i > 0; i--) {
		if (s[i - 1] == '>') {
			break;
		}
		if (s[i - 1] == '<') {
			cut = i - 1;
			break;
		}
	}
	memcpy(s + cut, ELLIPSIS, strlen(ELLIPSIS) + 1);
}

static bool
blank(const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s != ' ' && *s != '\n' && *s != '\t') {
			return false;
		}
	}
	return true;
}

/* a text object, scrubbed and cut to its limit; NULL when there is nothing to say */
static struct json_object *
text_object(const char *type, const char *text, size_t max)
{
	struct json_object *o;
	char *clean;

	if (blank(text)) {
		return NULL;
	}
	clean = log_scrub(text);
	if (strcmp(type, "plain_text") == 0) {
		cut_plain(clean, max);
	} else {
		slack_cut(clean, max);
	}
	o = json_object_new_object();
	jsonh_add_string(o, "type", type);
	jsonh_add_string(o, "text", clean);
	if (strcmp(type, "plain_text") == 0) {
		jsonh_add_bool(o, "emoji", true);
	}
	free(clean);
	return o;
}

static void
add_section(struct json_object *blocks, const char *text)
{
	struct json_object *t = text_object("mrkdwn", text, SLACK_MAX_SECTION_TEXT);
	struct json_object *b;

	if (t == NULL || json_object_array_length(blocks) >= SLACK_MAX_BLOCKS) {
		json_object_put(t);
		return;
	}
	b = json_object_new_object();
	jsonh_add_string(b, "type", "section");
	jsonh_add(b, "text", t);
	jsonh_append(blocks, b);
}

char *
slack_payload_new(const struct slack_message *m)
{
	struct json_object *root = json_object_new_object();
	struct json_object *blocks = json_object_new_array();
	struct json_object *t;
	char *fallback, *out;
	size_t i;

	/* with blocks, `text` is what notifications and screen readers show: always sent */
	fallback = log_scrub(!blank(m->text) ? m->text : m->header != NULL ? m->header : "atom-safety");
	slack_cut(fallback, SLACK_MAX_FALLBACK);
	jsonh_add_string(root, "text", fallback);
	free(fallback);

	t = text_object("plain_text", m->header, SLACK_MAX_HEADER_TEXT);
	if (t != NULL) {
		struct json_object *b = json_object_new_object();
		jsonh_add_string(b, "type", "header");
		jsonh_add(b, "text", t);
		jsonh_append(blocks, b);
	}
	if (m->n_sections > 0) {
		add_section(blocks, m->sections[0]);
	}
	if (m->n_fields > 0) {
		struct json_object *fields = json_object_new_array();
		for (i = 0; i < m->n_fields && i < SLACK_MAX_FIELDS; i++) {
			t = text_object("mrkdwn", m->fields[i], SLACK_MAX_FIELD_TEXT);
			if (t != NULL) {
				jsonh_append(fields, t);
			}
		}
		if (json_object_array_length(fields) > 0) {
			struct json_object *b = json_object_new_object();
			jsonh_add_string(b, "type", "section");
			jsonh_add(b, "fields", fields);
			jsonh_append(blocks, b);
		} else {
			json_object_put(fields);
		}
	}
	for (i = 1; i < m->n_sections; i++) {
		add_section(blocks, m->sections[i]);
	}
	t = text_object("mrkdwn", m->context, SLACK_MAX_SECTION_TEXT);
	if (t != NULL && json_object_array_length(blocks) < SLACK_MAX_BLOCKS) {
		struct json_object *b = json_object_new_object();
		struct json_object *els = json_object_new_array();
		jsonh_append(els, t);
		jsonh_add_string(b, "type", "context");
		jsonh_add(b, "elements", els);
		jsonh_append(blocks, b);
	} else {
		json_object_put(t);
	}
	if (json_object_array_length(blocks) > 0) {
		jsonh_add(root, "blocks", blocks);
	} else {
		json_object_put(blocks);
	}
	out = xstrdup(jsonh_to_string(root, false));
	json_object_put(root);
	return out;
}

/* Slack's error string ("invalid_blocks", "rollup_error"): its first line, as outside text */
static char *
reply_excerpt(const struct http_response *resp)
{
	const char *body = resp->body.data != NULL ? resp->body.data : "";
	size_t len = strcspn(body, "\r\n");
	char *line;

	if (len > resp->body.len) {
		len = resp->body.len;
	}
	line = outside_line(body, len, SLACK_REPLY_MAX);
	if (line[0] == '\0') {
		free(line);
		return xstrdup("(empty reply)");
	}
	return line;
}

/* the part of the URL that is the credential (/services/T…/B…/secret) */
static void
mask_webhook(const char *url)
{
	struct http_url u;
	struct error err = ERROR_INIT;

	/* the configuration parsed it already; the path as libcurl reads it is what it sends */
	if (http_url_parse(&u, url, &err) == 0 && strlen(u.path) >= 12) {
		log_mask(u.path);
		secret_wipe(u.path, strlen(u.path));
	}
	http_url_dispose(&u);
}

int
slack_post(struct http *http, const char *webhook_url, const char *payload, const struct retry_policy *retry,
	   struct error *err)
{
	struct http_request req;
	char *excerpt = NULL;
	const char *body;
	size_t len;
	int rc;

	mask_webhook(webhook_url);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = webhook_url;
	req.body = payload;
	req.body_len = strlen(payload);
	req.content_type = "application/json; charset=utf-8";
	req.timeout_ms = SLACK_TIMEOUT_MS;
	req.max_body = SLACK_MAX_REPLY;
	req.idempotent = false; /* a repeated POST is a repeated message */
	req.max_retries = -1;

	rc = http_perform(http, &req, retry, err);
	if (rc < 0) {
		error_prefix(err, "Slack webhook: ");
		goto out;
	}
	body = req.resp.body.data != NULL ? req.resp.body.data : "";
	len = req.resp.body.len;
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' ')) {
		len--;
	}
	if (req.resp.status == 200 && len == 2 && memcmp(body, "ok", 2) == 0) {
		rc = 0;
		goto out;
	}
	excerpt = reply_excerpt(&req.resp);
	if (req.resp.status == 429) {
		const char *ra = http_response_header(&req.resp, "retry-after");
		rc = error_set(err, ERR_HTTP, "Slack webhook rate-limited the message (HTTP 429, Retry-After %s, beyond the wait bound): %s",
			       ra != NULL ? ra : "absent", excerpt);
	} else if (req.resp.status == 200) {
		rc = error_set(err, ERR_HTTP, "Slack webhook answered HTTP 200 without 'ok': %s", excerpt);
	} else {
		enum error_code code = http_status_error_code(req.resp.status);
		if (code == ERR_OK) {
			code = ERR_HTTP; /* a 2xx other than "200 ok" is not Slack's answer */
		}
		rc = error_set(err, code, "Slack webhook answered HTTP %ld: %s", req.resp.status, excerpt);
	}
	err->http_status = req.resp.status;
out:
	free(excerpt);
	http_request_dispose(&req);
	return rc;
}
