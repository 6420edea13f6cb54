/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <stdlib.h>
#include <string.h>

#include "clients/github.h"
#include "config.h"
#include "gate.h"
#include "clients/slack.h"
#include "issue.h"
#include "log.h"
#include "message.h"
#include "util.h"

/*
 * After the rollback: tell the people who own the release. Every failure here is a warning
 * recorded in g->notify; the verdict, the exit code and every other output stay as they are.
 */

#define SLACK_MAX_RETRY_AFTER_MS 30000

static void
issue_failed(struct gate *g, const char *msg)
{
	free(g->notify.issue_action);
	g->notify.issue_action = xasprintf("failed: %s", msg);
	log_warn("GitHub issue not opened: %s", msg);
}

static void
report_issue(struct gate *g)
{
	const struct config *cfg = g->cfg;
	struct github_client gh;
	struct github_issue issue = { 0 };
	struct issue_draft draft;
	struct error err = ERROR_INIT;
	const char *label = cfg->issue_labels != NULL ? cfg->issue_labels[0] : NULL;
	char *comment_url = NULL;
	bool found = false;
	int rc;

	memset(&gh, 0, sizeof(gh));
	issue_draft_build(&draft, g);
	rc = github_client_init(&gh, g->http, cfg->ctx.api_url, cfg->ctx.repository, cfg->github_token, &g->retry,
				&err);
	if (rc < 0) {
		issue_failed(g, err.msg);
		goto out;
	}

	/* dedup: a re-run of the failed job finds its issue by the fingerprint and comments */
	rc = github_issue_find(&issue, &found, &gh, label, draft.marker, &err);
	if (rc < 0) {
		/* 410: issues are disabled in the repository */
		if (rc == ERR_AUTH || rc == ERR_NOT_FOUND || rc == ERR_CANCELLED ||
		    (rc == ERR_HTTP && (err.http_status == 403 || err.http_status == 410 || err.http_status == 429))) {
			/* creating would meet the same refusal */
			issue_failed(g, err.msg);
			goto out;
		}
		log_warn("could not look for an existing issue (%s): opening a new one", err.msg);
		error_clear(&err);
	}

	if (found) {
		rc = github_comment_create(&comment_url, &gh, issue.number, draft.comment, &err);
		if (rc < 0) {
			issue_failed(g, err.msg);
			goto out;
		}
		g->notify.issue_number = issue.number;
		g->notify.issue_url = issue.html_url;
		issue.html_url = NULL; /* now owned by the gate */
		free(g->notify.issue_action);
		g->notify.issue_action = xstrdup("commented");
		log_info("commented on the open issue #%ld for this commit: %s", g->notify.issue_number,
			 comment_url != NULL ? comment_url : g->notify.issue_url != NULL ? g->notify.issue_url : "");
		goto out;
	}

	github_issue_dispose(&issue);
	rc = github_issue_create(&issue, &gh, draft.title, draft.body, cfg->issue_labels, &err);
	if (rc < 0) {
		issue_failed(g, err.msg);
		goto out;
	}
	if (label != NULL && issue.n_labels == 0) {
		/* GitHub drops labels silently for tokens without push access */
		log_warn("issue #%ld was opened without its labels (the token may lack push access): a re-run will not find it by the label '%s' and may open another",
			 issue.number, label);
	}
	g->notify.issue_number = issue.number;
	g->notify.issue_url = issue.html_url;
	issue.html_url = NULL; /* now owned by the gate */
	free(g->notify.issue_action);
	g->notify.issue_action = xstrdup("created");
	log_info("opened issue #%ld: %s", g->notify.issue_number, g->notify.issue_url);
out:
	free(comment_url);
	github_issue_dispose(&issue);
	github_client_dispose(&gh);
	issue_draft_dispose(&draft);
}

static void
report_slack(struct gate *g)
{
	struct slack_message msg;
	struct retry_policy retry = g->retry;
	struct error err = ERROR_INIT;
	char *payload;

	message_slack_build(&msg, g);
	payload = slack_payload_new(&msg);
	slack_message_dispose(&msg);
	if (retry.max_retry_after_ms > SLACK_MAX_RETRY_AFTER_MS) {
		retry.max_retry_after_ms = SLACK_MAX_RETRY_AFTER_MS;
	}
	free(g->notify.slack_status);
	if (slack_post(g->http, g->cfg->slack_webhook_url, payload, &retry, &err) < 0) {
		g->notify.slack_status = xasprintf("failed: %s", err.msg);
		log_warn("Slack message not delivered: %s", err.msg);
	} else {
		g->notify.slack_status = xstrdup("sent");
		log_info("Slack message sent to the Slack webhook (%zu bytes)", strlen(payload));
	}
	free(payload);
}

bool
notify_wanted(const struct gate *g)
{
	const struct config *cfg = g->cfg;
	bool failed = gate_result_failed(g->result);
	bool slack = cfg->slack_webhook_url != NULL && cfg->slack_webhook_url[0] != '\0';

	/* what notify_run() does or reports at info level: an issue line, a Slack message */
	return failed || (slack && cfg->slack_notify == SLACK_NOTIFY_ALWAYS);
}

int
notify_run(struct gate *g, struct error *err)
{
	const struct config *cfg = g->cfg;
	bool failed = gate_result_failed(g->result);

	(void)err;
	if (!failed) {
		log_debug("GitHub issue: not needed, the gate passed");
	} else if (!cfg->create_issue) {
		log_info("GitHub issue: not opened (create-issue: false)");
	} else {
		report_issue(g);
	}

	if (cfg->slack_webhook_url == NULL || cfg->slack_webhook_url[0] == '\0') {
		log_debug("Slack: no slack-webhook-url");
	} else if (failed || cfg->slack_notify == SLACK_NOTIFY_ALWAYS) {
		report_slack(g);
	} else {
		log_debug("Slack: not sent, the gate passed (slack-notify: failure)");
	}
	return 0;
}

void
notify_facts_dispose(struct notify_facts *n)
{
	free(n->issue_url);
	free(n->issue_action);
	free(n->slack_status);
	memset(n, 0, sizeof(*n));
}
