// SPDX-License-Identifier: MIT
// Validate GitHub Actions workflow files with GitHub's own workflow parser and schema
// (@actions/workflow-parser, the library behind GitHub's Actions language services; its
// workflow-v1.0.json knows every current key, including the `attestations` permission that
// @action-validator/cli 0.6.0's bundled SchemaStore copy lacks).
//   node tests/lib/validate-workflow.mjs PARSER_DIR FILE...
// PARSER_DIR is an npm prefix holding node_modules/@actions/workflow-parser. Prints "valid: F" or
// "INVALID: F" plus one line per error; exit 0 only when every file is valid.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, ...files] = process.argv.slice(2);
if (!dir || files.length === 0) {
  console.error("usage: validate-workflow.mjs PARSER_DIR FILE...");
  process.exit(2);
}
const parser = await import(
  pathToFileURL(join(dir, "node_modules/@actions/workflow-parser/dist/index.js")).href
);

let bad = 0;
for (const file of files) {
  const content = readFileSync(file, "utf8");
  const result = parser.parseWorkflow({ name: file, content }, new parser.NoOperationTraceWriter());
  let errors = result.context.errors.getErrors().map((e) => e.message);
  if (errors.length === 0 && result.value !== undefined) {
    // the conversion to the workflow model reports what the schema alone cannot (job needs,
    // matrix, concurrency, ...)
    await parser.convertWorkflowTemplate(result.context, result.value);
    errors = result.context.errors.getErrors().map((e) => e.message);
  }
  if (result.value === undefined && errors.length === 0) {
    errors = ["not a workflow"];
  }
  if (errors.length) {
    bad++;
    console.log(`INVALID: ${file}`);
    for (const e of errors) console.log(`  ${e}`);
  } else {
    console.log(`valid: ${file}`);
  }
}
process.exit(bad ? 1 : 0);
