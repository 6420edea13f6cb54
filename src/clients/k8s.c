/* SPDX-License-Identifier: MIT */
#include "clients/k8s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonh.h"
#include "kubectl.h"
#include "log.h"
#include "outside.h"
#include "util.h"

#define K8S_LIST_MAX_BODY (32 * 1024 * 1024)
#define K8S_EVENT_MAX (8 * 1024 * 1024)
#define K8S_RAW_KEEP (64 * 1024)
#define K8S_WATCH_MAX_SECONDS 600
#define K8S_POLL_MAX_DELAY_MS 2000

static const char *const k8s_headers[] = { "Accept: application/json", NULL };

struct k8s_client {
	struct http *http;
	const struct kube_target *target;
	struct retry_policy retry;
	int64_t timeout_ms;
	struct http_tls tls;
};

/* what a request was for, so that errors can say it */
struct api_what {
	const char *verb;
	const char *resource;
	const char *namespace;
	const char *name;
	const char *kind; /* "deployment" for messages about one named workload, else NULL */
};

struct k8s_client *
k8s_client_new(struct http *http, const struct kube_target *target, const struct retry_policy *retry,
	       int64_t timeout_ms)
{
	struct k8s_client *c = xcalloc(1, sizeof(*c));

	c->http = http;
	c->target = target;
	if (retry != NULL) {
		c->retry = *retry;
	}
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	c->tls.ca_pem = target->ca_pem;
	c->tls.ca_len = target->ca_len;
	c->tls.cert_pem = target->cert_pem;
	c->tls.cert_len = target->cert_len;
	c->tls.key_pem = target->key_pem;
	c->tls.key_len = target->key_len;
	c->tls.insecure = target->insecure;
	c->tls.server_name = target->tls_server_name;
	c->tls.proxy = target->proxy_url;
	c->tls.ca_hint = target->ca_pem != NULL
				 ? "the CA the kubeconfig (or kube-ca) names did not sign it: check certificate-authority-data"
				 : "pass the cluster's CA in kube-ca, or in the kubeconfig's certificate-authority-data";
	return c;
}

void
k8s_client_free(struct k8s_client *c)
{
	free(c);
}

static void
request_init(struct http_request *req, struct k8s_client *c, const char *method, const char *url)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = url;
	req->headers = k8s_headers;
	req->bearer = c->target->token;
	if (c->target->token == NULL && c->target->username != NULL) {
		req->basic_user = c->target->username;
		req->basic_password = c->target->password;
	}
	req->tls = &c->tls;
	req->timeout_ms = c->timeout_ms;
	req->idempotent = true;
	req->max_retries = -1;
	req->resp.retry_after_ms = -1;
}

static char *
resource_url(const struct k8s_client *c, const char *namespace, const char *resource, const char *name)
{
	char *ns = http_escape(namespace);
	char *url;

	if (name != NULL) {
		char *n = http_escape(name);
		url = xasprintf("%s/apis/apps/v1/namespaces/%s/%s/%s", c->target->server, ns, resource, n);
		free(n);
	} else {
		url = xasprintf("%s/apis/apps/v1/namespaces/%s/%s", c->target->server, ns, resource);
	}
	free(ns);
	return url;
}

/* the message of a Kubernetes Status body, else the body's start; caller frees */
static char *
status_message(const char *body, size_t len, const char **reason_out)
{
	struct json_object *st = NULL;
	struct error perr = ERROR_INIT;
	struct buf b = BUF_INIT;
	const char *msg;

	*reason_out = NULL;
	if (body == NULL || len == 0) {
		return xstrdup("empty reply");
	}
	if (jsonh_parse(&st, body, len, &perr) == 0 &&
	    (msg = jsonh_get_string_or(st, "message", NULL)) != NULL) {
		outside_append(&b, msg, strlen(msg), 300);
		/* a static reason name, when it is one we know */
		msg = jsonh_get_string_or(st, "reason", NULL);
		if (msg != NULL) {
			static const char *const known[] = { "Unauthorized", "Forbidden", "NotFound", "Conflict", "Invalid",
							     "BadRequest", "Expired", "Gone", "TooManyRequests",
							     "ServiceUnavailable", "InternalError", "Timeout", NULL };
			size_t i;
			for (i = 0; known[i] != NULL; i++) {
				if (strcmp(known[i], msg) == 0) {
					*reason_out = known[i];
				}
			}
		}
		json_object_put(st);
		return buf_steal(&b);
	}
	json_object_put(st);
	outside_append(&b, body, len, 200);
	return buf_steal(&b);
}

