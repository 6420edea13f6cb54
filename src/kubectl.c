/* SPDX-License-Identifier: MIT */
#include "kubectl.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonh.h"
#include "util.h"

/* ---- shared rules: selectors ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
values_list(struct buf *b, struct json_object *values, struct error *err)
{
	size_t n, i;
	const char **v;

	if (values == NULL || !json_object_is_type(values, json_type_array)) {
		return error_set(err, ERR_PARSE,
				 "selector: matchExpressions values must be a list");
	}
	n = json_object_array_length(values);
	if (n == 0) {
		return error_set(err, ERR_PARSE,
				 "selector: 'In' and 'NotIn' need at least one value");
	}
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(values, i);
		if (!json_object_is_type(x, json_type_string)) {
			free(v);
			return error_set(err, ERR_PARSE,
					 "selector: matchExpressions values must be strings");
		}
		v[i] = json_object_get_string(x);
	}
	qsort(v, n, sizeof(*v), cmp_str);
	buf_putc(b, '(');
	for (i = 0; i < n; i++) {
		buf_printf(b, "%s%s", i > 0 ? "," : "", v[i]);
	}
	buf_putc(b, ')');
	free(v);
	return 0;
}

int
kubectl_selector_format(char **out, struct json_object *selector, struct error *err)
{
	struct json_object *labels, *exprs;
	struct buf b = BUF_INIT;
	size_t i, n;

	*out = NULL;
	if (selector == NULL || !json_object_is_type(selector, json_type_object)) {
		return error_set(err, ERR_PARSE, "the Deployment has no spec.selector");
	}
	labels = jsonh_member(selector, "matchLabels");
	if (labels != NULL && json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, key, val) {
			if (!json_object_is_type(val, json_type_string)) {
				buf_dispose(&b);
				return error_set(err, ERR_PARSE,
						 "selector: matchLabels values must be strings");
			}
			buf_printf(&b, "%s%s=%s", b.len > 0 ? "," : "", key,
				   json_object_get_string(val));
		}
	}
	exprs = jsonh_member(selector, "matchExpressions");
	n = exprs != NULL && json_object_is_type(exprs, json_type_array)
		    ? json_object_array_length(exprs)
		    : 0;
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(exprs, i);
		const char *key = jsonh_get_string_or(e, "key", NULL);
		const char *op = jsonh_get_string_or(e, "operator", "");
		if (key == NULL) {
			buf_dispose(&b);
			return error_set(err, ERR_PARSE,
					 "selector: a matchExpressions entry has no key");
		}
		if (b.len > 0) {
			buf_putc(&b, ',');
		}
		if (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0) {
			buf_printf(&b, "%s %s ", key, strcmp(op, "In") == 0 ? "in" : "notin");
			if (values_list(&b, jsonh_member(e, "values"), err) < 0) {
				buf_dispose(&b);
				return ERR_PARSE;
			}
		} else if (strcmp(op, "Exists") == 0) {
			buf_puts(&b, key);
		} else if (strcmp(op, "DoesNotExist") == 0) {
			buf_printf(&b, "!%s", key);
		} else {
			buf_dispose(&b);
			return error_set(err, ERR_PARSE, "selector: unknown operator '%s'", op);
		}
	}
	*out = buf_steal(&b);
	return 0;
}

static bool
value_in(struct json_object *values, const char *v)
{
	size_t i, n = values != NULL && json_object_is_type(values, json_type_array)
			      ? json_object_array_length(values)
			      : 0;

	for (i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(values, i);
		if (json_object_is_type(x, json_type_string) &&
		    strcmp(json_object_get_string(x), v) == 0) {
			return true;
		}
	}
	return false;
}

bool
kubectl_selector_matches(struct json_object *selector, struct json_object *labels)
{
	struct json_object *ml, *exprs;
	size_t i, n;

	if (selector == NULL || !json_object_is_type(selector, json_type_object)) {
		return false;
	}
	ml = jsonh_member(selector, "matchLabels");
	if (ml != NULL && json_object_is_type(ml, json_type_object)) {
		json_object_object_foreach(ml, key, val) {
			const char *have = jsonh_get_string_or(labels, key, NULL);
			if (!json_object_is_type(val, json_type_string) || have == NULL ||
			    strcmp(have, json_object_get_string(val)) != 0) {
				return false;
			}
		}
	}
	exprs = jsonh_member(selector, "matchExpressions");
	n = exprs != NULL && json_object_is_type(exprs, json_type_array)
		    ? json_object_array_length(exprs)
		    : 0;
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(exprs, i);
		const char *key = jsonh_get_string_or(e, "key", NULL);
		const char *op = jsonh_get_string_or(e, "operator", "");
		const char *have;
		if (key == NULL) {
			return false;
		}
		have = jsonh_get_string_or(labels, key, NULL);
		if (strcmp(op, "In") == 0) {
			if (have == NULL || !value_in(jsonh_member(e, "values"), have)) {
				return false;
			}
		} else if (strcmp(op, "NotIn") == 0) {
			if (have != NULL && value_in(jsonh_member(e, "values"), have)) {
				return false;
			}
		} else if (strcmp(op, "Exists") == 0) {
			if (have == NULL) {
				return false;
			}
		} else if (strcmp(op, "DoesNotExist") == 0) {
			if (jsonh_member(labels, key) != NULL) {
				return false;
			}
		} else {
			return false;
		}
	}
	return true;
}

/* ---- shared rules: equality, templates, ownership, history order ---- */

