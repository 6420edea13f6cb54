#!/usr/bin/env python3
"""Around the verdict (issue 16): incidents that close themselves when a later run passes, the
PagerDuty Events API v2 (trigger on failure, resolve on recovery, one dedup_key), a signed webhook
carrying the report, and channels that never stop one another.

Stand-ins: tests/servers/github.py (issues; pagination forced with max_per_page 2), pagerduty.py
(validates events as PagerDuty documents them and keeps alert state), webhook.py (verifies the
signature with Python's hmac, an implementation independent of our libcrypto), slack.py."""

import hashlib
import hmac
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import SERVERS, TAP, Server, leaked, run_gate, service  # noqa: E402

TOKEN = "ghs_incidentTest_Zr81Kq"
PD_KEY = "R0ut1ngKeyIncidentTest0123456789"          # 32 characters, as PagerDuty wants
WEBHOOK_SECRET = "whsec-Incident-7Yq2Pz!"
WEBHOOK_PATH = "/hooks/atom-safety/Hk3Secret9Path"
SLACK_PATH = "/services/T0INC/B0INC/slackIncidentSecret"
SHA1 = "1111111111111111111111111111111111111111"
SHA2 = "2222222222222222222222222222222222222222"
SHA_OK = "3333333333333333333333333333333333333333"
SCOPE_RE = re.compile(r"<!-- atom-safety:incident=2 scope=([0-9a-f]{32}) -->")
FP_RE = re.compile(r"<!-- atom-safety:fingerprint=([0-9a-f]{32}) -->")
assert len(PD_KEY) == 32

t = TAP()
gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3",
            "--config", json.dumps({"token": TOKEN, "max_per_page": 2}))
pd = Server(os.path.join(SERVERS, "pagerduty.py"))
hook = Server(os.path.join(SERVERS, "webhook.py"), "--secret", WEBHOOK_SECRET, "--require-signature")
slack = Server(os.path.join(SERVERS, "slack.py"))
bad = service("bad-release")
healthy = service("healthy")
API = gh.url + "/api/v3"
PD_URL = pd.url + "/v2/enqueue"
WEBHOOK_URL = hook.url + WEBHOOK_PATH
SLACK_URL = slack.url + SLACK_PATH
SECRETS = [TOKEN, PD_KEY, WEBHOOK_SECRET, WEBHOOK_URL, WEBHOOK_PATH, SLACK_URL, SLACK_PATH]


def run(svc, sha, **inputs):
    base = {"url": svc.url, "environment": "production", "rollback": False, "github-token": TOKEN,
            "pagerduty-routing-key": PD_KEY, "pagerduty-events-url": PD_URL, "webhook-url": WEBHOOK_URL,
            "webhook-secret": WEBHOOK_SECRET, "slack-webhook-url": SLACK_URL, "deployment": "atom"}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    base = {k: v for k, v in base.items() if v is not None}
    env = {"GITHUB_API_URL": API, "GITHUB_SHA": sha, "GITHUB_WORKSPACE": "/nonexistent"}
    r = run_gate(base, env=env, timeout=90)
    runs.append(r)
    return r


def reset_all():
    gh._control("POST", "/_test/reset", {"all": True})
    pd._control("POST", "/_test/reset", {})
    pd._control("POST", "/_test/config", {})
    hook._control("POST", "/_test/reset", {})
    hook._control("POST", "/_test/config", {})
    slack._control("POST", "/_test/reset", {"all": True})


def issues(state=None):
    return [i for i in gh._control("GET", "/_test/issues").get("acme/atom", [])
            if "pull_request" not in i and (state is None or i["state"] == state)]


def pd_events():
    return [json.loads(q["body"]) for q in pd.requests()]


def notif(r):
    return (r.report or {}).get("notifications", {})


runs = []
reset_all()

# --- 1. a failing release: issue, PagerDuty trigger, signed webhook, Slack ---------------------
r1 = run(bad, SHA1)
t.eq(r1.rc, 1, "failing release: exit 1")
t.eq(r1.outputs.get("result"), "failed", "failing release: result failed")
open1 = issues("open")
t.eq(len(open1), 1, "one issue opened")
body1 = open1[0]["body"] if open1 else ""
m_scope, m_fp = SCOPE_RE.search(body1), FP_RE.search(body1)
t.ok(m_fp is not None and body1.startswith(m_fp.group(0)), "the version-1 fingerprint line is kept, first")
t.ok(m_scope is not None, "the issue carries the versioned scope marker", body1[:300])
scope = m_scope.group(1) if m_scope else ""

