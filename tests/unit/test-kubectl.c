/* SPDX-License-Identifier: MIT */
/*
 * The undo plan against what real kubectl 1.20 did on the same objects (tests/data/k8s/undo-*.json,
 * recorded by tests/data/k8s/record.py), and kubectl's other rules (src/kubectl.c): selectors,
 * semantic equality, rollout status. Linked with kubectl.c and the base modules only.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonh.h"
#include "kubectl.h"
#include "tap.h"
#include "util.h"

static struct json_object *
load_fixture(const char *name)
{
	const char *root = getenv("ATOM_SAFETY_SOURCE_ROOT");
	struct json_object *obj = NULL;
	struct error err = ERROR_INIT;
	char *path = xasprintf("%s/tests/data/k8s/undo-%s.json", root != NULL ? root : ".", name);
	size_t len = 0;
	char *data = file_read(path, 16 * 1024 * 1024, &len);

	if (data == NULL || jsonh_parse(&obj, data, len, &err) < 0) {
		printf("# cannot load %s: %s\n", path, err.msg);
		obj = NULL;
	}
	free(data);
	free(path);
	return obj;
}

static struct json_object *
parse(const char *text)
{
	struct json_object *obj = NULL;
	struct error err = ERROR_INIT;

	if (jsonh_parse(&obj, text, strlen(text), &err) < 0) {
		printf("# bad JSON in the test: %s\n", err.msg);
		abort();
	}
	return obj;
}

struct run {
	struct json_object *fixture;
	struct kubectl_undo_plan plan;
	struct json_object *patch;   /* ours, parsed */
	struct json_object *kubectl; /* kubectl's patch, or NULL */
	const char *output;
	int64_t rc;
};

static bool
run_case(struct run *r, const char *name)
{
	struct error err = ERROR_INIT;
	struct json_object *k;
	int64_t to = 0;

	memset(r, 0, sizeof(*r));
	r->fixture = load_fixture(name);
	if (!ok(r->fixture != NULL, "%s: fixture loads", name)) {
		return false;
	}
	(void)jsonh_get_int(&to, r->fixture, "to_revision");
	if (!ok(kubectl_deployment_undo_plan(&r->plan, jsonh_member(r->fixture, "deployment"), jsonh_member(r->fixture, "replicasets"),
			      (long)to, &err) == 0,
		"%s: planned (%s)", name, err.msg)) {
		return false;
	}
	k = jsonh_member(r->fixture, "kubectl");
	(void)jsonh_get_int(&r->rc, k, "rc");
	r->output = jsonh_get_string_or(k, "output", "");
	r->kubectl = jsonh_member(k, "patch");
	if (r->kubectl != NULL && json_object_is_type(r->kubectl, json_type_null)) {
		r->kubectl = NULL;
	}
	if (r->plan.patch != NULL) {
		r->patch = parse(r->plan.patch);
	}
	return true;
}

static void
run_dispose(struct run *r)
{
	kubectl_undo_plan_dispose(&r->plan);
	json_object_put(r->patch);
	json_object_put(r->fixture);
}

/* our patch is kubectl's with a test operation in front; values compared semantically */
static void
same_as_kubectl(const struct run *r, const char *name)
{
	struct json_object *test;
	size_t i, n;

	if (!ok(r->patch != NULL && r->kubectl != NULL, "%s: both sent a patch", name)) {
		return;
	}
	n = json_object_array_length(r->kubectl);
	is_int(json_object_array_length(r->patch), n + 1, "%s: kubectl's %zu operations plus the test", name, n);
	test = json_object_array_get_idx(r->patch, 0);
	is_str(jsonh_get_string_or(test, "op", ""), "test", "%s: the test operation comes first", name);
	is_str(jsonh_get_string_or(test, "path", ""), "/metadata/annotations/deployment.kubernetes.io~1revision",
	       "%s: it tests the revision annotation (RFC 6901 escape)", name);
	is_str(jsonh_get_string_or(test, "value", ""), r->plan.revision_text, "%s: against the revision under test",
	       name);
	for (i = 0; i < n; i++) {
		struct json_object *mine = json_object_array_get_idx(r->patch, i + 1);
		struct json_object *theirs = json_object_array_get_idx(r->kubectl, i);
		is_str(jsonh_get_string_or(mine, "op", ""), jsonh_get_string_or(theirs, "op", "?"), "%s: op %zu", name, i);
		is_str(jsonh_get_string_or(mine, "path", ""), jsonh_get_string_or(theirs, "path", "?"), "%s: path %zu", name, i);
		if (!ok(kubectl_semantic_equal(jsonh_member(mine, "value"), jsonh_member(theirs, "value")),
			"%s: value of %s equals kubectl's", name, jsonh_get_string_or(theirs, "path", "?"))) {
			printf("#   ours:    %s\n#   kubectl: %s\n", jsonh_to_string(jsonh_member(mine, "value"), false),
			       jsonh_to_string(jsonh_member(theirs, "value"), false));
		}
	}
}

