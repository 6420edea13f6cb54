#!/usr/bin/env python3
"""TAP self-test for tests/servers/service.py and the harness helpers."""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import TAP, Server, SERVICE, service, parse_github_file, leaked  # noqa: E402

T0 = time.monotonic()
t = TAP()


def request(url, method="GET", path="/", body=None, headers=None, timeout=5, conn=None):
    """-> (status, headers dict lower-case, body bytes).  Reuses conn if given."""
    u = urllib.parse.urlsplit(url)
    own = conn is None
    if own:
        if u.scheme == "https":
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    hdrs = dict(headers or {})
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        if own:
            conn.close()


def jbody(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


AUTH = {"Authorization": "Bearer tok-demo"}
LOGIN = "/api/auth/login"

# --- defaults, login, recording ------------------------------------------
logdir = tempfile.mkdtemp(prefix="svc-selftest-")
logfile = os.path.join(logdir, "req.log")
with Server(SERVICE, "--log", logfile) as svc:
    t.ok(re.fullmatch(r"http://127\.0\.0\.1:\d+", svc.url or ""), "READY line gives http://127.0.0.1:PORT", svc.url)
    t.eq(svc.stdout_lines[:1], ["READY " + svc.url], "exactly one READY line on stdout")

    st, h, b = request(svc.url, path="/health")
    t.eq((st, jbody(b)), (200, {"status": "ok"}), "GET /health 200 ok")
    t.eq(h.get("content-length"), str(len(b)), "Content-Length sent")
    t.eq(h.get("content-type"), "application/json", "JSON content type")

    st, _, b = request(svc.url, path="/health/db")
    d = jbody(b) or {}
    t.ok(st == 200 and d.get("database") == "reachable" and d.get("pool", {}).get("size") == 10,
         "GET /health/db default body", (st, b))

    st, h, b = request(svc.url, "HEAD", "/health")
    t.ok(st == 200 and h.get("content-length") == "16" and b == b"", "HEAD /health: length, no body", (st, h, b))

    st, _, b = request(svc.url, "POST", LOGIN, {"username": "smoke_test", "password": "demo-password"})
    t.eq((st, jbody(b)), (200, {"access_token": "tok-demo", "token_type": "bearer"}), "login success")
    st, _, b = request(svc.url, "POST", LOGIN, {"username": "smoke_test", "password": "nope"})
    t.eq((st, jbody(b)), (401, {"detail": "invalid credentials"}), "login wrong password 401")
    st, _, b = request(svc.url, "POST", LOGIN, "{not json")
    t.eq((st, jbody(b)), (400, {"detail": "bad request"}), "login malformed JSON 400")

    st, _, b = request(svc.url, path="/api/projects")
    t.eq(st, 401, "default_route without token 401")
    st, _, b = request(svc.url, path="/api/projects", headers={"Authorization": "Bearer wrong"})
    t.eq(st, 401, "default_route with wrong token 401")
    st, _, b = request(svc.url, path="/api/projects?x=1", headers=AUTH)
    t.eq((st, jbody(b)), (200, {"ok": True}), "default_route with token 200")
    st, _, b = request(svc.url, path="/nowhere")
    t.eq((st, jbody(b)), (404, {"detail": "not found"}), "non-/api path 404")

    reqs = svc.requests()
    t.eq(len(reqs), 10, "10 requests recorded (control calls excluded)")
    last = reqs[-1] if reqs else {}
    t.eq((last.get("method"), last.get("path")), ("GET", "/nowhere"), "record has method and path")
    q = [r for r in reqs if r["path"].startswith("/api/projects?")]
    t.ok(q and q[0]["headers"].get("authorization") == "Bearer tok-demo", "record keeps query and lower-case headers",
         q)
    lg = [r for r in reqs if r["path"] == LOGIN]
    t.ok(lg and json.loads(lg[0]["body"])["username"] == "smoke_test" and isinstance(lg[0]["t"], float),
         "record has body text and epoch t", lg[:1])
    svc.reset()
    t.eq(svc.requests(), [], "/_test/reset clears the record")

    # keep-alive: two requests on one connection
    conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=5)
    a = request(svc.url, path="/health", conn=conn)[0]
    sock1 = conn.sock
    b2 = request(svc.url, path="/health", conn=conn)[0]
    t.ok(a == b2 == 200 and conn.sock is sock1 and sock1 is not None, "keep-alive connection reused")
    conn.close()

    # dotted token field, login overrides
    cfg = svc.config({"login": {"token_field": "data.token"}, "token": "tok-2"})
    t.eq(cfg["login"]["token_field"], "data.token", "/_test/config returns merged config")
    t.eq(cfg["users"], {"smoke_test": "demo-password"}, "deep merge keeps other keys")
    st, _, b = request(svc.url, "POST", LOGIN, {"username": "smoke_test", "password": "demo-password"})
    t.eq((st, jbody(b)), (200, {"data": {"token": "tok-2"}, "token_type": "bearer"}), "dotted token_field")
    svc.config({"login": {"raw_body": '{"access_token": ', "status": 200}})
    st, _, b = request(svc.url, "POST", LOGIN, {"username": "x", "password": "y"})
    t.eq((st, b), (200, b'{"access_token": '), "login raw_body + status override")
    svc.config({"login": {"raw_body": None, "status": 503}})
    st, _, b = request(svc.url, "POST", LOGIN, {"username": "smoke_test", "password": "demo-password"})
    t.eq(st, 503, "login status override")
    t.eq(svc.get_config()["login"]["status"], 503, "GET /_test/config")

    # routes: fail_first + retry_after, raw_body, headers, require_auth
    svc.config({"token": "tok-demo", "routes": {
        "GET /api/flaky": {"fail_first": 2, "fail_status": 502, "retry_after": 7, "body": {"v": 1}},
        "GET /api/raw": {"raw_body": "not json at all", "require_auth": False,
                         "headers": {"Content-Type": "text/plain", "X-Extra": "yes"}},
        "POST /api/items": {"status": 201, "body": {"id": 5}},
        "GET /redir": {"mode": "redirect", "location": "https://elsewhere.example/"},
        "GET /cut": {"mode": "close_mid"},
        "GET /slow": {"mode": "hang"},
        "GET /big": {"mode": "huge", "size": 300000},
        "GET /deep": {"mode": "nested", "depth": 5},
        "GET /bad": {"mode": "badutf8"},
        "GET /health": {"status": 500, "body": {"status": "down"}},
    }})
    got = [request(svc.url, path="/api/flaky", headers=AUTH) for _ in range(3)]
    t.eq([g[0] for g in got], [502, 502, 200], "route fail_first: 502 twice then 200")
    t.eq(got[0][1].get("retry-after"), "7", "Retry-After on fail response")
    t.eq(jbody(got[2][2]), {"v": 1}, "route body after failures")
    st, _, b = request(svc.url, path="/api/flaky")
    t.eq(st, 401, "explicit /api route inherits require_auth")
    st, h, b = request(svc.url, path="/api/raw")
    t.ok(st == 200 and b == b"not json at all" and h.get("content-type") == "text/plain"
         and h.get("x-extra") == "yes", "raw_body verbatim with extra headers", (st, h, b))
    st, _, b = request(svc.url, "POST", "/api/items", {"name": "n"}, headers=AUTH)
    t.eq((st, jbody(b)), (201, {"id": 5}), "POST route with status")
    st, _, b = request(svc.url, path="/health")
    t.eq((st, jbody(b)), (500, {"status": "down"}), "routes override built-in /health")

    st, h, b = request(svc.url, path="/redir")
    t.eq((st, h.get("location")), (302, "https://elsewhere.example/"), "redirect mode: 302 + Location")

    try:
        request(svc.url, path="/cut")
        t.ok(False, "close_mid: client sees truncated body")
    except http.client.IncompleteRead as e:
        t.eq((len(e.partial), e.expected), (10, 990), "close_mid: 10 of 1000 bytes then close")

    t1 = time.monotonic()
    try:
        request(svc.url, path="/slow", timeout=0.4)
        t.ok(False, "hang mode never answers")
    except (socket.timeout, TimeoutError):
        t.ok(0.3 < time.monotonic() - t1 < 3, "hang mode never answers")

    st, h, b = request(svc.url, path="/big")
    t.ok(st == 200 and len(b) == 300000 and h.get("content-length") == "300000" and b[:3] == b"xxx",
         "huge mode streams size bytes", (st, len(b)))
    st, _, b = request(svc.url, path="/deep")
    t.eq(b, b"[[[[[]]]]]", "nested mode")
    st, _, b = request(svc.url, path="/bad")
    t.eq(b, b'{"status":"\xff\xfe ok"}', "badutf8 mode")

    t.eq(svc.stop(), 0, "SIGTERM -> exit 0 (with a hung request open)")
    t.eq(svc.stop(), 0, "stop() is idempotent")

