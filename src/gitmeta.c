/* SPDX-License-Identifier: MIT */
#include "gitmeta.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "outside.h"
#include "util.h"

/* the only user of libgit2: read-only metadata of the commit under test */

#define SHORT_SHA_LEN 7
#define MAX_FIELD_BYTES 1024

/*
 * Commit text is whatever the author typed: it is outside text (outside.h), so it reaches the log,
 * the issue and the Slack message as one line of valid UTF-8 that cannot start a workflow
 * command, and the field is bounded so a novel-length subject cannot crowd out the facts
 */
static char *
commit_text_dup(const char *s)
{
	return outside_line(s, strlen(s), MAX_FIELD_BYTES);
}

static bool
is_hex_sha(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return i >= 4 && i <= GIT_OID_HEXSZ;
}

static const char *
git_message(void)
{
	const git_error *e = git_error_last();

	return e != NULL && e->message != NULL ? e->message : "unknown error";
}

static int
read_commit(struct commit_info *out, git_repository *repo, const char *sha, struct error *err)
{
	git_object *obj = NULL;
	git_commit *commit = NULL;
	const git_signature *author;
	const char *summary;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;

	if (sha != NULL) {
		git_oid oid;
		if (!is_hex_sha(sha)) {
			rc = error_set(err, ERR_PARSE, "GITHUB_SHA is not a commit id");
			goto out;
		}
		if (git_oid_fromstrn(&oid, sha, strlen(sha)) < 0 ||
		    git_object_lookup_prefix(&obj, repo, &oid, strlen(sha), GIT_OBJECT_COMMIT) < 0) {
			/* not HEAD's metadata instead: it would describe another commit than the one deployed */
			rc = error_set(err, ERR_NOT_FOUND, "commit %.12s is not in the repository: %s", sha, git_message());
			goto out;
		}
	} else if (git_revparse_single(&obj, repo, "HEAD^{commit}") < 0) {
		rc = error_set(err, ERR_NOT_FOUND, "HEAD: %s", git_message());
		goto out;
	}
	commit = (git_commit *)obj;
	obj = NULL; /* now owned as commit */

	(void)git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
	out->sha = xstrdup(hex);
	out->short_sha = xstrndup(hex, SHORT_SHA_LEN);
	author = git_commit_author(commit);
	if (author != NULL) {
		if (author->name != NULL && author->name[0] != '\0') {
			out->author = commit_text_dup(author->name);
		}
		if (author->email != NULL && author->email[0] != '\0') {
			out->email = commit_text_dup(author->email);
		}
		out->time = (int64_t)author->when.time;
	}
	/* the first paragraph, whitespace squashed: git log's %s */
	summary = git_commit_summary(commit);
	if (summary != NULL && summary[0] != '\0') {
		out->subject = commit_text_dup(summary);
	}
	out->from_git = true;
out:
	git_commit_free(commit);
	git_object_free(obj);
	return rc;
}

static int
read_repository(struct commit_info *out, const struct run_context *ctx, struct error *err)
{
	git_repository *repo = NULL;
	int rc;

	/*
	 * The workspace belongs to the runner's user, not to the container's root: libgit2 1.5.1
	 * refuses it ("config value 'safe.directory' was not found", -3). The check guards against
	 * running another user's hooks and config-driven commands; libgit2 runs neither, and we only
	 * read one commit object, so it protects nothing here.
	 */
	if (git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0) < 0) {
		return error_set(err, ERR_GENERIC, "cannot disable the owner check: %s", git_message());
	}
	/* exactly the workspace: searching upwards could find an unrelated repository */
	if (git_repository_open_ext(&repo, ctx->workspace, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		return error_set(err, ERR_NOT_FOUND, "no git repository at %s: %s", ctx->workspace, git_message());
	}
	rc = read_commit(out, repo, ctx->sha, err);
	git_repository_free(repo);
	return rc;
}

static void
from_context(struct commit_info *out, const struct run_context *ctx)
{
	if (ctx->sha != NULL) {
		out->sha = xstrdup(ctx->sha);
		out->short_sha = xstrndup(ctx->sha, SHORT_SHA_LEN);
	}
	if (ctx->actor != NULL) {
		out->author = xstrdup(ctx->actor);
	}
	out->from_git = false;
}

int
gitmeta_read(struct commit_info *out, const struct run_context *ctx, struct error *err)
{
	struct error sub = ERROR_INIT;
	int rc;

	(void)err;
	memset(out, 0, sizeof(*out));
	if (ctx->workspace == NULL) {
		/* a local run, not a runner: nothing to warn about */
		log_debug("commit: GITHUB_WORKSPACE not set, using GITHUB_SHA and GITHUB_ACTOR");
		from_context(out, ctx);
		return 0;
	}
	if (git_libgit2_init() < 0) {
		log_warn("commit metadata: cannot initialise libgit2; using GITHUB_SHA and GITHUB_ACTOR");
		from_context(out, ctx);
		return 0;
	}
	rc = read_repository(out, ctx, &sub);
	(void)git_libgit2_shutdown();
	if (rc < 0) {
		free(out->sha);
		free(out->short_sha);
		free(out->author);
		free(out->email);
		free(out->subject);
		memset(out, 0, sizeof(*out));
		log_warn("commit metadata: %s; using GITHUB_SHA and GITHUB_ACTOR (no checkout step before this one?)",
			 sub.msg);
		from_context(out, ctx);
	}
	return 0;
}

void
gitmeta_commit_dispose(struct commit_info *c)
{
	free(c->sha);
	free(c->short_sha);
	free(c->author);
	free(c->email);
	free(c->subject);
	memset(c, 0, sizeof(*c));
}