static const char *
annotation(struct json_object *patch, const char *key)
{
	return jsonh_get_string_or(jsonh_member(json_object_array_get_idx(patch, 2), "value"), key, NULL);
}

static void
test_plan__kubectl_fixtures(void)
{
	static const char *const patched[] = { "history", "sparse",    "sparse-to-1", "annotated", "foreign-owner",
					       "not-controller", "sidecar", "expressions", NULL };
	struct run r;
	size_t i;

	for (i = 0; patched[i] != NULL; i++) {
		if (run_case(&r, patched[i])) {
			is_int(r.rc, 0, "%s: kubectl succeeded", patched[i]);
			is_int(r.plan.verdict, KUBECTL_UNDO_PATCH, "%s: verdict patch", patched[i]);
			same_as_kubectl(&r, patched[i]);
		}
		run_dispose(&r);
	}
}

static void
test_plan__targets(void)
{
	struct run r;

	if (run_case(&r, "history")) {
		is_int(r.plan.revision_current, 2, "history: revision 2 under test");
		is_int(r.plan.revision_target, 1, "history: previous is 1");
		is_str(r.plan.images_current, "registry.example.com/acme/atom:v2", "history: image under test");
		is_str(r.plan.images_target, "registry.example.com/acme/atom:v1", "history: image restored");
		ok(strstr(r.plan.patch, KUBECTL_HASH_LABEL) == NULL, "history: no pod-template-hash in the patch");
	}
	run_dispose(&r);
	if (run_case(&r, "sparse")) {
		is_int(r.plan.revision_current, 7, "sparse: 7 under test");
		is_int(r.plan.revision_target, 3, "sparse: second-highest is 3, not 6");
	}
	run_dispose(&r);
	if (run_case(&r, "sparse-to-1")) {
		is_int(r.plan.revision_target, 1, "to-revision 1 chosen");
		is_str(r.plan.images_target, "registry.example.com/acme/atom:v1", "to-revision 1 image");
	}
	run_dispose(&r);
	if (run_case(&r, "foreign-owner")) {
		is_int(r.plan.revision_target, 1, "a ReplicaSet controlled by someone else is not a candidate");
	}
	run_dispose(&r);
	if (run_case(&r, "not-controller")) {
		is_int(r.plan.revision_target, 1, "an owner reference without controller: true does not count");
	}
	run_dispose(&r);
	if (run_case(&r, "sidecar")) {
		is_str(r.plan.images_target, "atom=registry.example.com/acme/atom:v2, proxy=registry.example.com/acme/proxy:v2",
		       "several containers are named");
	}
	run_dispose(&r);
	if (run_case(&r, "annotated")) {
		is_int(r.plan.revision_target, 5, "annotated: target 5");
		is_str(annotation(r.patch, "team"), "checkout", "the ReplicaSet's own annotation wins");
		is_str(annotation(r.patch, "note"), NULL, "annotations of other revisions are not carried");
		is_str(annotation(r.patch, "kubectl.kubernetes.io/last-applied-configuration"), "{\"kind\":\"Deployment\"}\n",
		       "last-applied-configuration kept from the Deployment");
		is_str(annotation(r.patch, "deprecated.deployment.rollback.to"), "2", "skip-listed values kept from the Deployment");
		is_str(annotation(r.patch, "deployment.kubernetes.io/revision"), "6", "revision kept from the Deployment");
		is_str(annotation(r.patch, "deployment.kubernetes.io/desired-replicas"), NULL,
		       "the ReplicaSet's desired-replicas is not copied");
	}
	run_dispose(&r);
}

