"""Run a real Prometheus (2.42, Debian) on deterministic backfilled data.

stdlib only.  Typical use:

    from promharness import Prometheus, have_prometheus
    with Prometheus({"requests": {"2xx": 199, "5xx": 1}}) as prom:
        prom.url          # http://127.0.0.1:NNNNN
        prom.query('sum(rate(http_requests_total[5m]))')

How it works: openmetrics() writes synthetic history as OpenMetrics text,
`promtool tsdb create-blocks-from openmetrics` turns it into TSDB blocks, and
Prometheus is started on those blocks with a config that has no scrape
targets, listening on 127.0.0.1:0 (the port is read from its log).  The data
runs from `history_s` before now to `future_s` after now, so queries without
`time=` (evaluated at "now") see a full [5m] window on both sides and return
exact values.  Time-based retention (15 d) is measured from the newest block's
end, so data in the future is kept.

Environment: PROMETHEUS / PROMTOOL override the binaries found on PATH.
"""

import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["have_prometheus", "openmetrics", "Prometheus", "PrometheusError",
           "ERROR_RATE_QUERY", "LATENCY_P95_QUERY", "DEFAULT_BUCKETS"]

# The action's default queries (public contract; keep in sync with the C code).
ERROR_RATE_QUERY = ('sum(rate(http_requests_total{status=~"5.."}[5m])) / '
                    'sum(rate(http_requests_total[5m]))')
LATENCY_P95_QUERY = ('histogram_quantile(0.95, sum by (le) '
                     '(rate(http_request_duration_seconds_bucket[5m])))')

DEFAULT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_POLL_S = 0.01            # every wait loop sleeps at most this long (< 50 ms)
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 5.0
_HTTP_TIMEOUT_S = 10.0
_LISTEN_RE = re.compile(r'msg="Listening on" address=(127\.0\.0\.1:\d+)')


class PrometheusError(RuntimeError):
    pass


def _bin(name):
    return os.environ.get(name.upper()) or shutil.which(name)


def have_prometheus() -> bool:
    """True when both prometheus and promtool are executable."""
    for name in ("prometheus", "promtool"):
        path = _bin(name)
        if not path or not os.access(path, os.X_OK):
            return False
    return True


def _num(x) -> str:
    """Format a sample value / bound: integers without '.0', else shortest repr."""
    x = float(x)
    if x == float("inf"):
        return "+Inf"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _status_label(key) -> str:
    """'2xx' -> '200', '5xx' -> '500', '404' -> '404'."""
    key = str(key)
    if re.fullmatch(r"[1-5]xx", key):
        return key[0] + "00"
    if re.fullmatch(r"[1-5]\d\d", key):
        return key
    raise ValueError("requests: status key must be like '2xx' or '503', got %r" % key)


def _at(v, t, switch_at):
    """A value that may step at switch_at: a number, or (before, after)."""
    if isinstance(v, (tuple, list)):
        return v[0] if switch_at is None or t <= switch_at else v[1]
    return v


def _integral(rate, start, t, switch_at):
    """A counter growing at rate (or (before, after) rates that change at switch_at) from start."""
    if isinstance(rate, (tuple, list)):
        sw = t if switch_at is None else max(start, min(t, switch_at))
        return rate[0] * (sw - start) + rate[1] * (t - sw)
    return rate * (t - start)


def _family(selector):
    return selector.split("{", 1)[0]


