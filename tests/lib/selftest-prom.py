#!/usr/bin/env python3
"""TAP self-test of promharness against a real Prometheus.

Checks the action's default queries on backfilled data.  One Prometheus per
distinct data set (startup is ~0.1-0.3 s, measured and printed as '#' lines).

    python3 tests/lib/selftest-prom.py [--record DIR]

--record DIR writes the raw bodies Prometheus returned (the unit-test fixtures
under tests/data/prom/) to DIR.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promharness import (ERROR_RATE_QUERY, LATENCY_P95_QUERY, DEFAULT_BUCKETS,  # noqa: E402
                         Prometheus, have_prometheus)

_n = 0
_failed = 0
_recorded = {}


def ok(cond, name, diag=None):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", _n, name))
    if diag is not None and not cond:
        for line in str(diag).splitlines():
            print("#   " + line)
    sys.stdout.flush()
    return cond


def diag(msg):
    print("# " + msg)
    sys.stdout.flush()


def record(name, body):
    _recorded[name] = body


def values(resp):
    """A success vector's sample values (strings), [] if empty; None if not a vector."""
    if resp.get("status") != "success" or resp["data"].get("resultType") != "vector":
        return None
    return [s["value"][1] for s in resp["data"]["result"]]


def single(resp):
    v = values(resp)
    return v[0] if v and len(v) == 1 else None


def started(series):
    p = Prometheus(series)
    diag("prometheus %s started in %.3f s (%s)" % (p.url, p.start_seconds, sorted(series)))
    return p


