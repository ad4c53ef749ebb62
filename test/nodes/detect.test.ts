import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import detectNode from "../../nodes/detect/detect";
import { detectConfig, detectSettings, resolveModel } from "../../nodes/detect/config";
import { detectionRecord, frameOf } from "../../nodes/detect/frame";
import { FrameGate, openTickets } from "../../lib/camera/gate";
import { parseRecords } from "../../lib/record";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import { collect, lastStatus, statusesOf } from "../support/node-status";
import { detectFlow, yoloFixture } from "./fixtures/detect-flows";

const jpeg = (width = 128, height = 96): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 150 } } })
    .jpeg()
    .toBuffer();

describe("detect node", function () {
  this.timeout(30_000);
  let userDir: string;
  useHelper();
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-detect-"));
    helper.settings({ userDir });
  });
  afterEach(() => {
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("migrates and validates its settings; resolves the shipped model, absolute and relative paths", () => {
    const c = detectConfig({ model: "x.onnx" });
    assert.equal(c.version, 1);
    assert.equal(c.conf, 0.25);
    assert.equal(c.queue, 1);
    assert.throws(() => detectSettings({ ...c, model: " " }), /model is required/);
    assert.throws(() => detectSettings({ ...c, conf: "1.5" }), /confidence/);
    assert.throws(() => detectSettings({ ...c, maxDetections: "0" }), /max detections/);
    assert.deepEqual(detectSettings({ ...c, classNames: " a, b ,," }).classNames, ["a", "b"]);
    assert.equal(detectSettings(c).classNames, undefined);
    assert.equal(resolveModel("lineguard:yolo-glass", userDir, "/pkg"), "/pkg/models/yolo-glass/model.onnx");
    assert.throws(() => resolveModel("lineguard:nope", userDir, "/pkg"), /unknown shipped model/);
    assert.equal(resolveModel("/abs/m.onnx", userDir, "/pkg"), "/abs/m.onnx");
    fs.writeFileSync(path.join(userDir, "mine.onnx"), "");
    assert.equal(resolveModel("mine.onnx", userDir, "/pkg"), path.join(userDir, "mine.onnx"));
    assert.equal(resolveModel("other.onnx", userDir, "/pkg"), "/pkg/other.onnx");
  });

  it("reads frames and Buffers; the record it builds passes the record parser", async () => {
    const img = await jpeg(8, 8);
    const f = frameOf({ topic: "t", payload: { source: "cam-1", ts: 5, image: img, width: 8, height: 8 } });
    assert.deepEqual([f.source, f.ts, f.format], ["cam-1", 5, "jpeg"]);
    const b = frameOf({ topic: "line-2", payload: img }, () => 42);
    assert.deepEqual([b.source, b.ts], ["line-2", 42]);
    assert.throws(() => frameOf({ payload: { image: "x" } }), /msg.payload must be a frame/);
    const rec = detectionRecord(
      f,
      [{ class: "stone", classId: 1, score: 0.5, box: { x: 1, y: 2, w: 3, h: 4 } }],
      ["bubble", "stone"],
    );
    assert.deepEqual(rec.values, { defects: 1, bubble: 0, stone: 1 });
    const parsed = parseRecords(rec, "x");
    assert.equal(parsed.rejected.length, 0);
    assert.equal(parsed.records[0]!.detections!.length, 1);
  });

  it("frame in -> detections record out (counts per class, 0s included), frame kept, annotated JPEG, green status", async () => {
    await helper.load([detectNode], detectFlow({ model: yoloFixture("v8.onnx"), annotate: true }));
    const det = helper.getNode("det");
    const out = collect(helper.getNode("out"));
    const completed = collect(helper.getNode("completed"));
    await eventually(() => lastStatus(det)?.fill === "green", 10_000, 20);
    const image = await jpeg();
    det.receive({ payload: { source: "float-1", ts: 1000, image, width: 128, height: 96, format: "jpeg" } });
    await eventually(() => completed.length === 1, 10_000, 20);
    const m = out[0];
    assert.equal(m.topic, "float-1");
    assert.equal(m.payload.source, "float-1");
    assert.equal(m.payload.ts, 1000);
    assert.deepEqual(m.payload.values, { defects: 4, bubble: 1, stone: 2, scratch: 1 });
    assert.deepEqual(m.payload.detections[0].box, { x: 30, y: 14, w: 20, h: 20 });
    assert.equal(m.frame.image, image);
    assert.deepEqual([m.frame.width, m.frame.height], [128, 96]);
    const meta = await sharp(m.annotated).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 128, 96]);
    await eventually(() => /4 detect.status.done|detect.status.done/.test(String(lastStatus(det)?.text)), 5_000, 20);
    assert.equal(lastStatus(det)?.fill, "green");
  });

  it("a Buffer payload takes msg.topic as the source; without keepFrame there is no msg.frame", async () => {
    await helper.load([detectNode], detectFlow({ model: yoloFixture("e2e.onnx"), keepFrame: false }));
    const det = helper.getNode("det");
    const out = collect(helper.getNode("out"));
    await eventually(() => lastStatus(det)?.fill === "green", 10_000, 20);
    det.receive({ topic: "cam-9", payload: await jpeg(64, 64) });
    await eventually(() => out.length === 1, 10_000, 20);
    assert.equal(out[0].payload.source, "cam-9");
    assert.equal(out[0].frame, undefined);
    assert.equal(out[0].annotated, undefined);
    assert.equal(out[0].payload.values.defects, 3);
  });

  it("corrupt JPEG, empty buffer or no image: the catch node sees a clear error, red status; it keeps working", async () => {
    await helper.load([detectNode], detectFlow({ model: yoloFixture("v8.onnx"), queue: 10 }));
    const det = helper.getNode("det");
    const out = collect(helper.getNode("out"));
    const caught = collect(helper.getNode("caught"));
    await eventually(() => lastStatus(det)?.fill === "green", 10_000, 20);
    const good = await jpeg();
    det.receive({ payload: { source: "c", ts: 1, image: good.subarray(0, 200) } });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.match(caught[0].error.message, /cannot decode the image/);
    assert.equal(lastStatus(det)?.fill, "red");
    det.receive({ payload: Buffer.alloc(0) });
    det.receive({ payload: { nothing: true } });
    await eventually(() => caught.length === 3, 10_000, 20);
    const msgs = caught.slice(1).map((c) => String(c.error.message));
    assert.ok(
      msgs.some((m) => /image is empty/.test(m)),
      msgs.join(" | "),
    );
    assert.ok(
      msgs.some((m) => /msg.payload must be a frame/.test(m)),
      msgs.join(" | "),
    );
    det.receive({ payload: good });
    await eventually(() => out.length === 1, 10_000, 20);
    await eventually(() => lastStatus(det)?.fill === "green", 5_000, 20);
  });

  it("a model of unknown layout: red status at deploy, every message fails", async () => {
    await helper.load([detectNode], detectFlow({ model: yoloFixture("bad-layout.onnx") }));
    const det = helper.getNode("det");
    const caught = collect(helper.getNode("caught"));
    await eventually(() => lastStatus(det)?.fill === "red", 10_000, 20);
    assert.match(String(lastStatus(det)?.text), /detect.errors.load/);
    det.receive({ payload: await jpeg() });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.match(caught[0].error.message, /unknown YOLO output layout/);
  });

  it("a missing model or bad settings: red status, messages fail", async () => {
    await helper.load([detectNode], detectFlow({ model: path.join(userDir, "nope.onnx") }));
    const det = helper.getNode("det");
    const caught = collect(helper.getNode("caught"));
    await eventually(() => lastStatus(det)?.fill === "red", 10_000, 20);
    det.receive({ payload: await jpeg() });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.match(caught[0].error.message, /model file not found/);
    await helper.unload();
    await helper.load([detectNode], detectFlow({ model: yoloFixture("v8.onnx"), iou: "abc" }));
    assert.equal(lastStatus(helper.getNode("det"))?.fill, "red");
    assert.match(String(lastStatus(helper.getNode("det"))?.text), /IoU must be a number/);
  });

  it("latest wins: frames arriving while one is detected replace the waiting one; drops counted; every message completes", async () => {
    await helper.load([detectNode], detectFlow({ model: yoloFixture("v8.onnx"), queue: 1 }));
    const det = helper.getNode("det");
    const out = collect(helper.getNode("out"));
    const completed = collect(helper.getNode("completed"));
    await eventually(() => lastStatus(det)?.fill === "green", 10_000, 20);
    const image = await jpeg();
    for (let k = 0; k < 5; k++) det.receive({ payload: { source: "c", ts: k, image } });
    await eventually(() => completed.length === 5, 10_000, 20);
    // frame 0 was being detected, 1..3 were replaced while waiting, 4 was the latest
    assert.deepEqual(
      out.map((m) => m.payload.ts),
      [0, 4],
    );
    await eventually(() => statusesOf(det).some((s) => /detect.status.drops/.test(String(s.text))), 5_000, 20);
  });

  it("back-pressure with camera in's gate: the ticket is held while detecting, the camera keeps the latest frame", async () => {
    await helper.load([detectNode], detectFlow({ model: yoloFixture("v8.onnx") }));
    const det = helper.getNode("det");
    const out = collect(helper.getNode("out"));
    await eventually(() => lastStatus(det)?.fill === "green", 10_000, 20);
    const image = await jpeg();
    const before = openTickets();
    const gate = new FrameGate<number>((ts, ticket) => det.receive({ payload: { source: "g", ts, image, ticket } }));
    for (let k = 0; k < 5; k++) gate.offer(k);
    // frame 0 went out and was claimed; 1..4 waited in the gate, each replacing the one before
    assert.deepEqual(gate.stats, { emitted: 1, drops: 3, inFlight: 1, pending: true });
    await eventually(() => out.length === 2, 10_000, 20);
    assert.deepEqual(
      out.map((m) => m.payload.ts),
      [0, 4],
    );
    assert.equal(out[1].frame.ticket, undefined);
    await eventually(() => gate.stats.inFlight === 0 && openTickets() === before, 5_000, 20);
    assert.equal(gate.stats.emitted, 2);
    gate.close();
  });
});
