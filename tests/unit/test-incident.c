/* SPDX-License-Identifier: MIT */
/*
 * Issue 16's pure parts: libcrypto's SHA-256 and HMAC (digest.c), the webhook signature, the
 * incident scope and markers, manager detection and its advice, the PagerDuty event and reply
 * words, the workload items of the deployment input.
 */
#include <stdlib.h>
#include <string.h>

#include "clients/pagerduty.h"
#include "clients/webhook.h"
#include "config.h"
#include "digest.h"
#include "gate.h"
#include "incident.h"
#include "jsonh.h"
#include "log.h"
#include "manager.h"
#include "tap.h"
#include "util.h"

static void
test_digest__vectors(void)
{
	static const char abc[] = "abc";
	const void *parts[1] = { abc };
	size_t lens[1] = { 3 };
	unsigned char d[DIGEST_SHA256_LEN];
	char hex[DIGEST_SHA256_HEX + 1], sig[WEBHOOK_SIGNATURE_LEN + 1];
	static const char body[] = "what do ya want for nothing?";

	digest_sha256_parts(d, parts, lens, 1);
	digest_hex(hex, d, sizeof(d));
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256('abc') (FIPS 180-4)");
	/* RFC 4231, test case 2 */
	digest_hmac_sha256_hex(hex, "Jefe", 4, body, strlen(body));
	is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "HMAC-SHA256 (RFC 4231 case 2)");
	/* GitHub's own example for X-Hub-Signature-256 (docs: validating webhook deliveries) */
	webhook_signature(sig, "It's a Secret to Everybody", "Hello, World!", 13);
	is_str(sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
	       "the signature is GitHub's scheme: same secret and body, same header value");
	webhook_signature(sig, "", "", 0);
	is_str(sig, "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
	       "empty key and body (RFC 2104 pads the key)");
}

static void
test_incident__scope(void)
{
	static char w1[] = "deployment/atom", w2[] = "statefulset/db", w3[] = "deployment/worker";
	char *ab[] = { w1, w2, NULL }, *other[] = { w1, w3, NULL }, *one[] = { w1, NULL };
	char a[INCIDENT_SCOPE_HEX + 1], b[INCIDENT_SCOPE_HEX + 1];

	incident_scope(a, "acme/atom", "production", ab);
	incident_scope(b, "acme/atom", "production", ab);
	is_str(a, b, "the scope is stable");
	ok(strlen(a) == INCIDENT_SCOPE_HEX && strspn(a, "0123456789abcdef") == INCIDENT_SCOPE_HEX, "32 hex digits");
	incident_scope(b, "acme/atom", "staging", ab);
	ok(strcmp(a, b) != 0, "another environment: another scope");
	incident_scope(b, "acme/other", "production", ab);
	ok(strcmp(a, b) != 0, "another repository: another scope");
	incident_scope(b, "acme/atom", "production", other);
	ok(strcmp(a, b) != 0, "another set of workloads: another scope");
	incident_scope(b, "acme/atom", "production", one);
	ok(strcmp(a, b) != 0, "a subset: another scope");
	incident_scope(b, "acme/atomproduction", "", one);
	incident_scope(a, "acme/atom", "production", one);
	ok(strcmp(a, b) != 0, "fields are separated: no collision by moving bytes between them");
}

static void
test_incident__workloads(void)
{
	static char n1[] = "web", n2[] = "db", n3[] = "agent";
	char *names[] = { n1, n2, n3, NULL };
	const char *kinds[] = { "deployment", "statefulset", "daemonset", NULL };
	struct config cfg;
	char **w;
	char s1[INCIDENT_SCOPE_HEX + 1], s2[INCIDENT_SCOPE_HEX + 1];

	memset(&cfg, 0, sizeof(cfg));
	cfg.deployments = names;
	cfg.workload_kinds = kinds;
	w = incident_workloads(&cfg);
	ok(w != NULL && strv_len(w) == 3 && strcmp(w[0], "daemonset/agent") == 0 && strcmp(w[1], "deployment/web") == 0 &&
		   strcmp(w[2], "statefulset/db") == 0,
	   "workloads: kind/name, sorted");
	incident_scope(s1, "o/r", "prod", w);
	strv_free(w);
	cfg.workload_kinds = NULL;
	w = incident_workloads(&cfg);
	ok(w != NULL && strcmp(w[0], "deployment/agent") == 0, "no kinds: every name is a Deployment");
	incident_scope(s2, "o/r", "prod", w);
	ok(strcmp(s1, s2) != 0, "the kind is part of the scope");
	strv_free(w);
}

