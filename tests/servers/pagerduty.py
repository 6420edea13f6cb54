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
                           "times" (-1 forever, default), "after", "retry_after", "body"}
                           (standin.take_fail); checked before validation
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")
INVALID = {"status": "invalid event", "message": "Event object is invalid"}
THROTTLED = {"status": "throttle event", "message": "Requests for this service are arriving too quickly"}


class PagerDutyState(standin.State):
    def __init__(self, cfg, log_path=None):
        super().__init__(cfg, log_path)
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


class Handler(standin.Handler):
    server_version = "pagerduty-standin"

    def dispatch(self):
        st = self.st
        try:
            raw = self.read_body()
        except (ValueError, ConnectionError):
            return self.send(400, dict(INVALID, errors=["unreadable body"]))
        if self.path.startswith("/_test/"):
            return self.control(raw)
        entry = {"t": time.time(), "method": self.command, "path": self.path, "headers": self.header_dict(),
                 "body": raw.decode("utf-8", "replace")}
        status, obj, hdrs = self.event(raw)
        entry["status"] = status
        st.record(entry)
        st.log_entry(entry)
        self.send(status, obj, hdrs)

    def control(self, raw):
        st = self.st
        with st.lock:
            if self.command == "GET" and self.path == "/_test/requests":
                return self.send(200, st.requests)
            if self.command == "GET" and self.path == "/_test/alerts":
                return self.send(200, st.alerts)
            if self.command == "POST" and self.path == "/_test/reset":
                st.requests, st.alerts = [], {}
                return self.send(200, {"ok": True})
            if self.command == "POST" and self.path == "/_test/config":
                st.cfg = json.loads(raw or b"{}")
                return self.send(200, {"ok": True})
        return self.send(404, {"error": "unknown control endpoint"})

    def event(self, raw):
        if self.command != "POST" or self.path != "/v2/enqueue":
            return 404, {"status": "not found"}, {}
        with self.st.lock:
            fired, spec = standin.take_fail(self.st.cfg.get("fail") or [])
        if fired and spec is not None:
            hdrs = {"Retry-After": str(spec["retry_after"])} if "retry_after" in spec else {}
            return spec["status"], spec.get("body", THROTTLED), hdrs
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return 400, dict(INVALID, errors=["Content-Type must be application/json"]), {}
        try:
            ev = json.loads(raw)
        except ValueError:
            return 400, dict(INVALID, errors=["Malformed JSON"]), {}
        errors = validate(ev)
        if errors:
            return 400, dict(INVALID, errors=errors), {}
        with self.st.lock:
            dedup = ev.get("dedup_key") or "generated-%d" % len(self.st.alerts)
            alert = self.st.alerts.setdefault(dedup, {"status": None, "events": []})
            alert["events"].append(ev)
            if ev["event_action"] == "trigger":
                alert["status"] = "triggered"
            elif ev["event_action"] == "resolve" and alert["status"] is not None:
                alert["status"] = "resolved"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}, {}


def main(argv=None):
    ap = argparse.ArgumentParser(description="PagerDuty Events API v2 stand-in")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", default="")
    ap.add_argument("--log", default="")
    args = ap.parse_args(argv)
    return standin.serve(Handler, PagerDutyState(standin.load_config_arg(args.config), args.log or None), args.port)


if __name__ == "__main__":
    sys.exit(main())
