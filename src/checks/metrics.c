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
#include "util.h"

/*
 * The 'error-rate' and 'latency' checks. Each evaluation runs both instant queries in one HTTP
 * batch; with monitor-duration set, evaluations repeat every monitor-interval and stop at the
 * first failure, because the gate must not wait out the window once the release is bad.
 *
 * Three kinds of answer are kept apart, each with its own policy:
 *   a number      judged against the limit (a breach fails, whatever the policies say);
 *   no data       an empty vector or NaN means no traffic, never "0% errors": on-no-data;
 *   query failed  Prometheus unreachable or answering an error: on-query-error, never a breach.
 */

/* values this close to a limit count as at the limit: 1% computed as 0.009999999999999998 is 1% */
#define LIMIT_TOLERANCE 1e-9
/* samples kept per check in the report; a 24h window every second would otherwise be 86400 */
#define MAX_RECORDED_SAMPLES 2000

enum metric_kind {
	METRIC_ERROR_RATE,
	METRIC_LATENCY,
};

enum outcome {
	OUTCOME_OK,      /* measured, within the limit (or not judged) */
	OUTCOME_BREACH,  /* measured, over the limit */
	OUTCOME_NO_DATA,
	OUTCOME_ERROR,   /* query failed, or an answer that cannot be this metric */
};

/* one check across the evaluations */
struct metric {
	enum metric_kind kind;
	const char *name;
	const char *expr;
	struct check_result *r;
	struct json_object *samples; /* borrowed from r->data */
	char limit[48];
	bool judged;

	/* the latest evaluation */
	enum check_status status;
	enum outcome outcome;
	bool measured;
	double value;               /* fraction, or milliseconds */
	char value_text[48];
	char *detail;

	/* over the window */
	int evaluations;
	int not_passed;             /* evaluations that warned */
	char *first_warning;        /* the detail of the first one */
	bool last_set;              /* the most recent measured value */
	double last;
	bool max_set;
	double max;
	char max_text[48];
	bool warned_prometheus;     /* Prometheus "warnings" already logged */
	int samples_omitted;        /* past MAX_RECORDED_SAMPLES */
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
	} else {
		format_ms(out, size, v);
	}
}

