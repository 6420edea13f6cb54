#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Release test (TAP): the release process end to end, against a real registry.

    python3 tests/container/test-release.py

What .github/workflows/release.yml does on GitHub, done here with a local registry:
  1. a real registry: Debian's docker-registry (tests/container/registry.py) on 127.0.0.1 at a
     free port, storage in a temporary directory;
  2. the image built as the container test builds it, with the build arguments the workflow
     passes (VERSION from .github/release/version, REVISION, SOURCE), its OCI labels checked;
  3. pushed with the engine, the pushed digest read (podman --digestfile) and checked against
     the digest the registry serves for the tag;
  4. .github/release/pin-image run on a copy of action.yml: exactly runs.image changes, to
     docker://<registry>/<name>@sha256:<digest>;
  5. the local image removed; the reference read back from the pinned action.yml pulled the
     way the runner handles a docker:// action (`docker pull`, then `docker run`), into an empty
     image store (podman --root/--runroot in a temporary directory), so every byte comes from
     the registry;
  6. run with the runner's mounts and -e INPUT_... variables (test-container.py's runner shape)
     for a healthy and a bad release: exit codes, outputs and step summary checked; the binary
     in the pulled image reports the version its label carries.
The registry is stopped and the temporary store removed at the end. Skipped (1..0 # SKIP) only
when no container engine can run here, like the container test.

Environment: ATOM_CONTAINER_ENGINE, ATOM_CACHE, ATOM_KEEP=1, ATOM_VERBOSE=1 as in
test-container.py.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
_spec = importlib.util.spec_from_file_location("test_container", os.path.join(HERE, "test-container.py"))
tc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tc)
import registry as regmod  # noqa: E402

NAME = "demo-org/atom-safety-action"
SOURCE = "https://github.com/" + NAME


def sh(cmd, **kw):
    kw.setdefault("timeout", 600)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    return p.returncode, p.stdout


