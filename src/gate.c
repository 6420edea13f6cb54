/* SPDX-License-Identifier: MIT */
#include "gate.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

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
	g->result = "passed";
	g->notify.issue_number = 0;
}

static void
commit_dispose(struct commit_info *c)
{
	free(c->sha);
	free(c->short_sha);
	free(c->author);
	free(c->email);
	free(c->subject);
	memset(c, 0, sizeof(*c));
}

void
gate_dispose(struct gate *g)
{
	size_t i;

	check_list_dispose(&g->checks);
	secret_free(g->token);
	free(g->first_failure);
	commit_dispose(&g->commit);
	for (i = 0; i < g->rollback.n; i++) {
		struct rollback_entry *e = &g->rollback.items[i];
		free(e->deployment);
		free(e->namespace);
		free(e->images_before);
		free(e->images_after);
		free(e->detail);
		manager_info_dispose(&e->manager);
	}
	free(g->rollback.items);
	free(g->rollback.detail);
	free(g->notify.issue_url);
	free(g->notify.issue_action);
	free(g->notify.slack_status);
	free(g->notify.closed_issues);
	free(g->notify.close_status);
	free(g->notify.pagerduty_status);
	free(g->notify.webhook_status);
	memset(g, 0, sizeof(*g));
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
gate_failed(const struct gate *g)
{
	size_t i;

	/* recovery checks judge the rollback, not the release */
	for (i = 0; i < g->checks.n; i++) {
		if (g->checks.items[i]->status == CHECK_FAIL && g->checks.items[i]->phase != PHASE_RECOVERY) {
			return true;
		}
	}
	return false;
}

char *
gate_service_url(const struct gate *g, const char *path)
{
	return xasprintf("%s%s", g->cfg->url, path);
}

char *
gate_run_url(const struct gate *g)
{
	const struct run_context *c = &g->cfg->ctx;

	if (c->repository == NULL || c->run_id == NULL) {
		return NULL;
	}
	return xasprintf("%s/%s/actions/runs/%s/attempts/%s", c->server_url, c->repository, c->run_id,
			 c->run_attempt != NULL ? c->run_attempt : "1");
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
		if (r->status == CHECK_FAIL && r->phase != PHASE_RECOVERY) {
			if (b.len > 0) {
				buf_putc(&b, ',');
			}
			buf_puts(&b, r->name);
		}
	}
	return buf_steal(&b);
}
