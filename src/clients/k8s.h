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
 * The undo plan (kubectl's `rollout undo`) and the rollout judgement (`rollout status`) are pure
 * functions over json-c objects, for unit tests and fuzzing.
 */

#define K8S_REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define K8S_HASH_LABEL "pod-template-hash"

struct k8s_client;

/* borrows http and target, which must outlive the client; timeout_ms per request */
struct k8s_client *k8s_client_new(struct http *http, const struct kube_target *target,
				  const struct retry_policy *retry, int64_t timeout_ms);
void k8s_client_free(struct k8s_client *c);

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
int k8s_deployment_watch(struct k8s_client *c, const char *namespace, const char *name,
			 const char *resource_version, int64_t deadline_ms, k8s_watch_fn *fn, void *user,
			 struct error *err);

/* ---- pure functions ---- */

/* a LabelSelector (matchLabels, matchExpressions) as selector text: "app=atom,tier in (a,b)"; ERR_PARSE */
int k8s_selector_format(char **out, struct json_object *selector, struct error *err);
/* whether labels (an object, or NULL) satisfy selector; an unusable selector matches nothing */
bool k8s_selector_matches(struct json_object *selector, struct json_object *labels);
/* apimachinery's Semantic.DeepEqual on JSON: null, {} and [] equal an absent member */
bool k8s_json_semantic_equal(struct json_object *a, struct json_object *b);
/* kubectl's equalIgnoreHash: pod templates equal once pod-template-hash is left out */
bool k8s_template_equal_ignore_hash(struct json_object *a, struct json_object *b);
/* the images of a pod template: "image" for one container, else "name=image, name=image"; caller frees */
char *k8s_template_images(struct json_object *template);
/* the revision annotation of an object: 0 when absent, -1 when not a number (kubectl skips those) */
long k8s_revision(struct json_object *obj);

enum k8s_undo_verdict {
	K8S_UNDO_PATCH,      /* the patch restores the target revision */
	K8S_UNDO_MATCHES,    /* the template already equals the target's: nothing to send */
	K8S_UNDO_NO_HISTORY, /* no previous revision: a first deployment */
	K8S_UNDO_NOT_FOUND,  /* to-revision is not in the history */
	K8S_UNDO_PAUSED,     /* kubectl refuses a paused Deployment */
};

struct k8s_undo_plan {
	enum k8s_undo_verdict verdict;
	char *name;
	char *uid;
	long revision_current;   /* the Deployment's revision annotation, 0 when absent */
	char *revision_text;     /* its exact text, compared by the patch's test operation */
	long revision_target;    /* 0 when there is none */
	char *target_name;       /* the ReplicaSet restored */
	char *images_current;
	char *images_target;
	char *patch;             /* K8S_UNDO_PATCH: the JSON Patch text, the test operation first */
	char *message;           /* kubectl's words for the verdict */
};

/*
 * kubectl rollout undo (pkg/polymorphichelpers/rollback.go) on a Deployment and the ReplicaSets
 * listed by its selector (an array or a ReplicaSetList): the candidates are those controlled by
 * it, the target the second-highest revision or to_revision (0: previous). Returns 0 with a
 * verdict, or ERR_PARSE when the objects lack what every Deployment has.
 */
int k8s_undo_plan(struct k8s_undo_plan *out, struct json_object *deployment, struct json_object *replicasets,
		  long to_revision, struct error *err);
void k8s_undo_plan_dispose(struct k8s_undo_plan *p);

/* what `kubectl rollout status` looks at */
struct k8s_rollout {
	int64_t generation;
	int64_t observed_generation;
	bool has_spec_replicas;
	int64_t spec_replicas;
	int64_t replicas;
	int64_t updated;
	int64_t available;
	bool deadline_exceeded;   /* Progressing condition, reason ProgressDeadlineExceeded */
	long revision;
};

enum k8s_rollout_state {
	K8S_ROLLOUT_WAITING,
	K8S_ROLLOUT_DONE,
	K8S_ROLLOUT_FAILED,
};

void k8s_rollout_read(struct k8s_rollout *out, struct json_object *deployment);
/* rollout_status.go's decision; msg gets its words ("1 of 2 updated replicas are available") */
enum k8s_rollout_state k8s_rollout_judge(const struct k8s_rollout *r, char *msg, size_t size);

#endif
