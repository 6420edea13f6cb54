#!/usr/bin/env python3
"""TAP self-test of the PagerDuty Events API v2 and webhook receiver stand-ins.

    python3 tests/lib/selftest-channels.py

Starts tests/servers/pagerduty.py and tests/servers/webhook.py as children, talks to them with
urllib, and stops them with SIGTERM (they must exit 0). A stand-in that accepted anything would
make the integration tests prove nothing: here each refuses what the real service refuses."""

import hashlib
import hmac
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SERVERS, TAP, Server  # noqa: E402

KEY = "0123456789abcdef0123456789abcdef"
SECRET = "selftest-secret"
t = TAP()


def post(url, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


pd = Server(os.path.join(SERVERS, "pagerduty.py"))
url = pd.url + "/v2/enqueue"
trigger = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "k1",
           "payload": {"summary": "s", "source": "h", "severity": "critical"}}
st, body, _ = post(url, trigger)
t.ok(st == 202 and json.loads(body) == {"status": "success", "message": "Event processed", "dedup_key": "k1"},
     "a valid trigger: 202 with the dedup_key", body)
t.eq(pd._control("GET", "/_test/alerts")["k1"]["status"], "triggered", "the alert is open")
st, body, _ = post(url, dict(trigger, routing_key="short"))
t.ok(st == 400 and "Length of 'routing_key' is incorrect (should be 32 characters)" in json.loads(body)["errors"],
     "a short routing key: 400 naming it", body)
st, body, _ = post(url, dict(trigger, payload={"summary": "", "source": "h", "severity": "fatal"}))
errs = json.loads(body).get("errors", [])
t.ok(st == 400 and any("payload.summary" in e for e in errs) and any("payload.severity" in e for e in errs),
     "blank summary and a bad severity: both named", body)
st, body, _ = post(url, {"routing_key": KEY, "event_action": "resolve"})
t.ok(st == 400 and any("dedup_key" in e for e in json.loads(body)["errors"]), "resolve without dedup_key: 400")
st, _, _ = post(url, {"routing_key": KEY, "event_action": "resolve", "dedup_key": "k1"})
t.ok(st == 202 and pd._control("GET", "/_test/alerts")["k1"]["status"] == "resolved", "resolve closes the alert")
st, _, _ = post(url, b"{}", {"Content-Type": "text/plain"})
t.eq(st, 400, "not application/json: 400")
pd._control("POST", "/_test/config", {"fail": {"status": 429, "retry_after": 2, "times": 1}})
st, _, hdrs = post(url, trigger)
t.ok(st == 429 and hdrs.get("Retry-After") == "2", "an injected 429 carries Retry-After")
st, _, _ = post(url, trigger)
t.eq(st, 202, "the failure is consumed (times 1)")
t.eq(len(pd.requests()), 8, "every request recorded")
t.eq(pd.stop(), 0, "pagerduty.py exits 0 on SIGTERM")

hook = Server(os.path.join(SERVERS, "webhook.py"), "--secret", SECRET, "--require-signature")
body = b'{"result":"failed"}'
good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
st, _, _ = post(hook.url + "/in", body, {"Content-Type": "application/json", "X-Atom-Safety-Signature-256": good,
                                         "X-Atom-Safety-Event": "failed"})
t.eq(st, 200, "the right signature: 200")
st, _, _ = post(hook.url + "/in", body + b" ", {"Content-Type": "application/json", "X-Atom-Safety-Signature-256": good})
t.eq(st, 401, "one byte more in the body: 401")
st, _, _ = post(hook.url + "/in", body, {"Content-Type": "application/json"})
t.eq(st, 401, "no signature: 401")
got = hook.requests()
t.eq([(r["event"], r["signature_valid"]) for r in got], [("failed", True), (None, False), (None, None)],
     "recorded: the event and whether the signature verified")
t.eq(hook.stop(), 0, "webhook.py exits 0 on SIGTERM")
t.done()
