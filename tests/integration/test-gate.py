#!/usr/bin/env python3
"""Issue 2: the core gate against the service stand-in (health, database, login, endpoints,
retries, timeouts, outputs, summary, report, invalid input, secrets)."""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import TAP, check, free_port, leaked, run_gate, sent, service  # noqa: E402

PASSWORD = "pw-Zq81!unique-secret"
TOKEN = "tok-Hh29-distinctive-access-token"
SECRETS = [PASSWORD, TOKEN]

t = TAP()
results = []


def svc(preset="healthy", config=None):
    cfg = {"users": {"smoke_test": PASSWORD}, "token": TOKEN}
    if config:
        cfg.update(config)
    return service(preset, cfg)


def gate(s, **inputs):
    base = {"url": s.url if s else "http://127.0.0.1:9", "environment": "staging",
            "username": "smoke_test", "password": PASSWORD, "rollback": "false",
            "create-issue": "false", "endpoints": "GET /api/projects"}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    r = run_gate(base)
    results.append(r)
    return r




# --- healthy release ---------------------------------------------------------
with svc() as s:
    r = gate(s, endpoints="GET /api/projects\nPOST /api/items 200,201\n# a comment\n\nHEAD /api/ping 2xx")
    t.eq(r.rc, 0, "healthy: exit 0")
    t.eq(r.outputs.get("result"), "passed", "healthy: result=passed")
    t.eq(r.outputs.get("failed-checks"), "", "healthy: no failed checks")
    t.ok(r.outputs.get("report", "").endswith("atom-safety-report.json"), "healthy: report output names the file")
    t.eq(r.report and r.report.get("result"), "passed", "healthy: report result")
    names = [c["name"] for c in r.report["checks"]]
    t.ok(all(n in names for n in ["health", "database", "login", "GET /api/projects", "POST /api/items", "HEAD /api/ping"]),
         "healthy: every check reported", diag=str(names))
    t.eq(check(r, "database").get("value"), "query 12.5 ms", "database: query time shown")
    t.ok("pool" in (check(r, "database").get("detail") or "") and "in_use=2" in check(r, "database")["detail"],
         "database: pool state shown as key=value")
    login = sent(s, "/api/auth/login")
    t.eq(len(login), 1, "login sent once")
    t.eq(login and login[0]["method"], "POST", "login is a POST")
    t.eq(login and json.loads(login[0]["body"]), {"username": "smoke_test", "password": PASSWORD}, "login body is the JSON credentials")
    t.ok(login and "application/json" in login[0]["headers"].get("content-type", ""), "login content type JSON")
    ep = sent(s, "/api/projects")
    t.ok(len(ep) == 1 and ep[0]["headers"].get("authorization") == "Bearer " + TOKEN, "endpoint got the bearer token")
    t.eq([q["method"] for q in sent(s, "/api/ping")], ["HEAD"], "HEAD method used")
    t.ok("| `health` |" in r.summary and "Release passed the gate" in r.summary, "summary has verdict and check table")
    t.ok("staging" in r.summary and s.url in r.summary, "summary names environment and URL")
    t.ok("0123456" in r.summary, "summary shows the commit")
    t.ok("::group::" in r.stdout and "::add-mask::" + TOKEN in r.stdout, "log grouped and token masked")
    mask_at = r.stdout.find("::add-mask::" + TOKEN)
    t.ok(mask_at >= 0 and TOKEN not in r.stdout[:mask_at], "token masked before anything else printed it")

# --- readiness -----------------------------------------------------------------
with svc("slow-start") as s:
    r = gate(s, wait_timeout="20s")
    t.eq(r.rc, 0, "health failing then recovering within wait-timeout passes")
    t.ok("ready after 4 attempts" in (check(r, "health").get("detail") or ""), "readiness attempts reported",
         diag=check(r, "health").get("detail"))
    t.ok("waiting for /health" in r.stdout, "progress printed while waiting")

with svc(config={"health": {"status": 503, "body": {"status": "starting"}}}) as s:
    start = time.monotonic()
    r = gate(s, wait_timeout="2s")
    took = time.monotonic() - start
    t.eq(r.rc, 1, "health failing throughout: exit 1")
    t.ok("health" in r.outputs.get("failed-checks", "").split(","), "failed-checks names health")
    t.ok(1.5 < took < 10, "waited about wait-timeout (%.1fs)" % took)
    t.ok("still failing after 2s" in check(r, "health").get("detail", ""), "health detail says how long it waited")
    t.ok("::error title=health::" in r.stdout, "failed check annotated")

