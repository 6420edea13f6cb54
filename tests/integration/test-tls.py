#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 14: private TLS and HTTP/2, proven against a real nginx (Debian nginx-light) in front of
the stand-ins, with certificates from CAs made by this test (openssl).

Without ca-cert the unknown issuer is named and ca-cert suggested; with it the gate passes over
HTTP/2 and sends the endpoint checks over ONE connection, multiplexed (nginx's access log:
$connection, $connection_requests, $server_protocol); all 50 endpoints are in flight at once
(the upstream counts its open connections, one per request behind nginx); ca-cert is trusted in
addition to the system store (a chain from the "public" CA of SSL_CERT_FILE still validates)
and only for url and prometheus-url (not GitHub); expired and wrong-name certificates are named.
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from harness import SERVERS, TAP, Server, check, leaked, run_gate, service  # noqa: E402
import realservers  # noqa: E402
from realservers import PKI, Nginx  # noqa: E402

PASSWORD = "pw-Tl51!tls-secret"
GH_TOKEN = "ghs_TlsTest52distinct"
PROM_TOKEN = "prom-Tl53-bearer"
PROM_OK = {"status": "success", "data": {"resultType": "vector",
                                         "result": [{"metric": {}, "value": [1700000000, "0.0005"]}]}}
N_ENDPOINTS = 50
# every endpoint answers this late, so all of them are open at the upstream together; under
# valgrind the gate needs far longer to send 50 requests, so the answers wait longer
DELAY_MS = 3000 if os.environ.get("ATOM_SAFETY_TEST_WRAPPER") else 300

t = TAP()
if realservers.NGINX is None or realservers.OPENSSL is None:
    t.skip_all("nginx (nginx-light) or openssl not installed: .ci/install-deps installs them")
    sys.exit(0)

work = tempfile.mkdtemp(prefix="test-tls-")
pki = PKI(os.path.join(work, "pki"))
private = pki.ca("private")
public = pki.ca("public")
svc_cert = pki.issue(private, "service")
prom_cert = pki.issue(public, "prometheus")
gh_cert = pki.issue(private, "github")
expired_cert = pki.issue(private, "expired", start="20200101000000Z", end="20200201000000Z")
wrong_cert = pki.issue(private, "wrong-name", san="DNS:other.example")
private_pem = open(private["cert"]).read()
# the "system store" of this test: the public CA only (the real one could not sign for 127.0.0.1)
system_bundle = public["cert"]
runs = []

endpoints = ["GET /api/items/%d" % i for i in range(N_ENDPOINTS)]
svc_config = {"users": {"smoke_test": PASSWORD}, "count_connections": True,
              "routes": {"GET /api/items/%d" % i: {"status": 200, "body": {"ok": True}, "delay_ms": DELAY_MS}
                         for i in range(N_ENDPOINTS)}}


def gate(url, env=None, **inputs):
    base = {"url": url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
            "prometheus-token": PROM_TOKEN,
            "endpoints": "\n".join(endpoints), "rollback": "false", "create-issue": "false"}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    e = {"SSL_CERT_FILE": system_bundle}
    e.update(env or {})
    r = run_gate(base, env=e)
    runs.append(r)
    return r


