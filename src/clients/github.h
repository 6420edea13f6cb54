/* SPDX-License-Identifier: MIT */
#ifndef SRC_CLIENTS_GITHUB_H
#define SRC_CLIENTS_GITHUB_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "http.h"
#include "retry.h"

/*
 * GitHub REST issues API: list open issues by label, create an issue, comment on one. Requests go
 * one at a time (GitHub asks integrations to call serially) to GITHUB_API_URL, never a hard-coded
 * host. Rate limits are waited out when GitHub names a time (retry-after, or x-ratelimit-reset with
 * nothing remaining) that fits in the client's overall bound; otherwise the call fails.
 */

#define GITHUB_MAX_WAIT_MS 60000 /* everything the client may spend waiting, all calls together */
#define GITHUB_MAX_PAGES 20

struct github_client {
	struct http *http;
	char *base;            /* {api}/repos/{owner}/{name}, no trailing slash */
	char *origin;          /* scheme://host[:port] of the API: pagination links must stay there */
	char *repository;      /* owner/name, for messages */
	const char *token;     /* borrowed; sent only as Authorization: Bearer */
	struct retry_policy retry;
	int64_t deadline_ms;   /* monotonic: no call runs or waits past it */
};

struct github_issue {
	long number;
	char *html_url;
	size_t n_labels;       /* labels GitHub kept: none when the token lacks push access */
	int64_t created_ms;    /* epoch ms of created_at; -1 unknown */
	bool open;             /* state is "open" */
	char *closed_by;       /* login of who closed it, when closed and GitHub says */
};

/*
 * Sets up a client for repository ("owner/name") at api_url. The token is borrowed and must outlive
 * the client. Returns 0 or ERR_CONFIG naming what is missing.
 */
int github_client_init(struct github_client *gh, struct http *http, const char *api_url, const char *repository,
		       const char *token, const struct retry_policy *retry, struct error *err);
void github_client_dispose(struct github_client *gh);
void github_issue_dispose(struct github_issue *issue);

/*
 * Finds an open issue (pull requests skipped) whose body contains marker, following Link
 * rel="next" up to GITHUB_MAX_PAGES pages. label may be NULL (every open issue). *found tells
 * whether out was filled. Returns 0 or an error (ERR_AUTH for 401/403, ERR_NOT_FOUND for 404/410,
 * ERR_HTTP, ERR_PARSE, transport errors) whose message says what to do.
 */
int github_issue_find(struct github_issue *out, bool *found, struct github_client *gh, const char *label,
		      const char *marker, struct error *err);

/*
 * Every open issue (pull requests skipped) whose body contains marker, up to limit of them, in
 * GitHub's order (newest first), following Link rel="next" as github_issue_find does. *out is an
 * array of *n_out issues (caller disposes each, then frees the array). Errors as above.
 */
int github_issues_list_marked(struct github_issue **out, size_t *n_out, struct github_client *gh,
			      const char *label, const char *marker, size_t limit, struct error *err);

/* GET /issues/{number}: fills out (state, closed_by, created_at); caller disposes. Errors as above */
int github_issue_get(struct github_issue *out, struct github_client *gh, long number, struct error *err);

/* PATCH /issues/{number} {"state":"closed","state_reason":"completed"}; errors as above */
int github_issue_close(struct github_client *gh, long number, struct error *err);

/* POST /issues; 201 fills out (caller disposes). Errors as above, ERR_CONFLICT for 422 */
int github_issue_create(struct github_issue *out, struct github_client *gh, const char *title, const char *body,
			char *const *labels, struct error *err);

/* POST /issues/{number}/comments; 201 gives the comment's URL in *url_out (caller frees) */
int github_comment_create(char **url_out, struct github_client *gh, long number, const char *body,
			  struct error *err);

/* the URL of the next page from a Link header, or NULL; caller frees. Exposed for unit tests */
char *github_link_next(const char *link);

#endif
