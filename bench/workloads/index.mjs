// The list of workloads. Each module exports `meta` ({ n, goal, what }) and
// `systems` ({ raw, trellis, <peer>… }: async (n) => measured ms).

export const WORKLOADS = ["W1", "W2", "W2b", "W3", "W4", "W5", "W5b"];

export function loadWorkload(id) {
  const match = WORKLOADS.find((w) => w.toLowerCase() === String(id).toLowerCase());
  if (!match) throw new Error(`unknown workload ${id} (one of ${WORKLOADS.join(", ")})`);
  return import(new URL(`./${match.toLowerCase()}.mjs`, import.meta.url).href);
}
