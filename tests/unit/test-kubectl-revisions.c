/* SPDX-License-Identifier: MIT */
/*
 * kubectl's rules for StatefulSets and DaemonSets (kubectl.c alone): the undo plan over
 * ControllerRevisions and rollout_status.go's words for both kinds, partition and OnDelete included.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonh.h"
#include "kubectl.h"
#include "tap.h"
#include "util.h"

#define UID "11111111-2222-3333-4444-555555555555"
#define TEMPLATE(tag) \
	"{\"metadata\":{\"labels\":{\"app\":\"db\"}},\"spec\":{\"containers\":[{\"name\":\"db\",\"image\":\"db:" tag "\"}]}}"
#define REVISION(name, rev, tag, owner) \
	"{\"metadata\":{\"name\":\"" name "\",\"ownerReferences\":[{\"uid\":\"" owner "\",\"controller\":true}]}," \
	"\"revision\":" rev ",\"data\":{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\":{\"labels\":{\"app\":\"db\"}}," \
	"\"spec\":{\"containers\":[{\"name\":\"db\",\"image\":\"db:" tag "\"}]}}}}}"

static struct json_object *
parse(const char *s)
{
	struct json_object *o = NULL;
	struct error err = ERROR_INIT;

	if (jsonh_parse(&o, s, strlen(s), &err) < 0) {
		printf("# bad fixture: %s\n", err.msg);
	}
	return o;
}

static struct json_object *
sts(const char *tag)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"db\",\"uid\":\"" UID "\",\"resourceVersion\":\"42\",\"generation\":3},"
			    "\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"db\"}},\"spec\":{\"containers\":"
			    "[{\"name\":\"db\",\"image\":\"db:%s\"}]}}}}",
			    tag);
	struct json_object *o = parse(s);

	free(s);
	return o;
}

static void
plan(struct kubectl_undo_plan *p, const char *live, const char *revisions, long to)
{
	struct json_object *o = sts(live), *r = parse(revisions);
	struct error err = ERROR_INIT;

	if (kubectl_revision_undo_plan(p, "statefulset", o, r, to, &err) < 0) {
		printf("# %s\n", err.msg);
	}
	json_object_put(o);
	json_object_put(r);
}

static void
test_revisions__plan(void)
{
	static const char history[] = "[" REVISION("db-c", "3", "v3", UID) "," REVISION("db-a", "1", "v1", UID) ","
				      REVISION("db-b", "2", "v2", UID) "," REVISION("other", "9", "v9", "someone-else") "]";
	struct kubectl_undo_plan p;
	struct json_object *patch, *md;

	plan(&p, "v3", history, 0);
	ok(p.verdict == KUBECTL_UNDO_PATCH && p.revision_target == 2 && p.revision_current == 3,
	   "default target: the second-highest revision the object controls (the foreign 9 ignored)");
	is_str(p.target_name, "db-b", "the revision restored");
	is_str(p.images_target, "db:v2", "its image");
	ok(p.strategic, "a strategic merge patch, as kubectl sends for this kind");
	patch = parse(p.patch);
	md = jsonh_member(patch, "metadata");
	is_str(jsonh_get_string_or(md, "resourceVersion", NULL), "42", "guarded by the object's resourceVersion");
	ok(jsonh_member(jsonh_member(jsonh_member(patch, "spec"), "template"), "$patch") != NULL,
	   "the revision's data as it is, $patch: replace kept");
	is_int(p.generation, 3, "the generation a conflict is judged by");
	json_object_put(patch);
	kubectl_undo_plan_dispose(&p);

	plan(&p, "v3", history, 1);
	ok(p.verdict == KUBECTL_UNDO_PATCH && p.revision_target == 1, "to-revision 1");
	kubectl_undo_plan_dispose(&p);
	plan(&p, "v3", history, 9);
	ok(p.verdict == KUBECTL_UNDO_NOT_FOUND && strcmp(p.message, "unable to find specified revision 9 in history") == 0,
	   "a revision of another object is not in this history");
	kubectl_undo_plan_dispose(&p);
	plan(&p, "v2", history, 0);
	ok(p.verdict == KUBECTL_UNDO_MATCHES && p.patch == NULL, "the template already matches: a skip, no patch");
	kubectl_undo_plan_dispose(&p);
	plan(&p, "v1", "[" REVISION("db-a", "1", "v1", UID) "]", 0);
	ok(p.verdict == KUBECTL_UNDO_NO_HISTORY && strcmp(p.message, "no last revision to roll back to") == 0,
	   "one revision: kubectl's words");
	kubectl_undo_plan_dispose(&p);
	plan(&p, "v2", "{\"kind\":\"ControllerRevisionList\",\"items\":[" REVISION("db-a", "1", "v1", UID) ","
			   REVISION("db-b", "2", "v2", UID) "]}", 0);
	ok(p.verdict == KUBECTL_UNDO_PATCH && p.revision_target == 1, "a List object works as an array");
	kubectl_undo_plan_dispose(&p);
}

static enum kubectl_rollout_state
judge(const char *kind, const char *obj, char *msg, size_t size)
{
	struct json_object *o = parse(obj);
	long rev;
	enum kubectl_rollout_state s = kubectl_rollout_judge_object(kind, o, msg, size, &rev);

	json_object_put(o);
	return s;
}

static void
test_revisions__status(void)
{
	char msg[200];

#define STS(strategy, status) \
	"{\"metadata\":{\"generation\":2},\"spec\":{\"replicas\":3,\"updateStrategy\":" strategy "},\"status\":" status "}"
	ok(judge("statefulset", STS("{\"type\":\"OnDelete\"}", "{\"observedGeneration\":2}"), msg, sizeof(msg)) ==
		   KUBECTL_ROLLOUT_FAILED && strcmp(msg, "rollout status is only available for RollingUpdate strategy type") == 0,
	   "OnDelete: kubectl refuses");
	ok(judge("statefulset", STS("{\"type\":\"RollingUpdate\"}", "{\"observedGeneration\":1}"), msg, sizeof(msg)) ==
		   KUBECTL_ROLLOUT_WAITING && strstr(msg, "spec update to be observed") != NULL,
	   "not observed yet");
	ok(judge("statefulset", STS("{\"type\":\"RollingUpdate\"}", "{\"observedGeneration\":2,\"readyReplicas\":1}"), msg,
		 sizeof(msg)) == KUBECTL_ROLLOUT_WAITING && strcmp(msg, "Waiting for 2 pods to be ready") == 0,
	   "pods not ready");
	ok(judge("statefulset", STS("{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":1}}",
				    "{\"observedGeneration\":2,\"readyReplicas\":3,\"updatedReplicas\":1}"),
		 msg, sizeof(msg)) == KUBECTL_ROLLOUT_WAITING &&
		   strcmp(msg, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated") == 0,
	   "partition 1: waits for replicas - partition");
	ok(judge("statefulset", STS("{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":1}}",
				    "{\"observedGeneration\":2,\"readyReplicas\":3,\"updatedReplicas\":2}"),
		 msg, sizeof(msg)) == KUBECTL_ROLLOUT_DONE &&
		   strcmp(msg, "partitioned roll out complete: 2 new pods have been updated") == 0,
	   "partition 1: complete with 2 of 3");
	ok(judge("statefulset", STS("{\"type\":\"RollingUpdate\"}",
				    "{\"observedGeneration\":2,\"readyReplicas\":3,\"updateRevision\":\"db-b\","
				    "\"currentRevision\":\"db-a\",\"updatedReplicas\":2}"),
		 msg, sizeof(msg)) == KUBECTL_ROLLOUT_WAITING,
	   "no rollingUpdate block: waits for currentRevision to reach updateRevision");
	ok(judge("statefulset", STS("{\"type\":\"RollingUpdate\"}",
				    "{\"observedGeneration\":2,\"readyReplicas\":3,\"updateRevision\":\"db-b\","
				    "\"currentRevision\":\"db-b\",\"currentReplicas\":3}"),
		 msg, sizeof(msg)) == KUBECTL_ROLLOUT_DONE &&
		   strcmp(msg, "statefulset rolling update complete 3 pods at revision db-b") == 0,
	   "complete at the update revision");
#define DS(status) "{\"metadata\":{\"generation\":2},\"spec\":{\"updateStrategy\":{\"type\":\"RollingUpdate\"}},\"status\":" status "}"
	ok(judge("daemonset", DS("{\"observedGeneration\":2,\"desiredNumberScheduled\":3,\"updatedNumberScheduled\":1}"), msg,
		 sizeof(msg)) == KUBECTL_ROLLOUT_WAITING && strcmp(msg, "1 out of 3 new pods have been updated") == 0,
	   "daemon set: updating");
	ok(judge("daemonset", DS("{\"observedGeneration\":2,\"desiredNumberScheduled\":3,\"updatedNumberScheduled\":3,"
				 "\"numberAvailable\":2}"),
		 msg, sizeof(msg)) == KUBECTL_ROLLOUT_WAITING && strcmp(msg, "2 of 3 updated pods are available") == 0,
	   "daemon set: availability");
	ok(judge("daemonset", DS("{\"observedGeneration\":2,\"desiredNumberScheduled\":3,\"updatedNumberScheduled\":3,"
				 "\"numberAvailable\":3}"),
		 msg, sizeof(msg)) == KUBECTL_ROLLOUT_DONE,
	   "daemon set: rolled out");
	ok(judge("daemonset", "{\"spec\":{\"updateStrategy\":{\"type\":\"OnDelete\"}}}", msg, sizeof(msg)) ==
		   KUBECTL_ROLLOUT_FAILED,
	   "daemon set OnDelete: refused");
}

static void
test_revisions__resource_version(void)
{
	char *s = kubectl_patch_with_resource_version("{\"spec\":{}}", "7");
	struct json_object *o = parse(s);

	is_str(jsonh_get_string_or(jsonh_member(o, "metadata"), "resourceVersion", NULL), "7", "added");
	json_object_put(o);
	free(s);
	s = kubectl_patch_with_resource_version("{\"metadata\":{\"resourceVersion\":\"1\"},\"spec\":{}}", "8");
	o = parse(s);
	is_str(jsonh_get_string_or(jsonh_member(o, "metadata"), "resourceVersion", NULL), "8", "replaced");
	json_object_put(o);
	free(s);
	ok(kubectl_patch_with_resource_version("[1]", "8") == NULL, "not an object: NULL");
}

int
main(void)
{
	test_revisions__plan();
	test_revisions__status();
	test_revisions__resource_version();
	return tap_done();
}
