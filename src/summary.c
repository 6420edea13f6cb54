/* SPDX-License-Identifier: MIT */
#include "atom-config.h"
#include "summary.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "gate.h"
#include "jsonh.h"
#include "log.h"
#include "markdown.h"
#include "util.h"

static const char *
verdict_line(const struct gate *g)
{
	if (g->cancelled && g->result != GATE_CANCELLED) {
		return "Cancelled during the rollback: see the rollback row for what was sent";
	}
	return gate_result_headline(g->result);
}

static const char *
status_icon(enum check_status s)
{
	switch (s) {
	case CHECK_PASS:
		return ":white_check_mark: pass";
	case CHECK_FAIL:
		return ":x: fail";
	case CHECK_WARN:
		return ":warning: warn";
	case CHECK_SKIP:
	default:
		return ":fast_forward: skip";
	}
}

static void
render_head(struct buf *b, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	static const struct {
		const char *check;
		const char *label;
	} metric_rows[] = { { "error-rate", "Error rate" }, { "latency", "Latency" } };
	char *run_url = gate_run_url(g);
	char *commit_url = gate_commit_url(g);
	size_t i;

	buf_printf(b, "## %s %s\n\n", !gate_result_failed(g->result) ? ":white_check_mark:" : ":x:",
		   verdict_line(g));
	buf_puts(b, "| | |\n|---|---|\n");
	buf_puts(b, "| Result | ");
	md_code(b, gate_result_name(g->result));
	buf_puts(b, cfg->dry_run ? " (dry run: nothing changed)" : "");
	buf_puts(b, " |\n| Environment | ");
	md_escape(b, cfg->environment);
	buf_puts(b, cfg->production ? " (production limits" : " (staging limits");
	if (cfg->production_reason != NULL) {
		/* which limits and why: "production: auto, matched "prod" in "prod-eu"" */
		buf_puts(b, "; ");
		md_escape(b, cfg->production_reason);
	}
	buf_puts(b, ")");
	buf_puts(b, " |\n| URL | ");
	md_escape(b, cfg->url);
	buf_puts(b, " |\n| Commit | ");
	if (g->commit.sha != NULL) {
		if (commit_url != NULL) {
			buf_printf(b, "[`%s`](%s)", g->commit.short_sha != NULL ? g->commit.short_sha : g->commit.sha, commit_url);
		} else {
			md_code(b, g->commit.short_sha != NULL ? g->commit.short_sha : g->commit.sha);
		}
		if (g->commit.subject != NULL) {
			buf_puts(b, " ");
			md_escape(b, g->commit.subject);
		}
		if (g->commit.author != NULL) {
			buf_puts(b, " by ");
			md_escape(b, g->commit.author);
		}
	} else {
		buf_puts(b, "unknown");
	}
	buf_puts(b, " |\n");
	if (run_url != NULL) {
		buf_printf(b, "| Run | [%s](%s) |\n", cfg->ctx.run_id, run_url);
	}
	/* the metric checks' own value and limit strings: one wording everywhere */
	for (i = 0; i < sizeof(metric_rows) / sizeof(metric_rows[0]); i++) {
		const struct check_result *m = check_list_find(&g->checks, metric_rows[i].check);
		if (m != NULL && m->value != NULL && m->status != CHECK_SKIP) {
			buf_printf(b, "| %s | ", metric_rows[i].label);
			md_escape(b, m->value);
			buf_puts(b, " (limit ");
			md_escape(b, m->limit != NULL ? m->limit : "none");
			buf_puts(b, ") |\n");
		}
	}
	if (g->rollback.outcome != ROLLBACK_NONE || g->rollback.detail != NULL) {
		buf_puts(b, "| Rollback | ");
		md_escape(b, g->rollback.detail != NULL ? g->rollback.detail : "");
		buf_puts(b, " |\n");
	}
	if (g->notify.issue_url != NULL) {
		/* html_url comes from GitHub's reply: outside text, encoded for a link in a table cell */
		buf_printf(b, "| Issue | [#%ld]", g->notify.issue_number);
		md_url(b, g->notify.issue_url);
		buf_putc(b, ' ');
		md_escape(b, g->notify.issue_action != NULL ? g->notify.issue_action : "");
		buf_puts(b, " |\n");
	} else if (g->notify.issue_action != NULL) {
		/* "failed: …" quotes GitHub's message: outside text */
		buf_puts(b, "| Issue | ");
		md_escape(b, g->notify.issue_action);
		buf_puts(b, " |\n");
	}
	if (g->notify.close_status != NULL) {
		buf_puts(b, "| Incidents | ");
		md_escape(b, g->notify.close_status);
		buf_puts(b, " |\n");
	}
	if (g->notify.slack_status != NULL) {
		buf_puts(b, "| Slack | ");
		md_escape(b, g->notify.slack_status);
		buf_puts(b, " |\n");
	}
	if (g->notify.pagerduty_status != NULL) {
		buf_puts(b, "| PagerDuty | ");
		md_escape(b, g->notify.pagerduty_status);
		buf_puts(b, " |\n");
	}
	if (g->notify.webhook_status != NULL) {
		buf_puts(b, "| Webhook | ");
		md_escape(b, g->notify.webhook_status);
		buf_puts(b, " |\n");
	}
	for (i = 0; g->warnings != NULL && g->warnings[i] != NULL; i++) {
		buf_puts(b, "| :warning: Warning | ");
		md_escape(b, g->warnings[i]);
		buf_puts(b, " |\n");
	}
	buf_puts(b, "\n");
	free(run_url);
	free(commit_url);
}

