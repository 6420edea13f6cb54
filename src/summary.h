/* SPDX-License-Identifier: MIT */
#ifndef SRC_SUMMARY_H
#define SRC_SUMMARY_H

#include "buf.h"
#include "error.h"

struct gate;

#define SUMMARY_LIMIT (1024 * 1024) /* the runner refuses bigger step summaries */

/* renders the Markdown job summary into out, at most max_bytes long (a note replaces what did not fit) */
void summary_render(struct buf *out, const struct gate *g, size_t max_bytes);
/* appends the summary to $GITHUB_STEP_SUMMARY, counting what the file already holds */
int summary_write(const struct gate *g, struct error *err);
/* a plain-text result table on stdout (always printed; the local run's only summary) */
void summary_print(const struct gate *g);

#endif