static bool
is_empty(struct json_object *v)
{
	if (v == NULL) {
		return true;
	}
	if (json_object_is_type(v, json_type_object)) {
		return json_object_object_length(v) == 0;
	}
	if (json_object_is_type(v, json_type_array)) {
		return json_object_array_length(v) == 0;
	}
	return false;
}

static bool
is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

bool
kubectl_semantic_equal(struct json_object *a, struct json_object *b)
{
	size_t i, n;

	if (is_empty(a) || is_empty(b)) {
		return is_empty(a) && is_empty(b);
	}
	if (is_number(a) && is_number(b)) {
		if (json_object_is_type(a, json_type_int) &&
		    json_object_is_type(b, json_type_int)) {
			return json_object_get_int64(a) == json_object_get_int64(b);
		}
		return json_object_get_double(a) == json_object_get_double(b);
	}
	if (json_object_get_type(a) != json_object_get_type(b)) {
		return false;
	}
	switch (json_object_get_type(a)) {
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) == json_object_get_string_len(b) &&
		       memcmp(json_object_get_string(a), json_object_get_string(b),
			      (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array:
		n = json_object_array_length(a);
		if (n != json_object_array_length(b)) {
			return false;
		}
		for (i = 0; i < n; i++) {
			if (!kubectl_semantic_equal(json_object_array_get_idx(a, i),
						    json_object_array_get_idx(b, i))) {
				return false;
			}
		}
		return true;
	case json_type_object: {
		json_object_object_foreach(a, ka, va) {
			if (!kubectl_semantic_equal(va, jsonh_member(b, ka))) {
				return false;
			}
		}
		json_object_object_foreach(b, kb, vb) {
			if (jsonh_member(a, kb) == NULL && !is_empty(vb)) {
				return false;
			}
		}
		return true;
	}
	case json_type_null:
	case json_type_int:
	case json_type_double:
	default:
		return false;
	}
}

struct json_object *
kubectl_template_without_label(struct json_object *template, const char *label)
{
	struct json_object *copy = NULL, *labels;

	if (template == NULL) {
		return NULL;
	}
	if (json_object_deep_copy(template, &copy, NULL) != 0) {
		abort();
	}
	labels = jsonh_member(jsonh_member(copy, "metadata"), "labels");
	if (labels != NULL && json_object_is_type(labels, json_type_object)) {
		json_object_object_del(labels, label);
	}
	return copy;
}

bool
kubectl_template_equal_without_label(struct json_object *a,
				     struct json_object *b,
				     const char *label)
{
	struct json_object *ca = kubectl_template_without_label(a, label);
	struct json_object *cb = kubectl_template_without_label(b, label);
	bool eq = kubectl_semantic_equal(ca, cb);

	json_object_put(ca);
	json_object_put(cb);
	return eq;
}

char *
kubectl_template_images(struct json_object *template)
{
	struct json_object *containers = jsonh_member(jsonh_member(template, "spec"), "containers");
	struct buf b = BUF_INIT;
	size_t i, n;

	n = containers != NULL && json_object_is_type(containers, json_type_array)
		    ? json_object_array_length(containers)
		    : 0;
	for (i = 0; i < n; i++) {
		struct json_object *ct = json_object_array_get_idx(containers, i);
		const char *image = jsonh_get_string_or(ct, "image", "?");
		if (n == 1) {
			buf_puts(&b, image);
		} else {
			buf_printf(&b, "%s%s=%s", i > 0 ? ", " : "",
				   jsonh_get_string_or(ct, "name", "?"), image);
		}
	}
	if (n == 0) {
		buf_puts(&b, "?");
	}
	return buf_steal(&b);
}

bool
kubectl_controlled_by(struct json_object *obj, const char *uid)
{
	struct json_object *refs = jsonh_member(jsonh_member(obj, "metadata"), "ownerReferences");
	size_t i, n = refs != NULL && json_object_is_type(refs, json_type_array)
			      ? json_object_array_length(refs)
			      : 0;

	/* metav1.GetControllerOf: the first reference with controller: true */
	for (i = 0; i < n; i++) {
		struct json_object *ref = json_object_array_get_idx(refs, i);
		struct json_object *ctl = jsonh_member(ref, "controller");
		if (ctl != NULL && json_object_is_type(ctl, json_type_boolean) &&
		    json_object_get_boolean(ctl)) {
			const char *ruid = jsonh_get_string_or(ref, "uid", NULL);
			return ruid != NULL && strcmp(ruid, uid) == 0;
		}
	}
	return false;
}

/* controller.ReplicaSetsByCreationTimestamp: oldest first, then by name */
static int
cmp_creation(const void *pa, const void *pb)
{
	struct json_object *a = *(struct json_object *const *)pa;
	struct json_object *b = *(struct json_object *const *)pb;
	const char *ta = jsonh_get_string_or(jsonh_member(a, "metadata"), "creationTimestamp", "");
	const char *tb = jsonh_get_string_or(jsonh_member(b, "metadata"), "creationTimestamp", "");
	int c = strcmp(ta, tb);

	if (c != 0) {
		return c;
	}
	return strcmp(jsonh_get_string_or(jsonh_member(a, "metadata"), "name", ""),
		      jsonh_get_string_or(jsonh_member(b, "metadata"), "name", ""));
}

void
kubectl_sort_by_creation(struct json_object **objects, size_t n)
{
	if (n > 1) {
		qsort(objects, n, sizeof(*objects), cmp_creation);
	}
}

bool
kubectl_parse_int(long *out, const char *s)
{
	const char *p = s;
	long long v;
	char *end;

	if (*p == '+' || *p == '-') {
		p++;
	}
	if (*p == '\0') {
		return false;
	}
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p)) {
			return false;
		}
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > LONG_MAX || v < LONG_MIN) {
		return false;
	}
	*out = (long)v;
	return true;
}

