/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http.h"
#include "kubeconfig.h"
#include "log.h"
#include "outside.h"
#include "promql.h"
#include "util.h"


/*
 * An input the workflow leaves out arrives with its action.yml default; one written as `name: ''`
 * arrives set and empty (REFERENCE 1.1), and a local run may leave a variable out altogether
 * (absent: the default applies). An explicit empty value is accepted when the row's default is
 * empty (that is what the runner passes for an input left out) or the row has INPUT_EMPTY_OK
 * (empty switches something off, as the README says); otherwise it is a configuration error
 * naming the input, never a silent default.
 */
enum input_flags {
	INPUT_REQUIRED = 1 << 0,
	INPUT_SECRET = 1 << 1,    /* masked on read, never echoed in errors */
	INPUT_NO_TRIM = 1 << 2,   /* kept byte for byte (passwords) */
	INPUT_EMPTY_OK = 1 << 3,  /* '' means "off" or "none": the parser is given '' */
	INPUT_URL = 1 << 4,       /* the user-info and query values are credentials: masked at start */
};

typedef int input_parse_fn(struct config *cfg, void *field, const char *value, struct error *err);

struct input_spec {
	const char *name;
	const char *default_value;
	input_parse_fn *parse;
	size_t offset;
	int flags;
};

static input_parse_fn parse_string, parse_header_secret, parse_url, parse_url_opt, parse_path, parse_path_opt,
	parse_environment, parse_duration_req, parse_duration_opt, parse_duration_any, parse_bool_field,
	parse_retries, parse_token_path_field, parse_endpoints_field, parse_fraction_field,
	parse_policy3, parse_policy2, parse_list_field, parse_revision, parse_slack_notify,
	parse_promql, parse_kubeconfig, parse_pem, parse_audience, parse_production, parse_headers_field,
	parse_increase_error_rate, parse_increase_latency, parse_time_field, parse_metrics_field, parse_webhook_on,
	parse_managed_rollback;

#define F(x) offsetof(struct config, x)

/*
 * one row per input; defaults must equal action.yml (tests/unit/test-config checks it); flags say
 * what an explicit '' means (INPUT_EMPTY_OK, see enum input_flags) and which values are secrets
 */
static const struct input_spec inputs[] = {
	/* name                 default                     parse                   field                      flags */
	{ "url",                NULL,                       parse_url,              F(url),                    INPUT_REQUIRED | INPUT_URL },
	{ "environment",        NULL,                       parse_environment,      F(environment),            INPUT_REQUIRED },
	{ "production",         "auto",                     parse_production,       F(production_mode),        0 },
	{ "health-path",        "/health",                  parse_path,             F(health_path),            0 },
	{ "db-health-path",     "/health/db",               parse_path_opt,         F(db_health_path),         INPUT_EMPTY_OK },
	{ "max-db-query-time",  "",                         parse_duration_opt,     F(max_db_query_time_ms),   0 },
	{ "login-path",         "/api/auth/login",          parse_path_opt,         F(login_path),             INPUT_EMPTY_OK },
	{ "username",           "",                         parse_string,           F(username),               0 },
	{ "password",           "",                         parse_string,           F(password),               INPUT_SECRET | INPUT_NO_TRIM },
	{ "token-path",         "access_token",             parse_token_path_field, F(token_path),             INPUT_EMPTY_OK },
	{ "endpoints",          "",                         parse_endpoints_field,  F(endpoints),              0 },
	{ "request-timeout",    "10s",                      parse_duration_req,     F(request_timeout_ms),     0 },
	{ "retries",            "3",                        parse_retries,          F(retries),                0 },
	{ "wait-timeout",       "120s",                     parse_duration_any,     F(wait_timeout_ms),        0 },
	{ "dry-run",            "false",                    parse_bool_field,       F(dry_run),                0 },
	{ "prometheus-url",     "",                         parse_url_opt,          F(prometheus_url),         INPUT_URL },
	{ "prometheus-token",   "",                         parse_header_secret,    F(prometheus_token),       INPUT_SECRET },
	{ "prometheus-username", "",                        parse_string,           F(prometheus_username),    0 },
	{ "prometheus-password", "",                        parse_string,           F(prometheus_password),    INPUT_SECRET | INPUT_NO_TRIM },
	{ "prometheus-headers", "",                         parse_headers_field,    F(prometheus_headers),     INPUT_SECRET },
	{ "ca-cert",            "",                         parse_pem,              F(ca_cert),                0 },
	{ "error-rate-query",   CONFIG_DEFAULT_ERROR_RATE_QUERY,   parse_promql,           F(error_rate_query),       0 },
	{ "max-error-rate",     "",                         parse_fraction_field,   F(max_error_rate),         0 },
	{ "latency-query",      CONFIG_DEFAULT_LATENCY_QUERY,      parse_promql,           F(latency_query),          0 },
	{ "max-latency",        "",                         parse_duration_opt,     F(max_latency_ms),         0 },
	{ "monitor-duration",   "0s",                       parse_duration_any,     F(monitor_duration_ms),    0 },
	{ "monitor-interval",   "30s",                      parse_duration_req,     F(monitor_interval_ms),    0 },
	{ "on-no-data",         "warn",                     parse_policy3,          F(on_no_data),             0 },
	{ "on-query-error",     "",                         parse_policy2,          F(on_query_error),         0 },
	{ "max-error-rate-increase", "",                    parse_increase_error_rate, F(max_error_rate_increase), 0 },
	{ "max-latency-increase", "",                       parse_increase_latency, F(max_latency_increase),   0 },
	{ "baseline-time",      "",                         parse_time_field,       F(baseline_time),          0 },
	{ "metrics",            "",                         parse_metrics_field,    F(metrics),                0 },
	{ "rollback",           "true",                     parse_bool_field,       F(rollback),               0 },
	{ "kubeconfig",         "",                         parse_kubeconfig,       F(kubeconfig),             0 },
	{ "kube-context",       "",                         parse_string,           F(kube_context),           0 },
	{ "kube-token",         "",                         parse_header_secret,    F(kube_token),             INPUT_SECRET },
	{ "kube-server",        "",                         parse_url,              F(kube_server),            INPUT_URL },
	{ "kube-ca",            "",                         parse_pem,              F(kube_ca),                0 },
	{ "kube-oidc-audience", "",                         parse_audience,         F(kube_oidc_audience),     0 },
	{ "namespace",          "",                         parse_string,           F(namespace),              0 },
	{ "deployment",         "atom",                     parse_list_field,       F(deployments),            INPUT_EMPTY_OK },
	{ "to-revision",        "",                         parse_revision,         F(to_revision),            0 },
	{ "rollback-timeout",   "5m",                       parse_duration_req,     F(rollback_timeout_ms),    0 },
	{ "github-token",       "",                         parse_header_secret,    F(github_token),           INPUT_SECRET },
	{ "create-issue",       "true",                     parse_bool_field,       F(create_issue),           0 },
	{ "issue-labels",       "deployment-failure,rollback", parse_list_field,    F(issue_labels),           INPUT_EMPTY_OK },
	{ "slack-webhook-url",  "",                         parse_url_opt,          F(slack_webhook_url),      INPUT_SECRET | INPUT_URL },
	{ "slack-notify",       "failure",                  parse_slack_notify,     F(slack_notify),           0 },
	{ "close-on-recovery",  "true",                     parse_bool_field,       F(close_on_recovery),      0 },
	{ "pagerduty-routing-key", "",                      parse_string,           F(pagerduty_routing_key),  INPUT_SECRET },
	{ "pagerduty-events-url", "https://events.pagerduty.com/v2/enqueue", parse_url_opt, F(pagerduty_events_url), INPUT_URL },
	{ "webhook-url",        "",                         parse_url_opt,          F(webhook_url),            INPUT_SECRET | INPUT_URL },
	{ "webhook-secret",     "",                         parse_string,           F(webhook_secret),         INPUT_SECRET },
	{ "webhook-on",         "failure",                  parse_webhook_on,       F(webhook_on),             0 },
	{ "managed-rollback",   "warn",                     parse_managed_rollback, F(managed_rollback),       0 },
};

