#!/usr/bin/env python3
"""Issue 8: a cancelled job. The runner stops a cancelled step with SIGINT, SIGTERM 7.5 s later,
then kills it 2.5 s after that (actions/runner src/Runner.Sdk/ProcessInvoker.cs). The gate must
abandon in-flight requests, never leave a rollback half-sent, say in its outputs, summary and report
what happened, and exit within a second or two. Signalled mid-readiness-wait, mid-request,
mid-monitoring and mid-rollback-wait; the moment is chosen from what the stand-ins have received,
never from a fixed sleep. A cancel during the rollback still tells the owners (GitHub, PagerDuty,
Slack, webhook stand-ins) within a 5 s budget, and a second signal stops that at once; a cancel
before the verdict tells nobody."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers"))
import harness  # noqa: E402
from harness import SERVERS, TAP, Server, check, leaked, run_gate, sent, service  # noqa: E402

PASSWORD = "pw-Cancel-5e02a-secret"
TOKEN = "tok-Cancel-b81f7-access-token"
PROM_TOKEN = "prom-Cancel-44d0c-bearer"
SECRETS = [PASSWORD, TOKEN, PROM_TOKEN]
USER = "smoke_test"
WRAPPED = bool(os.environ.get("ATOM_SAFETY_TEST_WRAPPER"))
PROMPT_S = 2.0 + (8.0 if WRAPPED else 0.0)  # valgrind's leak check at exit takes seconds

t = TAP()
results = []

# run_gate is blocking and keeps its Popen to itself: capture the gate's process through the
# module harness uses, so that a watcher thread can signal it
_gate_procs = []


class _CapturingPopen(subprocess.Popen):
    def __init__(self, argv, *args, **kwargs):
        super().__init__(argv, *args, **kwargs)
        if harness.BIN in [str(a) for a in argv]:
            _gate_procs.append(self)


harness.subprocess = types.SimpleNamespace(**{k: getattr(subprocess, k) for k in dir(subprocess)
                                              if not k.startswith("__")})
harness.subprocess.Popen = _CapturingPopen


def run_cancelled(inputs, trigger, sig=signal.SIGTERM, env=None, timeout=60, then=None):
    """Runs the gate; once trigger() is true, sends sig; then (trigger2, sig2), if given, sends a
    second signal once trigger2() is true. Returns the Result with .signalled (bool),
    .signalled_again (bool) and .exit_after (seconds from the first signal to the gate's exit)."""
    out = {}
    _gate_procs.clear()

    def target():
        out["r"] = run_gate(inputs, env=env, timeout=timeout)
        out["end"] = time.monotonic()

    th = threading.Thread(target=target, daemon=True)
    th.start()
    sent_at = None
    again = False
    stages = [(trigger, sig)] + ([then] if then else [])
    deadline = time.monotonic() + timeout
    while stages and th.is_alive() and time.monotonic() < deadline:
        try:
            fired = _gate_procs and stages[0][0]()
        except Exception:  # a stand-in mid-restart: try again
            fired = False
        if fired:
            os.kill(_gate_procs[-1].pid, stages[0][1])
            if sent_at is None:
                sent_at = time.monotonic()
            else:
                again = True
            stages.pop(0)
            continue
        time.sleep(0.02)
    th.join(timeout + 10)
    r = out["r"]
    r.signalled = sent_at is not None
    r.signalled_again = again
    r.exit_after = (out["end"] - sent_at) if sent_at is not None else None
    results.append(r)
    return r




def base_inputs(s, **kw):
    b = {"url": s.url, "environment": "staging", "username": USER, "password": PASSWORD,
         "rollback": "false", "create-issue": "false", "endpoints": "GET /api/projects"}
    b.update({k.replace("_", "-"): v for k, v in kw.items()})
    return b


def says_cancelled(r, what, check_name):
    """The common promises of every cancelled run; check_name was in progress at the signal."""
    t.ok(r.signalled, "%s: the signal was sent" % what)
    t.ok(r.exit_after is not None and r.exit_after < PROMPT_S,
         "%s: exited %.2fs after the signal (< %.0fs)" % (what, r.exit_after or -1, PROMPT_S))
    t.eq(r.rc, 1, "%s: exit 1 (not passed)" % what)
    t.eq(r.outputs.get("result"), "cancelled", "%s: output result=cancelled" % what)
    t.ok(r.report is not None and r.report.get("cancelled") is True and r.report.get("result") == "cancelled",
         "%s: report says cancelled" % what, diag=(r.report_text or "")[:400])
    t.ok("Cancelled" in r.summary, "%s: summary says cancelled" % what, diag=r.summary[:300])
    rows = [l for l in r.summary.splitlines() if l.startswith("| `%s` |" % check_name)]
    t.ok(rows and "cancelled" in rows[0], "%s: summary says where it stopped ('%s' not completed)" % (what, check_name),
         diag=r.summary[:900])
    t.ok("cancelled" in r.stdout and "signal %d" % r.signal in r.stdout, "%s: the log names the signal" % what,
         diag=r.stdout[-600:])


# --- mid-readiness-wait: /health keeps failing, the gate is waiting between attempts -----------
with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN,
                         "health": {"status": 503, "body": {"status": "starting"}}}) as s:
    for sig in (signal.SIGTERM, signal.SIGINT):
        s.reset()
        r = run_cancelled(base_inputs(s, wait_timeout="60s"), lambda: len(sent(s, "/health")) >= 2, sig=sig)
        r.signal = sig
        name = "readiness wait, %s" % signal.Signals(sig).name
        says_cancelled(r, name, "health")
        t.eq(check(r, "health").get("status"), "skip", "%s: health is not judged (skip)" % name)
        t.ok("cancelled" in (check(r, "health").get("detail") or ""), "%s: health detail says cancelled" % name)
        t.eq(sent(s, "/api/auth/login"), [], "%s: nothing after the signal (no login)" % name)

