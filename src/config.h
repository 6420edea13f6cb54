/* SPDX-License-Identifier: MIT */
#ifndef SRC_CONFIG_H
#define SRC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "metricdef.h"

#define CONFIG_DEFAULT_ERROR_RATE_QUERY \
	"sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))"
/* the default query's denominator alone: tells "no 5xx series yet" from "no traffic" */
#define CONFIG_DEFAULT_TRAFFIC_QUERY "sum(rate(http_requests_total[5m]))"
#define CONFIG_DEFAULT_LATENCY_QUERY \
	"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"

enum policy {
	POLICY_PASS,
	POLICY_WARN,
	POLICY_FAIL,
};

/* the production input: auto decides from the environment's name */
enum production_mode {
	PRODUCTION_AUTO,
	PRODUCTION_TRUE,
	PRODUCTION_FALSE,
};

enum slack_notify {
	SLACK_NOTIFY_FAILURE,
	SLACK_NOTIFY_ALWAYS,
};

enum webhook_on {
	WEBHOOK_ON_FAILURE,   /* every result but passed, and recovered */
	WEBHOOK_ON_ALWAYS,
};

enum managed_rollback {
	MANAGED_ROLLBACK_WARN, /* roll back and say the controller may revert it */
	MANAGED_ROLLBACK_SKIP, /* leave a managed workload alone: the result is failed */
};

/* expected statuses: a code (200) or a class (2 for "2xx"); none means any 2xx */
struct status_set {
	int codes[16];
	size_t n;
};

struct endpoint {
	char *name; /* "METHOD PATH" */
	char *method;
	char *path;
	struct status_set expected;
};

/* the runner's context, read from GITHUB_* and friends; never inputs */
struct run_context {
	bool github_actions;
	bool debug;
	char *repository; /* owner/name */
	char *server_url;
	char *api_url;
	char *run_id;
	char *run_attempt;
	char *workflow;
	char *sha;
	char *actor;
	char *ref_name;
	char *workspace;
	char *output_path;
	char *summary_path;
	char *runner_temp;
	char *kubeconfig_path;  /* $KUBECONFIG */
	char *k8s_service_host; /* KUBERNETES_SERVICE_HOST */
	char *k8s_service_port;
	char *sa_dir;           /* ATOM_SAFETY_SA_DIR: the service-account directory, for tests only */
	char *home;
	char *runner_workspace;   /* RUNNER_WORKSPACE: a host path, the hint for host-path KUBECONFIG */
	char *oidc_request_url;   /* ACTIONS_ID_TOKEN_REQUEST_URL (id-token: write) */
	char *oidc_request_token; /* ACTIONS_ID_TOKEN_REQUEST_TOKEN: secret, masked on read */
	char *ssl_cert_file;      /* SSL_CERT_FILE: the system CA bundle, as OpenSSL and curl read it */
	char *http_proxy_upper;   /* HTTP_PROXY, which libcurl ignores (only to say so) */
	char *http_proxy_lower;   /* http_proxy */
};

/* a PEM bundle from an input (decoded from base64 when given so) */
struct pem {
	char *data;
	size_t len;
};

struct config {
	/* service and smoke checks */
	char *url; /* no trailing slash */
	char *environment;
	bool production;
	enum production_mode production_mode;
	char *production_reason; /* "production: auto, matched \"prod\" in \"prod-eu\"" */
	char *health_path;
	char *db_health_path; /* NULL: check disabled */
	int64_t max_db_query_time_ms; /* -1: not set */
	char *login_path;
	char *username; /* NULL: authenticated checks skipped */
	char *password;
	char **token_path; /* segments */
	char *token_path_text;
	struct endpoint *endpoints;
	size_t n_endpoints;
	int64_t request_timeout_ms;
	int retries;
	int64_t wait_timeout_ms;
	bool dry_run;

