import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AnomalyScorer, Calibrator, alignWindow, packAligned, readModelDir } from "../../../lib/inference/anomaly";
import { packWindow, parseManifest } from "../../../lib/inference/lstm-ae";

function fixtures(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return path.join(dir, "test", "fixtures", "models");
}

const window = (source: string, k: number, tags = ["c", "x", "a", "b"]) => ({
  source,
  tags,
  data: Array.from({ length: 10 }, (_, t) =>
    tags.map((tag) => (tag === "a" ? k + t : tag === "b" ? -k : tag === "c" ? 2 * t : 99)),
  ),
});

describe("lib/inference/anomaly", function () {
  this.timeout(30_000);

  it("reads a model folder and says what is missing or wrong", () => {
    const m = readModelDir(path.join(fixtures(), "scale-ae"));
    assert.equal(m.manifest.window, 8);
    assert.ok(m.modelPath.endsWith("scale-ae.onnx"));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lg-model-"));
    try {
      assert.throws(() => readModelDir(tmp), /no manifest.json/);
      fs.writeFileSync(path.join(tmp, "manifest.json"), "{ nope");
      assert.throws(() => readModelDir(tmp), /not valid JSON/);
      fs.writeFileSync(
        path.join(tmp, "manifest.json"),
        JSON.stringify({ features: ["a"], window: 2, scaler: { mean: [0], std: [1] }, threshold: 1 }),
      );
      assert.throws(() => readModelDir(tmp), /model file not found/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("aligns window columns to the manifest's features and takes the last T rows", () => {
    const m = parseManifest({
      features: ["a", "b", "c"],
      window: 8,
      scaler: { mean: [0, 0, 0], std: [1, 1, 1] },
      threshold: 1,
    });
    const w = window("m1", 1);
    const a = alignWindow(w, m);
    assert.equal(a.length, 8);
    assert.deepEqual(a[0], [1 + 2, -1, 4]);
    assert.throws(() => alignWindow({ ...w, tags: ["a", "b"] }, m), /lacks feature\(s\) the model needs: c/);
    assert.throws(() => alignWindow({ ...w, data: w.data.slice(0, 3) }, m), /3 samples, the model needs 8/);
    assert.throws(() => alignWindow({ source: "x" } as never, m), /needs tags/);
  });

  it("packAligned equals alignWindow + packWindow and refuses the same bad windows", () => {
    const m = parseManifest({
      features: ["a", "b", "c"],
      window: 8,
      scaler: { mean: [1, 2, 3], std: [2, 4, 8] },
      threshold: 1,
    });
    const w = window("m1", 2);
    assert.deepEqual(Array.from(packAligned(w, m)), Array.from(packWindow(alignWindow(w, m), m)));
    assert.throws(() => packAligned({ ...w, tags: ["a", "b"] }, m), /lacks feature\(s\) the model needs: c/);
    assert.throws(() => packAligned({ ...w, data: w.data.slice(0, 3) }, m), /3 samples/);
    const bad = window("m2", 1);
    bad.data[9]![0] = Number.NaN;
    assert.throws(() => packAligned(bad, m), /not finite/);
    assert.throws(() => packAligned({ ...w, data: [...w.data.slice(1), "x" as never] }, m), /not a list/);
  });

  it("scores windows of many sources in shared runs; the score matches the known error", async () => {
    const s = new AnomalyScorer(readModelDir(path.join(fixtures(), "scale-ae")), { maxBatch: 16, maxWaitMs: 5 });
    try {
      await s.load();
      const res = await Promise.all(Array.from({ length: 20 }, (_, k) => s.score(window(`m${k}`, k))));
      assert.ok(s.runs <= 3, `20 windows took ${s.runs} runs`);
      res.forEach((r, k) => {
        const rows = alignWindow(window(`m${k}`, k), s.manifest);
        let sum = 0;
        for (const row of rows) for (const v of row) sum += (0.5 * v) ** 2;
        assert.ok(Math.abs(r.score - sum / 24) < 1e-3 * Math.max(1, sum / 24), `window ${k}`);
        assert.equal(r.anomaly, r.score > 1);
        assert.equal(r.model, "scale-ae@1.0.0");
      });
      await assert.rejects(
        s.score({ ...window("bad", 1), data: window("bad", 1).data.map((r) => r.map(() => NaN)) }),
        /not finite/,
      );
    } finally {
      await s.close();
    }
  });

  it("a model whose shape does not fit the manifest is a clear error at load", async () => {
    const s = new AnomalyScorer(readModelDir(path.join(fixtures(), "wrong-window")));
    try {
      await assert.rejects(s.load(), /needs \[batch, 16, 3\]/);
    } finally {
      await s.close();
    }
  });

  it("calibrates after the target count of normal windows", () => {
    const c = new Calibrator(4, { kind: "percentile", p: 100 });
    assert.equal(c.add(1), undefined);
    assert.equal(c.add(3), undefined);
    assert.equal(c.add(2), undefined);
    assert.equal(c.add(0.5), 3);
    assert.equal(c.add(10), undefined);
    assert.equal(c.count, 4);
  });
});