/* ---- the undo plan ---- */

void
kubectl_undo_plan_dispose(struct kubectl_undo_plan *p)
{
	if (p == NULL) {
		return;
	}
	free(p->name);
	free(p->uid);
	free(p->revision_text);
	free(p->target_name);
	free(p->images_current);
	free(p->images_target);
	free(p->patch);
	free(p->message);
	free(p->resource_version);
	memset(p, 0, sizeof(*p));
}

/* ---- Deployment ---- */

long
kubectl_deployment_revision(struct json_object *obj)
{
	struct json_object *ann = jsonh_member(jsonh_member(obj, "metadata"), "annotations");
	struct json_object *v = jsonh_member(ann, KUBECTL_REVISION_ANNOTATION);
	long r = 0;

	if (v == NULL) {
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    !kubectl_parse_int(&r, json_object_get_string(v)) || r < 0) {
		return -1;
	}
	return r;
}

bool
kubectl_deployment_template_equal(struct json_object *a, struct json_object *b)
{
	return kubectl_template_equal_without_label(a, b, KUBECTL_HASH_LABEL);
}

/* pkg/util/deployment/deployment.go annotationsToSkip: the Deployment keeps its own values */
static const char *const annotations_to_skip[] = {
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"deployment.kubernetes.io/revision-history",
	"deployment.kubernetes.io/desired-replicas",
	"deployment.kubernetes.io/max-replicas",
	"deprecated.deployment.rollback.to",
	NULL,
};

/* the annotations kubectl writes: the skip list from the Deployment, others from the ReplicaSet */
static struct json_object *
undo_annotations(struct json_object *deployment, struct json_object *rs)
{
	struct json_object *out = json_object_new_object();
	struct json_object *dann =
		jsonh_member(jsonh_member(deployment, "metadata"), "annotations");
	struct json_object *rann = jsonh_member(jsonh_member(rs, "metadata"), "annotations");
	size_t i;

	for (i = 0; annotations_to_skip[i] != NULL; i++) {
		struct json_object *v = jsonh_member(dann, annotations_to_skip[i]);
		if (v != NULL && json_object_is_type(v, json_type_string)) {
			jsonh_add(out, annotations_to_skip[i], json_object_get(v));
		}
	}
	if (rann != NULL && json_object_is_type(rann, json_type_object)) {
		json_object_object_foreach(rann, key, val) {
			if (!strv_contains((char *const *)annotations_to_skip, key) &&
			    json_object_is_type(val, json_type_string)) {
				jsonh_add(out, key, json_object_get(val));
			}
		}
	}
	return out;
}

