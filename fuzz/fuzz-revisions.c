/* SPDX-License-Identifier: MIT */
/*
 * StatefulSets and DaemonSets as the API server returns them, through kubectl.c alone: the undo
 * plan over ControllerRevisions (kubectl_revision_undo_plan) and the rollout judgement of every
 * kind. Input: byte 0 picks to-revision (0-3, bit 2 the kind), the rest a JSON array [object,
 * ControllerRevisions or a List]. A planned patch is a JSON object carrying the object's
 * resourceVersion as its guard; messages are one line.
 */
#include "fuzz.h"
#include "jsonh.h"
#include "kubectl.h"
#include "log.h"
#include "util.h"

static void
check_plan(const char *kind, struct json_object *obj, struct json_object *revisions, long to_revision)
{
	struct kubectl_undo_plan plan;
	struct error err = ERROR_INIT;
	struct json_object *patch = NULL;
	const char *rv;

	if (kubectl_revision_undo_plan(&plan, kind, obj, revisions, to_revision, &err) < 0) {
		FUZZ_ASSERT(err.code == ERR_PARSE);
		kubectl_undo_plan_dispose(&plan);
		return;
	}
	FUZZ_ASSERT(plan.message != NULL && plan.name != NULL && plan.resource_version != NULL);
	if (plan.verdict == KUBECTL_UNDO_PATCH) {
		FUZZ_ASSERT(plan.patch != NULL && plan.strategic);
		FUZZ_ASSERT(jsonh_parse(&patch, plan.patch, strlen(plan.patch), &err) == 0);
		FUZZ_ASSERT(json_object_is_type(patch, json_type_object));
		rv = jsonh_get_string_or(jsonh_member(patch, "metadata"), "resourceVersion", NULL);
		FUZZ_ASSERT(rv != NULL && strcmp(rv, plan.resource_version) == 0);
		FUZZ_ASSERT(to_revision == 0 || plan.revision_target == to_revision);
		json_object_put(patch);
	} else {
		FUZZ_ASSERT(plan.patch == NULL);
	}
	kubectl_undo_plan_dispose(&plan);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *doc = NULL, *obj, *revs = NULL;
	struct error err = ERROR_INIT;
	const char *kind;
	char msg[256];
	long rev;
	int k;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	if (jsonh_parse(&doc, (const char *)data + 1, size - 1, &err) < 0) {
		return 0;
	}
	if (json_object_is_type(doc, json_type_array) && json_object_array_length(doc) >= 1) {
		obj = json_object_array_get_idx(doc, 0);
		revs = json_object_array_length(doc) >= 2 ? json_object_array_get_idx(doc, 1) : NULL;
	} else {
		obj = doc;
	}
	kind = (data[0] & 4) != 0 ? "daemonset" : "statefulset";
	check_plan(kind, obj, revs, data[0] % 4);
	for (k = 0; k < 3; k++) {
		static const char *const kinds[] = { "statefulset", "daemonset", "deployment" };
		(void)kubectl_rollout_judge_object(kinds[k], obj, msg, sizeof(msg), &rev);
		FUZZ_ASSERT(strchr(msg, '\n') == NULL && rev >= 0);
	}
	json_object_put(doc);
	return 0;
}
