// The list of workloads: every `w*.mjs` file beside this one, in natural order (W1, W1k4, W2,
// W2b, …, W10). Each module exports `meta` ({ n, goal, what }) and
// `systems` ({ raw, trellis, <peer>… }: async (n) => measured ms).
import { readdirSync } from "node:fs";

const files = readdirSync(new URL(".", import.meta.url)).filter((f) => /^w\d+[a-z0-9]*\.mjs$/i.test(f));
const natural = (a, b) => a.localeCompare(b, "en", { numeric: true });

export const WORKLOADS = files.map((f) => f.replace(/\.mjs$/, "").toUpperCase().replace(/^W(\d+)(.*)$/, (_, n, rest) => `W${n}${rest.toLowerCase()}`)).sort(natural);

export function loadWorkload(id) {
  const match = WORKLOADS.find((w) => w.toLowerCase() === String(id).toLowerCase());
  if (!match) throw new Error(`unknown workload ${id} (one of ${WORKLOADS.join(", ")})`);
  return import(new URL(`./${match.toLowerCase()}.mjs`, import.meta.url).href);
}
