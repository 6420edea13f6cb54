/* SPDX-License-Identifier: MIT */
#include "checks/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clients/prom.h"
#include "config.h"
#include "gate.h"
#include "jsonh.h"
#include "log.h"
#include "outside.h"
#include "promql.h"
#include "util.h"

/*
 * The metric checks: 'error-rate', 'latency' and one 'metric:<name>' per item of the metrics
 * input. Each evaluation runs every query in one HTTP batch; with monitor-duration set,
 * evaluations repeat every monitor-interval and stop at the first failure, because the gate must
 * not wait out the window once the release is bad. Queries are templates (promql.h), expanded
 * before each evaluation: {{since_deploy}} grows as the window does.
 *
 * Three kinds of answer are kept apart, each with its own policy:
 *   a number      judged against the limits (a breach fails, whatever the policies say);
 *   no data       an empty vector or NaN means no traffic, never "0% errors": on-no-data;
 *   query failed  Prometheus unreachable or answering an error: on-query-error, never a breach.
 *
 * A limit on the increase compares with the baseline: the same query evaluated once, at the
 * first evaluation, at the deploy start (Prometheus time=). A baseline without data or whose
 * query failed is judged by the same two policies; a ratio over a baseline of 0 does not exist,
 * and then only the absolute limit judges.
 */

/* values this close to a limit count as at the limit: 1% computed as 0.009999999999999998 is 1% */
#define LIMIT_TOLERANCE 1e-9
/* samples kept per check in the report; a 24h window every second would otherwise be 86400 */
#define MAX_RECORDED_SAMPLES 2000

enum metric_kind {
	METRIC_ERROR_RATE,
	METRIC_LATENCY,
	METRIC_NAMED,
};

enum outcome {
	OUTCOME_OK,     /* measured, within the limit (or not judged) */
	OUTCOME_BREACH, /* measured, over the limit */
	OUTCOME_NO_DATA,
	OUTCOME_ERROR, /* query failed, or an answer that cannot be this metric */
};

/* one check across the evaluations */
struct metric {
	enum metric_kind kind;
	const char *name;
	char *owned_name;        /* metric:<name> */
	const char *tmpl;        /* the query as configured */
	char *expr;              /* as expanded for the latest evaluation; NULL: not expandable */
	char *expand_error;      /* why not */
	const char *query_input; /* the input to check, for messages */
	enum policy on_no_data;
	enum policy on_query_error;
	bool has_max, has_min;
	double max, min; /* fraction, milliseconds or the query's own unit */
	struct increase_limit increase;
	struct check_result *r;
	struct json_object *samples; /* borrowed from r->data */
	char limit[96];              /* every limit, as the check shows it */
	char abs_limit[96];          /* the absolute one alone, for the detail; "" when none */
	bool judged;

	/* the baseline, evaluated once */
	bool baseline_asked;
	enum outcome baseline_outcome;
	double baseline;
	char baseline_text[48];
	char *baseline_detail; /* why there is no baseline */

	/* the latest evaluation */
	enum check_status status;
	enum outcome outcome;
	bool measured;
	double value; /* fraction, milliseconds or the query's unit */
	char value_text[48];
	char *detail;

	/* over the window */
	int evaluations;
	int not_passed;      /* evaluations that warned */
	char *first_warning; /* the detail of the first one */
	bool last_set;       /* the most recent measured value */
	double last;
	bool max_set;
	double max_seen;
	char max_text[48];
	bool warned_prometheus; /* Prometheus "warnings" already logged */
	int samples_omitted;    /* past MAX_RECORDED_SAMPLES */
};

static enum check_status
policy_status(enum policy p)
{
	switch (p) {
	case POLICY_PASS:
		return CHECK_PASS;
	case POLICY_FAIL:
		return CHECK_FAIL;
	case POLICY_WARN:
	default:
		return CHECK_WARN;
	}
}

static const char *
policy_name(enum policy p)
{
	switch (p) {
	case POLICY_PASS:
		return "pass";
	case POLICY_FAIL:
		return "fail";
	case POLICY_WARN:
	default:
		return "warn";
	}
}

/* a check that judges nothing cannot fail by policy: a failure would hide nothing */
static enum policy
effective_policy(const struct metric *m, enum policy p)
{
	return !m->judged && p == POLICY_FAIL ? POLICY_WARN : p;
}

static enum check_status
worse(enum check_status a, enum check_status b)
{
	static const int rank[] = {
		[CHECK_PASS] = 0, [CHECK_SKIP] = 0, [CHECK_WARN] = 1, [CHECK_FAIL] = 2
	};
	return rank[b] > rank[a] ? b : a;
}

static void
format_percent(char *out, size_t size, double fraction)
{
	double pct = fraction * 100.0;

	if (isinf(fraction)) {
		(void)snprintf(out, size, "%s", fraction > 0 ? "+Inf" : "-Inf");
	} else if (pct == 0.0) {
		(void)snprintf(out, size, "0%%");
	} else if (fabs(pct) >= 0.01) {
		(void)snprintf(out, size, "%.2f%%", pct);
	} else {
		(void)snprintf(out, size, "%.2g%%", pct);
	}
}

static void
format_ms(char *out, size_t size, double ms)
{
	if (isinf(ms)) {
		(void)snprintf(out, size, "%s ms", ms > 0 ? "+Inf" : "-Inf");
	} else if (fabs(ms) < 100.0) {
		(void)snprintf(out, size, "%.1f ms", ms);
	} else {
		(void)snprintf(out, size, "%.0f ms", ms);
	}
}

static void
format_value(char *out, size_t size, const struct metric *m, double v)
{
	if (m->kind == METRIC_ERROR_RATE) {
		format_percent(out, size, v);
	} else if (m->kind == METRIC_LATENCY) {
		format_ms(out, size, v);
	} else {
		(void)snprintf(out, size, "%.6g", v);
	}
}

