#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Records the undo fixtures of tests/unit/test-kubectl.c from real kubectl 1.20.

For each case: a state built with tests/servers/kube.py's make_history (plus hand-made twists),
served by a fresh kube.py; `kubectl rollout undo deployment/NAME [--to-revision=N]` runs against it;
the fixture keeps the Deployment, the ReplicaSet list as the API returned it, and what kubectl did
(exit code, output, the PATCH body or null). Run it again when a case is added:

    python3 tests/data/k8s/record.py            # writes tests/data/k8s/undo-*.json
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import kube  # noqa: E402


def foreign(objects, rev, owner_uid, controller=True, suffix="x"):
    """A ReplicaSet like the Deployment's latest one, but owned by someone else, at revision rev."""
    rs = copy.deepcopy(objects[1])
    md = rs["metadata"]
    md["name"] = md["name"] + "-" + suffix
    md["uid"] = kube.object_uid("ReplicaSet", "default", md["name"])
    md["annotations"][kube.REVISION] = str(rev)
    md["ownerReferences"][0]["uid"] = owner_uid
    md["ownerReferences"][0]["controller"] = controller
    rs["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/acme/atom:foreign"
    return objects + [rs]


def sidecars(objects):
    for o in objects:
        t = o["spec"]["template"]
        c = copy.deepcopy(t["spec"]["containers"][0])
        tag = c["image"].rsplit(":", 1)[1]
        c["name"] = "proxy"
        c["image"] = "registry.example.com/acme/proxy:" + tag
        c.pop("ports", None)
        t["spec"]["containers"].append(c)
    return objects


def expressions(objects):
    d = objects[0]
    d["spec"]["selector"]["matchExpressions"] = [
        {"key": "tier", "operator": "NotIn", "values": ["db", "cache"]},
        {"key": "app", "operator": "Exists"},
    ]
    return objects


def base(**kw):
    return kube.make_history(**kw)


CASES = [
    ("history", base(), 0),
    ("sparse", base(revisions=[(1, "v1"), (3, "v3"), (7, "v7")]), 0),
    ("sparse-to-1", base(revisions=[(1, "v1"), (3, "v3"), (7, "v7")]), 1),
    ("sparse-to-9", base(revisions=[(1, "v1"), (3, "v3"), (7, "v7")]), 9),
    ("first-deploy", base(revisions=[(1, "v1")]), 0),
    ("paused", base(paused=True), 0),
    ("matches", base(revisions=[(1, "v1"), (2, "v2"), (3, "v3")], current=2), 0),
    ("annotated", base(revisions=[(4, "v4", {"team": "payments", "note": "old release"}), (5, "v5", {"team": "checkout"}),
                                  (6, "v6")],
                       extra_annotations={"team": "platform", kube.LAST_APPLIED: '{"kind":"Deployment"}\n',
                                          "deprecated.deployment.rollback.to": "2"}), 0),
    ("foreign-owner", foreign(base(revisions=[(1, "v1"), (2, "v2")]), 99, "0000-not-ours"), 0),
    ("not-controller", foreign(base(revisions=[(1, "v1"), (2, "v2")]), 50,
                               kube.object_uid("Deployment", "default", "atom"), controller=False), 0),
    ("sidecar", sidecars(base(revisions=[(2, "v2"), (5, "v5")])), 0),
    ("expressions", expressions(base(revisions=[(1, "v1"), (2, "v2"), (3, "v3")])), 0),
]


def main():
    kubectl = subprocess.run([os.path.join(ROOT, "tests", "lib", "get-kubectl.sh")], capture_output=True,
                             text=True).stdout.strip()
    if not kubectl:
        sys.exit("kubectl 1.20 not available")
    work = tempfile.mkdtemp(prefix="record-undo-")
    for name, state, to_rev in CASES:
        srv = kube.launch(state=state, config={"controller": {"mode": "off"}})
        try:
            dep = srv.get("/apis/apps/v1/namespaces/default/deployments/atom")
            sel = "app=atom"
            rss = srv.get("/apis/apps/v1/namespaces/default/replicasets?labelSelector=" + urllib.parse.quote(sel))
            kc = os.path.join(work, name + ".kubeconfig")
            with open(kc, "w") as f:
                f.write("apiVersion: v1\nkind: Config\nclusters: [{name: f, cluster: {server: \"%s\"}}]\n"
                        "contexts: [{name: f, context: {cluster: f, namespace: default, user: u}}]\n"
                        "current-context: f\nusers: [{name: u, user: {}}]\n" % srv.url)
            args = [kubectl, "--kubeconfig=" + kc, "--cache-dir=" + os.path.join(work, "cache-" + name),
                    "rollout", "undo", "deployment/atom"]
            if to_rev:
                args.append("--to-revision=%d" % to_rev)
            p = subprocess.run(args, capture_output=True, text=True, timeout=30)
            patches = [q for q in srv.requests() if q["method"] == "PATCH"]
            fixture = {
                "case": name,
                "to_revision": to_rev,
                "deployment": dep,
                "replicasets": rss,
                "kubectl": {
                    "rc": p.returncode,
                    "output": (p.stdout + p.stderr).strip(),
                    "patch": json.loads(patches[0]["body"]) if patches else None,
                },
            }
        finally:
            srv.stop()
        with open(os.path.join(HERE, "undo-%s.json" % name), "w") as f:
            json.dump(fixture, f, indent=1, sort_keys=True)
            f.write("\n")
        print("%-16s rc=%d %s" % (name, p.returncode, fixture["kubectl"]["output"]))


if __name__ == "__main__":
    main()