static void
test_plan__refusals(void)
{
	struct run r;

	if (run_case(&r, "first-deploy")) {
		is_int(r.plan.verdict, KUBECTL_UNDO_NO_HISTORY, "first deployment: no history");
		is_int(r.rc, 1, "kubectl failed too");
		ok(strstr(r.output, r.plan.message) != NULL, "same words as kubectl: %s", r.plan.message);
		ok(r.plan.patch == NULL, "no patch");
	}
	run_dispose(&r);
	if (run_case(&r, "sparse-to-9")) {
		is_int(r.plan.verdict, KUBECTL_UNDO_NOT_FOUND, "to-revision 9: not found");
		ok(strstr(r.output, r.plan.message) != NULL, "same words as kubectl: %s", r.plan.message);
	}
	run_dispose(&r);
	if (run_case(&r, "paused")) {
		is_int(r.plan.verdict, KUBECTL_UNDO_PAUSED, "paused: refused");
		ok(strstr(r.output, r.plan.message) != NULL, "same words as kubectl: %s", r.plan.message);
		is_int(r.plan.revision_target, 1, "the target is still known");
	}
	run_dispose(&r);
	if (run_case(&r, "matches")) {
		is_int(r.plan.verdict, KUBECTL_UNDO_MATCHES, "template already matches: skipped");
		ok(r.kubectl == NULL && r.rc == 0, "kubectl sent nothing and succeeded");
		/* kubectl 1.20 prints the to-revision flag (0); we say which revision */
		is_str(r.plan.message, "skipped rollback (current template already matches revision 2)", "message");
	}
	run_dispose(&r);
}

static const char *dep_json =
	"{\"metadata\":{\"name\":\"web\",\"uid\":\"D\",\"generation\":4,"
	"\"annotations\":{\"deployment.kubernetes.io/revision\":\"5\"}},"
	"\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"w\",\"image\":\"w:5\"}]}}}}";

static char *
rs_json(const char *name, const char *ts, const char *rev, const char *image, const char *owner)
{
	char *ann = rev != NULL ? xasprintf("\"deployment.kubernetes.io/revision\":\"%s\"", rev) : xstrdup("");
	char *out = xasprintf("{\"metadata\":{\"name\":\"%s\",\"creationTimestamp\":\"%s\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"h%s\"},"
			 "\"annotations\":{%s},"
			 "\"ownerReferences\":[{\"uid\":\"%s\",\"controller\":true}]},"
			 "\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"h%s\"}},"
			 "\"spec\":{\"containers\":[{\"name\":\"w\",\"image\":\"%s\"}]}}}}",
			 name, ts, name, ann, owner, name, image);
	free(ann);
	return out;
}

static long
plan_target(const char *const *rss, size_t n, long to, const char **image_out, enum kubectl_undo_verdict *verdict)
{
	struct json_object *dep = parse(dep_json);
	struct json_object *list = json_object_new_array();
	struct kubectl_undo_plan p;
	struct error err = ERROR_INIT;
	static char image[64];
	long target;
	size_t i;

	for (i = 0; i < n; i++) {
		json_object_array_add(list, parse(rss[i]));
	}
	if (kubectl_deployment_undo_plan(&p, dep, list, to, &err) < 0) {
		printf("# plan failed: %s\n", err.msg);
	}
	target = p.revision_target;
	(void)snprintf(image, sizeof(image), "%s", p.images_target != NULL ? p.images_target : "");
	*image_out = image;
	*verdict = p.verdict;
	kubectl_undo_plan_dispose(&p);
	json_object_put(dep);
	json_object_put(list);
	return target;
}

