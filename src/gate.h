/* SPDX-License-Identifier: MIT */
#ifndef SRC_GATE_H
#define SRC_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "checks/check.h"
#include "checks/metrics.h"
#include "gitmeta.h"
#include "notify.h"
#include "retry.h"
#include "rollback.h"

struct config;
struct http;

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
	struct release_facts release;
	struct rollback_facts rollback;
	struct notify_facts notify;
	char **warnings;           /* risks the run took (gate_warn): in the log, summary, report and issue */
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
/* a warning the reader of every document must see (the log now; the summary, report and issue later) */
void gate_warn(struct gate *g, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* the base URL joined with a path */
char *gate_service_url(const struct gate *g, const char *path);



/* {server}/{repo}/actions/runs/{id}/attempts/{attempt}, or NULL without a run context; caller frees */
char *gate_run_url(const struct gate *g);
/* {server}/{repo}/commit/{sha}, or NULL; caller frees */
char *gate_commit_url(const struct gate *g);
/* the names of the checks that failed the release, comma-separated; caller frees */
char *gate_failed_checks(const struct gate *g);
/* the first name in the deployments input, or "deployment": what titles and messages name */
const char *gate_first_deployment(const struct gate *g);
/* the commit's short SHA, else its SHA, else NULL */
const char *gate_short_sha(const struct gate *g);
/* one line for people: what the rollback did, or why nothing was rolled back; caller frees */
char *gate_rollback_line(const struct gate *g);
/*
 * For a job cancelled during the rollback: one plain sentence saying so, what reached the cluster
 * and what was not verified (workload names and revisions only: no text from a server). NULL for
 * any other run; caller frees.
 */
char *gate_cancel_line(const struct gate *g);
#endif
