# SPDX-License-Identifier: MIT
"""A real image registry for tests and the bench: Debian's docker-registry (the CNCF Distribution
registry 2.8), unpacked by tests/lib/get-registry.sh, run as a plain process with our own config
on 127.0.0.1 at a free port, its storage in a temporary directory; stopped by its pid.

    with Registry(tmpdir) as reg:
        reg.host                       # "127.0.0.1:PORT"
        reg.manifest("demo/x", "1.0")  # (digest, manifest dict) as the registry serves them

Also: push() with podman or docker, and the pushed (compressed) size of an image."""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def registry_binary():
    p = subprocess.run([os.path.join(REPO, "tests", "lib", "get-registry.sh")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        raise RuntimeError("docker-registry not available: " + p.stderr.strip()[-500:])
    return p.stdout.strip().splitlines()[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, workdir, binary=None):
        self.binary = binary or registry_binary()
        self.dir = os.path.join(workdir, "registry")
        os.makedirs(os.path.join(self.dir, "storage"), exist_ok=True)
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            # JSON is YAML; the same keys as the package's /etc/docker/registry/config.yml, but
            # our address and storage, and no debug server
            json.dump({
                "version": 0.1,
                "log": {"level": "warn", "accesslog": {"disabled": True}},
                "storage": {"filesystem": {"rootdirectory": os.path.join(self.dir, "storage")},
                            "delete": {"enabled": True}},
                "http": {"addr": self.host},
            }, f)
        self.log = open(os.path.join(self.dir, "registry.log"), "w+")
        self.proc = None

    def start(self, timeout=20):
        self.proc = subprocess.Popen([self.binary, "serve", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen("http://%s/v2/" % self.host, timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        self.log.seek(0)
        raise RuntimeError("registry did not answer on %s: %s" % (self.host, self.log.read()[-1000:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()

    def stopped(self):
        return self.proc is None or self.proc.poll() is not None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def manifest(self, name, reference):
        """(Docker-Content-Digest, parsed manifest) for name:reference (a tag or a digest)."""
        req = urllib.request.Request("http://%s/v2/%s/manifests/%s" % (self.host, name, reference),
                                     headers={"Accept": MANIFEST_TYPES})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers.get("Docker-Content-Digest"), json.loads(r.read())

    def pushed_size(self, name, reference):
        """Bytes a pull transfers for one platform: manifest config + compressed layers."""
        _, m = self.manifest(name, reference)
        if "manifests" in m:  # an index: take the first image manifest
            m = self.manifest(name, m["manifests"][0]["digest"])[1]
        return m["config"]["size"] + sum(l["size"] for l in m["layers"]), len(m["layers"])


def push(engine, ref, digestfile):
    """Push ref to the registry over plain http; returns (ok, output, digest)."""
    cmd = list(engine) + ["push"]
    if os.path.basename(engine[0]) == "podman":
        cmd += ["--tls-verify=false", "--digestfile", digestfile]
    cmd.append(ref)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    digest = None
    if os.path.exists(digestfile):
        with open(digestfile) as f:
            digest = f.read().strip()
    else:  # docker prints "<tag>: digest: sha256:... size: N"
        for line in p.stdout.splitlines():
            if "digest: sha256:" in line:
                digest = line.split("digest: ", 1)[1].split()[0]
    return p.returncode == 0, p.stdout, digest


def pull_args(engine):
    return ["--tls-verify=false"] if os.path.basename(engine[0]) == "podman" else []
