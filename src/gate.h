/* SPDX-License-Identifier: MIT */
#ifndef SRC_GATE_H
#define SRC_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "checks/check.h"
#include "config.h"
#include "http.h"
#include "manager.h"
#include "retry.h"

/* the commit under test: from the repository (libgit2) or, failing that, the run context */
struct commit_info {
	char *sha;
	char *short_sha;
	char *author;
	char *email;
	char *subject;
	int64_t time; /* epoch seconds, 0 unknown */
	bool from_git;
};

struct metrics_facts {
	bool error_rate_set;
	double error_rate; /* fraction */
	bool latency_set;
	double latency_ms;
	int samples;
};

enum rollback_outcome {
	ROLLBACK_NONE,        /* not needed or not attempted */
	ROLLBACK_DONE,        /* patched, rolled out and verified */
	ROLLBACK_DRY_RUN,     /* validated by the server with dryRun=All, nothing changed */
	ROLLBACK_SKIPPED,     /* nothing to do or not allowed (first deploy, paused, changed since) */
	ROLLBACK_FAILED,      /* rejected, timed out or not verified */
};

struct rollback_entry {
	const char *kind;      /* "deployment", "statefulset", "daemonset" (static) */
	char *deployment;      /* the workload's name (the report's field keeps its first name) */
	char *namespace;
	long revision_before;  /* under test, at preflight */
	long revision_target;  /* what undo restores (its number before renumbering) */
	long revision_after;   /* the Deployment's revision once rolled back */
	char *images_before;
	char *images_after;
	enum rollback_outcome outcome;
	char *detail;
	int64_t failure_to_patch_ms; /* from the first failed check to the PATCH leaving; -1 */
	int64_t rollout_ms;          /* from the PATCH to a complete rollout; -1 */
	struct manager_info manager; /* who else manages it (Argo CD, Flux, Helm), read at preflight */
	bool managed_skipped;        /* not patched: managed, and managed-rollback is skip */
};

struct rollback_facts {
	bool enabled;        /* rollback input and a usable cluster */
	bool armed;          /* preflight found a target: the gate stops at the first failure */
	enum rollback_outcome outcome;
	char *detail;
	struct rollback_entry *items;
	size_t n;
	bool managed_skip;   /* skipped only because managed-rollback: skip left managed workloads alone */
};

struct notify_facts {
	char *issue_url;
	long issue_number;
	char *issue_action; /* "created", "commented", "failed: …" */
	char *slack_status; /* "sent", "failed: …", NULL when not attempted */
	bool recovered;          /* a pass found open incident issues of this scope */
	long *closed_issues;     /* issues closed because the release recovered */
	size_t n_closed;
	char *close_status;      /* "closed #12, #14", "no open incident", "failed: …", NULL */
	char *pagerduty_status;  /* "triggered", "resolved", "failed: …", NULL */
	char *webhook_status;    /* "sent (event failed)", "failed: …", NULL */
};

/*
 * The gate's verdict, decided once by gate_result_decide from the facts below. Its names, words and
 * titles are one table in gate.c: a new value is one enumerator and one row there.
 */
enum gate_result {
	GATE_PASSED,
	GATE_FAILED,          /* failed; not rolled back (rollback off, or a dry run) */
	GATE_ROLLED_BACK,     /* failed; rolled back and the service recovered */
	GATE_ROLLBACK_FAILED, /* failed; the rollback did not complete or was not verified */
	GATE_CANCELLED,       /* stopped by a signal before anything was judged */
	GATE_RESULT_COUNT,    /* not a value: the size of the table */
};

struct gate {
	const struct config *cfg;
	struct http *http;
	struct retry_policy retry;
	struct check_list checks;
	int64_t started_ms;        /* monotonic */
	int64_t started_wall_ms;
	int64_t finished_wall_ms;
	char *token;               /* the smoke-test access token; masked, wiped at the end */
	int64_t first_failure_ms;  /* monotonic time of the first failed check; 0 none */
	char *first_failure;       /* its name */
	bool cancelled;
	enum gate_result result;   /* gate_result_decide's, once the phases have run */
	struct commit_info commit;
	struct metrics_facts metrics;
	struct rollback_facts rollback;
	struct notify_facts notify;
	void *cluster;             /* rollback.c's preflight state */
};

/* the machine name, a public contract: outputs, report ("rolled-back") */
const char *gate_result_name(enum gate_result r);
/* the words within a sentence: issue, Slack and summary text ("rolled back") */
const char *gate_result_words(enum gate_result r);
/* the words at the start of a title or header ("Rolled back") */
const char *gate_result_title(enum gate_result r);
/* the summary's headline ("Release failed the gate and was rolled back") */
const char *gate_result_headline(enum gate_result r);
/* whether the release did not pass: an issue and a failure notification are due */
bool gate_result_failed(enum gate_result r);
/*
 * The verdict from what happened: a cancel before the rollback, the checks, then the rollback's
 * outcome (a dry run never counts as rolled back). rollback.c and main.c both ask this.
 */
enum gate_result gate_result_decide(const struct gate *g);

void gate_init(struct gate *g, const struct config *cfg, struct http *http);
void gate_dispose(struct gate *g);
/* records the first failure time; called by every check that fails */
void gate_note_failure(struct gate *g, const struct check_result *r);
/* whether r failed the release: recovery checks judge the rollback, not the release */
bool gate_check_failed(const struct check_result *r);
/* whether any check failed the release */
bool gate_failed(const struct gate *g);
/* the base URL joined with a path */
char *gate_service_url(const struct gate *g, const char *path);



/* {server}/{repo}/actions/runs/{id}/attempts/{attempt}, or NULL without a run context; caller frees */
char *gate_run_url(const struct gate *g);
/* {server}/{repo}/commit/{sha}, or NULL; caller frees */
char *gate_commit_url(const struct gate *g);
/* the names of the checks that failed the release, comma-separated; caller frees */
char *gate_failed_checks(const struct gate *g);
#endif
