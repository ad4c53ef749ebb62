import assert from "node:assert/strict";
import { LineGuardError } from "../../../lib/errors";
import { parseRecords } from "../../../lib/record";
import {
  CncFleet,
  CncSample,
  FAILURE_TYPES,
  FailureType,
  PROGRAMS,
  TAGS,
  TagName,
  machineIds,
  sampleToRecord,
} from "../../../lib/sim/cnc/model";

/** Step a fleet for `seconds` at `rate` Hz, collecting samples of one machine. */
function run(fleet: CncFleet, seconds: number, rate = 1, id = "cnc-01"): CncSample[] {
  const out: CncSample[] = [];
  const steps = Math.round(seconds * rate);
  for (let i = 0; i < steps; i++) {
    for (const s of fleet.step(1000 / rate)) if (s.id === id) out.push(s);
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const num = (s: CncSample, t: TagName) => s.values[t] as number;

/**
 * Paired comparison: two fleets with the same seed (identical cycles and noise), one with a failure
 * injected after a warm-up. Returns the samples of both during the last `windowS` of the ramp.
 */
function paired(type: FailureType, rampS = 600, windowS = 240) {
  const opts = { seed: 7, labels: true, autoMaintenanceSeconds: 0 };
  const healthy = new CncFleet(opts);
  const failing = new CncFleet(opts);
  const warm = 1200;
  run(healthy, warm);
  run(failing, warm);
  failing.get("cnc-01").inject(type, rampS);
  const h = run(healthy, rampS);
  const f = run(failing, rampS);
  const from = h.length - windowS;
  return { h: h.slice(from), f: f.slice(from), fAll: f };
}

function running(pair: { h: CncSample[]; f: CncSample[] }, cutting = false) {
  const idx = pair.h
    .map((_s, i) => i)
    .filter((i) => pair.h[i].values.state === "running" && (!cutting || num(pair.h[i], "feed_rate") > 0));
  return { h: idx.map((i) => pair.h[i]), f: idx.map((i) => pair.f[i]) };
}

describe("lib/sim/cnc/model", () => {
  it("names machines cnc-01.. and alternates vendors", () => {
    const fleet = new CncFleet();
    assert.deepEqual(
      fleet.machines.map((m) => m.id),
      ["cnc-01", "cnc-02", "cnc-03"],
    );
    assert.deepEqual(
      fleet.machines.map((m) => m.vendor),
      ["fanuc", "siemens", "fanuc"],
    );
    assert.deepEqual(machineIds(12).slice(-1), ["cnc-12"]);
    assert.deepEqual(
      new CncFleet({ machines: ["a", "b"] }).machines.map((m) => m.id),
      ["a", "b"],
    );
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const a = run(new CncFleet({ seed: 42, labels: true, randomFailureRate: 3 }), 1800, 2);
    const b = run(new CncFleet({ seed: 42, labels: true, randomFailureRate: 3 }), 1800, 2);
    const c = run(new CncFleet({ seed: 43, labels: true, randomFailureRate: 3 }), 1800, 2);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it("reports every tag with the declared type and realistic ranges", () => {
    const samples = run(new CncFleet({ seed: 3 }), 3600);
    for (const s of samples) {
      for (const t of TAGS) {
        const v = s.values[t.name];
        if (t.dataType === "String") assert.equal(typeof v, "string", t.name);
        else {
          assert.equal(typeof v, "number", t.name);
          assert.ok(Number.isFinite(v), `${t.name} finite`);
        }
        if (t.dataType === "UInt32") assert.ok(Number.isInteger(v) && (v as number) >= 0);
      }
      assert.ok(num(s, "spindle_speed") >= 0 && num(s, "spindle_speed") <= 15500);
      assert.ok(num(s, "spindle_load") >= 0 && num(s, "spindle_load") <= 100);
      assert.ok(num(s, "spindle_temp") > 15 && num(s, "spindle_temp") < 70);
      assert.ok(num(s, "coolant_flow") >= 0 && num(s, "coolant_flow") < 30);
      assert.ok(num(s, "power") > 0 && num(s, "power") < 25);
      assert.equal(s.labels, undefined, "labels are off by default");
      assert.deepEqual(s.quality, {});
    }
  });

  it("runs machining cycles: running and idle states, parts counted, programs from the table", () => {
    const samples = run(new CncFleet({ seed: 5 }), 4 * 3600);
    const states = new Set(samples.map((s) => s.values.state));
    assert.ok(states.has("running") && states.has("idle"));
    const parts = samples[samples.length - 1].values.part_count;
    assert.ok(parts > 40 && parts < 200, `parts ${parts}`);
    const programs = new Set(samples.map((s) => s.values.program));
    assert.ok(programs.size >= 2, "switches program between batches");
    for (const p of programs) assert.ok(PROGRAMS.some((q) => q.name === p));
    // While cutting, speed and feed follow the program.
    const cutting = samples.filter((s) => s.values.state === "running" && num(s, "feed_rate") > 0);
    for (const s of cutting.slice(0, 200)) {
      const prog = PROGRAMS.find((p) => p.name === s.values.program)!;
      assert.ok(Math.abs(num(s, "spindle_speed") - prog.spindleSpeed) < prog.spindleSpeed * 0.05);
      assert.ok(Math.abs(num(s, "feed_rate") - prog.feedRate) < prog.feedRate * 0.05);
    }
    // Idle: spindle stopped, axes home.
    for (const s of samples.filter((x) => x.values.state === "idle").slice(0, 100)) {
      assert.equal(num(s, "feed_rate"), 0);
      assert.ok(Math.abs(num(s, "z_pos") - 50) < 0.1);
    }
  });

  it("has thermal inertia: the spindle warms up over minutes, not in one step", () => {
    const samples = run(new CncFleet({ seed: 9 }), 3600);
    const firstRun = samples.findIndex((s) => s.values.state === "running");
    const t0 = num(samples[firstRun], "spindle_temp");
    const t10 = num(samples[firstRun + 10], "spindle_temp");
    const t300 = num(samples[Math.min(samples.length - 1, firstRun + 300)], "spindle_temp");
    assert.ok(t10 - t0 < 2, `10 s: ${t0} -> ${t10}`);
    assert.ok(t300 - t0 > 3, `5 min: ${t0} -> ${t300}`);
  });

  it("bearing wear raises vibration (with harmonics) and bearing temperature", () => {
    const p = running(paired("bearing-wear"));
    assert.ok(mean(p.f.map((s) => num(s, "vibration_rms"))) > 2 * mean(p.h.map((s) => num(s, "vibration_rms"))));
    const all = paired("bearing-wear");
    assert.ok(mean(all.f.map((s) => num(s, "bearing_temp"))) > mean(all.h.map((s) => num(s, "bearing_temp"))) + 5);
  });

  it("tool wear creeps spindle load and power up and adds vibration", () => {
    const p = running(paired("tool-wear"), true);
    const load = (xs: CncSample[]) => mean(xs.map((s) => num(s, "spindle_load")));
    const power = (xs: CncSample[]) => mean(xs.map((s) => num(s, "power")));
    const vib = (xs: CncSample[]) => mean(xs.map((s) => num(s, "vibration_rms")));
    assert.ok(load(p.f) > load(p.h) * 1.25, `load ${load(p.h)} -> ${load(p.f)}`);
    assert.ok(power(p.f) > power(p.h) * 1.15);
    assert.ok(vib(p.f) > vib(p.h) + 0.5);
  });

  it("spindle overheating makes the spindle temperature climb", () => {
    const p = paired("spindle-overheat");
    const t = (xs: CncSample[]) => mean(xs.map((s) => num(s, "spindle_temp")));
    assert.ok(t(p.f) > t(p.h) + 10, `${t(p.h)} -> ${t(p.f)}`);
  });

  it("coolant loss drops the flow, raises coolant then spindle temperature, and flags the flow sensor", () => {
    const p = paired("coolant-loss");
    const r = running(p);
    const m = (xs: CncSample[], t: TagName) => mean(xs.map((s) => num(s, t)));
    assert.ok(m(r.f, "coolant_flow") < m(r.h, "coolant_flow") * 0.4);
    assert.ok(m(p.f, "coolant_temp") > m(p.h, "coolant_temp") + 4);
    assert.ok(m(p.f, "spindle_temp") > m(p.h, "spindle_temp") + 4);
    assert.ok(p.f.some((s) => s.quality.coolant_flow === "uncertain"));
    assert.ok(p.h.every((s) => s.quality.coolant_flow === undefined));
  });

  it("axis misalignment adds a position error and vibration at feed", () => {
    const p = running(paired("axis-misalignment"), true);
    const err = mean(p.f.map((s, i) => Math.abs(num(s, "x_pos") - num(p.h[i], "x_pos"))));
    assert.ok(err > 0.15, `position error ${err}`);
    const vib = (xs: CncSample[]) => mean(xs.map((s) => num(s, "vibration_rms")));
    assert.ok(vib(p.f) > vib(p.h) + 0.3);
  });

  it("ramps severity linearly over the ramp and labels the ground truth", () => {
    const { fAll } = paired("tool-wear", 600);
    const at = (i: number) => fAll[i].labels!;
    assert.equal(at(0).failure_type, "tool-wear");
    assert.ok(Math.abs(at(299).severity - 0.5) < 0.01);
    assert.equal(at(599).severity, 1);
    assert.ok(fAll.every((s) => s.labels!.anomaly));
    for (const t of FAILURE_TYPES) assert.doesNotThrow(() => paired(t, 60, 10));
  });

  it("maintenance repairs the machine: maintenance state for a while, then healthy", () => {
    const fleet = new CncFleet({ seed: 11, labels: true });
    run(fleet, 900);
    const m = fleet.get("cnc-01");
    m.inject("bearing-wear", 0);
    run(fleet, 300);
    m.startMaintenance(120);
    const during = run(fleet, 119);
    assert.ok(during.every((s) => s.values.state === "maintenance"));
    assert.ok(during.every((s) => num(s, "spindle_speed") < 1 || s === during[0]));
    assert.ok(during.every((s) => s.labels!.anomaly === false && s.labels!.failure_type === "none"));
    const after = run(fleet, 1800);
    assert.notEqual(after[after.length - 1].values.state, "maintenance");
    assert.equal(m.activeFailure, undefined);
    const vib = after.filter((s) => s.values.state === "running").map((s) => num(s, "vibration_rms"));
    assert.ok(mean(vib) < 3, `vibration back to normal: ${mean(vib)}`);
  });

  it("starts maintenance by itself after a failure stayed at full severity", () => {
    const fleet = new CncFleet({ seed: 12, autoMaintenanceSeconds: 60, maintenanceSeconds: 30 });
    fleet.get("cnc-02").inject("spindle-overheat", 10);
    const s = run(fleet, 100, 1, "cnc-02");
    assert.ok(s.some((x) => x.values.state === "maintenance"));
    assert.equal(fleet.get("cnc-02").activeFailure, undefined);
  });

  it("injects random failures at the configured rate", () => {
    const none = run(new CncFleet({ seed: 1, labels: true }), 6 * 3600, 0.2);
    assert.ok(none.every((s) => !s.labels!.anomaly));
    const fleet = new CncFleet({ seed: 1, labels: true, randomFailureRate: 1, randomRampSeconds: [60, 120] });
    const some = run(fleet, 6 * 3600, 0.2);
    const types = new Set(some.filter((s) => s.labels!.anomaly).map((s) => s.labels!.failure_type));
    assert.ok(types.size >= 1, "at least one random failure in 6 h at 1/h");
  });

  it("steps at any rate from 0.1 Hz to 1 kHz on the same simulated clock", () => {
    for (const rate of [0.1, 1, 100, 1000]) {
      const fleet = new CncFleet({ seed: 2 });
      const s = run(fleet, rate >= 100 ? 60 : 1200, rate);
      const last = s[s.length - 1];
      assert.equal(last.ts - s[0].ts, (s.length - 1) * (1000 / rate), `rate ${rate}`);
    }
    // one big step equals many small ones for the slow state (time, parts)
    const a = new CncFleet({ seed: 2 });
    const big = a.step(3_600_000)[0];
    assert.equal(big.ts, a.get("cnc-01").ts);
    assert.ok(big.values.part_count > 10);
  });

  it("rejects bad input with typed errors", () => {
    const fleet = new CncFleet();
    const code = (fn: () => unknown, c: string) =>
      assert.throws(fn, (e: unknown) => e instanceof LineGuardError && e.code === c);
    for (const bad of [0, -1, NaN, Infinity, "10" as unknown as number, 1e12]) code(() => fleet.step(bad), "bad-step");
    code(() => fleet.get("cnc-99"), "unknown-machine");
    code(() => fleet.get("cnc-01").inject("melting" as FailureType, 10), "unknown-failure");
    code(() => fleet.get("cnc-01").inject("tool-wear", -5), "bad-ramp");
    code(() => fleet.get("cnc-01").inject("tool-wear", NaN), "bad-ramp");
    code(() => fleet.get("cnc-01").startMaintenance(-1), "bad-duration");
    code(() => new CncFleet({ machines: 0 }), "bad-machines");
    code(() => new CncFleet({ machines: ["a", "a"] }), "bad-machines");
    code(() => new CncFleet({ machines: ["bad id/with slash"] }), "bad-machines");
    code(() => new CncFleet({ seed: 1.5 }), "bad-seed");
    code(() => new CncFleet({ randomFailureRate: -1 }), "bad-rate");
  });

  it("converts samples to LineGuard records that the record parser accepts", () => {
    const fleet = new CncFleet({ labels: true });
    fleet.get("cnc-01").inject("coolant-loss", 0);
    const samples = fleet.step(60_000);
    const recs = samples.map(sampleToRecord);
    const parsed = parseRecords(recs, "line");
    assert.equal(parsed.rejected.length, 0);
    assert.equal(parsed.records[0].source, "cnc-01");
    assert.equal(parsed.records[0].values.label_failure_type, "coolant-loss");
    assert.equal(parsed.records[0].quality?.coolant_flow, "uncertain");
    assert.equal(parsed.records[1].values.label_anomaly, false);
  });
});
