#!/usr/bin/env bash
# Rebuild the shipped CNC anomaly model from nothing but our own code:
#   1. generate normal-operation training data with the CNC simulator (seed 42),
#   2. train the LSTM autoencoder (Debian's python3-torch, /usr/bin/python3) and export ONNX + manifest,
#   3. evaluate it on a generated holdout with every failure pattern (report.md / report.json).
# Needs: npm install (builds dist/), apt-get install python3-torch python3-onnx.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=models/lstm-ae-cnc
data="${LINEGUARD_TRAIN_DATA:-$(mktemp -d)/cnc-train.csv}"
[ -f dist/lib/sim/cli.js ] || node scripts/build.mjs
echo "[model] generating training data -> $data"
node bin/lineguard-sim generate --machines 3 --hours 8 --rate 1 --seed 42 --out "$data"
echo "[model] training"
/usr/bin/python3 "$here/train.py" --data "$data" --out "$here" --epochs 10 --seed 42
echo "[model] evaluating"
node dist/models/lstm-ae-cnc/evaluate.js "$here" --calibrate 99.9
