/* SPDX-License-Identifier: MIT */
#include "rollback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clients/k8s.h"
#include "clients/oidc.h"
#include "config.h"
#include "gate.h"
#include "jsonh.h"
#include "kubeconfig.h"
#include "kubectl.h"
#include "log.h"
#include "promql.h"
#include "util.h"

/*
 * The rollback, in two halves. Preflight (before any check) reads each Deployment and its
 * ReplicaSets, plans the undo exactly as `kubectl rollout undo` would, and has the API validate
 * the patch with dryRun=All, so that missing permissions, a first deployment or a paused
 * Deployment are known before anything fails. Execute (after a failure) sends the prepared
 * patches at once and follows the rollouts like `kubectl rollout status`; main.c then has the
 * smoke phase check the service again, and conclude turns all of it into the outcome.
 */

/* how long preflight waits for the controller to observe a deploy that has only just been applied */
#define OBSERVE_WAIT_MS 10000

struct cluster_item {
	char *name;
	const char *kind;          /* "deployment", "statefulset", "daemonset" (static) */
	char *resource;            /* "deployments", … */
	bool planned;              /* the Deployment and its history were read */
	struct kubectl_undo_plan plan;
	bool validated;            /* the API accepted the patch with dryRun=All */
	bool handled;              /* execute: sent, skipped or given up */
	char *problem;             /* what preflight warned about */
	struct json_object *patched; /* execute: the PATCH reply */
	int64_t sent_ms;
};

struct rollback_cluster {
	struct kube_target target;
	bool loaded;
	char *unavailable;         /* why there is no cluster to talk to */
	struct k8s_client *client;
	struct cluster_item *items;
	size_t n;
};

static void
set_str(char **dst, char *value)
{
	free(*dst);
	*dst = value;
}

const char *
rollback_outcome_words(enum rollback_outcome o)
{
	switch (o) {
	case ROLLBACK_DONE:
		return "rolled back";
	case ROLLBACK_DRY_RUN:
		return "validated only (dry run)";
	case ROLLBACK_SKIPPED:
		return "skipped";
	case ROLLBACK_FAILED:
		return "failed";
	case ROLLBACK_NONE:
	default:
		return "not attempted";
	}
}

/* ---- preflight ---- */

struct observe_ctx {
	struct json_object *latest;
};

/* every kind: metadata.generation against status.observedGeneration */
static bool
observed(struct json_object *obj, int64_t *generation_out)
{
	int64_t generation = 0, seen = 0;

	(void)jsonh_get_int(&generation, jsonh_member(obj, "metadata"), "generation");
	(void)jsonh_get_int(&seen, jsonh_member(obj, "status"), "observedGeneration");
	*generation_out = generation;
	return generation <= seen;
}

static int
observe_fn(struct json_object *object, void *user)
{
	struct observe_ctx *o = user;
	int64_t generation;

	json_object_put(o->latest);
	o->latest = json_object_get(object);
	return observed(object, &generation);
}

/*
 * A deploy applied a moment ago may not be observed yet: its revision annotation and
 * ReplicaSet do not exist, and undo would pick the wrong target. Wait (briefly) until it is.
 */
static int
wait_observed(struct json_object **dep, struct rollback_cluster *cl, const struct gate *g,
	      const struct cluster_item *it, struct error *err)
{
	struct observe_ctx o = { NULL };
	const char *rv, *name = it->name;
	int64_t generation;
	int64_t wait = g->cfg->rollback_timeout_ms < OBSERVE_WAIT_MS ? g->cfg->rollback_timeout_ms : OBSERVE_WAIT_MS;
	int rc;

	if (observed(*dep, &generation)) {
		return 0;
	}
	log_info("  %s: waiting for the controller to observe generation %lld", name, (long long)generation);
	rv = jsonh_get_string_or(jsonh_member(*dep, "metadata"), "resourceVersion", NULL);
	rc = k8s_object_watch(cl->client, it->resource, cl->target.namespace, name, rv, clock_ms() + wait, observe_fn,
			      &o, err);
	if (o.latest != NULL) {
		json_object_put(*dep);
		*dep = o.latest;
	}
	if (rc == ERR_TIMEOUT) {
		log_warn("rollback: %s '%s': generation %lld not observed by the controller within %lld s; the "
			 "revision to restore is judged from what is there now",
			 it->kind, name, (long long)generation, (long long)(wait / 1000));
		error_clear(err);
		return 0;
	}
	return rc;
}

static void
entry_init(struct rollback_entry *e, const char *kind, const char *name, const char *namespace)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->deployment = xstrdup(name);
	e->namespace = xstrdup(namespace);
	e->failure_to_patch_ms = -1;
	e->rollout_ms = -1;
	e->outcome = ROLLBACK_NONE;
}

static void
warn_item(struct cluster_item *it, struct rollback_entry *e, bool quiet, char *problem)
{
	if (quiet) {
		/* planning again at failure time: execute reports the outcome */
		log_debug("rollback: %s '%s': %s", it->kind, it->name, problem);
	} else {
		log_warn("rollback: %s '%s': %s", it->kind, it->name, problem);
	}
	set_str(&e->detail, xasprintf("preflight: %s", problem));
	set_str(&it->problem, problem);
}

/* Argo CD, Flux or Helm: said at preflight, because the rollback either gets reverted or is skipped */
static void
note_manager(struct gate *g, struct rollback_entry *e, struct json_object *dep, bool quiet)
{
	char *who, *cmd;

	manager_info_dispose(&e->manager);
	manager_detect(&e->manager, jsonh_member(dep, "metadata"));
	if (e->manager.kind == MANAGER_NONE || quiet) {
		return;
	}
	who = manager_describe(&e->manager);
	cmd = manager_command(&e->manager, g->commit.sha);
	if (g->cfg->managed_rollback == MANAGED_ROLLBACK_SKIP) {
		log_warn("rollback: %s '%s' is managed by %s (%s): it will not be rolled back "
			 "(managed-rollback: skip); roll back at the source: %s", e->kind, e->deployment, who, e->manager.via,
			 cmd);
	} else {
		log_warn("rollback: %s '%s' is managed by %s (%s): the controller may revert a rollback; "
			 "roll back at the source too: %s", e->kind, e->deployment, who, e->manager.via, cmd);
	}
	free(cmd);
	free(who);
}

static bool
skip_managed(const struct gate *g, const struct rollback_entry *e)
{
	return e->manager.kind != MANAGER_NONE && g->cfg->managed_rollback == MANAGED_ROLLBACK_SKIP;
}

/* kubectl's patch types: JSON Patch for a Deployment, strategic merge of the revision's data otherwise */
static const char *
patch_type(const struct cluster_item *it)
{
	return it->plan.strategic ? "application/strategic-merge-patch+json" : "application/json-patch+json";
}

/*
 * Notes the Deployment's newest ReplicaSet (the highest revision among those it controls): its
 * name for {{new_pods}}, its creation time for {{since_deploy}} and the baseline (issue 15).
 */
static void
release_note(struct release_facts *f, struct json_object *dep, struct json_object *rss)
{
	struct json_object *items = json_object_is_type(rss, json_type_array) ? rss : jsonh_member(rss, "items");
	const char *uid = jsonh_get_string_or(jsonh_member(dep, "metadata"), "uid", NULL);
	struct json_object *newest = NULL;
	long best = 0;
	size_t i, n;
	const char *name, *created;
	int64_t t;
	struct error err = ERROR_INIT;

	n = items != NULL && json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
	for (i = 0; i < n && uid != NULL; i++) {
		struct json_object *rs = json_object_array_get_idx(items, i);
		struct json_object *refs = jsonh_member(jsonh_member(rs, "metadata"), "ownerReferences");
		size_t j, m = refs != NULL && json_object_is_type(refs, json_type_array) ? json_object_array_length(refs) : 0;
		bool owned = false;
		long rev;

		for (j = 0; j < m; j++) {
			struct json_object *ref = json_object_array_get_idx(refs, j);
			struct json_object *ctl = jsonh_member(ref, "controller");
			if (ctl != NULL && json_object_is_type(ctl, json_type_boolean) && json_object_get_boolean(ctl)) {
				const char *ruid = jsonh_get_string_or(ref, "uid", NULL);
				owned = ruid != NULL && strcmp(ruid, uid) == 0;
				break;
			}
		}
		rev = kubectl_deployment_revision(rs);
		if (owned && rev > best) {
			best = rev;
			newest = rs;
		}
	}
	name = jsonh_get_string_or(jsonh_member(newest, "metadata"), "name", NULL);
	created = jsonh_get_string_or(jsonh_member(newest, "metadata"), "creationTimestamp", NULL);
	if (name == NULL || strv_contains(f->replicasets, name)) {
		return;
	}
	strv_push(&f->replicasets, xstrdup(name));
	f->n_read++;
	if (created != NULL && config_parse_time(&t, created, &err) == 0 && t > f->created_s) {
		f->created_s = t;
	}
}

