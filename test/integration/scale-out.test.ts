/**
 * Scale-out with real Kafka and real Node-RED processes (issue 6): two Node-RED instances run the
 * processing half of a flow (kafka-in -> validate -> features -> kafka-out) as ONE consumer group on a
 * 6-partition input topic. The test produces 30 sources x 100 keyed records at a steady rate and
 *   (1) stops instance A gracefully (SIGTERM) in the middle: B takes over A's partitions;
 *   (2) in a second run SIGKILLs instance B in the middle: A takes over after the session timeout;
 *       B is started again afterwards on the same user dir so its kafka-out disk spool is delivered
 *       (store-and-forward of each instance).
 * At the end every input record (source + seq) must be in the output topic at least once; duplicates
 * (at-least-once redelivery after a takeover) are counted and printed. Each output record says which
 * instance processed it (values.instance) from which input partition (values.partition).
 *
 * Servers: Kafka from scripts/test-services.sh (left running). Node-RED: test/support/node-red-process.ts
 * (the BUILT pack in dist/). The flow: test/integration/fixtures/scale-out-flows.ts. No timing asserts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AssignerProtocol, Consumer, Kafka, Producer, logLevel } from "kafkajs";
import { eventually, requireService, uniqueName } from "../support/integration";
import { services } from "../support/services";
import { NodeRedProcess } from "../support/node-red-process";
import { errorsFile, rejectedFile, scaleOutFlow } from "./fixtures/scale-out-flows";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (text: string): void => {
  process.stderr.write(`      [scale-out] ${text}\n`);
};

const PARTITIONS = 6;
const SOURCES = 30;
const PER_SOURCE = 100;
const TOTAL = SOURCES * PER_SOURCE;
/** Records per tick and tick length: 12 records / 100 ms = 120 records/s, 25 s per run. */
const PER_TICK = 12;
const TICK_MS = 100;
/** The instance is stopped/killed after this many records were produced (40 % of the run). */
const STOP_AFTER = Math.round(TOTAL * 0.4);

const sourceName = (i: number): string => `m${String(i).padStart(2, "0")}`;

interface OutRecord {
  source: string;
  ts: number;
  values: { seq: number; v: number; instance: string; partition: number };
  features?: Record<string, unknown>;
}

/** What the output topic holds so far: "source:seq" -> the output records (duplicates kept). */
class Collector {
  readonly seen = new Map<string, OutRecord[]>();
  total = 0;
  bad: string[] = [];
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {}