# --- mid-request: the health reply never comes -----------------------------------------------
with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN,
                         "routes": {"GET /health": {"mode": "hang"}}}) as s:
    r = run_cancelled(base_inputs(s, wait_timeout="60s", request_timeout="30s"),
                      lambda: len(sent(s, "/health")) >= 1)
    r.signal = signal.SIGTERM
    says_cancelled(r, "in-flight health request", "health")

# --- mid-smoke: endpoints that hang, in parallel -----------------------------------------------
routes = {"GET /api/slow%d" % i: {"mode": "hang"} for i in range(4)}
with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN, "routes": routes}) as s:
    r = run_cancelled(base_inputs(s, request_timeout="30s", endpoints="\n".join(sorted(routes))),
                      lambda: sum(len(sent(s, "/api/slow%d" % i)) for i in range(4)) >= 4)
    r.signal = signal.SIGTERM
    says_cancelled(r, "in-flight endpoint requests", "GET /api/slow0")
    skipped = [check(r, "GET /api/slow%d" % i).get("status") for i in range(4)]
    t.eq(skipped, ["skip"] * 4, "in-flight endpoints: abandoned, reported as not completed")
    t.eq(check(r, "login").get("status"), "pass", "in-flight endpoints: what finished before stays reported")

# --- mid-monitoring: a Prometheus stand-in that answers every query with a good error rate ------
PROM_OK = {"status": "success", "data": {"resultType": "vector",
                                         "result": [{"metric": {}, "value": [1700000000, "0.001"]}]}}
with service("healthy", {"routes": {"GET /api/v1/query": {"status": 200, "body": PROM_OK,
                                                          "require_auth": False}}}) as prom, \
        service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN}) as s:
    def queries():
        return sent(prom, "/api/v1/query")

    r = run_cancelled(base_inputs(s, prometheus_url=prom.url, prometheus_token=PROM_TOKEN,
                                  monitor_duration="60s", monitor_interval="1s", max_latency="1s"),
                      lambda: len(queries()) >= 4)
    r.signal = signal.SIGTERM
    n_before = len(queries())
    says_cancelled(r, "monitoring", "error-rate")
    t.ok(n_before <= 6, "monitoring: no query after the signal (%d sent)" % n_before)
    t.ok(check(r, "error-rate").get("status") in ("skip", "pass"),
         "monitoring: error-rate reported as far as it got (%s)" % check(r, "error-rate").get("status"))
    t.ok("cancelled" in (check(r, "error-rate").get("detail") or ""), "monitoring: error-rate detail says cancelled",
         diag=check(r, "error-rate").get("detail"))
    t.ok(all(q["headers"].get("authorization") == "Bearer " + PROM_TOKEN for q in queries()),
         "monitoring: the Prometheus token went to Prometheus")