static void
test_plan__ordering(void)
{
	char *a = rs_json("a", "2024-01-01T00:00:00Z", "5", "w:5", "D");
	char *b = rs_json("b", "2024-01-02T00:00:00Z", "3", "w:3", "D");
	char *c = rs_json("c", "2024-01-03T00:00:00Z", "3", "w:3b", "D");
	char *bad = rs_json("d", "2024-01-04T00:00:00Z", "x1", "w:bad", "D");
	char *zero = rs_json("e", "2024-01-05T00:00:00Z", "", "w:zero", "D");
	char *plus = rs_json("f", "2024-01-06T00:00:00Z", "+4", "w:4", "D");
	char *missing = rs_json("g", "2024-01-07T00:00:00Z", NULL, "w:none", "D");
	char *other = rs_json("h", "2024-01-08T00:00:00Z", "9", "w:9", "E");
	const char *image;
	enum kubectl_undo_verdict v;

	{
		const char *const rss[] = { c, a, b };
		is_int(plan_target(rss, 3, 0, &image, &v), 3, "tied revisions: target 3");
		/*
		 * order b, c, then a (the "new" ReplicaSet, moved last): b becomes latest, c previous,
		 * then a demotes b to previous. kubectl's loop picks b, the older of the tie
		 */
		is_str(image, "w:3", "tied revisions: kubectl's loop over its ordering picks the older one");
	}
	{
		const char *const rss[] = { a, bad };
		is_int(plan_target(rss, 2, 0, &image, &v), 0, "an unparsable revision is skipped");
		is_int(v, KUBECTL_UNDO_NO_HISTORY, "so there is no history");
	}
	{
		const char *const rss[] = { a, plus };
		is_int(plan_target(rss, 2, 0, &image, &v), 4, "Go's ParseInt accepts '+4'");
	}
	{
		const char *const rss[] = { a, zero };
		plan_target(rss, 2, 0, &image, &v);
		is_int(v, KUBECTL_UNDO_NO_HISTORY, "an empty revision annotation is not a number: skipped");
	}
	{
		const char *const rss[] = { a, missing };
		is_int(plan_target(rss, 2, 0, &image, &v), 0, "a missing revision annotation is revision 0");
		is_int(v, KUBECTL_UNDO_PATCH, "and still a candidate, as in kubectl");
		is_str(image, "w:none", "its image");
	}
	{
		const char *const rss[] = { a, b, other };
		is_int(plan_target(rss, 3, 0, &image, &v), 3, "another owner's higher revision is ignored");
	}
	{
		const char *const rss[] = { a, b };
		is_int(plan_target(rss, 2, 5, &image, &v), 5, "to-revision equal to the current one");
		is_int(v, KUBECTL_UNDO_MATCHES, "is skipped: the template already matches");
	}
	free(a);
	free(b);
	free(c);
	free(bad);
	free(zero);
	free(plus);
	free(missing);
	free(other);
}

static void
test_selector__format(void)
{
	struct json_object *s = parse("{\"matchLabels\":{\"app\":\"atom\",\"tier\":\"web\"},\"matchExpressions\":["
				      "{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"canary\"]},"
				      "{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"b\"]},"
				      "{\"key\":\"team\",\"operator\":\"Exists\"},{\"key\":\"old\",\"operator\":\"DoesNotExist\"}]}");
	struct json_object *bad = parse("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}");
	struct json_object *yes = parse("{\"app\":\"atom\",\"tier\":\"web\",\"env\":\"canary\",\"team\":\"x\"}");
	struct json_object *no1 = parse("{\"app\":\"atom\",\"tier\":\"web\",\"env\":\"dev\",\"team\":\"x\"}");
	struct json_object *no2 = parse("{\"app\":\"atom\",\"tier\":\"web\",\"env\":\"prod\",\"team\":\"x\",\"old\":\"1\"}");
	struct json_object *no3 = parse("{\"app\":\"atom\",\"tier\":\"web\",\"env\":\"prod\",\"team\":\"x\",\"zone\":\"b\"}");
	struct error err = ERROR_INIT;
	char *text = NULL;

	is_int(kubectl_selector_format(&text, s, &err), 0, "selector formats");
	is_str(text, "app=atom,tier=web,env in (canary,prod),zone notin (b),team,!old", "selector text (values sorted)");
	free(text);
	text = NULL;
	is_int(kubectl_selector_format(&text, bad, &err), ERR_PARSE, "unknown operator refused");
	is_int(kubectl_selector_format(&text, NULL, &err), ERR_PARSE, "no selector refused");
	ok(kubectl_selector_matches(s, yes), "labels match");
	ok(!kubectl_selector_matches(s, no1), "In not satisfied");
	ok(!kubectl_selector_matches(s, no2), "DoesNotExist not satisfied");
	ok(!kubectl_selector_matches(s, no3), "NotIn not satisfied");
	ok(!kubectl_selector_matches(bad, yes), "an unusable selector matches nothing");
	json_object_put(s);
	json_object_put(bad);
	json_object_put(yes);
	json_object_put(no1);
	json_object_put(no2);
	json_object_put(no3);
}

