#!/usr/bin/python3
"""Train the CNC LSTM autoencoder on simulator data and export it for LineGuard's anomaly node.

Run with Debian's python3-torch (1.13) and python3-onnx: /usr/bin/python3 (see README.md).

  /usr/bin/python3 models/lstm-ae-cnc/train.py --data data/train.csv --out models/lstm-ae-cnc

Input: CSV from `lineguard-sim generate` (normal operation, no failures). Output: model.onnx and
manifest.json; the network, training loop and export are shared with the glass model
(models/common/lstm_ae.py). Deterministic for a seed on one machine (torch CPU, single thread).
"""
import argparse
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in models/common
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import lstm_ae  # noqa: E402

FEATURES = [
    "spindle_speed",
    "spindle_load",
    "feed_rate",
    "vibration_rms",
    "spindle_temp",
    "bearing_temp",
    "coolant_temp",
    "coolant_flow",
    "power",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="training CSV (normal operation)")
    lstm_ae.add_common_args(ap)
    a = ap.parse_args()

    t0, series, allrows, mean, std = lstm_ae.load(a, FEATURES, "machine_id")
    x = lstm_ae.scale(lstm_ae.windows(series, a.window, a.stride), mean, std)
    print(f"{len(series)} machines, {len(allrows)} rows, {len(x)} windows of {a.window} x {len(FEATURES)}")

    model, threshold = lstm_ae.fit(a, x)
    training = {
        "data": os.path.basename(a.data),
        "rows": int(len(allrows)),
        "windows": int(len(x)),
        "stride": a.stride,
        "epochs": a.epochs,
        "seed": a.seed,
        "threshold": f"p{a.percentile} of training window scores",
    }
    lstm_ae.export(model, a, "lstm-ae-cnc", FEATURES, mean, std, threshold, training, t0)


if __name__ == "__main__":
    main()