static char *
build_patch(struct json_object *deployment, struct json_object *rs, const char *revision_text)
{
	struct json_object *ops = json_object_new_array();
	struct json_object *op;
	char *text;

	/* never roll back someone else's release: the revision must still be the one under test */
	op = json_object_new_object();
	jsonh_add_string(op, "op", "test");
	if (revision_text != NULL) {
		jsonh_add_string(op, "path",
				 "/metadata/annotations/deployment.kubernetes.io~1revision");
		jsonh_add_string(op, "value", revision_text);
	} else {
		/* never observed by the controller: any spec change bumps the generation instead */
		int64_t gen = 0;
		(void)jsonh_get_int(&gen, jsonh_member(deployment, "metadata"), "generation");
		jsonh_add_string(op, "path", "/metadata/generation");
		jsonh_add_int(op, "value", gen);
	}
	jsonh_append(ops, op);

	op = json_object_new_object();
	jsonh_add_string(op, "op", "replace");
	jsonh_add_string(op, "path", "/spec/template");
	jsonh_add(op, "value",
		  kubectl_template_without_label(jsonh_member(jsonh_member(rs, "spec"), "template"),
						 KUBECTL_HASH_LABEL));
	jsonh_append(ops, op);

	op = json_object_new_object();
	jsonh_add_string(op, "op", "replace");
	jsonh_add_string(op, "path", "/metadata/annotations");
	jsonh_add(op, "value", undo_annotations(deployment, rs));
	jsonh_append(ops, op);

	text = xstrdup(jsonh_to_string(ops, false));
	json_object_put(ops);
	return text;
}

/*
 * deploymentutil.ListReplicaSets and GetAllReplicaSets: the ReplicaSets matching the selector and
 * controlled by the Deployment, sorted by creation time, the one matching the Deployment's template
 * (the "new" ReplicaSet) moved last. Order only matters when revisions tie. Returns how many;
 * cands has room for every item.
 */
static size_t
deployment_history(struct json_object **cands,
		   struct json_object *deployment,
		   struct json_object *items,
		   const char *uid)
{
	struct json_object *spec = jsonh_member(deployment, "spec");
	struct json_object *dtemplate = jsonh_member(spec, "template");
	struct json_object *selector = jsonh_member(spec, "selector");
	size_t i, n = items != NULL ? json_object_array_length(items) : 0, nc = 0;

	for (i = 0; i < n; i++) {
		struct json_object *rs = json_object_array_get_idx(items, i);
		if (rs == NULL || !json_object_is_type(rs, json_type_object)) {
			continue;
		}
		if (!kubectl_controlled_by(rs, uid) ||
		    !kubectl_selector_matches(
			    selector, jsonh_member(jsonh_member(rs, "metadata"), "labels"))) {
			continue;
		}
		cands[nc++] = rs;
	}
	kubectl_sort_by_creation(cands, nc);
	for (i = 0; i < nc; i++) {
		if (kubectl_deployment_template_equal(
			    jsonh_member(jsonh_member(cands[i], "spec"), "template"), dtemplate)) {
			struct json_object *newrs = cands[i];
			memmove(&cands[i], &cands[i + 1], (nc - i - 1) * sizeof(*cands));
			cands[nc - 1] = newrs;
			break;
		}
	}
	return nc;
}

/* rollback.go deploymentRevision: the second-highest revision, or exactly to_revision; or NULL */
static struct json_object *
deployment_undo_target(struct json_object *const *cands, size_t nc, long to_revision)
{
	struct json_object *latest = NULL, *previous = NULL;
	long latest_rev = -1, previous_rev = -1;
	size_t i;

	for (i = 0; i < nc; i++) {
		long v = kubectl_deployment_revision(cands[i]);
		if (v < 0) {
			continue;
		}
		if (to_revision != 0) {
			if (to_revision == v) {
				return cands[i];
			}
		} else if (latest_rev < v) {
			previous_rev = latest_rev;
			previous = latest;
			latest_rev = v;
			latest = cands[i];
		} else if (previous_rev < v) {
			previous_rev = v;
			previous = cands[i];
		}
	}
	return to_revision == 0 ? previous : NULL;
}

/* the verdict once the target is known: kubectl refuses a paused Deployment, skips a no-op */
static void
deployment_undo_decide(struct kubectl_undo_plan *out,
		       struct json_object *deployment,
		       struct json_object *target)
{
	struct json_object *spec = jsonh_member(deployment, "spec");
	struct json_object *paused = jsonh_member(spec, "paused");
	struct json_object *ttemplate = jsonh_member(jsonh_member(target, "spec"), "template");

