import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { WorkerSession } from "../../../lib/inference/worker-session";

function fixture(name: string): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return path.join(dir, "test", "fixtures", "models", name);
}

describe("lib/inference/worker-session (onnxruntime-node in a worker thread)", function () {
  this.timeout(30_000);
  let s: WorkerSession;
  afterEach(async () => {
    await s?.close();
  });

  it("loads a model and reports its inputs and outputs with the dynamic batch axis", async () => {
    s = new WorkerSession(fixture("scale-ae.onnx"));
    const info = await s.load();
    assert.deepEqual(
      info.inputs.map((i) => i.name),
      ["input"],
    );
    assert.deepEqual(
      info.outputs.map((o) => o.name),
      ["output"],
    );
    if (info.inputs[0]!.shape) assert.deepEqual(info.inputs[0]!.shape.slice(1), [8, 3]);
  });

  it("runs a batch and returns exact outputs, with buffers transferred", async () => {
    s = new WorkerSession(fixture("scale-ae.onnx"));
    const n = 5;
    const data = new Float32Array(n * 8 * 3).map((_, i) => i);
    const { outputs } = await s.run({ input: { type: "float32", data, dims: [n, 8, 3] } });
    const out = outputs.output!;
    assert.deepEqual(out.dims, [n, 8, 3]);
    for (let i = 0; i < out.data.length; i++) assert.equal(Number(out.data[i]), i * 0.5);
    assert.equal(data.length, 0, "the input buffer was transferred to the worker");
  });

  it("a wrong input shape is a clear error, and the session goes on", async () => {
    s = new WorkerSession(fixture("scale-ae.onnx"));
    await assert.rejects(
      s.run({ input: { type: "float32", data: new Float32Array(2 * 7 * 3), dims: [2, 7, 3] } }),
      /dimension|shape|Got invalid/i,
    );
    const { outputs } = await s.run({ input: { type: "float32", data: new Float32Array(24), dims: [1, 8, 3] } });
    assert.equal(outputs.output!.data.length, 24);
  });

  it("a missing or corrupt model file is a clear error, not a crash", async () => {
    s = new WorkerSession(fixture("does-not-exist.onnx"));
    await assert.rejects(s.load(), /model file not found/);
    s = new WorkerSession(__filename);
    await assert.rejects(s.load(), /cannot load/);
  });

  it("keeps the event loop free while it infers (lag p99 printed)", async () => {
    s = new WorkerSession(fixture("scale-ae.onnx"));
    await s.load();
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const runs = [];
    for (let i = 0; i < 200; i++) {
      runs.push(s.run({ input: { type: "float32", data: new Float32Array(256 * 24), dims: [256, 8, 3] } }));
    }
    await Promise.all(runs);
    h.disable();
    console.log(`      event-loop lag p99 during 200 runs: ${(h.percentile(99) / 1e6).toFixed(2)} ms`);
  });
});