with open(logfile, encoding="utf-8") as f:
    log_lines = [json.loads(line) for line in f]
t.ok(len(log_lines) > 20 and all(not r["path"].startswith("/_test/") for r in log_lines)
     and log_lines[0]["path"] == "/health", "--log appends one JSON line per request", len(log_lines))

# --- presets and --config ---------------------------------------------------
with service("slow-start") as svc:
    sts = [request(svc.url, path="/health")[0] for _ in range(4)]
    t.eq(sts, [503, 503, 503, 200], "slow-start: health fail_first 3 then recover")
    st, _, b = request(svc.url, path="/health")
    t.eq(jbody(b), {"status": "ok"}, "health body after recovery")
    svc.config({"health": {"fail_first": 1}})
    t.eq(request(svc.url, path="/health")[0], 503, "posting config restarts fail_first counters")

with service("bad-release", config={"health_path": "/healthz", "db": {"fail_first": 1}}) as svc:
    t.eq(request(svc.url, path="/health/db")[0], 503, "db fail_first")
    st, _, b = request(svc.url, path="/health/db")
    d = jbody(b) or {}
    t.ok(st == 200 and d.get("status") == "unhealthy" and d.get("query_time_ms") == 2300
         and d.get("database") == "reachable", "bad-release: db unhealthy, deep-merged", (st, d))
    st, _, b = request(svc.url, path="/api/projects", headers=AUTH)
    t.eq((st, jbody(b)), (500, {"error": "internal"}), "bad-release: GET /api/projects 500")
    t.eq(request(svc.url, path="/healthz")[0], 200, "--config merges over preset (health_path)")
    t.eq(request(svc.url, path="/health")[0], 404, "old health path gone")

