#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 14: cluster credentials for real clouds, against tests/servers/kube.py (which accepts
only the expected bearer token) and a local stand-in of GitHub's OIDC token service.

kube-token over an exec-user kubeconfig (EKS/AKS/GKE), kube-server + kube-token + kube-ca without
a kubeconfig, kube-oidc-audience (the audience and request token the token service received,
both tokens masked), precedence, host-path KUBECONFIG mapped to the container's mounts, and the
messages of every refusal (exit 2, nothing sent).
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from harness import TAP, leaked, run_gate, service  # noqa: E402
import kube  # noqa: E402

KTOKEN = "ktok-Cl44-distinctive-kube-token"
REQ_TOKEN = "reqtok-Cl45-actions-id-token-request"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdHMuYW1hem9uYXdzLmNvbSJ9.c2lnQ2w0Ng"
PASSWORD = "pw-Cl46!cluster-secret"
FAST = {"mode": "normal", "step_ms": 40}
SECRETS = [KTOKEN, REQ_TOKEN, ID_TOKEN, PASSWORD]

t = TAP()
runs = []
work = tempfile.mkdtemp(prefix="test-cluster-")


def kubeconfig(url, user, ca=None, context="ci"):
    c = {"server": url}
    if ca:
        c["certificate-authority-data"] = base64.b64encode(ca.encode()).decode()
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": c}],
        "users": [{"name": "deployer", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": context,
    })


EXEC_USER = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                      "args": ["eks", "get-token", "--cluster-name", "prod"]}}
AUTH_PROVIDER_USER = {"auth-provider": {"name": "azure", "config": {"apiserver-id": "x"}}}


def bad_service():
    cfg = {"users": {"smoke_test": PASSWORD},
           "routes": {"GET /api/projects": {"status": 500, "body": {"error": "boom"}}}}
    return service("healthy", cfg)


def gate(svc, env=None, **inputs):
    base = {"url": svc.url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
            "endpoints": "GET /api/projects", "create-issue": "false", "rollback-timeout": "20s"}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    r = run_gate(base, env=env)
    runs.append(r)
    return r


def bearers(k):
    return {q["headers"].get("authorization") for q in k.requests()}


def rolled_back(r):
    return r.outputs.get("result") == "rolled-back"


def openssl_pair(name, cn, san="IP:127.0.0.1,DNS:localhost"):
    key, cert = os.path.join(work, name + "-key.pem"), os.path.join(work, name + "-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + san], check=True, capture_output=True)
    return cert, key


class TokenService:
    """GitHub's OIDC token service as the runner exposes it: GET <url>&audience=<aud> with
    `Authorization: Bearer <request token>` answers {"value": "<jwt>"}; anything else 401."""

    def __init__(self, id_token=ID_TOKEN, status=200):
        self.seen = []
        outer = self

        class H(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self):
                q = parse_qs(urlsplit(self.path).query)
                outer.seen.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                   "audience": q.get("audience"), "api_version": q.get("api-version")})
                ok = self.headers.get("Authorization") == "Bearer " + REQ_TOKEN
                code = status if ok else 401
                body = json.dumps({"value": id_token} if ok and code == 200 else {"message": "Bad credentials"})
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/_apis/distributedtask/token?api-version=2.0" % self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def oidc_env(ts):
    return {"ACTIONS_ID_TOKEN_REQUEST_URL": ts.url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQ_TOKEN}


