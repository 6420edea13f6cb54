#!/bin/bash
# Make `debian:bookworm-slim` without a registry (CI has no Docker Hub; only Debian's
# mirror).  Measured here: debootstrap 35-78 s, the trimmed rootfs 81 MB; without the
# docker-clean apt config below, every .deb an image build installs stays in its layers.
#
#   1. nothing to do if the engine already has debian:bookworm-slim;
#   2. else import the cached rootfs tarball if there is one;
#   3. else debootstrap --variant=minbase from the Debian mirror the host's apt uses,
#      slim it down like the official image (dpkg path-excludes, docker-clean apt config),
#      cache the tarball, import it.
#
# Environment:
#   ATOM_CONTAINER_ENGINE   podman (default if installed) or docker
#   ATOM_CACHE              cache directory (default ~/.cache/atom-safety)
#   ATOM_DEBIAN_MIRROR      override the mirror (default: read from /etc/apt/sources*)
#   ATOM_DEBIAN_SECURITY    override the security mirror (default: read likewise)
#   ATOM_BASE_REBUILD=1     ignore the cached tarball and the existing image
set -euo pipefail

IMAGE=debian:bookworm-slim
FULL=docker.io/library/debian:bookworm-slim
SUITE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

engine=${ATOM_CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
    if command -v podman >/dev/null 2>&1; then engine=podman; else engine=docker; fi
fi
command -v "$engine" >/dev/null 2>&1 || die "container engine '$engine' not found"

image_exists() {
    if [[ $engine == podman ]]; then podman image exists "$1"
    else docker image inspect "$1" >/dev/null 2>&1; fi
}

tag_both() {
    # podman stores an import as localhost/debian:bookworm-slim; docker as docker.io/library/…
    image_exists "$FULL" || "$engine" tag "$IMAGE" "$FULL"
    image_exists "$IMAGE" || "$engine" tag "$FULL" "$IMAGE"
}

if [[ ${ATOM_BASE_REBUILD:-} != 1 ]] && { image_exists "$IMAGE" || image_exists "$FULL"; }; then
    tag_both
    log "$IMAGE already present in $engine; nothing to do"
    exit 0
fi

cache=${ATOM_CACHE:-${HOME:-/root}/.cache/atom-safety}
tarball=$cache/debian-$SUITE-slim-$(dpkg --print-architecture 2>/dev/null || uname -m).tar
mkdir -p "$cache"

# ---- mirror: the one the host's apt is configured with ------------------------------------
# Prints "URI SUITE..." for every enabled deb entry in one-line and deb822 sources.
host_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" { $1 = ""; print }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk '
            function flush() { if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/ && uris != "")
                                   { n = split(uris, u, " "); for (i = 1; i <= n; i++) print u[i], suites }
                               types = ""; uris = ""; suites = ""; enabled = "" }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
              if (key == "types") types = $0; else if (key == "uris") uris = $0
              else if (key == "suites") suites = $0; else if (key == "enabled") enabled = tolower($0) }
            END { flush() }' "$f"
    done
}

pick_mirror() {  # $1 = suite wanted; prints the first URI carrying it (http/https/file only)
    host_sources | awk -v s="$1" '{ for (i = 2; i <= NF; i++) if ($i == s && $1 ~ /^(https?|file):/) { print $1; exit } }'
}

mirror=${ATOM_DEBIAN_MIRROR:-$(pick_mirror "$SUITE" || true)}
security=${ATOM_DEBIAN_SECURITY:-$(pick_mirror "$SUITE-security" || true)}
if [[ -z $mirror ]]; then
    mirror=http://deb.debian.org/debian
    log "no $SUITE entry in the host's apt sources; using $mirror"
fi
if [[ -z $security ]]; then
    # the same host usually serves both (deb.debian.org/debian -> …/debian-security)
    security=${mirror%/debian}/debian-security
    [[ $security == "$mirror/debian-security" ]] && security=http://deb.debian.org/debian-security
fi
mirror=${mirror%/}
security=${security%/}

# ---- build the rootfs tarball (cached) --------------------------------------------------
build_rootfs() {
    [[ $EUID -eq 0 ]] || die "debootstrap needs root (or put a tarball at $tarball)"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap not installed (apt-get install --no-install-recommends debootstrap)"
    [[ -f $KEYRING ]] || die "$KEYRING missing (apt-get install debian-archive-keyring); refusing to bootstrap unverified"

    local work R t0
    work=$(mktemp -d "$cache/rootfs.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    R=$work/root
    t0=$SECONDS
    log "debootstrap --variant=minbase $SUITE from $mirror"
    debootstrap --variant=minbase --keyring="$KEYRING" "$SUITE" "$R" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        die "debootstrap failed"
    }
    log "debootstrap took $((SECONDS - t0)) s"

    # apt sources: bookworm, -updates, -security from the host's mirrors, deb822 only
    rm -f "$R/etc/apt/sources.list"
    cat >"$R/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

    # dpkg: never unpack docs, man pages, info, locales (like the official -slim image)
    cat >"$R/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    # apt: docker-clean (no .debs or pkgcache left in image layers), no translations,
    # accept snapshot mirrors whose Release files have expired
    cat >"$R/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$R/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::Check-Valid-Until "false";' >"$R/etc/apt/apt.conf.d/docker-check-valid-until"
    echo 'APT::AutoRemove::SuggestsImportant "false";' >"$R/etc/apt/apt.conf.d/docker-autoremove-suggests"
    # don't start services from maintainer scripts inside image builds
    printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
    chmod 755 "$R/usr/sbin/policy-rc.d"

    # trim what debootstrap already unpacked
    rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
           "$R"/var/cache/apt/archives/partial/* "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old \
           "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/usr/share/groff/* "$R"/usr/share/lintian/* \
           "$R"/usr/share/linda/* "$R"/usr/share/locale/* "$R"/tmp/* "$R"/var/tmp/* "$R"/debootstrap
    find "$R/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$R/usr/share/doc" -mindepth 1 -type d -empty -delete
    find "$R/var/log" -type f -delete
    : >"$R/etc/resolv.conf"
    : >"$R/etc/hostname"
    : >"$R/etc/machine-id"

    log "rootfs $(du -sh "$R" | cut -f1) after trimming"
    tar --numeric-owner --xattrs -C "$R" -cf "$work/rootfs.tar" .
    mv -f "$work/rootfs.tar" "$tarball"
    rm -rf "$work"
    trap - EXIT
}

t_start=$SECONDS
if [[ ${ATOM_BASE_REBUILD:-} == 1 || ! -s $tarball ]]; then
    build_rootfs
else
    log "using cached $tarball"
fi

q=(); [[ $engine == podman ]] && q=(--quiet)
"$engine" import "${q[@]}" --change 'CMD ["bash"]' "$tarball" "$IMAGE" >/dev/null
tag_both
log "$IMAGE imported into $engine in $((SECONDS - t_start)) s ($(du -h "$tarball" | cut -f1) tarball)"
