/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/github.h"
#include "clients/pagerduty.h"
#include "clients/slack.h"
#include "clients/webhook.h"
#include "config.h"
#include "gate.h"
#include "http.h"
#include "incident.h"
#include "issue.h"
#include "jsonh.h"
#include "log.h"
#include "message.h"
#include "report.h"
#include "util.h"

/*
 * After the rollback: tell the people who own the release. Every failure here is a warning
 * recorded in g->notify; the verdict, the exit code and every other output stay as they are.
 */

#define SLACK_MAX_RETRY_AFTER_MS 30000
#define CLOSE_MAX_ISSUES 50

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
report_slack(struct gate *g, int64_t longest_open_ms)
{
	struct slack_message msg;
	struct retry_policy retry = g->retry;
	struct error err = ERROR_INIT;
	char *payload;

	if (g->notify.recovered && g->notify.n_closed > 0) {
		message_slack_recovered(&msg, g, longest_open_ms);
	} else {
		message_slack_build(&msg, g);
	}
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

/* the passing run's side of an incident: comment on and close the issues of this scope */
static void
close_one(struct gate *g, struct github_client *gh, const struct github_issue *listed, int64_t *longest_open_ms)
{
	struct github_issue now = { 0 };
	struct error err = ERROR_INIT;
	char *comment = NULL, *comment_url = NULL;

	/* read it again: a person may have closed it (as not planned, say) since the list was made */
	if (github_issue_get(&now, gh, listed->number, &err) < 0) {
		log_warn("issue #%ld not closed: %s", listed->number, err.msg);
		goto out;
	}
	if (!now.open) {
		log_info("issue #%ld was closed meanwhile%s%s: left as it is", listed->number,
			 now.closed_by != NULL ? " by " : "", now.closed_by != NULL ? now.closed_by : "");
		goto out;
	}
	comment = incident_recovery_comment(g, listed->created_ms);
	if (github_comment_create(&comment_url, gh, listed->number, comment, &err) < 0) {
		log_warn("issue #%ld not closed: %s", listed->number, err.msg);
		goto out;
	}
	if (github_issue_close(gh, listed->number, &err) < 0) {
		log_warn("issue #%ld commented on but not closed: %s", listed->number, err.msg);
		goto out;
	}
	g->notify.closed_issues = xrealloc(g->notify.closed_issues, (g->notify.n_closed + 1) * sizeof(long));
	g->notify.closed_issues[g->notify.n_closed++] = listed->number;
	if (listed->created_ms >= 0 && g->started_wall_ms - listed->created_ms > *longest_open_ms) {
		*longest_open_ms = g->started_wall_ms - listed->created_ms;
	}
	log_info("closed issue #%ld as completed: the release recovered (%s)", listed->number,
		 listed->html_url != NULL ? listed->html_url : "");
out:
	free(comment);
	free(comment_url);
	github_issue_dispose(&now);
}

static void
close_recovered(struct gate *g, int64_t *longest_open_ms)
{
	const struct config *cfg = g->cfg;
	struct github_client gh;
	struct github_issue *found = NULL;
	struct error err = ERROR_INIT;
	const char *label = cfg->issue_labels != NULL ? cfg->issue_labels[0] : NULL;
	char *marker = incident_marker(g);
	struct buf b = BUF_INIT;
	size_t n = 0, i;

	memset(&gh, 0, sizeof(gh));
	if (github_client_init(&gh, g->http, cfg->ctx.api_url, cfg->ctx.repository, cfg->github_token, &g->retry,
			       &err) < 0 ||
	    github_issues_list_marked(&found, &n, &gh, label, marker, CLOSE_MAX_ISSUES, &err) < 0) {
		g->notify.close_status = xasprintf("failed: %s", err.msg);
		log_warn("open incidents not closed: %s", err.msg);
		goto out;
	}
	if (n == 0) {
		g->notify.close_status = xstrdup("no open incident");
		log_info("close-on-recovery: no open incident issue for %s", marker + strlen(INCIDENT_MARKER_PREFIX) - 6);
		goto out;
	}
	g->notify.recovered = true;
	for (i = 0; i < n; i++) {
		close_one(g, &gh, &found[i], longest_open_ms);
	}
	for (i = 0; i < g->notify.n_closed; i++) {
		buf_printf(&b, "%s#%ld", i > 0 ? ", " : "", g->notify.closed_issues[i]);
	}
	g->notify.close_status = g->notify.n_closed == n ? xasprintf("closed %s", buf_str(&b))
				 : xasprintf("closed %zu of %zu open incident issues%s%s (see the log)", g->notify.n_closed,
					     n, b.len > 0 ? ": " : "", buf_str(&b));
out:
	for (i = 0; i < n; i++) {
		github_issue_dispose(&found[i]);
	}
	free(found);
	free(marker);
	buf_dispose(&b);
	github_client_dispose(&gh);
}

/* host[:port] of the service URL, as libcurl reads it: PagerDuty's "source" */
static char *
service_host(const char *url)
{
	struct http_url u;
	struct error err = ERROR_INIT;
	char *out;

	if (http_url_parse(&u, url, &err) < 0) {
		http_url_dispose(&u);
		return xstrdup("atom-safety");
	}
	out = (strcmp(u.scheme, "https") == 0 && strcmp(u.port, "443") == 0) ||
		      (strcmp(u.scheme, "http") == 0 && strcmp(u.port, "80") == 0)
		      ? xstrdup(u.host)
		      : xasprintf("%s:%s", u.host, u.port);
	http_url_dispose(&u);
	return out;
}

static struct json_object *
pagerduty_details(const struct gate *g)
{
	struct json_object *d = json_object_new_object();
	struct json_object *failed = json_object_new_array();
	struct json_object *rollback = json_object_new_object();
	struct json_object *commit = json_object_new_object();
	struct json_object *workloads = json_object_new_array();
	char **w = incident_workloads(g->cfg);
	size_t i;

	jsonh_add_string(d, "result", gate_result_name(g->result));
	if (g->cancelled) {
		char *line = gate_cancel_line(g);
		jsonh_add_bool(d, "cancelled", true);
		jsonh_add_string(d, "cancelled_during_rollback", line);
		free(line);
	}
	jsonh_add_string(d, "environment", g->cfg->environment);
	jsonh_add_bool(d, "dry_run", g->cfg->dry_run);
	for (i = 0; w != NULL && w[i] != NULL; i++) {
		jsonh_append(workloads, json_object_new_string(w[i]));
	}
	jsonh_add(d, "workloads", workloads);
	for (i = 0; i < g->checks.n; i++) {
		const struct check_result *r = g->checks.items[i];
		struct json_object *c;
		if (r->status != CHECK_FAIL || r->phase == PHASE_RECOVERY || json_object_array_length(failed) >= 20) {
			continue;
		}
		c = json_object_new_object();
		jsonh_add_string(c, "name", r->name);
		jsonh_add_string(c, "value", r->value);
		jsonh_add_string(c, "limit", r->limit);
		jsonh_add_string(c, "detail", r->detail);
		jsonh_append(failed, c);
	}
	jsonh_add(d, "failed_checks", failed);
	jsonh_add_string(rollback, "outcome", gate_result_name(g->result));
	jsonh_add_string(rollback, "detail", g->rollback.detail);
	for (i = 0; i < g->rollback.n; i++) {
		if (g->rollback.items[i].manager.kind != MANAGER_NONE) {
			char *who = manager_describe(&g->rollback.items[i].manager);
			char *key = xasprintf("managed_%s", g->rollback.items[i].deployment);
			jsonh_add_string(rollback, key, who);
			free(key);
			free(who);
		}
	}
	jsonh_add(d, "rollback", rollback);
	jsonh_add_string(commit, "sha", g->commit.sha);
	jsonh_add_string(commit, "author", g->commit.author);
	jsonh_add_string(commit, "subject", g->commit.subject);
	jsonh_add(d, "commit", commit);
	strv_free(w);
	return d;
}

static void
report_pagerduty(struct gate *g, bool trigger)
{
	const struct config *cfg = g->cfg;
	struct pagerduty_event ev;
	struct error err = ERROR_INIT;
	struct json_object *details = NULL;
	char *dedup = incident_dedup_key(g);
	char *title = NULL, *source = NULL, *run_url = gate_run_url(g), *issue_text = NULL, *component = NULL;
	char **w = NULL;
	char now[40];
	char *payload;
	size_t i;

	memset(&ev, 0, sizeof(ev));
	ev.action = trigger ? "trigger" : "resolve";
	ev.dedup_key = dedup;
	if (trigger) {
		struct buf b = BUF_INIT;
		title = issue_title(g);
		if (g->cancelled) {
			/* the first thing on-call reads: the cluster was changed and nobody watched it */
			char *t = xasprintf("%s (job cancelled during the rollback: not verified)", title);
			free(title);
			title = t;
		}
		source = service_host(cfg->url);
		w = incident_workloads(cfg);
		for (i = 0; w != NULL && w[i] != NULL; i++) {
			buf_printf(&b, "%s%s", i > 0 ? "," : "", w[i]);
		}
		component = buf_steal(&b);
		details = pagerduty_details(g);
		time_format_utc(now, sizeof(now), wall_ms());
		ev.summary = title;
		ev.source = source;
		ev.severity = cfg->production ? "critical" : "error";
		ev.timestamp = now;
		ev.component = component;
		ev.group = cfg->environment;
		ev.class_name = gate_result_name(g->result);
		ev.custom_details = details;
		ev.client = "atom-safety";
		ev.client_url = run_url;
		if (run_url != NULL) {
			ev.links[0].href = run_url;
			ev.links[0].text = "Workflow run";
		}
		if (g->notify.issue_url != NULL) {
			issue_text = xasprintf("GitHub issue #%ld", g->notify.issue_number);
			ev.links[1].href = g->notify.issue_url;
			ev.links[1].text = issue_text;
		}
	}
	payload = pagerduty_payload_new(&ev, cfg->pagerduty_routing_key);
	free(g->notify.pagerduty_status);
	if (pagerduty_send(g->http, cfg->pagerduty_events_url, payload, &g->retry, &err) < 0) {
		g->notify.pagerduty_status = xasprintf("failed: %s", err.msg);
		log_warn("PagerDuty %s not delivered: %s", ev.action, err.msg);
	} else {
		g->notify.pagerduty_status = xstrdup(trigger ? "triggered" : "resolved");
		log_info("PagerDuty: %s sent (dedup_key %s)", ev.action, dedup);
	}
	secret_free(payload);
	json_object_put(details);
	strv_free(w);
	free(component);
	free(issue_text);
	free(run_url);
	free(source);
	free(title);
	free(dedup);
}

int
notify_webhook(struct gate *g, int exit_code, struct error *err)
{
	const struct config *cfg = g->cfg;
	bool passed = !gate_result_failed(g->result);
	const char *event = passed ? (g->notify.recovered ? "recovered" : "passed") : gate_result_name(g->result);
	struct error werr = ERROR_INIT;
	char *body;

	(void)err;
	if (cfg->webhook_url == NULL) {
		return 0;
	}
	if (passed && !g->notify.recovered && cfg->webhook_on != WEBHOOK_ON_ALWAYS) {
		log_debug("webhook: not called, the gate passed (webhook-on: failure)");
		return 0;
	}
	/* the report as it stands: the file written afterwards adds the webhook's own outcome */
	g->finished_wall_ms = wall_ms();
	body = report_render(g, exit_code);
	free(g->notify.webhook_status);
	if (webhook_post(g->http, cfg->webhook_url, body, strlen(body), event, cfg->webhook_secret, &g->retry, &werr) < 0) {
		g->notify.webhook_status = xasprintf("failed: %s", werr.msg);
		log_warn("webhook not delivered: %s", werr.msg);
	} else {
		g->notify.webhook_status = xasprintf("sent (event %s%s)", event,
						     cfg->webhook_secret != NULL ? ", signed" : ", unsigned");
		log_info("webhook: report sent (event %s, %zu bytes%s)", event, strlen(body),
			 cfg->webhook_secret != NULL ? ", signed" : "");
	}
	free(body);
	return 0;
}

bool
notify_wanted(const struct gate *g)
{
	const struct config *cfg = g->cfg;
	bool failed = gate_result_failed(g->result);
	bool slack = cfg->slack_webhook_url != NULL && cfg->slack_webhook_url[0] != '\0';

	/*
	 * what notify_run() or notify_webhook() does or reports at info level: an issue line, a Slack
	 * message, the lookup for open incidents, a PagerDuty event, a webhook delivery
	 */
	return failed || (slack && cfg->slack_notify == SLACK_NOTIFY_ALWAYS) ||
	       (cfg->close_on_recovery && cfg->create_issue) || cfg->pagerduty_routing_key != NULL ||
	       (cfg->webhook_url != NULL && cfg->webhook_on == WEBHOOK_ON_ALWAYS);
}

int
notify_run(struct gate *g, struct error *err)
{
	const struct config *cfg = g->cfg;
	bool failed = gate_result_failed(g->result);
	int64_t longest_open_ms = -1;

	(void)err;
	if (!failed) {
		log_debug("GitHub issue: not needed, the gate passed");
		if (!cfg->close_on_recovery) {
			log_debug("close-on-recovery: off");
		} else if (!cfg->create_issue) {
			log_debug("close-on-recovery: create-issue is false, so there is no issue of ours to close");
		} else {
			close_recovered(g, &longest_open_ms);
		}
	} else if (!cfg->create_issue) {
		log_info("GitHub issue: not opened (create-issue: false)");
	} else {
		report_issue(g);
	}

	if (cfg->pagerduty_routing_key == NULL) {
		log_debug("PagerDuty: no pagerduty-routing-key");
	} else {
		/* a resolve for a dedup_key with no open alert is dropped by PagerDuty: safe on every pass */
		report_pagerduty(g, failed);
	}

	if (cfg->slack_webhook_url == NULL || cfg->slack_webhook_url[0] == '\0') {
		log_debug("Slack: no slack-webhook-url");
	} else if (failed || cfg->slack_notify == SLACK_NOTIFY_ALWAYS || g->notify.n_closed > 0) {
		report_slack(g, longest_open_ms);
	} else {
		log_debug("Slack: not sent, the gate passed (slack-notify: failure)");
	}
	return 0;
}

int
notify_after_cancel(struct gate *g, int exit_code, struct error *err)
{
	struct retry_policy saved = g->retry;
	char what[64];
	char *line = gate_cancel_line(g);

	if (line == NULL) {
		/* cancelled before the verdict: nothing was judged or changed, nobody is told */
		return 0;
	}
	log_group_begin("Notifications");
	log_warn("%s", line);
	log_info("telling the owners within %d s (each request at most %d s, no retries); another "
		 "SIGTERM or SIGINT stops this at once",
		 NOTIFY_CANCEL_BUDGET_MS / 1000, NOTIFY_CANCEL_REQUEST_MS / 1000);
	(void)snprintf(what, sizeof(what), "%d s after the cancel", NOTIFY_CANCEL_BUDGET_MS / 1000);
	/* the runner's first signal no longer stops requests; a second one does */
	cancel_grace_begin();
	http_budget_set(g->http, clock_ms() + NOTIFY_CANCEL_BUDGET_MS, NOTIFY_CANCEL_REQUEST_MS, what);
	g->retry.max_retries = 0;
	(void)notify_run(g, err);
	(void)notify_webhook(g, exit_code, err);
	if (cancel_requested()) {
		log_warn("a second signal (%d) stopped the notifications: what was not sent yet was abandoned",
			 cancel_signal());
	}
	g->retry = saved;
	http_budget_set(g->http, 0, 0, NULL);
	cancel_grace_end();
	log_group_end();
	free(line);
	return 0;
}

void
notify_facts_dispose(struct notify_facts *n)
{
	free(n->issue_url);
	free(n->issue_action);
	free(n->slack_status);
	free(n->closed_issues);
	free(n->close_status);
	free(n->pagerduty_status);
	free(n->webhook_status);
	memset(n, 0, sizeof(*n));
}