/* the increase in the limit's own terms: "+0.30%" (points), "1.8x", "+25%" (relative), "+40 ms" */
static void
format_increase(char *out, size_t size, const struct metric *m, double inc)
{
	char num[40];

	switch (m->increase.kind) {
	case INCREASE_POINTS:
		format_percent(num, sizeof(num), inc);
		(void)snprintf(out, size, "%s%s", inc >= 0 ? "+" : "", num);
		break;
	case INCREASE_RATIO:
		(void)snprintf(out, size, "%.3gx", inc);
		break;
	case INCREASE_PERCENT:
		(void)snprintf(out, size, "%+.1f%%", inc * 100.0);
		break;
	case INCREASE_ABSOLUTE:
		format_value(num, sizeof(num), m, inc);
		(void)snprintf(out, size, "%s%s", inc >= 0 ? "+" : "", num);
		break;
	case INCREASE_NONE:
	default:
		(void)snprintf(out, size, "-");
		break;
	}
}

static bool
is_breach(const struct metric *m, double v)
{
	if (m->kind == METRIC_ERROR_RATE) {
		/* "below 1%": at the limit is a breach; with a limit of 0, only 0 passes */
		return m->has_max && v > 0.0 && v >= m->max * (1.0 - LIMIT_TOLERANCE);
	}
	if (m->has_max && v > m->max + LIMIT_TOLERANCE * fmax(1.0, fabs(m->max))) {
		return true;
	}
	return m->has_min && v < m->min - LIMIT_TOLERANCE * fmax(1.0, fabs(m->min));
}

/* what the series count adds to a detail: "query returned 1 series", "worst of 3 series: {…}" */
static void
describe_series(struct buf *b, const struct prom_result *res, size_t worst)
{
	size_t i, nan = 0;

	for (i = 0; i < res->n; i++) {
		if (isnan(res->samples[i].value)) {
			nan++;
		}
	}
	if (res->type == PROM_SCALAR) {
		buf_puts(b, "query returned a scalar");
	} else if (res->n == 1) {
		buf_puts(b, "query returned 1 series");
	} else {
		buf_printf(b, "worst of %zu series: %s", res->n, res->samples[worst].labels);
		if (nan > 0) {
			buf_printf(b, " (%zu without data)", nan);
		}
	}
}

static void
add_prometheus_warnings(struct buf *b, struct metric *m, const struct prom_result *res)
{
	size_t i;

	if (res->warnings == NULL || res->warnings[0] == NULL) {
		return;
	}
	buf_printf(b, "; Prometheus warned: %s", res->warnings[0]);
	if (res->warnings[1] != NULL) {
		buf_printf(b, " (and %zu more)", strv_len(res->warnings) - 1);
	}
	if (!m->warned_prometheus) {
		for (i = 0; res->warnings[i] != NULL; i++) {
			log_warn("%s: Prometheus warned: %s", m->name, res->warnings[i]);
		}
		m->warned_prometheus = true;
	}
}

/* why a query has no answer: not sent (its template could not be expanded) or failed */
static void
describe_query_error(struct buf *d, const struct prom_query *q)
{
	if (q->expr == NULL) {
		buf_printf(d, "query not sent: %s", q->err.msg);
	} else if (q->result.http_status == 0) {
		buf_printf(d, "query failed, no answer from Prometheus: %s", q->err.msg);
	} else {
		buf_printf(d, "query failed, Prometheus answered %s", q->err.msg);
	}
}

/*
 * With the default error-rate query the batch also asks for its denominator, so an empty result
 * can be told apart: requests flowing but no 5xx series ever created (client libraries create a
 * label series on first use) is 0% errors, not "no data". *rate_out gets the request rate.
 */
static bool
traffic_without_errors(double *rate_out,
		       const struct metric *m,
		       const struct prom_query *q,
		       const struct prom_query *traffic)
{
	size_t busiest = 0;

	if (m->kind != METRIC_ERROR_RATE || q->rc < 0 || q->result.n != 0 || traffic == NULL ||
	    traffic->rc != 0 || !prom_result_worst(&busiest, &traffic->result)) {
		return false;
	}
	*rate_out = traffic->result.samples[busiest].value;
	return isfinite(*rate_out) && *rate_out > 0.0;
}

/*
 * The value judged: the largest series (the worst for a maximum), or the smallest when only a
 * minimum is set. False when every value is NaN.
 */
static bool
pick_value(size_t *index_out, const struct metric *m, const struct prom_result *res)
{
	size_t i;
	bool found = false;

	if (m->kind != METRIC_NAMED || m->has_max || m->increase.kind != INCREASE_NONE ||
	    !m->has_min) {
		return prom_result_worst(index_out, res);
	}
	for (i = 0; i < res->n; i++) {
		if (!isnan(res->samples[i].value) &&
		    (!found || res->samples[i].value < res->samples[*index_out].value)) {
			*index_out = i;
			found = true;
		}
	}
	return found;
}

/* ---- judging one evaluation ---- */

static void
judge_query_error(struct metric *m, const struct prom_query *q, struct buf *d)
{
	enum policy p = effective_policy(m, m->on_query_error);

	/* never a breach: we do not know the value, so the policy decides */
	m->outcome = OUTCOME_ERROR;
	(void)snprintf(m->value_text, sizeof(m->value_text), "query failed");
	describe_query_error(d, q);
	buf_printf(d, " (on-query-error: %s; not counted as a breach)", policy_name(p));
	m->status = policy_status(p);
}

static void
judge_no_data(struct metric *m, const struct prom_query *q, struct buf *d)
{
	enum policy p = effective_policy(m, m->on_no_data);
	const char *several = q->result.n > 1 ? " for every series" : "";

	m->outcome = OUTCOME_NO_DATA;
	(void)snprintf(m->value_text, sizeof(m->value_text), "no data");
	if (q->result.n == 0) {
		/*
		 * a counter never incremented has no series: with no 5xx yet, the default query's
		 * numerator is absent and the division returns nothing, though traffic flows
		 */
		buf_puts(d, "no traffic seen: the query returned no series (metric absent, no "
			    "samples in the window, "
			    "or a divided series such as 5xx does not exist yet)");
	} else if (m->kind == METRIC_ERROR_RATE) {
		buf_printf(d,
			   "no traffic seen: the query returned NaN%s (0/0: no requests in the "
			   "window)",
			   several);
	} else if (m->kind == METRIC_LATENCY) {
		buf_printf(d,
			   "no traffic seen: the query returned NaN%s (no requests observed in the "
			   "window)",
			   several);
	} else {
		buf_printf(d, "no data: the query returned NaN%s", several);
	}
	buf_printf(d, " (on-no-data: %s)", policy_name(p));
	m->status = policy_status(p);
	add_prometheus_warnings(d, m, &q->result);
}

