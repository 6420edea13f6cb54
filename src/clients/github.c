/* SPDX-License-Identifier: MIT */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "clients/github.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "jsonh.h"
#include "log.h"
#include "outside.h"
#include "util.h"

#define GITHUB_TIMEOUT_MS 15000
#define GITHUB_MAX_REPLY (32 * 1024 * 1024) /* 100 issues with bodies of up to 64 KiB each */
#define GITHUB_MAX_RATE_WAITS 2
#define GITHUB_MESSAGE_MAX 300 /* of GitHub's own message in an error */

static const char *const github_headers[] = {
	"Accept: application/vnd.github+json",
	"X-GitHub-Api-Version: 2022-11-28",
	NULL,
};

int
github_client_init(struct github_client *gh, struct http *http, const char *api_url, const char *repository,
		   const char *token, const struct retry_policy *retry, struct error *err)
{
	const char *slash;
	char *owner = NULL, *name = NULL, *path;

	memset(gh, 0, sizeof(*gh));
	if (api_url == NULL || api_url[0] == '\0') {
		return error_set(err, ERR_CONFIG, "GITHUB_API_URL is not set");
	}
	if (repository == NULL || (slash = strchr(repository, '/')) == NULL || slash == repository ||
	    slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
		return error_set(err, ERR_CONFIG, "GITHUB_REPOSITORY is not set as owner/name");
	}
	if (token == NULL || token[0] == '\0') {
		return error_set(err, ERR_CONFIG,
				 "the github-token input is empty (its default is ${{ github.token }}; a container action does not get GITHUB_TOKEN by itself)");
	}
	/* the token goes to this origin only: libcurl's parser decides what the host is */
	gh->origin = http_url_origin(api_url);
	if (gh->origin == NULL) {
		return error_set(err, ERR_CONFIG, "GITHUB_API_URL is not an http(s) URL");
	}
	owner = xstrndup(repository, (size_t)(slash - repository));
	name = xstrdup(slash + 1);
	{
		char *eo = http_escape(owner), *en = http_escape(name);
		path = xasprintf("/repos/%s/%s", eo, en);
		gh->base = http_url_join(api_url, path);
		free(path);
		free(eo);
		free(en);
	}
	if (gh->base == NULL) {
		free(owner);
		free(name);
		github_client_dispose(gh);
		return error_set(err, ERR_CONFIG, "GITHUB_API_URL is not an http(s) URL");
	}
	gh->repository = xstrdup(repository);
	gh->http = http;
	gh->token = token;
	gh->retry = *retry;
	gh->deadline_ms = clock_ms() + GITHUB_MAX_WAIT_MS;
	free(owner);
	free(name);
	return 0;
}

void
github_client_dispose(struct github_client *gh)
{
	free(gh->base);
	free(gh->origin);
	free(gh->repository);
	memset(gh, 0, sizeof(*gh));
}

void
github_issue_dispose(struct github_issue *issue)
{
	free(issue->html_url);
	free(issue->closed_by);
	memset(issue, 0, sizeof(*issue));
}

/*
 * GitHub's rate-limit rules: retry-after says how long; else x-ratelimit-remaining 0 means wait
 * until x-ratelimit-reset; else a 429 or a 403 mentioning a rate limit is a secondary limit, for
 * which GitHub asks for at least a minute (*wait_ms = -1: more than we may wait).
 */
static bool
rate_limited(const struct http_response *resp, int64_t *wait_ms)
{
	const char *remaining = http_response_header(resp, "x-ratelimit-remaining");
	const char *reset = http_response_header(resp, "x-ratelimit-reset");

	*wait_ms = -1;
	if (resp->status != 403 && resp->status != 429) {
		return false;
	}
	if (resp->retry_after_ms >= 0) {
		*wait_ms = resp->retry_after_ms;
		return true;
	}
	if (remaining != NULL && strcmp(remaining, "0") == 0) {
		if (reset != NULL) {
			char *end;
			long long at = strtoll(reset, &end, 10);
			/* epoch seconds; anything that would overflow in milliseconds is not a reset time */
			if (end != reset && *end == '\0' && at >= 0 && at <= INT64_MAX / 1000) {
				int64_t w = (int64_t)at * 1000 - wall_ms();
				/* the reset second itself may still be limited: one more second */
				*wait_ms = (w < 0 ? 0 : w) + 1000;
			}
		}
		return true;
	}
	if (resp->status == 429) {
		return true;
	}
	if (resp->body.data != NULL && strstr(resp->body.data, "rate limit") != NULL) {
		return true;
	}
	return false;
}

