// The layer rule, checked on the sources: outside src/core, code reaches the core only through
// src/core/index.ts and another area only through that area's index.ts; an area's index.ts only
// re-exports; the core imports no other area; no two areas import each other (directly or
// through others).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const src = resolve("src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** "core", "sync"… for a file under src/<area>/, "(root)" for src/index.ts. */
function areaOf(path: string): string {
  const parts = relative(src, path).split(sep);
  return parts.length > 1 ? parts[0]! : "(root)";
}

interface Import {
  readonly file: string;
  readonly specifier: string;
  readonly target: string;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const out: Import[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)"(\.{1,2}\/[^"]+)"/g)) {
    const specifier = m[1]!;
    out.push({ file: relative(src, file), specifier, target: resolve(dirname(file), specifier.replace(/\.js$/, ".ts")) });
  }
  return out;
}

const files = sourceFiles(src);
const imports = files.flatMap(importsOf);

test("the layer scan sees the sources", () => {
  assert.ok(files.length > 20, `found only ${files.length} files under ${src}`);
  assert.ok(imports.length > 50);
});

test("outside src/core, the core and other areas are imported only through their index.ts", () => {
  const bad: string[] = [];
  for (const imp of imports) {
    const from = areaOf(resolve(src, imp.file));
    const to = areaOf(imp.target);
    if (from === to || to === "(root)") continue;
    const targetFile = relative(src, imp.target).split(sep);
    if (targetFile.length !== 2 || targetFile[1] !== "index.ts") bad.push(`${imp.file} imports "${imp.specifier}"`);
  }
  assert.deepEqual(bad, [], `import ${"<area>"}/index.js instead (the layer rule):\n${bad.join("\n")}`);
});

test("src/<area>/index.ts only re-exports", () => {
  const bad: string[] = [];
  for (const file of files) {
    if (areaOf(file) === "(root)" || !file.endsWith(`${sep}index.ts`)) continue;
    const code = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    // Statements are split on ";" — what remains must be `export … from "…"` or `export type … from "…"`.
    for (const statement of code.split(";").map((s) => s.trim()).filter((s) => s !== "")) {
      if (!/^export\s+(type\s+)?(\*|\{[\s\S]*\})(\s+as\s+\w+)?\s+from\s+"[^"]+"$/.test(statement)) {
        bad.push(`${relative(src, file)}: ${statement.split("\n")[0]}`);
      }
    }
  }
  assert.deepEqual(bad, [], `an index.ts declares something; move it to a file named for it:\n${bad.join("\n")}`);
});

test("the core imports no other area, and no two areas depend on each other", () => {
  const graph = new Map<string, Set<string>>();
  for (const imp of imports) {
    const from = areaOf(resolve(src, imp.file));
    const to = areaOf(imp.target);
    if (from === to) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  assert.deepEqual([...(graph.get("core") ?? [])], [], "src/core imports another area");
  // Depth-first search for a cycle between areas.
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (area: string, path: string[]): void => {
    if (state.get(area) === "done") return;
    if (state.get(area) === "open") {
      cycles.push([...path.slice(path.indexOf(area)), area].join(" -> "));
      return;
    }
    state.set(area, "open");
    for (const next of graph.get(area) ?? []) visit(next, [...path, area]);
    state.set(area, "done");
  };
  for (const area of graph.keys()) visit(area, []);
  assert.deepEqual(cycles, [], "areas import each other in a cycle");
});
