#!/bin/bash
# Validates action.yml, the workflows and the example workflow against the SchemaStore schemas with
# @action-validator/cli (a dev-only npm tool, cached under $ATOM_CACHE). A deliberately broken copy
# must be rejected, so the step cannot pass by validating nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=0.6.0
dir=${ATOM_CACHE:-${HOME:-/root}/.cache/atom-safety}/npm-action-validator-$VERSION
bin=$dir/node_modules/.bin/action-validator
if ! command -v npm >/dev/null; then
	echo "SKIP: npm is not installed (.ci/install-deps installs it)"
	exit 77
fi
if [ ! -x "$bin" ]; then
	mkdir -p "$dir"
	(cd "$dir" && npm install --no-audit --no-fund --silent "@action-validator/cli@$VERSION" >/dev/null)
fi
status=0
for f in action.yml .github/workflows/*.yml examples/*.yml; do
	if "$bin" "$f"; then
		echo "valid: $f"
	else
		echo "INVALID: $f"
		status=1
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s/color: 'green'/color: 'pink'/" action.yml >"$tmp/action.yml"
if "$bin" "$tmp/action.yml" >/dev/null 2>&1; then
	echo "the validator accepted a broken action.yml: it is not checking anything"
	status=1
fi
exit $status
