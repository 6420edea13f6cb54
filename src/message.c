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

void
message_slack_build(struct slack_message *out, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct buf b = BUF_INIT;
	char *title = issue_title(g);
	size_t i, n = 0;

	memset(out, 0, sizeof(*out));
	slack_escape(&b, title);
	out->text = buf_steal(&b);
	free(title);
	out->header = header(g);

	if (!gate_result_failed(g->result)) {
		buf_puts(&b, "The post-deploy gate passed for ");
		slack_code(&b, gate_first_deployment(g));
		buf_puts(&b, " in ");
		slack_escape(&b, cfg->environment);
		buf_puts(&b, ".");
		slack_message_add_section(out, buf_steal(&b));
		add_commit_fields(out, g);
		add_run_field(out, g);
		out->context = xasprintf("atom-safety %s", PACKAGE_VERSION);
		return;
	}

	buf_puts(&b, "The post-deploy gate failed for ");
	slack_code(&b, gate_first_deployment(g));
	buf_puts(&b, " in ");
	slack_escape(&b, cfg->environment);
	buf_puts(&b, g->rollback.outcome == ROLLBACK_DONE ? ": *rolled back*."
		     : g->result == GATE_ROLLBACK_FAILED  ? ": *the rollback did not complete*."
							  : ": nothing was rolled back.");
	slack_message_add_section(out, buf_steal(&b));

	add_commit_fields(out, g);
	add_run_field(out, g);
	if (g->notify.issue_url != NULL) {
		char label[32];
		(void)snprintf(label, sizeof(label), "#%ld", g->notify.issue_number);
		slack_link(&b, g->notify.issue_url, label);
		slack_message_add_field(out, field("Issue", buf_str(&b)));
		buf_reset(&b);
	}
	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (gate_check_failed(r)) {
			if (n > 0) {
				buf_puts(&b, ", ");
			}
			slack_code(&b, r->name);
			n++;
		}
	}
	if (n > 0) {
		slack_message_add_field(out, field("Failed checks", buf_str(&b)));
	}
	buf_reset(&b);
	{
		char *line = gate_rollback_line(g);
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
		slack_message_add_field(out, field("Rollback", buf_str(&b)));
		buf_reset(&b);
	}
	if (g->metrics.error_rate_set && isfinite(g->metrics.error_rate)) {
		buf_printf(&b, "%.4g%% (limit &lt; %.4g%%)", g->metrics.error_rate * 100.0,
			   cfg->max_error_rate * 100.0);
		slack_message_add_field(out, field("Error rate", buf_str(&b)));
		buf_reset(&b);
	}
	if (g->metrics.latency_set && isfinite(g->metrics.latency_ms)) {
		buf_printf(&b, "%.1f ms", g->metrics.latency_ms);
		if (cfg->max_latency_ms >= 0) {
			buf_printf(&b, " (limit %lld ms)", (long long)cfg->max_latency_ms);
		}
		slack_message_add_field(out, field("Latency", buf_str(&b)));
		buf_reset(&b);
	}

	/* the details, one line per failed check, as far as a section holds */
	for (i = 0; i < g->checks.n && b.len < SLACK_MAX_SECTION_TEXT; i++) {
		const struct check_result *r = g->checks.items[i];
		if (!gate_check_failed(r)) {
			continue;
		}
		buf_puts(&b, b.len > 0 ? "\n" : "");
		buf_puts(&b, "• ");
		slack_code(&b, r->name);
		buf_puts(&b, ": ");
		slack_escape(&b, r->detail != NULL ? r->detail : "failed");
	}
	if (b.len > 0) {
		slack_message_add_section(out, buf_steal(&b));
	}
	out->context = xasprintf("atom-safety %s · result `%s`", PACKAGE_VERSION,
				 gate_result_name(g->result));
	buf_dispose(&b);
}
