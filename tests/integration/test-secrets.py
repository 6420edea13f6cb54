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

gh.stop()
slack.stop()
pd.stop()
receiver.stop()
prom.stop()
t.ok(len(runs) >= 9, "%d runs searched" % len(runs))
t.done()
