/**
 * Store-and-forward with real processes (issue 5, "must show"): a real Node-RED child process runs a
 * flow that produces records at a steady rate into kafka-out and influxdb-out, while this test
 * SIGKILLs the Kafka broker, stops InfluxDB, and SIGKILLs Node-RED itself. Afterwards every record
 * a sink ACCEPTED (output 1 fired: with the disk spool once it is in the spool) must be in the topic /
 * the database: count and content checked per record id; duplicates are allowed, counted and printed.
 *
 * Servers: scripts/test-services.sh (Kafka KRaft, InfluxDB 1.8) through serviceCtl; every service is
 * left RUNNING in the after hook (other suites of the same mocha run use them).
 * Node-RED: test/support/node-red-process.ts (the BUILT pack in dist/, like an installed package).
 * The flow: test/integration/fixtures/outage-flows.ts.
 * Kill times: seeded (LINEGUARD_OUTAGE_SEED, printed) random spread over the run; no timing asserts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { eventually, requireService, uniqueName } from "../support/integration";
import { influxQuery, serviceCtl, services } from "../support/services";
import { NodeRedProcess, packRoot } from "../support/node-red-process";
import { acceptedFile, errorsFile, outageFlow, rejectedFile } from "./fixtures/outage-flows";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (text: string): void => {
  process.stderr.write(`      [outage] ${text}\n`);
};

/** mulberry32: a small seeded PRNG for the kill schedule. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Settings version of the BUILT sinks; >= 2 has the disk spool (spool: "disk"). */
function builtSinkVersions(): { kafka: number; influx: number } {
  const root = packRoot();
  /* eslint-disable @typescript-eslint/no-require-imports */
  const k = require(path.join(root, "dist", "nodes", "kafka-out", "config.js")) as { KAFKA_OUT_VERSION?: number };
  const i = require(path.join(root, "dist", "nodes", "influxdb-out", "config.js")) as { OUT_VERSION?: number };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { kafka: k.KAFKA_OUT_VERSION ?? 1, influx: i.OUT_VERSION ?? 1 };
}

/** Lines of an accepted/rejected log: id -> how many times it was logged. */
function readIds(file: string): Map<string, number> {
  const ids = new Map<string, number>();
  if (!fs.existsSync(file)) return ids;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line === "") continue;
    ids.set(line, (ids.get(line) ?? 0) + 1);
  }
  return ids;
}

function countLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  let n = 0;
  const buf = fs.readFileSync(file);
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return n;
}

/** Bytes of the files under `dir` (recursively); 0 when it does not exist. */
function dirBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

function readText(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

interface GenState {
  boot: string;
  t0: number;
  k: number;
  i: number;
}

async function gen(nr: NodeRedProcess, on: boolean, kafka = 0, influx = 0): Promise<GenState> {
  const q = on ? `?on=1&kafka=${kafka}&influx=${influx}` : "?on=0";
  const r = (await nr.request("GET", `/outage/gen${q}`)) as { state: GenState };
  return r.state;
}

async function genState(nr: NodeRedProcess): Promise<GenState> {
  return ((await nr.request("GET", "/outage/gen")) as { state: GenState }).state;
}

/** Waits until `file` holds `expected` lines or timeoutMs passed; returns the count. */
async function settle(file: string, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = countLines(file);
    if (n >= expected || Date.now() > deadline) return n;
    await sleep(250);
  }
}

interface KafkaRecordValue {
  source: string;
  ts: number;
  values: { seq: number; v: number };
}

/**
 * Reads the whole topic (up to the high watermarks at call time) with a fresh consumer group:
 * key -> values seen (duplicates kept).
 */
