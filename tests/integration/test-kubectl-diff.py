#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 4, differential: atom-safety's rollback against real `kubectl rollout undo` (1.20).

Each case loads the same state into two fresh stand-in API servers (tests/servers/kube.py);
kubectl undoes one (then `kubectl rollout status`), atom-safety (a failing gate) the other. Once
both controllers settle, the Deployments and ReplicaSets must be equal as JSON values, ignoring
what differs between any two servers (resourceVersion, uid, managedFields, timestamps) and the
null / {} / [] vs absent difference of kubectl's Go round trip (kubectl decodes the objects into Go
structs and encodes them again: empty fields come back omitted or as null).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
from harness import TAP, run_gate, service  # noqa: E402
import kube  # noqa: E402

t = TAP()
p = subprocess.run([os.path.join(ROOT, "tests", "lib", "get-kubectl.sh")], capture_output=True, text=True)
if p.returncode != 0 or not p.stdout.strip():
    t.skip_all("kubectl 1.20 unavailable: %s" % (p.stderr.strip().splitlines() or ["get-kubectl.sh failed"])[-1])
KUBECTL = p.stdout.strip()
work = tempfile.mkdtemp(prefix="test-kubectl-diff-")
FAST = {"controller": {"mode": "normal", "step_ms": 30}}
VOLATILE = {"resourceVersion", "uid", "managedFields", "creationTimestamp", "lastUpdateTime", "lastTransitionTime"}


def normal(v):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in VOLATILE:
                continue
            x = normal(x)
            if x is None or x == {} or x == []:
                continue
            out[k] = x
        return out
    if isinstance(v, list):
        return [normal(x) for x in v]
    return v


def snapshot(k):
    items = [normal(o) for o in k.state()["items"]]
    return sorted(items, key=lambda o: (o["kind"], o["metadata"]["name"]))


def set_settled(o):
    s, sp = o.get("status", {}), o["spec"]
    if s.get("observedGeneration", 0) < o["metadata"].get("generation", 0):
        return False
    us = sp.get("updateStrategy") or {}
    if us.get("type") != "RollingUpdate":
        return True  # OnDelete: nothing moves until pods are deleted
    if o["kind"] == "DaemonSet":
        return s.get("updatedNumberScheduled", 0) == s.get("desiredNumberScheduled", 0)
    partition = (us.get("rollingUpdate") or {}).get("partition") or 0
    n = sp.get("replicas", 1)
    return s.get("updatedReplicas", 0) >= n - partition and (partition > 0 or
                                                            s.get("currentRevision") == s.get("updateRevision"))


def settled(k):
    def done(st):
        for o in st["items"]:
            if o["kind"] in ("StatefulSet", "DaemonSet"):
                if not set_settled(o):
                    return False
                continue
            if o["kind"] != "Deployment":
                continue
            s, sp = o.get("status", {}), o["spec"]
            if s.get("observedGeneration", 0) < o["metadata"].get("generation", 0):
                return False
            n = sp.get("replicas", 1)
            if not (s.get("updatedReplicas", 0) == n == s.get("availableReplicas", 0) == s.get("replicas", 0)):
                return False
        return True
    k.wait_for(done, 15)


def kubectl(k, name, *args):
    kc = os.path.join(work, name + ".kubeconfig")
    with open(kc, "w") as f:
        f.write("apiVersion: v1\nkind: Config\nclusters: [{name: f, cluster: {server: \"%s\"}}]\n"
                "contexts: [{name: f, context: {cluster: f, namespace: default, user: u}}]\n"
                "current-context: f\nusers: [{name: u, user: {}}]\n" % k.url)
    cmd = [KUBECTL, "--kubeconfig=" + kc, "--cache-dir=" + os.path.join(work, "cache-" + name)] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def atom(k, svc, to_revision=None, workload="atom"):
    kc = json.dumps({"clusters": [{"name": "f", "cluster": {"server": k.url}}],
                     "contexts": [{"name": "f", "context": {"cluster": "f", "namespace": "default"}}],
                     "current-context": "f"})
    inputs = {"url": svc.url, "environment": "staging", "username": "smoke_test", "password": "demo-password",
              "endpoints": "GET /api/projects", "create-issue": "false", "kubeconfig": kc,
              "rollback-timeout": "30s", "deployment": workload}
    if to_revision:
        inputs["to-revision"] = str(to_revision)
    return run_gate(inputs)


