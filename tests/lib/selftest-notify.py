#!/usr/bin/env python3
"""TAP self-test of the GitHub issues and Slack webhook stand-ins.

    python3 tests/lib/selftest-notify.py

Starts tests/servers/github.py (with --prefix /api/v3, as on GHES) and
tests/servers/slack.py as children, talks to them with urllib/http.client,
and stops them with SIGTERM (they must exit 0).  stdlib only, a few seconds.
"""

import http.client
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(os.path.dirname(HERE), "servers")
TOKEN = "ghs_selftest_Zq81"
PREFIX = "/api/v3"
GH_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "Authorization": "Bearer " + TOKEN,
    "User-Agent": "atom-safety-selftest/0",
}

_n = 0
_failed = 0


def ok(cond, name, diag=None):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", _n, name))
    if diag is not None and not cond:
        for line in str(diag).splitlines():
            print("#   " + line)
    sys.stdout.flush()
    return cond


def diag(msg):
    print("# " + msg)
    sys.stdout.flush()


class Server:
    def __init__(self, script, *args):
        self.proc = subprocess.Popen([sys.executable, os.path.join(SERVERS, script)] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.05)
            if r:
                ch = os.read(self.proc.stdout.fileno(), 1)
                if not ch:
                    break
                line += ch
        self.ready_line = line.decode().rstrip("\n")
        m = re.fullmatch(r"READY (http://127\.0\.0\.1:(\d+))", self.ready_line)
        if not m:
            self.proc.kill()
            raise RuntimeError("%s did not print READY: %r %r"
                               % (script, line, self.proc.stderr.read()))
        self.url = m.group(1)
        self.port = int(m.group(2))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(NoRedirect)


