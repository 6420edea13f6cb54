#!/usr/bin/env python3
"""The 'error-rate' and 'latency' checks against a real Prometheus (backfilled, exact data)
and, for what a real Prometheus cannot be made to do on cue (a breach appearing mid-window,
503 timeouts, HTML from a proxy, capturing the bearer header), a small in-process stand-in."""

import json
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import TAP, check, free_port, leaked, run_gate, service  # noqa: E402
from promharness import ERROR_RATE_QUERY, LATENCY_P95_QUERY, Prometheus, have_prometheus  # noqa: E402

t = TAP()
if not have_prometheus():
    t.skip_all("prometheus not installed")

# exact answers on backfilled data (promtool tsdb create-blocks-from openmetrics, no scraping):
# ratios are exact, p95 interpolates linearly inside its histogram bucket
HEALTHY = {"requests": {"2xx": 1999, "5xx": 1},                    # 0.05% errors
           "latency": {"observations_per_s": 10, "value_s": 0.04}}  # p95 = 0.95 * 0.05 = 47.5 ms
HALF = {"requests": {"2xx": 199, "5xx": 1},                         # 0.5% errors
        "latency": {"observations_per_s": 10, "value_s": 0.04}}
SLOW = {"requests": {"2xx": 100, "5xx": 0},                          # 0% errors
        "latency": {"observations_per_s": 10, "value_s": 0.975}}    # p95 = 0.5 + 0.95 * 0.5 = 975 ms
NO_TRAFFIC = {"requests": {"2xx": 0, "5xx": 0},                      # 0/0 = NaN
              "latency": {"observations_per_s": 0}}                  # p95 of nothing = NaN
NO_REQUESTS_METRIC = {"latency": {"observations_per_s": 10, "value_s": 0.04}}
TRAFFIC_QUERY = "sum(rate(http_requests_total[5m]))"
ONLY_2XX = {"requests": {"2xx": 50},                                  # no 5xx series was ever created
            "latency": {"observations_per_s": 10, "value_s": 0.04}}


def gate(svc, prom_url, environment="staging", **inputs):
    base = {"url": svc.url, "environment": environment, "rollback": False, "create-issue": False,
            "prometheus-url": prom_url}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    return run_gate(base, timeout=90)



def samples(r, name):
    return ((check(r, name).get("data") or {}).get("samples")) or []


def expect(r, rc, statuses, what):
    """rc and {check: status}, with the run's output on failure."""
    got = {n: check(r, n).get("status") for n in statuses}
    return t.ok(r.rc == rc and got == statuses, "%s: exit %d, %s" % (what, rc, statuses),
                "got exit %r, %r\n%s" % (r.rc, got, r.dump()))


