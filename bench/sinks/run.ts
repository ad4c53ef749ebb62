/**
 * bench/sinks: records/s through our sink nodes (deployed with node-red-node-test-helper, fed
 * batched record messages, counted when output 1 reports the broker's/server's acknowledgement)
 * against the raw client in the same run on the same data:
 *   kafka out   vs kafkajs producer.sendBatch (same batch size, gzip, acks=all)
 *   influxdb out vs @influxdata/influxdb-client writeApi (same batch size)
 * Both sides start from the same in-memory record objects and stop when the server acknowledged the
 * last one: the raw side serialises (JSON.stringify / line protocol) inside its timed loop, as any
 * program using the raw client must; our side parses, validates and maps through the node.
 * After a warm-up of each (not counted), rounds alternate which side goes first; the median of each
 * side is reported with the ratio ours/raw. The broker/server shares the machine's cores, so single
 * rounds vary by +-20 %: read the medians.
 * Needs the test servers: `bash scripts/test-services.sh start kafka influxdb` (npm run bench:sinks).
 *
 * Options (env): BENCH_RECORDS (default 100000), BENCH_ROUNDS (5), BENCH_MSG_RECORDS (records per
 * message, 100), BENCH_ONLY (kafka | influx).
 */
import { InfluxDB } from "@influxdata/influxdb-client";
import { CompressionTypes, Kafka, logLevel } from "kafkajs";
import { helper } from "../../test/support/helper";
import { fmt, median } from "../support";
import { services } from "../../test/support/services";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaOut from "../../nodes/kafka-out/kafka-out";
import influxConfig from "../../nodes/influxdb-config/influxdb-config";
import influxOut from "../../nodes/influxdb-out/influxdb-out";
import { KAFKA_BROKER_DEFAULTS, KAFKA_BROKER_VERSION } from "../../nodes/kafka-broker/config";
import { KAFKA_OUT_DEFAULTS, KAFKA_OUT_VERSION } from "../../nodes/kafka-out/config";
import { CONFIG_DEFAULTS, CONFIG_VERSION } from "../../nodes/influxdb-config/config";
import { OUT_DEFAULTS, OUT_VERSION } from "../../nodes/influxdb-out/config";

const N = Number(process.env.BENCH_RECORDS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = Math.min(N, 10_000);
const PER_MSG = Number(process.env.BENCH_MSG_RECORDS ?? 100);
const BATCH = 500;
const INFLUX_BATCH = 5000;
const ONLY = process.env.BENCH_ONLY;

interface Rec {
  source: string;
  ts: number;
  values: Record<string, number>;
}

function makeRecords(n: number, t0: number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const values: Record<string, number> = {};
    for (let k = 0; k < 8; k++) values[`tag_${k}`] = Math.round(Math.sin(i / 50 + k) * 1e6) / 1e3;
    out.push({ source: `m${i % 10}`, ts: t0 + i, values });
  }
  return out;
}

type Run = (recs: Rec[]) => Promise<number>;

/**
 * A warm-up of each side (round -1, not counted), then ROUNDS rounds alternating which side goes
 * first; prints each round and the medians with the ratio ours/raw.
 */
async function compare(
  names: { label: string; raw: string; ours: string },
  runRaw: Run,
  runOurs: Run,
  records: (round: number) => Rec[],
): Promise<void> {
  const raw: number[] = [];
  const ours: number[] = [];
  const warm = records(-1);
  await runRaw(warm);
  await runOurs(warm);
  for (let r = 0; r < ROUNDS; r++) {
    const recs = records(r);
    const order: Array<[Run, number[]]> = [
      [runRaw, raw],
      [runOurs, ours],
    ];
    if (r % 2 === 1) order.reverse();
    for (const [run, into] of order) into.push(await run(recs));
    process.stdout.write(`  round ${r + 1}: raw ${fmt(raw[r]!)} rec/s, ${names.ours} ${fmt(ours[r]!)} rec/s\n`);
  }
  const ratio = median(ours) / median(raw);
  process.stdout.write(
    `${names.label} ${names.raw} ${fmt(median(raw))} rec/s | ${names.ours} ${fmt(median(ours))} rec/s | ratio ${ratio.toFixed(2)}x (target >= 0.8x)\n`,
  );
}

