#!/usr/bin/env python3
"""Issue 8: no secret ever leaves where it belongs. Every kind of run (pass, fail with rollback,
issue and Slack message, servers that echo credentials back in their errors, debug logging, dry
run, invalid configuration, cancellation) uses distinctive values for the password, the access
token, the Prometheus token, the GitHub token, the Slack webhook, and the kubeconfig token and
client key, then searches stdout/stderr (except ::add-mask:: lines), the step summary, the
outputs, the report, every file left in the run's directory, the issues GitHub received and the
Slack payloads. Each credential is also shown to have been used, so that nothing passes because a
feature did not run."""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers"))
import harness  # noqa: E402
from harness import SERVERS, TAP, Server, leaked, run_gate, service  # noqa: E402
import kube  # noqa: E402

# Each secret has a distinctive run of 10+ letters and digits (its "core"): searching for the
# cores too finds a secret however it was escaped (Markdown "ghs\_…", JSON "\"", %-encoding).
# The password holds a quote, a backslash and a slash, which every escaping changes.
PASSWORD = 'pw-"Qx\\9/PwCoreZq81Lm-unique'
TOKEN = "tok-TokCoreA6f0Hq-access_token"
PROM_TOKEN = "prom-PromCore2c9d4-bearer"
GH_TOKEN = "ghs_GhCore7Hq2Lw9Rk4Vb"
HOOK_SECRET = "hook_HookCore8Tq3Zx"
HOOK_PATH = "/services/T0SECRET/B0SECRET/" + HOOK_SECRET
KTOKEN = "ktok_KubeCore91be7_token"
PD_KEY = "PdKeyCore5Rt8Yw2Qz7Xn4Lm1Hs6Jv3B"       # PagerDuty wants 32 characters
WEBHOOK_SECRET = "whsec-WebhookCore4Kp9"
WEBHOOK_PATH = "/hooks/HookPathCore7Dn2/deliver"
USER = "smoke_test"

t = TAP()
work = tempfile.mkdtemp(prefix="atom-secrets-")

# a client certificate and key in the kubeconfig: the key's lines are secrets
key_pem = cert_pem = None
gen = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", os.path.join(work, "k.pem"), "-out", os.path.join(work, "c.pem"),
                      "-days", "2", "-subj", "/CN=atom-deployer"], capture_output=True)
if gen.returncode == 0:
    key_pem = open(os.path.join(work, "k.pem")).read()
    cert_pem = open(os.path.join(work, "c.pem")).read()
KEY_LINES = [l for l in (key_pem or "").splitlines() if l and not l.startswith("-----")]
KEY_B64 = base64.b64encode(key_pem.encode()).decode() if key_pem else ""

SECRETS = [PASSWORD, json.dumps(PASSWORD)[1:-1], urllib.parse.quote(PASSWORD, safe=""), TOKEN, PROM_TOKEN,
           GH_TOKEN, HOOK_SECRET, HOOK_PATH, KTOKEN, PD_KEY, WEBHOOK_SECRET, WEBHOOK_PATH] + KEY_LINES + ([KEY_B64] if KEY_B64 else [])


def core(secret):
    runs = sorted(re.findall(r"[A-Za-z0-9]+", secret), key=len)
    return runs[-1] if runs and len(runs[-1]) >= 10 else None


CORES = [core(x) for x in (PASSWORD, TOKEN, PROM_TOKEN, GH_TOKEN, HOOK_SECRET, KTOKEN, PD_KEY, WEBHOOK_SECRET,
                           WEBHOOK_PATH)]
t.ok(all(CORES), "every secret has a distinctive core: %s" % CORES)
SECRETS += CORES


def kubeconfig(url):
    user = {"token": KTOKEN}
    if key_pem:
        user["client-certificate-data"] = base64.b64encode(cert_pem.encode()).decode()
        user["client-key-data"] = KEY_B64
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": url}}],
        "users": [{"name": "deployer", "user": user}],
        "contexts": [{"name": "ci", "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": "ci"})


PROM_OK = {"status": "success", "data": {"resultType": "vector",
                                         "result": [{"metric": {}, "value": [1700000000, "0.0005"]}]}}