with service("healthy", svc_config) as svc, \
        service("healthy", {"token": PROM_TOKEN,
                            "routes": {"GET /api/v1/query": {"status": 200, "body": PROM_OK}}}) as prom, \
        Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3",
               "--config", '{"token": "%s"}' % GH_TOKEN) as gh, \
        Nginx(os.path.join(work, "nginx"), [svc_cert + (svc.url,), prom_cert + (prom.url,), gh_cert + (gh.url,),
                                            expired_cert + (svc.url,), wrong_cert + (svc.url,)]) as ng:
    svc_url, prom_url, gh_url, expired_url, wrong_url = ng.urls
    host = svc_url[len("https://"):]

    # --- a private CA without ca-cert: the unknown issuer, with the way out -------------------------
    r = gate(svc_url, wait_timeout="1s")
    t.eq(r.rc, 1, "private CA, no ca-cert: the gate fails (exit 1)")
    t.ok("TLS failure: the certificate of %s is signed by an unknown issuer" % host in r.stdout,
         "no ca-cert: host and cause named") or t.diag(r.stdout[-1500:])
    t.ok("pass that CA in the ca-cert input" in r.stdout, "no ca-cert: ca-cert suggested")

    # --- a refused certificate is configuration: the readiness wait does not sit out wait-timeout ---
    r = gate(svc_url, wait_timeout="10m")
    t.eq(r.rc, 1, "private CA, long wait-timeout: the gate fails (exit 1)")
    t.ok("its certificate was refused" in r.stdout
         and not any(l.strip().startswith("waiting for /health:") for l in r.stdout.splitlines()),
         "a refused certificate ends the readiness wait at the first answer, no polling") \
        or t.diag(r.stdout[:2500])

    # --- with ca-cert: HTTP/2, one connection, every endpoint in flight at once ---------------------
    ng.clear_log()
    svc._control("POST", "/_test/reset")
    r = gate(svc_url, ca_cert=private_pem, prometheus_url=prom_url)
    t.eq(r.rc, 0, "ca-cert: the gate passes") or t.diag(r.stdout[-2000:])
    log = [e for e in ng.log() if e["uri"].startswith("/api/items/")]
    t.eq(len(log), N_ENDPOINTS, "nginx logged the %d endpoint checks" % N_ENDPOINTS)
    t.eq({e["protocol"] for e in log}, {"HTTP/2.0"}, "every endpoint check over HTTP/2")
    conns = {e["connection"] for e in log}
    t.eq(len(conns), 1, "the %d endpoint checks share ONE connection (nginx $connection: %s)" % (N_ENDPOINTS, conns))
    login = [e for e in ng.log() if e["uri"] == "/api/auth/login"]
    t.ok(login and login[0]["connection"] in conns, "login and the endpoints: the same connection, reused")
    t.eq(sorted(e["connection_requests"] for e in log)[-1] - sorted(e["connection_requests"] for e in log)[0],
         N_ENDPOINTS - 1, "the endpoint checks are consecutive streams of that connection ($connection_requests)")
    stats = svc._control("GET", "/_test/connections")
    t.eq(stats.get("max_open"), N_ENDPOINTS,
         "all %d endpoint requests were in flight at once behind nginx (one wave, not the 24-connection cap)"
         % N_ENDPOINTS) or t.diag(stats)
    prom_log = [e for e in ng.log() if e["uri"].startswith("/api/v1/query")]
    t.ok(prom_log, "ca-cert: Prometheus reached over TLS")

    # --- in addition to the system store -------------------------------------------------------------
    r = gate(svc_url, ca_cert=private_pem, prometheus_url=prom_url, endpoints="GET /api/items/1")
    t.eq(r.rc, 0, "prometheus-url signed by the system store's CA still validates while ca-cert is set") \
        or t.diag(r.stdout[-1500:])
    t.eq(check(r, "error-rate").get("status"), "pass", "Prometheus over the public chain: error-rate judged and passed") \
        or t.diag(r.stdout[-1500:])
    r = gate(svc_url, ca_cert=private_pem, prometheus_url=prom_url, endpoints="GET /api/items/1",
             env={"SSL_CERT_FILE": private["cert"]})
    t.ok("TLS failure: the certificate of %s is signed by an unknown issuer" % prom_url[8:] in r.stdout,
         "control: with the public CA out of the system store the same Prometheus is refused (query error)") \
        or t.diag(r.stdout[-1500:])

    # --- ca-cert is not trusted for GitHub ------------------------------------------------------------
    r = gate(svc_url, ca_cert=private_pem, endpoints="GET /api/items/1", health_path="/missing",
             wait_timeout="0s", create_issue="true", github_token=GH_TOKEN,
             env={"GITHUB_API_URL": gh_url + "/api/v3"})
    t.eq(r.rc, 1, "failing gate with an issue to open")
    t.ok("TLS failure: the certificate of %s is signed by an unknown issuer" % gh_url[8:] in r.stdout,
         "ca-cert is not trusted for GitHub (same CA, refused)") or t.diag(r.stdout[-2000:])
    gh_lines = [l for l in r.stdout.splitlines() if "certificate of %s" % gh_url[8:] in l]
    t.ok(gh_lines and all("ca-cert" not in l for l in gh_lines), "GitHub's TLS failure does not suggest ca-cert")
    t.eq(gh.requests(), [], "GitHub stand-in received nothing")

    # --- expired and wrong-name certificates, even with the CA trusted -------------------------------
    r = gate(expired_url, ca_cert=private_pem, endpoints="GET /api/items/1", wait_timeout="1s")
    t.ok(r.rc == 1 and "TLS failure: the certificate of %s has expired" % expired_url[8:] in r.stdout,
         "expired certificate: named") or t.diag(r.stdout[-1500:])
    r = gate(wrong_url, ca_cert=private_pem, endpoints="GET /api/items/1", wait_timeout="1s")
    t.ok(r.rc == 1 and "TLS failure: the certificate of %s does not match the host name" % wrong_url[8:] in r.stdout,
         "certificate for another name: named") or t.diag(r.stdout[-1500:])

bad = [(i, leaked([PASSWORD, GH_TOKEN, PROM_TOKEN], x)) for i, x in enumerate(runs)]
t.eq([b for b in bad if b[1]], [], "no password or token leaked in %d runs" % len(runs))
shutil.rmtree(work, ignore_errors=True)
t.done()
