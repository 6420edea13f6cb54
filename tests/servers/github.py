#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Stand-in for the GitHub REST issues API (stdlib only).

    github.py [--port 0] [--prefix /api/v3] [--config JSON|@file] [--log FILE]

Prints "READY http://127.0.0.1:PORT" once listening; the API lives under
http://127.0.0.1:PORT<prefix> (GITHUB_API_URL).  SIGTERM/SIGINT exit 0.

API (under the prefix; "/repositories/{id}" may replace "/repos/{o}/{r}"):
    GET   /repos/{o}/{r}/issues                 list (state, labels, sort,
                                                direction, per_page, page)
    POST  /repos/{o}/{r}/issues                 create {"title","body","labels"}
    GET   /repos/{o}/{r}/issues/{n}             get
    PATCH /repos/{o}/{r}/issues/{n}             update {"title","body","state","labels"}
    GET   /repos/{o}/{r}/issues/{n}/comments    list comments (paginated)
    POST  /repos/{o}/{r}/issues/{n}/comments    comment {"body"}
Every API request needs a User-Agent (else 403) and "Authorization: Bearer
<token>" (else 401).  Accept / X-GitHub-Api-Version are only recorded.

Test control (never under the prefix, never recorded):
    GET  /_test/requests   recorded requests [{"t","method","path","headers",
                           "body","status"}]
    POST /_test/reset      clear recorded requests; {"all"|"state": true} also
                           restores the start-up config and issue store
    GET  /_test/config     current config
    POST /_test/config     deep-merge JSON into the config (null deletes a key,
                           which restores its default; each fail.<op> given
                           replaces the old spec whole); a "seed" key adds
                           issues
    GET  /_test/issues     the store: {"o/r": [issue + "_comments": [...]]}
    POST /_test/issues     add one issue: {"repo": "o/r", <seed entry>} -> 201

Config keys (defaults in DEFAULTS below):
    token            accepted bearer token
    max_per_page     cap on per_page (GitHub: 100)
    include_pr       list pull requests too; each issue created while it is
                     true also gets a decoy PR twin (same title, body, labels,
                     next number) unless pr_decoys is false
    pr_decoys        see include_pr
    drop_labels      create/update silently ignore "labels" (no push access)
    body_limit       max issue/comment body length (65536)
    body_limit_unit  "chars" (code points) or "bytes" (UTF-8)
    repos            null = every repo exists; else list of "o/r" (others 404)
    link_style       "repo": Link URLs use /repos/{o}/{r}/...;
                     "repositories": /repositories/{id}/... (as github.com does)
    ratelimit_limit  x-ratelimit-limit; the window's requests beyond it get the
                     primary rate-limit 403
    ratelimit_window seconds until x-ratelimit-reset
    user             login of the author of created issues/comments
    delay_ms         delay before every API response
    seed             {"o/r": [{"title","body","labels":[names],"state",
                     "pull_request":bool,"number","comments":[bodies],
                     "user","created_at"}]} applied at start-up / full reset
    fail             {op: spec | [spec, ...]}, op in list, create, get, update,
                     comment, list_comments, any.  spec: {"status", "times"
                     (-1 forever, default), "after" (let N pass first),
                     "rate_limit", "secondary", "retry_after", "reset_in",
                     "message", "body" (JSON object or raw string),
                     "content_type", "headers", "location", "delay_ms"}.
                     "times"/"after" count down in place.
