/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "wfcmd.h"

#define ANNOTATION_LIMIT 10

static bool github;
static bool debug_on;
static bool in_group;
static char **secrets;
static int n_errors, n_warnings;

void
log_init(bool github_mode, bool debug)
{
	github = github_mode;
	debug_on = debug;
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
}

bool
log_debug_enabled(void)
{
	return debug_on;
}

bool
log_github_mode(void)
{
	return github;
}

/*
 * The forms in which a server may echo a secret back: JSON string escaping (with and without
 * "\/", as json-c writes it) and percent-encoding. The runner masks such variants in the log
 * itself; the report, summary, outputs, issue and Slack message are ours to scrub.
 */
static void
mask_variants(const char *secret)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf json = BUF_INIT, json_slash = BUF_INIT, url = BUF_INIT;
	struct buf *const all[] = { &json, &json_slash, &url };
	const unsigned char *p;
	size_t i;

	for (p = (const unsigned char *)secret; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			buf_putc(&json, '\\');
			buf_putc(&json, (char)*p);
			buf_putc(&json_slash, '\\');
			buf_putc(&json_slash, (char)*p);
		} else if (*p < 0x20) {
			/* pairs of a control character and the letter of its short escape */
			const char *esc = strchr("\bb\ff\nn\rr\tt", (int)*p);
			if (esc != NULL) {
				buf_printf(&json, "\\%c", esc[1]);
				buf_printf(&json_slash, "\\%c", esc[1]);
			} else {
				buf_printf(&json, "\\u%04x", *p);
				buf_printf(&json_slash, "\\u%04x", *p);
			}
		} else if (*p == '/') {
			buf_putc(&json, '/');
			buf_puts(&json_slash, "\\/");
		} else {
			buf_putc(&json, (char)*p);
			buf_putc(&json_slash, (char)*p);
		}
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			buf_putc(&url, (char)*p);
		} else {
			buf_putc(&url, '%');
			buf_putc(&url, hex[*p >> 4]);
			buf_putc(&url, hex[*p & 15]);
		}
	}
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(buf_str(all[i]), secret) != 0 && !strv_contains(secrets, buf_str(all[i]))) {
			strv_push(&secrets, buf_steal(all[i]));
		}
		secret_wipe(all[i]->data, all[i]->len);
		buf_dispose(all[i]);
	}
}

void
log_mask(const char *secret)
{
	struct buf line = BUF_INIT;
	const char *p, *nl;

	if (secret == NULL || secret[0] == '\0' || strv_contains(secrets, secret)) {
		return;
	}
	strv_push(&secrets, xstrdup(secret));
	/* a multi-line secret is masked as a whole and line by line */
	for (p = secret; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		char *part = xstrndup(p, (size_t)(nl - p));
		if (part[0] != '\0' && strlen(part) >= 4) {
			if (!strv_contains(secrets, part)) {
				strv_push(&secrets, part);
				part = NULL;
			}
		}
		free(part);
	}
	if (p != secret && p[0] != '\0' && strlen(p) >= 4 && !strv_contains(secrets, p)) {
		strv_push(&secrets, xstrdup(p));
	}
	mask_variants(secret);
	if (github) {
		wfcmd_format(&line, "add-mask", NULL, secret);
		(void)fputs(buf_str(&line), stdout);
		(void)fflush(stdout);
	}
	secret_wipe(line.data, line.len);
	buf_dispose(&line);
}

char *
log_scrub(const char *s)
{
	struct buf out = BUF_INIT;
	size_t i;

	if (s == NULL) {
		return NULL;
	}
	if (!log_has_secret(s)) {
		return xstrdup(s);
	}
	while (*s != '\0') {
		size_t best = 0;
		for (i = 0; secrets != NULL && secrets[i] != NULL; i++) {
			size_t n = strlen(secrets[i]);
			if (n > best && strncmp(s, secrets[i], n) == 0) {
				best = n;
			}
		}
		if (best > 0) {
			buf_puts(&out, "***");
			s += best;
		} else {
			buf_putc(&out, *s++);
		}
	}
	return buf_steal(&out);
}

bool
log_has_secret(const char *s)
{
	size_t i;
	for (i = 0; s != NULL && secrets != NULL && secrets[i] != NULL; i++) {
		if (strstr(s, secrets[i]) != NULL) {
			return true;
		}
	}
	return false;
}

void
log_secrets_dispose(void)
{
	size_t i;
	for (i = 0; secrets != NULL && secrets[i] != NULL; i++) {
		secret_wipe(secrets[i], strlen(secrets[i]));
	}
	strv_free(secrets);
	secrets = NULL;
}

/* formats, scrubs and neutralises control characters: no outside text can start a command line */
static char *format_line(const char *fmt, va_list ap) ATTR_PRINTF(1, 0);
static void emit(const char *prefix, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);

static char *
format_line(const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	char *raw, *clean;
	va_list ap2;
	int n;
	size_t i;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	raw = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	raw[0] = '\0';
	if (n > 0) {
		(void)vsnprintf(raw, (size_t)n + 1, fmt, ap);
	}
	clean = log_scrub(raw);
	free(raw);
	for (i = 0; clean[i] != '\0'; i++) {
		unsigned char c = (unsigned char)clean[i];
		if (c == '\n') {
			buf_puts(&b, "\\n");
		} else if (c == '\r') {
			buf_puts(&b, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			buf_putc(&b, ' ');
		} else {
			buf_putc(&b, (char)c);
		}
	}
	free(clean);
	return buf_steal(&b);
}

static void
emit(const char *prefix, const char *fmt, va_list ap)
{
	char *line = format_line(fmt, ap);
	/* "::" at the start would be parsed as a command: never let a message begin with it */
	(void)printf("%s%s%s\n", prefix, (prefix[0] == '\0' && line[0] == ':') ? " " : "", line);
	free(line);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;
	if (!debug_on) {
		return;
	}
	va_start(ap, fmt);
	emit(github ? "::debug::" : "debug: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (github && n_warnings < ANNOTATION_LIMIT) {
		n_warnings++;
		emit("::warning::", fmt, ap);
	} else {
		emit("warning: ", fmt, ap);
	}
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (github && n_errors < ANNOTATION_LIMIT) {
		n_errors++;
		emit("::error::", fmt, ap);
	} else {
		emit("error: ", fmt, ap);
	}
	va_end(ap);
}

void
log_annotate(bool error, const char *title, const char *fmt, ...)
{
	int *count = error ? &n_errors : &n_warnings;
	char *msg, *clean_title;
	va_list ap;

	va_start(ap, fmt);
	msg = format_line(fmt, ap);
	va_end(ap);
	clean_title = log_scrub(title);
	if (github && *count < ANNOTATION_LIMIT) {
		struct buf b = BUF_INIT;
		const char *props[] = { "title", clean_title, NULL };
		(*count)++;
		wfcmd_format(&b, error ? "error" : "warning", props, msg);
		(void)fputs(buf_str(&b), stdout);
		buf_dispose(&b);
	} else {
		(void)printf("%s: %s: %s\n", error ? "error" : "warning", clean_title, msg);
	}
	free(clean_title);
	free(msg);
}

void
log_group_begin(const char *title)
{
	if (in_group) {
		log_group_end();
	}
	in_group = true;
	if (github) {
		(void)printf("::group::%s\n", title);
	} else {
		(void)printf("== %s ==\n", title);
	}
}

void
log_group_end(void)
{
	if (!in_group) {
		return;
	}
	in_group = false;
	if (github) {
		(void)printf("::endgroup::\n");
	}
}
