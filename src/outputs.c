/* SPDX-License-Identifier: MIT */
#include "outputs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/metrics.h"
#include "config.h"
#include "gate.h"
#include "jsonh.h"
#include "log.h"
#include "util.h"
#include "wfcmd.h"

static void
put(struct buf *out, const char *name, const char *value, const char *delim_seed)
{
	/* an output holding a masked value is dropped by the runner at job level: never put one */
	char *clean = log_scrub(value != NULL ? value : "");
	wfcmd_heredoc(out, name, clean, delim_seed);
	free(clean);
}

char *
outputs_metrics_json(const struct gate *g)
{
	struct json_object *obj = metrics_named_json(g);
	char *text;

	text = xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return text;
}

void
outputs_render(struct buf *out, const struct gate *g, const char *report, const char *report_json,
	       const char *delim_seed)
{
	char *failed = gate_failed_checks(g);
	char num[64];
	bool rolled = g->rollback.outcome == ROLLBACK_DONE;
	size_t i;
	long rev = 0;

	put(out, "result", gate_result_name(g->result), delim_seed);
	put(out, "failed-checks", failed, delim_seed);
	if (report != NULL) {
		put(out, "report", report, delim_seed);
	}
	put(out, "report-json", report_json, delim_seed);
	num[0] = '\0';
	if (g->metrics.error_rate_set && isfinite(g->metrics.error_rate)) {
		(void)snprintf(num, sizeof(num), "%.6g", g->metrics.error_rate);
	}
	put(out, "error-rate", num, delim_seed);
	num[0] = '\0';
	if (g->metrics.latency_set && isfinite(g->metrics.latency_ms)) {
		(void)snprintf(num, sizeof(num), "%.0f", g->metrics.latency_ms);
	}
	put(out, "latency-ms", num, delim_seed);
	num[0] = '\0';
	if (g->metrics.baseline_error_rate_set && isfinite(g->metrics.baseline_error_rate)) {
		(void)snprintf(num, sizeof(num), "%.6g", g->metrics.baseline_error_rate);
	}
	put(out, "baseline-error-rate", num, delim_seed);
	num[0] = '\0';
	if (g->metrics.baseline_latency_set && isfinite(g->metrics.baseline_latency_ms)) {
		(void)snprintf(num, sizeof(num), "%.0f", g->metrics.baseline_latency_ms);
	}
	put(out, "baseline-latency-ms", num, delim_seed);
	{
		char *named = outputs_metrics_json(g);
		put(out, "metrics", named, delim_seed);
		free(named);
	}
	put(out, "rolled-back", rolled ? "true" : "false", delim_seed);
	/*
	 * the revision restored, as `kubectl rollout undo --to-revision` names it: the controller
	 * renumbers it afterwards (revision_after), which the report also carries
	 */
	for (i = 0; i < g->rollback.n && rev == 0; i++) {
		const struct rollback_entry *e = &g->rollback.items[i];
		if (e->outcome == ROLLBACK_DONE || e->outcome == ROLLBACK_DRY_RUN) {
			rev = e->revision_target;
		}
	}
	num[0] = '\0';
	if (rev > 0) {
		(void)snprintf(num, sizeof(num), "%ld", rev);
	}
	put(out, "rollback-revision", num, delim_seed);
	put(out, "issue-url", g->notify.issue_url, delim_seed);
	num[0] = '\0';
	if (g->notify.issue_number > 0) {
		(void)snprintf(num, sizeof(num), "%ld", g->notify.issue_number);
	}
	put(out, "issue-number", num, delim_seed);
	{
		struct buf closed = BUF_INIT;
		for (i = 0; i < g->notify.n_closed; i++) {
			buf_printf(&closed, "%s%ld", i > 0 ? "," : "", g->notify.closed_issues[i]);
		}
		put(out, "closed-issues", buf_str(&closed), delim_seed);
		buf_dispose(&closed);
	}
	free(failed);
}

int
outputs_write(const struct gate *g, const char *report, const char *report_json, struct error *err)
{
	const char *path = g->cfg->ctx.output_path;
	struct buf b = BUF_INIT;
	FILE *f;
	bool ok = false;
	int rc = 0;

	if (path == NULL) {
		char *failed = gate_failed_checks(g);
		log_info("outputs: result=%s failed-checks=%s report=%s", gate_result_name(g->result), failed,
			 report != NULL ? report : "(not written)");
		free(failed);
		return 0;
	}
	outputs_render(&b, g, report, report_json, NULL);
	f = fopen(path, "a");
	if (f != NULL) {
		ok = fputs(buf_str(&b), f) >= 0;
		/* closed whatever happened: a failed write must not leak the stream */
		ok = fclose(f) == 0 && ok;
	}
	if (!ok) {
		rc = error_set(err, ERR_IO, "cannot append to GITHUB_OUTPUT %s: %s", path, strerror(errno));
	}
	buf_dispose(&b);
	return rc;
}
