import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { YoloDetection, YoloDetector } from "../../../lib/inference/yolo";
import { anchorCount, decode, decodeE2E, decodeV5, decodeV8, detectLayout } from "../../../lib/inference/yolo/decode";
import { decodeImage } from "../../../lib/inference/yolo/image";
import { letterbox, letterboxTensor, pyRound, unletterbox } from "../../../lib/inference/yolo/letterbox";
import {
  onnxMetadataFromBuffer,
  parseClassNames,
  parseImgsz,
  parsePythonLiteral,
  readOnnxMetadata,
} from "../../../lib/inference/yolo/metadata";
import { Candidate, iou, nms } from "../../../lib/inference/yolo/nms";

function fixture(name: string): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return path.join(dir, "test", "fixtures", "models", "yolo", name);
}

const close = (a: number, b: number, eps = 1e-5): boolean => Math.abs(a - b) <= eps;
const cand = (x1: number, y1: number, x2: number, y2: number, score: number, classId = 0): Candidate => ({
  x1,
  y1,
  x2,
  y2,
  score,
  classId,
});
const solid = (width: number, height: number, grey = 128): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } } })
    .jpeg()
    .toBuffer();
const boxOf = (d: YoloDetection): number[] =>
  [d.box.x, d.box.y, d.box.w, d.box.h].map((v) => Math.round(v * 1e4) / 1e4);