# echoed as a JSON string (the service encodes it: the password's quote and backslash get escaped)
# and as raw text
ECHO = "rejected %s %s" % (TOKEN, PASSWORD)

gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3", "--config", json.dumps({"token": GH_TOKEN}))
slack = Server(os.path.join(SERVERS, "slack.py"), "--config", json.dumps({"valid_paths": [HOOK_PATH]}))
prom = service("healthy", {"token": PROM_TOKEN,
                           "routes": {"GET /api/v1/query": {"status": 200, "body": PROM_OK, "require_auth": True}}})
HOOK = slack.url + HOOK_PATH
SECRETS.append(HOOK)
pd = Server(os.path.join(SERVERS, "pagerduty.py"))
receiver = Server(os.path.join(SERVERS, "webhook.py"), "--secret", WEBHOOK_SECRET, "--require-signature")
WEBHOOK_URL = receiver.url + WEBHOOK_PATH
SECRETS.append(WEBHOOK_URL)
runs = []


def reset_all(*servers):
    gh._control("POST", "/_test/reset", {"all": True})
    slack._control("POST", "/_test/reset", {"all": True})
    pd._control("POST", "/_test/reset", {})
    receiver._control("POST", "/_test/reset", {})
    prom.reset()
    for s in servers:
        s.reset()


def issues():
    return gh._control("GET", "/_test/issues").get("acme/atom", [])


def messages():
    return slack._control("GET", "/_test/messages")


def inputs(svc, k=None, **kw):
    b = {"url": svc.url, "environment": "production", "username": USER, "password": PASSWORD,
         "endpoints": "GET /api/projects", "prometheus-url": prom.url, "prometheus-token": PROM_TOKEN,
         "github-token": GH_TOKEN, "slack-webhook-url": HOOK, "create-issue": "true",
         "rollback": "true" if k is not None else "false", "rollback-timeout": "20s", "wait-timeout": "5s",
         "pagerduty-routing-key": PD_KEY, "pagerduty-events-url": pd.url + "/v2/enqueue",
         "webhook-url": WEBHOOK_URL, "webhook-secret": WEBHOOK_SECRET, "webhook-on": "always"}
    if k is not None:
        b["kubeconfig"] = kubeconfig(k.url)
    b.update({key.replace("_", "-"): v for key, v in kw.items()})
    return b


ENV = {"GITHUB_API_URL": gh.url + "/api/v3"}


def no_leak(r, what, extra_servers=()):
    """Searches everything the run wrote, plus what GitHub, Slack and the stand-ins got in bodies
    (the service's login body is where the password belongs, so it is left out)."""
    extra = [json.dumps(i, ensure_ascii=False) for i in issues()]
    extra += [json.dumps(m, ensure_ascii=False) for m in messages()]
    extra += [q["body"] for q in gh.requests() + slack.requests()]
    # the webhook receiver: bodies and every header (the signature is not the secret)
    extra += [q["body"] + json.dumps(q["headers"]) for q in receiver.requests()]
    # PagerDuty's body carries the routing key where it belongs, and nothing else secret
    for q in pd.requests():
        ev = json.loads(q["body"])
        ev.pop("routing_key", None)
        extra.append(json.dumps(ev, ensure_ascii=False) + json.dumps(q["headers"]))
    for s in extra_servers:
        extra += [q["body"] for q in s.requests() if "/auth/login" not in q["path"]]
        extra += [q["path"] for q in s.requests()]
    found = leaked(SECRETS, r, extra)
    t.ok(not found, "%s: no secret in log, summary, outputs, report, files, issue, Slack payload or bodies" % what,
         "leaked: %r" % found)
    masked = [l for l in r.stdout.splitlines() if l.startswith("::add-mask::")]
    first_mask = r.stdout.find("::add-mask::")
    t.ok(first_mask < 0 or first_mask < r.stdout.find("::group::Readiness") or "::group::Readiness" not in r.stdout,
         "%s: credentials masked before the checks start (%d masks)" % (what, len(masked)))


def used(cond, what):
    t.ok(cond, "(the credential was really used) " + what)


