#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Print the path of a kubectl 1.20 binary, the test oracle for `rollout undo` and
# `rollout status`. Debian 12 ships kubectl 1.20.2 in kubernetes-client; we fetch the
# .deb with `apt-get download` and unpack it with `dpkg-deb -x` into a cache, never
# installing it (installing can clash with another package owning /usr/bin/kubectl).
#
#   cache:   ${ATOM_CACHE:-$HOME/.cache/atom-safety}/kubectl/usr/bin/kubectl
#   stdout:  the path, one line; everything else goes to stderr
#   exit:    0 found or fetched; 77 (automake/meson "skip") when it cannot be obtained
#
# ATOM_KUBECTL=/path/to/kubectl skips the fetch (the binary must report v1.20.x).
set -u -o pipefail

want_minor=20
cache_root="${ATOM_CACHE:-${HOME:-/root}/.cache/atom-safety}"
dest="$cache_root/kubectl"
bin="$dest/usr/bin/kubectl"

skip() {
	echo "get-kubectl: $*" >&2
	exit 77
}

# usable FILE: runs, and is a 1.<want_minor> client
usable() {
	local v
	[ -x "$1" ] || return 1
	v=$("$1" version --client --short 2>/dev/null) || return 1
	case "$v" in
	*"v1.$want_minor."*) return 0 ;;
	*) return 1 ;;
	esac
}

if [ -n "${ATOM_KUBECTL:-}" ]; then
	usable "$ATOM_KUBECTL" || skip "ATOM_KUBECTL=$ATOM_KUBECTL is not a working kubectl 1.$want_minor"
	echo "$ATOM_KUBECTL"
	exit 0
fi

if usable "$bin"; then
	echo "$bin"
	exit 0
fi

# shellcheck source=tests/lib/debcache.sh
. "$(dirname "$0")/debcache.sh"
die() { skip "$@"; }
deb_into_cache kubernetes-client "$dest" usr/bin/kubectl "kubectl 1.$want_minor"
echo "$bin"