static int
transport_error(struct error *err, const struct k8s_client *c, const struct http_request *req,
		const struct api_what *w)
{
	switch (req->err.code) {
	case ERR_TIMEOUT:
		return error_set(err, ERR_TIMEOUT, "timed out talking to the Kubernetes API at %s (%s %s in namespace '%s'): %s",
				 c->target->server, w->verb, w->resource, w->namespace, req->err.msg);
	case ERR_TLS:
		return error_set(err, ERR_TLS, "TLS failure talking to the Kubernetes API at %s: %s", c->target->server,
				 req->err.msg);
	case ERR_CANCELLED:
		return error_set(err, ERR_CANCELLED, "%s", req->err.msg);
	case ERR_OK:
	case ERR_GENERIC:
	case ERR_CONFIG:
	case ERR_NETWORK:
	case ERR_HTTP:
	case ERR_AUTH:
	case ERR_NOT_FOUND:
	case ERR_CONFLICT:
	case ERR_PARSE:
	case ERR_TOO_BIG:
	case ERR_IO:
	default:
		return error_set(err, req->err.code == ERR_TOO_BIG ? ERR_TOO_BIG : ERR_NETWORK,
				 "cannot reach the Kubernetes API at %s (%s %s): %s", c->target->server, w->verb, w->resource,
				 req->err.msg[0] != '\0' ? req->err.msg : "no reply");
	}
}

/* "statefulsets" -> "statefulset", for messages about one object */
static const char *
kind_word(const char *resource)
{
	if (strcmp(resource, "deployments") == 0) {
		return "deployment";
	}
	if (strcmp(resource, "statefulsets") == 0) {
		return "statefulset";
	}
	if (strcmp(resource, "daemonsets") == 0) {
		return "daemonset";
	}
	return NULL;
}

/* maps a non-2xx reply to one plain line (fwupd: statuses mapped to domain errors in one place) */
static int
status_error(struct error *err, const struct k8s_client *c, long status, const char *body, size_t len,
	     const struct api_what *w)
{
	const char *reason = NULL;
	char *msg = status_message(body, len, &reason);
	enum error_code code = http_status_error_code(status);
	int rc;

	if (code == ERR_OK) {
		code = ERR_HTTP; /* a 2xx without the expected object */
	}

	switch (status) {
	case 401:
		rc = error_set(err, code,
			       "the Kubernetes API at %s did not accept the credentials from %s (HTTP 401 Unauthorized) to %s "
			       "%s in namespace '%s': check the token or client certificate",
			       c->target->server, c->target->source != NULL ? c->target->source : "the kubeconfig", w->verb,
			       w->resource, w->namespace);
		break;
	case 403:
		rc = error_set(err, code,
			       "the credentials may not %s %s in namespace '%s' (HTTP 403 Forbidden: %s); the Role needs get, "
			       "list, watch and patch on the workloads' kinds (deployments, statefulsets, daemonsets) and get, "
			       "list and watch on their history (replicasets, controllerrevisions)",
			       w->verb, w->resource, w->namespace, msg);
		break;
	case 404:
		if (w->name != NULL && w->kind != NULL) {
			rc = error_set(err, code, "%s '%s' not found in namespace '%s'", w->kind, w->name, w->namespace);
		} else {
			rc = error_set(err, code, "%s %s in namespace '%s': HTTP 404 (%s)", w->verb, w->resource,
				       w->namespace, msg);
		}
		break;
	case 409:
	case 422:
		rc = error_set(err, code, "%s %s '%s' in namespace '%s' was rejected: HTTP %ld %s (%s)", w->verb,
			       w->resource, w->name != NULL ? w->name : "", w->namespace, status,
			       reason != NULL ? reason : (status == 409 ? "Conflict" : "Unprocessable Entity"), msg);
		break;
	default:
		rc = error_set(err, code, "%s %s in namespace '%s': HTTP %ld from the Kubernetes API%s%s (%s)", w->verb,
			       w->resource, w->namespace, status, reason != NULL ? " " : "", reason != NULL ? reason : "", msg);
		break;
	}
	err->http_status = status;
	free(msg);
	return rc;
}

static int
parse_object(struct json_object **out, const struct http_request *req, const struct api_what *w,
	     struct error *err)
{
	struct json_object *obj = NULL;