	out->revision_target = kubectl_deployment_revision(target);
	out->target_name =
		xstrdup(jsonh_get_string_or(jsonh_member(target, "metadata"), "name", "?"));
	out->images_target = kubectl_template_images(ttemplate);
	if (paused != NULL && json_object_is_type(paused, json_type_boolean) &&
	    json_object_get_boolean(paused)) {
		out->verdict = KUBECTL_UNDO_PAUSED;
		out->message =
			xasprintf("you cannot rollback a paused deployment; resume it first with "
				  "'kubectl rollout resume deployment/%s' and try again",
				  out->name);
		return;
	}
	if (kubectl_deployment_template_equal(ttemplate, jsonh_member(spec, "template"))) {
		out->verdict = KUBECTL_UNDO_MATCHES;
		out->message = xasprintf(
			"skipped rollback (current template already matches revision %ld)",
			out->revision_target);
		return;
	}
	out->verdict = KUBECTL_UNDO_PATCH;
	out->patch = build_patch(deployment, target, out->revision_text);
	out->message = xasprintf("rolls back to revision %ld", out->revision_target);
}

int
kubectl_deployment_undo_plan(struct kubectl_undo_plan *out,
			     struct json_object *deployment,
			     struct json_object *replicasets,
			     long to_revision,
			     struct error *err)
{
	struct json_object *md = jsonh_member(deployment, "metadata");
	struct json_object *dtemplate = jsonh_member(jsonh_member(deployment, "spec"), "template");
	struct json_object *items = replicasets, *rev, *target;
	struct json_object **cands;
	const char *name, *uid;
	size_t nc;

	memset(out, 0, sizeof(*out));
	name = jsonh_get_string_or(md, "name", NULL);
	uid = jsonh_get_string_or(md, "uid", NULL);
	if (name == NULL || uid == NULL || dtemplate == NULL ||
	    !json_object_is_type(dtemplate, json_type_object)) {
		return error_set(
			err, ERR_PARSE,
			"the Deployment lacks metadata.name, metadata.uid or spec.template");
	}
	if (items != NULL && json_object_is_type(items, json_type_object)) {
		items = jsonh_member(items, "items");
	}
	if (items != NULL && !json_object_is_type(items, json_type_array)) {
		return error_set(err, ERR_PARSE, "the ReplicaSet list is not a list");
	}
	out->name = xstrdup(name);
	out->uid = xstrdup(uid);
	rev = jsonh_member(jsonh_member(md, "annotations"), KUBECTL_REVISION_ANNOTATION);
	if (rev != NULL && json_object_is_type(rev, json_type_string)) {
		out->revision_text = xstrdup(json_object_get_string(rev));
	}
	out->revision_current = kubectl_deployment_revision(deployment);
	if (out->revision_current < 0) {
		out->revision_current = 0;
	}
	out->images_current = kubectl_template_images(dtemplate);

	cands = xcalloc((items != NULL ? json_object_array_length(items) : 0) + 1, sizeof(*cands));
	nc = deployment_history(cands, deployment, items, uid);
	target = deployment_undo_target(cands, nc, to_revision);
	if (target != NULL) {
		deployment_undo_decide(out, deployment, target);
	} else if (to_revision > 0) {
		out->verdict = KUBECTL_UNDO_NOT_FOUND;
		out->message =
			xasprintf("unable to find specified revision %ld in history", to_revision);
	} else {
		out->verdict = KUBECTL_UNDO_NO_HISTORY;
		out->message = xasprintf("no rollout history found for deployment \"%s\"", name);
	}
	free(cands);
	return 0;
}

/* ---- Deployment: rollout status ---- */

void
kubectl_deployment_status_read(struct kubectl_deployment_status *out,
			       struct json_object *deployment)
{
	struct json_object *status = jsonh_member(deployment, "status");
	struct json_object *conds = jsonh_member(status, "conditions");
	size_t i, n;

	memset(out, 0, sizeof(*out));
	(void)jsonh_get_int(&out->generation, jsonh_member(deployment, "metadata"), "generation");
	(void)jsonh_get_int(&out->observed_generation, status, "observedGeneration");
	out->has_spec_replicas =
		jsonh_get_int(&out->spec_replicas, jsonh_member(deployment, "spec"), "replicas");
	(void)jsonh_get_int(&out->replicas, status, "replicas");
	(void)jsonh_get_int(&out->updated, status, "updatedReplicas");
	(void)jsonh_get_int(&out->available, status, "availableReplicas");
	n = conds != NULL && json_object_is_type(conds, json_type_array)
		    ? json_object_array_length(conds)
		    : 0;
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);
		if (strcmp(jsonh_get_string_or(c, "type", ""), "Progressing") == 0 &&
		    strcmp(jsonh_get_string_or(c, "reason", ""), "ProgressDeadlineExceeded") == 0) {
			out->deadline_exceeded = true;
		}
	}
	out->revision = kubectl_deployment_revision(deployment);
}

