/* SPDX-License-Identifier: MIT */
#include "gate.h"

#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "util.h"

/*
 * ca-cert is trusted for the service and Prometheus only (GitHub, Slack and the cluster keep their
 * own trust), in addition to the system store; both say where a private CA goes when their
 * certificate has an unknown issuer
 */
static void
trust_setup(struct gate *g)
{
	const struct config *cfg = g->cfg;
	const char *urls[2] = { cfg->url, cfg->prometheus_url };
	static const char *const inputs[2] = { "url", "prometheus-url" };
	size_t i;

	if (g->http == NULL) {
		return; /* a gate that sends nothing (unit tests of the writers) */
	}
	http_set_ca_file(g->http, cfg->ctx.ssl_cert_file);
	for (i = 0; i < 2; i++) {
		struct error err = ERROR_INIT;
		if (urls[i] == NULL) {
			continue;
		}
		if (http_trust_add(g->http, urls[i], cfg->ca_cert.data, cfg->ca_cert.len,
				   "if a private CA signs it, pass that CA in the ca-cert input", &err) < 0) {
			log_warn("ca-cert for %s: %s", inputs[i], err.msg);
		}
	}
}

/* one row per result: a new value is added here and in enum gate_result, nowhere else */
static const struct {
	const char *name;     /* outputs, report: the public contract */
	const char *words;    /* inside a sentence */
	const char *title;    /* at the start of a title */
	bool failed;          /* the release did not pass: issue and failure notifications */
	const char *headline; /* the summary's first line */
} results[] = {
	/* clang-format off */
	/*                        name               words              title              failed */
	[GATE_PASSED] =          { "passed",          "passed",          "Passed",          false,
		"Release passed the gate" },
	[GATE_FAILED] =          { "failed",          "failed",          "Failed",          true,
		"Release failed the gate" },
	[GATE_ROLLED_BACK] =     { "rolled-back",     "rolled back",     "Rolled back",     true,
		"Release failed the gate and was rolled back" },
	[GATE_ROLLBACK_FAILED] = { "rollback-failed", "rollback failed", "Rollback failed", true,
		"Release failed the gate and the rollback did not complete" },
	[GATE_CANCELLED] =       { "cancelled",       "cancelled",       "Cancelled",       true,
		"Cancelled: the gate was stopped before it could decide; nothing was rolled back" },
	/* clang-format on */
};
_Static_assert(sizeof(results) / sizeof(results[0]) == GATE_RESULT_COUNT,
	       "one row in results[] per enum gate_result value");

static enum gate_result
result_index(enum gate_result r)
{
	assert(r < GATE_RESULT_COUNT);
	return r < GATE_RESULT_COUNT ? r : GATE_FAILED;
}

const char *
gate_result_name(enum gate_result r)
{
	return results[result_index(r)].name;
}

const char *
gate_result_words(enum gate_result r)
{
	return results[result_index(r)].words;
}

const char *
gate_result_title(enum gate_result r)
{
	return results[result_index(r)].title;
}

const char *
gate_result_headline(enum gate_result r)
{
	return results[result_index(r)].headline;
}

bool
gate_result_failed(enum gate_result r)
{
	return results[result_index(r)].failed;
}

enum gate_result
gate_result_decide(const struct gate *g)
{
	if (g->cancelled) {
		/* a cancel during the rollback cut it short: it is not verified */
		return g->rollback.outcome == ROLLBACK_NONE ? GATE_CANCELLED : GATE_ROLLBACK_FAILED;
	}
	if (!gate_failed(g)) {
		return GATE_PASSED;
	}
	if (g->cfg->dry_run) {
		return GATE_FAILED;
	}
	switch (g->rollback.outcome) {
	case ROLLBACK_NONE:
		return GATE_FAILED; /* rollback: false */
	case ROLLBACK_DONE:
		return GATE_ROLLED_BACK;
	case ROLLBACK_SKIPPED:
		/* managed-rollback: skip is a choice, not a rollback that failed (issue 16 §4) */
		return g->rollback.managed_skip ? GATE_FAILED : GATE_ROLLBACK_FAILED;
	case ROLLBACK_DRY_RUN:
	case ROLLBACK_FAILED:
	default:
		return GATE_ROLLBACK_FAILED;
	}
}

void
gate_init(struct gate *g, const struct config *cfg, struct http *http)
{
	memset(g, 0, sizeof(*g));
	g->cfg = cfg;
	g->http = http;
	g->retry.max_retries = cfg->retries;
	g->retry.base_delay_ms = 200;
	g->retry.max_delay_ms = 5000;
	g->retry.max_retry_after_ms = 30000;
	g->started_ms = clock_ms();
	g->started_wall_ms = wall_ms();
	g->result = GATE_PASSED;
	g->notify.issue_number = 0;
	trust_setup(g);
}

void
gate_dispose(struct gate *g)
{
	check_list_dispose(&g->checks);
	secret_free(g->token);
	free(g->first_failure);
	gitmeta_commit_dispose(&g->commit);
	rollback_facts_dispose(&g->rollback);
	release_facts_dispose(&g->release);
	metrics_facts_dispose(&g->metrics);
	notify_facts_dispose(&g->notify);
	strv_free(g->warnings);
	memset(g, 0, sizeof(*g));
}