/* -Inf or a negative rate is no measurement of an error rate or a latency: the query is wrong */
static void
judge_impossible(struct metric *m, const struct prom_query *q, size_t worst, struct buf *d)
{
	enum policy p = effective_policy(m, m->on_query_error);

	m->outcome = OUTCOME_ERROR;
	buf_puts(d, "the query returned ");
	outside_append(d, q->result.samples[worst].value_text, strlen(q->result.samples[worst].value_text), 32);
	buf_printf(d, ", which cannot be %s: check %s (",
		   m->kind == METRIC_ERROR_RATE ? "an error rate" : "a latency", m->query_input);
	describe_series(d, &q->result, worst);
	buf_printf(d, "; on-query-error: %s)", policy_name(p));
	m->status = policy_status(p);
}

/* the absolute limit's words: "0.50% of requests failed, at or above the limit (< 0.1% on production)" */
static void
describe_absolute(struct buf *d, const struct metric *m, const char *where)
{
	bool breach = is_breach(m, m->value);

	if (m->kind == METRIC_ERROR_RATE) {
		buf_printf(d, "%s of requests failed", m->value_text);
		if (breach) {
			buf_printf(d, ", at or above the limit (%s on %s)", m->abs_limit, where);
		} else {
			buf_printf(d, " (limit %s on %s)", m->abs_limit, where);
		}
		return;
	}
	if (m->kind == METRIC_LATENCY) {
		buf_printf(d, "latency %s", m->value_text);
	} else {
		buf_printf(d, "%s is %s", m->name, m->value_text);
	}
	if (!m->judged) {
		buf_puts(d, " (not judged: max-latency is not set)");
	} else if (breach) {
		buf_printf(d, ", %s the limit (%s)",
			   m->has_min && m->value < m->min ? "under" : "over", m->abs_limit);
	} else if (m->abs_limit[0] != '\0') {
		buf_printf(d, " (limit %s)", m->abs_limit);
	}
}

/* the increase over the baseline; returns the status it adds */
static enum check_status
judge_increase(struct metric *m, struct buf *d)
{
	char inc_text[48];
	double inc;
	bool defined;
	enum policy p;

	if (m->increase.kind == INCREASE_NONE) {
		return CHECK_PASS;
	}
	switch (m->baseline_outcome) {
	case OUTCOME_OK:
	case OUTCOME_BREACH:
		break;
	case OUTCOME_NO_DATA:
		p = effective_policy(m, m->on_no_data);
		buf_printf(d, "; no baseline: %s (on-no-data: %s)", m->baseline_detail,
			   policy_name(p));
		return policy_status(p);
	case OUTCOME_ERROR:
	default:
		p = effective_policy(m, m->on_query_error);
		buf_printf(d, "; no baseline: %s (on-query-error: %s)", m->baseline_detail,
			   policy_name(p));
		return policy_status(p);
	}
	if (!metricdef_increase_exceeded(&m->increase, m->value, m->baseline, &defined, &inc) &&
	    defined) {
		format_increase(inc_text, sizeof(inc_text), m, inc);
		jsonh_add_string(m->r->data, "increase_display", inc_text);
		buf_printf(d, "; baseline %s, increase %s (limit %s)", m->baseline_text, inc_text,
			   m->increase.text);
		return CHECK_PASS;
	}
	if (!defined) {
		jsonh_add_string(m->r->data, "increase_display", "not defined (baseline 0)");
		buf_printf(d,
			   "; baseline %s: the ratio to a baseline of 0 is not defined, so %s is "
			   "not judged "
			   "(the absolute limit still is)",
			   m->baseline_text, m->increase.text);
		return CHECK_PASS;
	}
	format_increase(inc_text, sizeof(inc_text), m, inc);
	jsonh_add_string(m->r->data, "increase_display", inc_text);
	buf_printf(d, "; baseline %s, increase %s, over the limit (%s)", m->baseline_text, inc_text,
		   m->increase.text);
	return CHECK_FAIL;
}

static void
judge_measured(struct metric *m,
	       const struct prom_query *q,
	       size_t worst,
	       const char *where,
	       struct buf *d)
{
	enum check_status increase_status;

	m->measured = true;
	m->last_set = true;
	m->last = m->value;
	if (!m->max_set || m->value > m->max_seen) {
		m->max_set = true;
		m->max_seen = m->value;
		(void)snprintf(m->max_text, sizeof(m->max_text), "%s", m->value_text);
	}
	describe_absolute(d, m, where);
	m->outcome = is_breach(m, m->value) ? OUTCOME_BREACH : OUTCOME_OK;
	m->status = m->outcome == OUTCOME_BREACH ? CHECK_FAIL : CHECK_PASS;
	increase_status = judge_increase(m, d);
	if (increase_status == CHECK_FAIL && m->outcome == OUTCOME_OK) {
		m->outcome = OUTCOME_BREACH; /* the increase over the baseline is a breach too */
	}
	m->status = worse(m->status, increase_status);
	if (q->result.n > 0) {
		buf_puts(d, "; ");
		describe_series(d, &q->result, worst);
	}
	if (m->kind == METRIC_ERROR_RATE && m->outcome == OUTCOME_BREACH && m->value > 1.0) {
		buf_puts(d, "; above 100%: does error-rate-query give a fraction (0 to 1) rather "
			    "than a percentage?");
	}
	add_prometheus_warnings(d, m, &q->result);
}