async function readWholeTopic(topic: string, timeoutMs = 60_000): Promise<Map<string, KafkaRecordValue[]>> {
  const kafka = new Kafka({
    clientId: "lineguard-outage-reader",
    brokers: services.kafkaBrokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 300 },
  });
  const admin = kafka.admin();
  await admin.connect();
  let offsets: Array<{ partition: number; high: string; low: string }>;
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const need = new Map<number, bigint>();
  for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) need.set(o.partition, BigInt(o.high));
  const byKey = new Map<string, KafkaRecordValue[]>();
  if (need.size === 0) return byKey;
  const consumer = kafka.consumer({ groupId: uniqueName("lg-outage-reader"), maxWaitTimeInMs: 200 });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  const timer = setTimeout(() => finish(), timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key ? message.key.toString("utf8") : "";
        const value = JSON.parse(String(message.value)) as KafkaRecordValue;
        const list = byKey.get(key);
        if (list) list.push(value);
        else byKey.set(key, [value]);
        const high = need.get(partition);
        if (high !== undefined && BigInt(message.offset) + 1n >= high) {
          need.delete(partition);
          if (need.size === 0) finish();
        }
      },
    });
    await finished;
    if (need.size > 0) throw new Error(`could not read partitions ${[...need.keys()].join(",")} of ${topic} in time`);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
  return byKey;
}

interface Verdict {
  accepted: number;
  delivered: number;
  missing: string[];
  duplicates: number;
  /** Keys delivered more than once, with their count. */
  dupKeys: string[];
  wrong: string[];
}

/** Every accepted Kafka record ("k<boot>-<n>:<n>") must be under its key with its content. */
function checkKafka(accepted: Map<string, number>, byKey: Map<string, KafkaRecordValue[]>, t0s: Map<string, number>) {
  const v: Verdict = { accepted: accepted.size, delivered: 0, missing: [], duplicates: 0, dupKeys: [], wrong: [] };
  for (const [key, list] of byKey) {
    v.delivered += list.length;
    v.duplicates += list.length - 1;
    if (list.length > 1) v.dupKeys.push(`${key} x${list.length}`);
  }
  for (const id of accepted.keys()) {
    const [key, seqText] = id.split(":") as [string, string];
    const seq = Number(seqText);
    const got = byKey.get(key);
    if (!got) {
      v.missing.push(id);
      continue;
    }
    const boot = key.slice(1, key.lastIndexOf("-"));
    const t0 = t0s.get(boot);
    for (const r of got) {
      const ok =
        r.source === key && r.values.seq === seq && r.values.v === seq / 4 && (t0 === undefined || r.ts === t0 + seq);
      if (!ok) v.wrong.push(`${id}: ${JSON.stringify(r)}`);
    }
  }
  return v;
}

/** All points of one InfluxDB series: seq -> { v, timeMs } (plus the raw row count). */
async function readSeries(
  measurement: string,
  source: string,
): Promise<{ rows: number; bySeq: Map<number, { v: number; ms: number }> }> {
  const q = `SELECT "seq", "v" FROM "${measurement}" WHERE "source" = '${source}'`;
  const res = await influxQuery(q);
  const bySeq = new Map<number, { v: number; ms: number }>();
  let rows = 0;
  const series = (res?.results?.[0]?.series ?? []) as Array<{ columns: string[]; values: unknown[][] }>;
  for (const s of series) {
    const ci = { time: s.columns.indexOf("time"), seq: s.columns.indexOf("seq"), v: s.columns.indexOf("v") };
    for (const row of s.values) {
      rows++;
      // epoch=ns times beyond 2^53 lose precision as JSON numbers: round to ms (the write precision)
      bySeq.set(Number(row[ci.seq]), { v: Number(row[ci.v]), ms: Math.round(Number(row[ci.time]) / 1e6) });
    }
  }
  return { rows, bySeq };
}

async function influxCount(measurement: string, source: string): Promise<number> {
  const res = await influxQuery(`SELECT count("seq") FROM "${measurement}" WHERE "source" = '${source}'`);
  const s = res?.results?.[0]?.series?.[0] as { values: unknown[][] } | undefined;
  return s ? Number(s.values[0]![1]) : 0;
}

