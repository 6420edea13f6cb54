/* SPDX-License-Identifier: MIT */
#ifndef SRC_NOTIFY_H
#define SRC_NOTIFY_H

#include <stdbool.h>

#include "error.h"

struct gate;

/* what the notifications did, for the report and outputs */
struct notify_facts {
	char *issue_url;
	long issue_number;
	char *issue_action; /* "created", "commented", "failed: …" */
	char *slack_status; /* "sent", "failed: …", NULL when not attempted */
};

/* true when notify_run() will send or report something (a failed gate, Slack "always") */
bool notify_wanted(const struct gate *g);
/* the GitHub issue and the Slack message; failures are warnings in g->notify, never fatal */
int notify_run(struct gate *g, struct error *err);
/* frees the strings; accepts a zeroed struct */
void notify_facts_dispose(struct notify_facts *n);

#endif