async function rawKafka(topic: string, recs: Rec[]): Promise<number> {
  const kafka = new Kafka({ brokers: services.kafkaBrokers, clientId: "bench-raw", logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < recs.length; i += BATCH) {
    const messages = recs
      .slice(i, i + BATCH)
      .map((r) => ({ key: r.source, value: JSON.stringify(r), timestamp: String(r.ts) }));
    await producer.sendBatch({
      topicMessages: [{ topic, messages }],
      acks: -1,
      compression: CompressionTypes.GZIP,
    });
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await producer.disconnect();
  return recs.length / s;
}

/** Deploy `flow`, feed the records as batched messages into `inId`, wait until output 1 saw them all. */
async function throughNode(
  nodes: Array<(RED: unknown) => void>,
  flow: object[],
  creds: Record<string, Record<string, unknown>>,
  inId: string,
  recs: Rec[],
): Promise<number> {
  await helper.load(nodes as never, flow, creds);
  const sink = helper.getNode(inId);
  const out = helper.getNode("out");
  const msgCount = Math.ceil(recs.length / PER_MSG);
  let acked = 0;
  let failed = 0;
  const done = new Promise<void>((resolve) => {
    out.on("input", () => {
      if (++acked === msgCount) resolve();
    });
  });
  const errors = helper.getNode("catcher");
  errors.on("input", (m: { error?: { message?: string } }) => {
    failed++;
    if (failed <= 3) process.stderr.write(`[bench] error: ${m.error?.message}\n`);
  });
  // Let the node connect first, so both sides are measured connected.
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < recs.length; i += PER_MSG) {
    sink.receive({ topic: "bench", payload: recs.slice(i, i + PER_MSG) });
    if ((i / PER_MSG) % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  await done;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await helper.unload();
  if (failed > 0) throw new Error(`${failed} message(s) failed in the node run`);
  return recs.length / s;
}

async function benchKafka(): Promise<void> {
  const topicRaw = `bench-raw-${Date.now()}`;
  const topicOurs = `bench-ours-${Date.now()}`;
  const flow = [
    {
      ...KAFKA_BROKER_DEFAULTS,
      id: "b",
      type: "kafka-broker",
      brokers: services.kafkaBrokers.join(","),
      clientId: "bench-ours",
      version: KAFKA_BROKER_VERSION,
    },
    {
      ...KAFKA_OUT_DEFAULTS,
      id: "k",
      type: "kafka-out",
      broker: "b",
      topic: topicOurs,
      topicMode: "static",
      keyMode: "source",
      valueMode: "record",
      compression: "gzip",
      batchSize: BATCH,
      lingerMs: 5,
      maxBacklog: 1_000_000,
      version: KAFKA_OUT_VERSION,
      wires: [["out"], []],
    },
    { id: "out", type: "helper" },
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["catchOut"]] },
    { id: "catchOut", type: "helper" },
  ];
  await compare(
    { label: "kafka: ", raw: "raw kafkajs sendBatch", ours: "kafka out" },
    (recs) => rawKafka(topicRaw, recs),
    (recs) => throughNode([kafkaBroker, kafkaOut] as never, flow, {}, "k", recs),
    (round) => makeRecords(round < 0 ? WARMUP : N, Date.now()),
  );
}

async function rawInflux(measurement: string, recs: Rec[]): Promise<number> {
  const client = new InfluxDB({ url: services.influxUrl, token: services.influxToken });
  const api = client.getWriteApi("", `${services.influxDb}/autogen`, "ms", {
    // One request per writeRecords() call, awaited through flush(): the client never batches behind our back.
    batchSize: INFLUX_BATCH + 1,
    flushInterval: 0,
    maxRetries: 0,
    gzipThreshold: 1000,
  });
  const line = (r: Rec): string =>
    `${measurement},source=${r.source} ${Object.entries(r.values)
      .map(([k, v]) => `${k}=${v}`)
      .join(",")} ${r.ts}`;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < recs.length; i += INFLUX_BATCH) {
    api.writeRecords(recs.slice(i, i + INFLUX_BATCH).map(line));
    await api.flush();
  }
  await api.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return recs.length / s;
}

async function benchInflux(): Promise<void> {
  const mRaw = `bench_raw_${Date.now()}`;
  const mOurs = `bench_ours_${Date.now()}`;
  const flow = [
    {
      ...CONFIG_DEFAULTS,
      id: "c",
      type: "influxdb-config",
      url: services.influxUrl,
      version: "1.8",
      database: services.influxDb,
      retentionPolicy: "autogen",
      cfgVersion: CONFIG_VERSION,
    },
    {
      ...OUT_DEFAULTS,
      id: "i",
      type: "influxdb-out",
      influxdb: "c",
      measurement: mOurs,
      precision: "ms",
      batchSize: INFLUX_BATCH,
      lingerMs: 5,
      maxBacklog: 1_000_000,
      version: OUT_VERSION,
      wires: [["out"], []],
    },
    { id: "out", type: "helper" },
    { id: "catcher", type: "catch", scope: null, uncaught: false, wires: [["catchOut"]] },
    { id: "catchOut", type: "helper" },
  ];
  const creds = { c: { token: services.influxToken } };
  await compare(
    { label: "influx:", raw: "raw writeApi", ours: "influxdb out" },
    (recs) => rawInflux(mRaw, recs),
    (recs) => throughNode([influxConfig, influxOut] as never, flow, creds, "i", recs),
    // Distinct timestamps per round so no round overwrites another's points.
    (round) =>
      round < 0 ? makeRecords(WARMUP, Date.now() - 7_200_000) : makeRecords(N, Date.now() - 3_600_000 + round * N),
  );
}

async function main(): Promise<void> {
  process.stdout.write(
    `bench/sinks: ${fmt(N)} records x ${ROUNDS} rounds, ${PER_MSG} records/msg, node ${process.version}\n`,
  );
  if (ONLY !== "influx") await benchKafka();
  if (ONLY !== "kafka") await benchInflux();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
