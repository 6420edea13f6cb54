#!/usr/bin/env python3
"""Issue 8: bad input at every input declared in action.yml. Each gets exit 2 and one clear
message naming the input, a secret input's value is never echoed, and nothing is sent anywhere:
the service, Prometheus, the Kubernetes API, GitHub and Slack stand-ins all receive nothing.
Inputs that have no invalid value (free text) are listed as such, and the test fails if
action.yml declares an input this file does not cover. Two control runs with the valid
configuration prove that every stand-in is reachable, so "received nothing" means something."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers"))
from harness import ALL_INPUTS, SERVERS, TAP, Server, run_gate, service  # noqa: E402
import kube  # noqa: E402

PASSWORD = "pw-BadInput-4d1c-secret"
TOKEN = "tok-BadInput-a7e2-access"
PROM_TOKEN = "prom-BadInput-0b3f-bearer"
GH_TOKEN = "ghs_BadInput6Zq1"
KTOKEN = "ktok-BadInput-5c88-kube"
URL_PASSWORD = "hunter2-BadInput-url"
USER = "smoke_test"
WRAPPED = bool(os.environ.get("ATOM_SAFETY_TEST_WRAPPER"))  # valgrind: ~1 s per run

t = TAP()
gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3", "--config", json.dumps({"token": GH_TOKEN}))
slack = Server(os.path.join(SERVERS, "slack.py"))
HOOK = slack.url + "/services/T0BAD/B0BAD/hookBadInput9Qe2"
SECRETS = [PASSWORD, TOKEN, PROM_TOKEN, GH_TOKEN, KTOKEN, URL_PASSWORD, HOOK, "SECRET-HOOK", "pw-Bx7-basic-secret"]
PROM_OK = {"status": "success", "data": {"resultType": "vector",
                                         "result": [{"metric": {}, "value": [1700000000, "0.0005"]}]}}


def kubeconfig(url, context="ci", server=None, token=KTOKEN):
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server or url}}],
        "users": [{"name": "deployer", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": context})


# (input, bad value, expected words in the message, other inputs for the case)
CASES = [
    ("url", "", "required but not set", {}),
    ("url", "ftp://example.com", "http:// or https://", {}),
    ("url", "http://", "with a host", {}),
    ("url", "https://admin:" + URL_PASSWORD + "@example.com", "credentials in the URL", {}),
    ("url", "http://example.com/#top", "fragment", {}),
    ("url", "http://example.com/?q=1", "without a ?query", {}),
    ("url", "http://exa mple.com", "whitespace", {}),
    ("environment", "", "required but not set", {}),
    ("environment", "prod\tuction", "expected a name", {}),
    ("environment", "prod;rm", "expected a name", {}),
    ("environment", "x" * 65, "at most 64", {}),
    ("health-path", "health", "starting with '/'", {}),
    ("health-path", "//evil.example/health", "starting with '/'", {}),
    ("health-path", "/a b", "without spaces", {}),
    ("db-health-path", "db", "starting with '/'", {}),
    ("db-health-path", "/x#y", "starting with '/'", {}),
    ("max-db-query-time", "fast", "duration", {}),
    ("max-db-query-time", "0s", "greater than zero", {}),
    ("max-db-query-time", "25h", "at most 24h", {}),
    ("login-path", "login", "starting with '/'", {}),
    ("login-path", "/a\tb", "starting with '/'", {}),
    ("password", "", "give both or neither", {}),
    ("username", "", "give both or neither", {}),
    ("token-path", "data..token", "empty segment", {}),
    ("token-path", "$.", "dotted path", {}),
    ("token-path", "data.", "empty segment", {}),
    ("token-path", "items[0]", "dotted path", {}),
    ("endpoints", "FETCH /api/x", "line 1: unknown method", {}),
    ("endpoints", "GET /ok\nGET api/x", "line 2", {}),
    ("endpoints", "GET /x 2000", "status codes", {}),
    ("endpoints", "GET /x 200 extra", "line 1", {}),
    ("endpoints", "GET //evil.example/x", "line 1", {}),
    ("request-timeout", "10", "duration", {}),
    ("request-timeout", "0s", "greater than zero", {}),
    ("request-timeout", "25h", "at most 24h", {}),
    ("retries", "-1", "whole number from 0 to 10", {}),
    ("retries", "11", "whole number from 0 to 10", {}),
    ("retries", "three", "whole number from 0 to 10", {}),
    ("retries", "1.5", "whole number from 0 to 10", {}),
    ("wait-timeout", "soon", "duration", {}),
    ("wait-timeout", "-1s", "duration", {}),
    ("dry-run", "yes", "true or false", {}),
    ("dry-run", "1", "true or false", {}),
    ("prometheus-url", "prom:9090", "http:// or https://", {}),
    ("prometheus-url", "https://admin:" + URL_PASSWORD + "@prom.example", "credentials in the URL", {}),
    ("error-rate-query", "x" * 8193, "at most 8192", {}),
    ("max-error-rate", "150%", "from 0% to 100%", {}),
    ("max-error-rate", "-1", "percentage", {}),
    ("max-error-rate", "nan", "percentage", {}),
    ("max-error-rate", "1.5", "from 0% to 100%", {}),
    ("latency-query", "x" * 8193, "at most 8192", {}),
    ("max-latency", "fast", "duration", {}),
    ("max-latency", "0ms", "greater than zero", {}),
    ("monitor-duration", "5 minutes", "duration", {}),
    ("monitor-duration", "-1m", "duration", {}),
    ("monitor-interval", "0s", "greater than zero", {}),
    ("monitor-interval", "x", "duration", {}),
    ("monitor-interval", "10m", "longer than 'monitor-duration'", {"monitor-duration": "1m"}),
    ("on-no-data", "ignore", "pass, warn or fail", {}),
    ("on-no-data", "WARN", "pass, warn or fail", {}),
    ("on-query-error", "pass", "warn or fail", {}),
    ("production", "yes", "auto, true or false", {}),
    ("production", "TRUE", "auto, true or false", {}),
    ("prometheus-username", "gate-reader", "give both or neither", {"prometheus-token": ""}),
    ("prometheus-password", "pw-Bx7-basic-secret", "not both", {"prometheus-username": "gate-reader"}),
    ("prometheus-headers", "X-Scope-OrgID team-a", "'Name: value'", {}),
    ("prometheus-headers", "X-Scope-OrgID: team-a\rX-Evil: 1", "control character", {}),
    ("prometheus-headers", "X-Scope-OrgID: te\x01am", "control character", {}),
    ("prometheus-headers", "Authorization: Basic eHh4", "set by the action itself", {}),
    ("max-error-rate-increase", "0.5%", "percentage points", {}),
    ("max-error-rate-increase", "+0.5", "percentage points", {}),
    ("max-error-rate-increase", "-2x", "ratio", {}),
    ("max-latency-increase", "+20", "+100ms", {}),
    ("max-latency-increase", "20%", "+100ms", {}),
    ("baseline-time", "yesterday", "RFC 3339", {}),
    ("baseline-time", "2026-13-01T00:00:00Z", "RFC 3339", {}),
    ("metrics", "- name: [", "invalid YAML", {}),
    ("metrics", "name: a", "YAML list", {}),
    ("metrics", "- name: a\n  query: up\n", "at least one of max", {}),
    ("metrics", "- query: up\n  max: 1\n", "item 1: key 'name': required", {}),
    ("metrics", "- name: Bad\n  query: up\n  max: 1\n", "lower-case", {}),
    ("metrics", "- name: latency\n  query: up\n  max: 1\n", "built-in", {}),
    ("metrics", "- name: a\n  query: up\n  max: 1\n- name: a\n  query: up\n  max: 2\n", "item 2: key 'name': the name is already used by item 1", {}),
    ("metrics", "- name: a\n  query: up\n  max: lots\n", "item 1 (a): key 'max': expected a number", {}),
    ("metrics", "- name: a\n  query: up\n  max: 1\n  maximum: 2\n", "key 'maximum': unknown key", {}),
    ("metrics", "- name: a\n  query: up\n  max-increase: 150%\n", "key 'max-increase'", {}),
    ("metrics", "- name: a\n  query: up\n  max: 1\n  on-no-data: ignore\n", "key 'on-no-data'", {}),
    ("metrics", "- name: a\n  query: 'up{x=\"{{pods}}\"}'\n  max: 1\n", "unknown placeholder {{pods}}", {}),
    ("error-rate-query", 'sum(rate(x{ns="{{nope}}"}[5m]))', "unknown placeholder {{nope}}", {}),
    ("error-rate-query", 'sum(rate(x{ns=`{{namespace}}`}[5m]))', "raw string", {}),
    ("latency-query", 'max(x) by ({{namespace}})', "inside a quoted label value", {}),
    ("latency-query", 'max(x{a="{{namespace}"})', "does not start a placeholder", {}),
    ("rollback", "maybe", "true or false", {}),
    ("kubeconfig", "not: [valid", "invalid YAML", {}),
    ("kubeconfig", "apiVersion: v1\nkind: Config\n", "context", {}),
    ("kubeconfig", "@@@", "", {}),
    ("kubeconfig", "SERVER:ftp://127.0.0.1:9", "http:// or https://", {}),
    ("kube-context", "nope", "'nope' not found", {}),
    ("kube-server", "ftp://kube.example", "http:// or https://", {"kubeconfig": "", "kube-token": KTOKEN}),
    ("kube-server", "https://kube.example", "the kubeconfig input is set too", {"kube-token": KTOKEN}),
    ("kube-server", "https://kube.example", "needs a credential", {"kubeconfig": ""}),
    ("kube-ca", "not a certificate", "PEM CA bundle", {}),
    ("kube-ca", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "CA of kube-server", {}),
    ("kube-oidc-audience", "sts amazonaws", "without spaces", {}),
    ("kube-oidc-audience", "sts.amazonaws.com", "permissions: id-token: write", {}),
    ("ca-cert", "bm90IGEgY2VydA==", "PEM CA bundle", {}),
    ("ca-cert", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\n", "private key", {}),
    ("namespace", "Bad_NS", "Kubernetes namespace", {}),
    ("namespace", "-x", "Kubernetes namespace", {}),
    ("namespace", "a" * 64, "Kubernetes namespace", {}),
    ("deployment", " , ", "at least one Deployment", {}),
    ("deployment", "Bad_Name", "Kubernetes names", {}),
    ("deployment", "-lead", "Kubernetes names", {}),
    ("deployment", "job/nightly", "unknown kind 'job'", {}),
    ("deployment", "sts/Bad_Name", "Kubernetes names", {}),
    ("deployment", "statefulset/", "Kubernetes names", {}),
    ("to-revision", "abc", "revision number", {}),
    ("to-revision", "0", "revision number", {}),
    ("to-revision", "-1", "revision number", {}),
    ("to-revision", "1234567890", "revision number", {}),
    ("rollback-timeout", "0s", "greater than zero", {}),
    ("rollback-timeout", "x", "duration", {}),
    ("create-issue", "sure", "true or false", {}),
    ("slack-webhook-url", "hooks.slack.com/services/SECRET-HOOK", "http:// or https://", {}),
    ("slack-notify", "sometimes", "failure or always", {}),
    ("slack-notify", "never", "failure or always", {}),
    ("close-on-recovery", "yes", "true or false", {}),
    ("pagerduty-events-url", "events.pagerduty.com/v2/enqueue", "http:// or https://", {}),
    ("pagerduty-events-url", "https://user:pw@events.pagerduty.com/v2/enqueue", "credentials", {}),
    ("webhook-url", "ftp://hooks.example.com/SECRET-WEBHOOK", "http:// or https://", {}),
    ("webhook-secret", "whsec-SECRET", "'webhook-url' is empty", {"webhook-url": ""}),
    ("webhook-on", "success", "failure or always", {}),
    ("managed-rollback", "ignore", "warn or skip", {}),
    ("managed-rollback", "WARN", "warn or skip", {}),
    # issue 11 item 7: an explicit '' where empty has no meaning is refused, never a silent default
    ("health-path", "", "set to an empty value", {}),
    ("login-path", "", "empty while 'username' is set", {}),
    ("token-path", "", "empty while 'username' is set", {}),
    ("request-timeout", "", "set to an empty value", {}),
    ("retries", "", "set to an empty value", {}),
    ("wait-timeout", "", "set to an empty value", {}),
    ("dry-run", "", "set to an empty value", {}),
    ("error-rate-query", "", "set to an empty value", {}),
    ("latency-query", "", "set to an empty value", {}),
    ("monitor-duration", "", "set to an empty value", {}),
    ("monitor-interval", "", "set to an empty value", {}),
    ("on-no-data", "", "set to an empty value", {}),
    ("rollback", "", "set to an empty value", {}),
    ("deployment", "", "at least one Deployment", {}),
    ("rollback-timeout", "", "set to an empty value", {}),
    ("create-issue", "", "set to an empty value", {}),
    ("slack-notify", "", "set to an empty value", {}),
    # issue 11 item 5: a token with a line break would add headers of its own to every request
    ("prometheus-token", PROM_TOKEN + "\r\nX-Injected: yes", "control characters", {}),
    ("github-token", GH_TOKEN + "\nX-Injected: yes", "control characters", {}),
    ("kubeconfig", "TOKEN-CRLF", "control characters", {}),
    # issue 11 item 3: a query value is a credential, masked before the error quotes the URL
    ("url", "http://x.example/?token=" + URL_PASSWORD, "without a ?query",
     {"prometheus-url": "https://prom.example/?api_key=" + URL_PASSWORD}),
]

# inputs without an invalid value of their own, and why
FREE_TEXT = {
    "issue-labels": "any comma-separated text; GitHub decides which labels it accepts",
    "pagerduty-routing-key": "any text is a key (masked); a wrong one is PagerDuty's 400, reported as a warning",
    "kube-token": "any text is a token (masked); a wrong one is the API server's 401, at run time",
}

SECRET_INPUTS = {"password", "prometheus-token", "github-token", "slack-webhook-url", "kube-token",
                 "pagerduty-routing-key", "webhook-url", "webhook-secret"}

covered = {c[0] for c in CASES} | set(FREE_TEXT)
t.ok(len(ALL_INPUTS) >= 36, "action.yml read: %d inputs" % len(ALL_INPUTS))
t.eq(sorted(set(ALL_INPUTS) - covered), [], "every input of action.yml has a bad-value case or is free text")
t.eq(sorted(covered - set(ALL_INPUTS)), [], "no case for an input action.yml does not declare")
for name, why in sorted(FREE_TEXT.items()):
    t.ok(True, "%s: no invalid value: %s" % (name, why))

with service("healthy", {"users": {USER: PASSWORD}, "token": TOKEN}) as svc, \
        service("healthy", {"token": PROM_TOKEN,
                            "routes": {"GET /api/v1/query": {"status": 200, "body": PROM_OK}}}) as prom, \
        kube.launch(scenario="history", config={"token": KTOKEN, "controller": {"mode": "normal", "step_ms": 40}}) as k:
    ENV = {"GITHUB_API_URL": gh.url + "/api/v3"}
    STANDINS = {"service": svc.requests, "prometheus": prom.requests, "kubernetes": k.requests,
                "github": gh.requests, "slack": slack.requests}

    def valid(**kw):
        b = {"url": svc.url, "environment": "staging", "username": USER, "password": PASSWORD,
             "endpoints": "GET /api/projects", "prometheus-url": prom.url, "prometheus-token": PROM_TOKEN,
             "kubeconfig": kubeconfig(k.url), "rollback": "true", "github-token": GH_TOKEN,
             "create-issue": "true", "slack-webhook-url": HOOK, "slack-notify": "always"}
        b.update(kw)
        return b

    def received():
        return {name: len(get()) for name, get in STANDINS.items() if len(get()) > 0}

    seen = set()
    for name, value, words, extra in CASES:
        if WRAPPED and name in seen:
            continue  # under valgrind, one case per input: the parsing is the same code
        seen.add(name)
        if name == "kubeconfig" and value.startswith("SERVER:"):
            value = kubeconfig(k.url, server=value[len("SERVER:"):])
        if name == "kubeconfig" and value == "TOKEN-CRLF":
            value = kubeconfig(k.url, token=KTOKEN + "\r\nX-Injected: yes")
        inputs = valid(**extra)
        inputs[name] = value
        r = run_gate(inputs, env=ENV, timeout=60)
        out = r.stdout + r.stderr
        # annotation data is %-escaped for the runner (ActionCommand.cs): read it as the runner does
        lines = [l.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%") for l in out.splitlines()
                 if "invalid input '%s'" % name in l]
        shown = repr(value) if len(value) < 40 else repr(value[:37] + "...")
        t.eq(r.rc, 2, "%s=%s: exit 2" % (name, shown))
        t.ok(lines and words in lines[0], "%s=%s: the message names it and says why (%r)" % (name, shown, words),
             diag=out[-600:])
        visible = "\n".join(l for l in out.splitlines() if not l.startswith("::add-mask::"))
        echoed = [s for s in SECRETS if s in visible]
        t.eq(echoed, [], "%s=%s: no secret echoed" % (name, shown))
        t.ok("nothing was sent" in out, "%s: says nothing was sent" % name)
        t.eq(received(), {}, "%s=%s: every stand-in received nothing" % (name, shown))
        t.ok(not os.path.exists(os.path.join(r.tmp, "atom-safety-report.json")) or r.report is not None,
             "%s: no half-written report" % name)

    # an explicit '' that means something: what the README says, nothing refused
    svc.reset()
    r = run_gate(valid(**{"db-health-path": "", "issue-labels": "", "slack-notify": "failure"}), env=ENV, timeout=60)
    t.eq(r.rc, 0, "db-health-path '': exit 0 (a service without the endpoint is not rolled back)") or \
        t.diag(r.dump()[-1500:])
    db = [c for c in (r.report or {}).get("checks", []) if c.get("name") == "database"]
    t.ok(len(db) == 1 and db[0].get("status") == "skip" and "db-health-path" in (db[0].get("detail") or ""),
         "db-health-path '': the database check is reported as skipped, saying why", repr(db))
    t.eq([q for q in svc.requests() if q["path"].startswith("/health/db")], [],
         "db-health-path '': /health/db is never requested")
    t.ok("database" in r.summary and "skip" in r.summary.lower(), "db-health-path '': the summary shows it skipped")
    svc.reset()
    r = run_gate(valid(**{"db-health-path": None, "slack-notify": "failure"}), env=ENV, timeout=60)
    t.ok(r.rc == 0 and len([q for q in svc.requests() if q["path"] == "/health/db"]) >= 1,
         "db-health-path absent (a local run): the default /health/db is checked")
    r = run_gate(valid(**{"username": "", "password": "", "login-path": "", "token-path": "", "endpoints": "",
                          "slack-notify": "failure"}), env=ENV, timeout=60)
    t.eq(r.rc, 0, "login-path and token-path '' without a username: accepted")
    r = run_gate(valid(**{"deployment": "", "rollback": "false", "slack-notify": "failure"}), env=ENV, timeout=60)
    t.eq(r.rc, 0, "deployment '' with rollback false: accepted")
    svc.reset()

    # the controls: the same configuration, valid, reaches every stand-in
    r = run_gate(valid(), env=ENV, timeout=60)
    t.eq(r.rc, 0, "control 1 (healthy, slack-notify: always): exit 0", ) or t.diag(r.dump()[-1500:])
    got = received()
    for name in ("service", "prometheus", "kubernetes", "slack"):
        t.ok(got.get(name, 0) > 0, "control 1: %s reachable (%d requests)" % (name, got.get(name, 0)))
    svc.config({"routes": {"GET /api/projects": {"status": 500, "body": {"error": "boom"}}}})
    r = run_gate(valid(), env=ENV, timeout=60)
    t.eq(r.rc, 1, "control 2 (bad release): exit 1") or t.diag(r.dump()[-1500:])
    t.ok(received().get("github", 0) > 0, "control 2: github reachable (an issue was opened)")

gh.stop()
slack.stop()
t.done()
