/* SPDX-License-Identifier: MIT */
#include "atom-config.h"
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "gate.h"
#include "jsonh.h"
#include "log.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static void
add_opt_string(struct json_object *o, const char *key, const char *value)
{
	jsonh_add(o, key, value != NULL ? json_object_new_string(value) : NULL);
}

static struct json_object *
commit_json(const struct gate *g)
{
	struct json_object *c = json_object_new_object();
	char *url = gate_commit_url(g);

	add_opt_string(c, "sha", g->commit.sha);
	add_opt_string(c, "short_sha", g->commit.short_sha);
	add_opt_string(c, "author", g->commit.author);
	add_opt_string(c, "email", g->commit.email);
	add_opt_string(c, "subject", g->commit.subject);
	if (g->commit.time > 0) {
		char t[40];
		time_format_utc(t, sizeof(t), g->commit.time * 1000);
		jsonh_add_string(c, "time", t);
	} else {
		jsonh_add(c, "time", NULL);
	}
	jsonh_add_string(c, "source", g->commit.from_git ? "git" : "environment");
	add_opt_string(c, "url", url);
	free(url);
	return c;
}

static const char *
outcome_name(enum rollback_outcome o)
{
	switch (o) {
	case ROLLBACK_DONE:
		return "rolled-back";
	case ROLLBACK_DRY_RUN:
		return "dry-run";
	case ROLLBACK_SKIPPED:
		return "skipped";
	case ROLLBACK_FAILED:
		return "failed";
	case ROLLBACK_NONE:
	default:
		return "none";
	}
}

/* who else manages the workload, or null */
static struct json_object *
manager_json(const struct manager_info *m, bool skipped)
{
	struct json_object *o;

	if (m->kind == MANAGER_NONE) {
		return NULL;
	}
	o = json_object_new_object();
	jsonh_add_string(o, "kind", manager_kind_name(m->kind));
	add_opt_string(o, "name", m->name);
	add_opt_string(o, "namespace", m->namespace);
	jsonh_add_string(o, "via", m->via);
	jsonh_add_bool(o, "rollback_skipped", skipped);
	return o;
}

static struct json_object *
rollback_json(const struct gate *g)
{
	struct json_object *r = json_object_new_object();
	struct json_object *items = json_object_new_array();
	size_t i;

	jsonh_add_bool(r, "enabled", g->rollback.enabled);
	jsonh_add_bool(r, "armed", g->rollback.armed);
	jsonh_add_string(r, "outcome", outcome_name(g->rollback.outcome));
	add_opt_string(r, "detail", g->rollback.detail);
	for (i = 0; i < g->rollback.n; i++) {
		const struct rollback_entry *e = &g->rollback.items[i];
		struct json_object *d = json_object_new_object();
		add_opt_string(d, "deployment", e->deployment);
		add_opt_string(d, "kind", e->kind);
		add_opt_string(d, "namespace", e->namespace);
		jsonh_add(d, "revision_before", e->revision_before > 0 ? json_object_new_int64(e->revision_before) : NULL);
		jsonh_add(d, "revision_target", e->revision_target > 0 ? json_object_new_int64(e->revision_target) : NULL);
		jsonh_add(d, "revision_after", e->revision_after > 0 ? json_object_new_int64(e->revision_after) : NULL);
		add_opt_string(d, "images_before", e->images_before);
		add_opt_string(d, "images_after", e->images_after);
		jsonh_add_string(d, "outcome", outcome_name(e->outcome));
		add_opt_string(d, "detail", e->detail);
		jsonh_add(d, "failure_to_patch_ms",
			  e->failure_to_patch_ms >= 0 ? json_object_new_int64(e->failure_to_patch_ms) : NULL);
		jsonh_add(d, "rollout_ms", e->rollout_ms >= 0 ? json_object_new_int64(e->rollout_ms) : NULL);
		jsonh_add(d, "manager", manager_json(&e->manager, e->managed_skipped));
		jsonh_append(items, d);
	}
	jsonh_add(r, "deployments", items);
	return r;
}

/* ten significant digits, as the samples: 0.001, not 0.0009999999999999998; NULL for NaN and infinities */
static struct json_object *
number_or_null(double v)
{
	char num[32];

	if (!isfinite(v)) {
		return NULL;
	}
	(void)snprintf(num, sizeof(num), "%.10g", v);
	return json_object_new_double_s(v, num);
}

