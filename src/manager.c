/* SPDX-License-Identifier: MIT */
#include "manager.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonh.h"
#include "markdown.h"
#include "outside.h"
#include "util.h"

#define ARGOCD_TRACKING "argocd.argoproj.io/tracking-id"
#define ARGOCD_INSTANCE "app.kubernetes.io/instance"
#define FLUX_KS_NAME "kustomize.toolkit.fluxcd.io/name"
#define FLUX_KS_NAMESPACE "kustomize.toolkit.fluxcd.io/namespace"
#define FLUX_HELM_NAME "helm.toolkit.fluxcd.io/name"
#define FLUX_HELM_NAMESPACE "helm.toolkit.fluxcd.io/namespace"
#define HELM_MANAGED_BY "app.kubernetes.io/managed-by"
#define HELM_RELEASE "meta.helm.sh/release-name"
#define HELM_RELEASE_NAMESPACE "meta.helm.sh/release-namespace"

/* Kubernetes label values are at most 63 characters, annotation values far more: bound what we keep */
#define MANAGER_NAME_MAX 253

static const char *
member(struct json_object *map, const char *key)
{
	const char *v = jsonh_get_string_or(map, key, NULL);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* a name from a label or annotation, as outside text: one printable line, bounded */
static char *
bounded(const char *s, size_t n)
{
	return s != NULL ? outside_line(s, n, MANAGER_NAME_MAX) : NULL;
}

static void
set(struct manager_info *out, enum manager_kind kind, const char *name, size_t name_len, const char *ns,
    const char *via)
{
	out->kind = kind;
	out->name = bounded(name, name_len);
	out->namespace = ns != NULL ? bounded(ns, strlen(ns)) : NULL;
	out->via = via;
}

void
manager_detect(struct manager_info *out, struct json_object *metadata)
{
	struct json_object *labels = jsonh_member(metadata, "labels");
	struct json_object *annotations = jsonh_member(metadata, "annotations");
	const char *v, *managed_by;

	memset(out, 0, sizeof(*out));
	/*
	 * most specific first: Flux's helm-controller installs with Helm (so its objects carry Helm's
	 * marks too) and Argo CD renders Helm charts (so managed-by: Helm appears there as well)
	 */
	v = member(annotations, ARGOCD_TRACKING);
	if (v != NULL) {
		/* "<app>:<group>/<kind>:<namespace>/<name>"; the app may be "<namespace>_<app>" */
		const char *colon = strchr(v, ':');
		set(out, MANAGER_ARGOCD, v, colon != NULL ? (size_t)(colon - v) : strlen(v), NULL,
		    "annotation " ARGOCD_TRACKING);
		return;
	}
	v = member(labels, FLUX_HELM_NAME);
	if (v != NULL) {
		set(out, MANAGER_FLUX_HELM, v, strlen(v), member(labels, FLUX_HELM_NAMESPACE), "label " FLUX_HELM_NAME);
		return;
	}
	v = member(labels, FLUX_KS_NAME);
	if (v != NULL) {
		set(out, MANAGER_FLUX_KUSTOMIZATION, v, strlen(v), member(labels, FLUX_KS_NAMESPACE),
		    "label " FLUX_KS_NAME);
		return;
	}
	managed_by = member(labels, HELM_MANAGED_BY);
	v = member(annotations, HELM_RELEASE);
	if (managed_by != NULL && strcmp(managed_by, "Helm") == 0 && v != NULL) {
		set(out, MANAGER_HELM, v, strlen(v), member(annotations, HELM_RELEASE_NAMESPACE),
		    "label " HELM_MANAGED_BY "=Helm and annotation " HELM_RELEASE);
		return;
	}
	/*
	 * Argo CD's label tracking (its default before 3.0). The label is also one of Kubernetes'
	 * recommended labels, so a workload applied by hand may carry it: the report says which
	 * label decided, and managed-rollback: warn (the default) still rolls back
	 */
	v = member(labels, ARGOCD_INSTANCE);
	if (v != NULL && (managed_by == NULL || strcmp(managed_by, "Helm") != 0)) {
		set(out, MANAGER_ARGOCD, v, strlen(v), NULL, "label " ARGOCD_INSTANCE);
	}
}

void
manager_info_dispose(struct manager_info *m)
{
	free(m->name);
	free(m->namespace);
	memset(m, 0, sizeof(*m));
}

void
manager_info_copy(struct manager_info *out, const struct manager_info *in)
{
	out->kind = in->kind;
	out->name = in->name != NULL ? xstrdup(in->name) : NULL;
	out->namespace = in->namespace != NULL ? xstrdup(in->namespace) : NULL;
	out->via = in->via;
}

const char *
manager_kind_name(enum manager_kind k)
{
	switch (k) {
	case MANAGER_ARGOCD:
		return "argocd";
	case MANAGER_FLUX_KUSTOMIZATION:
	case MANAGER_FLUX_HELM:
		return "flux";
	case MANAGER_HELM:
		return "helm";
	case MANAGER_NONE:
	default:
		return NULL;
	}
}

char *
manager_describe(const struct manager_info *m)
{
	static const char *const what[] = {
		[MANAGER_NONE] = "nothing",
		[MANAGER_ARGOCD] = "Argo CD Application",
		[MANAGER_FLUX_KUSTOMIZATION] = "Flux Kustomization",
		[MANAGER_FLUX_HELM] = "Flux HelmRelease",
		[MANAGER_HELM] = "Helm release",
	};
	struct buf b = BUF_INIT;

	buf_puts(&b, what[m->kind]);
	if (m->name != NULL) {
		buf_printf(&b, " '%s'", m->name);
	}
	if (m->namespace != NULL) {
		buf_printf(&b, " (namespace %s)", m->namespace);
	}
	return buf_steal(&b);
}

/* one more word of a shell command line */
static void
word(struct buf *b, const char *s)
{
	buf_putc(b, ' ');
	md_shell_word(b, s);
}

char *
manager_command(const struct manager_info *m, const char *commit_sha)
{
	struct buf b = BUF_INIT;
	const char *name = m->name != NULL ? m->name : "NAME";

	switch (m->kind) {
	case MANAGER_ARGOCD:
		/* argocd refuses app rollback while auto-sync is on: say both */
		buf_puts(&b, "argocd app rollback");
		word(&b, name);
		buf_puts(&b, "   # needs auto-sync off; or revert the commit in Git:");
		buf_puts(&b, " git revert");
		word(&b, commit_sha != NULL ? commit_sha : "COMMIT");
		break;
	case MANAGER_FLUX_KUSTOMIZATION:
		buf_puts(&b, "git revert");
		word(&b, commit_sha != NULL ? commit_sha : "COMMIT");
		buf_puts(&b, " && git push   # then: flux reconcile kustomization");
		word(&b, name);
		if (m->namespace != NULL) {
			buf_puts(&b, " -n");
			word(&b, m->namespace);
		}
		break;
	case MANAGER_FLUX_HELM:
		buf_puts(&b, "git revert");
		word(&b, commit_sha != NULL ? commit_sha : "COMMIT");
		buf_puts(&b, " && git push   # then: flux reconcile helmrelease");
		word(&b, name);
		if (m->namespace != NULL) {
			buf_puts(&b, " -n");
			word(&b, m->namespace);
		}
		break;
	case MANAGER_HELM:
		buf_puts(&b, "helm rollback");
		word(&b, name);
		if (m->namespace != NULL) {
			buf_puts(&b, " -n");
			word(&b, m->namespace);
		}
		break;
	case MANAGER_NONE:
	default:
		buf_puts(&b, "kubectl rollout undo");
		break;
	}
	return buf_steal(&b);
}
