/* SPDX-License-Identifier: MIT */
#include "atom-config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/metrics.h"
#include "checks/smoke.h"
#include "config.h"
#include "gate.h"
#include "gitmeta.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "outputs.h"
#include "report.h"
#include "rollback.h"
#include "summary.h"
#include "util.h"

enum exit_code {
	EXIT_PASSED = 0,
	EXIT_GATE_FAILED = 1,
	EXIT_CONFIG = 2,
};

static const char usage_text[] =
	"usage: atom-safety [--verbose] [--version] [--help]\n"
	"\n"
	"Post-deploy gate: health, database and authenticated smoke checks, Prometheus error rate and\n"
	"latency, automatic Kubernetes rollback, GitHub issue and Slack notification.\n"
	"Configuration comes from INPUT_* environment variables, as a GitHub container action gets them\n"
	"(INPUT_URL, INPUT_ENVIRONMENT, INPUT_HEALTH-PATH, ...); see README.md.\n"
	"\n"
	"exit status: 0 passed, 1 the gate failed, 2 invalid configuration (nothing was sent)\n";

static _Noreturn void
usage(int status)
{
	(void)fputs(usage_text, status == 0 ? stdout : stderr);
	exit(status);
}

static void
print_config(const struct gate *g)
{
	const struct config *cfg = g->cfg;
	char rt[32], wt[32];

	duration_format(rt, sizeof(rt), cfg->request_timeout_ms);
	duration_format(wt, sizeof(wt), cfg->wait_timeout_ms);
	log_info("atom-safety %s: %s (%s limits) at %s%s", PACKAGE_VERSION, cfg->environment,
		 cfg->production ? "production" : "staging", cfg->url, cfg->dry_run ? ", dry run" : "");
	log_info("checks: health %s, database %s, login %s, %zu endpoint%s; request-timeout %s, retries %d, wait-timeout %s",
		 cfg->health_path, cfg->db_health_path != NULL ? cfg->db_health_path : "(disabled)",
		 cfg->username != NULL ? cfg->login_path : "(no credentials)", cfg->n_endpoints,
		 cfg->n_endpoints == 1 ? "" : "s", rt, cfg->retries, wt);
}

/* the commit under test: its subject and author are outside text, printed once every secret known at start is masked */
static void
print_commit(const struct gate *g)
{
	if (g->commit.sha != NULL) {
		log_info("commit: %s%s%s%s%s", g->commit.short_sha != NULL ? g->commit.short_sha : g->commit.sha,
			 g->commit.author != NULL ? " by " : "", g->commit.author != NULL ? g->commit.author : "",
			 g->commit.subject != NULL ? ": " : "", g->commit.subject != NULL ? g->commit.subject : "");
	}
}

static void
annotate_failures(const struct gate *g)
{
	size_t i;

	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		if (gate_check_failed(r)) {
			log_annotate(true, r->name, "%s", r->detail != NULL ? r->detail : "failed");
		}
	}
}

static int
finish(struct gate *g, int exit_code)
{
	struct error err = ERROR_INIT;
	char *path = report_path(g->cfg);
	struct json_object *report;
	char *report_json;
	bool written;

	g->finished_wall_ms = wall_ms();
	log_group_begin("Report");
	report = report_build(g, exit_code);
	written = report_write(report, path, &err) == 0;
	if (!written) {
		log_warn("%s", err.msg);
		error_clear(&err);
	}
	report_json = report_compact(report);
	if (outputs_write(g, written ? path : NULL, report_json, &err) < 0) {
		log_warn("%s", err.msg);
		error_clear(&err);
	}
	if (summary_write(g, &err) < 0) {
		log_warn("%s", err.msg);
		error_clear(&err);
	}
	log_info("report: %s", written ? path : "not written");
	log_group_end();
	summary_print(g);
	free(report_json);
	json_object_put(report);
	free(path);
	return exit_code;
}

/* the rollback, then the recovery checks when every rollout completed */
static int
roll_back(struct gate *g, struct error *err)
{
	bool rolled_out = false, verified = false;
	int rc;

	rc = rollback_execute(g, &rolled_out, err);
	if (rc == 0 && rolled_out) {
		rc = smoke_verify_recovery(g, g->cfg->wait_timeout_ms, &verified, err);
		rollback_conclude(g, rc, verified, err);
		if (rc != ERR_CANCELLED) {
			rc = 0;
		}
	}
	return rc;
}