static bool
is_breach(const struct metric *m, const struct config *cfg, double v)
{
	if (!m->judged) {
		return false;
	}
	if (m->kind == METRIC_ERROR_RATE) {
		/* "below 1%": at the limit is a breach; with a limit of 0, only 0 passes */
		return v > 0.0 && v >= cfg->max_error_rate * (1.0 - LIMIT_TOLERANCE);
	}
	return v > (double)cfg->max_latency_ms * (1.0 + LIMIT_TOLERANCE);
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

/* judges one query's answer into m's latest-evaluation fields */
/*
 * traffic: with the default error-rate query, the same batch also asks for its denominator, so an
 * empty result can be told apart: requests flowing but no 5xx series ever created (client
 * libraries create a label series on first use) is 0% errors, not "no data".
 */
static void
judge(struct metric *m, const struct config *cfg, const struct prom_query *q, const struct prom_query *traffic)
{
	const char *where = cfg->environment;
	struct buf d = BUF_INIT;
	size_t worst = 0;
	size_t busiest = 0;
	double v;

	m->measured = false;
	m->value = (double)NAN;
	m->evaluations++;
	if (q->rc < 0) {
		/* never a breach: we do not know the rate, so the policy decides */
		enum policy p = cfg->on_query_error;
		m->outcome = OUTCOME_ERROR;
		(void)snprintf(m->value_text, sizeof(m->value_text), "query failed");
		if (q->result.http_status == 0) {
			buf_printf(&d, "query failed, no answer from Prometheus: %s", q->err.msg);
		} else {
			buf_printf(&d, "query failed, Prometheus answered %s", q->err.msg);
		}
		if (!m->judged && p == POLICY_FAIL) {
			p = POLICY_WARN; /* nothing is judged, so nothing is hidden by the failure */
		}
		buf_printf(&d, " (on-query-error: %s; not counted as a breach)", policy_name(p));
		m->status = policy_status(p);
		goto out;
	}
	if (q->result.n == 0 && m->kind == METRIC_ERROR_RATE && traffic != NULL && traffic->rc == 0 &&
	    prom_result_worst(&busiest, &traffic->result) && isfinite(traffic->result.samples[busiest].value) &&
	    traffic->result.samples[busiest].value > 0.0) {
		v = 0.0;
		format_value(m->value_text, sizeof(m->value_text), m, v);
		buf_printf(&d, "no 5xx series exists while %.4g requests/s were served: 0%% errors; ",
			   traffic->result.samples[busiest].value);
		goto measured;
	}
	if (!prom_result_worst(&worst, &q->result)) {
		enum policy p = cfg->on_no_data;
		m->outcome = OUTCOME_NO_DATA;
		(void)snprintf(m->value_text, sizeof(m->value_text), "no data");
		if (q->result.n == 0) {
			/*
			 * a counter never incremented has no series: with no 5xx yet, the default query's
			 * numerator is absent and the division returns nothing, though traffic flows
			 */
			buf_puts(&d, "no traffic seen: the query returned no series (metric absent, no samples in the window, "
				     "or a divided series such as 5xx does not exist yet)");
		} else if (m->kind == METRIC_ERROR_RATE) {
			buf_printf(&d, "no traffic seen: the query returned NaN%s (0/0: no requests in the window)",
				   q->result.n > 1 ? " for every series" : "");
		} else {
			buf_printf(&d, "no traffic seen: the query returned NaN%s (no requests observed in the window)",
				   q->result.n > 1 ? " for every series" : "");
		}
		if (!m->judged && p == POLICY_FAIL) {
			p = POLICY_WARN;
		}
		buf_printf(&d, " (on-no-data: %s)", policy_name(p));
		m->status = policy_status(p);
		add_prometheus_warnings(&d, m, &q->result);
		goto out;
	}

	v = q->result.samples[worst].value;
	if (m->kind == METRIC_LATENCY) {
		v *= 1000.0; /* PromQL speaks seconds */
	}
	format_value(m->value_text, sizeof(m->value_text), m, v);
	if (v < 0.0) {
		/* -Inf or a negative rate is no measurement of this: the query is wrong, not the release */
		enum policy p = cfg->on_query_error;
		m->outcome = OUTCOME_ERROR;
		if (!m->judged && p == POLICY_FAIL) {
			p = POLICY_WARN;
		}
		buf_printf(&d, "the query returned %.32s, which cannot be %s: check %s (",
			   q->result.samples[worst].value_text,
			   m->kind == METRIC_ERROR_RATE ? "an error rate" : "a latency",
			   m->kind == METRIC_ERROR_RATE ? "error-rate-query" : "latency-query");
		describe_series(&d, &q->result, worst);
		buf_printf(&d, "; on-query-error: %s)", policy_name(p));
		m->status = policy_status(p);
		goto out;
	}

measured:
	m->measured = true;
	m->value = v;
	m->last_set = true;
	m->last = v;
	if (!m->max_set || v > m->max) {
		m->max_set = true;
		m->max = v;
		(void)snprintf(m->max_text, sizeof(m->max_text), "%s", m->value_text);
	}
	if (is_breach(m, cfg, v)) {
		m->outcome = OUTCOME_BREACH;
		m->status = CHECK_FAIL;
	} else {
		m->outcome = OUTCOME_OK;
		m->status = CHECK_PASS;
	}
	if (m->kind == METRIC_ERROR_RATE) {
		buf_printf(&d, "%s of requests failed", m->value_text);
		if (m->outcome == OUTCOME_BREACH) {
			buf_printf(&d, ", at or above the limit (%s on %s)", m->limit, where);
		} else {
			buf_printf(&d, " (limit %s on %s)", m->limit, where);
		}
	} else if (!m->judged) {
		buf_printf(&d, "latency %s (not judged: max-latency is not set)", m->value_text);
	} else if (m->outcome == OUTCOME_BREACH) {
		buf_printf(&d, "latency %s, over the limit (%s)", m->value_text, m->limit);
	} else {
		buf_printf(&d, "latency %s (limit %s)", m->value_text, m->limit);
	}
	if (q->result.n > 0) {
		buf_puts(&d, "; ");
		describe_series(&d, &q->result, worst);
	}
	if (m->kind == METRIC_ERROR_RATE && m->outcome == OUTCOME_BREACH && v > 1.0) {
		buf_puts(&d, "; above 100%: does error-rate-query give a fraction (0 to 1) rather than a percentage?");
	}
	add_prometheus_warnings(&d, m, &q->result);
out:
	free(m->detail);
	m->detail = buf_steal(&d);
	if (m->status == CHECK_WARN) {
		m->not_passed++;
		if (m->first_warning == NULL) {
			m->first_warning = xstrdup(m->detail);
		}
	}
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
		jsonh_add_string(s, "value", "+Inf"); /* JSON has no infinity */
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
		char *scrubbed = log_scrub(m->detail);
		char *line = check_excerpt(scrubbed, strlen(scrubbed), 2000);
		jsonh_add_string(s, "detail", line);
		free(line);
		free(scrubbed);
	}
	jsonh_append(m->samples, s);
}