def openmetrics(series: dict, start: int, end: int, step: int = 15, switch_at=None) -> str:
    """Synthetic history as OpenMetrics text (timestamps in Unix seconds).

    series keys (omit one and that metric is absent):
      "requests": {"2xx": r, "5xx": r, ...}   counter family http_requests,
          samples http_requests_total{status="200"|"500"|...}, value r*(t-start)
          (r = 0 gives a flat 0 counter: rate 0, ratio 0/0 = NaN).
      "latency": {"buckets": [...], "observations_per_s": r, "value_s": v}
          histogram http_request_duration_seconds (_bucket with le incl "+Inf",
          _count, _sum); every observation takes exactly v seconds.
    Samples at start, start+step, ..., <= end.  Ends with '# EOF'.
    """
    unknown = set(series) - {"requests", "latency", "counters", "gauges"}
    if unknown:
        raise ValueError("unknown series keys: %s" % sorted(unknown))
    start, end, step = int(start), int(end), int(step)
    if step <= 0 or end < start:
        raise ValueError("need step > 0 and end >= start")
    times = range(start, end + 1, step)
    out = []

    req = series.get("requests")
    if req is not None:
        out.append("# TYPE http_requests counter")
        out.append("# HELP http_requests Synthetic HTTP requests.")
        for key, rate in req.items():
            code = _status_label(key)
            for t in times:
                out.append('http_requests_total{status="%s"} %s %d'
                           % (code, _num(_integral(rate, start, t, switch_at)), t))

    lat = series.get("latency")
    if lat is not None:
        unknown = set(lat) - {"buckets", "observations_per_s", "value_s"}
        if unknown:
            raise ValueError("unknown latency keys: %s" % sorted(unknown))
        bounds = sorted(float(b) for b in lat.get("buckets", DEFAULT_BUCKETS))
        bounds = [b for b in bounds if b != float("inf")] + [float("inf")]
        rate = lat.get("observations_per_s", 1)
        value = lat.get("value_s", 0.1)
        name = "http_request_duration_seconds"
        out.append("# TYPE %s histogram" % name)
        out.append("# HELP %s Synthetic request latency." % name)
        # One MetricPoint (all buckets + count + sum) per timestamp.
        for t in times:
            # observations before and after the switch, each taking its period's value
            if isinstance(value, (tuple, list)) or isinstance(rate, (tuple, list)):
                r = rate if isinstance(rate, (tuple, list)) else (rate, rate)
                v = value if isinstance(value, (tuple, list)) else (value, value)
                sw = t if switch_at is None else max(start, min(t, switch_at))
                parts = [(r[0] * (sw - start), float(v[0])), (r[1] * (t - sw), float(v[1]))]
            else:
                parts = [(rate * (t - start), float(value))]
            n = sum(p[0] for p in parts)
            for b in bounds:
                out.append('%s_bucket{le="%s"} %s %d'
                           % (name, _num(b), _num(sum(c for c, x in parts if x <= b)), t))
            out.append("%s_count %s %d" % (name, _num(n), t))
            out.append("%s_sum %s %d" % (name, _num(sum(c * x for c, x in parts)), t))

    # "counters": {'app_requests_total{pod="a",status="200"}': rate or (before, after)}
    # "gauges":   {'queue_depth{deployment="atom"}': value or (before, after)}
    for kind, key in (("counter", "counters"), ("gauge", "gauges")):
        families = {}
        for selector, v in (series.get(key) or {}).items():
            families.setdefault(_family(selector), []).append((selector, v))
        for fam, members in families.items():
            base = fam[:-len("_total")] if kind == "counter" and fam.endswith("_total") else fam
            out.append("# TYPE %s %s" % (base, kind))
            for selector, v in members:
                for t in times:
                    val = _integral(v, start, t, switch_at) if kind == "counter" else _at(v, t, switch_at)
                    out.append("%s %s %d" % (selector, _num(val), t))

    out.append("# EOF")
    return "\n".join(out) + "\n"