static void
test_semantic__equal(void)
{
	struct json_object *a = parse("{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"x\",\"pod-template-hash\":\"1\"}},"
				      "\"spec\":{\"resources\":{},\"n\":1,\"list\":[1,2]}}");
	struct json_object *b = parse("{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{\"n\":1.0,\"list\":[1,2],\"e\":[]}}");
	struct json_object *c = parse("{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{\"n\":1,\"list\":[2,1]}}");
	struct json_object *d = parse("{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{\"n\":true,\"list\":[1,2]}}");

	ok(!kubectl_semantic_equal(a, b), "the hash label counts for plain equality");
	ok(kubectl_deployment_template_equal(a, b), "equal ignoring pod-template-hash, null, {} and [], 1 == 1.0");
	ok(!kubectl_deployment_template_equal(a, c), "array order matters");
	ok(!kubectl_deployment_template_equal(b, d), "true is not 1");
	ok(kubectl_semantic_equal(NULL, b == NULL ? NULL : jsonh_member(b, "nothing")), "absent equals absent");
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
	json_object_put(d);
}

static void
test_rollout__judge(void)
{
	struct kubectl_deployment_status r;
	char msg[128];

	memset(&r, 0, sizeof(r));
	r.generation = 3;
	r.observed_generation = 2;
	is_int(kubectl_deployment_rollout_judge(&r, msg, sizeof(msg)), KUBECTL_ROLLOUT_WAITING, "not observed: waiting");
	is_str(msg, "waiting for the deployment spec update to be observed", "message");
	r.observed_generation = 3;
	r.has_spec_replicas = true;
	r.spec_replicas = 2;
	r.replicas = 3;
	r.updated = 1;
	is_int(kubectl_deployment_rollout_judge(&r, msg, sizeof(msg)), KUBECTL_ROLLOUT_WAITING, "updating");
	is_str(msg, "1 out of 2 new replicas have been updated", "message");
	r.updated = 2;
	is_int(kubectl_deployment_rollout_judge(&r, msg, sizeof(msg)), KUBECTL_ROLLOUT_WAITING, "old pending");
	is_str(msg, "1 old replicas are pending termination", "message");
	r.replicas = 2;
	r.available = 1;
	is_int(kubectl_deployment_rollout_judge(&r, msg, sizeof(msg)), KUBECTL_ROLLOUT_WAITING, "available pending");
	is_str(msg, "1 of 2 updated replicas are available", "message");
	r.available = 2;
	is_int(kubectl_deployment_rollout_judge(&r, msg, sizeof(msg)), KUBECTL_ROLLOUT_DONE, "complete");
	r.available = 1;
	r.deadline_exceeded = true;
	is_int(kubectl_deployment_rollout_judge(&r, msg, sizeof(msg)), KUBECTL_ROLLOUT_FAILED, "deadline exceeded fails at once");
	is_str(msg, "exceeded its progress deadline", "message");
	r.observed_generation = 2;
	is_int(kubectl_deployment_rollout_judge(&r, msg, sizeof(msg)), KUBECTL_ROLLOUT_WAITING,
	       "an old deadline condition does not count before the new generation is observed");
}

static void
test_rollout__read(void)
{
	struct json_object *d = parse("{\"metadata\":{\"generation\":5,\"annotations\":{\"deployment.kubernetes.io/revision\":\"8\"}},"
				      "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":5,\"replicas\":4,"
				      "\"updatedReplicas\":3,\"availableReplicas\":2,\"conditions\":[{\"type\":\"Available\","
				      "\"reason\":\"ProgressDeadlineExceeded\"},{\"type\":\"Progressing\",\"reason\":\"ReplicaSetUpdated\"}]}}");
	struct kubectl_deployment_status r;

	kubectl_deployment_status_read(&r, d);
	is_int(r.generation, 5, "generation");
	is_int(r.observed_generation, 5, "observedGeneration");
	ok(r.has_spec_replicas && r.spec_replicas == 3, "spec.replicas");
	is_int(r.replicas, 4, "replicas");
	is_int(r.updated, 3, "updatedReplicas");
	is_int(r.available, 2, "availableReplicas");
	ok(!r.deadline_exceeded, "only the Progressing condition's reason counts");
	is_int(r.revision, 8, "revision");
	json_object_put(d);
}

int
main(void)
{
	test_plan__kubectl_fixtures();
	test_plan__targets();
	test_plan__refusals();
	test_plan__ordering();
	test_selector__format();
	test_semantic__equal();
	test_rollout__judge();
	test_rollout__read();
	return tap_done();
}