	if (jsonh_parse(&obj, req->resp.body.data != NULL ? req->resp.body.data : "", req->resp.body.len, err) < 0) {
		error_prefix(err, "%s %s: ", w->verb, w->resource);
		return ERR_PARSE;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return error_set(err, ERR_PARSE, "%s %s: the reply is not a JSON object", w->verb, w->resource);
	}
	*out = obj;
	return 0;
}

/* one GET; *out = the parsed reply object */
static int
get_json(struct json_object **out, struct k8s_client *c, const char *url, size_t max_body,
	 const struct api_what *w, struct error *err)
{
	struct http_request req;
	int rc;

	*out = NULL;
	request_init(&req, c, "GET", url);
	req.max_body = max_body;
	rc = http_perform(c->http, &req, &c->retry, err);
	if (rc == ERR_CANCELLED) {
		goto out;
	}
	if (rc < 0) {
		rc = transport_error(err, c, &req, w);
		goto out;
	}
	if (req.resp.status != 200) {
		rc = status_error(err, c, req.resp.status, req.resp.body.data, req.resp.body.len, w);
		goto out;
	}
	rc = parse_object(out, &req, w, err);
out:
	http_request_dispose(&req);
	return rc;
}

int
k8s_object_get(struct json_object **out, struct k8s_client *c, const char *resource, const char *namespace,
	       const char *name, struct error *err)
{
	struct api_what w = { "get", resource, namespace, name, kind_word(resource) };
	char *url = resource_url(c, namespace, resource, name);
	int rc = get_json(out, c, url, 0, &w, err);

	free(url);
	return rc;
}

int
k8s_deployment_get(struct json_object **out, struct k8s_client *c, const char *namespace, const char *name,
		   struct error *err)
{
	return k8s_object_get(out, c, "deployments", namespace, name, err);
}

int
k8s_replicasets_list(struct json_object **out, struct k8s_client *c, const char *namespace,
		     struct json_object *selector, struct error *err)
{
	return k8s_list(out, c, "replicasets", namespace, selector, err);
}

int
k8s_list(struct json_object **out, struct k8s_client *c, const char *resource, const char *namespace,
	 struct json_object *selector, struct error *err)
{
	struct api_what w = { "list", resource, namespace, NULL, NULL };
	struct json_object *list = NULL, *items;
	char *sel = NULL, *esc = NULL, *base = NULL, *url = NULL;
	int rc;

	*out = NULL;
	rc = kubectl_selector_format(&sel, selector, err);
	if (rc < 0) {
		goto out;
	}
	esc = http_escape(sel);
	base = resource_url(c, namespace, resource, NULL);
	url = xasprintf("%s?labelSelector=%s", base, esc);
	rc = get_json(&list, c, url, K8S_LIST_MAX_BODY, &w, err);
	if (rc < 0) {
		goto out;
	}
	items = jsonh_member(list, "items");
	if (items == NULL || json_object_is_type(items, json_type_null)) {
		*out = json_object_new_array();
	} else if (json_object_is_type(items, json_type_array)) {
		*out = json_object_get(items);
	} else {
		rc = error_set(err, ERR_PARSE, "list %s: 'items' is not an array", resource);
	}
out:
	json_object_put(list);
	free(sel);
	free(esc);
	free(base);
	free(url);
	return rc;
}

/* ---- PATCH ---- */

void
k8s_patch_dispose(struct k8s_patch *p)
{
	if (p == NULL) {
		return;
	}
	json_object_put(p->result);
	p->result = NULL;
	free(p->url);
	p->url = NULL;
	http_request_dispose(&p->req);
}

