import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import features from "../../nodes/features/features";
import { FEATURES_DEFAULTS, featuresConfig, featuresOptions } from "../../nodes/features/config";
import type { FeaturesConfig } from "../../nodes/features/types";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import { FEATURES_NODE, featuresFlow, legacyFeaturesFlow } from "./fixtures/features-flows";
import { collect, lastStatus, sleep, statusesOf } from "./fixtures/kafka-support";

const rec = (ts: unknown, values: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ts,
  values,
  ...extra,
});

describe("features config (migration, validation)", () => {
  it("migrates a config without version: every missing setting takes its default", () => {
    const c = featuresConfig({ size: 7 });
    assert.equal(c.version, 1);
    assert.equal(c.size, 7);
    for (const [k, v] of Object.entries(FEATURES_DEFAULTS)) {
      if (k !== "size") assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, k);
    }
    const o = featuresOptions(c);
    assert.equal(o.windowType, "count");
    assert.equal(o.stats.length, 12);
    assert.equal(o.tags, undefined);
    const cur = { ...c, hop: 3 };
    assert.equal(featuresConfig(cur).hop, 3);
  });

  it("turns settings into engine options (strings from the editor, tumbling hop, tensor tags)", () => {
    const o = featuresOptions({
      ...featuresConfig({}),
      size: "10",
      mode: "tumbling",
      tagsMode: "list",
      tags: "a, b",
      ratios: "a/b",
      tensor: true,
      tensorSize: "4",
      gapReset: "true" as never,
    });
    assert.equal(o.size, 10);
    assert.equal(o.hop, 10);
    assert.deepEqual(o.tags, ["a", "b"]);
    assert.deepEqual(o.tensor, { size: 4, tags: ["a", "b"] });
    assert.equal(o.gapReset, true);
  });

  it("rejects bad settings with a reason", () => {
    const ok = featuresConfig({});
    const bad = (patch: Partial<FeaturesConfig>, re: RegExp) =>
      assert.throws(() => featuresOptions({ ...ok, ...patch } as FeaturesConfig), re);
    bad({ windowType: "rows" as never }, /window type/);
    bad({ size: 0 }, /window size/);
    bad({ size: "abc" }, /window size/);
    bad({ hop: 0 }, /hop/);
    bad({ tagsMode: "list", tags: " " }, /tag list is empty/);
    bad({ stats: ["mean", "median"] }, /unknown statistic "median"/);
    bad({ stats: [] }, /no statistic/);
    bad({ ratios: "a//b" }, /numerator\/denominator/);
    bad({ policy: "drop" as never }, /quality policy/);
    bad({ tensor: true }, /tensor needs its tags/);
    bad({ minSamples: 0 }, /min samples/);
    bad({ gapMs: -1 }, /gap/);
    bad({ maxKeys: 0 }, /max sources/);
    assert.equal(featuresOptions({ ...ok, windowType: "time", size: 1000, hop: 0 }).hop, 0);
  });
});