/* judges one evaluation's answer into m's latest-evaluation fields */
static void
judge(struct metric *m,
      const struct config *cfg,
      const struct prom_query *q,
      const struct prom_query *traffic)
{
	struct buf d = BUF_INIT;
	size_t worst = 0;
	double rate;

	m->measured = false;
	m->value = (double)NAN;
	m->evaluations++;
	if (q->rc < 0) {
		judge_query_error(m, q, &d);
	} else if (traffic_without_errors(&rate, m, q, traffic)) {
		m->value = 0.0;
		format_value(m->value_text, sizeof(m->value_text), m, m->value);
		buf_printf(&d,
			   "no 5xx series exists while %.4g requests/s were served: 0%% errors; ",
			   rate);
		judge_measured(m, q, worst, cfg->environment, &d);
	} else if (!pick_value(&worst, m, &q->result)) {
		judge_no_data(m, q, &d);
	} else {
		m->value = q->result.samples[worst].value *
			   (m->kind == METRIC_LATENCY ? 1000.0 : 1.0); /* PromQL: s */
		format_value(m->value_text, sizeof(m->value_text), m, m->value);
		if (m->value < 0.0 && m->kind != METRIC_NAMED) {
			m->value = (double)NAN;
			judge_impossible(m, q, worst, &d);
		} else {
			judge_measured(m, q, worst, cfg->environment, &d);
		}
	}
	free(m->detail);
	m->detail = buf_steal(&d);
	if (m->status == CHECK_WARN) {
		m->not_passed++;
		if (m->first_warning == NULL) {
			m->first_warning = xstrdup(m->detail);
		}
	}
}

/* the baseline's answer: a value, or why there is none (judged later, with each evaluation) */
static void
judge_baseline(struct metric *m,
	       const struct prom_query *q,
	       const struct prom_query *traffic,
	       int64_t at)
{
	struct buf d = BUF_INIT;
	char when[40];
	size_t worst = 0;
	double rate;

	time_format_utc(when, sizeof(when), at * 1000);
	if (q->rc < 0) {
		m->baseline_outcome = OUTCOME_ERROR;
		describe_query_error(&d, q);
	} else if (traffic_without_errors(&rate, m, q, traffic)) {
		m->baseline_outcome = OUTCOME_OK;
		m->baseline = 0.0;
	} else if (!pick_value(&worst, m, &q->result)) {
		m->baseline_outcome = OUTCOME_NO_DATA;
		buf_printf(&d, "the query had no data at %s", when);
	} else {
		m->baseline_outcome = OUTCOME_OK;
		m->baseline =
			q->result.samples[worst].value * (m->kind == METRIC_LATENCY ? 1000.0 : 1.0);
	}
	if (m->baseline_outcome == OUTCOME_OK) {
		format_value(m->baseline_text, sizeof(m->baseline_text), m, m->baseline);
		log_info("%s: baseline %s at %s", m->name, m->baseline_text, when);
		jsonh_add_string(m->r->data, "baseline_display", m->baseline_text);
		jsonh_add(m->r->data, "baseline",
			  isfinite(m->baseline) ? json_object_new_double(m->baseline) : NULL);
	} else {
		(void)snprintf(m->baseline_text, sizeof(m->baseline_text), "%s",
			       m->baseline_outcome == OUTCOME_NO_DATA ? "no data" : "query failed");
		log_info("%s: no baseline: %s", m->name, buf_str(&d));
		jsonh_add_string(m->r->data, "baseline_display", m->baseline_text);
		jsonh_add(m->r->data, "baseline", NULL);
	}
	jsonh_add_string(m->r->data, "baseline_time", when);
	free(m->baseline_detail);
	m->baseline_detail = buf_steal(&d);
}

/* appends this evaluation to the check's data.samples */
static void
record_sample(struct metric *m, int64_t since_start_ms)
{
	struct json_object *s;
	char when[40];

	if (json_object_array_length(m->samples) >= MAX_RECORDED_SAMPLES) {
		/* the first ones stay: they show how the window began; the detail has the rest */
		m->samples_omitted++;
		return;
	}
	s = json_object_new_object();
	time_format_utc(when, sizeof(when), wall_ms());
	jsonh_add_string(s, "t", when);
	jsonh_add_int(s, "elapsed_ms", since_start_ms);
	if (!m->measured) {
		jsonh_add(s, "value", NULL);
	} else if (isinf(m->value)) {
		jsonh_add_string(s, "value",
				 m->value > 0 ? "+Inf" : "-Inf"); /* JSON has no infinity */
	} else {
		char num[32];
		/* ten significant digits: 0.0005, not json-c's %.17g 0.00050000000000000001 */
		(void)snprintf(num, sizeof(num), "%.10g", m->value);
		jsonh_add(s, "value", json_object_new_double_s(m->value, num));
	}
	jsonh_add_string(s, "display", m->value_text);
	jsonh_add_string(s, "status", check_status_name(m->status));
	if (m->outcome != OUTCOME_OK) {
		/* as check_set() treats a detail: secrets scrubbed, one line of valid UTF-8 */
		char *line = outside_line(m->detail, strlen(m->detail), CHECK_TEXT_MAX);
		jsonh_add_string(s, "detail", line);
		free(line);
	}
	jsonh_append(m->samples, s);
}

/* ---- setting up ---- */

static void
append_limit(char *out, size_t size, const char *part)
{
	size_t used = strlen(out);
	(void)snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "", part);
}

