"""Shared helpers for atom-safety integration tests (Python 3 stdlib only).

Typical use from tests/integration/*.py:

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from harness import *

    t = TAP()
    with service() as svc:
        r = run_gate({"url": svc.url, "environment": "staging",
                      "username": "smoke_test", "password": "demo-password",
                      "endpoints": "GET /api/projects"})
        t.eq(r.rc, 0, "healthy passes")
    t.done()

Nothing here depends on the current directory.

Environment knobs:
  ATOM_SAFETY_BIN            binary under test (default <repo>/build/atom-safety)
  ATOM_SAFETY_TEST_WRAPPER   command prefix for the binary, e.g. "valgrind -q --error-exitcode=99"
  ATOM_SAFETY_KEEP_TMP=1     keep run_gate temp dirs instead of deleting them at exit
"""

import atexit
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.abspath(os.environ.get("ATOM_SAFETY_BIN") or os.path.join(REPO, "build", "atom-safety"))
SERVERS = os.path.join(REPO, "tests", "servers")
SERVICE = os.path.join(SERVERS, "service.py")

# Passed through from the caller's environment into run_gate's clean
# environment so sanitizer / coverage builds keep working under meson.
PASSTHROUGH_ENV = (
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS", "TSAN_OPTIONS",
    "MALLOC_PERTURB_", "LLVM_PROFILE_FILE", "GCOV_PREFIX", "GCOV_PREFIX_STRIP",
)

RUN_ENV = {
    "LANG": "C",
    "GITHUB_ACTIONS": "true",
    "CI": "true",
    "GITHUB_REPOSITORY": "acme/atom",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_WORKFLOW": "deploy",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_REF_NAME": "main",
}


# --------------------------------------------------------------------------
# action.yml inputs


def _yaml_scalar(text):
    """Best-effort plain/quoted YAML scalar -> str; None for block scalars."""
    text = text.strip()
    if text.startswith(("|", ">")):
        return None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text)
        except ValueError:
            return text[1:-1]
    return re.sub(r"\s+#.*$", "", text)


