import assert from "node:assert/strict";
import { parseRecords } from "../../../lib/record";
import {
  GLASS_FAILURE_TYPES,
  GLASS_MODEL_FEATURES,
  GLASS_TAGS,
  GlassFailureType,
  GlassPlant,
  GlassSample,
  GlassTagName,
  LINE_STATE_CODES,
  ZONE_SETPOINTS,
  glassSampleToRecord,
  lineIds,
} from "../../../lib/sim/glass/model";
import { generateGlassCsv, glassCsvHeader, parseGlassFailureSchedule } from "../../../lib/sim/glass/generate";

function run(plant: GlassPlant, seconds: number, rate = 1, id = "glass-01"): GlassSample[] {
  const out: GlassSample[] = [];
  const steps = Math.round(seconds * rate);
  for (let i = 0; i < steps; i++) {
    for (const s of plant.step(1000 / rate)) if (s.id === id) out.push(s);
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const avg = (ss: GlassSample[], t: GlassTagName) => mean(ss.map((s) => s.values[t] as number));

/** Two plants with the same seed (same noise), one with a failure after a warm-up; the last `windowS` of the ramp. */
function paired(type: GlassFailureType, rampS = 600, windowS = 120) {
  const opts = { seed: 7, labels: true, autoMaintenanceSeconds: 0 };
  const healthy = new GlassPlant(opts);
  const failing = new GlassPlant(opts);
  run(healthy, 900);
  run(failing, 900);
  failing.get("glass-01").inject(type, rampS);
  const h = run(healthy, rampS + 300);
  const f = run(failing, rampS + 300);
  return { h: h.slice(-windowS), f: f.slice(-windowS), line: failing.get("glass-01") };
}

describe("lib/sim/glass/model", () => {
  it("names lines glass-01.. and is deterministic for a seed", () => {
    assert.deepEqual(lineIds(3), ["glass-01", "glass-02", "glass-03"]);
    assert.deepEqual(
      new GlassPlant({ lines: 2 }).lines.map((l) => l.id),
      ["glass-01", "glass-02"],
    );
    const a = run(new GlassPlant({ seed: 42, labels: true, randomFailureRate: 4 }), 1800, 1);
    const b = run(new GlassPlant({ seed: 42, labels: true, randomFailureRate: 4 }), 1800, 1);
    const c = run(new GlassPlant({ seed: 43, labels: true, randomFailureRate: 4 }), 1800, 1);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.throws(() => new GlassPlant({ lines: ["a", "a"] }), /duplicate/);
    assert.throws(() => new GlassPlant().step(0), /step needs/);
  });

  it("reports every tag with its declared type and realistic values", () => {
    const ss = run(new GlassPlant({ seed: 3 }), 3600);
    for (const s of ss) {
      for (const t of GLASS_TAGS) {
        const v = s.values[t.name];
        const want = t.dataType === "String" ? "string" : t.dataType === "Boolean" ? "boolean" : "number";
        assert.equal(typeof v, want, t.name);
        if (typeof v === "number") assert.ok(Number.isFinite(v), t.name);
        if (t.dataType === "UInt32" || t.dataType === "Int32") assert.ok(Number.isInteger(v), t.name);
      }
      assert.equal(s.values.line_state, LINE_STATE_CODES.running);
      assert.equal(s.values.alarms, 0);
    }
    for (let z = 1; z <= 6; z++) {
      const t = avg(ss, `furnace_t${z}` as GlassTagName);
      assert.ok(Math.abs(t - ZONE_SETPOINTS[z - 1]!) < 10, `zone ${z}: ${t}`);
    }
    assert.ok(Math.abs(avg(ss, "melt_level") - 1200) < 2);
    assert.ok(Math.abs(avg(ss, "tin_entry_temp") - 1100) < 5);
    assert.ok(Math.abs(avg(ss, "tin_exit_temp") - 600) < 8);
    assert.ok(avg(ss, "tin_o2_ppm") < 8);
    assert.ok(Math.abs(avg(ss, "ribbon_speed") - 11.6) < 1);
    assert.ok(Math.abs(avg(ss, "thickness") - 4) < 0.06);
    assert.ok(Math.abs(avg(ss, "ribbon_width") - 3600) < 30);
    assert.ok(avg(ss, "air_flow") / avg(ss, "gas_flow") > 9);
    // counters only grow
    assert.ok(ss.at(-1)!.values.gas_total > ss[0]!.values.gas_total);
    assert.ok(ss.at(-1)!.values.ribbon_length > ss[0]!.values.ribbon_length);
    // the firing reverses every 20 minutes: the gas flow dips three times an hour
    const dips = ss.filter((s, i) => i > 0 && s.values.gas_flow < 1500 && ss[i - 1]!.values.gas_flow >= 1500);
    assert.equal(dips.length, 3);
    assert.deepEqual(
      GLASS_MODEL_FEATURES.filter((f) => !GLASS_TAGS.some((t) => t.name === f)),
      [],
    );
  });

  it("each failure changes its own tags and leaves the others alone", () => {
    const expect: Record<GlassFailureType, (h: GlassSample[], f: GlassSample[]) => void> = {
      "furnace-zone-drift": (h, f) => {
        assert.ok(avg(f, "furnace_t3") - avg(h, "furnace_t3") > 30);
        assert.ok(Math.abs(avg(f, "furnace_t6") - avg(h, "furnace_t6")) < 3);
        assert.ok(f.at(-1)!.values.alarm_zone_dev);
      },
      "burner-failure": (h, f) => {
        assert.ok(avg(h, "furnace_t2") - avg(f, "furnace_t2") > 50);
        assert.ok(avg(h, "furnace_t1") - avg(f, "furnace_t1") > 5);
        assert.ok(f.at(-1)!.values.alarm_flame);
      },
      "tin-bath-contamination": (h, f) => {
        assert.ok(avg(f, "tin_o2_ppm") > 40);
        assert.ok(avg(f, "tin_exit_temp") - avg(h, "tin_exit_temp") > 15);
        assert.ok(f.at(-1)!.values.alarm_tin_o2);
        assert.equal(f.at(-1)!.quality.tin_o2_ppm, "uncertain");
      },
      "lehr-cooling-fault": (h, f) => {
        assert.ok(avg(f, "lehr_cooling_air") < 0.5 * avg(h, "lehr_cooling_air"));
        assert.ok(avg(f, "lehr_t3") - avg(h, "lehr_t3") > 40);
        assert.ok(Math.abs(avg(f, "lehr_t1") - avg(h, "lehr_t1")) < 2);
        assert.ok(f.at(-1)!.values.alarm_lehr_cooling);
      },
      "thickness-drift": (h, f) => {
        assert.ok(avg(f, "thickness") - avg(h, "thickness") > 0.25);
        assert.ok(avg(h, "ribbon_width") - avg(f, "ribbon_width") > 40);
        assert.ok(f.at(-1)!.values.thickness_dev_um > 150);
        assert.ok(f.at(-1)!.values.alarm_thickness);
      },
    };
    const untouched: Record<GlassFailureType, GlassTagName[]> = {
      "furnace-zone-drift": ["tin_o2_ppm", "lehr_t3", "thickness"],
      "burner-failure": ["tin_o2_ppm", "lehr_t3", "thickness"],
      "tin-bath-contamination": ["furnace_t3", "lehr_t3", "thickness"],
      "lehr-cooling-fault": ["furnace_t3", "tin_o2_ppm", "thickness"],
      "thickness-drift": ["furnace_t3", "tin_o2_ppm", "lehr_t3"],
    };
    for (const type of GLASS_FAILURE_TYPES) {
      const { h, f, line } = paired(type);
      expect[type](h, f);
      for (const t of untouched[type]) {
        const scale = Math.max(0.05, Math.abs(avg(h, t)) * 0.005);
        assert.ok(Math.abs(avg(f, t) - avg(h, t)) < scale, `${type} moved ${t}`);
      }
      assert.equal(f.at(-1)!.labels!.failure_type, type);
      assert.equal(f.at(-1)!.labels!.severity, 1);
      assert.equal(h.at(-1)!.labels!.anomaly, false);
      // the visual effect the camera uses
      const m = line.defectRateMultipliers();
      const up = Object.entries(m)
        .filter(([, v]) => v > 1)
        .map(([k]) => k)
        .sort();
      const want: Record<GlassFailureType, string[]> = {
        "furnace-zone-drift": ["bubble", "stone"],
        "burner-failure": ["bubble", "stone"],
        "tin-bath-contamination": ["scratch", "tin_drip"],
        "lehr-cooling-fault": ["crack"],
        "thickness-drift": [],
      };
      assert.deepEqual(up, want[type], type);
    }
  });

  it("ramps severity gradually and goes to maintenance after the failure matured", () => {
    const plant = new GlassPlant({ seed: 5, labels: true, autoMaintenanceSeconds: 60, maintenanceSeconds: 120 });
    const line = plant.get("glass-01");
    run(plant, 60);
    line.inject("lehr-cooling-fault", 300);
    const ss = run(plant, 200);
    assert.ok(Math.abs(ss[99]!.labels!.severity - 100 / 300) < 0.01);
    assert.equal(line.activeFailure?.type, "lehr-cooling-fault");
    const later = run(plant, 200);
    const maint = later.filter((s) => s.values.line_state === LINE_STATE_CODES.maintenance);
    assert.ok(maint.length > 0, "maintenance started by itself");
    assert.ok(maint.every((s) => s.values.maintenance_active && !s.labels!.anomaly));
    assert.equal(line.activeFailure, undefined);
    const after = run(plant, 500);
    assert.ok(after.some((s) => s.values.line_state === LINE_STATE_CODES.idle));
    assert.equal(after.at(-1)!.values.line_state, LINE_STATE_CODES.running);
    // slowed during maintenance, back afterwards
    assert.ok(Math.min(...maint.map((s) => s.values.ribbon_speed)) < 0.8 * ss[0]!.values.ribbon_speed);
  });

  it("latches alarms until acknowledged; burners, fans and setpoints are switchable", () => {
    const plant = new GlassPlant({ seed: 9, autoMaintenanceSeconds: 0 });
    const line = plant.get("glass-01");
    run(plant, 30);
    line.setLehrFans(false);
    let s = run(plant, 120).at(-1)!;
    assert.equal(s.values.lehr_fans, false);
    assert.ok(s.values.alarm_lehr_cooling);
    assert.equal(s.values.alarms & (1 << 4), 1 << 4);
    line.setLehrFans(true);
    s = run(plant, 200).at(-1)!;
    assert.ok(s.values.alarm_lehr_cooling, "still latched");
    line.acknowledgeAlarms();
    s = run(plant, 1).at(-1)!;
    assert.equal(s.values.alarms, 0);

    line.setBurner(4, false);
    const off = run(plant, 300);
    assert.equal(off.at(-1)!.values.burner_4, false);
    assert.ok(off.at(-1)!.values.furnace_t4 < ZONE_SETPOINTS[3] - 50);
    assert.ok(off.at(-1)!.values.alarm_flame);
    line.setSetpoint(1, 1500);
    assert.equal(run(plant, 1)[0]!.values.furnace_sp1, 1500);
    assert.throws(() => line.setSetpoint(1, 2000), /1000\.\.1700/);
    assert.throws(() => line.setBurner(7, true), /zone/);
    assert.throws(() => line.inject("melting" as GlassFailureType), /unknown failure/);
    assert.throws(() => line.inject("burner-failure", 10, 9), /zone/);
  });

  it("samples are valid LineGuard records", () => {
    const plant = new GlassPlant({ lines: 2, seed: 1, labels: true });
    plant.get("glass-02").inject("tin-bath-contamination", 0);
    const recs = plant.step(1000).map(glassSampleToRecord);
    const parsed = parseRecords(recs, "glass");
    assert.equal(parsed.rejected.length, 0);
    assert.equal(parsed.records.length, 2);
    assert.equal(parsed.records[1]!.source, "glass-02");
    assert.equal(parsed.records[1]!.quality?.tin_o2_ppm, "uncertain");
    assert.equal(recs[1]!.values.label_failure_type, "tin-bath-contamination");
  });

  it("generates a deterministic CSV and parses failure schedules", async () => {
    assert.deepEqual(parseGlassFailureSchedule("glass-01:burner-failure/4@2h+30m, glass-02:thickness-drift@90s"), [
      { line: "glass-01", type: "burner-failure", atSeconds: 7200, rampSeconds: 1800, zone: 4 },
      { line: "glass-02", type: "thickness-drift", atSeconds: 90, rampSeconds: 600 },
    ]);
    assert.throws(() => parseGlassFailureSchedule("glass-01:melting@1h"), /unknown failure type/);
    assert.throws(() => parseGlassFailureSchedule("glass-01"), /bad failure/);
    const gen = async (seed: number) => {
      let text = "";
      const rows = await generateGlassCsv(
        {
          lines: 2,
          hours: 0.1,
          rate: 1,
          seed,
          failures: [{ line: "glass-02", type: "lehr-cooling-fault", atSeconds: 60, rampSeconds: 60 }],
        },
        (c) => {
          text += c;
        },
      );
      return { rows, text };
    };
    const a = await gen(42);
    const b = await gen(42);
    const c = await gen(43);
    assert.equal(a.rows, 720);
    assert.equal(a.text, b.text);
    assert.notEqual(a.text, c.text);
    const lines = a.text.trim().split("\n");
    assert.equal(lines[0], glassCsvHeader(true));
    assert.equal(lines.length, 721);
    const header = lines[0]!.split(",");
    const last = lines.at(-1)!.split(",");
    assert.equal(last[header.indexOf("line_id")], "glass-02");
    assert.equal(last[header.indexOf("failure_type")], "lehr-cooling-fault");
    assert.equal(last[header.indexOf("severity")], "1");
  });
});
