#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 15 against a real Prometheus: query templates (checked by what the server received, from
its query log, and by its answers), the baseline at the deploy start (series that step up or
down at a known time), named metrics, basic auth through Prometheus's own web configuration
(bcrypt users), tenant headers, the production rule as the summary states it, and the Mermaid
chart rendered by cmark-gfm and parsed by Mermaid itself."""

import calendar
import html
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
from harness import TAP, check, leaked, run_gate, service  # noqa: E402
from promharness import ERROR_RATE_QUERY, Prometheus, have_prometheus  # noqa: E402
import kube  # noqa: E402

t = TAP()
if not have_prometheus():
    t.skip_all("prometheus not installed")

DEPLOY_AGO = 600   # the "deploy" 10 minutes ago: baseline windows hold only the old release
KTOKEN = "ktok-Tm15-template-kube-token"
BASIC_PW = "pw-Tm15!basic-auth-secret"
TENANT = "tenant-Tm15-Qw8x"


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def kubeconfig(url):
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": url}}],
        "users": [{"name": "u", "user": {"token": KTOKEN}}],
        "contexts": [{"name": "ci", "context": {"cluster": "c", "user": "u", "namespace": "shop"}}],
        "current-context": "ci"})


def cluster(name, created):
    """A Deployment whose newest ReplicaSet was created at `created` (the deploy)."""
    objs = kube.make_history(name=name, namespace="shop", revisions=((1, "v1"), (2, "v2")))
    newest = objs[1]  # make_history puts the highest revision first
    assert newest["metadata"]["annotations"][kube.REVISION] == "2"
    newest["metadata"]["creationTimestamp"] = rfc3339(created)
    return objs, newest["metadata"]["name"], objs[2]["metadata"]["name"]


def gate(svc, prom_url, **inputs):
    base = {"url": svc.url, "environment": "staging", "rollback": False, "create-issue": False,
            "prometheus-url": prom_url}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    return run_gate(base, timeout=90)


def expect(r, rc, statuses, what):
    got = {n: check(r, n).get("status") for n in statuses}
    return t.ok(r.rc == rc and got == statuses, "%s: exit %d, %s" % (what, rc, statuses),
                "got exit %r, %r\n%s" % (r.rc, got, r.dump()[-3000:]))


def detail(r, name):
    return check(r, name).get("detail") or ""


with service() as svc:
    # ---- the baseline: the error rate steps up at the deploy ----------------------------------
    STEP_UP = {"requests": {"2xx": (999, 995), "5xx": (1, 5)},          # 0.1% before, 0.5% after
               "latency": {"observations_per_s": 10, "value_s": (0.04, 0.075)}}  # 47.5 ms -> 97.5 ms
    with Prometheus(STEP_UP, switch_ago_s=DEPLOY_AGO, query_log=True) as prom:
        at = str(prom.switch_at)
        r = gate(svc, prom.url, max_error_rate_increase="+0.3%", baseline_time=at)
        expect(r, 1, {"error-rate": "fail"}, "0.1% -> 0.5%: +0.4 points over a +0.3% limit fails, 1% holds")
        d = detail(r, "error-rate")
        t.ok("baseline 0.10%, increase +0.40%, over the limit (+0.3%)" in d, "detail: baseline, increase, limit", d)
        t.eq((r.outputs.get("baseline-error-rate"), r.outputs.get("error-rate")), ("0.001", "0.005"),
             "outputs: baseline-error-rate and error-rate")
        t.eq(check(r, "error-rate").get("limit"), "< 1%, increase <= +0.3%", "the limit shows both")
        sent = prom.queries()
        t.ok(any(q["query"] == ERROR_RATE_QUERY and q["time"] == prom.switch_at for q in sent),
             "the baseline query reached Prometheus with time= the deploy start",
             [(q["query"][:40], q["time"]) for q in sent])
        t.ok("| `error-rate` | 0.10% | 0.50% | +0.40% |" in r.summary,
             "summary: baseline, value and increase side by side", r.summary)
        rep = (r.report or {}).get("metrics") or {}
        t.eq((rep.get("baseline_error_rate"), rep.get("baseline_time")), (0.001, rfc3339(prom.switch_at)),
             "report: baseline and when")

        r = gate(svc, prom.url, max_error_rate_increase="+0.5%", baseline_time=at)
        expect(r, 0, {"error-rate": "pass"}, "+0.4 points within +0.5%")
        r = gate(svc, prom.url, max_error_rate_increase="2x", baseline_time=rfc3339(prom.switch_at))
        expect(r, 1, {"error-rate": "fail"}, "5x the baseline over a 2x limit (baseline-time as RFC 3339)")
        t.ok("increase 5x, over the limit (2x)" in detail(r, "error-rate"), "ratio shown", detail(r, "error-rate"))
        r = gate(svc, prom.url, max_error_rate="0.2%", max_error_rate_increase="10x", baseline_time=at)
        expect(r, 1, {"error-rate": "fail"}, "with an absolute limit too, both must hold (0.5% >= 0.2%)")

        for limit, rc, status, words in (("+20%", 1, "fail", "increase +105.3%, over the limit (+20%)"),
                                         ("+100ms", 0, "pass", "increase +50.0 ms (limit +100ms)"),
                                         ("1.5x", 1, "fail", "increase 2.05x, over the limit (1.5x)")):
            r = gate(svc, prom.url, max_latency_increase=limit, baseline_time=at)
            expect(r, rc, {"latency": status}, "latency 47.5 ms -> 97.5 ms with max-latency-increase %s" % limit)
            t.ok(words in detail(r, "latency"), "latency %s: %s" % (limit, words), detail(r, "latency"))
        t.eq((r.outputs.get("baseline-latency-ms"), r.outputs.get("latency-ms")), ("48", "98"),
             "outputs: baseline-latency-ms and latency-ms")

        # no baseline data: before the data begins
        early = str(prom.data_start - 7200)
        r = gate(svc, prom.url, max_error_rate_increase="2x", baseline_time=early)
        expect(r, 0, {"error-rate": "warn"}, "no baseline data: on-no-data warn")
        t.ok("no baseline" in detail(r, "error-rate") and "on-no-data: warn" in detail(r, "error-rate"),
             "says there is no baseline", detail(r, "error-rate"))
        t.eq(r.outputs.get("baseline-error-rate"), "", "baseline-error-rate empty when not measured")
        r = gate(svc, prom.url, max_error_rate_increase="2x", baseline_time=early, on_no_data="fail")
        expect(r, 1, {"error-rate": "fail"}, "no baseline data: on-no-data fail")

        # the deploy start read from the cluster: the newest ReplicaSet's creation time
        objs, new_rs, old_rs = cluster("atom", prom.switch_at)
        with kube.launch(state=objs, config={"token": KTOKEN}) as k:
            r = gate(svc, prom.url, max_error_rate_increase="+0.3%", kubeconfig=kubeconfig(k.url))
            expect(r, 1, {"error-rate": "fail"}, "baseline time from the newest ReplicaSet (rollback off)")
            t.eq(r.outputs.get("baseline-error-rate"), "0.001", "baseline measured at the ReplicaSet's creation")
            t.ok(not any(q["method"] == "PATCH" for q in k.requests()), "rollback off: nothing patched")
            t.ok(not ((r.report or {}).get("rollback") or {}).get("deployments"), "no rollback entries")

    # ---- the reverse step: better after the deploy ---------------------------------------------
    STEP_DOWN = {"requests": {"2xx": (995, 999), "5xx": (5, 1)}}
    with Prometheus(STEP_DOWN, switch_ago_s=DEPLOY_AGO) as prom:
        r = gate(svc, prom.url, max_error_rate_increase="+0%", baseline_time=str(prom.switch_at))
        expect(r, 0, {"error-rate": "pass"}, "0.5% -> 0.1%: a decrease passes even a +0% limit")
        t.ok("increase -0.40%" in detail(r, "error-rate"), "negative increase shown", detail(r, "error-rate"))

    # ---- a baseline of 0 with a ratio: not defined ---------------------------------------------
    ZERO_BEFORE = {"requests": {"2xx": (1000, 995), "5xx": (0, 5)}}
    with Prometheus(ZERO_BEFORE, switch_ago_s=DEPLOY_AGO) as prom:
        r = gate(svc, prom.url, max_error_rate_increase="2x", baseline_time=str(prom.switch_at))
        expect(r, 0, {"error-rate": "pass"}, "baseline 0 with a ratio limit: the absolute limit judges (0.5% < 1%)")
        t.ok("not defined" in detail(r, "error-rate"), "says the ratio is not defined", detail(r, "error-rate"))
        r = gate(svc, prom.url, max_error_rate_increase="+0.3%", baseline_time=str(prom.switch_at))
        expect(r, 1, {"error-rate": "fail"}, "baseline 0 with a points limit is judged (+0.5 > +0.3)")

    # ---- templates: new pods, deployments with a dot, since_deploy -----------------------------
    with_dot = "atom.api"
    _, new_rs, old_rs = cluster(with_dot, 0)  # ReplicaSet names depend on the template only
    new_pod, old_pod = new_rs + "-x7k2p", old_rs + "-q9w8e"
    TEMPLATED = {
        "counters": {
            # the new release: 2% errors; the old one (before the deploy): 50%
            'app_requests_total{namespace="shop",pod="%s",status="200"}' % new_pod: (0, 98),
            'app_requests_total{namespace="shop",pod="%s",status="500"}' % new_pod: (0, 2),
            'app_requests_total{namespace="shop",pod="%s",status="200"}' % old_pod: (50, 0),
            'app_requests_total{namespace="shop",pod="%s",status="500"}' % old_pod: (50, 0),
        },
        "gauges": {
            'queue_depth{deployment="atom.api"}': (3, 7),
            'queue_depth{deployment="atomXapi"}': 900,  # an unescaped '.' would match this one
        },
    }
    NEW_ERRORS = ('sum(rate(app_requests_total{namespace="{{namespace}}",pod=~"{{new_pods}}",status="500"}'
                  '[{{since_deploy}}])) / sum(rate(app_requests_total{namespace="{{namespace}}",'
                  'pod=~"{{new_pods}}"}[{{since_deploy}}]))')
    METRICS = """
