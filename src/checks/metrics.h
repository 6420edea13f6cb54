/* SPDX-License-Identifier: MIT */
#ifndef SRC_CHECKS_METRICS_H
#define SRC_CHECKS_METRICS_H

#include <stdbool.h>

#include "error.h"

struct gate;

/* what the metrics phase learnt, for the report, outputs, issue and Slack */
struct metrics_facts {
	bool error_rate_set;
	double error_rate; /* fraction */
	bool latency_set;
	double latency_ms;
	int samples;
};

/*
 * The 'error-rate' and 'latency' checks through the Prometheus HTTP API, evaluated over
 * monitor-duration; records both checks and g->metrics. ERR_CANCELLED on SIGTERM; a Prometheus
 * failure is a check result, not an error.
 */
int metrics_run(struct gate *g, struct error *err);

#endif
