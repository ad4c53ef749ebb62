#!/usr/bin/env bash
# Debian packages some tests need: chromium (the dashboard browser tests, driven by playwright-core) and
# docker-compose (the compose file check; no Docker engine needed). Installs what is missing with apt-get
# (as root, or through sudo). Idempotent. Elsewhere those tests skip with a message unless CI=true.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if [ ${#need[@]} -eq 0 ]; then
  echo "[system-deps] chromium and docker-compose present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[system-deps] missing ${need[*]} and no apt-get: install them with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "[system-deps] installing ${need[*]} (Debian packages)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
command -v chromium && docker-compose version --short
