#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 14: proxies, proven against a real forward proxy (Debian tinyproxy).

With HTTPS_PROXY / http_proxy every request of a failing run (service over TLS behind nginx,
Prometheus, the Kubernetes stand-in, GitHub and Slack stand-ins) goes through the proxy: its log
shows a CONNECT per TLS connection nginx saw and each plain-HTTP request the stand-ins received.
NO_PROXY exempts what it names (and loopback is not exempt by itself); upper-case HTTP_PROXY is
ignored by libcurl for http:// (and the gate says so); a kubeconfig proxy-url sends only the
cluster's requests through the proxy.
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from harness import SERVERS, TAP, Server, leaked, run_gate, service  # noqa: E402
import kube  # noqa: E402
import realservers  # noqa: E402
from realservers import PKI, Nginx, Tinyproxy  # noqa: E402

PASSWORD = "pw-Px61!proxy-secret"
GH_TOKEN = "ghs_ProxyTest62distinct"
KTOKEN = "ktok-Px63-proxy-kube"
PROM_TOKEN = "prom-Px65-proxy-bearer"
HOOK_PATH = "/services/T0PROXY/B0PROXY/hookProxy64secret"
# the release breaches the error-rate limit: every client speaks (service, Prometheus, then the
# rollback, the issue and Slack)
PROM_BAD = {"status": "success", "data": {"resultType": "vector",
                                          "result": [{"metric": {}, "value": [1700000000, "0.25"]}]}}

t = TAP()
if realservers.TINYPROXY is None or realservers.NGINX is None or realservers.OPENSSL is None:
    t.skip_all("tinyproxy, nginx (nginx-light) or openssl not installed: .ci/install-deps installs them")

work = tempfile.mkdtemp(prefix="test-proxy-")
pki = PKI(os.path.join(work, "pki"))
ca = pki.ca("private")
svc_cert = pki.issue(ca, "service")
ca_pem = open(ca["cert"]).read()
runs = []


def kubeconfig(url, proxy_url=None):
    cluster = {"server": url}
    if proxy_url:
        cluster["proxy-url"] = proxy_url
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": cluster}],
        "users": [{"name": "deployer", "user": {"token": KTOKEN}}],
        "contexts": [{"name": "ci", "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": "ci"})


def hostport(url):
    return url.split("://", 1)[1].rstrip("/")


def forwarded(tp, server_url):
    """plain-HTTP requests tinyproxy forwarded to server_url: [(method, path)]"""
    prefix = server_url.rstrip("/")
    return [(m, u[len(prefix):]) for m, u in tp.requests() if m != "CONNECT" and u.startswith(prefix + "/")]


def connects(tp, server_url):
    return [u for m, u in tp.requests() if m == "CONNECT" and u == hostport(server_url)]


def recorded(server):
    return [(q["method"], q["path"]) for q in server.requests()]