def _read_action_inputs(path):
    """Tiny line-based reader for the top-level `inputs:` block of action.yml.
    Returns (names in order, {name: default string or None})."""
    names, defaults = [], {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return names, defaults
    in_inputs, current = False, None
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            in_inputs = re.match(r"^inputs:\s*(#.*)?$", line) is not None
            current = None
            continue
        if not in_inputs:
            continue
        m = re.match(r"^  ([^\s#'\"][^:]*|'[^']*'|\"[^\"]*\"):(\s|$)", line)
        if m:
            current = m.group(1).strip("'\"")
            names.append(current)
            defaults[current] = None
            continue
        m = re.match(r"^    default:(.*)$", line)
        if m and current is not None:
            defaults[current] = _yaml_scalar(m.group(1))
    return names, defaults


ALL_INPUTS, INPUT_DEFAULTS = _read_action_inputs(os.path.join(REPO, "action.yml"))


def input_var(name):
    """Environment variable the runner uses for an input: spaces -> '_', upper-case, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


# --------------------------------------------------------------------------
# cleanup bookkeeping

_LIVE_SERVERS = set()
_TMPDIRS = []


def _cleanup():
    for srv in list(_LIVE_SERVERS):
        try:
            srv.stop()
        except Exception:
            pass
    if os.environ.get("ATOM_SAFETY_KEEP_TMP") in (None, "", "0"):
        for d in _TMPDIRS:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


# --------------------------------------------------------------------------
# servers


def _merged_env(env):
    out = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = str(v)
    return out


class Server:
    """Run a stand-in server (`python3 script args...`) until stop().

    script_path_or_argv: a script path (run with this Python), or a full argv
    list/tuple run as-is; *args are appended either way.  env entries are
    merged over os.environ (None removes a variable).
    Starts immediately; waits up to ready_timeout s for the READY line.
    """

    def __init__(self, script_path_or_argv, *args, env=None, ready_timeout=10.0):
        if isinstance(script_path_or_argv, (list, tuple)):
            argv = [str(a) for a in script_path_or_argv]
        else:
            argv = [sys.executable, str(script_path_or_argv)]
        self.argv = argv + [str(a) for a in args]
        self.url = None
        self.returncode = None
        self.stdout_lines = []
        self._ready = threading.Event()
        self._stderr = tempfile.TemporaryFile()
        self._stopped = False
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr, env=_merged_env(env), close_fds=True)
        _LIVE_SERVERS.add(self)
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self._ready.wait(ready_timeout)
        if self.url is None:
            alive = self.proc.poll() is None
            self.stop()
            why = "no READY line within %.0f s" % ready_timeout if alive else \
                "exited with %s before READY" % self.returncode
            raise RuntimeError("server %r: %s\n--- stderr ---\n%s" % (self.argv, why, self.stderr))

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            if self.url is None and line.startswith("READY "):
                self.url = line[len("READY "):].strip()
                self._ready.set()
        self._ready.set()

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    @property
    def stderr(self):
        """Everything the server wrote to stderr so far."""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", errors="replace")
        except (ValueError, OSError):
            return ""

    def _control(self, method, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        ctx = None
        if self.url.startswith("https:"):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def requests(self):
        """Recorded requests (excluding /_test/*), oldest first."""
        return self._control("GET", "/_test/requests")

    def reset(self):
        """Forget recorded requests and fail_first counters."""
        self._control("POST", "/_test/reset", {})

    def config(self, patch):
        """Deep-merge patch into the server config; returns the new config."""
        return self._control("POST", "/_test/config", patch)

    def get_config(self):
        return self._control("GET", "/_test/config")

    def stop(self):
        """SIGTERM, wait up to 5 s, then SIGKILL.  Idempotent; returns the exit code."""
        if self._stopped:
            return self.returncode
        self._stopped = True
        _LIVE_SERVERS.discard(self)
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        self._reader.join(2)
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        return self.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        return "<Server %s %s>" % (self.url, self.argv[1:] if len(self.argv) > 1 else self.argv)


def service(preset="healthy", config=None, tls=None, args=(), env=None):
    """Start tests/servers/service.py.  tls=(cert, key) serves https."""
    argv = ["--preset", preset]
    if config is not None:
        argv += ["--config", json.dumps(config)]
    if tls:
        argv += ["--tls", tls[0], tls[1]]
    return Server(SERVICE, *argv, *args, env=env)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# GitHub file commands


def parse_github_file(text):
    """Parse a GITHUB_OUTPUT / GITHUB_ENV file the way the Linux runner does:
    `name=value` lines and `name<<DELIM` heredocs (value = the lines up to a
    line exactly equal to DELIM; only '\\n' ends a line).  Empty lines are
    skipped; later duplicates win.  Raises ValueError where the runner fails."""
    out = {}
    pos, n = 0, len(text)

    def readline():
        nonlocal pos
        if pos >= n:
            return None, False
        i = text.find("\n", pos)
        if i < 0:
            line, pos = text[pos:], n
            return line, False
        line, pos = text[pos:i], i + 1
        return line, True

    while True:
        line, _ = readline()
        if line is None:
            return out
        if line == "":
            continue
        eq, hd = line.find("="), line.find("<<")
        if eq >= 0 and (hd < 0 or eq < hd):
            name, value = line.split("=", 1)
            if not name:
                raise ValueError("invalid output line %r: empty name" % line)
            out[name] = value
        elif hd >= 0:
            name, delim = line.split("<<", 1)
            if not name or not delim:
                raise ValueError("invalid output line %r: empty name or delimiter" % line)
            start = end = pos
            while True:
                value_line, had_newline = readline()
                if value_line is None:
                    raise ValueError("matching delimiter %r not found for %r" % (delim, name))
                if value_line == delim:
                    break
                if not had_newline:
                    raise ValueError("value of %r: last line lacks a newline before EOF" % name)
                end = pos - 1
            out[name] = text[start:end] if end > start else ""
        else:
            raise ValueError("invalid output line %r" % line)


# --------------------------------------------------------------------------
# running the gate


class Result:
    """Outcome of one run_gate call.

    rc (None if killed on timeout; see timed_out), stdout, stderr (str),
    outputs (dict; accessing it raises ValueError if GITHUB_OUTPUT is
    malformed), outputs_raw, summary, report (dict or None), report_text,
    report_path, tmp, elapsed, argv, env.
    """

    def __init__(self):
        self.rc = None
        self.timed_out = False
        self.stdout = self.stderr = ""
        self.outputs_raw = self.summary = ""
        self.outputs_error = None
        self._outputs = {}
        self.report = None
        self.report_text = None
        self.report_path = None
        self.report_error = None
        self.tmp = None
        self.elapsed = 0.0
        self.argv = []
        self.env = {}

    @property
    def outputs(self):
        if self.outputs_error is not None:
            raise ValueError("malformed GITHUB_OUTPUT: %s\n--- raw ---\n%s" % (self.outputs_error, self.outputs_raw))
        return self._outputs

    def __repr__(self):
        return "<Result rc=%r elapsed=%.2fs tmp=%s>" % (self.rc, self.elapsed, self.tmp)

    def dump(self):
        """Human-readable summary for TAP diagnostics."""
        return "rc=%r timed_out=%r elapsed=%.2fs tmp=%s\n--- stdout ---\n%s\n--- stderr ---\n%s\n--- outputs ---\n%s" % (
            self.rc, self.timed_out, self.elapsed, self.tmp, self.stdout, self.stderr, self.outputs_raw)


def _read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def run_gate(inputs, env=None, timeout=120, args=()):
    """Run the gate like the Actions runner would run the container action.

    Every input becomes INPUT_<NAME> (upper-cased, hyphens kept); declared
    inputs of action.yml that are not given are set to "" (present but
    empty).  An input value of None leaves the variable out; True/False
    become "true"/"false".  env overrides/extends the result (None removes).
    """
    tmp = tempfile.mkdtemp(prefix="atom-safety-test-")
    _TMPDIRS.append(tmp)
    out_path = os.path.join(tmp, "output.txt")
    summary_path = os.path.join(tmp, "summary.md")
    for p in (out_path, summary_path):
        open(p, "w").close()

    e = {"PATH": os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin",
         "HOME": tmp, "RUNNER_TEMP": tmp,
         "GITHUB_OUTPUT": out_path, "GITHUB_STEP_SUMMARY": summary_path}
    e.update(RUN_ENV)
    for k in PASSTHROUGH_ENV:
        if k in os.environ:
            e[k] = os.environ[k]
    # like the runner: every declared input is exported, with its action.yml default
    # evaluated (an expression such as ${{ github.token }} has no value here: "")
    for name in ALL_INPUTS:
        d = INPUT_DEFAULTS.get(name) or ""
        e[input_var(name)] = "" if "${{" in d else d
    for name, value in inputs.items():
        var = input_var(name)
        if value is None:
            e.pop(var, None)
        elif isinstance(value, bool):
            e[var] = "true" if value else "false"
        else:
            e[var] = str(value)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = str(v)

    wrapper = shlex.split(os.environ.get("ATOM_SAFETY_TEST_WRAPPER", ""))
    if wrapper and os.path.basename(wrapper[0]) == "valgrind":
        # Debian's /usr/bin/valgrind is a #!/bin/sh script: dash would drop every hyphenated
        # INPUT_ variable on the way; the real binary sits beside it
        real = shutil.which("valgrind.bin")
        if real:
            wrapper[0] = real
    argv = wrapper + [BIN] + [str(a) for a in args]
    if not os.path.exists(BIN):
        raise FileNotFoundError("atom-safety binary not found at %s (build it, or set ATOM_SAFETY_BIN)" % BIN)

    r = Result()
    r.tmp, r.argv, r.env = tmp, argv, e
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=e, cwd=tmp, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        r.rc = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        out, err = proc.communicate()
        r.timed_out = True
        r.rc = None
        err += ("\n[harness] killed after %.1f s timeout\n" % timeout).encode()
    r.elapsed = time.monotonic() - start
    r.stdout = out.decode("utf-8", errors="replace")
    r.stderr = err.decode("utf-8", errors="replace")
    r.outputs_raw = _read_text(out_path) or ""
    r.summary = _read_text(summary_path) or ""
    try:
        r._outputs = parse_github_file(r.outputs_raw)
    except ValueError as ex:
        r.outputs_error = str(ex)

    report_path = r._outputs.get("report") if r.outputs_error is None else None
    if report_path:
        if not os.path.isabs(report_path):
            report_path = os.path.join(tmp, report_path)
    else:
        report_path = os.path.join(tmp, "atom-safety-report.json")
    r.report_path = report_path
    r.report_text = _read_text(report_path)
    if r.report_text is not None:
        try:
            r.report = json.loads(r.report_text)
        except ValueError as ex:
            r.report_error = str(ex)
    return r


def check(result, name):
    """The report's entry for the check called name, or {} when there is none."""
    for c in (result.report or {}).get("checks", []):
        if c.get("name") == name:
            return c
    return {}


def md_escape(text):
    """markdown.c's md_escape, for building the exact cell a summary must hold."""
    out = []
    for ch in text or "":
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "@":
            out.append("@\u200b")
        elif ch == "|":
            out.append("\\|")
        elif ch in "\\`*_[]#~!":
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def md_code(text):
    """markdown.c's md_code: one inline code span."""
    inner = "".join("'" if ch == "`" else " " if ord(ch) < 0x20 else "\\|" if ch == "|" else ch
                    for ch in text or "")
    return "`" + inner + "`"


def slack_escape(text):
    """slack.c's slack_escape: the three characters mrkdwn reads as markup, and controls."""
    return "".join("&amp;" if ch == "&" else "&lt;" if ch == "<" else "&gt;" if ch == ">"
                   else " " if ord(ch) < 0x20 and ch != "\n" else ch for ch in text or "")


def slack_code(text):
    """slack.c's slack_code: one inline code span."""
    return "`" + slack_escape("".join("'" if ch == "`" else " " if ord(ch) < 0x20 else ch
                                      for ch in text or "")) + "`"


def failed_checks(result):
    """The report's failed checks of the gate itself (not the after-rollback recovery ones)."""
    return [c for c in (result.report or {}).get("checks", [])
            if c.get("status") == "fail" and c.get("phase") != "recovery"]


SUMMARY_STATUS = {"pass": ":white_check_mark: pass", "fail": ":x: fail", "warn": ":warning: warn",
                  "skip": ":fast_forward: skip"}
SUMMARY_TABLE_HEAD = "| Check | Status | Value | Limit | Time | Detail |"


def summary_check_rows(result):
    """The rows of the step summary's check table, as lines, in order."""
    lines = result.summary.splitlines()
    if SUMMARY_TABLE_HEAD not in lines:
        return []
    rows = []
    for line in lines[lines.index(SUMMARY_TABLE_HEAD) + 2:]:
        if not line.startswith("| "):
            break
        rows.append(line)
    return rows


def summary_row(c):
    """The exact summary line for the report's check c (summary.c's render_check)."""
    return "| %s | %s | %s | %s | %d ms | %s |" % (
        md_code(c.get("name")), SUMMARY_STATUS.get(c.get("status"), "?"), md_escape(c.get("value") or ""),
        md_escape(c.get("limit") or ""), c.get("elapsed_ms", -1), md_escape(c.get("detail") or ""))


def summary_mismatches(result, statuses=None):
    """Checks of the report (of the given statuses, default all) whose row is not in the step
    summary's table exactly as the report describes it: name, status, value, limit, time and
    detail. Returns (how many were compared, [(expected line, rows of the same check)])."""
    rows = summary_check_rows(result)
    compared, bad = 0, []
    for c in (result.report or {}).get("checks", []):
        if statuses is not None and c.get("status") not in statuses:
            continue
        compared += 1
        want = summary_row(c)
        if want not in rows:
            prefix = "| %s |" % md_code(c.get("name"))
            bad.append((want, [r for r in rows if r.startswith(prefix)]))
    return compared, bad


def check_summary_tables(t, results, min_failed=1):
    """Two assertions over all runs of a test file: every failed check of a failing run has its
    row in the step summary (failed, with its value, limit, time and detail), and so has every
    other check. A summary that dropped, merged or reworded rows would otherwise pass: the other
    assertions look for the verdict line and for single words. min_failed keeps it from
    passing with nothing to compare."""
    failed_n, failed_bad, all_n, all_bad, runs = 0, [], 0, [], 0
    for r in results:
        if r.report is None or not r.summary:
            continue
        runs += 1
        if r.rc == 1:
            n, bad = summary_mismatches(r, {"fail"})
            failed_n += n
            failed_bad += bad
        n, bad = summary_mismatches(r)
        all_n += n
        all_bad += bad

    def diag(bad):
        return "\n".join("want: %s\ngot:  %s" % (w, " / ".join(g) or "(no row)") for w, g in bad[:5])
    t.ok(failed_n >= min_failed and not failed_bad,
         "each failed check of a failing run is in the summary table as failed, with value and limit "
         "(%d failed checks)" % failed_n, diag=diag(failed_bad))
    t.ok(all_n > failed_n and not all_bad,
         "every check is in the summary table as the report describes it (%d checks, %d runs)" % (all_n, runs),
         diag=diag(all_bad))


def check_failed_lists(t, results, min_runs=1):
    """The three lists of failed checks agree in every failing run: the report's failed_checks,
    the failed-checks output and the failed checks of the report's table (in the report's
    order; the after-rollback recovery checks are not the gate's verdict and appear in none)."""
    bad, runs = [], 0
    for r in results:
        if r.rc != 1 or r.report is None or r.outputs_error is not None:
            continue
        runs += 1
        want = [c["name"] for c in failed_checks(r)]
        output = [n for n in r.outputs.get("failed-checks", "").split(",") if n]
        if r.report.get("failed_checks") != want or output != want:
            bad.append("checks %r, report failed_checks %r, output %r" % (want, r.report.get("failed_checks"), output))
    t.ok(runs >= min_runs and not bad,
         "report failed_checks and the failed-checks output list the failed checks (%d failing runs)" % runs,
         diag="\n".join(bad[:5]))


def check_summary_metric_rows(t, results, min_rows=1):
    """The step summary's Error rate / Latency rows carry the metric check's own value and limit
    whenever the check measured something, failing or not."""
    labels = {"error-rate": "Error rate", "latency": "Latency"}
    bad, rows, failing = [], 0, 0
    for r in results:
        if r.report is None or not r.summary:
            continue
        lines = r.summary.splitlines()
        for c in r.report.get("checks", []):
            if c.get("name") not in labels or c.get("status") == "skip" or c.get("value") is None:
                continue
            rows += 1
            failing += c.get("status") == "fail"
            want = "| %s | %s (limit %s) |" % (labels[c["name"]], md_escape(c["value"]),
                                              md_escape(c.get("limit") or "none"))
            if want not in lines:
                bad.append(want)
    t.ok(rows >= min_rows and failing >= 1 and not bad,
         "summary: each measured metric's row shows its value and limit (%d rows, %d failing)" % (rows, failing),
         diag="\n".join(bad[:5]))


def sent(server, path):
    """The requests a stand-in server received for path (query ignored)."""
    return [q for q in server.requests() if q["path"].split("?")[0] == path]


def leaked(secrets, result, extra_texts=()):
    """Secrets (non-empty strings) found in the gate's stdout/stderr (lines
    starting with '::add-mask::' ignored), step summary, GITHUB_OUTPUT, report,
    any other file the run left in its temp dir, or extra_texts."""
    def unmasked(text):
        return "\n".join(l for l in text.splitlines() if not l.startswith("::add-mask::"))

    texts = [unmasked(result.stdout), unmasked(result.stderr), result.summary,
             result.outputs_raw, result.report_text or ""]
    if result.tmp and os.path.isdir(result.tmp):
        for root, _dirs, files in os.walk(result.tmp):
            for fn in files:
                t = _read_text(os.path.join(root, fn))
                if t:
                    texts.append(t)
    texts.extend(str(t) for t in extra_texts)
    found = []
    for s in secrets:
        if s and s not in found and any(s in t for t in texts):
            found.append(s)
    return found


# --------------------------------------------------------------------------
# TAP


class TAP:
    """Minimal TAP producer.  With plan=None the plan is printed by done()."""

    def __init__(self, plan=None):
        self.n = 0
        self.failed = 0
        self.plan = plan
        if plan is not None:
            self._emit("1..%d" % plan)

    @staticmethod
    def _emit(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    @staticmethod
    def _clean(name):
        return str(name).replace("\n", " ").replace("#", "\\#")

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            self._emit("# " + line)

    def ok(self, cond, name, diag=None):
        self.n += 1
        passed = bool(cond)
        self._emit("%s %d - %s" % ("ok" if passed else "not ok", self.n, self._clean(name)))
        if not passed:
            self.failed += 1
            if diag is not None:
                self.diag(diag)
        return passed

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def skip(self, name, reason):
        self.n += 1
        self._emit("ok %d - %s # SKIP %s" % (self.n, self._clean(name), self._clean(reason)))

    def skip_all(self, reason):
        self._emit("1..0 # SKIP %s" % self._clean(reason))
        sys.exit(0)

    def done(self):
        if self.plan is None:
            self._emit("1..%d" % self.n)
        elif self.plan != self.n:
            self.diag("planned %d tests but ran %d" % (self.plan, self.n))
            self.failed += 1
        sys.exit(0 if self.failed == 0 else 1)
