#!/usr/bin/env python3
"""Stand-in for the deployed web service that atom-safety checks.

Used by the integration tests, the bundled demo and the benchmark.
Python 3 standard library only.

    service.py [--port N] [--host ADDR] [--preset NAME] [--config JSON|@file.json]...
               [--log FILE] [--tls CERT KEY]

After binding it prints exactly one line, ``READY http://127.0.0.1:PORT``
(``https`` with --tls), and flushes.  SIGTERM/SIGINT exit cleanly with 0.

Built-in behaviour (all driven by the config, see DEFAULTS):
  GET  <health_path>  (/health)          health check, supports fail_first
  GET  <db_path>      (/health/db)       database check, supports fail_first
  POST <login.path>   (/api/auth/login)  {"username","password"} -> token
  any  /api/...                          default_route (bearer token required)
  any  other                             404 {"detail":"not found"}
A spec in config["routes"]["METHOD /path"] overrides all of the above for
that method and path (query string ignored) and may select a hostile mode:
hang, trickle, huge, close_mid, redirect, nested, badutf8.

Control endpoints (never recorded, never delayed):
  GET  /_test/requests   JSON array of recorded requests
  POST /_test/reset      clear the record and the fail_first counters
  GET  /_test/config     current config
  GET  /_test/connections with "count_connections": true in the config:
                         {"connections": N, "max_open": M, "requests": [per
                         connection]} over the connections that carried at
                         least one non-/_test request since the last reset
  POST /_test/config     deep-merge the JSON body into the config (dicts
                         merge, other values replace; null = "unset");
                         resets fail_first counters; answers the new config
"""

import argparse
import copy
import json
import os
import select
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standin
from standin import load_config_arg

DEFAULTS = {
    "delay_ms": 0,
    "token": "tok-demo",
    "users": {"smoke_test": "demo-password"},
    "health_path": "/health",
    "db_path": "/health/db",
    "health": {
        "status": 200,
        "body": {"status": "ok"},
        "fail_first": 0,
        "fail_status": 503,
        "fail_body": {"status": "starting"},
        "delay_ms": 0,
    },
    "db": {
        "status": 200,
        "body": {
            "status": "ok",
            "database": "reachable",
            "query_time_ms": 12.5,
            "pool": {"size": 10, "in_use": 2, "idle": 8},
        },
        "delay_ms": 0,
    },
    "login": {
        "path": "/api/auth/login",
        "token_field": "access_token",
        "status": None,
        "raw_body": None,
        "delay_ms": 0,
    },
    "routes": {},
    "default_route": {"status": 200, "body": {"ok": True}, "require_auth": True},
    # Not part of the public contract: set false to stop recording requests
    # (keeps memory flat in long benchmark runs).
    "record": True,
    # Benchmark aid: count the TCP connections that carried requests (see
    # GET /_test/connections).  Off by default: nothing changes when unset.
    "count_connections": False,
}

PRESETS = {
    "healthy": {},
    "bad-release": {
        "db": {"body": {"status": "unhealthy", "query_time_ms": 2300}},
        "routes": {"GET /api/projects": {"status": 500, "body": {"error": "internal"}}},
    },
    "slow-start": {"health": {"fail_first": 3}},
}

DEFAULT_FAIL_BODY = {"error": "service unavailable"}
CLOSE_MID_PREFIX = b'{"status":'  # 10 bytes
MAX_REQUEST_BODY = 64 * 1024 * 1024
HANG_LIMIT_S = 600


def deep_merge(base, patch):
    """Merge patch into base in place: dicts merge recursively, anything else
    (including null) replaces.  A null setting means "unset / use the default"
    everywhere except a spec's "body", where it is the JSON body null."""
    return standin.deep_merge(base, patch, null_deletes=False)


def g(spec, key, default=None):
    """spec[key], or default when missing or null."""
    value = spec.get(key) if isinstance(spec, dict) else None
    return default if value is None else value


def build_config(preset="healthy", patches=()):
    cfg = copy.deepcopy(DEFAULTS)
    deep_merge(cfg, PRESETS[preset])
    for p in patches:
        deep_merge(cfg, p)
    return cfg


def ms_sleep(ms):
    try:
        ms = float(ms or 0)
    except (TypeError, ValueError):
        return
    if ms > 0:
        time.sleep(ms / 1000.0)