enum kubectl_rollout_state
kubectl_deployment_rollout_judge(const struct kubectl_deployment_status *r, char *msg, size_t size)
{
	if (r->generation <= r->observed_generation) {
		if (r->deadline_exceeded) {
			(void)snprintf(msg, size, "exceeded its progress deadline");
			return KUBECTL_ROLLOUT_FAILED;
		}
		if (r->has_spec_replicas && r->updated < r->spec_replicas) {
			(void)snprintf(msg, size, "%lld out of %lld new replicas have been updated",
				       (long long)r->updated, (long long)r->spec_replicas);
			return KUBECTL_ROLLOUT_WAITING;
		}
		if (r->replicas > r->updated) {
			(void)snprintf(msg, size, "%lld old replicas are pending termination",
				       (long long)(r->replicas - r->updated));
			return KUBECTL_ROLLOUT_WAITING;
		}
		if (r->available < r->updated) {
			(void)snprintf(msg, size, "%lld of %lld updated replicas are available",
				       (long long)r->available, (long long)r->updated);
			return KUBECTL_ROLLOUT_WAITING;
		}
		(void)snprintf(msg, size, "successfully rolled out");
		return KUBECTL_ROLLOUT_DONE;
	}
	(void)snprintf(msg, size, "waiting for the deployment spec update to be observed");
	return KUBECTL_ROLLOUT_WAITING;
}

/* ---- StatefulSet and DaemonSet: ControllerRevisions ---- */

long
kubectl_controller_revision(struct json_object *revision)
{
	int64_t v;

	if (!jsonh_get_int(&v, revision, "revision") || v < 0 || v > (int64_t)LONG_MAX) {
		return -1;
	}
	return (long)v;
}

static int
cmp_revision(const void *pa, const void *pb)
{
	long a = kubectl_controller_revision(*(struct json_object *const *)pa);
	long b = kubectl_controller_revision(*(struct json_object *const *)pb);

	return a < b ? -1 : a > b;
}

/* history.go controlledHistory: the revisions controlled by the object, by revision ascending */
static size_t
revision_history(struct json_object **cands, struct json_object *items, const char *uid)
{
	size_t i, n = items != NULL ? json_object_array_length(items) : 0, nc = 0;

	for (i = 0; i < n; i++) {
		struct json_object *cr = json_object_array_get_idx(items, i);
		if (cr == NULL || !json_object_is_type(cr, json_type_object) ||
		    !kubectl_controlled_by(cr, uid) || kubectl_controller_revision(cr) < 0) {
			continue;
		}
		cands[nc++] = cr;
	}
	/* sort.Sort is not stable either; revisions do not tie in a real history */
	qsort(cands, nc, sizeof(*cands), cmp_revision);
	return nc;
}

/* the pod template a revision's data restores, without the "$patch" directive; caller puts */
static struct json_object *
revision_template(struct json_object *cr)
{
	struct json_object *t = jsonh_member(jsonh_member(jsonh_member(cr, "data"), "spec"), "template");
	struct json_object *copy = NULL;

	if (t == NULL || !json_object_is_type(t, json_type_object)) {
		return NULL;
	}
	if (json_object_deep_copy(t, &copy, NULL) != 0) {
		return NULL;
	}
	json_object_object_del(copy, "$patch");
	return copy;
}

char *
kubectl_patch_with_resource_version(const char *patch, const char *rv)
{
	struct json_object *doc = NULL, *md;
	char *out;

	if (jsonh_parse(&doc, patch, strlen(patch), NULL) < 0 ||
	    !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		return NULL;
	}
	md = jsonh_member(doc, "metadata");
	if (md == NULL || !json_object_is_type(md, json_type_object)) {
		md = json_object_new_object();
		jsonh_add(doc, "metadata", md);
	}
	json_object_object_del(md, "resourceVersion");
	jsonh_add_string(md, "resourceVersion", rv);
	out = xstrdup(jsonh_to_string(doc, false));
	json_object_put(doc);
	return out;
}