describe("lib/inference/yolo: letterbox", () => {
  it("rounds like Python (half to even)", () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 3].map(pyRound), [0, 2, 2, 4, 2, 3, 3]);
  });

  it("letterboxes landscape, portrait, square and odd sizes like Ultralytics LetterBox", () => {
    // 640x480 into 640: r = 1, pad 80 above and below
    assert.deepEqual(letterbox(640, 480, 640, 640), {
      srcWidth: 640,
      srcHeight: 480,
      width: 640,
      height: 640,
      r: 1,
      newWidth: 640,
      newHeight: 480,
      top: 80,
      bottom: 80,
      left: 0,
      right: 0,
    });
    // 640x480 into 320: r = 0.5 -> 320x240, pad 40/40
    const a = letterbox(640, 480, 320, 320);
    assert.deepEqual([a.r, a.newWidth, a.newHeight, a.top, a.bottom, a.left, a.right], [0.5, 320, 240, 40, 40, 0, 0]);
    // portrait 333x501 into 416: r = 416/501, new_unpad = (round(276.503), 416) = (277, 416), dw = 69.5 -> 69/70
    const b = letterbox(333, 501, 416, 416);
    assert.deepEqual([b.newWidth, b.newHeight, b.left, b.right, b.top, b.bottom], [277, 416, 69, 70, 0, 0]);
    // odd padding: 100x39 into 64: r = 0.64, new (64, round(24.96) = 25), dh = 19.5 -> top 19, bottom 20
    const c = letterbox(100, 39, 64, 64);
    assert.deepEqual([c.newWidth, c.newHeight, c.top, c.bottom], [64, 25, 19, 20]);
    // non-square model input (h 384, w 640) and a 4:3 image: r = 0.8 -> 512x384, dw = 64 -> 64/64
    const d = letterbox(640, 480, 640, 384);
    assert.deepEqual([d.r, d.newWidth, d.newHeight, d.left, d.right, d.top], [0.8, 512, 384, 64, 64, 0]);
    for (const g of [a, b, c, d]) {
      assert.equal(g.top + g.newHeight + g.bottom, g.height);
      assert.equal(g.left + g.newWidth + g.right, g.width);
    }
  });

  it("maps boxes back to original pixels: undo pad and scale, clip to the image", () => {
    const lb = letterbox(640, 480, 320, 320); // r 0.5, top 40
    assert.deepEqual(unletterbox([10, 50, 30, 90], lb), [20, 20, 60, 100]);
    assert.deepEqual(unletterbox([-5, 20, 400, 300], lb), [0, 0, 640, 480]);
    const p = letterbox(333, 501, 416, 416); // portrait, left 69
    // per-axis scale of the resize done: x by 277/333, y by 416/501 (Ultralytics scale_boxes)
    const [x1, y1, x2, y2] = unletterbox([69, 0, 346, 416], p);
    assert.ok(close(x1, 0) && close(y1, 0) && close(x2, 333) && close(y2, 501));
    const q = unletterbox([69, 0, 200, 10], p);
    assert.ok(close(q[2], (131 * 333) / 277) && close(q[3], (10 * 501) / 416));
    assert.ok(close(unletterbox([80, 0, 347, 416], p)[2], 333)); // clipped
    // a very thin image keeps at least one pixel
    assert.equal(letterbox(3000, 1, 64, 64).newHeight, 1);
  });

  it("builds the NCHW float tensor: RGB planes, /255, pad 114; r = 1 copies pixels", () => {
    // 4x2 RGB image into 4x4: pad one row above and below
    const src = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => i * 10);
    const lb = letterbox(4, 2, 4, 4);
    assert.deepEqual([lb.top, lb.bottom], [1, 1]);
    const t = letterboxTensor(src, 3, lb);
    assert.equal(t.length, 3 * 16);
    const at = (c: number, y: number, x: number): number => Math.round(t[c * 16 + y * 4 + x]! * 255);
    assert.equal(at(0, 0, 0), 114);
    assert.equal(at(2, 3, 3), 114);
    assert.equal(at(0, 1, 0), 0); // R of pixel (0, 0)
    assert.equal(at(1, 1, 0), 10); // G
    assert.equal(at(2, 2, 3), (7 * 3 + 2) * 10); // B of pixel (3, 1)
    assert.equal(t[1 * 16 + 1 * 4 + 0], Math.fround(10 / 255));
  });

  it("halves like cv2 INTER_LINEAR (2x2 average, rounded) and handles grey input", () => {
    const src = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 81]); // 4x2 grey
    const lb = letterbox(4, 2, 2, 2); // r 0.5 -> 2x1, pad 1 row: top 0, bottom 1
    assert.deepEqual([lb.newWidth, lb.newHeight, lb.top, lb.bottom], [2, 1, 0, 1]);
    const t = letterboxTensor(src, 1, lb);
    const px = (c: number, y: number, x: number): number => Math.round(t[c * 4 + y * 2 + x]! * 255);
    assert.equal(px(0, 0, 0), (10 + 20 + 50 + 60 + 2) >> 2);
    assert.equal(px(1, 0, 1), (30 + 40 + 70 + 81 + 2) >> 2);
    assert.equal(px(2, 1, 0), 114);
  });

  it("upscales with half-pixel centres (edges repeat, the middle interpolates)", () => {
    const src = Uint8Array.from([0, 0, 0, 200, 200, 200]); // 2x1: black, grey
    const lb = letterbox(2, 1, 4, 2); // r 2 -> 4x2, no pad
    const t = letterboxTensor(src, 3, lb);
    const row = [0, 1, 2, 3].map((x) => Math.round(t[x]! * 255));
    assert.deepEqual(row, [0, 50, 150, 200]);
  });
});

