/* SPDX-License-Identifier: MIT */
#ifndef SRC_MANAGER_H
#define SRC_MANAGER_H

#include <stdbool.h>

/*
 * Who else manages a workload: a GitOps controller (Argo CD, Flux) or Helm. Read from the
 * workload's own labels and annotations at preflight, because a controller with self-heal
 * reverts a `kubectl rollout undo` within seconds and Helm's history no longer matches the
 * cluster afterwards. Pure: no I/O.
 */

struct json_object;

enum manager_kind {
	MANAGER_NONE,
	MANAGER_ARGOCD,            /* Argo CD Application */
	MANAGER_FLUX_KUSTOMIZATION, /* Flux kustomize-controller */
	MANAGER_FLUX_HELM,         /* Flux helm-controller (a HelmRelease) */
	MANAGER_HELM,              /* a Helm release installed by the helm CLI */
};

struct manager_info {
	enum manager_kind kind;
	char *name;        /* Application, Kustomization, HelmRelease or release name; may be NULL */
	char *namespace;   /* the Flux object's or Helm release's namespace; may be NULL */
	const char *via;   /* the label or annotation that told, static */
};

/* reads metadata (labels, annotations); out is MANAGER_NONE when nothing says; caller disposes */
void manager_detect(struct manager_info *out, struct json_object *metadata);
void manager_info_dispose(struct manager_info *m);
void manager_info_copy(struct manager_info *out, const struct manager_info *in);

/* "argocd", "flux", "helm", or NULL for none: the report's manager.kind */
const char *manager_kind_name(enum manager_kind k);
/* "Argo CD Application 'atom'", "Flux Kustomization 'apps' (namespace flux-system)", …; caller frees */
char *manager_describe(const struct manager_info *m);
/* the command to run instead of (or after) our undo, one shell line; caller frees */
char *manager_command(const struct manager_info *m, const char *commit_sha);

#endif
