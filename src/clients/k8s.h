/* SPDX-License-Identifier: MIT */
#ifndef SRC_CLIENTS_K8S_H
#define SRC_CLIENTS_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"
#include "http.h"
#include "kubeconfig.h"
#include "retry.h"

/*
 * The Kubernetes API, apps/v1 only: Deployments and ReplicaSets at fixed paths (no discovery),
 * `Accept: application/json`. Failures come back as one plain line in err:
 *   ERR_AUTH       401/403, naming the verb, resource and namespace
 *   ERR_NOT_FOUND  404, naming the Deployment and namespace
 *   ERR_CONFLICT   409/422 (the caller knows whether a JSON Patch test failed)
 *   ERR_TIMEOUT, ERR_TLS, ERR_NETWORK, ERR_HTTP, ERR_PARSE, ERR_CANCELLED
 *
 * What kubectl decides on the objects returned here (the undo plan, the rollout judgement,
 * selectors) is in kubectl.h: pure functions, tested and fuzzed without this file.
 */

struct k8s_client;

/* borrows http and target, which must outlive the client; timeout_ms per request */
struct k8s_client *k8s_client_new(struct http *http, const struct kube_target *target,
				  const struct retry_policy *retry, int64_t timeout_ms);
void k8s_client_free(struct k8s_client *c);

/* GET …/<resource>/NAME (deployments, statefulsets, daemonsets); *out is a new reference */
int k8s_object_get(struct json_object **out, struct k8s_client *c, const char *resource, const char *namespace,
		   const char *name, struct error *err);
/* GET …/<resource>?labelSelector=<selector>; *out = the items array, a new reference */
int k8s_list(struct json_object **out, struct k8s_client *c, const char *resource, const char *namespace,
	     struct json_object *selector, struct error *err);
/* GET …/deployments/NAME; *out is a new reference */
int k8s_deployment_get(struct json_object **out, struct k8s_client *c, const char *namespace,
		       const char *name, struct error *err);
/* GET …/replicasets?labelSelector=<the Deployment's spec.selector>; *out = the items array, a new reference */
int k8s_replicasets_list(struct json_object **out, struct k8s_client *c, const char *namespace,
			 struct json_object *selector, struct error *err);

/*
 * One JSON Patch (application/json-patch+json) per Deployment, sent together in one batch that a
 * SIGTERM does not interrupt: each is sent whole or not at all. Retried only when it cannot have
 * reached the server.
 */
struct k8s_patch {
	const char *namespace;     /* in */
	const char *name;
	const char *resource;      /* NULL: deployments */
	const char *content_type;  /* NULL: application/json-patch+json */
	const char *body;
	bool dry_run;              /* ?dryRun=All */
	int64_t sent_ms;           /* out: monotonic time it was handed to libcurl */
	int rc;                    /* out: 0 or the error code */
	struct error err;
	struct json_object *result; /* out: the patched Deployment (owned; k8s_patch_dispose) */
	char *url;                 /* private */
	struct http_request req;
};
/* returns 0 when every patch has an outcome (see each rc), or an error that stopped them all */
int k8s_deployments_patch(struct k8s_client *c, struct k8s_patch *patches, size_t n, struct error *err);
void k8s_patch_dispose(struct k8s_patch *p);

/*
 * Follows one Deployment like `kubectl rollout status`: a watch from resource_version (NULL: GET
 * it first and hand that to fn), re-watched from the last resourceVersion seen when the server
 * closes the stream, re-read after 410 Expired, polled with a growing delay if watching is
 * forbidden. fn gets each new state of the object and returns non-zero to stop.
 * Returns 0 when fn stopped it; ERR_TIMEOUT at deadline_ms (monotonic); ERR_CANCELLED on SIGTERM;
 * ERR_NOT_FOUND when the Deployment is deleted; other codes from the API.
 */
typedef int k8s_watch_fn(struct json_object *deployment, void *user);
int k8s_object_watch(struct k8s_client *c, const char *resource, const char *namespace, const char *name,
		     const char *resource_version, int64_t deadline_ms, k8s_watch_fn *fn, void *user,
		     struct error *err);
int k8s_deployment_watch(struct k8s_client *c, const char *namespace, const char *name,
			 const char *resource_version, int64_t deadline_ms, k8s_watch_fn *fn, void *user,
			 struct error *err);

#endif