/** Every accepted InfluxDB record ("i<boot>:<n>") must be a point with v = n / 4 at t0 + n ms. */
async function checkInflux(measurement: string, accepted: Map<string, number>, t0s: Map<string, number>) {
  // InfluxDB keeps one point per identity (measurement + tags + time): a replayed point overwrites
  // itself, so duplicates cannot show here (and do no harm).
  const v: Verdict = { accepted: accepted.size, delivered: 0, missing: [], duplicates: 0, dupKeys: [], wrong: [] };
  const bySource = new Map<string, number[]>();
  for (const id of accepted.keys()) {
    const [source, seq] = id.split(":") as [string, string];
    const list = bySource.get(source) ?? [];
    list.push(Number(seq));
    bySource.set(source, list);
  }
  for (const [source, seqs] of bySource) {
    const { rows, bySeq } = await readSeries(measurement, source);
    v.delivered += rows;
    const t0 = t0s.get(source.slice(1));
    for (const seq of seqs) {
      const p = bySeq.get(seq);
      if (!p) v.missing.push(`${source}:${seq}`);
      else if (p.v !== seq / 4 || (t0 !== undefined && p.ms !== t0 + seq)) {
        v.wrong.push(`${source}:${seq}: v=${p.v} ms=${p.ms}`);
      }
    }
  }
  return v;
}

function report(label: string, v: Verdict, extra = ""): void {
  log(
    `${label}: accepted ${v.accepted}, delivered ${v.delivered}, missing ${v.missing.length}, ` +
      `duplicates ${v.duplicates}, wrong content ${v.wrong.length}${extra ? `, ${extra}` : ""}`,
  );
  if (v.dupKeys.length > 0) {
    log(
      `  duplicated keys (${v.dupKeys.length}): ${v.dupKeys.slice(0, 20).join(", ")}${v.dupKeys.length > 20 ? ", ..." : ""}`,
    );
  }
}

function assertComplete(label: string, v: Verdict, dir: string): void {
  const errors = readText(errorsFile(dir)).split("\n").filter(Boolean);
  const hint =
    `\n  first missing: ${v.missing.slice(0, 5).join(", ")}` +
    `\n  first wrong: ${v.wrong.slice(0, 3).join(" | ")}` +
    `\n  flow errors (${errors.length}): ${errors.slice(0, 5).join(" | ")}`;
  assert.equal(v.missing.length, 0, `${label}: ${v.missing.length} accepted records are missing${hint}`);
  assert.equal(v.wrong.length, 0, `${label}: ${v.wrong.length} records have wrong content${hint}`);
}

