#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Stand-in Kubernetes API server (apps/v1 Deployments, ReplicaSets, StatefulSets, DaemonSets and
ControllerRevisions).

Good enough that real kubectl 1.20 runs `rollout undo`, `rollout undo --to-revision`,
`rollout undo --dry-run=server`, `rollout status`, `rollout history` and `rollout pause`
against it; see tests/lib/selftest-kube.py. What it follows: kubectl's rollback
(k8s.io/kubectl pkg/polymorphichelpers/rollback.go), the API server's Status error bodies and
JSON Patch handling, and the discovery documents kubectl needs (/apis, /apis/apps/v1).

CLI (conventions shared by every stand-in in tests/servers):
    kube.py [--port 0] [--config JSON|@file] [--log FILE] [--tls CERT KEY]
            [--state JSON|@file] [--scenario NAME|JSON]
prints exactly `READY http(s)://127.0.0.1:PORT`; SIGTERM exits 0.

Control endpoints (never recorded, never need the token):
    GET  /_test/requests   recorded requests [{"t","method","path","headers","body","status"}]
    POST /_test/reset      forget recorded requests; body {"state": true} also restores the
                           start-up config and objects
    POST /_test/config     deep-merge a JSON object into the config; "state" (object list or
                           {"items": [...]}) and "scenario" replace all objects
    GET  /_test/state      {"resourceVersion": "N", "items": [every stored object, with kind]}
    POST /_test/deploy     {"name","namespace","image"|"tag","change_cause"}: a newer deploy
                           lands (template changes; the controller makes a new revision)
    POST /_test/delete     {"kind","name","namespace"}: delete an object (watchers see DELETED)
    POST /_test/touch      {"kind","name","namespace"}: a status-only write (new resourceVersion)
    (/_test/deploy takes "kind" too: StatefulSet, DaemonSet)

API served:
    /api (APIVersions with no versions: kubectl then skips /api/v1, whose empty resource list
    it would refetch every run), /apis, /apis/apps/v1, /version (v1.28.0), /openapi/v2 (protobuf
    only, application/octet-stream: just what `kubectl ... --dry-run=server` checks);
    GET/list/watch deployments and replicasets (namespaced or all namespaces), PATCH and DELETE
    deployments (JSON Patch, merge patch, simplified strategic merge; ?dryRun=All), DELETE
    replicasets. Errors are Status bodies. resourceVersions are one counter; lists keep the
    stored order (never sorted by revision).

Config (defaults in DEFAULT_CONFIG):
    token              if set, every other request needs `Authorization: Bearer <token>` (else 401)
    user               the user named in 403 messages
    controller         {"mode": "normal"|"stuck"|"deadline"|"off", "step_ms": 200}
    forbid             ["patch", "list/replicasets", ...]: verbs (optionally /resource) → 403
    missing_discovery  true → /api, /apis, /apis/apps/v1 answer 404
    faults             [{"method","path" (regex on the path without query),"code","times"
                         (default 1, -1 = always),"retry_after","delay_ms","close": bool,
                         "message"}]: consumed in order by matching requests
    watch_max_seconds  end every watch after at most this long (tests re-watch); null = no cap
    bookmarks          true → send a BOOKMARK when a watch that allowed them ends
    chunk_over         bytes: answer larger bodies chunked (real servers chunk over ~2 KiB)
    gzip_over          bytes: gzip larger bodies when the client accepts gzip
    latency_ms         added to every non-/_test request

Python API (import this file, e.g. via sys.path.insert(0, "tests/servers"); import kube):
    make_history(name="atom", namespace="default", revisions=((1, "v1"), (2, "v2")),
                 current=None, extra_annotations=None, paused=False, replicas=2, ...) -> [objects]
    scenario(name_or_kwargs) -> [objects]
    launch(state=None, scenario=None, config=None, tls=None, log=None) -> Running
        Running: .url .proc .cafile .requests() .config(dict) .state() .reset(state=False)
                 .deploy(...) .get(path) .wait_for(pred, timeout) .stop()