with svc(config={"health": {"status": 200, "body": {"status": "DOWN"}}}) as s:
    r = gate(s, wait_timeout="0s")
    t.eq(r.rc, 1, "health 200 with status DOWN fails (case-insensitive)")

# --- database ------------------------------------------------------------------
with svc(config={"db": {"status": 500, "body": {"error": "db gone"}}}) as s:
    r = gate(s)
    t.eq((r.rc, check(r, "database").get("status")), (1, "fail"), "database 500 fails")
with svc(config={"db": {"status": 200, "body": {"status": "unhealthy", "query_time_ms": 3}}}) as s:
    r = gate(s)
    t.eq((r.rc, check(r, "database").get("status")), (1, "fail"), "database 200 with status unhealthy fails")
with svc(config={"db": {"body": {"status": "ok", "query_time_ms": 900}}}) as s:
    r = gate(s, max_db_query_time="250ms")
    t.eq((r.rc, check(r, "database").get("status")), (1, "fail"), "slow database over max-db-query-time fails")
    t.eq(check(r, "database").get("limit"), "query <= 250 ms", "database limit shown")
    r = gate(s)
    t.eq(r.rc, 0, "slow database without a limit passes")

# --- login -----------------------------------------------------------------------
with svc() as s:
    r = gate(s, password="wrong-password-xyz")
    t.eq(r.rc, 1, "login 401: exit 1")
    t.ok("rejected" in check(r, "login").get("detail", ""), "login 401 reported as rejected credentials")
    t.eq(check(r, "GET /api/projects").get("status"), "skip", "endpoints skipped after failed login")
    t.eq(len(sent(s, "/api/projects")), 0, "no endpoint request sent without a token")
with svc(config={"login": {"raw_body": "{\"ok\": true}"}}) as s:
    r = gate(s)
    t.eq(r.rc, 1, "login without token fails")
    t.ok("'access_token'" in check(r, "login").get("detail", ""), "missing token names the path")
with svc(config={"login": {"raw_body": "{not json"}}) as s:
    r = gate(s)
    t.ok(r.rc == 1 and "not valid JSON" in check(r, "login").get("detail", ""), "malformed login JSON reported")
with svc(config={"login": {"token_field": "data.session.token"}}) as s:
    r = gate(s, token_path="$.data.session.token")
    t.eq(r.rc, 0, "token-path with $. prefix and nesting")
with svc() as s:
    r = gate(s, username="", password="")
    t.eq(r.rc, 0, "no credentials: passes with authenticated checks skipped")
    t.eq(check(r, "login").get("status"), "skip", "login skipped")
    t.ok("::warning::" in r.stdout, "skip announced as a warning")
    t.eq(len(sent(s, "/api/projects")), 0, "no endpoint request without credentials")

# --- endpoints -------------------------------------------------------------------
with svc(config={"routes": {"GET /api/orders": {"status": 500, "body": {"error": "boom"}}}}) as s:
    r = gate(s, endpoints="GET /api/projects\nGET /api/orders")
    t.eq(r.rc, 1, "endpoint with wrong status: exit 1")
    t.eq(r.outputs.get("failed-checks"), "GET /api/orders", "failed-checks names the endpoint")
    t.eq(len(sent(s, "/api/orders")), 1, "a 500 is never retried")
    t.eq(r.outputs.get("result"), "failed", "result=failed")
with svc(config={"routes": {"GET /api/flaky": {"fail_first": 2, "fail_status": 502}}}) as s:
    r = gate(s, endpoints="GET /api/flaky")
    t.eq(r.rc, 0, "endpoint 502 twice then 200 passes")
    t.eq(len(sent(s, "/api/flaky")), 3, "exactly three attempts")
with svc(config={"routes": {"GET /api/flaky": {"fail_first": 5, "fail_status": 503}}}) as s:
    r = gate(s, endpoints="GET /api/flaky", retries="1")
    t.eq((r.rc, len(sent(s, "/api/flaky"))), (1, 2), "retries bounds the attempts")
with svc(config={"routes": {"GET /api/busy": {"fail_first": 1, "fail_status": 429, "retry_after": "1"}}}) as s:
    start = time.monotonic()
    r = gate(s, endpoints="GET /api/busy")
    t.ok(r.rc == 0 and time.monotonic() - start >= 0.9, "429 Retry-After honoured")
