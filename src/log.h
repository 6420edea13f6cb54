/* SPDX-License-Identifier: MIT */
#ifndef SRC_LOG_H
#define SRC_LOG_H

#include <stdbool.h>

#include "attr.h"

/*
 * One line-buffered stream (stdout) so that ::add-mask:: always precedes a secret.
 * In GitHub mode (GITHUB_ACTIONS=true) warnings and errors become annotations and phases
 * become ::group::; locally the same information is printed as plain text.
 * Every line is scrubbed of registered secrets and stripped of control characters.
 */
void log_init(bool github_mode, bool debug);
bool log_debug_enabled(void);
bool log_github_mode(void);

/* registers a secret: emits ::add-mask:: (GitHub mode) and scrubs it from everything after */
void log_mask(const char *secret);
/*
 * registers the base64 form a credential pair takes in "Authorization: Basic" (and the pair):
 * a server that echoes the request header must not show it
 */
void log_mask_basic(const char *user, const char *password);
/* returns a copy of s with every registered secret replaced by "***"; caller frees */
char *log_scrub(const char *s);
/*
 * log_scrub() for outside text that its sender or a size cap may have cut off: a tail that is
 * the start of a secret (6 bytes or more) is replaced as well; caller frees
 */
char *log_scrub_cut(const char *s);
/* true when s contains a registered secret */
bool log_has_secret(const char *s);
void log_secrets_dispose(void);

void log_debug(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_error(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* an ::error/::warning annotation with a title (at most 10 of each kind; the rest as text) */
void log_annotate(bool error, const char *title, const char *fmt, ...) ATTR_PRINTF(3, 4);
void log_group_begin(const char *title);
void log_group_end(void);

#endif
