/* SPDX-License-Identifier: MIT */
/*
 * Kubernetes objects as the API server returns them, through kubectl.c alone: the undo plan
 * (kubectl_deployment_undo_plan, kubectl's rollout undo), the rollout judgement
 * (kubectl_deployment_status_read/rollout_judge, rollout status), selectors, template comparison
 * and images. Input: byte 0 is to-revision (0-3), the rest a JSON array [Deployment, ReplicaSets
 * or ReplicaSetList]. A PATCH is only ever planned as valid JSON Patch guarded by a test of the
 * revision, and comparisons are reflexive.
 */
#include "fuzz.h"
#include "jsonh.h"
#include "kubectl.h"
#include "log.h"
#include "util.h"

static void
check_plan(struct json_object *dep, struct json_object *rss, long to_revision)
{
	struct kubectl_undo_plan plan;
	struct error err = ERROR_INIT;
	struct json_object *patch = NULL, *first;

	if (kubectl_deployment_undo_plan(&plan, dep, rss, to_revision, &err) < 0) {
		FUZZ_ASSERT(err.code == ERR_PARSE);
		kubectl_undo_plan_dispose(&plan);
		return;
	}
	FUZZ_ASSERT(plan.message != NULL && plan.name != NULL);
	switch (plan.verdict) {
	case KUBECTL_UNDO_PATCH:
		FUZZ_ASSERT(plan.patch != NULL);
		FUZZ_ASSERT(jsonh_parse(&patch, plan.patch, strlen(plan.patch), &err) == 0);
		FUZZ_ASSERT(json_object_is_type(patch, json_type_array) && json_object_array_length(patch) >= 2);
		/* the test operation comes first: a newer deploy makes the server refuse the whole patch */
		first = json_object_array_get_idx(patch, 0);
		FUZZ_ASSERT(strcmp(jsonh_get_string_or(first, "op", ""), "test") == 0);
		FUZZ_ASSERT(to_revision == 0 || plan.revision_target == to_revision);
		json_object_put(patch);
		break;
	case KUBECTL_UNDO_MATCHES:
	case KUBECTL_UNDO_NO_HISTORY:
	case KUBECTL_UNDO_NOT_FOUND:
	case KUBECTL_UNDO_PAUSED:
		FUZZ_ASSERT(plan.patch == NULL);
		break;
	default:
		FUZZ_ASSERT(0);
	}
	kubectl_undo_plan_dispose(&plan);
}

static void
check_object(struct json_object *obj)
{
	struct json_object *spec = jsonh_member(obj, "spec");
	struct json_object *template = jsonh_member(spec, "template");
	struct json_object *selector = jsonh_member(spec, "selector");
	struct kubectl_deployment_status r;
	struct error err = ERROR_INIT;
	char msg[256];
	char *text = NULL, *images;

	kubectl_deployment_status_read(&r, obj);
	(void)kubectl_deployment_rollout_judge(&r, msg, sizeof(msg));
	FUZZ_ASSERT(strchr(msg, '\n') == NULL);
	if (kubectl_selector_format(&text, selector, &err) == 0) {
		FUZZ_ASSERT(text != NULL);
	}
	free(text);
	(void)kubectl_selector_matches(selector, jsonh_member(jsonh_member(template, "metadata"), "labels"));
	images = kubectl_template_images(template);
	FUZZ_ASSERT(images != NULL);
	free(images);
	(void)kubectl_deployment_revision(obj);
	FUZZ_ASSERT(kubectl_semantic_equal(obj, obj));
	FUZZ_ASSERT(kubectl_deployment_template_equal(template, template));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *doc = NULL, *dep, *rss = NULL;
	struct error err = ERROR_INIT;
	size_t i, n;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	if (jsonh_parse(&doc, (const char *)data + 1, size - 1, &err) < 0) {
		return 0;
	}
	if (json_object_is_type(doc, json_type_array) && json_object_array_length(doc) >= 1) {
		dep = json_object_array_get_idx(doc, 0);
		rss = json_object_array_length(doc) >= 2 ? json_object_array_get_idx(doc, 1) : NULL;
	} else {
		dep = doc;
	}
	check_plan(dep, rss, data[0] % 4);
	check_object(dep);
	n = rss != NULL && json_object_is_type(rss, json_type_array) ? json_object_array_length(rss) : 0;
	for (i = 0; i < n && i < 8; i++) {
		check_object(json_object_array_get_idx(rss, i));
	}
	json_object_put(doc);
	return 0;
}
