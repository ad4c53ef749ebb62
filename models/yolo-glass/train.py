#!/usr/bin/env python3
"""Train the glass-defect YOLO detector from scratch and export it for LineGuard's detect node.

Run with the Ultralytics venv described in README.md (build.sh creates it):

  /opt/ulvenv/bin/python models/yolo-glass/train.py --data /work/yolo-data/data.yaml --out models/yolo-glass

Input: an Ultralytics YOLO dataset written by `generate-dataset.js` (images/{train,val,test}, labels/...,
data.yaml with the class names in DEFECT_CLASSES order). The network is built from a yaml (no pretrained
weights are downloaded); training runs on the CPU without AMP, plots or any network access.
Output: model.onnx (input "images" float32 [1, 3, S, S], output "output0" [1, 4 + nc, N], the "v8" layout;
class names in the ONNX metadata "names") and manifest.json (metrics are added by evaluate.py).
`--export-only WEIGHTS` skips training and exports an existing best.pt.
"""
import argparse
import json
import os
import shutil
import tempfile
import time

# No network: no hub, no font or AMP-check downloads, no pip auto-install, no settings sync.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_VERBOSE", "True")
os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "lineguard-ultralytics"))

import ultralytics  # noqa: E402
from ultralytics import YOLO  # noqa: E402
from ultralytics.utils import SETTINGS  # noqa: E402


def offline_settings():
    wanted = {"sync": False, "hub": False, "tensorboard": False, "wandb": False, "mlflow": False,
              "clearml": False, "comet": False, "dvc": False, "neptune": False, "raytune": False}
    SETTINGS.update({k: v for k, v in wanted.items() if k in SETTINGS})


def read_names(data_yaml):
    import yaml

    with open(data_yaml) as f:
        d = yaml.safe_load(f)
    names = d["names"]
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    return list(names)


def trained_on(data_yaml, command):
    """What the model was trained on: generator, command line, frames per split (no machine paths)."""
    import glob
    import yaml

    with open(data_yaml) as f:
        d = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(data_yaml))
    root = d.get("path") or base
    root = root if os.path.isabs(root) else os.path.join(base, root)
    frames = {}
    for split in ("train", "val", "test"):
        if d.get(split):
            folder = d[split] if os.path.isabs(d[split]) else os.path.join(root, d[split])
            frames[split] = len(glob.glob(os.path.join(folder, "*.jpg")))
    return {"generator": "models/yolo-glass/generate-dataset.ts (camera simulator lib/sim/camera)",
            "command": command, "frames": frames, "holdout": "test"}


def export_onnx(weights, out_dir, imgsz, opset):
    """Export best.pt to out_dir/model.onnx (static [1,3,S,S], no NMS, no simplifier)."""
    model = YOLO(weights)
    path = model.export(format="onnx", imgsz=imgsz, opset=opset, simplify=False, dynamic=False, half=False,
                        nms=False, batch=1, device="cpu")
    dest = os.path.join(out_dir, "model.onnx")
    shutil.copyfile(path, dest)
    check_onnx(dest, imgsz)
    return dest


