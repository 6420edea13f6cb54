#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 4: the Kubernetes rollback against tests/servers/kube.py (and service.py for the verdict).

Preflight warnings, kubectl's undo semantics, the test operation guarding against a newer deploy,
rollout waiting (watch, re-watch, stuck, deadline, SIGTERM), dry-run, API errors, kubeconfig
variants (token, client certificate over TLS, base64, KUBECONFIG files, unknown context, exec
user) and that no credential leaks.
"""
import base64
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from harness import SERVERS, TAP, Server, leaked, run_gate, service  # noqa: E402
import kube  # noqa: E402

KTOKEN = "ktok-Rb77-distinctive-kube-token"
PASSWORD = "pw-Rb11!rollback-secret"
FAST = {"mode": "normal", "step_ms": 40}
SECRETS = [KTOKEN, PASSWORD]
DEPLOY = "/apis/apps/v1/namespaces/default/deployments/atom"

t = TAP()
runs = []
work = tempfile.mkdtemp(prefix="test-rollback-")


def kubeconfig(url, token=KTOKEN, ca=None, cert=None, key=None, namespace="default", user=None, context="ci"):
    u = user
    if u is None:
        u = {}
        if token:
            u["token"] = token
        if cert:
            u["client-certificate-data"] = base64.b64encode(cert.encode()).decode()
            u["client-key-data"] = base64.b64encode(key.encode()).decode()
    c = {"server": url}
    if ca:
        c["certificate-authority-data"] = base64.b64encode(ca.encode()).decode()
    # JSON is YAML: the C side reads it with libyaml like any kubeconfig
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": c}],
        "users": [{"name": "deployer", "user": u}],
        "contexts": [{"name": context, "context": {"cluster": "test", "user": "deployer", "namespace": namespace}}],
        "current-context": context,
    }, indent=1)


def bad_service(delay_ms=0, db_ok=True):
    cfg = {"users": {"smoke_test": PASSWORD},
           "routes": {"GET /api/projects": {"status": 500, "body": {"error": "boom"}, "delay_ms": delay_ms}}}
    return service("healthy" if db_ok else "bad-release", cfg)


def gate(svc, kc, env=None, **inputs):
    base = {"url": svc.url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
            "endpoints": "GET /api/projects", "create-issue": "false", "kubeconfig": kc,
            "rollback-timeout": "20s"}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    r = run_gate(base, env=env)
    runs.append(r)
    return r


def patches(k, dry=None):
    out = []
    for q in k.requests():
        if q["method"] != "PATCH":
            continue
        is_dry = "dryRun=All" in q["path"]
        if dry is None or dry == is_dry:
            out.append(q)
    return out


def deployment(k):
    return k.find("Deployment", "atom")


def image_of(d):
    return d["spec"]["template"]["spec"]["containers"][0]["image"]


def revision_of(d):
    return d["metadata"]["annotations"].get(kube.REVISION)


def rb(r):
    return (r.report or {}).get("rollback") or {}


def entry(r, i=0):
    items = rb(r).get("deployments") or []
    return items[i] if len(items) > i else {}


def before_checks(r, text):
    """text appears in the log before the first check runs (preflight)."""
    at = r.stdout.find(text)
    ready = r.stdout.find("::group::Readiness")
    return 0 <= at < ready


def img(tag, name="atom"):
    return "%s/%s:%s" % (kube.IMAGE_REGISTRY, name, tag)


# --- previous revision among non-consecutive ones, plain YAML kubeconfig, token ----------------
with kube.launch(scenario={"revisions": [[1, "v1"], [3, "v3"], [7, "v7"]]},
                 config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url))
    t.eq(r.rc, 1, "sparse: the gate failed (exit 1)")
    t.eq(r.outputs.get("result"), "rolled-back", "sparse: result rolled-back", ) or t.diag(r.stdout)
    t.eq(r.outputs.get("rolled-back"), "true", "sparse: output rolled-back=true")
    t.ok(before_checks(r, "a rollback restores revision 3 (%s)" % img("v3")),
         "sparse: preflight reported the target before any check ran")
    real = patches(k, dry=False)
    t.eq(len(real), 1, "sparse: one PATCH sent")
    body = json.loads(real[0]["body"]) if real else []
    t.eq(body[0] if body else None,
         {"op": "test", "path": "/metadata/annotations/deployment.kubernetes.io~1revision", "value": "7"},
         "sparse: the test operation comes first and checks revision 7")
    t.eq([op["op"] + " " + op["path"] for op in body[1:]],
         ["replace /spec/template", "replace /metadata/annotations"], "sparse: kubectl's two replace operations")
    t.eq(real and real[0]["headers"].get("content-type"), "application/json-patch+json", "sparse: JSON Patch content type")
    t.ok(all(q["headers"].get("accept") == "application/json" for q in k.requests()), "sparse: Accept: application/json")
    t.ok(all(q["headers"].get("authorization") == "Bearer " + KTOKEN for q in k.requests()),
         "sparse: every API request carried the token")
    d = deployment(k)
    t.eq(image_of(d), img("v3"), "sparse: revision 3 (v3) restored, not 6 or 1")
    t.eq(revision_of(d), "8", "sparse: the controller renumbered it to 8")
    e = entry(r)
    t.eq((e.get("revision_before"), e.get("revision_target"), e.get("revision_after")), (7, 3, 8),
         "sparse: report revisions before, target, after")
    t.eq((e.get("images_before"), e.get("images_after")), (img("v7"), img("v3")), "sparse: report images")
    t.eq(r.outputs.get("rollback-revision"), "3", "sparse: output rollback-revision is the revision restored")
    ftp = e.get("failure_to_patch_ms")
    t.ok(isinstance(ftp, int) and 0 <= ftp < (500 if os.environ.get("ATOM_SAFETY_TEST_WRAPPER") else 50),
         "sparse: failure to PATCH in %s ms (< 50)" % ftp)
    t.ok(isinstance(e.get("rollout_ms"), int) and e["rollout_ms"] > 0, "sparse: rollout time reported")
    t.ok("of 2 updated replicas are available" in r.stdout or "new replicas have been updated" in r.stdout,
         "sparse: progress lines printed while waiting")
    checks = {c["name"]: c for c in r.report["checks"]}
    t.ok(checks.get("recovery-health", {}).get("status") == "pass" and
         checks.get("recovery-database", {}).get("status") == "pass", "sparse: recovery verified by health and database")
    t.ok("### Rollback" in r.summary and "7 -> 3 (now 8)" in r.summary and img("v7") + " -> " + img("v3") in r.summary,
         "sparse: summary shows revision and images before and after")
    watches = [q for q in k.requests() if "watch=true" in q["path"]]
    t.ok(len(watches) >= 1 and "fieldSelector=metadata.name%3Datom" in watches[0]["path"],
         "sparse: the rollout was followed with a watch, not polling")
    t.ok(all(not (q["method"] == "GET" and q["path"] == DEPLOY and q["t"] > real[0]["t"]) for q in k.requests()) if real else False,
         "sparse: no GET polling after the PATCH")

# --- to-revision, watch closed by the server and resumed ---------------------------------------
with kube.launch(scenario={"revisions": [[1, "v1"], [3, "v3"], [7, "v7"]]},
                 config={"token": KTOKEN, "controller": {"mode": "normal", "step_ms": 300},
                         "watch_max_seconds": 0.25}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url), to_revision="1")
    t.eq(r.outputs.get("result"), "rolled-back", "to-revision 1: rolled back") or t.diag(r.stdout)
    t.eq(image_of(deployment(k)), img("v1"), "to-revision 1: v1 restored")
    watches = [q for q in k.requests() if "watch=true" in q["path"]]
    rvs = [int(q["path"].split("resourceVersion=")[1].split("&")[0]) for q in watches]
    t.ok(len(watches) >= 2 and rvs == sorted(rvs) and rvs[-1] > rvs[0],
         "to-revision 1: re-watched from the last resourceVersion seen (%s)" % rvs)

# --- the gate starts before the controller has observed the deploy under test -------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "off", "step_ms": 40}}) as k, \
        bad_service() as s:
    k.deploy(name="atom", tag="v3")  # generation bumped; no revision 3 yet

    def controller_on():
        end = time.monotonic() + 20
        while time.monotonic() < end and not any("watch=true" in q["path"] for q in k.requests()):
            time.sleep(0.05)
        time.sleep(0.5)
        k.config({"controller": {"mode": "normal"}})
    th = threading.Thread(target=controller_on)
    th.start()
    r = gate(s, kubeconfig(k.url))
    th.join()
    t.ok(before_checks(r, "waiting for the controller to observe generation"), "not observed yet: preflight waited")
    t.eq((entry(r).get("revision_before"), entry(r).get("revision_target")), (3, 2),
         "not observed yet: undo targets revision 2 (v2), not 1")
    t.eq(image_of(deployment(k)), img("v2"), "not observed yet: v2 restored") or t.diag(r.stdout)

# --- first deployment, paused, template already matching: warnings at preflight, no PATCH -------
for name, scen, words in (
        ("first deployment", {"revisions": [[1, "v1"]]}, "first deployment: nothing to roll back to"),
        ("paused", {"paused": True}, "you cannot rollback a paused deployment"),
        ("template matches", {"revisions": [[1, "v1"], [2, "v2"], [3, "v3"]], "current": 2},
         "current template already matches revision 2")):
    with kube.launch(scenario=scen, config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
        before = deployment(k)
        r = gate(s, kubeconfig(k.url))
        t.eq(r.rc, 1, "%s: exit 1" % name)
        t.eq(r.outputs.get("result"), "rollback-failed", "%s: result rollback-failed" % name)
        t.ok(before_checks(r, words), "%s: warned at preflight: %s" % (name, words)) or t.diag(r.stdout)
        t.ok("::warning::" in r.stdout.split("::group::Readiness")[0], "%s: as a warning annotation" % name)
        t.eq(patches(k), [], "%s: no PATCH at all" % name)
        t.eq(rb(r).get("armed"), False, "%s: not armed" % name)
        t.ok(words in (rb(r).get("detail") or ""), "%s: the report says why" % name)
        t.eq(r.outputs.get("rolled-back"), "false", "%s: rolled-back=false" % name)
        after = deployment(k)
        t.eq(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"], "%s: deployment untouched" % name)

# --- a newer deploy lands between preflight and the rollback -----------------------------------
with kube.launch(scenario={"revisions": [[1, "v1"], [2, "v2"]]},
                 config={"token": KTOKEN, "controller": FAST}) as k, bad_service(delay_ms=2500) as s:
    def newer():
        end = time.monotonic() + 20
        while time.monotonic() < end and not patches(k, dry=True):
            time.sleep(0.05)
        k.deploy(name="atom", tag="v9")
        k.wait_for(lambda st: any(o["kind"] == "Deployment" and revision_of(o) == "3" for o in st["items"]), 10)
    th = threading.Thread(target=newer)
    th.start()
    r = gate(s, kubeconfig(k.url))
    th.join()
    t.eq(r.outputs.get("result"), "rollback-failed", "newer deploy: rollback-failed")
    t.ok("rollback skipped: the deployment changed since the gate started" in r.stdout,
         "newer deploy: said plainly") or t.diag(r.stdout)
    real = patches(k, dry=False)
    t.ok(len(real) == 1 and real[0]["status"] == 422, "newer deploy: the PATCH was rejected by its test operation (422)")
    t.eq(image_of(deployment(k)), img("v9"), "newer deploy: the newer release was not touched")
    t.eq(entry(r).get("outcome"), "skipped", "newer deploy: outcome skipped")

# --- stuck rollout, deadline exceeded -----------------------------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "stuck", "step_ms": 40}}) as k, \
        bad_service() as s:
    start = time.monotonic()
    r = gate(s, kubeconfig(k.url), rollback_timeout="2s")
    t.eq(r.outputs.get("result"), "rollback-failed", "stuck: rollback-failed")
    t.ok("did not complete within rollback-timeout 2s" in (entry(r).get("detail") or ""),
         "stuck: rollback-timeout named: %s" % entry(r).get("detail"))
    t.ok(r.elapsed < 10, "stuck: gave up at the timeout (%.1fs)" % r.elapsed)
    t.ok("recovery-health" not in [c["name"] for c in r.report["checks"]], "stuck: no recovery check without a rollout")
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "deadline", "step_ms": 40}}) as k, \
        bad_service() as s:
    r = gate(s, kubeconfig(k.url), rollback_timeout="30s")
    t.eq(r.outputs.get("result"), "rollback-failed", "deadline: rollback-failed")
    t.ok("exceeded its progress deadline" in (entry(r).get("detail") or ""), "deadline: reported: %s" % entry(r).get("detail"))
    t.ok(r.elapsed < 10, "deadline: failed at once, not at rollback-timeout (%.1fs)" % r.elapsed)

# --- recovery not verified ----------------------------------------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}) as k, bad_service(db_ok=False) as s:
    r = gate(s, kubeconfig(k.url))
    t.eq(r.outputs.get("result"), "rollback-failed", "not verified: rollback-failed")
    t.eq(image_of(deployment(k)), img("v1"), "not verified: the rollback itself happened")
    t.ok("recovery checks failed" in (rb(r).get("detail") or ""), "not verified: said so: %s" % rb(r).get("detail"))

# --- API errors: 403 on patch, wrong token, unknown deployment ----------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST, "forbid": ["patch"]}) as k, \
        bad_service() as s:
    r = gate(s, kubeconfig(k.url))
    t.eq(r.outputs.get("result"), "rollback-failed", "403: rollback-failed")
    t.ok(before_checks(r, "may not patch deployments in namespace 'default'"),
         "403: preflight warned, naming the verb, resource and namespace") or t.diag(r.stdout)
    t.eq(rb(r).get("armed"), False, "403: not armed")
    t.ok("may not patch deployments in namespace 'default'" in (entry(r).get("detail") or ""),
         "403: the final message names what is missing: %s" % entry(r).get("detail"))
    t.eq(image_of(deployment(k)), img("v2"), "403: nothing changed")
with kube.launch(scenario="history", config={"token": "another-token", "controller": FAST}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url))
    t.ok(before_checks(r, "did not accept the credentials") and "HTTP 401" in r.stdout, "401: warned at preflight")
    t.eq(r.outputs.get("result"), "rollback-failed", "401: rollback-failed")
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url), deployment="nope")
    t.ok(before_checks(r, "deployment 'nope' not found in namespace 'default'"), "404: names deployment and namespace")

# --- several deployments ------------------------------------------------------------------------
two = [{"name": "atom"}, {"name": "worker", "revisions": [[4, "w4"], [5, "w5"]]}]
with kube.launch(scenario=two, config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url), deployment="atom, worker")
    t.eq(r.outputs.get("result"), "rolled-back", "two deployments: both rolled back") or t.diag(r.stdout)
    t.eq((image_of(deployment(k)), image_of(k.find("Deployment", "worker"))), (img("v1"), img("w4", "worker")),
         "two deployments: both restored")
    t.eq(len(patches(k, dry=False)), 2, "two deployments: two PATCHes")
two = [{"name": "atom"}, {"name": "worker", "revisions": [[1, "w1"]]}]
with kube.launch(scenario=two, config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url), deployment="atom\nworker")
    t.eq(r.outputs.get("result"), "rollback-failed", "one of two cannot: rollback-failed")
    t.eq(image_of(deployment(k)), img("v1"), "one of two cannot: the other was still rolled back")
    t.eq([e.get("outcome") for e in rb(r).get("deployments", [])], ["rolled-back", "skipped"], "one of two: outcomes")

# --- dry run ------------------------------------------------------------------------------------
with kube.launch(scenario="sparse", config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    before = deployment(k)
    r = gate(s, kubeconfig(k.url), dry_run="true")
    t.eq(r.outputs.get("result"), "failed", "dry-run: result failed")
    t.eq(rb(r).get("outcome"), "dry-run", "dry-run: outcome dry-run")
    t.ok(len(patches(k)) >= 1 and all("dryRun=All" in q["path"] for q in patches(k)), "dry-run: only dryRun=All PATCHes")
    t.eq(deployment(k)["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"], "dry-run: nothing changed")
    t.ok("revision 7 (%s) to revision 3 (%s)" % (img("v7"), img("v3")) in r.stdout,
         "dry-run: shows revision and image before -> after")
    t.eq(r.outputs.get("rolled-back"), "false", "dry-run: rolled-back=false")

# --- rollback off -------------------------------------------------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url), rollback="false")
    t.eq(r.outputs.get("result"), "failed", "rollback off: result failed")
    t.eq(k.requests(), [], "rollback off: the cluster is never contacted")

# --- kubeconfig variants ------------------------------------------------------------------------
def openssl_pair(name, cn, san="IP:127.0.0.1,DNS:localhost"):
    key, cert = os.path.join(work, name + "-key.pem"), os.path.join(work, name + "-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True)
    return cert, key


class ClientCertProxy:
    """TLS in front of kube.py that requires a client certificate signed by client_ca."""

    def __init__(self, backend, cert, key, client_ca):
        self.backend = backend
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.load_verify_locations(client_ca)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "https://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.peers, self.refused = [], 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            s = self.ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            self.refused += 1
            c.close()
            return
        subject = dict(x[0] for x in s.getpeercert().get("subject", ()))
        self.peers.append(subject.get("commonName"))
        b = socket.create_connection(self.backend)
        try:
            while True:
                if s.pending() == 0:
                    r, _, _ = select.select([s, b], [], [], 30)
                else:
                    r = [s]
                if not r:
                    return
                for src in r:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is s else s).sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            b.close()
            s.close()

    def close(self):
        self.sock.close()


if shutil.which("openssl"):
    scert, skey = openssl_pair("server", "fake-kube-apiserver")
    ccert, ckey = openssl_pair("client", "atom-deployer")
    ca_pem = open(scert).read()
    client_cert, client_key = open(ccert).read(), open(ckey).read()
    key_line = [l for l in client_key.splitlines() if l and not l.startswith("-----")][0]

    # token over TLS, the kubeconfig given base64-encoded
    with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}, tls=(scert, skey)) as k, \
            bad_service() as s:
        kc = base64.b64encode(kubeconfig(k.url, ca=ca_pem).encode()).decode()
        r = gate(s, kc)
        t.eq(r.outputs.get("result"), "rolled-back", "TLS + token, base64 kubeconfig: rolled back") or t.diag(r.stdout)
        t.ok("::add-mask::" + kc in r.stdout, "base64 kubeconfig: the encoded form is masked as a whole")
        runs[-1].extra = [kc]

    # client certificate (certificate-authority-data for the server), through a proxy that requires it
    with kube.launch(scenario="history", config={"controller": FAST}) as k, bad_service() as s:
        proxy = ClientCertProxy(("127.0.0.1", int(k.url.rsplit(":", 1)[1])), scert, skey, ccert)
        r = gate(s, kubeconfig(proxy.url, token=None, ca=ca_pem, cert=client_cert, key=client_key))
        proxy.close()
        t.eq(r.outputs.get("result"), "rolled-back", "client certificate: rolled back") or t.diag(r.stdout)
        t.ok(proxy.peers and set(proxy.peers) == {"atom-deployer"}, "client certificate: presented on every connection")
        t.ok(all("authorization" not in q["headers"] for q in k.requests()), "client certificate: no token sent")
        t.eq(leaked([key_line], r), [], "client certificate: the key never appears")
        t.ok("::add-mask::" + key_line in r.stdout, "client certificate: the key is masked")

    # KUBECONFIG file with relative certificate-authority and tokenFile; no CA -> TLS failure said plainly
    with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}, tls=(scert, skey)) as k, \
            bad_service() as s:
        d = os.path.join(work, "kc")
        os.makedirs(d, exist_ok=True)
        shutil.copy(scert, os.path.join(d, "ca.pem"))
        with open(os.path.join(d, "token"), "w") as f:
            f.write(KTOKEN + "\n")
        cfg = json.loads(kubeconfig(k.url, token=None))
        cfg["clusters"][0]["cluster"]["certificate-authority"] = "ca.pem"
        cfg["users"][0]["user"] = {"tokenFile": "token"}
        with open(os.path.join(d, "config"), "w") as f:
            json.dump(cfg, f)
        r = gate(s, "", env={"KUBECONFIG": os.path.join(d, "config")})
        t.eq(r.outputs.get("result"), "rolled-back", "KUBECONFIG file, relative paths: rolled back") or t.diag(r.stdout)
        k.reset(state=True)
        r = gate(s, kubeconfig(k.url))
        t.ok(before_checks(r, "TLS failure talking to the Kubernetes API at " + k.url),
             "no CA: the TLS failure is named") or t.diag(r.stdout)

    # issue 11 item 6: insecure-skip-tls-verify works, and every reader is told the cluster was not verified
    with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}, tls=(scert, skey)) as k, \
            bad_service() as s, \
            Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3",
                   "--config", json.dumps({"token": "ghs_RbInsecure1"})) as gh:
        cfg = json.loads(kubeconfig(k.url))
        cfg["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
        r = gate(s, json.dumps(cfg), create_issue="true", github_token="ghs_RbInsecure1",
                 env={"GITHUB_API_URL": gh.url + "/api/v3"})
        t.eq(r.outputs.get("result"), "rolled-back", "insecure-skip-tls-verify: rolled back") or t.diag(r.stdout)
        warn = "identity is not verified"
        t.ok(any(l.startswith("::warning::") and warn in l and "insecure-skip-tls-verify" in l
                 for l in r.stdout.splitlines()), "insecure-skip-tls-verify: a warning in the log", r.stdout[-2000:])
        t.ok(warn in r.summary, "insecure-skip-tls-verify: a warning in the summary")
        t.ok(any(warn in w for w in (r.report or {}).get("warnings", [])), "insecure-skip-tls-verify: in the report")
        bodies = [i.get("body") or "" for i in gh._control("GET", "/_test/issues").get("acme/atom", [])]
        t.ok(bodies and warn in bodies[0], "insecure-skip-tls-verify: a warning in the issue")
        k.reset(state=True)
        r = gate(s, kubeconfig(k.url, ca=ca_pem))
        t.eq((r.report or {}).get("warnings"), [], "a verified cluster: no warning")

    # tls-server-name: the certificate names only kube.internal; the URL says 127.0.0.1
    ncert, nkey = openssl_pair("named", "kube.internal", san="DNS:kube.internal")
    named_ca = open(ncert).read()
    with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}, tls=(ncert, nkey)) as k, \
            bad_service() as s:
        cfg = json.loads(kubeconfig(k.url, ca=named_ca))
        r = gate(s, json.dumps(cfg))
        t.ok(before_checks(r, "TLS failure talking to the Kubernetes API at " + k.url),
             "certificate for another name: refused, no silent downgrade") or t.diag(r.stdout)
        k.reset(state=True)
        cfg["clusters"][0]["cluster"]["tls-server-name"] = "kube.internal"
        r = gate(s, json.dumps(cfg))
        t.eq(r.outputs.get("result"), "rolled-back", "tls-server-name: verified against that name, rolled back") \
            or t.diag(r.stdout)
        t.ok(any(q["method"] == "PATCH" for q in k.requests()), "tls-server-name: the PATCH reached the real address")
else:
    t.skip("kubeconfig over TLS", "openssl not found")

# --- broken configuration: exit 2 before anything is sent ---------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN}) as k, bad_service() as s:
    r = gate(s, kubeconfig(k.url), kube_context="staging")
    t.eq(r.rc, 2, "unknown context: exit 2")
    t.ok("context 'staging' not found" in r.stdout and "'ci'" in r.stdout, "unknown context: named, contexts listed")
    t.eq((s.requests(), k.requests()), ([], []), "unknown context: nothing sent to the service or the cluster")
    r = gate(s, kubeconfig(k.url, user={"exec": {"command": "gke-gcloud-auth-plugin",
                                                  "apiVersion": "client.authentication.k8s.io/v1beta1"}}))
    t.eq(r.rc, 2, "exec user: exit 2")
    t.ok("user 'deployer' authenticates with an exec credential plugin ('gke-gcloud-auth-plugin')" in r.stdout,
         "exec user: the user entry is named")
    r = gate(s, "clusters: [\n")
    t.eq(r.rc, 2, "invalid YAML: exit 2")
    t.ok("invalid input 'kubeconfig': invalid YAML at line" in r.stdout, "invalid YAML: said so")
    t.eq((s.requests(), k.requests()), ([], []), "broken kubeconfigs: nothing sent anywhere")

# --- no kubeconfig at all: the gate runs, the rollback is impossible ----------------------------
with bad_service() as s:
    r = gate(s, "")
    t.eq(r.rc, 1, "no cluster: the gate still runs (exit 1)")
    t.eq(r.outputs.get("result"), "rollback-failed", "no cluster: rollback-failed")
    t.ok(before_checks(r, "no cluster configuration"), "no cluster: warned at preflight")

# --- SIGTERM during the rollout wait ------------------------------------------------------------
def gate_pid(marker, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % p, "rb") as f:
                    if marker.encode() in f.read():
                        return int(p)
            except OSError:
                pass
        time.sleep(0.05)
    return None


with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "stuck", "step_ms": 40}}) as k, \
        bad_service() as s:
    marker = "ATOM_TEST_MARK=" + uuid.uuid4().hex
    holder = {}

    def terminate():
        pid = gate_pid(marker)
        end = time.monotonic() + 20
        while time.monotonic() < end and not patches(k, dry=False):
            time.sleep(0.05)
        time.sleep(0.3)
        if pid:
            os.kill(pid, signal.SIGTERM)
            holder["sent"] = True
    th = threading.Thread(target=terminate)
    th.start()
    r = gate(s, kubeconfig(k.url), env={marker.split("=")[0]: marker.split("=")[1]}, rollback_timeout="30s")
    th.join()
    t.ok(holder.get("sent"), "SIGTERM: sent during the rollout wait")
    t.eq(r.rc, 1, "SIGTERM: exit 1")
    t.ok("rollback sent; rollout not confirmed: cancelled" in r.stdout, "SIGTERM: reported") or t.diag(r.stdout)
    t.ok(r.elapsed < 15, "SIGTERM: ended the wait at once (%.1fs)" % r.elapsed)
    t.eq(image_of(deployment(k)), img("v1"), "SIGTERM: the PATCH itself went through whole")

# --- secrets ------------------------------------------------------------------------------------
bad = [(i, leaked(SECRETS + getattr(x, "extra", []), x)) for i, x in enumerate(runs)]
bad = [(i, l) for i, l in bad if l]
t.eq(bad, [], "no kube token, password or kubeconfig leaked in %d runs" % len(runs))
mask_at = runs[0].stdout.find("::add-mask::" + KTOKEN)
t.ok(mask_at >= 0 and KTOKEN not in runs[0].stdout[:mask_at], "kube token masked before anything could print it")

shutil.rmtree(work, ignore_errors=True)
t.done()
