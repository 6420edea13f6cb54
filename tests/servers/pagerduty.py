#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Stand-in for the PagerDuty Events API v2 (stdlib only).

    pagerduty.py [--port 0] [--config JSON]

Prints "READY http://127.0.0.1:PORT"; the endpoint is http://127.0.0.1:PORT/v2/enqueue.
SIGTERM/SIGINT exit 0.

POST /v2/enqueue   an event, validated as PagerDuty documents it
                   (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
        202 {"status":"success","message":"Event processed","dedup_key":…}
        400 {"status":"invalid event","message":"Event object is invalid","errors":[…]}
            routing_key not 32 characters, event_action not trigger/acknowledge/resolve,
            dedup_key missing on resolve or over 255 characters, on trigger payload.summary,
            payload.source missing or blank, payload.severity not critical/error/warning/info,
            links/images not arrays, Content-Type not application/json
The alerts are kept: a trigger opens (or updates) the alert of its dedup_key, a resolve closes it.

Test control (never recorded):
    GET  /_test/requests   [{"t","method","path","headers","body","status"}]
    GET  /_test/alerts     {dedup_key: {"status": "triggered"|"resolved", "events": [event, …]}}
    POST /_test/reset      clear requests and alerts
    POST /_test/config     replace the config: {"fail": spec or [spec, …]}, spec = {"status",
                           "times" (default 1), "retry_after", "body"}; checked before validation
"""

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")


class State:
    def __init__(self, cfg):
        self.lock = threading.Lock()
        self.cfg = cfg
        self.requests = []
        self.alerts = {}


def validate(ev):
    errors = []
    if not isinstance(ev, dict):
        return ["Event object is invalid"]
    key = ev.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = ev.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of the following: 'trigger', "
                      "'acknowledge' or 'resolve')")
    dedup = ev.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' is invalid (must be a string of at most 255 characters)")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        p = ev.get("payload")
        if not isinstance(p, dict):
            errors.append("'payload' is missing or blank")
        else:
            for f in ("summary", "source"):
                if not isinstance(p.get(f), str) or not p[f].strip():
                    errors.append("'payload.%s' is missing or blank" % f)
            if p.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of the following: "
                              "'critical', 'warning', 'error' or 'info')")
            if "custom_details" in p and not isinstance(p["custom_details"], (dict, str)):
                errors.append("'payload.custom_details' is invalid")
        for f in ("links", "images"):
            if f in ev and not isinstance(ev[f], list):
                errors.append("'%s' is invalid (must be an array)" % f)
            for link in ev.get(f) or []:
                if not isinstance(link, dict) or not isinstance(link.get("href"), str):
                    errors.append("'%s' entries need an href" % f)
    return errors


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    st = None

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        st = self.st
        with st.lock:
            if self.path == "/_test/requests":
                return self.send(200, st.requests)
            if self.path == "/_test/alerts":
                return self.send(200, st.alerts)
        self.send(404, {"status": "not found"})

    def do_POST(self):
        st = self.st
        raw = self.body()
        if self.path.startswith("/_test/"):
            with st.lock:
                if self.path == "/_test/reset":
                    st.requests, st.alerts = [], {}
                elif self.path == "/_test/config":
                    st.cfg = json.loads(raw or b"{}")
            return self.send(200, {"ok": True})
        entry = {"t": time.time(), "method": "POST", "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": raw.decode("utf-8", "replace")}
        status, obj, hdrs = self.handle_event(raw)
        entry["status"] = status
        with st.lock:
            st.requests.append(entry)
        self.send(status, obj, hdrs)

    def take_fail(self):
        st = self.st
        with st.lock:
            specs = st.cfg.get("fail")
            if isinstance(specs, dict):
                specs = [specs]
            for spec in specs or []:
                if spec.get("times", 1) != 0:
                    spec["times"] = spec.get("times", 1) - 1
                    return spec
        return None

    def handle_event(self, raw):
        if self.path != "/v2/enqueue":
            return 404, {"status": "not found"}, {}
        spec = self.take_fail()
        if spec is not None:
            hdrs = {"Retry-After": str(spec["retry_after"])} if "retry_after" in spec else {}
            return spec["status"], spec.get("body", {"status": "throttle event", "message":
                                                      "Requests for this service are arriving too quickly"}), hdrs
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return 400, {"status": "invalid event", "message": "Event object is invalid",
                         "errors": ["Content-Type must be application/json"]}, {}
        try:
            ev = json.loads(raw)
        except ValueError:
            return 400, {"status": "invalid event", "message": "Event object is invalid",
                         "errors": ["Malformed JSON"]}, {}
        errors = validate(ev)
        if errors:
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}, {}
        dedup = ev.get("dedup_key") or "generated-%d" % len(self.st.alerts)
        with self.st.lock:
            a = self.st.alerts.setdefault(dedup, {"status": None, "events": []})
            a["events"].append(ev)
            if ev["event_action"] == "trigger":
                a["status"] = "triggered"
            elif ev["event_action"] == "resolve" and a["status"] is not None:
                a["status"] = "resolved"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}, {}


def main(argv=None):
    ap = argparse.ArgumentParser(description="PagerDuty Events API v2 stand-in")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", default="{}")
    args = ap.parse_args(argv)
    Handler.st = State(json.loads(args.config))
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.block_on_close = False
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