def login_ok(svc):
    return any(q["path"] == "/api/auth/login" and json.loads(q["body"]).get("password") == PASSWORD
               for q in svc.requests())


# --- a release that passes, Slack told every time --------------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "normal", "step_ms": 40}}) as k, \
        service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN}) as s:
    reset_all()
    r = run_gate(inputs(s, k, slack_notify="always", max_latency="5s"), env=ENV)
    runs.append(r)
    t.eq(r.rc, 0, "pass: exit 0")
    used(login_ok(s), "pass: the password reached the login endpoint")
    used(any(q["headers"].get("authorization") == "Bearer " + TOKEN for q in s.requests()), "pass: the access token")
    used(any(q["headers"].get("authorization") == "Bearer " + PROM_TOKEN for q in prom.requests()),
         "pass: the Prometheus token")
    used(any(q["headers"].get("authorization") == "Bearer " + KTOKEN for q in k.requests()), "pass: the kube token")
    used(len(messages()) == 1, "pass: the Slack webhook (slack-notify: always)")
    used([json.loads(q["body"])["routing_key"] for q in pd.requests()] == [PD_KEY],
         "pass: the PagerDuty routing key (a resolve)")
    used([q["signature_valid"] for q in receiver.requests()] == [True], "pass: the webhook secret signed the report")
    no_leak(r, "pass", [s, prom, k])

# --- a bad release: rolled back, an issue and a Slack message ---------------------------------
BAD = {"users": {USER: PASSWORD}, "token": TOKEN, "routes": {"GET /api/projects": {"status": 500, "body": {"e": "x"}}}}
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "normal", "step_ms": 40}}) as k, \
        service("healthy", BAD) as s:
    reset_all()
    r = run_gate(inputs(s, k), env=ENV)
    runs.append(r)
    t.eq((r.rc, r.outputs.get("result")), (1, "rolled-back"), "rollback: exit 1, rolled-back")
    used(any(q["method"] == "PATCH" and q["headers"].get("authorization") == "Bearer " + KTOKEN for q in k.requests()),
         "rollback: the kube token sent the PATCH")
    used(len(issues()) == 1 and any(q["headers"].get("authorization") == "Bearer " + GH_TOKEN for q in gh.requests()),
         "rollback: the GitHub token opened an issue")
    used(len(messages()) == 1, "rollback: the Slack webhook got the alert")
    used([json.loads(q["body"])["event_action"] for q in pd.requests()] == ["trigger"],
         "rollback: PagerDuty triggered with the key")
    used([(q["event"], q["signature_valid"]) for q in receiver.requests()] == [("rolled-back", True)],
         "rollback: the webhook got the signed report")
    no_leak(r, "rollback", [s, prom, k])

# --- the release recovers: the issue is closed with a comment, PagerDuty resolved ------------------
with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN}) as s:
    gh._control("POST", "/_test/reset", {})
    receiver._control("POST", "/_test/reset", {})
    r = run_gate(inputs(s, None), env=ENV)
    runs.append(r)
    used(r.outputs.get("closed-issues") == "1" and [q["event"] for q in receiver.requests()] == ["recovered"],
         "recovery: the GitHub token closed the issue; the webhook said recovered")
    no_leak(r, "recovery", [s, prom])

# --- the same, kubeconfig given base64-encoded and from a KUBECONFIG file, dry run -----------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "normal", "step_ms": 40}}) as k, \
        service("healthy", BAD) as s:
    reset_all()
    kc_b64 = base64.b64encode(kubeconfig(k.url).encode()).decode()
    SECRETS.append(kc_b64)
    r = run_gate(inputs(s, k, kubeconfig=kc_b64, dry_run="true"), env=ENV)
    runs.append(r)
    used(any("dryRun=All" in q["path"] for q in k.requests() if q["method"] == "PATCH"),
         "dry run, base64 kubeconfig: the dryRun PATCH was sent")
    no_leak(r, "dry run, base64 kubeconfig", [s, prom, k])
    reset_all(k)
    kc_file = os.path.join(work, "kubeconfig")
    with open(kc_file, "w") as f:
        f.write(kubeconfig(k.url))
    r = run_gate(inputs(s, k, kubeconfig=""), env=dict(ENV, KUBECONFIG=kc_file))
    runs.append(r)
    used(any(q["method"] == "PATCH" for q in k.requests()), "KUBECONFIG file: the rollback used it")
    no_leak(r, "KUBECONFIG file", [s, prom, k])

