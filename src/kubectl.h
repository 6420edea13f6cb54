/* SPDX-License-Identifier: MIT */
#ifndef SRC_KUBECTL_H
#define SRC_KUBECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

/*
 * kubectl's rules as pure functions over parsed json-c objects: no I/O, no clock, no HTTP. The
 * Kubernetes API calls live in clients/k8s.c; this module decides what kubectl would decide on the
 * objects they return, so that tests/unit/test-kubectl.c and fuzz/fuzz-k8s.c link it alone.
 *
 * Laid out for more kinds of workload: the shared rules first (selectors, apimachinery's semantic
 * equality, templates, ownership, history order), one undo plan and one rollout state for every
 * kind, then one section per kind (kubectl_<kind>_undo_plan, kubectl_<kind>_status_read and
 * kubectl_<kind>_rollout_judge). Objects passed in are borrowed; strings returned are the caller's.
 */

#define KUBECTL_REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define KUBECTL_HASH_LABEL "pod-template-hash"

/* ---- shared rules ---- */

/* a LabelSelector (matchLabels, matchExpressions) as text: "app=atom,tier in (a,b)"; ERR_PARSE */
int kubectl_selector_format(char **out, struct json_object *selector, struct error *err);
/* whether labels (an object, or NULL) satisfy selector; an unusable selector matches nothing */
bool kubectl_selector_matches(struct json_object *selector, struct json_object *labels);
/* apimachinery's Semantic.DeepEqual on JSON: null, {} and [] equal an absent member */
bool kubectl_semantic_equal(struct json_object *a, struct json_object *b);
/* pod templates semantically equal once the label named label is left out of both */
bool kubectl_template_equal_without_label(struct json_object *a,
					  struct json_object *b,
					  const char *label);
/* a deep copy of a pod template without the label named label; caller puts; NULL for NULL */
struct json_object *kubectl_template_without_label(struct json_object *template, const char *label);
/* the images of a pod template: "image", or "name=image, name=image" for more; caller frees */
char *kubectl_template_images(struct json_object *template);
/* whether obj's controller (metav1.GetControllerOf: the first controller reference) has uid */
bool kubectl_controlled_by(struct json_object *obj, const char *uid);
/* sorts oldest first by metadata.creationTimestamp, then name (ReplicaSetsByCreationTimestamp) */
void kubectl_sort_by_creation(struct json_object **objects, size_t n);
/* Go's strconv.ParseInt(s, 10, 64) into a long: an optional sign and decimal digits */
bool kubectl_parse_int(long *out, const char *s);

/* ---- the undo plan and the rollout state, the same for every kind ---- */

enum kubectl_undo_verdict {
	KUBECTL_UNDO_PATCH,      /* the patch restores the target revision */
	KUBECTL_UNDO_MATCHES,    /* the template already equals the target's: nothing to send */
	KUBECTL_UNDO_NO_HISTORY, /* no previous revision: a first deployment */
	KUBECTL_UNDO_NOT_FOUND,  /* to-revision is not in the history */
	KUBECTL_UNDO_PAUSED,     /* kubectl refuses a paused workload */
};

struct kubectl_undo_plan {
	enum kubectl_undo_verdict verdict;
	char *name;
	char *uid;
	long revision_current; /* the workload's revision, 0 when absent */
	char *revision_text;   /* its exact text, compared by the patch's test operation */
	long revision_target;  /* 0 when there is none */
	char *target_name;     /* the history object restored (a ReplicaSet for a Deployment) */
	char *images_current;
	char *images_target;
	char *patch;   /* KUBECTL_UNDO_PATCH: the JSON Patch text, the test operation first */
	char *message; /* kubectl's words for the verdict */
	/* StatefulSet and DaemonSet: the patch is a strategic merge patch guarded by these */
	bool strategic;         /* patch is application/strategic-merge-patch+json */
	char *resource_version; /* the object's, at planning: the patch's precondition */
	int64_t generation;     /* the object's spec generation at planning */
};

void kubectl_undo_plan_dispose(struct kubectl_undo_plan *p);

