import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import validateNode from "../../nodes/validate/validate";
import { VALIDATE_DEFAULTS, buildValidator, validateConfig, validateOptions } from "../../nodes/validate/config";
import type { ValidateConfig } from "../../nodes/validate/types";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import {
  CNC_RULES,
  collect,
  lastStatus,
  legacyValidateFlow,
  sleep,
  statusesOf,
  validateFlow,
} from "./fixtures/validate-flows";

const T0 = 1_732_363_200_000;
const rec = (ts: unknown, values: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ts,
  values,
  ...extra,
});

describe("validate config (migration, validation)", () => {
  it("migrates a config without version: every missing setting takes its default", () => {
    const c = validateConfig({ rules: '[{"tag": "a"}]' });
    assert.equal(c.version, 1);
    assert.equal(c.rules, '[{"tag": "a"}]');
    for (const [k, v] of Object.entries(VALIDATE_DEFAULTS)) {
      if (k !== "rules") assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, k);
    }
    assert.equal(buildValidator(c).rules.length, 1);
    // a current config is left as it is
    assert.equal(validateConfig({ ...c, maxSources: 7 }).maxSources, 7);
  });

  it("rejects bad settings with a reason", () => {
    const ok = validateConfig({});
    const bad = (patch: Partial<ValidateConfig>, re: RegExp) =>
      assert.throws(() => buildValidator({ ...ok, ...patch } as ValidateConfig), re);
    bad({ maxSources: 0 }, /max sources/);
    bad({ maxSources: "many" }, /max sources/);
    bad({ schema: "xml" as never }, /schema must be one of/);
    bad({ unknownTags: "drop" as never }, /unknown tags/);
    bad({ rules: "[{" }, /rules are not valid JSON/);
    bad({ rules: '[{"tag": "a", "min": 2, "max": 1}]' }, /min \(2\) is above max/);
    bad({ schema: "custom", customSchema: "{" }, /not valid JSON/);
    bad({ schema: "custom", customSchema: '{"type": "thing"}' }, /invalid JSON schema/);
    assert.equal(validateOptions({ ...ok, convert: "false" as never }).convert, false);
  });
});

