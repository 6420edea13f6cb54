/* SPDX-License-Identifier: MIT */
#ifndef SRC_PHASES_H
#define SRC_PHASES_H

#include "error.h"
#include "gate.h"

/*
 * The gate's phases after the smoke checks, one module each. main.c runs them in order:
 * commit → preflight → readiness → smoke → metrics → rollback → notify → report.
 */

/* gitmeta.c: fills g->commit from the repository at GITHUB_WORKSPACE, else from GITHUB_SHA/ACTOR */
int gitmeta_read(struct commit_info *out, const struct run_context *ctx, struct error *err);

/* checks/metrics.c: the 'error-rate' and 'latency' checks through the Prometheus HTTP API */
int metrics_run(struct gate *g, struct error *err);

/*
 * rollback.c: preflight runs before any check (a broken kubeconfig returns ERR_CONFIG); execute runs
 * when the gate failed and sets g->rollback, from which gate_result_decide tells the result.
 */
int rollback_preflight(struct gate *g, struct error *err);
int rollback_execute(struct gate *g, struct error *err);
void rollback_dispose(struct gate *g);

/* notify.c: GitHub issue and Slack message; failures are warnings, never fatal */
int notify_run(struct gate *g, struct error *err);
/*
 * notify.c: POSTs the JSON report (as report_render() makes it now) to webhook-url when webhook-on
 * says so; its outcome goes to g->notify.webhook_status, never an error
 */
int notify_webhook(struct gate *g, int exit_code, struct error *err);

#endif