- name: queue-depth
  query: max(queue_depth{deployment=~"{{deployments}}"})
  max: 1000
  max-increase: 2x
- name: old-pods
  query: sum(rate(app_requests_total{pod!~"{{new_pods}}"}[1m]))
  max: 1
  on-no-data: pass
"""
    with Prometheus(TEMPLATED, switch_ago_s=DEPLOY_AGO, query_log=True) as prom:
        objs, _, _ = cluster(with_dot, prom.switch_at)
        with kube.launch(state=objs, config={"token": KTOKEN}) as k:
            r = gate(svc, prom.url, error_rate_query=NEW_ERRORS, deployment=with_dot, kubeconfig=kubeconfig(k.url),
                     metrics=METRICS)
            expect(r, 1, {"error-rate": "fail", "metric:queue-depth": "fail", "metric:old-pods": "pass"},
                   "templates: new pods' 2% errors over 1%; queue depth 3 -> 7 over 2x")
            t.eq(r.outputs.get("error-rate"), "0.02", "the new pods' error rate, not the old pods' 50%")
            expanded = [q["query"] for q in prom.queries() if "app_requests_total" in q["query"] and "500" in q["query"]]
            want_pods = new_rs.replace(".", "\\\\.") + "-.*"
            t.ok(expanded and 'pod=~"%s"' % want_pods in expanded[0] and 'namespace="shop"' in expanded[0],
                 "Prometheus received {{new_pods}} regex- then string-escaped and {{namespace}} from the context",
                 expanded[:1])
            m = re.search(r"\[(\d+)s\]", expanded[0] if expanded else "")
            since = int(m.group(1)) if m else -1
            t.ok(DEPLOY_AGO <= since <= DEPLOY_AGO + 60, "{{since_deploy}} counts from the ReplicaSet (%ds)" % since)
            q = [x["query"] for x in prom.queries() if "queue_depth" in x["query"]]
            t.ok(q and 'deployment=~"atom\\\\.api"' in q[0], "{{deployments}} regex-escaped in the query", q[:1])
            t.eq(json.loads(r.outputs.get("metrics") or "null"), {"queue-depth": 7, "old-pods": 0},
                 "metrics output: compact JSON, name to value")
            t.ok("baseline 3, increase 2.33x, over the limit (2x)" in detail(r, "metric:queue-depth"),
                 "queue-depth judged on the increase alone", detail(r, "metric:queue-depth"))
            t.ok("metric:queue-depth" in (r.outputs.get("failed-checks") or ""), "failed-checks names metric:<name>",
                 r.outputs.get("failed-checks"))
            t.eq(((r.report or {}).get("metrics") or {}).get("error_rate_query"), expanded[0] if expanded else None,
                 "the report shows the expanded query, as sent")
            t.ok(expanded and "`" + expanded[0] + "`" in r.summary.replace("\\|", "|"),
                 "the summary shows the expanded query")

        # a minimum, and each metric's own policies
        r = gate(svc, prom.url, metrics="""
