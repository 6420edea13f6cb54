/* SPDX-License-Identifier: MIT */
#ifndef SRC_CHECKS_METRICS_H
#define SRC_CHECKS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct gate;
struct json_object;

/* a named metric's latest measured value, for the metrics output */
struct metric_value {
	char *name;
	bool set;
	double value;
};

/* what the metrics phase learnt, for the report, outputs, issue and Slack */
struct metrics_facts {
	bool error_rate_set;
	double error_rate; /* fraction */
	bool latency_set;
	double latency_ms;
	int samples;
	bool baseline_error_rate_set;
	double baseline_error_rate;
	bool baseline_latency_set;
	double baseline_latency_ms;
	int64_t baseline_time_s;    /* when the baseline was evaluated (epoch s); 0: not evaluated */
	char *error_rate_query;     /* as expanded and sent; NULL: not sent */
	char *latency_query;
	struct metric_value *named; /* the metrics input's, in order */
	size_t n_named;
};

void metrics_facts_dispose(struct metrics_facts *f);

/*
 * The metrics input's values as a JSON object, name to number, null when not measured; every
 * configured metric is there, measured or not (metrics skipped, the gate stopped first). The
 * caller owns the object.
 */
struct json_object *metrics_named_json(const struct gate *g);

/*
 * The 'error-rate', 'latency' and 'metric:<name>' checks through the Prometheus HTTP API, evaluated over
 * monitor-duration; records both checks and g->metrics. ERR_CANCELLED on SIGTERM; a Prometheus
 * failure is a check result, not an error.
 */
int metrics_run(struct gate *g, struct error *err);

#endif
