/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "outside.h"
#include "util.h"
#include "wfcmd.h"

#define ANNOTATION_LIMIT 10
/* the shortest start of a secret that outside text may not end with (log_scrub_cut) */
#define SECRET_PREFIX_MIN 6

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
 * "\/", as json-c writes it), percent-encoding with upper- and lower-case hex digits, and form
 * encoding ('+' for a space). The runner masks only what it is told; the report, summary,
 * outputs, issue and Slack message are ours to scrub.
 */
static void
mask_variants(const char *secret)
{
	static const char upper[] = "0123456789ABCDEF", lower[] = "0123456789abcdef";
	struct buf json = BUF_INIT, json_slash = BUF_INIT, url = BUF_INIT, url_lower = BUF_INIT;
	struct buf form = BUF_INIT, form_lower = BUF_INIT;
	struct buf *const all[] = { &json, &json_slash, &url, &url_lower, &form, &form_lower };
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
			for (i = 2; i < sizeof(all) / sizeof(all[0]); i++) {
				buf_putc(all[i], (char)*p);
			}
			continue;
		}
		for (i = 2; i < sizeof(all) / sizeof(all[0]); i++) {
			const char *hex = (i % 2 == 0) ? upper : lower;
			if (*p == ' ' && (all[i] == &form || all[i] == &form_lower)) {
				buf_putc(all[i], '+');
			} else {
				buf_putc(all[i], '%');
				buf_putc(all[i], hex[*p >> 4]);
				buf_putc(all[i], hex[*p & 15]);
			}
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

/* the length of the longest secret that starts at s, 0 when none does */
static size_t
secret_at(const char *s)
{
	size_t i, best = 0;

	for (i = 0; secrets != NULL && secrets[i] != NULL; i++) {
		if (secrets[i][0] == s[0]) {
			size_t n = strlen(secrets[i]);
			if (n > best && strncmp(s, secrets[i], n) == 0) {
				best = n;
			}
		}
	}
	return best;
}

/* the length of the longest tail of s (6 bytes or more) that is the start of a secret */
static size_t
secret_start_at_end(const char *s, size_t len)
{
	size_t i, best = 0;

	for (i = 0; secrets != NULL && secrets[i] != NULL; i++) {
		size_t n = strlen(secrets[i]), k;
		for (k = n - 1 < len ? n - 1 : len; k >= SECRET_PREFIX_MIN && k > best; k--) {
			if (memcmp(s + len - k, secrets[i], k) == 0) {
				best = k;
				break;
			}
		}
	}
	return best;
}

static char *
scrub(const char *s, bool cut_tail)
{
	struct buf out = BUF_INIT;
	size_t tail = 0, len;

	if (s == NULL) {
		return NULL;
	}
	len = strlen(s);
	if (cut_tail) {
		tail = secret_start_at_end(s, len);
	}
	if (tail == 0 && !log_has_secret(s)) {
		return xstrdup(s);
	}
	len -= tail;
	while (len > 0) {
		size_t n = secret_at(s);
		if (n > len) {
			n = 0; /* reaches into the tail, which goes as a whole */
		}
		if (n > 0) {
			buf_puts(&out, "***");
			s += n;
			len -= n;
		} else {
			buf_putc(&out, *s++);
			len--;
		}
	}
	if (tail > 0) {
		buf_puts(&out, "***");
	}
	return buf_steal(&out);
}

void
log_mask_basic(const char *user, const char *password)
{
	char *pair, *encoded;

	if (user == NULL) {
		return;
	}
	/* RFC 7617: base64(user ":" password), as libcurl sends it; the pair itself is masked too */
	pair = xasprintf("%s:%s", user, password != NULL ? password : "");
	encoded = base64_encode(pair, strlen(pair));
	log_mask(pair);
	log_mask(encoded);
	secret_free(pair);
	secret_free(encoded);
}

char *
log_scrub(const char *s)
{
	return scrub(s, false);
}

char *
log_scrub_cut(const char *s)
{
	return scrub(s, true);
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

/*
 * Formats a line and passes it through the outside-text steps (outside.h): scrubbed, valid
 * UTF-8, no control character, no "::" and no "##[" anywhere, so nothing a line quotes can
 * start, stop or resume a workflow command in either syntax
 */
static char *format_line(const char *fmt, va_list ap) ATTR_PRINTF(1, 0);
static void emit(const char *prefix, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);

static char *
format_line(const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	char *raw = xvasprintf(fmt, ap);

	outside_append_log(&b, raw, strlen(raw));
	free(raw);
	return buf_steal(&b);
}

static void
emit(const char *prefix, const char *fmt, va_list ap)
{
	char *line = format_line(fmt, ap);
	(void)printf("%s%s\n", prefix, line);
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

static char *
clean(const char *s)
{
	struct buf b = BUF_INIT;

	outside_append_log(&b, s, strlen(s));
	return buf_steal(&b);
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
	clean_title = clean(title);
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