def main():
    tap = tc.TAP
    engine = tc.choose_engine()
    tap.diag("engine: %s" % engine)
    if shutil.which("git") is None:
        tap.bail("git not installed (the workspace must be a real checkout)")

    rc, out = sh([os.path.join(REPO, ".github", "release", "version")])
    version = out.strip()
    if not tap.ok(rc == 0 and re.fullmatch(r"\d+\.\d+\.\d+", version),
                  ".github/release/version prints the version", out):
        tap.bail("no version")
    rc, out = sh(["git", "-C", REPO, "rev-parse", "HEAD"])
    revision = out.strip() if rc == 0 else "unknown"

    rc, out = sh([os.path.join(HERE, "base-image.sh")], env=dict(os.environ, ATOM_CONTAINER_ENGINE=engine))
    if not tap.ok(rc == 0, "base image debian:bookworm-slim available", tc.tail(out)):
        tap.bail("no base image")

    keep = os.environ.get("ATOM_KEEP") == "1"
    tmp = tempfile.mkdtemp(prefix="atom-safety-release.")
    os.chmod(tmp, 0o755)
    reg = None
    store = None
    services = {}
    try:
        try:
            reg = regmod.Registry(tmp).start()
        except RuntimeError as e:
            tap.ok(False, "registry starts", str(e))
            tap.bail("no registry")
        tap.ok(True, "registry (%s) answers /v2/ on %s" % (os.path.basename(reg.binary), reg.host))
        tag_ref = "%s/%s:%s" % (reg.host, NAME, version)

        # ---- build as the container test does, with the workflow's build arguments -----------
        # The workflow passes the values twice: as build arguments (the Dockerfile's LABEL) and
        # as labels (docker/metadata-action's output, given to build-push-action as --label).
        # Both here too: buildah 1.28 (podman 4.3) reuses a cached LABEL step whatever the build
        # argument values, so the --label flags are what make a warm local build right.
        want = {"org.opencontainers.image.version": version,
                "org.opencontainers.image.revision": revision,
                "org.opencontainers.image.licenses": "MIT",
                "org.opencontainers.image.source": SOURCE}
        cmd = [engine, "build", "--network=host", "-f", "Dockerfile",
               "--build-arg", "VERSION=" + version, "--build-arg", "REVISION=" + revision,
               "--build-arg", "SOURCE=" + SOURCE, "-t", tag_ref]
        for k, v in want.items():
            cmd += ["--label", "%s=%s" % (k, v)]
        cmd.append(".")
        if engine == "podman":
            cmd[2:2] = ["--pull=never"]
        t0 = time.time()
        rc, out = sh(cmd, cwd=REPO, timeout=1800)
        tap.diag("build: %.1f s" % (time.time() - t0))
        if not tap.ok(rc == 0, "image builds", tc.tail(out, 60)):
            tap.bail("image build failed")
        rc, out = sh([engine, "image", "inspect", "--format", "{{json .Config.Labels}}", tag_ref])
        labels = {}
        try:
            labels = __import__("json").loads(out.strip().splitlines()[0]) or {}
        except (ValueError, IndexError):
            pass
        for k, v in want.items():
            tap.ok(labels.get(k) == v, "label %s=%s" % (k, v), "labels: %r" % labels)
        built_id = sh([engine, "image", "inspect", "--format", "{{.Id}}", tag_ref])[1].strip()

        # ---- push, read the digest -----------------------------------------------------------
        t0 = time.time()
        ok, out, digest = regmod.push([engine], tag_ref, os.path.join(tmp, "digest"))
        tap.diag("push: %.1f s" % (time.time() - t0))
        if not tap.ok(ok and digest and re.fullmatch(r"sha256:[0-9a-f]{64}", digest),
                      "image pushed; digest read: %s" % digest, tc.tail(out)):
            tap.bail("push failed")
        served, manifest = reg.manifest(NAME, version)
        tap.ok(served == digest, "the registry serves tag %s with that digest" % version,
               "served %s, push said %s" % (served, digest))
        size, layers = reg.pushed_size(NAME, digest)
        tap.diag("as pushed: %.1f MB compressed in %d layer(s)" % (size / 1e6, layers))

        # ---- pin a copy of action.yml -------------------------------------------------------
        pinned = os.path.join(tmp, "action.yml")
        shutil.copyfile(os.path.join(REPO, "action.yml"), pinned)
        pin_ref = "%s/%s@%s" % (reg.host, NAME, digest)
        rc, out = sh([os.path.join(REPO, ".github", "release", "pin-image"), pin_ref, pinned])
        with open(os.path.join(REPO, "action.yml")) as f:
            before = f.read().splitlines()
        with open(pinned) as f:
            after = f.read().splitlines()
        changed = [(a, b) for a, b in zip(before, after) if a != b]
        tap.ok(rc == 0 and len(before) == len(after) and len(changed) == 1
               and changed[0][1] == "  image: 'docker://%s'" % pin_ref,
               "pin-image: only runs.image changed, to docker://...@%s" % digest[:19],
               "rc=%s %s\n%r" % (rc, out, changed))
        m = re.search(r"^  image: '(docker://[^']+)'$", "\n".join(after), re.M)
        action_image = m.group(1) if m else ""
        pull_ref = action_image[len("docker://"):]

        # ---- remove the local image, pull into an empty store -------------------------------
        sh([engine, "rmi", "-f", tag_ref])
        gone = sh([engine, "image", "inspect", tag_ref])[0] != 0 and \
            sh([engine, "image", "inspect", pull_ref])[0] != 0
        tap.ok(gone, "local image removed")
        if engine == "podman":
            # podman refuses a runroot path longer than 50 characters: a short directory
            store = tempfile.mkdtemp(prefix="as-", dir="/tmp")
            run_engine = [engine, "--root", os.path.join(store, "root"),
                          "--runroot", os.path.join(store, "run")]
        else:  # docker: one daemon, one store; the rmi above emptied it of this image
            run_engine = [engine]
        t0 = time.time()
        rc, out = sh(run_engine + ["pull"] + regmod.pull_args(run_engine) + [pull_ref])
        pull_s = time.time() - t0
        tap.diag("pull of %s into an empty store: %.2f s" % (pull_ref, pull_s))
        if not tap.ok(rc == 0, "docker:// reference from the pinned action.yml pulls", tc.tail(out)):
            tap.bail("pull failed")
        pulled_id = sh(run_engine + ["image", "inspect", "--format", "{{.Id}}", pull_ref])[1].strip()
        tap.ok(pulled_id and pulled_id == built_id, "the pulled image is the one built (same image id)",
               "built %s, pulled %s" % (built_id, pulled_id))
        rc, out = sh(run_engine + ["run", "--rm", "--entrypoint", "/usr/local/bin/atom-safety",
                                   pull_ref, "--version"])
        tap.ok(rc == 0 and out.strip() == "atom-safety " + version,
               "atom-safety --version in the pulled image is %s, as its label" % version, out)

        # ---- run it as the runner runs a docker:// action ----------------------------------
        for preset in ("healthy", "bad-release"):
            services[preset] = tc.Service(preset)
        declared = tc.action_yml_section("inputs")
        declared_outputs = list(tc.action_yml_section("outputs"))

        def inputs(preset):
            d = dict(declared)
            d.update({"url": services[preset].url, "environment": "staging",
                      "username": "smoke_test", "password": tc.PASSWORD,
                      "endpoints": "GET /api/projects", "health-path": "/health",
                      "rollback": "false", "create-issue": "false"})
            return d

        def healthy_extra(r):
            missing = [o for o in declared_outputs if o not in r.outputs]
            return [(not missing, "every declared output written", "missing: %s" % missing),
                    ("staging" in r.summary and "GET /api/projects" in r.summary,
                     "summary names the environment and the endpoint", r.summary[:400])]

        def bad_extra(r):
            fc = r.outputs.get("failed-checks", "")
            names = [x.strip() for x in fc.split(",") if x.strip()]
            return [(bool(names), "failed-checks non-empty", "failed-checks=%r" % fc),
                    (all(n in r.summary for n in names), "every failed check is in the summary",
                     "failed-checks=%r\n%s" % (fc, r.summary[:600])),
                    (r.outputs.get("rolled-back") == "false", "rolled-back=false (rollback off)",
                     "rolled-back=%r" % r.outputs.get("rolled-back"))]

        run = tc.Runner(run_engine, tmp, image=pull_ref)
        t0 = time.time()
        r = run.as_runner(inputs("healthy"))
        tap.diag("first run after the pull: %.2f s (pull + run %.2f s)" % (time.time() - t0, pull_s + time.time() - t0))
        tc.check_run(tap, "pinned image, runner, healthy", r, 0, "passed", healthy_extra)
        r = run.as_runner(inputs("bad-release"))
        tc.check_run(tap, "pinned image, runner, bad-release", r, 1, "failed", bad_extra)
    finally:
        for s in services.values():
            s.stop()
        if reg:
            reg.stop()
            tap.ok(reg.stopped(), "registry stopped")
        if store:
            sh([engine, "--root", os.path.join(store, "root"), "--runroot", os.path.join(store, "run"),
                "rmi", "-a", "-f"])
            shutil.rmtree(store, ignore_errors=True)
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
        tc.TAP.ok(False, "test harness error: %s: %s" % (type(e).__name__, e), traceback.format_exc())
        tc.TAP.finish()
