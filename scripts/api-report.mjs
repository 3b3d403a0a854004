#!/usr/bin/env node
// The API report: for every entry of package.json's "exports", the declarations a user of the
// published package can reach, extracted from the emitted .d.ts (dist/), written to
// api/<entry>.api.md. `npm test` runs it in check mode:
//
// - it fails when a reachable declaration carries an `@internal` member (internals belong on
//   engine objects, not in the published types), or when a public declaration names a type the
//   entry does not let the user reach that is itself internal;
// - it fails when the declarations differ from the committed report (an accidental public
//   change); accept a deliberate one with `npm run api:update`.
//
// What is reachable: each name the entry exports (following `export … from` and `export *`
// through the emitted files), plus every type those declarations name that is declared in the
// package's own files (so a public method returning `LockStatistics` shows it). Doc comments are
// left out of the report (editing a doc is no API change) but are checked for `@internal`.
//
// Usage: node scripts/api-report.mjs [--update]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const update = process.argv.includes("--update");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Top-level statements of a .d.ts, each with its leading doc comment. */
function statements(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  const out = [];
  let doc = [];
  let current = null;
  let depth = 0;
  let inDoc = false;
  let inComment = false;
  for (const line of lines) {
    if (current === null && depth === 0) {
      if (inDoc || line.startsWith("/**") || line.startsWith("/*")) {
        doc.push(line);
        inDoc = !line.includes("*/");
        continue;
      }
      if (line.trim() === "" || line.startsWith("//")) continue;
      current = { doc: doc.join("\n"), lines: [] };
      doc = [];
    }
    current.lines.push(line);
    // Count brackets in code only: not in comments (a doc may say "(held by") nor in strings.
    let code = line;
    if (inComment) {
      const end = code.indexOf("*/");
      if (end < 0) continue;
      code = code.slice(end + 2);
      inComment = false;
    }
    code = code.replace(/\/\*.*?\*\//g, "");
    const open = code.indexOf("/*");
    if (open >= 0) {
      code = code.slice(0, open);
      inComment = true;
    }
    for (const ch of code.replace(/\/\/.*$/, "").replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "")) {
      if (ch === "{" || ch === "(" || ch === "[") depth++;
      else if (ch === "}" || ch === ")" || ch === "]") depth--;
    }
    if (depth === 0 && !inComment && /[;}]\s*$/.test(code)) {
      current.text = current.lines.join("\n");
      out.push(current);
      current = null;
    }
  }
  return out;
}

const DECL = /^export\s+(?:declare\s+)?(?:abstract\s+)?(class|interface|type|function|const|let|enum|namespace)\s+([A-Za-z_$][\w$]*)/;
const REEXPORT = /^export\s+(type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)";/s;
const STAR = /^export\s+\*\s+from\s+"([^"]+)";/;
const IMPORT = /^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)";/s;

const cache = new Map();
function parse(file) {
  if (!cache.has(file)) {
    const decls = new Map(); // local name -> statements
    const reexports = []; // { exported, local, from }
    const stars = [];
    const imports = new Map(); // local name -> { name, from }
    for (const st of statements(file)) {
      const text = st.text;
      let m;
      if ((m = DECL.exec(text))) {
        if (!decls.has(m[2])) decls.set(m[2], []);
        decls.get(m[2]).push(st);
      } else if ((m = REEXPORT.exec(text))) {
        for (const spec of m[2].split(",").map((s) => s.trim().replace(/^type\s+/, "")).filter(Boolean)) {
          const [local, exported = local] = spec.split(/\s+as\s+/);
          reexports.push({ exported, local, from: resolve(dirname(file), m[3].replace(/\.js$/, ".d.ts")) });
        }
      } else if ((m = STAR.exec(text))) {
        stars.push(resolve(dirname(file), m[1].replace(/\.js$/, ".d.ts")));
      } else if ((m = IMPORT.exec(text)) && m[2].startsWith(".")) {
        for (const spec of m[1].split(",").map((s) => s.trim().replace(/^type\s+/, "")).filter(Boolean)) {
          const [name, local = name] = spec.split(/\s+as\s+/);
          imports.set(local, { name, from: resolve(dirname(file), m[2].replace(/\.js$/, ".d.ts")) });
        }
      }
    }
    cache.set(file, { decls, reexports, stars, imports });
  }
  return cache.get(file);
}

/** Where `name`, as exported by `file`, is declared: { file, name } or undefined. */
function resolveExport(file, name, seen = new Set()) {
  const key = `${file}#${name}`;
  if (seen.has(key) || !existsSync(file)) return undefined;
  seen.add(key);
  const p = parse(file);
  if (p.decls.has(name)) return { file, name };
  for (const r of p.reexports) if (r.exported === name) return resolveExport(r.from, r.local, seen) ?? resolveLocal(file, r.local, seen);
  for (const s of p.stars) {
    const found = resolveExport(s, name, seen);
    if (found) return found;
  }
  return undefined;
}

