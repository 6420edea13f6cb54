/* SPDX-License-Identifier: MIT */
#ifndef SRC_MARKDOWN_H
#define SRC_MARKDOWN_H

#include "buf.h"

/*
 * Appends outside text (server replies, commit subjects) as inert Markdown on one line: it cannot
 * mention people (@name), open HTML, break a table cell or start a heading or link.
 */
void md_escape(struct buf *out, const char *s);
/*
 * A link destination, "(url)", for a URL a server gave us (an issue's html_url): every byte but
 * the plain URL characters is percent-encoded, so it cannot close the parentheses, break a table
 * cell or start HTML. Only http and https: anything else is written as "(#)", an inert link.
 */
void md_url(struct buf *out, const char *url);
/* inside a code span: backticks replaced so the span cannot be closed early */
void md_code(struct buf *out, const char *s);
/* one word of a shell command shown for copying: plain when safe, else single-quoted, control
 * characters turned into spaces */
void md_shell_word(struct buf *out, const char *s);

#endif
