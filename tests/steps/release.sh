#!/bin/bash
# The release test: a real registry (Debian's docker-registry on 127.0.0.1), the image built with
# the release workflow's arguments, pushed, action.yml pinned to the pushed digest with
# .github/release/pin-image, the local image removed, the pinned reference pulled into an empty
# store and run as the runner runs a docker:// action (healthy and bad release). Skipped, with the
# reason, when no container engine can run here or when ATOM_SKIP_CONTAINER=1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
if [ "${ATOM_SKIP_CONTAINER:-0}" = 1 ]; then
	echo "SKIP: ATOM_SKIP_CONTAINER=1"
	exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
python3 tests/container/test-release.py | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ] && grep -q '^1\.\.0 # SKIP' "$out"; then
	exit 77
fi
exit "$rc"