describe("lib/inference/yolo: decoders", () => {
  it("detects the layout from the output shape and the class count", () => {
    const s = { width: 640, height: 640 };
    assert.equal(anchorCount(640, 640), 8400);
    assert.deepEqual(detectLayout([1, 84, 8400], s), { layout: "v8", nc: 80 });
    assert.deepEqual(detectLayout([1, 25200, 85], s), { layout: "v5", nc: 80 });
    assert.deepEqual(detectLayout([1, 300, 6], s), { layout: "e2e", nc: undefined });
    // v5 with one class has 6 columns too: the anchor count tells it from end-to-end
    assert.deepEqual(detectLayout([1, 25200, 6], s), { layout: "v5", nc: 1 });
    // v8 with 2 classes at 320: [1, 6, 2100] is not e2e ([1, N, 6] needs N rows of 6)
    assert.deepEqual(detectLayout([1, 6, 2100], { width: 320, height: 320 }), { layout: "v8", nc: 2 });
    // metadata end2end wins; dynamic dims decided by the fixed one
    assert.deepEqual(detectLayout([1, 25200, 6], s, undefined, true), { layout: "e2e", nc: undefined });
    assert.deepEqual(detectLayout(["batch", 9, "anchors"], s, 5), { layout: "v8", nc: 5 });
    assert.deepEqual(detectLayout(["batch", "anchors", 10], s), { layout: "v5", nc: 5 });
    assert.deepEqual(detectLayout(["batch", "n", 6], s), { layout: "e2e", nc: undefined });
    // unusual strides: the class names decide
    assert.deepEqual(detectLayout([1, 9, 1000], s, 5), { layout: "v8", nc: 5 });
    assert.throws(() => detectLayout([1, 9, 1000], s), /unknown YOLO output layout \[1, 9, 1000\]/);
    assert.throws(() => detectLayout([1, 84, 8400, 1], s), /4 dimensions/);
    assert.throws(() => detectLayout([2, 84, 8400], s), /batch 2/);
    assert.throws(() => detectLayout([1, 84, 8400], s, 5), /80 class channel\(s\) but 5 class name\(s\)/);
  });

  it("decodes v8 (channel-major cx, cy, w, h, classes): best class, score > conf", () => {
    // 3 anchors, 2 classes: [1, 6, 3]
    const data = Float32Array.from([
      ...[10, 50, 90], // cx
      ...[10, 50, 90], // cy
      ...[4, 10, 2], // w
      ...[6, 10, 2], // h
      ...[0.9, 0.1, 0.25], // class 0
      ...[0.3, 0.6, 0.2], // class 1
    ]);
    const c = decodeV8(data, 2, 3, 0.25);
    assert.equal(c.length, 2); // anchor 2: best 0.25 is not > 0.25
    assert.deepEqual([c[0]!.x1, c[0]!.y1, c[0]!.x2, c[0]!.y2, c[0]!.classId], [8, 7, 12, 13, 0]);
    assert.ok(close(c[0]!.score, 0.9));
    assert.deepEqual([c[1]!.x1, c[1]!.y2, c[1]!.classId], [45, 55, 1]);
    assert.deepEqual(decode("v8", data, [1, 6, 3], 0.25), c);
  });

  it("decodes v5 (row-major cx, cy, w, h, obj, classes): score = obj x class, obj <= conf skipped", () => {
    const data = Float32Array.from([
      ...[20, 20, 10, 10, 0.8, 0.5, 0.9], // class 1: 0.72
      ...[40, 40, 10, 10, 0.2, 1.0, 1.0], // obj 0.2 <= 0.25
      ...[60, 60, 4, 4, 0.5, 0.4, 0.1], // class 0: 0.2 <= 0.25 -> dropped
      ...[80, 80, 4, 8, 1.0, 0.3, 0.1], // class 0: 0.3
    ]);
    const c = decodeV5(data, 4, 2, 0.25);
    assert.equal(c.length, 2);
    assert.deepEqual([c[0]!.x1, c[0]!.y1, c[0]!.x2, c[0]!.y2, c[0]!.classId], [15, 15, 25, 25, 1]);
    assert.ok(close(c[0]!.score, 0.72));
    assert.deepEqual([c[1]!.y1, c[1]!.y2, c[1]!.classId], [76, 84, 0]);
    assert.ok(close(c[1]!.score, 0.3));
  });

  it("decodes end-to-end rows (x1, y1, x2, y2, score, class) in the model's order", () => {
    const data = Float32Array.from([...[1, 2, 3, 4, 0.9, 2], ...[5, 6, 7, 8, 0.1, 0], ...[9, 9, 19, 19, 0.5, 1]]);
    const c = decodeE2E(data, 3, 6, 0.25);
    assert.deepEqual(
      c.map((x) => [x.x1, x.y1, x.x2, x.y2, x.classId]),
      [
        [1, 2, 3, 4, 2],
        [9, 9, 19, 19, 1],
      ],
    );
    assert.throws(() => decode("e2e", data, [1, 3, 5], 0.25), /data does not match|unexpected output/);
    assert.throws(() => decode("v8", data, [2, 3, 3], 0.25), /unexpected output shape/);
  });
});

