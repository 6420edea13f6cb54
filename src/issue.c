/* SPDX-License-Identifier: MIT */
#include "atom-config.h"
#include "issue.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "digest.h"
#include "incident.h"
#include "gate.h"
#include "log.h"
#include "markdown.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define MAX_LISTED_CHECKS 100
#define MAX_LISTED_DEPLOYMENTS 20

void
issue_fingerprint(char out[ISSUE_FINGERPRINT_HEX + 1], const char *environment, const char *deployment,
		  const char *sha)
{
	static const char tag[] = "atom-safety/1";
	const void *parts[7];
	size_t lens[7], i, n = 0;
	const char *fields[3];
	unsigned char digest[DIGEST_SHA256_LEN];

	fields[0] = environment != NULL ? environment : "";
	fields[1] = deployment != NULL ? deployment : "";
	fields[2] = sha != NULL ? sha : "";
	parts[n] = tag;
	lens[n++] = sizeof(tag) - 1;
	/* NUL-separated: ("ab", "c") and ("a", "bc") must not collide; the same bytes as version 1 */
	for (i = 0; i < 3; i++) {
		parts[n] = "";
		lens[n++] = 1;
		parts[n] = fields[i];
		lens[n++] = strlen(fields[i]);
	}
	digest_sha256_parts(digest, parts, lens, n);
	digest_hex(out, digest, ISSUE_FINGERPRINT_HEX / 2);
}

/* --- small helpers ------------------------------------------------------------------------ */

/* a fenced code block longer than any backtick run inside, so the content cannot close it */
static void
fence(struct buf *b, const char *lang, const char *content)
{
	size_t run = 0, longest = 0, n, i;
	const char *p;

	for (p = content; *p != '\0'; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest) {
			longest = run;
		}
	}
	n = longest < 3 ? 3 : longest + 1;
	for (i = 0; i < n; i++) {
		buf_putc(b, '`');
	}
	buf_printf(b, "%s\n%s", lang, content);
	if (b->len > 0 && b->data[b->len - 1] != '\n') {
		buf_putc(b, '\n');
	}
	for (i = 0; i < n; i++) {
		buf_putc(b, '`');
	}
	buf_putc(b, '\n');
}

/* the namespace a deployment's kubectl commands need: the rollback's, else the input's */
static const char *
deployment_namespace(const struct gate *g, const char *deployment)
{
	size_t i;

	for (i = 0; i < g->rollback.n; i++) {
		const struct rollback_entry *e = &g->rollback.items[i];
		if (e->deployment != NULL && strcmp(e->deployment, deployment) == 0 && e->namespace != NULL &&
		    e->namespace[0] != '\0') {
			return e->namespace;
		}
	}
	return g->cfg->namespace != NULL && g->cfg->namespace[0] != '\0' ? g->cfg->namespace : NULL;
}

static void
kubectl(struct buf *b, const char *verb, const char *kind, const char *deployment, const char *ns, const char *tail)
{
	char *ref = xasprintf("%s/%s", kind, deployment);

	buf_printf(b, "kubectl %s ", verb);
	md_shell_word(b, ref);
	if (ns != NULL) {
		buf_puts(b, " -n ");
		md_shell_word(b, ns);
	}
	buf_puts(b, tail);
	buf_putc(b, '\n');
	free(ref);
}

static bool
rolled_back(const struct gate *g)
{
	return g->rollback.outcome == ROLLBACK_DONE;
}

/* --- the issue body ----------------------------------------------------------------------- */

/* the commit row (linked short SHA and subject), its author and its time */
static void
render_commit_rows(struct buf *b, const struct gate *g)
{
	char *commit_url = gate_commit_url(g);

	buf_puts(b, "| Commit | ");
	if (g->commit.sha != NULL) {
		if (commit_url != NULL) {
			buf_puts(b, "[");
			md_code(b, gate_short_sha(g));
			buf_printf(b, "](%s)", commit_url);
		} else {
			md_code(b, gate_short_sha(g));
		}
		if (g->commit.subject != NULL) {
			buf_puts(b, " ");
			md_escape(b, g->commit.subject);
		}
	} else {
		buf_puts(b, "unknown");
	}
	buf_puts(b, " |\n");
	if (g->commit.author != NULL) {
		buf_puts(b, "| Author | ");
		md_escape(b, g->commit.author);
		if (g->commit.email != NULL) {
			buf_puts(b, " (");
			md_escape(b, g->commit.email);
			buf_puts(b, ")");
		}
		if (!g->commit.from_git) {
			buf_puts(b, " (the workflow's actor: no repository was checked out)");
		}
		buf_puts(b, " |\n");
	}
	if (g->commit.time > 0) {
		char t[40];
		time_format_utc(t, sizeof(t), g->commit.time * 1000);
		buf_printf(b, "| Committed | %s |\n", t);
	}
	free(commit_url);
}

