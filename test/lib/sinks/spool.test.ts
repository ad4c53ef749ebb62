import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LineGuardError } from "../../../lib/errors";
import { SinkItem } from "../../../lib/sinks/backlog";
import { BatchWriter, Transport } from "../../../lib/sinks/writer";
import {
  DiskSpool,
  DiskSpoolOptions,
  SPOOL_FRAME_HEADER,
  crc32Fallback,
  jsonSerializer,
} from "../../../lib/sinks/spool";
import * as zlib from "node:zlib";

interface Item extends SinkItem {
  n: number;
  pad: string;
}

const item = (n: number, padLen = 50): Item => ({ n, pad: "x".repeat(padLen - String(n).length), bytes: 10 + padLen });
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const frameSize = (it: Item): number => SPOOL_FRAME_HEADER + Buffer.byteLength(JSON.stringify(it));
const segFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith(".seg"));

describe("lib/sinks/spool DiskSpool", function () {
  let root: string;
  let open: DiskSpool<Item>[] = [];
  const mk = (opts: Partial<DiskSpoolOptions<Item>> = {}, name = "s"): DiskSpool<Item> => {
    const s = new DiskSpool<Item>({ dir: path.join(root, name), fsync: "never", ...opts });
    open.push(s);
    return s;
  };
  const drain = async (s: DiskSpool<Item>): Promise<number[]> => {
    const out: number[] = [];
    while (s.length > 0) {
      const b = await s.peek(7, Infinity);
      out.push(...b.map((x) => x.n));
      await s.shift(b.length);
    }
    return out;
  };

  beforeEach(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "lg-spool-"));
    open = [];
  });
  afterEach(async function () {
    for (const s of open) await s.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("keeps FIFO order across segments, with counters and arrival times", async function () {
    let t = 1000;
    const s = mk({ segmentBytes: 1024, now: () => t });
    assert.equal(s.oldestTs, undefined);
    await s.append(range(0, 10).map((n) => item(n)));
    t = 2000;
    const r = await s.append(range(10, 100).map((n) => item(n)));
    assert.deepEqual(r, { accepted: 90, refused: 0, droppedOldest: 0 });
    for (const f of segFiles(path.join(root, "s"))) assert.ok(fs.statSync(path.join(root, "s", f)).size <= 1024);
    assert.equal(s.length, 100);
    assert.equal(s.bytes, 100 * 60);
    assert.equal(s.oldestTs, 1000);
    assert.ok(segFiles(path.join(root, "s")).length > 5);
    const first = await s.peek(3, Infinity);
    assert.deepEqual(first, [item(0), item(1), item(2)]);
    await s.shift(10);
    assert.equal(s.oldestTs, 2000);
    assert.deepEqual(await drain(s), range(10, 100));
    assert.equal(s.length, 0);
    assert.equal(s.bytes, 0);
    assert.equal(s.oldestTs, undefined);
    assert.ok(segFiles(path.join(root, "s")).length <= 1, "consumed segments are deleted");
  });

  it("peek honours maxCount and maxBytes but returns at least one item", async function () {
    const s = mk();
    await s.append([item(0, 500), item(1), item(2)]);
    assert.deepEqual(
      (await s.peek(10, 100)).map((x) => x.n),
      [0],
    );
    await s.shift(1);
    assert.deepEqual(
      (await s.peek(10, 120)).map((x) => x.n),
      [1, 2],
    );
    assert.deepEqual(
      (await s.peek(1, 1e9)).map((x) => x.n),
      [1],
    );
  });

  it("round-trips Buffers with the default serializer", async function () {
    interface K extends SinkItem {
      key: Buffer | null;
      value: Buffer;
      headers: Record<string, string | Buffer>;
    }
    const s = new DiskSpool<K>({ dir: path.join(root, "k"), fsync: "never" });
    try {
      const it: K = { key: null, value: Buffer.from([0, 1, 255]), headers: { a: "b", c: Buffer.from("d") }, bytes: 3 };
      await s.append([it]);
      const [got] = await s.peek(1, 1e9);
      assert.ok(Buffer.isBuffer(got!.value));
      assert.deepEqual(got, it);
    } finally {
      await s.close();
    }
    const j = jsonSerializer<{ b: Buffer }>();
    assert.ok(j.encode({ b: Buffer.alloc(30) }).length < 60, "base64, not Buffer.toJSON");
  });

  it("survives close and reopen with order, counters, times and the head", async function () {
    let t = 5;
    const s = mk({ segmentBytes: 2048, now: () => t++ });
    for (let i = 0; i < 50; i++) await s.append([item(i)]);
    await s.peek(20, Infinity);
    await s.shift(20);
    const { length, bytes, frameBytes, oldestTs } = s;
    await s.close();
    const s2 = mk({ segmentBytes: 2048 });
    assert.deepEqual([s2.length, s2.bytes, s2.frameBytes, s2.oldestTs], [length, bytes, frameBytes, oldestTs]);
    assert.equal(s2.oldestTs, 25);
    assert.deepEqual(await drain(s2), range(20, 50));
    assert.deepEqual(s2.recovery, { truncatedBytes: 0, corruptSegments: [] });
  });

  it("refuse-newest refuses exactly what does not fit and keeps the rest", async function () {
    const fs1 = frameSize(item(0));
    const s = mk({ maxBytes: fs1 * 10, policy: "refuse-newest" });
    const r = await s.append(range(0, 14).map((n) => item(n)));
    assert.deepEqual(r, { accepted: 10, refused: 4, droppedOldest: 0 });
    assert.equal(s.frameBytes, fs1 * 10);
    assert.deepEqual(await s.append([item(99)]), { accepted: 0, refused: 1, droppedOldest: 0 });
    await s.shift(3);
    assert.deepEqual(await s.append(range(20, 25).map((n) => item(n))), { accepted: 3, refused: 2, droppedOldest: 0 });
    assert.deepEqual(await drain(s), [...range(3, 10), 20, 21, 22]);
  });

  it("drop-oldest drops exactly as many oldest records as needed", async function () {
    const fs1 = frameSize(item(0));
    const s = mk({ maxBytes: fs1 * 10, segmentBytes: fs1 * 3 });
    assert.deepEqual(await s.append(range(0, 10).map((n) => item(n))), { accepted: 10, refused: 0, droppedOldest: 0 });
    assert.deepEqual(await s.append(range(10, 14).map((n) => item(n))), { accepted: 4, refused: 0, droppedOldest: 4 });
    assert.equal(s.length, 10);
    assert.ok(s.diskBytes <= s.maxBytes + s.segmentBytes);
    assert.deepEqual(await drain(s), range(4, 14));
  });

  it("drop-oldest never drops the batch in flight, and the gap survives a reopen", async function () {
    const fs1 = frameSize(item(0));
    const s = mk({ maxBytes: fs1 * 10, segmentBytes: fs1 * 4 });
    await s.append(range(0, 10).map((n) => item(n)));
    const inflight = await s.peek(3, Infinity);
    assert.deepEqual(
      inflight.map((x) => x.n),
      [0, 1, 2],
    );
    assert.deepEqual(await s.append(range(10, 15).map((n) => item(n))), { accepted: 5, refused: 0, droppedOldest: 5 });
    // a retry peeks the same batch, not beyond the dropped run
    assert.deepEqual(
      (await s.peek(10, Infinity)).map((x) => x.n),
      [0, 1, 2],
    );
    await s.close();
    const s2 = mk({ maxBytes: fs1 * 10, segmentBytes: fs1 * 4 });
    assert.equal(s2.length, 10);
    assert.deepEqual(await drain(s2), [0, 1, 2, ...range(8, 15)]);
  });

  it("refuses everything when only reserved records are left to drop", async function () {
    const fs1 = frameSize(item(0));
    const s = mk({ maxBytes: fs1 * 3 });
    await s.append(range(0, 3).map((n) => item(n)));
    await s.peek(3, Infinity);
    assert.deepEqual(await s.append([item(3), item(4)]), { accepted: 0, refused: 2, droppedOldest: 0 });
    assert.deepEqual(await s.append([item(5, 10_000)]), { accepted: 0, refused: 1, droppedOldest: 0 });
    await s.shift(3);
    assert.deepEqual(await s.append([item(6)]), { accepted: 1, refused: 0, droppedOldest: 0 });
  });

  it("bounds the record count with maxItems", async function () {
    const s = mk({ maxItems: 5 });
    assert.deepEqual(await s.append(range(0, 8).map((n) => item(n))), { accepted: 8, refused: 0, droppedOldest: 3 });
    assert.deepEqual(await drain(s), range(3, 8));
  });

  it("keeps disk use bounded while data streams through", async function () {
    const s = mk({ maxBytes: 64 * 1024, segmentBytes: 8 * 1024 });
    let n = 0;
    let maxDisk = 0;
    for (let round = 0; round < 200; round++) {
      await s.append(range(n, n + 20).map((i) => item(i, 100)));
      n += 20;
      const b = await s.peek(15, Infinity);
      await s.shift(b.length);
      maxDisk = Math.max(maxDisk, s.diskBytes);
    }
    assert.ok(maxDisk <= s.maxBytes + s.segmentBytes + 20 * 200, `disk ${maxDisk}`);
    assert.ok(segFiles(path.join(root, "s")).length <= 64 / 8 + 2);
  });

  it("truncates a torn tail on open and keeps the ordered prefix", async function () {
    const s = mk({ segmentBytes: 1 << 20 });
    await s.append(range(0, 10).map((n) => item(n)));
    await s.close();
    const seg = path.join(root, "s", segFiles(path.join(root, "s")).sort().pop()!);
    const size = fs.statSync(seg).size;
    fs.truncateSync(seg, size - 7); // the last frame is torn
    const s2 = mk();
    assert.equal(s2.length, 9);
    assert.ok(s2.recovery.truncatedBytes > 0);
    await s2.append([item(100)]);
    assert.deepEqual(await drain(s2), [...range(0, 9), 100]);
  });

  it("stops at a corrupt frame (crc) in the tail segment", async function () {
    const s = mk();
    await s.append(range(0, 10).map((n) => item(n)));
    await s.close();
    const seg = path.join(root, "s", segFiles(path.join(root, "s"))[0]!);
    const buf = fs.readFileSync(seg);
    const at = frameSize(item(0)) * 6 + SPOOL_FRAME_HEADER + 5;
    buf[at] = buf[at]! ^ 0xff;
    fs.writeFileSync(seg, buf);
    const s2 = mk();
    assert.equal(s2.length, 6);
    assert.equal(s2.recovery.corruptSegments.length, 1);
    assert.deepEqual(await drain(s2), range(0, 6));
  });

  it("has a JavaScript crc32 equal to zlib's for Node < 20.15", function () {
    const z = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
    const samples = [Buffer.alloc(0), Buffer.from("123456789"), Buffer.from(range(0, 1000).map((i) => (i * 31) & 255))];
    assert.equal(crc32Fallback(Buffer.from("123456789")), 0xcbf43926);
    if (z) for (const b of samples) assert.equal(crc32Fallback(b), z(b));
  });

  it("refuses a second open of the same directory and use after close", async function () {
    const s = mk();
    assert.throws(() => new DiskSpool<Item>({ dir: path.join(root, "s") }), /already open/);
    await s.close();
    await assert.rejects(s.append([item(1)]), /closed/);
  });

  it("keeps every acknowledged append across SIGKILL (child process)", async function () {
    this.timeout(60_000);
    const dir = path.join(root, "crash");
    const modPath = require.resolve("../../../lib/sinks/spool");
    const childSrc = `
      const { DiskSpool } = require(${JSON.stringify(modPath)});
      const s = new DiskSpool({ dir: ${JSON.stringify(dir)}, fsync: "interval", segmentBytes: 64 * 1024 });
      (async () => {
        let next = 0;
        if (s.length > 0) next = (await s.peek(1, 1e9))[0].n + s.length;
        for (let i = 0; ; i++) {
          const batch = [];
          for (let k = 0; k < 50; k++) batch.push({ n: next + k, pad: "y".repeat((next + k) % 40), bytes: 1 });
          await s.append(batch);
          next += 50;
          process.stdout.write("A " + next + "\\n");
          if (i % 3 === 2) {
            const b = await s.peek(40, 1e9);
            await s.shift(b.length);
            process.stdout.write("S " + (b[b.length - 1].n + 1) + "\\n");
          }
        }
      })();`;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ["-e", childSrc], { stdio: ["ignore", "pipe", "inherit"] });
      let ackA = 0;
      let ackS = 0;
      let buf = "";
      const target = 3000 * (round + 1);
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            const [t, v] = buf.slice(0, i).split(" ");
            buf = buf.slice(i + 1);
            if (t === "A") ackA = Number(v);
            else ackS = Number(v);
          }
          if (ackA >= target) resolve();
        });
      });
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const s = new DiskSpool<Item>({ dir, fsync: "never" });
      try {
        const all = await s.peek(s.length, Infinity);
        assert.equal(all.length, s.length);
        const ns = all.map((x) => x.n);
        const first = ns[0]!;
        assert.deepEqual(ns, range(first, first + ns.length), "contiguous, in order");
        for (const x of all) assert.equal(x.pad, "y".repeat(x.n % 40));
        assert.ok(first + ns.length >= ackA, `acknowledged appends kept: tail ${first + ns.length} >= ${ackA}`);
        assert.ok(first >= ackS, "acknowledged shifts stay shifted");
        assert.ok(first <= ackS + 40, "at most the unacknowledged shift is lost");
        assert.deepEqual(s.recovery.corruptSegments, []);
      } finally {
        await s.close();
      }
    }
  });

  it("keeps order, the bound and acknowledged appends across SIGKILL under drop-oldest pressure", async function () {
    this.timeout(60_000);
    const dir = path.join(root, "crash2");
    const modPath = require.resolve("../../../lib/sinks/spool");
    const opts = { dir, fsync: "interval" as const, maxBytes: 128 * 1024, segmentBytes: 16 * 1024 };
    // each round: a batch in flight (peek), appends that overflow (drops behind the batch), then the shift
    const childSrc = `
      const { DiskSpool } = require(${JSON.stringify(modPath)});
      const s = new DiskSpool(${JSON.stringify(opts)});
      (async () => {
        let next = Number(process.argv[1]);
        for (let i = 0; ; i++) {
          const inflight = await s.peek(30, 1e9);
          const batch = [];
          for (let k = 0; k < 60; k++) batch.push({ n: next + k, pad: "z".repeat((next + k) % 90), bytes: 1 });
          await s.append(batch);
          next += 60;
          process.stdout.write("A " + next + "\\n");
          if (i % 2 === 0) await s.shift(inflight.length);
        }
      })();`;
    let next = 0;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ["-e", childSrc, String(next)], { stdio: ["ignore", "pipe", "inherit"] });
      let ackA = 0;
      let buf = "";
      const target = next + 6000;
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            ackA = Number(buf.slice(2, i));
            buf = buf.slice(i + 1);
          }
          if (ackA >= target) resolve();
        });
      });
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      const s = new DiskSpool<Item>(opts);
      try {
        assert.ok(s.frameBytes <= opts.maxBytes, `bound holds after the crash: ${s.frameBytes}`);
        const ns: number[] = [];
        const total = s.length;
        while (ns.length < total) {
          const b = await s.peek(1e9, Infinity); // stops at a dropped run behind the in-flight batch
          for (const x of b) assert.equal(x.pad, "z".repeat(x.n % 90));
          ns.push(...b.map((x) => x.n));
          await s.shift(b.length);
        }
        for (let i = 1; i < ns.length; i++) assert.ok(ns[i]! > ns[i - 1]!, "in order");
        const last = ns[ns.length - 1]! + 1;
        assert.ok(last >= ackA, `the acknowledged append is there: ${last} >= ${ackA}`);
        next = last;
      } finally {
        await s.close();
      }
    }
  });

  it("carries a BatchWriter backlog across a restart while the server is down", async function () {
    const sent: number[] = [];
    const down: Transport<Item> = {
      connect: () => Promise.reject(new LineGuardError("down", "server down", { retriable: true })),
      send: () => Promise.reject(new LineGuardError("down", "server down", { retriable: true })),
      close: () => Promise.resolve(),
    };
    const retry = { initialMs: 1, maxMs: 5, multiplier: 2, factor: 0 };
    const w1 = new BatchWriter<Item>({
      transport: down,
      backlog: mk(),
      completeOn: "accept",
      lingerMs: 0,
      retry,
      closeTimeoutMs: 20,
    });
    const acks = await Promise.all(
      [range(0, 10), range(10, 30)].map(
        (ns) =>
          new Promise((r) =>
            w1.accept(
              ns.map((n) => item(n)),
              r,
            ),
          ),
      ),
    );
    assert.deepEqual(acks, [undefined, undefined]);
    await w1.close();
    open = [];
    const up: Transport<Item> = {
      connect: () => Promise.resolve(),
      send: (b) => {
        sent.push(...b.map((x) => x.n));
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const spool = mk();
    assert.equal(spool.length, 30);
    const w2 = new BatchWriter<Item>({
      transport: up,
      backlog: spool,
      completeOn: "accept",
      batchSize: 8,
      lingerMs: 0,
      retry,
    });
    const drained = new Promise<void>((resolve) => w2.on("sent", () => spool.length === 0 && resolve()));
    w2.start();
    await drained;
    assert.deepEqual(sent, range(0, 30));
    await w2.close();
    open = [];
  });
});