static void
describe_limits(struct metric *m)
{
	char part[64];

	m->limit[0] = '\0';
	if (m->kind == METRIC_ERROR_RATE) {
		/* %.4g: 0.001 is "0.1%", not 0.10000000000000001% */
		(void)snprintf(part, sizeof(part), "< %.4g%%", m->max * 100.0);
		append_limit(m->limit, sizeof(m->limit), part);
	} else if (m->kind == METRIC_LATENCY && m->has_max) {
		(void)snprintf(part, sizeof(part), "<= %.0f ms", m->max);
		append_limit(m->limit, sizeof(m->limit), part);
	} else {
		if (m->has_min) {
			(void)snprintf(part, sizeof(part), ">= %.6g", m->min);
			append_limit(m->limit, sizeof(m->limit), part);
		}
		if (m->has_max) {
			(void)snprintf(part, sizeof(part), "<= %.6g", m->max);
			append_limit(m->limit, sizeof(m->limit), part);
		}
	}
	(void)snprintf(m->abs_limit, sizeof(m->abs_limit), "%s", m->limit);
	if (m->increase.kind != INCREASE_NONE) {
		(void)snprintf(part, sizeof(part), "increase <= %s", m->increase.text);
		append_limit(m->limit, sizeof(m->limit), part);
	}
	if (m->limit[0] == '\0') {
		(void)snprintf(m->limit, sizeof(m->limit), "not judged");
	}
}

static void
metric_data_init(struct metric *m)
{
	struct json_object *data = json_object_new_object();
	char num[32];

	jsonh_add_string(data, "query", m->tmpl);
	jsonh_add_string(data, "limit", m->limit);
	if (m->has_max) {
		(void)snprintf(num, sizeof(num), "%.6g", m->max);
		jsonh_add(data, "max", json_object_new_double_s(m->max, num));
	} else {
		jsonh_add(data, "max", NULL);
	}
	if (m->has_min) {
		(void)snprintf(num, sizeof(num), "%.6g", m->min);
		jsonh_add(data, "min", json_object_new_double_s(m->min, num));
	}
	if (m->increase.kind != INCREASE_NONE) {
		jsonh_add_string(data, "max_increase", m->increase.text);
	}
	jsonh_add_string(data, "unit",
			 m->kind == METRIC_ERROR_RATE ? "fraction"
			 : m->kind == METRIC_LATENCY  ? "ms"
						      : "");
	m->samples = json_object_new_array();
	jsonh_add(data, "samples", m->samples); /* data owns it; m->samples is borrowed */
	m->r->data = data;
}

static void
metric_init_builtin(struct metric *m, struct gate *g, enum metric_kind kind)
{
	const struct config *cfg = g->cfg;

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->on_no_data = cfg->on_no_data;
	m->on_query_error = cfg->on_query_error;
	if (kind == METRIC_ERROR_RATE) {
		m->name = "error-rate";
		m->tmpl = cfg->error_rate_query;
		m->query_input = "error-rate-query";
		m->has_max = true;
		m->max = cfg->max_error_rate;
		m->increase = cfg->max_error_rate_increase;
	} else {
		m->name = "latency";
		m->tmpl = cfg->latency_query;
		m->query_input = "latency-query";
		m->has_max = cfg->max_latency_ms >= 0;
		m->max = (double)cfg->max_latency_ms;
		m->increase = cfg->max_latency_increase;
	}
	m->judged = m->has_max || m->increase.kind != INCREASE_NONE;
	describe_limits(m);
	m->r = check_list_add(&g->checks, m->name, PHASE_METRICS);
	metric_data_init(m);
}

static void
metric_init_named(struct metric *m, struct gate *g, const struct metric_def *def)
{
	const struct config *cfg = g->cfg;

	memset(m, 0, sizeof(*m));
	m->kind = METRIC_NAMED;
	m->owned_name = xasprintf("metric:%s", def->name);
	m->name = m->owned_name;
	m->tmpl = def->query;
	m->query_input = "the metrics input's query";
	m->on_no_data = def->on_no_data >= 0 ? (enum policy)def->on_no_data : cfg->on_no_data;
	m->on_query_error =
		def->on_query_error >= 0 ? (enum policy)def->on_query_error : cfg->on_query_error;
	m->has_max = def->has_max;
	m->max = def->max;
	m->has_min = def->has_min;
	m->min = def->min;
	m->increase = def->increase;
	m->judged = true;
	describe_limits(m);
	m->r = check_list_add(&g->checks, m->name, PHASE_METRICS);
	metric_data_init(m);
}

static void
metric_dispose(struct metric *m)
{
	free(m->detail);
	free(m->first_warning);
	free(m->owned_name);
	free(m->expr);
	free(m->expand_error);
	free(m->baseline_detail);
	memset(m, 0, sizeof(*m));
}

/* expands m's template for this evaluation; a failure is kept for the query's error */
static void
expand(struct metric *m, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct promql_vars vars;
	struct error err = ERROR_INIT;

	memset(&vars, 0, sizeof(vars));
	vars.namespace = cfg->namespace != NULL ? cfg->namespace : g->release.namespace;
	vars.environment = cfg->environment;
	vars.deployments = cfg->deployments;
	vars.new_replicasets = g->release.replicasets;
	vars.since_deploy_s =
		g->release.created_s > 0 ? wall_ms() / 1000 - g->release.created_s : -1;
	free(m->expr);
	free(m->expand_error);
	m->expr = NULL;
	m->expand_error = NULL;
	if (promql_template_expand(&m->expr, m->tmpl, &vars, &err) < 0) {
		m->expand_error = xstrdup(err.msg);
		return;
	}
	/* the report and summary show what was sent */
	jsonh_add_string(m->r->data, "query", m->expr);
}

/* ---- the evaluations ---- */

static void
print_result(const struct check_result *r)
{
	static const char *const marks[] = { "PASS", "FAIL", "WARN", "SKIP" };
	log_info("  %-4s %-28s %s (%lld ms)", marks[r->status], r->name,
		 r->detail != NULL ? r->detail : "", (long long)r->elapsed_ms);
}

static void
progress_part(struct buf *b, const struct metric *m)
{
	buf_printf(b, "%s %s (%s", m->name, m->value_text, m->limit);
	if (m->status == CHECK_FAIL) {
		buf_puts(b, m->outcome == OUTCOME_BREACH ? ": FAIL" : ": FAIL by policy");
	} else if (m->status == CHECK_WARN) {
		buf_puts(b, ": WARN");
	}
	buf_putc(b, ')');
}