static void
revision_undo_decide(struct kubectl_undo_plan *out, struct json_object *object, struct json_object *target)
{
	struct json_object *live = jsonh_member(jsonh_member(object, "spec"), "template");
	struct json_object *restored = revision_template(target);
	struct json_object *data = jsonh_member(target, "data");

	out->revision_target = kubectl_controller_revision(target);
	out->target_name = xstrdup(jsonh_get_string_or(jsonh_member(target, "metadata"), "name", "?"));
	out->images_target = restored != NULL ? kubectl_template_images(restored) : xstrdup("?");
	if (restored != NULL && kubectl_semantic_equal(restored, live)) {
		out->verdict = KUBECTL_UNDO_MATCHES;
		out->message = xasprintf("skipped rollback (current template already matches revision %ld)",
					 out->revision_target);
	} else if (data == NULL || !json_object_is_type(data, json_type_object) || restored == NULL) {
		/* the API server would refuse it; kubectl sends it anyway and reports the refusal */
		out->verdict = KUBECTL_UNDO_NOT_FOUND;
		out->message = xasprintf("revision %ld (%s) holds no pod template to restore", out->revision_target,
					 out->target_name);
	} else {
		char *raw = xstrdup(jsonh_to_string(data, false));
		out->verdict = KUBECTL_UNDO_PATCH;
		out->strategic = true;
		out->patch = kubectl_patch_with_resource_version(raw, out->resource_version);
		free(raw);
		out->message = xasprintf("rolls back to revision %ld", out->revision_target);
	}
	json_object_put(restored);
}

int
kubectl_revision_undo_plan(struct kubectl_undo_plan *out,
			   const char *kind,
			   struct json_object *object,
			   struct json_object *revisions,
			   long to_revision,
			   struct error *err)
{
	struct json_object *md = jsonh_member(object, "metadata");
	struct json_object *template = jsonh_member(jsonh_member(object, "spec"), "template");
	struct json_object *items = revisions, *target = NULL;
	struct json_object **cands;
	const char *name, *uid, *rv;
	size_t nc, i;

	memset(out, 0, sizeof(*out));
	name = jsonh_get_string_or(md, "name", NULL);
	uid = jsonh_get_string_or(md, "uid", NULL);
	rv = jsonh_get_string_or(md, "resourceVersion", NULL);
	if (name == NULL || uid == NULL || rv == NULL || template == NULL ||
	    !json_object_is_type(template, json_type_object)) {
		return error_set(err, ERR_PARSE,
				 "the %s lacks metadata.name, metadata.uid, metadata.resourceVersion or spec.template",
				 kind);
	}
	if (items != NULL && json_object_is_type(items, json_type_object)) {
		items = jsonh_member(items, "items");
	}
	if (items != NULL && !json_object_is_type(items, json_type_array)) {
		return error_set(err, ERR_PARSE, "the ControllerRevision list is not a list");
	}
	out->name = xstrdup(name);
	out->uid = xstrdup(uid);
	out->resource_version = xstrdup(rv);
	(void)jsonh_get_int(&out->generation, md, "generation");
	out->images_current = kubectl_template_images(template);

	cands = xcalloc((items != NULL ? json_object_array_length(items) : 0) + 1, sizeof(*cands));
	nc = revision_history(cands, items, uid);
	out->revision_current = nc > 0 ? kubectl_controller_revision(cands[nc - 1]) : 0;
	if (to_revision == 0) {
		target = nc >= 2 ? cands[nc - 2] : NULL;
	} else {
		for (i = 0; i < nc && target == NULL; i++) {
			if (kubectl_controller_revision(cands[i]) == to_revision) {
				target = cands[i];
			}
		}
	}
	if (target != NULL) {
		revision_undo_decide(out, object, target);
	} else if (to_revision > 0) {
		out->verdict = KUBECTL_UNDO_NOT_FOUND;
		out->message = xasprintf("unable to find specified revision %ld in history", to_revision);
	} else {
		out->verdict = KUBECTL_UNDO_NO_HISTORY;
		out->message = xstrdup("no last revision to roll back to");
	}
	free(cands);
	return 0;
}

/* ---- rollout status of every kind ---- */

static int64_t
get_int_or(struct json_object *obj, const char *key, int64_t dflt)
{
	int64_t v;

	return jsonh_get_int(&v, obj, key) ? v : dflt;
}

static bool
rolling_update(struct json_object *spec)
{
	return strcmp(jsonh_get_string_or(jsonh_member(spec, "updateStrategy"), "type", ""), "RollingUpdate") == 0;
}