struct json_object *
report_build(const struct gate *g, int exit_code)
{
	const struct config *cfg = g->cfg;
	struct json_object *root = json_object_new_object();
	struct json_object *checks = json_object_new_array();
	struct json_object *failed = json_object_new_array();
	struct json_object *run = json_object_new_object();
	struct json_object *metrics = json_object_new_object();
	struct json_object *notify = json_object_new_object();
	struct json_object *warnings = json_object_new_array();
	char started[40], finished[40];
	char *run_url = gate_run_url(g);
	size_t i;

	time_format_utc(started, sizeof(started), g->started_wall_ms);
	time_format_utc(finished, sizeof(finished), g->finished_wall_ms != 0 ? g->finished_wall_ms : wall_ms());
	jsonh_add_string(root, "schema", REPORT_SCHEMA);
	jsonh_add_string(root, "version", PACKAGE_VERSION);
	jsonh_add_string(root, "result", gate_result_name(g->result));
	jsonh_add_int(root, "exit_code", exit_code);
	jsonh_add_bool(root, "cancelled", g->cancelled);
	jsonh_add_bool(root, "dry_run", cfg->dry_run);
	jsonh_add_string(root, "environment", cfg->environment);
	jsonh_add_bool(root, "production", cfg->production);
	add_opt_string(root, "production_reason", cfg->production_reason);
	jsonh_add_string(root, "url", cfg->url);
	jsonh_add_string(root, "started_at", started);
	jsonh_add_string(root, "finished_at", finished);
	jsonh_add_int(root, "duration_ms", clock_ms() - g->started_ms);
	jsonh_add(root, "commit", commit_json(g));

	add_opt_string(run, "repository", cfg->ctx.repository);
	add_opt_string(run, "workflow", cfg->ctx.workflow);
	add_opt_string(run, "run_id", cfg->ctx.run_id);
	add_opt_string(run, "run_attempt", cfg->ctx.run_attempt);
	add_opt_string(run, "ref", cfg->ctx.ref_name);
	add_opt_string(run, "actor", cfg->ctx.actor);
	add_opt_string(run, "url", run_url);
	jsonh_add(root, "run", run);
	free(run_url);

	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		struct json_object *c = json_object_new_object();
		jsonh_add_string(c, "name", r->name);
		jsonh_add_string(c, "phase", check_phase_name(r->phase));
		jsonh_add_string(c, "status", check_status_name(r->status));
		add_opt_string(c, "value", r->value);
		add_opt_string(c, "limit", r->limit);
		jsonh_add_int(c, "elapsed_ms", r->elapsed_ms);
		add_opt_string(c, "detail", r->detail);
		if (r->data != NULL) {
			jsonh_add(c, "data", json_object_get(r->data));
		}
		jsonh_append(checks, c);
		if (gate_check_failed(r)) {
			jsonh_append(failed, json_object_new_string(r->name));
		}
	}
	jsonh_add(root, "failed_checks", failed);
	jsonh_add(root, "checks", checks);

	jsonh_add(metrics, "error_rate",
		  g->metrics.error_rate_set && isfinite(g->metrics.error_rate) ? json_object_new_double(g->metrics.error_rate) : NULL);
	jsonh_add_double(metrics, "max_error_rate", cfg->max_error_rate);
	jsonh_add(metrics, "latency_ms",
		  g->metrics.latency_set && isfinite(g->metrics.latency_ms) ? json_object_new_double(g->metrics.latency_ms) : NULL);
	jsonh_add(metrics, "max_latency_ms", cfg->max_latency_ms >= 0 ? json_object_new_int64(cfg->max_latency_ms) : NULL);
	if (cfg->prometheus_url != NULL) {
		/* a ?query may carry a tenant key: the report, like the log, shows the URL without it */
		char *shown = url_for_log(cfg->prometheus_url);
		jsonh_add_string(metrics, "prometheus_url", shown);
		free(shown);
	} else {
		jsonh_add(metrics, "prometheus_url", NULL);
	}
	/* what was sent, templates expanded; the configured text when nothing was */
	jsonh_add_string(metrics, "error_rate_query",
			 g->metrics.error_rate_query != NULL ? g->metrics.error_rate_query : cfg->error_rate_query);
	jsonh_add_string(metrics, "latency_query",
			 g->metrics.latency_query != NULL ? g->metrics.latency_query : cfg->latency_query);
	jsonh_add(metrics, "baseline_error_rate",
		  g->metrics.baseline_error_rate_set ? number_or_null(g->metrics.baseline_error_rate) : NULL);
	jsonh_add(metrics, "baseline_latency_ms",
		  g->metrics.baseline_latency_set ? number_or_null(g->metrics.baseline_latency_ms) : NULL);
	if (g->metrics.baseline_time_s > 0) {
		char at[40];
		time_format_utc(at, sizeof(at), g->metrics.baseline_time_s * 1000);
		jsonh_add_string(metrics, "baseline_time", at);
	} else {
		jsonh_add(metrics, "baseline_time", NULL);
	}
	{
		/* the metrics output's object: every configured metric, measured or not */
		jsonh_add(metrics, "named", metrics_named_json(g));
	}
	jsonh_add(root, "metrics", metrics);

	jsonh_add(root, "rollback", rollback_json(g));
	for (i = 0; g->warnings != NULL && g->warnings[i] != NULL; i++) {
		jsonh_append(warnings, json_object_new_string(g->warnings[i]));
	}
	jsonh_add(root, "warnings", warnings);

	add_opt_string(notify, "issue_url", g->notify.issue_url);
	jsonh_add(notify, "issue_number", g->notify.issue_number > 0 ? json_object_new_int64(g->notify.issue_number) : NULL);
	add_opt_string(notify, "issue", g->notify.issue_action);
	add_opt_string(notify, "slack", g->notify.slack_status);
	{
		struct json_object *closed = json_object_new_array();
		size_t j;
		for (j = 0; j < g->notify.n_closed; j++) {
			jsonh_append(closed, json_object_new_int64(g->notify.closed_issues[j]));
		}
		jsonh_add(notify, "closed_issues", closed);
	}
	add_opt_string(notify, "close", g->notify.close_status);
	jsonh_add_bool(notify, "recovered", g->notify.recovered);
	add_opt_string(notify, "pagerduty", g->notify.pagerduty_status);
	add_opt_string(notify, "webhook", g->notify.webhook_status);
	jsonh_add(root, "notifications", notify);
	return root;
}

