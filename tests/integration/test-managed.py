#!/usr/bin/env python3
"""Issue 16 §4: workloads another controller owns. Argo CD (tracking annotation, and its label),
Flux (kustomize- and helm-controller labels) and Helm (managed-by + release name) are read at
preflight; managed-rollback: warn rolls back and says the controller may revert it (log, summary,
report, issue), skip leaves them alone and fails with what to run. The Kubernetes API is the
stand-in tests/servers/kube.py, GitHub tests/servers/github.py."""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from harness import SERVERS, TAP, Server, leaked, run_gate, service  # noqa: E402
import kube  # noqa: E402

KTOKEN = "ktok-Managed-93-distinctive"
PASSWORD = "pw-Managed!7"
TOKEN = "ghs_managedTest_77"
FAST = {"mode": "normal", "step_ms": 40}

t = TAP()

MANAGED = {
    "argo": ({}, {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:default/argo"},
             "argocd", "shop", "argocd app rollback shop"),
    "argolabel": ({"app.kubernetes.io/instance": "legacy-app"}, {}, "argocd", "legacy-app",
                  "argocd app rollback legacy-app"),
    "fluxks": ({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"},
               {}, "flux", "apps", "flux reconcile kustomization apps -n flux-system"),
    "fluxhelm": ({"helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "team",
                  "app.kubernetes.io/managed-by": "Helm"},
                 {"meta.helm.sh/release-name": "team-web", "meta.helm.sh/release-namespace": "default"},
                 "flux", "web", "flux reconcile helmrelease web -n team"),
    "helm": ({"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "atom-release"},
             {"meta.helm.sh/release-name": "atom-release", "meta.helm.sh/release-namespace": "default"},
             "helm", "atom-release", "helm rollback atom-release -n default"),
}


def objects(names):
    out = []
    for n in names:
        objs = kube.make_history(name=n, revisions=((1, "v1"), (2, "v2")))
        if n in MANAGED:
            labels, annotations = MANAGED[n][0], MANAGED[n][1]
            objs[0]["metadata"]["labels"].update(labels)
            objs[0]["metadata"]["annotations"].update(annotations)
        out += objs
    return out


def kubeconfig(url):
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": url}}],
        "users": [{"name": "deployer", "user": {"token": KTOKEN}}],
        "contexts": [{"name": "ci", "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": "ci"})


def patched(k):
    return sorted({q["path"].rsplit("/", 1)[1] for q in k.requests()
                   if q["method"] == "PATCH" and "dryRun" not in q["path"]})


gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3", "--config", json.dumps({"token": TOKEN}))
svc = service("healthy", {"users": {"smoke_test": PASSWORD},
                          "routes": {"GET /api/projects": {"status": 500, "body": {"error": "boom"}}}})
runs = []


def gate(k, names, **inputs):
    base = {"url": svc.url, "environment": "production", "username": "smoke_test", "password": PASSWORD,
            "endpoints": "GET /api/projects", "kubeconfig": kubeconfig(k.url), "rollback-timeout": "20s",
            "deployment": ",".join(names), "github-token": TOKEN}
    base.update({k2.replace("_", "-"): v for k2, v in inputs.items()})
    r = run_gate(base, env={"GITHUB_API_URL": gh.url + "/api/v3"}, timeout=90)
    runs.append(r)
    return r


def entries(r):
    return {e["deployment"]: e for e in ((r.report or {}).get("rollback") or {}).get("deployments", [])}


def issue_body():
    items = [i for i in gh._control("GET", "/_test/issues").get("acme/atom", []) if "pull_request" not in i]
    return items[-1]["body"] if items else ""


ALL = ["argo", "argolabel", "fluxks", "fluxhelm", "helm", "plain"]

# --- warn (the default): everything is rolled back, the managed ones are called out -------------
gh._control("POST", "/_test/reset", {"all": True})
with kube.launch(state=objects(ALL), config={"token": KTOKEN, "controller": FAST}) as k:
    r = gate(k, ALL)
    t.eq((r.rc, r.outputs.get("result")), (1, "rolled-back"), "warn: rolled back", ) or t.diag(r.stdout[-3000:])
    t.eq(patched(k), sorted(ALL), "warn: every workload patched, managed or not")
    pre = r.stdout.split("::group::Readiness")[0]
    e = entries(r)
    for name, (_l, _a, kind, app, cmd) in MANAGED.items():
        m = (e.get(name) or {}).get("manager") or {}
        t.ok(m.get("kind") == kind and m.get("name") == app and m.get("rollback_skipped") is False,
             "report: %s managed by %s '%s'" % (name, kind, app), json.dumps(m))
        t.ok(re.search(r"::warning::.*deployment '%s' is managed by .*may revert" % name, pre) is not None,
             "log: a preflight warning for %s" % name)
        t.ok(cmd in issue_body(), "issue: %s says what to run (%s)" % (name, cmd))
    t.eq((e.get("plain") or {}).get("manager", "absent"), None, "report: an unmanaged workload has manager null")
    t.ok("argocd.argoproj.io/tracking-id" in json.dumps(e["argo"]["manager"]) and
         "app.kubernetes.io/instance" in e["argolabel"]["manager"]["via"], "report: which mark decided (via)")
    t.ok("may revert the rollback" in r.summary and "helm rollback atom-release -n default" in r.summary,
         "summary: the managed workloads and the command")
    t.ok("the controller may revert the rollback; roll back at the source" in issue_body(),
         "issue: the controller may revert it")

# --- skip: managed workloads are left alone; the plain one is rolled back; result failed ---------
gh._control("POST", "/_test/reset", {"all": True})
with kube.launch(state=objects(ALL), config={"token": KTOKEN, "controller": FAST}) as k:
    r = gate(k, ALL, managed_rollback="skip")
    t.eq((r.rc, r.outputs.get("result")), (1, "failed"), "skip: result failed") or t.diag(r.stdout[-3000:])
    t.eq(patched(k), ["plain"], "skip: only the unmanaged workload patched")
    e = entries(r)
    t.ok(all(e[n]["outcome"] == "skipped" and e[n]["manager"]["rollback_skipped"] is True for n in MANAGED),
         "report: managed ones skipped, marked rollback_skipped")
    t.eq(e["plain"]["outcome"], "rolled-back", "report: the plain one rolled back")
    t.ok("helm rollback atom-release -n default" in (e["helm"]["detail"] or ""), "report: the detail says what to run")
    body = issue_body()
    t.ok("**not rolled back** (managed-rollback: skip)" in body and "argocd app rollback shop" in body,
         "issue: not rolled back, and what to run")
    t.eq(r.outputs.get("rolled-back"), "false", "rolled-back=false: the release is not fully back")

# --- skip with only managed workloads: nothing armed, nothing patched ------------------------------
with kube.launch(state=objects(["helm"]), config={"token": KTOKEN, "controller": FAST}) as k:
    r = gate(k, ["helm"], managed_rollback="skip", create_issue="false")
    t.eq((r.rc, r.outputs.get("result")), (1, "failed"), "only managed, skip: failed")
    t.eq(patched(k), [], "no PATCH")
    t.eq(((r.report or {}).get("rollback") or {}).get("armed"), False, "not armed")
    t.ok("not rolled back: managed by Helm release 'atom-release'" in (r.report["rollback"]["detail"] or ""),
         "the reason is the report's rollback detail", r.report["rollback"]["detail"])

found = set()
for r in runs:
    found.update(leaked([KTOKEN, PASSWORD, TOKEN], r))
t.eq(sorted(found), [], "no secret anywhere")
t.done()
