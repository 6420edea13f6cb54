/* SPDX-License-Identifier: MIT */
#ifndef SRC_GITMETA_H
#define SRC_GITMETA_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct run_context;

/* the commit under test: from the repository (libgit2) or, failing that, the run context */
struct commit_info {
	char *sha;
	char *short_sha;
	char *author;
	char *email;
	char *subject;
	int64_t time; /* epoch seconds, 0 unknown */
	bool from_git;
};

/*
 * Fills out from the repository at GITHUB_WORKSPACE, else from GITHUB_SHA and GITHUB_ACTOR. A
 * failure is a warning for the caller; out holds what could be learnt either way. The only file
 * that includes <git2.h>.
 */
int gitmeta_read(struct commit_info *out, const struct run_context *ctx, struct error *err);
/* frees the strings; accepts a zeroed struct */
void gitmeta_commit_dispose(struct commit_info *c);

#endif