char *
report_path(const struct config *cfg)
{
	const char *dir = cfg->ctx.runner_temp != NULL ? cfg->ctx.runner_temp : "/tmp";
	return xasprintf("%s/atom-safety-report.json", dir);
}

char *
report_render(const struct gate *g, int exit_code)
{
	struct json_object *root = report_build(g, exit_code);
	char *text = log_scrub(jsonh_to_string(root, true));

	json_object_put(root);
	return text;
}

/* a new file in dir that cannot be one someone planted (O_EXCL, no link followed); -1 with errno */
static int
temp_create(char **path_out, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *tmp = slash != NULL ? xasprintf("%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1)
				  : xasprintf(".%s.XXXXXX", path);
	int fd = mkstemp(tmp);

	if (fd < 0) {
		free(tmp);
		return -1;
	}
	/* mkstemp's 0600 would hide the report from the runner's user on the host */
	(void)fchmod(fd, 0644);
	*path_out = tmp;
	return fd;
}

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
report_write(struct json_object *root, const char *path, struct error *err)
{
	char *text = log_scrub(jsonh_to_string(root, true));
	char *tmp = NULL;
	int fd, rc = 0;

	/*
	 * a new temporary file beside the report, written, synced and renamed over it: a reader never
	 * sees half a report, and a link planted at the report's path or a temporary name is replaced
	 * or refused, never followed (no file the gate did not create is truncated)
	 */
	fd = temp_create(&tmp, path);
	if (fd < 0) {
		rc = error_set(err, ERR_IO, "cannot write the report in the directory of %s: %s", path, strerror(errno));
		goto out;
	}
	if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		rc = error_set(err, ERR_IO, "cannot write the report %s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		rc = error_set(err, ERR_IO, "cannot write the report %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		rc = error_set(err, ERR_IO, "cannot write the report %s: %s", path, strerror(errno));
		(void)unlink(tmp);
	}
out:
	free(tmp);
	free(text);
	return rc;
}

/* drops checks[].<key> everywhere; true when one was there */
static bool
drop_check_member(struct json_object *root, const char *key)
{
	struct json_object *checks = jsonh_member(root, "checks");
	bool dropped = false;
	size_t i, n;

	if (checks == NULL || !json_object_is_type(checks, json_type_array)) {
		return false;
	}
	n = json_object_array_length(checks);
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(checks, i);
		if (jsonh_member(c, key) != NULL) {
			json_object_object_del(c, key);
			dropped = true;
		}
	}
	return dropped;
}

char *
report_compact(struct json_object *root)
{
	char *text = log_scrub(jsonh_to_string(root, false));

	if (strlen(text) <= REPORT_JSON_MAX) {
		return text;
	}
	free(text);
	/* the same document without the per-sample detail, saying so */
	(void)drop_check_member(root, "data");
	jsonh_add_bool(root, "samples_omitted", true);
	text = log_scrub(jsonh_to_string(root, false));
	if (strlen(text) <= REPORT_JSON_MAX) {
		return text;
	}
	/* still too big (thousands of endpoints): the one-line details go too */
	free(text);
	(void)drop_check_member(root, "detail");
	jsonh_add_bool(root, "details_omitted", true);
	text = log_scrub(jsonh_to_string(root, false));
	return text;
}