describe("integration: store-and-forward with real processes (broker, database and Node-RED killed)", function () {
  this.timeout(240_000);

  const seed = Number(process.env.LINEGUARD_OUTAGE_SEED ?? 20261123);
  const random = rng(seed);
  const procs: NodeRedProcess[] = [];
  const dirs: string[] = [];
  let sinkExtra: Record<string, unknown> = {};
  let diskSpool = false;

  before(async function () {
    await requireService(this, "kafka");
    await requireService(this, "influxdb");
    const v = builtSinkVersions();
    diskSpool = v.kafka >= 2 && v.influx >= 2;
    if (diskSpool) sinkExtra = { version: 2, spool: "disk" };
    log(
      `seed ${seed}; built sinks: kafka-out v${v.kafka}, influxdb-out v${v.influx} ` +
        `(${diskSpool ? "disk spool" : "memory backlog: no disk spool in dist/ yet"})`,
    );
  });

  after(async function () {
    this.timeout(180_000);
    for (const p of procs) await p.stop(10_000).catch(() => undefined);
    // Other suites run after this one in the same mocha process: every server must be up again.
    serviceCtl("start", "kafka");
    serviceCtl("start", "influxdb");
    for (const p of procs) await p.cleanup().catch(() => undefined);
    if (process.env.LINEGUARD_KEEP_OUTAGE_DIRS !== "1") {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  function newFlow(name: string): { nr: NodeRedProcess; dir: string; topic: string; measurement: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lg-outage-${name}-`));
    dirs.push(dir);
    const topic = uniqueName(`lg-outage-${name}`);
    const measurement = uniqueName(`lg_outage_${name}`).replace(/-/g, "_");
    const flow = outageFlow({
      dir,
      kafkaBrokers: services.kafkaBrokers.join(","),
      topic,
      influxUrl: services.influxUrl,
      influxDb: services.influxDb,
      measurement,
      sinkExtra,
    });
    const nr = new NodeRedProcess({
      flow,
      userDir: path.join(dir, "user"),
      credentials: { influx1: { token: services.influxToken } },
    });
    procs.push(nr);
    return { nr, dir, topic, measurement };
  }

  it("(1) Kafka SIGKILLed 5 times while the flow sends 200 records/s: every accepted record is in the topic", async () => {
    const { nr, dir, topic } = newFlow("kafka");
    await nr.start();
    const kafkaAcc = acceptedFile(dir, "kafka");
    await gen(nr, true, 10, 0); // 10 records per 50 ms tick = 200 records/s, 20 messages/s
    await eventually(() => countLines(kafkaAcc) > 0, 30_000, 200);

    const outages: number[] = [];
    for (let k = 1; k <= 5; k++) {
      await sleep(2000 + Math.round(random() * 4000)); // up (and draining) for 2-6 s
      serviceCtl("kill", "kafka");
      const down = Date.now();
      await sleep(1000 + Math.round(random() * 3000)); // down for 1-4 s before the restart begins
      serviceCtl("start", "kafka");
      outages.push(Date.now() - down);
      log(`kafka kill ${k}/5: down ${outages[k - 1]} ms (until healthy); accepted so far ${countLines(kafkaAcc)}`);
    }
    await sleep(3000);
    const st = await gen(nr, false);
    const generated = st.k;
    const accepted = await settle(kafkaAcc, generated, 120_000);
    const ids = readIds(kafkaAcc);
    const byKey = await readWholeTopic(topic);
    const v = checkKafka(ids, byKey, new Map([[st.boot, st.t0]]));
    report(
      "kafka x5 SIGKILL",
      v,
      `generated ${generated}, rejected ${countLines(rejectedFile(dir))}, flow errors ${countLines(errorsFile(dir))}, ` +
        `outages ${outages.map((o) => `${(o / 1000).toFixed(1)} s`).join(" / ")}`,
    );
    assert.equal(ids.size, accepted, "each record is accepted once");
    assertComplete("kafka", v, dir);
    assert.equal(accepted, generated, "the sink accepted every record the flow produced (none refused or dropped)");
    assert.ok(v.accepted > 0);
  });

  it("(2) InfluxDB stopped while 40,000+ points arrive (more than the client's 32,000-line buffer): every point is in the database", async () => {
    const { nr, dir, measurement } = newFlow("influx");
    await nr.start();
    const influxAcc = acceptedFile(dir, "influx");
    await gen(nr, true, 0, 100); // 100 records per 50 ms tick = 2,000 points/s, 20 messages/s
    await eventually(() => countLines(influxAcc) > 0, 30_000, 200);
    await sleep(1000);

    const before = await genState(nr);
    serviceCtl("stop", "influxdb");
    const down = Date.now();
    const OUTAGE_POINTS = 45_000;
    await eventually(async () => (await genState(nr)).i - before.i >= OUTAGE_POINTS, 120_000, 500);
    const during = (await genState(nr)).i - before.i;
    serviceCtl("start", "influxdb");
    const outage = Date.now() - down;
    log(`influxdb stopped for ${(outage / 1000).toFixed(1)} s; ${during} points generated meanwhile`);
    await sleep(2000);
    const st = await gen(nr, false);
    const generated = st.i;
    const accepted = await settle(influxAcc, generated, 120_000);
    const source = `i${st.boot}`;
    await eventually(async () => (await influxCount(measurement, source)) >= accepted, 120_000, 1000).catch(
      () => undefined,
    );
    const ids = readIds(influxAcc);
    const v = await checkInflux(measurement, ids, new Map([[st.boot, st.t0]]));
    report(
      "influxdb outage",
      v,
      `generated ${generated}, during the outage ${during}, rejected ${countLines(rejectedFile(dir))}, ` +
        `flow errors ${countLines(errorsFile(dir))}, outage ${(outage / 1000).toFixed(1)} s`,
    );
    assert.ok(during >= 40_000, "more points than the official client's 32,000-line buffer arrived during the outage");
    assert.equal(ids.size, accepted, "each record is accepted once");
    assertComplete("influxdb", v, dir);
    assert.equal(accepted, generated, "the sink accepted every point the flow produced (none refused or dropped)");
  });

  it("(3) Node-RED SIGKILLed while the spool holds a backlog and both servers are down: the backlog is delivered after the restart", async function () {
    if (!diskSpool) {
      log("skipped: the built kafka-out/influxdb-out have no disk spool yet (settings version < 2)");
      this.skip();
    }
    const { nr, dir, topic, measurement } = newFlow("nodered");
    await nr.start();
    const kafkaAcc = acceptedFile(dir, "kafka");
    const influxAcc = acceptedFile(dir, "influx");
    await gen(nr, true, 10, 20); // 200 Kafka records/s and 400 InfluxDB points/s
    await eventually(() => countLines(kafkaAcc) > 0 && countLines(influxAcc) > 0, 30_000, 200);
    await sleep(1000);

    serviceCtl("kill", "kafka");
    serviceCtl("stop", "influxdb");
    const down = Date.now();
    const atDown = { kafka: countLines(kafkaAcc), influx: countLines(influxAcc) };
    await sleep(6000);
    const st = await gen(nr, false);
    await settle(kafkaAcc, st.k, 10_000);
    await settle(influxAcc, st.i, 10_000);
    const backlog = { kafka: countLines(kafkaAcc) - atDown.kafka, influx: countLines(influxAcc) - atDown.influx };
    log(`backlog accepted while the servers were down: kafka ${backlog.kafka}, influxdb ${backlog.influx}`);
    assert.ok(
      backlog.kafka > 0 && backlog.influx > 0,
      "records were accepted into the spool while the servers were down",
    );

    const spoolDir = path.join(nr.userDir, "lineguard", "spool");
    const spooled = { kafka: dirBytes(path.join(spoolDir, "kout")), influx: dirBytes(path.join(spoolDir, "iout")) };
    await nr.kill(); // SIGKILL with the backlog in the spool
    log(
      `node-red SIGKILLed with ${spooled.kafka} + ${spooled.influx} bytes in the kafka/influxdb spools; ` +
        `restarting it with both servers still down`,
    );
    assert.ok(spooled.kafka > 0 && spooled.influx > 0, `the backlog is on disk under ${spoolDir}`);
    await nr.start();
    await sleep(2000);
    serviceCtl("start", "kafka");
    serviceCtl("start", "influxdb");
    const outage = Date.now() - down;

    const kIds = readIds(kafkaAcc);
    const iIds = readIds(influxAcc);
    const t0s = new Map([[st.boot, st.t0]]);
    // Delivery: wait until the topic / the series hold every accepted record (or time out and report).
    let kv = checkKafka(kIds, new Map(), t0s);
    await eventually(
      async () => {
        kv = checkKafka(kIds, await readWholeTopic(topic, 30_000), t0s);
        return kv.missing.length === 0;
      },
      120_000,
      2000,
    ).catch(() => undefined);
    await eventually(async () => (await influxCount(measurement, `i${st.boot}`)) >= iIds.size, 120_000, 1000).catch(
      () => undefined,
    );
    const iv = await checkInflux(measurement, iIds, t0s);
    const extra = `outage ${(outage / 1000).toFixed(1)} s, flow errors ${countLines(errorsFile(dir))}`;
    report("node-red SIGKILL, kafka", kv, `backlog ${backlog.kafka}, ${extra}`);
    report("node-red SIGKILL, influxdb", iv, `backlog ${backlog.influx}, ${extra}`);
    assertComplete("kafka after the Node-RED restart", kv, dir);
    assertComplete("influxdb after the Node-RED restart", iv, dir);
  });
});
