#!/usr/bin/env python3
"""Write the reference-tool fixtures for test/lib/inference/yolo-reference.test.ts.

  /opt/ulvenv/bin/python models/yolo-glass/reference.py --data /work/yolo-data/data.yaml \
      --model models/yolo-glass --out test/fixtures/yolo-glass

Picks 8-10 frames of the holdout (test split) that together show every defect class plus a defect-free
frame, copies them (the JPEG bytes unchanged) with their ground truth, and runs Ultralytics predict with the
shipped ONNX model on the copied files. reference.json holds, per image, Ultralytics' detections (class,
classId, score, xyxy and xywh = top-left + size, both in original pixels) and the settings used (imgsz, conf,
iou, max_det, class-aware NMS).

Frames on which a detection scores within --margin of the confidence threshold are not picked: a different
JPEG decoder or resize kernel moves scores by a little, so such a box could exist on one side and not on
the other, and the comparison would test luck instead of our code.
`--files a.jpg,b.jpg` re-runs the reference on an explicit list (e.g. the committed fixtures).
"""
import argparse
import datetime
import glob
import hashlib
import json
import os
import shutil
import tempfile

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "lineguard-ultralytics"))

import ultralytics  # noqa: E402
import yaml  # noqa: E402
from ultralytics import YOLO  # noqa: E402


def split_folder(data_yaml, split):
    with open(data_yaml) as f:
        d = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(data_yaml))
    root = d.get("path") or base
    if not os.path.isabs(root):
        root = os.path.join(base, root)
    rel = d[split]
    return rel if os.path.isabs(rel) else os.path.join(root, rel)


def labels_for(img_path, w, h, names):
    d, f = os.path.split(img_path)
    parts = d.split(os.sep)
    i = len(parts) - 1 - parts[::-1].index("images")
    parts[i] = "labels"
    p = os.path.join(os.sep.join(parts), os.path.splitext(f)[0] + ".txt")
    out = []
    if os.path.exists(p):
        with open(p) as fh:
            for line in fh:
                v = line.split()
                if len(v) != 5:
                    continue
                c, cx, cy, bw, bh = int(v[0]), *map(float, v[1:])
                out.append({"class": names[c], "classId": c, "yolo": [cx, cy, bw, bh],
                            "box": {"x": round((cx - bw / 2) * w, 2), "y": round((cy - bh / 2) * h, 2),
                                    "w": round(bw * w, 2), "h": round(bh * h, 2)}})
    return out


def predict(model, path, imgsz, conf, iou, max_det):
    r = model.predict(path, imgsz=imgsz, conf=conf, iou=iou, max_det=max_det, agnostic_nms=False, device="cpu",
                      verbose=False)[0]
    h, w = r.orig_shape
    dets = []
    for xyxy, score, c in zip(r.boxes.xyxy.tolist(), r.boxes.conf.tolist(), r.boxes.cls.tolist()):
        x1, y1, x2, y2 = xyxy
        dets.append({"class": r.names[int(c)], "classId": int(c), "score": round(score, 5),
                     "xyxy": [round(v, 3) for v in xyxy],
                     "xywh": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)]})
    return w, h, dets


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="data.yaml of the generated dataset (frames are picked from --split)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--model", default=os.path.dirname(os.path.abspath(__file__)), help="model folder")
    ap.add_argument("--out", required=True, help="fixture folder (test/fixtures/yolo-glass)")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--margin", type=float, default=0.05)
    ap.add_argument("--files", default=None, help="comma-separated JPEGs to use instead of picking")
    a = ap.parse_args()
    with open(os.path.join(a.model, "manifest.json")) as f:
        manifest = json.load(f)
    imgsz, names = manifest["imgsz"], manifest["classNames"]
    conf, iou, max_det = manifest["conf"], manifest["iou"], 300
    onnx_path = os.path.join(a.model, "model.onnx")
    model = YOLO(onnx_path, task="detect")
    os.makedirs(a.out, exist_ok=True)

    if a.files:
        picked = [p.strip() for p in a.files.split(",") if p.strip()]
    else:
        picked, seen, empty = [], {n: 0 for n in names}, False
        for path in sorted(glob.glob(os.path.join(split_folder(a.data, a.split), "*.jpg"))):
            if len(picked) >= a.count:
                break
            w, h, low = predict(model, path, imgsz, max(0.01, conf - a.margin), iou, max_det)
            if any(abs(d["score"] - conf) < a.margin for d in low):
                continue  # a borderline score: skip this frame
            gt = labels_for(path, w, h, names)
            if not gt:
                if empty or low:
                    continue
                empty = True
                picked.append(path)
                continue
            classes = {g["class"] for g in gt}
            # take frames that bring a class seen fewer than twice, at most 4 boxes (keeps the fixture readable)
            if len(gt) <= 4 and any(seen[c] < 2 for c in classes):
                picked.append(path)
                for c in classes:
                    seen[c] += 1
        missing = [n for n in names if seen[n] == 0]
        if missing:
            print(f"[reference] WARNING: no clean frame shows {missing}")

    images, truth = [], []
    for path in picked:
        name = os.path.basename(path)
        dest = os.path.join(a.out, name)
        if os.path.abspath(path) != os.path.abspath(dest):
            shutil.copyfile(path, dest)
        w, h, dets = predict(model, dest, imgsz, conf, iou, max_det)
        images.append({"file": name, "width": w, "height": h, "detections": dets})
        if not a.files:
            truth.append({"file": name, "width": w, "height": h, "boxes": labels_for(path, w, h, names)})
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    ref = {
        "tool": f"ultralytics {ultralytics.__version__} predict (onnxruntime CPU), models/yolo-glass/reference.py",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": "models/yolo-glass/model.onnx", "modelSha256": sha,
        "imgsz": imgsz, "conf": conf, "iou": iou, "maxDetections": max_det, "classAwareNms": True,
        "classNames": names, "boxes": "original pixels; xyxy = corners, xywh = top-left x, y + width, height",
        "borderlineMargin": a.margin,
        "images": images,
    }
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")
    if truth:
        with open(os.path.join(a.out, "ground-truth.json"), "w") as f:
            json.dump({"source": "labels of the generated holdout (YOLO cx cy w h normalised; box in pixels)",
                       "classNames": names, "images": truth}, f, indent=2)
            f.write("\n")
    n = sum(len(i["detections"]) for i in images)
    print(f"[reference] {len(images)} images, {n} detections -> {a.out}")


if __name__ == "__main__":
    main()