def nest(path, value):
    """'data.token' -> {"data": {"token": value}}"""
    parts = [p for p in str(path).split(".") if p] or ["access_token"]
    out = value
    for part in reversed(parts):
        out = {part: out}
    return out


class State:
    def __init__(self, config, log_path=None):
        self.lock = threading.Lock()
        self.config = config
        self.requests = []
        self.counters = {}
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        # count_connections: requests per connection, this generation (reset bumps it)
        self.conn_generation = 0
        self.conn_requests = []
        self.conn_open = 0
        self.conn_max_open = 0

    def snapshot(self):
        with self.lock:
            return copy.deepcopy(self.config)

    def record(self, entry):
        with self.lock:
            if self.config.get("record") is not False:
                self.requests.append(entry)
            if self.log:
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()

    def count_request(self, handler):
        """Attribute one request to handler's connection (count_connections)."""
        with self.lock:
            if self.config.get("count_connections") is not True:
                return
            if handler.conn_slot is None or handler.conn_slot[0] != self.conn_generation:
                handler.conn_slot = (self.conn_generation, len(self.conn_requests))
                self.conn_requests.append(0)
                self.conn_open += 1
                self.conn_max_open = max(self.conn_max_open, self.conn_open)
            self.conn_requests[handler.conn_slot[1]] += 1

    def connection_closed(self, handler):
        with self.lock:
            if handler.conn_slot is not None and handler.conn_slot[0] == self.conn_generation:
                self.conn_open -= 1
            handler.conn_slot = None

    def bump(self, key):
        """Return how many requests hit key before this one."""
        with self.lock:
            n = self.counters.get(key, 0)
            self.counters[key] = n + 1
            return n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without this, Nagle plus the
    # client's delayed ACK adds 40 ms to every keep-alive reply
    disable_nagle_algorithm = True
    server_version = "atom-demo-service/1.0"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by base class
        pass

    conn_slot = None  # count_connections: (generation, index) once it carried a request

    # -- plumbing ---------------------------------------------------------

    def finish(self):
        try:
            super().finish()
        finally:
            self.state.connection_closed(self)

    @property
    def state(self):
        return self.server.state

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def dispatch(self):
        try:
            self._dispatch()
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            self.close_connection = True

    def read_body(self):
        return standin.read_request_body(self, MAX_REQUEST_BODY)

    def send_bytes(self, status, body, headers=None, content_type="application/json"):
        status = int(status)
        self.send_response(status)
        hdrs = {"content-type": ("Content-Type", content_type)}
        no_body = status < 200 or status in (204, 304)
        if not no_body:
            hdrs["content-length"] = ("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            hdrs[str(name).lower()] = (str(name), str(value))
        for name, value in hdrs.values():
            self.send_header(name, value)
        self.end_headers()
        if not no_body and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value, headers=None):
        self.send_bytes(status, json.dumps(value).encode("utf-8"), headers)

    # -- dispatch ---------------------------------------------------------

    def _dispatch(self):
        try:
            raw = self.read_body()
        except (ValueError, TypeError):
            self.close_connection = True
            self.send_json(400, {"detail": "bad request"}, {"Connection": "close"})
            return
        path = self.path.split("?", 1)[0]
        if path.startswith("/_test/"):
            self.control(path, raw)
            return

        headers = {}
        for name, value in self.headers.items():
            k = name.lower()
            headers[k] = headers[k] + ", " + value if k in headers else value
        self.state.count_request(self)
        self.state.record({
            "t": time.time(),
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body": raw.decode("utf-8", errors="replace"),
        })

        cfg = self.state.snapshot()
        ms_sleep(cfg.get("delay_ms"))
        key = f"{self.command} {path}"
        login = g(cfg, "login", {})
        login_path = g(login, "path", "/api/auth/login")
        default_route = g(cfg, "default_route", {})

        route = g(cfg, "routes", {}).get(key)
        if isinstance(route, dict):
            # Explicit routes under /api/ (except login) inherit the
            # default_route's auth requirement unless they set require_auth.
            default_auth = False
            if path.startswith("/api/") and path != login_path:
                default_auth = bool(g(default_route, "require_auth", True))
            self.serve_spec(route, "route:" + key, cfg, default_auth, DEFAULT_FAIL_BODY)
            return
        if self.command in ("GET", "HEAD") and path == g(cfg, "health_path", "/health"):
            self.serve_spec(g(cfg, "health", {}), "health", cfg, False, {"status": "starting"})
            return
        if self.command in ("GET", "HEAD") and path == g(cfg, "db_path", "/health/db"):
            self.serve_spec(g(cfg, "db", {}), "db", cfg, False, {"status": "starting"})
            return
        if self.command == "POST" and path == login_path:
            self.login(raw, cfg, login)
            return
        if path.startswith("/api/"):
            self.serve_spec(default_route, "default:" + key, cfg, True, DEFAULT_FAIL_BODY)
            return
        self.send_json(404, {"detail": "not found"})

    def maybe_fail(self, spec, counter_key, default_fail_body):
        """Answer with the fail response for the first fail_first requests."""
        try:
            fail_first = int(g(spec, "fail_first", 0))
        except (TypeError, ValueError):
            fail_first = 0
        if fail_first <= 0 or self.state.bump(counter_key) >= fail_first:
            return False
        headers = {}
        if spec.get("retry_after") is not None:
            headers["Retry-After"] = spec["retry_after"]
        fail_status = g(spec, "fail_status", 503)
        if spec.get("fail_raw_body") is not None:
            self.send_bytes(fail_status, str(spec["fail_raw_body"]).encode("utf-8"), headers)
        else:
            self.send_json(fail_status, g(spec, "fail_body", default_fail_body), headers)
        return True

    def serve_spec(self, spec, counter_key, cfg, default_auth, default_fail_body):
        ms_sleep(spec.get("delay_ms"))
        if self.maybe_fail(spec, counter_key, default_fail_body):
            return
        if spec.get("mode"):
            self.hostile(spec["mode"], spec)
            return
        if g(spec, "require_auth", default_auth):
            if self.headers.get("Authorization") != "Bearer " + str(g(cfg, "token", "")):
                self.send_json(401, {"detail": "not authenticated"}, {"WWW-Authenticate": "Bearer"})
                return
        self.send_spec_body(spec, g(spec, "status", 200))

    def send_spec_body(self, spec, status):
        if spec.get("raw_body") is not None:
            body = str(spec["raw_body"]).encode("utf-8")
        else:
            body = json.dumps(spec["body"] if "body" in spec else {"ok": True}).encode("utf-8")
        self.send_bytes(status, body, spec.get("headers"))

    def login(self, raw, cfg, login):
        ms_sleep(login.get("delay_ms"))
        if self.maybe_fail(login, "login", DEFAULT_FAIL_BODY):
            return
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            status, body = 400, {"detail": "bad request"}
        else:
            users = g(cfg, "users", {})
            user, password = data.get("username"), data.get("password")
            if isinstance(user, str) and isinstance(password, str) and users.get(user) == password:
                body = nest(g(login, "token_field", "access_token"), str(g(cfg, "token", "")))
                body.setdefault("token_type", "bearer")
                status = 200
            else:
                status, body = 401, {"detail": "invalid credentials"}
        if login.get("status") is not None:
            status = login["status"]
        if login.get("raw_body") is not None:
            self.send_bytes(status, str(login["raw_body"]).encode("utf-8"), login.get("headers"))
        else:
            self.send_json(status, body, login.get("headers"))

    # -- hostile modes ----------------------------------------------------

    def hostile(self, mode, spec):
        status = int(g(spec, "status", 200))
        send_body = self.command != "HEAD"
        if mode == "hang":
            self.close_connection = True
            self.wait_for_disconnect(HANG_LIMIT_S)
        elif mode == "trickle":
            self.close_connection = True
            size = 1000
            body = b'{"status":"ok","pad":"' + b"x" * (size - 24) + b'"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.flush()
            if send_body:
                interval = float(g(spec, "interval_ms", 1000)) / 1000.0
                for i in range(size):
                    self.wfile.write(body[i:i + 1])
                    time.sleep(interval)
        elif mode == "huge":
            size = int(g(spec, "size", 1 << 30))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if send_body:
                chunk = b"x" * 65536
                left = size
                try:
                    while left > 0:
                        n = min(left, len(chunk))
                        self.wfile.write(chunk[:n])
                        left -= n
                except (ConnectionError, OSError):
                    self.close_connection = True
        elif mode == "close_mid":
            self.close_connection = True
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            if send_body:
                self.wfile.write(CLOSE_MID_PREFIX)
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif mode == "redirect":
            headers = dict(spec.get("headers") or {})
            headers["Location"] = g(spec, "location", "/")
            self.send_json(int(g(spec, "status", 302)), {"detail": "moved"}, headers)
        elif mode == "nested":
            depth = int(g(spec, "depth", 100000))
            self.send_bytes(status, b"[" * depth + b"]" * depth, spec.get("headers"))
        elif mode == "badutf8":
            self.send_bytes(status, b'{"status":"\xff\xfe ok"}', spec.get("headers"))
        else:
            self.send_json(500, {"detail": "unknown mode " + str(mode)})

    def wait_for_disconnect(self, limit):
        """Block until the client closes the connection (or limit seconds)."""
        fd = self.connection.fileno()
        peer = socket.socket(fileno=os.dup(fd))
        try:
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                readable, _, _ = select.select([fd], [], [], 0.5)
                if readable:
                    try:
                        # We never answer this connection, so discarding what
                        # the client sends (even raw TLS records) is fine.
                        if not peer.recv(65536):
                            return
                    except OSError:
                        return
        finally:
            peer.close()

    # -- control endpoints ------------------------------------------------

    def control(self, path, raw):
        st = self.state
        if path == "/_test/requests" and self.command == "GET":
            with st.lock:
                data = list(st.requests)
            self.send_json(200, data)
        elif path == "/_test/reset" and self.command == "POST":
            with st.lock:
                st.requests.clear()
                st.counters.clear()
                st.conn_generation += 1
                st.conn_requests = []
                st.conn_open = 0
                st.conn_max_open = 0
            self.send_json(200, {"ok": True})
        elif path == "/_test/connections" and self.command == "GET":
            with st.lock:
                data = {"connections": len(st.conn_requests), "max_open": st.conn_max_open,
                        "requests": list(st.conn_requests)}
            self.send_json(200, data)
        elif path == "/_test/config" and self.command == "GET":
            self.send_json(200, st.snapshot())
        elif path == "/_test/config" and self.command == "POST":
            try:
                patch = json.loads(raw.decode("utf-8"))
                if not isinstance(patch, dict):
                    raise ValueError("config patch must be an object")
            except (ValueError, UnicodeDecodeError) as e:
                self.send_json(400, {"detail": "bad config: %s" % e})
                return
            with st.lock:
                deep_merge(st.config, patch)
                st.counters.clear()
            self.send_json(200, st.snapshot())
        else:
            self.send_json(404, {"detail": "not found"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    ssl_context = None
    state = None

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # TLS handshake happens here, in the per-connection thread, so a
        # client that never handshakes cannot block the accept loop.
        request.settimeout(10)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        conn.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


class _Stop(BaseException):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Stand-in web service for atom-safety tests and demo.")
    ap.add_argument("--port", type=int, default=0, help="TCP port (default 0: pick a free one)")
    ap.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    ap.add_argument("--preset", default="healthy", choices=sorted(PRESETS), help="named scenario")
    ap.add_argument("--config", action="append", default=[], metavar="JSON|@FILE",
                    help="config patch merged over the preset (repeatable)")
    ap.add_argument("--log", metavar="FILE", help="append one JSON line per received request")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve https")
    args = ap.parse_args(argv)

    try:
        cfg = build_config(args.preset, [load_config_arg(c) for c in args.config])
    except (OSError, ValueError) as e:
        print(f"service.py: bad --config: {e}", file=sys.stderr)
        return 2

    httpd = Server((args.host, args.port), Handler)
    scheme = "http"
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        httpd.ssl_context = ctx
        scheme = "https"
    httpd.state = State(cfg, args.log)

    host, port = httpd.server_address[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        print(f"READY {scheme}://{shown}:{port}", flush=True)
        httpd.serve_forever(poll_interval=0.2)
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        httpd.server_close()
        if httpd.state.log:
            httpd.state.log.close()
        sys.stdout.flush()
    # Worker threads may be parked in hang/trickle; don't wait for them.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
