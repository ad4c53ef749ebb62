/**
 * bench/spool: what the disk spool (SpoolLanes, lib/sinks/lanes.ts) costs and holds.
 *
 *   Part 1  the spool alone: append rec/s (batches of 1, 100, 1000 records) and replay rec/s
 *           (peek + shift, batches of 100 and 1000), median of the rounds, fresh spool each round.
 *   Part 2  a sink with the spool vs without it, same run, real servers: BatchWriter + KafkaTransport
 *           (and InfluxTransport) with a MemoryBacklog and completeOn "ack" (the sinks before issue 5)
 *           vs SpoolLanes and completeOn "accept". N records in messages of k records are accepted at
 *           full speed; throughput = records acknowledged by the server per second, timed from the
 *           first accept until the writer's backlog is empty. Rounds alternate the order (A B, B A, ...)
 *           after a warm-up of each side; medians and the ratio spool/memory (target >= 0.7x).
 *   Part 3  a 1 GB backlog (sink disconnected: appends only, fsync "interval"): RSS and time every
 *           100 MB, then the cold-start open time of the full spool. Skipped when < 3 GB are free.
 *
 * Records are CNC records as the simulator produces them (15 tags, ~330 B of JSON), mapped exactly as
 * the sinks map them: Kafka items by mapMessage (kafka out, value = record JSON, key = source), InfluxDB
 * items by LineMapper (influxdb out). Mapping happens before the timed part in both sides of part 2,
 * so the ratio compares backlog + writer + transport only (the node's parse/map cost would dilute it).
 * The broker and database share the machine's cores: single rounds vary, read the medians.
 * Needs the test servers for part 2: `bash scripts/test-services.sh start kafka influxdb`.
 *
 * Options (env): LINEGUARD_BENCH_QUICK=1 (small sizes, a smoke run of < 30 s), LINEGUARD_BENCH_GB
 * (backlog size of part 3 in GB, default 1), LINEGUARD_BENCH_PARTS (e.g. "1,3"; default all),
 * LINEGUARD_BENCH_ONLY (kafka | influx, for parts 1 and 2).
 */
import { influxItemSerializer, kafkaItemSerializer } from "../../lib/sinks/spool-serializers";
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, Partitioners, logLevel } from "kafkajs";
import { bounded, fmt, median } from "../support";
import { services } from "../../test/support/services";
import { LineRecord } from "../../lib/record";
import { Backlog, MemoryBacklog, SinkItem } from "../../lib/sinks/backlog";
import { SpoolLanes } from "../../lib/sinks/lanes";
import { SpoolSerializer } from "../../lib/sinks/spool";
import { CompleteOn, BatchWriter, Transport } from "../../lib/sinks/writer";
import { KAFKAJS_RETRY, KafkaItem, KafkaTransport, SharedProducer, mapMessage } from "../../lib/sinks/kafka";
import { InfluxClient, InfluxTransport, resolveConnection } from "../../lib/sinks/influx";
import { InfluxItem, LineMapper } from "../../lib/sinks/line-protocol";

const QUICK = process.env.LINEGUARD_BENCH_QUICK === "1";
const GB = Number(process.env.LINEGUARD_BENCH_GB ?? (QUICK ? 0.05 : 1));
const PARTS = new Set((process.env.LINEGUARD_BENCH_PARTS ?? "1,2,3").split(",").map((s) => s.trim()));
const ONLY = process.env.LINEGUARD_BENCH_ONLY;
const MB = 1024 * 1024;

/** Part 1: records per round for append batch 1 and for batches of 100 / 1000; rounds. */
const P1_SINGLE = QUICK ? 5_000 : 50_000;
const P1_N = QUICK ? 20_000 : 200_000;
const P1_ROUNDS = QUICK ? 3 : 5;
/** Part 2: records per round, records per message, rounds per side. */
const P2_N = QUICK ? 10_000 : 100_000;
const P2_PER_MSG = 100;
const P2_ROUNDS = QUICK ? 2 : 5;
/** Writer settings as the nodes' defaults (kafka out 500, influxdb out 5000 per batch; 1 MiB). */
const KAFKA_BATCH = 500;
const INFLUX_BATCH = 5000;
const BATCH_BYTES = MB;
const LINGER_MS = 5;
/** Part 3: free disk needed, progress step. */
const P3_MIN_FREE = 3 * 1024 * MB;

