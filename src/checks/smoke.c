/* SPDX-License-Identifier: MIT */
#include "checks/smoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/judge.h"
#include "config.h"
#include "gate.h"
#include "http.h"
#include "jsonh.h"
#include "log.h"
#include "util.h"

/*
 * Readiness is polled (there is no event to wait for), backing off from 100 ms to 1 s: a pod
 * that turns healthy is noticed within a second, for at most one cheap request a second.
 */
#define READINESS_FIRST_INTERVAL_MS 100
#define READINESS_MAX_INTERVAL_MS 1000

typedef void judge_fn(struct check_result *r, const struct http_request *req, const struct gate *g);

/* {"username":…,"password":…}; the caller wipes and frees */
static char *
login_body_new(const char *username, const char *password)
{
	struct json_object *o = json_object_new_object();
	char *out;

	jsonh_add_string(o, "username", username);
	jsonh_add_string(o, "password", password);
	out = xstrdup(jsonh_to_string(o, false));
	/* json-c keeps its own copies: wipe them before releasing */
	{
		struct json_object *pw = jsonh_member(o, "password");
		char *p = (char *)json_object_get_string(pw);
		secret_wipe(p, strlen(p));
		const char *ser = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		secret_wipe((void *)ser, strlen(ser));
	}
	json_object_put(o);
	return out;
}

static void
judge_health(struct check_result *r, const struct http_request *req, const struct gate *g)
{
	(void)g;
	health_judge(r, req);
}

static void
judge_database(struct check_result *r, const struct http_request *req, const struct gate *g)
{
	database_judge(r, req, g->cfg->max_db_query_time_ms);
}

static void
print_result(const struct check_result *r)
{
	static const char *const marks[] = { "PASS", "FAIL", "WARN", "SKIP" };
	log_info("  %-4s %-28s %s (%lld ms)", marks[r->status], r->name, r->detail != NULL ? r->detail : "",
		 (long long)r->elapsed_ms);
}

/*
 * Polls path until the judge passes or wait_ms elapses, printing progress; the last answer is
 * the check's result. With no wait, one request with the normal transient-retry policy.
 */
static int
wait_until_passing(struct gate *g, struct check_result *r, const char *path, int64_t wait_ms, judge_fn *judge,
		   struct error *err)
{
	const struct config *cfg = g->cfg;
	char *url = gate_service_url(g, path);
	int64_t start = clock_ms();
	int64_t deadline = start + wait_ms;
	int64_t interval = READINESS_FIRST_INTERVAL_MS;
	int attempt = 0;
	int rc = 0;
	bool rejected;

	for (;;) {
		struct http_request req;
		struct error herr = ERROR_INIT;
		int64_t now;

		memset(&req, 0, sizeof(req));
		req.url = url;
		req.timeout_ms = cfg->request_timeout_ms;
		if (wait_ms > 0) {
			/* a request started near the deadline must not stretch the wait by a request-timeout */
			int64_t left = deadline - clock_ms();
			if (left < 500) {
				left = 500;
			}
			if (left < req.timeout_ms) {
				req.timeout_ms = left;
			}
		}
		req.idempotent = true;
		req.max_retries = wait_ms > 0 ? 0 : -1;
		attempt++;
		rc = http_perform(g->http, &req, &g->retry, &herr);
		if (rc == ERR_CANCELLED || cancel_requested()) {
			http_request_dispose(&req);
			rc = error_set(err, ERR_CANCELLED, "cancelled while waiting for %s", path);
			break;
		}
		rc = 0;
		judge(r, &req, g);
		/*
		 * a certificate that does not verify is configuration (a private CA, a wrong name), not a
		 * pod still starting: waiting out wait-timeout would only delay the same answer
		 */
		rejected = req.certificate_rejected;
		http_request_dispose(&req);
		now = clock_ms();
		r->elapsed_ms = now - start;
		if (rejected && r->status == CHECK_FAIL) {
			log_info("  not waiting for %s: its certificate was refused, which waiting cannot change", path);
			break;
		}
		if (r->status == CHECK_PASS || r->status == CHECK_WARN || now >= deadline) {
			if (r->status == CHECK_FAIL && wait_ms > 0) {
				char d[32];
				duration_format(d, sizeof(d), wait_ms);
				check_set(r, CHECK_FAIL, r->value, NULL, "%s (still failing after %s, %d attempts)", r->detail, d,
					  attempt);
			} else if (attempt > 1) {
				check_set(r, r->status, r->value, NULL, "%s (ready after %d attempts)", r->detail, attempt);
			}
			break;
		}
		{
			char e[32], w[32];
			duration_format(e, sizeof(e), now - start);
			duration_format(w, sizeof(w), wait_ms);
			log_info("  waiting for %s: %s (%s of %s)", path, r->detail, e, w);
		}
		if (interval > deadline - now) {
			interval = deadline - now;
		}
		if (cancel_sleep_ms(interval) < 0) {
			rc = error_set(err, ERR_CANCELLED, "cancelled while waiting for %s", path);
			break;
		}
		interval *= 2;
		if (interval > READINESS_MAX_INTERVAL_MS) {
			interval = READINESS_MAX_INTERVAL_MS;
		}
	}
	free(url);
	return rc;
}