class Prometheus:
    """A Prometheus child process on backfilled data; use as a context manager.

    series=None starts an empty TSDB.  Attributes after start: url, port, dir,
    log_path, start_seconds (construction to ready), data_start, data_end.
    """

    def __init__(self, series=None, history_s=1800, future_s=1800,
                 extra_flags=(), step=15, switch_ago_s=None, basic_auth=None,
                 query_log=False):
        if history_s < 600 or future_s < 300:
            raise ValueError("history_s >= 600 and future_s >= 300 keep [5m] windows exact")
        if history_s + future_s > 14 * 86400:
            raise ValueError("stay well inside the 15 d retention")
        t0 = time.monotonic()
        self.proc = None
        self.url = None
        self.port = None
        self._tmp = tempfile.TemporaryDirectory(prefix="promharness-")
        self.dir = self._tmp.name
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self._log = None
        self.switch_at = None
        self.basic_auth = basic_auth
        self.query_log_path = os.path.join(self.dir, "queries.log") if query_log else None
        self._switch_ago_s = switch_ago_s
        try:
            self._start(series, history_s, future_s, extra_flags, step)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0

    # -- startup ---------------------------------------------------------
    def _start(self, series, history_s, future_s, extra_flags, step):
        tsdb = os.path.join(self.dir, "data")
        os.mkdir(tsdb)
        now = int(time.time()) // step * step
        self.data_start = now - int(history_s)
        self.data_end = now + int(future_s)
        if self._switch_ago_s is not None:
            # the "deploy": rates given as (before, after) step here, on a sample boundary
            self.switch_at = now - int(self._switch_ago_s) // step * step
        if series:
            om = os.path.join(self.dir, "data.om")
            with open(om, "w") as f:
                f.write(openmetrics(series, self.data_start, self.data_end, step, self.switch_at))
            # promtool cuts 2 h blocks aligned to multiples of 2 h, so the
            # data gives one or two blocks.
            r = subprocess.run([_bin("promtool"), "tsdb", "create-blocks-from",
                                "openmetrics", "--quiet", om, tsdb],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=60)
            if r.returncode != 0:
                raise PrometheusError("promtool failed (%d): %s%s"
                                      % (r.returncode, r.stdout, r.stderr))
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
            if self.query_log_path:
                # every query the server evaluated, with its parameters: what it received
                f.write("  query_log_file: %s\n" % self.query_log_path)
            f.write("scrape_configs: []\n")
        web = []
        if self.basic_auth:
            user, hashed = self.basic_auth[0], self.basic_auth[2]
            webcfg = os.path.join(self.dir, "web.yml")
            with open(webcfg, "w") as f:
                f.write("basic_auth_users:\n  %s: %s\n" % (json.dumps(user), json.dumps(hashed)))
            web = ["--web.config.file=" + webcfg]
        argv = [_bin("prometheus"),
                "--config.file=" + cfg,
                "--storage.tsdb.path=" + tsdb,
                "--web.listen-address=127.0.0.1:0",
                *web, *extra_flags]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        deadline = time.monotonic() + _START_TIMEOUT_S
        addr = None
        while addr is None:
            m = _LISTEN_RE.search(self.log())
            if m:
                addr = m.group(1)
                break
            self._check_alive(deadline, "no 'Listening on' line")
            time.sleep(_POLL_S)
        self.port = int(addr.rsplit(":", 1)[1])
        self.url = "http://" + addr
        while True:
            try:
                status, _, _ = self.get("/-/ready", timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            self._check_alive(deadline, "/-/ready never answered 200")
            time.sleep(_POLL_S)

    def _check_alive(self, deadline, what):
        if self.proc.poll() is not None:
            raise PrometheusError("prometheus exited with %s:\n%s"
                                  % (self.proc.returncode, self.log()))
        if time.monotonic() > deadline:
            raise PrometheusError("prometheus: %s after %.0f s:\n%s"
                                  % (what, _START_TIMEOUT_S, self.log()))

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- HTTP --------------------------------------------------------------
    # No proxy: http_proxy in the environment must not capture 127.0.0.1.
    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def queries(self):
        """The query log (query_log=True): [{"query", "time" (epoch s or None)}] in order."""
        out = []
        try:
            with open(self.query_log_path) as f:
                for line in f:
                    e = json.loads(line)
                    p = e.get("params") or {}
                    end = p.get("end")
                    t = None
                    if end:
                        t = calendar.timegm(time.strptime(end[:19], "%Y-%m-%dT%H:%M:%S"))
                    out.append({"query": p.get("query"), "time": t})
        except OSError:
            pass
        return out

    def get(self, path, params=None, timeout=_HTTP_TIMEOUT_S, auth=True):
        """GET url+path -> (HTTP status, Content-Type, body bytes); any status."""
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url)
        if self.basic_auth and auth:
            import base64
            cred = ("%s:%s" % (self.basic_auth[0], self.basic_auth[1])).encode()
            req.add_header("Authorization", "Basic " + base64.b64encode(cred).decode())
        try:
            with self._opener.open(req, timeout=timeout) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers.get("Content-Type", ""), e.read()

    def query_raw(self, promql, **params):
        """GET /api/v1/query -> (HTTP status, Content-Type, body bytes)."""
        return self.get("/api/v1/query", {"query": promql, **params})

    def query(self, promql, **params) -> dict:
        """GET /api/v1/query -> parsed JSON (error bodies too, e.g. HTTP 400)."""
        status, ctype, body = self.query_raw(promql, **params)
        try:
            return json.loads(body)
        except ValueError:
            raise PrometheusError("HTTP %d, %s, not JSON: %r"
                                  % (status, ctype, body[:200])) from None

    # -- shutdown ----------------------------------------------------------
    def stop(self):
        """SIGTERM, wait (SIGKILL after 5 s), remove the temp dir. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass
