#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TAP: .github/release/pin-image, the one script that rewrites runs.image on a release.

Every refused reference must leave the file byte-for-byte as it was (exit 2); every accepted one
must change exactly the runs.image line of a copy of the real action.yml, and nothing in other
shapes of action.yml files (CRLF, comments, quoting, an `image:` key elsewhere)."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile

ROOT = os.environ.get("ATOM_SAFETY_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PIN = os.path.join(ROOT, ".github", "release", "pin-image")
HEX = "0123456789abcdef" * 4
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


def pin(ref, path):
    p = subprocess.run([sys.executable, PIN, ref, path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout + p.stderr


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    tmp = tempfile.mkdtemp(prefix="test-pin-image.")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


def run(tmp):
    action = os.path.join(ROOT, "action.yml")
    orig = read(action)
    copy = os.path.join(tmp, "action.yml")

    good = [
        "ghcr.io/org/atom-safety-action@sha256:" + HEX,
        "127.0.0.1:5000/demo-org/atom-safety-action@sha256:" + HEX,
        "localhost/atom@sha256:" + HEX,
        "atom-safety@sha256:" + HEX,
        "registry.example.com/a.b/c_d/e__f/g-h---i@sha256:" + HEX,
        "Registry-1.Example.com:443/org/x@sha256:" + HEX,
    ]
    for ref in good:
        write(copy, orig)
        rc, out = pin(ref, copy)
        after = read(copy)
        a, b = orig.decode().splitlines(True), after.decode().splitlines(True)
        diff = [(x, y) for x, y in zip(a, b) if x != y]
        ok(rc == 0 and len(a) == len(b) and len(diff) == 1
           and diff[0][1] == "  image: 'docker://%s'\n" % ref,
           "accepts %s; only runs.image changes" % ref, "rc=%s %s diff=%r" % (rc, out, diff))

    bad = [
        "", "ghcr.io/org/x", "ghcr.io/org/x:1.0.0", "ghcr.io/org/x:1.0.0@sha256:" + HEX,
        "docker://ghcr.io/org/x@sha256:" + HEX, "ghcr.io/org/x@sha256:" + HEX.upper(),
        "ghcr.io/org/x@sha256:" + HEX[:63], "ghcr.io/org/x@sha256:" + HEX + "0",
        "ghcr.io/org/x@sha512:" + HEX + HEX, "ghcr.io/Org/x@sha256:" + HEX,
        "ghcr.io/org/x@sha256:" + HEX + "\n", " ghcr.io/org/x@sha256:" + HEX,
        "ghcr.io/org/x@sha256:" + HEX + " # ok", "ghcr.io/org/../x@sha256:" + HEX,
        "ghcr.io//x@sha256:" + HEX, "-x@sha256:" + HEX, "ghcr.io/org/x@@sha256:" + HEX,
        "ghcr.io/org/x@sha256:" + HEX + "'\n  using: node20", "ghcr.io/org/x-@sha256:" + HEX,
        "ghcr.io/org/x@sha256:g" + HEX[1:], "ghcr.io/o rg/x@sha256:" + HEX,
        "a/" * 130 + "x@sha256:" + HEX,
    ]
    for ref in bad:
        write(copy, orig)
        rc, out = pin(ref, copy)
        ok(rc == 2 and read(copy) == orig and "pin-image:" in out,
           "refuses %r (exit 2, file untouched)" % ref[:80], "rc=%s %s" % (rc, out))

    ref = "ghcr.io/org/x@sha256:" + HEX
    # idempotent: pinning again to the same reference changes nothing
    write(copy, orig)
    pin(ref, copy)
    once = read(copy)
    rc, out = pin(ref, copy)
    ok(rc == 0 and read(copy) == once and "already" in out, "a second run is a no-op", out)
    # and re-pinning to another digest replaces the old one
    rc, out = pin("ghcr.io/org/x@sha256:" + "f" * 64, copy)
    ok(rc == 0 and b"sha256:" + b"f" * 64 in read(copy) and HEX.encode() not in read(copy),
       "re-pinning replaces the digest", out)

    # the file's mode survives the atomic replace
    write(copy, orig)
    os.chmod(copy, 0o640)
    pin(ref, copy)
    ok(stat.S_IMODE(os.stat(copy).st_mode) == 0o640, "file mode kept")

    shapes = [
        ("CRLF line endings kept",
         b"name: x\r\nruns:\r\n  using: docker\r\n  image: Dockerfile\r\n",
         b"name: x\r\nruns:\r\n  using: docker\r\n  image: 'docker://%s'\r\n"),
        ("double quotes and a trailing comment kept",
         b'runs:\n    using: "docker"\n    image: "Dockerfile"  # built by the runner\n',
         b'runs:\n    using: "docker"\n    image: "docker://%s"  # built by the runner\n'),
        ("no newline at the end of the file kept",
         b"runs:\n  image: Dockerfile\n  using: docker",
         b"runs:\n  image: 'docker://%s'\n  using: docker"),
        ("an image: key outside runs (an input, an env value) is left alone",
         b"inputs:\n  image:\n    default: x\nruns:\n  using: docker\n  env:\n    image: keep\n"
         b"  image: Dockerfile\n  args:\n    - image: keep\n",
         b"inputs:\n  image:\n    default: x\nruns:\n  using: docker\n  env:\n    image: keep\n"
         b"  image: 'docker://%s'\n  args:\n    - image: keep\n"),
    ]
    for name, before, want in shapes:
        write(copy, before)
        rc, out = pin(ref, copy)
        ok(rc == 0 and read(copy) == want % ref.encode(), name, "rc=%s %s\n%r" % (rc, out, read(copy)))

    refused_files = [
        ("a JavaScript action", b"runs:\n  using: node20\n  main: index.js\n"),
        ("no runs: block", b"name: x\n"),
        ("runs without image", b"runs:\n  using: docker\n"),
        ("two image lines", b"runs:\n  using: docker\n  image: a\n  image: b\n"),
        ("a block scalar image", b"runs:\n  using: docker\n  image: |\n    Dockerfile\n"),
    ]
    for name, before in refused_files:
        write(copy, before)
        rc, out = pin(ref, copy)
        ok(rc == 1 and read(copy) == before, "refuses %s (exit 1, file untouched)" % name,
           "rc=%s %s" % (rc, out))
    rc, out = pin(ref, os.path.join(tmp, "missing.yml"))
    ok(rc == 1 and "missing.yml" in out, "a missing file is exit 1 naming it", out)
    p = subprocess.run([sys.executable, PIN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ok(p.returncode == 2 and "usage" in p.stderr, "no arguments: usage, exit 2", p.stderr)
    # the default file is ./action.yml
    d = os.path.join(tmp, "cwd")
    os.mkdir(d)
    write(os.path.join(d, "action.yml"), orig)
    p = subprocess.run([sys.executable, PIN, ref], cwd=d, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    ok(p.returncode == 0 and b"docker://" + ref.encode() in read(os.path.join(d, "action.yml")),
       "ACTION_YML defaults to ./action.yml", p.stdout + p.stderr)
    ok(read(action) == orig, "the repository's action.yml was never touched")


if __name__ == "__main__":
    sys.exit(main())
