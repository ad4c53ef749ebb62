/**
 * The glass reference flow end to end, as a user runs it: `node scripts/start.mjs` with
 * LINEGUARD_LINES=glass (the glass simulator: Modbus PLCs, OPC UA view, camera, HTTP control; plus
 * Node-RED with flows/glass-line.json) against the real test Kafka and InfluxDB 1.8. Checks that
 * scored records of glass-01 reach Kafka (topic lineguard.glass) and InfluxDB (measurements glass and
 * glass_opcua), that defects drawn into the camera frames through the simulator's API come out of the
 * detect node (Kafka lineguard.glass.defects, InfluxDB glass_defects), and that a lehr cooling fault
 * injected through the API is flagged while the healthy windows before it are not.
 *
 * Healthy windows are counted honestly: the model's weak spot was the furnace's firing reversal (every
 * 20 minutes the fuel drops to 40 % for 25 s; models/lstm-ae-glass/README.md). Its phase follows the
 * wall clock, so a run may or may not see one. A window that covers a reversal is recognised from its
 * own features (gas_flow min < 85 % of max; windows clear of a reversal stay above 90 %, the reversal
 * itself goes down to about 50 %) and reported apart. Model 1.1.0 was trained on reversal windows: an
 * offline scan of 8 seeds x 3 lines x 6 h of normal operation flagged 8 of 517,656 windows (1 of 424
 * reversals), so false alarms are asserted over all healthy windows, reversals included (at most 1,
 * or 2 % of the windows).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Consumer } from "kafkajs";
import { freePort } from "../../lib/sim/cnc/net";
import { eventually, requireService } from "../support/integration";
import { KafkaRecord, StartedLine, collectRecords, repoRoot, startReferenceLine } from "../support/reference-line";
import { influxQuery, services } from "../support/services";

/** The shipped glass model's manifest: the flow must score with its threshold. */
const MANIFEST = JSON.parse(
  fs.readFileSync(path.join(repoRoot(), "models", "lstm-ae-glass", "manifest.json"), "utf8"),
) as { threshold: number };
const TOPIC = "lineguard.glass";
const DEFECTS_TOPIC = "lineguard.glass.defects";
const LINE = "glass-01";
/**
 * The fastest reliable pattern: an offline scan of the shipped model over the five patterns, ramps 30
 * and 60 s, 3 seeds gave first flagged windows at 16-18 s (lehr cooling, ramp 30; 22-25 s with ramp
 * 60), 18-21 s (tin bath), 23-26 s (thickness), 43-50 s (burner), 55-71 s (zone drift); npm start runs
 * flagged this one 18 s after the injection (ramp 60: 25.5 s).
 */
const FAILURE = { type: "lehr-cooling-fault", rampSeconds: 30 };
/** Healthy windows (outside a firing reversal) scored before the injection. */
const HEALTHY_WINDOWS = 40;
const DETECT_WITHIN_MS = 150_000;
/** The classes drawn into the camera frames, 3 of each (POST /camera/inject): all five of the model. */
const CAMERA_CLASSES = ["crack", "bubble", "stone", "scratch", "tin_drip"];
/**
 * Of the 3 injected, at least this many of the class in one frame (the injected defects enter the view
 * together; one may be partly out of the frame or overlap another).
 */
const MIN_FOUND = 2;
/** Frames of this long after an injection count for it (the defects cross the view in a few frames). */
const SETTLE_MS = 5000;

function log(text: string): void {
  console.log(`      [glass-line] ${text}`);
}

/** The window covers a firing reversal (the fuel at 40 %): gas flow min well below its max. */
function inReversal(r: KafkaRecord): boolean {
  const g = r.features?.gas_flow;
  return !!g && typeof g.min === "number" && typeof g.max === "number" && g.min < 0.85 * g.max;
}

function classCount(r: KafkaRecord, cls: string): number {
  return (r.detections ?? []).filter((d) => d.class === cls).length;
}

async function influxCount(q: string): Promise<number> {
  const res = await influxQuery(q);
  const v = res.results?.[0]?.series?.[0]?.values?.[0]?.[1];
  return typeof v === "number" ? v : 0;
}