describe("features node", function () {
  this.timeout(30_000);

  useHelper();

  async function load(cfg: Record<string, unknown> = {}) {
    await helper.load([features], featuresFlow(cfg));
    return {
      f: helper.getNode("f1"),
      ok: collect(helper.getNode("ok")),
      rej: collect(helper.getNode("rej")),
      caught: collect(helper.getNode("caught")),
      completed: collect(helper.getNode("completed")),
    };
  }

  it("adds features to a record (output 1, done) and shows a green status with counters", async () => {
    const n = await load();
    n.f.receive({ topic: "cnc-1", payload: rec(1000, { a: 1, b: 2, program: "O1" }) });
    n.f.receive({ topic: "cnc-1", payload: rec(2000, { a: 3, b: 2 }), other: "kept" });
    await eventually(() => n.ok.length === 2 && n.completed.length === 2, 5_000, 10);
    const p = n.ok[1].payload;
    assert.equal(p.source, "cnc-1");
    assert.equal(p.ts, 2000);
    assert.deepEqual(p.values, { a: 3, b: 2 });
    assert.equal(p.features.a.mean, 2);
    assert.equal(p.features.a.slope, 2);
    assert.equal(p.features.a.n, 2);
    assert.deepEqual(Object.keys(p.features).sort(), ["a", "b"]);
    for (const v of Object.values(p.features.b)) assert.ok(Number.isFinite(v));
    assert.equal(n.ok[1].other, "kept");
    assert.equal(n.ok[1].topic, "cnc-1");
    assert.equal(n.caught.length, 0);
    assert.equal(n.rej.length, 0);
    await eventually(() => lastStatus(n.f)?.fill === "green", 3_000, 20);
    const s = lastStatus(n.f)!;
    assert.equal(s.shape, "dot");
    assert.equal(s.text, "features.status.counts");
  });

  it("a batch in -> a batch out, with ratios and window tensors", async () => {
    const n = await load({ tagsMode: "list", tags: "p, s", ratios: "p/s", tensor: true, tensorSize: 2 });
    n.f.receive({
      topic: "cnc-1",
      payload: [rec(1, { p: 10, s: 5 }), rec(2, { p: 30, s: 5 }), rec(3, { p: 20, s: 10 }, { source: "cnc-2" })],
    });
    await eventually(() => n.ok.length === 1 && n.completed.length === 1, 5_000, 10);
    const out = n.ok[0];
    assert.equal(out.payload.length, 3);
    assert.deepEqual(out.payload[1].features.__ratios, { "p/s": 4 });
    assert.equal(out.payload[2].source, "cnc-2");
    assert.equal(out.payload[2].features.p.n, 1);
    assert.ok(Array.isArray(out.window));
    assert.equal(out.window.length, 1);
    assert.deepEqual(out.window[0], {
      source: "cnc-1",
      index: 1,
      tags: ["p", "s"],
      ts: [1, 2],
      data: [
        [10, 5],
        [30, 5],
      ],
    });
  });

  it("a single record gets msg.window as one object once T samples are present", async () => {
    const n = await load({ tagsMode: "list", tags: "a", tensor: true, tensorSize: 2 });
    n.f.receive({ topic: "m", payload: rec(1, { a: 1 }) });
    n.f.receive({ topic: "m", payload: rec(2, { a: 2 }) });
    await eventually(() => n.ok.length === 2, 5_000, 10);
    assert.equal(n.ok[0].window, undefined);
    assert.deepEqual(n.ok[1].window.data, [[1], [2]]);
  });

  it("hop: records at which no window emits are not sent, but done() is called", async () => {
    const n = await load({ hop: 3 });
    for (let i = 1; i <= 6; i++) n.f.receive({ topic: "m", payload: rec(i, { a: i }) });
    await eventually(() => n.completed.length === 6, 5_000, 10);
    await sleep(50);
    assert.deepEqual(
      n.ok.map((m) => m.payload.ts),
      [3, 6],
    );
  });

  const badInputs: Array<[string, unknown, string]> = [
    ["a number payload", 42, "not-object"],
    ["a string payload", "hello", "not-object"],
    ["a Buffer payload", Buffer.from([1, 2, 3]), "not-object"],
    ["a NaN value", rec(1, { a: NaN }), "bad-value"],
    ["a missing ts", { values: { a: 1 } }, "bad-timestamp"],
    ["an empty batch", [], "empty-batch"],
    ["a record without numeric tags", rec(1, { s: "x", b: true }), "no-values"],
    ["deep junk", { ts: 1, values: { a: { b: { c: { d: [1, 2, { e: 3 }] } } } } }, "bad-value"],
  ];
  for (const [what, payload, code] of badInputs) {
    it(`rejects ${what}: red status, catch sees the error, output 2 gets the reason`, async () => {
      const n = await load();
      n.f.receive({ topic: "m1", payload });
      await eventually(() => n.rej.length === 1 && n.caught.length === 1, 5_000, 10);
      assert.equal(n.rej[0].rejected.length, 1);
      assert.equal(n.rej[0].rejected[0].code, code);
      assert.equal(n.rej[0].rejected[0].index, 0);
      assert.equal(n.rej[0].topic, "m1");
      assert.match(n.caught[0].error.message, /1\/1 record\(s\) rejected/);
      assert.equal(n.ok.length, 0);
      assert.equal(n.completed.length, 0);
      const red = statusesOf(n.f).find((s) => s.fill === "red");
      assert.ok(red, "a red status");
      assert.equal(red.shape, "ring");
      assert.match(String(red.text), /lineguard\.status\.rejected/);
    });
  }

  it("unknown tags in list mode: the record is rejected with the configured tags named", async () => {
    const n = await load({ tagsMode: "list", tags: "spindle_load" });
    n.f.receive({ topic: "m1", payload: rec(1, { foo: 1 }) });
    await eventually(() => n.rej.length === 1, 5_000, 10);
    assert.equal(n.rej[0].rejected[0].code, "no-values");
    assert.match(n.rej[0].rejected[0].reason, /spindle_load/);
  });

  it("a mixed batch: good records go on, bad ones to output 2, done(err) names them", async () => {
    const n = await load();
    n.f.receive({ topic: "m1", payload: [rec(1, { a: 1 }), rec(2, { a: "x", b: null }), rec(3, { a: 3 })] });
    await eventually(() => n.ok.length === 1 && n.rej.length === 1 && n.caught.length === 1, 5_000, 10);
    assert.equal(n.ok[0].payload.length, 2);
    assert.deepEqual(n.rej[0].payload, [rec(2, { a: "x", b: null })]);
    assert.deepEqual(
      n.rej[0].rejected.map((r: { index: number }) => r.index),
      [1],
    );
    assert.match(n.caught[0].error.message, /1\/3 record\(s\) rejected: \[1\]/);
    // the next clean message turns the status green again
    n.f.receive({ topic: "m1", payload: rec(4, { a: 4 }) });
    await eventually(() => lastStatus(n.f)?.fill === "green", 3_000, 20);
  });

  it("keeps working after a flood of junk and at high rates (throttled status)", async () => {
    const n = await load();
    const junk: unknown[] = [null, undefined, 0, true, "x", [null], { ts: -1, values: {} }, { ts: 1, values: [] }];
    for (const j of junk) n.f.receive({ topic: "m1", payload: j });
    for (let i = 0; i < 2000; i++) n.f.receive({ topic: "m1", payload: rec(i, { a: i % 10 }) });
    await eventually(() => n.completed.length === 2000 && n.caught.length === junk.length, 10_000, 20);
    assert.equal(n.ok.length, 2000);
    assert.ok(statusesOf(n.f).length < 50, `status calls: ${statusesOf(n.f).length}`);
  });

  it("runs a config saved without version (migration at deploy)", async () => {
    await helper.load([features], legacyFeaturesFlow());
    const f = helper.getNode("f1");
    const ok = collect(helper.getNode("ok"));
    for (let i = 1; i <= 4; i++) f.receive({ topic: "m", payload: rec(i, { a: i }) });
    await eventually(() => ok.length === 4, 5_000, 10);
    assert.equal(ok[3].payload.features.a.n, 3);
    assert.equal(ok[3].payload.features.a.mean, 3);
  });

  it("a bad configuration: red status and every message fails with the reason", async () => {
    const n = await load({ tagsMode: "list", tags: "" });
    assert.equal(lastStatus(n.f)?.fill, "red");
    assert.equal(lastStatus(n.f)?.text, "features.status.badConfig");
    n.f.receive({ topic: "m1", payload: rec(1, { a: 1 }) });
    await eventually(() => n.caught.length === 1, 5_000, 10);
    assert.match(n.caught[0].error.message, /features\.errors\.badConfig/);
  });

  it("the example flow deploys and produces features, ratios and tensors", async function () {
    let root = __dirname;
    while (!fs.existsSync(path.join(root, "package.json"))) root = path.dirname(root);
    const file = path.join(root, "examples", "features-cnc.json");
    const example = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>;
    const flow: Array<Record<string, unknown>> = [{ id: "example-tab", type: "tab" }];
    let gen: Record<string, unknown> | undefined;
    for (const n of example) {
      if (n.type === "features" || n.type === "catch") flow.push({ ...n, z: "example-tab" });
      else {
        if (n.type === "function") gen = n;
        flow.push({ id: n.id, type: "helper", z: "example-tab", wires: n.wires ?? [] });
      }
    }
    await helper.load([features], flow);
    const f = helper.getNode("f3a7c0de00000004");
    const out = collect(helper.getNode("f3a7c0de00000005"));
    const rej = collect(helper.getNode("f3a7c0de00000006"));
    // the example's generator code, run as the function node would run it
    const fn = new Function("msg", String(gen!.func)) as (m: Record<string, unknown>) => Record<string, unknown>;
    for (let i = 0; i < 30; i++) f.receive(fn({}));
    await eventually(() => out.length === 3, 5_000, 10);
    assert.equal(rej.length, 0);
    const p = out[2].payload;
    assert.deepEqual(Object.keys(p.features).sort(), ["__ratios", "power", "spindle_load", "spindle_speed"]);
    assert.equal(p.features.spindle_speed.n, 30);
    assert.ok(p.features.__ratios["power/spindle_speed"] > 0);
    assert.equal(out[2].window.data.length, 20);
    assert.equal(out[2].window.data[0].length, 3);
    assert.deepEqual(FEATURES_NODE.stats, example.find((n) => n.type === "features")!.stats as string[]);
  });
});