# --- mid-rollback: the PATCH in flight, then the rollout wait --------------------------------------
import kube  # noqa: E402

KTOKEN = "ktok-Cancel-0d9e3-kube-token"
SECRETS.append(KTOKEN)


def kubeconfig(url):
    # JSON is YAML: the gate reads it with libyaml like any kubeconfig
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": url}}],
        "users": [{"name": "deployer", "user": {"token": KTOKEN}}],
        "contexts": [{"name": "ci", "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": "ci"})


def kube_patches(k):
    return [q for q in k.requests() if q["method"] == "PATCH" and "dryRun" not in q["path"]]


def image(k):
    d = k.find("Deployment", "atom")
    return d["spec"]["template"]["spec"]["containers"][0]["image"]


# --- the owners' channels: the GitHub, PagerDuty, webhook and Slack stand-ins ----------------------
GH_TOKEN = "ghs_cancelTest_Q7v2Lm"
PD_KEY = "R0ut1ngKeyCancelTest0123456789ab"          # 32 characters, as PagerDuty wants
WEBHOOK_SECRET = "whsec-Cancel-3Jx8Wq!"
WEBHOOK_PATH = "/hooks/atom-safety/Cn4Secret7Path"
SLACK_PATH = "/services/T0CAN/B0CAN/slackCancelSecret"
assert len(PD_KEY) == 32
gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3", "--config", json.dumps({"token": GH_TOKEN}))
pd = Server(os.path.join(SERVERS, "pagerduty.py"))
hook = Server(os.path.join(SERVERS, "webhook.py"), "--secret", WEBHOOK_SECRET, "--require-signature")
slack = Server(os.path.join(SERVERS, "slack.py"))
WEBHOOK_URL = hook.url + WEBHOOK_PATH
SLACK_URL = slack.url + SLACK_PATH
SECRETS += [GH_TOKEN, PD_KEY, WEBHOOK_SECRET, WEBHOOK_URL, WEBHOOK_PATH, SLACK_URL, SLACK_PATH]
NOTIFY_ENV = {"GITHUB_API_URL": gh.url + "/api/v3", "GITHUB_SHA": "4444444444444444444444444444444444444444",
              "GITHUB_WORKSPACE": "/nonexistent"}
channel_texts = []  # what reached the channels, searched for secrets at the end


def notify_inputs(b, **kw):
    b = dict(b)
    b.update({"create-issue": "true", "github-token": GH_TOKEN, "pagerduty-routing-key": PD_KEY,
              "pagerduty-events-url": pd.url + "/v2/enqueue", "webhook-url": WEBHOOK_URL,
              "webhook-secret": WEBHOOK_SECRET, "slack-webhook-url": SLACK_URL, "deployment": "atom"})
    b.update({k.replace("_", "-"): v for k, v in kw.items()})
    return b


def reset_channels():
    gh._control("POST", "/_test/reset", {"all": True})
    pd._control("POST", "/_test/reset", {})
    hook._control("POST", "/_test/reset", {})
    slack._control("POST", "/_test/reset", {"all": True})


def gh_issues():
    return [i for i in gh._control("GET", "/_test/issues").get("acme/atom", []) if "pull_request" not in i]


def keep_channel_texts():
    channel_texts.append(json.dumps(gh_issues(), ensure_ascii=False))
    channel_texts.append(json.dumps(slack._control("GET", "/_test/messages"), ensure_ascii=False))
    channel_texts.append(json.dumps([q.get("body") for q in hook.requests()], ensure_ascii=False))


def notif(r):
    return (r.report or {}).get("notifications") or {}