/* the ref, the workflow run and who started it */
static void
render_run_rows(struct buf *b, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	char *run_url = gate_run_url(g);

	if (cfg->ctx.ref_name != NULL) {
		buf_puts(b, "| Ref | ");
		md_code(b, cfg->ctx.ref_name);
		buf_puts(b, " |\n");
	}
	if (run_url != NULL) {
		buf_puts(b, "| Workflow run | [");
		md_escape(b, cfg->ctx.workflow != NULL ? cfg->ctx.workflow : "run");
		buf_printf(b, " #%s, attempt %s](%s) |\n", cfg->ctx.run_id,
			   cfg->ctx.run_attempt != NULL ? cfg->ctx.run_attempt : "1", run_url);
	}
	if (cfg->ctx.actor != NULL) {
		buf_puts(b, "| Started by | ");
		md_escape(b, cfg->ctx.actor);
		buf_puts(b, " |\n");
	}
	free(run_url);
}

static void
render_facts(struct buf *b, const struct gate *g)
{
	const struct config *cfg = g->cfg;

	buf_puts(b, "| | |\n|---|---|\n| Result | ");
	md_code(b, gate_result_name(g->result));
	if (cfg->dry_run) {
		buf_puts(b, " (dry run: nothing was changed)");
	}
	buf_puts(b, " |\n| Environment | ");
	md_escape(b, cfg->environment);
	buf_puts(b, cfg->production ? " (production limits)" : " (staging limits)");
	buf_puts(b, " |\n| Service | ");
	md_code(b, cfg->url);
	buf_puts(b, " |\n| Deployment | ");
	md_code(b, gate_first_deployment(g));
	buf_puts(b, " |\n");
	render_commit_rows(b, g);
	render_run_rows(b, g);
	buf_puts(b, "\n");
}

static void
render_check_row(struct buf *b, const struct check_result *r)
{
	buf_puts(b, "| ");
	md_code(b, r->name);
	buf_puts(b, " | ");
	md_escape(b, r->value != NULL ? r->value : "");
	buf_puts(b, " | ");
	md_escape(b, r->limit != NULL ? r->limit : "");
	buf_puts(b, " | ");
	md_escape(b, r->detail != NULL ? r->detail : "");
	buf_puts(b, " |\n");
}

static void
render_failed(struct buf *b, const struct gate *g)
{
	size_t i, shown = 0, failed = 0;

	buf_puts(b, "### What failed\n\n| Check | Value | Limit | Detail |\n|---|---|---|---|\n");
	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (!gate_check_failed(r)) {
			continue;
		}
		failed++;
		if (shown < MAX_LISTED_CHECKS) {
			render_check_row(b, r);
			shown++;
		}
	}
	if (failed == 0) {
		buf_puts(b, "| (none recorded) | | | |\n");
	}
	if (failed > shown) {
		buf_printf(b, "\n%zu more failed checks are in the JSON report.\n", failed - shown);
	}
	buf_puts(b, "\n");
}

static void
render_metric_row(struct buf *b, const struct gate *g, const char *label, const char *check, bool set,
		  const char *measured, const char *limit)
{
	const struct check_result *r = check_list_find(&g->checks, check);

	buf_printf(b, "| %s | ", label);
	if (set) {
		buf_puts(b, measured);
	} else {
		buf_puts(b, "not measured");
	}
	buf_printf(b, " | %s | ", limit);
	if (r != NULL) {
		buf_printf(b, "%s: ", check_status_name(r->status));
		md_escape(b, r->detail != NULL ? r->detail : "");
	}
	buf_puts(b, " |\n");
}

static void
render_metrics(struct buf *b, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	char measured[64], limit[64];

	buf_puts(b, "### Metrics\n\n| Metric | Measured | Limit | Check |\n|---|---|---|---|\n");
	(void)snprintf(measured, sizeof(measured), "%.4g%%", g->metrics.error_rate * 100.0);
	(void)snprintf(limit, sizeof(limit), "&lt; %.4g%%", cfg->max_error_rate * 100.0);
	render_metric_row(b, g, "Error rate", "error-rate", g->metrics.error_rate_set && isfinite(g->metrics.error_rate),
			  measured, limit);
	(void)snprintf(measured, sizeof(measured), "%.1f ms", g->metrics.latency_ms);
	if (cfg->max_latency_ms >= 0) {
		(void)snprintf(limit, sizeof(limit), "&lt;= %lld ms", (long long)cfg->max_latency_ms);
	} else {
		(void)snprintf(limit, sizeof(limit), "not judged");
	}
	render_metric_row(b, g, "Latency", "latency", g->metrics.latency_set && isfinite(g->metrics.latency_ms),
			  measured, limit);
	buf_puts(b, "\n");
}