#undef F

#define N_INPUTS (sizeof(inputs) / sizeof(inputs[0]))
/* query values shorter than this are not taken for credentials (masking "1" would hide every 1) */
#define URL_SECRET_MIN 6

const struct input_info *
config_inputs(size_t *n_out)
{
	static struct input_info info[N_INPUTS];
	size_t i;

	for (i = 0; i < N_INPUTS; i++) {
		info[i].name = inputs[i].name;
		info[i].default_value = inputs[i].default_value != NULL ? inputs[i].default_value : "";
		info[i].secret = (inputs[i].flags & INPUT_SECRET) != 0;
		info[i].required = (inputs[i].flags & INPUT_REQUIRED) != 0;
	}
	*n_out = N_INPUTS;
	return info;
}

/* ---- pure parsers ---- */

static bool
is_blank(const char *s)
{
	return s == NULL || s[0] == '\0';
}

int
config_parse_duration(int64_t *out_ms, const char *s, struct error *err)
{
	const char *p = s;
	double value;
	char *end;
	double scale;

	/* digits with an optional fraction, then a unit; strtod alone would accept hex and inf */
	if (!isdigit((unsigned char)*p)) {
		goto bad;
	}
	while (isdigit((unsigned char)*p)) {
		p++;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p)) {
			goto bad;
		}
		while (isdigit((unsigned char)*p)) {
			p++;
		}
	}
	errno = 0;
	value = strtod(s, &end);
	if (errno != 0 || end != p) {
		goto bad;
	}
	if (strcmp(p, "ms") == 0) {
		scale = 1;
	} else if (strcmp(p, "s") == 0) {
		scale = 1000;
	} else if (strcmp(p, "m") == 0) {
		scale = 60000;
	} else if (strcmp(p, "h") == 0) {
		scale = 3600000;
	} else {
		goto bad;
	}
	value *= scale;
	if (value > 86400000.0) { /* a day: anything longer is a typo */
		return error_set(err, ERR_CONFIG, "expected a duration of at most 24h");
	}
	*out_ms = (int64_t)llround(value);
	return 0;
bad:
	return error_set(err, ERR_CONFIG, "expected a duration such as 250ms, 10s or 5m");
}

int
config_parse_bool(bool *out, const char *s, struct error *err)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
		*out = false;
		return 0;
	}
	return error_set(err, ERR_CONFIG, "expected true or false");
}

int
config_parse_fraction(double *out, const char *s, struct error *err)
{
	size_t len = strlen(s);
	bool percent = len > 0 && s[len - 1] == '%';
	char *num = xstrndup(s, percent ? len - 1 : len);
	const char *p = num;
	char *end;
	double v;
	int rc = 0;

	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1]))) {
		rc = error_set(err, ERR_CONFIG, "expected a percentage such as 0.5%% or a fraction such as 0.005");
		goto out;
	}
	errno = 0;
	v = strtod(num, &end);
	if (errno != 0 || *end != '\0' || end == num || !isfinite(v)) {
		rc = error_set(err, ERR_CONFIG, "expected a percentage such as 0.5%% or a fraction such as 0.005");
		goto out;
	}
	for (p = num; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) && *p != '.') {
			rc = error_set(err, ERR_CONFIG, "expected a percentage such as 0.5%% or a fraction such as 0.005");
			goto out;
		}
	}
	if (percent) {
		v /= 100.0;
	}
	if (v < 0.0 || v > 1.0) {
		rc = error_set(err, ERR_CONFIG, "expected a value from 0%% to 100%% (a fraction from 0 to 1)");
		goto out;
	}
	*out = v;
out:
	free(num);
	return rc;
}

int
config_parse_status_set(struct status_set *out, const char *s, struct error *err)
{
	const char *p = s;

	memset(out, 0, sizeof(*out));
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		int code;

		if (n == 3 && p[0] >= '1' && p[0] <= '5' && (p[1] == 'x' || p[1] == 'X') &&
		    (p[2] == 'x' || p[2] == 'X')) {
			code = p[0] - '0';
		} else if (n == 3 && p[0] >= '1' && p[0] <= '5' && isdigit((unsigned char)p[1]) &&
			   isdigit((unsigned char)p[2])) {
			code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		} else {
			return error_set(err, ERR_CONFIG,
					 "expected status codes such as 200 or 200,204 (or a class such as 2xx)");
		}
		if (out->n >= sizeof(out->codes) / sizeof(out->codes[0])) {
			return error_set(err, ERR_CONFIG, "too many status codes (at most 16)");
		}
		out->codes[out->n++] = code;
		p += n;
		if (*p == ',') {
			p++;
			if (*p == '\0') {
				return error_set(err, ERR_CONFIG, "expected a status code after ','");
			}
		}
	}
	return 0;
}

bool
status_set_matches(const struct status_set *set, long status)
{
	size_t i;

	if (set->n == 0) {
		return status >= 200 && status <= 299;
	}
	for (i = 0; i < set->n; i++) {
		int c = set->codes[i];
		if ((c < 10 && status / 100 == c) || (c >= 100 && status == c)) {
			return true;
		}
	}
	return false;
}

static bool
valid_method(const char *m)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(m, methods[i]) == 0) {
			return true;
		}
	}
	return false;
}

static bool
valid_path(const char *p)
{
	if (p[0] != '/' || p[1] == '/') { /* "//host" would change host */
		return false;
	}
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#') {
			return false;
		}
	}
	return true;
}

void
endpoints_free(struct endpoint *e, size_t n)
{
	size_t i;
	for (i = 0; e != NULL && i < n; i++) {
		free(e[i].name);
		free(e[i].method);
		free(e[i].path);
	}
	free(e);
}