/* the check's final result: the latest evaluation, with what monitoring adds */
static void
finish_metric(struct metric *m,
	      struct gate *g,
	      const char *stopped_by,
	      int total,
	      int64_t elapsed_ms)
{
	struct buf d = BUF_INIT;
	enum check_status status = m->status;
	char window[32];

	buf_puts(&d, m->detail != NULL ? m->detail : "");
	/* whole seconds read better than "3004ms" for a window of 3s */
	duration_format(window, sizeof(window),
			elapsed_ms < 1000 ? elapsed_ms : (elapsed_ms + 500) / 1000 * 1000);
	if (total > 1) {
		if (stopped_by != NULL) {
			buf_printf(
				&d,
				"; monitoring stopped at evaluation %d of %d after %s: %s failed",
				m->evaluations, total, window, stopped_by);
		} else {
			buf_printf(&d, "; monitored for %s: %d evaluations", window,
				   m->evaluations);
		}
		if (m->max_set && m->evaluations > 1) {
			buf_printf(&d, ", highest %s", m->max_text);
		}
	}
	if (status == CHECK_PASS && m->not_passed > 0) {
		/* an earlier evaluation warned: the last one passing does not erase it */
		status = CHECK_WARN;
		buf_printf(&d, "; %d of %d evaluations warned, first: %s", m->not_passed,
			   m->evaluations, m->first_warning);
	}
	if (m->samples_omitted > 0) {
		jsonh_add_int(m->r->data, "samples_omitted", m->samples_omitted);
	}
	check_set(m->r, status, m->value_text, m->limit, "%s", buf_str(&d));
	m->r->elapsed_ms = elapsed_ms;
	buf_dispose(&d);
	print_result(m->r);
	if (status == CHECK_FAIL) {
		gate_note_failure(g, m->r);
	}
}

static void
fill_facts(struct gate *g, const struct metric *m, size_t n, int evaluations)
{
	struct metrics_facts *f = &g->metrics;
	size_t i;

	f->error_rate_set = m[0].last_set;
	f->error_rate = m[0].last;
	f->latency_set = m[1].last_set;
	f->latency_ms = m[1].last;
	f->samples = evaluations;
	f->baseline_error_rate_set = m[0].baseline_asked && m[0].baseline_outcome == OUTCOME_OK;
	f->baseline_error_rate = m[0].baseline;
	f->baseline_latency_set = m[1].baseline_asked && m[1].baseline_outcome == OUTCOME_OK;
	f->baseline_latency_ms = m[1].baseline;
	free(f->error_rate_query);
	free(f->latency_query);
	f->error_rate_query = m[0].expr != NULL ? xstrdup(m[0].expr) : NULL;
	f->latency_query = m[1].expr != NULL ? xstrdup(m[1].expr) : NULL;
	for (i = 2; i < n && i - 2 < f->n_named; i++) {
		f->named[i - 2].set = m[i].last_set;
		f->named[i - 2].value = m[i].last;
	}
}

static void
skip_all(struct gate *g, const char *why)
{
	const struct config *cfg = g->cfg;
	struct check_result *r;
	size_t i;

	r = check_list_add(&g->checks, "error-rate", PHASE_METRICS);
	check_set(r, CHECK_SKIP, NULL, NULL, "%s: error rate not checked", why);
	print_result(r);
	r = check_list_add(&g->checks, "latency", PHASE_METRICS);
	check_set(r, CHECK_SKIP, NULL, NULL, "%s: latency not checked", why);
	print_result(r);
	for (i = 0; i < cfg->n_metrics; i++) {
		char *name = xasprintf("metric:%s", cfg->metrics[i].name);
		r = check_list_add(&g->checks, name, PHASE_METRICS);
		check_set(r, CHECK_SKIP, NULL, NULL, "%s: not checked", why);
		print_result(r);
		free(name);
	}
}

static void
log_plan(const struct gate *g, const struct metric *m, size_t n, int total, int64_t baseline_at)
{
	const struct config *cfg = g->cfg;
	char *url = url_for_log(cfg->prometheus_url);
	char auth[96];
	size_t i;

	if (cfg->prometheus_token != NULL) {
		(void)snprintf(auth, sizeof(auth), " (bearer token set)");
	} else if (cfg->prometheus_username != NULL) {
		(void)snprintf(auth, sizeof(auth), " (basic auth)");
	} else {
		auth[0] = '\0';
	}
	log_info("prometheus: %s%s%s; on-no-data %s, on-query-error %s", url, auth,
		 cfg->prometheus_headers != NULL ? ", extra headers set" : "",
		 policy_name(cfg->on_no_data), policy_name(cfg->on_query_error));
	/* the reason says why; which limits it chose is said once, here and in the summary */
	log_info("limits: %s (%s)", cfg->production ? "production" : "staging",
		 cfg->production_reason != NULL ? cfg->production_reason : "");
	for (i = 0; i < n; i++) {
		log_info("%s: %s: %s", m[i].name,
			 m[i].judged ? m[i].limit : "not judged (max-latency is not set)",
			 m[i].tmpl);
	}
	if (baseline_at > 0) {
		char when[40];
		time_format_utc(when, sizeof(when), baseline_at * 1000);
		log_info("baseline: the queries with an increase limit evaluated at %s (%s)", when,
			 cfg->baseline_time >= 0 ? "baseline-time"
						 : "the newest ReplicaSet's creation");
	}
	if (total > 1) {
		char dur[32], every[32];
		duration_format(dur, sizeof(dur), cfg->monitor_duration_ms);
		duration_format(every, sizeof(every), cfg->monitor_interval_ms);
		log_info("monitoring for %s every %s (%d evaluations), stopping at the first "
			 "failure",
			 dur, every, total);
	}
	free(url);
}

/* the queries of one evaluation: each metric's, the traffic query, and the first time the baselines */
struct round {
	struct prom_query *q;
	size_t n;
	size_t traffic;   /* index of the traffic query, or SIZE_MAX */
	size_t *baseline; /* per metric: index of its baseline query, or SIZE_MAX */
	size_t baseline_traffic;
};