/** Where a name used inside `file` is declared (locally or through an import). */
function resolveLocal(file, name, seen = new Set()) {
  const p = parse(file);
  if (p.decls.has(name)) return { file, name };
  const imp = p.imports.get(name);
  return imp ? resolveExport(imp.from, imp.name, seen) : undefined;
}

/** Every name an entry exports. */
function exportedNames(file, seen = new Set()) {
  if (seen.has(file) || !existsSync(file)) return [];
  seen.add(file);
  const p = parse(file);
  const names = [...p.decls.keys(), ...p.reexports.map((r) => r.exported)];
  for (const s of p.stars) names.push(...exportedNames(s, seen));
  return [...new Set(names)];
}

const stripDocs = (text) =>
  text
    .replace(/[ \t]*\/\*[\s\S]*?\*\/[ \t]*\n?/g, "")
    .replace(/^\s*\/\/.*\n/gm, "")
    // Private members are no API (`private constructor();` is: it says there is no public one).
    .replace(/^\s+(?:#private|private (?:static )?(?:readonly )?(?!constructor)[\w$]+);\n/gm, "")
    .replace(/^\s*\n/gm, "");
const identifiers = (text) => new Set(stripDocs(text).replace(/"(?:[^"\\]|\\.)*"/g, "").match(/[A-Za-z_$][\w$]*/g) ?? []);

const problems = [];
const changed = [];
mkdirSync(join(root, "api"), { recursive: true });

for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target !== "object" || target.types === undefined) continue;
  const entry = join(root, target.types);
  const label = subpath === "." ? "trellis" : `trellis/${subpath.slice(2)}`;
  if (!existsSync(entry)) {
    // An entry whose sources are not in this tree (an area not merged yet) has nothing to report.
    const source = join(root, "src", subpath === "." ? "index.ts" : `${subpath.slice(2)}/index.ts`);
    if (!existsSync(source)) continue;
    problems.push(`${label}: ${relative(root, entry)} is missing (run \`npm run build\` first)`);
    continue;
  }
  const sections = [];
  const done = new Set();
  const queue = exportedNames(entry).sort().map((name) => ({ name, at: resolveExport(entry, name), exported: true }));
  while (queue.length > 0) {
    const { name, at, exported, from } = queue.shift();
    if (at === undefined) {
      if (exported) problems.push(`${label}: cannot find the declaration of ${name}`);
      continue;
    }
    const key = `${at.file}#${at.name}`;
    if (done.has(key)) continue;
    done.add(key);
    const sts = parse(at.file).decls.get(at.name);
    const where = relative(join(root, "dist"), at.file);
    for (const st of sts) {
      if (/@internal\b/.test(st.doc)) {
        problems.push(exported
          ? `${label}: ${name} (${where}) is exported but marked @internal`
          : `${label}: ${from} names ${name} (${where}), which is marked @internal`);
      }
      for (const member of st.text.matchAll(/\/\*\*(?:(?!\*\/)[\s\S])*@internal[\s\S]*?\*\/\s*\n?\s*([^\n]*)/g)) {
        problems.push(`${label}: ${name} (${where}) shows an @internal member: ${member[1].trim()}`);
      }
    }
    const body = sts.map((st) => stripDocs(st.text)).join("\n");
    sections.push({ name, exported, where, body });
    for (const id of identifiers(body)) {
      if (id === at.name) continue;
      const next = resolveLocal(at.file, id);
      if (next !== undefined) queue.push({ name: id, at: next, exported: false, from: name });
    }
  }
  const text = [
    `# API report: ${label}`,
    "",
    "<!-- Generated by scripts/api-report.mjs from the emitted declarations; do not edit.",
    "     A deliberate change of the public API: `npm run api:update`, and commit this file. -->",
    "",
    ...sections.flatMap((s) => [
      `## ${s.name}${s.exported ? "" : " (reachable, not exported by name)"}`,
      "",
      "```ts",
      s.body.replace(/^export declare /gm, "export ").trimEnd(),
      "```",
      "",
    ]),
  ].join("\n");
  const file = join(root, "api", `${label.replace("/", "-")}.api.md`);
  const old = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  if (old !== text) {
    if (update) writeFileSync(file, text);
    else changed.push(relative(root, file));
  }
}

if (problems.length > 0) {
  console.error(`api-report: the published declarations show internals:\n  ${problems.join("\n  ")}`);
  console.error("Move the member to an engine object (src/core/…, not exported by an entry), or make it #private.");
}
if (changed.length > 0 && !update) {
  console.error(`api-report: the public API differs from the committed report: ${changed.join(", ")}.`);
  console.error("If the change is deliberate, run `npm run api:update` and commit api/; otherwise undo it.");
}
if (update && problems.length === 0) console.log("api-report: api/ updated");
process.exit(problems.length > 0 || (changed.length > 0 && !update) ? 1 : 0);