int
config_parse_endpoints(struct endpoint **out, size_t *n_out, const char *s, struct error *err)
{
	struct endpoint *list = NULL;
	size_t n = 0;
	unsigned line_no = 0;
	const char *p = s;
	int rc = 0;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char *line = xstrndup(p, len);
		char *words[4] = { NULL, NULL, NULL, NULL };
		size_t n_words = 0;
		char *save = NULL, *w, *trimmed;
		struct endpoint e = { NULL, NULL, NULL, { { 0 }, 0 } };
		size_t i;

		line_no++;
		p += len;
		if (*p == '\n') {
			p++;
		}
		trimmed = str_trim_dup(line);
		free(line);
		if (trimmed[0] == '\0' || trimmed[0] == '#') {
			free(trimmed);
			continue;
		}
		for (w = strtok_r(trimmed, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
			if (n_words == 3) {
				n_words++;
				break;
			}
			words[n_words++] = w;
		}
		i = 0;
		if (n_words > 0 && words[0][0] != '/') {
			char *m;
			for (m = words[0]; *m != '\0'; m++) {
				*m = (char)toupper((unsigned char)*m);
			}
			if (!valid_method(words[0])) {
				char *shown = outside_line(words[0], strlen(words[0]), 20);
				rc = error_set(err, ERR_CONFIG,
					       "line %u: unknown method '%s' (expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS)",
					       line_no, shown);
				free(shown);
				free(trimmed);
				goto out;
			}
			e.method = xstrdup(words[0]);
			i = 1;
		} else {
			e.method = xstrdup("GET");
		}
		if (i >= n_words || n_words - i > 2 || !valid_path(words[i])) {
			rc = error_set(err, ERR_CONFIG,
				       "line %u: expected '[METHOD] PATH [EXPECTED]' with PATH starting with '/'",
				       line_no);
			free(e.method);
			free(trimmed);
			goto out;
		}
		e.path = xstrdup(words[i]);
		if (i + 1 < n_words) {
			struct error sub = ERROR_INIT;
			if (config_parse_status_set(&e.expected, words[i + 1], &sub) < 0) {
				rc = error_set(err, ERR_CONFIG, "line %u: %s", line_no, sub.msg);
				free(e.method);
				free(e.path);
				free(trimmed);
				goto out;
			}
		}
		e.name = xasprintf("%s %s", e.method, e.path);
		free(trimmed);
		list = xrealloc(list, (n + 1) * sizeof(*list));
		list[n++] = e;
		if (n > 1000) {
			rc = error_set(err, ERR_CONFIG, "too many endpoints (at most 1000)");
			goto out;
		}
	}
	*out = list;
	*n_out = n;
	list = NULL;
	n = 0;
out:
	endpoints_free(list, n);
	return rc;
}

int
config_parse_token_path(char ***out, const char *s, struct error *err)
{
	char **segments = NULL;
	const char *p = s;

	if (str_has_prefix(p, "$.")) {
		p += 2;
	}
	if (*p == '\0') {
		return error_set(err, ERR_CONFIG, "expected a dotted path such as access_token or data.token");
	}
	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		size_t i;
		if (n == 0 || (dot != NULL && dot[1] == '\0')) {
			strv_free(segments);
			return error_set(err, ERR_CONFIG,
					 "expected a dotted path such as access_token or data.token (empty segment)");
		}
		for (i = 0; i < n; i++) {
			if ((unsigned char)p[i] <= 0x20 || p[i] == '[' || p[i] == ']') {
				strv_free(segments);
				return error_set(err, ERR_CONFIG,
						 "expected a dotted path such as access_token or data.token");
			}
		}
		strv_push(&segments, xstrndup(p, n));
		p += n;
		if (*p == '.') {
			p++;
		}
	}
	*out = segments;
	return 0;
}

int
config_parse_list(char ***out, const char *s, struct error *err)
{
	char **items = NULL;
	const char *p = s;

	(void)err;
	while (*p != '\0') {
		size_t n = strcspn(p, ",\n");
		char *item = xstrndup(p, n);
		char *t = str_trim_dup(item);
		free(item);
		if (t[0] != '\0' && !strv_contains(items, t)) {
			strv_push(&items, t);
		} else {
			free(t);
		}
		p += n;
		if (*p != '\0') {
			p++;
		}
	}
	*out = items;
	return 0;
}

int
config_parse_workload(const char **kind_out, const char **name_out, const char *item, struct error *err)
{
	static const struct {
		const char *word;
		const char *kind;
	} kinds[] = {
		{ "deployment", "deployment" },   { "deployments", "deployment" },   { "deploy", "deployment" },
		{ "statefulset", "statefulset" }, { "statefulsets", "statefulset" }, { "sts", "statefulset" },
		{ "daemonset", "daemonset" },     { "daemonsets", "daemonset" },     { "ds", "daemonset" },
		{ "deployment.apps", "deployment" }, { "statefulset.apps", "statefulset" },
		{ "daemonset.apps", "daemonset" },
	};
	const char *slash = strchr(item, '/');
	size_t i, n;

	if (slash == NULL) {
		*kind_out = "deployment";
		*name_out = item;
		return 0;
	}
	n = (size_t)(slash - item);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].word) == n && strncasecmp(item, kinds[i].word, n) == 0) {
			*kind_out = kinds[i].kind;
			*name_out = slash + 1;
			return 0;
		}
	}
	return error_set(err, ERR_CONFIG,
			 "unknown kind '%.*s' (expected deployment, statefulset or daemonset, or deploy, sts, ds)",
			 (int)(n > 40 ? 40 : n), item);
}

static void quote_value(struct buf *b, const char *value);

/* "sts/db" items into names and kinds; the same workload named twice counts once */
static int
workloads_split(struct config *cfg, struct error *err)
{
	char **names = NULL;
	const char **kinds;
	size_t i, j, n = strv_len(cfg->deployments), m = 0;

	kinds = xcalloc(n + 1, sizeof(*kinds));
	for (i = 0; i < n; i++) {
		const char *kind, *name;
		struct error sub = ERROR_INIT;
		bool dup = false;
		if (config_parse_workload(&kind, &name, cfg->deployments[i], &sub) < 0) {
			struct buf b = BUF_INIT;
			quote_value(&b, cfg->deployments[i]);
			(void)error_set(err, ERR_CONFIG, "invalid input 'deployment': %s in '%s'", sub.msg, buf_str(&b));
			buf_dispose(&b);
			strv_free(names);
			free(kinds);
			return ERR_CONFIG;
		}
		if (name[0] == '\0') {
			struct buf b = BUF_INIT;
			quote_value(&b, cfg->deployments[i]);
			(void)error_set(err, ERR_CONFIG,
					"invalid input 'deployment': expected Kubernetes names after the kind, got '%s'",
					buf_str(&b));
			buf_dispose(&b);
			strv_free(names);
			free(kinds);
			return ERR_CONFIG;
		}
		for (j = 0; j < m; j++) {
			dup = dup || (kinds[j] == kind && strcmp(names[j], name) == 0);
		}
		if (!dup) {
			strv_push(&names, xstrdup(name));
			kinds[m++] = kind;
		}
	}
	strv_free(cfg->deployments);
	free(cfg->workload_kinds);
	cfg->deployments = names;
	cfg->workload_kinds = kinds;
	return 0;
}

/* ---- table parsers: value is trimmed and may be empty ("not set") ---- */

static int
parse_string(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	(void)err;
	*(char **)field = is_blank(value) ? NULL : xstrdup(value);
	return 0;
}

/* a token sent as "Authorization: Bearer": a line break would end the header and add others */
static int
parse_header_secret(struct config *cfg, void *field, const char *value, struct error *err)
{
	if (!header_value_ok(value)) {
		return error_set(err, ERR_CONFIG,
				 "holds control characters (a line break inside the token?); it would go into an Authorization header");
	}
	return parse_string(cfg, field, value, err);
}

