/* SPDX-License-Identifier: MIT */
/* issue 15's pure parts: query templates, increase limits, the metrics list, the production rule */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metricdef.h"
#include "promql.h"
#include "tap.h"
#include "util.h"

/* -Wwrite-strings: literals are const, the vectors are not */
static char d1[] = "atom.api", d2[] = "atom-worker", r1[] = "atom.api-7c9f8d5b4",
	    r2[] = "atom-worker-5d6f7";
static char *const deployments[] = { d1, d2, NULL };
static char *const new_rs[] = { r1, r2, NULL };

static void
vars_init(struct promql_vars *v)
{
	memset(v, 0, sizeof(*v));
	v->namespace = "shop";
	v->environment = "Production (EU)";
	v->deployments = deployments;
	v->new_replicasets = new_rs;
	v->since_deploy_s = 183;
}

static char *
expand(const char *tmpl, const struct promql_vars *v, struct error *err)
{
	char *out = NULL;
	error_clear(err);
	if (promql_template_expand(&out, tmpl, v, err) < 0) {
		return NULL;
	}
	return out;
}

static void
test_promql__expand(void)
{
	struct promql_vars v;
	struct error err = ERROR_INIT;
	unsigned used = 0;
	char *s;

	vars_init(&v);
	s = expand("sum(rate(x{namespace=\"{{namespace}}\",env=\"{{environment}}\"}[5m]))", &v,
		   &err);
	is_str(s, "sum(rate(x{namespace=\"shop\",env=\"Production (EU)\"}[5m]))",
	       "namespace and environment");
	free(s);
	s = expand("max(q{deployment=~\"{{deployments}}\"})", &v, &err);
	is_str(s, "max(q{deployment=~\"atom\\\\.api|atom-worker\"})",
	       "deployments: regex-escaped then string-escaped (atom\\\\.api in the query text)");
	free(s);
	s = expand("x{pod=~\"{{new_pods}}\"}", &v, &err);
	is_str(s, "x{pod=~\"atom\\\\.api-7c9f8d5b4-.*|atom-worker-5d6f7-.*\"}",
	       "new_pods: one alternative per ReplicaSet");
	free(s);
	s = expand("rate(x[{{since_deploy}}])", &v, &err);
	is_str(s, "rate(x[183s])", "since_deploy as a PromQL duration");
	free(s);
	v.since_deploy_s = 4;
	s = expand("rate(x[{{ since_deploy }}])", &v, &err);
	is_str(s, "rate(x[30s])", "since_deploy at least 30s; spaces inside the braces allowed");
	free(s);
	s = expand("x{a='{{environment}}'}", &v, &err);
	is_str(s, "x{a='Production (EU)'}", "single-quoted strings take values too");
	free(s);

	/* hostile values stay inside their quotes */
	v.environment = "a\"}) or vector(1) #\\\n'";
	s = expand("x{env=\"{{environment}}\"}", &v, &err);
	is_str(s, "x{env=\"a\\\"}) or vector(1) #\\\\\\n'\"}",
	       "a quote, backslash and newline are escaped");
	free(s);
	s = expand("x{env='{{environment}}'}", &v, &err);
	is_str(s, "x{env='a\"}) or vector(1) #\\\\\\n\\''}",
	       "in a single-quoted string the single quote is escaped");
	free(s);
	v.environment = "tab\there\x01";
	s = expand("x{env=\"{{environment}}\"}", &v, &err);
	is_str(s, "x{env=\"tab\\x09here\\x01\"}", "control characters as \\x escapes");
	free(s);

	/* the template's own strings and comments are understood */
	s = expand("x{a=\"\\\"{{namespace}}\"} # {{unknown}} left as written\n", &v, &err);
	is_str(s, "x{a=\"\\\"shop\"} # {{unknown}} left as written\n",
	       "escaped quote in the template; comment untouched");
	free(s);

	/* values not known */
	v.new_replicasets = NULL;
	s = expand("x{pod=~\"{{new_pods}}\"}", &v, &err);
	ok(s == NULL && err.code == ERR_NOT_FOUND && strstr(err.msg, "{{new_pods}}") != NULL,
	   "new_pods unknown: %s", err.msg);
	v.since_deploy_s = -1;
	s = expand("rate(x[{{since_deploy}}])", &v, &err);
	ok(s == NULL && err.code == ERR_NOT_FOUND, "since_deploy unknown: %s", err.msg);

	ok(promql_template_check(&used,
				 "x{a=\"{{new_pods}}\"}[{{since_deploy}}] / y{b=\"{{namespace}}\"}",
				 &err) == 0 &&
		   used == (PROMQL_NEW_PODS | PROMQL_SINCE_DEPLOY | PROMQL_NAMESPACE),
	   "check collects the placeholders used (%u)", used);
	ok(promql_template_check(&used, CONFIG_DEFAULT_ERROR_RATE_QUERY, &err) == 0 && used == 0,
	   "the default query has none");
}

