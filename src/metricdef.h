/* SPDX-License-Identifier: MIT */
#ifndef SRC_METRICDEF_H
#define SRC_METRICDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/*
 * What the metric inputs say, parsed and validated before anything is sent: limits on the
 * increase over the baseline (max-error-rate-increase, max-latency-increase, a metric's
 * max-increase) and the `metrics` YAML list. Pure, for unit tests and fuzzing.
 */

enum increase_kind {
	INCREASE_NONE,     /* not judged */
	INCREASE_POINTS,   /* error rate "+0.5%": value - baseline, in fraction points (0.005) */
	INCREASE_RATIO,    /* "1.5x": value / baseline */
	INCREASE_PERCENT,  /* latency or metric "+20%": value / baseline - 1 (0.2) */
	INCREASE_ABSOLUTE, /* latency "+100ms" (value in ms), metric "+100": value - baseline */
};

/* what the limit applies to: the same text means different things */
enum increase_subject {
	INCREASE_OF_ERROR_RATE,
	INCREASE_OF_LATENCY,
	INCREASE_OF_METRIC,
};

struct increase_limit {
	enum increase_kind kind;
	double value;
	char text[40]; /* as written, for messages */
};

/* "" → INCREASE_NONE; otherwise ERR_CONFIG saying which forms the subject takes */
int metricdef_parse_increase(struct increase_limit *out,
			     const char *s,
			     enum increase_subject subject,
			     struct error *err);

/*
 * Judges value against baseline. Returns true when the increase exceeds the limit. *defined_out
 * is false when a ratio or percentage has a baseline of 0 (the ratio does not exist: the caller
 * says so and judges the absolute limit only); *increase_out is the increase in the limit's own
 * terms (points, ratio, relative fraction or absolute difference).
 */
bool metricdef_increase_exceeded(const struct increase_limit *limit,
				 double value,
				 double baseline,
				 bool *defined_out,
				 double *increase_out);

#define METRICDEF_MAX_METRICS 50
#define METRICDEF_MAX_YAML 65536

struct metric_def {
	char *name;  /* [a-z0-9-], unique */
	char *query; /* a template (promql.h) */
	bool has_max, has_min;
	double max, min;
	struct increase_limit increase;
	int on_no_data;     /* enum policy, or -1: the on-no-data input */
	int on_query_error; /* enum policy, or -1: the on-query-error input */
};

/*
 * Parses the `metrics` input: a YAML list of {name, query, max, min, max-increase, on-no-data,
 * on-query-error}. ERR_CONFIG names the item and the key ("item 2 (queue-depth): key 'max':
 * expected a number, got 'lots'"). *out is NULL and *n_out 0 for an empty input.
 */
int
metricdef_parse_list(struct metric_def **out, size_t *n_out, const char *yaml, struct error *err);
void metricdef_list_free(struct metric_def *list, size_t n);

#endif