def told_owners(r, case, signame):
    """A cancel during the rollback: every channel heard, plainly, what reached the cluster."""
    keep_channel_texts()
    said = "The job was cancelled (%s) during the rollback" % signame
    issues = gh_issues()
    t.eq(len(issues), 1, "%s: a GitHub issue was opened after the cancel" % case)
    body = issues[0]["body"] if issues else ""
    t.ok(said in body and "deployment/atom (revision " in body and "sent to the cluster and applied" in body
         and "not verified" in body, "%s: the issue says the job was cancelled and what was sent" % case,
         diag=body[:1200])
    t.eq(notif(r).get("issue"), "created", "%s: report: issue created" % case)
    ev = [json.loads(q["body"]) for q in pd.requests()]
    t.eq([e.get("event_action") for e in ev], ["trigger"], "%s: PagerDuty: one trigger" % case)
    p = (ev[0] if ev else {}).get("payload", {})
    t.ok("job cancelled during the rollback" in p.get("summary", ""), "%s: PagerDuty summary says so" % case,
         diag=p.get("summary"))
    cd = p.get("custom_details", {})
    t.ok(cd.get("cancelled") is True and said in (cd.get("cancelled_during_rollback") or "")
         and cd.get("result") == "rollback-failed", "%s: PagerDuty details: cancelled, what was sent" % case,
         diag=json.dumps(cd)[:600])
    t.eq(notif(r).get("pagerduty"), "triggered", "%s: report: pagerduty triggered" % case)
    hooks = hook.requests()
    t.eq([(h.get("event"), h.get("signature_valid")) for h in hooks], [("rollback-failed", True)],
         "%s: webhook: one signed delivery, X-Atom-Safety-Event: rollback-failed" % case)
    doc = json.loads(hooks[0]["body"]) if hooks and hooks[0].get("json_ok") else {}
    t.ok(doc.get("cancelled") is True and doc.get("result") == "rollback-failed",
         "%s: webhook body: the report, cancelled, rollback-failed" % case)
    msgs = slack._control("GET", "/_test/messages")
    t.ok(len(msgs) == 1 and said in json.dumps(msgs), "%s: Slack: one message saying so" % case,
         diag=json.dumps(msgs)[:800])
    t.eq(notif(r).get("slack"), "sent", "%s: report: slack sent" % case)
    t.ok("telling the owners within 5 s" in r.stdout, "%s: the log announces the bounded notify phase" % case,
         diag=r.stdout[-1200:])


BAD = {"users": {USER: PASSWORD}, "token": TOKEN,
       "routes": {"GET /api/projects": {"status": 500, "body": {"error": "boom"}}}}
PATCH_DELAY_S = 1.5
for case in ("patch in flight", "rollout wait"):
    cfg = {"token": KTOKEN, "controller": {"mode": "stuck", "step_ms": 40}}
    if case == "patch in flight":
        # the first PATCH is preflight's dryRun=All validation: let it through, hold the real one
        cfg["faults"] = [{"method": "PATCH", "path": "/deployments/atom$"},
                         {"method": "PATCH", "path": "/deployments/atom$", "delay_ms": int(PATCH_DELAY_S * 1000)}]
    with kube.launch(scenario="history", config=cfg) as k, service("healthy", BAD) as s:
        before = image(k)
        if case == "patch in flight":
            trigger = lambda: len(kube_patches(k)) >= 1  # noqa: E731 - recorded before the delay
        else:
            trigger = lambda: kube_patches(k) and any(  # noqa: E731
                "watch" in q["path"] and q["t"] > kube_patches(k)[0]["t"] for q in k.requests())
        reset_channels()
        r = run_cancelled(notify_inputs(base_inputs(s, rollback="true", kubeconfig=kubeconfig(k.url),
                                                    rollback_timeout="60s")),
                          trigger, env=NOTIFY_ENV)
        r.signal = signal.SIGTERM
        n_patches = len(kube_patches(k))
        after = image(k)
        t.ok(r.signalled, "%s: the signal was sent" % case)
        if case == "patch in flight":
            # the signal came while the server held the PATCH: abandoning it would exit at once
            t.ok(r.exit_after is not None and PATCH_DELAY_S - 0.5 < r.exit_after < PATCH_DELAY_S + PROMPT_S,
                 "%s: the gate waited for the PATCH's reply, then exited (%.2fs after the signal)" %
                 (case, r.exit_after or -1))
            t.ok("rollback sent: revision" in r.stdout, "%s: the PATCH's reply was read" % case, diag=r.stdout[-800:])
        else:
            t.ok(r.exit_after is not None and r.exit_after < PROMPT_S,
                 "%s: exited %.2fs after the signal" % (case, r.exit_after or -1))
        t.eq(n_patches, 1, "%s: exactly one PATCH, never resent" % case)
        t.ok(after != before, "%s: the PATCH was applied whole (%s -> %s)" % (case, before, after))
        t.eq(r.rc, 1, "%s: exit 1" % case)
        t.eq(r.outputs.get("result"), "rollback-failed",
             "%s: output result=rollback-failed (the verdict stands, the rollback is not verified)" % case)
        t.eq(r.outputs.get("rolled-back"), "false", "%s: rolled-back=false (not verified)" % case)
        t.ok(r.report and r.report.get("cancelled") is True, "%s: report says cancelled" % case)
        rb = ((r.report or {}).get("rollback") or {}).get("deployments") or [{}]
        t.ok("rollback sent" in (rb[0].get("detail") or "") and "cancelled" in (rb[0].get("detail") or ""),
             "%s: report says the rollback was sent and not confirmed" % case, diag=rb)
        t.ok("Cancelled during the rollback" in r.summary and "rollback sent" in r.summary,
             "%s: summary says what was sent" % case, diag=r.summary[:900])
        t.ok("cancelled (signal 15) during the rollback" in r.stdout, "%s: the log says it" % case,
             diag=r.stdout[-800:])
        told_owners(r, case, "SIGTERM")

