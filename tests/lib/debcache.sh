# SPDX-License-Identifier: MIT
# Sourced by tests/lib/get-*.sh: one Debian package unpacked into a cache directory, never
# installed. The caller defines two functions first:
#   usable FILE    true when FILE is the program it wants
#   die MESSAGE    prints MESSAGE and exits (get-kubectl skips with 77, get-registry fails with 1)

# deb_into_cache PACKAGE DEST REL WHAT: `apt-get download` PACKAGE (running `apt-get update` once
# as root when the lists are missing), `dpkg-deb -x` it, and put the tree at DEST once DEST/REL is
# usable. WHAT names the program in messages. Concurrent runs: whoever renames first wins, the
# others use its copy.
deb_into_cache() {
	local pkg=$1 dest=$2 rel=$3 what=$4 root work deb f
	root=$(dirname "$dest")

	command -v apt-get >/dev/null 2>&1 || die "apt-get not found (not a Debian system)"
	command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found"
	mkdir -p "$root" || die "cannot create $root"
	work=$(mktemp -d "$dest.tmp.XXXXXX") || die "cannot create a temporary directory in $root"
	# shellcheck disable=SC2064 # the path is fixed now
	trap "rm -rf '$work'" EXIT
	chmod 755 "$work" # let apt's _apt user write there (else a warning)

	# apt-get download writes into the current directory; as root it warns that the download is
	# unsandboxed, which is harmless (stderr only)
	if ! (cd "$work" && apt-get download -q "$pkg") >&2; then
		# a fresh machine may have no package lists yet; only root can fetch them
		if [ "$(id -u)" = 0 ]; then
			echo "apt-get download $pkg failed; running apt-get update once" >&2
			apt-get -o DPkg::Lock::Timeout=300 update -q >&2 || die "apt-get update failed"
			(cd "$work" && apt-get download -q "$pkg") >&2 || die "apt-get download $pkg failed"
		else
			die "apt-get download $pkg failed (not root, cannot apt-get update)"
		fi
	fi

	deb=
	for f in "$work/${pkg}_"*.deb; do
		[ -f "$f" ] && deb=$f && break
	done
	[ -n "$deb" ] || die "apt-get download produced no $pkg .deb"
	dpkg-deb -x "$deb" "$work/root" >&2 || die "dpkg-deb -x $deb failed"
	usable "$work/root/$rel" || die "$(basename "$deb") does not hold a working $what"

	rm -rf "$dest.old"
	if [ -e "$dest" ]; then
		mv "$dest" "$dest.old" 2>/dev/null || true
	fi
	if ! mv "$work/root" "$dest" 2>/dev/null; then
		usable "$dest/$rel" || die "cannot move $what into $dest"
	fi
	rm -rf "$dest.old"
	usable "$dest/$rel" || die "$what in $dest does not run"
}
