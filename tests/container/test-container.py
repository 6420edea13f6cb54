#!/usr/bin/env python3
"""Container test (TAP): build the action's image and run it the way the GitHub runner
and act do, against the stand-in service.

    python3 tests/container/test-container.py

What it does (the runner's side follows actions/runner's ContainerActionHandler.cs and
DockerCommandManager.cs; act's side follows nektos/act's container executor):
  * picks an engine: podman if usable, else docker if `docker info` answers;
    ATOM_CONTAINER_ENGINE=podman|docker forces one, =none skips;
  * tests/container/setup-podman.sh (podman only) and tests/container/base-image.sh
    (debian:bookworm-slim from Debian's mirror; no registry needed);
  * `<engine> build --pull=never --network=host -t atom-safety:test .`, printing the build
    time and the image size as TAP diagnostics; the scratch runtime's files checked from inside
    (every shared object of the binary and bash resolves, CA bundle, /tmp, --version);
  * starts tests/servers/service.py (--preset healthy / bad-release) and runs the image
      - like the runner: --workdir /github/workspace, /github/{workspace,home,workflow,
        file_commands,runner_temp} mounts, every variable passed as `-e NAME` (values taken
        from the engine CLI's own environment, hyphenated INPUT_ names included), the
        workspace a real git checkout owned by uid 1001;
      - like act: the workspace at its host path, file commands in /var/run/act/workflow/,
        RUNNER_TEMP=/tmp, variables passed as `-e NAME=VALUE`;
    and checks the exit code, the outputs file (parsed like the runner's
    FileCommandManager) and the step summary written on the host;
  * https from inside the image: a self-signed stand-in refused for its certificate, accepted
    with that certificate mounted as the CA bundle.
The release path (push to a registry, pin, pull, run) is tests/container/test-release.py.

Environment:
  ATOM_CONTAINER_ENGINE  podman | docker | none
  ATOM_CACHE             cache directory for base-image.sh (default ~/.cache/atom-safety)
  ATOM_SERVICE           stand-in service script (default tests/servers/service.py)
  ATOM_IMAGE             image tag to build and run (default atom-safety:test)
  ATOM_KEEP=1            keep the temporary directory (its path is printed)
  ATOM_VERBOSE=1         print every container's stdout/stderr as diagnostics
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
IMAGE = os.environ.get("ATOM_IMAGE", "atom-safety:test")
BASE = "debian:bookworm-slim"
SERVICE = os.environ.get("ATOM_SERVICE", os.path.join(REPO, "tests", "servers", "service.py"))
VERBOSE = os.environ.get("ATOM_VERBOSE") == "1"
PASSWORD = "demo-password"
RUNNER_UID = 1001       # the hosted runner's user (`runner`, uid 1001) owns the workspace
ACT_HOST_UID = 1000     # act --bind keeps the host user's uid

# ---------------------------------------------------------------------------------------------
# TAP plumbing


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line if line else "#", flush=True)

    def ok(self, cond, name, detail=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if detail:
                self.diag(detail)
        return cond

    def bail(self, reason):
        print("Bail out! " + reason, flush=True)
        self.finish(force_fail=True)

    def finish(self, force_fail=False):
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if (self.failed or force_fail) else 0)


def skip_all(reason):
    print("1..0 # SKIP " + reason, flush=True)
    sys.exit(0)


def tail(text, n=40):
    lines = (text or "").splitlines()
    return "\n".join(lines[-n:])


# ---------------------------------------------------------------------------------------------
# engine


def answers(cmd, timeout=60):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        return p.returncode == 0, p.stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)


def run_setup_podman():
    p = subprocess.run([os.path.join(HERE, "setup-podman.sh")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return p.returncode == 0, p.stdout


def choose_engine():
    """Returns the engine to use, or skips.  An engine asked for by name must work."""
    want = os.environ.get("ATOM_CONTAINER_ENGINE", "").strip()
    if want == "none":
        skip_all("ATOM_CONTAINER_ENGINE=none")
    if want and want not in ("podman", "docker"):
        print("Bail out! ATOM_CONTAINER_ENGINE=%s: expected podman, docker or none" % want)
        sys.exit(1)
    tried = []
    for engine in ([want] if want else ["podman", "docker"]):
        if not shutil.which(engine):
            tried.append("%s: not installed" % engine)
            continue
        if engine == "podman":
            ok, out = run_setup_podman()
            if not ok:
                tried.append("podman: setup-podman.sh failed: %s" % tail(out, 3).replace("\n", " | "))
                continue
        ok, out = answers([engine, "info"])
        if ok:
            return engine
        tried.append("%s info failed: %s" % (engine, tail(out, 2).replace("\n", " | ")))
    reason = "no usable container engine (%s)" % "; ".join(tried)
    if want:
        print("Bail out! ATOM_CONTAINER_ENGINE=%s asked for, but %s" % (want, reason), flush=True)
        sys.exit(1)
    skip_all(reason)


def image_size(engine, ref):
    ok, out = answers([engine, "image", "inspect", "--format", "{{.Size}}", ref])
    try:
        return int(out.strip().splitlines()[0]) if ok else None
    except (ValueError, IndexError):
        return None


def image_config(engine, ref):
    ok, out = answers([engine, "image", "inspect", ref])
    if not ok:
        return {}
    data = json.loads(out)
    data = data[0] if isinstance(data, list) else data
    return data.get("Config") or {}


def mb(n):
    return "%.1f MB" % (n / 1e6)


# ---------------------------------------------------------------------------------------------
# the runner's file-command parser (FileCommandManager.cs EnvFileKeyValuePairs, Linux rules:
# only "\n" ends a line)


def parse_file_command(text):
    out, errors = {}, []
    lines = text.split("\n")
    # a trailing "\n" produces one empty last element, which is just a blank line
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line == "":
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            name, value = line[:eq], line[eq + 1:]
            if not name:
                errors.append("Invalid format '%s'. Name must not be empty" % line)
                continue
            out[name] = value
        elif heredoc >= 0:
            name, delim = line[:heredoc], line[heredoc + 2:]
            if not name or not delim:
                errors.append("Invalid format '%s'. Name must not be empty and delimiter must "
                              "not be empty" % line)
                continue
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                errors.append("Invalid value. Matching delimiter not found '%s'" % delim)
                break
            if i == len(lines) - 1:
                # the delimiter is the very last line without a newline after it
                errors.append("Invalid value. EOF marker missing new line.")
            i += 1
            out[name] = "\n".join(body)
        else:
            errors.append("Invalid format '%s'" % line)
    return out, errors


# ---------------------------------------------------------------------------------------------
# stand-in service


class Service:
    def __init__(self, preset, extra=()):
        self.preset = preset
        self.proc = subprocess.Popen([sys.executable, SERVICE, "--preset", preset, "--port", "0"] + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=REPO, start_new_session=True)
        self.url = None
        deadline = time.time() + 20
        first = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            first += line
            m = re.match(r"READY (\S+)", line.strip())
            if m:
                self.url = m.group(1).rstrip("/")
                break
        if not self.url:
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError("service --preset %s did not print READY: %s %s"
                               % (preset, first.strip(), tail(err, 10)))
        # keep draining its output so it never blocks on a full pipe
        for stream in (self.proc.stdout, self.proc.stderr):
            _drain(stream)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _drain(stream):
    import threading

    def pump():
        for _ in stream:
            pass
    threading.Thread(target=pump, daemon=True).start()


# ---------------------------------------------------------------------------------------------
# action.yml: the runner exports every declared input as INPUT_<NAME>, with its default when
# `with:` lacks it, possibly empty (ContainerActionHandler.cs)


def action_yml_section(section):
    """{id: literal default or ''} for the top-level mapping `section` (inputs, outputs) of
    action.yml, with a small line-based reader (stdlib has no YAML).  Expression defaults
    (${{ ... }}) and block scalars become ''."""
    path = os.path.join(REPO, "action.yml")
    if not os.path.exists(path):
        path = os.path.join(REPO, "action.yaml")
    if not os.path.exists(path):
        return {}
    items, cur, inside, ind_id = {}, None, False, None
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            ind = len(line) - len(line.lstrip())
            text = line.strip()
            if ind == 0:
                inside = text.startswith(section + ":")
                cur, ind_id = None, None
                continue
            if not inside:
                continue
            m = re.match(r"^([_A-Za-z][A-Za-z0-9_-]*)\s*:\s*(.*)$", text)
            if ind_id is None and m:
                ind_id = ind
            if m and ind == ind_id:
                cur = m.group(1)
                items[cur] = ""
            elif m and cur and ind > ind_id and m.group(1) == "default":
                v = m.group(2).strip()
                if len(v) >= 2 and v[0] == v[-1] == "'":
                    v = v[1:-1].replace("''", "'")
                elif len(v) >= 2 and v[0] == v[-1] == '"':
                    v = v[1:-1]
                items[cur] = "" if "${{" in v or v[:1] in ("|", ">") else v
    return items


def input_env(inputs):
    """INPUT_ names exactly as the runner makes them: upper-cased, spaces to '_', hyphens kept."""
    return {"INPUT_" + k.replace(" ", "_").upper(): v for k, v in inputs.items()}


# ---------------------------------------------------------------------------------------------
# workspace and runs


def make_checkout(path, uid):
    os.makedirs(path)
    env = dict(os.environ, GIT_AUTHOR_NAME="CI", GIT_AUTHOR_EMAIL="ci@example.com",
               GIT_COMMITTER_NAME="CI", GIT_COMMITTER_EMAIL="ci@example.com",
               GIT_CONFIG_NOSYSTEM="1", HOME=path)
    with open(os.path.join(path, "README.md"), "w") as f:
        f.write("# demo app\n")
    for cmd in (["git", "init", "-q", "-b", "main", path],
                ["git", "-C", path, "add", "-A"],
                ["git", "-C", path, "commit", "-q", "-m", "deploy: release 1.2.3"]):
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    sha = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], check=True, env=env,
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    chown_r(path, uid)
    return sha


def chown_r(path, uid):
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)
    os.lchown(path, uid, uid)


def touch(path, uid):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "a").close()
    if os.geteuid() == 0:
        os.chown(path, uid, uid)


def event_json(sha):
    return json.dumps({
        "ref": "refs/heads/main", "after": sha,
        "repository": {"full_name": "demo-org/demo-app", "name": "demo-app",
                       "owner": {"login": "demo-org"}, "default_branch": "main"},
        "head_commit": {"id": sha, "message": "deploy: release 1.2.3"},
        "sender": {"login": "octocat"},
    })


def github_env(sha, workspace, event_path):
    return {
        "GITHUB_SHA": sha, "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main",
        "GITHUB_REF_TYPE": "branch", "GITHUB_REPOSITORY": "demo-org/demo-app",
        "GITHUB_REPOSITORY_OWNER": "demo-org", "GITHUB_ACTOR": "octocat",
        "GITHUB_TRIGGERING_ACTOR": "octocat", "GITHUB_WORKFLOW": "deploy",
        "GITHUB_JOB": "smoke", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_NUMBER": "7",
        "GITHUB_RUN_ATTEMPT": "1", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": event_path,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql", "GITHUB_WORKSPACE": workspace,
        "GITHUB_ACTION": "__run_smoke", "GITHUB_ACTION_REPOSITORY": "", "GITHUB_ACTION_REF": "",
        "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "GitHub Actions 2",
        "RUNNER_ENVIRONMENT": "github-hosted",
    }


class Result:
    def __init__(self, rc, stdout, stderr, outputs, out_errors, summary, seconds, cmd):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.outputs, self.out_errors, self.summary = outputs, out_errors, summary
        self.seconds, self.cmd = seconds, cmd

    def log(self):
        # the command line carries the (demo) password in act style: don't echo it
        cmd = " ".join(self.cmd).replace(PASSWORD, "***")
        return "command: %s\nexit: %s\n--- stdout\n%s\n--- stderr\n%s\n--- outputs file\n%r\n" \
               "--- summary\n%s" % (cmd, self.rc, tail(self.stdout), tail(self.stderr),
                                    self.outputs, tail(self.summary, 20))


class Runner:
    def __init__(self, engine, tmp, image=None):
        # engine: the CLI, or a list (the release test adds --root/--runroot for its own store)
        self.engine = [engine] if isinstance(engine, str) else list(engine)
        self.image = image or IMAGE
        self.tmp = tmp
        self.count = 0

    def _run(self, cmd, env, files):
        t0 = time.time()
        try:
            p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=180)
            rc, so, se = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, so, se = "timeout", e.stdout or b"", e.stderr or b""
        seconds = time.time() - t0
        with open(files["output"], "rb") as f:
            out_raw = f.read()
        sum_raw = b""
        if os.path.exists(files["summary"]):
            with open(files["summary"], "rb") as f:
                sum_raw = f.read()
        bad_utf8 = []
        for where, raw in (("stdout", so), ("stderr", se), ("outputs", out_raw), ("summary", sum_raw)):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                bad_utf8.append("%s at byte %d: %r" % (where, e.start, raw[max(0, e.start - 60):e.start + 20]))
        dec = lambda b: b.decode("utf-8", errors="replace")
        outputs, errors = parse_file_command(dec(out_raw))
        r = Result(rc, dec(so), dec(se), outputs, errors, dec(sum_raw), seconds, cmd)
        r.bad_utf8 = bad_utf8
        if VERBOSE:
            TAP.diag(r.log())
        return r

    def as_runner(self, inputs, extra_args=()):
        """docker run exactly like ContainerActionHandler / DockerCommandManager (extra_args: more
        engine options, for the test's own probes)."""
        self.count += 1
        guid = secrets.token_hex(16)
        base = os.path.join(self.tmp, "runner-%d" % self.count)
        runner_temp = os.path.join(base, "_temp")
        ws = os.path.join(base, "work", "demo-app", "demo-app")
        home, workflow = os.path.join(runner_temp, "_github_home"), os.path.join(runner_temp, "_github_workflow")
        fcmd = os.path.join(runner_temp, "_runner_file_commands")
        for d in (home, workflow, fcmd):
            os.makedirs(d)
        sha = make_checkout(ws, RUNNER_UID)
        with open(os.path.join(workflow, "event.json"), "w") as f:
            f.write(event_json(sha))
        names = {k: "%s_%s" % (k, guid) for k in ("add_path", "set_env", "set_output", "save_state",
                                                  "step_summary")}
        for n in names.values():
            touch(os.path.join(fcmd, n), RUNNER_UID)
        chown_r(runner_temp, RUNNER_UID)

        env = github_env(sha, "/github/workspace", "/github/workflow/event.json")
        env.update({
            "HOME": "/github/home",
            "GITHUB_OUTPUT": "/github/file_commands/" + names["set_output"],
            "GITHUB_STEP_SUMMARY": "/github/file_commands/" + names["step_summary"],
            "GITHUB_ENV": "/github/file_commands/" + names["set_env"],
            "GITHUB_PATH": "/github/file_commands/" + names["add_path"],
            "GITHUB_STATE": "/github/file_commands/" + names["save_state"],
            "RUNNER_TEMP": "/github/runner_temp",
            "RUNNER_WORKSPACE": "/home/runner/work/demo-app",
            "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
        })
        env.update(input_env(inputs))
        cmd = self.engine + ["run", "--name", "atom-safety-test_%s" % secrets.token_hex(3),
               "--label", "atom-safety-test", "--workdir", "/github/workspace", "--rm"]
        # "-e NAME" without a value: the CLI takes the value from its own environment, as the
        # runner does; this is what must carry INPUT_HEALTH-PATH & co.
        for name in env:
            cmd += ["-e", name]
        cmd += ["-e", "GITHUB_ACTIONS=true", "-e", "CI=true", "--network", "host",
                "-v", "%s:/github/runner_temp" % runner_temp,
                "-v", "%s:/github/home" % home,
                "-v", "%s:/github/workflow" % workflow,
                "-v", "%s:/github/file_commands" % fcmd,
                "-v", "%s:/github/workspace" % ws] + list(extra_args) + [self.image]
        proc_env = dict(os.environ)
        proc_env.update(env)
        r = self._run(cmd, proc_env, {"output": os.path.join(fcmd, names["set_output"]),
                                       "summary": os.path.join(fcmd, names["step_summary"])})
        r.runner_temp = runner_temp
        return r

    def as_act(self, inputs):
        """docker run like act: host workspace path, /var/run/act/workflow, RUNNER_TEMP=/tmp."""
        self.count += 1
        base = os.path.join(self.tmp, "act-%d" % self.count)
        ws = os.path.join(base, "home", "me", "demo-app")
        act = os.path.join(base, "act")
        wf = os.path.join(act, "workflow")
        os.makedirs(wf)
        sha = make_checkout(ws, ACT_HOST_UID)
        with open(os.path.join(wf, "event.json"), "w") as f:
            f.write(event_json(sha))
        for n in ("outputcmd.txt", "envs.txt", "pathcmd.txt", "statecmd.txt", "SUMMARY.md"):
            touch(os.path.join(wf, n), 0)
        env = github_env(sha, ws, "/var/run/act/workflow/event.json")
        env.update({
            "GITHUB_OUTPUT": "/var/run/act/workflow/outputcmd.txt",
            "GITHUB_ENV": "/var/run/act/workflow/envs.txt",
            "GITHUB_PATH": "/var/run/act/workflow/pathcmd.txt",
            "GITHUB_STATE": "/var/run/act/workflow/statecmd.txt",
            "GITHUB_STEP_SUMMARY": "/var/run/act/workflow/SUMMARY.md",
            "RUNNER_TEMP": "/tmp", "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
            "GITHUB_ACTIONS": "true", "CI": "true", "ACT": "true",
        })
        env.update(input_env(inputs))
        cmd = self.engine + ["run", "--rm", "--network", "host", "--workdir", ws,
               "-v", "%s:%s" % (ws, ws), "-v", "%s:/var/run/act" % act]
        for name, value in env.items():       # act hands the engine NAME=VALUE pairs
            cmd += ["-e", "%s=%s" % (name, value)]
        cmd.append(self.image)
        return self._run(cmd, dict(os.environ), {"output": os.path.join(wf, "outputcmd.txt"),
                                                  "summary": os.path.join(wf, "SUMMARY.md")})


# ---------------------------------------------------------------------------------------------
# checks on one result


def check_run(tap, label, r, want_rc, want_result, extra=None):
    tap.diag("%s: exit %s in %.2f s" % (label, r.rc, r.seconds))
    ok = tap.ok(r.rc == want_rc, "%s: exits %d" % (label, want_rc), r.log())
    ok &= tap.ok(not r.out_errors, "%s: outputs file parses like the runner's" % label,
                 "; ".join(r.out_errors) + "\n" + r.log())
    ok &= tap.ok(r.outputs.get("result") == want_result,
                 "%s: output result=%s" % (label, want_result),
                 "result=%r\n%s" % (r.outputs.get("result"), r.log()))
    ok &= tap.ok(r.summary.strip() != "", "%s: step summary written on the host" % label, r.log())
    leaks = [where for where, text in (("outputs", json.dumps(r.outputs)), ("summary", r.summary),
                                       ("stdout", _unmasked(r.stdout)), ("stderr", _unmasked(r.stderr)))
             if PASSWORD in text]
    ok &= tap.ok(not leaks, "%s: password not printed or stored" % label,
                 "password found in: %s" % ", ".join(leaks))
    # GitHub renders the summary and logs as UTF-8; invalid bytes mean garbage was printed
    ok &= tap.ok(not r.bad_utf8, "%s: stdout, stderr, outputs and summary are valid UTF-8" % label,
                 "\n".join(r.bad_utf8))
    # libgit2 1.5.1 refuses a workspace owned by another uid unless the binary opts out (its
    # owner check, libgit2's answer to CVE-2022-24765 like git's safe.directory): the runner's
    # workspace is uid 1001's while the container runs as root, act's the host user's
    m = re.search(r".*(safe\.directory|not owned by current user|dubious ownership).*",
                  r.stdout + "\n" + r.stderr)
    ok &= tap.ok(m is None, "%s: no repository-ownership error" % label, m and m.group(0))
    if extra:
        for cond, name, detail in extra(r):
            ok &= tap.ok(cond, "%s: %s" % (label, name), detail + "\n" + r.log())
    return ok


def _unmasked(text):
    """Everything except ::add-mask:: lines, which must carry the secret."""
    return "\n".join(l for l in (text or "").splitlines() if not l.lstrip().startswith("::add-mask::"))


# ---------------------------------------------------------------------------------------------


def tls_runs(tap, run, inputs, tmp, services):
    """https from inside the image: the scratch runtime carries OpenSSL, its CA bundle at the path
    Debian's libcurl reads (/etc/ssl/certs/ca-certificates.crt). A self-signed service must be
    refused for its certificate (not for a missing CA file); with that certificate mounted as the
    bundle, the same run passes."""
    if shutil.which("openssl") is None:
        tap.ok(False, "openssl installed (makes the TLS test's certificate)")
        return
    d = os.path.join(tmp, "tls")
    os.makedirs(d)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not tap.ok(p.returncode == 0, "TLS: self-signed certificate made", p.stdout):
        return
    os.chmod(key, 0o644)
    services["tls"] = Service("healthy", ["--tls", cert, key])
    url = services["tls"].url
    tap.ok(url.startswith("https://"), "TLS: the stand-in serves https", url)
    base = inputs("healthy", **{"wait-timeout": "2s"})
    base["url"] = url
    r = run.as_runner(base)
    out = r.stdout + r.stderr
    tap.ok(r.rc == 1 and "certificate problem" in out and "certificate file" not in out
           and "CA cert" not in out,
           "TLS: a self-signed service is refused for its certificate (the CA bundle loaded)", r.log())
    r = run.as_runner(base, ["-v", "%s:/etc/ssl/certs/ca-certificates.crt:ro" % cert])
    tap.ok(r.rc == 0 and r.outputs.get("result") == "passed",
           "TLS: with its certificate as the CA bundle, the run passes over https", r.log())


def check_runtime_files(tap, engine, image):
    """The runtime stage is scratch plus collected files: every shared object the binary and bash
    need must resolve inside the image, the CA bundle must be there, and the binary must run."""
    script = ("set -u; ld=$(echo /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.*); ld=${ld%% *}; "
              "for exe in /usr/local/bin/atom-safety /usr/bin/bash; do \"$ld\" --list \"$exe\" || exit 1; done; "
              "[ -s /etc/ssl/certs/ca-certificates.crt ] && echo CA-OK; "
              "[ -d /tmp ] && [ -w /tmp ] && echo TMP-OK; /usr/local/bin/atom-safety --version")
    cmd = (engine if isinstance(engine, list) else [engine]) + [
        "run", "--rm", "--entrypoint", "/usr/bin/bash", image, "-c", script]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    missing = [l for l in p.stdout.splitlines() if "not found" in l]
    tap.ok(p.returncode == 0 and not missing and "=>" in p.stdout,
           "image: every shared object of atom-safety and bash resolves inside the image",
           tail(p.stdout))
    tap.ok("CA-OK" in p.stdout, "image: CA bundle /etc/ssl/certs/ca-certificates.crt present", tail(p.stdout))
    tap.ok("TMP-OK" in p.stdout, "image: /tmp exists and is writable", tail(p.stdout))
    tap.ok(re.search(r"^atom-safety \d+\.\d+\.\d+$", p.stdout, re.M) is not None,
           "image: atom-safety --version runs", tail(p.stdout))
    return p.stdout


TAP = Tap()


def main():
    tap = TAP
    engine = choose_engine()
    tap.diag("engine: %s (%s)" % (engine, answers([engine, "--version"])[1].strip()))

    for f in ("Dockerfile", "entrypoint.sh", "meson.build"):
        if not os.path.exists(os.path.join(REPO, f)):
            tap.bail("%s missing at the repository root" % f)
    if not os.path.exists(SERVICE):
        tap.bail("stand-in service %s missing" % SERVICE)
    if shutil.which("git") is None:
        tap.bail("git not installed (the workspace must be a real checkout)")

    with open(os.path.join(REPO, "entrypoint.sh")) as f:
        shebang = f.readline().strip()
    tap.ok(shebang in ("#!/bin/bash", "#!/usr/bin/env bash"),
           "entrypoint.sh runs under bash (dash drops hyphenated names)", "shebang: " + shebang)

    # ---- base image --------------------------------------------------------------------
    t0 = time.time()
    p = subprocess.run([os.path.join(HERE, "base-image.sh")], env=dict(os.environ, ATOM_CONTAINER_ENGINE=engine),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    tap.diag("base image: %.1f s (%s)" % (time.time() - t0, tail(p.stdout, 1)))
    if not tap.ok(p.returncode == 0, "base image %s available" % BASE, tail(p.stdout)):
        tap.bail("no base image")

    # ---- build ---------------------------------------------------------------------------
    cmd = [engine, "build", "--network=host", "-t", IMAGE, "-f", "Dockerfile", "."]
    if engine == "podman":
        cmd[2:2] = ["--pull=never"]
    t0 = time.time()
    p = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=1800)
    build_s = time.time() - t0
    tap.diag("build: %.1f s (%s)" % (build_s, " ".join(cmd)))
    if not tap.ok(p.returncode == 0, "image builds", tail(p.stdout, 60)):
        tap.bail("image build failed")
    size = image_size(engine, IMAGE)
    if size:
        tap.diag("image size: %s uncompressed (bench/image measures it as pushed)" % mb(size))
        # a guard against the build stage (toolchain, -dev packages: ~390 MB) or a whole
        # distribution ending up in the runtime image; bench/RESULTS.md has the real figures
        tap.ok(size < 60e6, "image under 60 MB uncompressed (no build tools in the runtime stage)",
               "final %s" % mb(size))
    check_runtime_files(tap, engine, IMAGE)
    cfg = image_config(engine, IMAGE)
    tap.ok(cfg.get("Entrypoint") == ["/entrypoint.sh"] and not cfg.get("User")
           and cfg.get("WorkingDir", "") in ("", "/"),
           "image: ENTRYPOINT [\"/entrypoint.sh\"], no USER, no WORKDIR",
           "Entrypoint=%r User=%r WorkingDir=%r" % (cfg.get("Entrypoint"), cfg.get("User"),
                                                      cfg.get("WorkingDir")))

    # the engine itself must carry hyphenated names given as "-e NAME" (the runner passes every
    # input that way, the value taken from its own environment); checked apart from the binary
    # so a failure points at the right layer
    p = subprocess.run([engine, "run", "--rm", "-e", "INPUT_HEALTH-PATH", "-e", "INPUT_CREATE-ISSUE=false",
                        "--entrypoint", "/usr/bin/bash", IMAGE, "-c",
                        # the image has no env(1); the process's own environment block, as execve
                        # handed it over, hyphenated names included
                        'while IFS= read -r -d "" v; do printf "%s\\n" "$v"; done </proc/self/environ'],
                       env=dict(os.environ, **{"INPUT_HEALTH-PATH": "/probe"}),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    got = set(p.stdout.splitlines())
    tap.ok({"INPUT_HEALTH-PATH=/probe", "INPUT_CREATE-ISSUE=false"} <= got,
           "%s passes hyphenated names into the container (-e NAME and -e NAME=VALUE)" % engine,
           tail(p.stdout))

    # ---- runs ----------------------------------------------------------------------------
    keep = os.environ.get("ATOM_KEEP") == "1"
    tmp = tempfile.mkdtemp(prefix="atom-safety-container.")
    os.chmod(tmp, 0o755)
    services = {}
    try:
        try:
            for preset in ("healthy", "bad-release"):
                services[preset] = Service(preset)
        except (OSError, RuntimeError) as e:
            tap.bail(str(e))
        for preset, s in services.items():
            tap.diag("service --preset %s at %s" % (preset, s.url))

        # the runner exports every declared input, with its default when `with:` lacks it
        declared = action_yml_section("inputs")
        declared_outputs = list(action_yml_section("outputs"))
        if not declared:
            tap.diag("action.yml not found or has no inputs: passing only the test's inputs")

        def inputs(preset, **over):
            d = {k: v for k, v in declared.items()}
            d.update({
                "url": services[preset].url, "environment": "staging",
                "username": "smoke_test", "password": PASSWORD,
                "endpoints": "GET /api/projects", "health-path": "/health",
                "rollback": "false", "create-issue": "false",
            })
            d.update(over)
            return d

        def all_outputs(r):
            missing = [o for o in declared_outputs if o not in r.outputs]
            return [(not missing, "every output declared in action.yml is written",
                     "missing: %s" % ", ".join(missing))]

        def report_in_runner_temp(r):
            # RUNNER_TEMP=/github/runner_temp is a mount: the JSON report must land on the host
            rep = r.outputs.get("report", "")
            host = os.path.join(r.runner_temp, os.path.relpath(rep, "/github/runner_temp")) \
                if rep.startswith("/github/runner_temp/") else None
            return [(host is not None and os.path.isfile(host),
                     "report written under RUNNER_TEMP, visible on the host", "report=%r" % rep)]

        def failed_checks(r):
            fc = r.outputs.get("failed-checks", "")
            return all_outputs(r) + [(fc.strip() != "", "output failed-checks non-empty",
                                      "failed-checks=%r" % fc)]

        def names_health(r):
            fc = r.outputs.get("failed-checks", "")
            return [(fc.strip() != "", "output failed-checks non-empty", "failed-checks=%r" % fc),
                    ("health" in fc, "failed-checks names health (INPUT_HEALTH-PATH reached the binary)",
                     "failed-checks=%r" % fc)]

        run = Runner(engine, tmp)
        times = []
        r = run.as_runner(inputs("healthy"))
        times.append(r.seconds)
        check_run(tap, "runner, healthy", r, 0, "passed",
                  lambda r: all_outputs(r) + report_in_runner_temp(r))
        r = run.as_runner(inputs("bad-release"))
        times.append(r.seconds)
        check_run(tap, "runner, bad-release", r, 1, "failed", failed_checks)
        # wait-timeout: the health check keeps polling a failing path until it expires (120 s)
        r = run.as_runner(inputs("healthy", **{"health-path": "/nonexistent", "wait-timeout": "3s"}))
        times.append(r.seconds)
        check_run(tap, "runner, healthy, health-path=/nonexistent", r, 1, "failed", names_health)
        # a host name, not an address: the scratch image resolves through glibc's NSS (files, dns)
        # with the engine's /etc/hosts and resolv.conf, as a service name would be on a runner
        r = run.as_runner(inputs("healthy", url=services["healthy"].url.replace("127.0.0.1", "localhost")))
        times.append(r.seconds)
        check_run(tap, "runner, healthy, url by host name (localhost)", r, 0, "passed")
        r = run.as_act(inputs("healthy"))
        times.append(r.seconds)
        check_run(tap, "act, healthy", r, 0, "passed")
        r = run.as_act(inputs("bad-release"))
        times.append(r.seconds)
        check_run(tap, "act, bad-release", r, 1, "failed", failed_checks)
        tap.diag("container runs: %s s" % ", ".join("%.2f" % t for t in times))
        tls_runs(tap, run, inputs, tmp, services)
    finally:
        for s in services.values():
            s.stop()
        if keep or tap.failed:
            tap.diag("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    tap.finish()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # never end without a plan line
        import traceback
        TAP.ok(False, "test harness error: %s: %s" % (type(e).__name__, e), traceback.format_exc())
        TAP.finish()