static void
render_check(struct buf *b, const struct check_result *r)
{
	buf_puts(b, "| ");
	md_code(b, r->name);
	buf_printf(b, " | %s | ", status_icon(r->status));
	md_escape(b, r->value != NULL ? r->value : "");
	buf_puts(b, " | ");
	md_escape(b, r->limit != NULL ? r->limit : "");
	buf_printf(b, " | %lld ms | ", (long long)r->elapsed_ms);
	md_escape(b, r->detail != NULL ? r->detail : "");
	buf_puts(b, " |\n");
}

static void
render_rollback(struct buf *b, const struct gate *g)
{
	size_t i;

	if (g->rollback.n == 0) {
		return;
	}
	buf_puts(b, "\n### Rollback\n\n| Deployment | Revision | Images | Outcome | Failure to PATCH | Rollout |\n"
		    "|---|---|---|---|---|---|\n");
	for (i = 0; i < g->rollback.n; i++) {
		const struct rollback_entry *e = &g->rollback.items[i];
		buf_puts(b, "| ");
		md_escape(b, e->namespace);
		buf_puts(b, "/");
		md_escape(b, e->deployment);
		/* the restored revision keeps its old number here; the controller renumbers it (now N) */
		if (e->revision_target <= 0) {
			buf_printf(b, " | %ld | ", e->revision_before);
		} else if (e->revision_after > 0 && e->revision_after != e->revision_target) {
			buf_printf(b, " | %ld -> %ld (now %ld) | ", e->revision_before, e->revision_target, e->revision_after);
		} else {
			buf_printf(b, " | %ld -> %ld | ", e->revision_before, e->revision_target);
		}
		md_escape(b, e->images_before != NULL ? e->images_before : "?");
		buf_puts(b, " -> ");
		md_escape(b, e->images_after != NULL ? e->images_after : "?");
		buf_puts(b, " | ");
		md_escape(b, e->detail != NULL ? e->detail : "");
		if (e->failure_to_patch_ms >= 0) {
			buf_printf(b, " | %lld ms", (long long)e->failure_to_patch_ms);
		} else {
			buf_puts(b, " | -");
		}
		if (e->rollout_ms >= 0) {
			buf_printf(b, " | %lld ms |\n", (long long)e->rollout_ms);
		} else {
			buf_puts(b, " | - |\n");
		}
	}
	for (i = 0; i < g->rollback.n; i++) {
		const struct rollback_entry *e = &g->rollback.items[i];
		char *who, *cmd;
		if (e->manager.kind == MANAGER_NONE) {
			continue;
		}
		who = manager_describe(&e->manager);
		cmd = manager_command(&e->manager, g->commit.sha);
		buf_puts(b, i == 0 ? "\n" : "");
		buf_puts(b, "- :warning: ");
		md_escape(b, e->deployment);
		buf_puts(b, " is managed by ");
		md_escape(b, who);
		buf_puts(b, e->managed_skipped ? ": not rolled back (managed-rollback: skip). Run: "
					       : ": the controller may revert the rollback. Also run: ");
		md_code(b, cmd);
		buf_puts(b, "\n");
		free(cmd);
		free(who);
	}
}

/* ---- metrics: baseline, value and increase side by side, and the window as a chart ---- */

