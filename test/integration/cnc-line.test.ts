/**
 * The CNC reference flow end to end, as a user runs it: `node scripts/start.mjs` (the CNC simulator
 * plus Node-RED with flows/cnc-line.json) against the real test Kafka and InfluxDB 1.8. Checks that
 * scored records of every machine reach Kafka (topic lineguard.cnc) and InfluxDB (measurement cnc),
 * then injects bearing wear on cnc-01 through the simulator's HTTP API and waits for the anomaly.
 * The simulator runs at 1 Hz: the model was trained on 32 s windows at 1 Hz.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Consumer, Kafka, logLevel } from "kafkajs";
import { freePort } from "../../lib/sim/cnc/net";
import { eventually, requireService, uniqueName } from "../support/integration";
import { influxQuery, services } from "../support/services";

const TOPIC = "lineguard.cnc";
const MACHINES = ["cnc-01", "cnc-02", "cnc-03"];

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

interface KafkaRecord {
  source: string;
  ts: number;
  values: Record<string, unknown>;
  anomaly?: { score: number; threshold: number; anomaly: boolean; contributions: Record<string, number> };
  /** wall-clock arrival in the test */
  at: number;
}

describe("integration: the CNC reference flow (npm start -> Kafka + InfluxDB)", function () {
  this.timeout(360_000);
  let child: ChildProcess | undefined;
  let output = "";
  let userDir = "";
  let consumer: Consumer | undefined;
  let simUrl = "";
  let base = "";
  const started = Date.now();
  const records: KafkaRecord[] = [];

  before(async function () {
    await requireService(this, "kafka");
    await requireService(this, "influxdb");
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-cnc-line-"));
    const [nrPort, opcuaPort, mqttPort, httpPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    base = `http://127.0.0.1:${nrPort}`;
    simUrl = `http://127.0.0.1:${httpPort}`;

    // Listen on the topic first (new group, latest offsets): only this run's records count.
    const kafka = new Kafka({
      clientId: "lg-cnc-line-test",
      brokers: services.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    consumer = kafka.consumer({ groupId: uniqueName("lg-cnc-line") });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        try {
          const v = JSON.parse(message.value?.toString("utf8") ?? "null") as KafkaRecord;
          if (v && typeof v.source === "string" && v.ts >= started) records.push({ ...v, at: Date.now() });
        } catch {
          // not a record: ignored
        }
      },
    });

    child = spawn(process.execPath, [path.join(repoRoot(), "scripts", "start.mjs")], {
      env: {
        ...process.env,
        LINEGUARD_USER_DIR: userDir,
        LINEGUARD_PORT: String(nrPort),
        LINEGUARD_LINES: "cnc",
        LINEGUARD_OPCUA_PORT: String(opcuaPort),
        LINEGUARD_MQTT_PORT: String(mqttPort),
        LINEGUARD_SIM_HTTP_PORT: String(httpPort),
        LINEGUARD_SIM_RATE: "1",
        LINEGUARD_SIM_SEED: "42",
        LINEGUARD_KAFKA_BROKERS: services.kafkaBrokers.join(","),
        LINEGUARD_INFLUX_URL: services.influxUrl,
        LINEGUARD_INFLUX_DB: services.influxDb,
        LINEGUARD_INFLUX_TOKEN: services.influxToken,
        LINEGUARD_NO_SIM: "",
        LINEGUARD_RESET_FLOWS: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await eventually(
      () => {
        if (child!.exitCode !== null) throw new Error(`npm start exited (${child!.exitCode})`);
        return /dashboard:\s+http/.test(output);
      },
      90_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output.slice(-4000)}`);
    });
  });

  after(async () => {
    await consumer?.disconnect().catch(() => undefined);
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child!.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("deploys the reference flow with the dashboard", async () => {
    await eventually(() => /Started flows/.test(output), 30_000, 200).catch(() => {
      throw new Error(`the flows did not start:\n${output.slice(-3000)}`);
    });
    assert.doesNotMatch(output, /Waiting for missing types/);
    assert.ok(fs.existsSync(path.join(userDir, "flows.json")), "the flow file was written on first start");
    const flows = (await (await fetch(`${base}/flows`)).json()) as Array<{ type: string }>;
    assert.ok(flows.some((n) => n.type === "anomaly"));
    const cred = fs.readFileSync(path.join(userDir, "flows_cred.json"), "utf8");
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
        `${err.message}; Kafka sources: ${[...new Set(records.map((r) => r.source))].join(",")}\n${output.slice(-3000)}`,
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
      throw new Error(`${err.message}; cnc-01 scores since the injection: ${scores.join(" ")}\n${output.slice(-3000)}`);
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