# --- cancel before the verdict: nothing judged, nothing changed, nobody told ------------------------
with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN,
                         "routes": {"GET /api/projects": {"status": 500, "body": {"error": "boom"}}},
                         "health": {"status": 503, "body": {"status": "starting"}}}) as s:
    reset_channels()
    r = run_cancelled(notify_inputs(base_inputs(s, wait_timeout="60s")), lambda: len(sent(s, "/health")) >= 2,
                      sig=signal.SIGINT, env=NOTIFY_ENV)
    t.eq(r.outputs.get("result"), "cancelled", "before the verdict: result=cancelled")
    t.eq(r.rc, 1, "before the verdict: exit 1")
    t.eq([gh.requests(), pd.requests(), hook.requests(), slack.requests()], [[], [], [], []],
         "before the verdict: no request to GitHub, PagerDuty, the webhook or Slack")
    t.ok(all(v is None for k, v in notif(r).items() if k in ("issue", "pagerduty", "webhook", "slack")),
         "before the verdict: the report lists no notification", diag=json.dumps(notif(r)))
    t.ok("telling the owners" not in r.stdout, "before the verdict: no notify phase in the log")


def rollout_watch(k):
    return kube_patches(k) and any("watch" in q["path"] and q["t"] > kube_patches(k)[0]["t"] for q in k.requests())


