#!/usr/bin/env bash
# Rebuild the shipped glass-line anomaly model from nothing but our own code:
#   1. generate normal-operation training data with the glass simulator (6 lines, 12 h at 1 Hz from
#      03:00 UTC, the coolest to the warmest hour of the day, seed 42),
#   2. train the LSTM autoencoder (Debian's python3-torch, /usr/bin/python3) and export ONNX + manifest,
#   3. set the threshold on a separate validation run and evaluate on a generated holdout with every
#      failure pattern (report.md / report.json).
# Needs: npm install (builds dist/), apt-get install python3-torch python3-onnx.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=models/lstm-ae-glass
data="${LINEGUARD_TRAIN_DATA:-$(mktemp -d)/glass-train.csv}"
[ -f dist/lib/sim/cli.js ] || node scripts/build.mjs
echo "[model] generating training data -> $data"
node bin/lineguard-sim glass generate --lines 6 --hours 12 --start 2025-01-06T03:00:00Z --rate 1 --seed 42 --out "$data"
echo "[model] training"
nice -n 10 /usr/bin/python3 "$here/train.py" --data "$data" --out "$here" --epochs 8 --stride 11 --seed 42
echo "[model] evaluating"
node dist/models/lstm-ae-glass/evaluate.js "$here" --calibrate 99.9
