/* SPDX-License-Identifier: MIT */
#ifndef SRC_CHECKS_SMOKE_H
#define SRC_CHECKS_SMOKE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct gate;

/*
 * The smoke phase: readiness, then the database, login and endpoint checks concurrently, and the
 * recovery checks after a rollback. Each exchange is judged by checks/judge.h.
 */

/* waits for the health endpoint (wait-timeout) and records the 'health' check */
int smoke_readiness(struct gate *g, struct error *err);
/* database, login and the authenticated endpoints, concurrently */
int smoke_run(struct gate *g, struct error *err);
/* health and database again, as 'recovery-health' and 'recovery-database' (after a rollback) */
int smoke_verify_recovery(struct gate *g, int64_t wait_ms, bool *ok_out, struct error *err);

#endif