# --- kube-token over an exec-user kubeconfig (EKS, AKS, GKE) -------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    r = gate(s, kubeconfig=kubeconfig(k.url, EXEC_USER))
    t.eq(r.rc, 2, "exec user, no override: exit 2")
    t.ok("kube-token" in r.stdout and "kube-oidc-audience" in r.stdout,
         "exec user, no override: the message names kube-token and kube-oidc-audience") or t.diag(r.stdout)
    t.eq((s.requests(), k.requests()), ([], []), "exec user, no override: nothing sent")

    r = gate(s, kubeconfig=kubeconfig(k.url, EXEC_USER), kube_token=KTOKEN)
    t.ok(rolled_back(r), "exec user + kube-token: rolled back") or t.diag(r.stdout)
    t.eq(bearers(k), {"Bearer " + KTOKEN}, "exec user + kube-token: every API request carried kube-token")
    t.ok("token from the kube-token input" in r.stdout, "exec user + kube-token: the log says where the token came from")

    k.reset(state=True)
    r = gate(s, kubeconfig=kubeconfig(k.url, AUTH_PROVIDER_USER), kube_token=KTOKEN)
    t.ok(rolled_back(r), "auth-provider user + kube-token: rolled back") or t.diag(r.stdout)

    # kube-token replaces the user's own token (and would replace a certificate)
    k.reset(state=True)
    r = gate(s, kubeconfig=kubeconfig(k.url, {"token": "stale-user-token-Cl47"}), kube_token=KTOKEN)
    t.ok(rolled_back(r), "token user + kube-token: rolled back") or t.diag(r.stdout)
    t.eq(bearers(k), {"Bearer " + KTOKEN}, "token user + kube-token: kube-token wins over the user's token")

    # the stand-in refuses any other token: a wrong kube-token is a 401 at preflight
    k.reset(state=True)
    r = gate(s, kubeconfig=kubeconfig(k.url, EXEC_USER), kube_token="wrong-token-Cl48")
    t.ok(r.outputs.get("result") != "rolled-back" and "401" in r.stdout,
         "wrong kube-token: refused by the API (401), no rollback") or t.diag(r.stdout)

# --- kube-server + kube-token + kube-ca, no kubeconfig -------------------------------------------
if shutil.which("openssl"):
    scert, skey = openssl_pair("server", "fake-kube-apiserver")
    ca_pem = open(scert).read()
    with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}, tls=(scert, skey)) as k, \
            bad_service() as s:
        r = gate(s, kube_server=k.url, kube_token=KTOKEN, kube_ca=ca_pem, kubeconfig="")
        t.ok(rolled_back(r), "kube-server + kube-token + kube-ca (PEM): rolled back") or t.diag(r.stdout)
        t.eq(bearers(k), {"Bearer " + KTOKEN}, "kube-server: every request carried kube-token")
        t.ok("the kube-server input" in r.stdout, "kube-server: named as the source")
        k.reset(state=True)
        r = gate(s, kube_server=k.url, kube_token=KTOKEN, kube_ca=base64.b64encode(ca_pem.encode()).decode())
        t.ok(rolled_back(r), "kube-ca as base64 of PEM: rolled back") or t.diag(r.stdout)
        k.reset(state=True)
        r = gate(s, kube_server=k.url, kube_token=KTOKEN)
        t.ok("unknown issuer" in r.stdout and "kube-ca" in r.stdout and r.outputs.get("result") != "rolled-back",
             "kube-server without kube-ca: the unknown issuer is named and kube-ca suggested") or t.diag(r.stdout)
else:
    t.skip("kube-server over TLS", "openssl not found")