static void
test_incident__durations(void)
{
	char d[48];

	incident_duration_words(d, sizeof(d), 40500);
	is_str(d, "40 s", "seconds");
	incident_duration_words(d, sizeof(d), 12 * 60000 + 5000);
	is_str(d, "12 min", "minutes");
	incident_duration_words(d, sizeof(d), (3 * 3600 + 2 * 60) * 1000LL);
	is_str(d, "3 h 2 min", "hours");
	incident_duration_words(d, sizeof(d), (2 * 86400 + 5 * 3600 + 7) * 1000LL);
	is_str(d, "2 d 5 h", "days");
	incident_duration_words(d, sizeof(d), -5);
	is_str(d, "0 s", "a clock that went back is 0 s");
}

static struct json_object *
parse(const char *s)
{
	struct json_object *o = NULL;
	struct error err = ERROR_INIT;

	if (jsonh_parse(&o, s, strlen(s), &err) < 0) {
		printf("# %s\n", err.msg);
	}
	return o;
}

static void
detect(struct manager_info *m, const char *metadata)
{
	struct json_object *md = parse(metadata);

	manager_detect(m, md);
	json_object_put(md);
}

static void
test_manager__detect(void)
{
	struct manager_info m;
	char *s;

	detect(&m, "{\"annotations\":{\"argocd.argoproj.io/tracking-id\":\"shop:apps/Deployment:prod/atom\"}}");
	ok(m.kind == MANAGER_ARGOCD && strcmp(m.name, "shop") == 0, "Argo CD tracking annotation: the app name");
	s = manager_command(&m, "abc123");
	is_str(s, "argocd app rollback shop   # needs auto-sync off; or revert the commit in Git: git revert abc123",
	       "Argo CD: what to run");
	free(s);
	manager_info_dispose(&m);

	detect(&m, "{\"labels\":{\"app.kubernetes.io/instance\":\"legacy\"}}");
	ok(m.kind == MANAGER_ARGOCD && strcmp(m.name, "legacy") == 0 && strstr(m.via, "instance") != NULL,
	   "Argo CD label tracking, and which label said so");
	manager_info_dispose(&m);

	detect(&m, "{\"labels\":{\"kustomize.toolkit.fluxcd.io/name\":\"apps\","
		   "\"kustomize.toolkit.fluxcd.io/namespace\":\"flux-system\"}}");
	ok(m.kind == MANAGER_FLUX_KUSTOMIZATION && strcmp(m.namespace, "flux-system") == 0, "Flux Kustomization");
	manager_info_dispose(&m);

	/* Flux's helm-controller installs with Helm: its marks are there too, Flux wins */
	detect(&m, "{\"labels\":{\"helm.toolkit.fluxcd.io/name\":\"web\",\"app.kubernetes.io/managed-by\":\"Helm\"},"
		   "\"annotations\":{\"meta.helm.sh/release-name\":\"team-web\"}}");
	ok(m.kind == MANAGER_FLUX_HELM && strcmp(m.name, "web") == 0, "Flux HelmRelease before Helm");
	is_str(manager_kind_name(m.kind), "flux", "report kind: flux");
	manager_info_dispose(&m);

	detect(&m, "{\"labels\":{\"app.kubernetes.io/managed-by\":\"Helm\",\"app.kubernetes.io/instance\":\"rel\"},"
		   "\"annotations\":{\"meta.helm.sh/release-name\":\"rel\",\"meta.helm.sh/release-namespace\":\"prod\"}}");
	ok(m.kind == MANAGER_HELM && strcmp(m.name, "rel") == 0, "Helm release (its instance label is not Argo CD)");
	s = manager_command(&m, NULL);
	is_str(s, "helm rollback rel -n prod", "Helm: what to run");
	free(s);
	manager_info_dispose(&m);

	/* Argo CD renders Helm charts: managed-by Helm without a release is not Helm, nor Argo by label */
	detect(&m, "{\"labels\":{\"app.kubernetes.io/managed-by\":\"Helm\",\"app.kubernetes.io/instance\":\"x\"}}");
	ok(m.kind == MANAGER_NONE, "managed-by Helm alone, with the instance label: unknown, not guessed");
	manager_info_dispose(&m);

	detect(&m, "{\"labels\":{\"app\":\"atom\"},\"annotations\":{\"argocd.argoproj.io/tracking-id\":\"\"}}");
	ok(m.kind == MANAGER_NONE, "nothing (an empty value says nothing)");
	manager_info_dispose(&m);

	detect(&m, "{\"annotations\":{\"meta.helm.sh/release-name\":\"x'; rm -rf /\"},"
		   "\"labels\":{\"app.kubernetes.io/managed-by\":\"Helm\"}}");
	s = manager_command(&m, NULL);
	is_str(s, "helm rollback 'x'\\''; rm -rf /'", "a hostile release name is one quoted shell word");
	free(s);
	manager_info_dispose(&m);

	manager_detect(&m, NULL);
	ok(m.kind == MANAGER_NONE, "no metadata at all");
}

