/* SPDX-License-Identifier: MIT */
/* the summary's metrics table and Mermaid charts (issue 15), from check results alone */
#include <string.h>

#include "checks/check.h"
#include "config.h"
#include "gate.h"
#include "jsonh.h"
#include "log.h"
#include "summary.h"
#include "tap.h"
#include "util.h"

static char environment[] = "staging", url[] = "http://127.0.0.1:1";

/* a metric check as metrics.c leaves it: samples every second, a limit, a baseline */
static void
add_metric(struct gate *g, const char *name, const char *unit, size_t n, double max, double baseline)
{
	struct check_result *r = check_list_add(&g->checks, name, PHASE_METRICS);
	struct json_object *data = json_object_new_object();
	struct json_object *samples = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *s = json_object_new_object();
		jsonh_add_int(s, "elapsed_ms", (int64_t)i * 1000);
		/* one sample without data: not drawn */
		jsonh_add(s, "value", i == 1 ? NULL : json_object_new_double((double)i / 1000.0));
		jsonh_append(samples, s);
	}
	jsonh_add_string(data, "unit", unit);
	jsonh_add(data, "max", json_object_new_double(max));
	jsonh_add(data, "baseline", json_object_new_double(baseline));
	jsonh_add_string(data, "baseline_display", "0.10%");
	jsonh_add_string(data, "increase_display", "+0.40%");
	jsonh_add_string(data, "query", "sum(rate(x{a=~\"b|c\"}[5m]))");
	jsonh_add(data, "samples", samples);
	r->data = data;
	check_set(r, CHECK_PASS, "0.50%", "< 1%", "fine");
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	for (s = strstr(s, what); s != NULL; s = strstr(s + 1, what)) {
		n++;
	}
	return n;
}

int
main(void)
{
	struct config cfg;
	struct gate g;
	struct buf out = BUF_INIT;
	const char *chart;

	log_init(false, false);
	memset(&cfg, 0, sizeof(cfg));
	cfg.environment = environment;
	cfg.url = url;
	gate_init(&g, &cfg, NULL);

	add_metric(&g, "error-rate", "fraction", 4, 0.01, 0.001);
	summary_render(&out, &g, SUMMARY_LIMIT);
	ok(strstr(buf_str(&out), "| `error-rate` | 0.10% | 0.50% | +0.40% | &lt; 1% | `sum(rate(x{a=~\"b\\|c\"}[5m]))` |") != NULL,
	   "metrics table: baseline, value, increase, limit, query (pipe escaped)");
	chart = strstr(buf_str(&out), "```mermaid\nxychart-beta\n");
	ok(chart != NULL, "a mermaid xychart-beta block");
	ok(chart != NULL && strstr(chart, "line [0, 0.2, 0.3]\n") != NULL, "samples in percent, the one without data left out");
	ok(chart != NULL && strstr(chart, "line [1, 1, 1]\n") != NULL && strstr(chart, "line [0.1, 0.1, 0.1]\n") != NULL,
	   "the limit and the baseline as lines of the same length");
	ok(chart != NULL && strstr(chart, "x-axis \"seconds since the first evaluation\" [\"0.0s\", \"2.0s\", \"3.0s\"]") != NULL,
	   "x axis: the samples' times");
	buf_reset(&out);

	/* a day at one sample a second: thinned, and never more than a quarter of the summary */
	check_list_dispose(&g.checks);
	add_metric(&g, "latency", "ms", 2000, 500, 40);
	summary_render(&out, &g, SUMMARY_LIMIT);
	chart = strstr(buf_str(&out), "```mermaid");
	ok(chart != NULL && count(chart, "\", \"") + 1 <= 120, "2000 samples thinned to at most 120 points (%zu)",
	   chart != NULL ? count(chart, "\", \"") + 1 : 0);
	ok(chart != NULL && strstr(chart, "\"1999.0s\"]") != NULL, "the last sample is kept");
	buf_reset(&out);
	summary_render(&out, &g, 8000);
	ok(strstr(buf_str(&out), "```mermaid") == NULL && strstr(buf_str(&out), "Charts left out") != NULL,
	   "a summary with little room leaves the charts out and says so");
	ok(out.len <= 8000, "and stays within its room (%zu bytes)", out.len);
	buf_reset(&out);

	/* one sample: no chart */
	check_list_dispose(&g.checks);
	add_metric(&g, "latency", "ms", 1, 500, 40);
	summary_render(&out, &g, SUMMARY_LIMIT);
	ok(strstr(buf_str(&out), "```mermaid") == NULL, "sampled once: no chart");

	buf_dispose(&out);
	g.cfg = NULL;
	gate_dispose(&g);
	log_secrets_dispose();
	return tap_done();
}