/* workloads a GitOps controller or Helm manages: our undo may be reverted, or was not sent */
static void
render_managers(struct buf *b, const struct gate *g)
{
	struct buf cmds = BUF_INIT;
	size_t i;

	for (i = 0; i < g->rollback.n && i < MAX_LISTED_DEPLOYMENTS; i++) {
		const struct rollback_entry *e = &g->rollback.items[i];
		char *who, *cmd;
		if (e->manager.kind == MANAGER_NONE) {
			continue;
		}
		who = manager_describe(&e->manager);
		buf_puts(b, "- ");
		md_code(b, e->deployment != NULL ? e->deployment : "?");
		buf_puts(b, " is managed by ");
		md_escape(b, who);
		buf_puts(b, " (");
		md_escape(b, e->manager.via);
		buf_puts(b, e->managed_skipped ? "): **not rolled back** (managed-rollback: skip).\n"
					       : "): the controller may revert the rollback; roll back at the source.\n");
		cmd = manager_command(&e->manager, g->commit.sha);
		buf_printf(&cmds, "%s\n", cmd);
		free(cmd);
		free(who);
	}
	if (cmds.len > 0) {
		buf_puts(b, "\nWhat to run instead, at the source of truth:\n\n");
		fence(b, "sh", buf_str(&cmds));
		buf_puts(b, "\n");
	}
	buf_dispose(&cmds);
}

/* one workload of the rollback table: what it ran, what it runs now, what happened */
static void
render_rollback_row(struct buf *b, const struct rollback_entry *e)
{
	buf_puts(b, "| ");
	if (e->kind != NULL && strcmp(e->kind, "deployment") != 0) {
		char *ref = xasprintf("%s/%s", e->kind, e->deployment != NULL ? e->deployment : "?");
		md_code(b, ref);
		free(ref);
	} else {
		md_code(b, e->deployment != NULL ? e->deployment : "?");
	}
	buf_puts(b, " | ");
	md_code(b, e->namespace != NULL ? e->namespace : "?");
	buf_printf(b, " | %s | ", rollback_outcome_words(e->outcome));
	if (e->revision_before > 0) {
		buf_printf(b, "%ld -> ", e->revision_before);
		if (e->revision_after > 0) {
			buf_printf(b, "%ld", e->revision_after);
		} else {
			buf_puts(b, "unchanged");
		}
		if (e->revision_target > 0) {
			buf_printf(b, " (restores %ld)", e->revision_target);
		}
	}
	buf_puts(b, " | ");
	if (e->images_before != NULL) {
		md_code(b, e->images_before);
		buf_puts(b, " -> ");
		md_code(b, e->images_after != NULL ? e->images_after : "unchanged");
	}
	buf_puts(b, " | ");
	md_escape(b, e->detail != NULL ? e->detail : "");
	if (e->rollout_ms >= 0) {
		char d[32];
		duration_format(d, sizeof(d), e->rollout_ms);
		buf_printf(b, "%s(rolled out in %s)", e->detail != NULL ? " " : "", d);
	}
	buf_puts(b, " |\n");
}

/* the recovery checks, which judge the rollback rather than the release */
static void
render_recovery(struct buf *b, const struct gate *g)
{
	bool recovery = false;
	size_t i;

	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (r->phase != PHASE_RECOVERY) {
			continue;
		}
		if (!recovery) {
			buf_puts(b, "After the rollback:\n\n| Check | Status | Detail |\n|---|---|---|\n");
			recovery = true;
		}
		buf_puts(b, "| ");
		md_code(b, r->name);
		buf_printf(b, " | %s | ", check_status_name(r->status));
		md_escape(b, r->detail != NULL ? r->detail : "");
		buf_puts(b, " |\n");
	}
	if (recovery) {
		buf_puts(b, "\n");
	}
}

static void
render_rollback(struct buf *b, const struct gate *g)
{
	char *line = gate_rollback_line(g);
	size_t i;

	buf_puts(b, "### Rollback\n\n");
	md_escape(b, line);
	buf_puts(b, "\n\n");
	free(line);
	if (g->rollback.n > 0) {
		buf_puts(b, "| Deployment | Namespace | Outcome | Revision | Images | Detail |\n|---|---|---|---|---|---|\n");
		for (i = 0; i < g->rollback.n && i < MAX_LISTED_DEPLOYMENTS; i++) {
			render_rollback_row(b, &g->rollback.items[i]);
		}
		buf_puts(b, "\n");
	}
	render_managers(b, g);
	render_recovery(b, g);
}

