#!/bin/bash
# Idempotent host setup for podman on a CI-like machine (Debian 12, root, no systemd,
# cgroup v1 + empty v2 "hybrid" hierarchy); the reasons for each setting are below.
#
#   - installs podman and runc (never crun's defaults, never recommends) if missing;
#   - makes sure containers.conf selects runc + cgroupfs + the file events logger and
#     sets default ulimits podman is allowed to apply here.
#
# Why: crun fails on hybrid cgroups ("cgroups in hybrid mode not supported"); podman
# asks for nofile=1048576 by default, which a process without CAP_SYS_RESOURCE and a
# lower hard limit cannot set ("error setting rlimit type 7"), and nproc above conmon's
# 32768 gives "rlimit type 6".
#
# The config file is only rewritten when a setting is missing or unusable; other
# settings in it are left alone.  Safe to run any number of times.
#
# Environment:
#   CONTAINERS_CONF_FILE  file to manage (default: /etc/containers/containers.conf as root,
#                         ${XDG_CONFIG_HOME:-~/.config}/containers/containers.conf otherwise)
#   ATOM_NO_APT=1         never call apt-get (just report what is missing)
set -euo pipefail

log() { printf 'setup-podman: %s\n' "$*" >&2; }

if [[ $EUID -eq 0 ]]; then
    conf=${CONTAINERS_CONF_FILE:-/etc/containers/containers.conf}
else
    conf=${CONTAINERS_CONF_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/containers/containers.conf}
fi

# ---- packages ---------------------------------------------------------------------------
missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || [[ -x /usr/sbin/runc ]] || missing+=(runc)
if ((${#missing[@]})); then
    if [[ $EUID -ne 0 || ${ATOM_NO_APT:-} == 1 ]] || ! command -v apt-get >/dev/null 2>&1; then
        log "missing: ${missing[*]} (not installing: need root and apt-get)"
        exit 1
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # other jobs may hold the dpkg lock: wait instead of failing
    apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >&2 ||
        { apt-get -o DPkg::Lock::Timeout=300 update >&2 &&
          apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >&2; }
fi

# ---- containers.conf ----------------------------------------------------------------------
hard_nofile=$(ulimit -Hn)
[[ $hard_nofile == unlimited ]] && hard_nofile=1048576
mkdir -p "$(dirname "$conf")"

python3 - "$conf" "$hard_nofile" <<'PY'
import os, re, sys, tempfile

path, hard_nofile = sys.argv[1], int(sys.argv[2])
NPROC = 32768  # conmon's own limit

want = {
    "containers": {
        "default_ulimits": '["nofile=%d:%d", "nproc=%d:%d"]' % (hard_nofile, hard_nofile, NPROC, NPROC),
    },
    "engine": {
        "runtime": '"runc"',
        "cgroup_manager": '"cgroupfs"',
        "events_logger": '"file"',
    },
}

def acceptable(section, key, value):
    """Is an existing value good enough?  (A smaller ulimit than ours is fine.)"""
    v = value.strip()
    if key != "default_ulimits":
        return v == want[section][key]
    limits = dict(re.findall(r'"(\w+)=([^"]*)"', v))
    def ok(name, cap):
        if name not in limits:
            return False
        parts = limits[name].split(":")
        try:
            return all(0 < int(p) <= cap for p in parts)
        except ValueError:
            return False
    return ok("nofile", hard_nofile) and ok("nproc", NPROC)

try:
    with open(path) as f:
        lines = f.read().splitlines()
except FileNotFoundError:
    lines = []

# Locate sections and keys (top-level tables only; keys may not span lines except
# arrays, which we handle by consuming until the closing bracket).
section = None
found = {}          # (section, key) -> (start, end, value)
headers = {}        # section -> line index of "[section]"
i = 0
while i < len(lines):
    s = lines[i].strip()
    m = re.match(r"^\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$", s)
    if m:
        section = m.group(1)
        headers.setdefault(section, i)
        i += 1
        continue
    m = re.match(r"^([A-Za-z0-9_]+)\s*=\s*(.*)$", s)
    if m and section in want:
        key, value, start = m.group(1), m.group(2), i
        if value.startswith("[") and value.count("[") > value.count("]"):
            while i + 1 < len(lines) and value.count("[") > value.count("]"):
                i += 1
                value += " " + lines[i].strip()
        found[(section, m.group(1))] = (start, i, value)
    i += 1

edits = []  # (start, end, replacement lines) ; end exclusive
appends = {}  # section -> lines to insert after header
changed = []
for sec, keys in want.items():
    for key, value in keys.items():
        have = found.get((sec, key))
        if have and acceptable(sec, key, have[2]):
            continue
        line = "%s = %s" % (key, value)
        changed.append("[%s] %s" % (sec, line))
        if have:
            edits.append((have[0], have[1] + 1, [line]))
        else:
            appends.setdefault(sec, []).append(line)

if not changed:
    print("setup-podman: %s already configured" % path, file=sys.stderr)
    sys.exit(0)

for start, end, repl in sorted(edits, reverse=True):
    lines[start:end] = repl
# recompute header positions after edits (edits replace ranges, never headers)
headers = {}
for idx, l in enumerate(lines):
    m = re.match(r"^\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$", l.strip())
    if m:
        headers.setdefault(m.group(1), idx)
for sec in sorted(appends, key=lambda s: -headers.get(s, -1)):
    if sec in headers:
        pos = headers[sec] + 1
        lines[pos:pos] = appends[sec]
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append("[%s]" % sec)
        lines.extend(appends[sec])

if os.path.exists(path):
    backup = path + ".orig"
    if not os.path.exists(backup):
        with open(path) as src, open(backup, "w") as dst:
            dst.write(src.read())
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".containers.conf.")
with os.fdopen(fd, "w") as f:
    f.write("\n".join(lines) + "\n")
os.chmod(tmp, 0o644)
os.replace(tmp, path)
for c in changed:
    print("setup-podman: %s: set %s" % (path, c), file=sys.stderr)
PY

# podman keeps engine state; a changed runtime needs no migration for new containers.
exit 0
