// SPDX-License-Identifier: MIT
// Node.js module loader hook: lets `import x from "./file.json"` work without an import
// attribute. @actions/workflow-parser imports its schema that way (it is normally bundled);
// Node 18 and 20 refuse it unbundled. Used only by tests/lib/validate-workflow.mjs.
import { readFile } from "node:fs/promises";

export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && url.endsWith(".json")) {
    return { format: "json", source: await readFile(new URL(url), "utf8"), shortCircuit: true };
  }
  return nextLoad(url, context);
}