static void
metric_init(struct metric *m, struct gate *g, enum metric_kind kind)
{
	const struct config *cfg = g->cfg;
	struct json_object *data = json_object_new_object();

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	if (kind == METRIC_ERROR_RATE) {
		char pct[32];
		m->name = "error-rate";
		m->expr = cfg->error_rate_query;
		m->judged = true;
		/* %.4g: 0.001 is "0.1%", not 0.10000000000000001% */
		(void)snprintf(pct, sizeof(pct), "%.4g%%", cfg->max_error_rate * 100.0);
		(void)snprintf(m->limit, sizeof(m->limit), "< %s", pct);
	} else {
		m->name = "latency";
		m->expr = cfg->latency_query;
		m->judged = cfg->max_latency_ms >= 0;
		if (m->judged) {
			(void)snprintf(m->limit, sizeof(m->limit), "<= %lld ms", (long long)cfg->max_latency_ms);
		} else {
			(void)snprintf(m->limit, sizeof(m->limit), "not judged");
		}
	}
	m->r = check_list_add(&g->checks, m->name, PHASE_METRICS);
	jsonh_add_string(data, "query", m->expr);
	jsonh_add_string(data, "limit", m->limit);
	if (kind == METRIC_ERROR_RATE) {
		char num[32];
		(void)snprintf(num, sizeof(num), "%.6g", cfg->max_error_rate);
		jsonh_add(data, "max", json_object_new_double_s(cfg->max_error_rate, num));
		jsonh_add_string(data, "unit", "fraction");
	} else {
		jsonh_add(data, "max", m->judged ? json_object_new_int64(cfg->max_latency_ms) : NULL);
		jsonh_add_string(data, "unit", "ms");
	}
	m->samples = json_object_new_array();
	jsonh_add(data, "samples", m->samples); /* data owns it; m->samples is borrowed */
	m->r->data = data;
}

static void
metric_dispose(struct metric *m)
{
	free(m->detail);
	free(m->first_warning);
	m->detail = NULL;
	m->first_warning = NULL;
}

