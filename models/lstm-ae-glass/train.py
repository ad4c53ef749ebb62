#!/usr/bin/python3
"""Train the glass-line LSTM autoencoder on simulator data and export it for LineGuard's anomaly node.

Run with Debian's python3-torch (1.13) and python3-onnx: /usr/bin/python3 (see README.md).

  /usr/bin/python3 models/lstm-ae-glass/train.py --data data/train.csv --out models/lstm-ae-glass

Input: CSV from `lineguard-sim glass generate` (normal operation, no failures). Output: model.onnx and
manifest.json; the network, training loop and export are shared with the CNC model
(models/common/lstm_ae.py). Deterministic for a seed on one machine (torch CPU, single thread).
"""
import argparse
import os
import sys

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in models/common
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import lstm_ae  # noqa: E402

FEATURES = [
    "furnace_t1",
    "furnace_t2",
    "furnace_t3",
    "furnace_t4",
    "furnace_t5",
    "furnace_t6",
    "melt_level",
    "gas_flow",
    "air_flow",
    "tin_entry_temp",
    "tin_exit_temp",
    "tin_o2_ppm",
    "lehr_t1",
    "lehr_t2",
    "lehr_t3",
    "lehr_t4",
    "lehr_cooling_air",
    "ribbon_speed",
    "ribbon_width",
    "thickness",
]


def reversal_dips(gas):
    """[first, last] sample index of each firing reversal: gas flow below 80 % of its running level."""
    dips, start, level = [], -1, float(gas[0])
    for i, g in enumerate(gas):
        if g < 0.8 * level:
            if start < 0:
                start = i
        else:
            if start >= 0:
                dips.append((start, i - 1))
            start = -1
            level += (float(g) - level) * 0.02
    return dips


def windows(series, window, stride, rev_stride=0):
    """Windows every `stride` samples; with rev_stride > 0 also every `rev_stride` samples among the
    windows that overlap a firing reversal (oversampling the furnace's sharpest normal transient)."""
    ws, extra = [], 0
    gas_col = FEATURES.index("gas_flow")
    for arr in series.values():
        for s in lstm_ae.window_starts(len(arr), window, stride):
            ws.append(arr[s : s + window])
        if rev_stride > 0:
            for a, b in reversal_dips(arr[:, gas_col]):
                for s in range(max(0, a - window + 1), min(b, len(arr) - window) + 1, rev_stride):
                    ws.append(arr[s : s + window])
                    extra += 1
    return np.stack(ws), extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, nargs="+", help="training CSV(s) (normal operation)")
    ap.add_argument("--rev-stride", type=int, default=0, help="extra windows over each firing reversal, every N samples (0: none)")
    lstm_ae.add_common_args(ap)
    a = ap.parse_args()

    t0, series, allrows, mean, std = lstm_ae.load(a, FEATURES, "line_id")
    w, extra = windows(series, a.window, a.stride, a.rev_stride)
    x = lstm_ae.scale(w, mean, std)
    print(f"{len(series)} lines, {len(allrows)} rows, {len(x)} windows of {a.window} x {len(FEATURES)} ({extra} over reversals)")

    # the last quarter of the epochs at a third of the learning rate: a finer fit of the sharp transients
    model, threshold = lstm_ae.fit(a, x, milestones=[max(1, (3 * a.epochs) // 4)], gamma=1 / 3)
    training = {
        "data": [os.path.basename(d) for d in a.data],
        "lines": len(series),
        "rows": int(len(allrows)),
        "windows": int(len(x)),
        "stride": a.stride,
        "reversalStride": a.rev_stride,
        "reversalWindows": int(extra),
        "epochs": a.epochs,
        "seed": a.seed,
        "threshold": f"p{a.percentile} of training window scores (initial; evaluate.ts --calibrate replaces it, see thresholdSource)",
    }
    lstm_ae.export(model, a, "lstm-ae-glass", FEATURES, mean, std, threshold, training, t0)


if __name__ == "__main__":
    main()