def diff(a, b):
    """the first differing path of two normalised JSON values"""
    if type(a) is not type(b):
        return "%r vs %r" % (a, b)
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return "%s: only in %s" % (key, "kubectl" if key in a else "atom-safety")
            d = diff(a[key], b[key])
            if d:
                return key + "." + d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "length %d vs %d" % (len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y)
            if d:
                return "[%d].%s" % (i, d)
        return None
    return None if a == b else "%r vs %r" % (a, b)


ANNOTATED = {
    "revisions": [[2, "v2", {"team": "payments", "note": "first"}], [5, "v5", {"team": "checkout"}],
                  [9, "v9", {"owner": "alice"}], [11, "v11"]],
    "extra_annotations": {"team": "platform", kube.LAST_APPLIED: '{"kind":"Deployment","metadata":{"name":"atom"}}\n',
                          "example.com/ticket": "OPS-1"},
}
CASES = [
    # name, make_history arguments, the undos to run (to-revision or 0)
    ("two revisions", {}, [0]),
    ("non-consecutive, extra annotations", ANNOTATED, [0]),
    ("to-revision", ANNOTATED, [2]),
    ("undo twice flips back", {"revisions": [[1, "v1"], [2, "v2"], [3, "v3"]]}, [0, 0]),
    ("to-revision then undo", {"revisions": [[1, "v1"], [4, "v4"], [6, "v6"]]}, [1, 0]),
    ("current is not the highest", {"revisions": [[1, "v1"], [2, "v2"], [3, "v3"]], "current": 2}, [0]),
]

with service("healthy", {"routes": {"GET /api/projects": {"status": 500}}}) as svc:
    for name, scen, undos in CASES:
        state = kube.make_history(**scen)
        with kube.launch(state=state, config=FAST) as ka, kube.launch(state=state, config=FAST) as kb:
            t.eq(snapshot(ka), snapshot(kb), "%s: the two servers start equal" % name)
            for step, to in enumerate(undos):
                args = ["rollout", "undo", "deployment/atom"] + (["--to-revision=%d" % to] if to else [])
                rc, out = kubectl(ka, name.replace(" ", "-"), *args)
                if rc == 0 and "skipped" not in out:
                    rc2, out2 = kubectl(ka, name.replace(" ", "-"), "rollout", "status", "deployment/atom",
                                        "--timeout=30s")
                    t.eq(rc2, 0, "%s #%d: kubectl rollout status: %s" % (name, step + 1, out2))
                r = atom(kb, svc, to)
                t.ok(r.rc == 1, "%s #%d: the gate failed (kubectl: %s)" % (name, step + 1, out))
                want = "rolled-back" if rc == 0 and "skipped" not in out else "rollback-failed"
                t.eq(r.outputs.get("result"), want, "%s #%d: result %s" % (name, step + 1, want)) or t.diag(r.stdout)
                settled(ka)
                settled(kb)
                a, b = snapshot(ka), snapshot(kb)
                d = diff(a, b)
                t.ok(d is None, "%s #%d: Deployments and ReplicaSets equal after both undos" % (name, step + 1),
                     diag="first difference: %s" % d)
                pa = [q for q in ka.requests() if q["method"] == "PATCH"]
                pb = [q for q in kb.requests() if q["method"] == "PATCH" and "dryRun" not in q["path"]]
                t.eq(len(pb), len(pa), "%s #%d: as many PATCHes as kubectl (%d)" % (name, step + 1, len(pa)))
                if pa and pb:
                    ours = json.loads(pb[-1]["body"])
                    theirs = json.loads(pa[-1]["body"])
                    t.eq(normal(ours[1:]), normal(theirs),
                         "%s #%d: our patch is kubectl's, after the test operation" % (name, step + 1))