static int
check_url(const char *value, struct error *err)
{
	struct http_url u;
	size_t i;
	int rc;

	for (i = 0; value[i] != '\0'; i++) {
		if ((unsigned char)value[i] <= 0x20 || value[i] == 0x7f) {
			return error_set(err, ERR_CONFIG, "URL contains whitespace or control characters");
		}
	}
	rc = http_url_parse(&u, value, err);
	if (rc < 0) {
		goto out;
	}
	if (u.userinfo != NULL) {
		/* the error quotes the value: the user-info is a credential, masked before that */
		log_mask(u.userinfo);
		rc = error_set(err, ERR_CONFIG, "credentials in the URL are not allowed (use the dedicated inputs)");
		goto out;
	}
	if (u.has_fragment || strchr(value, '#') != NULL) {
		rc = error_set(err, ERR_CONFIG, "expected a URL without a #fragment");
		goto out;
	}
out:
	http_url_dispose(&u);
	return rc;
}

static int
parse_url_opt(struct config *cfg, void *field, const char *value, struct error *err)
{
	char *copy;
	size_t n;

	(void)cfg;
	if (is_blank(value)) {
		*(char **)field = NULL;
		return 0;
	}
	if (check_url(value, err) < 0) {
		return ERR_CONFIG;
	}
	/*
	 * "https://host/base/" and "https://host/base" are one base URL (paths are joined to it):
	 * without a query the text ends with the path, so its trailing slashes are the text's
	 */
	copy = xstrdup(value);
	n = strlen(copy);
	{
		struct http_url u;
		if (http_url_parse(&u, copy, err) == 0 && u.query == NULL) {
			size_t slashes = 0, plen = strlen(u.path);
			while (slashes < plen && u.path[plen - 1 - slashes] == '/' && slashes < n &&
			       copy[n - 1 - slashes] == '/') {
				slashes++;
			}
			copy[n - slashes] = '\0';
		}
		http_url_dispose(&u);
	}
	*(char **)field = copy;
	return 0;
}

static int
parse_url(struct config *cfg, void *field, const char *value, struct error *err)
{
	if (strchr(value, '?') != NULL) {
		return error_set(err, ERR_CONFIG, "expected a base URL without a ?query");
	}
	return parse_url_opt(cfg, field, value, err);
}

static int
parse_path_opt(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	if (is_blank(value)) {
		*(char **)field = NULL;
		return 0;
	}
	if (!valid_path(value)) {
		return error_set(err, ERR_CONFIG, "expected a path starting with '/', without spaces");
	}
	*(char **)field = xstrdup(value);
	return 0;
}

static int
parse_path(struct config *cfg, void *field, const char *value, struct error *err)
{
	if (is_blank(value)) {
		return error_set(err, ERR_CONFIG, "expected a path starting with '/', got an empty value");
	}
	return parse_path_opt(cfg, field, value, err);
}

static int
parse_environment(struct config *cfg, void *field, const char *value, struct error *err)
{
	char why[160];
	size_t i;

	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];
		/* GitHub environment names may hold spaces ("Production EU"); nothing that breaks a line */
		if (!isalnum(c) && strchr("-_./() ", c) == NULL) {
			return error_set(err, ERR_CONFIG,
					 "expected a name of letters, digits, spaces or -_./() (such as staging or production)");
		}
	}
	if (i > 64) {
		return error_set(err, ERR_CONFIG, "expected at most 64 characters");
	}
	*(char **)field = xstrdup(value);
	cfg->production = config_production_auto(why, sizeof(why), value);
	free(cfg->production_reason);
	cfg->production_reason = xasprintf("production: auto, %s", why);
	return 0;
}

static int
parse_duration_any(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	return config_parse_duration((int64_t *)field, value, err);
}

static int
parse_duration_req(struct config *cfg, void *field, const char *value, struct error *err)
{
	int64_t ms;

	(void)cfg;
	if (config_parse_duration(&ms, value, err) < 0) {
		return ERR_CONFIG;
	}
	if (ms <= 0) {
		return error_set(err, ERR_CONFIG, "expected a duration greater than zero");
	}
	*(int64_t *)field = ms;
	return 0;
}

static int
parse_duration_opt(struct config *cfg, void *field, const char *value, struct error *err)
{
	if (is_blank(value)) {
		*(int64_t *)field = -1;
		return 0;
	}
	return parse_duration_req(cfg, field, value, err);
}

static int
parse_bool_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	return config_parse_bool((bool *)field, value, err);
}

static int
parse_retries(struct config *cfg, void *field, const char *value, struct error *err)
{
	size_t i;

	(void)cfg;
	for (i = 0; value[i] != '\0'; i++) {
		if (!isdigit((unsigned char)value[i])) {
			break;
		}
	}
	if (i == 0 || value[i] != '\0' || i > 2 || atoi(value) > 10) {
		return error_set(err, ERR_CONFIG, "expected a whole number from 0 to 10");
	}
	*(int *)field = atoi(value);
	return 0;
}

static int
parse_revision(struct config *cfg, void *field, const char *value, struct error *err)
{
	size_t i;

	(void)cfg;
	if (is_blank(value)) {
		*(long *)field = 0;
		return 0;
	}
	for (i = 0; value[i] != '\0'; i++) {
		if (!isdigit((unsigned char)value[i])) {
			break;
		}
	}
	if (i == 0 || value[i] != '\0' || i > 9 || atol(value) <= 0) {
		return error_set(err, ERR_CONFIG, "expected a revision number greater than zero");
	}
	*(long *)field = atol(value);
	return 0;
}

static int
parse_token_path_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	if (is_blank(value)) {
		/* only without a username: check_relations() refuses it otherwise */
		*(char ***)field = NULL;
		return 0;
	}
	if (config_parse_token_path((char ***)field, value, err) < 0) {
		return ERR_CONFIG;
	}
	cfg->token_path_text = xstrdup(value);
	return 0;
}

static int
parse_endpoints_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)field;
	return config_parse_endpoints(&cfg->endpoints, &cfg->n_endpoints, value, err);
}

static int
parse_fraction_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	if (is_blank(value)) {
		*(double *)field = -1.0; /* per-environment default, applied after the table */
		return 0;
	}
	return config_parse_fraction((double *)field, value, err);
}

static int
parse_policy3(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	if (strcmp(value, "pass") == 0) {
		*(enum policy *)field = POLICY_PASS;
	} else if (strcmp(value, "warn") == 0) {
		*(enum policy *)field = POLICY_WARN;
	} else if (strcmp(value, "fail") == 0) {
		*(enum policy *)field = POLICY_FAIL;
	} else {
		return error_set(err, ERR_CONFIG, "expected pass, warn or fail");
	}
	return 0;
}

static int
parse_policy2(struct config *cfg, void *field, const char *value, struct error *err)
{
	if (is_blank(value)) {
		/* production fails closed, other environments warn; environment is parsed earlier */
		*(enum policy *)field = cfg->production ? POLICY_FAIL : POLICY_WARN;
		return 0;
	}
	if (strcmp(value, "warn") == 0) {
		*(enum policy *)field = POLICY_WARN;
	} else if (strcmp(value, "fail") == 0) {
		*(enum policy *)field = POLICY_FAIL;
	} else {
		return error_set(err, ERR_CONFIG, "expected warn or fail");
	}
	return 0;
}

static int
parse_slack_notify(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	if (strcmp(value, "failure") == 0) {
		*(enum slack_notify *)field = SLACK_NOTIFY_FAILURE;
	} else if (strcmp(value, "always") == 0) {
		*(enum slack_notify *)field = SLACK_NOTIFY_ALWAYS;
	} else {
		return error_set(err, ERR_CONFIG, "expected failure or always");
	}
	return 0;
}