static size_t
round_add(struct round *rd, const char *expr, int64_t time)
{
	struct prom_query *q = &rd->q[rd->n];

	memset(q, 0, sizeof(*q));
	q->expr = expr;
	q->time = time;
	return rd->n++;
}

static void
round_build(struct round *rd,
	    struct metric *m,
	    size_t n,
	    const struct gate *g,
	    bool with_baseline,
	    int64_t at)
{
	bool default_query;
	size_t i;

	rd->q = xcalloc(2 * n + 2, sizeof(*rd->q));
	rd->baseline = xcalloc(n, sizeof(*rd->baseline));
	rd->n = 0;
	rd->traffic = SIZE_MAX;
	rd->baseline_traffic = SIZE_MAX;
	for (i = 0; i < n; i++) {
		expand(&m[i], g);
		(void)round_add(rd, m[i].expr, 0);
		rd->baseline[i] = SIZE_MAX;
	}
	default_query =
		m[0].expr != NULL && strcmp(m[0].expr, CONFIG_DEFAULT_ERROR_RATE_QUERY) == 0;
	if (default_query) {
		rd->traffic = round_add(rd, CONFIG_DEFAULT_TRAFFIC_QUERY, 0);
	}
	for (i = 0; with_baseline && i < n; i++) {
		if (m[i].increase.kind != INCREASE_NONE && m[i].expr != NULL && at > 0) {
			rd->baseline[i] = round_add(rd, m[i].expr, at);
		}
	}
	if (with_baseline && default_query && rd->baseline[0] != SIZE_MAX) {
		rd->baseline_traffic = round_add(rd, CONFIG_DEFAULT_TRAFFIC_QUERY, at);
	}
}

static void
round_dispose(struct round *rd)
{
	size_t i;

	for (i = 0; i < rd->n; i++) {
		prom_result_dispose(&rd->q[i].result);
	}
	free(rd->q);
	free(rd->baseline);
	memset(rd, 0, sizeof(*rd));
}

/* the queries that could not be expanded: never sent, answered here */
static void
round_mark_unsent(struct round *rd, const struct metric *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].expr == NULL) {
			rd->q[i].rc =
				error_set(&rd->q[i].err, ERR_NOT_FOUND, "%s", m[i].expand_error);
		}
	}
}

static int
round_run(struct round *rd,
	  const struct prom_client *client,
	  const struct metric *m,
	  size_t n,
	  struct error *err)
{
	struct prom_query *sendable = xcalloc(rd->n + 1, sizeof(*sendable));
	size_t *index = xcalloc(rd->n + 1, sizeof(*index));
	size_t i, k = 0;
	int rc;

	for (i = 0; i < rd->n; i++) {
		if (rd->q[i].expr != NULL) {
			sendable[k] = rd->q[i];
			index[k++] = i;
		}
	}
	rc = prom_query_run(client, sendable, k, err);
	for (i = 0; i < k; i++) {
		rd->q[index[i]] = sendable[i]; /* the results now belong to the round */
	}
	round_mark_unsent(rd, m, n);
	free(sendable);
	free(index);
	return rc;
}

/* the deploy start: baseline-time, else the newest ReplicaSet's creation; 0 when unknown */
static int64_t
baseline_at(const struct gate *g)
{
	if (g->cfg->baseline_time >= 0) {
		return g->cfg->baseline_time;
	}
	return g->release.created_s;
}

static void
judge_round(struct metric *m,
	    size_t n,
	    const struct round *rd,
	    const struct gate *g,
	    bool first,
	    int64_t at)
{
	size_t i;

	for (i = 0; first && i < n; i++) {
		if (m[i].increase.kind == INCREASE_NONE) {
			continue;
		}
		m[i].baseline_asked = true;
		if (rd->baseline[i] != SIZE_MAX) {
			judge_baseline(&m[i], &rd->q[rd->baseline[i]],
				       i == 0 && rd->baseline_traffic != SIZE_MAX
					       ? &rd->q[rd->baseline_traffic]
					       : NULL,
				       at);
		} else {
			m[i].baseline_outcome = m[i].expr == NULL ? OUTCOME_ERROR : OUTCOME_NO_DATA;
			(void)snprintf(m[i].baseline_text, sizeof(m[i].baseline_text), "unknown");
			free(m[i].baseline_detail);
			m[i].baseline_detail = xstrdup(
				m[i].expr == NULL
					? "the query could not be expanded"
					: "the deploy start is unknown (set baseline-time)");
		}
	}
	for (i = 0; i < n; i++) {
		judge(&m[i], g->cfg, &rd->q[i],
		      i == 0 && rd->traffic != SIZE_MAX ? &rd->q[rd->traffic] : NULL);
	}
}

/* "error-rate", "error-rate and latency", "error-rate, latency and metric:x" */
static char *
failed_names(const struct metric *m, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i, count = 0, seen = 0;

	for (i = 0; i < n; i++) {
		count += m[i].status == CHECK_FAIL;
	}
	for (i = 0; i < n; i++) {
		if (m[i].status != CHECK_FAIL) {
			continue;
		}
		seen++;
		if (seen > 1) {
			buf_puts(&b, seen == count ? " and " : ", ");
		}
		buf_puts(&b, m[i].name);
	}
	if (count == 0) {
		return NULL;
	}
	return buf_steal(&b);
}

static void
client_init(struct prom_client *client, const struct gate *g)
{
	const struct config *cfg = g->cfg;

	memset(client, 0, sizeof(*client));
	client->http = g->http;
	client->base_url = cfg->prometheus_url;
	client->token = cfg->prometheus_token;
	client->username = cfg->prometheus_username;
	client->password = cfg->prometheus_password;
	client->headers = (const char *const *)cfg->prometheus_headers;
	client->timeout_ms = cfg->request_timeout_ms;
	client->retry = g->retry;
}