static void
test_promql__errors(void)
{
	static const struct {
		const char *tmpl;
		const char *words;
	} cases[] = {
		{ "x{a=\"{{pods}}\"}", "unknown placeholder {{pods}} at character 6" },
		{ "x{a=\"{{Namespace}}\"}", "unknown placeholder {{Namespace}}" },
		{ "x{a=\"{{namespace}\"}", "does not start a placeholder" },
		{ "x{a=\"{{}}\"}", "does not start a placeholder" },
		{ "x{{", "does not start a placeholder" },
		{ "max(x) by ({{namespace}})", "must be inside a quoted label value" },
		{ "x{a=`{{deployments}}`}", "raw string" },
		{ "x{a=\"b\"} or {{environment}}", "must be inside a quoted label value" },
	};
	struct error err = ERROR_INIT;
	unsigned used;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error_clear(&err);
		ok(promql_template_check(&used, cases[i].tmpl, &err) == ERR_CONFIG &&
			   strstr(err.msg, cases[i].words) != NULL,
		   "%s: %s", cases[i].tmpl, err.msg);
	}
	ok(promql_template_check(&used, "rate(x[{{since_deploy}}]) and y{a=\"[{{since_deploy}}]\"}",
				 &err) == 0,
	   "since_deploy outside strings, or inside as text");
	{
		char *re = promql_regex_escape("a.b+c*d?e(f)g|h[i]j{k}l^m$n\\o");
		is_str(re, "a\\.b\\+c\\*d\\?e\\(f\\)g\\|h\\[i\\]j\\{k\\}l\\^m\\$n\\\\o",
		       "every RE2 metacharacter escaped");
		free(re);
	}
}

