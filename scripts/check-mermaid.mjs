// Parses every *.mmd file of a folder with mermaid.parse(), in a jsdom window (Mermaid
// sanitises labels with DOMPurify, which needs a DOM). Run from the folder holding
// node_modules, by scripts/check-mermaid: `node check-mermaid.mjs DIR`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.cwd(), "package.json"));
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "Node", "DOMParser", "XMLSerializer"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}

const { default: mermaid } = await import(require.resolve("mermaid"));
mermaid.initialize({ startOnLoad: false });

const dir = process.argv[2];
const files = readdirSync(dir).filter((f) => f.endsWith(".mmd")).sort();
let failed = 0;
for (const file of files) {
  const text = readFileSync(join(dir, file), "utf8");
  try {
    const result = await mermaid.parse(text);
    if (!result || result.diagramType !== "flowchart-v2") {
      throw new Error(`parsed as ${result && result.diagramType}, not a flowchart`);
    }
    console.log(`pass  ${file} (${text.length} characters)`);
  } catch (e) {
    failed += 1;
    console.log(`fail  ${file}: ${String(e && e.message ? e.message : e).split("\n").join("\n      ")}`);
  }
}
console.log(`${files.length - failed} of ${files.length} diagrams parse`);
if (files.length === 0 || failed > 0) process.exit(1);