static void
render_investigate(struct buf *b, const struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct buf cmds = BUF_INIT;
	size_t i;

	buf_puts(b, "### Investigate\n\n");
	buf_puts(b, "Revisions, the one running now, and the last hour of logs:\n\n");
	for (i = 0; cfg->deployments != NULL && cfg->deployments[i] != NULL && i < MAX_LISTED_DEPLOYMENTS; i++) {
		const char *d = cfg->deployments[i];
		const char *kind = cfg->workload_kinds != NULL ? cfg->workload_kinds[i] : "deployment";
		const char *ns = deployment_namespace(g, d);
		kubectl(&cmds, "rollout history", kind, d, ns, "");
		kubectl(&cmds, "logs", kind, d, ns, " --since=1h");
		if (!rolled_back(g) && !cfg->dry_run) {
			kubectl(&cmds, "rollout undo", kind, d, ns, "   # not rolled back automatically: by hand, if needed");
		}
	}
	if (cmds.len == 0) {
		buf_puts(&cmds, "kubectl rollout history deployment/NAME -n NAMESPACE\n");
	}
	fence(b, "sh", buf_str(&cmds));
	buf_puts(b, "\n");
	if (cfg->prometheus_url != NULL) {
		buf_puts(b, "The PromQL the gate evaluated, error rate (a fraction):\n\n");
		/* as sent: templates expanded */
		fence(b, "promql", g->metrics.error_rate_query != NULL ? g->metrics.error_rate_query
								 : cfg->error_rate_query != NULL ? cfg->error_rate_query : "");
		buf_puts(b, "\nand latency (milliseconds):\n\n");
		fence(b, "promql", g->metrics.latency_query != NULL ? g->metrics.latency_query
								   : cfg->latency_query != NULL ? cfg->latency_query : "");
		buf_puts(b, "\n");
	}
	buf_puts(b, "Every check with its timing is in the run's JSON report (output `report`) and step summary.\n\n");
	buf_dispose(&cmds);
}

static void
render_body(struct buf *b, const struct gate *g, const char *marker, const char *scope_marker, bool comment)
{
	const struct config *cfg = g->cfg;
	char *commit_url = gate_commit_url(g);
	char *run_url = gate_run_url(g);
	char *cancel_line = gate_cancel_line(g);
	size_t i;

	if (!comment) {
		/* first, so that no cut can lose it */
		buf_printf(b, "%s\n%s\n", marker, scope_marker);
		buf_printf(b, "## Deployment %s: ", gate_result_words(g->result));
	} else {
		buf_puts(b, "## Failed again: ");
	}
	md_escape(b, cfg->environment);
	buf_puts(b, " / ");
	md_escape(b, gate_first_deployment(g));
	buf_puts(b, "\n\n");

	buf_puts(b, "The post-deploy gate failed");
	if (comment && run_url != NULL) {
		buf_printf(b, " again in [run %s, attempt %s](%s)", cfg->ctx.run_id,
			   cfg->ctx.run_attempt != NULL ? cfg->ctx.run_attempt : "1", run_url);
	}
	buf_puts(b, " for ");
	if (g->commit.sha != NULL && commit_url != NULL) {
		buf_puts(b, "[");
		md_code(b, gate_short_sha(g));
		buf_printf(b, "](%s)", commit_url);
	} else if (g->commit.sha != NULL) {
		md_code(b, gate_short_sha(g));
	} else {
		buf_puts(b, "an unknown commit");
	}
	buf_puts(b, " in ");
	md_escape(b, cfg->environment);
	if (rolled_back(g)) {
		buf_puts(b, "; the Deployment was rolled back.\n\n");
	} else if (cancel_line != NULL) {
		buf_puts(b, "; **the job was cancelled during the rollback**.\n\n> [!CAUTION]\n> ");
		md_escape(b, cancel_line);
		buf_puts(b, "\n\n");
	} else if (g->result == GATE_ROLLBACK_FAILED) {
		buf_puts(b, "; **the rollback did not complete**: the failing release may still be serving.\n\n");
	} else {
		buf_puts(b, "; nothing was rolled back.\n\n");
	}

	for (i = 0; g->warnings != NULL && g->warnings[i] != NULL; i++) {
		buf_puts(b, "> [!WARNING]\n> ");
		md_escape(b, g->warnings[i]);
		buf_puts(b, "\n\n");
	}
	render_facts(b, g);
	render_failed(b, g);
	render_metrics(b, g);
	render_rollback(b, g);
	render_investigate(b, g);
	buf_printf(b, "<sub>Reported by atom-safety %s. Re-runs for the same environment, deployment and commit "
		      "comment on this issue instead of opening another one.</sub>\n",
		   PACKAGE_VERSION);
	free(commit_url);
	free(run_url);
	free(cancel_line);
}

