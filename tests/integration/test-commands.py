#!/usr/bin/env python3
"""Issue 11 item 1: no outside text can start, stop or resume a workflow command, in either of the
runner's syntaxes, and every secret known at start is masked before the first line that quotes
outside text. The gate's real stdout goes through tests/lib/runnercmd.py, which parses it by the
runner's own rules (SECURITY.md); outside text arrives through every path that quotes it: the
commit subject and author, a health body, a Kubernetes Status message, a Prometheus error, a
GitHub error message and a Slack error reply."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
import kube  # noqa: E402
from harness import TAP, Server, leaked, run_gate, service  # noqa: E402
from runnercmd import RunnerLog, try_parse_legacy, try_parse_v2, REGISTERED  # noqa: E402

SERVERS = os.path.join(HERE, "..", "servers")
PASSWORD = "pw-Cmd-5e1d-secret-value"
LOGIN_TOKEN = "tok-Cmd-77aa-access-token"
KTOKEN = "ktok-Cmd-42f0-kube-token"
GH_TOKEN = "ghs_CmdTest_Zr8Qw3Lm5Xp"
PROM_TOKEN = "prom-Cmd-9c3b-bearer"
HOOK_SECRET = "hookCmd-8Hk2Lq9Wv"
HOOK_PATH = "/services/T0CMD/B0CMD/" + HOOK_SECRET
AT_START = [PASSWORD, KTOKEN, GH_TOKEN, PROM_TOKEN, HOOK_PATH]
SECRETS = AT_START + [LOGIN_TOKEN, HOOK_SECRET]
# the commands the gate itself writes (log.c, wfcmd.c)
OWN = {"add-mask", "warning", "error", "debug", "group", "endgroup"}

# every payload names itself HOSTILE, so the first line quoting outside text can be found
PAYLOADS = [
    "##[stop-commands]HOSTILE-stop",
    "::stop-commands::HOSTILE-stop2",
    "mid-line ::add-mask::HOSTILE-a",
    "##[add-mask]HOSTILE-b",
    "##[set-output name=result;]HOSTILE-passed",
    "##[group]HOSTILE-group",
    "##[STOP-Commands]HOSTILE-case",
    "##[Add-Mask]HOSTILE-case2",
    "x\n::error::HOSTILE-newline",
    "x\r::warning::HOSTILE-cr",
    "\u00a0::add-mask::HOSTILE-nbsp",
    "\u2028::group::HOSTILE-ls",
    "\t ::endgroup::HOSTILE-tab",
    "###[debug]HOSTILE-three",
    "#\u200b#[add-mask]HOSTILE-zw",
]
HOSTILE = " ".join(PAYLOADS)

t = TAP()
work = tempfile.mkdtemp(prefix="atom-safety-commands-")

# --- the parser follows the runner's rules (examples from ActionCommandManagerL0.cs) ----------
t.ok(try_parse_v2("::add-mask::x", REGISTERED) == ("add-mask", {}, "x"), "parser: v2 at line start")
t.ok(try_parse_v2("  \u00a0::add-mask::x", REGISTERED) is not None, "parser: v2 after .NET white space")
t.ok(try_parse_v2("a ::add-mask::x", REGISTERED) is None, "parser: v2 only at line start")
t.ok(try_parse_legacy("x ##[stop-commands]tok", REGISTERED) == ("stop-commands", {}, "tok"),
     "parser: legacy anywhere in a line")
t.ok(try_parse_legacy("##[ADD-MASK]v", REGISTERED) is not None, "parser: command names in any case")
t.ok(try_parse_legacy("## [add-mask]v", REGISTERED) is None, "parser: '## [' is not the prefix")
t.ok(try_parse_v2(": :add-mask::v", REGISTERED) is None, "parser: ': :' is not the prefix")
probe = RunnerLog().feed("##[stop-commands]T1\n::add-mask::zzz\n::T1::\n::add-mask::yyy\n")
t.eq(probe.masks, ["yyy"], "parser: add-mask is ignored while commands are stopped, resumes with the token")


def git(*args, cwd=None):
    env = dict(os.environ, HOME=work, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Mallory ##[group]HOSTILE-author",
               GIT_AUTHOR_EMAIL="m@example.org", GIT_COMMITTER_NAME="CI", GIT_COMMITTER_EMAIL="ci@example.org")
    return subprocess.run(["git"] + list(args), cwd=cwd, env=env, check=True, capture_output=True, text=True)


def kubeconfig(url):
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": url}}],
        "users": [{"name": "deployer", "user": {"token": KTOKEN}}],
        "contexts": [{"name": "ci", "context": {"cluster": "test", "user": "deployer", "namespace": "default"}}],
        "current-context": "ci",
    })


def verify(r, what, paths):
    """The runner's view of the gate's stdout: only the gate's own commands, secrets masked
    before the first line that quotes outside text, and nothing shown in clear."""
    log = RunnerLog().feed(r.stdout)
    errlog = RunnerLog().feed(r.stderr)
    t.ok(r.rc in (0, 1), "%s: the gate ran (exit %s)" % (what, r.rc), r.stdout[-3000:] + r.stderr[-2000:])
    legacy = [c for c in log.commands + errlog.commands if c.form == "legacy"]
    t.ok(not legacy, "%s: no command in the legacy ##[ form" % what, repr(legacy[:5]))
    foreign = [c for c in log.commands + errlog.commands
               if c.name not in OWN or not c.raw.startswith("::")]
    t.ok(not foreign, "%s: only the gate's own commands, each at a line start" % what, repr(foreign[:5]))
    smuggled = [c for c in log.commands if c.name in ("add-mask", "group") and "HOSTILE" in c.data]
    t.ok(not smuggled, "%s: no mask or group from outside text" % what, repr(smuggled[:5]))
    t.ok(log.stopped_by is None and errlog.stopped_by is None, "%s: command processing never stopped" % what)
    first = log.first_line_with("HOSTILE")
    t.ok(first is not None, "%s: the outside text reached the log (%s)" % (what, ", ".join(paths)),
         r.stdout[-3000:])
    late = [s for s in AT_START if log.first_mask_line(s) is None or
            (first is not None and log.first_mask_line(s) > first)]
    t.ok(not late, "%s: every secret known at start is masked before line %s" % (what, first), repr(late))
    shown = [s for s in SECRETS if any(s in line for line in log.masked_lines + errlog.masked_lines)]
    t.ok(not shown, "%s: no secret shown in clear by the runner" % what, repr(shown))
    t.eq(leaked(SECRETS, r), [], "%s: no secret in any file the gate wrote" % what)
    # the runner needs this line to see the gate's result
    return log


# --- the repository under test: hostile subject and author ------------------------------------
have_git = shutil.which("git") is not None
repo = os.path.join(work, "repo")
sha = None
if have_git:
    os.mkdir(repo)
    git("init", "-q", "-b", "main", repo)
    with open(os.path.join(repo, "f"), "w") as f:
        f.write("x\n")
    git("add", "f", cwd=repo)
    git("commit", "-q", "-m", "Fix typo " + HOSTILE.replace("\n", " ").replace("\r", " "), cwd=repo)
    sha = git("rev-parse", "HEAD", cwd=repo).stdout.strip()

gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3",
            "--config", json.dumps({"token": GH_TOKEN, "fail": {"any": {"status": 422, "message": HOSTILE}}}))
slack = Server(os.path.join(SERVERS, "slack.py"),
               "--config", json.dumps({"fail": {"status": 400, "body": HOSTILE}}))
svc = service("healthy", {
    "users": {"smoke_test": PASSWORD}, "token": LOGIN_TOKEN,
    "health": {"status": 500, "raw_body": HOSTILE},
    "routes": {"GET /api/v1/query": {"status": 400, "require_auth": False, "body": {
        "status": "error", "errorType": "bad_data", "error": HOSTILE}}},
})

with kube.launch(scenario="history", config={
        "faults": [{"method": "GET", "path": ".*/deployments/atom$", "code": 500, "times": -1, "message": HOSTILE}]}) as k:
    inputs = {
        "url": svc.url, "environment": "staging", "username": "smoke_test", "password": PASSWORD,
        "wait-timeout": "0s", "retries": "0", "request-timeout": "3s", "kubeconfig": kubeconfig(k.url),
        "prometheus-url": svc.url, "prometheus-token": PROM_TOKEN, "github-token": GH_TOKEN,
        "slack-webhook-url": slack.url + HOOK_PATH, "create-issue": "true",
    }
    env = {"GITHUB_API_URL": gh.url + "/api/v3"}
    paths = ["health body", "Kubernetes Status", "Prometheus error", "GitHub error", "Slack reply"]
    if sha is not None:
        env.update({"GITHUB_WORKSPACE": repo, "GITHUB_SHA": sha})
        paths[:0] = ["commit subject", "commit author"]
    r = run_gate(inputs, env=env)
    log = verify(r, "all paths", paths)
    text = r.stdout
    for needle, path in (("Fix typo", "commit subject"), ("Mallory", "commit author"),
                         ("HTTP 500", "health body"), ("bad_data", "Prometheus error"),
                         ("HTTP 422", "GitHub error"), ("Slack webhook answered HTTP 400", "Slack reply")):
        if path.startswith("commit") and sha is None:
            t.skip("%s quoted" % path, "git not installed")
            continue
        t.ok(needle in text, "the log quotes the %s" % path, text[-4000:])
    t.ok(any("HOSTILE" in line and ("500" in line or "Kubernetes" in line) for line in text.splitlines()
             if "rollback" in line), "the log quotes the Kubernetes message", text[-4000:])
    # the same outside text in the step summary and the report stays data too
    t.ok("##[" not in r.summary and "##[" not in (r.report_text or ""),
         "no '##[' in the summary or the report")

    # each path alone: the first line that quotes outside text comes after every mask
    single = {
        "health body only": dict(inputs, **{"kubeconfig": "", "rollback": "false", "prometheus-url": "",
                                            "create-issue": "false", "slack-webhook-url": ""}),
        "Kubernetes only": dict(inputs, **{"create-issue": "false", "slack-webhook-url": "", "prometheus-url": ""}),
    }
    for what, inp in single.items():
        if what == "Kubernetes only":
            svc.config({"health": {"status": 200, "raw_body": None, "body": {"status": "ok"}}})
        rr = run_gate(inp, env={"GITHUB_API_URL": gh.url + "/api/v3"})
        log = RunnerLog().feed(rr.stdout)
        legacy = [c for c in log.commands if c.form == "legacy" or c.name not in OWN]
        t.ok(not legacy and log.stopped_by is None, "%s: only the gate's own commands" % what, repr(legacy[:5]))
        t.ok(log.first_line_with("HOSTILE") is not None, "%s: outside text reached the log" % what,
             rr.stdout[-2000:])

svc.stop()
gh.stop()
slack.stop()
shutil.rmtree(work, ignore_errors=True)
t.done()