# --- StatefulSets and DaemonSets: ControllerRevisions, the revision's data as a strategic merge patch
SET_CASES = [
    # name, make_set_history arguments, the undos to run, kubectl rollout status expected to succeed
    ("sts two revisions", {"kind": "StatefulSet", "name": "db"}, [0], True),
    ("sts undo twice flips back", {"kind": "StatefulSet", "name": "db",
                                   "revisions": [[1, "v1"], [2, "v2"], [3, "v3"]]}, [0, 0], True),
    ("sts to-revision then undo", {"kind": "StatefulSet", "name": "db",
                                   "revisions": [[1, "v1"], [4, "v4"], [6, "v6"]]}, [1, 0], True),
    ("sts current is not the highest", {"kind": "StatefulSet", "name": "db",
                                        "revisions": [[1, "v1"], [2, "v2"], [3, "v3"]], "current": 2}, [0], True),
    ("sts partition", {"kind": "StatefulSet", "name": "db", "partition": 1, "replicas": 3}, [0], True),
    ("sts OnDelete", {"kind": "StatefulSet", "name": "db", "strategy": "OnDelete"}, [0], False),
    ("sts foreign revision in the list", {"kind": "StatefulSet", "name": "db", "foreign": True}, [0], True),
    ("ds two revisions", {"kind": "DaemonSet", "name": "agent"}, [0], True),
    ("ds undo twice flips back", {"kind": "DaemonSet", "name": "agent",
                                  "revisions": [[1, "v1"], [2, "v2"], [3, "v3"]]}, [0, 0], True),
    ("ds to-revision", {"kind": "DaemonSet", "name": "agent",
                        "revisions": [[2, "v2"], [5, "v5"], [9, "v9"]]}, [2], True),
    ("ds non-consecutive, three nodes", {"kind": "DaemonSet", "name": "agent", "nodes": 3,
                                         "revisions": [[3, "v3"], [8, "v8"], [12, "v12"]]}, [0], True),
]

with service("healthy", {"routes": {"GET /api/projects": {"status": 500}}}) as svc:
    for name, scen, undos, status_ok in SET_CASES:
        state = kube.make_set_history(**scen)
        ref = "%s/%s" % (scen["kind"].lower(), scen["name"])
        with kube.launch(state=state, config=FAST) as ka, kube.launch(state=state, config=FAST) as kb:
            t.eq(snapshot(ka), snapshot(kb), "%s: the two servers start equal" % name)
            for step, to in enumerate(undos):
                tag = "%s #%d" % (name, step + 1)
                args = ["rollout", "undo", ref] + (["--to-revision=%d" % to] if to else [])
                rc, out = kubectl(ka, name.replace(" ", "-"), *args)
                t.eq(rc, 0, "%s: kubectl rollout undo: %s" % (tag, out))
                skipped = "skipped rollback" in out
                if not skipped:
                    rc2, out2 = kubectl(ka, name.replace(" ", "-"), "rollout", "status", ref, "--timeout=30s")
                    t.eq(rc2 == 0, status_ok, "%s: kubectl rollout status %s: %s" % (
                        tag, "succeeds" if status_ok else "refuses", out2))
                r = atom(kb, svc, to, ref)
                want = "rolled-back" if status_ok and not skipped else "rollback-failed"
                t.eq((r.rc, r.outputs.get("result")), (1, want), "%s: the gate failed, result %s" % (tag, want)) \
                    or t.diag(r.stdout[-2500:])
                if skipped:
                    t.ok("current template already matches revision" in r.stdout,
                         "%s: the gate skips as kubectl does" % tag)
                if not status_ok:
                    t.ok("rollout status is only available for RollingUpdate strategy type" in r.stdout,
                         "%s: the gate says what kubectl says" % tag)
                settled(ka)
                settled(kb)
                d = diff(snapshot(ka), snapshot(kb))
                t.ok(d is None, "%s: objects and ControllerRevisions equal after both undos" % tag,
                     diag="first difference: %s" % d)
                pa = [q for q in ka.requests() if q["method"] == "PATCH"]
                pb = [q for q in kb.requests() if q["method"] == "PATCH" and "dryRun" not in q["path"]]
                t.eq(len(pb), len(pa), "%s: as many PATCHes as kubectl (%d)" % (tag, len(pa)))
                if pa and pb:
                    ours, theirs = json.loads(pb[-1]["body"]), json.loads(pa[-1]["body"])
                    guard = ours.pop("metadata", {})
                    t.eq(ours, theirs, "%s: our patch is kubectl's (the revision's data), but for the guard" % tag)
                    t.ok(list(guard) == ["resourceVersion"] and guard["resourceVersion"].isdigit(),
                         "%s: the guard is metadata.resourceVersion" % tag, json.dumps(guard))
                    ctype = [{h.lower(): v for h, v in q["headers"].items()}.get("content-type") for q in (pb[-1], pa[-1])]
                    t.eq(ctype, ["application/strategic-merge-patch+json"] * 2,
                         "%s: the same patch type as kubectl (strategic merge)" % tag)
t.done()
