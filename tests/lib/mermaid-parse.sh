#!/bin/bash
# Parses Mermaid diagrams with Mermaid itself (the npm package, dev-only, under jsdom: no browser).
# stdin: a JSON list of diagram texts; stdout: one line per diagram, "ok" or "error: <message>".
# The packages are cached under $ATOM_CACHE (npm fetches them from the registry the first time).
# Exit 77 (skip) when npm or the packages are not available.
set -euo pipefail

MERMAID=11.12.0
JSDOM=24.1.3
dir=${ATOM_CACHE:-${HOME:-/root}/.cache/atom-safety}/npm-mermaid-$MERMAID
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "node/npm not installed (.ci/install-deps installs them)"
	exit 77
fi
if [ ! -d "$dir/node_modules/mermaid" ] || [ ! -d "$dir/node_modules/jsdom" ]; then
	mkdir -p "$dir"
	if ! (cd "$dir" && npm install --no-audit --no-fund --silent "mermaid@$MERMAID" "jsdom@$JSDOM" >/dev/null 2>&1); then
		echo "npm install mermaid@$MERMAID jsdom@$JSDOM failed (offline?)"
		exit 77
	fi
fi
cat > "$dir/parse.mjs" <<'JS'
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
const diagrams = JSON.parse(readFileSync(0, 'utf8'));
for (const d of diagrams) {
	try {
		await mermaid.parse(d);
		console.log('ok');
	} catch (e) {
		console.log('error: ' + String(e && e.message ? e.message : e).split('\n').join(' '));
	}
}
JS
cd "$dir" && exec node parse.mjs
