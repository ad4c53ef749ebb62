#!/bin/sh
# LineGuard image entrypoint.
#   node-red (default)      first start: reference flows into /data (prepare-flows.cjs), then Node-RED
#   lineguard-sim ARGS...   the simulators' CLI (docs/simulator.md)
#   anything else           run as given
set -e
cd /opt/lineguard
case "$1" in
  node-red)
    shift
    node /opt/lineguard/prepare-flows.cjs
    exec node /opt/lineguard/node_modules/node-red/red.js --userDir /data --settings /opt/lineguard/settings.js "$@"
    ;;
  lineguard-sim)
    shift
    exec node /opt/lineguard/node_modules/node-red-contrib-lineguard/bin/lineguard-sim "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
