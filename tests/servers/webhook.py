#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A webhook receiver that verifies what it gets (stdlib only).

    webhook.py [--port 0] [--secret S] [--require-signature]

Prints "READY http://127.0.0.1:PORT"; any path but /_test/ receives.  SIGTERM/SIGINT exit 0.

Each POST is checked the way a receiver should: X-Atom-Safety-Signature-256 compared with
hmac.compare_digest against "sha256=" + HMAC-SHA256(secret, exact body) computed by Python's
hmac module (an implementation independent of the gate's libcrypto), the body parsed as JSON,
X-Atom-Safety-Event read.  With --require-signature a missing or wrong signature gets 401.
Answers 200 "ok", or what "fail" in the config says.

Test control (never recorded):
    GET  /_test/requests   [{"t","path","headers","body","event","signature_valid","json_ok"}]
    POST /_test/reset      clear requests
    POST /_test/config     replace the config: {"fail": spec or [spec, …]}, spec = {"status",
                           "times" (-1 forever, default), "after", "body", "retry_after"}
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402


class Handler(standin.Handler):
    server_version = "webhook-receiver"
    default_content_type = "text/plain"
    secret = None
    require = False

    def verify(self, raw):
        """None: no signature header; else whether it is sha256=HMAC(secret, exact body)."""
        got = self.headers.get("X-Atom-Safety-Signature-256")
        if got is None:
            return None
        if self.secret is None:
            return False
        want = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(want.encode(), got.encode())

    def dispatch(self):
        st = self.st
        try:
            raw = self.read_body()
        except (ValueError, ConnectionError):
            return self.send(400, "unreadable body")
        if self.path.startswith("/_test/"):
            with st.lock:
                if self.command == "GET" and self.path == "/_test/requests":
                    return self.send(200, st.requests, content_type="application/json")
                if self.command == "POST" and self.path == "/_test/reset":
                    st.requests = []
                    return self.send(200, {"ok": True}, content_type="application/json")
                if self.command == "POST" and self.path == "/_test/config":
                    st.cfg = json.loads(raw or b"{}")
                    return self.send(200, {"ok": True}, content_type="application/json")
            return self.send(404, "unknown control endpoint")
        try:
            json_ok = isinstance(json.loads(raw), dict)
        except ValueError:
            json_ok = False
        valid = self.verify(raw)
        entry = {"t": time.time(), "method": self.command, "path": self.path, "headers": self.header_dict(),
                 "body": raw.decode("utf-8", "replace"), "event": self.headers.get("X-Atom-Safety-Event"),
                 "signature_valid": valid, "json_ok": json_ok}
        st.record(entry)
        st.log_entry(entry)
        with st.lock:
            fired, spec = standin.take_fail(st.cfg.get("fail") or [])
        if fired and spec is not None:
            hdrs = {"Retry-After": str(spec["retry_after"])} if "retry_after" in spec else {}
            return self.send(spec["status"], spec.get("body", "failure"), hdrs)
        if self.require and valid is not True:
            return self.send(401, "signature missing or wrong")
        self.send(200, "ok")


def main(argv=None):
    ap = argparse.ArgumentParser(description="verifying webhook receiver")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--secret", default=None)
    ap.add_argument("--require-signature", action="store_true")
    ap.add_argument("--log", default="")
    args = ap.parse_args(argv)
    Handler.secret = args.secret
    Handler.require = args.require_signature
    return standin.serve(Handler, standin.State({}, args.log or None), args.port)


if __name__ == "__main__":
    sys.exit(main())