static void
test_promql__increase(void)
{
	static const struct {
		const char *text;
		enum increase_subject subject;
		enum increase_kind kind;
		double value;
	} good[] = {
		{ "+0.5%", INCREASE_OF_ERROR_RATE, INCREASE_POINTS, 0.005 },
		{ "2x", INCREASE_OF_ERROR_RATE, INCREASE_RATIO, 2.0 },
		{ "1.5X", INCREASE_OF_ERROR_RATE, INCREASE_RATIO, 1.5 },
		{ "+20%", INCREASE_OF_LATENCY, INCREASE_PERCENT, 0.2 },
		{ "+100ms", INCREASE_OF_LATENCY, INCREASE_ABSOLUTE, 100.0 },
		{ "+1.5s", INCREASE_OF_LATENCY, INCREASE_ABSOLUTE, 1500.0 },
		{ "1.5x", INCREASE_OF_LATENCY, INCREASE_RATIO, 1.5 },
		{ "+20%", INCREASE_OF_METRIC, INCREASE_PERCENT, 0.2 },
		{ "+100", INCREASE_OF_METRIC, INCREASE_ABSOLUTE, 100.0 },
		{ "3x", INCREASE_OF_METRIC, INCREASE_RATIO, 3.0 },
		{ "", INCREASE_OF_METRIC, INCREASE_NONE, 0.0 },
	};
	static const struct {
		const char *text;
		enum increase_subject subject;
	} bad[] = {
		{ "0.5%", INCREASE_OF_ERROR_RATE },   { "+0.5", INCREASE_OF_ERROR_RATE },
		{ "+0.5ms", INCREASE_OF_ERROR_RATE }, { "-2x", INCREASE_OF_ERROR_RATE },
		{ "0x", INCREASE_OF_ERROR_RATE },     { "+-1%", INCREASE_OF_ERROR_RATE },
		{ "+20", INCREASE_OF_LATENCY },       { "20%", INCREASE_OF_LATENCY },
		{ "+inf%", INCREASE_OF_LATENCY },     { "x", INCREASE_OF_METRIC },
		{ "+nan", INCREASE_OF_METRIC },       { "+0x10", INCREASE_OF_METRIC },
	};
	struct increase_limit l;
	struct error err = ERROR_INIT;
	bool defined;
	double inc;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = metricdef_parse_increase(&l, good[i].text, good[i].subject, &err);
		ok(rc == 0 && l.kind == good[i].kind && fabs(l.value - good[i].value) < 1e-12,
		   "'%s' parses (%d, %g)", good[i].text, (int)l.kind, l.value);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		ok(metricdef_parse_increase(&l, bad[i].text, bad[i].subject, &err) == ERR_CONFIG &&
			   err.msg[0] != '\0',
		   "'%s' refused: %s", bad[i].text, err.msg);
	}

	(void)metricdef_parse_increase(&l, "+0.5%", INCREASE_OF_ERROR_RATE, &err);
	ok(!metricdef_increase_exceeded(&l, 0.006, 0.001, &defined, &inc) && defined &&
		   fabs(inc - 0.005) < 1e-12,
	   "+0.5 points: exactly at the limit holds");
	ok(metricdef_increase_exceeded(&l, 0.0061, 0.001, &defined, &inc), "+0.51 points exceeds");
	(void)metricdef_parse_increase(&l, "2x", INCREASE_OF_ERROR_RATE, &err);
	ok(!metricdef_increase_exceeded(&l, 0.002, 0.001, &defined, &inc) && defined,
	   "2x at the limit holds");
	ok(metricdef_increase_exceeded(&l, 0.0021, 0.001, &defined, &inc), "2.1x exceeds");
	ok(!metricdef_increase_exceeded(&l, 0.5, 0.0, &defined, &inc) && !defined,
	   "a ratio to 0 is not defined");
	(void)metricdef_parse_increase(&l, "+20%", INCREASE_OF_LATENCY, &err);
	ok(metricdef_increase_exceeded(&l, 121.0, 100.0, &defined, &inc) && fabs(inc - 0.21) < 1e-9,
	   "+21%% exceeds +20%%");
	ok(!metricdef_increase_exceeded(&l, 120.0, 100.0, &defined, &inc), "+20%% holds");
	ok(!metricdef_increase_exceeded(&l, 1.0, 0.0, &defined, &inc) && !defined,
	   "relative to 0 is not defined");
	(void)metricdef_parse_increase(&l, "+100ms", INCREASE_OF_LATENCY, &err);
	ok(metricdef_increase_exceeded(&l, 100.5, 0.0, &defined, &inc) && defined,
	   "+100ms over a 0 baseline is judged");
	ok(!metricdef_increase_exceeded(&l, 50.0, 80.0, &defined, &inc) && inc < 0,
	   "a decrease never exceeds");
}

