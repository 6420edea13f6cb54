/* SPDX-License-Identifier: MIT */
#include "atom-config.h"

#include "message.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clients/slack.h"
#include "config.h"
#include "gate.h"
#include "incident.h"
#include "issue.h"
#include "util.h"

/*
 * What chat channels are told about a run: pure, built from struct gate only (no I/O), so every
 * word is unit-tested (tests/unit/test-issue.c). Outside text goes through the channel's own
 * escaping (slack_escape, slack_code); the title is the issue's. notify.c sends it.
 */

#define SLACK_MAX_SUBJECT 300

static char *
field(const char *title, const char *mrkdwn)
{
	return xasprintf("*%s*\n%s", title, mrkdwn);
}

static void
add_commit_fields(struct slack_message *m, const struct gate *g)
{
	char *commit_url = gate_commit_url(g);
	struct buf b = BUF_INIT;

	if (g->commit.sha != NULL) {
		if (commit_url != NULL) {
			slack_link(&b, commit_url, gate_short_sha(g));
		} else {
			slack_code(&b, gate_short_sha(g));
		}
		if (g->commit.subject != NULL) {
			char *subject = xstrdup(g->commit.subject);
			if (strlen(subject) > SLACK_MAX_SUBJECT) {
				memcpy(subject + utf8_floor(subject, SLACK_MAX_SUBJECT - 3), "...",
				       4);
			}
			buf_putc(&b, ' ');
			slack_escape(&b, subject);
			free(subject);
		}
	} else {
		buf_puts(&b, "unknown");
	}
	slack_message_add_field(m, field("Commit", buf_str(&b)));
	buf_reset(&b);
	if (g->commit.author != NULL) {
		slack_escape(&b, g->commit.author);
		slack_message_add_field(m, field("Author", buf_str(&b)));
	}
	buf_dispose(&b);
	free(commit_url);
}

static void
add_run_field(struct slack_message *m, const struct gate *g)
{
	char *run_url = gate_run_url(g);
	struct buf b = BUF_INIT;
	char *label;

	if (run_url != NULL) {
		label = xasprintf("%s #%s (attempt %s)",
				  g->cfg->ctx.workflow != NULL ? g->cfg->ctx.workflow : "run",
				  g->cfg->ctx.run_id,
				  g->cfg->ctx.run_attempt != NULL ? g->cfg->ctx.run_attempt : "1");
		slack_link(&b, run_url, label);
		free(label);
		slack_message_add_field(m, field("Run", buf_str(&b)));
	}
	buf_dispose(&b);
	free(run_url);
}

static char *
header(const struct gate *g)
{
	return xasprintf("%s%s: %s / %s", gate_result_title(g->result),
			 g->cfg->dry_run ? " (dry run)" : "", g->cfg->environment,
			 gate_first_deployment(g));
}

/* a passing run's message: one sentence, the commit and the run */
static void
slack_passed(struct slack_message *out, const struct gate *g)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "The post-deploy gate passed for ");
	slack_code(&b, gate_first_deployment(g));
	buf_puts(&b, " in ");
	slack_escape(&b, g->cfg->environment);
	buf_puts(&b, ".");
	slack_message_add_section(out, buf_steal(&b));
	add_commit_fields(out, g);
	add_run_field(out, g);
	out->context = xasprintf("atom-safety %s", PACKAGE_VERSION);
}

static void
add_issue_field(struct slack_message *m, const struct gate *g)
{
	struct buf b = BUF_INIT;
	char label[32];

	if (g->notify.issue_url == NULL) {
		return;
	}
	(void)snprintf(label, sizeof(label), "#%ld", g->notify.issue_number);
	slack_link(&b, g->notify.issue_url, label);
	slack_message_add_field(m, field("Issue", buf_str(&b)));
	buf_dispose(&b);
}

static void
add_failed_checks_field(struct slack_message *m, const struct gate *g)
{
	struct buf b = BUF_INIT;
	size_t i, n = 0;

	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (r->status == CHECK_FAIL && r->phase != PHASE_RECOVERY) {
			if (n > 0) {
				buf_puts(&b, ", ");
			}
			slack_code(&b, r->name);
			n++;
		}
	}
	if (n > 0) {
		slack_message_add_field(m, field("Failed checks", buf_str(&b)));
	}
	buf_dispose(&b);
}

/* what the rollback did, then up to three workloads with their revisions and images */
static void
add_rollback_field(struct slack_message *m, const struct gate *g)
{
	struct buf b = BUF_INIT;
	char *line = gate_rollback_line(g);
	size_t i;

	slack_escape(&b, line);
	free(line);
	for (i = 0; i < g->rollback.n && i < 3; i++) {
		const struct rollback_entry *e = &g->rollback.items[i];
		buf_puts(&b, "\n");
		slack_code(&b, e->deployment != NULL ? e->deployment : "?");
		if (e->revision_before > 0) {
			buf_printf(&b, " revision %ld", e->revision_before);
			if (e->revision_after > 0) {
				buf_printf(&b, " -> %ld", e->revision_after);
			}
		}
		if (e->images_before != NULL && e->images_after != NULL) {
			buf_puts(&b, ", ");
			slack_code(&b, e->images_before);
			buf_puts(&b, " -> ");
			slack_code(&b, e->images_after);
		}
	}
	slack_message_add_field(m, field("Rollback", buf_str(&b)));
	buf_dispose(&b);
}

