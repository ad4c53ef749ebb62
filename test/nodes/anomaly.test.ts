import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import anomalyNode from "../../nodes/anomaly/anomaly";
import { ANOMALY_DEFAULTS, anomalyConfig, anomalySettings, resolveModelDir } from "../../nodes/anomaly/config";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import { collect, lastStatus } from "../support/node-status";

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}
const MODELS = path.join(repoRoot(), "test", "fixtures", "models");

/** anomaly -> out1 / out2 helpers, a scoped catch and complete node. */
function flow(over: Record<string, unknown> = {}): object[] {
  return [
    { id: "tab", type: "tab" },
    {
      ...ANOMALY_DEFAULTS,
      id: "an",
      z: "tab",
      type: "anomaly",
      modelDir: path.join(MODELS, "scale-ae"),
      threshold: "",
      version: 1,
      ...over,
      wires: [["out1"], ["out2"]],
    },
    { id: "out1", z: "tab", type: "helper" },
    { id: "out2", z: "tab", type: "helper" },
    { id: "catcher", z: "tab", type: "catch", scope: ["an"], uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
    { id: "completer", z: "tab", type: "complete", scope: ["an"], uncaught: false, wires: [["completed"]] },
    { id: "completed", z: "tab", type: "helper" },
  ];
}

const win = (source: string, k: number, tags = ["b", "a", "c"]) => ({
  source,
  tags,
  data: Array.from({ length: 8 }, (_, t) => tags.map((x) => (x === "a" ? k + t : x === "b" ? -k : 2 * t))),
});
const errorOf = (k: number): number => {
  let s = 0;
  for (let t = 0; t < 8; t++) for (const v of [k + t, -k, 2 * t]) s += (0.5 * v) ** 2;
  return s / 24;
};

describe("anomaly node", function () {
  this.timeout(30_000);
  let userDir: string;
  useHelper();
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-anomaly-"));
    helper.settings({ userDir });
  });
  afterEach(() => {
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("migrates and validates its settings; relative model folders resolve in the user dir, then the package", () => {
    const c = anomalyConfig({ modelDir: "x" });
    assert.equal(c.version, 1);
    assert.equal(c.maxBatch, 64);
    assert.throws(() => anomalySettings({ ...c, modelDir: "" }), /model folder/);
    assert.throws(() => anomalySettings({ ...c, maxBatch: "0" }), /max batch/);
    assert.throws(() => anomalySettings({ ...c, threshold: "abc" }), /threshold/);
    assert.equal(anomalySettings({ ...c, threshold: " 0.25 " }).threshold, 0.25);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lg-ud-"));
    fs.mkdirSync(path.join(tmp, "mine"));
    assert.equal(resolveModelDir("mine", tmp), path.join(tmp, "mine"));
    assert.equal(resolveModelDir("models/x", tmp), path.join(repoRoot(), "models", "x"));
    assert.equal(resolveModelDir("/abs/m", tmp), "/abs/m");
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("loads the model (green dot) and scores a window; the result lands on the record", async () => {
    await helper.load([anomalyNode], flow());
    const an = helper.getNode("an");
    const out1 = collect(helper.getNode("out1"));
    const completed = collect(helper.getNode("completed"));
    await eventually(() => lastStatus(an)?.fill === "green", 10_000, 20);
    an.receive({ topic: "m1", payload: { ts: 1, values: { a: 1 } }, window: win("m1", 3) });
    await eventually(() => completed.length === 1, 10_000, 20);
    const m = out1[0];
    assert.equal(m.anomaly.length, 1);
    assert.ok(Math.abs(m.anomaly[0].score - errorOf(3)) < 1e-3 * errorOf(3));
    assert.equal(m.anomaly[0].anomaly, errorOf(3) > 1);
    assert.equal(m.payload.anomaly.score, m.anomaly[0].score);
    assert.deepEqual(Object.keys(m.payload.anomaly.contributions).sort(), ["a", "b", "c"]);
  });

  it("scores windows of several sources in one message and attaches each to its source's record", async () => {
    await helper.load([anomalyNode], flow());
    const an = helper.getNode("an");
    const out1 = collect(helper.getNode("out1"));
    await eventually(() => lastStatus(an)?.fill === "green", 10_000, 20);
    const payload = [0, 1, 2].map((k) => ({ source: `m${k}`, ts: k, values: { a: k } }));
    an.receive({ payload, window: [0, 1, 2].map((k) => win(`m${k}`, k)) });
    await eventually(() => out1.length === 1, 10_000, 20);
    out1[0].payload.forEach((rec: any, k: number) => {
      assert.ok(Math.abs(rec.anomaly.score - errorOf(k)) <= 1e-3 * Math.max(1, errorOf(k)), `m${k}`);
    });
  });

  it("bad windows go to output 2 with reasons; the catch node sees the error; the good ones are scored", async () => {
    await helper.load([anomalyNode], flow());
    const an = helper.getNode("an");
    const out1 = collect(helper.getNode("out1"));
    const out2 = collect(helper.getNode("out2"));
    const caught = collect(helper.getNode("caught"));
    await eventually(() => lastStatus(an)?.fill === "green", 10_000, 20);
    const nan = win("m3", 1);
    nan.data[2]![1] = NaN;
    an.receive({
      payload: {},
      window: [win("m1", 1), win("m2", 1, ["a", "b"]), nan, "junk", { ...win("m4", 1), data: [] }],
    });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.equal(out1[0].anomaly.length, 1);
    assert.deepEqual(
      out2[0].rejected.map((r: any) => r.index),
      [1, 2, 3, 4],
    );
    assert.match(out2[0].rejected[0].reason, /lacks feature\(s\) the model needs: c/);
    assert.match(out2[0].rejected[1].reason, /not finite/);
    assert.match(caught[0].error.message, /4\/5 window\(s\) not scored/);
    assert.equal(lastStatus(an)?.fill, "red");
  });

  it("a message without a window fails with a clear error", async () => {
    await helper.load([anomalyNode], flow());
    const an = helper.getNode("an");
    const caught = collect(helper.getNode("caught"));
    an.receive({ payload: { ts: 1, values: { a: 1 } } });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.match(caught[0].error.message, /anomaly.errors.noWindow/);
  });

  it("a missing model folder: red status at deploy, every message fails", async () => {
    await helper.load([anomalyNode], flow({ modelDir: path.join(MODELS, "nope") }));
    const an = helper.getNode("an");
    const caught = collect(helper.getNode("caught"));
    assert.equal(lastStatus(an)?.fill, "red");
    an.receive({ payload: {}, window: win("m1", 1) });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.match(caught[0].error.message, /no manifest.json/);
  });

  it("a model of the wrong shape: red status after loading, every message fails", async () => {
    await helper.load([anomalyNode], flow({ modelDir: path.join(MODELS, "wrong-window") }));
    const an = helper.getNode("an");
    const caught = collect(helper.getNode("caught"));
    await eventually(() => lastStatus(an)?.fill === "red", 10_000, 20);
    assert.match(String(lastStatus(an)?.text), /shape \[batch, 8, 3\]/);
    an.receive({ payload: {}, window: win("m1", 1) });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.match(caught[0].error.message, /needs \[batch, 16, 3\]/);
  });

  it("calibrates the threshold on the first windows and keeps it across a redeploy", async () => {
    const cfg = { calibrate: true, calibrationWindows: 4, calibrationMethod: "percentile", calibrationParam: 100 };
    await helper.load([anomalyNode], flow(cfg));
    let an = helper.getNode("an");
    const out1 = collect(helper.getNode("out1"));
    await eventually(
      () => lastStatus(an)?.fill === "yellow" && /calibrating/.test(String(lastStatus(an)?.text)),
      10_000,
      20,
    );
    for (const k of [1, 2, 3, 4]) an.receive({ payload: {}, window: win("m1", k) });
    await eventually(() => out1.length === 4, 10_000, 20);
    assert.ok(
      out1.every((m) => m.anomaly[0].anomaly === false),
      "no alarms while calibrating",
    );
    const saved = JSON.parse(fs.readFileSync(path.join(userDir, "lineguard", "anomaly-an.json"), "utf8"));
    assert.ok(Math.abs(saved.threshold - errorOf(4)) < 1e-3 * errorOf(4));
    await helper.unload();
    await helper.load([anomalyNode], flow(cfg));
    an = helper.getNode("an");
    const again = collect(helper.getNode("out1"));
    await eventually(() => lastStatus(an)?.fill === "green", 10_000, 20);
    an.receive({ payload: {}, window: win("m1", 9) });
    await eventually(() => again.length === 1, 10_000, 20);
    assert.equal(again[0].anomaly[0].threshold, saved.threshold);
    assert.equal(again[0].anomaly[0].anomaly, true);
  });
});
