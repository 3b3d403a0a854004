/**
 * The page `serveTaskTree` serves: plain HTML and JavaScript, no dependency, no build step.
 * It polls `/tree.json` and redraws the tree; filters by name (substring) and state keep the
 * ancestors of a match visible, dimmed, so a match is always shown where it sits.
 *
 * @module
 */

/** @internal The whole page, as served at `/`. */
export function taskTreePage(pollMs: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>trellis task tree</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  header { display: flex; gap: 1em; align-items: center; flex-wrap: wrap; }
  h1 { font-size: 1.2em; margin: 0; }
  #summary { color: #666; }
  ul { list-style: none; padding-left: 1.4em; margin: 0; border-left: 1px dotted #bbb; }
  #tree > ul { border-left: none; padding-left: 0; }
  li { margin: 0.15em 0; }
  .task .head { font-family: ui-monospace, monospace; }
  .state { display: inline-block; min-width: 5.5em; font-weight: 600; }
  .state-blocked { color: #a15c00; } .state-running { color: #0a7d28; } .state-starting { color: #555; }
  .cancelled { color: #b00020; font-weight: 600; }
  .detail { color: #666; font-size: 0.9em; margin-left: 1.2em; white-space: pre-wrap; font-family: ui-monospace, monospace; }
  .context > .head { opacity: 0.45; }
  .context > .detail { display: none; }
</style>
</head>
<body>
<header>
  <h1>trellis task tree</h1>
  <label>name <input id="name-filter" type="search" placeholder="filter by name" autocomplete="off"></label>
  <label>state <select id="state-filter">
    <option value="">all</option><option value="running">running</option>
    <option value="blocked">blocked</option><option value="starting">starting</option>
    <option value="cancelled">cancelled</option>
  </select></label>
  <span id="summary">loading…</span>
</header>
<main id="tree"></main>
<script>
"use strict";
const POLL_MS = ${JSON.stringify(pollMs)};
const nameFilter = document.getElementById("name-filter");
const stateFilter = document.getElementById("state-filter");
let last = null;

function matches(task) {
  const name = nameFilter.value.trim().toLowerCase();
  const state = stateFilter.value;
  if (name !== "" && !task.name.toLowerCase().includes(name)) return false;
  if (state === "cancelled") return task.cancelled;
  return state === "" || task.state === state;
}

function fmt(ms) { return ms == null ? "" : ms.toFixed(1); }

function scopeText(s, now) {
  const parts = [s.name == null ? "scope" : JSON.stringify(s.name)];
  if (s.deadline != null) parts.push("deadline " + fmt(s.deadline) + " (in " + fmt(s.deadline - now) + " ms)");
  if (s.shield) parts.push("shielded");
  if (s.cancelCalled) parts.push("cancel called"); else if (s.cancelled) parts.push("cancelled");
  return parts.join(" ");
}

// Returns the <li> for the task, or null when neither it nor any descendant matches.
function render(task, now) {
  const kids = task.children.map((c) => render(c, now)).filter(Boolean);
  const self = matches(task);
  if (!self && kids.length === 0) return null;
  const li = document.createElement("li");
  li.className = "task" + (self ? " match" : " context");
  li.dataset.id = String(task.id);
  li.dataset.name = task.name;
  li.dataset.state = task.state;
  const head = document.createElement("div");
  head.className = "head";
  const state = document.createElement("span");
  state.className = "state state-" + task.state;
  state.textContent = task.state;
  head.append(state, " #" + task.id + " ", Object.assign(document.createElement("b"), { textContent: task.name }));
  if (task.state === "blocked") {
    const since = task.waitingSince == null ? "" : " " + fmt(now - task.waitingSince) + " ms";
    head.append(since + " on " + task.waitingOn);
  }
  if (task.cancelled) head.append(" ", Object.assign(document.createElement("span"), { className: "cancelled", textContent: "cancelled" }));
  li.append(head);
  const details = [];
  if (task.scopes.length > 0) details.push("in " + task.scopes.map((s) => scopeText(s, now)).join(" < "));
  if (task.spawnedAt) details.push(task.spawnedAt);
  if (details.length > 0) li.append(Object.assign(document.createElement("div"), { className: "detail", textContent: details.join("\\n") }));
  if (kids.length > 0) {
    const ul = document.createElement("ul");
    ul.append(...kids);
    li.append(ul);
  }
  return li;
}

function draw() {
  const tree = document.getElementById("tree");
  if (last === null) return;
  const summary = document.getElementById("summary");
  if (last.root == null) {
    tree.replaceChildren();
    summary.textContent = "no live tasks (the run has finished)";
    return;
  }
  const li = render(last.root, last.time);
  if (li) {
    const ul = document.createElement("ul");
    ul.append(li);
    tree.replaceChildren(ul);
  } else {
    tree.replaceChildren(Object.assign(document.createElement("p"), { id: "no-match", textContent: "no live task matches the filter" }));
  }
  summary.textContent = last.taskCount + " live task" + (last.taskCount === 1 ? "" : "s") + " at " + fmt(last.time) + " ms";
}

async function poll() {
  try {
    const res = await fetch("/tree.json", { cache: "no-store" });
    last = await res.json();
    draw();
  } catch (err) {
    document.getElementById("summary").textContent = "disconnected (" + err + ")";
  }
  setTimeout(poll, POLL_MS);
}

nameFilter.addEventListener("input", draw);
stateFilter.addEventListener("change", draw);
poll();
</script>
</body>
</html>
`;
}
