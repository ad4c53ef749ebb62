#!/usr/bin/env python3
"""Evaluate the shipped ONNX glass-defect detector on the generated holdout (the dataset's test split).

  /opt/ulvenv/bin/python models/yolo-glass/evaluate.py --data /work/yolo-data/data.yaml --model models/yolo-glass

1. Ultralytics val with the ONNX model (onnxruntime CPU): mAP50 and mAP50-95, overall and per class
   (val's own settings: conf 0.001, IoU 0.7, the standard COCO-style AP).
2. The operating point the detect node uses by default (conf/iou from manifest.json): Ultralytics predict on
   every test image, greedy matching to the ground truth by class at IoU >= 0.5 -> precision, recall, F1.
Writes report.md and report.json next to the model and copies the headline metrics into manifest.json.
"""
import argparse
import datetime
import glob
import json
import os
import tempfile
import time

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "lineguard-ultralytics"))

import numpy as np  # noqa: E402
import ultralytics  # noqa: E402
import yaml  # noqa: E402
from ultralytics import YOLO  # noqa: E402

TARGET_MAP50 = 0.9


def box_iou(a, b):
    """IoU of xyxy boxes a [n,4] and b [m,4] -> [n,m]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).prod(1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def read_labels(label_path, w, h):
    """YOLO txt (cls cx cy w h normalised) -> (classes [n], xyxy pixels [n,4])."""
    cls, boxes = [], []
    if os.path.exists(label_path):
        with open(label_path) as f:
            for line in f:
                p = line.split()
                if len(p) != 5:
                    continue
                c, cx, cy, bw, bh = int(p[0]), *map(float, p[1:])
                cls.append(c)
                boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    return np.array(cls, dtype=int), np.array(boxes, dtype=float).reshape(-1, 4)


def label_path_for(img_path):
    d, f = os.path.split(img_path)
    parts = d.split(os.sep)
    i = len(parts) - 1 - parts[::-1].index("images")
    parts[i] = "labels"
    return os.path.join(os.sep.join(parts), os.path.splitext(f)[0] + ".txt")


def split_images(data_yaml, split):
    with open(data_yaml) as f:
        d = yaml.safe_load(f)
    root = d.get("path") or os.path.dirname(os.path.abspath(data_yaml))
    if not os.path.isabs(root):
        root = os.path.join(os.path.dirname(os.path.abspath(data_yaml)), root)
    rel = d[split]
    folder = rel if os.path.isabs(rel) else os.path.join(root, rel)
    return sorted(glob.glob(os.path.join(folder, "*.jpg")) + glob.glob(os.path.join(folder, "*.png")))


def operating_point(model, images, names, imgsz, conf, iou):
    """Precision/recall/F1 per class at the node's thresholds (IoU >= 0.5 matching, greedy by score)."""
    nc = len(names)
    tp, fp, fn = np.zeros(nc, int), np.zeros(nc, int), np.zeros(nc, int)
    empty_frames, empty_clean = 0, 0
    t0 = time.time()
    for path in images:
        r = model.predict(path, imgsz=imgsz, conf=conf, iou=iou, device="cpu", verbose=False)[0]
        h, w = r.orig_shape
        gcls, gbox = read_labels(label_path_for(path), w, h)
        pcls = r.boxes.cls.numpy().astype(int)
        pbox = r.boxes.xyxy.numpy()
        pscore = r.boxes.conf.numpy()
        if len(gcls) == 0:
            empty_frames += 1
            empty_clean += int(len(pcls) == 0)
        for c in range(nc):
            g = gbox[gcls == c]
            sel = np.where(pcls == c)[0]
            sel = sel[np.argsort(-pscore[sel])]
            used = np.zeros(len(g), bool)
            ious = box_iou(pbox[sel], g)
            for k in range(len(sel)):
                j = -1
                if len(g):
                    cand = np.where(~used & (ious[k] >= 0.5))[0]
                    if len(cand):
                        j = cand[np.argmax(ious[k][cand])]
                if j >= 0:
                    used[j] = True
                    tp[c] += 1
                else:
                    fp[c] += 1
            fn[c] += int((~used).sum())
    ms = (time.time() - t0) * 1000 / max(1, len(images))
    per = {}
    for c, n in enumerate(names):
        p = tp[c] / max(1, tp[c] + fp[c])
        rcl = tp[c] / max(1, tp[c] + fn[c])
        per[n] = {"tp": int(tp[c]), "fp": int(fp[c]), "fn": int(fn[c]), "precision": round(float(p), 4),
                  "recall": round(float(rcl), 4), "f1": round(float(2 * p * rcl / max(1e-9, p + rcl)), 4)}
    T, F, N = tp.sum(), fp.sum(), fn.sum()
    p, rcl = T / max(1, T + F), T / max(1, T + N)
    return {
        "conf": conf, "iou": iou, "matchIoU": 0.5, "images": len(images),
        "precision": round(float(p), 4), "recall": round(float(rcl), 4),
        "f1": round(float(2 * p * rcl / max(1e-9, p + rcl)), 4),
        "framesWithoutDefects": empty_frames, "cleanFramesWithoutDetections": empty_clean,
        "msPerImage": round(ms, 1), "perClass": per,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="data.yaml of the generated dataset")
    ap.add_argument("--model", default=os.path.dirname(os.path.abspath(__file__)), help="model folder")
    ap.add_argument("--split", default="test")
    ap.add_argument("--dataset-command", default=None, help="how the dataset was generated (for the report)")
    a = ap.parse_args()
    mdir = a.model
    with open(os.path.join(mdir, "manifest.json")) as f:
        manifest = json.load(f)
    imgsz, names = manifest["imgsz"], manifest["classNames"]
    onnx_path = os.path.join(mdir, "model.onnx")

    model = YOLO(onnx_path, task="detect")
    t0 = time.time()
    m = model.val(data=a.data, split=a.split, imgsz=imgsz, batch=1, device="cpu", plots=False, verbose=False,
                  project=os.path.join(tempfile.gettempdir(), "yolo-glass-val"), name="val", exist_ok=True)
    val_s = time.time() - t0
    box = m.box
    per_class = {}
    idx = list(m.ap_class_index)
    for c, n in enumerate(names):
        if c in idx:
            p, r, ap50, ap = box.class_result(idx.index(c))
            per_class[n] = {"precision": round(float(p), 4), "recall": round(float(r), 4),
                            "mAP50": round(float(ap50), 4), "mAP50_95": round(float(ap), 4)}
        else:
            per_class[n] = {"precision": None, "recall": None, "mAP50": None, "mAP50_95": None}
    nt = getattr(m, "nt_per_class", None)
    if nt is not None:
        for c, n in enumerate(names):
            per_class[n]["instances"] = int(nt[c])
    images = split_images(a.data, a.split)
    op = operating_point(YOLO(onnx_path, task="detect"), images, names, imgsz, manifest["conf"], manifest["iou"])

    report = {
        "model": f"{manifest['name']}@{manifest.get('version', '?')}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": f"ultralytics {ultralytics.__version__} val on model.onnx (onnxruntime CPU)",
        "data": os.path.abspath(a.data), "split": a.split, "images": len(images),
        "datasetCommand": a.dataset_command or manifest.get("trainedOn", {}).get("command"),
        "imgsz": imgsz,
        "mAP50": round(float(box.map50), 4), "mAP50_95": round(float(box.map), 4),
        "precision": round(float(box.mp), 4), "recall": round(float(box.mr), 4),
        "targetMAP50": TARGET_MAP50, "targetMet": bool(box.map50 >= TARGET_MAP50),
        "perClass": per_class, "operatingPoint": op,
        "valSeconds": round(val_s, 1), "speedMs": {k: round(float(v), 2) for k, v in m.speed.items()},
    }
    with open(os.path.join(mdir, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    lines = [
        f"# {report['model']}: evaluation on the generated holdout",
        "",
        f"Produced by `models/yolo-glass/evaluate.py` ({report['tool']}) on {report['date']}.",
        f"Holdout: the `{a.split}` split of the generated dataset, {len(images)} frames "
        f"(640x480 JPEG, never seen in training or model selection), input {imgsz}x{imgsz} letterboxed.",
        f"Dataset: `{report['datasetCommand']}`." if report["datasetCommand"] else "",
        "",
        f"**mAP50: {report['mAP50']:.3f}** (target >= {TARGET_MAP50}: {'met' if report['targetMet'] else 'NOT met'})"
        f", mAP50-95: {report['mAP50_95']:.3f}, precision {report['precision']:.3f}, recall {report['recall']:.3f}"
        " (Ultralytics val: conf 0.001, NMS IoU 0.7).",
        "",
        "| class | instances | mAP50 | mAP50-95 | precision | recall |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def f3(v):
        return "-" if v is None else f"{v:.3f}"

    for n in names:
        pc = per_class[n]
        lines.append(f"| {n} | {pc.get('instances', '-')} | {f3(pc['mAP50'])} | {f3(pc['mAP50_95'])} | "
                     f"{f3(pc['precision'])} | {f3(pc['recall'])} |")
    lines += [
        "",
        f"## At the detect node's defaults (conf {op['conf']}, NMS IoU {op['iou']})",
        "",
        "Ultralytics predict on every holdout frame; a detection is correct when it overlaps an unmatched "
        "ground-truth box of the same class with IoU >= 0.5 (greedy, highest score first).",
        "",
        f"Precision {op['precision']:.3f}, recall {op['recall']:.3f}, F1 {op['f1']:.3f}; "
        f"{op['cleanFramesWithoutDetections']} of {op['framesWithoutDefects']} defect-free frames without any "
        f"detection; {op['msPerImage']} ms per frame (Python, onnxruntime, 2 shared cores).",
        "",
        "| class | TP | FP | FN | precision | recall | F1 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n in names:
        c = op["perClass"][n]
        lines.append(f"| {n} | {c['tp']} | {c['fp']} | {c['fn']} | {c['precision']:.3f} | {c['recall']:.3f} | "
                     f"{c['f1']:.3f} |")
    tr = manifest.get("training", {})
    if tr:
        lines += ["", "## Training", "",
                  f"{tr.get('cfg')} from scratch (no pretrained weights), imgsz {tr.get('imgsz')}, "
                  f"{tr.get('epochsRun', tr.get('epochs'))} epochs"
                  + (f" (time budget {tr['timeHours']} h, the last epoch cut short)" if tr.get("timeHours") else "")
                  + f", batch {tr.get('batch')}, {tr.get('optimizer')} lr0 {tr.get('lr0')}, seed {tr.get('seed')}, "
                  f"ultralytics {tr.get('ultralytics')}, torch {tr.get('torch')}, CPU (2 cores shared with other "
                  f"jobs): {round(float(tr.get('seconds') or 0) / 60)} min of training; ONNX opset {tr.get('opset')}, "
                  f"{round(os.path.getsize(onnx_path) / 1e6, 1)} MB."]
    with open(os.path.join(mdir, "report.md"), "w") as f:
        f.write("\n".join(line for line in lines) + "\n")

    manifest["metrics"] = {
        "split": a.split, "images": len(images), "mAP50": report["mAP50"], "mAP50_95": report["mAP50_95"],
        "perClassMAP50": {n: per_class[n]["mAP50"] for n in names},
        "atDefaults": {"precision": op["precision"], "recall": op["recall"], "f1": op["f1"]},
    }
    with open(os.path.join(mdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"[evaluate] mAP50 {report['mAP50']:.4f} mAP50-95 {report['mAP50_95']:.4f}; "
          f"at defaults P {op['precision']:.3f} R {op['recall']:.3f}; wrote report.md/json")


if __name__ == "__main__":
    main()