def request(method, url, body=None, headers=None, raw=None):
    """(status, headers-dict lower-case, body bytes); never raises for HTTP statuses."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if data is not None and not any(k.lower() == "content-type" for k in (headers or {})):
        req.add_header("Content-Type", "application/json")
    try:
        with _opener.open(req, timeout=5) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def jrequest(method, url, body=None, headers=None, raw=None):
    status, hdrs, data = request(method, url, body, headers, raw)
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return status, hdrs, parsed


def next_link(link):
    m = re.search(r'<([^>]+)>;\s*rel="next"', link or "")
    return m.group(1) if m else None


def test_github(logpath):
    gh = Server("github.py", "--port", "0", "--prefix", PREFIX, "--log", logpath,
                "--config", json.dumps({"token": TOKEN}))
    ok(True, "github: %s" % gh.ready_line)
    api = gh.url + PREFIX
    repo = api + "/repos/octo/app"
    ctl = gh.url + "/_test"

    # create
    st, h, issue = jrequest("POST", repo + "/issues",
                            {"title": "Rollback: production", "body": "<!-- fp=1 -->\nfirst",
                             "labels": ["atom-safety", "deploy"]}, GH_HEADERS)
    ok(st == 201 and issue["number"] == 1, "create issue -> 201 #1", (st, issue))
    ok(issue and issue["html_url"] == "https://github.com/octo/app/issues/1",
       "create: html_url", issue and issue.get("html_url"))
    ok(issue and [lab["name"] for lab in issue["labels"]] == ["atom-safety", "deploy"]
       and all({"id", "name", "color"} <= set(lab) for lab in issue["labels"]),
       "create: labels objects", issue and issue.get("labels"))
    ok(issue and issue["url"] == repo + "/issues/1" and issue["state"] == "open"
       and issue["user"]["login"] == "github-actions[bot]" and "node_id" in issue
       and issue["comments"] == 0 and "pull_request" not in issue,
       "create: issue shape", issue)
    ok(h.get("location") == repo + "/issues/1" and h.get("x-ratelimit-limit") == "1000"
       and h.get("x-ratelimit-resource") == "core" and h.get("x-github-request-id")
       and h.get("content-type", "").startswith("application/json"),
       "create: Location, x-ratelimit-*, x-github-request-id", h)

    _, _, reqs = jrequest("GET", ctl + "/requests")
    last = reqs[-1] if reqs else {}
    ok(last.get("method") == "POST" and last.get("path") == PREFIX + "/repos/octo/app/issues"
       and last["headers"].get("accept") == "application/vnd.github+json"
       and last["headers"].get("x-github-api-version") == "2022-11-28"
       and last["headers"].get("authorization") == "Bearer " + TOKEN
       and json.loads(last["body"])["title"] == "Rollback: production",
       "request recorded with lower-case headers and body", last)

    # auth and User-Agent
    c = http.client.HTTPConnection("127.0.0.1", gh.port, timeout=5)
    c.request("GET", PREFIX + "/repos/octo/app/issues",
              headers={"Authorization": "Bearer " + TOKEN})
    r = c.getresponse()
    body = json.loads(r.read())
    c.close()
    ok(r.status == 403 and body["message"].startswith("Request forbidden by administrative rules")
       and "User-Agent" in body["message"], "no User-Agent -> 403", (r.status, body))
    hdrs = dict(GH_HEADERS, Authorization="Bearer wrong")
    st, _, body = jrequest("GET", repo + "/issues", headers=hdrs)
    ok(st == 401 and body["message"] == "Bad credentials"
       and body["documentation_url"] == "https://docs.github.com/rest",
       "wrong token -> 401 Bad credentials", (st, body))
    hdrs = {k: v for k, v in GH_HEADERS.items() if k != "Authorization"}
    st, _, body = jrequest("GET", repo + "/issues", headers=hdrs)
    ok(st == 401 and body["message"] == "Bad credentials", "missing token -> 401", (st, body))
    st, _, body = jrequest("GET", gh.url + "/repos/octo/app/issues", headers=GH_HEADERS)
    ok(st == 404, "path outside --prefix -> 404", (st, body))

    # comments
    st, h, com = jrequest("POST", repo + "/issues/1/comments", {"body": "again"}, GH_HEADERS)
    ok(st == 201 and com["body"] == "again"
       and com["html_url"] == "https://github.com/octo/app/issues/1#issuecomment-%d" % com["id"]
       and com["user"]["login"] == "github-actions[bot]", "comment -> 201 with html_url", com)
    st, _, got = jrequest("GET", repo + "/issues/1", headers=GH_HEADERS)
    ok(st == 200 and got["comments"] == 1, "comment increments comments", got)
    st, _, lst = jrequest("GET", repo + "/issues/1/comments", headers=GH_HEADERS)
    ok(st == 200 and [x["body"] for x in lst] == ["again"], "list comments", lst)
    st, _, body = jrequest("POST", repo + "/issues/99/comments", {"body": "x"}, GH_HEADERS)
    ok(st == 404 and body["message"] == "Not Found", "comment on unknown issue -> 404", body)
    st, _, body = jrequest("POST", repo + "/issues/1/comments", {}, GH_HEADERS)
    ok(st == 422, "comment without body -> 422", body)

    # validation
    st, _, body = jrequest("POST", repo + "/issues", {"body": "no title"}, GH_HEADERS)
    ok(st == 422 and body["message"] == "Validation Failed", "missing title -> 422", body)
    st, _, body = jrequest("POST", repo + "/issues", raw=b"{not json", headers=GH_HEADERS)
    ok(st == 400 and body["message"] == "Problems parsing JSON", "bad JSON -> 400", body)
    st, _, body = jrequest("POST", repo + "/issues", {"title": "big", "body": "x" * 65537},
                           GH_HEADERS)
    ok(st == 422 and body["message"] == "Validation Failed" and body["errors"] == [
        {"resource": "Issue", "code": "custom", "field": "body",
         "message": "body is too long (maximum is 65536 characters)"}],
       "body of 65537 characters -> 422 body is too long", body)
    st, _, body = jrequest("POST", repo + "/issues", {"title": "max", "body": "é" * 65536},
                           GH_HEADERS)
    ok(st == 201, "body of 65536 characters (2 bytes each) -> 201", st)

    # listing, filters, pagination
    for i in range(3):
        jrequest("POST", repo + "/issues", {"title": "t%d" % i, "body": "b",
                                            "labels": ["atom-safety"]}, GH_HEADERS)
    jrequest("PATCH", repo + "/issues/2", {"state": "closed"}, GH_HEADERS)  # "max"
    st, h, lst = jrequest("GET", repo + "/issues?state=open&labels=atom-safety&per_page=100",
                          headers=GH_HEADERS)
    ok(st == 200 and [x["number"] for x in lst] == [5, 4, 3, 1] and "link" not in h,
       "list: open, label filter, newest first, no Link", ([x["number"] for x in lst], h))
    st, _, lst = jrequest("GET", repo + "/issues?state=open&labels=atom-safety,deploy",
                          headers=GH_HEADERS)
    ok(st == 200 and [x["number"] for x in lst] == [1], "list: labels=a,b means both", lst)
    st, _, lst = jrequest("GET", repo + "/issues?state=closed", headers=GH_HEADERS)
    ok(st == 200 and [x["number"] for x in lst] == [2], "list: state=closed", lst)

    jrequest("POST", ctl + "/config", {"max_per_page": 2})
    url = repo + "/issues?state=open&labels=atom-safety&per_page=100"
    seen, pages, links = [], 0, []
    while url and pages < 10:
        st, h, lst = jrequest("GET", url, headers=GH_HEADERS)
        pages += 1
        seen += [x["number"] for x in lst]
        links.append(h.get("link"))
        url = next_link(h.get("link"))
    ok(seen == [5, 4, 3, 1] and pages == 2, "pagination: max_per_page 2 -> 2 pages",
       (seen, pages, links))
    ok(links[0] and links[0].startswith("<%s/repos/octo/app/issues?" % api)
       and "page=2>; rel=\"next\"" in links[0] and "per_page=100" in links[0]
       and "labels=atom-safety" in links[0] and 'rel="last"' in links[0],
       "pagination: absolute Link rel=next keeps the query", links[0])
    ok(links[-1] and "rel=\"next\"" not in links[-1] and 'rel="prev"' in links[-1],
       "pagination: last page has no rel=next", links[-1])
    jrequest("POST", ctl + "/config", {"max_per_page": 1, "link_style": "repositories"})
    st, h, lst = jrequest("GET", repo + "/issues?per_page=1", headers=GH_HEADERS)
    nxt = next_link(h.get("link"))
    st2, _, lst2 = jrequest("GET", nxt, headers=GH_HEADERS) if nxt else (0, {}, None)
    ok(nxt and "/repositories/" in nxt and st2 == 200 and lst2[0]["number"] == 4,
       "pagination: link_style repositories is served", (nxt, st2, lst2))
    jrequest("POST", ctl + "/config", {"max_per_page": None, "link_style": None})

    # pull requests in the list
    jrequest("POST", ctl + "/config", {"include_pr": True})
    st, _, created = jrequest("POST", repo + "/issues",
                              {"title": "pr-test", "body": "<!-- fp=9 -->",
                               "labels": ["atom-safety"]}, GH_HEADERS)
    st, _, lst = jrequest("GET", repo + "/issues?state=open&labels=atom-safety",
                          headers=GH_HEADERS)
    prs = [x for x in lst if "pull_request" in x]
    ok(len(prs) == 1 and prs[0]["body"] == "<!-- fp=9 -->" and lst[0] is prs[0]
       and prs[0]["number"] == created["number"] + 1
       and prs[0]["html_url"].endswith("/pull/%d" % prs[0]["number"]),
       "include_pr: decoy PR twin listed first, with pull_request key",
       [(x["number"], "pull_request" in x) for x in lst])
    jrequest("POST", ctl + "/config", {"include_pr": False})
    st, _, lst = jrequest("GET", repo + "/issues?state=open", headers=GH_HEADERS)
    ok(not any("pull_request" in x for x in lst), "include_pr false: PRs hidden", lst)

    # failure injection
    jrequest("POST", ctl + "/config", {"fail": {"create": {"status": 403, "times": 1}}})
    st, h, body = jrequest("POST", repo + "/issues", {"title": "x"}, GH_HEADERS)
    ok(st == 403 and body == {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
        "status": "403"} and h.get("x-accepted-github-permissions") == "issues=write",
       "fail create 403 -> Resource not accessible by integration", (st, body, h))
    st, _, _ = jrequest("POST", repo + "/issues", {"title": "x"}, GH_HEADERS)
    ok(st == 201, "fail times 1: next create succeeds", st)
    jrequest("POST", ctl + "/config", {"fail": {"list": {"status": 410}}})
    for i in range(2):
        st, _, body = jrequest("GET", repo + "/issues", headers=GH_HEADERS)
    ok(st == 410 and body["message"] == "Issues are disabled for this repo",
       "fail list 410 (times -1 by default, still failing)", (st, body))
    jrequest("POST", ctl + "/config", {"fail": None})
    st, _, _ = jrequest("GET", repo + "/issues", headers=GH_HEADERS)
    ok(st == 200, "fail: null clears injection", st)
    jrequest("POST", ctl + "/config", {"fail": {"comment": {"status": 404, "times": 1}}})
    st, _, body = jrequest("POST", repo + "/issues/1/comments", {"body": "x"}, GH_HEADERS)
    ok(st == 404 and body["message"] == "Not Found", "fail comment 404", body)

    t0 = int(time.time())
    jrequest("POST", ctl + "/config", {"fail": {"create": {
        "status": 429, "rate_limit": True, "retry_after": 7, "reset_in": 30, "times": 1}}})
    st, h, body = jrequest("POST", repo + "/issues", {"title": "x"}, GH_HEADERS)
    ok(st == 429 and h.get("retry-after") == "7" and h.get("x-ratelimit-remaining") == "0"
       and h.get("x-ratelimit-limit") == "1000" and h.get("x-ratelimit-used") == "1000"
       and h.get("x-ratelimit-resource") == "core"
       and t0 + 29 <= int(h.get("x-ratelimit-reset", 0)) <= t0 + 32
       and body["message"] == "API rate limit exceeded for installation ID 1.",
       "fail 429 rate_limit: headers and message", (st, h, body))
    jrequest("POST", ctl + "/config", {"fail": {"create": {
        "status": 403, "rate_limit": True, "times": 1}}})
    st, h, body = jrequest("POST", repo + "/issues", {"title": "x"}, GH_HEADERS)
    ok(st == 403 and "retry-after" not in h and h.get("x-ratelimit-remaining") == "0"
       and body["message"].startswith("API rate limit exceeded"),
       "fail 403 rate_limit without retry-after", (st, h, body))
    jrequest("POST", ctl + "/config", {"fail": {"create": {
        "status": 403, "secondary": True, "retry_after": 60, "times": 1}}})
    st, h, body = jrequest("POST", repo + "/issues", {"title": "x"}, GH_HEADERS)
    ok(st == 403 and h.get("retry-after") == "60" and h.get("x-ratelimit-remaining") != "0"
       and "secondary rate limit" in body["message"], "fail 403 secondary limit", (h, body))
    jrequest("POST", ctl + "/config", {"fail": {"any": [
        {"status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html",
         "times": 1},
        {"status": 301, "times": 1}]}})
    st, h, data = request("GET", repo + "/issues", headers=GH_HEADERS)
    ok(st == 502 and data == b"<html>bad gateway</html>"
       and h.get("content-type") == "text/html", "fail list of specs: raw body first", (st, data))
    st, h, body = jrequest("GET", repo + "/issues", headers=GH_HEADERS)
    ok(st == 301 and h.get("location", "").endswith("/issues") and "/repositories/" in
       h.get("location", "") and body["url"] == h.get("location"),
       "fail list of specs: then 301 with Location", (st, h, body))
    st, _, _ = jrequest("GET", repo + "/issues", headers=GH_HEADERS)
    ok(st == 200, "fail list of specs: then normal service", st)

    # drop_labels, seed, store
    jrequest("POST", ctl + "/config", {"drop_labels": True})
    st, _, body = jrequest("POST", repo + "/issues", {"title": "nolab", "labels": ["a"]},
                           GH_HEADERS)
    ok(st == 201 and body["labels"] == [], "drop_labels: 201 with labels []", body)
    jrequest("POST", ctl + "/config", {"drop_labels": False})
    st, _, seeded = jrequest("POST", ctl + "/issues", {"repo": "other/svc", "title": "old",
                                                       "body": "<!-- fp=2 -->",
                                                       "labels": ["atom-safety"],
                                                       "comments": 2})
    st2, _, lst = jrequest("GET", api + "/repos/other/svc/issues?labels=atom-safety",
                           headers=GH_HEADERS)
    ok(st == 201 and st2 == 200 and [x["number"] for x in lst] == [1]
       and lst[0]["comments"] == 2, "POST /_test/issues seeds an issue", lst)
    st, _, store = jrequest("GET", ctl + "/issues")
    ok(st == 200 and set(store) == {"octo/app", "other/svc"}
       and [c["body"] for c in store["octo/app"][0]["_comments"]] == ["again"],
       "GET /_test/issues returns the store with _comments", store and list(store))

    # reset
    jrequest("POST", ctl + "/reset")
    _, _, reqs = jrequest("GET", ctl + "/requests")
    _, _, cfg = jrequest("GET", ctl + "/config")
    ok(reqs == [] and cfg["token"] == TOKEN and cfg["drop_labels"] is False,
       "reset clears requests, keeps config", (reqs, cfg))
    jrequest("POST", ctl + "/reset", {"all": True})
    _, _, store = jrequest("GET", ctl + "/issues")
    ok(store == {}, "reset {all:true} clears the store", store)

    rc = gh.stop()
    ok(rc == 0, "github: SIGTERM -> exit 0", rc)
    with open(logpath, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    ok(len(lines) > 30 and all({"t", "method", "path", "headers", "body"} <= set(x)
                               for x in lines)
       and not any(x["path"].startswith("/_test") for x in lines),
       "github: --log has one JSON line per API request", len(lines))


def test_slack(logpath):
    sl = Server("slack.py", "--port", "0", "--log", logpath)
    ok(True, "slack: %s" % sl.ready_line)
    hook = sl.url + "/services/T000/B000/XXXX"
    ctl = sl.url + "/_test"
    ex = {"text": "Deployment rolled back: production atom @ 1a2b3c4",
          "blocks": [{"type": "header", "text": {"type": "plain_text",
                                                 "text": "Rolled back: production / atom"}},
                     {"type": "section", "fields": [
                         {"type": "mrkdwn", "text": "*Commit*\n<https://github.com/o/r/commit/"
                                                    "1a2b3c4|1a2b3c4>"},
                         {"type": "mrkdwn", "text": "*Failed checks*\nerror-rate, latency"}]}]}
    st, h, data = request("POST", hook, ex)
    ok(st == 200 and data == b"ok" and h.get("content-type", "").startswith("text/html"),
       "slack: reference payload -> 200 ok", (st, h, data))
    _, _, msgs = jrequest("GET", ctl + "/messages")
    ok(msgs == [ex], "slack: /_test/messages has the parsed payload", msgs)
    st, _, data = request("POST", hook, raw=b"payload=%7B%22text%22%3A%22hi%22%7D",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    ok(st == 200 and data == b"ok", "slack: form-encoded payload= accepted", (st, data))

    cases = [
        ("not JSON", b"{text:", 400, b"invalid_payload"),
        ("JSON array", b"[]", 400, b"invalid_payload"),
        ("empty object", b"{}", 400, b"missing_text_or_fallback_or_attachments"),
        ("empty text", b'{"text":"  "}', 400, b"missing_text_or_fallback_or_attachments"),
        ("51 blocks", json.dumps({"text": "t", "blocks": [{"type": "divider"}] * 51}).encode(),
         400, b"invalid_blocks"),
        ("50 blocks", json.dumps({"text": "t", "blocks": [{"type": "divider"}] * 50}).encode(),
         200, b"ok"),
        ("block without type", b'{"text":"t","blocks":[{"text":{}}]}', 400, b"invalid_blocks"),
        ("section text 3001", json.dumps({"text": "t", "blocks": [{"type": "section", "text": {
            "type": "mrkdwn", "text": "x" * 3001}}]}).encode(), 400, b"invalid_blocks"),
        ("section text 3000", json.dumps({"text": "t", "blocks": [{"type": "section", "text": {
            "type": "mrkdwn", "text": "x" * 3000}}]}).encode(), 200, b"ok"),
        ("empty section text", json.dumps({"text": "t", "blocks": [{"type": "section", "text": {
            "type": "mrkdwn", "text": ""}}]}).encode(), 400, b"invalid_blocks"),
        ("11 fields", json.dumps({"text": "t", "blocks": [{"type": "section", "fields": [
            {"type": "mrkdwn", "text": "f"}] * 11}]}).encode(), 400, b"invalid_blocks"),
        ("field 2001", json.dumps({"text": "t", "blocks": [{"type": "section", "fields": [
            {"type": "mrkdwn", "text": "f" * 2001}]}]}).encode(), 400, b"invalid_blocks"),
        ("header 151", json.dumps({"text": "t", "blocks": [{"type": "header", "text": {
            "type": "plain_text", "text": "h" * 151}}]}).encode(), 400, b"invalid_blocks"),
        ("header mrkdwn", json.dumps({"text": "t", "blocks": [{"type": "header", "text": {
            "type": "mrkdwn", "text": "h"}}]}).encode(), 400, b"invalid_blocks"),
        ("blocks without text", json.dumps({"blocks": [{"type": "divider"}]}).encode(),
         200, b"ok"),
    ]
    for name, raw, want_st, want_body in cases:
        st, _, data = request("POST", hook, raw=raw)
        ok(st == want_st and data == want_body, "slack: %s -> %d %s"
           % (name, want_st, want_body.decode()), (st, data))
    st, _, data = request("POST", sl.url + "/hooks/x", {"text": "t"})
    ok(st == 404 and data == b"no_service", "slack: path outside /services/ -> 404 no_service",
       (st, data))

    request("POST", ctl + "/config", {"fail": {"status": 429, "retry_after": 1, "times": 1}})
    st, h, data = request("POST", hook, {"text": "t"})
    ok(st == 429 and h.get("retry-after") == "1", "slack: fail 429 sends Retry-After", (st, h))
    st, _, data = request("POST", hook, {"text": "t"})
    ok(st == 200 and data == b"ok", "slack: times 1, then ok", (st, data))
    request("POST", ctl + "/config", {"fail": [{"status": 500, "body": "rollup_error",
                                                "times": 2},
                                               {"status": 403, "times": 1}]})
    got = [request("POST", hook, {"text": "t"}) for _ in range(4)]
    ok([(s, d) for s, _, d in got] == [(500, b"rollup_error"), (500, b"rollup_error"),
                                       (403, b"invalid_token"), (200, b"ok")],
       "slack: fail list 500 x2, 403 invalid_token, then ok", [(s, d) for s, _, d in got])
    request("POST", ctl + "/config", {"fail": {"status": 404, "body": "no_service"}})
    st, _, data = request("POST", hook, {"text": "t"})
    ok(st == 404 and data == b"no_service", "slack: fail 404 no_service verbatim", (st, data))
    request("POST", ctl + "/config", {"fail": None, "min_interval_ms": 5000})
    st1, _, _ = request("POST", hook, {"text": "a"})
    st2, h, data = request("POST", hook, {"text": "b"})
    ok(st1 == 200 and st2 == 429 and h.get("retry-after") == "1",
       "slack: min_interval_ms -> 429 Retry-After", (st1, st2, h))
    _, _, reqs = jrequest("GET", ctl + "/requests")
    ok(reqs and reqs[0]["headers"].get("content-type") == "application/json"
       and reqs[0]["path"] == "/services/T000/B000/XXXX",
       "slack: requests recorded", reqs and reqs[0])
    request("POST", ctl + "/reset", {"all": True})
    _, _, msgs = jrequest("GET", ctl + "/messages")
    _, _, cfg = jrequest("GET", ctl + "/config")
    ok(msgs == [] and cfg["min_interval_ms"] == 0, "slack: reset all", (msgs, cfg))

    rc = sl.stop()
    ok(rc == 0, "slack: SIGTERM -> exit 0", rc)
    with open(logpath, encoding="utf-8") as f:
        n = sum(1 for _ in f)
    ok(n > 20, "slack: --log written", n)


def main():
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            test_github(os.path.join(tmp, "github.jsonl"))
            test_slack(os.path.join(tmp, "slack.jsonl"))
        except Exception as e:  # noqa: BLE001
            ok(False, "unexpected exception", repr(e))
            raise
        finally:
            diag("%.2f s" % (time.monotonic() - t0))
            print("1..%d" % _n)
    return 1 if _failed else 0


if __name__ == "__main__":
    sys.exit(main())
