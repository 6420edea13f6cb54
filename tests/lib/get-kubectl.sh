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

command -v apt-get >/dev/null 2>&1 || skip "apt-get not found (not a Debian system)"
command -v dpkg-deb >/dev/null 2>&1 || skip "dpkg-deb not found"

mkdir -p "$cache_root" || skip "cannot create $cache_root"
work=$(mktemp -d "$cache_root/kubectl.tmp.XXXXXX") || skip "cannot create a temporary directory in $cache_root"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # let apt's _apt user write there (else a warning)

# apt-get download writes into the current directory; as root it warns that the
# download is unsandboxed, which is harmless (stderr only)
download() {
	(cd "$work" && apt-get download -q kubernetes-client) >&2
}

if ! download; then
	# a fresh machine may have no package lists yet; only root can fetch them
	if [ "$(id -u)" = 0 ]; then
		echo "get-kubectl: apt-get download failed; running apt-get update once" >&2
		apt-get update -q >&2 || skip "apt-get update failed"
		download || skip "apt-get download kubernetes-client failed"
	else
		skip "apt-get download kubernetes-client failed (not root, cannot apt-get update)"
	fi
fi

deb=
for f in "$work"/kubernetes-client_*.deb; do
	[ -f "$f" ] && deb=$f && break
done
[ -n "$deb" ] || skip "apt-get download produced no kubernetes-client .deb"
dpkg-deb -x "$deb" "$work/root" >&2 || skip "dpkg-deb -x $deb failed"
usable "$work/root/usr/bin/kubectl" ||
	skip "$(basename "$deb") does not hold a working kubectl 1.$want_minor"

# replace the cache atomically enough for concurrent test runs: whoever renames
# first wins, the others use its copy
rm -rf "$dest.old"
if [ -e "$dest" ]; then
	mv "$dest" "$dest.old" 2>/dev/null || true
fi
if ! mv "$work/root" "$dest" 2>/dev/null; then
	usable "$bin" || skip "cannot move kubectl into $dest"
fi
rm -rf "$dest.old"

usable "$bin" || skip "kubectl in $dest does not run"
echo "$bin"
