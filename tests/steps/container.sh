#!/bin/bash
# The container test: debootstrap base image, our Dockerfile built unchanged with podman, the image
# run as the GitHub runner and as act run it. Skipped, with the reason, when no engine can run here
# or when ATOM_SKIP_CONTAINER=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "${ATOM_SKIP_CONTAINER:-0}" = 1 ]; then
	echo "SKIP: ATOM_SKIP_CONTAINER=1"
	exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
python3 tests/container/test-container.py | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ] && grep -q '^1\.\.0 # SKIP' "$out"; then
	exit 77
fi
exit "$rc"