/* GitHub's "message" and the first validation error, bounded and on one line */
static char *
github_message(const struct http_response *resp)
{
	struct json_object *doc = NULL, *errors;
	struct buf b = BUF_INIT;
	const char *msg;

	if (resp->body.len > 0 && jsonh_parse(&doc, resp->body.data, resp->body.len, NULL) == 0) {
		msg = jsonh_get_string_or(doc, "message", NULL);
		if (msg != NULL) {
			outside_append(&b, msg, strlen(msg), GITHUB_MESSAGE_MAX);
		}
		errors = jsonh_member(doc, "errors");
		if (errors != NULL && json_object_is_type(errors, json_type_array) &&
		    json_object_array_length(errors) > 0) {
			struct json_object *e = json_object_array_get_idx(errors, 0);
			const char *em = jsonh_get_string_or(e, "message", NULL);
			const char *field = jsonh_get_string_or(e, "field", NULL);
			const char *code = jsonh_get_string_or(e, "code", NULL);
			if (em != NULL) {
				buf_puts(&b, ": ");
				outside_append(&b, em, strlen(em), GITHUB_MESSAGE_MAX);
			} else if (field != NULL || code != NULL) {
				buf_puts(&b, ": ");
				outside_append(&b, field != NULL ? field : "", field != NULL ? strlen(field) : 0, 60);
				buf_putc(&b, ' ');
				outside_append(&b, code != NULL ? code : "", code != NULL ? strlen(code) : 0, 60);
			}
		}
	}
	json_object_put(doc);
	if (b.len == 0) {
		buf_puts(&b, "no message");
	}
	return buf_steal(&b);
}

static int
status_error(struct error *err, const struct github_client *gh, const struct http_response *resp, const char *what)
{
	char *msg = github_message(resp);
	long s = resp->status;
	enum error_code code = http_status_error_code(s);
	int rc;

	if (code == ERR_OK) {
		code = ERR_HTTP; /* a 2xx without the expected document */
	}

	switch (s) {
	case 401:
		rc = error_set(err, code, "%s: GitHub rejected the token (HTTP 401: %s); check the github-token input",
			       what, msg);
		break;
	case 403:
		rc = error_set(err, code,
			       "%s: HTTP 403 (%s): the workflow needs `permissions: issues: write` (pull requests from forks only get a read-only token)",
			       what, msg);
		break;
	case 404:
		rc = error_set(err, code, "%s: HTTP 404 (%s): repository %s not found, or the token cannot see it",
			       what, msg, gh->repository);
		break;
	case 410:
		rc = error_set(err, code, "%s: HTTP 410 (%s): issues are disabled in %s", what, msg,
			       gh->repository);
		break;
	case 422:
		rc = error_set(err, code, "%s: HTTP 422, GitHub rejected the request: %s", what, msg);
		break;
	case 301:
	case 302:
	case 307:
	case 308:
		rc = error_set(err, code, "%s: HTTP %ld: %s moved (renamed or transferred); redirects are not followed",
			       what, s, gh->repository);
		break;
	default:
		rc = error_set(err, code, "%s: HTTP %ld (%s)", what, s, msg);
		break;
	}
	err->http_status = s;
	free(msg);
	return rc;
}

/*
 * One request, serially. The batch's own policy retries transport failures (and, for a POST, only
 * those that cannot have reached GitHub) and 429/503 with Retry-After; here GitHub's 403 rate-limit
 * answers are waited out too, as long as the client's deadline allows.
 */