type Kind = "kafka" | "influx";

// ---------------------------------------------------------------- output

/** Print a table: header row, a rule, then the rows; numbers right-aligned. */
function table(title: string, head: string[], rows: Array<Array<string | number>>): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)));
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (/^[-+]?[\d,.]+( ?[a-zA-Z%/]+)?$/.test(c) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ");
  process.stdout.write(`\n${title}\n${line(head)}\n${w.map((n) => "-".repeat(n)).join("  ")}\n`);
  for (const r of cells) process.stdout.write(`${line(r)}\n`);
}

const log = (s: string): void => void process.stdout.write(`${s}\n`);
const rssMB = (): number => process.memoryUsage().rss / MB;
const secondsSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

// ---------------------------------------------------------------- records

const PROGRAMS = ["O1001-HOUSING", "O2040-FLANGE", "O3300-SHAFT"];
const STATES = ["running", "idle", "running", "running"];

/** CNC records as lib/sim/cnc reports them: 15 tags, 10 machines, one record per machine per 100 ms. */
function cncRecords(n: number, t0: number): LineRecord[] {
  const out: LineRecord[] = [];
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  for (let i = 0; i < n; i++) {
    const m = i % 10;
    const s = Math.sin(i / 97 + m);
    out.push({
      source: `cnc-${String(m + 1).padStart(2, "0")}`,
      ts: t0 + Math.floor(i / 10) * 100 + m,
      values: {
        state: STATES[(i >> 9) % STATES.length]!,
        program: PROGRAMS[m % PROGRAMS.length]!,
        part_count: 1000 + (i >> 7),
        spindle_speed: r3(8000 + 40 * s),
        spindle_load: r3(42 + 9 * s),
        feed_rate: r3(1200 + 80 * Math.cos(i / 31)),
        x_pos: r3(120 * Math.sin(i / 13)),
        y_pos: r3(80 * Math.cos(i / 17)),
        z_pos: r3(-15 + 5 * Math.sin(i / 23)),
        vibration_rms: r3(1.8 + 0.3 * s),
        spindle_temp: r3(48 + 2 * s),
        bearing_temp: r3(41 + 1.5 * s),
        coolant_temp: r3(22 + 0.5 * s),
        coolant_flow: r3(18 + 0.8 * s),
        power: r3(11 + 3 * s),
      },
    });
  }
  return out;
}

/** Kafka items of k-record messages, as kafka out maps them (value = record JSON, key = source). */
function kafkaMessages(recs: LineRecord[], k: number, topic: string): KafkaItem[][] {
  const msgs: KafkaItem[][] = [];
  for (let i = 0; i < recs.length; i += k) {
    const m = mapMessage(
      { topic: "cnc", payload: recs.slice(i, i + k) },
      { topicMode: "static", topic, keyMode: "source", valueMode: "record" },
    );
    if (m.rejected.length > 0) throw new Error(`bench records rejected: ${m.rejected[0]!.reason}`);
    msgs.push(m.items);
  }
  return msgs;
}

/** InfluxDB items of k-record messages, as influxdb out maps them. */
function influxMessages(recs: LineRecord[], k: number, measurement: string): InfluxItem[][] {
  const mapper = new LineMapper({ measurement, precision: "ms" });
  const msgs: InfluxItem[][] = [];
  for (let i = 0; i < recs.length; i += k) {
    const m = mapper.map(recs.slice(i, i + k));
    if (m.rejected.length > 0) throw new Error(`bench records rejected: ${m.rejected[0]!.reason}`);
    msgs.push(m.items);
  }
  return msgs;
}

function messagesOf(kind: Kind, recs: LineRecord[], k: number, target: string): SinkItem[][] {
  return kind === "kafka" ? kafkaMessages(recs, k, target) : influxMessages(recs, k, target);
}

// ---------------------------------------------------------------- spool

const tmpDirs = new Set<string>();

function tempDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `lineguard-bench-spool-${tag}-`));
  tmpDirs.add(d);
  return d;
}