# --- every server echoes the credentials back in its error, with debug logging on ------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "forbid": ["patch"],
                                              "user": "system:serviceaccount:ci:" + KTOKEN}) as k, \
        service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN,
                            "routes": {"GET /api/projects": {"status": 500, "body": {"error": ECHO}},
                                       "GET /api/redirect": {"mode": "redirect",
                                                             "location": "https://evil.example/?t=" + TOKEN}},
                            "db": {"status": 503, "raw_body": "down for " + ECHO}}) as s:
    reset_all()
    prom.config({"routes": {"GET /api/v1/query": {"status": 400, "body": {
        "status": "error", "errorType": "bad_data", "error": "token %s is not allowed" % PROM_TOKEN}}}})
    gh.config({"fail": {"create": {"status": 422, "message": "Validation failed for token " + GH_TOKEN},
                        "list": {"status": 500, "message": "oops " + GH_TOKEN}}})
    slack.config({"fail": {"status": 400, "body": "invalid_payload " + HOOK_PATH + " " + HOOK}})
    r = run_gate(inputs(s, k, endpoints="GET /api/projects\nGET /api/redirect", on_query_error="fail"),
                 env=dict(ENV, RUNNER_DEBUG="1"), args=["--verbose"])
    runs.append(r)
    t.eq(r.rc, 1, "echo: exit 1")
    t.ok("::debug::" in r.stdout, "echo: debug logging was on")
    details = " ".join(c.get("detail") or "" for c in (r.report or {}).get("checks", []))
    t.ok("***" in details, "echo: the echoed credentials reached the gate and were scrubbed", diag=details[:600])
    used(any("Bearer " + KTOKEN == q["headers"].get("authorization") for q in k.requests()),
         "echo: the kube token met a 403 that names it")
    used(any(q["method"] == "POST" for q in slack.requests()), "echo: Slack answered with the webhook in its error")
    no_leak(r, "echo", [s, prom, k])
    prom.config({"routes": {"GET /api/v1/query": {"status": 200, "body": PROM_OK, "require_auth": True}}})

# --- invalid configuration: nothing sent, nothing echoed ------------------------------------------
with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN}) as s:
    reset_all()
    for name, value in (("retries", "99"), ("slack-webhook-url", "not-a-url/" + HOOK_SECRET),
                        ("prometheus-url", "ftp://" + PROM_TOKEN), ("webhook-url", "ftp://x" + WEBHOOK_PATH),
                        ("webhook-on", "never")):
        r = run_gate(inputs(s, None, **{name: value}), env=ENV)
        runs.append(r)
        t.eq(r.rc, 2, "invalid %s: exit 2" % name)
        no_leak(r, "invalid %s" % name, [s, prom])
    t.eq(s.requests() + prom.requests() + gh.requests() + slack.requests() + pd.requests() + receiver.requests(), [],
         "invalid configuration: nothing sent")

# --- cancelled mid-readiness ------------------------------------------------------------------------
_procs = []


class _CapturingPopen(subprocess.Popen):
    def __init__(self, argv, *a, **kw):
        super().__init__(argv, *a, **kw)
        if harness.BIN in [str(x) for x in argv]:
            _procs.append(self)


harness.subprocess = types.SimpleNamespace(**{n: getattr(subprocess, n) for n in dir(subprocess) if not n.startswith("__")})
harness.subprocess.Popen = _CapturingPopen
with kube.launch(scenario="history", config={"token": KTOKEN}) as k, \
        service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN, "health": {"status": 503}}) as s:
    reset_all()
    holder = {}
    th = threading.Thread(target=lambda: holder.setdefault("r", run_gate(inputs(s, k, wait_timeout="60s"), env=ENV)))
    th.start()
    end = time.monotonic() + 30
    while time.monotonic() < end and not (_procs and len([q for q in s.requests() if q["path"] == "/health"]) >= 2):
        time.sleep(0.02)
    if _procs:
        os.kill(_procs[-1].pid, signal.SIGTERM)
    th.join(60)
    r = holder["r"]
    runs.append(r)
    t.eq(r.outputs.get("result"), "cancelled", "cancelled: result=cancelled")
    no_leak(r, "cancelled", [s, prom, k])