static int
parse_webhook_on(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	if (strcmp(value, "failure") == 0) {
		*(enum webhook_on *)field = WEBHOOK_ON_FAILURE;
	} else if (strcmp(value, "always") == 0) {
		*(enum webhook_on *)field = WEBHOOK_ON_ALWAYS;
	} else {
		return error_set(err, ERR_CONFIG, "expected failure or always");
	}
	return 0;
}

static int
parse_managed_rollback(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	if (strcmp(value, "warn") == 0) {
		*(enum managed_rollback *)field = MANAGED_ROLLBACK_WARN;
	} else if (strcmp(value, "skip") == 0) {
		*(enum managed_rollback *)field = MANAGED_ROLLBACK_SKIP;
	} else {
		return error_set(err, ERR_CONFIG, "expected warn or skip");
	}
	return 0;
}

static int
parse_list_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	return config_parse_list((char ***)field, value, err);
}

static int
parse_promql(struct config *cfg, void *field, const char *value, struct error *err)
{
	unsigned used = 0;

	if (is_blank(value)) {
		return error_set(err, ERR_CONFIG, "expected a PromQL expression, got an empty value");
	}
	if (strlen(value) > 8192) {
		return error_set(err, ERR_CONFIG, "expected a PromQL expression of at most 8192 characters");
	}
	if (promql_template_check(&used, value, err) < 0) {
		return ERR_CONFIG;
	}
	cfg->placeholders |= used;
	*(char **)field = xstrdup(value);
	return 0;
}

static int
parse_kubeconfig(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	(void)err;
	/* parsed and its credentials masked by kubeconfig.c; here only kept */
	*(char **)field = is_blank(value) ? NULL : xstrdup(value);
	return 0;
}

/* ---- metric inputs (issue 15) ---- */

static bool
production_word(const char *part, size_t len)
{
	static const char *const words[] = { "production", "prod", "prd" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i]) == len && strncasecmp(part, words[i], len) == 0) {
			return true;
		}
	}
	return false;
}

static bool
negating_word(const char *part, size_t len)
{
	return len == 3 && (strncasecmp(part, "pre", 3) == 0 || strncasecmp(part, "non", 3) == 0 ||
			    strncasecmp(part, "not", 3) == 0);
}

bool
config_production_auto(char *why, size_t size, const char *environment)
{
	const char *p = environment, *matched = NULL, *negated = NULL;
	size_t matched_len = 0, negated_len = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, "-_./ ");
		if (len > 0 && matched == NULL && production_word(p, len)) {
			matched = p;
			matched_len = len;
		}
		if (len > 0 && negated == NULL && negating_word(p, len)) {
			negated = p;
			negated_len = len;
		}
		p += len;
		if (*p != '\0') {
			p++;
		}
	}
	if (matched != NULL && negated != NULL) {
		(void)snprintf(why, size, "\"%.*s\" in \"%s\" marks it as not production",
			       (int)negated_len, negated, environment);
		return false;
	}
	if (matched != NULL) {
		(void)snprintf(why, size, "matched \"%.*s\" in \"%s\"", (int)matched_len, matched, environment);
		return true;
	}
	(void)snprintf(why, size, "no part of \"%s\" is production, prod or prd", environment);
	return false;
}

static int
parse_production(struct config *cfg, void *field, const char *value, struct error *err)
{
	if (strcmp(value, "auto") == 0) {
		*(enum production_mode *)field = PRODUCTION_AUTO;
		return 0; /* the environment's parser applied the rule */
	}
	if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
		bool on = value[0] == 't';
		*(enum production_mode *)field = on ? PRODUCTION_TRUE : PRODUCTION_FALSE;
		cfg->production = on;
		free(cfg->production_reason);
		cfg->production_reason = xasprintf("production: %s, set by the production input", value);
		return 0;
	}
	return error_set(err, ERR_CONFIG, "expected auto, true or false");
}

static bool
header_token_char(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* one "Name: value" line of len bytes (no line end); *out gets "Name: value" or NULL for a blank line */
static int
parse_header_line(char **out, const char *p, size_t len, unsigned line_no, struct error *err)
{
	static const char *const refused[] = { "host", "content-length", "transfer-encoding", "connection",
					       "authorization" };
	size_t name_len = 0, i;
	char *name, *value, *trimmed;

	*out = NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f) {
			return error_set(err, ERR_CONFIG, "line %u: a control character inside the line", line_no);
		}
	}
	if (len == 0 || strspn(p, " ") >= len) {
		return 0;
	}
	while (name_len < len && header_token_char((unsigned char)p[name_len])) {
		name_len++;
	}
	if (name_len == 0 || name_len >= len || p[name_len] != ':') {
		return error_set(err, ERR_CONFIG, "line %u: expected 'Name: value' (such as X-Scope-OrgID: team-a)",
				 line_no);
	}
	name = xstrndup(p, name_len);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (strcasecmp(name, refused[i]) == 0) {
			(void)error_set(err, ERR_CONFIG, "line %u: %s is set by the action itself%s", line_no, name,
					i == 4 ? " (use prometheus-token or prometheus-username/-password)" : "");
			free(name);
			return ERR_CONFIG;
		}
	}
	value = xstrndup(p + name_len + 1, len - name_len - 1);
	trimmed = str_trim_dup(value);
	secret_free(value);
	if (trimmed[0] == '\0') {
		(void)error_set(err, ERR_CONFIG, "line %u: %s has an empty value", line_no, name);
		free(name);
		free(trimmed);
		return ERR_CONFIG;
	}
	/*
	 * every value may be a tenant key or a credential: masked before anything prints it; but not
	 * a value of one to three characters ("1", "on"), which as a mask would blank every such
	 * character in the log and get every output holding it dropped by the runner
	 */
	if (strlen(trimmed) >= 4) {
		log_mask(trimmed);
	}
	*out = xasprintf("%s: %s", name, trimmed);
	free(name);
	secret_free(trimmed);
	return 0;
}

static void
headers_free(char **lines)
{
	size_t i;

	for (i = 0; lines != NULL && lines[i] != NULL; i++) {
		secret_wipe(lines[i], strlen(lines[i]));
	}
	strv_free(lines);
}

int
config_parse_headers(char ***out, const char *s, struct error *err)
{
	char **lines = NULL;
	const char *p = s;
	unsigned line_no = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, "\n"), used = len;
		char *line = NULL;

		line_no++;
		/* a Windows line end is not part of the value */
		if (len > 0 && p[len - 1] == '\r') {
			len--;
		}
		if (parse_header_line(&line, p, len, line_no, err) < 0) {
			headers_free(lines);
			return ERR_CONFIG;
		}
		if (line != NULL) {
			strv_push(&lines, line);
		}
		if (strv_len(lines) > 32) {
			headers_free(lines);
			return error_set(err, ERR_CONFIG, "too many headers (at most 32)");
		}
		p += used;
		if (*p == '\n') {
			p++;
		}
	}
	*out = lines;
	return 0;
}

