#!/usr/bin/env python3
"""Issue 16 §3: StatefulSets and DaemonSets beside Deployments. KIND/NAME items and mixed lists;
the revision guard (a newer release landing after preflight is never undone; a status-only write
is not a newer release); preflight naming missing RBAC on controllerrevisions, a first release, an
unknown to-revision; the issue's commands name the kind. The cluster is tests/servers/kube.py
(real kubectl 1.20 accepts it: see test-kubectl-diff)."""

import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from harness import SERVERS, TAP, Server, leaked, run_gate, service  # noqa: E402
import kube  # noqa: E402

KTOKEN = "ktok-Workloads-51-distinctive"
PASSWORD = "pw-Workloads!4"
TOKEN = "ghs_workloadsTest_31"
FAST = {"mode": "normal", "step_ms": 40}
t = TAP()
runs = []


def kubeconfig(url):
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": url}}],
        "users": [{"name": "deployer", "user": {"token": KTOKEN}}],
        "contexts": [{"name": "ci", "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": "ci"})


def bad_service(delay_ms=0):
    return service("healthy", {"users": {"smoke_test": PASSWORD},
                               "routes": {"GET /api/projects": {"status": 500, "body": {"error": "boom"},
                                                                "delay_ms": delay_ms}}})


def gate(svc, k, workloads, env=None, **inputs):
    base = {"url": svc.url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
            "endpoints": "GET /api/projects", "create-issue": "false", "kubeconfig": kubeconfig(k.url),
            "rollback-timeout": "20s", "deployment": workloads}
    base.update({key.replace("_", "-"): v for key, v in inputs.items()})
    r = run_gate(base, env=env, timeout=90)
    runs.append(r)
    return r


def patches(k, dry=None):
    return [q for q in k.requests() if q["method"] == "PATCH" and (dry is None or ("dryRun" in q["path"]) == dry)]


KIND_OF = {"statefulsets": "StatefulSet", "daemonsets": "DaemonSet", "deployments": "Deployment"}


def image(k, resource, name):
    return k.find(KIND_OF[resource], name)["spec"]["template"]["spec"]["containers"][0]["image"]


def entries(r):
    return {e["deployment"]: e for e in ((r.report or {}).get("rollback") or {}).get("deployments", [])}


def preflight(r):
    return r.stdout.split("::group::Readiness")[0]


STS = kube.make_set_history(kind="StatefulSet", name="db", revisions=((1, "v1"), (2, "v2")))
DS = kube.make_set_history(kind="DaemonSet", name="agent", revisions=((3, "v3"), (4, "v4")))
DEP = kube.make_history(name="atom")

# --- a mixed list, short and long forms ---------------------------------------------------------
gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3", "--config", json.dumps({"token": TOKEN}))
with kube.launch(state=STS + DS + DEP, config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, k, "sts/db\nDaemonSet/agent, atom", create_issue="true", github_token=TOKEN,
             env={"GITHUB_API_URL": gh.url + "/api/v3"})
    t.eq((r.rc, r.outputs.get("result")), (1, "rolled-back"), "mixed list: rolled back") or t.diag(r.stdout[-3000:])
    e = entries(r)
    t.eq(sorted((n, x["kind"], x["outcome"]) for n, x in e.items()),
         [("agent", "daemonset", "rolled-back"), ("atom", "deployment", "rolled-back"),
          ("db", "statefulset", "rolled-back")], "report: each workload with its kind, rolled back")
    t.eq((e["db"]["revision_before"], e["db"]["revision_target"]), (2, 1), "statefulset: revision 2 -> 1")
    t.eq((image(k, "statefulsets", "db"), image(k, "daemonsets", "agent"), image(k, "deployments", "atom")),
         ("registry.example.com/acme/db:v1", "registry.example.com/acme/agent:v3",
          "registry.example.com/acme/atom:v1"), "every workload runs its previous template")
    ct = sorted({{h.lower(): v for h, v in q["headers"].items()}.get("content-type") for q in patches(k, dry=False)})
    t.eq(ct, ["application/json-patch+json", "application/strategic-merge-patch+json"],
         "kubectl's patch types: JSON Patch for the Deployment, strategic merge for the others")
    t.eq(len(patches(k, dry=True)), 3, "preflight: a server-side dry run of each patch")
    issues = gh._control("GET", "/_test/issues").get("acme/atom", [])
    body = issues[-1]["body"] if issues else ""
    t.ok("kubectl rollout history statefulset/db" in body and "kubectl rollout history daemonset/agent" in body
         and "kubectl rollout history deployment/atom" in body, "issue: kubectl commands name each kind")