	/* metrics */
	char *prometheus_url; /* NULL: metrics skipped */
	char *prometheus_token;
	char *prometheus_username;    /* basic auth; NULL: none */
	char *prometheus_password;
	char **prometheus_headers;    /* "Name: value" lines (values masked); NULL: none */
	struct pem ca_cert; /* extra trust for url and prometheus-url, beside the system store */
	char *error_rate_query;
	double max_error_rate; /* a fraction */
	char *latency_query;
	int64_t max_latency_ms; /* -1: not judged */
	int64_t monitor_duration_ms;
	int64_t monitor_interval_ms;
	enum policy on_no_data;
	enum policy on_query_error;
	struct increase_limit max_error_rate_increase;
	struct increase_limit max_latency_increase;
	int64_t baseline_time;        /* epoch seconds; -1: the newest ReplicaSet's creation */
	struct metric_def *metrics;   /* the metrics input */
	size_t n_metrics;
	unsigned placeholders;        /* enum promql_placeholder bits used by any query */

	/* rollback */
	bool rollback;
	char *kubeconfig; /* content as given (base64 or YAML), NULL if unset */
	char *kube_context;
	char *kube_token;         /* secret; replaces the kubeconfig user's credentials */
	char *kube_server;        /* API server without a kubeconfig */
	struct pem kube_ca;       /* CA of kube_server */
	char *kube_oidc_audience; /* GitHub OIDC token for this audience as the bearer token */
	char *namespace;
	char **deployments;            /* workload names, in input order */
	const char **workload_kinds;   /* per name: "deployment", "statefulset" or "daemonset" (static) */
	long to_revision; /* 0: previous */
	int64_t rollback_timeout_ms;

	/* notification */
	char *github_token;
	bool create_issue;
	char **issue_labels;
	char *slack_webhook_url;
	enum slack_notify slack_notify;
	bool close_on_recovery;
	char *pagerduty_routing_key;
	char *pagerduty_events_url;
	char *webhook_url;
	char *webhook_secret;
	enum webhook_on webhook_on;
	enum managed_rollback managed_rollback;

	struct run_context ctx;
};

/* one row per action input; defaults equal action.yml's */
struct input_info {
	const char *name;
	const char *default_value;
	bool secret;
	bool required;
};

const struct input_info *config_inputs(size_t *n_out);

/*
 * Reads every INPUT_* variable and the run context, validates all of it and masks secrets.
 * Returns 0, or ERR_CONFIG with a one-line message naming the input ("invalid input 'retries': …").
 * The caller disposes cfg with config_dispose() in both cases.
 */
int config_load(struct config *cfg, struct error *err);
void config_dispose(struct config *cfg);

/* pure parsers, exposed for unit tests and fuzzing; each returns 0 or ERR_CONFIG with what was expected */
int config_parse_duration(int64_t *out_ms, const char *s, struct error *err);
int config_parse_bool(bool *out, const char *s, struct error *err);
int config_parse_fraction(double *out, const char *s, struct error *err);
int config_parse_endpoints(struct endpoint **out, size_t *n_out, const char *s, struct error *err);
int config_parse_token_path(char ***out, const char *s, struct error *err);
int config_parse_status_set(struct status_set *out, const char *s, struct error *err);
int config_parse_list(char ***out, const char *s, struct error *err);
/*
 * a workload item: "NAME" (a Deployment) or "KIND/NAME" with KIND deployment, statefulset, daemonset
 * (any case; plurals and deploy, sts, ds too). *kind_out is static, *name_out points into item.
 * Returns 0 or ERR_CONFIG naming the unknown kind
 */
int config_parse_workload(const char **kind_out, const char **name_out, const char *item, struct error *err);
int config_parse_headers(char ***out, const char *s, struct error *err);
int config_parse_time(int64_t *out_s, const char *s, struct error *err);
/*
 * The production input's auto rule: production, prod or prd as one part of the name (parts are
 * separated by - _ . / or spaces), case-insensitive, unless another part is pre, non or not.
 * why gets the reason ("matched \"prod\" in \"prod-eu\"").
 */
bool config_production_auto(char *why, size_t size, const char *environment);
/* true when any query (built-in or metrics) compares with the baseline */
bool config_wants_baseline(const struct config *cfg);
bool status_set_matches(const struct status_set *set, long status);
void endpoints_free(struct endpoint *e, size_t n);

#endif