static int
parse_headers_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	return config_parse_headers((char ***)field, value, err);
}

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil) */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool
digits(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			return false;
		}
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int
config_parse_time(int64_t *out_s, const char *s, struct error *err)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;
	size_t n = strspn(s, "0123456789");

	if (n > 0 && n <= 12 && (s[n] == '\0' || (s[n] == '.' && strspn(s + n + 1, "0123456789") == strlen(s + n + 1) &&
						 s[n + 1] != '\0'))) {
		*out_s = strtoll(s, NULL, 10); /* Unix seconds; a fraction is dropped */
		return 0;
	}
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec)) {
		goto bad;
	}
	p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p)) {
			goto bad;
		}
		p += strspn(p, "0123456789");
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &oh) && p[3] == ':' &&
		   digits(p + 4, 2, &om)) {
		sign = *p == '+' ? 1 : -1;
	} else {
		goto bad;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59) {
		goto bad;
	}
	*out_s = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
		 sign * (oh * 3600 + om * 60);
	return 0;
bad:
	return error_set(err, ERR_CONFIG, "expected an RFC 3339 time such as 2026-12-06T10:00:00Z or Unix seconds");
}

static int
parse_time_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	int64_t t;

	(void)cfg;
	if (is_blank(value)) {
		*(int64_t *)field = -1;
		return 0;
	}
	if (config_parse_time(&t, value, err) < 0) {
		return ERR_CONFIG;
	}
	if (t <= 0) {
		return error_set(err, ERR_CONFIG, "expected a time after 1970");
	}
	*(int64_t *)field = t;
	return 0;
}

static int
parse_increase_error_rate(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	return metricdef_parse_increase((struct increase_limit *)field, value, INCREASE_OF_ERROR_RATE, err);
}

static int
parse_increase_latency(struct config *cfg, void *field, const char *value, struct error *err)
{
	(void)cfg;
	return metricdef_parse_increase((struct increase_limit *)field, value, INCREASE_OF_LATENCY, err);
}

static int
parse_metrics_field(struct config *cfg, void *field, const char *value, struct error *err)
{
	size_t i;

	(void)field;
	if (metricdef_parse_list(&cfg->metrics, &cfg->n_metrics, value, err) < 0) {
		return ERR_CONFIG;
	}
	for (i = 0; i < cfg->n_metrics; i++) {
		unsigned used = 0;
		/* checked by the parser already; here only the placeholders are collected */
		if (promql_template_check(&used, cfg->metrics[i].query, err) < 0) {
			return ERR_CONFIG;
		}
		cfg->placeholders |= used;
	}
	return 0;
}

bool
config_wants_baseline(const struct config *cfg)
{
	size_t i;

	if (cfg->max_error_rate_increase.kind != INCREASE_NONE || cfg->max_latency_increase.kind != INCREASE_NONE) {
		return true;
	}
	for (i = 0; i < cfg->n_metrics; i++) {
		if (cfg->metrics[i].increase.kind != INCREASE_NONE) {
			return true;
		}
	}
	return false;
}

/* relations between the metric inputs, after the table */
static int
check_metric_inputs(const struct config *cfg, struct error *err)
{
	const char *basic = cfg->prometheus_password != NULL ? "prometheus-password" : "prometheus-username";

	if (cfg->prometheus_token != NULL && (cfg->prometheus_username != NULL || cfg->prometheus_password != NULL)) {
		return error_set(err, ERR_CONFIG,
				 "invalid input '%s': set together with 'prometheus-token'; give a bearer token or basic "
				 "auth, not both",
				 basic);
	}
	if ((cfg->prometheus_username == NULL) != (cfg->prometheus_password == NULL)) {
		return error_set(err, ERR_CONFIG, "invalid input '%s': set without '%s'; give both or neither", basic,
				 cfg->prometheus_username == NULL ? "prometheus-username" : "prometheus-password");
	}
	/* libcurl sends base64(user:password): a server echoing the request must not show it either */
	log_mask_basic(cfg->prometheus_username, cfg->prometheus_password);
	if ((cfg->placeholders & (PROMQL_DEPLOYMENTS | PROMQL_NEEDS_CLUSTER)) != 0 && cfg->deployments == NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'deployment': a query uses {{deployments}}, {{new_pods}} or {{since_deploy}}, "
				 "which need at least one Deployment name");
	}
	return 0;
}

/*
 * A CA bundle: PEM, or base64 of PEM (what a secret holding certificate-authority-data looks like).
 * Stored as PEM; libcurl (OpenSSL) parses the certificates when a connection needs them.
 */
/* needle in the first len bytes of data (not NUL-terminated there) */
static const char *
memmem_str(const char *data, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n <= len && i <= len - n; i++) {
		if (memcmp(data + i, needle, n) == 0) {
			return data + i;
		}
	}
	return NULL;
}

static int
parse_pem(struct config *cfg, void *field, const char *value, struct error *err)
{
	struct pem *out = field;
	char *decoded = NULL;
	size_t len = 0;

	(void)cfg;
	memset(out, 0, sizeof(*out));
	if (is_blank(value)) {
		return 0;
	}
	if (strstr(value, "-----BEGIN ") != NULL) {
		decoded = xstrdup(value);
		len = strlen(decoded);
	} else if (kubeconfig_base64_decode(&decoded, &len, value, strlen(value)) < 0) {
		return error_set(err, ERR_CONFIG, "expected a PEM CA bundle (-----BEGIN CERTIFICATE-----) or its base64");
	}
	if (memmem_str(decoded, len, "-----BEGIN CERTIFICATE-----") == NULL ||
	    memmem_str(decoded, len, "-----END CERTIFICATE-----") == NULL) {
		free(decoded);
		return error_set(err, ERR_CONFIG,
				 "expected a PEM CA bundle (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) or its base64");
	}
	if (memmem_str(decoded, len, "PRIVATE KEY") != NULL) {
		/* a key pasted by mistake must never be kept, quoted or sent */
		log_mask(value);
		secret_wipe(decoded, len);
		free(decoded);
		return error_set(err, ERR_CONFIG, "the bundle holds a private key: give only the CA certificates");
	}
	out->data = decoded;
	out->len = len;
	return 0;
}

/* an audience is one printable token: it becomes a query parameter of the OIDC request */
static int
parse_audience(struct config *cfg, void *field, const char *value, struct error *err)
{
	size_t i;

	(void)cfg;
	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c <= 0x20 || c == 0x7f) {
			return error_set(err, ERR_CONFIG, "expected an audience without spaces or control characters");
		}
	}
	if (i > 512) {
		return error_set(err, ERR_CONFIG, "expected an audience of at most 512 characters");
	}
	*(char **)field = i == 0 ? NULL : xstrdup(value);
	return 0;
}

/* ---- loading ---- */

static char *
env_dup(const char *name)
{
	const char *v = getenv(name);
	return (v != NULL && v[0] != '\0') ? xstrdup(v) : NULL;
}

