/* SPDX-License-Identifier: MIT */
#include "phases.h"

#include <stdlib.h>

#include "log.h"
#include "util.h"

int
rollback_preflight(struct gate *g, struct error *err)
{
	(void)err;
	g->rollback.enabled = false;
	return 0;
}

int
rollback_execute(struct gate *g, struct error *err)
{
	(void)err;
	g->result = "failed";
	return 0;
}

void
rollback_dispose(struct gate *g)
{
	(void)g;
}