/* points per chart: enough to see a window's shape, small enough for the 1 MiB summary */
#define CHART_MAX_POINTS 120

static bool
is_metric_check(const struct check_result *r)
{
	return r->phase == PHASE_METRICS && r->data != NULL && jsonh_member(r->data, "samples") != NULL;
}

static void
render_metrics_table(struct buf *b, const struct gate *g)
{
	size_t i, shown = 0;

	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (!is_metric_check(r) || r->status == CHECK_SKIP) {
			continue;
		}
		if (shown++ == 0) {
			buf_puts(b, "\n### Metrics\n\n| Metric | Baseline | Value | Increase | Limit | Query |\n"
				    "|---|---|---|---|---|---|\n");
		}
		buf_puts(b, "| ");
		md_code(b, r->name);
		buf_puts(b, " | ");
		md_escape(b, jsonh_get_string_or(r->data, "baseline_display", "-"));
		buf_puts(b, " | ");
		md_escape(b, r->value != NULL ? r->value : "-");
		buf_puts(b, " | ");
		md_escape(b, jsonh_get_string_or(r->data, "increase_display", "-"));
		buf_puts(b, " | ");
		md_escape(b, r->limit != NULL ? r->limit : "");
		buf_puts(b, " | ");
		md_code(b, jsonh_get_string_or(r->data, "query", ""));
		buf_puts(b, " |\n");
	}
}

/* a number for the chart in the unit it is drawn in (percent for a fraction), false when none */
static bool
chart_number(double *out, struct json_object *v, double scale)
{
	if (v == NULL || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
		return false;
	}
	*out = json_object_get_double(v) * scale;
	return isfinite(*out);
}

static void
chart_line(struct buf *b, double v, size_t n)
{
	size_t i;

	buf_puts(b, "    line [");
	for (i = 0; i < n; i++) {
		buf_printf(b, "%s%.6g", i > 0 ? ", " : "", v);
	}
	buf_puts(b, "]\n");
}

/*
 * A Mermaid xychart-beta of a metric sampled twice or more: the samples, the limit as a second
 * line, the baseline as a third. Only numbers and the check's own name (letters, digits, ':'
 * and '-') go into it, so outside text cannot change the diagram.
 */
static void
render_chart(struct buf *b, const struct check_result *r)
{
	struct json_object *samples = jsonh_member(r->data, "samples");
	const char *unit = jsonh_get_string_or(r->data, "unit", "");
	double scale = strcmp(unit, "fraction") == 0 ? 100.0 : 1.0;
	const char *shown_unit = strcmp(unit, "fraction") == 0 ? "%" : unit;
	size_t i, k, n = json_object_array_length(samples), used = 0, measured = 0, stride;
	struct buf xs = BUF_INIT, ys = BUF_INIT;
	double limit, baseline, v;
	bool has_limit, has_baseline;
	const char *c;

	for (c = r->name; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == ':')) {
			return;
		}
	}
	/* a long window is thinned to CHART_MAX_POINTS evenly spread samples, the last one kept */
	for (i = 0; i < n; i++) {
		measured += chart_number(&v, jsonh_member(json_object_array_get_idx(samples, i), "value"), scale);
	}
	stride = measured > CHART_MAX_POINTS ? (measured + CHART_MAX_POINTS - 1) / CHART_MAX_POINTS : 1;
	for (i = 0, k = 0; i < n; i++) {
		struct json_object *sm = json_object_array_get_idx(samples, i);
		if (!chart_number(&v, jsonh_member(sm, "value"), scale)) {
			continue;
		}
		k++;
		if ((k - 1) % stride != 0 && k != measured) {
			continue;
		}
		buf_printf(&xs, "%s\"%.1fs\"", used > 0 ? ", " : "",
			   (double)json_object_get_int64(jsonh_member(sm, "elapsed_ms")) / 1000.0);
		buf_printf(&ys, "%s%.6g", used > 0 ? ", " : "", v);
		used++;
	}
	if (used >= 2) {
		has_limit = chart_number(&limit, jsonh_member(r->data, "max"), scale) ||
			    chart_number(&limit, jsonh_member(r->data, "min"), scale);
		has_baseline = chart_number(&baseline, jsonh_member(r->data, "baseline"), scale);
		buf_printf(b, "\n```mermaid\nxychart-beta\n    title \"%s: samples%s%s\"\n", r->name,
			   has_limit ? ", limit" : "", has_baseline ? ", baseline" : "");
		buf_printf(b, "    x-axis \"seconds since the first evaluation\" [%s]\n", buf_str(&xs));
		buf_printf(b, "    y-axis \"%s\"\n", shown_unit[0] != '\0' ? shown_unit : "value");
		buf_printf(b, "    line [%s]\n", buf_str(&ys));
		if (has_limit) {
			chart_line(b, limit, used);
		}
		if (has_baseline) {
			chart_line(b, baseline, used);
		}
		buf_puts(b, "```\n");
	}
	buf_dispose(&xs);
	buf_dispose(&ys);
}