int
smoke_readiness(struct gate *g, struct error *err)
{
	struct check_result *r = check_list_add(&g->checks, "health", PHASE_READINESS);
	int rc;

	rc = wait_until_passing(g, r, g->cfg->health_path, g->cfg->wait_timeout_ms, judge_health, err);
	if (rc < 0) {
		check_set(r, CHECK_SKIP, NULL, NULL, "not completed: the job was cancelled");
		return rc;
	}
	print_result(r);
	if (r->status == CHECK_FAIL) {
		gate_note_failure(g, r);
	}
	return 0;
}

enum smoke_kind {
	SMOKE_DATABASE,
	SMOKE_LOGIN,
	SMOKE_ENDPOINT,
};

struct smoke_item {
	struct http_request req;
	struct check_result *result;
	enum smoke_kind kind;
	const struct endpoint *endpoint;
	char *url;
};

struct smoke_ctx {
	struct gate *g;
	struct http_batch *batch;
	struct smoke_item *items;
	size_t n_items;
	char *login_body;
	bool stopped_early;
};

static void
start_endpoints(struct smoke_ctx *s)
{
	size_t i;

	for (i = 0; i < s->n_items; i++) {
		struct smoke_item *it = &s->items[i];
		if (it->kind == SMOKE_ENDPOINT) {
			it->req.bearer = s->g->token;
			http_batch_add(s->batch, &it->req);
		}
	}
}

static void
on_smoke_done(struct http_request *req, void *user)
{
	struct smoke_ctx *s = user;
	struct smoke_item *it = req->user;
	struct gate *g = s->g;

	switch (it->kind) {
	case SMOKE_DATABASE:
		database_judge(it->result, req, g->cfg->max_db_query_time_ms);
		break;
	case SMOKE_LOGIN: {
		char *token = NULL;
		login_judge(it->result, &token, req, g->cfg->token_path, g->cfg->token_path_text);
		/* the reply holds the token: wipe it as soon as it is judged */
		secret_wipe(req->resp.body.data, req->resp.body.len);
		if (token != NULL) {
			log_mask(token); /* before anything else can print it */
			g->token = token;
			start_endpoints(s);
		}
		break;
	}
	case SMOKE_ENDPOINT:
	default:
		endpoint_judge(it->result, req, it->endpoint);
		break;
	}
	it->result->elapsed_ms = req->elapsed_ms;
	print_result(it->result);
	if (it->result->status == CHECK_FAIL) {
		gate_note_failure(g, it->result);
		if (g->rollback.armed && !g->cfg->dry_run) {
			/* the release is bad and the rollback target is known: do not wait for the rest */
			s->stopped_early = true;
			http_batch_abort(s->batch);
		}
	}
}

/* one item per check of this phase, in order: database, login, then the endpoints */
static void
add_items(struct smoke_ctx *s, struct smoke_item **login_out)
{
	struct gate *g = s->g;
	const struct config *cfg = g->cfg;
	size_t i, n = 0;

	*login_out = NULL;
	if (cfg->db_health_path != NULL) {
		struct smoke_item *it = &s->items[n++];
		it->kind = SMOKE_DATABASE;
		it->result = check_list_add(&g->checks, "database", PHASE_SMOKE);
		it->url = gate_service_url(g, cfg->db_health_path);
	} else {
		struct check_result *r = check_list_add(&g->checks, "database", PHASE_SMOKE);
		check_set(r, CHECK_SKIP, NULL, NULL, "db-health-path is empty: the database check is switched off");
	}
	if (cfg->username != NULL) {
		*login_out = &s->items[n++];
		(*login_out)->kind = SMOKE_LOGIN;
		(*login_out)->result = check_list_add(&g->checks, "login", PHASE_SMOKE);
		(*login_out)->url = gate_service_url(g, cfg->login_path);
		s->login_body = login_body_new(cfg->username, cfg->password);
	} else {
		struct check_result *r = check_list_add(&g->checks, "login", PHASE_SMOKE);
		check_set(r, CHECK_SKIP, NULL, NULL, "username and password are not set: authenticated checks skipped");
		if (cfg->n_endpoints > 0) {
			log_warn("username and password are not set: login and the %zu authenticated endpoint check%s are skipped",
				 cfg->n_endpoints, cfg->n_endpoints == 1 ? "" : "s");
		} else {
			log_warn("username and password are not set: the authenticated smoke checks are skipped");
		}
	}
	for (i = 0; i < cfg->n_endpoints; i++) {
		struct smoke_item *it = &s->items[n++];
		it->kind = SMOKE_ENDPOINT;
		it->endpoint = &cfg->endpoints[i];
		it->result = check_list_add(&g->checks, cfg->endpoints[i].name, PHASE_SMOKE);
		it->url = gate_service_url(g, cfg->endpoints[i].path);
	}
	s->n_items = n;
}