static void
context_load(struct run_context *c)
{
	const char *v = getenv("GITHUB_ACTIONS");
	const char *d = getenv("RUNNER_DEBUG");

	c->github_actions = v != NULL && strcmp(v, "true") == 0;
	c->debug = d != NULL && strcmp(d, "1") == 0;
	c->repository = env_dup("GITHUB_REPOSITORY");
	c->server_url = env_dup("GITHUB_SERVER_URL");
	if (c->server_url == NULL) {
		c->server_url = xstrdup("https://github.com");
	}
	c->api_url = env_dup("GITHUB_API_URL");
	c->run_id = env_dup("GITHUB_RUN_ID");
	c->run_attempt = env_dup("GITHUB_RUN_ATTEMPT");
	c->workflow = env_dup("GITHUB_WORKFLOW");
	c->sha = env_dup("GITHUB_SHA");
	c->actor = env_dup("GITHUB_ACTOR");
	c->ref_name = env_dup("GITHUB_REF_NAME");
	c->workspace = env_dup("GITHUB_WORKSPACE");
	c->output_path = env_dup("GITHUB_OUTPUT");
	c->summary_path = env_dup("GITHUB_STEP_SUMMARY");
	c->runner_temp = env_dup("RUNNER_TEMP");
	c->kubeconfig_path = env_dup("KUBECONFIG");
	c->runner_workspace = env_dup("RUNNER_WORKSPACE");
	c->oidc_request_url = env_dup("ACTIONS_ID_TOKEN_REQUEST_URL");
	c->oidc_request_token = env_dup("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
	c->ssl_cert_file = env_dup("SSL_CERT_FILE");
	/* libcurl reads these itself; kept only to explain its choices in the log */
	c->http_proxy_upper = env_dup("HTTP_PROXY");
	c->http_proxy_lower = env_dup("http_proxy");
	c->k8s_service_host = env_dup("KUBERNETES_SERVICE_HOST");
	c->k8s_service_port = env_dup("KUBERNETES_SERVICE_PORT");
	c->sa_dir = env_dup("ATOM_SAFETY_SA_DIR");
	c->home = env_dup("HOME");
}

/* quotes a bad value for the error message: bounded, control characters escaped */
static void
quote_value(struct buf *b, const char *value)
{
	size_t i;

	for (i = 0; i < 80 && value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == '\n') {
			buf_puts(b, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\x%02x", c);
		} else {
			buf_putc(b, (char)c);
		}
	}
	if (value[i] != '\0') {
		buf_puts(b, "...");
	}
}

/* the cluster-credential inputs (kube-*) against each other and the runner's OIDC variables */
static int
kube_inputs_check(struct config *cfg, struct error *err)
{
	struct run_context *c = &cfg->ctx;

	if (c->oidc_request_token != NULL) {
		/* a credential of the job: masked before anything could print it */
		log_mask(c->oidc_request_token);
	}
	if (cfg->kube_server != NULL && cfg->kubeconfig != NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'kube-server': the kubeconfig input is set too; give one cluster, either "
				 "a kubeconfig or kube-server with kube-token or kube-oidc-audience");
	}
	if (cfg->kube_server != NULL && cfg->kube_context != NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'kube-context': it selects a kubeconfig context, but kube-server is set "
				 "(no kubeconfig is read)");
	}
	if (cfg->kube_server != NULL && cfg->kube_token == NULL && cfg->kube_oidc_audience == NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'kube-server': it needs a credential: set kube-token or kube-oidc-audience");
	}
	if (cfg->kube_ca.data != NULL && cfg->kube_server == NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'kube-ca': it is the CA of kube-server, which is not set (a kubeconfig "
				 "carries its own certificate-authority-data)");
	}
	if (cfg->kube_oidc_audience != NULL && cfg->rollback &&
	    (c->oidc_request_url == NULL || c->oidc_request_token == NULL)) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'kube-oidc-audience': the runner did not pass %s%s%s, so no GitHub OIDC "
				 "token can be requested: add `permissions: id-token: write` to the job (or the workflow)",
				 c->oidc_request_url == NULL ? "ACTIONS_ID_TOKEN_REQUEST_URL" : "",
				 c->oidc_request_url == NULL && c->oidc_request_token == NULL ? " and " : "",
				 c->oidc_request_token == NULL ? "ACTIONS_ID_TOKEN_REQUEST_TOKEN" : "");
	}
	if (cfg->kube_oidc_audience != NULL && cfg->rollback) {
		struct http_url u;
		struct error perr = ERROR_INIT;
		int rc = http_url_parse(&u, c->oidc_request_url, &perr);
		http_url_dispose(&u);
		if (rc < 0) {
			return error_set(err, ERR_CONFIG, "ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL: %s", perr.msg);
		}
	}
	if (cfg->kube_token != NULL && cfg->kube_oidc_audience != NULL) {
		log_warn("kube-oidc-audience and kube-token are both set: the GitHub OIDC token is used (kube-token is ignored)");
	}
	if (c->http_proxy_upper != NULL && c->http_proxy_lower == NULL) {
		log_warn("HTTP_PROXY is set but not http_proxy: libcurl ignores the upper-case name for http:// URLs "
			 "(the httpoxy rule); set http_proxy, or HTTPS_PROXY for https:// URLs");
	}
	return 0;
}

/* INPUT_<NAME>: upper-cased, hyphens kept, as the runner names it (REFERENCE 1.1) */
static void
input_env_name(char *out, size_t size, const char *name)
{
	size_t j;

	(void)snprintf(out, size, "INPUT_%s", name);
	for (j = 6; out[j] != '\0'; j++) {
		out[j] = (char)toupper((unsigned char)out[j]);
	}
}

/* the input's value, trimmed unless the row says otherwise; NULL when the variable is absent */
static char *
input_value(const struct input_spec *spec)
{
	char envname[64];
	const char *raw;

	input_env_name(envname, sizeof(envname), spec->name);
	raw = getenv(envname);
	if (raw == NULL) {
		return NULL;
	}
	return (spec->flags & INPUT_NO_TRIM) != 0 ? xstrdup(raw) : str_trim_dup(raw);
}

/* the parts of a URL input that are credentials: its user-info and query values (and a webhook's path) */
static void
mask_url_parts(const char *url, bool path_too)
{
	char **parts = http_url_secrets(url, path_too, URL_SECRET_MIN);
	size_t i;

	for (i = 0; parts != NULL && parts[i] != NULL; i++) {
		log_mask(parts[i]);
		secret_wipe(parts[i], strlen(parts[i]));
	}
	strv_free(parts);
}

/*
 * every secret first: an error about another input quotes its value, and a token pasted into
 * the wrong input (prometheus-url holding the Prometheus token) must already be masked there
 */
static void
mask_secret_inputs(void)
{
	size_t i;

	for (i = 0; i < N_INPUTS; i++) {
		char *value;

		if ((inputs[i].flags & (INPUT_SECRET | INPUT_URL)) == 0) {
			continue;
		}
		value = input_value(&inputs[i]);
		if (value != NULL && (inputs[i].flags & INPUT_SECRET) != 0) {
			log_mask(value);
		}
		if (value != NULL && (inputs[i].flags & INPUT_URL) != 0) {
			mask_url_parts(value, (inputs[i].flags & INPUT_SECRET) != 0);
		}
		secret_free(value);
	}
}