def main():
    if not have_prometheus():
        print("1..0 # SKIP prometheus not installed")
        return 0
    outdir = None
    if len(sys.argv) == 3 and sys.argv[1] == "--record":
        outdir = sys.argv[2]
    elif len(sys.argv) != 1:
        print("usage: selftest-prom.py [--record DIR]", file=sys.stderr)
        return 2

    t_all = time.monotonic()
    startups = []

    # A: healthy traffic, every request takes 0.3 s.
    with started({"requests": {"2xx": 10, "5xx": 0},
                  "latency": {"buckets": list(DEFAULT_BUCKETS),
                              "observations_per_s": 10, "value_s": 0.3}}) as p:
        startups.append(p.start_seconds)
        r = p.query(ERROR_RATE_QUERY)
        ok(single(r) == "0", "healthy: error rate is \"0\"", r)
        r = p.query(LATENCY_P95_QUERY)
        v = single(r)
        good = v is not None and 0.25 < float(v) < 0.5
        # classic histogram: linear interpolation inside (0.25, 0.5]
        good = good and abs(float(v) - (0.25 + 0.25 * 0.95)) < 1e-9
        ok(good, "latency 0.3 s: p95 is %s (in (0.25, 0.5), linear interpolation)" % v, r)
        diag("p95 for 0.3 s observations: %s" % v)

    # B: 0.5 % errors, no latency histogram.
    with started({"requests": {"2xx": 199, "5xx": 1}}) as p:
        startups.append(p.start_seconds)
        status, ctype, body = p.query_raw(ERROR_RATE_QUERY)
        record("vector-ok.json", body)
        r = p.query(ERROR_RATE_QUERY)
        v = single(r)
        ok(status == 200 and ctype.startswith("application/json") and v is not None
           and (v == "0.005" or abs(float(v) - 0.005) < 1e-9),
           "0.5%% errors: error rate is %s" % v, (status, ctype, body))

        r = p.query(LATENCY_P95_QUERY)
        ok(values(r) == [], "latency family absent: p95 is an empty vector", r)

        q = 'sum by (status) (rate(http_requests_total[5m]))'
        status, ctype, body = p.query_raw(q)
        record("vector-multi.json", body)
        r = p.query(q)
        got = sorted((s["metric"].get("status"), s["value"][1])
                     for s in r.get("data", {}).get("result", []))
        # A single rate() is extrapolated over a window that starts at an
        # arbitrary millisecond, so it may be off in the last ulp
        # ("198.99999999999997"); the ratio above cancels that.
        ok([k for k, _ in got] == ["200", "500"]
           and all(abs(float(v) - want) <= 1e-9 * want
                   for (_, v), want in zip(got, (199, 1))),
           "sum by (status): two samples %s" % got, r)

        status, ctype, body = p.query_raw("sum(rate(")
        record("error-bad-data.json", body)
        r = p.query("sum(rate(")
        ok(status == 400 and r.get("status") == "error" and r.get("errorType") == "bad_data",
           "invalid query: HTTP %d %s" % (status, r.get("errorType")), body)
        diag("bad_data error: %s" % r.get("error"))

        status, ctype, body = p.query_raw("scalar(vector(1))")
        record("scalar.json", body)
        r = p.query("scalar(vector(1))")
        res = r.get("data", {}).get("result")
        ok(r.get("data", {}).get("resultType") == "scalar" and isinstance(res, list)
           and len(res) == 2 and isinstance(res[0], (int, float)) and res[1] == "1",
           "scalar(vector(1)): result is the pair [ts, \"1\"]", r)

        status, ctype, body = p.query_raw("vector(1)/0")
        record("inf.json", body)
        r = p.query("vector(1)/0")
        ok(single(r) == "+Inf", "vector(1)/0 is \"+Inf\"", r)

        status, ctype, body = p.get("/api/v1/nope")
        record("404.txt", body)
        ok(status == 404 and ctype.startswith("text/plain")
           and body == b"404 page not found\n",
           "GET /api/v1/nope: 404 text/plain, not JSON", (status, ctype, body))

        status, ctype, body = p.query_raw(ERROR_RATE_QUERY, time="not-a-time")
        ok(status == 400 and b'"bad_data"' in body, "bad time=: HTTP 400 bad_data", body)

        proc = p.proc
    ok(proc.poll() is not None and p.proc is None, "stop(): child reaped (exit %s)" % proc.returncode)
    p.stop()  # idempotent
    ok(True, "stop() twice is harmless")

    # C: no traffic at all.
    with started({"requests": {"2xx": 0, "5xx": 0},
                  "latency": {"observations_per_s": 0, "value_s": 0.3}}) as p:
        startups.append(p.start_seconds)
        status, ctype, body = p.query_raw(ERROR_RATE_QUERY)
        record("vector-nan.json", body)
        r = p.query(ERROR_RATE_QUERY)
        ok(single(r) == "NaN", "no traffic: error rate is \"NaN\"", r)
        r = p.query(LATENCY_P95_QUERY)
        ok(single(r) == "NaN", "no traffic: p95 is \"NaN\"", r)

    # D: requests family absent; every observation (20 s) lands in +Inf.
    with started({"latency": {"buckets": list(DEFAULT_BUCKETS),
                              "observations_per_s": 5, "value_s": 20}}) as p:
        startups.append(p.start_seconds)
        status, ctype, body = p.query_raw(ERROR_RATE_QUERY)
        record("vector-empty.json", body)
        r = p.query(ERROR_RATE_QUERY)
        ok(values(r) == [], "requests family absent: empty vector", r)
        r = p.query(LATENCY_P95_QUERY)
        v = single(r)
        ok(v == "10", "all in +Inf: p95 is %s (highest finite le, not +Inf)" % v, r)

    # E: no data at all.
    with Prometheus(None) as p:
        startups.append(p.start_seconds)
        r = p.query(ERROR_RATE_QUERY)
        ok(values(r) == [], "empty TSDB: empty vector", r)

    # F: a step at the "deploy" (issue 15): rates and gauges before and after, the query log.
    with Prometheus({"requests": {"2xx": (999, 995), "5xx": (1, 5)},
                     "gauges": {'queue_depth{deployment="a"}': (3, 7)}},
                    switch_ago_s=600, query_log=True) as p:
        startups.append(p.start_seconds)
        now_v = single(p.query(ERROR_RATE_QUERY))
        before_v = single(p.query(ERROR_RATE_QUERY, time=p.switch_at))
        ok(now_v == "0.005" and before_v is not None and abs(float(before_v) - 0.001) < 1e-12,
           "step: 0.5%% after the switch, 0.1%% at it (%s, %s)" % (now_v, before_v))
        g_before = single(p.query('queue_depth{deployment="a"}', time=p.switch_at))
        g_after = single(p.query('queue_depth{deployment="a"}'))
        ok((g_before, g_after) == ("3", "7"), "gauge: 3 up to the switch, 7 after (%s, %s)" % (g_before, g_after))
        log = p.queries()
        ok(len(log) == 4 and log[1]["time"] == p.switch_at and log[0]["query"] == ERROR_RATE_QUERY,
           "the query log records each query and its time=", log)

    diag("startup (promtool + prometheus ready) per instance: %s s"
         % ", ".join("%.3f" % s for s in startups))
    total = time.monotonic() - t_all
    ok(total < 15, "whole test in %.2f s (< 15 s)" % total)

    if outdir:
        os.makedirs(outdir, exist_ok=True)
        for name, body in sorted(_recorded.items()):
            with open(os.path.join(outdir, name), "wb") as f:
                f.write(body)
        diag("recorded %d bodies in %s" % (len(_recorded), outdir))

    print("1..%d" % _n)
    return 1 if _failed else 0


if __name__ == "__main__":
    sys.exit(main())