"""

import argparse
import base64
import copy
import gzip
import hashlib
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standin

# --------------------------------------------------------------------------------------
# constants

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HASH_LABEL = "pod-template-hash"
# pkg/util/deployment/deployment.go annotationsToSkip
ANNOTATIONS_TO_SKIP = (
    LAST_APPLIED,
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
)
REV_HISTORY_LIMIT_CHARS = 2000
MAX_JSON_PATCH_OPS = 10000
IMAGE_REGISTRY = "registry.example.com/acme"
FIXED_TIME = "2024-05-01T12:00:00Z"

DEFAULT_CONFIG = {
    "token": None,
    "user": "system:serviceaccount:ci:deployer",
    "controller": {"mode": "normal", "step_ms": 200},
    "forbid": [],
    "missing_discovery": False,
    "faults": [],
    "watch_max_seconds": None,
    "bookmarks": False,
    "chunk_over": None,
    "gzip_over": None,
    "latency_ms": 0,
}

KINDS = {
    # resource -> (Kind, ListKind)
    "deployments": ("Deployment", "DeploymentList"),
    "replicasets": ("ReplicaSet", "ReplicaSetList"),
    "statefulsets": ("StatefulSet", "StatefulSetList"),
    "daemonsets": ("DaemonSet", "DaemonSetList"),
    "controllerrevisions": ("ControllerRevision", "ControllerRevisionList"),
}
WORKLOADS = ("deployments", "statefulsets", "daemonsets")
RESOURCE_OF = {v[0]: k for k, v in KINDS.items()}


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def deep_merge(dst, src):
    """Merge src into dst in place: objects recurse, everything else replaces."""
    return standin.deep_merge(dst, src, null_deletes=False)


def json_equal(a, b):
    """JSON value equality: unlike ==, true is not 1 and 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def semantic(v):
    """Normalise like apiequality.Semantic: null, {} and [] equal absent."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = semantic(x)
            if x is None or x == {} or x == []:
                continue
            out[k] = x
        return out
    if isinstance(v, list):
        return [semantic(x) for x in v]
    return v


def template_without_hash(template):
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


def equal_ignore_hash(t1, t2):
    return json_equal(semantic(template_without_hash(t1)), semantic(template_without_hash(t2)))


_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def pod_template_hash(template, collision=0):
    """A 10-character hash in the alphabet of rand.SafeEncodeString (not the real FNV)."""
    data = json.dumps(semantic(template_without_hash(template)), sort_keys=True)
    digest = hashlib.sha256(("%s#%d" % (data, collision)).encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


def object_uid(kind, namespace, name, salt=""):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kube-standin:%s/%s/%s%s" % (kind, namespace, name, salt)))


# --------------------------------------------------------------------------------------
# building states


def pod_template(name, tag, image=None):
    """The pod template as a real server returns it (defaults filled in)."""
    return {
        "metadata": {"creationTimestamp": None, "labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": name,
                    "image": image or "%s/%s:%s" % (IMAGE_REGISTRY, name, tag),
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "CHANGE", "value": tag}],
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
        },
    }


def _revision_entries(revisions):
    out = []
    for r in revisions:
        if isinstance(r, dict):
            out.append((int(r["revision"]), str(r.get("tag", "v%s" % r["revision"])), dict(r.get("annotations") or {}), r.get("image")))
        else:
            r = list(r)
            out.append((int(r[0]), str(r[1]), dict(r[2]) if len(r) > 2 and r[2] else {}, r[3] if len(r) > 3 else None))
    return out


def max_surge(replicas):
    return replicas + (replicas * 25 + 99) // 100  # maxSurge 25%, rounded up


def make_history(name="atom", namespace="default", revisions=((1, "v1"), (2, "v2")), current=None,
                 extra_annotations=None, paused=False, replicas=2, *, change_causes=True,
                 progress_deadline_seconds=600, revision_history_limit=10, image=None):
    """A Deployment plus one controlled ReplicaSet per revision, as a real cluster shows them.

    revisions: (revision, tag) pairs; a third item adds annotations to that ReplicaSet, a fourth
    overrides its image; or dicts {"revision", "tag", "annotations", "image"}. Revision numbers
    need not be consecutive. Each template runs image registry.example.com/acme/<name>:<tag> with
    env CHANGE=<tag> and labels app=<name>, pod-template-hash=<hash>.
    current: the live revision (default: the highest); the Deployment's template is that
    ReplicaSet's template without pod-template-hash, its revision annotation says it.
    extra_annotations: added to the Deployment (e.g. last-applied-configuration, team).
    change_causes: give each ReplicaSet kubernetes.io/change-cause "deploy <tag>" (and the
    Deployment its current one).
    With no revisions, the Deployment runs `image` (or <name>:v1) and has no ReplicaSet.

    Returns [deployment, replicaset, ...]: the ReplicaSets are deliberately not in revision
    order (highest first, then the rest ascending), as a real list is in name order.
    """
    entries = _revision_entries(revisions)
    if len({e[0] for e in entries}) != len(entries):
        raise ValueError("duplicate revision numbers")
    if current is None and entries:
        current = max(e[0] for e in entries)
    by_rev = {e[0]: e for e in entries}
    if entries and current not in by_rev:
        raise ValueError("current revision %r is not among the revisions" % (current,))

    duid = object_uid("Deployment", namespace, name)
    generation = max([e[0] for e in entries] or [1])
    labels = {"app": name}
    if entries:
        cur = by_rev[current]
        template = pod_template(name, cur[1], cur[3])
    else:
        template = pod_template(name, "v1", image)
    annotations = {}
    if entries:
        annotations[REVISION] = str(current)
        if change_causes:
            annotations[CHANGE_CAUSE] = "deploy %s" % by_rev[current][1]
    annotations.update(extra_annotations or {})
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(labels)},
        "template": template,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": revision_history_limit,
        "progressDeadlineSeconds": progress_deadline_seconds,
    }
    if paused:
        spec["paused"] = True
    deployment = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": duid,
            "resourceVersion": "",
            "generation": generation,
            "creationTimestamp": FIXED_TIME,
            "labels": dict(labels),
            "annotations": annotations,
        },
        "spec": spec,
        "status": {
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "lastUpdateTime": FIXED_TIME, "lastTransitionTime": FIXED_TIME,
                 "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                {"type": "Progressing", "status": "True", "lastUpdateTime": FIXED_TIME, "lastTransitionTime": FIXED_TIME,
                 "reason": "NewReplicaSetAvailable", "message": ""},
            ],
        },
    }
    if not replicas:
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            deployment["status"].pop(k)

    rss = {}
    names = set()
    for rev, tag, extra, img in entries:
        t = pod_template(name, tag, img)
        collision = 0
        h = pod_template_hash(t)
        while "%s-%s" % (name, h) in names:
            collision += 1
            h = pod_template_hash(t, collision)
        rsname = "%s-%s" % (name, h)
        names.add(rsname)
        t["metadata"]["labels"][HASH_LABEL] = h
        live = rev == current
        n = replicas if live else 0
        rsann = {DESIRED_REPLICAS: str(replicas), MAX_REPLICAS: str(max_surge(replicas)), REVISION: str(rev)}
        if change_causes:
            rsann[CHANGE_CAUSE] = "deploy %s" % tag
        rsann.update(extra)
        status = {"replicas": n, "observedGeneration": 1}
        if n:
            status.update({"fullyLabeledReplicas": n, "readyReplicas": n, "availableReplicas": n})
        rss[rev] = {
            "kind": "ReplicaSet",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": rsname,
                "namespace": namespace,
                "uid": object_uid("ReplicaSet", namespace, rsname),
                "resourceVersion": "",
                "generation": 1,
                "creationTimestamp": FIXED_TIME,
                "labels": dict(t["metadata"]["labels"]),
                "annotations": rsann,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": duid,
                                     "controller": True, "blockOwnerDeletion": True}],
            },
            "spec": {
                "replicas": n,
                "selector": {"matchLabels": dict(t["metadata"]["labels"])},
                "template": t,
            },
            "status": status,
        }
    order = sorted(rss)
    if order:
        order = [order[-1]] + order[:-1]
    objects = [deployment] + [rss[r] for r in order]
    for i, o in enumerate(objects):
        o["metadata"]["resourceVersion"] = str(100 + i)  # the server assigns its own on load
    return objects


def revision_data(template):
    """A ControllerRevision's data as the StatefulSet and DaemonSet controllers record it
    (getPatch: the template with "$patch": "replace", keys sorted as Go marshals a map)."""
    t = copy.deepcopy(template)
    t["$patch"] = "replace"
    return json.loads(json.dumps({"spec": {"template": t}}, sort_keys=True))


def revision_hash(data, collision=0):
    digest = hashlib.sha256(("%s#%d" % (json.dumps(semantic(strip_directives(data)), sort_keys=True),
                                       collision)).encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


def controller_revision(kind, owner_name, owner_uid, namespace, template, revision, collision=0):
    data = revision_data(template)
    h = revision_hash(data, collision)
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels["controller-revision-hash"] = h
    return {
        "kind": "ControllerRevision",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": "%s-%s" % (owner_name, h),
            "namespace": namespace,
            "uid": object_uid("ControllerRevision", namespace, "%s-%s" % (owner_name, h)),
            "resourceVersion": "",
            "creationTimestamp": FIXED_TIME,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": owner_uid,
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "data": data,
        "revision": revision,
    }


def make_set_history(kind="StatefulSet", name="db", namespace="default", revisions=((1, "v1"), (2, "v2")),
                     current=None, replicas=3, strategy="RollingUpdate", partition=None, nodes=2,
                     extra_annotations=None, labels=None, foreign=False):
    """A StatefulSet or DaemonSet plus one ControllerRevision per revision, as a cluster shows them.
    revisions: (revision, tag[, None, image]) pairs or dicts; current: the live one (default highest).
    strategy: RollingUpdate or OnDelete; partition: a StatefulSet's rollingUpdate.partition; nodes: a
    DaemonSet's desiredNumberScheduled. foreign: add a revision controlled by another object."""
    entries = _revision_entries(revisions)
    if current is None and entries:
        current = max(e[0] for e in entries)
    by_rev = {e[0]: e for e in entries}
    uid = object_uid(kind, namespace, name)
    cur = by_rev.get(current)
    template = pod_template(name, cur[1] if cur else "v1", cur[3] if cur else None)
    generation = max([e[0] for e in entries] or [1])
    crs = []
    names = set()
    for rev, tag, _extra, img in entries:
        collision = 0
        cr = controller_revision(kind, name, uid, namespace, pod_template(name, tag, img), rev)
        while cr["metadata"]["name"] in names:
            collision += 1
            cr = controller_revision(kind, name, uid, namespace, pod_template(name, tag, img), rev, collision)
        names.add(cr["metadata"]["name"])
        crs.append(cr)
    cur_name = next((c["metadata"]["name"] for c in crs if c["revision"] == current), "")
    spec = {"selector": {"matchLabels": {"app": name}}, "template": template, "revisionHistoryLimit": 10}
    if kind == "StatefulSet":
        spec.update({"replicas": replicas, "serviceName": name, "podManagementPolicy": "OrderedReady"})
        us = {"type": strategy}
        if strategy == "RollingUpdate":
            us["rollingUpdate"] = {"partition": partition or 0}
        spec["updateStrategy"] = us
        status = {"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                  "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
                  "currentRevision": cur_name, "updateRevision": cur_name, "collisionCount": 0}
    else:
        us = {"type": strategy}
        if strategy == "RollingUpdate":
            us["rollingUpdate"] = {"maxUnavailable": 1, "maxSurge": 0}
        spec["updateStrategy"] = us
        status = {"observedGeneration": generation, "currentNumberScheduled": nodes, "numberMisscheduled": 0,
                  "desiredNumberScheduled": nodes, "numberReady": nodes, "updatedNumberScheduled": nodes,
                  "numberAvailable": nodes}
    obj = {
        "kind": kind,
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "resourceVersion": "",
                     "generation": generation, "creationTimestamp": FIXED_TIME,
                     "labels": dict(labels or {"app": name}), "annotations": dict(extra_annotations or {})},
        "spec": spec,
        "status": status,
    }
    if not obj["metadata"]["annotations"]:
        del obj["metadata"]["annotations"]
    if foreign:
        other = controller_revision(kind, name + "-other", object_uid(kind, namespace, name + "-other"), namespace,
                                    pod_template(name, "foreign"), 99)
        crs.append(other)
    order = sorted(crs, key=lambda c: c["metadata"]["name"])  # a real list is in name order
    objects = [obj] + order
    for i, o in enumerate(objects):
        o["metadata"]["resourceVersion"] = str(100 + i)
    return objects


SCENARIOS = {
    # name: make_history keyword arguments (None: no objects at all)
    "default": {},
    "history": {},
    "sparse": {"revisions": [(1, "v1"), (3, "v3"), (7, "v7")]},
    "paused": {"paused": True},
    "first-deploy": {"revisions": [(1, "v1")]},
    "no-history": {"revisions": []},
    "annotated": {"extra_annotations": {"team": "payments", LAST_APPLIED: '{"kind":"Deployment"}\n'}},
    "empty": None,
}