/* reads, plans and validates one workload; warnings are recorded, only cancellation is returned */
static int
preflight_item(struct gate *g, struct rollback_cluster *cl, size_t i, bool quiet, struct error *err)
{
	const struct config *cfg = g->cfg;
	struct cluster_item *it = &cl->items[i];
	struct rollback_entry *e = &g->rollback.items[i];
	struct json_object *dep = NULL, *rss = NULL;
	struct k8s_patch p;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = k8s_object_get(&dep, cl->client, it->resource, cl->target.namespace, it->name, err);
	if (rc == 0) {
		note_manager(g, e, dep, quiet);
		rc = wait_observed(&dep, cl, g, it, err);
	}
	if (rc == 0) {
		/* the history: ReplicaSets for a Deployment, ControllerRevisions for the other kinds */
		rc = k8s_list(&rss, cl->client, strcmp(it->kind, "deployment") == 0 ? "replicasets" : "controllerrevisions",
			      cl->target.namespace, jsonh_member(jsonh_member(dep, "spec"), "selector"), err);
	}
	if (rc == 0 && strcmp(it->kind, "deployment") == 0) {
		/* {{new_pods}} and the baseline follow a Deployment's newest ReplicaSet only */
		release_note(&g->release, dep, rss);
	}
	if (rc == 0 && !cfg->rollback) {
		goto out; /* read only for the query templates and the baseline */
	}
	if (rc == 0) {
		kubectl_undo_plan_dispose(&it->plan);
		if (strcmp(it->kind, "deployment") == 0) {
			rc = kubectl_deployment_undo_plan(&it->plan, dep, rss, cfg->to_revision, err);
		} else {
			rc = kubectl_revision_undo_plan(&it->plan, it->kind, dep, rss, cfg->to_revision, err);
		}
	}
	if (rc == ERR_CANCELLED) {
		goto out;
	}
	if (rc < 0) {
		warn_item(it, e, quiet, xstrdup(err->msg));
		error_clear(err);
		rc = 0;
		goto out;
	}
	it->planned = true;
	e->revision_before = it->plan.revision_current;
	e->revision_target = it->plan.revision_target;
	set_str(&e->images_before, xstrdup(it->plan.images_current));
	set_str(&e->images_after, it->plan.images_target != NULL ? xstrdup(it->plan.images_target) : NULL);
	switch (it->plan.verdict) {
	case KUBECTL_UNDO_PATCH:
		break;
	case KUBECTL_UNDO_NO_HISTORY:
		warn_item(it, e, quiet, xasprintf("first deployment: nothing to roll back to (%s)", it->plan.message));
		goto out;
	case KUBECTL_UNDO_NOT_FOUND:
		warn_item(it, e, quiet, xasprintf("to-revision %ld: %s", cfg->to_revision, it->plan.message));
		goto out;
	case KUBECTL_UNDO_PAUSED:
		warn_item(it, e, quiet, xasprintf("the deployment is paused: %s", it->plan.message));
		goto out;
	case KUBECTL_UNDO_MATCHES:
	default:
		warn_item(it, e, quiet, xasprintf("a rollback would change nothing: %s", it->plan.message));
		goto out;
	}

	/* the API validates permissions and the patch itself, changing nothing */
	p.namespace = cl->target.namespace;
	p.name = it->name;
	p.resource = it->resource;
	p.content_type = patch_type(it);
	p.body = it->plan.patch;
	p.dry_run = true;
	rc = k8s_deployments_patch(cl->client, &p, 1, err);
	if (rc < 0) {
		goto out;
	}
	if (p.rc < 0) {
		warn_item(it, e, quiet, xasprintf("the API refused a dry run of the rollback: %s", p.err.msg));
		goto out;
	}
	it->validated = true;
	set_str(&it->problem, NULL);
	set_str(&e->detail, xasprintf("ready: a failure rolls back to revision %ld", it->plan.revision_target));
	if (!quiet) {
		log_info("  %s: revision %ld (%s) under test; a rollback restores revision %ld (%s)", it->name,
			 it->plan.revision_current, it->plan.images_current, it->plan.revision_target,
			 it->plan.images_target);
	}
out:
	k8s_patch_dispose(&p);
	json_object_put(dep);
	json_object_put(rss);
	return rc;
}

void
release_facts_dispose(struct release_facts *f)
{
	if (f == NULL) {
		return;
	}
	strv_free(f->replicasets);
	free(f->namespace);
	memset(f, 0, sizeof(*f));
}

/* what needs the cluster's facts even without a rollback, or NULL */
static const char *
release_needs(const struct config *cfg)
{
	if (cfg->prometheus_url == NULL) {
		return NULL; /* no query is sent */
	}
	if ((cfg->placeholders & PROMQL_NEW_PODS) != 0) {
		return "{{new_pods}}";
	}
	if ((cfg->placeholders & PROMQL_SINCE_DEPLOY) != 0) {
		return "{{since_deploy}}";
	}
	if (config_wants_baseline(cfg) && cfg->baseline_time < 0) {
		return "the baseline (an increase limit without baseline-time)";
	}
	return NULL;
}

static void
release_log(const struct gate *g, const char *needs)
{
	char when[40];

	if (needs == NULL && g->release.n_read == 0) {
		return;
	}
	if (g->release.created_s > 0) {
		time_format_utc(when, sizeof(when), g->release.created_s * 1000);
	} else {
		(void)snprintf(when, sizeof(when), "unknown");
	}
	log_info("release under test: %zu of %zu newest ReplicaSets read, created %s", g->release.n_read,
		 strv_len(g->cfg->deployments), when);
}

/* rollback off, but a query template or the baseline needs the newest ReplicaSets: read only */
static int
release_read(struct gate *g, struct rollback_cluster *cl, const char *needs, struct error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < cl->n; i++) {
		rc = preflight_item(g, cl, i, false, err);
		if (rc < 0) {
			return rc;
		}
	}
	/* no rollback: the report and summary have no rollback entries to show */
	for (i = 0; i < g->rollback.n; i++) {
		struct rollback_entry *e = &g->rollback.items[i];
		free(e->deployment);
		free(e->namespace);
		free(e->images_before);
		free(e->images_after);
		free(e->detail);
	}
	g->rollback.n = 0;
	release_log(g, needs);
	return 0;
}

/*
 * kube-oidc-audience: the GitHub OIDC ID token becomes the cluster's bearer token. A refusal or a
 * failed request leaves the rollback unavailable, as an unreachable cluster does (returns 0 with
 * cl->unavailable set); only a cancel is an error.
 */
/* the gate runs on without the cluster: a failure cannot be rolled back; err is consumed */
static int
cluster_unavailable(struct gate *g, struct rollback_cluster *cl, struct error *err)
{
	log_warn("rollback: %s", err->msg);
	cl->unavailable = xstrdup(err->msg);
	g->rollback.detail = xasprintf("unavailable: %s", err->msg);
	error_clear(err);
	return 0;
}

