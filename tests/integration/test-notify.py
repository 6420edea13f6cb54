#!/usr/bin/env python3
"""Incident reporting: the GitHub issue (with commit metadata read by libgit2 from a repository
owned by another uid, a shallow clone, or no repository at all), dedup by fingerprint across
re-runs, GitHub and Slack failures that never change the verdict, and secrets that never leak.

Stand-ins: tests/servers/github.py (under /api/v3, as on GitHub Enterprise Server, so nothing
can work by hard-coding api.github.com) and tests/servers/slack.py; the service is service.py's
"bad-release" preset (the database check fails) or "healthy"."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import (SERVERS, TAP, Server, failed_checks, leaked, md_code, md_escape, run_gate, service,  # noqa: E402
                     slack_code, slack_escape)

TOKEN = "ghs_notifyTest_Q7zLw2Rk9Vb"
HOOK_SECRET = "hookSecret-4Fq9Zr2Lx"
HOOK_PATH = "/services/T0ATOM/B0ATOM/" + HOOK_SECRET
ACTOR = "actor-from-env"
OTHER_UID = 1001
SUBJECT = 'Fix "quoted" cache @someone <b>html</b> <!channel> für Zoë'
AUTHOR = "Zoë Ångström"
EMAIL = "zoe@example.org"
FP_RE = re.compile(r"<!-- atom-safety:fingerprint=([0-9a-f]{32}) -->")

t = TAP()
if shutil.which("git") is None:
    t.skip_all("git not installed")

work = tempfile.mkdtemp(prefix="atom-safety-notify-")
GIT_ENV = dict(os.environ, HOME=work, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME=AUTHOR,
               GIT_AUTHOR_EMAIL=EMAIL, GIT_COMMITTER_NAME="CI Bot",
               GIT_COMMITTER_EMAIL="ci@example.org", LANG="C.UTF-8")


def git(*args, cwd=None, check=True):
    return subprocess.run(["git"] + list(args), cwd=cwd, env=GIT_ENV, check=check,
                          capture_output=True, text=True)


def chown_tree(path, uid):
    os.lchown(path, uid, uid)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), uid, uid)


# --- repositories ---------------------------------------------------------------------------
repo = os.path.join(work, "repo")
os.mkdir(repo)
git("init", "-q", "-b", "main", repo)
with open(os.path.join(repo, "app.txt"), "w") as f:
    f.write("v1\n")
git("add", "app.txt", cwd=repo)
git("commit", "-q", "-m", "first release", cwd=repo)
with open(os.path.join(repo, "app.txt"), "w") as f:
    f.write("v2\n")
git("commit", "-q", "-a", "-m", SUBJECT + "\n\nThe body has\na newline and @another.", cwd=repo)
SHA = git("rev-parse", "HEAD", cwd=repo).stdout.strip()

# a depth-1 clone of a third commit, as actions/checkout makes by default: its parent is missing
with open(os.path.join(repo, "app.txt"), "w") as f:
    f.write("v3\n")
git("checkout", "-q", "-b", "tip", cwd=repo)
git("commit", "-q", "-a", "-m", "Shallow tip", cwd=repo)
SHALLOW_SHA = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
git("checkout", "-q", "main", cwd=repo)
shallow = os.path.join(work, "shallow")
git("clone", "-q", "--depth", "1", "--branch", "tip", "file://" + repo, shallow)
empty = os.path.join(work, "empty")
os.mkdir(empty)

t.ok(os.path.exists(os.path.join(shallow, ".git", "shallow"))
     and git("rev-parse", "HEAD", cwd=shallow).stdout.strip() == SHALLOW_SHA, "the clone is shallow, at its tip")
t.ok(git("rev-parse", "HEAD~1", cwd=shallow, check=False).returncode != 0,
     "the shallow clone lacks the parent commit")

is_root = os.geteuid() == 0
if is_root:
    chown_tree(repo, OTHER_UID)
    chown_tree(shallow, OTHER_UID)
    t.eq(os.stat(os.path.join(repo, ".git")).st_uid, OTHER_UID, "repositories belong to uid %d" % OTHER_UID)
    # git itself refuses it: the trap libgit2 must be told to ignore is real
    probe = git("-C", repo, "rev-parse", "HEAD", check=False)
    t.ok(probe.returncode != 0 and "dubious ownership" in probe.stderr,
         "git refuses the repository owned by another uid", probe.stderr)
else:
    t.skip("repository owned by another uid", "not running as root: cannot chown to %d" % OTHER_UID)
    t.diag("NOTE: not root, the ownership case (uid %d) is NOT covered by this run" % OTHER_UID)

# --- servers ----------------------------------------------------------------------------------
gh = Server(os.path.join(SERVERS, "github.py"), "--prefix", "/api/v3",
            "--config", json.dumps({"token": TOKEN}))
slack = Server(os.path.join(SERVERS, "slack.py"))
bad = service("bad-release")
healthy = service("healthy")
API = gh.url + "/api/v3"
HOOK = slack.url + HOOK_PATH
SECRETS = [TOKEN, HOOK, HOOK_PATH, HOOK_SECRET]


def reset(gh_config=None, slack_config=None):
    gh._control("POST", "/_test/reset", {"all": True})
    slack._control("POST", "/_test/reset", {"all": True})
    if gh_config:
        gh.config(gh_config)
    if slack_config:
        slack.config(slack_config)


def run(workspace=repo, sha=SHA, svc=None, attempt="1", **inputs):
    base = {"url": (svc or bad).url, "environment": "production", "rollback": False,
            "github-token": TOKEN, "slack-webhook-url": HOOK}
    base.update({k.replace("_", "-"): v for k, v in inputs.items()})
    env = {"GITHUB_API_URL": API, "GITHUB_WORKSPACE": workspace, "GITHUB_SHA": sha,
           "GITHUB_ACTOR": ACTOR, "GITHUB_RUN_ATTEMPT": attempt}
    return run_gate(base, env=env, timeout=60)


def issues():
    return [i for i in gh._control("GET", "/_test/issues").get("acme/atom", [])
            if "pull_request" not in i]


def gh_requests(method=None, path_part=None):
    return [q for q in gh.requests()
            if (method is None or q["method"] == method) and (path_part is None or path_part in q["path"])]


def messages():
    return slack._control("GET", "/_test/messages")


def no_leak(r, what):
    extra = [json.dumps(i, ensure_ascii=False) for i in
             gh._control("GET", "/_test/issues").get("acme/atom", [])]
    extra += [json.dumps(m, ensure_ascii=False) for m in messages()]
    extra += [q["body"] for q in gh.requests() + slack.requests()]
    found = leaked(SECRETS, r, extra)
    t.ok(not found, "%s: no token or webhook URL in logs, files, issue or Slack payload" % what,
         "leaked: %r" % found)


def verdict_intact(r, what):
    t.ok(r.rc == 1 and r.outputs.get("result") == "failed" and "database" in r.outputs.get("failed-checks", ""),
         "%s: verdict (exit 1), result and failed-checks intact" % what,
         "rc=%r outputs=%r\n%s" % (r.rc, r.outputs, r.stdout))


def slack_limits(msg):
    blocks = msg.get("blocks", [])
    ok = isinstance(msg.get("text"), str) and msg["text"].strip() != "" and 0 < len(blocks) <= 50
    for b in blocks:
        if b["type"] == "header":
            ok = ok and b["text"]["type"] == "plain_text" and 0 < len(b["text"]["text"]) <= 150
        if b["type"] == "section":
            if "text" in b:
                ok = ok and len(b["text"]["text"]) <= 3000
            for f in b.get("fields", []):
                ok = ok and len(f["text"]) <= 2000
            ok = ok and len(b.get("fields", [])) <= 10
    return ok


# --- 1. a failing run: the issue, from a repository owned by another uid ------------------------
reset({"include_pr": True, "max_per_page": 1,
       "seed": {"acme/atom": [{"title": "Unrelated", "body": "other failure", "labels": ["deployment-failure"]}]}})
r1 = run()
verdict_intact(r1, "first failing run")
created = [i for i in issues() if i["title"] != "Unrelated"]
t.eq(len(created), 1, "one issue opened")
issue = created[0] if created else {"body": "", "title": "", "number": 0, "labels": [], "html_url": ""}
body = issue["body"] or ""
t.eq(issue["title"], "Deployment failed: production atom @ %s" % SHA[:7], "title names result, environment, deployment, short SHA")
t.ok(SHA in body, "body links the full SHA from the repository")
t.ok(AUTHOR in body and "| Author | " + AUTHOR in body, "body names the commit author from the repository, not GITHUB_ACTOR",
     body)
t.ok("@someone" not in body and "@another" not in body and "@example.org" not in body,
     "no raw @mention in the body")
t.ok("<b>" not in body and "<!channel>" not in body and "&lt;b&gt;html&lt;/b&gt;" in body,
     "HTML in the subject is escaped")
t.ok('"quoted"' in body and "für Zoë" in body, "quotes and non-ASCII text survive")
m = FP_RE.search(body)
t.ok(m is not None and body.startswith(m.group(0)), "hidden fingerprint is the body's first line")
t.ok("/actions/runs/4242/attempts/1" in body and "kubectl rollout history deployment/atom" in body
     and "kubectl logs deployment/atom --since=1h" in body, "run link and investigation commands")
t.ok("| `database` | HTTP 200 | 2xx | " in body, "failed check with value, limit and detail", body)
t.ok("rollback: false" in body, "the rollback section says why nothing was rolled back")
failed1 = failed_checks(r1)
want_rows = ["| %s | %s | %s | %s |" % (md_code(c["name"]), md_escape(c.get("value") or ""),
                                       md_escape(c.get("limit") or ""), md_escape(c.get("detail") or ""))
             for c in failed1]
what_failed = body.split("### What failed", 1)[-1].split("\n### ", 1)[0].splitlines()
t.ok(len(failed1) >= 1 and all(w in what_failed for w in want_rows),
     "body: 'What failed' has each failed check (%d) as the report has it: value, limit and detail"
     % len(failed1), "\n".join(want_rows) + "\n---\n" + "\n".join(what_failed))
t.eq(sorted(l["name"] for l in issue["labels"]), ["deployment-failure", "rollback"], "labels sent")
t.eq((r1.outputs.get("issue-url"), r1.outputs.get("issue-number")), (issue["html_url"], str(issue["number"])),
     "outputs issue-url and issue-number")
rep = r1.report or {}
t.eq(((rep.get("commit") or {}).get("source"), (rep.get("commit") or {}).get("author"),
      (rep.get("commit") or {}).get("sha"), (rep.get("commit") or {}).get("subject")),
     ("git", AUTHOR, SHA, SUBJECT), "report: commit metadata read by libgit2")
t.eq((rep.get("notifications") or {}).get("issue"), "created", "report: issue created")
t.ok("| Issue | [#%d](%s) created |" % (issue["number"], issue["html_url"]) in r1.summary and "| Slack | sent |" in r1.summary,
     "summary links the issue and says Slack got the message", r1.summary)
t.ok(SHA[:7] in r1.summary and AUTHOR in r1.summary and "&lt;b&gt;" in r1.summary and "<b>" not in r1.summary,
     "summary shows the commit, escaped", r1.summary)

posts = gh_requests("POST", "/issues")
lists = gh_requests("GET", "/issues")
t.eq(len(posts), 1, "one POST to GitHub")
hdr = posts[0]["headers"] if posts else {}
t.ok(hdr.get("authorization") == "Bearer " + TOKEN and hdr.get("accept") == "application/vnd.github+json"
     and hdr.get("x-github-api-version") == "2022-11-28" and hdr.get("user-agent", "").startswith("atom-safety/")
     and hdr.get("content-type", "").startswith("application/json"), "GitHub headers", hdr)
t.ok(posts and posts[0]["path"] == "/api/v3/repos/acme/atom/issues", "POST under GITHUB_API_URL")
t.ok(lists and all("state=open" in q["path"] and "labels=deployment-failure" in q["path"] for q in lists),
     "listed open issues by the first label", [q["path"] for q in lists])

msgs = messages()
t.eq(len(msgs), 1, "one Slack message")
msg = msgs[0] if msgs else {}
flat = json.dumps(msg, ensure_ascii=False)
t.ok(slack_limits(msg), "Slack payload within Block Kit limits", flat)
t.ok(any(b["type"] == "header" and "Failed" in b["text"]["text"] for b in msg.get("blocks", [])),
     "Slack header says failed")
t.ok("|%s>" % SHA[:7] in flat and AUTHOR in flat and issue["html_url"] in flat and "&lt;!channel&gt;" in flat
     and "<!channel>" not in flat and "`database`" in flat, "Slack: linked commit, author, issue, failed check; no ping",
     flat)
texts = [f["text"] for b in msg.get("blocks", []) for f in b.get("fields", [])]
texts += [b["text"]["text"] for b in msg.get("blocks", []) if b["type"] == "section" and "text" in b]
t.ok("*Failed checks*\n" + ", ".join(slack_code(c["name"]) for c in failed1) in texts,
     "Slack: the 'Failed checks' field names each failed check, in order", flat)
t.ok("\n".join("\u2022 %s: %s" % (slack_code(c["name"]), slack_escape(c.get("detail") or "failed")) for c in failed1)
     in texts, "Slack: one line per failed check with its detail", flat)
sreq = slack.requests()
t.ok(sreq and sreq[0]["headers"].get("content-type", "").startswith("application/json"), "Slack gets JSON")
t.ok("Slack webhook" in r1.stdout, "logs name the Slack webhook, not its URL")
no_leak(r1, "first failing run")

# --- 2. a re-run of the failed job: a comment, not a second issue --------------------------------
gh.reset()
r2 = run(attempt="2")
verdict_intact(r2, "re-run")
after = [i for i in issues() if i["title"] != "Unrelated"]
t.eq(len(after), 1, "still one issue after the re-run")
t.eq(len(gh_requests("POST", "/comments")), 1, "the re-run commented")
t.eq(len([q for q in gh_requests("POST") if q["path"].endswith("/issues")]), 0, "no second issue POST")
t.ok(len(gh_requests("GET", "/issues")) >= 2, "followed Link rel=next past the PR decoy (per_page 1)",
     [q["path"] for q in gh_requests("GET")])
comments = after[0]["_comments"] if after else []
t.ok(comments and "attempt 2" in comments[0]["body"] and "@someone" not in comments[0]["body"],
     "the comment names the new attempt", comments)
t.eq((r2.outputs.get("issue-number"), (r2.report or {}).get("notifications", {}).get("issue")),
     (str(issue["number"]), "commented"), "outputs point at the existing issue")
no_leak(r2, "re-run")

# --- 3. shallow clone, create-issue false ------------------------------------------------------
reset()
r3 = run(workspace=shallow, sha=SHALLOW_SHA, create_issue=False, slack_webhook_url="")
c3 = (r3.report or {}).get("commit") or {}
t.eq((c3.get("source"), c3.get("sha"), c3.get("subject"), c3.get("author")),
     ("git", SHALLOW_SHA, "Shallow tip", AUTHOR), "shallow clone: commit read")
t.eq(r3.rc, 1, "shallow clone: still failing")
t.eq(len(gh.requests()), 0, "create-issue false: nothing sent to GitHub")
t.eq(len(slack.requests()), 0, "no webhook: nothing sent to Slack")

# --- 3b. GITHUB_SHA unset: HEAD ------------------------------------------------------------------
reset()
r3b = run(sha=None, create_issue=False, slack_webhook_url="")
c3b = (r3b.report or {}).get("commit") or {}
t.eq((c3b.get("source"), c3b.get("sha"), c3b.get("author")), ("git", SHA, AUTHOR), "GITHUB_SHA unset: HEAD read")

# --- 4. no repository ------------------------------------------------------------------------------
reset()
r4 = run(workspace=empty, sha="0123456789abcdef0123456789abcdef01234567")
c4 = (r4.report or {}).get("commit") or {}
t.eq((c4.get("source"), c4.get("author"), c4.get("sha")),
     ("environment", ACTOR, "0123456789abcdef0123456789abcdef01234567"), "no repository: GITHUB_SHA and GITHUB_ACTOR")
t.ok(re.search(r"::warning::.*no git repository", r4.stdout) is not None, "no repository: a warning", r4.stdout)
b4 = (issues() or [{"body": ""}])[0]["body"] or ""
t.ok("0123456789abcdef0123456789abcdef01234567" in b4 and ACTOR in b4 and "no repository was checked out" in b4,
     "no repository: issue from the run context")
verdict_intact(r4, "no repository")

# --- 5. GitHub 403 and Slack 500 -----------------------------------------------------------------
reset({"fail": {"create": {"status": 403}}}, {"fail": {"status": 500}})
r5 = run()
verdict_intact(r5, "GitHub 403 + Slack 500")
t.ok("issues: write" in r5.stdout, "403 says the workflow needs permissions: issues: write", r5.stdout)
t.eq((r5.outputs.get("issue-url"), r5.outputs.get("issue-number")), ("", ""), "403: no issue outputs")
n5 = (r5.report or {}).get("notifications") or {}
t.ok((n5.get("issue") or "").startswith("failed:") and "rollup_error" in (n5.get("slack") or ""),
     "report records both failures, quoting Slack's error", n5)
t.ok(re.search(r"::warning::.*rollup_error", r5.stdout) is not None, "Slack failure is a warning")
t.ok("| Issue | failed: " in r5.summary and "issues: write" in r5.summary and "| Slack | failed: " in r5.summary,
     "summary shows both failures", r5.summary)
t.eq(len(slack.requests()), 1, "Slack 500 is not retried")
t.eq(len(gh_requests("POST")), 1, "GitHub 403 is not retried")
no_leak(r5, "403/500")

# --- 6. issues disabled (410) ----------------------------------------------------------------------
reset({"fail": {"list": {"status": 410}}})
r6 = run(slack_webhook_url="")
verdict_intact(r6, "410")
t.ok("issues are disabled" in r6.stdout, "410 says issues are disabled", r6.stdout)
t.eq(len(gh_requests("POST")), 0, "410 on the list: no POST")

# --- 7. rate limits: 429 with Retry-After, then 403 with x-ratelimit-reset ----------------------
reset({"fail": {"create": {"status": 429, "retry_after": 1, "times": 1}}})
r7 = run(slack_webhook_url="")
p7 = gh_requests("POST", "/issues")
t.ok(len(p7) == 2 and p7[1]["t"] - p7[0]["t"] >= 0.9, "429: POST repeated after Retry-After",
     [(q["t"], q["status"]) for q in p7])
t.eq((len(issues()), (r7.report or {}).get("notifications", {}).get("issue")), (1, "created"), "429: one issue")

reset({"fail": {"create": {"status": 403, "rate_limit": True, "reset_in": 1, "times": 1}}})
r7b = run(slack_webhook_url="")
p7b = gh_requests("POST", "/issues")
t.ok(len(p7b) == 2 and p7b[1]["t"] - p7b[0]["t"] >= 0.9, "primary rate limit: waited until x-ratelimit-reset",
     [(q["t"], q["status"]) for q in p7b])
t.eq(len(issues()), 1, "rate limit: one issue")

reset({"fail": {"create": {"status": 403, "rate_limit": True, "reset_in": 3600}}})
r7c = run(slack_webhook_url="")
t.ok(r7c.elapsed < 30 and "rate limit" in r7c.stdout and len(gh_requests("POST")) == 1,
     "a reset an hour away is not waited for", "elapsed %.1f s\n%s" % (r7c.elapsed, r7c.stdout))
verdict_intact(r7c, "rate limit beyond the bound")

# --- 8. labels dropped (token without push access) ---------------------------------------------------
reset({"drop_labels": True})
r8 = run(slack_webhook_url="")
t.ok(re.search(r"::warning::.*without its labels", r8.stdout) is not None, "dropped labels: a warning", r8.stdout)

# --- 9. Slack 429 then ok -----------------------------------------------------------------------------
reset(None, {"fail": {"status": 429, "retry_after": 1, "times": 1}})
r9 = run(create_issue=False)
s9 = slack.requests()
t.ok(len(s9) == 2 and s9[1]["t"] - s9[0]["t"] >= 0.9 and len(messages()) == 1,
     "Slack 429: message resent after Retry-After", [(q["t"], q["status"]) for q in s9])
t.eq((r9.report or {}).get("notifications", {}).get("slack"), "sent", "Slack 429 then ok: sent")

# --- 10. a passing run with slack-notify always --------------------------------------------------------
reset()
r10 = run(svc=healthy, slack_notify="always")
t.eq(r10.rc, 0, "healthy service passes")
m10 = messages()
t.ok(len(m10) == 1 and slack_limits(m10[0]) and m10[0]["blocks"][0]["text"]["text"].startswith("Passed")
     and len(json.dumps(m10[0])) < 1500, "slack-notify always: a short passed message",
     json.dumps(m10, ensure_ascii=False))
t.eq([(q["method"], q["path"].split("?")[0]) for q in gh.requests()],
     [("GET", "/api/v3/repos/acme/atom/issues")],
     "passing run: only the lookup for open incidents (close-on-recovery), nothing written")
no_leak(r10, "passing run")

reset()
r11 = run(svc=healthy)
t.eq((r11.rc, len(slack.requests())), (0, 0), "slack-notify failure: nothing on a pass")

for s in (gh, slack, bad, healthy):
    s.stop()
if os.environ.get("ATOM_SAFETY_KEEP_TMP") in (None, "", "0"):
    shutil.rmtree(work, ignore_errors=True)
t.done()