  async start(): Promise<void> {
    const c = this.kafka.consumer({ groupId: uniqueName("lg-scale-out-reader"), maxWaitTimeInMs: 200 });
    this.consumer = c;
    await c.connect();
    await c.subscribe({ topics: [this.topic], fromBeginning: true });
    await c.run({
      eachMessage: async ({ message }) => {
        this.total++;
        const key = message.key ? message.key.toString("utf8") : "";
        let r: OutRecord;
        try {
          r = JSON.parse(String(message.value)) as OutRecord;
        } catch {
          this.bad.push(`${key}: ${String(message.value).slice(0, 100)}`);
          return;
        }
        if (r.source !== key || typeof r.values?.seq !== "number" || typeof r.values.instance !== "string") {
          this.bad.push(`${key}: ${JSON.stringify(r).slice(0, 200)}`);
          return;
        }
        const id = `${r.source}:${r.values.seq}`;
        const list = this.seen.get(id);
        if (list) list.push(r);
        else this.seen.set(id, [r]);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }

  missing(): string[] {
    const out: string[] = [];
    for (let s = 0; s < SOURCES; s++) {
      for (let n = 0; n < PER_SOURCE; n++)
        if (!this.seen.has(`${sourceName(s)}:${n}`)) out.push(`${sourceName(s)}:${n}`);
    }
    return out;
  }

  /** Output records per instance, duplicates included. */
  byInstance(): Map<string, number> {
    const m = new Map<string, number>();
    for (const list of this.seen.values())
      for (const r of list) m.set(r.values.instance, (m.get(r.values.instance) ?? 0) + 1);
    return m;
  }

  /** Input partition -> instance -> [min seq, max seq, count] of the records it processed there. */
  partitions(): Map<number, Map<string, [number, number, number]>> {
    const m = new Map<number, Map<string, [number, number, number]>>();
    for (const list of this.seen.values()) {
      for (const r of list) {
        const p = m.get(r.values.partition) ?? new Map<string, [number, number, number]>();
        m.set(r.values.partition, p);
        const cur = p.get(r.values.instance);
        const seq = r.values.seq;
        p.set(r.values.instance, cur ? [Math.min(cur[0], seq), Math.max(cur[1], seq), cur[2] + 1] : [seq, seq, 1]);
      }
    }
    return m;
  }

  duplicates(): { count: number; ids: string[] } {
    let count = 0;
    const ids: string[] = [];
    for (const [id, list] of this.seen) {
      if (list.length > 1) {
        count += list.length - 1;
        ids.push(`${id} x${list.length} (${list.map((r) => r.values.instance).join("/")})`);
      }
    }
    return { count, ids };
  }
}

/** Produces the records in seq-major order (all sources seq 0, then seq 1, ...), PER_TICK per tick. */
async function produce(producer: Producer, topic: string, onProgress: (sent: number) => Promise<void>): Promise<void> {
  let sent = 0;
  while (sent < TOTAL) {
    const tick = Date.now();
    const messages = [];
    for (let j = 0; j < PER_TICK && sent < TOTAL; j++, sent++) {
      const seq = Math.floor(sent / SOURCES);
      const source = sourceName(sent % SOURCES);
      messages.push({
        key: source,
        value: JSON.stringify({ source, ts: tick + j, values: { seq, v: Math.sin(seq / 5) * 10 + (sent % SOURCES) } }),
      });
    }
    await producer.send({ topic, messages, acks: -1 });
    await onProgress(sent);
    const wait = TICK_MS - (Date.now() - tick);
    if (wait > 0) await sleep(wait);
  }
}

interface GroupView {
  state: string;
  members: Array<{ clientHost: string; partitions: number[] }>;
}

async function describeGroup(kafka: Kafka, groupId: string, topic: string): Promise<GroupView> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const g = groups[0]!;
    return {
      state: g.state,
      members: g.members.map((m) => {
        const a = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
        return { clientHost: `${m.clientId}${m.clientHost}`, partitions: [...(a?.assignment[topic] ?? [])].sort() };
      }),
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Waits until the group is Stable with `members` members, each holding at least one partition. */
async function stableGroup(kafka: Kafka, groupId: string, topic: string, members: number): Promise<GroupView> {
  let last: GroupView | undefined;
  try {
    await eventually(
      async () => {
        last = await describeGroup(kafka, groupId, topic);
        return (
          last.state === "Stable" &&
          last.members.length === members &&
          last.members.every((m) => m.partitions.length > 0)
        );
      },
      60_000,
      500,
    );
  } catch (err) {
    throw new Error(
      `consumer group ${groupId} did not settle with ${members} members: ${JSON.stringify(last)} (${String(err)})`,
    );
  }
  return last!;
}

function readLines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

describe("integration: scale-out, two Node-RED instances as one Kafka consumer group", function () {
  this.timeout(180_000);

  const procs: NodeRedProcess[] = [];
  const dirs: string[] = [];
  const collectors: Collector[] = [];
  let kafka: Kafka;

  before(async function () {
    await requireService(this, "kafka");
    kafka = new Kafka({
      clientId: "lineguard-scale-out-test",
      brokers: services.kafkaBrokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 300 },
    });
  });

  after(async function () {
    this.timeout(60_000);
    for (const c of collectors) await c.stop();
    for (const p of procs) await p.stop(10_000).catch(() => undefined);
    for (const p of procs) await p.cleanup().catch(() => undefined);
    if (process.env.LINEGUARD_KEEP_SCALE_OUT_DIRS !== "1") {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  /** New topics (6 partitions each), a group, and two Node-RED instances A and B with the same flow. */
  async function setup(name: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lg-scale-out-${name}-`));
    dirs.push(dir);
    const rawTopic = uniqueName(`lineguard.raw.${name}`);
    const processedTopic = uniqueName(`lineguard.processed.${name}`);
    const groupId = uniqueName(`lg-scale-out-${name}`);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: rawTopic, numPartitions: PARTITIONS, replicationFactor: 1 },
          { topic: processedTopic, numPartitions: PARTITIONS, replicationFactor: 1 },
        ],
      });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const flow = scaleOutFlow({
      dir,
      kafkaBrokers: services.kafkaBrokers.join(","),
      rawTopic,
      processedTopic,
      groupId,
    });
    const make = (instance: string): NodeRedProcess => {
      const nr = new NodeRedProcess({
        flow,
        userDir: path.join(dir, `user-${instance}`),
        env: { NODE_RED_INSTANCE: instance },
      });
      procs.push(nr);
      return nr;
    };
    const a = make("A");
    const b = make("B");
    const collector = new Collector(kafka, processedTopic);
    collectors.push(collector);
    await collector.start();
    await Promise.all([a.start(), b.start()]);
    const group = await stableGroup(kafka, groupId, rawTopic, 2);
    log(`${name}: group ${groupId} stable: ${group.members.map((m) => `[${m.partitions.join(",")}]`).join(" + ")}`);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    return { dir, rawTopic, processedTopic, groupId, a, b, collector, producer };
  }

  /** Waits until every input record is in the output topic (or 90 s passed), then prints the verdict. */
  async function verdict(label: string, dir: string, collector: Collector) {
    await eventually(() => collector.missing().length === 0, 90_000, 500).catch(() => undefined);
    await sleep(1000); // late duplicates, for the count only
    const missing = collector.missing();
    const dup = collector.duplicates();
    const per = collector.byInstance();
    log(
      `${label}: produced ${TOTAL}, output records ${collector.total}, distinct ${collector.seen.size}, ` +
        `missing ${missing.length}, duplicates ${dup.count}, by instance ${[...per].map(([k, v]) => `${k}=${v}`).join(" ")}`,
    );
    if (dup.ids.length > 0) {
      log(`  duplicated (${dup.ids.length}): ${dup.ids.slice(0, 15).join(", ")}${dup.ids.length > 15 ? ", ..." : ""}`);
    }
    const parts = collector.partitions();
    for (const p of [...parts.keys()].sort((x, y) => x - y)) {
      const cells = [...parts.get(p)!].map(([inst, [lo, hi, n]]) => `${inst}: seq ${lo}-${hi} (${n})`);
      log(`  partition ${p}: ${cells.join(", ")}`);
    }
    const errors = [...readLines(errorsFile(dir, "A")), ...readLines(errorsFile(dir, "B"))];
    const rejected = [...readLines(rejectedFile(dir, "A")), ...readLines(rejectedFile(dir, "B"))];
    const hint =
      `\n  first missing: ${missing.slice(0, 10).join(", ")}` +
      `\n  flow errors (${errors.length}): ${errors.slice(0, 5).join(" | ")}` +
      `\n  rejected (${rejected.length}): ${rejected.slice(0, 3).join(" | ")}`;
    assert.deepEqual(collector.bad, [], "every output record is a keyed LineGuard record with its instance");
    assert.equal(missing.length, 0, `${label}: ${missing.length} input records are not in the output topic${hint}`);
    assert.equal(rejected.length, 0, `no record was rejected${hint}`);
    for (const list of collector.seen.values()) {
      assert.ok(list[0]!.features && typeof list[0]!.features === "object", "records went through features");
    }
    return { per, parts };
  }

  it("(1) both instances get partitions; A stopped (SIGTERM) mid-run: B takes over its partitions, no record lost", async () => {
    const { dir, a, collector, producer, rawTopic, processedTopic } = await setup("sigterm");
    log(`topics ${rawTopic} -> ${processedTopic}`);
    let beforeStop: Map<string, number> | undefined;
    let aPartitions: number[] = [];
    let stopped: Promise<void> | undefined;
    try {
      await produce(producer, rawTopic, async (sent) => {
        if (sent >= STOP_AFTER && a.running && beforeStop === undefined) {
          beforeStop = collector.byInstance();
          const aDone = new Set([...collector.partitions()].filter(([, m]) => m.has("A")).map(([p]) => p));
          aPartitions = [...aDone].sort();
          log(
            `after ${sent} records: processed so far ${[...beforeStop].map(([k, v]) => `${k}=${v}`).join(" ")}; ` +
              `A held partitions [${aPartitions.join(",")}]; stopping A (SIGTERM)`,
          );
          // production goes on while A closes its flows and leaves the group
          stopped = a.stop().then(() => log("A exited"));
        }
      });
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    await stopped;
    const { per, parts } = await verdict("SIGTERM of A", dir, collector);
    await collector.stop();
    assert.ok((per.get("A") ?? 0) > 0, "instance A processed records (it had partitions)");
    assert.ok((per.get("B") ?? 0) > 0, "instance B processed records (it had partitions)");
    assert.ok(aPartitions.length > 0, "A had processed records before it was stopped");
    // A is gone for the rest of the run, so the records of its partitions that it did not finish were
    // processed by B: B took over every partition A held.
    for (const p of aPartitions) {
      const b = parts.get(p)?.get("B");
      assert.ok(b !== undefined && b[2] > 0, `B processed records of partition ${p}, which A held before the stop`);
    }
  });

  it("(2) B SIGKILLed mid-run: A takes over after the session timeout; B restarted delivers its spool; no record lost", async () => {
    const { dir, b, collector, producer, rawTopic, groupId } = await setup("sigkill");
    let bPartitions: number[] = [];
    let killed = false;
    try {
      await produce(producer, rawTopic, async (sent) => {
        if (sent >= STOP_AFTER && !killed) {
          killed = true;
          const per = collector.byInstance();
          bPartitions = [...collector.partitions()]
            .filter(([, m]) => m.has("B"))
            .map(([p]) => p)
            .sort();
          log(
            `after ${sent} records: processed so far ${[...per].map(([k, v]) => `${k}=${v}`).join(" ")}; ` +
              `B held partitions [${bPartitions.join(",")}]; SIGKILL of B`,
          );
          await b.kill();
        }
      });
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    // Let A take over B's partitions (session timeout 10 s) and catch up before B comes back, so the
    // records only A could process are processed by A.
    const aOnly = await eventually(
      async () => {
        const g = await describeGroup(kafka, groupId, rawTopic).catch(() => undefined);
        return g && g.state === "Stable" && g.members.length === 1 ? g : undefined;
      },
      60_000,
      500,
    ).catch(() => undefined);
    log(
      `group after the kill: ${aOnly ? aOnly.members.map((m) => `[${m.partitions.join(",")}]`).join(" + ") : "(not seen stable)"}`,
    );
    // A catches up: wait until nothing is missing or the missing count stops falling for 4 s.
    let last = -1;
    let since = Date.now();
    await eventually(
      () => {
        const n = collector.missing().length;
        if (n !== last) {
          last = n;
          since = Date.now();
        }
        return n === 0 || Date.now() - since > 4000;
      },
      60_000,
      500,
    ).catch(() => undefined);
    const spoolDir = path.join(b.userDir, "lineguard", "spool");
    log(
      `missing before B restarts: ${collector.missing().length}; restarting B (spool ${fs.existsSync(spoolDir) ? "present" : "absent"})`,
    );
    await b.start();
    const { per, parts } = await verdict("SIGKILL of B", dir, collector);
    await collector.stop();
    assert.ok((per.get("A") ?? 0) > 0, "instance A processed records");
    assert.ok((per.get("B") ?? 0) > 0, "instance B processed records before it was killed");
    assert.ok(bPartitions.length > 0, "B had processed records before it was killed");
    for (const p of bPartitions) {
      const a = parts.get(p)?.get("A");
      assert.ok(a !== undefined && a[2] > 0, `A processed records of partition ${p}, which B held before the kill`);
    }
  });
});