ev = pd_events()
t.eq([e.get("event_action") for e in ev], ["trigger"], "PagerDuty: one trigger")
trig = ev[0] if ev else {}
p = trig.get("payload", {})
t.eq(trig.get("dedup_key"), "atom-safety-" + scope, "dedup_key is the incident scope (stable per repo, env, workloads)")
t.eq(p.get("severity"), "critical", "severity critical on production limits")
t.ok("failed" in p.get("summary", "") and "atom" in p.get("summary", ""), "summary names the verdict and workload",
     p.get("summary"))
t.eq(p.get("source"), bad.url.split("://")[1], "source: the service host")
t.eq(p.get("component"), "deployment/atom", "component: the workloads")
t.eq(p.get("group"), "production", "group: the environment")
cd = p.get("custom_details", {})
t.ok([c.get("name") for c in cd.get("failed_checks", [])] == ["database"] and cd.get("result") == "failed"
     and "rollback" in cd, "custom_details: failed checks and rollback outcome", json.dumps(cd)[:500])
links = {l.get("text"): l.get("href") for l in trig.get("links", [])}
t.ok(links.get("Workflow run", "").endswith("/acme/atom/actions/runs/4242/attempts/1")
     and links.get("GitHub issue #%d" % open1[0]["number"]) == open1[0]["html_url"],
     "links: the run and the issue", json.dumps(trig.get("links")))
t.eq(pd._control("GET", "/_test/alerts").get(trig.get("dedup_key"), {}).get("status"), "triggered",
     "PagerDuty holds a triggered alert")
t.eq(notif(r1).get("pagerduty"), "triggered", "report: pagerduty triggered")

hooks = hook.requests()
t.eq(len(hooks), 1, "webhook: one delivery")
h = hooks[0] if hooks else {"headers": {}, "body": ""}
t.eq(h.get("event"), "failed", "X-Atom-Safety-Event: failed")
t.eq(h.get("signature_valid"), True, "signature verified by Python's hmac (compare_digest)")
want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), h["body"].encode(), hashlib.sha256).hexdigest()
t.eq(h["headers"].get("x-atom-safety-signature-256"), want, "signature is HMAC-SHA256 of the exact body")
t.eq(h["headers"].get("content-type"), "application/json", "Content-Type: application/json")
t.ok(re.fullmatch(r"[0-9a-f]{32}", h["headers"].get("x-atom-safety-delivery", "")) is not None, "a delivery id")
doc = json.loads(h["body"]) if h.get("json_ok") else {}
rep = dict(r1.report or {})
t.ok(doc.get("schema") == rep.get("schema") and doc.get("result") == "failed"
     and doc.get("checks") == rep.get("checks") and doc.get("commit") == rep.get("commit")
     and doc.get("notifications", {}).get("pagerduty") == "triggered",
     "the body is the report document (the file adds only the webhook's own outcome)")
t.ok((notif(r1).get("webhook") or "").startswith("sent (event failed, signed"), "report: webhook sent",
     notif(r1).get("webhook"))
t.ok("| PagerDuty | triggered |" in r1.summary and "| Webhook | sent (event failed" in r1.summary,
     "summary: a row per channel")
t.eq(len(slack._control("GET", "/_test/messages")), 1, "Slack: one message")

