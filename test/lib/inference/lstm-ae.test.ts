import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  AeManifest,
  calibrateThreshold,
  checkModel,
  packWindows,
  parseManifest,
  scoreWindows,
} from "../../../lib/inference/lstm-ae";
import { WorkerSession } from "../../../lib/inference/worker-session";

const manifest = (over: Record<string, unknown> = {}): unknown => ({
  name: "t",
  version: "1",
  features: ["a", "b", "c"],
  window: 8,
  scaler: { mean: [0, 0, 0], std: [1, 1, 1] },
  threshold: 0.5,
  ...over,
});

function fixture(name: string): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return path.join(dir, "test", "fixtures", "models", name);
}

describe("lib/inference/lstm-ae", () => {
  it("parses a manifest and rejects bad ones with the reason", () => {
    const m = parseManifest(manifest());
    assert.deepEqual(m.features, ["a", "b", "c"]);
    const cases: Array<[unknown, RegExp]> = [
      [null, /JSON object/],
      [manifest({ features: [] }), /features/],
      [manifest({ features: ["a", "a", "b"] }), /repeat/],
      [manifest({ window: 0 }), /window/],
      [manifest({ scaler: { mean: [0, 0], std: [1, 1, 1] } }), /one number per feature/],
      [manifest({ scaler: { mean: [0, 0, 0], std: [1, 0, 1] } }), /positive/],
      [manifest({ threshold: NaN }), /threshold/],
    ];
    for (const [raw, re] of cases) assert.throws(() => parseManifest(raw), re);
  });

  it("checks a model against the manifest: dynamic batch fits, a wrong window or feature count does not", () => {
    const m = parseManifest(manifest()) as AeManifest;
    const io = (shape: Array<number | string>) => ({
      inputs: [{ name: "input", type: "float32", shape }],
      outputs: [{ name: "output", type: "float32", shape }],
      metadata: {},
    });
    assert.deepEqual(checkModel(io(["batch", 8, 3]), m), { input: "input", output: "output" });
    assert.throws(() => checkModel(io(["batch", 16, 3]), m), /needs \[batch, 8, 3\]/);
    assert.throws(() => checkModel(io(["batch", 8, 4]), m), /needs \[batch, 8, 3\]/);
    assert.throws(() => checkModel(io(["batch", 24]), m), /needs/);
    assert.throws(() => checkModel(io(["batch", 8, 3]), { ...m, input: "x" }), /no input named "x"/);
  });

  it("packs windows standardised, and refuses wrong sizes or non-finite values", () => {
    const m = parseManifest(manifest({ scaler: { mean: [1, 2, 3], std: [2, 2, 2] } }));
    const w = Array.from({ length: 8 }, (_, t) => [1 + t, 2, 3 + 2 * t]);
    const x = packWindows([w, w], m);
    assert.equal(x.length, 2 * 8 * 3);
    assert.deepEqual(Array.from(x.slice(3, 6)), [0.5, 0, 1]);
    assert.throws(() => packWindows([w.slice(1)], m), /7 samples/);
    assert.throws(() => packWindows([[...w.slice(1), [1, 2]]], m), /2 features/);
    assert.throws(() => packWindows([[...w.slice(1), [1, NaN, 2]]], m), /not finite/);
  });

  it("scores windows: MSE and per-feature contributions", () => {
    const m = parseManifest(manifest());
    const input = new Float32Array(2 * 8 * 3).fill(0);
    const output = new Float32Array(2 * 8 * 3).fill(0);
    for (let t = 0; t < 8; t++) output[(8 + t) * 3 + 1] = 2; // window 1, feature b off by 2
    const [a, b] = scoreWindows(input, output, 2, m);
    assert.equal(a!.score, 0);
    assert.equal(b!.score, (8 * 4) / 24);
    assert.deepEqual(b!.contributions, { a: 0, b: 1, c: 0 });
    assert.throws(() => scoreWindows(input, output.slice(1), 2, m), /expected 48/);
  });

  it("calibrates a threshold by percentile or mean + k std", () => {
    const xs = Array.from({ length: 101 }, (_, i) => i);
    assert.equal(calibrateThreshold(xs, { kind: "percentile", p: 99 }), 99);
    assert.equal(calibrateThreshold([1, 2, 3, 4], { kind: "percentile", p: 50 }), 2.5);
    assert.ok(Math.abs(calibrateThreshold([1, 3], { kind: "mean-std", k: 2 }) - 4) < 1e-12);
    assert.throws(() => calibrateThreshold([NaN], { kind: "mean-std", k: 3 }), /no finite/);
  });

  it("end to end on a real ONNX model in a worker: scores equal the known reconstruction error", async () => {
    const m = parseManifest(manifest());
    const s = new WorkerSession(fixture("scale-ae.onnx"));
    try {
      const names = checkModel(await s.load(), m);
      const windows = [0, 1, 2].map((k) => Array.from({ length: 8 }, (_, t) => [k + t, -k, 2 * t]));
      const x = packWindows(windows, m);
      const copy = Float32Array.from(x);
      const { outputs } = await s.run({ [names.input]: { type: "float32", data: x, dims: [3, 8, 3] } });
      const scores = scoreWindows(copy, outputs[names.output]!.data as Float32Array, 3, m);
      // the model outputs 0.5 x, so the error is (0.5 x)^2 averaged
      windows.forEach((w, k) => {
        let sum = 0;
        for (const row of w) for (const v of row) sum += (0.5 * v) ** 2;
        assert.ok(Math.abs(scores[k]!.score - sum / 24) < 1e-4, `window ${k}`);
      });
    } finally {
      await s.close();
    }
  });
});
