/* SPDX-License-Identifier: MIT */
#ifndef SRC_REPORT_H
#define SRC_REPORT_H

#include <json-c/json.h>

#include "error.h"

struct config;
struct gate;

#define REPORT_SCHEMA "https://github.com/atom-safety/atom-safety-action/report-v1"

/* builds the machine-readable report (schema: docs in README, "Report"); caller puts it */
struct json_object *report_build(const struct gate *g, int exit_code);
/* the report as written to the file: pretty JSON, scrubbed of every secret; caller frees */
char *report_render(const struct gate *g, int exit_code);
/* the report's path: $RUNNER_TEMP/atom-safety-report.json, else /tmp/…; caller frees */
char *report_path(const struct config *cfg);
/* the largest report-json output: a bigger document leaves out the per-sample detail */
#define REPORT_JSON_MAX (512 * 1024)

/*
 * writes the report (scrubbed of every secret) to path: a new temporary file in its directory,
 * written, synced and renamed into place; returns 0 or ERR_IO (nothing at path changed)
 */
int report_write(struct json_object *root, const char *path, struct error *err);
/*
 * the report as compact JSON for the report-json output, scrubbed; past REPORT_JSON_MAX bytes
 * without checks[].data ("samples_omitted": true), then without checks[].detail
 * ("details_omitted": true). May change root. Caller frees.
 */
char *report_compact(struct json_object *root);

#endif