/* each item's request: the login a POST that is never retried blindly, endpoints as configured */
static void
prepare_requests(struct smoke_ctx *s, const struct config *cfg)
{
	size_t i;

	for (i = 0; i < s->n_items; i++) {
		struct smoke_item *it = &s->items[i];
		it->req.url = it->url;
		it->req.timeout_ms = cfg->request_timeout_ms;
		it->req.max_retries = -1;
		it->req.user = it;
		if (it->kind == SMOKE_LOGIN) {
			it->req.method = "POST";
			it->req.body = s->login_body;
			it->req.body_len = strlen(s->login_body);
			it->req.content_type = "application/json";
			it->req.idempotent = false;
		} else {
			it->req.method = it->kind == SMOKE_ENDPOINT ? it->endpoint->method : "GET";
			it->req.idempotent = it->kind != SMOKE_ENDPOINT ||
					     (strcmp(it->req.method, "POST") != 0 && strcmp(it->req.method, "PATCH") != 0);
		}
	}
}

/* says why each check without a reply has none: cancelled, stopped for the rollback, or no login */
static void
skip_unfinished(struct smoke_ctx *s, int rc, bool have_login)
{
	const struct gate *g = s->g;
	size_t i;

	for (i = 0; i < s->n_items; i++) {
		struct smoke_item *it = &s->items[i];
		if (it->req.state == HTTP_DONE) {
			continue;
		}
		if (rc == ERR_CANCELLED) {
			check_set(it->result, CHECK_SKIP, NULL, NULL, "not completed: the job was cancelled");
		} else if (s->stopped_early) {
			check_set(it->result, CHECK_SKIP, NULL, NULL,
				  "not completed: '%s' failed first and the rollback started at once", g->first_failure);
		} else if (it->kind == SMOKE_ENDPOINT && have_login) {
			check_set(it->result, CHECK_SKIP, NULL, NULL, "not sent: login failed, no request goes out without a token");
		} else if (it->kind == SMOKE_ENDPOINT) {
			check_set(it->result, CHECK_SKIP, NULL, NULL, "not sent: username and password are not set");
		}
	}
}

int
smoke_run(struct gate *g, struct error *err)
{
	const struct config *cfg = g->cfg;
	struct smoke_ctx s;
	struct http_batch_opts opts;
	struct smoke_item *login = NULL;
	size_t i;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.g = g;
	s.items = xcalloc(cfg->n_endpoints + 2, sizeof(*s.items));
	add_items(&s, &login);
	prepare_requests(&s, cfg);

	memset(&opts, 0, sizeof(opts));
	opts.retry = g->retry;
	opts.on_done = on_smoke_done;
	opts.user = &s;
	s.batch = http_batch_new(g->http, &opts);
	if (g->rollback.armed && !cfg->dry_run && g->first_failure_ms != 0) {
		/* health already failed: the rollback comes first */
		s.stopped_early = true;
	} else {
		for (i = 0; i < s.n_items; i++) {
			if (s.items[i].kind != SMOKE_ENDPOINT) {
				http_batch_add(s.batch, &s.items[i].req);
			}
		}
		rc = http_batch_run(s.batch, err);
	}
	skip_unfinished(&s, rc, login != NULL);

	for (i = 0; i < s.n_items; i++) {
		http_request_dispose(&s.items[i].req);
		free(s.items[i].url);
	}
	http_batch_free(s.batch);
	if (s.login_body != NULL) {
		secret_free(s.login_body);
	}
	free(s.items);
	return rc;
}

int
smoke_verify_recovery(struct gate *g, int64_t wait_ms, bool *ok_out, struct error *err)
{
	struct check_result *h = check_list_add(&g->checks, "recovery-health", PHASE_RECOVERY);
	int rc;

	*ok_out = false;
	rc = wait_until_passing(g, h, g->cfg->health_path, wait_ms, judge_health, err);
	if (rc < 0) {
		check_set(h, CHECK_SKIP, NULL, NULL, "not completed: the job was cancelled");
		return rc;
	}
	print_result(h);
	*ok_out = h->status != CHECK_FAIL;
	if (g->cfg->db_health_path != NULL) {
		struct check_result *d = check_list_add(&g->checks, "recovery-database", PHASE_RECOVERY);
		rc = wait_until_passing(g, d, g->cfg->db_health_path, 0, judge_database, err);
		if (rc < 0) {
			check_set(d, CHECK_SKIP, NULL, NULL, "not completed: the job was cancelled");
			return rc;
		}
		print_result(d);
		*ok_out = *ok_out && d->status != CHECK_FAIL;
	}
	return 0;
}