# --- during the rollback, SIGINT as the runner sends first; a GitHub that never answers -----------
# The notify phase's budget: GitHub's issue lookup gets one attempt of at most 2 s, the gate goes on
# (opening the issue, which this stand-in refuses) and the other channels still go out. Then GitHub
# and PagerDuty hang: 2 s + 2 s + the last second, the 5 s run out and Slack and the webhook are not
# sent at all (the runner's SIGTERM would come 7.5 s after its SIGINT).
ISSUES = "/repos/acme/atom/issues"
for case in ("GitHub's lookup hangs", "GitHub and PagerDuty hang"):
    hang = {"GET " + ISSUES: {"mode": "hang", "require_auth": False},
            "POST " + ISSUES: {"status": 403, "body": {"message": "Resource not accessible by integration"},
                               "require_auth": False}}
    if "PagerDuty" in case:
        hang["POST " + ISSUES] = {"mode": "hang", "require_auth": False}
        hang["POST /v2/enqueue"] = {"mode": "hang", "require_auth": False}
    with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "stuck", "step_ms": 40}}) \
            as k, service("healthy", BAD) as s, service("healthy", {"routes": hang}) as stuck:
        reset_channels()
        extra = {"pagerduty_events_url": stuck.url + "/v2/enqueue"} if "PagerDuty" in case else {}
        r = run_cancelled(notify_inputs(base_inputs(s, rollback="true", kubeconfig=kubeconfig(k.url),
                                                    rollback_timeout="60s"), **extra),
                          lambda: rollout_watch(k), sig=signal.SIGINT,
                          env=dict(NOTIFY_ENV, GITHUB_API_URL=stuck.url))
        keep_channel_texts()
        t.eq(r.outputs.get("result"), "rollback-failed", "%s: result=rollback-failed" % case)
        t.eq(r.rc, 1, "%s: exit 1" % case)
        t.eq([q["method"] for q in sent(stuck, ISSUES)], ["GET", "POST"],
             "%s: GitHub got one lookup and one attempt to open, never retried" % case)
        t.ok("listing open issues: no complete reply within 2s" in r.stdout,
             "%s: the lookup was given up after 2 s" % case, diag=r.stdout[-1500:])
        t.ok((notif(r).get("issue") or "").startswith("failed:"), "%s: the issue is reported failed" % case,
             diag=notif(r).get("issue"))
        if "PagerDuty" not in case:
            t.eq([len(pd.requests()), len(hook.requests()), len(slack.requests())], [1, 1, 1],
                 "%s: PagerDuty, the webhook and Slack were still told" % case)
            t.eq([notif(r).get("pagerduty"), notif(r).get("slack")], ["triggered", "sent"],
                 "%s: report: pagerduty triggered, slack sent" % case)
            t.ok("The job was cancelled (SIGINT) during the rollback" in json.dumps(slack._control("GET", "/_test/messages")),
                 "%s: Slack names the runner's SIGINT" % case)
        else:
            t.eq(len(sent(stuck, "/v2/enqueue")), 1, "%s: PagerDuty got one attempt" % case)
            t.ok((notif(r).get("pagerduty") or "").startswith("failed:"), "%s: PagerDuty reported failed" % case,
                 diag=notif(r).get("pagerduty"))
            t.eq([hook.requests(), slack.requests()], [[], []], "%s: past the budget nothing more is sent" % case)
            t.ok("time allowed (5 s after the cancel) ran out" in (notif(r).get("slack") or "")
                 and "time allowed (5 s after the cancel) ran out" in (notif(r).get("webhook") or ""),
                 "%s: Slack and the webhook say the time ran out" % case, diag=json.dumps(notif(r)))

# --- a second signal during the notify phase stops it at once --------------------------------------
with kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "stuck", "step_ms": 40}}) as k, \
        service("healthy", BAD) as s, \
        service("healthy", {"routes": {"GET " + ISSUES: {"mode": "hang", "require_auth": False}}}) as stuck:
    reset_channels()
    r = run_cancelled(notify_inputs(base_inputs(s, rollback="true", kubeconfig=kubeconfig(k.url),
                                                rollback_timeout="60s")),
                      lambda: rollout_watch(k), sig=signal.SIGINT, env=dict(NOTIFY_ENV, GITHUB_API_URL=stuck.url),
                      then=(lambda: len(sent(stuck, ISSUES)) >= 1, signal.SIGTERM))
    keep_channel_texts()
    t.ok(r.signalled and r.signalled_again, "second signal: SIGINT, then SIGTERM while GitHub held the lookup")
    t.eq(r.outputs.get("result"), "rollback-failed", "second signal: result=rollback-failed")
    t.eq(r.rc, 1, "second signal: exit 1")
    t.eq(len(stuck.requests()), 1, "second signal: the lookup was abandoned, no issue attempted")
    t.eq([pd.requests(), hook.requests(), slack.requests()], [[], [], []],
         "second signal: nothing sent after it (PagerDuty, webhook, Slack)")
    t.ok(all("cancelled" in (notif(r).get(c) or "") for c in ("issue", "pagerduty", "slack", "webhook")),
         "second signal: each channel reported as cut short by the cancel", diag=json.dumps(notif(r)))
    t.ok("a second signal (15) stopped the notifications" in r.stdout, "second signal: the log says it",
         diag=r.stdout[-1200:])
    t.ok("not sent: cancelled by signal 15" in (notif(r).get("slack") or ""),
         "second signal: the channels name the second signal", diag=notif(r).get("slack"))
    t.ok(r.report is not None and r.report.get("cancelled") is True, "second signal: the report was still written")

# --- secrets --------------------------------------------------------------------------------------
found = []
for r in results:
    found += leaked(SECRETS, r)
found += leaked([x for x in SECRETS if x != PD_KEY], results[-1], extra_texts=channel_texts)
t.eq(sorted(set(found)), [], "no secret in any output, summary, report or log (%d runs)" % len(results))
t.done()