static int
evaluations_planned(const struct gate *g)
{
	const struct config *cfg = g->cfg;
	int total = 1;

	if (cfg->monitor_duration_ms > 0 && cfg->monitor_interval_ms > 0) {
		/* durations are at most 24h and intervals at least 1ms: this fits an int */
		total = (int)(cfg->monitor_duration_ms / cfg->monitor_interval_ms + 1);
	}
	if (total > 1 && g->first_failure_ms != 0) {
		char dur[32];
		duration_format(dur, sizeof(dur), cfg->monitor_duration_ms);
		log_info("'%s' already failed: one evaluation instead of monitoring for %s",
			 g->first_failure, dur);
		total = 1;
	}
	return total;
}

void
metrics_facts_dispose(struct metrics_facts *f)
{
	size_t i;

	if (f == NULL) {
		return;
	}
	free(f->error_rate_query);
	free(f->latency_query);
	for (i = 0; i < f->n_named; i++) {
		free(f->named[i].name);
	}
	free(f->named);
	memset(f, 0, sizeof(*f));
}

struct json_object *
metrics_named_json(const struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct json_object *obj = json_object_new_object();
	size_t i, j;

	for (i = 0; i < cfg->n_metrics; i++) {
		struct json_object *num = NULL;
		for (j = 0; j < g->metrics.n_named; j++) {
			const struct metric_value *v = &g->metrics.named[j];
			if (strcmp(v->name, cfg->metrics[i].name) == 0 && v->set && isfinite(v->value)) {
				char digits[32];
				/* ten significant digits, as the samples: 0.001, not 0.0009999999999999998 */
				(void)snprintf(digits, sizeof(digits), "%.10g", v->value);
				num = json_object_new_double_s(v->value, digits);
			}
		}
		jsonh_add(obj, cfg->metrics[i].name, num);
	}
	return obj;
}

/* the checks, in order: error-rate, latency, then the metrics input's; the gate's facts follow them */
static struct metric *
metrics_new(struct gate *g, size_t n)
{
	const struct config *cfg = g->cfg;
	struct metric *m = xcalloc(n, sizeof(*m));
	size_t i;

	metric_init_builtin(&m[0], g, METRIC_ERROR_RATE);
	metric_init_builtin(&m[1], g, METRIC_LATENCY);
	g->metrics.named = xcalloc(cfg->n_metrics + 1, sizeof(*g->metrics.named));
	g->metrics.n_named = cfg->n_metrics;
	for (i = 0; i < cfg->n_metrics; i++) {
		metric_init_named(&m[2 + i], g, &cfg->metrics[i]);
		g->metrics.named[i].name = xstrdup(cfg->metrics[i].name);
	}
	return m;
}

/* evaluation k: expand the templates, send every query in one batch, judge, record, report progress */
static int
evaluate(struct metric *m,
	 size_t n,
	 struct gate *g,
	 const struct prom_client *client,
	 int k,
	 int total,
	 int64_t start,
	 int64_t at,
	 struct error *err)
{
	struct round rd;
	struct buf line = BUF_INIT;
	size_t i;
	int rc;

	round_build(&rd, m, n, g, k == 0, at);
	rc = round_run(&rd, client, m, n, err);
	if (rc == 0) {
		judge_round(m, n, &rd, g, k == 0, at);
		for (i = 0; i < n; i++) {
			record_sample(&m[i], clock_ms() - start);
		}
	}
	round_dispose(&rd);
	if (rc < 0 || total <= 1) {
		return rc;
	}
	buf_printf(&line, "  [%d/%d] ", k + 1, total);
	for (i = 0; i < n; i++) {
		buf_puts(&line, i > 0 ? ", " : "");
		progress_part(&line, &m[i]);
	}
	log_info("%s", buf_str(&line));
	buf_dispose(&line);
	return 0;
}

int
metrics_run(struct gate *g, struct error *err)
{
	const struct config *cfg = g->cfg;
	struct prom_client client;
	struct metric *m;
	char *stopped_by = NULL;
	int64_t start, interval = cfg->monitor_interval_ms, at = baseline_at(g);
	int total, k, done = 0;
	int rc = 0;
	size_t i, n = 2 + cfg->n_metrics;

	if (cfg->prometheus_url == NULL) {
		skip_all(g, "prometheus-url is not set");
		return 0;
	}
	total = evaluations_planned(g);
	client_init(&client, g);
	m = metrics_new(g, n);
	if (config_wants_baseline(cfg)) {
		g->metrics.baseline_time_s = at;
	}
	log_plan(g, m, n, total, config_wants_baseline(cfg) ? at : 0);

	start = clock_ms();
	for (k = 0; k < total; k++) {
		if (k > 0) {
			int64_t wait = start + (int64_t)k * interval - clock_ms();
			if (wait > 0 && cancel_sleep_ms(wait) < 0) {
				rc = error_set(err, ERR_CANCELLED,
					       "cancelled while monitoring metrics");
				break;
			}
			if (clock_ms() - start > cfg->monitor_duration_ms + interval) {
				/* slow answers ate the window: it is over, whatever the count says */
				break;
			}
		}
		rc = evaluate(m, n, g, &client, k, total, start, at, err);
		if (rc < 0) {
			break;
		}
		done++;
		fill_facts(g, m, n, done);
		stopped_by = failed_names(m, n);
		if (stopped_by != NULL) {
			break;
		}
	}

	for (i = 0; i < n; i++) {
		if (rc < 0) {
			check_set(m[i].r, CHECK_SKIP, m[i].evaluations > 0 ? m[i].value_text : NULL,
				  m[i].limit,
				  "not completed: the job was cancelled after %d evaluation%s",
				  done, done == 1 ? "" : "s");
			m[i].r->elapsed_ms = clock_ms() - start;
			print_result(m[i].r);
		} else {
			/* a stop by the other check is named; a stop by this one is its own detail */
			finish_metric(&m[i], g,
				      stopped_by != NULL && k + 1 < total ? stopped_by : NULL,
				      total, clock_ms() - start);
		}
		metric_dispose(&m[i]);
	}
	free(stopped_by);
	free(m);
	return rc;
}