int
k8s_deployments_patch(struct k8s_client *c, struct k8s_patch *patches, size_t n, struct error *err)
{
	struct http_batch_opts opts;
	struct http_batch *b;
	size_t i;
	int64_t now;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.max_parallel = (int)(n < HTTP_MAX_PARALLEL ? n : HTTP_MAX_PARALLEL);
	opts.retry = c->retry;
	/* the PATCH must reach the API whole or not at all: a SIGTERM does not cut it off */
	opts.ignore_cancel = true;
	b = http_batch_new(c->http, &opts);
	for (i = 0; i < n; i++) {
		struct k8s_patch *p = &patches[i];
		char *base = resource_url(c, p->namespace, p->resource != NULL ? p->resource : "deployments", p->name);
		p->url = p->dry_run ? xasprintf("%s?dryRun=All", base) : xstrdup(base);
		free(base);
		request_init(&p->req, c, "PATCH", p->url);
		p->req.body = p->body;
		p->req.body_len = strlen(p->body);
		p->req.content_type = p->content_type != NULL ? p->content_type : "application/json-patch+json";
		p->req.idempotent = false;
		p->rc = 0;
		error_clear(&p->err);
		http_batch_add(b, &p->req);
	}
	now = clock_ms();
	for (i = 0; i < n; i++) {
		patches[i].sent_ms = now;
	}
	rc = http_batch_run(b, err);
	http_batch_free(b);
	if (rc < 0) {
		return rc;
	}
	for (i = 0; i < n; i++) {
		struct k8s_patch *p = &patches[i];
		const char *resource = p->resource != NULL ? p->resource : "deployments";
		struct api_what w = { "patch", resource, p->namespace, p->name, kind_word(resource) };
		if (p->req.state != HTTP_DONE) {
			p->rc = error_set(&p->err, ERR_CANCELLED, "%s", p->req.err.msg[0] != '\0' ? p->req.err.msg : "not sent");
		} else if (p->req.transport != TRANSPORT_OK) {
			p->rc = transport_error(&p->err, c, &p->req, &w);
		} else if (p->req.resp.status != 200 && p->req.resp.status != 201) {
			p->rc = status_error(&p->err, c, p->req.resp.status, p->req.resp.body.data, p->req.resp.body.len, &w);
		} else {
			p->rc = parse_object(&p->result, &p->req, &w, &p->err);
		}
	}
	return 0;
}

/* ---- watch ---- */

struct watch_state {
	const char *resource;
	const char *name;
	k8s_watch_fn *fn;
	void *user;
	struct buf line;
	struct buf raw;      /* the start of the body, for an error Status */
	char *rv;            /* the last resourceVersion seen */
	bool stopped;
	bool deleted;
	bool expired;
	bool failed;
	size_t events;
	struct error ev_err;
};

static void
remember_rv(struct watch_state *s, struct json_object *obj)
{
	const char *rv = jsonh_get_string_or(jsonh_member(obj, "metadata"), "resourceVersion", NULL);

	if (rv != NULL && rv[0] != '\0') {
		free(s->rv);
		s->rv = xstrdup(rv);
	}
}

/* returns non-zero to stop the stream */
static int
watch_event(struct watch_state *s, const char *line, size_t len)
{
	struct json_object *ev = NULL, *obj;
	const char *type, *name;
	int stop = 0;

	if (jsonh_parse(&ev, line, len, &s->ev_err) < 0) {
		error_prefix(&s->ev_err, "watch %s: ", s->resource);
		s->failed = true;
		return 1;
	}
	type = jsonh_get_string_or(ev, "type", "");
	obj = jsonh_member(ev, "object");
	s->events++;
	if (strcmp(type, "ERROR") == 0) {
		int64_t code = 0;
		(void)jsonh_get_int(&code, obj, "code");
		if (code == 410) {
			/* our resourceVersion is too old: read the object again, then watch from its version */
			s->expired = true;
		} else {
			const char *msg = jsonh_get_string_or(obj, "message", "no message");
			struct buf b = BUF_INIT;
			outside_append(&b, msg, strlen(msg), 300);
			(void)error_set(&s->ev_err, ERR_HTTP, "watch %s: the API ended the watch with an error (%lld): %s",
					s->resource, (long long)code, buf_str(&b));
			buf_dispose(&b);
			s->failed = true;
		}
		stop = 1;
	} else if (strcmp(type, "DELETED") == 0) {
		s->deleted = true;
		stop = 1;
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		name = jsonh_get_string_or(jsonh_member(obj, "metadata"), "name", NULL);
		if (name != NULL && strcmp(name, s->name) == 0) {
			remember_rv(s, obj);
			if (s->fn(obj, s->user) != 0) {
				s->stopped = true;
				stop = 1;
			}
		}
	}
	/* BOOKMARK: ignored, as kubectl does (its version may be ahead of events not yet sent) */
	json_object_put(ev);
	return stop;
}