static int
oidc_token_fetch(struct gate *g, struct rollback_cluster *cl, struct error *err)
{
	const struct config *cfg = g->cfg;
	int rc;

	rc = oidc_token_request(&cl->target.token, g->http, cfg->ctx.oidc_request_url, cfg->ctx.oidc_request_token,
				cfg->kube_oidc_audience, &g->retry, cfg->request_timeout_ms, err);
	if (rc == ERR_CANCELLED) {
		return rc;
	}
	if (rc < 0) {
		return cluster_unavailable(g, cl, err);
	}
	cl->target.oidc_pending = false;
	log_info("rollback: GitHub OIDC token obtained for audience '%s'", cfg->kube_oidc_audience);
	return 0;
}

int
rollback_preflight(struct gate *g, struct error *err)
{
	const struct config *cfg = g->cfg;
	const char *needs = release_needs(cfg);
	struct rollback_cluster *cl;
	size_t i, n, ready = 0, managed = 0;
	int rc;

	g->rollback.enabled = false;
	g->rollback.armed = false;
	if (!cfg->rollback) {
		log_info("rollback: off (rollback: false)");
		if (needs == NULL) {
			return 0;
		}
	}
	cl = xcalloc(1, sizeof(*cl));
	g->rollback.cluster = cl;
	rc = kubeconfig_load(&cl->target, cfg, err);
	if (rc == ERR_CONFIG) {
		return rc;
	}
	if (rc < 0 && needs != NULL) {
		/* nothing was sent yet: a query that cannot be expanded is a configuration error */
		error_prefix(err, "%s needs the cluster (the newest ReplicaSets), but there is none: ", needs);
		err->code = ERR_CONFIG;
		return ERR_CONFIG;
	}
	if (rc < 0) {
		/* nothing configured: the gate still runs; a failure cannot be rolled back */
		return cluster_unavailable(g, cl, err);
	}
	if (cl->target.oidc_pending) {
		rc = oidc_token_fetch(g, cl, err);
		if (rc < 0 || cl->unavailable != NULL) {
			return rc;
		}
	}
	cl->loaded = true;
	g->release.namespace = xstrdup(cl->target.namespace);
	if (cl->target.insecure) {
		gate_warn(g, "the Kubernetes API's identity is not verified: the kubeconfig sets insecure-skip-tls-verify: true "
			     "for %s, so anyone on the network path can act as the cluster and receive its credentials",
			  cl->target.server);
	}
	log_info("rollback: Kubernetes API %s, namespace '%s' (%s%s%s%s%s)", cl->target.server, cl->target.namespace,
		 cl->target.source, cl->target.context != NULL ? ", context '" : "",
		 cl->target.context != NULL ? cl->target.context : "", cl->target.context != NULL ? "'" : "",
		 cl->target.user == NULL && cl->target.context != NULL ? ", no credentials" : "");
	cl->client = k8s_client_new(g->http, &cl->target, &g->retry, cfg->request_timeout_ms);

	n = strv_len(cfg->deployments);
	cl->n = n;
	cl->items = xcalloc(n + 1, sizeof(*cl->items));
	g->rollback.items = xcalloc(n + 1, sizeof(*g->rollback.items));
	g->rollback.n = n;
	for (i = 0; i < n; i++) {
		const char *kind = cfg->workload_kinds != NULL ? cfg->workload_kinds[i] : "deployment";
		cl->items[i].name = xstrdup(cfg->deployments[i]);
		cl->items[i].kind = kind;
		cl->items[i].resource = xasprintf("%ss", kind);
		entry_init(&g->rollback.items[i], kind, cfg->deployments[i], cl->target.namespace);
	}
	if (!cfg->rollback) {
		return release_read(g, cl, needs, err);
	}
	g->rollback.enabled = true;
	for (i = 0; i < n; i++) {
		rc = preflight_item(g, cl, i, false, err);
		if (rc < 0) {
			return rc;
		}
		if (cl->items[i].validated) {
			ready++;
		}
		if (skip_managed(g, &g->rollback.items[i])) {
			managed++;
		}
	}
	/* armed: a failure stops the checks at once, so the rollback starts within milliseconds */
	g->rollback.armed = ready == n && n > managed && !cfg->dry_run;
	if (ready == n) {
		g->rollback.detail = xasprintf("ready: %zu deployment%s can be rolled back%s", n, n == 1 ? "" : "s",
					       cfg->dry_run ? " (dry run: validated only)" : "");
	} else {
		g->rollback.detail = xasprintf("%zu of %zu deployments can be rolled back; see the warnings", ready, n);
	}
	log_info("rollback: %s", g->rollback.detail);
	release_log(g, needs);
	return 0;
}

/* ---- execute ---- */

struct rollout_ctx {
	const char *name;
	const char *kind;
	char last[200];
	long revision;
	enum kubectl_rollout_state verdict;
};

static int
rollout_fn(struct json_object *object, void *user)
{
	struct rollout_ctx *r = user;
	char msg[200];

	r->verdict = kubectl_rollout_judge_object(r->kind, object, msg, sizeof(msg), &r->revision);
	if (strcmp(msg, r->last) != 0) {
		log_info("  %s: %s", r->name, msg);
		memcpy(r->last, msg, sizeof(msg));
	}
	return r->verdict != KUBECTL_ROLLOUT_WAITING;
}