static int
github_send(struct http_request *req, struct github_client *gh, const char *method, const char *url,
	    const char *body, const char *what, struct error *err)
{
	int waits = 0;
	int rc;

	for (;;) {
		struct http_batch_opts opts;
		int64_t left = gh->deadline_ms - clock_ms(), wait_ms;

		if (left <= 0) {
			return error_set(err, ERR_TIMEOUT, "%s: not sent, the %d s bound for GitHub is used up", what,
					 GITHUB_MAX_WAIT_MS / 1000);
		}
		memset(&opts, 0, sizeof(opts));
		opts.max_parallel = 1;
		opts.retry = gh->retry;
		if (opts.retry.max_retry_after_ms > left) {
			opts.retry.max_retry_after_ms = left;
		}
		opts.deadline_ms = gh->deadline_ms;
		req->method = method;
		req->url = url;
		req->body = body;
		req->body_len = body != NULL ? strlen(body) : 0;
		req->content_type = body != NULL ? "application/json; charset=utf-8" : NULL;
		req->bearer = gh->token;
		req->headers = github_headers;
		req->timeout_ms = left < GITHUB_TIMEOUT_MS ? left : GITHUB_TIMEOUT_MS;
		req->max_body = GITHUB_MAX_REPLY;
		/* a repeated POST is a second issue or comment */
		req->idempotent = strcmp(method, "GET") == 0;
		req->max_retries = -1;

		rc = http_batch_run_one(gh->http, req, &opts, err);
		if (rc < 0) {
			return rc;
		}
		if (req->state != HTTP_DONE) {
			return error_set(err, ERR_TIMEOUT, "%s: no answer within the %d s bound for GitHub", what,
					 GITHUB_MAX_WAIT_MS / 1000);
		}
		if (req->transport != TRANSPORT_OK) {
			return error_set(err, req->err.code != ERR_OK ? req->err.code : ERR_NETWORK, "%s: %s", what,
					 req->err.msg);
		}
		if (!rate_limited(&req->resp, &wait_ms)) {
			return 0;
		}
		if (http_budget_deadline(gh->http) > 0) {
			/* under a short time budget (after a cancel) a rate-limit wait is not affordable */
			rc = error_set(err, ERR_HTTP, "%s: GitHub rate limit (HTTP %ld); no time left to wait for it",
				       what, req->resp.status);
			err->http_status = req->resp.status;
			return rc;
		}
		left = gh->deadline_ms - clock_ms();
		if (wait_ms < 0 || wait_ms >= left || waits >= GITHUB_MAX_RATE_WAITS) {
			char d[32];
			if (wait_ms >= 0) {
				duration_format(d, sizeof(d), wait_ms);
			} else {
				(void)snprintf(d, sizeof(d), "%s", "at least 1m");
			}
			rc = error_set(err, ERR_HTTP,
				       "%s: GitHub rate limit (HTTP %ld); it asks to wait %s, beyond the %d s bound for GitHub",
				       what, req->resp.status, d, GITHUB_MAX_WAIT_MS / 1000);
			err->http_status = req->resp.status;
			return rc;
		}
		{
			char d[32];
			duration_format(d, sizeof(d), wait_ms);
			log_info("  GitHub rate limit (HTTP %ld) while %s: waiting %s as GitHub asks", req->resp.status,
				 what, d);
		}
		if (cancel_sleep_ms(wait_ms) < 0) {
			return error_set(err, ERR_CANCELLED, "cancelled by signal %d", cancel_signal());
		}
		waits++;
	}
}

