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

# shellcheck source=tests/lib/debcache.sh
. "$(dirname "$0")/debcache.sh"
die() { fail "$@"; }
deb_into_cache docker-registry "$dest" usr/bin/docker-registry "registry"
echo "$bin"