def scenario(spec):
    """Objects for a scenario: a name from SCENARIOS, a dict of make_history keyword
    arguments, a JSON text of either, or a list of such dicts (several Deployments)."""
    if isinstance(spec, str):
        s = spec.strip()
        if s[:1] in ("{", "["):
            spec = json.loads(s)
        elif s in SCENARIOS:
            kw = SCENARIOS[s]
            return [] if kw is None else make_history(**kw)
        else:
            raise ValueError("unknown scenario %r (known: %s)" % (spec, ", ".join(sorted(SCENARIOS))))
    if isinstance(spec, list):
        out = []
        for s in spec:
            out.extend(scenario(s))
        return out
    if isinstance(spec, dict):
        if spec.get("kind") in ("StatefulSet", "DaemonSet"):
            return make_set_history(**spec)
        return make_history(**spec)
    raise ValueError("bad scenario %r" % (spec,))


def state_items(state):
    """Accept a list of objects, {"items": [...]} or a kind List."""
    if state is None:
        return []
    if isinstance(state, dict):
        state = state.get("items", [])
    if not isinstance(state, list):
        raise ValueError("state must be a list of objects or {\"items\": [...]}")
    for o in state:
        if not isinstance(o, dict) or o.get("kind") not in RESOURCE_OF:
            raise ValueError("state objects must be apps/v1 objects with a kind (%s)" % ", ".join(sorted(RESOURCE_OF)))
    return state


# --------------------------------------------------------------------------------------
# selectors


class SelectorError(Exception):
    pass


def _split_top(s):
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VAL = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


def parse_label_selector(s):
    """kubernetes label selector text -> list of (key, op, values)."""
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    for part in _split_top(s):
        p = part.strip()
        m = re.fullmatch(r"(?P<key>%s)\s+(?P<op>in|notin)\s*\((?P<vals>.*)\)" % _KEY, p)
        if m:
            vals = [v.strip() for v in m.group("vals").split(",")]
            if m.group("vals").strip() == "" or any(not re.fullmatch(_VAL, v) for v in vals):
                raise SelectorError("unable to parse requirement: %s" % p)
            reqs.append((m.group("key"), m.group("op"), vals))
            continue
        m = re.fullmatch(r"!\s*(%s)" % _KEY, p)
        if m:
            reqs.append((m.group(1), "!", []))
            continue
        m = re.fullmatch(r"(?P<key>%s)\s*(?P<op>==|=|!=)\s*(?P<val>%s)" % (_KEY, _VAL), p)
        if m:
            op = "!=" if m.group("op") == "!=" else "="
            reqs.append((m.group("key"), op, [m.group("val")]))
            continue
        m = re.fullmatch(_KEY, p)
        if m:
            reqs.append((p, "exists", []))
            continue
        raise SelectorError("unable to parse requirement: found '%s', expected: identifier" % p)
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and not (has and v == vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and not (has and v in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


def selector_reqs(selector):
    """A LabelSelector object (matchLabels, matchExpressions) -> requirements."""
    reqs = []
    for k, v in sorted(((selector or {}).get("matchLabels") or {}).items()):
        reqs.append((k, "=", [v]))
    for e in (selector or {}).get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(e.get("operator"))
        if op is None:
            raise SelectorError("%r is not a valid pod selector operator" % e.get("operator"))
        reqs.append((e.get("key"), op, list(e.get("values") or [])))
    return reqs


FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}


def parse_field_selector(s):
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    for part in s.split(","):
        m = re.fullmatch(r"\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (s, part))
        if m.group(1) not in FIELDS:
            raise SelectorError('"%s" is not a known field selector: only "metadata.name", "metadata.namespace"' % m.group(1))
        reqs.append((FIELDS[m.group(1)], m.group(2) != "!=", m.group(3)))
    return reqs


def fields_match(reqs, obj):
    for (a, b), eq, val in reqs:
        v = (obj.get(a) or {}).get(b)
        if (v == val) != eq:
            return False
    return True


# --------------------------------------------------------------------------------------
# JSON Patch (RFC 6902) with JSON Pointers (RFC 6901)


class PatchError(Exception):
    pass


def parse_pointer(ptr):
    if not isinstance(ptr, str):
        raise PatchError("pointer must be a string")
    if ptr == "":
        return []
    if not ptr.startswith("/"):
        raise PatchError('JSON pointer must be empty or start with a "/": %s' % ptr)
    toks = []
    for t in ptr[1:].split("/"):
        if re.search(r"~(?![01])", t):
            raise PatchError("invalid escape in JSON pointer: %s" % ptr)
        toks.append(t.replace("~1", "/").replace("~0", "~"))
    return toks


def _index(tok, length, allow_end):
    if tok == "-" and allow_end:
        return length
    if not re.fullmatch(r"0|[1-9][0-9]*", tok):
        raise PatchError("invalid array index: %s" % tok)
    i = int(tok)
    if i > length or (i == length and not allow_end):
        raise PatchError("array index out of bounds: %d" % i)
    return i


def _resolve(doc, toks, path):
    cur = doc
    for t in toks:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError("doc is missing path: %s: missing value" % path)
            cur = cur[t]
        elif isinstance(cur, list):
            cur = cur[_index(t, len(cur), False)]
        else:
            raise PatchError("doc is missing path: %s: missing value" % path)
    return cur


def _get(doc, path):
    return _resolve(doc, parse_pointer(path), path)


def _add(doc, path, value):
    toks = parse_pointer(path)
    if not toks:
        return value
    parent = _resolve(doc, toks[:-1], path)
    last = toks[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), True), value)
    else:
        raise PatchError("add operation does not apply: doc is missing path: %s: missing value" % path)
    return doc


def _remove(doc, path):
    toks = parse_pointer(path)
    if not toks:
        raise PatchError("unable to remove the whole document")
    parent = _resolve(doc, toks[:-1], path)
    last = toks[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("Unable to remove nonexistent key: %s: missing value" % last)
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(last, len(parent), False))
    raise PatchError("Unable to remove nonexistent key: %s: missing value" % last)


