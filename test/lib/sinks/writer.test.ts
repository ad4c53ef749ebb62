import assert from "node:assert/strict";
import { LineGuardError } from "../../../lib/errors";
import { MemoryBacklog, SinkItem } from "../../../lib/sinks/backlog";
import { BatchWriter, Transport } from "../../../lib/sinks/writer";

interface Item extends SinkItem {
  n: number;
}

/** A scripted transport: each send() takes the next outcome; "ok" when the script runs out. */
class ScriptedTransport implements Transport<Item> {
  sent: number[][] = [];
  connects = 0;
  constructor(private script: Array<"ok" | "retriable" | "fatal"> = []) {}
  connect(): Promise<void> {
    this.connects++;
    return Promise.resolve();
  }
  send(batch: Item[]): Promise<void> {
    const step = this.script.shift() ?? "ok";
    if (step === "retriable") return Promise.reject(new LineGuardError("down", "server down", { retriable: true }));
    if (step === "fatal") return Promise.reject(new LineGuardError("bad", "rejected for good"));
    this.sent.push(batch.map((b) => b.n));
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A transport whose first send() waits until release() (a batch held in flight, no timing involved). */
class HeldTransport extends ScriptedTransport {
  held = false;
  private releaseFirst: (() => void) | undefined;
  override send(batch: Item[]): Promise<void> {
    if (this.held) return super.send(batch);
    this.held = true;
    return new Promise<void>((resolve) => {
      this.releaseFirst = resolve;
    }).then(() => super.send(batch));
  }
  release(): void {
    this.releaseFirst?.();
  }
}

const items = (from: number, n: number): Item[] => Array.from({ length: n }, (_, i) => ({ n: from + i, bytes: 10 }));
const fast = { initialMs: 1, maxMs: 5, multiplier: 2, factor: 0 };

function acceptP(w: BatchWriter<Item>, it: Item[]): Promise<Error | undefined> {
  return new Promise((resolve) => w.accept(it, resolve));
}

/** A server that refuses any batch holding a "bad" item (as InfluxDB's 400 or Kafka's INVALID_RECORD). */
class PickyTransport implements Transport<Item> {
  sent: number[] = [];
  requests = 0;
  constructor(
    private readonly bad: Set<number>,
    private readonly split = true,
  ) {}
  connect(): Promise<void> {
    return Promise.resolve();
  }
  send(batch: Item[]): Promise<void> {
    this.requests++;
    const refused = batch.filter((b) => this.bad.has(b.n));
    if (refused.length > 0) {
      return Promise.reject(new LineGuardError("bad-request", `refused ${refused.map((b) => b.n).join(",")}`));
    }
    this.sent.push(...batch.map((b) => b.n));
    return Promise.resolve();
  }
  splittable(): boolean {
    return this.split;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe("lib/sinks/writer", () => {
  it("splits a refused batch until only the refused records fail; the others are delivered", async () => {
    const t = new PickyTransport(new Set([13, 77, 78, 150]));
    // a backoff of a minute: the test would time out if a refusal made the writer wait
    const w = new BatchWriter({
      transport: t,
      batchSize: 100,
      lingerMs: 5,
      retry: { ...fast, initialMs: 60_000, maxMs: 60_000 },
    });
    const msgs = Array.from({ length: 20 }, (_, m) => items(m * 10, 10));
    const failed: string[] = [];
    w.on("failed", (e: Error) => failed.push(e.message));
    const results = await Promise.all(msgs.map((it) => acceptP(w, it)));
    const bad = results.map((r, m) => (r ? m : -1)).filter((m) => m >= 0);
    assert.deepEqual(bad, [1, 7, 15], "only the messages holding a refused record fail");
    assert.deepEqual(
      t.sent,
      Array.from({ length: 200 }, (_, i) => i).filter((i) => ![13, 77, 78, 150].includes(i)),
      "every other record delivered, in order",
    );
    assert.deepEqual(failed.sort(), ["refused 13", "refused 150", "refused 77", "refused 78"]);
    assert.equal(w.stats().failed, 4);
    assert.equal(w.stats().retries, 0);
    assert.ok(t.requests < 60, `${t.requests} requests`);
    await w.close();
  });

  it("fails a batch whole when the refusal is not about single records, and goes on without backoff", async () => {
    const t = new PickyTransport(new Set([5, 25, 45]), false);
    const w = new BatchWriter({
      transport: t,
      batchSize: 10,
      lingerMs: 0,
      retry: { ...fast, initialMs: 60_000, maxMs: 60_000 },
    });
    const results = await Promise.all([0, 1, 2, 3, 4].map((m) => acceptP(w, items(m * 10, 10))));
    assert.deepEqual(
      results.map((r) => (r ? "err" : "ok")),
      ["err", "ok", "err", "ok", "err"],
    );
    assert.equal(w.stats().failed, 30);
    await w.close();
  });

  it("batches by count and keeps order", async () => {
    const t = new ScriptedTransport();
    const w = new BatchWriter({ transport: t, batchSize: 4, lingerMs: 5 });
    const results = await Promise.all([acceptP(w, items(0, 3)), acceptP(w, items(3, 3)), acceptP(w, items(6, 4))]);
    assert.deepEqual(results, [undefined, undefined, undefined]);
    assert.deepEqual(t.sent.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(t.sent.every((b) => b.length <= 4));
    await w.close();
  });

  it("retries retriable failures with the same batch and reports disconnected", async () => {
    const t = new ScriptedTransport(["retriable", "retriable"]);
    const w = new BatchWriter({ transport: t, batchSize: 10, lingerMs: 0, retry: fast });
    const states: string[] = [];
    w.on("state", (s: string) => states.push(s));
    const err = await acceptP(w, items(0, 5));
    assert.equal(err, undefined);
    assert.deepEqual(t.sent, [[0, 1, 2, 3, 4]]);
    assert.ok(states.includes("disconnected"));
    assert.equal(w.stats().retries, 2);
    assert.equal(w.state, "connected");
    await w.close();
  });

  it("fails a message's callback on a permanent failure and goes on", async () => {
    const t = new ScriptedTransport(["fatal"]);
    const w = new BatchWriter({ transport: t, batchSize: 2, lingerMs: 0, retry: fast });
    const [a, b] = await Promise.all([acceptP(w, items(0, 2)), acceptP(w, items(2, 2))]);
    assert.match(String(a?.message), /rejected for good/);
    assert.equal(b, undefined);
    assert.deepEqual(t.sent, [[2, 3]]);
    assert.equal(w.stats().failed, 2);
    await w.close();
  });

  it("drops the oldest (never the in-flight batch) when the backlog is full, and counts it", async () => {
    const t = new HeldTransport(["retriable"]);
    const w = new BatchWriter({
      transport: t,
      backlog: new MemoryBacklog<Item>({ maxItems: 4, policy: "drop-oldest" }),
      batchSize: 2,
      lingerMs: 0,
      retry: { initialMs: 1, maxMs: 1, multiplier: 1, factor: 0 },
    });
    const first = acceptP(w, items(0, 2));
    while (!t.held) await new Promise((r) => setImmediate(r)); // batch [0,1] is in flight (held)
    const second = acceptP(w, items(2, 2));
    const third = acceptP(w, items(4, 2)); // full: drops 2,3 (not the in-flight 0,1)
    t.release(); // [0,1] fails once (retriable), is retried and delivered, then [4,5]
    const [e1, e2, e3] = await Promise.all([first, second, third]);
    assert.equal(e1, undefined);
    assert.match(String(e2?.message), /dropped/);
    assert.equal(e3, undefined);
    assert.deepEqual(t.sent.flat(), [0, 1, 4, 5]);
    assert.equal(w.stats().dropped, 2);
    await w.close();
  });

  it("refuses the newest when so configured", async () => {
    const t = new ScriptedTransport(["retriable"]);
    const w = new BatchWriter({
      transport: t,
      backlog: new MemoryBacklog<Item>({ maxItems: 3, policy: "refuse-newest" }),
      batchSize: 10,
      lingerMs: 0,
      retry: { initialMs: 30, maxMs: 30, multiplier: 1, factor: 0 },
    });
    const a = acceptP(w, items(0, 2));
    const b = acceptP(w, items(2, 2));
    assert.match(String((await b)?.message), /refused/);
    assert.equal(await a, undefined);
    assert.deepEqual(t.sent.flat(), [0, 1, 2]);
    await w.close();
  });

  it("fails what is left undelivered on close", async () => {
    const t = new ScriptedTransport(Array(100).fill("retriable"));
    const w = new BatchWriter({ transport: t, lingerMs: 0, retry: fast, closeTimeoutMs: 50 });
    const p = acceptP(w, items(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    await w.close();
    assert.match(String((await p)?.message), /closed with 3/);
    assert.equal(w.state, "closed");
  });
});