void
gate_warn(struct gate *g, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
	strv_push(&g->warnings, msg);
}

void
gate_note_failure(struct gate *g, const struct check_result *r)
{
	if (g->first_failure_ms == 0) {
		g->first_failure_ms = clock_ms();
		g->first_failure = xstrdup(r->name);
	}
}

bool
gate_check_failed(const struct check_result *r)
{
	/* recovery checks judge the rollback, not the release */
	return r->status == CHECK_FAIL && r->phase != PHASE_RECOVERY;
}

bool
gate_failed(const struct gate *g)
{
	size_t i;

	for (i = 0; i < g->checks.n; i++) {
		if (gate_check_failed(g->checks.items[i])) {
			return true;
		}
	}
	return false;
}

char *
gate_service_url(const struct gate *g, const char *path)
{
	char *url = http_url_join(g->cfg->url, path);

	/* the url input was parsed by the same parser when the configuration was read */
	assert(url != NULL);
	return url;
}

char *
gate_run_url(const struct gate *g)
{
	const struct run_context *c = &g->cfg->ctx;

	if (c->repository == NULL || c->run_id == NULL) {
		return NULL;
	}
	return xasprintf("%s/%s/actions/runs/%s/attempts/%s", c->server_url, c->repository,
			 c->run_id, c->run_attempt != NULL ? c->run_attempt : "1");
}

char *
gate_commit_url(const struct gate *g)
{
	const struct run_context *c = &g->cfg->ctx;

	if (c->repository == NULL || g->commit.sha == NULL) {
		return NULL;
	}
	return xasprintf("%s/%s/commit/%s", c->server_url, c->repository, g->commit.sha);
}

char *
gate_failed_checks(const struct gate *g)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (gate_check_failed(r)) {
			if (b.len > 0) {
				buf_putc(&b, ',');
			}
			buf_puts(&b, r->name);
		}
	}
	return buf_steal(&b);
}

const char *
gate_first_deployment(const struct gate *g)
{
	const struct config *cfg = g->cfg;

	return cfg->deployments != NULL && cfg->deployments[0] != NULL ? cfg->deployments[0]
								       : "deployment";
}

const char *
gate_short_sha(const struct gate *g)
{
	return g->commit.short_sha != NULL ? g->commit.short_sha : g->commit.sha;
}

char *
gate_rollback_line(const struct gate *g)
{
	const struct rollback_facts *r = &g->rollback;

	if (r->outcome == ROLLBACK_NONE && r->detail == NULL) {
		if (!g->cfg->rollback) {
			return xstrdup(
				"not attempted: automatic rollback is off (rollback: false)");
		}
		if (!r->enabled) {
			return xstrdup("not attempted: no usable cluster configuration");
		}
		return xstrdup("not attempted");
	}
	if (r->detail != NULL) {
		return xasprintf("%s: %s", rollback_outcome_words(r->outcome), r->detail);
	}
	return xstrdup(rollback_outcome_words(r->outcome));
}

char *
gate_cancel_line(const struct gate *g)
{
	const struct rollback_facts *r = &g->rollback;
	int signo = cancel_first_signal();
	char sig[24];
	struct buf b = BUF_INIT;
	size_t i, n_sent = 0, n_done = 0;

	if (!g->cancelled || g->result != GATE_ROLLBACK_FAILED) {
		return NULL;
	}
	if (signo == SIGTERM || signo == SIGINT) {
		(void)snprintf(sig, sizeof(sig), "%s", signo == SIGTERM ? "SIGTERM" : "SIGINT");
	} else {
		(void)snprintf(sig, sizeof(sig), "signal %d", signo);
	}
	buf_printf(&b, "The job was cancelled (%s) during the rollback, after the gate had failed: ", sig);
	for (i = 0; i < r->n; i++) {
		const struct rollback_entry *e = &r->items[i];
		if (!e->sent) {
			continue;
		}
		n_done += e->outcome == ROLLBACK_DONE;
		if (n_sent < 3) {
			buf_printf(&b, "%s%s/%s", n_sent > 0 ? ", " : "the rollback of ",
				   e->kind != NULL ? e->kind : "deployment", e->deployment != NULL ? e->deployment : "?");
			if (e->revision_before > 0 && e->revision_target > 0) {
				buf_printf(&b, " (revision %ld, restoring revision %ld)", e->revision_before,
					   e->revision_target);
			}
		}
		n_sent++;
	}
	if (n_sent == 0) {
		buf_puts(&b, "no rollback request reached the cluster, so the failing release may still be "
			     "serving.");
		return buf_steal(&b);
	}
	if (n_sent > 3) {
		buf_printf(&b, " and %zu more", n_sent - 3);
	}
	buf_printf(&b, " %s sent to the cluster and applied, ", n_sent == 1 ? "was" : "were");
	if (n_done == n_sent) {
		buf_puts(&b, "and rolled out, but the checks of the service's recovery were cut short: the "
			     "recovery is not verified.");
	} else {
		buf_puts(&b, "but the gate stopped following the rollout: the rollout and the service's "
			     "recovery are not verified.");
	}
	buf_puts(&b, " Check the cluster by hand.");
	return buf_steal(&b);
}