describe("lib/inference/yolo: NMS", () => {
  it("computes IoU (touching and disjoint boxes 0, identical 1)", () => {
    assert.equal(iou(cand(0, 0, 10, 10, 1), cand(0, 0, 10, 10, 1)), 1);
    assert.equal(iou(cand(0, 0, 10, 10, 1), cand(10, 0, 20, 10, 1)), 0);
    assert.equal(iou(cand(0, 0, 10, 10, 1), cand(20, 20, 30, 30, 1)), 0);
    assert.ok(close(iou(cand(0, 0, 10, 10, 1), cand(5, 0, 15, 10, 1)), 50 / 150));
    assert.equal(iou(cand(0, 0, 0, 10, 1), cand(0, 0, 0, 10, 1)), 0);
  });

  it("suppresses within a class only, keeps the highest score first, IoU must exceed the threshold", () => {
    const c = [
      cand(0, 0, 10, 10, 0.5, 0),
      cand(1, 0, 11, 10, 0.9, 0), // best of class 0
      cand(0, 0, 10, 10, 0.7, 1), // same place, other class: kept
      cand(5, 0, 15, 10, 0.6, 0), // IoU with the best = 60/140 = 0.43 <= 0.45: kept
      cand(100, 100, 110, 110, 0.3, 0),
    ];
    const kept = nms(c, { iou: 0.45, maxDetections: 300 });
    assert.deepEqual(
      kept.map((k) => k.score),
      [0.9, 0.7, 0.6, 0.3],
    );
    // agnostic: the class-1 box goes too
    assert.deepEqual(
      nms(c, { iou: 0.45, maxDetections: 300, classAware: false }).map((k) => k.score),
      [0.9, 0.6, 0.3],
    );
    // exactly at the threshold stays (IoU 50/150 = 1/3)
    const edge = [cand(0, 0, 10, 10, 0.9), cand(5, 0, 15, 10, 0.8)];
    assert.equal(nms(edge, { iou: 50 / 150, maxDetections: 10 }).length, 2);
    assert.equal(nms(edge, { iou: 0.3, maxDetections: 10 }).length, 1);
    // max detections keeps the best ones; ties keep input order
    assert.deepEqual(
      nms([cand(0, 0, 1, 1, 0.5), cand(5, 5, 6, 6, 0.5), cand(9, 9, 10, 10, 0.8)], {
        iou: 0.45,
        maxDetections: 2,
      }).map((k) => k.x1),
      [9, 0],
    );
    assert.deepEqual(nms([], { iou: 0.45, maxDetections: 5 }), []);
  });
});

describe("lib/inference/yolo: metadata", () => {
  it("parses Ultralytics names (Python dict string) without eval", () => {
    assert.deepEqual(parseClassNames("{0: 'bubble', 1: 'stone', 2: 'tin_drip'}"), ["bubble", "stone", "tin_drip"]);
    assert.deepEqual(parseClassNames(`{1: "it's", 0: 'a\\'b'}`), ["a'b", "it's"]);
    assert.deepEqual(parseClassNames('["a", "b"]'), ["a", "b"]);
    assert.deepEqual(parseClassNames('{"0": "x"}'), ["x"]);
    assert.throws(() => parseClassNames("{0: 'a', 2: 'c'}"), /class ids must be 0..1/);
    assert.throws(() => parseClassNames("{0: __import__('os')}"), /unexpected token/);
    assert.throws(() => parseClassNames("{0: 'a'"), /expected|unexpected end/);
    assert.throws(() => parseClassNames("{0: 1}"), /not a string/);
    assert.deepEqual(parsePythonLiteral("{'a': (1, 2.5), 'b': None, 'c': True}"), { a: [1, 2.5], b: null, c: true });
  });

  it("parses imgsz", () => {
    assert.deepEqual(parseImgsz("[384, 640]"), { height: 384, width: 640 });
    assert.deepEqual(parseImgsz("320"), { height: 320, width: 320 });
    assert.equal(parseImgsz("[0, 1]"), undefined);
    assert.equal(parseImgsz("nonsense"), undefined);
    assert.equal(parseImgsz(undefined), undefined);
  });

  it("reads metadata_props from the ONNX file", () => {
    const m = readOnnxMetadata(fixture("v8.onnx"));
    assert.equal(m.names, "{0: 'bubble', 1: 'stone', 2: 'scratch'}");
    assert.equal(m.imgsz, "[64, 64]");
    assert.deepEqual(readOnnxMetadata(fixture("v8-noname.onnx")), {});
    assert.deepEqual(readOnnxMetadata(fixture("missing.onnx")), {});
    assert.throws(() => onnxMetadataFromBuffer(Uint8Array.from([0x72, 0x05, 0x0a])), /truncated/);
  });
});

