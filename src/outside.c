/* SPDX-License-Identifier: MIT */
#include "outside.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define ELLIPSIS "..."

/* the code point of a valid sequence of n bytes */
static uint32_t
decode(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t i;

	if (n == 1) {
		return p[0];
	}
	cp = p[0] & (n == 2 ? 0x1fu : n == 3 ? 0x0fu : 0x07u);
	for (i = 1; i < n; i++) {
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	return cp;
}

/*
 * What .NET's Char.IsWhiteSpace calls white space: the runner trims exactly these before it
 * looks for "::" (ActionCommand.TryParseV2, message.TrimStart())
 */
static bool
is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/*
 * Characters that must not reach a reader as they are: controls, and invisible characters that
 * reorder or hide text (bidi overrides and isolates, zero-width space, BOM, annotation marks).
 * Joiners (U+200C, U+200D) and variation selectors stay: emoji and several scripts need them.
 */
static bool
is_hidden(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
	       cp == 0x200b || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff ||
	       (cp >= 0xfff9 && cp <= 0xfffb);
}

/* whole buffer: a ':' the caller wrote just before the outside text counts too */
static bool
ends_with(const struct buf *b, const char *s)
{
	size_t n = strlen(s);
	return b->len >= n && memcmp(b->data + b->len - n, s, n) == 0;
}

/* steps 2 to 5 over text that is already scrubbed */
static void
put_clean(struct buf *out, const char *s, size_t len, size_t max, bool log_mode)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = out->len, i = 0;
	bool space = false;

	while (i < len) {
		const char *piece;
		size_t n, piece_len, need;
		uint32_t cp;

		/* step 2: valid UTF-8 */
		n = u[i] < 0x80 ? 1 : utf8_char_len(u + i, len - i);
		if (n == 0) {
			/* '?' as for the hidden characters below (and jsonh_to_string) */
			piece = "?";
			piece_len = 1;
			cp = '?';
			n = 1;
		} else {
			piece = s + i;
			piece_len = n;
			cp = decode(u + i, n);
		}
		/* step 4 (whitespace) is decided here, applied when the next character comes */
		if (is_space(cp)) {
			i += n;
			if (!log_mode) {
				space = out->len > start;
				continue;
			}
			if (cp == '\n' || cp == '\r') {
				piece = cp == '\n' ? "\\n" : "\\r";
				piece_len = 2;
			} else {
				piece = " ";
				piece_len = 1;
			}
			if (out->len - start + piece_len > max) {
				break;
			}
			buf_append(out, piece, piece_len);
			continue;
		}
		/* step 3: hidden characters, then the two command sequences */
		if (is_hidden(cp)) {
			piece = "?";
			piece_len = 1;
		}
		need = piece_len + (space ? 1 : 0);
		if (!space && ((piece[0] == ':' && ends_with(out, ":")) ||
			       (piece[0] == '[' && ends_with(out, "##")))) {
			space = true;
			need++;
		}
		/* step 5: whole characters only, within max */
		if (out->len - start + need > max) {
			break;
		}
		if (space) {
			buf_putc(out, ' ');
			space = false;
		}
		buf_append(out, piece, piece_len);
		i += n;
	}
	if (i < len) {
		/* what is left may be only white space: then nothing was cut */
		while (i < len) {
			size_t n = u[i] < 0x80 ? 1 : utf8_char_len(u + i, len - i);
			if (n == 0 || !is_space(decode(u + i, n))) {
				break;
			}
			i += n;
		}
		if (i < len) {
			buf_puts(out, ELLIPSIS);
		}
	}
}

static void
put_scrubbed(struct buf *out, const char *s, size_t len, size_t max, bool log_mode)
{
	char *copy, *clean;
	size_t i;

	if (s == NULL || len == 0) {
		return;
	}
	/* step 1 over the whole text; a NUL would end it early, and is a control character anyway */
	copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	for (i = 0; i < len; i++) {
		if (copy[i] == '\0') {
			copy[i] = '\x01';
		}
	}
	clean = log_mode ? log_scrub(copy) : log_scrub_cut(copy);
	put_clean(out, clean, strlen(clean), max, log_mode);
	secret_wipe(copy, len);
	free(copy);
	free(clean);
}

void
outside_append(struct buf *out, const char *s, size_t len, size_t max)
{
	put_scrubbed(out, s, len, max, false);
}

char *
outside_line(const char *s, size_t len, size_t max)
{
	struct buf b = BUF_INIT;

	outside_append(&b, s, len, max);
	return buf_steal(&b);
}

void
outside_append_log(struct buf *out, const char *s, size_t len)
{
	put_scrubbed(out, s, len, SIZE_MAX, true);
}