# --- issue 11 item 2: scrubbed before cut; whitespace folded after scrubbing ------------------------
def prefixes(secret, n=6):
    """every start of the secret of n or more characters"""
    return [secret[:i] for i in range(n, len(secret))]


def texts_of(r):
    extra = [json.dumps(i, ensure_ascii=False) for i in issues()]
    extra += [json.dumps(m, ensure_ascii=False) for m in messages()]
    extra += [q["body"] for q in gh.requests() + slack.requests()]
    visible = "\n".join(l for l in r.stdout.splitlines() if not l.startswith("::add-mask::"))
    return [visible, r.stderr, r.summary, r.outputs_raw, r.report_text or ""] + extra


PW_SPACE = "pw with\tspace  /Sp:SpaceCore4Rt7"
# endpoint bodies that echo the bearer token after filler, so that each cut (200 bytes) straddles it
ROUTES = {}
for n in range(160, 200, 3):
    ROUTES["GET /api/f%d" % n] = {"status": 403, "raw_body": "f" * n + " Authorization: Bearer " + TOKEN}
ROUTES["GET /api/spaces"] = {"status": 500, "raw_body": "denied for password " + PW_SPACE + " (as sent)"}
with service("healthy", {"users": {USER: PW_SPACE}, "token": TOKEN, "routes": ROUTES}) as s:
    reset_all()
    gh.config({"fail": {"any": {"status": 401, "message": "Bad credentials: " + "x" * 280 + " " + GH_TOKEN}}})
    r = run_gate(inputs(s, None, password=PW_SPACE, endpoints="\n".join(sorted(ROUTES))), env=ENV)
    runs.append(r)
    t.eq(r.rc, 1, "cut: exit 1")
    used(len([q for q in s.requests() if q["path"].startswith("/api/f")]) == len(ROUTES) - 1,
         "cut: every echoing endpoint answered")
    used(any(q["status"] == 401 for q in gh.requests()), "cut: GitHub answered 401 with the token in its message")
    found = [(p, i) for i, txt in enumerate(texts_of(r)) for p in prefixes(TOKEN) + prefixes(GH_TOKEN) if p in txt]
    t.eq(found[:3], [], "cut: no start of the token or the GitHub token (6+ characters) anywhere")
    folded = "pw with space /Sp:SpaceCore4Rt7"
    t.ok(not any(x in txt for txt in texts_of(r) for x in (PW_SPACE, folded, "SpaceCore4Rt7")),
         "a password with a tab and two spaces: scrubbed before the whitespace was folded")
    t.ok("denied for password *** (as sent)" in (r.report_text or ""), "the echo reached the report, scrubbed",
         (r.report_text or "")[:400])
    gh._control("POST", "/_test/reset", {"all": True})

# --- issue 11 item 3: encodings, a Prometheus URL with a key in its query, kubeconfig basic auth ------
import http.server  # noqa: E402
import socketserver  # noqa: E402

PROM_KEY = "promkey-QueryCore5Wd2"
KUSER, KPASS = "deployer", "kpass-BasicCore6Hy3"
BASIC = base64.b64encode(("%s:%s" % (KUSER, KPASS)).encode()).decode()
# %2f and %3a: lower-case hex digits, which the upper-case form does not match
ENC_LOWER = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(PW_SPACE, safe=""))
ENC_PLUS = urllib.parse.quote_plus(PW_SPACE)


class Echo(http.server.BaseHTTPRequestHandler):
    """answers every request with an error that echoes the request line and its Authorization"""
    def do_GET(self):
        said = "%s %s auth=%s" % (self.command, self.path, self.headers.get("Authorization"))
        self.server.seen.append(said)
        if self.path.startswith("/prom"):
            body = {"status": "error", "errorType": "bad_data", "error": "cannot parse " + said}
            code = 400
        else:
            body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
                    "message": "forbidden: " + said, "code": 403}
            code = 403
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