static int
run(const struct config *cfg)
{
	struct http *http = http_new();
	struct gate g;
	struct error err = ERROR_INIT;
	int exit_code;
	int rc;

	gate_init(&g, cfg, http);
	log_group_begin("Configuration");
	print_config(&g);
	/*
	 * the kubeconfig's credentials are masked as it is read, here: every secret known at start
	 * is masked before the first line that quotes outside text (the commit, a server's reply)
	 */
	rc = rollback_preflight(&g, &err);
	if (rc != ERR_CONFIG) {
		struct error gerr = ERROR_INIT;
		if (gitmeta_read(&g.commit, &cfg->ctx, &gerr) < 0) {
			log_warn("commit metadata: %s", gerr.msg);
		}
		print_commit(&g);
	}
	log_group_end();
	if (rc == ERR_CONFIG) {
		log_annotate(true, "invalid configuration", "%s", err.msg);
		/* the cluster configuration is read before any request: kubeconfig.c only reads files */
		log_info("nothing was sent: fix the input and run again");
		exit_code = EXIT_CONFIG;
		goto out;
	}
	if (rc == ERR_CANCELLED) {
		g.cancelled = true;
	}

	if (!g.cancelled) {
		log_group_begin("Readiness");
		rc = smoke_readiness(&g, &err);
		log_group_end();
		g.cancelled = rc == ERR_CANCELLED;
	}
	if (!g.cancelled) {
		log_group_begin("Smoke checks");
		rc = smoke_run(&g, &err);
		log_group_end();
		g.cancelled = rc == ERR_CANCELLED;
	}
	if (!g.cancelled && g.rollback.armed && !cfg->dry_run && gate_failed(&g)) {
		/* the release is already bad and the rollback is ready: every second counts */
		struct check_result *r = check_list_add(&g.checks, "error-rate", PHASE_METRICS);
		check_set(r, CHECK_SKIP, NULL, NULL, "not evaluated: '%s' failed first and the rollback started at once",
			  g.first_failure);
		r = check_list_add(&g.checks, "latency", PHASE_METRICS);
		check_set(r, CHECK_SKIP, NULL, NULL, "not evaluated: '%s' failed first and the rollback started at once",
			  g.first_failure);
		for (size_t i = 0; i < cfg->n_metrics; i++) {
			char *name = xasprintf("metric:%s", cfg->metrics[i].name);
			r = check_list_add(&g.checks, name, PHASE_METRICS);
			check_set(r, CHECK_SKIP, NULL, NULL,
				  "not evaluated: '%s' failed first and the rollback started at once", g.first_failure);
			free(name);
		}
	} else if (!g.cancelled) {
		log_group_begin("Metrics");
		rc = metrics_run(&g, &err);
		log_group_end();
		g.cancelled = rc == ERR_CANCELLED;
	}

	if (g.cancelled) {
		log_warn("cancelled (signal %d): in-flight requests abandoned, nothing rolled back", cancel_signal());
		/* not "failed": nothing was judged wrong, and a later step must be able to tell */
		g.result = gate_result_decide(&g);
		exit_code = finish(&g, EXIT_GATE_FAILED);
		goto out;
	}

	if (gate_failed(&g)) {
		annotate_failures(&g);
		log_group_begin("Rollback");
		rc = roll_back(&g, &err);
		log_group_end();
		if (rc == ERR_CANCELLED) {
			/* a PATCH is sent whole or not at all (its batch ignores the signal); say which */
			log_warn("cancelled (signal %d) during the rollback: %s", cancel_signal(),
				 g.rollback.detail != NULL ? g.rollback.detail : "no rollback request was sent");
			/* the verdict stands (failed); the rollback was cut short, so it is not verified */
			g.cancelled = true;
		}
	}
	g.result = gate_result_decide(&g);
	exit_code = gate_result_failed(g.result) ? EXIT_GATE_FAILED : EXIT_PASSED;

	if (!g.cancelled) {
		/* a passing run with nothing to send prints no empty "Notifications" section */
		bool group = notify_wanted(&g);

		if (group) {
			log_group_begin("Notifications");
		}
		(void)notify_run(&g, &err);
		(void)notify_webhook(&g, exit_code, &err);
		if (group) {
			log_group_end();
		}
	} else {
		/* cancelled during the rollback: the cluster may have changed, the owners must hear */
		(void)notify_after_cancel(&g, exit_code, &err);
	}
	exit_code = finish(&g, exit_code);
out:
	gate_dispose(&g);
	http_free(http);
	return exit_code;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg;
	struct error err = ERROR_INIT;
	bool verbose = false;
	int c, exit_code;

	while ((c = getopt_long(argc, argv, "hVv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(0);
		case 'V':
			(void)printf("atom-safety %s\n", PACKAGE_VERSION);
			return 0;
		case 'v':
			verbose = true;
			break;
		default:
			usage(EXIT_CONFIG);
		}
	}
	if (optind != argc) {
		usage(EXIT_CONFIG);
	}

	/* do not call any libcurl function before this point (curl's tool_main.c) */
	if (http_global_init(&err) < 0) {
		(void)fprintf(stderr, "atom-safety: %s\n", err.msg);
		return EXIT_CONFIG;
	}
	if (cancel_init() < 0) {
		(void)fputs("atom-safety: cannot set up signal handling\n", stderr);
		return EXIT_CONFIG;
	}
	log_init(false, verbose);
	if (config_load(&cfg, &err) < 0) {
		log_annotate(true, "invalid configuration", "%s", err.msg);
		log_info("nothing was sent: fix the input and run again");
		config_dispose(&cfg);
		log_secrets_dispose();
		http_global_cleanup();
		return EXIT_CONFIG;
	}
	exit_code = run(&cfg);
	config_dispose(&cfg);
	log_secrets_dispose();
	http_global_cleanup();
	return exit_code;
}
