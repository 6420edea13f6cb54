/* SPDX-License-Identifier: MIT */
#ifndef SRC_NOTIFY_H
#define SRC_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct gate;

/* what the notifications did, for the report and outputs */
struct notify_facts {
	char *issue_url;
	long issue_number;
	char *issue_action; /* "created", "commented", "failed: …" */
	char *slack_status; /* "sent", "failed: …", NULL when not attempted */
	bool recovered;         /* a pass found open incident issues of this scope */
	long *closed_issues;    /* issues closed because the release recovered */
	size_t n_closed;
	char *close_status;     /* "closed #12, #14", "no open incident", "failed: …", NULL */
	char *pagerduty_status; /* "triggered", "resolved", "failed: …", NULL */
	char *webhook_status;   /* "sent (event failed, signed)", "failed: …", NULL */
};

/* true when notify_run() will send or report something (a failed gate, Slack "always") */
bool notify_wanted(const struct gate *g);
/* the GitHub issue and the Slack message; failures are warnings in g->notify, never fatal */
int notify_run(struct gate *g, struct error *err);
/*
 * POSTs the JSON report (as report_render() makes it now) to webhook-url when webhook-on says so;
 * its outcome goes to g->notify.webhook_status, never an error
 */
int notify_webhook(struct gate *g, int exit_code, struct error *err);
/*
 * After a cancel: the runner sends SIGINT, then SIGTERM 7.5 s later, then kills the process
 * 2.5 s after that (actions/runner ProcessInvoker.cs); docker stop waits 10 s. What is left to say
 * is said within NOTIFY_CANCEL_BUDGET_MS, each request at most NOTIFY_CANCEL_REQUEST_MS.
 */
#define NOTIFY_CANCEL_BUDGET_MS 5000
#define NOTIFY_CANCEL_REQUEST_MS 2000
/*
 * For a job cancelled during the rollback (gate_cancel_line() not NULL): the failure's
 * notifications (issue, PagerDuty, Slack, webhook) saying so, within the budget above, with no
 * retries; a second SIGTERM/SIGINT stops them at once. Does nothing for any other run.
 */
int notify_after_cancel(struct gate *g, int exit_code, struct error *err);
/* frees the strings; accepts a zeroed struct */
void notify_facts_dispose(struct notify_facts *n);

#endif
