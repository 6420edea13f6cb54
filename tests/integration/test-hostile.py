#!/usr/bin/env python3
"""Issue 8: hostile or broken servers. A reply that never ends or trickles, a 1 GB body, a
decompression bomb, invalid UTF-8, deeply nested JSON, huge or garbage headers, a redirect to
another host, a TLS certificate that does not verify and a connection closed mid-reply: each is
bounded in time and memory, reported with a clear detail, and never moves a credential."""
import gzip
import json
import os
import re
import shlex
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import TAP, check, leaked, run_gate, sent, service  # noqa: E402

PASSWORD = "pw-Hostile-7c41e-secret"
TOKEN = "tok-Hostile-93ab2-access-token"
SECRETS = [PASSWORD, TOKEN]
USER = "smoke_test"

t = TAP()
results = []
WRAPPED = bool(os.environ.get("ATOM_SAFETY_TEST_WRAPPER"))  # valgrind: slow, its own memory


def is_asan(path):
    """ASan's shadow memory and quarantine make RSS meaningless for a small limit."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


ASAN = is_asan(harness.BIN)
RSS_LIMIT_KB = 64 * 1024 if ASAN else 30 * 1024  # measured: ~13 MB plain, ~25 MB ASan
SLACK_S = 6.0 if WRAPPED else 0.0  # extra seconds a timing bound allows under valgrind


def gate(url, measure=False, **inputs):
    base = {"url": url, "environment": "staging", "username": USER, "password": PASSWORD,
            "rollback": "false", "create-issue": "false", "wait-timeout": "0s", "retries": "0",
            "request-timeout": "3s"}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    rss_file = None
    saved = os.environ.get("ATOM_SAFETY_TEST_WRAPPER")
    if measure and not WRAPPED:
        fd, rss_file = tempfile.mkstemp(prefix="atom-rss-")
        os.close(fd)
        os.environ["ATOM_SAFETY_TEST_WRAPPER"] = "/usr/bin/time -f %M -o " + shlex.quote(rss_file)
    try:
        start = time.monotonic()
        r = run_gate(base, timeout=120)
        r.took = time.monotonic() - start
    finally:
        if rss_file is not None:
            if saved is None:
                os.environ.pop("ATOM_SAFETY_TEST_WRAPPER", None)
            else:
                os.environ["ATOM_SAFETY_TEST_WRAPPER"] = saved
    r.max_rss_kb = None
    if rss_file is not None:
        with open(rss_file) as f:
            lines = [l for l in f.read().split() if l.isdigit()]
        os.unlink(rss_file)
        r.max_rss_kb = int(lines[-1]) if lines else None
    results.append(r)
    return r



def detail(r, name):
    return check(r, name).get("detail") or ""



def rss_ok(r, what):
    if r.max_rss_kb is None:
        t.skip("%s: peak RSS" % what, "measured only outside a test wrapper (valgrind)")
        return
    t.ok(r.max_rss_kb < RSS_LIMIT_KB, "%s: peak RSS %d KiB < %d KiB%s" %
         (what, r.max_rss_kb, RSS_LIMIT_KB, " (ASan build)" if ASAN else ""))


def svc(routes=None, extra=None):
    cfg = {"users": {USER: PASSWORD}, "token": TOKEN, "routes": routes or {}}
    cfg.update(extra or {})
    return service("healthy", cfg)


# --- a reply that never ends, or trickles one byte a second --------------------------------
with svc({"GET /api/hang": {"mode": "hang"}, "GET /api/trickle": {"mode": "trickle"}}) as s:
    r = gate(s.url, endpoints="GET /api/hang\nGET /api/trickle", request_timeout="1500ms")
    t.eq(r.rc, 1, "hang/trickle: exit 1")
    t.ok(r.took < 1.5 + 3.0 + SLACK_S, "hang/trickle: both bounded by request-timeout, in parallel (%.1fs)" % r.took)
    for name in ("GET /api/hang", "GET /api/trickle"):
        t.eq(check(r, name).get("status"), "fail", "%s fails" % name)
        t.ok("no complete reply within 1500ms" in detail(r, name), "%s: detail names the timeout" % name,
             diag=detail(r, name))
    t.ok(check(r, "health").get("status") == "pass", "hang/trickle: the other checks still ran")

    # an idempotent GET that timed out is retried; the retries are bounded too
    s.reset()
    r = gate(s.url, endpoints="GET /api/hang", request_timeout="1s", retries="2")
    t.eq(len(sent(s, "/api/hang")), 3, "hang: a GET is tried 1 + retries times")
    t.ok(r.took < 3 * 1.0 + 2.0 + SLACK_S, "hang: retries bounded (%.1fs)" % r.took)
    t.ok("after 3 attempts" in detail(r, "GET /api/hang"), "hang: attempts reported", diag=detail(r, "GET /api/hang"))

with svc({"POST /api/auth/login": {"mode": "hang"}}) as s:
    r = gate(s.url, endpoints="GET /api/projects", request_timeout="1s", retries="3")
    t.eq(check(r, "login").get("status"), "fail", "login that hangs fails")
    t.eq(len(sent(s, "/api/auth/login")), 1, "login that timed out is never retried (it may have reached the server)")
    t.eq(check(r, "GET /api/projects").get("status"), "skip", "no endpoint is called without a token")

with svc({"GET /health": {"mode": "hang"}}) as s:
    r = gate(s.url, wait_timeout="3s", request_timeout="1s", endpoints="")
    t.eq(r.rc, 1, "health that hangs: exit 1")
    t.ok(r.took < 3 + 1 + 3.0 + SLACK_S, "health that hangs: bounded by wait-timeout + request-timeout (%.1fs)" % r.took)
    t.ok("timed out" in (check(r, "health").get("value") or "") or "no complete reply" in detail(r, "health"),
         "health that hangs: reported as a timeout", diag=detail(r, "health"))

# --- 1 GB body, and a gzip bomb ----------------------------------------------------------------
with svc({"GET /api/huge": {"mode": "huge"}, "GET /health": {"mode": "huge"}}) as s:
    r = gate(s.url, measure=True, endpoints="GET /api/huge", request_timeout="20s")
    t.eq(r.rc, 1, "1 GB body: exit 1")
    t.ok(r.took < 15 + SLACK_S, "1 GB body: stopped early (%.1fs)" % r.took)
    for name in ("health", "GET /api/huge"):
        t.eq(check(r, name).get("value"), "reply too large", "1 GB body at %s: value 'reply too large'" % name)
        t.ok("larger than 1048576 bytes" in detail(r, name), "1 GB body at %s: the cap is reported" % name,
             diag=detail(r, name))
    rss_ok(r, "1 GB body")


class RawServer:
    """A TCP server answering every request with canned bytes, recording what it received."""

    def __init__(self, answer):
        self.received = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data = b""
                self.request.settimeout(10)
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    head, _, rest = data.partition(b"\r\n\r\n")
                    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                    want = int(m.group(1)) if m else 0
                    while len(rest) < want:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            break
                        rest += chunk
                    outer.received.append(head + b"\r\n\r\n" + rest)
                    body = answer(head) if callable(answer) else answer
                    self.request.sendall(body)
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        return False


def http_reply(head_lines, body=b"", status="200 OK"):
    return ("HTTP/1.1 %s\r\n" % status).encode() + b"".join(h + b"\r\n" for h in head_lines) + \
        b"Connection: close\r\n\r\n" + body


def login_aware(other):
    """Answers the login with a token, health and db with ok, everything else with other."""
    token_body = json.dumps({"access_token": TOKEN}).encode()

    def answer(head):
        line = head.split(b"\r\n", 1)[0]
        if line.startswith(b"POST /api/auth/login "):
            return http_reply([b"Content-Type: application/json", b"Content-Length: %d" % len(token_body)], token_body)
        if line.startswith(b"GET /health"):
            return http_reply([b"Content-Type: application/json", b"Content-Length: 15"], b'{"status":"ok"}')
        return other
    return answer


bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), 9)
with RawServer(login_aware(http_reply([b"Content-Type: application/json", b"Content-Encoding: gzip",
                                       b"Content-Length: %d" % len(bomb)], bomb))) as raw:
    r = gate(raw.url, measure=True, endpoints="GET /api/bomb", request_timeout="20s")
    t.eq(check(r, "GET /api/bomb").get("value"), "reply too large",
         "gzip bomb (%d KiB expanding to 64 MiB): capped after decompression" % (len(bomb) // 1024))
    rss_ok(r, "gzip bomb")

# --- headers: huge, many, garbage, control characters ------------------------------------------
cases = [
    ("huge header", http_reply([b"X-Pad: " + b"a" * 300000, b"Content-Length: 2"], b"{}"), "header is too large"),
    ("many headers", http_reply([b"X-H%d: %s" % (i, b"v" * 40) for i in range(3000)] + [b"Content-Length: 2"], b"{}"),
     "headers larger than 65536 bytes"),
    ("not HTTP", b"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/0.9"),
    ("bad chunked", http_reply([b"Transfer-Encoding: chunked"], b"zz\r\nnot hex\r\n"), "chunked"),
    ("negative length", http_reply([b"Content-Length: -5"], b"{}"), "Content-Length"),
]
for what, reply, words in cases:
    with RawServer(login_aware(reply)) as raw:
        r = gate(raw.url, endpoints="GET /api/x")
        c = check(r, "GET /api/x")
        t.ok(r.rc == 1 and c.get("status") == "fail", "%s: the endpoint fails, the gate exits 1" % what,
             diag=r.dump()[-1500:])
        t.ok(c.get("detail") and len(c["detail"]) < 600 and words in c["detail"],
             "%s: one bounded line that says what was wrong: %s" % (what, c.get("detail")))

nasty = b"https://evil.example/\x1b]0;owned\x07\x1b[31m::error::pwned%0A::add-mask::x"
with RawServer(login_aware(http_reply([b"Location: " + nasty, b"Content-Length: 0"], status="302 Found"))) as raw:
    r = gate(raw.url, endpoints="GET /api/x 200")
    d = detail(r, "GET /api/x")
    t.ok("redirected" in d and "not followed" in d, "redirect with control characters: reported, not followed", diag=d)
    t.ok(not re.search(r"[\x00-\x1f\x7f]", d), "redirect with control characters: none survive in the detail")
    lines = (r.stdout + r.stderr).splitlines()
    t.ok(not any(l.startswith("::error::pwned") or l.startswith("::add-mask::x") for l in lines),
         "outside text never starts a workflow command line")
    t.ok("\x1b" not in r.stdout and "\x1b" not in r.summary and "\x1b" not in (r.report_text or ""),
         "no escape sequence reaches the log, summary or report")

# --- invalid UTF-8 and deeply nested JSON ---------------------------------------------------------
with svc({"GET /api/bad": {"mode": "badutf8", "status": 500},
          "POST /api/auth/login": {"mode": "badutf8"}}) as s:
    r = gate(s.url, endpoints="GET /api/bad")
    t.eq(check(r, "login").get("status"), "fail", "login reply with invalid UTF-8 fails")
    t.ok("not valid JSON" in detail(r, "login"), "invalid UTF-8 login: clear detail", diag=detail(r, "login"))
with svc({"GET /api/bad": {"mode": "badutf8", "status": 500}}) as s:
    r = gate(s.url, endpoints="GET /api/bad")
    d = detail(r, "GET /api/bad")
    t.ok("HTTP 500" in d and "?" in d and "\ufffd" not in d, "invalid UTF-8 excerpt shown with '?' for bad bytes", diag=d)
    for what, path in (("report", r.report_path), ("summary", os.path.join(r.tmp, "summary.md"))):
        with open(path, "rb") as f:
            raw_bytes = f.read()
        try:
            raw_bytes.decode("utf-8", errors="strict")
            valid = b"\xff" not in raw_bytes
        except UnicodeDecodeError:
            valid = False
        t.ok(valid, "invalid UTF-8 from the server: the %s stays valid UTF-8" % what)

with svc({"POST /api/auth/login": {"mode": "nested", "depth": 200000},
          "GET /api/deep": {"mode": "nested", "depth": 200000, "status": 500}}) as s:
    r = gate(s.url, endpoints="GET /api/deep")
    t.ok(r.rc == 1 and r.report is not None, "200000-deep JSON: no crash, a report is written", diag=r.dump()[-800:])
    t.ok("not valid JSON" in detail(r, "login"), "200000-deep JSON login: rejected by the depth limit",
         diag=detail(r, "login"))
    t.ok(len(detail(r, "GET /api/deep")) < 400, "200000-deep error body: excerpt bounded")
with svc({"GET /health/db": {"mode": "nested", "depth": 200000}}) as s:
    r = gate(s.url, endpoints="")
    t.ok(r.rc == 0 and check(r, "database").get("status") == "pass",
         "200000-deep JSON database reply with 200: judged on the status alone, no crash")

# --- a redirect to another host never carries the credentials ---------------------------------
with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN}) as other:
    with svc({"GET /api/projects": {"mode": "redirect", "status": 302, "location": other.url + "/api/projects"},
              "POST /api/auth/login": {"mode": "redirect", "status": 307, "location": other.url + "/api/auth/login"},
              "GET /health": {"mode": "redirect", "status": 301, "location": other.url + "/health"}}) as s:
        r = gate(s.url, endpoints="GET /api/projects")
        t.eq(r.rc, 1, "redirects: exit 1")
        t.eq(other.requests(), [], "the redirect target received nothing: no token, no password, no request")
        t.ok("not followed" in detail(r, "health"), "health redirect: reported as not followed", diag=detail(r, "health"))
        t.ok("redirected" in detail(r, "login") and "not followed" in detail(r, "login"),
             "login redirect (307 would resend the password): not followed", diag=detail(r, "login"))
        t.eq(len(sent(s, "/api/auth/login")), 1, "login redirected: asked once")
    # the endpoint redirect needs a token from a login that works
    with svc({"GET /api/projects": {"mode": "redirect", "status": 302, "location": other.url + "/api/projects"}}) as s:
        r = gate(s.url, endpoints="GET /api/projects")
        ep = sent(s, "/api/projects")
        t.ok(len(ep) == 1 and ep[0]["headers"].get("authorization") == "Bearer " + TOKEN,
             "endpoint: the token went to the configured host only")
        t.eq(other.requests(), [], "endpoint redirect: the other host received nothing")
        t.ok("redirected to " + other.url in detail(r, "GET /api/projects"), "endpoint redirect: target named",
             diag=detail(r, "GET /api/projects"))

# --- a TLS certificate that does not verify -------------------------------------------------------
tmp = tempfile.mkdtemp(prefix="atom-tls-")
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
gen = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                      "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True)
if gen.returncode != 0:
    t.skip("self-signed certificate", "openssl failed: %s" % gen.stderr.decode(errors="replace")[-200:])
else:
    with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN}, tls=(cert, key)) as s:
        t.ok(s.url.startswith("https://"), "TLS stand-in serves https")
        # a generous timeout: under valgrind a TLS handshake alone takes seconds
        r = gate(s.url, endpoints="GET /api/projects", retries="3", request_timeout="30s")
        t.eq(r.rc, 1, "self-signed certificate: exit 1")
        v, d = check(r, "health").get("value"), detail(r, "health")
        t.eq(v, "TLS failure", "self-signed certificate: value 'TLS failure'")
        t.ok("certificate" in d.lower(), "self-signed certificate: the detail says why", diag=d)
        t.ok("attempts" not in d, "TLS failures are never retried", diag=d)
        t.eq(s.requests(), [], "no HTTP request (and no password) went over the unverified connection")
        t.eq(check(r, "login").get("value"), "TLS failure", "login over the same host fails the same way")
        t.ok(not any(l.startswith("http://") for l in r.stdout.splitlines()), "no downgrade to http")

# --- a server that closes the connection mid-reply ------------------------------------------------
with svc({"GET /api/close": {"mode": "close_mid"}, "POST /api/auth/login": {"mode": "close_mid"}}) as s:
    r = gate(s.url, endpoints="GET /api/close", retries="2")
    t.eq(check(r, "login").get("value"), "connection closed mid-reply", "login closed mid-reply: reported")
    t.eq(len(sent(s, "/api/auth/login")), 1, "login closed mid-reply: never retried (it may have reached the server)")
with svc({"GET /api/close": {"mode": "close_mid"}}) as s:
    r = gate(s.url, endpoints="GET /api/close", retries="2")
    d = detail(r, "GET /api/close")
    t.ok("closed mid-reply" in d and "after 3 attempts" in d, "GET closed mid-reply: retried, then reported", diag=d)
    t.eq(len(sent(s, "/api/close")), 3, "GET closed mid-reply: 1 + retries attempts")

# --- a GitHub reply whose html_url is hostile (review of issues 11-16) ------------------------
# the html_url is GitHub's text, not ours: it goes into the job summary's table as a link
# destination, where a ')' would end the link, a '|' add a cell, '<' open HTML and a newline end the
# table; a scheme other than http(s) must not become a live link
GH_TOKEN = "ghs_Hostile0review0github0token0x1"
SECRETS.append(GH_TOKEN)
EVIL_URL = ("https://github.com/acme/atom/issues/7) | <img src=x onerror=alert(1)> @channel "
            "[x](javascript:alert(1))\n## Owned | cell")
cmark = shutil.which("cmark-gfm")
for label, url in (("hostile html_url", EVIL_URL), ("javascript: html_url", "javascript:alert(1)//")):
    gh = harness.Server(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers", "github.py"),
                        "--prefix", "/api/v3", "--config", json.dumps({"token": GH_TOKEN, "fail": {
                            "create": {"status": 201, "body": {"number": 7, "html_url": url}}}}))
    try:
        with svc({"GET /api/bad": {"status": 500}}) as s:
            r = run_gate({"url": s.url, "environment": "staging", "username": USER, "password": PASSWORD,
                          "rollback": "false", "create-issue": "true", "github-token": GH_TOKEN,
                          "wait-timeout": "0s", "retries": "0", "endpoints": "GET /api/bad"},
                         env={"GITHUB_API_URL": gh.url + "/api/v3"})
            results.append(r)
    finally:
        gh.stop()
    t.eq(r.rc, 1, "%s: the gate fails on the 500" % label)
    rows = [l for l in r.summary.splitlines() if l.startswith("| Issue |")]
    t.ok(len(rows) == 1, "%s: one Issue row in the summary" % label, r.summary[-2000:])
    row = rows[0] if rows else ""
    t.ok(len(re.findall(r"(?<!\\)\|", row)) == 3, "%s: the row has its two cells, no more" % label, row)
    t.ok("<img" not in r.summary and "\n## Owned" not in r.summary and "javascript:" not in row.split("](")[-1][:12],
         "%s: no HTML, heading or script link from the URL" % label, row)
    if cmark is None:
        t.skip("%s: rendered by cmark-gfm" % label, "cmark-gfm not installed (.ci/install-deps installs it)")
    else:
        out = subprocess.run([cmark, "-e", "table", "-e", "autolink", "-e", "tagfilter"], input=r.summary,
                             capture_output=True, text=True, timeout=30).stdout
        hrefs = re.findall(r'href="([^"]*)"', out)
        t.ok("<img" not in out and "<h2>Owned" not in out and not any(h.startswith("javascript") for h in hrefs),
             "%s: cmark-gfm renders no image, heading or script link" % label, out[-2000:])
        link = re.findall(r'<a href="([^"]*)">#7</a>', out)
        want = "https://github.com/acme/atom/issues/7%29%20%7C%20%3Cimg" if label.startswith("hostile") else "#"
        t.ok(len(link) == 1 and link[0].startswith(want),
             "%s: the issue link keeps the URL, encoded (or is inert)" % label, "\n".join(link) or out[-1500:])

# --- secrets --------------------------------------------------------------------------------------
found = []
for r in results:
    found += leaked(SECRETS, r)
t.eq(sorted(set(found)), [], "no password or token in any output, summary, report or log (%d runs)" % len(results))
t.done()
