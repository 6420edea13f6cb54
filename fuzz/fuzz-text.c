/* SPDX-License-Identifier: MIT */
/*
 * The encoders every piece of outside text goes through on its way out: check details
 * (outside_line, also via check_set), Markdown (md_escape, md_code, md_url), workflow commands (wfcmd_format),
 * GITHUB_OUTPUT heredocs (wfcmd_heredoc) and secret scrubbing (log_scrub). Input: a secret on
 * the first line, then the outside text. Each encoder's promise is checked, not just "no crash".
 */
#include <stdint.h>

#include "buf.h"
#include "checks/check.h"
#include "fuzz.h"
#include "log.h"
#include "markdown.h"
#include "outside.h"
#include "util.h"
#include "wfcmd.h"

static void
no_control(const char *s)
{
	for (; *s != '\0'; s++) {
		FUZZ_ASSERT((unsigned char)*s >= 0x20 && *s != 0x7f);
	}
}

/* md_code promises one line and a closed span; it passes DEL through (invisible, harmless) */
static void
no_line_break(const char *s)
{
	for (; *s != '\0'; s++) {
		FUZZ_ASSERT((unsigned char)*s >= 0x20);
	}
}

static void
check_markdown(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p;

	md_escape(&b, text);
	no_control(buf_str(&b));
	/* nothing that opens HTML, mentions someone or ends a table cell survives unescaped */
	FUZZ_ASSERT(strpbrk(buf_str(&b), "<>") == NULL);
	/* every '@' is followed by a zero-width space, so it cannot start a mention */
	for (p = buf_str(&b); (p = strchr(p, '@')) != NULL; p++) {
		FUZZ_ASSERT(strncmp(p + 1, "\xe2\x80\x8b", 3) == 0);
	}
	/*
	 * every '|' is escaped: an odd run of backslashes before it, since an even run is escaped
	 * backslashes and leaves the '|' live (a lone check of p[-1] passes "\\|" by coincidence)
	 */
	for (p = buf_str(&b); (p = strchr(p, '|')) != NULL; p++) {
		size_t run = 0;
		while (p - run > b.data && p[-1 - (ptrdiff_t)run] == '\\') {
			run++;
		}
		FUZZ_ASSERT(run % 2 == 1);
	}
	buf_reset(&b);
	md_code(&b, text);
	FUZZ_ASSERT(b.len >= 2 && b.data[0] == '`' && b.data[b.len - 1] == '`');
	FUZZ_ASSERT(memchr(b.data + 1, '`', b.len - 2) == NULL);
	no_line_break(buf_str(&b));
	/* md_url: one "(…)" of plain URL characters, nothing that ends it, splits a cell or opens HTML */
	buf_reset(&b);
	md_url(&b, text);
	FUZZ_ASSERT(b.len >= 3 && b.data[0] == '(' && b.data[b.len - 1] == ')');
	for (p = b.data + 1; p < b.data + b.len - 1; p++) {
		FUZZ_ASSERT(((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ||
			    (*p != '\0' && strchr("-._~:/?#@!$&'*+,;=%", *p) != NULL));
	}
	FUZZ_ASSERT(strncmp(b.data, "(https://", 9) == 0 || strncmp(b.data, "(http://", 8) == 0 ||
		    strcmp(buf_str(&b), "(#)") == 0);
	buf_dispose(&b);
}

static void
check_wfcmd(const char *text)
{
	struct buf b = BUF_INIT;
	const char *props[] = { "title", text, NULL };
	char *delim, *value_start, *end;
	size_t dlen;

	/* one command, one line: outside text cannot end it or start another */
	wfcmd_format(&b, "error", props, text);
	FUZZ_ASSERT(b.len > 0 && b.data[b.len - 1] == '\n');
	FUZZ_ASSERT(memchr(b.data, '\n', b.len - 1) == NULL && strchr(b.data, '\r') == NULL);
	FUZZ_ASSERT(strncmp(b.data, "::error title=", 14) == 0);
	/* the property ends at the first "::" the runner sees, so the title must hold no ':' */
	FUZZ_ASSERT(strstr(b.data + 14, "::") != NULL);
	FUZZ_ASSERT(memchr(b.data + 14, ':', (size_t)(strstr(b.data + 14, "::") - (b.data + 14))) == NULL);
	buf_reset(&b);

	/* the heredoc value reads back exactly as the runner reads it */
	wfcmd_heredoc(&b, "detail", text, "0000");
	FUZZ_ASSERT(strncmp(b.data, "detail<<", 8) == 0);
	end = strchr(b.data, '\n');
	FUZZ_ASSERT(end != NULL);
	delim = b.data + 8;
	dlen = (size_t)(end - delim);
	value_start = end + 1;
	{
		/* the first line equal to the delimiter ends the value */
		char *line = value_start;
		char *stop = NULL;
		while (line < b.data + b.len) {
			char *nl = strchr(line, '\n');
			FUZZ_ASSERT(nl != NULL);
			if ((size_t)(nl - line) == dlen && memcmp(line, delim, dlen) == 0) {
				stop = line;
				break;
			}
			line = nl + 1;
		}
		FUZZ_ASSERT(stop != NULL && stop > value_start);
		FUZZ_ASSERT((size_t)(stop - 1 - value_start) == strlen(text));
		FUZZ_ASSERT(memcmp(value_start, text, strlen(text)) == 0);
	}
	buf_dispose(&b);
}

#define TOKEN_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/+="

static void
check_outside(const char *secret, const char *text, size_t len)
{
	char *whole;
	size_t max;

	log_mask(secret);
	whole = outside_line(text, len, SIZE_MAX);
	for (max = 1; max <= 257; max += 64) {
		char *ex = outside_line(text, len, max);
		size_t n = strlen(ex);
		no_control(ex);
		FUZZ_ASSERT(n <= max + 3);
		/* details end up in JSON (report, issue, Slack): they must be valid UTF-8 */
		FUZZ_ASSERT(fuzz_utf8_valid(ex));
		/* no workflow command can start in it, in either syntax */
		FUZZ_ASSERT(strstr(ex, "::") == NULL && strstr(ex, "##[") == NULL);
		/* the cut comes last: what is kept is the start of the uncut line, scrubbed before */
		if (n >= 3 && strcmp(ex + n - 3, "...") == 0 && strncmp(whole, ex, n) != 0) {
			n -= 3;
		}
		FUZZ_ASSERT(strncmp(whole, ex, n) == 0);
		/* a secret made of what the steps themselves write ("***", ": :", '?') could appear */
		if (secret[0] != '\0' && strspn(secret, TOKEN_CHARS) == strlen(secret)) {
			FUZZ_ASSERT(strstr(ex, secret) == NULL);
		}
		free(ex);
	}
	free(whole);
	log_secrets_dispose();
}

static void
check_scrub(const char *secret, const char *text)
{
	char *clean;

	log_mask(secret);
	clean = log_scrub(text);
	/* "***" is the replacement: a secret made of stars could survive, nothing else may */
	if (secret[0] != '\0' && strchr(secret, '*') == NULL) {
		FUZZ_ASSERT(strstr(clean, secret) == NULL);
		FUZZ_ASSERT(!log_has_secret(clean));
	}
	free(clean);
	log_secrets_dispose();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *secret, *text;
	const uint8_t *rest;
	size_t rest_len;

	log_init(false, false);
	rest = fuzz_split_line(&secret, data, size, &rest_len);
	text = fuzz_strndup(rest, rest_len);
	check_markdown(text);
	check_wfcmd(text);
	check_outside(secret, (const char *)rest, rest_len);
	check_scrub(secret, text);
	free(text);
	free(secret);
	return 0;
}
