#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TAP: the stand-in Kubernetes API server (tests/servers/kube.py) against real kubectl 1.20.

kubectl comes from tests/lib/get-kubectl.sh (Debian's kubernetes-client, unpacked, never
installed); without it the whole test is skipped. The PATCH bodies kubectl sent are printed as
TAP diagnostics: the C implementation is compared against them.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import kube  # noqa: E402

# the undo PATCH real kubectl sends (pkg/polymorphichelpers/rollback.go: replace /spec/template, then
# /metadata/annotations); observed byte-identical from kubectl 1.20.2, 1.27.16, 1.32.4 and 1.33.1
# (rev 2 -> rev 1)
REFERENCE_PATCH = (
    '[{"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null,"labels":{"app":"atom"}},'
    '"spec":{"containers":[{"name":"atom","image":"registry.example.com/acme/atom:v1","ports":[{"containerPort":8080,'
    '"protocol":"TCP"}],"env":[{"name":"CHANGE","value":"v1"}],"resources":{},"terminationMessagePath":'
    '"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":'
    '"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":'
    '"default-scheduler"}}},{"op":"replace","path":"/metadata/annotations","value":{"deployment.kubernetes.io/revision":'
    '"2","kubernetes.io/change-cause":"deploy v1"}}]'
)
FAST = {"controller": {"mode": "normal", "step_ms": 40}}


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc), flush=True)
        if not cond:
            self.failed += 1
            if diag:
                self.diag(diag)
        return cond

    def skip(self, desc, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, reason), flush=True)

    def diag(self, text):
        for line in str(text).rstrip("\n").split("\n"):
            print("# " + line, flush=True)


tap = Tap()