static void
render_metrics(struct buf *b, const struct gate *g, bool charts)
{
	size_t i;

	render_metrics_table(b, g);
	for (i = 0; charts && i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (is_metric_check(r) && r->status != CHECK_SKIP) {
			render_chart(b, r);
		}
	}
}

void
summary_render(struct buf *out, const struct gate *g, size_t max_bytes)
{
	struct buf b = BUF_INIT;
	struct buf tail = BUF_INIT;
	size_t i, shown = 0;
	char *scrubbed;

	render_head(&b, g);
	render_metrics(&tail, g, true);
	if (tail.len > max_bytes / 4) {
		/* fifty metrics watched for a day: the checks come first, the pictures go */
		buf_reset(&tail);
		render_metrics(&tail, g, false);
		buf_puts(&tail, "\nCharts left out: they do not fit in the step summary.\n");
	}
	render_rollback(&tail, g);
	buf_puts(&tail, "\n<sub>atom-safety " PACKAGE_VERSION "</sub>\n");
	buf_puts(&b, "| Check | Status | Value | Limit | Time | Detail |\n|---|---|---|---|---|---|\n");
	for (i = 0; i < g->checks.n; i++) {
		struct buf row = BUF_INIT;
		render_check(&row, g->checks.items[i]);
		/* keep room for the tail and a note saying what was left out */
		if (b.len + row.len + tail.len + 200 > max_bytes) {
			buf_dispose(&row);
			break;
		}
		buf_append(&b, row.data, row.len);
		buf_dispose(&row);
		shown++;
	}
	if (shown < g->checks.n) {
		buf_printf(&b, "\n%zu more checks did not fit in the step summary; see the JSON report.\n",
			   g->checks.n - shown);
	}
	if (b.len + tail.len <= max_bytes) {
		buf_append(&b, tail.data, tail.len);
	}
	scrubbed = log_scrub(buf_str(&b));
	buf_puts(out, scrubbed);
	free(scrubbed);
	buf_dispose(&b);
	buf_dispose(&tail);
}

int
summary_write(const struct gate *g, struct error *err)
{
	const char *path = g->cfg->ctx.summary_path;
	struct stat st;
	struct buf b = BUF_INIT;
	size_t room = SUMMARY_LIMIT;
	FILE *f;
	bool ok = false;
	int rc = 0;

	if (path == NULL) {
		return 0;
	}
	if (stat(path, &st) == 0 && st.st_size > 0) {
		room = (size_t)st.st_size >= SUMMARY_LIMIT ? 0 : SUMMARY_LIMIT - (size_t)st.st_size;
	}
	if (room < 1024) {
		log_warn("the step summary already holds %lld bytes: not adding ours (the runner limit is 1 MiB)",
			 (long long)st.st_size);
		return 0;
	}
	summary_render(&b, g, room - 1);
	f = fopen(path, "a");
	if (f != NULL) {
		ok = fputs(buf_str(&b), f) >= 0;
		/* closed whatever happened: a failed write must not leak the stream */
		ok = fclose(f) == 0 && ok;
	}
	if (!ok) {
		rc = error_set(err, ERR_IO, "cannot append to GITHUB_STEP_SUMMARY %s: %s", path, strerror(errno));
	}
	buf_dispose(&b);
	return rc;
}

void
summary_print(const struct gate *g)
{
	static const char *const marks[] = { "PASS", "FAIL", "WARN", "SKIP" };
	size_t i;

	log_info("%s: %s", verdict_line(g), gate_result_name(g->result));
	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		log_info("  %-4s %-28s %-14s %-16s %s", marks[r->status], r->name, r->value != NULL ? r->value : "-",
			 r->limit != NULL ? r->limit : "-", r->detail != NULL ? r->detail : "");
	}
}