static bool
rel_has_next(const char *params, size_t len)
{
	const char *p = params, *end = params + len;

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi != NULL ? semi : end;
		while (p < stop && (*p == ' ' || *p == '\t')) {
			p++;
		}
		if ((size_t)(stop - p) > 4 && strncasecmp(p, "rel=", 4) == 0) {
			const char *v = p + 4, *vend = stop;
			if (*v == '"') {
				v++;
				while (vend > v && vend[-1] != '"') {
					vend--;
				}
				if (vend > v) {
					vend--;
				}
			}
			/* rel may hold several space-separated relation types */
			while (v < vend) {
				const char *sp = v;
				while (sp < vend && *sp != ' ') {
					sp++;
				}
				if (sp - v == 4 && strncasecmp(v, "next", 4) == 0) {
					return true;
				}
				v = sp < vend ? sp + 1 : sp;
			}
		}
		p = semi != NULL ? semi + 1 : end;
	}
	return false;
}

char *
github_link_next(const char *link)
{
	const char *p = link;

	if (link == NULL) {
		return NULL;
	}
	/* <url>; rel="next", <url>; rel="last": URLs may contain commas, so walk by angle brackets */
	for (;;) {
		const char *lt = strchr(p, '<'), *gt, *next_lt, *params_end;
		if (lt == NULL) {
			return NULL;
		}
		gt = strchr(lt + 1, '>');
		if (gt == NULL) {
			return NULL;
		}
		/* a URI reference holds no '<': an unclosed one before is junk, the link starts at the last */
		for (const char *q = lt + 1; q < gt; q++) {
			if (*q == '<') {
				lt = q;
			}
		}
		next_lt = strchr(gt + 1, '<');
		params_end = next_lt != NULL ? next_lt : gt + 1 + strlen(gt + 1);
		if (rel_has_next(gt + 1, (size_t)(params_end - (gt + 1)))) {
			return xstrndup(lt + 1, (size_t)(gt - lt - 1));
		}
		p = gt + 1;
	}
}

/* the token may only follow a pagination link to the API's own scheme, host and port */
static bool
same_origin(const struct github_client *gh, const char *url)
{
	return http_url_same_origin(url, gh->base);
}

/* GitHub's timestamps: "2026-12-06T02:00:00Z" to epoch ms; -1 when not that form */
static int64_t
parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL) {
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || strcmp(end, "Z") != 0) {
		return -1;
	}
	return (int64_t)timegm(&tm) * 1000;
}

/* number, html_url, created_at, state and closed_by of an issue object */
static bool
issue_read(struct github_issue *out, struct json_object *item)
{
	const char *html = jsonh_get_string_or(item, "html_url", NULL);
	const char *state = jsonh_get_string_or(item, "state", NULL);
	const char *closer = jsonh_get_string_or(jsonh_member(item, "closed_by"), "login", NULL);
	struct json_object *labels = jsonh_member(item, "labels");
	int64_t number;

	memset(out, 0, sizeof(*out));
	if (!jsonh_get_int(&number, item, "number") || number <= 0) {
		return false;
	}
	out->number = (long)number;
	out->html_url = html != NULL ? xstrdup(html) : NULL;
	out->created_ms = parse_time(jsonh_get_string_or(item, "created_at", NULL));
	out->open = state != NULL && strcmp(state, "open") == 0;
	out->closed_by = closer != NULL ? xstrndup(closer, 100) : NULL;
	out->n_labels = labels != NULL && json_object_is_type(labels, json_type_array) ? json_object_array_length(labels) : 0;
	return true;
}