# --- GitHub OIDC ---------------------------------------------------------------------------------
with kube.launch(scenario="history", config={"token": ID_TOKEN, "controller": FAST}) as k, bad_service() as s:
    ts = TokenService()
    try:
        r = gate(s, env=oidc_env(ts), kube_server=k.url, kube_oidc_audience="sts.amazonaws.com")
        t.ok(rolled_back(r), "OIDC: rolled back with the ID token") or t.diag(r.stdout)
        t.eq(len(ts.seen), 1, "OIDC: one token request")
        seen = ts.seen[0] if ts.seen else {}
        t.eq(seen.get("audience"), ["sts.amazonaws.com"], "OIDC: the audience was sent")
        t.eq(seen.get("api_version"), ["2.0"], "OIDC: the runner's own query parameters kept")
        t.eq(seen.get("authorization"), "Bearer " + REQ_TOKEN, "OIDC: the request token was the bearer")
        t.eq(bearers(k), {"Bearer " + ID_TOKEN}, "OIDC: the API saw only the ID token")
        m_req, m_id = r.stdout.find("::add-mask::" + REQ_TOKEN), r.stdout.find("::add-mask::" + ID_TOKEN)
        t.ok(m_req >= 0 and m_id >= 0, "OIDC: both the request token and the ID token are masked")

        # precedence: kube-oidc-audience > kube-token > the kubeconfig user
        k.reset(state=True)
        ts.seen.clear()
        r = gate(s, env=oidc_env(ts), kubeconfig=kubeconfig(k.url, EXEC_USER), kube_token=KTOKEN,
                 kube_oidc_audience="https://kube.example")
        t.ok(rolled_back(r), "OIDC over exec user with kube-token also set: rolled back") or t.diag(r.stdout)
        t.eq(bearers(k), {"Bearer " + ID_TOKEN}, "precedence: kube-oidc-audience wins over kube-token")
        t.eq([x.get("audience") for x in ts.seen], [["https://kube.example"]], "OIDC: an URL audience is encoded")
    finally:
        ts.close()

    # the token service refuses: the gate runs, the rollback is unavailable and says why
    ts = TokenService(status=403)
    try:
        k.reset(state=True)
        r = gate(s, env=oidc_env(ts), kube_server=k.url, kube_oidc_audience="sts.amazonaws.com")
        t.eq(r.rc, 1, "OIDC refused: the gate still runs (exit 1)")
        t.ok("GitHub OIDC token request: HTTP 403" in r.stdout, "OIDC refused: said plainly") or t.diag(r.stdout)
        t.eq(k.requests(), [], "OIDC refused: nothing sent to the cluster")
    finally:
        ts.close()

    # no id-token: write
    r = gate(s, env={"ACTIONS_ID_TOKEN_REQUEST_URL": None, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": None},
             kube_server=k.url, kube_oidc_audience="sts.amazonaws.com")
    t.eq(r.rc, 2, "OIDC without the runner's variables: exit 2")
    t.ok("permissions: id-token: write" in r.stdout and "ACTIONS_ID_TOKEN_REQUEST_URL" in r.stdout,
         "OIDC without the variables: names the permission to add") or t.diag(r.stdout)

# --- refusals: exit 2 before anything is sent ----------------------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN}) as k, bad_service() as s:
    cases = [
        ({"kube_server": k.url}, "invalid input 'kube-server': it needs a credential"),
        ({"kube_server": k.url, "kube_token": KTOKEN, "kubeconfig": kubeconfig(k.url, EXEC_USER)},
         "invalid input 'kube-server': the kubeconfig input is set too"),
        ({"kube_ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "kube_token": KTOKEN,
          "kubeconfig": kubeconfig(k.url, EXEC_USER)}, "invalid input 'kube-ca': it is the CA of kube-server"),
        ({"kube_server": k.url, "kube_token": KTOKEN, "kube_ca": "not a certificate"},
         "invalid input 'kube-ca': expected a PEM CA bundle"),
        ({"kube_server": "ftp://kube.example", "kube_token": KTOKEN}, "invalid input 'kube-server': expected an http"),
        ({"kube_server": k.url, "kube_token": KTOKEN, "kube_context": "ci"},
         "invalid input 'kube-context': it selects a kubeconfig context, but kube-server is set"),
        ({"kube_server": k.url, "kube_oidc_audience": "two words"}, "invalid input 'kube-oidc-audience'"),
        ({"ca_cert": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n"},
         "invalid input 'ca-cert': the bundle holds a private key"),
    ]
    for inputs, want in cases:
        r = gate(s, env=oidc_env(type("T", (), {"url": "http://127.0.0.1:9/x?a=1"})), **inputs)
        t.ok(r.rc == 2 and want in r.stdout, "refused with exit 2: %s" % want) or t.diag(r.stdout)
    t.eq((s.requests(), k.requests()), ([], []), "refusals: nothing sent to the service or the cluster")

# --- KUBECONFIG written by an earlier step: a host path -----------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": FAST}) as k, bad_service() as s:
    host = os.path.join(work, "host")            # the runner's file system
    mounts = os.path.join(work, "container")     # what the container sees
    host_work = os.path.join(host, "work")
    runner_workspace = os.path.join(host_work, "repo")
    c_temp, c_ws = os.path.join(mounts, "runner_temp"), os.path.join(mounts, "workspace")
    for d in (c_temp, c_ws, os.path.join(host_work, "_temp")):
        os.makedirs(d, exist_ok=True)
    good = kubeconfig(k.url, {"token": KTOKEN})
    with open(os.path.join(c_temp, "kubeconfig_1733"), "w") as f:
        f.write(good)
    with open(os.path.join(c_ws, "kc.yaml"), "w") as f:
        f.write(good)
    # a decoy at the host path itself: it must never be read in place of the mounted file
    with open(os.path.join(host_work, "_temp", "kubeconfig_9"), "w") as f:
        f.write(kubeconfig("http://127.0.0.1:9", {"token": "decoy-token-Cl49"}))
    env = {"RUNNER_WORKSPACE": runner_workspace, "GITHUB_REPOSITORY": "octo/repo", "RUNNER_TEMP": c_temp,
           "GITHUB_WORKSPACE": c_ws, "GITHUB_ACTIONS": "true"}

    r = gate(s, env=dict(env, KUBECONFIG=os.path.join(host_work, "_temp", "kubeconfig_1733")))
    t.ok(rolled_back(r), "host-path KUBECONFIG in the runner temp: read from the mount, rolled back") \
        or t.diag(r.stdout)
    t.ok("reading it as " + os.path.join(c_temp, "kubeconfig_1733") in r.stdout, "host path: the mapping is logged")

    # without RUNNER_WORKSPACE the runner's layout is read off the path (<work>/_temp/…, <work>/<repo>/<repo>/…)
    k.reset(state=True)
    no_rw = {key: v for key, v in env.items() if key != "RUNNER_WORKSPACE"}
    r = gate(s, env=dict(no_rw, KUBECONFIG=os.path.join(host_work, "_temp", "kubeconfig_1733")))
    t.ok(rolled_back(r), "host-path KUBECONFIG in the runner temp, no RUNNER_WORKSPACE: read from the mount") \
        or t.diag(r.stdout)
    k.reset(state=True)
    r = gate(s, env=dict(no_rw, KUBECONFIG=os.path.join(runner_workspace, "repo", "kc.yaml")))
    t.ok(rolled_back(r), "host-path KUBECONFIG in the workspace, no RUNNER_WORKSPACE: read from the mount") \
        or t.diag(r.stdout)
    k.reset(state=True)
    s.reset()
    r = gate(s, env=dict(no_rw, KUBECONFIG=os.path.join(host_work, "_temp", "kubeconfig_9")))
    t.ok(r.rc == 2 and "decoy-token-Cl49" not in r.stdout,
         "no RUNNER_WORKSPACE, mounted file missing: exit 2, the host file never read") or t.diag(r.stdout)

    k.reset(state=True)
    r = gate(s, env=dict(env, KUBECONFIG=os.path.join(runner_workspace, "repo", "kc.yaml")))
    t.ok(rolled_back(r), "host-path KUBECONFIG in the workspace: read from the mount, rolled back") \
        or t.diag(r.stdout)

    k.reset(state=True)
    s.reset()
    r = gate(s, env=dict(env, KUBECONFIG=os.path.join(host_work, "_temp", "kubeconfig_9")))
    t.eq(r.rc, 2, "host path whose mounted file is missing: exit 2")
    t.ok("names no file visible inside the action's container" in r.stdout and "kubeconfig input" in r.stdout,
         "host path not mounted: says so and what to pass instead") or t.diag(r.stdout)
    t.ok("decoy-token-Cl49" not in r.stdout and "127.0.0.1:9" not in r.stdout,
         "host path: the unrelated file at the host path was never read")

    r = gate(s, env=dict(env, KUBECONFIG="/nonexistent-Cl50/.kube/config"))
    t.eq(r.rc, 2, "KUBECONFIG outside the mounts: exit 2")
    t.ok("RUNNER_TEMP" in r.stdout, "KUBECONFIG outside the mounts: names where to write it") or t.diag(r.stdout)
    t.eq(s.requests(), [], "unusable KUBECONFIG: nothing sent")

# --- secrets ------------------------------------------------------------------------------------
bad = [(i, leaked(SECRETS, x)) for i, x in enumerate(runs)]
bad = [(i, l) for i, l in bad if l]
t.eq(bad, [], "no kube token, request token, ID token or password leaked in %d runs" % len(runs))

shutil.rmtree(work, ignore_errors=True)
t.done()
