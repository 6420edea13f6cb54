#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TAP: the shell steps of .github/workflows/release.yml, run here as the runner would run them.

The actions (build-push, attest, ...) only run on GitHub; our own `run:` steps are plain bash and
are run here, taken from the workflow file itself, with the environment the runner gives them:
  - "Version, image name and release notes": the tag must equal meson.build's version; the outputs
    (version, major, lower-cased image name) and the notes file (the CHANGELOG section);
  - "Pin action.yml ...": against a clone whose origin is a local bare repository holding the
    pushed tag, as actions/checkout leaves it (detached at the tag): the tag and the major tag end
    up on a new commit whose parent is the tagged one and whose only change is runs.image; no
    branch moves;
  - "GitHub Release ...": with a stand-in `gh` on PATH that records its arguments and the notes.
Also the workflow's shape: the trigger, the four permissions, test before release."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # .ci/install-deps installs python3-yaml
    print("1..0 # SKIP python3-yaml not installed")
    sys.exit(0)

ROOT = os.environ.get("ATOM_SAFETY_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WF = os.path.join(ROOT, ".github", "workflows", "release.yml")
DIGEST = "sha256:" + "5e" * 32
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[-40:]:
            print("# " + line)
    return cond


def git(*args, cwd, check=True):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=cwd, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    p = subprocess.run(["git"] + list(args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("git %s: %s" % (" ".join(args), p.stdout))
    return p.stdout.strip()


def step(job, name_prefix):
    for s in job["steps"]:
        if s.get("name", "").startswith(name_prefix):
            return s
    raise KeyError(name_prefix)


def run_step(s, cwd, env):
    # the runner runs `run:` with `bash --noprofile --norc -eo pipefail {0}` (the default shell)
    script = os.path.join(env["RUNNER_TEMP"], "step.sh")
    with open(script, "w") as f:
        f.write(s["run"])
    full = dict(os.environ)
    full.update(env)
    p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], cwd=cwd, env=full,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def outputs(path):
    d = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                d[k] = v
    return d


def main():
    with open(WF) as f:
        wf = yaml.safe_load(f)
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    ok(on == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}, "runs on pushed tags vMAJOR.MINOR.PATCH", on)
    ok(wf.get("permissions") == {"contents": "write", "packages": "write", "id-token": "write",
                                 "attestations": "write"},
       "permissions: exactly contents, packages, id-token, attestations: write", wf.get("permissions"))
    jobs = wf["jobs"]
    ok("bash .ci/run" in str(jobs["test"]["steps"]), "the test job runs the README's test command")
    ok(jobs["release"].get("needs") == "test", "release needs test")
    rel = jobs["release"]
    with_build = step(rel, "Build and push")["with"]
    ok(with_build.get("platforms") == "linux/amd64,linux/arm64" and with_build.get("push") is True
       and with_build.get("sbom") is True and "provenance" in with_build,
       "builds linux/amd64 and linux/arm64, pushes, with SBOM and provenance", with_build)

    version = subprocess.run([os.path.join(ROOT, ".github", "release", "version")], stdout=subprocess.PIPE,
                             text=True).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="test-release-wf.")
    try:
        run_all(rel, version, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


def run_all(rel, version, tmp):
    tag = "v" + version
    # ---- version step ----
    meta = step(rel, "Version, image name")
    rt = os.path.join(tmp, "runner_temp")
    os.makedirs(rt)
    out = os.path.join(tmp, "output")
    open(out, "w").close()
    env = {"TAG": tag, "GITHUB_REPOSITORY": "Demo-Org/Atom-Safety-Action", "GITHUB_OUTPUT": out,
           "RUNNER_TEMP": rt}
    rc, log = run_step(meta, ROOT, env)
    o = outputs(out)
    ok(rc == 0 and o == {"version": version, "major": version.split(".")[0],
                         "image": "ghcr.io/demo-org/atom-safety-action"},
       "version step: outputs version, major and the lower-cased image name", "rc=%s %s %r" % (rc, log, o))
    section = subprocess.run([os.path.join(ROOT, ".github", "release", "changelog-section"), version],
                             stdout=subprocess.PIPE, text=True).stdout
    with open(os.path.join(rt, "notes.md")) as f:
        notes = f.read()
    ok(notes == section and notes.strip(), "version step: the notes are the CHANGELOG section")
    open(out, "w").close()
    rc, log = run_step(meta, ROOT, dict(env, TAG="v99.0.0"))
    ok(rc != 0 and "::error::tag v99.0.0 does not match" in log and outputs(out) == {},
       "version step: a tag that is not meson.build's version stops the release", log)

    # ---- pin step, against a local origin ----
    origin = os.path.join(tmp, "origin.git")
    seed = os.path.join(tmp, "seed")
    work = os.path.join(tmp, "work")
    git("init", "-q", "--bare", origin, cwd=tmp)
    git("clone", "-q", "--no-local", ROOT, seed, cwd=tmp)
    git("remote", "set-url", "origin", origin, cwd=seed)
    git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=seed)
    git("tag", tag, cwd=seed)
    git("push", "-q", "origin", "refs/tags/" + tag, cwd=seed)
    tagged = git("rev-parse", "HEAD", cwd=seed)
    # what actions/checkout leaves on a tag push: fetch-depth 1, detached at the tag
    git("clone", "-q", "--depth", "1", "--branch", tag, "file://" + origin, work, cwd=tmp)
    ok(git("rev-parse", "--is-shallow-repository", cwd=work) == "true"
       and git("rev-parse", "HEAD", cwd=work) == tagged, "checkout: shallow, detached at the tag")
    image = "ghcr.io/demo-org/atom-safety-action"
    pin = step(rel, "Pin action.yml")
    rc, log = run_step(pin, work, {"TAG": tag, "IMAGE": image, "DIGEST": DIGEST, "MAJOR": "v" + version.split(".")[0],
                                    "RUNNER_TEMP": rt, "HOME": work, "GIT_CONFIG_NOSYSTEM": "1"})
    ok(rc == 0, "pin step runs", log)
    new = git("rev-parse", "refs/tags/%s^{commit}" % tag, cwd=origin, check=False)
    major = git("rev-parse", "refs/tags/v%s^{commit}" % version.split(".")[0], cwd=origin, check=False)
    ok(new and new != tagged and major == new, "origin: %s and the major tag point at the new commit" % tag,
       "tag %s major %s tagged %s\n%s" % (new, major, tagged, log))
    ok(git("rev-parse", new + "^", cwd=origin, check=False) == tagged, "its parent is the tagged commit")
    ok(git("diff", "--name-only", tagged, new, cwd=origin, check=False) == "action.yml",
       "the release commit changes only action.yml")
    diff = git("diff", "-U0", tagged, new, "--", "action.yml", cwd=origin, check=False)
    changed = [l for l in diff.splitlines() if l[:1] in "+-" and not l.startswith(("+++", "---"))]
    ok(changed == ["-  image: 'Dockerfile'", "+  image: 'docker://%s@%s'" % (image, DIGEST)],
       "... and in it only runs.image, to the pushed digest", diff)
    ok(git("rev-parse", "refs/heads/main", cwd=origin) == tagged, "no branch moved")
    ok(git("cat-file", "-t", "refs/tags/" + tag, cwd=origin) == "tag", "the release tag is annotated")

    # ---- release step, with a stand-in gh ----
    rel_step = step(rel, "GitHub Release")
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    record = os.path.join(tmp, "gh-args")
    with open(os.path.join(bindir, "gh"), "w") as f:
        f.write('#!/bin/bash\nprintf "%%s\\n" "$@" > %s\nwhile [ $# -gt 0 ]; do [ "$1" = --notes-file ] && '
                'cp "$2" %s.notes; shift; done\n' % (record, record))
    os.chmod(os.path.join(bindir, "gh"), 0o755)
    rc, log = run_step(rel_step, work, {"TAG": tag, "IMAGE": image, "DIGEST": DIGEST, "RUNNER_TEMP": rt,
                                         "GH_TOKEN": "x", "GITHUB_REPOSITORY": "demo-org/atom-safety-action",
                                         "PATH": bindir + os.pathsep + os.environ["PATH"]})
    args = open(record).read().splitlines() if os.path.exists(record) else []
    ok(rc == 0 and args[:5] == ["release", "create", tag, "--verify-tag", "--title"],
       "release step: gh release create %s --verify-tag" % tag, "%s\n%r" % (log, args))
    rnotes = open(record + ".notes").read() if os.path.exists(record + ".notes") else ""
    ok(rnotes.startswith(section.rstrip("\n")) and "%s@%s" % (image, DIGEST) in rnotes,
       "release notes: the CHANGELOG section, then the image digest", rnotes[-400:])


if __name__ == "__main__":
    sys.exit(main())