class FakeProm:
    """In-process stand-in for GET /api/v1/query. answer(kind, n, query) -> (status, ctype, body)
    where kind is 'latency' for a query on a _bucket metric, else 'error-rate', and n counts that
    kind's requests from 0. Records method, path, query and headers of every request."""

    def __init__(self, answer):
        fake = self
        self.answer = answer
        self.requests = []
        self.lock = threading.Lock()
        self.counts = {}
        self.traffic = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query).get("query", [""])[0]
                if q == TRAFFIC_QUERY:
                    # the default error-rate query's denominator, asked alongside it: traffic flows
                    with fake.lock:
                        fake.traffic += 1
                    status, ctype, body = vector("10")
                    body = body.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                kind = "latency" if "_bucket" in q else "error-rate"
                with fake.lock:
                    n = fake.counts.get(kind, 0)
                    fake.counts[kind] = n + 1
                    fake.requests.append({"method": self.command, "path": u.path, "raw": self.path,
                                          "query": q, "kind": kind,
                                          "headers": {k.lower(): v for k, v in self.headers.items()}})
                status, ctype, body = fake.answer(kind, n, q)
                body = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client gone mid-request (the SIGTERM case) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, kind):
        with self.lock:
            return self.counts.get(kind, 0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


def vector(*values, labels=None):
    result = [{"metric": (labels[i] if labels else {}), "value": [time.time(), v]}
              for i, v in enumerate(values)]
    return 200, "application/json", json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": result}})


def answers(error_rate, latency):
    """answer function from per-kind lists of vector values (the last one repeats)."""
    def answer(kind, n, q):
        seq = error_rate if kind == "error-rate" else latency
        v = seq[min(n, len(seq) - 1)]
        return v if isinstance(v, tuple) else vector(v)
    return answer


with service() as svc:
    # ---- real Prometheus: healthy, and 0.5% errors against both environments' limits ----------
    with Prometheus(HEALTHY) as prom:
        t.diag("prometheus ready in %.2f s" % prom.start_seconds)
        r = gate(svc, prom.url, max_latency="500ms")
        expect(r, 0, {"error-rate": "pass", "latency": "pass"}, "healthy staging")
        er, lat = check(r, "error-rate"), check(r, "latency")
        t.eq((er.get("value"), er.get("limit")), ("0.05%", "< 1%"), "error-rate value and limit shown")
        t.ok("0.05% of requests failed (limit < 1% on staging)" in (er.get("detail") or ""),
             "error-rate detail says what was measured against which limit", er.get("detail"))
        t.eq((lat.get("value"), lat.get("limit")), ("47.5 ms", "<= 500 ms"), "latency value and limit shown")
        t.eq((r.outputs.get("error-rate"), r.outputs.get("latency-ms")), ("0.0005", "48"),
             "outputs: error-rate a fraction, latency-ms")
        t.eq(len(samples(r, "error-rate")), 1, "one evaluation recorded")
        t.eq(samples(r, "error-rate")[0].get("value") if samples(r, "error-rate") else None, 0.0005,
             "the sample's value is the fraction")
        t.ok(ERROR_RATE_QUERY in r.stdout and LATENCY_P95_QUERY in r.stdout, "both queries in the log")
        t.eq(((r.report or {}).get("metrics") or {}).get("error_rate_query"), ERROR_RATE_QUERY, "query in the report")
        t.ok("0.05%" in r.summary and "&lt; 1%" in r.summary, "summary shows value and limit (escaped Markdown)", r.summary)

        r = gate(svc, prom.url, environment="production")
        expect(r, 0, {"error-rate": "pass", "latency": "pass"}, "healthy production (0.05% < 0.1%)")
        t.ok("not judged" in (check(r, "latency").get("detail") or ""), "latency without max-latency: measured, not judged")
        t.eq(r.outputs.get("latency-ms"), "48", "unjudged latency still in the outputs")

    with Prometheus(HALF) as prom:
        r = gate(svc, prom.url)
        expect(r, 0, {"error-rate": "pass"}, "0.5% errors on staging")
        r = gate(svc, prom.url, environment="production")
        expect(r, 1, {"error-rate": "fail"}, "0.5% errors on production")
        d = check(r, "error-rate").get("detail") or ""
        t.ok("0.50% of requests failed, at or above the limit (< 0.1% on production)" in d, "breach detail", d)
        t.eq(r.outputs.get("failed-checks"), "error-rate", "failed-checks output")
        t.eq(r.outputs.get("error-rate"), "0.005", "breaching rate in the outputs")
        t.ok("::error title=error-rate::" in r.stdout, "annotated as an error")

        r = gate(svc, prom.url, max_error_rate="0.4%")
        expect(r, 1, {"error-rate": "fail"}, "max-error-rate 0.4% overrides staging's 1%")
        t.eq(check(r, "error-rate").get("limit"), "< 0.4%", "override shown as the limit")
        r = gate(svc, prom.url, max_error_rate="0.005")
        expect(r, 1, {"error-rate": "fail"}, "max-error-rate 0.005: at the limit is not below it")
        r = gate(svc, prom.url, environment="production", max_error_rate="0.006")
        expect(r, 0, {"error-rate": "pass"}, "max-error-rate 0.006 overrides production's 0.1%")
        r = gate(svc, prom.url, environment="production", max_error_rate="1%")
        expect(r, 0, {"error-rate": "pass"}, "max-error-rate 1% on production")

        # monitoring that must not wait out the window once the release is bad
        r = gate(svc, prom.url, environment="production", monitor_duration="60s", monitor_interval="1s")
        expect(r, 1, {"error-rate": "fail"}, "monitoring a breaching release")
        t.ok(r.elapsed < 10, "stopped at the first breach, not after 60 s (%.1f s)" % r.elapsed)
        t.eq([s.get("status") for s in samples(r, "error-rate")], ["fail"], "the breaching sample is in the report")
        t.ok("monitoring stopped at evaluation 1 of 61" in (check(r, "error-rate").get("detail") or ""),
             "detail says monitoring stopped", check(r, "error-rate").get("detail"))

    with Prometheus(SLOW) as prom:
        r = gate(svc, prom.url, max_latency="500ms")
        expect(r, 1, {"error-rate": "pass", "latency": "fail"}, "latency over max-latency")
        lat = check(r, "latency")
        t.eq((lat.get("value"), lat.get("limit")), ("975 ms", "<= 500 ms"), "latency value against its limit")
        t.ok("over the limit" in (lat.get("detail") or ""), "latency breach detail", lat.get("detail"))
        t.eq(check(r, "error-rate").get("value"), "0%", "0 errors measured as 0%")
        r = gate(svc, prom.url, max_latency="1s")
        expect(r, 0, {"latency": "pass"}, "latency under a 1s max-latency")

    # ---- no data: never 0% --------------------------------------------------------------------
    with Prometheus(NO_TRAFFIC) as prom:
        for policy, rc, status in (("pass", 0, "pass"), ("warn", 0, "warn"), ("fail", 1, "fail")):
            r = gate(svc, prom.url, on_no_data=policy)
            expect(r, rc, {"error-rate": status}, "no traffic (NaN) with on-no-data %s" % policy)
            d = check(r, "error-rate").get("detail") or ""
            t.ok("no traffic seen" in d and "NaN" in d and ("on-no-data: %s" % policy) in d,
                 "detail says no traffic was seen (%s)" % policy, d)
            t.eq((check(r, "error-rate").get("value"), r.outputs.get("error-rate")), ("no data", ""),
                 "no data is not 0%% (%s)" % policy)
        t.eq(check(r, "latency").get("status"), "warn", "unjudged latency without data warns, never fails")
        r = gate(svc, prom.url, on_no_data="fail", max_latency="500ms")
        expect(r, 1, {"error-rate": "fail", "latency": "fail"}, "judged latency without data follows on-no-data")

    with Prometheus(ONLY_2XX) as prom:
        r = gate(svc, prom.url, environment="production")
        expect(r, 0, {"error-rate": "pass"}, "traffic without any 5xx series is 0% errors, not no data")
        t.eq(r.outputs.get("error-rate"), "0", "error-rate output is 0")
        t.ok("no 5xx series exists" in (check(r, "error-rate").get("detail") or ""), "detail explains the 0%",
             check(r, "error-rate").get("detail"))
        r = gate(svc, prom.url, environment="production",
                 error_rate_query='sum(rate(http_requests_total{status=~"5.."}[5m]))/sum(rate(http_requests_total[5m]))')
        t.eq(check(r, "error-rate").get("status"), "warn", "a custom query's empty result stays no data")

    with Prometheus(NO_REQUESTS_METRIC) as prom:
        r = gate(svc, prom.url)
        expect(r, 0, {"error-rate": "warn", "latency": "pass"}, "metric absent (empty vector) is no data")
        t.ok("returned no series" in (check(r, "error-rate").get("detail") or ""), "detail: no series",
             check(r, "error-rate").get("detail"))

        # ---- Prometheus errors: reported as such, never a breach ------------------------------
        bad = "sum(rate(http_requests_total[5m]"
        r = gate(svc, prom.url, error_rate_query=bad)
        expect(r, 0, {"error-rate": "warn", "latency": "pass"}, "invalid query on staging warns")
        d = check(r, "error-rate").get("detail") or ""
        t.ok("HTTP 400, bad_data" in d and "parse error" in d, "Prometheus's errorType and message reported", d)
        t.ok("not counted as a breach" in d and "at or above" not in d, "an invalid query is not a breach", d)
        t.eq(check(r, "error-rate").get("value"), "query failed", "value says the query failed")
        r = gate(svc, prom.url, environment="production", error_rate_query=bad)
        expect(r, 1, {"error-rate": "fail"}, "invalid query on production fails closed")
        r = gate(svc, prom.url, environment="production", error_rate_query=bad, on_query_error="warn")
        expect(r, 0, {"error-rate": "warn"}, "on-query-error warn on production")

        r = gate(svc, prom.url + "/api/v1")
        expect(r, 0, {"error-rate": "warn", "latency": "warn"}, "a wrong base URL (404 text body) warns on staging")
        d = check(r, "error-rate").get("detail") or ""
        t.ok("HTTP 404" in d and "404 page not found" in d and "base URL" in d, "404 text reported with a hint", d)

    closed = "http://127.0.0.1:%d" % free_port()
    r = gate(svc, closed, retries="1")
    expect(r, 0, {"error-rate": "warn", "latency": "warn"}, "Prometheus unreachable on staging warns")
    d = check(r, "error-rate").get("detail") or ""
    t.ok("no answer from Prometheus" in d and "not counted as a breach" in d and "after 2 attempts" in d,
         "unreachable reported, retried, not a breach", d)
    t.eq(r.outputs.get("error-rate"), "", "error-rate output empty when not measured")
    r = gate(svc, closed, environment="production", retries="0")
    expect(r, 1, {"error-rate": "fail", "latency": "warn"}, "Prometheus unreachable on production fails")
    t.ok("breach" not in (check(r, "error-rate").get("detail") or "").replace("not counted as a breach", ""),
         "never called a breach", check(r, "error-rate").get("detail"))

    # ---- monitoring a healthy series: the whole window, every sample recorded -----------------
    with Prometheus(HEALTHY) as prom:
        r = gate(svc, prom.url, monitor_duration="3s", monitor_interval="1s", max_latency="500ms")
        expect(r, 0, {"error-rate": "pass", "latency": "pass"}, "monitoring a healthy release")
        t.ok(2.9 <= r.elapsed < 8, "took about the monitor-duration (%.1f s)" % r.elapsed)
        t.eq((len(samples(r, "error-rate")), len(samples(r, "latency"))), (4, 4), "4 samples of each (0,1,2,3 s)")
        t.ok(all("[%d/4] error-rate 0.05%% (< 1%%), latency 47.5 ms (<= 500 ms)" % i in r.stdout for i in (1, 2, 3, 4)),
             "a progress line per evaluation", r.stdout)
        el = [s.get("elapsed_ms", 0) for s in samples(r, "error-rate")]
        t.ok(len(el) == 4 and all(500 <= b - a <= 1500 for a, b in zip(el, el[1:])),
             "samples one interval apart (evaluations are scheduled from the start): %s" % el)
        t.eq(r.outputs.get("error-rate"), "0.0005", "output from the last evaluation")

        # the gate already failed (no rollback armed): measure once, do not wait out the window
        with service("bad-release") as bad:
            r = gate(bad, prom.url, monitor_duration="60s", monitor_interval="1s")
            t.ok(r.rc == 1 and check(r, "database").get("status") == "fail", "bad release: database failed first",
                 r.dump())
            t.ok(r.elapsed < 10 and len(samples(r, "error-rate")) == 1,
                 "one evaluation instead of a 60 s window (%.1f s)" % r.elapsed)
            t.ok("one evaluation instead of monitoring for 1m" in r.stdout, "the log says why")

    # ---- stand-in: what a real Prometheus will not do on cue ---------------------------------
    token = "prom-tok-Qx7Lw2Zp9Hr4Vn8K"
    with FakeProm(answers(["0.001"], ["0.2"])) as fake:
        r = gate(svc, fake.url, prometheus_token=token, max_latency="500ms")
        expect(r, 0, {"error-rate": "pass", "latency": "pass"}, "stand-in: healthy answers")
        reqs = fake.requests
        t.eq(sorted(q["kind"] for q in reqs), ["error-rate", "latency"], "one query of each kind")
        t.ok(all(q["method"] == "GET" and q["path"] == "/api/v1/query" for q in reqs), "GET /api/v1/query", reqs)
        t.ok(all(q["headers"].get("authorization") == "Bearer " + token for q in reqs),
             "prometheus-token sent as Authorization: Bearer", [q["headers"].get("authorization") for q in reqs])
        t.eq(sorted(q["query"] for q in reqs), sorted([ERROR_RATE_QUERY, LATENCY_P95_QUERY]),
             "the default queries arrive intact")
        t.ok(all(" " not in q["raw"] and "{" not in q["raw"] for q in reqs), "query percent-encoded on the wire")
        t.eq(leaked([token], r), [], "prometheus-token never leaked")
        t.ok("::add-mask::" + token in r.stdout, "prometheus-token masked for the runner")
        t.eq(check(r, "latency").get("value"), "200 ms", "seconds converted to ms")

    with FakeProm(answers(["0.001", "0.002", "0.05"], ["0.1"])) as fake:
        r = gate(svc, fake.url, monitor_duration="60s", monitor_interval="500ms")
        expect(r, 1, {"error-rate": "fail", "latency": "pass"}, "stand-in: breach at the third evaluation")
        t.ok(r.elapsed < 10, "monitoring stopped at the breach (%.1f s of a 60 s window)" % r.elapsed)
        t.eq([s.get("status") for s in samples(r, "error-rate")], ["pass", "pass", "fail"], "samples up to the breach")
        t.eq((fake.count("error-rate"), fake.count("latency")), (3, 3), "no query after the breach")
        t.ok("monitoring stopped at evaluation 3 of 121" in (check(r, "latency").get("detail") or ""),
             "the other check says why monitoring stopped", check(r, "latency").get("detail"))
        t.ok("[3/121] error-rate 5.00% (< 1%: FAIL)" in r.stdout, "progress line marks the breach")
        t.eq(r.outputs.get("error-rate"), "0.05", "the breaching measurement in the outputs")

    multi = vector("0.001", "0.02", "NaN", labels=[{"service": "a"}, {"service": "b"}, {"service": "c"}])
    with FakeProm(answers([multi], ["0.1"])) as fake:
        r = gate(svc, fake.url)
        expect(r, 1, {"error-rate": "fail"}, "stand-in: several series, the worst judged")
        d = check(r, "error-rate").get("detail") or ""
        t.ok("worst of 3 series" in d and 'service="b"' in d and "1 without data" in d, "detail names the worst series", d)

    timeout = (503, "application/json",
               '{"status":"error","errorType":"timeout","error":"query timed out in query execution"}')
    with FakeProm(answers([timeout, "0.0005"], ["0.1"])) as fake:
        r = gate(svc, fake.url, environment="production")
        expect(r, 0, {"error-rate": "pass"}, "stand-in: a 503 timeout is retried")
        t.eq(fake.count("error-rate"), 2, "retried once, then answered")
    with FakeProm(answers([timeout], ["0.1"])) as fake:
        r = gate(svc, fake.url, environment="production", retries="1")
        expect(r, 1, {"error-rate": "fail"}, "stand-in: persistent 503 timeout on production")
        d = check(r, "error-rate").get("detail") or ""
        t.ok("HTTP 503, timeout: query timed out" in d and "not counted as a breach" in d, "errorType reported", d)

    html = (200, "text/html", "<!DOCTYPE html>\n<html><body><form>Sign in</form></body></html>")
    with FakeProm(answers([html], [html])) as fake:
        r = gate(svc, fake.url)
        expect(r, 0, {"error-rate": "warn", "latency": "warn"}, "stand-in: an HTML login page warns on staging")
        t.ok("HTML page" in (check(r, "error-rate").get("detail") or ""), "named as an HTML page",
             check(r, "error-rate").get("detail"))

    with FakeProm(answers(["0.001"], ["+Inf"])) as fake:
        r = gate(svc, fake.url, max_latency="500ms")
        expect(r, 1, {"latency": "fail"}, "stand-in: +Inf latency is a breach")
        t.eq((check(r, "latency").get("value"), r.outputs.get("latency-ms")), ("+Inf ms", ""),
             "+Inf shown, not written as a number")

    # ---- SIGTERM while monitoring: stop promptly -----------------------------------------------
    with FakeProm(answers(["0.001"], ["0.1"])) as fake, tempfile.TemporaryDirectory() as tmp:
        pidfile = os.path.join(tmp, "pid")
        old = os.environ.get("ATOM_SAFETY_TEST_WRAPPER")
        # not sh: it drops INPUT_PROMETHEUS-URL and friends (hyphens are not shell names)
        prog = ("import os, sys; open(%r, 'w').write(str(os.getpid())); os.execvp(sys.argv[1], sys.argv[1:])"
                % pidfile)
        os.environ["ATOM_SAFETY_TEST_WRAPPER"] = "%s -c %s %s" % (
            shlex.quote(sys.executable), shlex.quote(prog), old or "")
        result = {}
        th = threading.Thread(target=lambda: result.setdefault(
            "r", gate(svc, fake.url, monitor_duration="60s", monitor_interval="1s")))
        th.start()
        deadline = time.monotonic() + 30
        while fake.count("error-rate") < 2 and time.monotonic() < deadline and th.is_alive():
            time.sleep(0.01)
        sent = time.monotonic()
        try:
            with open(pidfile) as f:
                os.kill(int(f.read()), signal.SIGTERM)
        except (OSError, ValueError) as ex:
            t.diag("could not signal the gate: %s" % ex)
        th.join(60)
        if old is None:
            del os.environ["ATOM_SAFETY_TEST_WRAPPER"]
        else:
            os.environ["ATOM_SAFETY_TEST_WRAPPER"] = old
        r = result.get("r")
        t.ok(r is not None and r.rc == 1, "SIGTERM while monitoring: exit 1", r.dump() if r else "no result")
        if r is not None:
            t.ok(time.monotonic() - sent < 5, "stopped promptly after SIGTERM")
            t.eq((r.report or {}).get("cancelled"), True, "report says cancelled")
            t.eq(check(r, "error-rate").get("status"), "skip", "the check is not passed after a cancel")
            t.ok(len(samples(r, "error-rate")) >= 1, "samples so far kept in the report")

    # ---- no Prometheus configured ------------------------------------------------------------
    r = gate(svc, "")
    expect(r, 0, {"error-rate": "skip", "latency": "skip"}, "prometheus-url empty: both skipped, the gate goes on")
    t.ok("prometheus-url is not set" in (check(r, "error-rate").get("detail") or ""), "skip says why")
    t.eq((r.outputs.get("error-rate"), r.outputs.get("latency-ms")), ("", ""), "no metrics outputs")

t.done()