with svc(config={"routes": {"GET /api/slow": {"delay_ms": 3000}}}) as s:
    r = gate(s, endpoints="GET /api/slow", request_timeout="500ms", retries="0")
    t.eq(r.rc, 1, "reply slower than request-timeout fails")
    t.ok("within 500ms" in check(r, "GET /api/slow").get("detail", ""), "timeout reported with the limit",
         diag=check(r, "GET /api/slow").get("detail"))
delays = {"GET /api/p%d" % i: {"delay_ms": 400} for i in range(12)}
with svc(config={"routes": delays, "count_connections": True}) as s:
    r = gate(s, endpoints="\n".join("GET /api/p%d" % i for i in range(12)))
    conns = json.loads(urllib.request.urlopen(s.url + "/_test/connections").read())
    # concurrency shown by what the server saw, not by a stopwatch: 12 slow requests at once
    t.ok(r.rc == 0 and conns.get("max_open", 0) >= 12,
         "12 slow endpoints in flight at once (server saw %s connections open together)" % conns.get("max_open"))
    t.ok(conns.get("connections", 99) <= 16, "and no more connections than needed (%s)" % conns.get("connections"))

# --- connection refused ------------------------------------------------------------
port = free_port()
r = gate(None, url="http://127.0.0.1:%d" % port, wait_timeout="0s", retries="1")
t.eq(r.rc, 1, "connection refused: exit 1")
t.ok("connection" in check(r, "health").get("detail", "").lower(), "connection failure named",
     diag=check(r, "health").get("detail"))

# --- outputs and summary -------------------------------------------------------------
with svc() as s:
    r = gate(s)
    raw = r.outputs_raw
    t.ok("result<<ghadelimiter_" in raw and "\r" not in raw, "outputs use heredoc delimiters and \\n line ends")
    t.ok(set(["result", "failed-checks", "report", "report-json", "error-rate", "latency-ms", "rolled-back",
              "rollback-revision", "issue-url", "issue-number"]) <= set(r.outputs), "every output written")

# --- issue 11 item 8: report-json, the report itself for later steps (fromJSON) ------------------------
with svc() as s:
    r = gate(s)
    raw = r.outputs.get("report-json", "")
    t.ok(raw and "\n" not in raw, "report-json: one line of compact JSON (%d bytes)" % len(raw))
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    t.eq(doc, r.report, "report-json: the same document as the report file")

# --- issue 11 item 4: the report file is created, never a planted file or link followed ---------------
import tempfile  # noqa: E402

with svc() as s:
    victim_dir = tempfile.mkdtemp(prefix="atom-victim-")
    victim = os.path.join(victim_dir, "precious.txt")
    runner_temp = tempfile.mkdtemp(prefix="atom-rt-")
    names = ["atom-safety-report.json.tmp", ".atom-safety-report.json.tmp", "atom-safety-report.json~",
             ".atom-safety-report.json.swp", "atom-safety-report.tmp"]
    for n in names:
        os.symlink(victim, os.path.join(runner_temp, n))
    os.symlink(victim, os.path.join(runner_temp, "atom-safety-report.json"))
    with open(victim, "w") as f:
        f.write("keep me\n")
    r = run_gate({"url": s.url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
                  "rollback": "false", "create-issue": "false"}, env={"RUNNER_TEMP": runner_temp})
    results.append(r)
    with open(victim) as f:
        t.eq(f.read(), "keep me\n", "planted links at the report and at temporary names: the target is untouched")
    rp = os.path.join(runner_temp, "atom-safety-report.json")
    t.ok(os.path.isfile(rp) and not os.path.islink(rp), "the report replaced the link with a file of its own")
    with open(rp) as f:
        t.eq(json.load(f).get("result"), "passed", "that file is the report")
    t.eq(r.outputs.get("report"), rp, "the report output names it")
    t.eq(sorted(n for n in os.listdir(runner_temp) if n not in names and n != "atom-safety-report.json"), [],
         "no temporary file left behind")
    t.eq(os.stat(rp).st_mode & 0o777, 0o644, "the report is readable by the runner's user (0644)")
    # a directory the gate cannot write: no report, and no report output naming a missing file
    ro = tempfile.mkdtemp(prefix="atom-rt-missing-")
    r = run_gate({"url": s.url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
                  "rollback": "false", "create-issue": "false"}, env={"RUNNER_TEMP": os.path.join(ro, "nope")})
    results.append(r)
    t.ok("report" not in r.outputs and r.outputs.get("result") == "passed",
         "report not written: the report output is left unset, the others are set", repr(sorted(r.outputs)))
    t.ok(json.loads(r.outputs.get("report-json") or "{}").get("result") == "passed",
         "report not written: report-json still carries the document")