# --- 2. a second failing commit, and issues that are not ours to close ---------------------------
r2 = run(bad, SHA2)
t.eq(len(issues("open")), 2, "another commit fails: a second issue (same scope, other fingerprint)")
t.eq([e["event_action"] for e in pd_events()], ["trigger", "trigger"], "PagerDuty: triggered again, same key")
t.eq(len({e["dedup_key"] for e in pd_events()}), 1, "one dedup_key for both")
OLD = int(time.time()) - 3 * 3600 - 120
seeds = [
    # ours, opened three hours ago
    {"title": "Deployment failed: production atom @ 0000000", "labels": ["deployment-failure"],
     "body": "<!-- atom-safety:fingerprint=%s -->\n<!-- atom-safety:incident=2 scope=%s -->\nold" % ("a" * 32, scope),
     "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(OLD))},
    # ours, but a person closed it as not planned
    {"title": "closed by a person", "labels": ["deployment-failure"], "state": "closed",
     "body": "<!-- atom-safety:incident=2 scope=%s -->" % scope, "user": "octocat"},
    # another environment's incident
    {"title": "staging", "labels": ["deployment-failure"],
     "body": "<!-- atom-safety:incident=2 scope=%s -->" % ("b" * 32)},
    # an issue opened before the scope marker existed: re-runs find it, recovery leaves it
    {"title": "Deployment failed: production atom @ 4444444", "labels": ["deployment-failure"],
     "body": "<!-- atom-safety:fingerprint=%s -->\nversion 1" % ("c" * 32)},
    # a pull request quoting the marker
    {"title": "PR", "labels": ["deployment-failure"], "pull_request": True,
     "body": "<!-- atom-safety:incident=2 scope=%s -->" % scope},
]
for s in seeds:
    gh._control("POST", "/_test/issues", dict(s, repo="acme/atom"))
gh._control("POST", "/_test/config", {"include_pr": True, "pr_decoys": False})
before = {i["number"]: i for i in issues()}
ours = sorted(n for n, i in before.items() if i["state"] == "open" and ("scope=" + scope) in (i["body"] or ""))
t.eq(len(ours), 3, "three open incident issues of this scope (one opened 3 h ago)")
hook._control("POST", "/_test/reset", {})
pd._control("POST", "/_test/reset", {})
pd._control("POST", "/_test/config", {})
# keep PagerDuty's alert: trigger it again so that the resolve has something to close
run(bad, SHA2, webhook_url="", webhook_secret="", slack_webhook_url="", create_issue="false")
slack._control("POST", "/_test/reset", {"all": True})
gh._control("POST", "/_test/reset", {})

# --- 3. the release recovers -----------------------------------------------------------------
r3 = run(healthy, SHA_OK)
t.eq(r3.rc, 0, "healthy release: exit 0")
t.eq(r3.outputs.get("result"), "passed", "result passed")
after = {i["number"]: i for i in issues()}
closed = sorted(n for n in ours if after[n]["state"] == "closed")
t.eq(closed, ours, "every open incident of this scope closed")
t.ok(all(after[n]["state_reason"] == "completed" for n in ours), "closed as completed")
t.eq(sorted(int(x) for x in r3.outputs.get("closed-issues", "").split(",") if x), ours,
     "output closed-issues lists them")
t.eq(sorted(notif(r3).get("closed_issues", [])), ours, "report: closed_issues")
t.eq(notif(r3).get("recovered"), True, "report: recovered")
untouched = [n for n in before if n not in ours]
t.ok(all(after[n]["state"] == before[n]["state"] and after[n]["comments"] == before[n]["comments"]
         for n in untouched),
     "the issue closed by a person, another environment's, a version-1 issue and the PR: untouched")
t.eq(len([q for q in gh.requests() if q["method"] == "GET" and q["path"].split("?")[0].endswith("/issues")]),
     3, "the open issues were read page by page (6 open, max_per_page 2: 3 pages)")
comments = gh._control("GET", "/_test/issues").get("acme/atom", [])
cmap = {i["number"]: i.get("_comments", []) for i in comments}
old_number = [n for n in ours if before[n]["title"].endswith("@ 0000000")]
c_old = [c["body"] for c in cmap.get(old_number[0] if old_number else -1, [])]
t.ok(len(c_old) == 1 and "Recovered: production / deployment/atom" in c_old[0] and "`3333333`" in c_old[0]
     and "/actions/runs/4242/attempts/1" in c_old[0] and "| Open for | 3 h 2 min |" in c_old[0]
     and "| Commit author | octocat |" in c_old[0],
     "the comment: commit, author, run link, how long it was open", c_old)
patches = [json.loads(q["body"]) for q in gh.requests() if q["method"] == "PATCH"]
t.ok(patches and all(p == {"state": "closed", "state_reason": "completed"} for p in patches),
     "PATCH {state: closed, state_reason: completed}", patches)
ev3 = pd_events()
t.ok(ev3 and ev3[-1]["event_action"] == "resolve" and ev3[-1]["dedup_key"] == "atom-safety-" + scope,
     "PagerDuty: resolve with the same dedup_key", ev3[-1:])
t.eq(pd._control("GET", "/_test/alerts").get("atom-safety-" + scope, {}).get("status"), "resolved",
     "the PagerDuty alert is resolved")
t.eq(notif(r3).get("pagerduty"), "resolved", "report: pagerduty resolved")
h3 = hook.requests()
t.ok(len(h3) == 1 and h3[0]["event"] == "recovered" and h3[0]["signature_valid"] is True,
     "webhook: event recovered, signed", [(x["event"], x["signature_valid"]) for x in h3])
msgs = slack._control("GET", "/_test/messages")
t.ok(len(msgs) == 1 and msgs[0]["blocks"][0]["text"]["text"].startswith("Recovered: production / deployment/atom"),
     "Slack: a recovered message (slack-notify: failure)", json.dumps(msgs)[:400])
t.ok("| Incidents | closed \\#" in r3.summary, "summary: the incidents closed")

# --- 4. passing again: nothing to close, webhook quiet (webhook-on: failure) -----------------------
hook._control("POST", "/_test/reset", {})
gh._control("POST", "/_test/reset", {})
r4 = run(healthy, SHA_OK)
t.eq(r4.outputs.get("closed-issues"), "", "nothing left: closed-issues empty")
t.eq([q["method"] for q in gh.requests()], ["GET"] * len(gh.requests()), "nothing written to GitHub")
t.eq(hook.requests(), [], "webhook-on failure: a plain pass is not sent")
t.eq(notif(r4).get("close"), "no open incident", "report: no open incident")
r4b = run(healthy, SHA_OK, webhook_on="always")
t.ok([x["event"] for x in hook.requests()] == ["passed"], "webhook-on always: event passed",
     [x["event"] for x in hook.requests()])

# --- 5. GitHub refuses: 403 names issues: write, the verdict stands -------------------------------
reset_all()
gh._control("POST", "/_test/issues", {"repo": "acme/atom", "title": "x", "labels": ["deployment-failure"],
                                      "body": "<!-- atom-safety:incident=2 scope=%s -->" % scope})
gh._control("POST", "/_test/config", {"fail": {"list": {"status": 403}}})
r5 = run(healthy, SHA_OK)
t.eq((r5.rc, r5.outputs.get("result")), (0, "passed"), "403 on the lookup: still passed")
t.ok(re.search(r"::warning::.*issues: write", r5.stdout) is not None, "a warning naming issues: write", r5.stdout)
t.ok((notif(r5).get("close") or "").startswith("failed:"), "report: close failed")
t.eq(notif(r5).get("pagerduty"), "resolved", "PagerDuty still resolved (channels are independent)")
gh._control("POST", "/_test/config", {"fail": {"list": None, "update": {"status": 403}}})
r5b = run(healthy, SHA_OK)
t.ok(re.search(r"::warning::issue #\d+ commented on but not closed: .*issues: write", r5b.stdout) is not None,
     "403 on the close: warned", r5b.stdout)
t.eq(r5b.outputs.get("closed-issues"), "", "not counted as closed")

# --- 5b. GitHub's rate limit on the lookup is waited out, as when opening ---------------------------
reset_all()
gh._control("POST", "/_test/issues", {"repo": "acme/atom", "title": "x", "labels": ["deployment-failure"],
                                      "body": "<!-- atom-safety:incident=2 scope=%s -->" % scope})
gh._control("POST", "/_test/config", {"fail": {"list": {"status": 403, "rate_limit": True, "reset_in": 1,
                                                        "times": 1}}})
r5c = run(healthy, SHA_OK)
lists = [q for q in gh.requests() if q["method"] == "GET" and q["path"].split("?")[0].endswith("/issues")]
t.ok(len(lists) == 2 and lists[0]["status"] == 403 and lists[1]["t"] - lists[0]["t"] >= 0.9
     and r5c.outputs.get("closed-issues") != "", "rate limit on the lookup: waited until the reset, then closed",
     [(q["status"], round(q["t"], 2)) for q in lists])

# --- 6. PagerDuty: 429 and 500 retried, 400 reports PagerDuty's errors --------------------------
reset_all()
pd._control("POST", "/_test/config", {"fail": [{"status": 429, "retry_after": 1, "times": 1},
                                               {"status": 500, "times": 1, "body": {"status": "error"}}]})
r6 = run(bad, SHA1)
tt = [q["t"] for q in pd.requests()]
t.ok([q["status"] for q in pd.requests()] == [429, 500, 202] and tt[1] - tt[0] >= 0.9,
     "429 (Retry-After 1) then 500 then accepted", [q["status"] for q in pd.requests()])
t.eq(notif(r6).get("pagerduty"), "triggered", "then triggered")
reset_all()
pd._control("POST", "/_test/config", {"fail": {"status": 500, "times": -1}})
r6b = run(bad, SHA1, retries="2")
t.eq(len(pd.requests()), 3, "5xx: bounded retries (retries: 2 -> 3 attempts)")
t.ok((notif(r6b).get("pagerduty") or "").startswith("failed: PagerDuty answered HTTP 500 after 3 attempts"),
     "then reported", notif(r6b).get("pagerduty"))
reset_all()
r6c = run(bad, SHA1, pagerduty_routing_key="short-key")
t.ok("Length of 'routing_key' is incorrect" in (notif(r6c).get("pagerduty") or "")
     and "(HTTP 400)" in notif(r6c).get("pagerduty"), "400: PagerDuty's errors quoted", notif(r6c).get("pagerduty"))
t.eq(len(pd.requests()), 1, "400 is not retried")
t.ok(r6c.rc == 1 and r6c.outputs.get("result") == "failed" and len(hook.requests()) == 1 and len(issues()) == 1
     and len(slack._control("GET", "/_test/messages")) == 1,
     "PagerDuty refusing stops neither the verdict nor the issue, Slack or webhook")

# --- 7. webhook failures and an unsigned one ---------------------------------------------------------
reset_all()
hook._control("POST", "/_test/config", {"fail": {"status": 500, "body": "receiver broke", "times": 1}})
r7 = run(bad, SHA1)
t.ok((notif(r7).get("webhook") or "").startswith("failed: webhook answered HTTP 500: receiver broke"),
     "webhook 500 reported (a POST is not repeated)", notif(r7).get("webhook"))
t.eq(len(hook.requests()), 1, "sent once")
t.eq(notif(r7).get("pagerduty"), "triggered", "PagerDuty unaffected")
reset_all()
r7b = run(bad, SHA1, webhook_secret="")
t.ok((notif(r7b).get("webhook") or "").startswith("failed: webhook refused the delivery (HTTP 401")
     and hook.requests() and "x-atom-safety-signature-256" not in hook.requests()[0]["headers"],
     "no secret: no signature header, and this receiver refuses it", notif(r7b).get("webhook"))
reset_all()
r7c = run(bad, SHA1, pagerduty_routing_key="", webhook_url="", webhook_secret="", slack_webhook_url="")
t.ok(pd.requests() == [] and hook.requests() == [] and notif(r7c).get("pagerduty") is None
     and notif(r7c).get("webhook") is None, "unconfigured channels send nothing and report null")

# --- 8. close-on-recovery off; staging severity ---------------------------------------------------
reset_all()
gh._control("POST", "/_test/issues", {"repo": "acme/atom", "title": "x", "labels": ["deployment-failure"],
                                      "body": "<!-- atom-safety:incident=2 scope=%s -->" % scope})
r8 = run(healthy, SHA_OK, close_on_recovery="false")
t.ok(gh.requests() == [] and len(issues("open")) == 1 and r8.outputs.get("closed-issues") == "",
     "close-on-recovery: false: GitHub not asked, the issue stays open")
r8b = run(bad, SHA1, environment="staging")
t.eq(pd_events()[-1]["payload"]["severity"], "error", "severity error on staging limits")
t.ok(pd_events()[-1]["dedup_key"] != "atom-safety-" + scope, "another environment: another dedup_key")

# --- secrets -------------------------------------------------------------------------------------
extra = [json.dumps(issues(), ensure_ascii=False), json.dumps(slack._control("GET", "/_test/messages"))]
extra += [q["body"] for q in hook.requests() + gh.requests()]
# PagerDuty's body must carry the routing key, nothing else secret
pd_bodies = [q["body"] for q in pd.requests()]
found = set()
for r in runs:
    found.update(leaked(SECRETS, r, extra))
found.update(s for s in SECRETS if s != PD_KEY and any(s in b for b in pd_bodies))
t.eq(sorted(found), [], "no token, routing key, webhook URL or secret in logs, files, issues, Slack, webhook, "
                        "PagerDuty (but its routing_key)")
t.done()