int
github_issues_list_marked(struct github_issue **out, size_t *n_out, struct github_client *gh, const char *label,
			  const char *marker, size_t limit, struct error *err)
{
	struct http_request req;
	struct json_object *doc = NULL;
	struct github_issue *list = NULL;
	char *url, *next = NULL;
	size_t n = 0;
	int pages = 0;
	int rc = 0;

	*out = NULL;
	*n_out = 0;
	memset(&req, 0, sizeof(req));
	if (label != NULL && label[0] != '\0') {
		char *el = http_escape(label);
		url = xasprintf("%s/issues?state=open&labels=%s&per_page=100", gh->base, el);
		free(el);
	} else {
		url = xasprintf("%s/issues?state=open&per_page=100", gh->base);
	}
	while (url != NULL && n < limit) {
		size_t i, count;

		if (pages == GITHUB_MAX_PAGES) {
			log_warn("more than %d pages of open issues%s%s: an older issue may be missed", GITHUB_MAX_PAGES,
				 label != NULL ? " labelled " : "", label != NULL ? label : "");
			break;
		}
		pages++;
		http_request_dispose(&req);
		rc = github_send(&req, gh, "GET", url, NULL, "listing open issues", err);
		if (rc < 0) {
			goto out;
		}
		if (req.resp.status != 200) {
			rc = status_error(err, gh, &req.resp, "listing open issues");
			goto out;
		}
		rc = jsonh_parse(&doc, req.resp.body.data, req.resp.body.len, err);
		if (rc < 0) {
			error_prefix(err, "listing open issues: ");
			goto out;
		}
		if (!json_object_is_type(doc, json_type_array)) {
			rc = error_set(err, ERR_PARSE, "listing open issues: the reply is not a JSON array");
			goto out;
		}
		count = json_object_array_length(doc);
		for (i = 0; i < count && n < limit; i++) {
			struct json_object *item = json_object_array_get_idx(doc, i);
			const char *body = jsonh_get_string_or(item, "body", NULL);
			/* the issues list holds pull requests too: one with our text is not ours */
			if (jsonh_member(item, "pull_request") != NULL || body == NULL || strstr(body, marker) == NULL) {
				continue;
			}
			list = xrealloc(list, (n + 1) * sizeof(*list));
			if (issue_read(&list[n], item)) {
				n++;
			}
		}
		free(next);
		next = github_link_next(http_response_header(&req.resp, "link"));
		json_object_put(doc);
		doc = NULL;
		free(url);
		url = NULL;
		if (next != NULL && !same_origin(gh, next)) {
			/* the token must not follow a link to another host */
			log_warn("GitHub's pagination link leaves %s: stopped after page %d", gh->origin, pages);
			break;
		}
		url = next;
		next = NULL;
	}
	log_debug("searched %d page(s) of open issues: %zu found", pages, n);
	*out = list;
	*n_out = n;
	list = NULL;
	n = 0;
out:
	while (n > 0) {
		github_issue_dispose(&list[--n]);
	}
	free(list);
	json_object_put(doc);
	free(url);
	free(next);
	http_request_dispose(&req);
	return rc;
}

int
github_issue_find(struct github_issue *out, bool *found, struct github_client *gh, const char *label,
		  const char *marker, struct error *err)
{
	struct github_issue *list = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	*found = false;
	rc = github_issues_list_marked(&list, &n, gh, label, marker, 1, err);
	if (rc == 0 && n > 0) {
		*out = list[0]; /* now owned by the caller */
		*found = true;
	}
	free(list);
	return rc;
}

int
github_issue_get(struct github_issue *out, struct github_client *gh, long number, struct error *err)
{
	struct http_request req;
	struct json_object *doc = NULL;
	char *url = xasprintf("%s/issues/%ld", gh->base, number);
	char what[64];
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&req, 0, sizeof(req));
	(void)snprintf(what, sizeof(what), "reading issue #%ld", number);
	rc = github_send(&req, gh, "GET", url, NULL, what, err);
	if (rc < 0) {
		goto out;
	}
	if (req.resp.status != 200) {
		rc = status_error(err, gh, &req.resp, what);
		goto out;
	}
	rc = jsonh_parse(&doc, req.resp.body.data, req.resp.body.len, err);
	if (rc < 0) {
		error_prefix(err, "%s: ", what);
		goto out;
	}
	if (!issue_read(out, doc)) {
		rc = error_set(err, ERR_PARSE, "%s: the reply has no number", what);
	}
out:
	json_object_put(doc);
	free(url);
	http_request_dispose(&req);
	return rc;
}

