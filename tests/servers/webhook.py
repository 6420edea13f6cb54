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
    POST /_test/config     replace the config: {"fail": {"status", "times" (default 1), "body",
                           "retry_after"}}
"""

import argparse
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    secret = None
    require = False
    lock = threading.Lock()
    requests = []
    cfg = {}

    def log_message(self, fmt, *args):
        pass

    def send(self, status, text, headers=None, ctype="text/plain"):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_test/requests":
            with self.lock:
                return self.send(200, json.dumps(self.requests), ctype="application/json")
        self.send(404, "not found")

    def verify(self, raw):
        got = self.headers.get("X-Atom-Safety-Signature-256")
        if got is None or self.secret is None:
            return None if got is None else False
        want = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(want.encode(), got.encode())

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if self.path.startswith("/_test/"):
            with self.lock:
                if self.path == "/_test/reset":
                    Handler.requests = []
                elif self.path == "/_test/config":
                    Handler.cfg = json.loads(raw or b"{}")
            return self.send(200, '{"ok": true}', ctype="application/json")
        try:
            doc = json.loads(raw)
            json_ok = isinstance(doc, dict)
        except ValueError:
            json_ok = False
        valid = self.verify(raw)
        entry = {"t": time.time(), "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": raw.decode("utf-8", "replace"), "event": self.headers.get("X-Atom-Safety-Event"),
                 "signature_valid": valid, "json_ok": json_ok}
        with self.lock:
            self.requests.append(entry)
            fail = self.cfg.get("fail")
            if fail is not None and fail.get("times", 1) != 0:
                fail["times"] = fail.get("times", 1) - 1
            else:
                fail = None
        if fail is not None:
            hdrs = {"Retry-After": str(fail["retry_after"])} if "retry_after" in fail else {}
            return self.send(fail["status"], fail.get("body", "failure"), hdrs)
        if self.require and valid is not True:
            return self.send(401, "signature missing or wrong")
        self.send(200, "ok")


def main(argv=None):
    ap = argparse.ArgumentParser(description="verifying webhook receiver")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--secret", default=None)
    ap.add_argument("--require-signature", action="store_true")
    args = ap.parse_args(argv)
    Handler.secret = args.secret
    Handler.require = args.require_signature
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
