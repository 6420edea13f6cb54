# atom-safety-action container image.
#
# Built by the GitHub runner on every job (`docker build -f Dockerfile .` with the action
# directory as context), so the layer order favours the cache: package layers first, sources
# last.  Two stages: a throw-away build stage and a small runtime stage that only carries the
# shared libraries, CA certificates, the stripped binary and /entrypoint.sh.
#
# No USER and no WORKDIR on purpose: the runner passes --workdir /github/workspace and the
# workspace belongs to the runner's user; see GitHub's "Dockerfile support" docs.

# ---- build stage ------------------------------------------------------------------------
FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        gcc libc6-dev meson ninja-build pkg-config \
        libcurl4-openssl-dev libjson-c-dev libgit2-dev libyaml-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*

# Only what the build needs (see .dockerignore).  `meson_option[s].txt` is a glob so the
# COPY still works if the file does not exist.
COPY meson.build meson_option[s].txt /src/
COPY src/ /src/src/
RUN meson setup --buildtype=release -Dtests=false --prefix=/usr/local /build /src \
 && meson compile -C /build \
 && meson install -C /build --strip --destdir /out \
 && install -D -m 0755 /out/usr/local/bin/atom-safety /rootfs/usr/local/bin/atom-safety

# The entrypoint is staged here so its mode is right even when the checkout lost the x bit,
# and so the runtime stage gets the binary and the script in a single layer.
COPY entrypoint.sh /rootfs/entrypoint.sh
RUN chmod 0755 /rootfs/entrypoint.sh

# ---- runtime stage ----------------------------------------------------------------------
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libcurl4 libjson-c5 libgit2-1.5 libyaml-0-2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /rootfs/ /
ENTRYPOINT ["/entrypoint.sh"]