# --- local run without GitHub files ---------------------------------------------------
with svc() as s:
    r = run_gate({"url": s.url, "environment": "staging", "rollback": "false", "create-issue": "false"},
                 env={"GITHUB_OUTPUT": None, "GITHUB_STEP_SUMMARY": None, "GITHUB_ACTIONS": None})
    results.append(r)
    t.eq(r.rc, 0, "local run without GITHUB_OUTPUT works")
    t.ok("Release passed the gate" in r.stdout and "PASS health" in r.stdout, "local run prints a readable result")
    t.ok("::group::" not in r.stdout, "no workflow commands outside Actions")
    t.ok("Notifications" not in r.stdout, "a healthy run with nothing to send prints no Notifications section",
         diag=r.stdout[-600:])
    t.ok(", 0 endpoints;" in r.stdout, "0 endpoints: plural", diag=r.stdout[:600])

with svc() as s:
    r = gate(s, endpoints="GET /api/projects")
    t.ok(", 1 endpoint;" in r.stdout, "1 endpoint: singular", diag=r.stdout[:600])
    t.ok("::group::Notifications" not in r.stdout, "healthy in Actions: no empty Notifications group")

# --- invalid input: exit 2, named input, nothing sent -------------------------------------
bad = [
    ("retries", "-1", "invalid input 'retries': expected a whole number from 0 to 10, got '-1'"),
    ("retries", "11", "invalid input 'retries'"),
    ("url", "ftp://example.com", "invalid input 'url'"),
    ("url", "", "invalid input 'url'"),
    ("environment", "", "invalid input 'environment'"),
    ("environment", "prod\tuction", "invalid input 'environment'"),
    ("request-timeout", "10", "invalid input 'request-timeout'"),
    ("request-timeout", "0s", "invalid input 'request-timeout'"),
    ("wait-timeout", "soon", "invalid input 'wait-timeout'"),
    ("dry-run", "yes", "invalid input 'dry-run'"),
    ("endpoints", "FETCH /api/x", "invalid input 'endpoints': line 1"),
    ("endpoints", "GET /ok\nGET api/x", "invalid input 'endpoints': line 2"),
    ("endpoints", "GET /x 2000", "invalid input 'endpoints'"),
    ("token-path", "data..token", "invalid input 'token-path'"),
    ("health-path", "health", "invalid input 'health-path'"),
    ("max-db-query-time", "fast", "invalid input 'max-db-query-time'"),
    ("max-error-rate", "150%", "invalid input 'max-error-rate'"),
    ("on-no-data", "ignore", "invalid input 'on-no-data'"),
    ("deployment", "Bad_Name", "invalid input 'deployment'"),
    ("to-revision", "abc", "invalid input 'to-revision'"),
    ("slack-notify", "sometimes", "invalid input 'slack-notify'"),
    ("slack-webhook-url", "hooks.slack.com/services/SECRET-HOOK", "invalid input 'slack-webhook-url'"),
    ("password", "", "invalid input 'password'"),
]
with svc() as s:
    for name, value, msg in bad:
        r = gate(s, **{name.replace("-", "_"): value})
        line = [l for l in (r.stdout + r.stderr).splitlines() if "invalid input" in l]
        t.eq(r.rc, 2, "bad %s=%r: exit 2" % (name, value))
        t.ok(any(msg in l for l in line), "bad %s: message names it" % name, diag=(r.stdout + r.stderr)[-400:])
        shown = [l for l in (r.stdout + r.stderr).splitlines() if not l.startswith("::add-mask::")]
        t.ok(not any("SECRET-HOOK" in l for l in shown), "bad %s: a secret input is never echoed" % name)
    t.eq(s.requests(), [], "invalid input: the service received nothing")

# --- secrets ---------------------------------------------------------------------------
found = []
for r in results:
    found += leaked(SECRETS, r)
t.eq(sorted(set(found)), [], "no password or token in any output, summary, report or log (%d runs)" % len(results))

t.done()
