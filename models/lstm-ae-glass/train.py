#!/usr/bin/python3
"""Train the glass-line LSTM autoencoder on simulator data and export it for LineGuard's anomaly node.

Run with Debian's python3-torch (1.13) and python3-onnx: /usr/bin/python3 (see README.md).

  /usr/bin/python3 models/lstm-ae-glass/train.py --data data/train.csv --out models/lstm-ae-glass

Input: a CSV from `lineguard-sim glass generate` (normal operation, no failures). Output: model.onnx
(input "input" [batch, T, F] float32 -> output "output" [batch, T, F], dynamic batch axis) and
manifest.json (features in order, window T, scaler mean/std, threshold, version, training facts).
Deterministic for a seed on one machine (torch CPU, single thread).
"""
import argparse
import csv
import json
import os
import random
import time

import numpy as np
import torch
from torch import nn

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


class LstmAE(nn.Module):
    """Encoder LSTM -> latent vector -> repeated over time -> decoder LSTM -> per-step features."""

    def __init__(self, n_features: int, window: int, hidden: int = 48, latent: int = 16):
        super().__init__()
        self.window = window
        self.enc = nn.LSTM(n_features, hidden, batch_first=True)
        self.to_latent = nn.Linear(hidden, latent)
        self.from_latent = nn.Linear(latent, hidden)
        self.dec = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_features)

    def forward(self, x):
        _, (h, _) = self.enc(x)
        z = torch.tanh(self.to_latent(h[-1]))
        d = self.from_latent(z).unsqueeze(1).repeat(1, self.window, 1)
        y, _ = self.dec(d)
        return self.out(y)


def read_series(paths, features):
    """(file, line_id) -> float32 array [n, F] in time order; one CSV path or a list of them."""
    rows = {}
    for k, path in enumerate([paths] if isinstance(paths, str) else paths):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                rows.setdefault(f"{k}:{r['line_id']}", []).append((int(r["ts_ms"]), [float(r[c]) for c in features]))
    out = {}
    for m, rs in rows.items():
        rs.sort(key=lambda x: x[0])
        out[m] = np.asarray([v for _, v in rs], dtype=np.float32)
    return out


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
        for s in range(0, len(arr) - window + 1, stride):
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
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--rev-stride", type=int, default=0, help="extra windows over each firing reversal, every N samples (0: none)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--percentile", type=float, default=99.5, help="threshold = this percentile of training scores")
    ap.add_argument("--version", default="1.0.0")
    a = ap.parse_args()

    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)

    t0 = time.time()
    series = read_series(a.data, FEATURES)
    allrows = np.concatenate(list(series.values()))
    mean = allrows.mean(axis=0)
    std = allrows.std(axis=0)
    std[std < 1e-6] = 1.0
    w, extra = windows(series, a.window, a.stride, a.rev_stride)
    x = torch.from_numpy(((w - mean) / std).astype(np.float32))
    print(f"{len(series)} lines, {len(allrows)} rows, {len(x)} windows of {a.window} x {len(FEATURES)} ({extra} over reversals)")

    model = LstmAE(len(FEATURES), a.window)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    # the last quarter of the epochs at a third of the learning rate: a finer fit of the sharp transients
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[max(1, (3 * a.epochs) // 4)], gamma=1 / 3)
    gen = torch.Generator().manual_seed(a.seed)
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), a.batch):
            xb = x[perm[i : i + a.batch]]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), xb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        sched.step()
        print(f"epoch {epoch + 1}/{a.epochs}: loss {total / len(x):.5f}", flush=True)

    model.eval()
    with torch.no_grad():
        scores = torch.cat([((model(x[i : i + 1024]) - x[i : i + 1024]) ** 2).mean(dim=(1, 2)) for i in range(0, len(x), 1024)])
    threshold = float(np.percentile(scores.numpy(), a.percentile))
    print(f"training scores: median {float(scores.median()):.4f}, p{a.percentile} {threshold:.4f}")

    os.makedirs(a.out, exist_ok=True)
    dummy = torch.zeros(2, a.window, len(FEATURES))
    torch.onnx.export(
        model,
        dummy,
        os.path.join(a.out, "model.onnx"),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        opset_version=13,
    )
    manifest = {
        "name": "lstm-ae-glass",
        "version": a.version,
        "features": FEATURES,
        "window": a.window,
        "scaler": {"mean": [float(v) for v in mean], "std": [float(v) for v in std]},
        "threshold": threshold,
        "input": "input",
        "output": "output",
        "training": {
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
            "torch": torch.__version__,
            "seconds": round(time.time() - t0, 1),
        },
    }
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {a.out}/model.onnx and manifest.json ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