cfgfile = os.path.join(logdir, "cfg.json")
with open(cfgfile, "w") as f:
    json.dump({"users": {"alice": "pw"}, "default_route": {"require_auth": False}}, f)
with Server(SERVICE, "--config", "@" + cfgfile) as svc:
    st, _, _ = request(svc.url, "POST", LOGIN, {"username": "alice", "password": "pw"})
    t.eq(st, 200, "--config @file")
    t.eq(request(svc.url, path="/api/anything")[0], 200, "default_route require_auth false")

try:
    Server(SERVICE, "--config", "{broken")
    t.ok(False, "Server() raises when the child dies before READY")
except RuntimeError as e:
    t.ok("bad --config" in str(e), "Server() raises with the child's stderr", str(e))

# --- TLS (only if the openssl CLI is around to make a certificate) ---------
openssl = shutil.which("openssl")
if openssl:
    cert, key = os.path.join(logdir, "c.pem"), os.path.join(logdir, "k.pem")
    p = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1"], capture_output=True)
    if p.returncode == 0:
        with service(tls=(cert, key)) as svc:
            t.ok(svc.url.startswith("https://127.0.0.1:"), "--tls: READY says https")
            st, _, b = request(svc.url, path="/health")
            t.eq((st, jbody(b)), (200, {"status": "ok"}), "--tls: GET /health over TLS")
            t.eq(len(svc.requests()), 1, "--tls: control endpoints over TLS")
    else:
        t.skip("--tls", "openssl req failed")