/* a rejected test operation and any other 409/422 look alike: ask the API what the revision is now */
static void
explain_conflict(struct rollback_cluster *cl, struct cluster_item *it, struct rollback_entry *e,
		 const struct error *perr)
{
	struct json_object *dep = NULL;
	struct error gerr = ERROR_INIT;
	long now;

	if (k8s_object_get(&dep, cl->client, it->resource, cl->target.namespace, it->name, &gerr) < 0) {
		e->outcome = ROLLBACK_FAILED;
		set_str(&e->detail, xasprintf("rollback rejected: %s", perr->msg));
		log_error("rollback: %s '%s': %s (%s)", it->kind, it->name, e->detail, gerr.msg);
		return;
	}
	now = kubectl_deployment_revision(dep);
	if (now != it->plan.revision_current) {
		e->outcome = ROLLBACK_SKIPPED;
		set_str(&e->detail, xasprintf("rollback skipped: the deployment changed since the gate started "
					      "(revision %ld at the start, now %ld)", it->plan.revision_current, now));
		log_error("rollback: %s '%s': %s; nothing was touched", it->kind, it->name, e->detail);
	} else {
		e->outcome = ROLLBACK_FAILED;
		set_str(&e->detail, xasprintf("rollback rejected: %s", perr->msg));
		log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
	}
	json_object_put(dep);
}

#define STRATEGIC_RESENDS 3

/*
 * A StatefulSet or DaemonSet patch carries the resourceVersion read at preflight as its
 * precondition, and status updates move it too. On a conflict, read the object again: a new
 * generation is a new spec (someone else's release: touch nothing); the same generation means only
 * the status moved, so the same patch goes again with the new resourceVersion.
 */
static void
resend_strategic(struct gate *g, struct rollback_cluster *cl, struct cluster_item *it, struct rollback_entry *e,
		 const struct error *perr, size_t *n_sent)
{
	struct error last = *perr;
	int attempt;

	for (attempt = 0; attempt < STRATEGIC_RESENDS; attempt++) {
		struct json_object *obj = NULL;
		struct error gerr = ERROR_INIT;
		struct k8s_patch p;
		int64_t generation = 0;
		char *body;
		const char *rv;

		if (k8s_object_get(&obj, cl->client, it->resource, cl->target.namespace, it->name, &gerr) < 0) {
			e->outcome = ROLLBACK_FAILED;
			set_str(&e->detail, xasprintf("rollback rejected: %s", last.msg));
			log_error("rollback: %s '%s': %s (%s)", it->kind, it->name, e->detail, gerr.msg);
			return;
		}
		(void)jsonh_get_int(&generation, jsonh_member(obj, "metadata"), "generation");
		rv = jsonh_get_string_or(jsonh_member(obj, "metadata"), "resourceVersion", "");
		if (generation != it->plan.generation) {
			e->outcome = ROLLBACK_SKIPPED;
			set_str(&e->detail, xasprintf("rollback skipped: the %s changed since the gate started "
						      "(generation %lld at the start, now %lld)", it->kind,
						      (long long)it->plan.generation, (long long)generation));
			log_error("rollback: %s '%s': %s; nothing was touched", it->kind, it->name, e->detail);
			json_object_put(obj);
			return;
		}
		body = kubectl_patch_with_resource_version(it->plan.patch, rv);
		json_object_put(obj);
		memset(&p, 0, sizeof(p));
		p.namespace = cl->target.namespace;
		p.name = it->name;
		p.resource = it->resource;
		p.content_type = patch_type(it);
		p.body = body;
		p.dry_run = g->cfg->dry_run;
		if (k8s_deployments_patch(cl->client, &p, 1, &gerr) < 0 || p.rc == ERR_CONFLICT) {
			last = p.rc < 0 ? p.err : gerr;
			k8s_patch_dispose(&p);
			free(body);
			continue;
		}
		free(body);
		if (p.rc < 0) {
			e->outcome = ROLLBACK_FAILED;
			set_str(&e->detail, xasprintf("rollback rejected: %s", p.err.msg));
			log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
		} else if (g->cfg->dry_run) {
			e->outcome = ROLLBACK_DRY_RUN;
			set_str(&e->detail, xasprintf("dry run: the API accepted the rollback to revision %ld (%s); nothing "
						      "was changed", it->plan.revision_target, it->plan.images_target));
		} else {
			it->patched = p.result;
			p.result = NULL; /* now owned by the item */
			it->sent_ms = p.sent_ms;
			(*n_sent)++;
			log_info("  %s: rollback sent again (the status had moved): revision %ld (%s) restored", it->name,
				 it->plan.revision_target, it->plan.images_target);
		}
		k8s_patch_dispose(&p);
		return;
	}
	e->outcome = ROLLBACK_FAILED;
	set_str(&e->detail, xasprintf("rollback rejected %d times: %s", STRATEGIC_RESENDS + 1, last.msg));
	log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
}