static void
test_promql__metrics_list(void)
{
	static const struct {
		const char *yaml;
		const char *words;
	} bad[] = {
		{ "- name: [", "invalid YAML at line" },
		{ "name: a", "expected a YAML list" },
		{ "- just text", "item 1 (line 1): expected a mapping" },
		{ "- query: up\n  max: 1", "item 1: key 'name': required" },
		{ "- name: A\n  query: up\n  max: 1", "item 1: key 'name': expected lower-case" },
		{ "- name: -a\n  query: up\n  max: 1", "key 'name': expected lower-case" },
		{ "- name: error-rate\n  query: up\n  max: 1", "built-in check" },
		{ "- name: a\n  name: b\n  query: up\n  max: 1", "key 'name': given twice" },
		{ "- name: a\n  query: up\n  max: 1\n- name: a\n  query: up\n  max: 1",
		  "item 2: key 'name': the name is already used by item 1" },
		{ "- name: a\n  max: 1", "item 1 (a): key 'query': required" },
		{ "- name: a\n  query: up",
		  "item 1 (a): key 'max': at least one of max, min or max-increase" },
		{ "- name: a\n  query: up\n  max: ten",
		  "item 1 (a): key 'max': expected a number, got 'ten'" },
		{ "- name: a\n  query: up\n  max: .inf", "key 'max': expected a number" },
		{ "- name: a\n  query: up\n  min: 0x10", "key 'min': expected a number" },
		{ "- name: a\n  query: up\n  max: 1\n  min: 2", "key 'min': greater than max" },
		{ "- name: a\n  query: up\n  max-increase: 50%", "key 'max-increase'" },
		{ "- name: a\n  query: up\n  max: 1\n  on-no-data: skip",
		  "key 'on-no-data': expected pass, warn or fail" },
		{ "- name: a\n  query: up\n  max: 1\n  on-query-error: pass",
		  "key 'on-query-error': expected warn or fail" },
		{ "- name: a\n  query: up\n  max: 1\n  limit: 2", "key 'limit': unknown key" },
		{ "- name: a\n  query: up\n  max: 1\n  max: 2", "key 'max': given twice" },
		{ "- name: a\n  query: up\n  max: [1]", "key 'max': expected a value" },
		{ "- name: a\n  query: up\n  max:", "key 'max': expected a value" },
		{ "- name: a\n  query: 'x{a=\"{{pod}}\"}'\n  max: 1",
		  "key 'query': unknown placeholder {{pod}}" },
		{ "- name: a\n  query: x{a=`{{namespace}}`}\n  max: 1",
		  "key 'query': {{namespace}} at character 6 is inside a `raw string`" },
	};
	struct metric_def *list = NULL;
	struct error err = ERROR_INIT;
	size_t n = 0, i;
	int rc;

	rc = metricdef_parse_list(
		&list, &n,
		"- name: checkout-errors\n"
		"  query: "
		"sum(rate(checkout_failed_total{namespace=\"{{namespace}}\"}[{{since_deploy}}]))\n"
		"  max: 0.5\n"
		"- name: queue-depth\n"
		"  query: max(queue_depth{deployment=~\"{{deployments}}\"})\n"
		"  max: 1000\n"
		"  max-increase: 1.5x\n"
		"  on-no-data: fail\n"
		"- name: free-slots\n"
		"  query: min(slots)\n"
		"  min: -2.5e1\n"
		"  on-query-error: warn\n",
		&err);
	ok(rc == 0 && n == 3, "the issue's example parses (%s)", err.msg);
	if (rc == 0 && n == 3) {
		ok(strcmp(list[0].name, "checkout-errors") == 0 && list[0].has_max &&
			   list[0].max == 0.5 && !list[0].has_min && list[0].on_no_data == -1,
		   "item 1");
		ok(list[1].increase.kind == INCREASE_RATIO && list[1].increase.value == 1.5 &&
			   list[1].on_no_data == POLICY_FAIL,
		   "item 2: max-increase and on-no-data");
		ok(list[2].has_min && list[2].min == -25.0 && list[2].on_query_error == POLICY_WARN,
		   "item 3: min");
	}
	metricdef_list_free(list, n);
	ok(metricdef_parse_list(&list, &n, "", &err) == 0 && n == 0 && list == NULL,
	   "empty: no metrics");
	ok(metricdef_parse_list(&list, &n, "# nothing\n", &err) == 0 && n == 0,
	   "a comment only: no metrics");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		rc = metricdef_parse_list(&list, &n, bad[i].yaml, &err);
		ok(rc == ERR_CONFIG && strstr(err.msg, bad[i].words) != NULL && list == NULL,
		   "refused: %s", err.msg);
		if (rc == 0) {
			metricdef_list_free(list, n);
		}
	}
}

static void
test_promql__production_rule(void)
{
	static const struct {
		const char *environment;
		bool production;
		const char *why;
	} table[] = {
		{ "production", true, "matched \"production\" in \"production\"" },
		{ "prod", true, "matched \"prod\"" },
		{ "PROD", true, "matched \"PROD\"" },
		{ "prd", true, "matched \"prd\"" },
		{ "prod-eu", true, "matched \"prod\" in \"prod-eu\"" },
		{ "eu_prod", true, "matched \"prod\" in \"eu_prod\"" },
		{ "eu.prd.1", true, "matched \"prd\"" },
		{ "team/prod", true, "matched \"prod\"" },
		{ "Production (EU)", true, "matched \"Production\"" },
		{ "pre-prod", false, "\"pre\" in \"pre-prod\" marks it as not production" },
		{ "non-prod", false, "\"non\"" },
		{ "not_production", false, "\"not\"" },
		{ "prod pre", false, "\"pre\"" },
		{ "preprod", false, "no part of \"preprod\"" },
		{ "production2", false, "no part" },
		{ "staging", false, "no part of \"staging\" is production, prod or prd" },
		{ "products", false, "no part" },
		{ "", false, "no part" },
		{ "--", false, "no part" },
	};
	char why[160];
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		bool got = config_production_auto(why, sizeof(why), table[i].environment);
		ok(got == table[i].production && strstr(why, table[i].why) != NULL, "'%s': %s (%s)",
		   table[i].environment, got ? "production" : "staging", why);
	}
}