describe("validate node", function () {
  this.timeout(30_000);

  useHelper();

  async function load(cfg: Record<string, unknown> = {}) {
    await helper.load([validateNode], validateFlow(cfg));
    return {
      v: helper.getNode("v1"),
      ok: collect(helper.getNode("ok")),
      rej: collect(helper.getNode("rej")),
      caught: collect(helper.getNode("caught")),
      completed: collect(helper.getNode("completed")),
    };
  }

  it("passes a valid record to output 1 (normalised), done(), green status with counters", async () => {
    const n = await load();
    assert.equal(lastStatus(n.v)?.fill, "green");
    n.v.receive({ topic: "cnc-1", payload: rec(T0, { spindle_speed: 12000, spindle_load: 40, program: "O1" }) });
    await eventually(() => n.ok.length === 1 && n.completed.length === 1, 5_000, 10);
    assert.deepEqual(n.ok[0].payload, {
      source: "cnc-1",
      ts: T0,
      values: { spindle_speed: 12000, spindle_load: 40, program: "O1" },
    });
    assert.equal(n.ok[0].topic, "cnc-1");
    assert.equal(n.rej.length, 0);
    assert.equal(n.caught.length, 0);
    await sleep(300); // the counters redraw at most every 250 ms (same key text here: no i18n in the helper)
    assert.deepEqual(lastStatus(n.v), { fill: "green", shape: "dot", text: "validate.status.counts" });
  });

  it("a mixed batch: valid part as one batch on output 1, rejected records with reasons on output 2, catch sees it", async () => {
    const n = await load();
    const batch = [
      rec(T0, { spindle_speed: 100 }),
      rec(T0 + 1, { spindle_speed: 30000 }),
      rec(T0 + 1000, { spindle_speed: 200, spindle_load: 50 }, { quality: { spindle_load: "uncertain" } }),
      rec(T0 + 3, { spindle_load: 1 }),
      "junk",
    ];
    n.v.receive({ topic: "cnc-1", payload: batch, extra: "kept" });
    await eventually(() => n.ok.length === 1 && n.rej.length === 1 && n.caught.length === 1, 5_000, 10);
    assert.deepEqual(
      n.ok[0].payload.map((r: any) => r.values.spindle_speed),
      [100, 200],
    );
    assert.deepEqual(n.ok[0].payload[1].flags, [
      { code: "uncertain-quality", reason: 'quality of "spindle_load" is uncertain', tag: "spindle_load" },
    ]);
    assert.deepEqual(n.rej[0].payload, [batch[1], batch[3], "junk"]);
    assert.deepEqual(
      n.rej[0].rejected.map((r: any) => [r.index, r.code, r.tag]),
      [
        [1, "above-max", "spindle_speed"],
        [1, "rate-of-change", "spindle_speed"],
        [3, "missing-tag", "spindle_speed"],
        [4, "not-object", undefined],
      ],
    );
    assert.equal(n.rej[0].topic, "cnc-1");
    assert.equal(n.rej[0].extra, "kept");
    assert.match(
      n.caught[0].error.message,
      /3\/5 record\(s\) rejected: \[1\] tag "spindle_speed" = 30000 is above max/,
    );
    assert.equal(n.completed.length, 0);
    await eventually(() => lastStatus(n.v)?.fill === "red", 2_000, 10);
    assert.equal(lastStatus(n.v)?.shape, "ring");
    assert.match(String(lastStatus(n.v)?.text), /validate\.status\.counts · 3\/5 record/);
    // the next fully valid message turns the status green again
    n.v.receive({ topic: "cnc-1", payload: rec(T0 + 10, { spindle_speed: 100 }) });
    await eventually(() => lastStatus(n.v)?.fill === "green", 2_000, 10);
  });

  it("with errors switched off, rejections only go to output 2 and the message completes", async () => {
    const n = await load({ errorOnReject: false });
    n.v.receive({ topic: "m", payload: rec(T0, { spindle_speed: -5 }) });
    await eventually(() => n.rej.length === 1 && n.completed.length === 1, 5_000, 10);
    assert.equal(n.caught.length, 0);
    assert.equal(n.ok.length, 0);
  });

  it("throttles the status at high message rates", async () => {
    const n = await load({ errorOnReject: false });
    const before = statusesOf(n.v).length;
    for (let i = 0; i < 2000; i++) {
      n.v.receive({ topic: `m${i % 7}`, payload: rec(T0 + i * 1000, { spindle_speed: i % 2 ? 100 : -1 }) });
    }
    await eventually(() => n.completed.length === 2000, 10_000, 10);
    await sleep(600);
    assert.equal(n.ok.length + n.rej.length, 2000);
    assert.ok(statusesOf(n.v).length - before < 20, `${statusesOf(n.v).length - before} status updates`);
  });

  it("rate of change across messages", async () => {
    const n = await load({ errorOnReject: false });
    n.v.receive({ topic: "m", payload: rec(T0, { spindle_speed: 1000 }) });
    n.v.receive({
      topic: "m",
      payload: [rec(T0 + 100, { spindle_speed: 20000 }), rec(T0 + 1000, { spindle_speed: 2000 })],
    });
    await eventually(() => n.completed.length === 2, 5_000, 10);
    assert.equal(n.ok.length, 2);
    assert.deepEqual(
      n.ok[1].payload.map((r: any) => r.values.spindle_speed),
      [2000],
    );
    assert.equal(n.rej[0].rejected[0].code, "rate-of-change");
  });

  const badInputs: Array<[string, unknown, string]> = [
    ["a number", 42, "not-object"],
    ["a Buffer", Buffer.from("hello"), "not-object"],
    ["null", null, "not-object"],
    ["a NaN value", rec(T0, { spindle_speed: NaN }), "bad-value"],
    ["an empty batch", [], "empty-batch"],
    ["a missing ts", { values: { spindle_speed: 1 } }, "bad-timestamp"],
    ["a deep object", JSON.parse("[".repeat(500) + "]".repeat(500)), "not-object"],
  ];
  for (const [what, payload, code] of badInputs) {
    it(`never crashes on ${what}: output 2 with the code, catch, red status`, async () => {
      const n = await load();
      n.v.receive({ topic: "m", payload });
      await eventually(() => n.rej.length === 1 && n.caught.length === 1, 5_000, 10);
      assert.equal(n.rej[0].rejected[0].code, code);
      assert.equal(n.ok.length, 0);
      await eventually(() => lastStatus(n.v)?.fill === "red", 2_000, 10);
    });
  }

  it("converts CNC collector envelopes (schema preset) into records", async () => {
    const n = await load({ schema: "cnc-envelope", rules: '[{"tag": "spin", "max": 1000}]' });
    const env = {
      cnc_id: "CNC001",
      part_program: "program_01",
      timestamp: "1747379028",
      payload: { status: "running", spin: 200 },
    };
    n.v.receive({ payload: env });
    n.v.receive({ payload: { ...env, cnc_id: 7 } });
    await eventually(() => n.ok.length === 1 && n.rej.length === 1, 5_000, 10);
    assert.deepEqual(n.ok[0].payload, {
      source: "CNC001",
      ts: 1_747_379_028_000,
      values: { status: "running", spin: 200, part_program: "program_01" },
    });
    assert.equal(n.rej[0].rejected[0].code, "schema");
    assert.match(n.rej[0].rejected[0].reason, /payload\/cnc_id must be string/);
  });

  it("reports a stale tag once on output 2 (source, tag, last ts)", async () => {
    const n = await load({ rules: '[{"tag": "spindle_speed", "staleMs": 100}]' });
    n.v.receive({ topic: "cnc-9", payload: rec(T0, { spindle_speed: 1 }) });
    await eventually(() => n.rej.length === 1, 5_000, 10);
    const m = n.rej[0];
    assert.equal(m.stale, true);
    assert.equal(m.topic, "cnc-9");
    assert.deepEqual(
      m.rejected.map((r: any) => [r.code, r.source, r.tag, r.lastTs]),
      [["stale", "cnc-9", "spindle_speed", T0]],
    );
    assert.equal(m.payload[0].lastTs, T0);
    await sleep(300);
    assert.equal(n.rej.length, 1, "once per stale period");
    assert.equal(n.caught.length, 0);
  });

  it("bad rules: red status, node.error at deploy, every message fails with done(err)", async () => {
    const n = await load({ rules: '[{"tag": "a", "type": "float"}]' });
    assert.deepEqual(lastStatus(n.v), { fill: "red", shape: "ring", text: "validate.status.badConfig" });
    const logged = (helper.log().args as unknown[][]).some((a) =>
      JSON.stringify(a).includes("validate.errors.badConfig"),
    );
    assert.ok(logged, "node.error at deploy");
    n.v.receive({ topic: "m", payload: rec(T0, { a: 1 }) });
    n.v.receive({ topic: "m", payload: rec(T0, { a: 2 }) });
    await eventually(() => n.caught.length === 2, 5_000, 10);
    assert.match(n.caught[0].error.message, /validate\.errors\.badConfig/);
    assert.equal(n.ok.length + n.rej.length + n.completed.length, 0);
  });

  it("a bad custom schema is a deploy-time error", async () => {
    const n = await load({ schema: "custom", customSchema: '{"type": "object", "propertiez": {}}' });
    assert.equal(lastStatus(n.v)?.text, "validate.status.badConfig");
    n.v.receive({ payload: rec(T0, { a: 1 }) });
    await eventually(() => n.caught.length === 1, 5_000, 10);
  });

  it("runs a config saved without version (migration at deploy)", async () => {
    await helper.load([validateNode], legacyValidateFlow(CNC_RULES));
    const v = helper.getNode("v1");
    const ok = collect(helper.getNode("ok"));
    const caught = collect(helper.getNode("caught"));
    v.receive({ topic: "m", payload: [rec(T0, { spindle_speed: 1 }), rec(T0 + 1, { spindle_speed: 99999 })] });
    await eventually(() => ok.length === 1 && caught.length === 1, 5_000, 10);
    assert.equal(ok[0].payload.length, 1);
  });

  it("the example flow deploys: its validate nodes are green and validate", async () => {
    let root = __dirname; // .build/<x>/test/nodes or dist/test/nodes: walk up to the package
    while (!fs.existsSync(path.join(root, "package.json"))) root = path.dirname(root);
    const example = JSON.parse(fs.readFileSync(path.join(root, "examples", "validate-cnc.json"), "utf8")) as Array<
      Record<string, unknown>
    >;
    const flow: Array<Record<string, unknown>> = [{ id: "example-tab", type: "tab" }];
    for (const n of example) {
      if (n.type === "validate" || n.type === "catch") flow.push({ ...n, z: "example-tab" });
      else flow.push({ id: n.id, type: "helper", z: "example-tab", wires: n.wires ?? [] });
    }
    await helper.load([validateNode], flow);
    const records = helper.getNode("b2f0c0de00000004");
    const envelope = helper.getNode("b2f0c0de00000009");
    assert.equal(lastStatus(records)?.fill, "green");
    assert.equal(lastStatus(envelope)?.fill, "green");
    const valid = collect(helper.getNode("b2f0c0de00000005"));
    const fromEnvelope = collect(helper.getNode("b2f0c0de0000000b"));
    const errors = collect(helper.getNode("b2f0c0de00000008"));
    records.receive({
      topic: "cnc-1",
      payload: rec(Date.now(), { spindle_speed: 12000, spindle_load: 41, program: "O1001" }),
    });
    const inject = example.find((n) => n.id === "b2f0c0de0000000a")!;
    envelope.receive({ payload: JSON.parse(String(inject.payload)) });
    records.receive({ topic: "cnc-1", payload: rec(Date.now(), { spindle_speed: 30000 }) });
    await eventually(() => valid.length === 1 && fromEnvelope.length === 1 && errors.length === 1, 5_000, 10);
    assert.equal(fromEnvelope[0].payload.source, "CNC001");
  });
});
