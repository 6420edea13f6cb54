/* SPDX-License-Identifier: MIT */
#include "phases.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* placeholder until the libgit2 reader lands: the run context only */
int
gitmeta_read(struct commit_info *out, const struct run_context *ctx, struct error *err)
{
	(void)err;
	memset(out, 0, sizeof(*out));
	if (ctx->sha != NULL) {
		out->sha = xstrdup(ctx->sha);
		out->short_sha = xstrndup(ctx->sha, 7);
	}
	if (ctx->actor != NULL) {
		out->author = xstrdup(ctx->actor);
	}
	return 0;
}