static void
test_pagerduty__payload(void)
{
	struct pagerduty_event ev;
	struct json_object *doc, *details = parse("{\"failed_checks\":[{\"name\":\"database\",\"detail\":\"boom SECRETX9\"}]}");
	char *summary = xmalloc(3000), *text;

	memset(summary, 'a', 2999);
	summary[2999] = '\0';
	log_mask("SECRETX9");
	memset(&ev, 0, sizeof(ev));
	ev.action = "trigger";
	ev.dedup_key = "atom-safety-0123";
	ev.summary = summary;
	ev.source = "atom.example.com";
	ev.severity = "critical";
	ev.component = "deployment/atom";
	ev.custom_details = details;
	ev.links[0].href = "https://github.com/o/r/actions/runs/1/attempts/1";
	ev.links[0].text = "Workflow run";
	text = pagerduty_payload_new(&ev, "R0UTINGKEY0123456789012345678901");
	doc = parse(text);
	ok(doc != NULL, "trigger: valid JSON");
	is_str(jsonh_get_string_or(doc, "routing_key", NULL), "R0UTINGKEY0123456789012345678901", "routing_key");
	is_str(jsonh_get_string_or(doc, "event_action", NULL), "trigger", "event_action");
	is_str(jsonh_get_string_or(doc, "dedup_key", NULL), "atom-safety-0123", "dedup_key");
	is_int(strlen(jsonh_get_string_or(jsonh_member(doc, "payload"), "summary", "")), PAGERDUTY_SUMMARY_MAX,
	       "summary cut at PagerDuty's 1024 characters");
	is_str(jsonh_get_string_or(jsonh_member(doc, "payload"), "severity", NULL), "critical", "severity");
	ok(strstr(text, "SECRETX9") == NULL && strstr(text, "boom ***") != NULL, "custom_details scrubbed of secrets");
	ok(json_object_array_length(jsonh_member(doc, "links")) == 1, "one link");
	json_object_put(doc);
	free(text);

	memset(&ev, 0, sizeof(ev));
	ev.action = "resolve";
	ev.dedup_key = "atom-safety-0123";
	text = pagerduty_payload_new(&ev, "k");
	doc = parse(text);
	ok(doc != NULL && jsonh_member(doc, "payload") == NULL && jsonh_member(doc, "links") == NULL,
	   "resolve: routing_key, event_action, dedup_key only");
	json_object_put(doc);
	free(text);
	json_object_put(details);
	free(summary);
}

static void
test_pagerduty__reply(void)
{
	static const char bad[] = "{\"status\":\"invalid event\",\"message\":\"Event object is invalid\","
				  "\"errors\":[\"Length of 'routing_key' is incorrect (should be 32 characters)\","
				  "\"'payload.summary' is missing or blank\"]}";
	char *m;

	m = pagerduty_reply_message(bad, strlen(bad));
	is_str(m, "Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters); "
		  "'payload.summary' is missing or blank", "400: PagerDuty's message and errors");
	free(m);
	m = pagerduty_reply_message("<html>\n<b>bad gateway</b>", 25);
	is_str(m, "<html>", "not JSON: the first line");
	free(m);
	m = pagerduty_reply_message("", 0);
	is_str(m, "(empty reply)", "empty");
	free(m);
	m = pagerduty_reply_message("a\tb\x01" "c", 5);
	is_str(m, "a b?c", "white space folded, control characters made visible (outside_line)");
	free(m);
}

static void
test_config__workloads(void)
{
	static const struct {
		const char *item, *kind, *name;
	} ok_cases[] = {
		{ "atom", "deployment", "atom" },          { "deploy/atom", "deployment", "atom" },
		{ "Deployment/atom", "deployment", "atom" }, { "sts/db", "statefulset", "db" },
		{ "statefulsets/db", "statefulset", "db" }, { "ds/agent", "daemonset", "agent" },
		{ "DaemonSet.apps/agent", "daemonset", "agent" },
	};
	const char *kind, *name;
	struct error err = ERROR_INIT;
	size_t i;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		ok(config_parse_workload(&kind, &name, ok_cases[i].item, &err) == 0 && strcmp(kind, ok_cases[i].kind) == 0 &&
			   strcmp(name, ok_cases[i].name) == 0,
		   "'%s' is %s %s", ok_cases[i].item, ok_cases[i].kind, ok_cases[i].name);
	}
	ok(config_parse_workload(&kind, &name, "job/nightly", &err) == ERR_CONFIG && strstr(err.msg, "'job'") != NULL,
	   "an unknown kind is named");
}

int
main(void)
{
	log_init(false, false);
	test_digest__vectors();
	test_incident__scope();
	test_incident__workloads();
	test_incident__durations();
	test_manager__detect();
	test_pagerduty__payload();
	test_pagerduty__reply();
	test_config__workloads();
	log_secrets_dispose();
	return tap_done();
}
