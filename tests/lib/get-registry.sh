#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Print the path of the image registry binary the release test pushes to: Debian 12's
# docker-registry package (the CNCF Distribution registry, 2.8.x). We fetch the .deb with
# `apt-get download` and unpack it with `dpkg-deb -x` into a cache, never installing it:
# the package ships an init script and a systemd unit, and installing it starts a registry on
# :5000 for the whole machine; the test runs its own on 127.0.0.1 at a free port instead.
#
#   cache:   ${ATOM_CACHE:-$HOME/.cache/atom-safety}/docker-registry/usr/bin/docker-registry
#   stdout:  the path, one line; everything else goes to stderr
#   exit:    0 found or fetched; 1 when it cannot be obtained (a Debian machine always can)
#
# ATOM_REGISTRY_BIN=/path/to/registry skips the fetch.
set -u -o pipefail

cache_root="${ATOM_CACHE:-${HOME:-/root}/.cache/atom-safety}"
dest="$cache_root/docker-registry"
bin="$dest/usr/bin/docker-registry"

fail() {
	echo "get-registry: $*" >&2
	exit 1
}

usable() {
	[ -x "$1" ] && "$1" --version >/dev/null 2>&1
}

if [ -n "${ATOM_REGISTRY_BIN:-}" ]; then
	usable "$ATOM_REGISTRY_BIN" || fail "ATOM_REGISTRY_BIN=$ATOM_REGISTRY_BIN does not run"
	echo "$ATOM_REGISTRY_BIN"
	exit 0
fi
if usable "$bin"; then
	echo "$bin"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not a Debian system)"
command -v dpkg-deb >/dev/null 2>&1 || fail "dpkg-deb not found"
mkdir -p "$cache_root" || fail "cannot create $cache_root"
work=$(mktemp -d "$cache_root/docker-registry.tmp.XXXXXX") || fail "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # let apt's _apt user write there (else a warning)

download() {
	(cd "$work" && apt-get download -q docker-registry) >&2
}
if ! download; then
	if [ "$(id -u)" = 0 ]; then
		echo "get-registry: apt-get download failed; running apt-get update once" >&2
		apt-get -o DPkg::Lock::Timeout=300 update -q >&2 || fail "apt-get update failed"
		download || fail "apt-get download docker-registry failed"
	else
		fail "apt-get download docker-registry failed (not root, cannot apt-get update)"
	fi
fi
deb=
for f in "$work"/docker-registry_*.deb; do
	[ -f "$f" ] && deb=$f && break
done
[ -n "$deb" ] || fail "apt-get download produced no docker-registry .deb"
dpkg-deb -x "$deb" "$work/root" >&2 || fail "dpkg-deb -x $deb failed"
usable "$work/root/usr/bin/docker-registry" || fail "$(basename "$deb") does not hold a working registry"

rm -rf "$dest.old"
if [ -e "$dest" ]; then
	mv "$dest" "$dest.old" 2>/dev/null || true
fi
if ! mv "$work/root" "$dest" 2>/dev/null; then
	usable "$bin" || fail "cannot move the registry into $dest"
fi
rm -rf "$dest.old"
usable "$bin" || fail "the registry in $dest does not run"
echo "$bin"
