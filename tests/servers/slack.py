#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Stand-in for a Slack incoming webhook (stdlib only).

    slack.py [--port 0] [--config JSON|@file] [--log FILE]

Prints "READY http://127.0.0.1:PORT"; the webhook URL is
http://127.0.0.1:PORT/services/T000/B000/XXXX (any path under /services/).
SIGTERM/SIGINT exit 0.

POST /services/...   body: JSON, or form-encoded "payload=<JSON>" as Slack
                     also accepts.  Answers (Content-Type text/html, plain
                     bodies as Slack's):
        200 ok
        400 invalid_payload                          not a JSON object, text not a string
        400 missing_text_or_fallback_or_attachments  no non-empty text, blocks or attachments
        400 invalid_blocks                           see validate_blocks()
        400 invalid_attachments                      attachments not a list of objects
        403 invalid_token                            path not in config "valid_paths"
        404 no_service                               path not under /services/
        405 invalid_method                           not POST (invented)
        429 rate_limited + Retry-After               faster than config "min_interval_ms"

Test control (never recorded):
    GET  /_test/requests   recorded requests [{"t","method","path","headers",
                           "body","status"}]
    GET  /_test/messages   accepted payloads (parsed JSON), oldest first
    POST /_test/reset      clear requests and messages; {"all"|"state": true} also
                           restores the start-up config
    GET  /_test/config     current config
    POST /_test/config     deep-merge JSON into the config (null deletes a key;
                           "fail" replaces the old spec whole; the
                           min_interval_ms clock restarts)

Config keys:
    fail             spec or [spec, ...]: {"status", "body" (default by status:
                     400 invalid_payload, 403 invalid_token, 404 no_service,
                     410 channel_is_archived, 429 rate_limited, 500
                     rollup_error), "times" (-1 forever, default), "after"
                     (let N pass first), "retry_after", "headers",
                     "content_type", "delay_ms"}; "times"/"after" count down
                     in place.  Checked before the payload is validated.
    valid_paths      null (any /services/ path) or list of accepted paths
    min_interval_ms  0 = off; else a message accepted sooner than this after
                     the previous one gets 429 with Retry-After: 1
    delay_ms         delay before every webhook response
"""

import argparse
import copy
import json
import random
import sys
import time
import urllib.parse

import standin
from standin import deep_merge, load_config_arg

DEFAULTS = {
    "fail": None,
    "valid_paths": None,
    "min_interval_ms": 0,
    "delay_ms": 0,
}

DEFAULT_BODIES = {
    400: "invalid_payload",
    403: "invalid_token",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "rollup_error",
}

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_CONTEXT_ELEMENTS = 10
KNOWN_BLOCKS = {"section", "header", "divider", "context", "actions", "image", "rich_text",
                "input", "file", "video", "markdown"}


class Reject(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def text_object(obj, limit, plain_only=False):
    """True when obj is a non-empty text object within limit characters."""
    if not isinstance(obj, dict):
        return False
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    text = obj.get("text")
    return (obj.get("type") in kinds and isinstance(text, str) and text.strip() != ""
            and len(text) <= limit)


def validate_blocks(blocks):
    """Return None if Slack would accept blocks, else a short reason."""
    if not isinstance(blocks, list):
        return "blocks is not a list"
    if len(blocks) > MAX_BLOCKS:
        return "more than %d blocks" % MAX_BLOCKS
    for i, b in enumerate(blocks):
        if not isinstance(b, dict) or not isinstance(b.get("type"), str):
            return "block %d has no type" % i
        kind = b["type"]
        if kind not in KNOWN_BLOCKS:
            return "block %d: unknown type %r" % (i, kind)
        bid = b.get("block_id")
        if bid is not None and (not isinstance(bid, str) or len(bid) > MAX_BLOCK_ID):
            return "block %d: bad block_id" % i
        if kind == "section":
            if "text" not in b and "fields" not in b:
                return "block %d: section without text or fields" % i
            if "text" in b and not text_object(b["text"], MAX_SECTION_TEXT):
                return "block %d: section text empty or over %d" % (i, MAX_SECTION_TEXT)
            if "fields" in b:
                fields = b["fields"]
                if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FIELDS:
                    return "block %d: fields must be 1..%d" % (i, MAX_FIELDS)
                for j, f in enumerate(fields):
                    if not text_object(f, MAX_FIELD_TEXT):
                        return "block %d field %d: empty or over %d" % (i, j, MAX_FIELD_TEXT)
        elif kind == "header":
            if not text_object(b.get("text"), MAX_HEADER_TEXT, plain_only=True):
                return "block %d: header text not plain_text 1..%d" % (i, MAX_HEADER_TEXT)
        elif kind == "context":
            els = b.get("elements")
            if not isinstance(els, list) or not 1 <= len(els) <= MAX_CONTEXT_ELEMENTS:
                return "block %d: context elements must be 1..%d" % (i, MAX_CONTEXT_ELEMENTS)
            for j, e in enumerate(els):
                if isinstance(e, dict) and e.get("type") == "image":
                    continue
                if not text_object(e, MAX_SECTION_TEXT):
                    return "block %d element %d: bad text" % (i, j)
    return None


class SlackState(standin.State):
    defaults = DEFAULTS

    def __init__(self, cfg, log_path):
        super().__init__(cfg, log_path)
        self.messages = []
        self.last_accept = None

    def take_fail(self):
        return standin.take_fail(self.cfg.get("fail"))[1]


class Handler(standin.Handler):
    server_version = "Apache"
    default_content_type = "text/html"
    json_content_type = "application/json"

    def extra_headers(self):
        return {"x-slack-backend": "r", "x-slack-req-id": "%032x" % random.getrandbits(128)}

    def dispatch(self):
        st = self.st
        self._status = None
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send(400, "invalid_payload")
            return
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_test/"):
            try:
                self.control(path, raw)
            except (ValueError, TypeError) as e:
                self.send(400, {"error": str(e)})
            return
        entry = {"t": time.time(), "method": self.command, "path": self.path,
                 "headers": self.header_dict(), "body": raw.decode("utf-8", "replace")}
        with st.lock:
            st.requests.append(entry)
        try:
            self.webhook(path, raw)
            self.send(200, "ok")
        except Reject as e:
            ctype = e.headers.pop("content-type", "text/html")
            self.send(e.status, e.body, e.headers, content_type=ctype)
        except Exception as e:  # noqa: BLE001 - a stand-in must answer
            self.send(500, "stand-in error: %r" % e)
        finally:
            entry["status"] = self._status
            st.log_entry(entry)

    def control(self, path, raw):
        st = self.st
        body = json.loads(raw) if raw.strip() else {}
        with st.lock:
            if path == "/_test/requests" and self.command == "GET":
                self.send(200, st.requests)
            elif path == "/_test/messages" and self.command == "GET":
                self.send(200, st.messages)
            elif path == "/_test/reset" and self.command == "POST":
                st.requests = []
                st.messages = []
                st.last_accept = None
                if isinstance(body, dict) and (body.get("all") or body.get("state")):
                    st.cfg = copy.deepcopy(st.start_cfg)
                self.send(200, {"ok": True})
            elif path == "/_test/config" and self.command == "GET":
                self.send(200, st.cfg)
            elif path == "/_test/config" and self.command == "POST":
                if not isinstance(body, dict):
                    raise ValueError("config must be a JSON object")
                if "fail" in body:
                    st.cfg.pop("fail", None)  # replace whole: no stale keys
                deep_merge(st.cfg, body)
                st.set_defaults()
                st.last_accept = None
                self.send(200, st.cfg)
            else:
                self.send(404, {"error": "unknown control endpoint"})

    def webhook(self, path, raw):
        st = self.st
        with st.lock:
            delay = st.cfg.get("delay_ms") or 0
            valid = st.cfg.get("valid_paths")
        if delay:
            time.sleep(delay / 1000.0)
        if not path.startswith("/services/"):
            raise Reject(404, "no_service")
        if self.command != "POST":
            raise Reject(405, "invalid_method")
        if valid is not None and path not in valid:
            raise Reject(403, "invalid_token")

        with st.lock:
            spec = st.take_fail()
        if spec is not None:
            if spec.get("delay_ms"):
                time.sleep(spec["delay_ms"] / 1000.0)
            status = int(spec.get("status", 500))
            hdrs = {k: str(v) for k, v in (spec.get("headers") or {}).items()}
            if spec.get("retry_after") is not None:
                hdrs["Retry-After"] = str(spec["retry_after"])
            if spec.get("content_type"):
                hdrs["content-type"] = spec["content_type"]
            raise Reject(status, spec.get("body", DEFAULT_BODIES.get(status, "error")), hdrs)

        payload = self.parse(raw)
        text = payload.get("text")
        if text is not None and not isinstance(text, str):
            raise Reject(400, "invalid_payload")
        blocks = payload.get("blocks")
        attachments = payload.get("attachments")
        if not (text and text.strip()) and not blocks and not attachments:
            raise Reject(400, "missing_text_or_fallback_or_attachments")
        if blocks is not None and validate_blocks(blocks) is not None:
            raise Reject(400, "invalid_blocks")
        if attachments is not None and (not isinstance(attachments, list) or
                                        not all(isinstance(a, dict) for a in attachments)):
            raise Reject(400, "invalid_attachments")

        with st.lock:
            gap = st.cfg.get("min_interval_ms") or 0
            now = time.monotonic()
            if gap and st.last_accept is not None and (now - st.last_accept) * 1000 < gap:
                raise Reject(429, "rate_limited", {"Retry-After": "1"})
            st.last_accept = now
            st.messages.append(payload)

    def parse(self, raw):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            text = raw.decode("utf-8")
            if ctype == "application/x-www-form-urlencoded":
                form = urllib.parse.parse_qs(text)
                text = form["payload"][0]
            payload = json.loads(text)
        except (UnicodeDecodeError, ValueError, KeyError, IndexError):
            raise Reject(400, "invalid_payload")
        if not isinstance(payload, dict):
            raise Reject(400, "invalid_payload")
        return payload


def main(argv=None):
    ap = argparse.ArgumentParser(description="Slack incoming webhook stand-in")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", default="")
    ap.add_argument("--log", default="")
    args = ap.parse_args(argv)

    cfg = deep_merge(copy.deepcopy(DEFAULTS), load_config_arg(args.config))
    st = SlackState(cfg, args.log or None)
    st.set_defaults()
    st.start_cfg = copy.deepcopy(st.cfg)

    return standin.serve(Handler, st, args.port)


if __name__ == "__main__":
    sys.exit(main())