def _replace(doc, path, value):
    toks = parse_pointer(path)
    if not toks:
        return value
    parent = _resolve(doc, toks[:-1], path)
    last = toks[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("replace operation does not apply: doc is missing key: %s: missing value" % path)
        parent[last] = value
    elif isinstance(parent, list):
        parent[_index(last, len(parent), False)] = value
    else:
        raise PatchError("replace operation does not apply: doc is missing key: %s: missing value" % path)
    return doc


def apply_json_patch(doc, ops):
    """Apply RFC 6902 operations to a deep copy of doc; raises PatchError, doc is untouched."""
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("operation must be an object")
        kind = op.get("op")
        if "path" not in op:
            raise PatchError("operation missing path: %s" % json.dumps(op))
        path = op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError("%s operation missing value" % kind)
        if kind in ("move", "copy") and "from" not in op:
            raise PatchError("%s operation missing from" % kind)
        value = copy.deepcopy(op.get("value"))
        if kind == "add":
            doc = _add(doc, path, value)
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _replace(doc, path, value)
        elif kind == "test":
            try:
                cur = _get(doc, path)
            except PatchError:
                raise PatchError("testing value %s failed: test failed" % path)
            if not json_equal(cur, value):
                raise PatchError("testing value %s failed: test failed" % path)
        elif kind == "move":
            frm = op["from"]
            if path != frm and path.startswith(frm + "/"):
                raise PatchError("move operation does not apply: cannot move %s into its own child %s" % (frm, path))
            parse_pointer(path)
            v = _remove(doc, frm) if parse_pointer(frm) else doc
            doc = _add(doc, path, v)
        elif kind == "copy":
            v = copy.deepcopy(_get(doc, op["from"]))
            doc = _add(doc, path, v)
        else:
            raise PatchError("Unexpected kind: %s" % (kind,))
    return doc


def merge_patch(target, patch, strategic=False):
    """RFC 7386 merge patch; strategic=True also merges lists of named objects by name
    and drops $-directives (a simplification of strategic merge patch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if strategic and patch.get("$patch") == "replace":
        # the directive replaces the whole map (what a ControllerRevision's data says of the template)
        return strip_directives(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if strategic and k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            out[k] = merge_patch(out.get(k), v, strategic)
        elif (strategic and isinstance(v, list) and isinstance(out.get(k), list)
              and v and all(isinstance(x, dict) and "name" in x for x in v)
              and all(isinstance(x, dict) and "name" in x for x in out[k])):
            merged = copy.deepcopy(out[k])
            for item in v:
                if item.get("$patch") == "delete":
                    merged = [m for m in merged if m.get("name") != item["name"]]
                    continue
                for i, m in enumerate(merged):
                    if m.get("name") == item["name"]:
                        merged[i] = merge_patch(m, item, strategic)
                        break
                else:
                    merged.append(merge_patch({}, item, strategic))
            out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    return out


def strip_directives(v):
    if isinstance(v, dict):
        return {k: strip_directives(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [strip_directives(x) for x in v]
    return copy.deepcopy(v)


# --------------------------------------------------------------------------------------
# errors


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def body(self):
        b = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message, "reason": self.reason}
        if self.details is not None:
            b["details"] = self.details
        b["code"] = self.code
        return b


def not_found(resource, name):
    return ApiError(404, "NotFound", '%s.apps "%s" not found' % (resource, name),
                    {"name": name, "group": "apps", "kind": resource})


def no_route():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def unprocessable(msg):
    # apiserver handlers/patch.go: NewGenericServerResponse(422, ...)
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": msg}]})


def invalid(kind, name, field, detail, value=None):
    text = "%s: Invalid value: %s: %s" % (field, json.dumps(value), detail) if value is not None else "%s: %s" % (field, detail)
    return ApiError(422, "Invalid", '%s.apps "%s" is invalid: %s' % (kind, name, text),
                    {"name": name, "group": "apps", "kind": kind,
                     "causes": [{"reason": "FieldValueInvalid", "message": text.split(": ", 1)[1], "field": field}]})


# --------------------------------------------------------------------------------------
# the object store, its event log and the controller


class Store:
    def __init__(self):
        self.cond = threading.Condition(threading.RLock())
        self.objects = []  # insertion order, like etcd keys would not be: never sorted by revision
        self.events = []  # (rv, type, object)
        self.rv = 1000
        self.base_rv = self.rv
        self.epoch = 0

    # all callers hold self.cond where consistency matters
    def load(self, items):
        """Replace every object. Each gets a fresh resourceVersion above all earlier ones (any
        it had is ignored), so watches from any version seen since then work; older versions
        get 410 Expired, and watches open across a load end."""
        with self.cond:
            items = copy.deepcopy(state_items(items))
            self.base_rv = self.rv
            for o in items:
                md = o.setdefault("metadata", {})
                md.setdefault("namespace", "default")
                md.setdefault("uid", object_uid(o["kind"], md["namespace"], md.get("name", ""), "#%d" % self.epoch))
                md.setdefault("generation", 1)
                md.setdefault("creationTimestamp", FIXED_TIME)
                self.rv += 1
                md["resourceVersion"] = str(self.rv)
            self.objects = items
            self.events = []
            self.epoch += 1
            self.cond.notify_all()

    def find(self, kind, namespace, name):
        for o in self.objects:
            md = o["metadata"]
            if o["kind"] == kind and md.get("namespace") == namespace and md.get("name") == name:
                return o
        return None

    def get(self, kind, namespace, name):
        with self.cond:
            o = self.find(kind, namespace, name)
            return copy.deepcopy(o) if o is not None else None

    def list(self, kind, namespace=None):
        with self.cond:
            return [copy.deepcopy(o) for o in self.objects
                    if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)]

    def _emit(self, etype, obj):
        self.events.append((self.rv, etype, copy.deepcopy(obj)))
        self.cond.notify_all()

    def create(self, obj):
        with self.cond:
            obj = copy.deepcopy(obj)
            md = obj["metadata"]
            if self.find(obj["kind"], md["namespace"], md["name"]) is not None:
                raise ApiError(409, "AlreadyExists", '%s.apps "%s" already exists' % (RESOURCE_OF[obj["kind"]], md["name"]))
            md.setdefault("uid", str(uuid.uuid4()))
            md.setdefault("creationTimestamp", now_rfc3339())
            md.setdefault("generation", 1)
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            self.objects.append(obj)
            self._emit("ADDED", obj)
            return copy.deepcopy(obj)

    def update(self, obj):
        """Store obj if it differs from the stored one (resourceVersion ignored); returns the
        stored copy. An unchanged object keeps its resourceVersion and emits nothing."""
        with self.cond:
            md = obj["metadata"]
            cur = self.find(obj["kind"], md["namespace"], md["name"])
            if cur is None:
                raise not_found(RESOURCE_OF[obj["kind"]], md["name"])
            a = copy.deepcopy(obj)
            a["metadata"].pop("resourceVersion", None)
            b = copy.deepcopy(cur)
            b["metadata"].pop("resourceVersion", None)
            if json_equal(a, b):
                return copy.deepcopy(cur)
            new = copy.deepcopy(obj)
            self.rv += 1
            new["metadata"]["resourceVersion"] = str(self.rv)
            self.objects[self.objects.index(cur)] = new
            self._emit("MODIFIED", new)
            return copy.deepcopy(new)

    def delete(self, kind, namespace, name):
        with self.cond:
            cur = self.find(kind, namespace, name)
            if cur is None:
                raise not_found(RESOURCE_OF[kind], name)
            self.objects.remove(cur)
            self.rv += 1
            gone = copy.deepcopy(cur)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self._emit("DELETED", gone)
            return gone

    def snapshot(self):
        with self.cond:
            return {"resourceVersion": str(self.rv), "items": copy.deepcopy(self.objects)}


def controlled_by(rs, deployment):
    for ref in rs["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid") == deployment["metadata"].get("uid"):
            return True
    return False


def revision_of(obj):
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def set_condition(status, ctype, cstatus, reason, message):
    conds = status.setdefault("conditions", [])
    t = now_rfc3339()
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != cstatus:
                c["lastTransitionTime"] = t
            if c.get("reason") != reason or c.get("status") != cstatus:
                c["lastUpdateTime"] = t
            c.update({"status": cstatus, "reason": reason, "message": message})
            return
    conds.append({"type": ctype, "status": cstatus, "lastUpdateTime": t, "lastTransitionTime": t,
                  "reason": reason, "message": message})


def get_condition(status, ctype):
    for c in (status or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


class Controller(threading.Thread):
    """A much simplified deployment controller (pkg/controller/deployment)."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.store = server.store

    def run(self):
        while True:
            cfg = self.server.config.get("controller") or {}
            step = max(0.01, float(cfg.get("step_ms", 200)) / 1000.0)
            time.sleep(step)
            mode = cfg.get("mode", "normal")
            if mode == "off":
                continue
            try:
                with self.store.cond:
                    for d in [o for o in self.store.objects if o["kind"] == "Deployment"]:
                        self.sync(d["metadata"]["namespace"], d["metadata"]["name"], mode)
                    for d in [o for o in self.store.objects if o["kind"] in ("StatefulSet", "DaemonSet")]:
                        self.sync_set(d["kind"], d["metadata"]["namespace"], d["metadata"]["name"], mode)
            except Exception as e:  # keep simulating whatever a test throws at us
                sys.stderr.write("kube.py controller: %r\n" % (e,))

    def sync(self, namespace, name, mode):
        store = self.store
        d = store.get("Deployment", namespace, name)
        if d is None:
            return
        spec, status = d.get("spec") or {}, d.setdefault("status", {})
        generation = d["metadata"].get("generation", 1)
        target = spec.get("replicas", 1)
        rss = [rs for rs in store.list("ReplicaSet", namespace) if controlled_by(rs, d)]
        new_rs = None
        for rs in rss:
            if equal_ignore_hash(rs["spec"].get("template"), spec.get("template")):
                new_rs = rs
                break

        def olds():
            return [rs for rs in store.list("ReplicaSet", namespace)
                    if controlled_by(rs, d) and rs["metadata"]["uid"] != (new_rs or {}).get("metadata", {}).get("uid")]

        def complete():
            return (new_rs["spec"].get("replicas", 0) == target
                    and new_rs.get("status", {}).get("availableReplicas", 0) == target
                    and all(rs["spec"].get("replicas", 0) == 0 for rs in olds()))

        if status.get("observedGeneration", 0) < generation:
            if spec.get("paused"):
                status["observedGeneration"] = generation
                set_condition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
                store.update(d)
                return
            # a spec change: reuse the ReplicaSet with this template or make one; either
            # way it becomes max(other revisions) + 1 (SetNewReplicaSetAnnotations)
            max_old = max([revision_of(rs) for rs in olds()] or [0])
            if new_rs is None:
                new_rs = self.create_rs(d, max_old + 1)
            else:
                new_rs = self.renumber(d, new_rs, max_old + 1)
            # the controller writes the revision through UpdateStatus: no generation bump
            d["metadata"].setdefault("annotations", {})[REVISION] = new_rs["metadata"]["annotations"][REVISION]
            status["observedGeneration"] = generation
            if not complete():
                set_condition(status, "Progressing", "True", "ReplicaSetUpdated",
                              'ReplicaSet "%s" is progressing.' % new_rs["metadata"]["name"])
            self.write_status(d, new_rs, olds())
            return
        if new_rs is None or spec.get("paused"):
            return
        prog = get_condition(status, "Progressing")
        if prog is not None and prog.get("reason") == "ProgressDeadlineExceeded":
            return  # stays failed until the next spec change
        if complete():
            if prog is None or prog.get("reason") != "NewReplicaSetAvailable":
                set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                              'ReplicaSet "%s" has successfully progressed.' % new_rs["metadata"]["name"])
            self.write_status(d, new_rs, olds())
            return
        if mode == "deadline":
            # one pod that never becomes available, then the deadline passes
            if new_rs["spec"].get("replicas", 0) < target:
                new_rs = self.scale(new_rs, new_rs["spec"].get("replicas", 0) + 1, available=False)
            set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                          'ReplicaSet "%s" has timed out progressing.' % new_rs["metadata"]["name"])
            self.write_status(d, new_rs, olds())
            return
        # one step: the new ReplicaSet up (or down) by one, one old one down by one; in
        # stuck mode new pods never become available and old ones are kept
        stuck = mode == "stuck"
        cur = new_rs["spec"].get("replicas", 0)
        if cur != target:
            new_rs = self.scale(new_rs, cur + (1 if cur < target else -1), available=not stuck)
        elif not stuck and new_rs.get("status", {}).get("availableReplicas", 0) != target:
            new_rs = self.scale(new_rs, cur, available=True)
        if not stuck:
            for rs in olds():
                n = rs["spec"].get("replicas", 0)
                if n > 0:
                    self.scale(rs, n - 1, available=True)
                    break
        if complete():
            set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                          'ReplicaSet "%s" has successfully progressed.' % new_rs["metadata"]["name"])
        self.write_status(d, new_rs, olds())

    def sync_set(self, kind, namespace, name, mode):
        """A much simplified StatefulSet / DaemonSet controller: a new template gets a
        ControllerRevision (an equal one is reused and renumbered max + 1, as history.go does),
        then one pod a step is updated, up to the partition; OnDelete updates none."""
        store = self.store
        o = store.get(kind, namespace, name)
        if o is None:
            return
        spec, status = o.get("spec") or {}, o.setdefault("status", {})
        generation = o["metadata"].get("generation", 1)
        crs = [c for c in store.list("ControllerRevision", namespace) if controlled_by(c, o)]
        data = revision_data(spec.get("template") or {})
        stuck = mode in ("stuck", "deadline")
        if status.get("observedGeneration", 0) < generation:
            max_rev = max([c.get("revision", 0) for c in crs] or [0])
            same = [c for c in crs if json_equal(semantic(strip_directives(c.get("data"))),
                                                 semantic(strip_directives(data)))]
            if same:
                cr = copy.deepcopy(same[0])
                if cr.get("revision") != max_rev:
                    cr["revision"] = max_rev + 1
                    cr = store.update(cr)
            else:
                existing = {c["metadata"]["name"] for c in store.list("ControllerRevision", namespace)}
                collision = 0
                cr = controller_revision(kind, name, o["metadata"]["uid"], namespace, spec.get("template") or {},
                                         max_rev + 1)
                while cr["metadata"]["name"] in existing:
                    collision += 1
                    cr = controller_revision(kind, name, o["metadata"]["uid"], namespace, spec.get("template") or {},
                                             max_rev + 1, collision)
                cr["metadata"]["uid"] = str(uuid.uuid4())
                cr["metadata"]["creationTimestamp"] = now_rfc3339()
                cr = store.create(cr)
            status["observedGeneration"] = generation
            if kind == "StatefulSet":
                status["updateRevision"] = cr["metadata"]["name"]
                status["updatedReplicas"] = 0 if status.get("currentRevision") != cr["metadata"]["name"] else \
                    spec.get("replicas", 1)
            else:
                status["updatedNumberScheduled"] = 0
            store.update(o)
            return
        us = spec.get("updateStrategy") or {}
        if us.get("type") != "RollingUpdate" or stuck:
            return  # OnDelete: pods change only when someone deletes them
        if kind == "StatefulSet":
            replicas = spec.get("replicas", 1)
            partition = (us.get("rollingUpdate") or {}).get("partition") or 0
            updated = status.get("updatedReplicas", 0)
            if updated < replicas - partition:
                status["updatedReplicas"] = updated + 1
            elif status.get("currentRevision") != status.get("updateRevision") and partition == 0:
                status["currentRevision"] = status.get("updateRevision")
                status["currentReplicas"] = replicas
            status["readyReplicas"] = replicas
            status["availableReplicas"] = replicas
        else:
            desired = status.get("desiredNumberScheduled", 0)
            updated = status.get("updatedNumberScheduled", 0)
            if updated < desired:
                status["updatedNumberScheduled"] = updated + 1
            status["numberAvailable"] = desired
            status["numberReady"] = desired
        store.update(o)

    def write_status(self, d, new_rs, old_rss):
        status = d.setdefault("status", {})
        all_rs = [new_rs] + old_rss
        replicas = sum(rs.get("status", {}).get("replicas", 0) for rs in all_rs)
        available = sum(rs.get("status", {}).get("availableReplicas", 0) for rs in all_rs)
        ready = sum(rs.get("status", {}).get("readyReplicas", 0) for rs in all_rs)
        updated = new_rs.get("status", {}).get("replicas", 0)
        target = d["spec"].get("replicas", 1)
        for k, v in (("replicas", replicas), ("updatedReplicas", updated), ("readyReplicas", ready),
                     ("availableReplicas", available)):
            if v:
                status[k] = v
            else:
                status.pop(k, None)
        unavailable = max(0, replicas - available)
        if unavailable:
            status["unavailableReplicas"] = unavailable
        else:
            status.pop("unavailableReplicas", None)
        max_unavailable = target * 25 // 100
        if available >= target - max_unavailable:
            set_condition(status, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.")
        self.store.update(d)

    def scale(self, rs, n, available=True):
        rs = copy.deepcopy(rs)
        rs["spec"]["replicas"] = n
        st = {"replicas": n, "observedGeneration": rs["metadata"].get("generation", 1)}
        if n:
            st["fullyLabeledReplicas"] = n
            if available:
                st.update({"readyReplicas": n, "availableReplicas": n})
        rs["status"] = st
        if n:
            rs["metadata"].setdefault("annotations", {})[DESIRED_REPLICAS] = str(n)
        return self.store.update(rs)

    def rs_annotations(self, d, rs_ann, new_revision):
        # copyDeploymentAnnotationsToReplicaSet + SetNewReplicaSetAnnotations
        ann = dict(rs_ann)
        for k, v in (d["metadata"].get("annotations") or {}).items():
            if k not in ANNOTATIONS_TO_SKIP:
                ann[k] = v
        old = ann.get(REVISION)
        try:
            old_int = int(old) if old is not None else 0
        except ValueError:
            old_int = 0
        if old_int < new_revision:
            ann[REVISION] = str(new_revision)
        if old is not None and old_int < new_revision:
            hist = ann.get(REVISION_HISTORY, "")
            olds = hist.split(",")
            if olds[0] == "":
                ann[REVISION_HISTORY] = old
            else:
                total = len(hist) + len(old) + 1
                start = 0
                while total > REV_HISTORY_LIMIT_CHARS and start < len(olds):
                    total -= len(olds[start]) + 1
                    start += 1
                if total <= REV_HISTORY_LIMIT_CHARS:
                    ann[REVISION_HISTORY] = ",".join(olds[start:] + [old])
        replicas = d["spec"].get("replicas", 1)
        ann[DESIRED_REPLICAS] = str(replicas)
        ann[MAX_REPLICAS] = str(max_surge(replicas))
        return ann

    def renumber(self, d, rs, new_revision):
        rs = copy.deepcopy(rs)
        rs["metadata"]["annotations"] = self.rs_annotations(d, rs["metadata"].get("annotations") or {}, new_revision)
        return self.store.update(rs)

    def create_rs(self, d, revision):
        md = d["metadata"]
        template = copy.deepcopy(d["spec"]["template"])
        existing = {o["metadata"]["name"] for o in self.store.objects if o["kind"] == "ReplicaSet"}
        collision = 0
        h = pod_template_hash(template)
        while "%s-%s" % (md["name"], h) in existing:
            collision += 1
            h = pod_template_hash(template, collision)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        selector = copy.deepcopy(d["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = h
        rs = {
            "kind": "ReplicaSet",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": "%s-%s" % (md["name"], h),
                "namespace": md["namespace"],
                "uid": str(uuid.uuid4()),
                "generation": 1,
                "creationTimestamp": now_rfc3339(),
                "labels": dict(template["metadata"]["labels"]),
                "annotations": self.rs_annotations(d, {}, revision),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": md["name"],
                                     "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0, "observedGeneration": 1},
        }
        return self.store.create(rs)


# --------------------------------------------------------------------------------------
# validation after a patch (a few of the checks kube-apiserver makes)


def validate_deployment(new, old):
    name = old["metadata"]["name"]
    kind = old.get("kind", "Deployment")
    md = new.get("metadata")
    if not isinstance(md, dict):
        raise invalid(kind, name, "metadata", "must be an object")
    if md.get("name") != name:
        raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                       % (md.get("name"), name))
    for field in ("annotations", "labels"):
        v = md.get(field)
        if v is not None and (not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values())):
            raise ApiError(422, "Invalid", ' "" is invalid: patch: Invalid value: "...": json: cannot unmarshal '
                           'into Go struct field ObjectMeta.metadata.%s of type map[string]string' % field,
                           {"causes": [{"reason": "FieldValueInvalid", "field": "patch"}]})
    spec = new.get("spec")
    if not isinstance(spec, dict):
        raise invalid(kind, name, "spec", "must be an object")
    if "replicas" in spec and (isinstance(spec["replicas"], bool) or not isinstance(spec["replicas"], int) or spec["replicas"] < 0):
        raise invalid(kind, name, "spec.replicas", "must be greater than or equal to 0", spec["replicas"])
    if "paused" in spec and not isinstance(spec["paused"], bool):
        raise invalid(kind, name, "spec.paused", "must be a boolean", spec["paused"])
    if not json_equal(semantic(spec.get("selector")), semantic(old["spec"].get("selector"))):
        raise invalid(kind, name, "spec.selector", "field is immutable", spec.get("selector"))
    template = spec.get("template")
    if not isinstance(template, dict):
        raise invalid(kind, name, "spec.template", "Required value")
    tlabels = (template.get("metadata") or {}).get("labels") or {}
    if not isinstance(tlabels, dict) or not labels_match(selector_reqs(spec.get("selector")), tlabels):
        raise invalid(kind, name, "spec.template.metadata.labels",
                      "`selector` does not match template `labels`", tlabels)
    containers = (template.get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        raise invalid(kind, name, "spec.template.spec.containers", "Required value")
    for i, c in enumerate(containers):
        for f in ("name", "image"):
            if not isinstance(c, dict) or not isinstance(c.get(f), str) or not c.get(f):
                raise invalid(kind, name, "spec.template.spec.containers[%d].%s" % (i, f), "Required value")


def prepare_update(new, old):
    """deploymentStrategy.PrepareForUpdate and the generic registry: status and server-set
    metadata come from the old object; spec or annotation changes bump generation."""
    new["kind"], new["apiVersion"] = old["kind"], old["apiVersion"]
    md, omd = new["metadata"], old["metadata"]
    for k in ("uid", "creationTimestamp", "namespace"):
        if k in omd:
            md[k] = omd[k]
    md["generation"] = omd.get("generation", 1)
    for k in ("annotations", "labels"):
        if k in md and not md[k]:
            del md[k]
    if "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    else:
        new.pop("status", None)
    # a Deployment's annotations bump it too (its strategy's PrepareForUpdate); other kinds: the spec only
    if (not json_equal(semantic(new.get("spec")), semantic(old.get("spec")))
            or (old["kind"] == "Deployment"
                and not json_equal(md.get("annotations") or {}, omd.get("annotations") or {}))):
        md["generation"] = omd.get("generation", 1) + 1
    return new


# --------------------------------------------------------------------------------------
# OpenAPI v2 (protobuf) — just enough for kubectl's dry-run verifier


def _pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _pb(field, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return _pb_varint(field << 3 | 2) + _pb_varint(len(payload)) + payload


def openapi_v2_protobuf():
    """A gnostic openapi_v2.Document naming PATCH on Deployments (with a dryRun query
    parameter), which is what kubectl's SupportsDryRun looks for."""
    def named_any(name, yaml_text):
        return _pb(1, name) + _pb(2, _pb(2, yaml_text))  # NamedAny{name, Any{yaml}}

    def dry_run_param():
        q = _pb(2, "query") + _pb(3, "When present, indicates that modifications should not be persisted.") \
            + _pb(4, "dryRun") + _pb(6, "string")
        # ParametersItem{parameter: Parameter{non_body_parameter: NonBodyParameter{query...}}}
        return _pb(1, _pb(2, _pb(3, q)))

    paths = b""
    for kind, plural in (("Deployment", "deployments"), ("ReplicaSet", "replicasets"),
                         ("StatefulSet", "statefulsets"), ("DaemonSet", "daemonsets")):
        op = (_pb(1, "apps_v1") + _pb(5, "patchAppsV1Namespaced" + kind)
              + _pb(8, dry_run_param())
              + _pb(13, named_any("x-kubernetes-action", "patch\n"))
              + _pb(13, named_any("x-kubernetes-group-version-kind",
                                  "group: apps\nkind: %s\nversion: v1\n" % kind)))
        item = _pb(8, op)  # PathItem.patch
        paths += _pb(2, _pb(1, "/apis/apps/v1/namespaces/{namespace}/%s/{name}" % plural) + _pb(2, item))
    doc = _pb(1, "2.0") + _pb(2, _pb(1, "Kubernetes") + _pb(2, "v1.28.0")) + _pb(8, paths)
    return doc


# --------------------------------------------------------------------------------------
# HTTP


DISCOVERY_GROUPS = {
    "kind": "APIGroupList",
    "apiVersion": "v1",
    "groups": [{"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}],
}
DISCOVERY_APPS_V1 = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "apps/v1",
    "resources": [
        {"name": "deployments", "singularName": "", "namespaced": True, "kind": "Deployment",
         "verbs": ["delete", "get", "list", "patch", "watch"], "shortNames": ["deploy"], "categories": ["all"]},
        {"name": "replicasets", "singularName": "", "namespaced": True, "kind": "ReplicaSet",
         "verbs": ["delete", "get", "list", "watch"], "shortNames": ["rs"], "categories": ["all"]},
        {"name": "statefulsets", "singularName": "", "namespaced": True, "kind": "StatefulSet",
         "verbs": ["delete", "get", "list", "patch", "watch"], "shortNames": ["sts"], "categories": ["all"]},
        {"name": "daemonsets", "singularName": "", "namespaced": True, "kind": "DaemonSet",
         "verbs": ["delete", "get", "list", "patch", "watch"], "shortNames": ["ds"], "categories": ["all"]},
        {"name": "controllerrevisions", "singularName": "", "namespaced": True, "kind": "ControllerRevision",
         "verbs": ["delete", "get", "list", "watch"]},
    ],
}
DISCOVERY_CORE_V1 = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": []}
VERSION = {"major": "1", "minor": "28", "gitVersion": "v1.28.0", "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2024-05-01T12:00:00Z", "goVersion": "go1.20.5",
           "compiler": "gc", "platform": "linux/amd64"}

RESOURCE_PATH = re.compile(r"^/apis/apps/v1/(?:namespaces/([^/]+)/)?"
                           r"(deployments|replicasets|statefulsets|daemonsets|controllerrevisions)(?:/([^/]+))?/?$")


def dumps(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without this, Nagle plus the
    # client's delayed ACK adds 40 ms to every keep-alive reply
    disable_nagle_algorithm = True
    server_version = "kube-standin"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    # ---- plumbing

    def read_body(self):
        return standin.read_request_body(self, limit=None, readline_max=-1)

    def send_body(self, code, body, ctype="application/json", headers=None):
        cfg = self.server.config
        extra = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = dumps(body)
        gz = cfg.get("gzip_over")
        if gz is not None and len(body) >= gz and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            extra["Content-Encoding"] = "gzip"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in extra.items():
            self.send_header(k, str(v))
        chunk = cfg.get("chunk_over")
        if chunk is not None and len(body) > chunk and self.command != "HEAD":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 1024):
                part = body[i:i + 1024]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        self.wfile.flush()
        if self.record is not None:
            self.record["status"] = code

    def send_error_status(self, e):
        self.send_body(e.code, e.body(), headers=e.headers)

    def handle_one(self):
        self.record = None
        self.body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        if path.startswith("/_test/"):
            return self.control(path)
        srv = self.server
        self.record = {"t": time.time(), "method": self.command, "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "body": self.body.decode("utf-8", "replace")}
        with srv.lock:
            srv.requests.append(self.record)
        try:
            self.api(path)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # a bug here: say so like an apiserver would, and on stderr
            import traceback
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send_error_status(ApiError(500, "InternalError", "stand-in bug: %r" % (e,)))
            except OSError:
                pass
        finally:
            srv.log_request_record(self.record)

    def do_GET(self):
        self.handle_one()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # ---- control endpoints

    def control(self, path):
        srv = self.server
        if path == "/_test/requests" and self.command == "GET":
            with srv.lock:
                return self.send_body(200, dumps(srv.requests))
        if path == "/_test/state" and self.command == "GET":
            return self.send_body(200, srv.store.snapshot())
        if self.command != "POST":
            return self.send_body(405, {"error": "method not allowed"})
        try:
            data = json.loads(self.body or b"{}")
        except ValueError as e:
            return self.send_body(400, {"error": "invalid JSON: %s" % e})
        try:
            if path == "/_test/reset":
                with srv.lock:
                    srv.requests.clear()
                if isinstance(data, dict) and data.get("state"):
                    srv.restore_initial()
                return self.send_body(200, {"ok": True})
            if path == "/_test/config":
                if not isinstance(data, dict):
                    return self.send_body(400, {"error": "config must be an object"})
                srv.apply_config(data)
                return self.send_body(200, {"ok": True, "config": srv.config})
            if path == "/_test/deploy":
                return self.send_body(200, srv.deploy(**data))
            if path == "/_test/touch":
                return self.send_body(200, srv.touch(**data))
            if path == "/_test/delete":
                kind = data.get("kind", "Deployment")
                return self.send_body(200, srv.store.delete(kind, data.get("namespace", "default"), data["name"]))
        except ApiError as e:
            return self.send_error_status(e)
        except (ValueError, TypeError, KeyError) as e:
            return self.send_body(400, {"error": str(e)})
        return self.send_body(404, {"error": "unknown control endpoint %s" % path})

    # ---- the API

    def api(self, path):
        srv = self.server
        cfg = srv.config
        if cfg.get("latency_ms"):
            time.sleep(cfg["latency_ms"] / 1000.0)
        fault = srv.take_fault(self.command, path)
        if fault is not None:
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault.get("close"):
                self.record["status"] = 0
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault.get("code"):
                code = int(fault["code"])
                reason = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                          504: "Timeout", 409: "Conflict"}.get(code, "Unknown")
                headers = {}
                details = {}
                if fault.get("retry_after") is not None:
                    headers["Retry-After"] = fault["retry_after"]
                    details["retryAfterSeconds"] = int(fault["retry_after"])
                raise ApiError(code, reason, fault.get("message") or "injected fault %d" % code, details, headers)
        token = cfg.get("token")
        if token and self.headers.get("Authorization") != "Bearer %s" % token:
            raise ApiError(401, "Unauthorized", "Unauthorized")

        if path in ("/api", "/api/", "/apis", "/apis/", "/apis/apps/v1", "/apis/apps/v1/", "/api/v1"):
            if self.command != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if cfg.get("missing_discovery"):
                raise no_route()
            host = "127.0.0.1:%d" % srv.server_address[1]
            body = {
                "/api": {"kind": "APIVersions", "versions": [],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]},
                "/apis": DISCOVERY_GROUPS,
                "/apis/apps/v1": DISCOVERY_APPS_V1,
                "/api/v1": DISCOVERY_CORE_V1,
            }[path.rstrip("/")]
            return self.send_body(200, body)
        if path == "/version":
            return self.send_body(200, json.dumps(VERSION, indent=2).encode())
        if path == "/openapi/v2":
            if cfg.get("missing_discovery"):
                raise no_route()
            accept = self.headers.get("Accept", "")
            if "protobuf" in accept:
                return self.send_body(200, openapi_v2_protobuf(),
                                      ctype="application/octet-stream")
            raise ApiError(406, "NotAcceptable", "only the protobuf OpenAPI document is served by this stand-in")

        m = RESOURCE_PATH.match(path)
        if not m:
            raise no_route()
        namespace, resource, name = m.group(1), m.group(2), m.group(3)
        kind, list_kind = KINDS[resource]
        watching = self.query.get("watch") in ("true", "1")
        verb = {"GET": "watch" if watching else ("get" if name else "list"), "PATCH": "patch",
                "DELETE": "delete"}.get(self.command)
        if verb is None or (verb == "patch" and resource not in WORKLOADS) or (self.command != "GET" and not name):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                           {"name": name or "", "group": "apps", "kind": resource})
        self.check_forbidden(verb, resource, namespace, name)
        if verb == "get":
            obj = srv.store.get(kind, namespace, name)
            if obj is None:
                raise not_found(resource, name)
            return self.send_body(200, obj)
        if verb in ("list", "watch"):
            try:
                lreqs = parse_label_selector(self.query.get("labelSelector"))
                freqs = parse_field_selector(self.query.get("fieldSelector"))
            except SelectorError as e:
                raise ApiError(400, "BadRequest", str(e))
            if name:
                freqs.append((("metadata", "name"), True, name))

            def match(o):
                return labels_match(lreqs, o["metadata"].get("labels")) and fields_match(freqs, o)
            if verb == "watch":
                return self.watch(kind, namespace, match)
            return self.list_objects(kind, list_kind, namespace, match)
        if verb == "delete":
            gone = srv.store.delete(kind, namespace, name)
            return self.send_body(200, gone)
        return self.patch(namespace, name, resource)

    def check_forbidden(self, verb, resource, namespace, name):
        forbid = self.server.config.get("forbid") or []
        if verb not in forbid and "%s/%s" % (verb, resource) not in forbid:
            return
        user = self.server.config.get("user") or "system:anonymous"
        what = '%s.apps "%s"' % (resource, name) if name else "%s.apps" % resource
        where = 'in the namespace "%s"' % namespace if namespace else "at the cluster scope"
        raise ApiError(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "apps" %s'
                       % (what, user, verb, resource, where),
                       {"name": name or "", "group": "apps", "kind": resource})

    def list_objects(self, kind, list_kind, namespace, match):
        store = self.server.store
        with store.cond:
            items = [o for o in store.list(kind, namespace) if match(o)]
            rv = str(store.rv)
        offset = 0
        cont = self.query.get("continue")
        if cont:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(cont.encode()))["start"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion")
        meta = {"resourceVersion": rv}
        limit = self.query.get("limit")
        if limit:
            try:
                n = int(limit)
            except ValueError:
                raise ApiError(400, "BadRequest", "invalid limit %r" % limit)
            if n > 0 and offset + n < len(items):
                meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": offset + n}).encode()).decode()
                meta["remainingItemCount"] = len(items) - offset - n
                items = items[offset:offset + n]
            else:
                items = items[offset:]
        else:
            items = items[offset:]
        for o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return self.send_body(200, {"kind": list_kind, "apiVersion": "apps/v1", "metadata": meta, "items": items})

    def client_gone(self):
        if isinstance(self.connection, ssl.SSLSocket):
            return self.client_gone_tls()
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if r:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
        return False

    def client_gone_tls(self):
        # nothing may arrive on a watch connection: readable means closed (or close_notify)
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(r)

    def watch(self, kind, namespace, match):
        srv = self.server
        store = srv.store
        cfg = srv.config
        try:
            timeout = float(self.query.get("timeoutSeconds") or 1800)
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid timeoutSeconds")
        if cfg.get("watch_max_seconds") is not None:
            timeout = min(timeout, float(cfg["watch_max_seconds"]))
        bookmarks = self.query.get("allowWatchBookmarks") in ("true", "1") and cfg.get("bookmarks")
        rv_text = self.query.get("resourceVersion", "")
        initial = []
        with store.cond:
            epoch = store.epoch
            if rv_text in ("", "0"):
                initial = [("ADDED", o) for o in store.list(kind, namespace) if match(o)]
                last = store.rv
            else:
                try:
                    last = int(rv_text)
                except ValueError:
                    raise ApiError(400, "BadRequest", "invalid resource version: %s" % rv_text)
                if last < store.base_rv:
                    initial = [("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                          "message": "too old resource version: %d (%d)" % (last, store.base_rv),
                                          "reason": "Expired", "code": 410})]
                    last = None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.record["status"] = 200

        def send(etype, obj):
            line = dumps({"type": etype, "object": obj})
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        deadline = time.monotonic() + timeout
        try:
            for etype, obj in initial:
                send(etype, obj)
            while last is not None:
                with store.cond:
                    if store.epoch != epoch:
                        break
                    pending = [e for e in store.events if e[0] > last]
                    if not pending:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        store.cond.wait(min(left, 0.25))
                        pending = [e for e in store.events if e[0] > last]
                for rv, etype, obj in pending:
                    last = rv
                    if obj["kind"] == kind and (namespace is None or obj["metadata"].get("namespace") == namespace) \
                            and match(obj):
                        send(etype, obj)
                if not pending and (time.monotonic() >= deadline or self.client_gone()):
                    break
            if bookmarks and last is not None:
                send("BOOKMARK", {"kind": kind, "apiVersion": "apps/v1", "metadata": {"resourceVersion": str(last)}})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def patch(self, namespace, name, resource="deployments"):
        srv = self.server
        store = srv.store
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        dry = self.query.get("dryRun")
        if dry is not None and dry != "All":
            raise ApiError(400, "BadRequest", 'dryRun: Unsupported value: "%s": supported values: "All"' % dry)
        if ctype not in ("application/json-patch+json", "application/merge-patch+json",
                         "application/strategic-merge-patch+json"):
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types include: "
                           "application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml, application/strategic-merge-patch+json")
        try:
            patch = json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError(400, "BadRequest", "error decoding patch: %s" % e)
        with store.cond:
            old = store.get(KINDS[resource][0], namespace, name)
            if old is None:
                raise not_found(resource, name)
            if ctype == "application/json-patch+json":
                if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
                    raise ApiError(400, "BadRequest", "json: cannot unmarshal %s into Go value of type jsonpatch.Patch"
                                   % ("object" if isinstance(patch, dict) else "value"))
                if len(patch) > MAX_JSON_PATCH_OPS:
                    raise ApiError(413, "RequestEntityTooLarge",
                                   "The allowed maximum operations in a JSON patch is %d, got %d"
                                   % (MAX_JSON_PATCH_OPS, len(patch)))
                try:
                    new = apply_json_patch(old, patch)
                except PatchError as e:
                    raise unprocessable(str(e))
            else:
                if not isinstance(patch, dict):
                    raise ApiError(400, "BadRequest", "json: cannot unmarshal %s into Go value of type map[string]interface {}"
                                   % type(patch).__name__)
                new = merge_patch(old, patch, strategic=ctype.startswith("application/strategic"))
            if not isinstance(new, dict):
                raise unprocessable("the patched document is not an object")
            validate_deployment(new, old)
            want_rv = new.get("metadata", {}).get("resourceVersion")
            if want_rv not in (None, "", old["metadata"]["resourceVersion"]):
                raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s.apps "%s": the object has '
                               "been modified; please apply your changes to the latest version and try again"
                               % (resource, name), {"name": name, "group": "apps", "kind": resource})
            new = prepare_update(new, old)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if dry == "All":
                return self.send_body(200, new)
            stored = store.update(new)
        return self.send_body(200, stored)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, config=None, items=None, log=None, tls=None):
        super().__init__(addr, Handler)
        self.lock = threading.Lock()
        self.requests = []
        self.config = deep_merge(copy.deepcopy(DEFAULT_CONFIG), config or {})
        self.store = Store()
        self.store.load(items or [])
        self.initial = (copy.deepcopy(self.config), copy.deepcopy(items or []))
        self.logf = open(log, "a", buffering=1) if log else None
        self.tls = tls is not None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            ctx.set_alpn_protocols(["http/1.1"])
            # handshake in the handler thread, so one slow client cannot stall accept()
            self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.controller = Controller(self)
        self.controller.start()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.server_address[1])

    def log_request_record(self, record):
        if self.logf is None or record is None:
            return
        with self.lock:
            self.logf.write(json.dumps(record, sort_keys=True) + "\n")

    def apply_config(self, data):
        data = dict(data)
        state = data.pop("state", None)
        scen = data.pop("scenario", None)
        items = None
        if scen is not None:
            items = scenario(scen)
        if state is not None:
            items = (items or []) + state_items(state)
        with self.store.cond:
            deep_merge(self.config, data)
            if items is not None:
                self.store.load(items)

    def restore_initial(self):
        cfg, items = self.initial
        with self.store.cond:
            self.config.clear()
            self.config.update(copy.deepcopy(cfg))
            self.store.load(items)

    def take_fault(self, method, path):
        with self.lock:
            for f in self.config.get("faults") or []:
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("path") and not re.search(f["path"], path):
                    continue
                times = f.get("times", 1)
                if times == 0:
                    continue
                if times > 0:
                    f["times"] = times - 1
                return dict(f)
        return None

    def touch(self, kind, name, namespace="default"):
        """A status-only write (what a controller does all the time): a new resourceVersion, the
        same generation."""
        with self.store.cond:
            o = self.store.get(kind, namespace, name)
            if o is None:
                raise not_found(RESOURCE_OF[kind], name)
            o.setdefault("status", {})["touches"] = o["status"].get("touches", 0) + 1
            return self.store.update(o)

    def deploy(self, name="atom", namespace="default", image=None, tag=None, change_cause=None, kind="Deployment"):
        """A newer deploy lands: change the first container's image (tag also sets env CHANGE)."""
        with self.store.cond:
            d = self.store.get(kind, namespace, name)
            if d is None:
                raise not_found(RESOURCE_OF[kind], name)
            old = copy.deepcopy(d)
            c = d["spec"]["template"]["spec"]["containers"][0]
            if tag is not None:
                c["image"] = image or "%s/%s:%s" % (IMAGE_REGISTRY, name, tag)
                for e in c.get("env") or []:
                    if e.get("name") == "CHANGE":
                        e["value"] = str(tag)
            elif image is not None:
                c["image"] = image
            else:
                raise ValueError("deploy needs image or tag")
            if change_cause is None:
                change_cause = "deploy %s" % (tag if tag is not None else image)
            if kind == "Deployment":
                d["metadata"].setdefault("annotations", {})[CHANGE_CAUSE] = change_cause
            d = prepare_update(d, old)
            return self.store.update(d)