else:
    t.skip("--tls", "no openssl CLI")

# --- harness helpers --------------------------------------------------------
t.eq(parse_github_file("a=1\n\nb=x=y\nc<<EOF\nl1\nl2\nEOF\nd<<X\nX\ne=\r\n"),
     {"a": "1", "b": "x=y", "c": "l1\nl2", "d": "", "e": "\r"}, "parse_github_file: runner semantics")
t.eq(parse_github_file("k<<EOF\nv\nEOF"), {"k": "v"}, "parse_github_file: delimiter at EOF without newline")
for bad in ("novalue\n", "=v\n", "k<<EOF\nv\n", "k<<EOF\nv", "k<<\nx\n", "k<<EOF\nv\nEOF \n"):
    try:
        parse_github_file(bad)
        t.ok(False, "parse_github_file rejects %r" % bad)
    except ValueError:
        t.ok(True, "parse_github_file rejects %r" % bad)

fake = os.path.join(logdir, "fake-gate")
with open(fake, "w") as f:
    # Python, not /bin/sh: dash drops variables like INPUT_HEALTH-PATH from its environment.
    f.write("#!" + sys.executable + "\n" + r"""
import json, os, sys
e = os.environ
print("::add-mask::" + e["INPUT_PASSWORD"])
print("hello " + e["INPUT_USERNAME"], file=sys.stderr)
with open(e["GITHUB_OUTPUT"], "a") as f:
    f.write("status=pass\nhp=%s\nmulti<<ghadelim\nl1\nl2\nghadelim\n" % e.get("INPUT_HEALTH-PATH"))
    f.write("report=%s/r.json\nhome=%s\nrepo=%s\nextra=%s\n"
            % (e["RUNNER_TEMP"], e["HOME"], e["GITHUB_REPOSITORY"], e.get("EXTRA", "unset")))
with open(os.path.join(e["RUNNER_TEMP"], "r.json"), "w") as f:
    f.write('{"verdict":"pass"}')
with open(e["GITHUB_STEP_SUMMARY"], "a") as f:
    f.write("# Summary\n")
sys.exit(3)
""")
os.chmod(fake, 0o755)
saved_bin, saved_inputs = harness.BIN, list(harness.ALL_INPUTS)
harness.BIN = fake
harness.ALL_INPUTS[:] = ["url", "health-path"]
try:
    r = harness.run_gate({"username": "smoke_test", "password": "s3cret-pw", "health-path": "/hz"},
                         env={"EXTRA": "x", "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    o = r.outputs
    t.eq(r.rc, 3, "run_gate: rc")
    t.eq((o.get("status"), o.get("hp"), o.get("multi"), o.get("home"), o.get("repo"), o.get("extra")),
         ("pass", "/hz", "l1\nl2", r.tmp, "acme/atom", "x"), "run_gate: env, INPUT_HEALTH-PATH, heredoc output")
    t.eq(r.report, {"verdict": "pass"}, "run_gate: report loaded from outputs['report']")
    t.eq(r.summary, "# Summary\n", "run_gate: summary")
    t.eq(r.env.get("INPUT_URL"), "", "run_gate: undeclared-by-caller inputs present but empty")
    t.eq(leaked(["s3cret-pw", "smoke_test", "nothere"], r), ["smoke_test"],
         "leaked(): ignores ::add-mask:: lines, finds others")
    t.eq(leaked(["nothere"], r, extra_texts=["xx nothere"]), ["nothere"], "leaked(): extra_texts")
    r2 = harness.run_gate({"password": "p", "username": "u"}, env={"INPUT_URL": None}, timeout=5, args=())
    t.ok("INPUT_URL" not in r2.env and r2.rc == 3, "run_gate: env None removes a variable")
finally:
    harness.BIN = saved_bin
    harness.ALL_INPUTS[:] = saved_inputs

shutil.rmtree(logdir, ignore_errors=True)
elapsed = time.monotonic() - T0
t.ok(elapsed < 10, "self-test ran in under 10 s", "took %.1f s" % elapsed)
t.done()
