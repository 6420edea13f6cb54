/* SPDX-License-Identifier: MIT */
#include "atom-config.h"
#include "incident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "digest.h"
#include "gate.h"
#include "log.h"
#include "markdown.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
incident_workloads(const struct config *cfg)
{
	char **out = NULL;
	size_t i;

	for (i = 0; cfg->deployments != NULL && cfg->deployments[i] != NULL; i++) {
		/* canonical: "deployment/atom" whether the input said "atom", "deploy/atom" or "Deployment/atom" */
		const char *kind = cfg->workload_kinds != NULL ? cfg->workload_kinds[i] : "deployment";
		strv_push(&out, xasprintf("%s/%s", kind, cfg->deployments[i]));
	}
	if (out != NULL) {
		qsort(out, strv_len(out), sizeof(*out), compare_strings);
	}
	return out;
}

void
incident_scope(char out[INCIDENT_SCOPE_HEX + 1], const char *repository, const char *environment,
	       char *const *workloads)
{
	static const char tag[] = "atom-safety/scope/2";
	const void *parts[2 + 2 * 2 + 2 * 256];
	size_t lens[sizeof(parts) / sizeof(parts[0])];
	unsigned char digest[DIGEST_SHA256_LEN];
	size_t n = 0, i;

	parts[n] = tag;
	lens[n++] = sizeof(tag) - 1;
	/* NUL-separated: ("ab", "c") and ("a", "bc") must not collide */
	parts[n] = "";
	lens[n++] = 1;
	repository = repository != NULL ? repository : "";
	environment = environment != NULL ? environment : "";
	parts[n] = repository;
	lens[n++] = strlen(repository);
	parts[n] = "";
	lens[n++] = 1;
	parts[n] = environment;
	lens[n++] = strlen(environment);
	for (i = 0; workloads != NULL && workloads[i] != NULL && n + 2 <= sizeof(parts) / sizeof(parts[0]); i++) {
		parts[n] = "";
		lens[n++] = 1;
		parts[n] = workloads[i];
		lens[n++] = strlen(workloads[i]);
	}
	digest_sha256_parts(digest, parts, lens, n);
	digest_hex(out, digest, INCIDENT_SCOPE_HEX / 2);
}

void
incident_scope_of(char out[INCIDENT_SCOPE_HEX + 1], const struct gate *g)
{
	char **w = incident_workloads(g->cfg);

	incident_scope(out, g->cfg->ctx.repository, g->cfg->environment, w);
	strv_free(w);
}

char *
incident_marker(const struct gate *g)
{
	char scope[INCIDENT_SCOPE_HEX + 1];

	incident_scope_of(scope, g);
	return xasprintf("%s%s -->", INCIDENT_MARKER_PREFIX, scope);
}

char *
incident_dedup_key(const struct gate *g)
{
	char scope[INCIDENT_SCOPE_HEX + 1];

	incident_scope_of(scope, g);
	return xasprintf("atom-safety-%s", scope);
}

void
incident_duration_words(char *out, size_t size, int64_t ms)
{
	int64_t s = ms < 0 ? 0 : ms / 1000;

	if (s < 60) {
		(void)snprintf(out, size, "%lld s", (long long)s);
	} else if (s < 3600) {
		(void)snprintf(out, size, "%lld min", (long long)(s / 60));
	} else if (s < 86400) {
		(void)snprintf(out, size, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
	} else {
		(void)snprintf(out, size, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	}
}

char *
incident_scope_words(const struct gate *g)
{
	char **w = incident_workloads(g->cfg);
	struct buf b = BUF_INIT;
	size_t i;

	buf_printf(&b, "%s / ", g->cfg->environment);
	for (i = 0; w != NULL && w[i] != NULL; i++) {
		buf_printf(&b, "%s%s", i > 0 ? ", " : "", w[i]);
	}
	if (w == NULL) {
		buf_puts(&b, "(no workloads)");
	}
	strv_free(w);
	return buf_steal(&b);
}

char *
incident_recovery_comment(const struct gate *g, int64_t opened_ms)
{
	const struct config *cfg = g->cfg;
	char *commit_url = gate_commit_url(g);
	char *run_url = gate_run_url(g);
	char *scope = incident_scope_words(g);
	struct buf b = BUF_INIT;
	char *out;

	buf_puts(&b, "## Recovered: ");
	md_escape(&b, scope);
	buf_puts(&b, "\n\nThe post-deploy gate passed");
	if (cfg->dry_run) {
		buf_puts(&b, " (dry run)");
	}
	buf_puts(&b, " in ");
	md_escape(&b, cfg->environment);
	buf_puts(&b, " for ");
	if (g->commit.sha != NULL && commit_url != NULL) {
		buf_puts(&b, "[");
		md_code(&b, gate_short_sha(g));
		buf_printf(&b, "](%s)", commit_url);
	} else if (g->commit.sha != NULL) {
		md_code(&b, gate_short_sha(g));
	} else {
		buf_puts(&b, "an unknown commit");
	}
	if (g->commit.subject != NULL) {
		buf_puts(&b, " (");
		md_escape(&b, g->commit.subject);
		buf_puts(&b, ")");
	}
	buf_puts(&b, ".\n\n| | |\n|---|---|\n| Commit author | ");
	md_escape(&b, g->commit.author != NULL ? g->commit.author : "unknown");
	buf_puts(&b, " |\n");
	if (run_url != NULL) {
		buf_puts(&b, "| Workflow run | [");
		md_escape(&b, cfg->ctx.workflow != NULL ? cfg->ctx.workflow : "run");
		buf_printf(&b, " #%s, attempt %s](%s) |\n", cfg->ctx.run_id,
			   cfg->ctx.run_attempt != NULL ? cfg->ctx.run_attempt : "1", run_url);
	}
	if (opened_ms >= 0) {
		char d[48];
		int64_t now = g->finished_wall_ms != 0 ? g->finished_wall_ms : wall_ms();
		incident_duration_words(d, sizeof(d), now - opened_ms);
		buf_printf(&b, "| Open for | %s |\n", d);
	}
	buf_printf(&b, "\nClosing this incident as completed.\n\n<sub>atom-safety %s, close-on-recovery: a later "
		       "failure of the same environment and workloads opens a new issue.</sub>\n",
		   PACKAGE_VERSION);
	out = log_scrub(buf_str(&b));
	buf_dispose(&b);
	free(scope);
	free(commit_url);
	free(run_url);
	return out;
}
