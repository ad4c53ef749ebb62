/**
 * The CNC reference flow end to end, as a user runs it: `node scripts/start.mjs` (the CNC simulator
 * plus Node-RED with flows/cnc-line.json) against the real test Kafka and InfluxDB 1.8. Checks that
 * scored records of every machine reach Kafka (topic lineguard.cnc) and InfluxDB (measurement cnc),
 * then injects bearing wear on cnc-01 through the simulator's HTTP API and waits for the anomaly.
 * The simulator runs at 1 Hz: the model was trained on 32 s windows at 1 Hz.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Consumer } from "kafkajs";
import { freePort } from "../../lib/sim/cnc/net";
import { eventually, requireService } from "../support/integration";
import { KafkaRecord, StartedLine, collectRecords, startReferenceLine } from "../support/reference-line";
import { influxQuery, services } from "../support/services";

const TOPIC = "lineguard.cnc";
const MACHINES = ["cnc-01", "cnc-02", "cnc-03"];

describe("integration: the CNC reference flow (npm start -> Kafka + InfluxDB)", function () {
  this.timeout(360_000);
  let line: StartedLine | undefined;
  const output = (): string => line?.output() ?? "";
  let consumer: Consumer | undefined;
  let simUrl = "";
  let base = "";
  let started = Date.now();
  const records: KafkaRecord[] = [];

  before(async function () {
    started = Date.now();
    await requireService(this, "kafka");
    await requireService(this, "influxdb");
    const [nrPort, opcuaPort, mqttPort, httpPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    base = `http://127.0.0.1:${nrPort}`;
    simUrl = `http://127.0.0.1:${httpPort}`;
    // Listen on the topic first (new group, latest offsets): only this run's records count.
    consumer = await collectRecords("lg-cnc-line", [TOPIC], started, (_topic, r) => records.push(r));
    line = await startReferenceLine("lg-cnc-line", {
      LINEGUARD_PORT: String(nrPort),
      LINEGUARD_LINES: "cnc",
      LINEGUARD_OPCUA_PORT: String(opcuaPort),
      LINEGUARD_MQTT_PORT: String(mqttPort),
      LINEGUARD_SIM_HTTP_PORT: String(httpPort),
    });
  });

  after(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await line?.stop();
  });

  it("deploys the reference flow with the dashboard", async () => {
    await eventually(() => /Started flows/.test(output()), 30_000, 200).catch(() => {
      throw new Error(`the flows did not start:\n${output().slice(-3000)}`);
    });
    assert.doesNotMatch(output(), /Waiting for missing types/);
    assert.ok(fs.existsSync(path.join(line!.userDir, "flows.json")), "the flow file was written on first start");
    const flows = (await (await fetch(`${base}/flows`)).json()) as Array<{ type: string }>;
    assert.ok(flows.some((n) => n.type === "anomaly"));
    const cred = fs.readFileSync(path.join(line!.userDir, "flows_cred.json"), "utf8");
    assert.ok(!cred.includes(services.influxToken), "no secret on disk");
    const res = await fetch(`${base}/dashboard`);
    assert.equal(res.status, 200);
  });

  it("writes scored records of all 3 machines to Kafka and InfluxDB", async () => {
    await eventually(
      () => MACHINES.every((m) => records.some((r) => r.source === m && typeof r.anomaly?.score === "number")),
      120_000,
      500,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}; Kafka sources: ${[...new Set(records.map((r) => r.source))].join(",")}\n${output().slice(-3000)}`,
      );
    });
    const r = records.find((x) => x.anomaly)!;
    assert.equal(typeof r.values.spindle_speed, "number");
    assert.equal(r.anomaly!.threshold > 0, true);

    const since = `${started}ms`;
    const series = await eventually<Array<unknown> | undefined>(
      async () => {
        const res = await influxQuery(`SELECT count(anomaly_score) FROM cnc WHERE time >= ${since} GROUP BY source`);
        const s = (res.results?.[0]?.series ?? []) as Array<{ tags: { source: string }; values: number[][] }>;
        return MACHINES.every((m) => s.some((x) => x.tags.source === m && x.values[0]![1]! > 0)) ? s : undefined;
      },
      60_000,
      1000,
    );
    assert.equal((series ?? []).length >= 3, true);
  });

  it("flags bearing wear on cnc-01 within 240 s of the injection", async () => {
    const injected = Date.now();
    const res = await fetch(`${simUrl}/machines/cnc-01/failure`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "bearing-wear", rampSeconds: 60 }),
    });
    assert.equal(res.status < 300, true, `inject: HTTP ${res.status}`);
    const first = await eventually<KafkaRecord | undefined>(
      () => records.find((r) => r.source === "cnc-01" && r.ts >= injected && r.anomaly?.anomaly === true),
      240_000,
      500,
    ).catch((err: Error) => {
      const scores = records
        .filter((r) => r.source === "cnc-01" && r.ts >= injected)
        .map((r) => r.anomaly?.score.toFixed(3));
      throw new Error(
        `${err.message}; cnc-01 scores since the injection: ${scores.join(" ")}\n${output().slice(-3000)}`,
      );
    });
    assert.ok(first);
    const detected = first.ts - injected;
    // The same period on the healthy machines (both paths: OPC UA and MQTT).
    const healthy = records.filter((r) => r.source !== "cnc-01" && r.ts >= injected && r.ts <= first.ts && r.anomaly);
    const falseAlarms = healthy.filter((r) => r.anomaly!.anomaly).length;
    const cnc01 = records.filter((r) => r.source === "cnc-01" && r.ts >= injected && r.anomaly);
    console.log(
      `      detection: ${(detected / 1000).toFixed(1)} s after the injection (score ${first.anomaly!.score.toFixed(3)} > ` +
        `${first.anomaly!.threshold.toFixed(3)}; ${cnc01.length} cnc-01 windows scored until then); ` +
        `healthy machines: ${falseAlarms} anomalous of ${healthy.length} windows`,
    );
    assert.ok(detected <= 240_000);
    assert.ok(falseAlarms <= Math.max(1, healthy.length * 0.02), `${falseAlarms} false alarms of ${healthy.length}`);

    // InfluxDB has the field anomaly = true for cnc-01.
    await eventually(
      async () => {
        const q = await influxQuery(
          `SELECT count(anomaly_score) FROM cnc WHERE source = 'cnc-01' AND anomaly = true AND time >= ${injected}ms`,
        );
        return (q.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0) > 0;
      },
      30_000,
      1000,
    );
  });
});
