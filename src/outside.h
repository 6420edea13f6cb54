/* SPDX-License-Identifier: MIT */
#ifndef SRC_OUTSIDE_H
#define SRC_OUTSIDE_H

#include <stddef.h>

#include "buf.h"

/*
 * Outside text (a server's body or error message, a commit subject, a kubeconfig name) turned
 * into one printable line. The steps run in this order, each on the result of the one before:
 *  1. every registered secret and its encodings is replaced by "***" in the whole text, and so is
 *     a tail that is the start of a secret (6 bytes or more: a sender or a size cap cut it off);
 *  2. a byte that is not part of valid UTF-8 becomes '?';
 *  3. control characters (C0, DEL, C1) and invisible bidi/format characters become '?'; "::"
 *     becomes ": :" and "##[" becomes "## [" (also with a ':' or "##" already at the end of out),
 *     so no workflow command can start in the text in either syntax (REFERENCE 2.3, SECURITY.md);
 *  4. whitespace runs (ASCII and Unicode spaces, line breaks) become one space, none at the ends;
 *  5. the line is cut at a character boundary to at most max bytes; "..." follows a cut.
 * The cut comes last, so it can never leave the start of a secret behind.
 */
/* appends the line to out (nothing for empty text) */
void outside_append(struct buf *out, const char *s, size_t len, size_t max);
/* the line as a new string ("" for empty text); caller frees */
char *outside_line(const char *s, size_t len, size_t max);

/*
 * The same steps for one line of the gate's own log, which quotes outside text: nothing is cut
 * and spacing is kept (the log's columns), line breaks show as "\n" and "\r" instead of a space.
 */
void outside_append_log(struct buf *out, const char *s, size_t len);

#endif