def check_onnx(path, imgsz):
    """The shipped file must carry the class names and the static input the detect node expects."""
    import onnx

    m = onnx.load(path)
    meta = {p.key: p.value for p in m.metadata_props}
    if "names" not in meta:
        raise SystemExit(f"{path}: no 'names' in ONNX metadata")
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    if dims != [1, 3, imgsz, imgsz]:
        raise SystemExit(f"{path}: input shape {dims}, expected [1, 3, {imgsz}, {imgsz}]")
    out = [d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
    print(f"[train] {path}: opset {m.opset_import[0].version}, input {dims}, output {out}, names {meta['names']}")
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="data.yaml of the generated dataset")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--cfg", default="yolov8n.yaml", help="model yaml (built from scratch, never a .pt)")
    ap.add_argument("--imgsz", type=int, default=416)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fraction", type=float, default=1.0, help="fraction of the train split to use")
    ap.add_argument("--time", type=float, default=None, help="hours; Ultralytics stops training after this")
    ap.add_argument("--optimizer", default="AdamW")
    ap.add_argument("--lr0", type=float, default=0.002)
    ap.add_argument("--nbs", type=int, default=16, help="nominal batch; = --batch means one optimizer step per batch")
    ap.add_argument("--warmup-epochs", type=float, default=1.0)
    ap.add_argument("--scale", type=float, default=0.25, help="scale augmentation (small defects: keep it low)")
    ap.add_argument("--opset", type=int, default=12)
    ap.add_argument("--runs", default=os.path.join(tempfile.gettempdir(), "yolo-glass-runs"))
    ap.add_argument("--name", default="train")
    ap.add_argument("--dataset-command", default=None, help="how the dataset was generated (for the manifest)")
    ap.add_argument("--export-only", metavar="WEIGHTS", default=None)
    a = ap.parse_args()
    offline_settings()
    os.makedirs(a.out, exist_ok=True)
    names = read_names(a.data)

    t0 = time.time()
    if a.export_only:
        weights = a.export_only
        train_info = {}
    else:
        model = YOLO(a.cfg, task="detect")  # random init from the yaml
        model.train(
            data=a.data, epochs=a.epochs, imgsz=a.imgsz, batch=a.batch, workers=a.workers, seed=a.seed,
            deterministic=True, pretrained=False, device="cpu", amp=False, plots=False, val=True,
            project=a.runs, name=a.name, exist_ok=True, fraction=a.fraction, time=a.time,
            cache="ram", patience=100, close_mosaic=max(1, a.epochs // 5), verbose=True,
            optimizer=a.optimizer, lr0=a.lr0, nbs=a.nbs, warmup_epochs=a.warmup_epochs, scale=a.scale,
        )
        weights = os.path.join(a.runs, a.name, "weights", "best.pt")
        train_info = {"epochs": a.epochs, "batch": a.batch, "seed": a.seed, "fraction": a.fraction,
                      "optimizer": a.optimizer, "lr0": a.lr0, "nbs": a.nbs, "warmupEpochs": a.warmup_epochs,
                      "scale": a.scale, "closeMosaic": max(1, a.epochs // 5)}
        results = os.path.join(a.runs, a.name, "results.csv")
        if os.path.exists(results):  # with --time Ultralytics re-plans the epochs; record what ran
            with open(results) as f:
                rows = [r.split(",") for r in f.read().strip().splitlines()[1:]]
            train_info["epochsRun"] = len(rows)
            train_info["finalVal"] = {"mAP50": round(float(rows[-1][7]), 4), "mAP50_95": round(float(rows[-1][8]), 4)}
        if a.time:
            train_info["timeHours"] = a.time
    seconds = round(time.time() - t0, 1)
    onnx_path = export_onnx(weights, a.out, a.imgsz, a.opset)

    import torch

    manifest_path = os.path.join(a.out, "manifest.json")
    old = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = json.load(f)
    manifest = {
        "name": "yolo-glass",
        "version": "1.0.0",
        "kind": "yolo",
        "layout": "v8",
        "imgsz": a.imgsz,
        "classNames": names,
        "conf": 0.25,
        "iou": 0.45,
        "input": "images",
        "output": "output0",
        "trainedOn": old.get("trainedOn", {}),
        "training": {
            "cfg": a.cfg,
            "imgsz": a.imgsz,
            **train_info,
            "ultralytics": ultralytics.__version__,
            "torch": torch.__version__,
            "opset": a.opset,
            "seconds": seconds if train_info else old.get("training", {}).get("seconds"),
        },
        "metrics": old.get("metrics", {}),
    }
    if not a.export_only:
        manifest["trainedOn"] = trained_on(a.data, a.dataset_command)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"[train] wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) and {manifest_path} in {seconds} s")


if __name__ == "__main__":
    main()