def get_kubectl():
    p = subprocess.run(["bash", os.path.join(HERE, "get-kubectl.sh")], capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        lines = [x for x in p.stderr.strip().split("\n") if x.strip()]
        print("1..0 # SKIP kubectl 1.20 unavailable: %s" % (lines[-1] if lines else "rc %d" % p.returncode))
        sys.exit(0)
    return p.stdout.strip()


def write_kubeconfig(path, url, ca_pem=None, token=None):
    cluster = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    user = {"token": token} if token else {}
    cfg = {  # a kubeconfig kubectl accepts; JSON is YAML
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": cluster}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "namespace": "default", "user": "nobody"}}],
        "current-context": "fake",
        "users": [{"name": "nobody", "user": user}],
    }
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


class Kubectl:
    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        self.env["HOME"] = workdir

    def __call__(self, kubeconfig, *args, timeout=20):
        cmd = [self.binary, "--kubeconfig=" + kubeconfig, "--cache-dir=" + os.path.join(self.workdir, "cache")] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr


def deployment(st, name="atom"):
    for o in st["items"]:
        if o["kind"] == "Deployment" and o["metadata"]["name"] == name:
            return o
    return None


def replicasets(st):
    return [o for o in st["items"] if o["kind"] == "ReplicaSet"]


def revision(o):
    return (o["metadata"].get("annotations") or {}).get(kube.REVISION)


def image(d):
    return d["spec"]["template"]["spec"]["containers"][0]["image"]


def settled(st, rev):
    """Deployment at revision rev, rollout complete."""
    d = deployment(st)
    s = d.get("status", {})
    prog = [c for c in s.get("conditions", []) if c["type"] == "Progressing"]
    return (revision(d) == str(rev) and s.get("observedGeneration") == d["metadata"]["generation"]
            and s.get("updatedReplicas") == d["spec"]["replicas"] == s.get("availableReplicas") == s.get("replicas")
            and prog and prog[0]["reason"] == "NewReplicaSetAvailable")


def history_revisions(out):
    revs = []
    for line in out.splitlines():
        first = line.split()[:1]
        if first and first[0].isdigit():
            revs.append(int(first[0]))
    return revs


def patches(srv, since=0):
    return [r for r in srv.requests()[since:] if r["method"] == "PATCH"]


def show_patches(label, ps):
    for p in ps:
        tap.diag("%s: PATCH %s (%s)" % (label, p["path"], p["headers"].get("content-type")))
        tap.diag(p["body"])


def http(srv, method, path, body=None, ctype=None, headers=None):
    h = dict(headers or {})
    if ctype:
        h["Content-Type"] = ctype
    if isinstance(body, str):
        body = body.encode()
    return srv.call(method, path, body, h)


def main():
    binary = get_kubectl()
    work = tempfile.mkdtemp(prefix="selftest-kube.")
    servers = []
    started = time.monotonic()
    try:
        run(binary, work, servers)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    tap.diag("elapsed %.1fs" % (time.monotonic() - started))
    print("1..%d" % tap.n)
    return 1 if tap.failed else 0


def run(binary, work, servers):
    kubectl = Kubectl(binary, work)
    rc, out, err = kubectl(os.devnull, "version", "--client", "--short")
    tap.ok(rc == 0 and "v1.20." in out, "kubectl is 1.20 (%s)" % out.strip(), err)

    srv = kube.launch(scenario="default", config=FAST)
    servers.append(srv)
    kc = write_kubeconfig(os.path.join(work, "plain.kubeconfig"), srv.url)
    dep = "deployment/atom"

    # ---- history and a plain undo
    rc, out, err = kubectl(kc, "rollout", "history", dep)
    tap.ok(rc == 0 and history_revisions(out) == [1, 2], "rollout history lists revisions 1 and 2", out + err)

    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", dep)
    tap.ok(rc == 0 and out.strip() == "deployment.apps/atom rolled back", "rollout undo: rolled back", out + err)
    ps = patches(srv, mark)
    show_patches("undo 2->1", ps)
    tap.ok(len(ps) == 1 and ps[0]["headers"].get("content-type") == "application/json-patch+json"
           and ps[0]["path"] == "/apis/apps/v1/namespaces/default/deployments/atom",
           "undo sent one JSON Patch to the deployment", json.dumps(ps)[:2000])
    tap.ok(len(ps) == 1 and ps[0]["body"] == REFERENCE_PATCH,
           "undo PATCH body is byte-identical to kubectl's", ps[0]["body"] if ps else "no PATCH")
    seen = [(r["method"], r["path"].split("?")[0]) for r in srv.requests()[mark:]]
    tap.ok(("GET", "/apis/apps/v1/namespaces/default/replicasets") in seen,
           "undo listed replicasets by label selector", seen)

    try:
        st = srv.wait_for(lambda s: settled(s, 3), 10)
        good = True
    except TimeoutError:
        st, good = srv.state(), False
    d = deployment(st)
    tap.ok(good and image(d).endswith(":v1"), "after undo: image v1, revision 3, rollout complete",
           json.dumps(d, indent=1)[:3000])
    v1 = [rs for rs in replicasets(st) if image(rs).endswith(":v1")][0]
    tap.ok(revision(v1) == "3" and v1["metadata"]["annotations"].get(kube.REVISION_HISTORY) == "1",
           "revision 1's ReplicaSet renumbered to 3 with revision-history 1", v1["metadata"])
    rc, out, err = kubectl(kc, "rollout", "history", dep)
    tap.ok(rc == 0 and history_revisions(out) == [2, 3], "rollout history now shows 2 and 3 (1 is gone)", out + err)

    rc, out, err = kubectl(kc, "rollout", "status", dep, "--timeout=10s")
    tap.ok(rc == 0 and 'deployment "atom" successfully rolled out' in out, "rollout status: successfully rolled out",
           out + err)

    rc, out, err = kubectl(kc, "rollout", "undo", dep, "--to-revision=1")
    tap.ok(rc == 1 and "unable to find specified revision 1 in history" in err,
           "--to-revision=1 fails after renumbering", out + err)

    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", dep)
    show_patches("undo 3->2", patches(srv, mark))
    try:
        st = srv.wait_for(lambda s: settled(s, 4), 10)
        good = True
    except TimeoutError:
        st, good = srv.state(), False
    tap.ok(rc == 0 and good and image(deployment(st)).endswith(":v2"), "a second undo flips back to v2 as revision 4",
           out + err + json.dumps(deployment(st))[:2000])
    rc, out, err = kubectl(kc, "rollout", "history", dep)
    tap.ok(history_revisions(out) == [3, 4], "history shows 3 and 4", out + err)

    # ---- server-side dry run (needs /openapi/v2 as protobuf)
    before = srv.state()
    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", dep, "--dry-run=server")
    ps = patches(srv, mark)
    show_patches("undo --dry-run=server", ps)
    time.sleep(0.15)
    after = srv.state()
    tap.ok(rc == 0 and "rolled back (server dry run)" in out and len(ps) == 1
           and ps[0]["path"].endswith("?dryRun=All") and after["resourceVersion"] == before["resourceVersion"],
           "undo --dry-run=server: PATCH ?dryRun=All, nothing changed", out + err)

    # ---- non-consecutive revisions, unsorted list
    srv.config({"scenario": "sparse"})
    st = srv.state()
    listed = srv.get("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Datom")
    order = [int(revision(i)) for i in listed["items"]]
    tap.ok(listed["kind"] == "ReplicaSetList" and order != sorted(order) and "kind" not in listed["items"][0],
           "replicaset list is not in revision order, items have no kind (%s)" % order)

    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", dep, "--dry-run=server")
    ps = patches(srv, mark)
    body = json.loads(ps[0]["body"]) if ps else []
    tap.ok(rc == 0 and body and body[0]["value"]["spec"]["containers"][0]["image"].endswith(":v3"),
           "revisions [1,3,7] current 7: plain undo targets 3 (second-highest)", out + err)

    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", dep, "--to-revision=1")
    show_patches("undo --to-revision=1 from 7", patches(srv, mark))
    try:
        st = srv.wait_for(lambda s: settled(s, 8), 10)
        good = True
    except TimeoutError:
        st, good = srv.state(), False
    tap.ok(rc == 0 and good and image(deployment(st)).endswith(":v1"),
           "--to-revision=1 among [1,3,7]: image v1, revision 8", out + err)
    rc, out, err = kubectl(kc, "rollout", "history", dep)
    tap.ok(history_revisions(out) == [3, 7, 8], "history shows 3, 7, 8", out)

    # ---- template already matches: skipped, no PATCH
    srv.config({"scenario": {"revisions": [[1, "v1"], [2, "v2"]], "current": 1}})
    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", dep)
    # kubectl 1.20 prints the revision asked for (0 = default); 1.32 prints the one found (1)
    tap.ok(rc == 0 and "skipped rollback (current template already matches revision " in out
           and not patches(srv, mark), "undo to the live template is skipped without a PATCH (%s)" % out.strip(),
           out + err)

    # ---- paused
    srv.config({"scenario": "paused"})
    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", dep)
    tap.ok(rc == 1 and "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume "
           "deployment/atom' and try again" in err and not patches(srv, mark),
           "paused deployment: kubectl refuses, no PATCH", out + err)
    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "resume", dep)
    ps = patches(srv, mark)
    show_patches("rollout resume", ps)
    d = deployment(srv.state())
    tap.ok(rc == 0 and ps and not d["spec"].get("paused"),
           "rollout resume (%s) unpauses" % (ps[0]["headers"].get("content-type") if ps else "no PATCH"), out + err)
    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "pause", dep)
    ps = patches(srv, mark)
    show_patches("rollout pause", ps)
    tap.ok(rc == 0 and deployment(srv.state())["spec"].get("paused") is True, "rollout pause pauses", out + err)

    # ---- no history, missing, forbidden
    srv.config({"scenario": "first-deploy"})
    rc, out, err = kubectl(kc, "rollout", "undo", dep)
    tap.ok(rc == 1 and "no rollout history found" in err, "first deploy: nothing to undo (%s)" % err.strip(), out + err)
    rc, out, err = kubectl(kc, "rollout", "undo", "deployment/nope")
    tap.ok(rc == 1 and 'Error from server (NotFound): deployments.apps "nope" not found' in err,
           "missing deployment: NotFound", out + err)
    srv.config({"scenario": "default", "forbid": ["patch"]})
    rc, out, err = kubectl(kc, "rollout", "undo", dep)
    want = ('deployments.apps "atom" is forbidden: User "system:serviceaccount:ci:deployer" cannot patch resource '
            '"deployments" in API group "apps" in the namespace "default"')
    # kubectl 1.20 wraps it: "error: failed restoring revision 0: <message>"
    tap.ok(rc == 1 and want in err, "forbidden PATCH: 403 reported (%s)" % err.strip().split(":")[0], err)
    srv.config({"forbid": []})

    # ---- rollout status modes
    srv.config({"scenario": "default", "controller": {"mode": "deadline", "step_ms": 40}})
    srv.deploy(name="atom", tag="v3")
    t0 = time.monotonic()
    rc, out, err = kubectl(kc, "rollout", "status", dep, "--timeout=10s")
    tap.ok(rc == 1 and 'deployment "atom" exceeded its progress deadline' in err,
           "deadline mode: rollout status reports the deadline (%.1fs)" % (time.monotonic() - t0), out + err)

    srv.config({"scenario": "default", "controller": {"mode": "stuck", "step_ms": 40}})
    srv.deploy(name="atom", tag="v3")
    rc, out, err = kubectl(kc, "rollout", "status", dep, "--timeout=1s")
    d = deployment(srv.state())
    tap.ok(rc == 1 and "timed out waiting for the condition" in err
           and d["status"].get("observedGeneration") == d["metadata"]["generation"]
           and d["status"].get("availableReplicas", 0) < d["status"].get("updatedReplicas", 0) + 1
           and revision(d) == "3", "stuck mode: observed but never available; status times out", out + err)

    srv.config({"scenario": "default", "controller": {"mode": "normal", "step_ms": 300}, "watch_max_seconds": 0.2,
                "bookmarks": True})
    srv.deploy(name="atom", tag="v3")
    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "status", dep, "--timeout=10s")
    watches = [r for r in srv.requests()[mark:] if "watch=true" in r["path"]]
    tap.ok(rc == 0 and "successfully rolled out" in out and len(watches) >= 2,
           "short watches: kubectl re-watches (%d watches) and finishes" % len(watches), out + err)
    for r in watches[:3]:
        tap.diag("watch: " + r["path"])
    rc, out, err = kubectl(kc, "rollout", "history", dep)
    tap.ok(history_revisions(out) == [1, 2, 3] and "deploy v3" in out, "_test/deploy made revision 3", out)
    srv.config({"watch_max_seconds": None, "bookmarks": False, "controller": FAST["controller"]})

    # ---- the API directly
    api_checks(srv)

    # ---- https with a CA and a token
    tls_checks(kubectl, work, servers)