"""

import argparse
import base64
import calendar
import copy
import hashlib
import json
import math
import random
import re
import sys
import time
import urllib.parse
from http import HTTPStatus

import standin
from standin import deep_merge, load_config_arg

DEFAULTS = {
    "token": "ghs_test",
    "max_per_page": 100,
    "include_pr": False,
    "pr_decoys": True,
    "drop_labels": False,
    "body_limit": 65536,
    "body_limit_unit": "chars",
    "repos": None,
    "link_style": "repo",
    "ratelimit_limit": 1000,
    "ratelimit_window": 3600,
    "user": "github-actions[bot]",
    "delay_ms": 0,
    "seed": {},
    "fail": {},
}

DOCS = {
    "list": "https://docs.github.com/rest/issues/issues#list-repository-issues",
    "create": "https://docs.github.com/rest/issues/issues#create-an-issue",
    "get": "https://docs.github.com/rest/issues/issues#get-an-issue",
    "update": "https://docs.github.com/rest/issues/issues#update-an-issue",
    "comment": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    "list_comments": "https://docs.github.com/rest/issues/comments#list-issue-comments",
    None: "https://docs.github.com/rest",
}
RATE_DOC = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOC = ("https://docs.github.com/free-pro-team@latest/rest/overview/"
                 "rate-limits-for-the-rest-api#about-secondary-rate-limits")
UA_MESSAGE = ("Request forbidden by administrative rules. Please make sure your request has a "
              "User-Agent header (https://docs.github.com/en/rest/overview/"
              "resources-in-the-rest-api#user-agent-required). Check https://developer.github.com "
              "for other possible causes.")
PERMISSIONS = {"list": "issues=read", "get": "issues=read", "list_comments": "issues=read",
               "create": "issues=write", "update": "issues=write", "comment": "issues=write"}
DEFAULT_MESSAGES = {
    400: "Problems parsing JSON",
    401: "Bad credentials",
    403: "Resource not accessible by integration",
    404: "Not Found",
    410: "Issues are disabled for this repo",
    422: "Validation Failed",
    500: "Server Error",
}
BOT_ID = 41898282
DEFAULT_PER_PAGE = 30

REPO_RE = r"/(?:repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)|repositories/(?P<rid>\d+))"
ROUTES = [
    ("GET", re.compile(REPO_RE + r"/issues/?$"), "list"),
    ("POST", re.compile(REPO_RE + r"/issues/?$"), "create"),
    ("GET", re.compile(REPO_RE + r"/issues/(?P<num>\d+)/?$"), "get"),
    ("PATCH", re.compile(REPO_RE + r"/issues/(?P<num>\d+)/?$"), "update"),
    ("GET", re.compile(REPO_RE + r"/issues/(?P<num>\d+)/comments/?$"), "list_comments"),
    ("POST", re.compile(REPO_RE + r"/issues/(?P<num>\d+)/comments/?$"), "comment"),
]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def node_id(kind, *parts):
    """An opaque, unique GraphQL-style id such as "I_kwDOAbC..."."""
    digest = hashlib.sha1(":".join(str(p) for p in parts).encode()).digest()
    return kind + base64.urlsafe_b64encode(digest).decode()[:16]


class ApiError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class GitHubState(standin.State):
    defaults = DEFAULTS

    def __init__(self, cfg, prefix, log_path):
        super().__init__(cfg, log_path)
        self.prefix = prefix
        self.origin = None          # http://127.0.0.1:PORT, set after bind
        self.next_issue_id = 2000000001
        self.next_comment_id = 1900000001
        self.next_label_id = 5000000001
        self.repos = {}             # "o/r" (lower) -> repo dict
        self.repo_ids = {}          # id -> key
        self.rl_used = 0
        self.rl_reset = int(time.time()) + int(self.cfg["ratelimit_window"])

    # --- config -------------------------------------------------------------
    @property
    def base(self):
        return self.origin + self.prefix

    # --- store --------------------------------------------------------------
    def repo(self, owner, name, create=True):
        key = ("%s/%s" % (owner, name)).lower()
        r = self.repos.get(key)
        if r is None and create:
            rid = 700000000 + len(self.repos) + 1
            r = {"key": key, "owner": owner, "name": name, "id": rid, "next": 1,
                 "items": {}, "comments": {}, "labels": {}}
            self.repos[key] = r
            self.repo_ids[rid] = key
        return r

    def repo_api(self, r):
        return "%s/repos/%s/%s" % (self.base, r["owner"], r["name"])

    def user_obj(self, login=None):
        login = login or self.cfg["user"]
        bot = login.endswith("[bot]")
        uid = BOT_ID if login == "github-actions[bot]" else 1000 + sum(login.encode())
        return {
            "login": login, "id": uid, "node_id": node_id("BOT_kgDO" if bot else "U_kgDO", login),
            "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4" if bot
            else "https://avatars.githubusercontent.com/u/%d?v=4" % uid,
            "gravatar_id": "",
            "url": "%s/users/%s" % (self.base, urllib.parse.quote(login)),
            "html_url": "https://github.com/apps/%s" % login[:-5] if bot
            else "https://github.com/%s" % login,
            "type": "Bot" if bot else "User", "site_admin": False,
        }

    def label_obj(self, r, name):
        low = name.lower()
        lab = r["labels"].get(low)
        if lab is None:
            lid = self.next_label_id
            self.next_label_id += 1
            lab = {"id": lid, "node_id": node_id("LA_kwDO", r["id"], lid),
                   "url": "%s/labels/%s" % (self.repo_api(r), urllib.parse.quote(name)),
                   "name": name, "color": "ededed", "default": False, "description": None}
            r["labels"][low] = lab
        return copy.deepcopy(lab)

    @staticmethod
    def reactions(url):
        return {"url": url + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}

    def new_item(self, r, title, body, labels, state="open", is_pr=False, number=None,
                 login=None, created=None):
        if number is None:
            number = r["next"]
        r["next"] = max(r["next"], number + 1)
        now = created if created is not None else time.time()
        api = "%s/issues/%d" % (self.repo_api(r), number)
        html = "https://github.com/%s/%s/%s/%d" % (r["owner"], r["name"],
                                                   "pull" if is_pr else "issues", number)
        iid = self.next_issue_id
        self.next_issue_id += 1
        item = {
            "url": api,
            "repository_url": self.repo_api(r),
            "labels_url": api + "/labels{/name}",
            "comments_url": api + "/comments",
            "events_url": api + "/events",
            "html_url": html,
            "id": iid,
            "node_id": node_id("PR_kwDO" if is_pr else "I_kwDO", r["id"], number),
            "number": number,
            "title": title,
            "user": self.user_obj(login),
            "labels": [self.label_obj(r, n) for n in labels],
            "state": state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": 0,
            "created_at": iso(now),
            "updated_at": iso(now),
            "closed_at": iso(now) if state == "closed" else None,
            "author_association": "NONE" if (login or self.cfg["user"]).endswith("[bot]")
            else "OWNER",
            "active_lock_reason": None,
            "body": body,
            "closed_by": None,
            "reactions": self.reactions(api),
            "timeline_url": api + "/timeline",
            "performed_via_github_app": None,
            "state_reason": "completed" if state == "closed" else None,
        }
        if is_pr:
            pulls = "%s/pulls/%d" % (self.repo_api(r), number)
            item["draft"] = False
            item["pull_request"] = {"url": pulls, "html_url": html, "diff_url": html + ".diff",
                                    "patch_url": html + ".patch", "merged_at": None}
        r["items"][number] = item
        r["comments"][number] = []
        return item

    def new_comment(self, r, item, body, login=None):
        cid = self.next_comment_id
        self.next_comment_id += 1
        now = iso(time.time())
        url = "%s/issues/comments/%d" % (self.repo_api(r), cid)
        c = {
            "url": url,
            "html_url": "%s#issuecomment-%d" % (item["html_url"], cid),
            "issue_url": item["url"],
            "id": cid,
            "node_id": node_id("IC_kwDO", r["id"], cid),
            "user": self.user_obj(login),
            "created_at": now,
            "updated_at": now,
            "author_association": item["author_association"],
            "body": body,
            "reactions": self.reactions(url),
            "performed_via_github_app": None,
        }
        r["comments"][item["number"]].append(c)
        item["comments"] += 1
        item["updated_at"] = now
        return c

    def seed(self, seeds):
        if not isinstance(seeds, dict):
            raise ValueError("seed must be {\"o/r\": [entries]}")
        out = []
        for full, entries in seeds.items():
            for e in entries or []:
                out.append(self.seed_one(full, e))
        return out

    def seed_one(self, full, e):
        owner, _, name = str(full).partition("/")
        if not owner or not name or not isinstance(e, dict):
            raise ValueError("bad seed entry for %r" % full)
        r = self.repo(owner, name)
        created = e.get("created_at")
        if isinstance(created, str):
            created = calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
        item = self.new_item(r, str(e.get("title", "seeded issue")), e.get("body"),
                             [lab if isinstance(lab, str) else lab["name"]
                              for lab in e.get("labels", [])],
                             state=e.get("state", "open"), is_pr=bool(e.get("pull_request")),
                             number=e.get("number"), login=e.get("user"), created=created)
        comments = e.get("comments", [])
        if isinstance(comments, int):
            comments = ["comment %d" % (i + 1) for i in range(comments)]
        for body in comments:
            self.new_comment(r, item, body, login=e.get("user"))
        return item

    def dump(self):
        out = {}
        for key, r in self.repos.items():
            lst = []
            for num in sorted(r["items"]):
                item = copy.deepcopy(r["items"][num])
                item["_comments"] = copy.deepcopy(r["comments"][num])
                lst.append(item)
            out[key] = lst
        return out

    def clear_store(self):
        self.repos = {}
        self.repo_ids = {}

    # --- rate limit ---------------------------------------------------------
    def rl_tick(self, count):
        now = int(time.time())
        if now >= self.rl_reset:
            self.rl_used = 0
            self.rl_reset = now + int(self.cfg["ratelimit_window"])
        if count:
            self.rl_used += 1
        return self.rl_used > int(self.cfg["ratelimit_limit"])

    def rl_headers(self):
        limit = int(self.cfg["ratelimit_limit"])
        used = min(self.rl_used, limit)
        return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(limit - used),
                "x-ratelimit-reset": str(self.rl_reset), "x-ratelimit-used": str(used),
                "x-ratelimit-resource": "core"}

    # --- failure injection --------------------------------------------------
    def take_fail(self, op):
        fails = self.cfg.get("fail") or {}
        for key in (op, "any"):
            decided, spec = standin.take_fail(fails.get(key))
            if decided:
                return spec
        return None


def api_error(status, op, message=None, errors=None, extra=None):
    body = {"message": message or DEFAULT_MESSAGES.get(status) or HTTPStatus(status).phrase}
    if errors is not None:
        body["errors"] = errors
    body["documentation_url"] = DOCS.get(op, DOCS[None])
    body["status"] = str(status)
    if extra:
        body.update(extra)
    return ApiError(status, body)


class Handler(standin.Handler):
    server_version = "GitHub.com"
    default_content_type = "application/json; charset=utf-8"
    json_separators = (",", ":")

    def dispatch(self):
        st = self.st
        self._status = None
        self._op = None
        self._rid = None
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send(400, {"message": "Problems parsing JSON"})
            return
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if st.prefix and (path + "/").startswith(st.prefix + "/_test/"):
            path = path[len(st.prefix):]
        if path.startswith("/_test/"):
            try:
                self.control(path, raw)
            except (ValueError, KeyError, TypeError) as e:
                self.send(400, {"error": str(e)})
            return
        entry = {"t": time.time(), "method": self.command, "path": self.path,
                 "headers": self.header_dict(), "body": raw.decode("utf-8", "replace")}
        st.record(entry)
        try:
            self.api(url, raw)
        except ApiError as e:
            ctype = e.headers.pop("content-type", None)
            hdrs = dict(self.common_headers())
            hdrs.update(e.headers)
            if isinstance(e.body, str):
                self.send(e.status, e.body, hdrs,
                          content_type=ctype or "text/plain; charset=utf-8")
            else:
                self.send(e.status, e.body, hdrs)
        except Exception as e:  # noqa: BLE001 - a stand-in must answer
            self.send(500, {"message": "stand-in error: %r" % e})
        finally:
            entry["status"] = self._status
            st.log_entry(entry)

    def common_headers(self, op=None):
        op = op or getattr(self, "_op", None)
        with self.st.lock:
            h = self.st.rl_headers()
        h["x-github-media-type"] = "github.v3; format=json"
        h["x-github-api-version-selected"] = "2022-11-28"
        h["x-github-request-id"] = self.request_id
        if op in PERMISSIONS:
            h["x-accepted-github-permissions"] = PERMISSIONS[op]
        return h

    @property
    def request_id(self):
        rid = getattr(self, "_rid", None)
        if rid is None:
            rnd = random.Random()
            rid = "%04X:%06X:%07X:%07X:%08X" % (rnd.getrandbits(16), rnd.getrandbits(24),
                                                 rnd.getrandbits(28), rnd.getrandbits(28),
                                                 int(time.time()))
            self._rid = rid
        return rid

    # --- /_test -------------------------------------------------------------
    def control(self, path, raw):
        st = self.st
        body = json.loads(raw) if raw.strip() else {}
        with st.lock:
            if path == "/_test/requests" and self.command == "GET":
                self.send(200, st.requests)
            elif path == "/_test/reset" and self.command == "POST":
                st.requests = []
                if isinstance(body, dict) and (body.get("all") or body.get("state")):
                    st.cfg = copy.deepcopy(st.start_cfg)
                    st.clear_store()
                    st.seed(st.cfg.get("seed") or {})
                    st.rl_used = 0
                self.send(200, {"ok": True})
            elif path == "/_test/config" and self.command == "GET":
                self.send(200, st.cfg)
            elif path == "/_test/config" and self.command == "POST":
                if not isinstance(body, dict):
                    raise ValueError("config must be a JSON object")
                seeds = body.pop("seed", None)
                # a fail spec replaces the previous one for that op: merging
                # would keep stale keys such as retry_after or rate_limit
                if isinstance(body.get("fail"), dict) and isinstance(st.cfg.get("fail"), dict):
                    for op in body["fail"]:
                        st.cfg["fail"].pop(op, None)
                deep_merge(st.cfg, body)
                st.set_defaults()
                if seeds:
                    st.seed(seeds)
                self.send(200, st.cfg)
            elif path == "/_test/issues" and self.command == "GET":
                self.send(200, st.dump())
            elif path == "/_test/issues" and self.command == "POST":
                repo = body.pop("repo")
                self.send(201, st.seed_one(repo, body))
            else:
                self.send(404, {"error": "unknown control endpoint"})

    # --- API ----------------------------------------------------------------
    def api(self, url, raw):
        st = self.st
        path = url.path
        if st.prefix:
            if not (path == st.prefix or path.startswith(st.prefix + "/")):
                raise api_error(404, None)
            path = path[len(st.prefix):]

        op, m = None, None
        for method, rx, name in ROUTES:
            mm = rx.match(path)
            if mm and method == self.command:
                op, m = name, mm
                break

        self._op = op
        if not self.headers.get("User-Agent"):
            raise ApiError(403, {"message": UA_MESSAGE})

        with st.lock:
            delay = st.cfg.get("delay_ms") or 0
        if delay:
            time.sleep(delay / 1000.0)

        auth = self.headers.get("Authorization", "")
        scheme, _, cred = auth.strip().partition(" ")
        with st.lock:
            token = st.cfg["token"]
            if scheme.lower() != "bearer" or cred.strip() != token:
                st.rl_tick(False)
                raise ApiError(401, {"message": "Bad credentials",
                                     "documentation_url": DOCS[None], "status": "401"})
            exhausted = st.rl_tick(True)
        if exhausted:
            raise ApiError(403, {"message": "API rate limit exceeded for installation ID 1.",
                                 "documentation_url": RATE_DOC, "status": "403"})

        if op is None:
            raise api_error(404, None)

        with st.lock:
            if m.group("rid"):
                key = st.repo_ids.get(int(m.group("rid")))
                r = st.repos.get(key) if key else None
            else:
                allowed = st.cfg.get("repos")
                full = "%s/%s" % (m.group("owner"), m.group("repo"))
                if allowed is not None and full.lower() not in [a.lower() for a in allowed]:
                    r = None
                else:
                    r = st.repo(m.group("owner"), m.group("repo"))
            if r is None:
                raise api_error(404, op)
            spec = st.take_fail(op)
        if spec is not None:
            rest = path[m.end("repo") if m.group("repo") else m.end("rid"):]
            self.injected(spec, op, r, rest)

        with st.lock:
            handler = getattr(self, "op_" + op)
            num = int(m.group("num")) if "num" in m.groupdict() and m.group("num") else None
            status, body, extra = handler(r, num, url, raw)
        hdrs = self.common_headers(op)
        hdrs.update(extra)
        self.send(status, body, hdrs)

    def injected(self, spec, op, r, rest):
        st = self.st
        if spec.get("delay_ms"):
            time.sleep(spec["delay_ms"] / 1000.0)
        status = int(spec.get("status", 500))
        hdrs = {}
        message = spec.get("message")
        doc = DOCS.get(op, DOCS[None])
        if spec.get("rate_limit"):
            with st.lock:
                limit = int(st.cfg["ratelimit_limit"])
            hdrs.update({"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": "0",
                         "x-ratelimit-used": str(limit),
                         "x-ratelimit-reset": str(int(time.time()) +
                                                  int(spec.get("reset_in", 60))),
                         "x-ratelimit-resource": "core"})
            message = message or "API rate limit exceeded for installation ID 1."
            doc = RATE_DOC
        elif spec.get("secondary") or (status == 429 and message is None):
            message = message or (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                "try again. If you reach out to GitHub Support for help, please include the "
                "request ID %s." % self.request_id)
            doc = SECONDARY_DOC
        if spec.get("retry_after") is not None:
            hdrs["retry-after"] = str(spec["retry_after"])
        extra = None
        if status in (301, 302, 307):
            loc = spec.get("location") or "%s/repositories/%d%s" % (st.base, r["id"], rest)
            hdrs["location"] = loc
            message = message or "Moved Permanently"
            extra = {"url": loc}
            doc = ("https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api"
                   "#follow-redirects")
        for k, v in (spec.get("headers") or {}).items():
            hdrs[k.lower()] = str(v)
        if "body" in spec:
            body = spec["body"]
            if isinstance(body, str):
                hdrs["content-type"] = spec.get("content_type", "text/plain; charset=utf-8")
            raise ApiError(status, body, hdrs)
        body = {"message": message or DEFAULT_MESSAGES.get(status) or HTTPStatus(status).phrase}
        if extra:
            body.update(extra)
        if status == 422:
            body["errors"] = []
        body["documentation_url"] = doc
        body["status"] = str(status)
        raise ApiError(status, body, hdrs)

    # --- validation helpers -------------------------------------------------
    def json_body(self, raw, op):
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            raise api_error(400, op, "Problems parsing JSON")
        if not isinstance(body, dict):
            raise api_error(400, op, "Problems parsing JSON")
        return body

    def check_body(self, body, op, resource):
        if body is None:
            return
        if not isinstance(body, str):
            raise api_error(422, op, "Invalid request.\n\nFor 'properties/body', %s is not a "
                            "string or null." % json.dumps(body))
        cfg = self.st.cfg
        size = len(body.encode("utf-8")) if cfg["body_limit_unit"] == "bytes" else len(body)
        if size > int(cfg["body_limit"]):
            raise api_error(422, op, "Validation Failed", errors=[{
                "resource": resource, "code": "custom", "field": "body",
                "message": "body is too long (maximum is %d characters)" % int(cfg["body_limit"])}])

    def check_labels(self, labels, op):
        if labels is None:
            return []
        if not isinstance(labels, list):
            raise api_error(422, op, "Invalid request.\n\nFor 'properties/labels', %s is not an "
                            "array or null." % json.dumps(labels))
        names = []
        for lab in labels:
            if isinstance(lab, dict) and isinstance(lab.get("name"), str):
                lab = lab["name"]
            if not isinstance(lab, str) or not lab.strip():
                raise api_error(422, op, "Validation Failed", errors=[{
                    "resource": "Label", "code": "invalid", "field": "name",
                    "value": lab}])
            if lab.lower() not in [n.lower() for n in names]:
                names.append(lab)
        return names

    def item_or_404(self, r, num, op):
        item = r["items"].get(num)
        if item is None:
            raise api_error(404, op)
        return item

    # --- pagination ---------------------------------------------------------
    def paginate(self, items, url, r, tail):
        q = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        qd = dict(q)
        cap = max(1, int(self.st.cfg["max_per_page"]))
        try:
            per = int(qd.get("per_page", DEFAULT_PER_PAGE))
        except ValueError:
            per = DEFAULT_PER_PAGE
        per = DEFAULT_PER_PAGE if per < 1 else per
        per = min(per, cap)
        try:
            page = max(1, int(qd.get("page", 1)))
        except ValueError:
            page = 1
        total = len(items)
        last = max(1, math.ceil(total / per))
        chunk = items[(page - 1) * per: page * per]

        if self.st.cfg.get("link_style") == "repositories":
            path = "%s/repositories/%d%s" % (self.st.prefix, r["id"], tail)
        else:
            path = "%s/repos/%s/%s%s" % (self.st.prefix, r["owner"], r["name"], tail)

        def link(p):
            qq = [(k, v) for k, v in q if k != "page"] + [("page", str(p))]
            return "<%s%s?%s>" % (self.st.origin, path, urllib.parse.urlencode(qq))

        rels = []
        if page > 1:
            rels.append('%s; rel="prev"' % link(min(page - 1, last)))
        if page < last:
            rels.append('%s; rel="next"' % link(page + 1))
            rels.append('%s; rel="last"' % link(last))
        if page > 1:
            rels.append('%s; rel="first"' % link(1))
        return chunk, ({"link": ", ".join(rels)} if rels else {})

    # --- operations (called with st.lock held) ------------------------------
    def op_list(self, r, num, url, raw):
        qd = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        state = qd.get("state", "open")
        want = [x.strip().lower() for x in qd.get("labels", "").split(",") if x.strip()]
        items = []
        for item in r["items"].values():
            if "pull_request" in item and not self.st.cfg.get("include_pr"):
                continue
            if state in ("open", "closed") and item["state"] != state:
                continue
            names = {lab["name"].lower() for lab in item["labels"]}
            if any(w not in names for w in want):
                continue
            items.append(item)
        sort = qd.get("sort", "created")
        keyf = {"updated": lambda i: (i["updated_at"], i["number"]),
                "comments": lambda i: (i["comments"], i["number"])}.get(
                    sort, lambda i: (i["created_at"], i["number"]))
        items.sort(key=keyf, reverse=qd.get("direction", "desc") != "asc")
        chunk, hdrs = self.paginate(items, url, r, "/issues")
        return 200, chunk, hdrs

    def op_create(self, r, num, url, raw):
        body = self.json_body(raw, "create")
        title = body.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if title is None or (isinstance(title, str) and not title.strip()):
            raise api_error(422, "create", "Validation Failed", errors=[{
                "resource": "Issue", "code": "missing_field", "field": "title"}])
        if not isinstance(title, str):
            raise api_error(422, "create", "Invalid request.\n\nFor 'properties/title', %s is "
                            "not a string or integer." % json.dumps(title))
        self.check_body(body.get("body"), "create", "Issue")
        labels = self.check_labels(body.get("labels"), "create")
        if self.st.cfg.get("drop_labels"):
            labels = []
        item = self.st.new_item(r, title, body.get("body"), labels)
        out = copy.deepcopy(item)
        if self.st.cfg.get("include_pr") and self.st.cfg.get("pr_decoys", True):
            self.st.new_item(r, title, body.get("body"), labels, is_pr=True)
        return 201, out, {"location": item["url"]}

    def op_get(self, r, num, url, raw):
        return 200, copy.deepcopy(self.item_or_404(r, num, "get")), {}

    def op_update(self, r, num, url, raw):
        item = self.item_or_404(r, num, "update")
        body = self.json_body(raw, "update")
        if "title" in body:
            if not isinstance(body["title"], (str, int)) or not str(body["title"]).strip():
                raise api_error(422, "update", "Validation Failed", errors=[{
                    "resource": "Issue", "code": "missing_field", "field": "title"}])
        if "body" in body:
            self.check_body(body["body"], "update", "Issue")
        if "state" in body and body["state"] not in ("open", "closed"):
            raise api_error(422, "update", "Validation Failed", errors=[{
                "resource": "Issue", "code": "invalid", "field": "state"}])
        labels = self.check_labels(body.get("labels"), "update") if "labels" in body else None
        now = iso(time.time())
        if "title" in body:
            item["title"] = str(body["title"])
        if "body" in body:
            item["body"] = body["body"]
        if "state" in body and body["state"] != item["state"]:
            item["state"] = body["state"]
            item["closed_at"] = now if body["state"] == "closed" else None
            item["state_reason"] = body.get("state_reason") or (
                "completed" if body["state"] == "closed" else "reopened")
        if labels is not None and not self.st.cfg.get("drop_labels"):
            item["labels"] = [self.st.label_obj(r, n) for n in labels]
        item["updated_at"] = now
        return 200, copy.deepcopy(item), {}

    def op_list_comments(self, r, num, url, raw):
        self.item_or_404(r, num, "list_comments")
        chunk, hdrs = self.paginate(r["comments"][num], url, r, "/issues/%d/comments" % num)
        return 200, copy.deepcopy(chunk), hdrs

    def op_comment(self, r, num, url, raw):
        item = self.item_or_404(r, num, "comment")
        body = self.json_body(raw, "comment")
        text = body.get("body")
        if text is None:
            raise api_error(422, "comment", "Invalid request.\n\n\"body\" wasn't supplied.")
        if not isinstance(text, str) or not text.strip():
            raise api_error(422, "comment", "Validation Failed", errors=[{
                "resource": "IssueComment", "code": "missing_field", "field": "body"}])
        self.check_body(text, "comment", "IssueComment")
        c = self.st.new_comment(r, item, text)
        return 201, copy.deepcopy(c), {"location": c["url"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description="GitHub REST issues API stand-in")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--config", default="")
    ap.add_argument("--log", default="")
    args = ap.parse_args(argv)

    prefix = args.prefix.rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    cfg = deep_merge(copy.deepcopy(DEFAULTS), load_config_arg(args.config))
    st = GitHubState(cfg, prefix, args.log or None)
    st.set_defaults()
    st.start_cfg = copy.deepcopy(st.cfg)

    def bound(origin):
        st.origin = origin
        st.seed(st.cfg.get("seed") or {})

    return standin.serve(Handler, st, args.port, bound)


if __name__ == "__main__":
    sys.exit(main())
