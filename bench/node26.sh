#!/usr/bin/env bash
# Prints the path of a Node 26 binary, installing one if needed.
#
#   node bench/run.mjs --node "$(bash bench/node26.sh)"
#
# Lookup order:
#   1. $TRELLIS_NODE26, if set (must be an executable);
#   2. <repo>/.node26/node_modules/node-linux-<arch>/bin/node;
#   3. otherwise installs it there with
#        npm install --prefix .node26 --no-save node-linux-<arch>@26
#      (the registry's node-linux-* package ships the official binary; it is
#      kept out of the project's own dependencies and lockfile).
# Everything but the final path goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -n "${TRELLIS_NODE26:-}" ]]; then
  if [[ -x "$TRELLIS_NODE26" ]]; then
    echo "$TRELLIS_NODE26"
    exit 0
  fi
  echo "node26.sh: TRELLIS_NODE26=$TRELLIS_NODE26 is not an executable" >&2
  exit 1
fi

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node26.sh: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
pkg="node-linux-$arch"
bin="$root/.node26/node_modules/$pkg/bin/node"

if [[ ! -x "$bin" ]]; then
  echo "node26.sh: installing $pkg@26 into $root/.node26 ..." >&2
  mkdir -p "$root/.node26"
  # The empty package.json pins npm's project root to .node26 so that it never
  # walks up to the repo's own package.json / package-lock.json.
  [[ -f "$root/.node26/package.json" ]] || echo '{"private":true}' >"$root/.node26/package.json"
  (cd "$root/.node26" && npm install --prefix "$root/.node26" --no-save --no-audit --no-fund \
    --no-package-lock "$pkg@26") >&2
fi

if ! "$bin" --version >/dev/null 2>&1; then
  echo "node26.sh: $bin does not run" >&2
  exit 1
fi
echo "$bin"
