#!/usr/bin/env bash
# node-red-dev validate (the Node-RED flow library's package scorecard) on this package.
# node-red-dev is installed into the cache on first use; its catalogue lookup is answered offline.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LINEGUARD_CACHE:-$HOME/.cache/lineguard}/node-red-dev"
if [ ! -x "$cache/node_modules/.bin/node-red-dev" ]; then
  mkdir -p "$cache"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$cache" node-red-dev@0.1.6 >&2
fi
NODE_OPTIONS="--require $(pwd)/scripts/offline-catalogue.cjs" "$cache/node_modules/.bin/node-red-dev" validate -p "$(pwd)"
