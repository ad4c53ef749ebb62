"""Shared training code for LineGuard's LSTM autoencoders (models/lstm-ae-cnc, models/lstm-ae-glass).

Each model's train.py keeps its feature list, how it reads its CSV and which windows it trains on; this
module holds the rest: the network, seeding, the scaler, windowing, the training loop, the training-score
threshold, ONNX export and manifest writing. Run with Debian's python3-torch (1.13) and python3-onnx
(/usr/bin/python3). Deterministic for a seed on one machine (torch CPU, single thread).

A train.py imports it with the models/common folder on sys.path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
    import lstm_ae
"""
import csv
import json
import os
import random
import time

import numpy as np
import torch
from torch import nn


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


def add_common_args(ap, window=32, stride=4, epochs=12, batch=256, lr=2e-3, seed=42, percentile=99.5, version="1.0.0"):
    """The options every train.py has (--data is the script's own: one CSV or several)."""
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--window", type=int, default=window)
    ap.add_argument("--stride", type=int, default=stride)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--percentile", type=float, default=percentile, help="threshold = this percentile of training scores")
    ap.add_argument("--version", default=version)


def seed_everything(seed):
    """Seed Python, numpy and torch and run torch on one thread (reproducible on one machine)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)


def read_series(paths, features, id_column):
    """Source -> float32 array [n, F] in time order, from one CSV path (key: the id_column value) or a
    list of them (key: "<file index>:<id>", so the same id in two files stays two series)."""
    many = not isinstance(paths, str)
    rows = {}
    for k, path in enumerate(paths if many else [paths]):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                key = f"{k}:{r[id_column]}" if many else r[id_column]
                rows.setdefault(key, []).append((int(r["ts_ms"]), [float(r[c]) for c in features]))
    out = {}
    for m, rs in rows.items():
        rs.sort(key=lambda x: x[0])
        out[m] = np.asarray([v for _, v in rs], dtype=np.float32)
    return out


def fit_scaler(series):
    """All rows stacked, per-feature mean and std (std 1 where a feature is constant)."""
    allrows = np.concatenate(list(series.values()))
    mean = allrows.mean(axis=0)
    std = allrows.std(axis=0)
    std[std < 1e-6] = 1.0
    return allrows, mean, std


def window_starts(n, window, stride):
    """Start indices of the windows every `stride` samples of a series of n samples."""
    return range(0, n - window + 1, stride)


def windows(series, window, stride):
    """Windows [N, T, F] every `stride` samples of every series, series after series."""
    ws = []
    for arr in series.values():
        for s in window_starts(len(arr), window, stride):
            ws.append(arr[s : s + window])
    return np.stack(ws)


def scale(w, mean, std):
    """Scaled windows as a float32 torch tensor."""
    return torch.from_numpy(((w - mean) / std).astype(np.float32))


def load(a, features, id_column):
    """Seed everything with a.seed, read a.data (see read_series) and fit the scaler.
    Returns (t0, series, allrows, mean, std); t0 is the start time for the manifest's seconds."""
    seed_everything(a.seed)
    t0 = time.time()
    series = read_series(a.data, features, id_column)
    allrows, mean, std = fit_scaler(series)
    return t0, series, allrows, mean, std


def fit(a, x, milestones=None, gamma=1 / 3):
    """Train on the scaled windows x with the options a (see train) and set the training-score
    threshold at a.percentile. Returns (model, threshold)."""
    model = train(x, a.window, a.epochs, a.batch, a.lr, a.seed, milestones, gamma)
    return model, training_threshold(model, x, a.percentile)


def train(x, window, epochs, batch, lr, seed, milestones=None, gamma=1 / 3):
    """Train a fresh LstmAE on the scaled windows x (MSE, Adam, shuffled with a generator seeded with
    `seed`); with milestones, the learning rate is multiplied by gamma at those epochs."""
    model = LstmAE(x.shape[2], window)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma) if milestones else None
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), batch):
            xb = x[perm[i : i + batch]]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), xb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        if sched is not None:
            sched.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.5f}", flush=True)
    model.eval()
    return model


def training_threshold(model, x, percentile):
    """The given percentile of the window scores (mean squared reconstruction error) on x."""
    with torch.no_grad():
        scores = torch.cat([((model(x[i : i + 1024]) - x[i : i + 1024]) ** 2).mean(dim=(1, 2)) for i in range(0, len(x), 1024)])
    threshold = float(np.percentile(scores.numpy(), percentile))
    print(f"training scores: median {float(scores.median()):.4f}, p{percentile} {threshold:.4f}")
    return threshold


def export(model, a, name, features, mean, std, threshold, training, t0):
    """Write <a.out>/model.onnx (input "input" [batch, T, F] float32 -> output "output" [batch, T, F],
    dynamic batch axis) and <a.out>/manifest.json (name, a.version, features in order, window T, scaler
    mean/std, threshold, input/output names, training facts); `training` gets the torch version and
    the seconds since t0 appended."""
    out, version, window = a.out, a.version, a.window
    os.makedirs(out, exist_ok=True)
    dummy = torch.zeros(2, window, len(features))
    torch.onnx.export(
        model,
        dummy,
        os.path.join(out, "model.onnx"),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        opset_version=13,
    )
    manifest = {
        "name": name,
        "version": version,
        "features": features,
        "window": window,
        "scaler": {"mean": [float(v) for v in mean], "std": [float(v) for v in std]},
        "threshold": threshold,
        "input": "input",
        "output": "output",
        "training": {**training, "torch": torch.__version__, "seconds": round(time.time() - t0, 1)},
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {out}/model.onnx and manifest.json ({time.time() - t0:.1f} s)")
