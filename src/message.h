/* SPDX-License-Identifier: MIT */
#ifndef SRC_MESSAGE_H
#define SRC_MESSAGE_H

#include <stdint.h>

struct gate;
struct slack_message;

/*
 * The Slack message for this run (clients/slack.h builds its Block Kit): the verdict, commit,
 * run, failed checks, rollback and metrics; links g->notify's issue when there is one. The caller
 * disposes out with slack_message_dispose.
 */
void message_slack_build(struct slack_message *out, const struct gate *g);
/*
 * The "recovered" message of a passing run that closed open incidents (g->notify.closed_issues):
 * the scope, commit, author, run, the issues and longest_open_ms (the longest time one was open,
 * -1 unknown). The caller disposes out
 */
void message_slack_recovered(struct slack_message *out, const struct gate *g, int64_t longest_open_ms);

#endif
