/* SPDX-License-Identifier: MIT */
#ifndef SRC_MESSAGE_H
#define SRC_MESSAGE_H

struct gate;
struct slack_message;

/*
 * The Slack message for this run (clients/slack.h builds its Block Kit): the verdict, commit,
 * run, failed checks, rollback and metrics; links g->notify's issue when there is one. The caller
 * disposes out with slack_message_dispose.
 */
void message_slack_build(struct slack_message *out, const struct gate *g);

#endif