describe("lib/inference/yolo: YoloDetector on fixture models", function () {
  this.timeout(30_000);
  let det: YoloDetector | undefined;
  afterEach(async () => {
    await det?.close();
    det = undefined;
  });

  it("v8: names from metadata, NMS per class, boxes in original pixels (letterboxed 128x96)", async () => {
    det = await YoloDetector.load(fixture("v8.onnx"));
    assert.equal(det.layout, "v8");
    assert.deepEqual(det.inputSize, { width: 64, height: 64 });
    assert.deepEqual(det.classNames, ["bubble", "stone", "scratch"]);
    const r = await det.detect(await solid(128, 96));
    assert.deepEqual([r.width, r.height], [128, 96]);
    // r = 0.5, top = 8: x' = x / 0.5, y' = (y - 8) / 0.5
    assert.deepEqual(
      r.detections.map((d) => [d.class, d.classId, boxOf(d)]),
      [
        ["bubble", 0, [30, 14, 20, 20]],
        ["stone", 1, [32, 14, 20, 20]],
        ["scratch", 2, [92, 44, 16, 40]],
        ["stone", 1, [116, 0, 12, 0]],
      ],
    );
    assert.ok(close(r.detections[0]!.score, 0.9) && close(r.detections[3]!.score, 0.5));
    assert.ok(r.ms > 0);
  });

  it("v5: score = obj x class; conf, iou and max detections options", async () => {
    det = await YoloDetector.load(fixture("v5.onnx"));
    assert.equal(det.layout, "v5");
    assert.deepEqual(det.classNames, ["bubble", "it's a stone"]);
    const img = await solid(64, 64);
    const r = await det.detect(img);
    assert.deepEqual(
      r.detections.map((d) => [d.classId, boxOf(d)]),
      [
        [0, [24, 24, 16, 16]],
        [1, [8, 8, 4, 4]],
        [1, [57, 7, 6, 6]],
      ],
    );
    assert.ok(close(r.detections[0]!.score, 0.81) && close(r.detections[2]!.score, 0.27));
    await det.close();
    det = await YoloDetector.load(fixture("v5.onnx"), { conf: 0.3, iou: 0.95, maxDetections: 2 });
    const r2 = await det.detect(img);
    assert.deepEqual(
      r2.detections.map((d) => Math.round(d.score * 100)),
      [81, 72], // iou 0.95 keeps the overlapping bubble; max 2
    );
  });

  it("end-to-end: no second NMS, conf applies; dynamic input size from imgsz metadata", async () => {
    det = await YoloDetector.load(fixture("e2e.onnx"));
    assert.equal(det.layout, "e2e");
    const r = await det.detect(await solid(128, 96));
    assert.deepEqual(
      r.detections.map((d) => [d.class, boxOf(d)]),
      [
        ["scratch", [8, 0, 32, 32]],
        ["bubble", [60, 44, 20, 28]],
        ["bubble", [62, 44, 20, 28]],
      ],
    );
    await det.close();
    det = await YoloDetector.load(fixture("v8-dynamic.onnx"));
    assert.deepEqual(det.inputSize, { width: 64, height: 64 });
    assert.equal((await det.detect(await solid(64, 64))).detections.length, 4);
  });

  it("class names: class0.. without metadata; the option overrides; PNG input works", async () => {
    det = await YoloDetector.load(fixture("v8-noname.onnx"));
    assert.deepEqual(det.classNames, ["class0", "class1", "class2"]);
    await det.close();
    det = await YoloDetector.load(fixture("v8.onnx"), { classNames: ["a", "b", "c"] });
    const png = await sharp({ create: { width: 64, height: 64, channels: 4, background: "#123456" } })
      .png()
      .toBuffer();
    const r = await det.detect(png);
    assert.deepEqual(
      r.detections.map((d) => d.class),
      ["a", "b", "c", "b"],
    );
  });

  it("rejects unknown layouts, wrong input shapes, class-count mismatches and missing files at load", async () => {
    await assert.rejects(YoloDetector.load(fixture("bad-layout.onnx")), {
      code: "model-layout",
      message: /unknown YOLO output layout \[1, 10, 10\]/,
    });
    await assert.rejects(YoloDetector.load(fixture("bad-input.onnx")), {
      code: "model-input",
      message: /shape \[1, 1, 64, 64\]; a YOLO model takes an RGB image/,
    });
    await assert.rejects(YoloDetector.load(fixture("v8-wrong-nc.onnx")), {
      code: "model-classes",
      message: /3 class channel\(s\) but 5 class name\(s\)/,
    });
    await assert.rejects(YoloDetector.load(fixture("v8.onnx"), { classNames: ["a", "b"] }), /but 2 class name/);
    await assert.rejects(YoloDetector.load(fixture("missing.onnx")), /model file not found/);
    await assert.rejects(YoloDetector.load(fixture("v8.onnx"), { conf: 2 }), /conf must be a number from 0 to 1/);
  });

  it("empty, non-image and truncated data are clear errors; the detector keeps working", async () => {
    det = await YoloDetector.load(fixture("v8.onnx"));
    const jpeg = await solid(64, 64);
    await assert.rejects(det.detect(Buffer.alloc(0)), { code: "bad-image", message: /empty/ });
    await assert.rejects(det.detect(Buffer.from("not an image")), { code: "bad-image", message: /cannot decode/ });
    await assert.rejects(det.detect(jpeg.subarray(0, Math.floor(jpeg.length / 2))), { code: "bad-image" });
    await assert.rejects(decodeImage("x" as unknown as Buffer), /must be a Buffer/);
    assert.equal((await det.detect(jpeg)).detections.length, 4);
  });

  it("matches Ultralytics' predictions on the same ONNX and JPEGs (bench-320, odd sizes, portrait)", async () => {
    // reference/reference.json: Ultralytics predict on these files (reference.py). Tolerances: our JPEG
    // decoding (sharp) and cv2's agree, the resize follows cv2 INTER_LINEAR to +-1 grey level, and the
    // onnxruntime builds differ; measured: <= 0.2 px and 0.0003 score.
    const dir = fixture("reference");
    const ref = JSON.parse(fs.readFileSync(path.join(dir, "reference.json"), "utf8")) as {
      conf: number;
      iou: number;
      images: Array<{
        file: string;
        width: number;
        height: number;
        detections: Array<{ classId: number; score: number; xyxy: number[] }>;
      }>;
    };
    det = await YoloDetector.load(fixture("bench-320.onnx"), { conf: ref.conf, iou: ref.iou });
    assert.ok(ref.images.length >= 5);
    for (const img of ref.images) {
      const r = await det.detect(fs.readFileSync(path.join(dir, img.file)));
      assert.deepEqual([r.width, r.height], [img.width, img.height], img.file);
      assert.equal(r.detections.length, img.detections.length, img.file);
      const ours = [...r.detections];
      for (const d of img.detections) {
        const dist = (o: YoloDetection): number =>
          Math.max(
            Math.abs(o.box.x - d.xyxy[0]!),
            Math.abs(o.box.y - d.xyxy[1]!),
            Math.abs(o.box.x + o.box.w - d.xyxy[2]!),
            Math.abs(o.box.y + o.box.h - d.xyxy[3]!),
          );
        const k = ours.findIndex((o) => o.classId === d.classId && dist(o) <= 0.5);
        assert.ok(k >= 0, `${img.file}: no box of class ${d.classId} within 0.5 px of [${d.xyxy.join(", ")}]`);
        assert.ok(Math.abs(ours[k]!.score - d.score) <= 0.005, `${img.file}: score ${ours[k]!.score} vs ${d.score}`);
        ours.splice(k, 1);
      }
    }
  });
});