static int
watch_on_data(struct http_request *req, const char *data, size_t len)
{
	struct watch_state *s = req->user;
	size_t start = 0, i;

	if (s->raw.len < K8S_RAW_KEEP) {
		size_t keep = K8S_RAW_KEEP - s->raw.len;
		buf_append(&s->raw, data, len < keep ? len : keep);
	}
	/* one JSON event per line; an event may span chunks */
	for (i = 0; i < len; i++) {
		if (data[i] != '\n') {
			continue;
		}
		buf_append(&s->line, data + start, i - start);
		start = i + 1;
		if (s->line.len > 0 && watch_event(s, s->line.data, s->line.len) != 0) {
			buf_reset(&s->line);
			return 1;
		}
		buf_reset(&s->line);
	}
	buf_append(&s->line, data + start, len - start);
	if (s->line.len > K8S_EVENT_MAX) {
		(void)error_set(&s->ev_err, ERR_TOO_BIG, "watch %s: an event larger than %d bytes", s->resource,
				K8S_EVENT_MAX);
		s->failed = true;
		return 1;
	}
	return 0;
}

static int
watch_once(struct k8s_client *c, struct watch_state *s, const char *namespace, int64_t deadline_ms, long *status_out,
	   struct error *err)
{
	struct api_what w = { "watch", s->resource, namespace, s->name, kind_word(s->resource) };
	struct http_batch_opts opts;
	struct http_request req;
	char *base, *fs, *url;
	int64_t left = deadline_ms - clock_ms();
	int64_t secs = left / 1000 + 1;
	int rc;

	*status_out = 0;
	if (secs > K8S_WATCH_MAX_SECONDS) {
		secs = K8S_WATCH_MAX_SECONDS;
	}
	base = resource_url(c, namespace, s->resource, NULL);
	{
		char *sel = xasprintf("metadata.name=%s", s->name);
		fs = http_escape(sel);
		free(sel);
	}
	{
		char *rv = http_escape(s->rv);
		url = xasprintf("%s?watch=true&fieldSelector=%s&resourceVersion=%s&timeoutSeconds=%lld", base, fs, rv,
				(long long)secs);
		free(rv);
	}
	request_init(&req, c, "GET", url);
	req.on_data = watch_on_data;
	req.user = s;
	/* the stream lasts until the deadline; the batch deadline ends it there */
	req.timeout_ms = left + 2000;
	req.max_retries = 0;
	buf_reset(&s->raw);
	buf_reset(&s->line);
	memset(&opts, 0, sizeof(opts));
	opts.max_parallel = 1;
	opts.retry = c->retry;
	opts.deadline_ms = deadline_ms;
	rc = http_batch_run_one(c->http, &req, &opts, err);
	if (rc < 0) {
		goto out;
	}
	if (s->stopped || s->deleted || s->expired || s->failed) {
		rc = 0;
		goto out;
	}
	if (req.state != HTTP_DONE) {
		rc = error_set(err, ERR_TIMEOUT, "deadline");
		goto out;
	}
	if (req.transport != TRANSPORT_OK) {
		rc = transport_error(err, c, &req, &w);
		goto out;
	}
	*status_out = req.resp.status;
	if (req.resp.status != 200) {
		rc = status_error(err, c, req.resp.status, s->raw.data, s->raw.len, &w);
	}
out:
	http_request_dispose(&req);
	free(url);
	free(fs);
	free(base);
	return rc;
}

/* sleeps the back-off (never past the deadline) and doubles it; ERR_CANCELLED on a signal */
static int
back_off(int64_t *delay, int64_t deadline_ms, struct error *err)
{
	int64_t left = deadline_ms - clock_ms();

	if (cancel_sleep_ms(*delay < left ? *delay : (left > 0 ? left : 0)) < 0) {
		return error_set(err, ERR_CANCELLED, "cancelled by signal %d", cancel_signal());
	}
	*delay = *delay * 2 > K8S_POLL_MAX_DELAY_MS ? K8S_POLL_MAX_DELAY_MS : *delay * 2;
	return 0;
}

/* GETs the Deployment and hands it to the watcher's fn: 1 when fn stopped, 0, or the error code */
static int
read_once(struct k8s_client *c, struct watch_state *s, const char *namespace, struct error *err)
{
	struct json_object *obj = NULL;
	int rc;

	rc = k8s_object_get(&obj, c, s->resource, namespace, s->name, err);
	if (rc < 0) {
		return rc;
	}
	remember_rv(s, obj);
	rc = s->fn(obj, s->user) != 0 ? 1 : 0;
	json_object_put(obj);
	return rc;
}

