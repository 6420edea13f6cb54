/* SPDX-License-Identifier: MIT */
#ifndef SRC_ISSUE_H
#define SRC_ISSUE_H

#include <stddef.h>

#include "buf.h"

struct gate;

/*
 * What people are told when the gate fails: the GitHub issue (title, Markdown body, a hidden
 * fingerprint that finds it again; the Slack message is message.h's). Pure: built from struct
 * gate only, no I/O, so every word is unit-tested. Outside text (commit subject, server replies) is escaped;
 * everything is scrubbed of registered secrets.
 */

#define ISSUE_BODY_MAX 65536       /* GitHub's limit, counted here in UTF-8 bytes to be safe */
#define ISSUE_TITLE_MAX 200
#define ISSUE_FINGERPRINT_HEX 32
#define ISSUE_MARKER_PREFIX "<!-- atom-safety:fingerprint="

struct issue_draft {
	char *title;
	char *body;       /* for a new issue: starts with the marker */
	char *comment;    /* for a re-run on an existing issue */
	char *marker;     /* "<!-- atom-safety:fingerprint=<hex> -->": finds re-runs (version 1, kept) */
	char *scope_marker; /* "<!-- atom-safety:incident=2 scope=<hex> -->": finds it on recovery */
	char fingerprint[ISSUE_FINGERPRINT_HEX + 1];
};

/* fills out from the gate's facts; caller disposes */
void issue_draft_build(struct issue_draft *out, const struct gate *g);
void issue_draft_dispose(struct issue_draft *d);

/* "Deployment rolled back: production atom @ 1a2b3c4" (failed / rollback failed / passed); caller frees */
char *issue_title(const struct gate *g);

/* hex SHA-256 prefix of (environment, deployment, commit): stable across runs and attempts */
void issue_fingerprint(char out[ISSUE_FINGERPRINT_HEX + 1], const char *environment, const char *deployment,
		       const char *sha);

/*
 * Cuts Markdown in place to at most max bytes: at a line and character boundary, closing an open
 * code fence, ending with a note that the text was cut. Does nothing when it fits.
 */
void issue_body_cap(struct buf *body, size_t max);

#endif