with service("healthy", {"users": {"smoke_test": PASSWORD}}) as svc, \
        service("healthy", {"token": PROM_TOKEN,
                            "routes": {"GET /api/v1/query": {"status": 200, "body": PROM_BAD}}}) as prom, \
        kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "normal", "step_ms": 40}}) as k, \
        Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3",
               "--config", json.dumps({"token": GH_TOKEN})) as gh, \
        Server(os.path.join(SERVERS, "slack.py")) as slack, \
        Nginx(os.path.join(work, "nginx"), [svc_cert + (svc.url,)]) as ng, \
        Tinyproxy(os.path.join(work, "tinyproxy")) as tp:
    svc_url = ng.urls[0]

    def reset():
        tp.clear()
        ng.clear_log()
        for s in (svc, prom):
            s._control("POST", "/_test/reset")
        k.reset(state=True)
        gh._control("POST", "/_test/reset", {"all": True})
        slack._control("POST", "/_test/reset", {"all": True})

    def gate(env, prom_url=None, kc=None, **inputs):
        base = {"url": svc_url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
                "endpoints": "GET /api/projects", "ca-cert": ca_pem, "prometheus-url": prom_url or prom.url,
                "prometheus-token": PROM_TOKEN,
                "kubeconfig": kc or kubeconfig(k.url), "rollback-timeout": "20s", "create-issue": "true",
                "github-token": GH_TOKEN, "slack-webhook-url": slack.url + HOOK_PATH, "slack-notify": "always"}
        base.update({key.replace("_", "-"): v for key, v in inputs.items()})
        e = {"GITHUB_API_URL": gh.url + "/api/v3"}
        e.update(env)
        r = run_gate(base, env=e)
        runs.append(r)
        return r

    # --- HTTPS_PROXY (upper case) and http_proxy: everything through the proxy -----------------------
    reset()
    r = gate({"HTTPS_PROXY": tp.url, "http_proxy": tp.url})
    t.eq(r.outputs.get("result"), "rolled-back", "through the proxy: failed, rolled back") or t.diag(r.stdout[-2500:])
    nginx_conns = {e["connection"] for e in ng.log()}
    t.ok(len(nginx_conns) >= 1 and len(connects(tp, svc_url)) == len(nginx_conns),
         "service over TLS: one CONNECT through the proxy per connection nginx saw (%d, %d)"
         % (len(connects(tp, svc_url)), len(nginx_conns))) or t.diag(tp.requests())
    for name, server in (("Prometheus", prom), ("Kubernetes", k), ("GitHub", gh), ("Slack", slack)):
        # the same requests, each as often; not the same order: the metric queries go in parallel
        got = recorded(server)
        t.ok(got and sorted(forwarded(tp, server.url)) == sorted(got),
             "%s: every one of its %d requests was forwarded by the proxy" % (name, len(got))) \
            or t.diag({"proxy": forwarded(tp, server.url), "server": got})
    t.ok(any(m == "PATCH" for m, _ in forwarded(tp, k.url)), "the rollback PATCH went through the proxy")

    # --- NO_PROXY exempts what it names; loopback is not exempt by itself ---------------------------
    reset()
    prom_local = prom.url.replace("127.0.0.1", "localhost")
    r = gate({"HTTPS_PROXY": tp.url, "http_proxy": tp.url, "NO_PROXY": "localhost"}, prom_url=prom_local)
    t.eq(r.outputs.get("result"), "rolled-back", "NO_PROXY=localhost: rolled back") or t.diag(r.stdout[-2500:])
    t.ok(recorded(prom) and forwarded(tp, prom_local) == [], "NO_PROXY=localhost: Prometheus at localhost went direct")
    t.ok(recorded(k) and sorted(forwarded(tp, k.url)) == sorted(recorded(k)),
         "NO_PROXY=localhost: 127.0.0.1 is not exempt (libcurl does not skip loopback by itself)")
    reset()
    r = gate({"HTTPS_PROXY": tp.url, "http_proxy": tp.url, "no_proxy": "127.0.0.1"})
    t.eq(r.outputs.get("result"), "rolled-back", "no_proxy=127.0.0.1: rolled back") or t.diag(r.stdout[-2500:])
    t.eq(tp.requests(), [], "no_proxy=127.0.0.1: nothing through the proxy")

    # --- upper-case HTTP_PROXY: ignored for http:// by libcurl (httpoxy), and said so ----------------
    reset()
    r = gate({"HTTP_PROXY": tp.url})
    t.eq(r.outputs.get("result"), "rolled-back", "HTTP_PROXY only: rolled back") or t.diag(r.stdout[-2500:])
    t.eq(tp.requests(), [], "HTTP_PROXY only: libcurl sent nothing through it")
    t.ok("HTTP_PROXY is set but not http_proxy" in r.stdout, "HTTP_PROXY only: the gate warns")

    # --- kubeconfig proxy-url: the cluster only, even with NO_PROXY naming it ------------------------
    reset()
    r = gate({"NO_PROXY": "127.0.0.1"}, kc=kubeconfig(k.url, proxy_url=tp.url))
    t.eq(r.outputs.get("result"), "rolled-back", "proxy-url: rolled back") or t.diag(r.stdout[-2500:])
    t.ok(recorded(k) and sorted(forwarded(tp, k.url)) == sorted(recorded(k)), "proxy-url: every Kubernetes request through it")
    others = [u for m, u in tp.requests() if not u.startswith(k.url)]
    t.eq(others, [], "proxy-url: nothing else through it")
    t.ok("proxy-url is not supported" not in r.stdout, "proxy-url: no longer ignored with a warning")

bad = [(i, leaked([PASSWORD, GH_TOKEN, KTOKEN, HOOK_PATH, PROM_TOKEN], x)) for i, x in enumerate(runs)]
t.eq([b for b in bad if b[1]], [], "no secret leaked in %d runs" % len(runs))
shutil.rmtree(work, ignore_errors=True)
t.done()