function removeDir(d: string): void {
  fs.rmSync(d, { recursive: true, force: true });
  tmpDirs.delete(d);
}

/** The spool serializer the sink node uses for these items (lib/sinks/spool-serializers.ts). */
function serializerFor<T extends SinkItem>(kind: Kind): SpoolSerializer<T> | undefined {
  // what kafka-out / influxdb-out store their records with
  return (kind === "kafka" ? kafkaItemSerializer() : influxItemSerializer()) as unknown as SpoolSerializer<T>;
}
const serializerName = (kind: Kind): string => (serializerFor(kind) ? "own" : "JSON");

/**
 * The spool as a sink node opens it (fsync "interval", order "live-first", linger of the writer),
 * with the replay rate unlimited so that replay runs at full speed.
 */
function openSpool<T extends SinkItem>(
  dir: string,
  serializer: SpoolSerializer<T> | undefined,
  maxBytes = 4 * 1024 * MB,
): SpoolLanes<T> {
  return new SpoolLanes<T>({
    dir,
    maxBytes,
    fsync: "interval",
    replayRate: 0,
    lingerMs: LINGER_MS,
    serializer,
  });
}

/** Bytes of the files under `dir`. */
function diskBytes(dir: string): number {
  let sum = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sum += diskBytes(p);
    else if (e.isFile()) sum += fs.statSync(p).size;
  }
  return sum;
}