echo = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
echo.daemon_threads = True
echo.seen = []
threading.Thread(target=echo.serve_forever, daemon=True).start()
ECHO_URL = "http://127.0.0.1:%d" % echo.server_address[1]
ENC_ROUTES = {"GET /api/enc": {"status": 500, "raw_body": "lower " + ENC_LOWER + " form " + ENC_PLUS}}
with service("healthy", {"users": {USER: PW_SPACE}, "token": TOKEN, "routes": ENC_ROUTES}) as s:
    reset_all()
    kc = json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": ECHO_URL}}],
        "users": [{"name": "deployer", "user": {"username": KUSER, "password": KPASS}}],
        "contexts": [{"name": "ci", "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": "ci"})
    r = run_gate(inputs(s, None, password=PW_SPACE, endpoints="GET /api/enc", rollback="true", kubeconfig=kc,
                        prometheus_url=ECHO_URL + "/prom?api_key=" + PROM_KEY + "&tenant=team-a",
                        on_query_error="fail"), env=ENV)
    runs.append(r)
    used(any("Basic " + BASIC in x for x in echo.seen), "basic auth: the kubeconfig's user and password were sent")
    used(any(PROM_KEY in x for x in echo.seen), "prometheus-url: the query key was sent")
    every = texts_of(r)
    for what, secret in (("basic auth (base64)", BASIC), ("kube password", KPASS), ("prometheus-url key", PROM_KEY),
                         ("lower-case %-encoding", ENC_LOWER), ("form encoding", ENC_PLUS)):
        t.ok(not any(secret in x for x in every), "%s: never shown" % what)
    t.ok("::add-mask::" + BASIC in r.stdout and "::add-mask::" + PROM_KEY in r.stdout,
         "the base64 pair and the query key are masked for the runner")
    first_echo = min([i for i, l in enumerate(r.stdout.splitlines()) if "forbidden" in l or "cannot parse" in l] or [0])
    masks = [i for i, l in enumerate(r.stdout.splitlines()) if l in ("::add-mask::" + BASIC, "::add-mask::" + PROM_KEY)]
    t.ok(len(masks) == 2 and max(masks) < first_echo, "both masked before the first echo is printed")
    shown = ((r.report or {}).get("metrics") or {}).get("prometheus_url")
    t.eq(shown, ECHO_URL + "/prom", "the report shows the Prometheus URL without its query")
    t.ok("***" in json.dumps(r.report or {}), "the echoes reached the report, scrubbed")
echo.shutdown()
echo.server_close()

# --- issue 11 item 5: a token with CR/LF never reaches a header -------------------------------------
INJ = {"users": {USER: PASSWORD}, "token": TOKEN,
       "login": {"raw_body": json.dumps({"access_token": "TOKA\r\nX-Injected: yes", "token_type": "bearer"}),
                 "status": 200}}
with service("healthy", INJ) as s:
    reset_all()
    r = run_gate(inputs(s, None, create_issue="false", slack_webhook_url=""), env=ENV)
    runs.append(r)
    login = [c for c in (r.report or {}).get("checks", []) if c.get("name") == "login"]
    t.ok(login and login[0].get("status") == "fail" and "control characters" in (login[0].get("detail") or ""),
         "a token with CR LF: the login check fails and says why", repr(login))
    t.eq([q["path"] for q in s.requests() if q["path"].startswith("/api/projects")], [],
         "a token with CR LF: no endpoint request is sent")
    t.ok(not any("x-injected" in {k.lower() for k in q["headers"]} for q in s.requests()),
         "a token with CR LF: no injected header ever arrives")
    t.ok("TOKA" not in "\n".join(texts_of(r)), "the refused token is masked too")

gh.stop()
slack.stop()
pd.stop()
receiver.stop()
prom.stop()
t.ok(len(runs) >= 9, "%d runs searched" % len(runs))
t.done()
