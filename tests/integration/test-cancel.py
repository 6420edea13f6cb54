#!/usr/bin/env python3
"""Issue 8: a cancelled job. The runner stops a cancelled step with SIGTERM (then SIGKILL). The
gate must abandon in-flight requests, never leave a rollback half-sent, say in its outputs,
summary and report what happened, and exit within a second or two. Signalled mid-readiness-wait,
mid-request, mid-monitoring and mid-rollback-wait; the moment is chosen from what the stand-ins
have received, never from a fixed sleep."""
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
from harness import TAP, check, leaked, run_gate, sent, service  # noqa: E402

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


def run_cancelled(inputs, trigger, sig=signal.SIGTERM, env=None, timeout=60):
    """Runs the gate; once trigger() is true, sends sig. Returns the Result with .signalled
    (bool) and .exit_after (seconds from the signal to the gate's exit)."""
    out = {}
    _gate_procs.clear()

    def target():
        out["r"] = run_gate(inputs, env=env, timeout=timeout)
        out["end"] = time.monotonic()

    th = threading.Thread(target=target, daemon=True)
    th.start()
    sent_at = None
    deadline = time.monotonic() + timeout
    while th.is_alive() and time.monotonic() < deadline:
        try:
            fired = _gate_procs and trigger()
        except Exception:  # a stand-in mid-restart: try again
            fired = False
        if fired:
            sent_at = time.monotonic()
            os.kill(_gate_procs[-1].pid, sig)
            break
        time.sleep(0.02)
    th.join(timeout + 10)
    r = out["r"]
    r.signalled = sent_at is not None
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
        r = run_cancelled(base_inputs(s, rollback="true", kubeconfig=kubeconfig(k.url), rollback_timeout="60s"),
                          trigger)
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

# --- secrets --------------------------------------------------------------------------------------
found = []
for r in results:
    found += leaked(SECRETS, r)
t.eq(sorted(set(found)), [], "no secret in any output, summary, report or log (%d runs)" % len(results))
t.done()