- name: queue-floor
  query: min(queue_depth{deployment=~"{{deployments}}"})
  min: 10
- name: broken
  query: sum(rate(app_requests_total[5m]
  max: 1
  on-query-error: fail
- name: absent
  query: absent_metric_total
  max: 1
  on-no-data: pass
""", deployment=with_dot)
        expect(r, 1, {"metric:queue-floor": "fail", "metric:broken": "fail", "metric:absent": "pass"},
               "min breached; on-query-error fail on staging; on-no-data pass")
        t.ok("under the limit (>= 10)" in detail(r, "metric:queue-floor"), "a minimum breach says so",
             detail(r, "metric:queue-floor"))
        t.ok("bad_data" in detail(r, "metric:broken") and "on-query-error: fail" in detail(r, "metric:broken"),
             "the metric's own on-query-error", detail(r, "metric:broken"))
        t.eq(json.loads(r.outputs.get("metrics") or "null"), {"queue-floor": 7, "broken": None, "absent": None},
             "metrics output: null when not measured")
        r = gate(svc, "", metrics="- name: a\n  query: up\n  max: 1\n")
        expect(r, 0, {"metric:a": "skip"}, "no prometheus-url: the named metric is skipped")
        t.eq(r.outputs.get("metrics"), '{"a":null}', "metrics output lists it as null")

        # {{new_pods}} without a cluster: a configuration error, nothing sent
        before = len(prom.queries())
        r = gate(svc, prom.url, error_rate_query=NEW_ERRORS, deployment=with_dot)
        t.eq(r.rc, 2, "{{new_pods}} without a kubeconfig: exit 2") or t.diag(r.dump()[-1500:])
        t.ok("{{new_pods}} needs the cluster" in r.stdout, "the message says what needs the cluster",
             r.stdout[-800:])
        t.eq(len(prom.queries()), before, "nothing reached Prometheus")
        r = gate(svc, prom.url, max_latency_increase="+20%")
        t.eq(r.rc, 2, "an increase limit without baseline-time or a cluster: exit 2")

    # ---- basic auth against Prometheus's own web configuration (bcrypt) -------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # Python 3.11 still has it; libxcrypt does bcrypt ($2b$)
        hashed = crypt.crypt(BASIC_PW, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    t.ok(hashed.startswith("$2b$"), "bcrypt hash made in the test (%s...)" % hashed[:7])
    HEALTHY = {"requests": {"2xx": 1999, "5xx": 1}}
    with Prometheus(HEALTHY, basic_auth=("gate-reader", BASIC_PW, hashed)) as prom:
        status = prom.get("/api/v1/query", {"query": "1"}, auth=False)[0]
        t.eq(status, 401, "the real Prometheus refuses a query without credentials")
        r = gate(svc, prom.url, prometheus_username="gate-reader", prometheus_password=BASIC_PW,
                 environment="production")
        expect(r, 0, {"error-rate": "pass"}, "basic auth accepted by the real Prometheus")
        t.eq(r.outputs.get("error-rate"), "0.0005", "measured through basic auth")
        t.eq(leaked([BASIC_PW], r), [], "the password never leaked")
        t.ok("::add-mask::" + BASIC_PW in r.stdout, "the password is masked for the runner")
        r = gate(svc, prom.url, prometheus_username="gate-reader", prometheus_password="wrong-" + BASIC_PW,
                 environment="production")
        expect(r, 1, {"error-rate": "fail"}, "a wrong password: HTTP 401, on-query-error fails closed on production")
        t.ok("HTTP 401" in detail(r, "error-rate") and "not counted as a breach" in detail(r, "error-rate"),
             "401 reported as a query error", detail(r, "error-rate"))
        r = gate(svc, prom.url, prometheus_username="gate-reader", prometheus_password=BASIC_PW,
                 prometheus_token="tok-x")
        t.eq(r.rc, 2, "a token and basic auth together: exit 2")

    # ---- tenant headers: what was sent, masked everywhere ------------------------------------
    seen = []

    class Tenant(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append({k.lower(): v for k, v in self.headers.items()})
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {}, "value": [time.time(), "0.001"]}]}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Tenant)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d" % srv.server_address[1]
        r = gate(svc, url, prometheus_headers="X-Scope-OrgID: %s\r\nX-Extra:  two words \r\n\r\n" % TENANT)
        expect(r, 0, {"error-rate": "pass"}, "prometheus-headers with Windows line ends")
        t.ok(seen and all(h.get("x-scope-orgid") == TENANT and h.get("x-extra") == "two words" for h in seen),
             "every query carried the headers, trimmed, CR dropped", seen[:1])
        t.ok("::add-mask::" + TENANT in r.stdout, "the header value is masked")
        t.eq(leaked([TENANT], r), [], "the header value appears nowhere else")
    finally:
        srv.shutdown()
        srv.server_close()

    # ---- production: which limits and why --------------------------------------------------------
    with Prometheus({"requests": {"2xx": 199, "5xx": 1}}) as prom:   # 0.5%
        r = gate(svc, prom.url, environment="prod-eu")
        expect(r, 1, {"error-rate": "fail"}, "prod-eu gets production limits (0.5% >= 0.1%)")
        t.ok('production: auto, matched "prod" in "prod-eu"' in r.summary, "the summary says why",
             r.summary[:600])
        t.eq((r.report or {}).get("production_reason"), 'production: auto, matched "prod" in "prod-eu"',
             "the report says why")
        r = gate(svc, prom.url, environment="pre-prod")
        expect(r, 0, {"error-rate": "pass"}, "pre-prod is staging")
        env_row = [l for l in r.summary.splitlines() if l.startswith("| Environment |")]
        t.ok(len(env_row) == 1 and env_row[0].count("limits") == 1 and "not production" in env_row[0],
             "the Environment row says which limits once, and why", env_row)
        r = gate(svc, prom.url, environment="prod-eu", production="false")
        expect(r, 0, {"error-rate": "pass"}, "production: false overrides the name")
        t.ok("production: false, set by the production input" in r.summary, "the summary says the input decided")
        r = gate(svc, prom.url, environment="qa", production="true")
        expect(r, 1, {"error-rate": "fail"}, "production: true on any name")

    # ---- the window as a Mermaid chart ------------------------------------------------------------
    with Prometheus(STEP_UP, switch_ago_s=DEPLOY_AGO) as prom:
        r = gate(svc, prom.url, monitor_duration="2s", monitor_interval="1s", max_latency="500ms",
                 max_error_rate_increase="+1%", baseline_time=str(prom.switch_at))
        expect(r, 0, {"error-rate": "pass", "latency": "pass"}, "monitored 3 times")
        blocks = re.findall(r"```mermaid\n(.*?)```", r.summary, re.S)
        t.ok(len(blocks) == 2, "one chart per metric sampled twice or more", r.summary)
        er = blocks[0] if blocks else ""
        t.ok(er.startswith("xychart-beta\n") and er.count("    line [") == 3,
             "error-rate chart: samples, limit and baseline lines", er)
        t.ok("line [1, 1, 1]" in er and "line [0.1, 0.1, 0.1]" in er and "line [0.5, 0.5, 0.5]" in er,
             "values in percent: samples 0.5, limit 1, baseline 0.1", er)
        cmark = shutil.which("cmark-gfm")
        if cmark is None:
            t.skip("chart rendered by cmark-gfm", "cmark-gfm not installed (.ci/install-deps installs it)")
        else:
            out = subprocess.run([cmark, "-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter"],
                                 input=r.summary, capture_output=True, text=True, timeout=30).stdout
            rendered = [html.unescape(x) for x in
                        re.findall(r'<pre><code class="language-mermaid">(.*?)</code></pre>', out, re.S)]
            t.ok(rendered == blocks and len(rendered) == 2,
                 "cmark-gfm renders the charts as mermaid code blocks, unchanged", out[-1500:])
            parser = os.path.join(HERE, "..", "lib", "mermaid-parse.sh")
            p = subprocess.run(["bash", parser], input=json.dumps(rendered + ["xychart-beta\n    line [1, 2,"]),
                               capture_output=True, text=True, timeout=300)
            if p.returncode == 77:
                t.skip("Mermaid parses the charts", "mermaid not available: %s" % p.stdout.strip()[-200:])
            else:
                verdicts = p.stdout.strip().splitlines()
                t.ok(verdicts[:len(rendered)] == ["ok"] * len(rendered), "Mermaid itself parses every chart",
                     p.stdout + p.stderr)
                t.ok(len(verdicts) > len(rendered) and verdicts[-1].startswith("error"),
                     "and refuses a broken one (the parser can fail)", verdicts)

t.done()