/* reads, checks and stores one input; the error names the input and quotes the value (unless secret) */
static int
input_load(struct config *cfg, const struct input_spec *spec, struct error *err)
{
	char *value = input_value(spec);
	struct error sub = ERROR_INIT;
	int rc = 0;

	if ((value == NULL || value[0] == '\0') && (spec->flags & INPUT_REQUIRED) != 0) {
		char envname[64];
		input_env_name(envname, sizeof(envname), spec->name);
		rc = error_set(err, ERR_CONFIG, "invalid input '%s': required but not set (%s %s)",
			       spec->name, envname, value == NULL ? "is absent" : "is empty");
		goto out;
	}
	if (value == NULL) {
		/* absent (a local run): the default */
		value = xstrdup(spec->default_value != NULL ? spec->default_value : "");
	} else if (value[0] == '\0' && (spec->flags & INPUT_EMPTY_OK) == 0 &&
		   spec->default_value != NULL && spec->default_value[0] != '\0') {
		/* set to '' by the workflow: an empty value has no meaning here, and a default would hide that */
		rc = error_set(err, ERR_CONFIG,
			       "invalid input '%s': set to an empty value, which it cannot be; "
			       "leave the input out for its default '%s'",
			       spec->name, spec->default_value);
		goto out;
	}
	rc = spec->parse(cfg, (char *)cfg + spec->offset, value, &sub);
	if (rc < 0) {
		struct buf b = BUF_INIT;
		if ((spec->flags & INPUT_SECRET) == 0) {
			buf_puts(&b, ", got '");
			quote_value(&b, value);
			buf_puts(&b, "'");
		}
		rc = error_set(err, ERR_CONFIG, "invalid input '%s': %s%s", spec->name, sub.msg,
			       buf_str(&b));
		buf_dispose(&b);
	}
out:
	secret_free(value);
	return rc;
}

/* a Kubernetes name (what = "deployment", "namespace") as the API accepts it; the error quotes it */
static int
check_k8s_name(const char *input,
	       const char *name,
	       bool dots,
	       size_t max,
	       const char *expected,
	       struct error *err)
{
	size_t j, n = strlen(name);

	for (j = 0; j < n; j++) {
		unsigned char c = (unsigned char)name[j];
		if (!(islower(c) || isdigit(c) || c == '-' || (dots && c == '.'))) {
			break;
		}
	}
	if (j < n || n > max || name[0] == '-' || name[0] == '.') {
		struct buf b = BUF_INIT;
		quote_value(&b, name);
		(void)error_set(err, ERR_CONFIG, "invalid input '%s': expected %s, got '%s'", input,
				expected, buf_str(&b));
		buf_dispose(&b);
		return ERR_CONFIG;
	}
	return 0;
}

/* rules between inputs, and defaults that depend on another input */
static int
check_relations(struct config *cfg, struct error *err)
{
	size_t i;

	if ((cfg->username == NULL) != (cfg->password == NULL)) {
		return error_set(
			err, ERR_CONFIG,
			"invalid input '%s': it is empty while '%s' is set; give both or neither",
			cfg->username == NULL ? "username" : "password",
			cfg->username == NULL ? "password" : "username");
	}
	if (cfg->username != NULL && cfg->login_path == NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'login-path': empty while 'username' is set (the "
				 "login needs a path)");
	}
	if (cfg->username != NULL && cfg->token_path == NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'token-path': empty while 'username' is set (the "
				 "token's place in the login reply is needed)");
	}
	if (check_metric_inputs(cfg, err) < 0) {
		return ERR_CONFIG;
	}
	if (cfg->max_error_rate < 0.0) {
		cfg->max_error_rate = cfg->production ? 0.001 : 0.01;
	}
	if (cfg->monitor_duration_ms > 0 && cfg->monitor_interval_ms > cfg->monitor_duration_ms) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'monitor-interval': longer than 'monitor-duration' "
				 "(nothing would be sampled)");
	}
	if (cfg->webhook_secret != NULL && cfg->webhook_url == NULL) {
		return error_set(err, ERR_CONFIG, "invalid input 'webhook-secret': set while 'webhook-url' is empty (nothing would be signed)");
	}
	if (kube_inputs_check(cfg, err) < 0) {
		return ERR_CONFIG;
	}
	if (cfg->rollback && cfg->deployments == NULL) {
		return error_set(err, ERR_CONFIG,
				 "invalid input 'deployment': expected at least one Deployment "
				 "name when 'rollback' is true");
	}
	if (workloads_split(cfg, err) < 0) {
		return ERR_CONFIG;
	}
	for (i = 0; cfg->deployments != NULL && cfg->deployments[i] != NULL; i++) {
		if (check_k8s_name("deployment", cfg->deployments[i], true, 253,
				   "Kubernetes names (lower-case letters, digits, '-', '.')",
				   err) < 0) {
			return ERR_CONFIG;
		}
	}
	if (cfg->namespace != NULL &&
	    check_k8s_name("namespace", cfg->namespace, false, 63,
			   "a Kubernetes namespace (lower-case letters, digits, '-')", err) < 0) {
		return ERR_CONFIG;
	}
	return 0;
}

int
config_load(struct config *cfg, struct error *err)
{
	size_t i;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	context_load(&cfg->ctx);
	/* secrets are masked while the inputs are read: the log must know its mode first */
	log_init(cfg->ctx.github_actions, cfg->ctx.debug || log_debug_enabled());
	mask_secret_inputs();
	if (cfg->ctx.oidc_request_token != NULL) {
		/* the job's credential for OIDC tokens: known at start, masked with the inputs */
		log_mask(cfg->ctx.oidc_request_token);
	}
	for (i = 0; i < N_INPUTS; i++) {
		rc = input_load(cfg, &inputs[i], err);
		if (rc < 0) {
			return rc;
		}
	}
	return check_relations(cfg, err);
}

static void
context_dispose(struct run_context *c)
{
	free(c->repository);
	free(c->server_url);
	free(c->api_url);
	free(c->run_id);
	free(c->run_attempt);
	free(c->workflow);
	free(c->sha);
	free(c->actor);
	free(c->ref_name);
	free(c->workspace);
	free(c->output_path);
	free(c->summary_path);
	free(c->runner_temp);
	free(c->kubeconfig_path);
	free(c->k8s_service_host);
	free(c->k8s_service_port);
	free(c->sa_dir);
	free(c->home);
	free(c->runner_workspace);
	free(c->oidc_request_url);
	secret_free(c->oidc_request_token);
	free(c->ssl_cert_file);
	free(c->http_proxy_upper);
	free(c->http_proxy_lower);
}

void
config_dispose(struct config *cfg)
{
	free(cfg->url);
	free(cfg->environment);
	free(cfg->health_path);
	free(cfg->db_health_path);
	free(cfg->login_path);
	free(cfg->username);
	secret_free(cfg->password);
	strv_free(cfg->token_path);
	free(cfg->token_path_text);
	endpoints_free(cfg->endpoints, cfg->n_endpoints);
	free(cfg->prometheus_url);
	secret_free(cfg->prometheus_token);
	free(cfg->prometheus_username);
	secret_free(cfg->prometheus_password);
	headers_free(cfg->prometheus_headers);
	free(cfg->production_reason);
	metricdef_list_free(cfg->metrics, cfg->n_metrics);
	free(cfg->error_rate_query);
	free(cfg->latency_query);
	secret_free(cfg->kubeconfig);
	free(cfg->kube_context);
	secret_free(cfg->kube_token);
	free(cfg->kube_server);
	free(cfg->kube_ca.data);
	free(cfg->kube_oidc_audience);
	free(cfg->ca_cert.data);
	free(cfg->namespace);
	strv_free(cfg->deployments);
	free(cfg->workload_kinds);
	secret_free(cfg->github_token);
	strv_free(cfg->issue_labels);
	secret_free(cfg->slack_webhook_url);
	secret_free(cfg->pagerduty_routing_key);
	free(cfg->pagerduty_events_url);
	secret_free(cfg->webhook_url);
	secret_free(cfg->webhook_secret);
	context_dispose(&cfg->ctx);
	memset(cfg, 0, sizeof(*cfg));
}
