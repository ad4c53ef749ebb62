#!/usr/bin/env bash
# npm test: build, start the real servers the integration tests use (Kafka, InfluxDB, Mosquitto on
# loopback; provisioned and cached on first use), run every suite, stop what this run started.
# In CI (CI=true) nothing is skipped: a server that cannot start fails the run with its log.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "[test] node $(node --version), Node-RED ${LINEGUARD_NODE_RED_DIR:-devDependency}"
node scripts/build.mjs

started=""
cleanup() {
  if [ -n "$started" ] && [ "${LINEGUARD_KEEP_SERVICES:-}" != "1" ]; then
    bash scripts/test-services.sh stop all || true
  fi
}
trap cleanup EXIT

if [ "${LINEGUARD_SKIP_SERVICES:-}" = "1" ] && [ "${CI:-}" != "true" ]; then
  echo "[test] LINEGUARD_SKIP_SERVICES=1: integration tests will be skipped"
else
  running=$(bash scripts/test-services.sh status all || true)
  if ! bash scripts/test-services.sh start all; then
    echo "[test] could not start the test servers (see above)" >&2
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    export LINEGUARD_SKIP_SERVICES=1
  else
    case "$running" in *stopped*) started=1 ;; esac
  fi
  eval "$(bash scripts/test-services.sh env)"
fi

npx --no-install mocha "$@"