describe("integration: the glass reference flow (npm start -> Kafka + InfluxDB)", function () {
  this.timeout(300_000);
  let line: StartedLine | undefined;
  const output = (): string => line?.output() ?? "";
  let consumer: Consumer | undefined;
  let simUrl = "";
  let base = "";
  let started = Date.now();
  const records: KafkaRecord[] = [];
  const defects: KafkaRecord[] = [];

  async function simPost(route: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${simUrl}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status < 300, true, `POST ${route}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as unknown;
  }

  before(async function () {
    started = Date.now();
    await requireService(this, "kafka");
    await requireService(this, "influxdb");
    const [nrPort, modbusPort, opcuaPort, httpPort, cameraPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    base = `http://127.0.0.1:${nrPort}`;
    simUrl = `http://127.0.0.1:${httpPort}`;
    // Listen on both topics first (new group, latest offsets): only this run's records count.
    consumer = await collectRecords("lg-glass-line", [TOPIC, DEFECTS_TOPIC], started, (topic, r) =>
      (topic === DEFECTS_TOPIC ? defects : records).push(r),
    );
    line = await startReferenceLine("lg-glass-line", {
      LINEGUARD_PORT: String(nrPort),
      LINEGUARD_LINES: "glass",
      LINEGUARD_MODBUS_HOST: "127.0.0.1",
      LINEGUARD_MODBUS_PORT: String(modbusPort),
      LINEGUARD_GLASS_OPCUA_PORT: String(opcuaPort),
      LINEGUARD_GLASS_SIM_HTTP_PORT: String(httpPort),
      LINEGUARD_CAMERA_PORT: String(cameraPort),
      LINEGUARD_CAMERA_FPS: "2",
      // settings.cjs derives these from the ports above only when they are unset
      LINEGUARD_GLASS_OPCUA_URL: "",
      LINEGUARD_GLASS_SIM_URL: "",
      LINEGUARD_CAMERA_URL: "",
    });
    log(`npm start ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await line?.stop();
  });

  it("deploys the glass reference flow only, with the dashboard", async () => {
    await eventually(() => /Started flows/.test(output()), 30_000, 200).catch(() => {
      throw new Error(`the flows did not start:\n${output().slice(-3000)}`);
    });
    assert.doesNotMatch(output(), /Waiting for missing types/);
    const flows = (await (await fetch(`${base}/flows`)).json()) as Array<{ type: string; label?: string }>;
    for (const type of ["modbus-in", "camera-in", "detect", "anomaly", "opcua-in"]) {
      assert.ok(
        flows.some((n) => n.type === type),
        `${type} in the deployed flow`,
      );
    }
    const tabs = flows.filter((n) => n.type === "tab").map((n) => n.label);
    assert.deepEqual(tabs, ["Glass line"]);
    const cred = fs.readFileSync(path.join(line!.userDir, "flows_cred.json"), "utf8");
    assert.ok(!cred.includes(services.influxToken), "no secret on disk");
    const res = await fetch(`${base}/dashboard`);
    assert.equal(res.status, 200);
  });

  it("writes scored glass-01 records (PLC and OPC UA paths) to Kafka and InfluxDB (glass, glass_opcua)", async () => {
    const first = await eventually<KafkaRecord | undefined>(
      () => records.find((r) => r.source === LINE && typeof r.anomaly?.score === "number"),
      120_000,
      500,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}; Kafka sources: ${[...new Set(records.map((r) => r.source))].join(",")}\n${output().slice(-3000)}`,
      );
    });
    assert.ok(first);
    log(`first scored record in Kafka ${((first.at - started) / 1000).toFixed(1)} s after the start`);
    for (const tag of ["furnace_t1", "tin_o2_ppm", "lehr_t3", "lehr_cooling_air", "thickness"]) {
      assert.equal(typeof first.values[tag], "number", tag);
    }
    assert.equal(typeof first.features?.gas_flow?.max, "number");
    assert.ok(Math.abs(first.anomaly!.threshold - MANIFEST.threshold) < 1e-6, `threshold ${first.anomaly!.threshold}`);

    const since = `${started}ms`;
    await eventually(
      async () =>
        (await influxCount(`SELECT count(anomaly_score) FROM glass WHERE source = '${LINE}' AND time >= ${since}`)) > 0,
      60_000,
      1000,
    );
    await eventually(
      async () =>
        (await influxCount(
          `SELECT count(furnace_t1) FROM glass_opcua WHERE source = '${LINE}/opcua' AND time >= ${since}`,
        )) > 0,
      60_000,
      1000,
    );
    // The OPC UA view is scored too (its own features window, the same anomaly node).
    const viaOpcua = await eventually<KafkaRecord | undefined>(
      () => records.find((r) => r.source === `${LINE}/opcua` && typeof r.anomaly?.score === "number"),
      60_000,
      500,
    );
    assert.ok(viaOpcua);
    const opcua = await influxCount(`SELECT count(furnace_t1) FROM glass_opcua WHERE time >= ${since}`);
    const scored = await influxCount(`SELECT count(anomaly_score) FROM glass WHERE time >= ${since}`);
    log(`InfluxDB so far: glass ${scored} scored points, glass_opcua ${opcua} points`);
  });

  it(`detects defects drawn into the camera frames (${CAMERA_CLASSES.join(", ")}: 3 each)`, async () => {
    await eventually(() => defects.some((r) => r.source === LINE), 60_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}: no defect records in Kafka ${DEFECTS_TOPIC}\n${output().slice(-3000)}`);
    });
    const found: Record<string, number> = {};
    const results: string[] = [];
    for (const cls of CAMERA_CLASSES) {
      // The background: the most of this class in one frame before the injection (random defects).
      const baseline = Math.max(0, ...defects.map((r) => classCount(r, cls)));
      const injected = Date.now();
      await simPost("/camera/inject", { cls, count: 3 });
      // The injected defects appear together, fully in view, in the next frame and travel across
      // the view for a few frames: the best frame of the next seconds shows how many were found.
      await eventually(() => defects.some((r) => r.ts >= injected + SETTLE_MS), 30_000, 250).catch((err: Error) => {
        throw new Error(`${err.message}: no defect records after the injection\n${output().slice(-3000)}`);
      });
      const after = defects.filter((r) => r.ts >= injected && r.ts < injected + SETTLE_MS);
      const counts = after.map((r) => classCount(r, cls));
      const best = Math.max(0, ...counts);
      const hit = after.find((r) => classCount(r, cls) === best);
      const scores = (hit?.detections ?? []).filter((d) => d.class === cls).map((d) => d.score.toFixed(2));
      found[cls] = best;
      results.push(
        `${cls} ${best}/3 in the best frame (frames: ${counts.join(" ")}; scores ${scores.join(",") || "-"}; ` +
          `most in one frame before: ${baseline})`,
      );
      if (hit && best > 0) {
        assert.equal(hit.values[cls], best, "the record's count matches its detections");
        assert.equal(hit.values.defects, hit.detections!.length);
      }
      if (best > 0) {
        // InfluxDB glass_defects has the counts of this class.
        await eventually(
          async () =>
            (await influxCount(
              `SELECT max("${cls}") FROM glass_defects WHERE source = '${LINE}' AND time >= ${injected}ms`,
            )) >= best,
          30_000,
          1000,
        );
      }
    }
    log(`camera: ${results.join("; ")}; ${defects.length} defect records in Kafka`);
    for (const cls of CAMERA_CLASSES) {
      assert.ok(found[cls]! >= MIN_FOUND, `${cls}: ${found[cls]} of the 3 injected found in one frame`);
    }
  });

  it(`flags a ${FAILURE.type} (ramp ${FAILURE.rampSeconds} s) on ${LINE}; healthy windows before it are not flagged`, async () => {
    await eventually(
      () => records.filter((r) => r.source === LINE && r.anomaly && !inReversal(r)).length >= HEALTHY_WINDOWS,
      180_000,
      500,
    );
    const injected = Date.now();
    await simPost(`/lines/${LINE}/failure`, FAILURE);

    // The healthy windows: every scored window before the injection.
    const healthy = records.filter((r) => r.source === LINE && r.anomaly && r.ts < injected);
    const reversal = healthy.filter(inReversal);
    const falseAlarms = healthy.filter((r) => r.anomaly!.anomaly && !inReversal(r));
    const reversalAlarms = reversal.filter((r) => r.anomaly!.anomaly);
    const maxHealthy = Math.max(...healthy.filter((r) => !inReversal(r)).map((r) => r.anomaly!.score));
    log(
      `healthy: ${falseAlarms.length} anomalous of ${healthy.length - reversal.length} windows outside a firing ` +
        `reversal (max score ${maxHealthy.toFixed(3)}); firing-reversal windows: ${reversalAlarms.length} ` +
        `anomalous of ${reversal.length}`,
    );

    // Detection: the first anomalous window after the injection outside a reversal (a reversal window
    // could be flagged for the reversal alone).
    const first = await eventually<KafkaRecord | undefined>(
      () => records.find((r) => r.source === LINE && r.ts >= injected && r.anomaly?.anomaly && !inReversal(r)),
      DETECT_WITHIN_MS,
      250,
    ).catch((err: Error) => {
      const scores = records
        .filter((r) => r.source === LINE && r.ts >= injected)
        .map((r) => `${r.anomaly?.score.toFixed(3)}${inReversal(r) ? "r" : ""}`);
      throw new Error(
        `${err.message}; ${LINE} scores since the injection: ${scores.join(" ")}\n${output().slice(-3000)}`,
      );
    });
    assert.ok(first);
    const detected = first.ts - injected;
    const until = records.filter((r) => r.source === LINE && r.anomaly && r.ts >= injected && r.ts <= first.ts);
    const earlier = until.filter((r) => r.anomaly!.anomaly && inReversal(r)).length;
    log(
      `detection: ${(detected / 1000).toFixed(1)} s after the injection (score ${first.anomaly!.score.toFixed(3)} > ` +
        `${first.anomaly!.threshold.toFixed(3)}; ${until.length} windows scored until then` +
        `${earlier ? `; ${earlier} reversal window(s) flagged before` : ""})`,
    );
    assert.ok(detected <= DETECT_WITHIN_MS);
    assert.ok(first.anomaly!.score > first.anomaly!.threshold);
    const n = healthy.length - reversal.length;
    assert.ok(n >= HEALTHY_WINDOWS, `only ${n} healthy windows outside a reversal`);
    const alarms = falseAlarms.length + reversalAlarms.length;
    assert.ok(alarms <= Math.max(1, healthy.length * 0.02), `${alarms} false alarms of ${healthy.length} windows`);

    // InfluxDB has the field anomaly = true for glass-01.
    await eventually(
      async () =>
        (await influxCount(
          `SELECT count(anomaly_score) FROM glass WHERE source = '${LINE}' AND anomaly = true AND time >= ${injected}ms`,
        )) > 0,
      30_000,
      1000,
    );
    log(`whole test so far ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
