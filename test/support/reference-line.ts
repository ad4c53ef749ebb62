/**
 * Harness for the end-to-end tests of the reference lines: `scripts/start.mjs` as a child process (its
 * own user dir, the simulator ports given, sinks pointed at the test Kafka and InfluxDB) and a Kafka
 * consumer that collects the records this run writes. Used by test/integration/{cnc,glass}-line.test.ts.
 */
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Consumer, Kafka, logLevel } from "kafkajs";
import { eventually, uniqueName } from "./integration";
import { services } from "./services";

export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

/** A record as the flows write it to Kafka, plus its arrival time in the test. */
export interface KafkaRecord {
  source: string;
  ts: number;
  values: Record<string, unknown>;
  features?: Record<string, Record<string, number>>;
  anomaly?: { score: number; threshold: number; anomaly: boolean; contributions?: Record<string, number> };
  detections?: Array<{ class: string; score: number; box: { x: number; y: number; w: number; h: number } }>;
  /** wall-clock arrival in the test */
  at: number;
}

/**
 * Subscribe to `topics` (created if missing; a new group at the latest offsets) and hand every record of
 * this run (ts >= since) to `onRecord`. Returns the running consumer (disconnect it in after()).
 */
export async function collectRecords(
  name: string,
  topics: string[],
  since: number,
  onRecord: (topic: string, record: KafkaRecord) => void,
): Promise<Consumer> {
  const kafka = new Kafka({ clientId: `${name}-test`, brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId: uniqueName(name) });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      try {
        const v = JSON.parse(message.value?.toString("utf8") ?? "null") as KafkaRecord;
        if (v && typeof v.source === "string" && v.ts >= since) onRecord(topic, { ...v, at: Date.now() });
      } catch {
        // not a record: ignored
      }
    },
  });
  return consumer;
}

export interface StartedLine {
  child: ChildProcess;
  userDir: string;
  /** Everything the child printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM (start.mjs stops Node-RED and the simulators), SIGKILL after 20 s; removes the user dir. */
  stop(): Promise<void>;
}

/**
 * `node scripts/start.mjs` with a fresh user dir, the sinks on the test servers and `env` on top (ports,
 * LINEGUARD_LINES, ...); resolves once it printed the dashboard URL.
 */
export async function startReferenceLine(name: string, env: Record<string, string>): Promise<StartedLine> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  let output = "";
  const child = spawn(process.execPath, [path.join(repoRoot(), "scripts", "start.mjs")], {
    env: {
      ...process.env,
      LINEGUARD_USER_DIR: userDir,
      LINEGUARD_SIM_RATE: "1",
      LINEGUARD_SIM_SEED: "42",
      LINEGUARD_KAFKA_BROKERS: services.kafkaBrokers.join(","),
      LINEGUARD_INFLUX_URL: services.influxUrl,
      LINEGUARD_INFLUX_DB: services.influxDb,
      LINEGUARD_INFLUX_TOKEN: services.influxToken,
      LINEGUARD_NO_SIM: "",
      LINEGUARD_RESET_FLOWS: "",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const line: StartedLine = {
    child,
    userDir,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode})`);
      return /dashboard:\s+http/.test(output);
    },
    90_000,
    200,
  ).catch(async (err: Error) => {
    await line.stop();
    throw new Error(`${err.message}\n${output.slice(-4000)}`);
  });
  return line;
}
