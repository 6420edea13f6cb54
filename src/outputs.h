/* SPDX-License-Identifier: MIT */
#ifndef SRC_OUTPUTS_H
#define SRC_OUTPUTS_H

#include "buf.h"
#include "error.h"

struct gate;

/* the metrics output: {"name":value|null,…} for the metrics input, compact; caller frees */
char *outputs_metrics_json(const struct gate *g);
/*
 * renders every step output as name<<DELIM heredocs (scrubbed); report is the report's path, NULL
 * when it was not written (the output is then left unset); report_json the compact document;
 * delim_seed for tests, else NULL
 */
void outputs_render(struct buf *out, const struct gate *g, const char *report, const char *report_json,
		    const char *delim_seed);
/* appends them to $GITHUB_OUTPUT, or prints them when it is unset (a local run) */
int outputs_write(const struct gate *g, const char *report, const char *report_json, struct error *err);

#endif