/* is the text up to len inside a fenced code block? *fence_out gets the fence that closes it */
static bool
open_fence(const char *s, size_t len, char *fence_out, size_t fence_size)
{
	size_t pos = 0, open_len = 0;

	while (pos < len) {
		size_t end = pos, ticks = 0;
		while (end < len && s[end] != '\n') {
			end++;
		}
		while (pos + ticks < end && s[pos + ticks] == '`') {
			ticks++;
		}
		if (ticks >= 3) {
			if (open_len == 0) {
				open_len = ticks;
			} else if (ticks >= open_len) {
				open_len = 0;
			}
		}
		pos = end + 1;
	}
	if (open_len == 0) {
		return false;
	}
	if (open_len >= fence_size) {
		open_len = fence_size - 1;
	}
	memset(fence_out, '`', open_len);
	fence_out[open_len] = '\0';
	return true;
}

void
issue_body_cap(struct buf *body, size_t max)
{
	static const char note[] =
		"\n---\n_This report was cut to fit GitHub's 65,536-character limit: the full list of checks is in the "
		"run's JSON report and step summary._\n";
	char closer[64];
	size_t reserve = (sizeof(note) - 1) + sizeof(closer) + 1;
	size_t cut;
	bool in_fence;

	if (body->len <= max) {
		return;
	}
	if (max <= reserve) {
		body->len = utf8_floor(body->data, max);
		body->data[body->len] = '\0';
		return;
	}
	cut = utf8_floor(body->data, max - reserve);
	/* back to a line boundary: a table row or a fence line is either whole or gone */
	while (cut > 0 && body->data[cut - 1] != '\n') {
		cut--;
	}
	if (cut == 0) {
		/* one enormous line: cut inside it, still at a character boundary */
		cut = utf8_floor(body->data, max - reserve);
	}
	in_fence = open_fence(body->data, cut, closer, sizeof(closer));
	body->len = cut;
	body->data[cut] = '\0';
	if (in_fence) {
		buf_printf(body, "%s%s\n", cut > 0 && body->data[cut - 1] != '\n' ? "\n" : "", closer);
	}
	buf_puts(body, note);
}

static char *
finish_body(struct buf *b)
{
	char *scrubbed = log_scrub(buf_str(b));
	struct buf out = BUF_INIT;

	buf_puts(&out, scrubbed);
	free(scrubbed);
	issue_body_cap(&out, ISSUE_BODY_MAX);
	return buf_steal(&out);
}

char *
issue_title(const struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct buf b = BUF_INIT;
	char *scrubbed;
	char *p;

	buf_printf(&b, "Deployment %s: %s %s", gate_result_words(g->result), cfg->environment, gate_first_deployment(g));
	if (gate_short_sha(g) != NULL) {
		buf_printf(&b, " @ %s", gate_short_sha(g));
	}
	for (p = b.data; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = ' ';
		}
	}
	scrubbed = log_scrub(buf_str(&b));
	buf_dispose(&b);
	if (strlen(scrubbed) > ISSUE_TITLE_MAX) {
		scrubbed[utf8_floor(scrubbed, ISSUE_TITLE_MAX)] = '\0';
	}
	return scrubbed;
}

void
issue_draft_build(struct issue_draft *out, const struct gate *g)
{
	struct buf b = BUF_INIT;

	memset(out, 0, sizeof(*out));
	issue_fingerprint(out->fingerprint, g->cfg->environment, gate_first_deployment(g), g->commit.sha);
	out->marker = xasprintf("%s%s -->", ISSUE_MARKER_PREFIX, out->fingerprint);
	out->scope_marker = incident_marker(g);
	out->title = issue_title(g);
	render_body(&b, g, out->marker, out->scope_marker, false);
	out->body = finish_body(&b);
	buf_reset(&b);
	render_body(&b, g, out->marker, out->scope_marker, true);
	out->comment = finish_body(&b);
	buf_dispose(&b);
}

void
issue_draft_dispose(struct issue_draft *d)
{
	free(d->title);
	free(d->body);
	free(d->comment);
	free(d->marker);
	free(d->scope_marker);
	memset(d, 0, sizeof(*d));
}
