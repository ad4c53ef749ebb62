import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LineGuardError } from "../../../lib/errors";
import { SinkItem } from "../../../lib/sinks/backlog";
import { SpoolLanes, SpoolLanesOptions } from "../../../lib/sinks/lanes";
import { SPOOL_FRAME_HEADER } from "../../../lib/sinks/spool";
import { BatchWriter, Transport } from "../../../lib/sinks/writer";

interface Item extends SinkItem {
  n: number;
  pad: string;
}

const item = (n: number, padLen = 50): Item => ({ n, pad: "x".repeat(padLen - String(n).length), bytes: 10 + padLen });
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const frameSize = (it: Item): number => SPOOL_FRAME_HEADER + Buffer.byteLength(JSON.stringify(it));

/** A transport that fails while `down` is set (retriable) and records what it delivered. */
class TestTransport implements Transport<Item> {
  down = false;
  delivered: number[] = [];
  batches: number[][] = [];
  connect(): Promise<void> {
    return this.down
      ? Promise.reject(new LineGuardError("unreachable", "down", { retriable: true }))
      : Promise.resolve();
  }
  send(batch: Item[]): Promise<void> {
    if (this.down) return Promise.reject(new LineGuardError("unreachable", "down", { retriable: true }));
    this.delivered.push(...batch.map((b) => b.n));
    this.batches.push(batch.map((b) => b.n));
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function waitFor(cond: () => boolean, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("lib/sinks/lanes SpoolLanes", function () {
  let root: string;
  let open: SpoolLanes<Item>[] = [];
  let t = 0;
  const mk = (opts: Partial<SpoolLanesOptions<Item>> = {}, name = "s"): SpoolLanes<Item> => {
    const s = new SpoolLanes<Item>({ dir: path.join(root, name), fsync: "never", now: () => t, ...opts });
    open.push(s);
    return s;
  };
  const reopen = async (
    s: SpoolLanes<Item>,
    opts: Partial<SpoolLanesOptions<Item>> = {},
  ): Promise<SpoolLanes<Item>> => {
    await s.close();
    return mk(opts, path.basename(s.dir));
  };
  const take = async (s: SpoolLanes<Item>, max = 1000): Promise<number[]> => {
    const b = await s.peek(max, Infinity);
    await s.shift(b.length);
    return b.map((x) => x.n);
  };

  beforeEach(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "lg-lanes-"));
    open = [];
    t = 1_000_000;
  });
  afterEach(async function () {
    for (const s of open) await s.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("is a plain FIFO while nothing was held up", async function () {
    const s = mk();
    await s.append(range(0, 5).map((n) => item(n)));
    await s.append(range(5, 8).map((n) => item(n)));
    assert.equal(s.length, 8);
    assert.equal(s.oldestTs, t);
    assert.deepEqual(await take(s, 3), [0, 1, 2]);
    assert.deepEqual(await take(s), [3, 4, 5, 6, 7]);
    assert.equal(s.length, 0);
    assert.equal(s.laneStats().replayLanes, 0);
  });

  it("replays what a restart left, oldest first, with the original arrival times", async function () {
    let s = mk();
    await s.append(range(0, 10).map((n) => item(n)));
    t += 60_000;
    s = await reopen(s, { replayRate: 0 });
    assert.equal(s.laneStats().replayLanes, 1);
    assert.equal(s.laneStats().replayRecords, 10);
    assert.equal(s.oldestTs, t - 60_000);
    await s.append([item(100)]);
    // live record waits for linger 0 -> goes first; then the replay lane in order
    assert.deepEqual(await take(s), [100]);
    assert.deepEqual(await take(s), range(0, 10));
    assert.equal(s.length, 0);
    assert.deepEqual(
      fs.readdirSync(s.dir).filter((n) => n.startsWith("replay-")),
      [],
      "an empty replay lane is deleted",
    );
  });

  it("sends live records first after an outage and drains the backlog at the replay rate", async function () {
    const s = mk({ replayRate: 100, lingerMs: 50 });
    await s.append(range(0, 500).map((n) => item(n)));
    t += 5000;
    s.recovered(); // server back after failures: the pile-up becomes a replay lane
    assert.equal(s.laneStats().replayRecords, 500);
    assert.equal(s.laneStats().liveRecords, 0);
    await s.append([item(1000), item(1001)]);
    // live part batch younger than the linger: the replay goes (the bucket starts full: 100)
    assert.deepEqual(await take(s), range(0, 100));
    // bucket empty: nothing until 10 records' worth of time (rate/10) passed, or the live linger
    assert.deepEqual(await take(s), []);
    assert.equal(s.readyIn(), 50);
    t += 50;
    assert.deepEqual(await take(s), [1000, 1001], "live goes first once its linger passed");
    assert.deepEqual(await take(s), []); // 5 tokens after 50 ms at 100/s: a batch needs 10
    assert.equal(s.readyIn(), 50);
    t += 25;
    assert.equal(s.readyIn(), 25);
    assert.deepEqual(await take(s), []);
    t += 25; // 10 tokens
    assert.equal(s.readyIn(), 0);
    assert.deepEqual(await take(s), range(100, 110));
    // a full live batch never waits
    await s.append(range(2000, 2010).map((n) => item(n)));
    assert.deepEqual(await take(s, 10), range(2000, 2010));
    // over 4 simulated seconds the replay drains 400 more, no faster
    let got: number[] = [];
    for (let i = 0; i < 400; i++) {
      t += 10;
      got = got.concat(await take(s));
    }
    assert.deepEqual(got, range(110, 500));
    assert.equal(s.length, 0);
  });

  it("order fifo never reorders", async function () {
    let s = mk({ order: "fifo", replayRate: 10 });
    await s.append(range(0, 50).map((n) => item(n)));
    s.recovered();
    s = await reopen(s, { order: "fifo", replayRate: 10 });
    assert.equal(s.laneStats().replayLanes, 0);
    await s.append([item(50)]);
    assert.deepEqual(await take(s), range(0, 51));
  });

  it("drop-oldest drops the globally oldest records (replay lanes first), exactly as many as needed", async function () {
    const one = frameSize(item(0));
    let s = mk({ maxBytes: one * 20, policy: "drop-oldest" });
    await s.append(range(0, 12).map((n) => item(n)));
    s = await reopen(s, { maxBytes: one * 20, policy: "drop-oldest" }); // 0..11 -> replay lane
    await s.append(range(12, 20).map((n) => item(n)));
    assert.equal(s.length, 20);
    const r = await s.append(range(20, 25).map((n) => item(n)));
    assert.deepEqual(r, { accepted: 5, refused: 0, droppedOldest: 5 });
    assert.equal(s.length, 20);
    assert.ok(s.laneStats().frameBytes <= one * 20);
    // replay lane lost 0..4; the live lane kept all of its records
    assert.equal(s.laneStats().replayRecords, 7);
    const all: number[] = [];
    for (let i = 0; i < 10 && s.length > 0; i++) {
      t += 1000;
      all.push(...(await take(s)));
    }
    assert.deepEqual(
      [...all].sort((a, b) => a - b),
      range(5, 25),
    );
  });

  it("drop-oldest empties and deletes a replay lane, then drops from the live lane", async function () {
    const one = frameSize(item(0));
    let s = mk({ maxBytes: one * 10, policy: "drop-oldest", replayRate: 0 });
    await s.append(range(0, 3).map((n) => item(n)));
    s = await reopen(s, { maxBytes: one * 10, policy: "drop-oldest", replayRate: 0 });
    await s.append(range(3, 10).map((n) => item(n)));
    const r = await s.append(range(10, 15).map((n) => item(n)));
    assert.equal(r.droppedOldest, 5);
    assert.equal(s.laneStats().replayLanes, 0);
    assert.equal(fs.readdirSync(s.dir).filter((n) => n.startsWith("replay-")).length, 0);
    assert.deepEqual(await take(s), range(5, 15));
  });

  it("refuse-newest refuses exactly what does not fit, counting the replay lanes", async function () {
    const one = frameSize(item(0));
    let s = mk({ maxBytes: one * 10, policy: "refuse-newest" });
    await s.append(range(0, 6).map((n) => item(n)));
    s = await reopen(s, { maxBytes: one * 10, policy: "refuse-newest" });
    const r = await s.append(range(6, 12).map((n) => item(n)));
    assert.deepEqual(r, { accepted: 4, refused: 2, droppedOldest: 0 });
    assert.equal(s.length, 10);
  });

  it("never drops the replay batch in flight", async function () {
    const one = frameSize(item(0));
    let s = mk({ maxBytes: one * 10, policy: "drop-oldest", replayRate: 0 });
    await s.append(range(0, 8).map((n) => item(n)));
    s = await reopen(s, { maxBytes: one * 10, policy: "drop-oldest", replayRate: 0 });
    const inflight = await s.peek(3, Infinity);
    assert.deepEqual(
      inflight.map((x) => x.n),
      [0, 1, 2],
    );
    const r = await s.append(range(8, 14).map((n) => item(n)));
    assert.equal(r.droppedOldest, 4);
    await s.shift(3); // acknowledged
    const rest: number[] = [];
    while (s.length > 0) rest.push(...(await take(s)));
    assert.deepEqual(
      [...rest].sort((a, b) => a - b),
      [7, ...range(8, 14)],
    );
  });

  it("keeps lanes and their order across several outages and restarts", async function () {
    let s = mk({ replayRate: 0 });
    await s.append(range(0, 5).map((n) => item(n)));
    s = await reopen(s, { replayRate: 0 }); // lane 1: 0..4
    await s.append(range(5, 9).map((n) => item(n)));
    t += 10_000;
    s.recovered(); // lane 2: 5..8
    await s.append(range(9, 12).map((n) => item(n)));
    s = await reopen(s, { replayRate: 0 }); // lane 3: 9..11
    assert.equal(s.laneStats().replayLanes, 3);
    assert.deepEqual(await take(s), range(0, 5));
    assert.deepEqual(await take(s), range(5, 9));
    assert.deepEqual(await take(s), range(9, 12));
  });

  it("with a BatchWriter: messages are done on disk, the backlog survives a close while down and is delivered after", async function () {
    const dir = path.join(root, "w");
    const tr = new TestTransport();
    tr.down = true;
    const retry = { initialMs: 5, maxMs: 20, multiplier: 2, factor: 0 };
    const w1 = new BatchWriter<Item>({
      transport: tr,
      backlog: new SpoolLanes<Item>({ dir, fsync: "never" }),
      completeOn: "accept",
      batchSize: 10,
      lingerMs: 0,
      retry,
    });
    w1.start();
    const acks: (Error | undefined)[] = [];
    for (let i = 0; i < 30; i++) w1.accept([item(i)], (e) => acks.push(e));
    await waitFor(() => acks.length === 30);
    assert.ok(acks.every((e) => e === undefined));
    await w1.close();
    assert.equal(tr.delivered.length, 0);

    tr.down = false;
    const lanes = new SpoolLanes<Item>({ dir, fsync: "never", replayRate: 100 });
    assert.equal(lanes.laneStats().replayRecords, 30);
    const w2 = new BatchWriter<Item>({
      transport: tr,
      backlog: lanes,
      completeOn: "accept",
      batchSize: 10,
      lingerMs: 0,
      retry,
    });
    w2.start();
    w2.accept([item(100)]);
    await waitFor(() => tr.delivered.length === 31);
    // the live record did not wait for the whole replay
    assert.ok(tr.delivered.indexOf(100) < 30, `live record at ${tr.delivered.indexOf(100)}`);
    assert.deepEqual(
      tr.delivered.filter((n) => n !== 100),
      range(0, 30),
    );
    await w2.close();
  });

  it("with a BatchWriter: an outage's pile-up becomes a replay lane when the server is back", async function () {
    const tr = new TestTransport();
    const lanes = mk({ replayRate: 0, lingerMs: 0 }, "w2");
    t = Date.now();
    const w = new BatchWriter<Item>({
      transport: tr,
      backlog: lanes,
      completeOn: "accept",
      batchSize: 5,
      lingerMs: 0,
      retry: { initialMs: 5, maxMs: 20, multiplier: 2, factor: 0 },
    });
    w.start();
    w.accept([item(0)]);
    await waitFor(() => tr.delivered.length === 1);
    tr.down = true;
    for (let i = 1; i <= 20; i++) w.accept([item(i)]);
    await waitFor(() => w.stats().retries >= 2);
    t += 5000; // the pile-up is old now
    tr.down = false;
    await waitFor(() => tr.delivered.length === 21);
    assert.deepEqual(
      [...tr.delivered].sort((a, b) => a - b),
      range(0, 21),
    );
    assert.equal(lanes.length, 0);
    await w.close();
  });

  it("keeps memory flat while a bounded spool drops the oldest of a long stream", async function () {
    this.timeout(60000);
    const big = 2000;
    const one = frameSize(item(0, big));
    const s = mk({ maxBytes: one * 2000, policy: "drop-oldest" });
    const before = process.memoryUsage().heapUsed;
    let dropped = 0;
    let appended = 0;
    for (let round = 0; round < 50; round++) {
      const r = await s.append(range(appended, appended + 500).map((n) => item(n, big)));
      dropped += r.droppedOldest;
      appended += 500;
      if (round % 10 === 9) s.recovered(); // lanes come and go
      t += 2000;
    }
    global.gc?.();
    const growth = process.memoryUsage().heapUsed - before;
    assert.equal(s.length, 2000);
    assert.equal(dropped, appended - 2000, "every drop counted");
    assert.ok(s.laneStats().frameBytes <= one * 2000);
    // 25,000 records of 2 KB streamed (50 MB) through a 4 MB bound: no per-record memory
    assert.ok(growth < 20 * 1024 * 1024, `heap grew ${growth} bytes`);
    const rest: number[] = [];
    while (s.length > 0) {
      t += 100_000;
      rest.push(...(await take(s)));
    }
    assert.deepEqual(
      [...rest].sort((a, b) => a - b),
      range(appended - 2000, appended),
    );
  });
  it("keeps every acknowledged append and shift across SIGKILL while lanes rotate (child process)", async function () {
    this.timeout(60_000);
    const dir = path.join(root, "crash");
    const modPath = require.resolve("../../../lib/sinks/lanes");
    const childSrc = `
      const { SpoolLanes } = require(${JSON.stringify(modPath)});
      let t = 0;
      const s = new SpoolLanes({ dir: ${JSON.stringify(dir)}, fsync: "interval", replayRate: 0, lingerMs: 0,
        maxBytes: 4 * 1024 * 1024, now: () => t });
      const start = Number(process.argv[1]);
      (async () => {
        let next = start;
        for (let i = 0; ; i++) {
          const batch = [];
          for (let k = 0; k < 50; k++) batch.push({ n: next + k, pad: "y".repeat((next + k) % 40), bytes: 1 });
          await s.append(batch);
          next += 50;
          process.stdout.write("A " + next + "\\n");
          if (i % 7 === 3) { t += 5000; s.recovered(); }
          if (i % 3 === 2) {
            const b = await s.peek(40, 1e9);
            await s.shift(b.length);
            process.stdout.write("S " + b.map((x) => x.n).join(",") + "\\n");
          }
        }
      })();`;
    const shifted = new Set<number>();
    let appended = 0;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ["-e", childSrc, String(appended)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let ackA = appended;
      let lastShift: number[] = [];
      let buf = "";
      const target = appended + 3000;
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            const [kind, v] = buf.slice(0, i).split(" ");
            buf = buf.slice(i + 1);
            if (kind === "A") ackA = Number(v);
            else {
              lastShift = v!.split(",").map(Number);
              for (const n of lastShift) shifted.add(n);
            }
          }
          if (ackA >= target) resolve();
        });
      });
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const s = new SpoolLanes<Item>({ dir, fsync: "never", replayRate: 0 });
      try {
        const got: number[] = [];
        const lanes: number[][] = [];
        while (s.length > 0) {
          const b = await s.peek(100_000, Infinity);
          lanes.push(b.map((x) => x.n));
          for (const x of b) assert.equal(x.pad, "y".repeat(x.n % 40));
          got.push(...b.map((x) => x.n));
          await s.shift(b.length);
        }
        assert.ok(lanes.length >= 2, `lanes rotated in the child (${lanes.length} lane(s) read back)`);
        assert.equal(new Set(got).size, got.length, "no record twice");
        for (const lane of lanes) {
          for (let i = 1; i < lane.length; i++) assert.ok(lane[i]! > lane[i - 1]!, "each lane in order");
        }
        const have = new Set(got);
        const top = got.length > 0 ? Math.max(...got) + 1 : 0;
        for (let n = 0; n < ackA; n++) {
          if (shifted.has(n)) {
            assert.ok(!have.has(n) || lastShift.includes(n), `${n} was shifted and acknowledged`);
          } else {
            assert.ok(have.has(n), `acknowledged append ${n} kept`);
          }
        }
        assert.deepEqual(s.recovery.corruptSegments, []);
        // what the next round appends continues after everything written so far
        appended = Math.max(ackA, top);
        // the records read back are delivered now: mark them as shifted for the next round
        for (const n of got) shifted.add(n);
      } finally {
        await s.close();
      }
    }
  });
});
