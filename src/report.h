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
/* writes the report (scrubbed of every secret) to path; returns 0 or ERR_IO */
int report_write(const struct gate *g, int exit_code, const char *path, struct error *err);

#endif