static void
test_promql__headers_and_time(void)
{
	struct error err = ERROR_INIT;
	char **h = NULL;
	int64_t t = 0;

	ok(config_parse_headers(&h, "X-Scope-OrgID: team-a\r\n\r\nX-Extra:   spaced value  \n",
				&err) == 0 &&
		   h != NULL && strv_len(h) == 2,
	   "two headers, a Windows line end and a blank line (%s)", err.msg);
	if (h != NULL && strv_len(h) == 2) {
		is_str(h[0], "X-Scope-OrgID: team-a", "trailing CR dropped");
		is_str(h[1], "X-Extra: spaced value", "value trimmed");
	}
	strv_free(h);
	h = NULL;
	{
		char *scrubbed;
		ok(config_parse_headers(&h, "X-Tenant: tenant-Zq9\nX-Debug: 1\n", &err) == 0, "two more headers");
		scrubbed = log_scrub("tenant-Zq9 and 1");
		ok(strstr(scrubbed, "tenant-Zq9") == NULL && strstr(scrubbed, " and 1") != NULL,
		   "a value is masked, one under four characters is not: %s", scrubbed);
		free(scrubbed);
		strv_free(h);
		h = NULL;
	}
	ok(config_parse_headers(&h, "X-A: a\rb", &err) == ERR_CONFIG &&
		   strstr(err.msg, "control character") != NULL,
	   "a CR inside a line: %s", err.msg);
	ok(config_parse_headers(&h, "X-A: a\tb", &err) == ERR_CONFIG, "a tab inside a line");
	ok(config_parse_headers(&h, "no colon here", &err) == ERR_CONFIG &&
		   strstr(err.msg, "line 1") != NULL,
	   "no name and colon: %s", err.msg);
	ok(config_parse_headers(&h, ": value", &err) == ERR_CONFIG, "no name");
	ok(config_parse_headers(&h, "X A: b", &err) == ERR_CONFIG, "a space in the name");
	ok(config_parse_headers(&h, "X-A:", &err) == ERR_CONFIG, "an empty value");
	ok(config_parse_headers(&h, "X-A: 1\nhost: evil", &err) == ERR_CONFIG &&
		   strstr(err.msg, "line 2") != NULL,
	   "Host is the action's: %s", err.msg);

	ok(config_parse_time(&t, "2026-12-06T10:00:00Z", &err) == 0 && t == 1796551200,
	   "RFC 3339 Z (%lld)", (long long)t);
	ok(config_parse_time(&t, "2026-12-06T12:00:00.250+02:00", &err) == 0 && t == 1796551200,
	   "offset and fraction");
	ok(config_parse_time(&t, "1796551200", &err) == 0 && t == 1796551200, "Unix seconds");
	ok(config_parse_time(&t, "1796551200.9", &err) == 0 && t == 1796551200,
	   "Unix seconds with a fraction");
	ok(config_parse_time(&t, "2026-12-06", &err) == ERR_CONFIG, "a date alone");
	ok(config_parse_time(&t, "2026-12-06T25:00:00Z", &err) == ERR_CONFIG, "hour 25");
	ok(config_parse_time(&t, "-5", &err) == ERR_CONFIG, "negative");
	ok(config_parse_time(&t, "2026-12-06T10:00:00", &err) == ERR_CONFIG, "no zone");
}

int
main(void)
{
	log_init(false, false);
	test_promql__expand();
	test_promql__errors();
	test_promql__increase();
	test_promql__metrics_list();
	test_promql__production_rule();
	test_promql__headers_and_time();
	log_secrets_dispose();
	return tap_done();
}
