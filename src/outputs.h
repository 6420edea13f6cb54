/* SPDX-License-Identifier: MIT */
#ifndef SRC_OUTPUTS_H
#define SRC_OUTPUTS_H

#include "buf.h"
#include "error.h"

struct gate;

/* renders every step output as name<<DELIM heredocs (scrubbed); delim_seed for tests, else NULL */
/* the metrics output: {"name":value|null,…} for the metrics input, compact; caller frees */
char *outputs_metrics_json(const struct gate *g);
void outputs_render(struct buf *out, const struct gate *g, const char *report, const char *delim_seed);
/* appends them to $GITHUB_OUTPUT, or prints them when it is unset (a local run) */
int outputs_write(const struct gate *g, const char *report, struct error *err);

#endif