# --------------------------------------------------------------------------------------
# running it from tests


class Running:
    """A kube.py child process, started by launch()."""

    def __init__(self, proc, url, cafile=None):
        self.proc, self.url, self.cafile = proc, url, cafile
        self._ctx = ssl.create_default_context(cafile=cafile) if cafile else None
        if self._ctx is not None:
            # control calls go to 127.0.0.1 whatever name the certificate carries (tls-server-name tests)
            self._ctx.check_hostname = False

    def call(self, method, path, body=None, headers=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw

    def get(self, path, headers=None):
        return self.call("GET", path, headers=headers)[1]

    def requests(self):
        return self.get("/_test/requests")

    def state(self):
        return self.get("/_test/state")

    def config(self, cfg):
        return self.call("POST", "/_test/config", cfg)[1]

    def reset(self, state=False):
        return self.call("POST", "/_test/reset", {"state": bool(state)})[1]

    def deploy(self, **kw):
        return self.call("POST", "/_test/deploy", kw)[1]

    def touch(self, **kw):
        return self.call("POST", "/_test/touch", kw)[1]

    def find(self, kind, name, namespace="default"):
        for o in self.state()["items"]:
            md = o["metadata"]
            if o["kind"] == kind and md["name"] == name and md.get("namespace") == namespace:
                return o
        return None

    def wait_for(self, pred, timeout=10.0, interval=0.05):
        """Poll /_test/state until pred(state) is true; returns the state or raises TimeoutError."""
        end = time.monotonic() + timeout
        while True:
            st = self.state()
            if pred(st):
                return st
            if time.monotonic() > end:
                raise TimeoutError("condition not met within %.1fs" % timeout)
            time.sleep(interval)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def launch(state=None, scenario=None, config=None, tls=None, log=None, cafile=None, python=None):
    """Start kube.py as a child (port 0) and wait for READY. tls=(cert, key); cafile verifies
    the control calls over https (defaults to the certificate, fine when self-signed)."""
    args = [python or sys.executable, os.path.abspath(__file__), "--port", "0"]
    if config is not None:
        args += ["--config", json.dumps(config)]
    if state is not None:
        args += ["--state", json.dumps(state)]
    if scenario is not None:
        args += ["--scenario", scenario if isinstance(scenario, str) else json.dumps(scenario)]
    if tls is not None:
        args += ["--tls", tls[0], tls[1]]
    if log is not None:
        args += ["--log", log]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        proc.wait()
        raise RuntimeError("kube.py did not start: %r" % line)
    return Running(proc, line.split(" ", 1)[1], cafile or (tls[0] if tls else None))


# --------------------------------------------------------------------------------------
# main


def json_arg(text):
    if text.startswith("@"):
        with open(text[1:]) as f:
            return json.load(f)
    return json.loads(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description="stand-in Kubernetes API server (apps/v1 deployments, replicasets)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", type=json_arg, default=None, help="JSON object or @file")
    ap.add_argument("--state", type=json_arg, default=None, help="objects: JSON list, {\"items\": [...]} or @file")
    ap.add_argument("--scenario", default=None,
                    help="%s, or a JSON object of make_history arguments" % ", ".join(sorted(SCENARIOS)))
    ap.add_argument("--log", default=None, help="append one JSON line per request")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), default=None)
    args = ap.parse_args(argv)

    items = []
    try:
        if args.scenario is not None:
            items += scenario(args.scenario)
        if args.state is not None:
            items += state_items(args.state)
        config = dict(args.config or {})
        if "scenario" in config:
            items = scenario(config.pop("scenario")) + items
        if "state" in config:
            items = state_items(config.pop("state")) + items
    except ValueError as e:
        ap.error(str(e))

    server = Server(("127.0.0.1", args.port), config=config, items=items, log=args.log, tls=args.tls)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY %s" % server.url(), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if server.logf is not None:
            server.logf.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