def api_checks(srv):
    srv.config({"scenario": "default"})
    dpath = "/apis/apps/v1/namespaces/default/deployments/atom"
    st0 = srv.state()
    test_bad = json.dumps([{"op": "test", "path": "/metadata/annotations/deployment.kubernetes.io~1revision",
                            "value": "1"}, {"op": "replace", "path": "/spec/replicas", "value": 5}])
    code, body = http(srv, "PATCH", dpath, test_bad, "application/json-patch+json")
    tap.ok(code == 422 and body.get("reason") == "Invalid" and body.get("kind") == "Status"
           and srv.state()["resourceVersion"] == st0["resourceVersion"],
           "failing JSON Patch test: 422 Invalid, nothing changed", body)
    code, body = http(srv, "PATCH", dpath, "{not json", "application/json-patch+json")
    tap.ok(code == 400 and body.get("reason") == "BadRequest", "undecodable patch: 400", body)
    code, body = http(srv, "PATCH", dpath, "[]", "application/json")
    tap.ok(code == 415 and body.get("reason") == "UnsupportedMediaType", "application/json patch: 415", body)
    good = json.dumps([{"op": "test", "path": "/metadata/annotations/deployment.kubernetes.io~1revision", "value": "2"},
                       {"op": "replace", "path": "/spec/replicas", "value": 3}])
    code, body = http(srv, "PATCH", dpath + "?dryRun=All", good, "application/json-patch+json")
    tap.ok(code == 200 and body["spec"]["replicas"] == 3 and srv.state()["resourceVersion"] == st0["resourceVersion"],
           "dryRun=All returns the would-be object and changes nothing", body)
    g0 = deployment(st0)["metadata"]["generation"]
    code, body = http(srv, "PATCH", dpath, good, "application/json-patch+json")
    tap.ok(code == 200 and body["spec"]["replicas"] == 3 and body["metadata"]["generation"] == g0 + 1
           and int(body["metadata"]["resourceVersion"]) > int(st0["resourceVersion"]),
           "passing test + replace: applied, generation and resourceVersion bumped", body)
    code, body = http(srv, "GET", "/apis/apps/v1/namespaces/default/deployments/nope")
    tap.ok(code == 404 and body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": "deployments.apps \"nope\" not found", "reason": "NotFound",
                                    "details": {"name": "nope", "group": "apps", "kind": "deployments"}, "code": 404},
           "404 is the API server's Status body (kind Status, reason NotFound, code 404)", body)
    base = "/apis/apps/v1/namespaces/default/replicasets?labelSelector="
    counts = {}
    for sel in ("app=atom", "app in (atom,other)", "app notin (other)", "app", "!nope", "app!=atom", "nope",
                "app=atom,pod-template-hash"):
        code, body = http(srv, "GET", base + urllib.request.quote(sel))
        counts[sel] = len(body["items"]) if code == 200 else code
    tap.ok(counts == {"app=atom": 2, "app in (atom,other)": 2, "app notin (other)": 2, "app": 2, "!nope": 2,
                      "app!=atom": 0, "nope": 0, "app=atom,pod-template-hash": 2}, "label selectors", counts)
    # a watch from the list's resourceVersion sees a later change
    lst = srv.get("/apis/apps/v1/namespaces/default/deployments?fieldSelector=metadata.name%3Datom")
    rv = lst["metadata"]["resourceVersion"]
    req = urllib.request.Request(srv.url + "/apis/apps/v1/namespaces/default/deployments?fieldSelector=metadata.name%3D"
                                 "atom&watch=true&timeoutSeconds=2&resourceVersion=" + rv)
    events = []
    with urllib.request.urlopen(req, timeout=10) as r:
        chunked = r.headers.get("Transfer-Encoding") == "chunked"
        srv.deploy(name="atom", tag="v9")
        for line in r:
            ev = json.loads(line)
            events.append((ev["type"], ev["object"]["metadata"]["resourceVersion"]))
            if ev["type"] == "MODIFIED" and revision(ev["object"]) == "3":
                break
    tap.ok(chunked and events and all(t == "MODIFIED" for t, _ in events) and int(events[0][1]) > int(rv),
           "watch from resourceVersion streams chunked MODIFIED events (%d)" % len(events), events)