enum kubectl_rollout_state {
	KUBECTL_ROLLOUT_WAITING,
	KUBECTL_ROLLOUT_DONE,
	KUBECTL_ROLLOUT_FAILED,
};

/* ---- Deployment ---- */

/* the revision annotation of a Deployment or ReplicaSet: 0 when absent, -1 when not a number
 * (kubectl skips those) */
long kubectl_deployment_revision(struct json_object *obj);
/* kubectl's equalIgnoreHash: pod templates equal once pod-template-hash is left out */
bool kubectl_deployment_template_equal(struct json_object *a, struct json_object *b);

/*
 * kubectl rollout undo (pkg/polymorphichelpers/rollback.go) on a Deployment and the ReplicaSets
 * listed by its selector (an array or a ReplicaSetList): the candidates are those controlled by
 * it, the target the second-highest revision or to_revision (0: previous). Returns 0 with a
 * verdict, or ERR_PARSE when the objects lack what every Deployment has. Dispose *out either way.
 */
int kubectl_deployment_undo_plan(struct kubectl_undo_plan *out,
				 struct json_object *deployment,
				 struct json_object *replicasets,
				 long to_revision,
				 struct error *err);

/* what `kubectl rollout status` looks at in a Deployment */
struct kubectl_deployment_status {
	int64_t generation;
	int64_t observed_generation;
	bool has_spec_replicas;
	int64_t spec_replicas;
	int64_t replicas;
	int64_t updated;
	int64_t available;
	bool deadline_exceeded; /* Progressing condition, reason ProgressDeadlineExceeded */
	long revision;
};

void kubectl_deployment_status_read(struct kubectl_deployment_status *out,
				    struct json_object *deployment);
/* rollout_status.go's decision; msg gets its words ("1 of 2 updated replicas are available") */
enum kubectl_rollout_state
kubectl_deployment_rollout_judge(const struct kubectl_deployment_status *s, char *msg, size_t size);

/* ---- StatefulSet and DaemonSet: ControllerRevisions ---- */

/* the revision number of a ControllerRevision (its top-level "revision"); -1 when absent or bad */
long kubectl_controller_revision(struct json_object *revision);

/*
 * kubectl rollout undo (rollback.go StatefulSetRollbacker, DaemonSetRollbacker) on a StatefulSet
 * or DaemonSet (kind "statefulset" or "daemonset", for messages) and the ControllerRevisions listed
 * by its selector (an array or a list): the history is those controlled by it; with to_revision 0
 * the target is the second-highest revision ("no last revision to roll back to" with fewer than
 * two), else exactly to_revision. The template already matching the target's data is a skip
 * (kubectl compares the bytes of the same patch; here the templates, semantically, as for a
 * Deployment). The patch is the target's data, as kubectl sends it with
 * application/strategic-merge-patch+json, plus metadata.resourceVersion: the API server takes it as
 * a precondition, so a patch planned before someone else's release is refused (409) instead of
 * undoing it. Returns 0 with a verdict, or ERR_PARSE. Dispose *out either way.
 */
int kubectl_revision_undo_plan(struct kubectl_undo_plan *out,
			       const char *kind,
			       struct json_object *object,
			       struct json_object *revisions,
			       long to_revision,
			       struct error *err);

/* the strategic merge patch text with metadata.resourceVersion set to rv; NULL if not an object */
char *kubectl_patch_with_resource_version(const char *patch, const char *rv);

/*
 * rollout_status.go for every kind: kind is "deployment", "statefulset" or "daemonset"; msg gets
 * kubectl's words ("Waiting for partitioned roll out to finish: 1 out of 3 new pods have been
 * updated"); *revision_out the Deployment's revision (0 for the other kinds, whose numbers live in
 * their ControllerRevisions). An OnDelete update strategy is FAILED, as kubectl reports it.
 */
enum kubectl_rollout_state kubectl_rollout_judge_object(const char *kind,
							struct json_object *object,
							char *msg,
							size_t size,
							long *revision_out);

#endif