# --- a newer StatefulSet release lands between preflight and the rollback -------------------------
with kube.launch(state=STS, config={"token": KTOKEN, "controller": FAST}) as k, bad_service(delay_ms=2500) as s:
    def newer():
        end = time.monotonic() + 20
        while time.monotonic() < end and not patches(k, dry=True):
            time.sleep(0.05)
        k.deploy(name="db", tag="v9", kind="StatefulSet")
    th = threading.Thread(target=newer)
    th.start()
    r = gate(s, k, "statefulset/db")
    th.join()
    t.eq(r.outputs.get("result"), "rollback-failed", "newer release: rollback-failed")
    t.ok("rollback skipped: the statefulset changed since the gate started" in r.stdout, "newer release: said plainly") \
        or t.diag(r.stdout[-2000:])
    real = patches(k, dry=False)
    t.ok(len(real) == 1 and real[0]["status"] == 409, "newer release: the PATCH was refused by its precondition (409)",
         [(q["status"]) for q in real])
    t.eq(image(k, "statefulsets", "db"), "registry.example.com/acme/db:v9", "the newer release was not touched")
    t.eq(entries(r)["db"]["outcome"], "skipped", "outcome skipped")

# --- a status-only write between preflight and the rollback: resent, rolled back -------------------
with kube.launch(state=DS, config={"token": KTOKEN, "controller": FAST}) as k, bad_service(delay_ms=1500) as s:
    def touch():
        end = time.monotonic() + 20
        while time.monotonic() < end and not patches(k, dry=True):
            time.sleep(0.05)
        k.touch(kind="DaemonSet", name="agent")
    th = threading.Thread(target=touch)
    th.start()
    r = gate(s, k, "ds/agent")
    th.join()
    real = patches(k, dry=False)
    t.eq([q["status"] for q in real], [409, 200], "status moved: the first PATCH refused, the second accepted")
    t.eq(r.outputs.get("result"), "rolled-back", "status moved: still rolled back") or t.diag(r.stdout[-2000:])
    t.eq(image(k, "daemonsets", "agent"), "registry.example.com/acme/agent:v3", "the previous template restored")

# --- preflight: RBAC, first release, unknown to-revision ---------------------------------------------
with kube.launch(state=STS, config={"token": KTOKEN, "controller": FAST,
                                    "forbid": ["list/controllerrevisions"]}) as k, bad_service() as s:
    r = gate(s, k, "sts/db")
    t.ok("controllerrevisions" in preflight(r) and "::warning::" in preflight(r)
         and "the Role needs" in preflight(r), "RBAC: preflight names controllerrevisions and the Role") \
        or t.diag(preflight(r))
    t.eq(patches(k), [], "RBAC: nothing patched")
with kube.launch(state=kube.make_set_history(kind="StatefulSet", name="db", revisions=((1, "v1"),)),
                 config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, k, "sts/db")
    t.ok("no last revision to roll back to" in preflight(r), "first release: kubectl's words at preflight")
    t.eq(r.outputs.get("result"), "rollback-failed", "first release: rollback-failed")
with kube.launch(state=DS, config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, k, "ds/agent", to_revision="7")
    t.ok("unable to find specified revision 7 in history" in preflight(r), "unknown to-revision: said at preflight")
    r = gate(s, k, "ds/agent", to_revision="3", dry_run="true")
    t.ok(r.outputs.get("result") == "failed" and r.outputs.get("rollback-revision") == "3"
         and entries(r)["agent"]["outcome"] == "dry-run", "dry run with to-revision: validated only")
    t.eq(image(k, "daemonsets", "agent"), "registry.example.com/acme/agent:v4", "dry run: nothing changed")

# --- OnDelete: kubectl's words, rollback-failed ---------------------------------------------------------
with kube.launch(state=kube.make_set_history(kind="StatefulSet", name="db", strategy="OnDelete"),
                 config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, k, "sts/db")
    t.eq(r.outputs.get("result"), "rollback-failed", "OnDelete: the rollout cannot complete by itself")
    t.ok("rollout status is only available for RollingUpdate strategy type" in (entries(r)["db"]["detail"] or ""),
         "OnDelete: kubectl's words in the report")

found = set()
for r in runs:
    found.update(leaked([KTOKEN, PASSWORD, TOKEN], r))
t.eq(sorted(found), [], "no secret anywhere")
t.done()
