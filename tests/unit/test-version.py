#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TAP: one version, agreed on everywhere.

meson.build's project() version is the only place the version is written. This checks that
`atom-safety --version` (compiled from it), `.github/release/version` (what the release workflow
puts in the image label), CHANGELOG.md's newest release and its section script agree, that the
Dockerfile hard-codes no version, and that the licence is the same MIT everywhere. The label of
a built image is checked by tests/container/test-release.py against the binary inside it."""

import os
import re
import subprocess
import sys

ROOT = os.environ.get("ATOM_SAFETY_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.environ.get("ATOM_SAFETY_BIN")
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)
    if not cond:
        failed += 1
        for line in str(detail).splitlines():
            print("# " + line)
    return cond


def text(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    return p.returncode, p.stdout, p.stderr


def main():
    meson = text("meson.build")
    m = re.search(r"^project\((.*?)^\)", meson, re.S | re.M)
    project = m.group(1) if m else ""
    versions = re.findall(r"^\s*version:\s*'([^']*)'", project, re.M)
    ok(len(versions) == 1, "meson.build's project() has one version", versions)
    version = versions[0] if versions else None
    ok(bool(version and re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", version)),
       "it is MAJOR.MINOR.PATCH", version)

    rc, out, err = run([os.path.join(ROOT, ".github", "release", "version")])
    ok(rc == 0 and out.strip() == version, ".github/release/version prints it", out + err)

    if BIN:
        rc, out, err = run([BIN, "--version"])
        ok(rc == 0 and out.strip() == "atom-safety %s" % version,
           "atom-safety --version prints 'atom-safety %s'" % version, "rc=%s %r %r" % (rc, out, err))
    else:
        ok(False, "ATOM_SAFETY_BIN set (meson test sets it)")

    cl = text("CHANGELOG.md")
    heads = re.findall(r"^## \[([^\]]+)\](.*)$", cl, re.M)
    ok(heads and heads[0][0] == "Unreleased", "CHANGELOG.md opens with [Unreleased]", heads[:2])
    released = [(v, rest) for v, rest in heads if v != "Unreleased"]
    ok(released and released[0][0] == version,
       "CHANGELOG.md's newest release is %s" % version, released[:1])
    ok(released and re.fullmatch(r" - \d{4}-\d{2}-\d{2}", released[0][1]),
       "its heading is '## [X.Y.Z] - YYYY-MM-DD' (Keep a Changelog)", released[:1])
    ok(all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v, _ in released), "every release is X.Y.Z",
       [v for v, _ in released])
    rc, out, err = run([os.path.join(ROOT, ".github", "release", "changelog-section"), version])
    ok(rc == 0 and out.strip() and "## " not in out.splitlines()[0],
       "changelog-section %s prints the section's body" % version, out + err)
    rc, out, err = run([os.path.join(ROOT, ".github", "release", "changelog-section"), "99.99.99"])
    ok(rc != 0 and not out, "changelog-section refuses a version without a section", out + err)

    docker = text("Dockerfile")
    ok(version not in docker, "the Dockerfile hard-codes no version (the release passes VERSION)")
    ok(re.search(r"^ARG VERSION=", docker, re.M)
       and 'org.opencontainers.image.version="${VERSION}"' in docker,
       "the image's version label comes from the VERSION build argument")

    lic = text("LICENSE")
    ok(lic.startswith("MIT License"), "LICENSE is the MIT licence")
    ok(re.search(r"license:\s*'MIT'", meson) is not None, "meson.build says MIT")
    ok('org.opencontainers.image.licenses="MIT"' in docker, "the image label says MIT")
    wf = text(".github", "workflows", "release.yml")
    ok(".github/release/version" in wf and "VERSION=" in wf,
       "the release workflow takes the version from .github/release/version")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