static void
add_metric_fields(struct slack_message *m, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct buf b = BUF_INIT;

	if (g->metrics.error_rate_set && isfinite(g->metrics.error_rate)) {
		buf_printf(&b, "%.4g%% (limit &lt; %.4g%%)", g->metrics.error_rate * 100.0, cfg->max_error_rate * 100.0);
		slack_message_add_field(m, field("Error rate", buf_str(&b)));
		buf_reset(&b);
	}
	if (g->metrics.latency_set && isfinite(g->metrics.latency_ms)) {
		buf_printf(&b, "%.1f ms", g->metrics.latency_ms);
		if (cfg->max_latency_ms >= 0) {
			buf_printf(&b, " (limit %lld ms)", (long long)cfg->max_latency_ms);
		}
		slack_message_add_field(m, field("Latency", buf_str(&b)));
	}
	buf_dispose(&b);
}

/* the details, one line per failed check, as far as a section holds */
static void
add_failure_details(struct slack_message *m, const struct gate *g)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < g->checks.n && b.len < SLACK_MAX_SECTION_TEXT; i++) {
		const struct check_result *r = g->checks.items[i];
		if (r->status != CHECK_FAIL || r->phase == PHASE_RECOVERY) {
			continue;
		}
		buf_puts(&b, b.len > 0 ? "\n" : "");
		buf_puts(&b, "• ");
		slack_code(&b, r->name);
		buf_puts(&b, ": ");
		slack_escape(&b, r->detail != NULL ? r->detail : "failed");
	}
	if (b.len > 0) {
		slack_message_add_section(m, buf_steal(&b));
	}
	buf_dispose(&b);
}

void
message_slack_build(struct slack_message *out, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct buf b = BUF_INIT;
	char *title = issue_title(g);
	char *cancel_line;

	memset(out, 0, sizeof(*out));
	slack_escape(&b, title);
	out->text = buf_steal(&b);
	free(title);
	out->header = header(g);
	if (!gate_result_failed(g->result)) {
		slack_passed(out, g);
		return;
	}
	buf_puts(&b, "The post-deploy gate failed for ");
	slack_code(&b, gate_first_deployment(g));
	buf_puts(&b, " in ");
	slack_escape(&b, cfg->environment);
	buf_puts(&b, g->rollback.outcome == ROLLBACK_DONE        ? ": *rolled back*."
		     : g->result == GATE_ROLLBACK_FAILED ? ": *the rollback did not complete*."
							 : ": nothing was rolled back.");
	slack_message_add_section(out, buf_steal(&b));
	cancel_line = gate_cancel_line(g);
	if (cancel_line != NULL) {
		buf_puts(&b, ":warning: ");
		slack_escape(&b, cancel_line);
		slack_message_add_section(out, buf_steal(&b));
		free(cancel_line);
	}
	add_commit_fields(out, g);
	add_run_field(out, g);
	add_issue_field(out, g);
	add_failed_checks_field(out, g);
	add_rollback_field(out, g);
	add_metric_fields(out, g);
	add_failure_details(out, g);
	out->context = xasprintf("atom-safety %s · result `%s`", PACKAGE_VERSION, gate_result_name(g->result));
	buf_dispose(&b);
}

/* a passing run that closed open incidents: what recovered, the commit, the run, the issues */
void
message_slack_recovered(struct slack_message *out, const struct gate *g, int64_t longest_open_ms)
{
	char *scope = incident_scope_words(g);
	struct buf b = BUF_INIT;
	size_t i;

	memset(out, 0, sizeof(*out));
	buf_puts(&b, "Recovered: ");
	slack_escape(&b, scope);
	if (gate_short_sha(g) != NULL) {
		buf_puts(&b, " @ ");
		slack_escape(&b, gate_short_sha(g));
	}
	out->text = buf_steal(&b);
	out->header = xasprintf("Recovered%s: %s", g->cfg->dry_run ? " (dry run)" : "", scope);

	buf_puts(&b, "The post-deploy gate passed again; the open incident");
	buf_puts(&b, g->notify.n_closed == 1 ? " was" : "s were");
	buf_puts(&b, " closed.");
	slack_message_add_section(out, buf_steal(&b));

	/* the same Commit, Author and Run fields as the failure message */
	add_commit_fields(out, g);
	add_run_field(out, g);
	for (i = 0; i < g->notify.n_closed && i < 20; i++) {
		buf_printf(&b, "%s#%ld", i > 0 ? ", " : "", g->notify.closed_issues[i]);
	}
	if (b.len > 0) {
		slack_message_add_field(out, xasprintf("*Closed issues*\n%s", buf_str(&b)));
		buf_reset(&b);
	}
	if (longest_open_ms >= 0) {
		char d[48];
		incident_duration_words(d, sizeof(d), longest_open_ms);
		slack_message_add_field(out, xasprintf("*Open for*\n%s", d));
	}
	out->context = xasprintf("atom-safety %s · result `passed` · recovered", PACKAGE_VERSION);
	buf_dispose(&b);
	free(scope);
}