/* plans again the Deployments preflight could not read (a passing network problem, say) */
static int
replan(struct gate *g, struct rollback_cluster *cl, struct error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < cl->n; i++) {
		if (cl->items[i].planned) {
			continue;
		}
		rc = preflight_item(g, cl, i, true, err);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/*
 * Whether a workload gets its prepared patch now; if not, its outcome says why: left alone
 * because managed-rollback is skip, never planned, or nothing to undo.
 */
static bool
patch_due(struct gate *g, struct cluster_item *it, struct rollback_entry *e)
{
	if (skip_managed(g, e)) {
		char *who = manager_describe(&e->manager), *cmd = manager_command(&e->manager, g->commit.sha);
		e->outcome = ROLLBACK_SKIPPED;
		e->managed_skipped = true;
		set_str(&e->detail, xasprintf("not rolled back: managed by %s (managed-rollback: skip); run: %s", who, cmd));
		log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
		free(who);
		free(cmd);
		return false;
	}
	if (!it->planned) {
		e->outcome = ROLLBACK_FAILED;
		set_str(&e->detail, xasprintf("rollback impossible: %s", it->problem != NULL ? it->problem : "unknown"));
		log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
		return false;
	}
	if (it->plan.verdict != KUBECTL_UNDO_PATCH) {
		e->outcome = ROLLBACK_SKIPPED;
		set_str(&e->detail, xasprintf("rollback skipped: %s", it->problem != NULL ? it->problem : it->plan.message));
		log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
		return false;
	}
	return true;
}

/* what the API said to one patch: a conflict explained (or resent), a refusal, a dry run, sent */
static void
patch_outcome(struct gate *g, struct rollback_cluster *cl, struct cluster_item *it, struct rollback_entry *e,
	      struct k8s_patch *p, size_t *n_sent)
{
	if (p->rc == ERR_CONFLICT && it->plan.strategic) {
		resend_strategic(g, cl, it, e, &p->err, n_sent);
	} else if (p->rc == ERR_CONFLICT) {
		explain_conflict(cl, it, e, &p->err);
	} else if (p->rc < 0) {
		e->outcome = ROLLBACK_FAILED;
		set_str(&e->detail, xasprintf("rollback rejected: %s", p->err.msg));
		log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
	} else if (g->cfg->dry_run) {
		e->outcome = ROLLBACK_DRY_RUN;
		set_str(&e->detail, xasprintf("dry run: the API accepted the rollback from revision %ld (%s) to revision "
					      "%ld (%s); nothing was changed",
					      it->plan.revision_current, it->plan.images_current,
					      it->plan.revision_target, it->plan.images_target));
		log_info("  %s: %s", it->name, e->detail);
	} else {
		it->patched = p->result;
		p->result = NULL; /* now owned by the item */
		(*n_sent)++;
		if (e->failure_to_patch_ms >= 0) {
			log_info("  %s: rollback sent: revision %ld (%s) -> revision %ld (%s), %lld ms after '%s' failed",
				 it->name, it->plan.revision_current, it->plan.images_current, it->plan.revision_target,
				 it->plan.images_target, (long long)e->failure_to_patch_ms, g->first_failure);
		} else {
			log_info("  %s: rollback sent: revision %ld (%s) -> revision %ld (%s)", it->name,
				 it->plan.revision_current, it->plan.images_current, it->plan.revision_target,
				 it->plan.images_target);
		}
	}
}

/*
 * Sends the patches of the Deployments not handled yet. The first wave (final false) sends what
 * preflight prepared and leaves the rest for after replan(), so that no network round trip comes
 * between a failure and the prepared patches; the second wave (final true) gives up on what still
 * could not be planned.
 */
static int
send_patches(struct gate *g, struct rollback_cluster *cl, bool final, size_t *n_sent,
	     struct error *err)
{
	const struct config *cfg = g->cfg;
	struct k8s_patch *patches = xcalloc(cl->n + 1, sizeof(*patches));
	size_t *index = xcalloc(cl->n + 1, sizeof(*index));
	size_t i, m = 0;
	int rc;

	for (i = 0; i < cl->n; i++) {
		struct cluster_item *it = &cl->items[i];
		struct rollback_entry *e = &g->rollback.items[i];
		if (it->handled || (!it->planned && !final)) {
			continue;
		}
		it->handled = true;
		if (!patch_due(g, it, e)) {
			continue;
		}
		patches[m].namespace = cl->target.namespace;
		patches[m].name = it->name;
		patches[m].resource = it->resource;
		patches[m].content_type = patch_type(it);
		patches[m].body = it->plan.patch;
		patches[m].dry_run = cfg->dry_run;
		index[m++] = i;
	}
	if (m == 0) {
		rc = 0;
		goto out;
	}
	rc = k8s_deployments_patch(cl->client, patches, m, err);
	if (rc < 0) {
		goto out;
	}
	for (i = 0; i < m; i++) {
		struct k8s_patch *p = &patches[i];
		struct cluster_item *it = &cl->items[index[i]];
		struct rollback_entry *e = &g->rollback.items[index[i]];
		it->sent_ms = p->sent_ms;
		if (g->first_failure_ms != 0) {
			e->failure_to_patch_ms = p->sent_ms - g->first_failure_ms;
		}
		patch_outcome(g, cl, it, e, p, n_sent);
		e->sent = it->patched != NULL && !cfg->dry_run;
	}
out:
	for (i = 0; i < m; i++) {
		k8s_patch_dispose(&patches[i]);
	}
	free(patches);
	free(index);
	return rc;
}

/* follows each patched Deployment until its rollout completes, fails or runs out of time */
static int
wait_rollouts(struct gate *g, struct rollback_cluster *cl, struct error *err)
{
	const struct config *cfg = g->cfg;
	char limit[32];
	size_t i;

	duration_format(limit, sizeof(limit), cfg->rollback_timeout_ms);
	for (i = 0; i < cl->n; i++) {
		struct cluster_item *it = &cl->items[i];
		struct rollback_entry *e = &g->rollback.items[i];
		struct rollout_ctx r;
		const char *rv;
		int rc = 0;
		if (it->patched == NULL) {
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.name = it->name;
		r.kind = it->kind;
		rv = jsonh_get_string_or(jsonh_member(it->patched, "metadata"), "resourceVersion", NULL);
		if (rollout_fn(it->patched, &r) == 0) {
			rc = k8s_object_watch(cl->client, it->resource, cl->target.namespace, it->name, rv,
						  it->sent_ms + cfg->rollback_timeout_ms, rollout_fn, &r, err);
		}
		if (rc == 0 && r.verdict == KUBECTL_ROLLOUT_DONE) {
			e->outcome = ROLLBACK_DONE;
			e->rollout_ms = clock_ms() - it->sent_ms;
			e->revision_after = r.revision > 0 ? r.revision : 0;
			/* the controller renumbers the restored ReplicaSet max + 1 (its sync.go) */
			if (e->revision_after > 0) {
				set_str(&e->detail, xasprintf("restored revision %ld (%s), now revision %ld; rollout complete in "
							      "%lld ms", it->plan.revision_target, it->plan.images_target,
							      e->revision_after, (long long)e->rollout_ms));
			} else {
				/* a ControllerRevision's new number is not on the object: not guessed */
				set_str(&e->detail, xasprintf("restored revision %ld (%s); %s; rollout complete in %lld ms",
							      it->plan.revision_target, it->plan.images_target, r.last,
							      (long long)e->rollout_ms));
			}
			log_info("  %s: %s", it->name, e->detail);
			continue;
		}
		e->outcome = ROLLBACK_FAILED;
		if (rc == 0) {
			set_str(&e->detail, xasprintf("rollback sent; the rollout failed: %s \"%s\" %s", it->kind, it->name, r.last));
		} else if (rc == ERR_TIMEOUT) {
			set_str(&e->detail, xasprintf("rollback sent; the rollout did not complete within rollback-timeout %s "
						      "(last: %s)", limit, r.last[0] != '\0' ? r.last : "no status"));
		} else if (rc == ERR_CANCELLED) {
			set_str(&e->detail, xstrdup("rollback sent; rollout not confirmed: cancelled"));
		} else {
			set_str(&e->detail, xasprintf("rollback sent; rollout not confirmed: %s", err->msg));
		}
		log_error("rollback: %s '%s': %s", it->kind, it->name, e->detail);
		if (rc == ERR_CANCELLED) {
			/* the others were sent too: say so, without waiting for them */
			size_t j;
			for (j = i + 1; j < cl->n; j++) {
				if (cl->items[j].patched != NULL) {
					g->rollback.items[j].outcome = ROLLBACK_FAILED;
					set_str(&g->rollback.items[j].detail,
						xstrdup("rollback sent; rollout not confirmed: cancelled"));
				}
			}
			return rc;
		}
		error_clear(err);
	}
	return 0;
}

static void
finish_result(struct gate *g, bool verified, const char *verify_detail)
{
	const struct config *cfg = g->cfg;
	size_t i, done = 0, dry = 0, failed = 0, skipped = 0, managed = 0, n = g->rollback.n;

	for (i = 0; i < n; i++) {
		if (g->rollback.items[i].managed_skipped) {
			managed++;
		}
		switch (g->rollback.items[i].outcome) {
		case ROLLBACK_DONE:
			done++;
			break;
		case ROLLBACK_DRY_RUN:
			dry++;
			break;
		case ROLLBACK_SKIPPED:
			skipped++;
			break;
		case ROLLBACK_FAILED:
		case ROLLBACK_NONE:
		default:
			failed++;
			break;
		}
	}
	free(g->rollback.detail);
	if (cfg->dry_run) {
		g->rollback.outcome = dry == n ? ROLLBACK_DRY_RUN : (failed > 0 ? ROLLBACK_FAILED : ROLLBACK_SKIPPED);
		g->rollback.detail = dry == n ? xasprintf("dry run: the API accepted the rollback of %zu deployment%s; nothing "
							 "was changed", n, n == 1 ? "" : "s")
					      : xasprintf("dry run: %zu of %zu deployments could be rolled back", dry, n);
		return;
	}
	if (managed > 0 && failed == 0 && done + managed == n && (done == 0 || verified)) {
		/* we were told not to touch what a controller owns: the release stays, the verdict is failed */
		g->rollback.managed_skip = true;
		/* not "rolled back": part of the release stays, so rolled-back=false; each entry says which */
		g->rollback.outcome = ROLLBACK_SKIPPED;
		g->rollback.detail = n == 1 ? xstrdup(g->rollback.items[0].detail)
					    : xasprintf("%zu of %zu workloads not rolled back: managed by a GitOps controller or "
							"Helm (managed-rollback: skip)%s", managed, n,
							done > 0 ? "; the others were rolled back and the service recovered" : "");
		return;
	}
	if (done == n && n > 0 && verified) {
		g->rollback.outcome = ROLLBACK_DONE;
		g->rollback.detail = xasprintf("rolled back %zu deployment%s; the service recovered", n, n == 1 ? "" : "s");
		return;
	}
	if (done == n && n > 0) {
		g->rollback.outcome = ROLLBACK_FAILED;
		g->rollback.detail = xasprintf("rolled back, but the recovery checks failed: %s",
					       verify_detail != NULL ? verify_detail : "not verified");
	} else if (failed == 0 && done == 0) {
		g->rollback.outcome = ROLLBACK_SKIPPED;
		g->rollback.detail = n == 1 ? xstrdup(g->rollback.items[0].detail)
					    : xasprintf("nothing rolled back: %zu of %zu deployments skipped", skipped, n);
	} else {
		g->rollback.outcome = ROLLBACK_FAILED;
		g->rollback.detail = n == 1 ? xstrdup(g->rollback.items[0].detail)
					    : xasprintf("%zu of %zu deployments rolled back, %zu failed, %zu skipped", done, n,
							failed, skipped);
	}
}

/* one line for the whole rollback, unless the one deployment's line already said it */
static void
log_outcome(const struct gate *g)
{
	if (g->rollback.n == 1 && g->rollback.items[0].detail != NULL &&
	    strcmp(g->rollback.detail, g->rollback.items[0].detail) == 0) {
		return;
	}
	if (gate_result_decide(g) == GATE_ROLLBACK_FAILED) {
		log_error("rollback: %s", g->rollback.detail);
	} else {
		log_info("rollback: %s", g->rollback.detail);
	}
}

int
rollback_execute(struct gate *g, bool *rolled_out, struct error *err)
{
	const struct config *cfg = g->cfg;
	struct rollback_cluster *cl = g->rollback.cluster;
	size_t sent = 0, i;
	int rc;

	*rolled_out = false;
	if (!cfg->rollback) {
		g->rollback.outcome = ROLLBACK_NONE;
		set_str(&g->rollback.detail, xstrdup("off (rollback: false): the release stays deployed"));
		log_info("rollback: off (rollback: false): the release stays deployed");
		return 0;
	}
	if (cl == NULL || !cl->loaded) {
		g->rollback.outcome = ROLLBACK_FAILED;
		set_str(&g->rollback.detail,
			xasprintf("rollback impossible: %s",
				  cl != NULL && cl->unavailable != NULL ? cl->unavailable : "no cluster"));
		log_error("%s", g->rollback.detail);
		return 0;
	}
	rc = send_patches(g, cl, false, &sent, err);
	if (rc == 0) {
		rc = replan(g, cl, err);
	}
	if (rc == 0) {
		rc = send_patches(g, cl, true, &sent, err);
	}
	if (rc == 0 && sent > 0) {
		rc = wait_rollouts(g, cl, err);
	}
	if (rc == ERR_CANCELLED) {
		/* nothing more is sent; what was sent is reported */
		finish_result(g, false, "cancelled");
		return rc;
	}
	if (rc < 0) {
		for (i = 0; i < g->rollback.n; i++) {
			if (g->rollback.items[i].outcome == ROLLBACK_NONE) {
				g->rollback.items[i].outcome = ROLLBACK_FAILED;
				set_str(&g->rollback.items[i].detail, xasprintf("rollback failed: %s", err->msg));
			}
		}
		log_error("rollback: %s", err->msg);
		error_clear(err);
	}
	for (i = 0; i < g->rollback.n && sent > 0; i++) {
		/* a managed workload left alone (managed-rollback: skip) does not stop the verification */
		if (g->rollback.items[i].outcome != ROLLBACK_DONE && !g->rollback.items[i].managed_skipped) {
			break;
		}
	}
	if (sent > 0 && i == g->rollback.n) {
		/* every rollout completed: is the service really back? The caller asks the smoke phase */
		log_info("rollback: verifying the recovery");
		*rolled_out = true;
		return 0;
	}
	finish_result(g, false, NULL);
	log_outcome(g);
	return 0;
}

void
rollback_conclude(struct gate *g, int verify_rc, bool verified, struct error *err)
{
	const char *verify_detail = NULL;

	if (verify_rc == ERR_CANCELLED) {
		finish_result(g, false, "cancelled");
		return;
	}
	if (verify_rc < 0) {
		log_error("rollback: recovery checks: %s", err->msg);
		error_clear(err);
	}
	if (!verified) {
		struct check_result *h = check_list_find(&g->checks, "recovery-health");
		struct check_result *d = check_list_find(&g->checks, "recovery-database");
		if (h != NULL && h->status == CHECK_FAIL) {
			verify_detail = "recovery-health failed";
		} else if (d != NULL && d->status == CHECK_FAIL) {
			verify_detail = "recovery-database failed";
		}
	}
	finish_result(g, verified, verify_detail);
	log_outcome(g);
}

void
rollback_facts_dispose(struct rollback_facts *r)
{
	struct rollback_cluster *cl = r->cluster;
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct rollback_entry *e = &r->items[i];
		free(e->deployment);
		free(e->namespace);
		free(e->images_before);
		free(e->images_after);
		free(e->detail);
		manager_info_dispose(&e->manager);
	}
	free(r->items);
	free(r->detail);
	if (cl != NULL) {
		for (i = 0; i < cl->n; i++) {
			free(cl->items[i].name);
			free(cl->items[i].resource);
			free(cl->items[i].problem);
			kubectl_undo_plan_dispose(&cl->items[i].plan);
			json_object_put(cl->items[i].patched);
		}
		free(cl->items);
		free(cl->unavailable);
		k8s_client_free(cl->client);
		kube_target_dispose(&cl->target);
		free(cl);
	}
	memset(r, 0, sizeof(*r));
}