def tls_checks(kubectl, work, servers):
    if shutil.which("openssl") is None:
        tap.skip("https with CA and token", "openssl not found")
        return
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=fake-kube-apiserver",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], capture_output=True, text=True)
    if not tap.ok(p.returncode == 0, "openssl made a self-signed certificate", p.stderr):
        return
    token = "tok-kube-selftest-4f1c9e"
    srv = kube.launch(scenario="default", config=dict(FAST, token=token), tls=(cert, key))
    servers.append(srv)
    with open(cert, "rb") as f:
        ca = f.read()
    kc = write_kubeconfig(os.path.join(work, "tls.kubeconfig"), srv.url, ca_pem=ca, token=token)
    tap.ok(srv.url.startswith("https://127.0.0.1:"), "https server ready at " + srv.url)
    mark = len(srv.requests())
    rc, out, err = kubectl(kc, "rollout", "undo", "deployment/atom")
    reqs = srv.requests()[mark:]
    ps = [r for r in reqs if r["method"] == "PATCH"]
    show_patches("undo over https", ps)
    tap.ok(rc == 0 and "rolled back" in out and ps and ps[0]["body"] == REFERENCE_PATCH,
           "undo over https with certificate-authority-data and token", out + err)
    tap.ok(reqs and all(r["headers"].get("authorization") == "Bearer " + token for r in reqs),
           "every request carried the bearer token")
    try:
        srv.wait_for(lambda s: settled(s, 3), 10)
        good = True
    except TimeoutError:
        good = False
    rc, out, err = kubectl(kc, "rollout", "status", "deployment/atom", "--timeout=10s")
    tap.ok(good and rc == 0 and "successfully rolled out" in out, "rollout status over https", out + err)
    bad = write_kubeconfig(os.path.join(work, "badtoken.kubeconfig"), srv.url, ca_pem=ca, token="wrong")
    rc, out, err = kubectl(bad, "rollout", "history", "deployment/atom")
    tap.ok(rc == 1 and "Unauthorized" in err, "wrong token: Unauthorized", err)
    noca = write_kubeconfig(os.path.join(work, "noca.kubeconfig"), srv.url, token=token)
    rc, out, err = kubectl(noca, "rollout", "history", "deployment/atom")
    tap.ok(rc == 1 and "certificate signed by unknown authority" in err, "no CA: x509 unknown authority", err)


if __name__ == "__main__":
    sys.exit(main())
