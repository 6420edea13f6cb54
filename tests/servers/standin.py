# SPDX-License-Identifier: MIT
"""The HTTP plumbing every stand-in server shares (stdlib only).

github.py, slack.py, service.py and kube.py each speak one protocol; what they
have in common lives here, once:

    deep_merge(dst, src, null_deletes)  the /_test/config merge
    load_config_arg(arg)                --config JSON or @file
    take_fail(spec)                     one failure spec (or a list) with
                                        "after"/"times" counting down in place
    read_request_body(handler, limit)   Content-Length or chunked, bounded
    State                               config, recorded requests, JSON-lines log
    Handler                             a quiet HTTP/1.1 keep-alive handler:
                                        every method goes to dispatch(); send()
    serve(handler, state, port, ...)    bind 127.0.0.1, print READY <url>, run
                                        until SIGTERM/SIGINT, exit 0
"""

import copy
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_REQUEST_BODY = 64 * 1024 * 1024


def deep_merge(dst, src, null_deletes=True):
    """Merge src into dst in place: dicts recursively, anything else replaces.
    With null_deletes a null removes the key (so its default comes back);
    without, null is stored like any other value."""
    for key, value in src.items():
        if value is None and null_deletes:
            dst.pop(key, None)
        elif isinstance(value, dict) and isinstance(dst.get(key), dict):
            deep_merge(dst[key], value, null_deletes)
        else:
            dst[key] = copy.deepcopy(value)
    return dst


def load_config_arg(arg):
    """--config: a JSON object, inline or "@file"; empty means {}."""
    if not arg:
        return {}
    if arg.startswith("@"):
        with open(arg[1:], encoding="utf-8") as f:
            arg = f.read()
    value = json.loads(arg)
    if not isinstance(value, dict):
        raise ValueError("--config must be a JSON object")
    return value


def take_fail(spec):
    """Consumes one failure spec, or the first live one of a list.

    Returns (True, copy of the spec) when it fires, (True, None) when one lets
    this request through ("after" counts down first), (False, None) when none
    applies ("times" used up, or no spec).  Counters change in place, so the
    spec in the config shows what is left."""
    specs = spec if isinstance(spec, list) else [spec]
    for s in specs:
        if not isinstance(s, dict):
            continue
        after = int(s.get("after", 0))
        if after > 0:
            s["after"] = after - 1
            return True, None
        times = int(s.get("times", -1))
        if times == 0:
            continue
        if times > 0:
            s["times"] = times - 1
        return True, copy.deepcopy(s)
    return False, None


def read_request_body(handler, limit=MAX_REQUEST_BODY, readline_max=65537):
    """The request body: Content-Length or chunked (trailers skipped).
    ValueError for a bad length or one past limit; ConnectionError when the
    client goes away inside a chunked body."""
    rfile = handler.rfile
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks, total = [], 0
        while True:
            line = rfile.readline(readline_max)
            if not line:
                raise ConnectionError("eof in chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline(readline_max) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if limit is not None and total > limit:
                raise ValueError("body too large")
            chunks.append(rfile.read(size))
            rfile.readline(readline_max)
    n = int(handler.headers.get("Content-Length") or 0)
    if n < 0 or (limit is not None and n > limit):
        raise ValueError("bad Content-Length")
    return rfile.read(n) if n else b""


class State:
    """What a stand-in keeps between requests: the config (and the one it
    started with), the recorded requests, the JSON-lines log."""

    defaults = {}

    def __init__(self, cfg, log_path=None):
        self.lock = threading.RLock()
        self.start_cfg = copy.deepcopy(cfg)
        self.cfg = copy.deepcopy(cfg)
        self.requests = []
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None

    def set_defaults(self):
        for key, value in self.defaults.items():
            if key not in self.cfg:
                self.cfg[key] = copy.deepcopy(value)

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def log_entry(self, entry):
        if self.log is None:
            return
        with self.lock:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()

    def close(self):
        if self.log is not None:
            self.log.close()
            self.log = None


class Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, quiet (the JSON log is the record); every method
    goes to dispatch().  Subclasses set server_version, st and dispatch()."""

    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without this, Nagle plus the
    # client's delayed ACK adds 40 ms to every keep-alive reply
    disable_nagle_algorithm = True
    sys_version = ""
    st = None                  # the server's State, set before serving
    default_content_type = "application/json"
    json_separators = None     # json.dumps separators for dict/list bodies
    json_content_type = None   # Content-Type forced for dict/list bodies

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    def read_body(self):
        return read_request_body(self)

    def header_dict(self):
        """Request headers, names lower-cased, repeats joined with ", "."""
        out = {}
        for k, v in self.headers.items():
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return out

    def extra_headers(self):
        """Headers every reply of this server carries (after the length)."""
        return {}

    def send(self, status, body, headers=None, content_type=None):
        content_type = content_type or self.default_content_type
        if isinstance(body, (dict, list)):
            data = json.dumps(body, ensure_ascii=False, separators=self.json_separators).encode("utf-8")
            content_type = self.json_content_type or content_type
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = body or b""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in self.extra_headers().items():
            self.send_header(k, str(v))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        self._status = status

    def dispatch(self):
        raise NotImplementedError

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET


def serve(handler, state, port, bound=None):
    """Serves handler on 127.0.0.1:port (0: any free port) until SIGTERM or
    SIGINT.  bound(origin) runs once the port is known, before READY."""
    handler.st = state
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.block_on_close = False  # idle keep-alive threads must not delay exit
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    origin = "http://127.0.0.1:%d" % server.server_address[1]
    if bound is not None:
        bound(origin)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY %s" % origin, flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
        state.close()
    return 0
