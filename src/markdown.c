/* SPDX-License-Identifier: MIT */
#include "markdown.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

void
md_escape(struct buf *out, const char *s)
{
	/* scrubbed before escaping: an escaped secret ("ghs\_…") would no longer match a later scrub */
	char *clean = log_scrub(s);
	const char *p;

	for (p = clean; p != NULL && *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		switch (c) {
		case '&':
			buf_puts(out, "&amp;");
			break;
		case '<':
			buf_puts(out, "&lt;");
			break;
		case '>':
			buf_puts(out, "&gt;");
			break;
		case '@':
			/* a zero-width space after '@': GitHub may decode entities before finding mentions */
			buf_puts(out, "@\xe2\x80\x8b");
			break;
		case '|':
			buf_puts(out, "\\|");
			break;
		case '\\':
		case '`':
		case '*':
		case '_':
		case '[':
		case ']':
		case '#':
		case '~':
		case '!':
			buf_putc(out, '\\');
			buf_putc(out, (char)c);
			break;
		case '\n':
		case '\r':
		case '\t':
			buf_putc(out, ' ');
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				buf_putc(out, ' ');
			} else {
				buf_putc(out, (char)c);
			}
			break;
		}
	}
	free(clean);
}

void
md_url(struct buf *out, const char *url)
{
	char *clean = log_scrub(url != NULL ? url : "");
	const char *p;

	buf_putc(out, '(');
	if (strncmp(clean, "https://", 8) != 0 && strncmp(clean, "http://", 7) != 0) {
		buf_putc(out, '#');
	} else {
		for (p = clean; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    strchr("-._~:/?#@!$&'*+,;=%", (int)c) != NULL) {
				buf_putc(out, (char)c);
			} else {
				buf_printf(out, "%%%02X", c);
			}
		}
	}
	buf_putc(out, ')');
	free(clean);
}

void
md_code(struct buf *out, const char *s)
{
	char *clean = log_scrub(s);
	const char *p;

	buf_putc(out, '`');
	for (p = clean; p != NULL && *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '`') {
			buf_putc(out, '\'');
		} else if (c < 0x20) {
			buf_putc(out, ' ');
		} else if (c == '|') {
			buf_puts(out, "\\|");
		} else {
			buf_putc(out, (char)c);
		}
	}
	buf_putc(out, '`');
	free(clean);
}

void
md_shell_word(struct buf *b, const char *s)
{
	const char *p;
	bool plain = s[0] != '\0';

	for (p = s; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.' || *p == '_' || *p == '/')) {
			plain = false;
		}
	}
	if (plain) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '\'');
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			buf_puts(b, "'\\''");
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			buf_putc(b, ' '); /* a line break would end the command where the reader copies it */
		} else {
			buf_putc(b, *p);
		}
	}
	buf_putc(b, '\'');
}
