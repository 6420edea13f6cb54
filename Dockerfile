# atom-safety-action container image.
#
# Two uses, one file:
#   - `main` (and forks) keep `runs.image: Dockerfile` in action.yml: the runner builds this file in
#     every job (`docker build -f Dockerfile .`, the action directory as context, no build args);
#   - a release (.github/workflows/release.yml) builds it once for linux/amd64 and linux/arm64,
#     pushes it to ghcr.io and pins the released action.yml to its digest.
#
# The runtime image is not a distribution: it is `scratch` plus exactly the files the gate runs
# with, all taken from the build stage (Debian 12 packages):
#   - /usr/local/bin/atom-safety (stripped) and /entrypoint.sh;
#   - bash (entrypoint.sh needs it: dash drops the runner's hyphenated INPUT_ names), also as
#     /bin/sh for anyone debugging with `--entrypoint sh`;
#   - every shared object the two executables load, found by asking the dynamic loader
#     (`ld.so --list`) in the build stage, with the loader itself and the soname symlinks;
#   - the CA bundle (/etc/ssl/certs/ca-certificates.crt, libcurl's default CAfile on Debian);
#   - minimal /etc/passwd, /etc/group, /etc/nsswitch.conf, /etc/hosts (localhost) and an empty
#     /etc/resolv.conf for the engine to mount over, /tmp (1777), and the Debian copyright file of
#     every package a file was taken from.
# Measured against a debian:bookworm-slim runtime stage in bench/RESULTS.md ("Container image").
#
# No USER and no WORKDIR on purpose: the runner passes --workdir /github/workspace and the
# workspace belongs to the runner's user; see GitHub's "Dockerfile support for GitHub Actions".

# ---- build stage ------------------------------------------------------------------------
FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        gcc libc6-dev meson ninja-build pkg-config \
        libcurl4-openssl-dev libjson-c-dev libgit2-dev libyaml-dev libssl-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Only what the build needs (see .dockerignore).  `meson_option[s].txt` is a glob so the
# COPY still works if the file does not exist.
COPY meson.build meson_option[s].txt /src/
COPY src/ /src/src/
RUN meson setup --buildtype=release -Dtests=false --prefix=/usr/local /build /src \
 && meson compile -C /build \
 && meson install -C /build --strip --destdir /out \
 && install -D -m 0755 /out/usr/local/bin/atom-safety /rootfs/usr/local/bin/atom-safety

# The entrypoint is staged here so its mode is right even when the checkout lost the x bit.
COPY entrypoint.sh /rootfs/entrypoint.sh

# Collect the runtime file system.  copy_path copies one path into /rootfs exactly as it is here:
# each symlink on the way (merged /usr: /lib -> usr/lib, soname -> versioned file) stays a
# symlink, the file at the end is copied once.  `ld.so --list` prints what the loader really maps
# for an executable (DT_NEEDED, recursively), with the loader's own path; no library is named by
# hand, so a new dependency or another architecture needs no edit here.
RUN set -eu; \
    chmod 0755 /rootfs/entrypoint.sh; \
    copy_path() { \
        p=$1; \
        while :; do \
            d=$(dirname "$p"); \
            mkdir -p "/rootfs$d"; \
            [ -e "/rootfs$p" ] || [ -L "/rootfs$p" ] || cp -a "$p" "/rootfs$p"; \
            [ -L "$p" ] || break; \
            t=$(readlink "$p"); \
            case $t in /*) p=$t ;; *) p=$d/$t ;; esac; \
        done; \
    }; \
    for l in /bin /sbin /lib /lib32 /lib64 /libx32; do \
        if [ -L "$l" ]; then cp -a "$l" "/rootfs$l"; mkdir -p "/rootfs/$(readlink "$l")"; fi; \
    done; \
    interp=$(for f in /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.*; do [ -e "$f" ] && echo "$f" && break; done); \
    copy_path "$interp"; \
    for exe in /rootfs/usr/local/bin/atom-safety /usr/bin/bash; do \
        "$interp" --list "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' \
            > /tmp/libs; \
        while read -r so; do copy_path "$so"; done < /tmp/libs; \
        cat /tmp/libs >> /tmp/all-libs; \
    done; \
    copy_path /usr/bin/bash; \
    ln -s bash /rootfs/usr/bin/sh; \
    mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/usr/share/doc; \
    chmod 1777 /rootfs/tmp; \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
    printf 'root:x:0:0:root:/root:/bin/bash\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\n' > /rootfs/etc/group; \
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' > /rootfs/etc/hosts; \
    : > /rootfs/etc/resolv.conf; \
    echo ca-certificates > /tmp/pkgs; \
    for f in /usr/bin/bash $(sort -u /tmp/all-libs); do \
        r=$(readlink -f "$f"); \
        owner=$(dpkg -S "$r" 2>/dev/null || dpkg -S "${r#/usr}" 2>/dev/null || dpkg -S "$f" 2>/dev/null) \
            || { echo "no package owns $f" >&2; exit 1; }; \
        echo "${owner%%:*}" >> /tmp/pkgs; \
    done; \
    sort -u -o /tmp/pkgs /tmp/pkgs; \
    while read -r pkg; do \
        mkdir -p "/rootfs/usr/share/doc/$pkg"; \
        cp "/usr/share/doc/$pkg/copyright" "/rootfs/usr/share/doc/$pkg/"; \
    done < /tmp/pkgs; \
    /rootfs/usr/local/bin/atom-safety --version

# ---- runtime stage ----------------------------------------------------------------------
FROM scratch
ARG VERSION=unreleased
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="atom-safety-action" \
      org.opencontainers.image.description="Post-deploy gate for Kubernetes: smoke checks, Prometheus metrics, rollback" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
ENTRYPOINT ["/entrypoint.sh"]