int
github_issue_close(struct github_client *gh, long number, struct error *err)
{
	static const char payload[] = "{\"state\":\"closed\",\"state_reason\":\"completed\"}";
	struct http_request req;
	char *url = xasprintf("%s/issues/%ld", gh->base, number);
	char what[64];
	int rc;

	memset(&req, 0, sizeof(req));
	(void)snprintf(what, sizeof(what), "closing issue #%ld", number);
	rc = github_send(&req, gh, "PATCH", url, payload, what, err);
	if (rc == 0 && req.resp.status != 200) {
		rc = status_error(err, gh, &req.resp, what);
	}
	free(url);
	http_request_dispose(&req);
	return rc;
}

static int
issue_from_reply(struct github_issue *out, const struct http_response *resp, const char *what, struct error *err)
{
	struct json_object *doc = NULL, *labels;
	const char *html;
	int64_t number;
	int rc;

	rc = jsonh_parse(&doc, resp->body.data, resp->body.len, err);
	if (rc < 0) {
		error_prefix(err, "%s: ", what);
		return rc;
	}
	html = jsonh_get_string_or(doc, "html_url", NULL);
	if (!jsonh_get_int(&number, doc, "number") || number <= 0 || html == NULL) {
		json_object_put(doc);
		return error_set(err, ERR_PARSE, "%s: the reply has no number or html_url", what);
	}
	out->number = (long)number;
	out->html_url = xstrdup(html);
	labels = jsonh_member(doc, "labels");
	out->n_labels = labels != NULL && json_object_is_type(labels, json_type_array) ? json_object_array_length(labels) : 0;
	json_object_put(doc);
	return 0;
}

int
github_issue_create(struct github_issue *out, struct github_client *gh, const char *title, const char *body,
		    char *const *labels, struct error *err)
{
	struct json_object *o = json_object_new_object();
	struct http_request req;
	char *url = xasprintf("%s/issues", gh->base);
	char *payload;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&req, 0, sizeof(req));
	jsonh_add_string(o, "title", title);
	jsonh_add_string(o, "body", body);
	if (labels != NULL && labels[0] != NULL) {
		struct json_object *arr = json_object_new_array();
		for (i = 0; labels[i] != NULL; i++) {
			jsonh_append(arr, json_object_new_string(labels[i]));
		}
		jsonh_add(o, "labels", arr);
	}
	payload = xstrdup(jsonh_to_string(o, false));
	json_object_put(o);

	rc = github_send(&req, gh, "POST", url, payload, "creating the issue", err);
	if (rc < 0) {
		goto out;
	}
	if (req.resp.status != 201 && req.resp.status != 200) {
		rc = status_error(err, gh, &req.resp, "creating the issue");
		goto out;
	}
	rc = issue_from_reply(out, &req.resp, "creating the issue", err);
out:
	free(payload);
	free(url);
	http_request_dispose(&req);
	return rc;
}

int
github_comment_create(char **url_out, struct github_client *gh, long number, const char *body, struct error *err)
{
	struct json_object *o = json_object_new_object(), *doc = NULL;
	struct http_request req;
	char *url = xasprintf("%s/issues/%ld/comments", gh->base, number);
	char what[64];
	char *payload;
	const char *html;
	int rc;

	*url_out = NULL;
	memset(&req, 0, sizeof(req));
	(void)snprintf(what, sizeof(what), "commenting on issue #%ld", number);
	jsonh_add_string(o, "body", body);
	payload = xstrdup(jsonh_to_string(o, false));
	json_object_put(o);

	rc = github_send(&req, gh, "POST", url, payload, what, err);
	if (rc < 0) {
		goto out;
	}
	if (req.resp.status != 201 && req.resp.status != 200) {
		rc = status_error(err, gh, &req.resp, what);
		goto out;
	}
	rc = jsonh_parse(&doc, req.resp.body.data, req.resp.body.len, err);
	if (rc < 0) {
		error_prefix(err, "%s: ", what);
		goto out;
	}
	html = jsonh_get_string_or(doc, "html_url", NULL);
	*url_out = html != NULL ? xstrdup(html) : NULL;
out:
	json_object_put(doc);
	free(payload);
	free(url);
	http_request_dispose(&req);
	return rc;
}