enum watch_step {
	WATCH_DONE,  /* stop with *rc */
	WATCH_READ,  /* read the object again, then watch from its version */
	WATCH_POLL,  /* watching is forbidden: read it with a growing delay instead */
	WATCH_AGAIN, /* watch again from the last resourceVersion seen */
};

/* what to do once one watch request has ended (rc and status are watch_once's) */
static enum watch_step
watch_ended(int *rc, struct watch_state *s, const char *namespace, long status, int64_t deadline_ms,
	    int *failures, struct error *err)
{
	if (*rc == ERR_CANCELLED) {
		return WATCH_DONE;
	}
	if (s->stopped) {
		*rc = 0;
		return WATCH_DONE;
	}
	if (s->deleted) {
		*rc = error_set(err, ERR_NOT_FOUND, "%s '%s' was deleted from namespace '%s'",
				kind_word(s->resource) != NULL ? kind_word(s->resource) : s->resource, s->name,
				namespace);
		return WATCH_DONE;
	}
	if (s->failed) {
		*rc = s->ev_err.code != ERR_OK ? s->ev_err.code : ERR_HTTP;
		memcpy(err, &s->ev_err, sizeof(*err));
		return WATCH_DONE;
	}
	if (s->expired || status == 410) {
		return WATCH_READ;
	}
	if (status == 403) {
		/* a Role without 'watch' still lets us follow the rollout, less promptly */
		log_warn("rollback: %s; following the rollout by reading the %s instead", err->msg,
			 kind_word(s->resource) != NULL ? kind_word(s->resource) : s->resource);
		error_clear(err);
		return WATCH_POLL;
	}
	if (*rc == ERR_TIMEOUT && clock_ms() >= deadline_ms) {
		return WATCH_DONE;
	}
	if (*rc < 0 && status != 0) {
		return WATCH_DONE;
	}
	if (*rc < 0) {
		/* the connection failed: try again a few times, not in a hot loop */
		if (++*failures > 5) {
			return WATCH_DONE;
		}
		log_debug("watch %s: %s; watching again", s->resource, err->msg);
		error_clear(err);
	} else {
		*failures = 0;
	}
	return WATCH_AGAIN;
}

int
k8s_deployment_watch(struct k8s_client *c, const char *namespace, const char *name, const char *resource_version,
		     int64_t deadline_ms, k8s_watch_fn *fn, void *user, struct error *err)
{
	return k8s_object_watch(c, "deployments", namespace, name, resource_version, deadline_ms, fn, user, err);
}

int
k8s_object_watch(struct k8s_client *c, const char *resource, const char *namespace, const char *name,
		 const char *resource_version, int64_t deadline_ms, k8s_watch_fn *fn, void *user, struct error *err)
{
	struct watch_state s;
	bool polling = false, need_get = resource_version == NULL;
	int64_t delay = 100;
	int failures = 0;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.resource = resource;
	s.name = name;
	s.fn = fn;
	s.user = user;
	if (resource_version != NULL) {
		s.rv = xstrdup(resource_version);
	}
	for (;;) {
		enum watch_step step;
		int64_t started;
		long status = 0;
		if (deadline_ms - clock_ms() <= 0) {
			rc = error_set(err, ERR_TIMEOUT, "deadline");
			break;
		}
		if (need_get || polling) {
			rc = read_once(c, &s, namespace, err);
			if (rc != 0) {
				rc = rc > 0 ? 0 : rc;
				break;
			}
			need_get = false;
			if (polling) {
				rc = back_off(&delay, deadline_ms, err);
				if (rc < 0) {
					break;
				}
				continue;
			}
		}
		if (s.rv == NULL) {
			need_get = true;
			continue;
		}
		s.expired = false;
		s.events = 0;
		started = clock_ms();
		rc = watch_once(c, &s, namespace, deadline_ms, &status, err);
		step = watch_ended(&rc, &s, namespace, status, deadline_ms, &failures, err);
		if (step == WATCH_DONE) {
			break;
		}
		if (step == WATCH_READ) {
			need_get = true;
			continue;
		}
		if (step == WATCH_POLL) {
			polling = true;
			continue;
		}
		if (s.events == 0 && clock_ms() - started < 200 && back_off(&delay, deadline_ms, err) < 0) {
			rc = ERR_CANCELLED;
			break;
		}
		/* the server closed the stream: watch again from the last resourceVersion seen (as kubectl) */
	}
	buf_dispose(&s.line);
	buf_dispose(&s.raw);
	free(s.rv);
	return rc;
}