static void
print_result(const struct check_result *r)
{
	static const char *const marks[] = { "PASS", "FAIL", "WARN", "SKIP" };
	log_info("  %-4s %-28s %s (%lld ms)", marks[r->status], r->name, r->detail != NULL ? r->detail : "",
		 (long long)r->elapsed_ms);
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
finish_metric(struct metric *m, struct gate *g, const char *stopped_by, int total, int64_t elapsed_ms)
{
	struct buf d = BUF_INIT;
	enum check_status status = m->status;
	char window[32];

	buf_puts(&d, m->detail != NULL ? m->detail : "");
	/* whole seconds read better than "3004ms" for a window of 3s */
	duration_format(window, sizeof(window), elapsed_ms < 1000 ? elapsed_ms : (elapsed_ms + 500) / 1000 * 1000);
	if (total > 1) {
		if (stopped_by != NULL) {
			buf_printf(&d, "; monitoring stopped at evaluation %d of %d after %s: %s failed", m->evaluations,
				   total, window, stopped_by);
		} else {
			buf_printf(&d, "; monitored for %s: %d evaluations", window, m->evaluations);
		}
		if (m->max_set && m->evaluations > 1) {
			buf_printf(&d, ", highest %s", m->max_text);
		}
	}
	if (status == CHECK_PASS && m->not_passed > 0) {
		/* an earlier evaluation warned: the last one passing does not erase it */
		status = CHECK_WARN;
		buf_printf(&d, "; %d of %d evaluations warned, first: %s", m->not_passed, m->evaluations,
			   m->first_warning);
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
fill_facts(struct gate *g, const struct metric *er, const struct metric *lat, int evaluations)
{
	g->metrics.error_rate_set = er->last_set;
	g->metrics.error_rate = er->last;
	g->metrics.latency_set = lat->last_set;
	g->metrics.latency_ms = lat->last;
	g->metrics.samples = evaluations;
}

static void
skip_both(struct gate *g, const char *why)
{
	struct check_result *r;

	r = check_list_add(&g->checks, "error-rate", PHASE_METRICS);
	check_set(r, CHECK_SKIP, NULL, NULL, "%s: error rate not checked", why);
	print_result(r);
	r = check_list_add(&g->checks, "latency", PHASE_METRICS);
	check_set(r, CHECK_SKIP, NULL, NULL, "%s: latency not checked", why);
	print_result(r);
}

static void
log_plan(const struct gate *g, const struct metric *er, const struct metric *lat, int total)
{
	const struct config *cfg = g->cfg;
	char *url = url_for_log(cfg->prometheus_url);

	log_info("prometheus: %s%s; on-no-data %s, on-query-error %s", url,
		 cfg->prometheus_token != NULL ? " (bearer token set)" : "", policy_name(cfg->on_no_data),
		 policy_name(cfg->on_query_error));
	log_info("error-rate: limit %s (%s, %s limits): %s", er->limit, cfg->environment,
		 cfg->production ? "production" : "staging", er->expr);
	log_info("latency: %s: %s", lat->judged ? lat->limit : "not judged (max-latency is not set)", lat->expr);
	if (total > 1) {
		char dur[32], every[32];
		duration_format(dur, sizeof(dur), cfg->monitor_duration_ms);
		duration_format(every, sizeof(every), cfg->monitor_interval_ms);
		log_info("monitoring for %s every %s (%d evaluations), stopping at the first failure", dur, every, total);
	}
	free(url);
}

int
metrics_run(struct gate *g, struct error *err)
{
	const struct config *cfg = g->cfg;
	struct prom_client client;
	struct metric m[2];
	const char *stopped_by = NULL;
	int64_t start, interval = cfg->monitor_interval_ms;
	int total = 1, k, done = 0;
	int rc = 0;
	size_t i;

	if (cfg->prometheus_url == NULL) {
		skip_both(g, "prometheus-url is not set");
		return 0;
	}
	if (cfg->monitor_duration_ms > 0 && interval > 0) {
		/* durations are at most 24h and intervals at least 1ms: this fits an int */
		total = (int)(cfg->monitor_duration_ms / interval + 1);
	}
	if (total > 1 && g->first_failure_ms != 0) {
		char dur[32];
		duration_format(dur, sizeof(dur), cfg->monitor_duration_ms);
		log_info("'%s' already failed: one evaluation instead of monitoring for %s", g->first_failure, dur);
		total = 1;
	}

	memset(&client, 0, sizeof(client));
	client.http = g->http;
	client.base_url = cfg->prometheus_url;
	client.token = cfg->prometheus_token;
	client.timeout_ms = cfg->request_timeout_ms;
	client.retry = g->retry;
	metric_init(&m[0], g, METRIC_ERROR_RATE);
	metric_init(&m[1], g, METRIC_LATENCY);
	log_plan(g, &m[0], &m[1], total);

	start = clock_ms();
	for (k = 0; k < total; k++) {
		struct prom_query q[3];
		struct buf line = BUF_INIT;
		size_t n_queries = 2;

		if (k > 0) {
			int64_t wait = start + (int64_t)k * interval - clock_ms();
			if (wait > 0 && cancel_sleep_ms(wait) < 0) {
				rc = error_set(err, ERR_CANCELLED, "cancelled while monitoring metrics");
				break;
			}
			if (clock_ms() - start > cfg->monitor_duration_ms + interval) {
				/* slow answers ate the window: it is over, whatever the count says */
				break;
			}
		}
		memset(q, 0, sizeof(q));
		q[0].expr = m[0].expr;
		q[1].expr = m[1].expr;
		if (strcmp(m[0].expr, CONFIG_DEFAULT_ERROR_RATE_QUERY) == 0) {
			q[2].expr = CONFIG_DEFAULT_TRAFFIC_QUERY;
			n_queries = 3;
		}
		rc = prom_query_run(&client, q, n_queries, err);
		if (rc < 0) {
			for (i = 0; i < n_queries; i++) {
				prom_result_dispose(&q[i].result);
			}
			break;
		}
		done++;
		for (i = 0; i < 2; i++) {
			judge(&m[i], cfg, &q[i], n_queries == 3 ? &q[2] : NULL);
			record_sample(&m[i], clock_ms() - start);
		}
		for (i = 0; i < n_queries; i++) {
			prom_result_dispose(&q[i].result);
		}
		fill_facts(g, &m[0], &m[1], done);
		if (total > 1) {
			buf_printf(&line, "  [%d/%d] ", k + 1, total);
			progress_part(&line, &m[0]);
			buf_puts(&line, ", ");
			progress_part(&line, &m[1]);
			log_info("%s", buf_str(&line));
			buf_dispose(&line);
		}
		if (m[0].status == CHECK_FAIL || m[1].status == CHECK_FAIL) {
			stopped_by = m[0].status == CHECK_FAIL ? m[0].name : m[1].name;
			if (m[0].status == CHECK_FAIL && m[1].status == CHECK_FAIL) {
				stopped_by = "error-rate and latency";
			}
			break;
		}
	}

	if (rc < 0) {
		for (i = 0; i < 2; i++) {
			check_set(m[i].r, CHECK_SKIP, m[i].evaluations > 0 ? m[i].value_text : NULL, m[i].limit,
				  "not completed: the job was cancelled after %d evaluation%s", done, done == 1 ? "" : "s");
			m[i].r->elapsed_ms = clock_ms() - start;
			print_result(m[i].r);
		}
	} else {
		for (i = 0; i < 2; i++) {
			/* a stop by the other check is named; a stop by this one is its own detail */
			const char *by = stopped_by != NULL && k + 1 < total ? stopped_by : NULL;
			finish_metric(&m[i], g, by, total, clock_ms() - start);
		}
	}
	metric_dispose(&m[0]);
	metric_dispose(&m[1]);
	return rc;
}