static enum kubectl_rollout_state
statefulset_judge(struct json_object *sts, char *msg, size_t size)
{
	struct json_object *spec = jsonh_member(sts, "spec");
	struct json_object *status = jsonh_member(sts, "status");
	struct json_object *ru = jsonh_member(jsonh_member(spec, "updateStrategy"), "rollingUpdate");
	int64_t generation = get_int_or(jsonh_member(sts, "metadata"), "generation", 0);
	int64_t observed = get_int_or(status, "observedGeneration", 0);
	int64_t replicas, partition, updated = get_int_or(status, "updatedReplicas", 0);
	bool has_replicas = jsonh_get_int(&replicas, spec, "replicas");
	const char *update_rev = jsonh_get_string_or(status, "updateRevision", "");
	const char *current_rev = jsonh_get_string_or(status, "currentRevision", "");

	if (!rolling_update(spec)) {
		(void)snprintf(msg, size, "rollout status is only available for RollingUpdate strategy type");
		return KUBECTL_ROLLOUT_FAILED;
	}
	if (observed == 0 || generation > observed) {
		(void)snprintf(msg, size, "Waiting for statefulset spec update to be observed");
		return KUBECTL_ROLLOUT_WAITING;
	}
	if (has_replicas && get_int_or(status, "readyReplicas", 0) < replicas) {
		(void)snprintf(msg, size, "Waiting for %lld pods to be ready",
			       (long long)(replicas - get_int_or(status, "readyReplicas", 0)));
		return KUBECTL_ROLLOUT_WAITING;
	}
	if (ru != NULL && json_object_is_type(ru, json_type_object)) {
		if (has_replicas && jsonh_get_int(&partition, ru, "partition") && updated < replicas - partition) {
			(void)snprintf(msg, size,
				       "Waiting for partitioned roll out to finish: %lld out of %lld new pods have been updated",
				       (long long)updated, (long long)(replicas - partition));
			return KUBECTL_ROLLOUT_WAITING;
		}
		(void)snprintf(msg, size, "partitioned roll out complete: %lld new pods have been updated",
			       (long long)updated);
		return KUBECTL_ROLLOUT_DONE;
	}
	if (strcmp(update_rev, current_rev) != 0) {
		(void)snprintf(msg, size, "waiting for statefulset rolling update to complete %lld pods at revision %.80s",
			       (long long)updated, update_rev);
		return KUBECTL_ROLLOUT_WAITING;
	}
	(void)snprintf(msg, size, "statefulset rolling update complete %lld pods at revision %.80s",
		       (long long)get_int_or(status, "currentReplicas", 0), current_rev);
	return KUBECTL_ROLLOUT_DONE;
}

static enum kubectl_rollout_state
daemonset_judge(struct json_object *ds, char *msg, size_t size)
{
	struct json_object *status = jsonh_member(ds, "status");
	int64_t generation = get_int_or(jsonh_member(ds, "metadata"), "generation", 0);
	int64_t observed = get_int_or(status, "observedGeneration", 0);
	int64_t desired = get_int_or(status, "desiredNumberScheduled", 0);
	int64_t updated = get_int_or(status, "updatedNumberScheduled", 0);
	int64_t available = get_int_or(status, "numberAvailable", 0);

	if (!rolling_update(jsonh_member(ds, "spec"))) {
		(void)snprintf(msg, size, "rollout status is only available for RollingUpdate strategy type");
		return KUBECTL_ROLLOUT_FAILED;
	}
	if (generation <= observed) {
		if (updated < desired) {
			(void)snprintf(msg, size, "%lld out of %lld new pods have been updated", (long long)updated,
				       (long long)desired);
			return KUBECTL_ROLLOUT_WAITING;
		}
		if (available < desired) {
			(void)snprintf(msg, size, "%lld of %lld updated pods are available", (long long)available,
				       (long long)desired);
			return KUBECTL_ROLLOUT_WAITING;
		}
		(void)snprintf(msg, size, "successfully rolled out");
		return KUBECTL_ROLLOUT_DONE;
	}
	(void)snprintf(msg, size, "Waiting for daemon set spec update to be observed");
	return KUBECTL_ROLLOUT_WAITING;
}

enum kubectl_rollout_state
kubectl_rollout_judge_object(const char *kind, struct json_object *object, char *msg, size_t size,
			     long *revision_out)
{
	*revision_out = 0;
	if (strcmp(kind, "statefulset") == 0) {
		return statefulset_judge(object, msg, size);
	}
	if (strcmp(kind, "daemonset") == 0) {
		return daemonset_judge(object, msg, size);
	}
	{
		struct kubectl_deployment_status st;
		kubectl_deployment_status_read(&st, object);
		*revision_out = st.revision > 0 ? st.revision : 0;
		return kubectl_deployment_rollout_judge(&st, msg, size);
	}
}