/** Flatten messages into batches of `size` items (the last may be shorter). */
function rebatch<T>(msgs: T[][], size: number): T[][] {
  const flat = msgs.flat();
  const out: T[][] = [];
  for (let i = 0; i < flat.length; i += size) out.push(flat.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------- part 1

async function appendAll<T extends SinkItem>(spool: Backlog<T>, batches: T[][]): Promise<number> {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const b of batches) {
    const res = await spool.append(b);
    if (res.accepted !== b.length) throw new Error(`spool refused ${b.length - res.accepted} record(s)`);
    n += b.length;
  }
  return n / secondsSince(t0);
}

async function replayAll<T extends SinkItem>(spool: Backlog<T>, batch: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (spool.length > 0) {
    const got = await spool.peek(batch, Number.MAX_SAFE_INTEGER);
    if (got.length === 0) throw new Error(`peek returned nothing with ${spool.length} record(s) left`);
    await spool.shift(got.length);
    n += got.length;
  }
  return n / secondsSince(t0);
}

async function part1(kinds: Kind[]): Promise<void> {
  log(
    `\nPart 1: the spool alone (SpoolLanes, fsync "interval"), ${fmt(P1_N)} records per round ` +
      `(${fmt(P1_SINGLE)} for batch 1), median of ${P1_ROUNDS} rounds`,
  );
  const rows: Array<Array<string | number>> = [];
  for (const kind of kinds) {
    const msgs = messagesOf(kind, cncRecords(P1_N, Date.now()), 1000, "bench");
    const avgBytes = msgs.flat().reduce((s, it) => s + it.bytes, 0) / P1_N;
    const r: Record<string, number[]> = {};
    const add = (k: string, v: number): void => void (r[k] ??= []).push(v);
    for (let round = 0; round < P1_ROUNDS; round++) {
      // batch 1 on its own (fewer records: one write per record)
      {
        const dir = tempDir("p1");
        const s = openSpool<SinkItem>(dir, serializerFor(kind));
        add("append 1", await appendAll(s, rebatch(msgs, 1).slice(0, P1_SINGLE)));
        await s.close();
        removeDir(dir);
      }
      for (const b of [100, 1000]) {
        const dir = tempDir("p1");
        const s = openSpool<SinkItem>(dir, serializerFor(kind));
        add(`append ${b}`, await appendAll(s, rebatch(msgs, b)));
        add(`replay ${b}`, await replayAll(s, b));
        await s.close();
        removeDir(dir);
      }
    }
    const item = kind === "kafka" ? "kafka item" : "influx line";
    for (const op of ["append 1", "append 100", "append 1000", "replay 100", "replay 1000"]) {
      const v = r[op]!;
      const [what, batch] = op.split(" ");
      rows.push([
        `${item} (${Math.round(avgBytes)} B, ${serializerName(kind)})`,
        what!,
        batch!,
        median(v),
        `${((median(v) * avgBytes) / MB).toFixed(1)}`,
        `${fmt(Math.min(...v))}..${fmt(Math.max(...v))}`,
      ]);
    }
  }
  table("Part 1: spool alone", ["records", "op", "batch", "median rec/s", "MB/s", "range rec/s"], rows);
}

// ---------------------------------------------------------------- part 2

interface Side {
  name: "memory" | "spool";
  completeOn: CompleteOn;
  backlog: <T extends SinkItem>(total: number, kind: Kind) => { backlog: Backlog<T>; dir?: string };
}

const SIDES: Side[] = [
  {
    name: "memory",
    completeOn: "ack",
    backlog: <T extends SinkItem>(total: number) => ({
      backlog: new MemoryBacklog<T>({ maxItems: total + 1, maxBytes: 4 * 1024 * MB }),
    }),
  },
  {
    name: "spool",
    completeOn: "accept",
    backlog: <T extends SinkItem>(_total: number, kind: Kind) => {
      const dir = tempDir("p2");
      return { backlog: openSpool<T>(dir, serializerFor<T>(kind)), dir };
    },
  },
];

interface SinkRun {
  /** Records acknowledged by the server per second (first accept -> backlog empty). */
  delivered: number;
  /** Records whose message callback ran per second (stored for the spool, acked for memory). */
  accepted: number;
}

/** Feed `msgs` into a fresh writer on `t` at full speed; resolve when all were delivered. */
async function runSink<T extends SinkItem>(side: Side, t: SinkTarget<T>, msgs: T[][]): Promise<SinkRun> {
  const total = msgs.reduce((s, m) => s + m.length, 0);
  const { backlog, dir } = side.backlog<T>(total, t.kind);
  const writer = new BatchWriter<T>({
    transport: t.transport(),
    backlog,
    batchSize: t.batchSize,
    batchBytes: BATCH_BYTES,
    lingerMs: LINGER_MS,
    completeOn: side.completeOn,
  });
  let sent = 0;
  let settled = 0;
  let tAccepted = 0n;
  let firstError: Error | undefined;
  const delivered = new Promise<void>((resolve, reject) => {
    writer.on("sent", (n: number) => {
      sent += n;
      if (sent >= total && backlog.length === 0) resolve();
    });
    writer.on("failed", (err: Error) => reject(err));
  });
  writer.start();
  await bounded(
    new Promise<void>((resolve) => {
      if (writer.state === "connected") resolve();
      else writer.on("state", (s: string) => s === "connected" && resolve());
    }),
    30_000,
    `the ${side.name} writer to connect`,
  );
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < msgs.length; i++) {
    const n = msgs[i]!.length;
    writer.accept(msgs[i]!, (err) => {
      if (err && !firstError) firstError = err;
      settled += n;
      if (settled === total) tAccepted = process.hrtime.bigint();
    });
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  await bounded(delivered, 300_000, `${side.name}: ${total - sent} record(s) to be acknowledged`);
  const s = secondsSince(t0);
  await writer.close();
  if (dir) removeDir(dir);
  if (firstError) throw firstError;
  const acceptS = tAccepted > 0n ? Number(tAccepted - t0) / 1e9 : s;
  return { delivered: total / s, accepted: total / acceptS };
}

interface SinkTarget<T extends SinkItem> {
  kind: Kind;
  label: string;
  batchSize: number;
  transport: () => Transport<T>;
  messages: (side: Side["name"], round: number) => T[][];
}

async function compareSides<T extends SinkItem>(t: SinkTarget<T>, rows: Array<Array<string | number>>): Promise<void> {
  const res: Record<Side["name"], SinkRun[]> = { memory: [], spool: [] };
  for (const side of SIDES) await runSink(side, t, t.messages(side.name, -1)); // warm-up
  for (let r = 0; r < P2_ROUNDS; r++) {
    const order = r % 2 === 0 ? SIDES : [...SIDES].reverse();
    for (const side of order) res[side.name].push(await runSink(side, t, t.messages(side.name, r)));
    log(
      `  ${t.label} round ${r + 1}: memory ${fmt(res.memory[r]!.delivered)} rec/s, spool ${fmt(res.spool[r]!.delivered)} rec/s`,
    );
  }
  const mem = median(res.memory.map((x) => x.delivered));
  const spool = median(res.spool.map((x) => x.delivered));
  const ratio = spool / mem;
  rows.push([
    t.label,
    mem,
    spool,
    median(res.spool.map((x) => x.accepted)),
    `${ratio.toFixed(2)}x`,
    `>= 0.7x ${ratio >= 0.7 ? "met" : "NOT met"}`,
  ]);
}

async function part2(kinds: Kind[]): Promise<void> {
  log(
    `\nPart 2: sink with vs without the spool, ${fmt(P2_N)} records per round in messages of ${P2_PER_MSG}, ` +
      `${P2_ROUNDS} rounds per side after a warm-up, alternating order`,
  );
  const rows: Array<Array<string | number>> = [];
  const stamp = Date.now();
  if (kinds.includes("kafka")) {
    const kafka = new Kafka({
      brokers: services.kafkaBrokers,
      clientId: "bench-spool",
      logLevel: logLevel.NOTHING,
    });
    // As the kafka-broker config node builds it.
    const shared = new SharedProducer(
      kafka.producer({
        allowAutoTopicCreation: true,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: KAFKAJS_RETRY,
      }),
      { allowAutoTopicCreation: true, brokers: services.kafkaBrokers },
    );
    await bounded(shared.connect(), 30_000, `Kafka at ${services.kafkaBrokers.join(",")}`);
    try {
      await compareSides<KafkaItem>(
        {
          kind: "kafka",
          label: "kafka out (gzip, acks=all)",
          batchSize: KAFKA_BATCH,
          transport: () => new KafkaTransport(shared, { compression: "gzip" }),
          messages: (side, round) =>
            kafkaMessages(
              cncRecords(round < 0 ? P2_N / 10 : P2_N, Date.now()),
              P2_PER_MSG,
              `bench-spool-${side}-${stamp}`,
            ),
        },
        rows,
      );
    } finally {
      await shared.disconnect();
    }
  }
  if (kinds.includes("influx")) {
    const conn = resolveConnection(
      { url: services.influxUrl, version: "1.8", database: services.influxDb, retentionPolicy: "autogen" },
      { token: services.influxToken },
    );
    const client = new InfluxClient(conn);
    await bounded(client.ping(), 10_000, `InfluxDB at ${services.influxUrl}`);
    try {
      await compareSides<InfluxItem>(
        {
          kind: "influx",
          label: "influxdb out (1.8, gzip)",
          batchSize: INFLUX_BATCH,
          transport: () => new InfluxTransport(client, { org: "", bucket: conn.bucket!, precision: "ms" }),
          // Own measurement per side and own time range per round: no round overwrites another's points.
          messages: (side, round) =>
            influxMessages(
              cncRecords(round < 0 ? P2_N / 10 : P2_N, stamp - 86_400_000 + (round + 1) * P2_N * 10),
              P2_PER_MSG,
              `bench_spool_${side}_${stamp}`,
            ),
        },
        rows,
      );
    } finally {
      await client.close();
    }
  }
  table(
    "Part 2: records/s acknowledged by the server (median); spool/memory ratio",
    ["sink", "memory (ack)", "spool", "spool accepted", "ratio", "target"],
    rows,
  );
  log(
    '  memory (ack) = MemoryBacklog, completeOn "ack"; spool = SpoolLanes, completeOn "accept"; ' +
      "spool accepted = rec/s until every message callback ran (stored on disk)",
  );
}

// ---------------------------------------------------------------- part 3

function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

async function part3(): Promise<void> {
  const target = GB * 1024 * MB;
  const step = Math.min(100 * MB, target / 10);
  log(`\nPart 3: build a ${GB} GB backlog (sink disconnected, appends of 100 Kafka items, fsync "interval")`);
  const free = freeBytes(os.tmpdir());
  const need = Math.max(P3_MIN_FREE, target * 2);
  if (free < need) {
    log(
      `  skipped: ${(free / 1024 / MB).toFixed(1)} GB free in ${os.tmpdir()}, need ${(need / 1024 / MB).toFixed(1)} GB`,
    );
    return;
  }
  // A pool of 20k distinct records (200 messages), appended round and round.
  const pool = kafkaMessages(cncRecords(20_000, Date.now()), 100, "bench-backlog");
  const dir = tempDir("p3");
  const rows: Array<Array<string | number>> = [];
  const rss0 = rssMB();
  let spool = openSpool<KafkaItem>(dir, serializerFor("kafka"), target * 2);
  try {
    rows.push(["0", 0, "0.0", rss0.toFixed(0), (process.memoryUsage().heapUsed / MB).toFixed(0), "-"]);
    const t0 = process.hrtime.bigint();
    let records = 0;
    let next = step;
    let lastT = 0;
    let lastBytes = 0;
    for (let i = 0; ; i++) {
      const batch = pool[i % pool.length]!;
      const res = await spool.append(batch);
      if (res.accepted !== batch.length) throw new Error(`spool refused ${batch.length - res.accepted} record(s)`);
      records += batch.length;
      if (i % 10 !== 9) continue;
      const disk = spool.laneStats().diskBytes;
      if (disk < next && disk < target) continue;
      const t = secondsSince(t0);
      rows.push([
        (disk / MB).toFixed(0),
        records,
        t.toFixed(1),
        rssMB().toFixed(0),
        (process.memoryUsage().heapUsed / MB).toFixed(0),
        ((disk - lastBytes) / MB / (t - lastT)).toFixed(0),
      ]);
      lastT = t;
      lastBytes = disk;
      while (next <= disk) next += step;
      if (disk >= target) break;
    }
    const diskTotal = diskBytes(dir);
    await spool.close();
    table(
      `Part 3: building the backlog (RSS before: ${rss0.toFixed(0)} MB)`,
      ["disk MB", "records", "time s", "RSS MB", "heap MB", "MB/s"],
      rows,
    );
    const t1 = process.hrtime.bigint();
    spool = openSpool<KafkaItem>(dir, serializerFor("kafka"), target * 2);
    const length = spool.length;
    const openS = secondsSince(t1);
    const lanes = spool.laneStats();
    const first = await spool.peek(1, Number.MAX_SAFE_INTEGER);
    const firstS = secondsSince(t1);
    table(
      "Part 3: cold start (open the full spool again)",
      ["disk MB", "records", "replay lanes", "open s", "open + first peek s", "RSS MB", "cut on open"],
      [
        [
          (diskTotal / MB).toFixed(0),
          length,
          String(lanes.replayLanes),
          openS.toFixed(2),
          firstS.toFixed(2),
          rssMB().toFixed(0),
          `${spool.recovery.truncatedBytes} B`,
        ],
      ],
    );
    if (length !== records || first.length !== 1) {
      log(`  note: reopened spool holds ${fmt(length)} record(s), ${fmt(records)} were appended`);
    }
  } finally {
    await spool.close().catch(() => undefined);
    removeDir(dir);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (PARTS.size === 1 && PARTS.has("3") && process.send) return part3(); // forked by partInChild
  log(`bench/spool${QUICK ? " (quick)" : ""}: node ${process.version}, ${os.cpus().length} cores, tmp ${os.tmpdir()}`);
  const kinds: Kind[] = ONLY === "kafka" ? ["kafka"] : ONLY === "influx" ? ["influx"] : ["kafka", "influx"];
  if (PARTS.has("1")) await part1(kinds);
  if (PARTS.has("2")) await part2(kinds);
  if (PARTS.has("3")) {
    // In a process of its own when other parts ran first, so RSS starts from a clean heap.
    if (PARTS.size === 1) await part3();
    else await partInChild("3");
  }
}

function partInChild(part: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { env: { ...process.env, LINEGUARD_BENCH_PARTS: part }, stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`part ${part} exited with ${code}`))));
  });
}

function cleanup(): void {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
}

process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

main().then(
  () => {
    cleanup();
    process.exit(0);
  },
  (err: unknown) => {
    cleanup();
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
