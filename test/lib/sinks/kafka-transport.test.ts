import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import net from "node:net";
import { CompressionTypes } from "kafkajs";
import type { ProducerBatch } from "kafkajs";
import { LineGuardError } from "../../../lib/errors";
import { KafkaTransport, ProducerLike, SharedProducer, probeBrokers, toTopicMessages } from "../../../lib/sinks/kafka";
import type { KafkaItem } from "../../../lib/sinks/kafka-message";
import { BatchWriter } from "../../../lib/sinks/writer";

/* eslint-disable @typescript-eslint/no-require-imports */
const { KafkaJSConnectionError, KafkaJSError, KafkaJSSASLAuthenticationError } = require("kafkajs") as Record<
  string,
  any
>;
const { createErrorFromCode } = require("kafkajs/src/protocol/error") as { createErrorFromCode: (c: number) => Error };
/* eslint-enable @typescript-eslint/no-require-imports */

const EVENTS = { CONNECT: "producer.connect", DISCONNECT: "producer.disconnect" };

/** A scripted stand-in for a kafkajs producer (the real one is exercised in test/integration). */
class FakeProducer extends EventEmitter {
  connects = 0;
  disconnects = 0;
  batches: ProducerBatch[] = [];
  connectScript: Array<Error | "ok"> = [];
  sendScript: Array<Error | "ok"> = [];
  connectDelayMs = 0;
  events = EVENTS;

  asProducer(): ProducerLike {
    return this as unknown as ProducerLike;
  }
  override on(event: string | symbol, l: (...args: unknown[]) => void): this {
    super.on(event, l);
    return this;
  }
  async connect(): Promise<void> {
    this.connects++;
    if (this.connectDelayMs) await new Promise((r) => setTimeout(r, this.connectDelayMs));
    const step = this.connectScript.shift() ?? "ok";
    if (step !== "ok") throw step;
    this.emit(EVENTS.CONNECT, {});
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
    this.emit(EVENTS.DISCONNECT, {});
  }
  async sendBatch(b: ProducerBatch): Promise<unknown[]> {
    const step = this.sendScript.shift() ?? "ok";
    if (step !== "ok") throw step;
    this.batches.push(b);
    return [];
  }
}

// kafkajs's producer.on returns a remover; the fake's EventEmitter.on returns `this`, so wrap it.
function fake(): FakeProducer {
  const f = new FakeProducer();
  const on = f.on.bind(f);
  (f as unknown as { on: unknown }).on = (e: string, l: (...a: unknown[]) => void) => {
    on(e, l);
    return () => f.off(e, l);
  };
  return f;
}

const item = (topic: string, n: number, key = "s"): KafkaItem => ({
  topic,
  key: Buffer.from(key),
  value: Buffer.from(JSON.stringify({ n })),
  headers: { "content-type": "application/json" },
  timestamp: String(1000 + n),
  bytes: 50,
});

describe("lib/sinks/kafka (SharedProducer, KafkaTransport)", () => {
  it("groups a batch by topic, keeping order within each topic", () => {
    const tm = toTopicMessages([item("a", 1), item("b", 2), item("a", 3)]);
    assert.deepEqual(
      tm.map((t) => [t.topic, t.messages.map((m) => JSON.parse(String(m.value)).n)]),
      [
        ["a", [1, 3]],
        ["b", [2]],
      ],
    );
    assert.equal(tm[0]!.messages[0]!.timestamp, "1001");
  });

  it("connect is memoised: concurrent callers share one producer.connect()", async () => {
    const f = fake();
    f.connectDelayMs = 20;
    const sp = new SharedProducer(f.asProducer());
    const states: string[] = [];
    sp.on("state", (s: string) => states.push(s));
    await Promise.all([sp.connect(), sp.connect(), new KafkaTransport(sp).connect()]);
    await sp.connect();
    assert.equal(f.connects, 1);
    assert.equal(sp.state, "connected");
    assert.deepEqual(states, ["connecting", "connected"]);
  });

  it("a failed connect is classified, clears the memo and retries on the next call", async () => {
    const f = fake();
    f.connectScript = [new KafkaJSConnectionError("Connection error: connect ECONNREFUSED")];
    const sp = new SharedProducer(f.asProducer(), { probeIntervalMs: 0 });
    await assert.rejects(
      sp.connect(),
      (e: unknown) => e instanceof LineGuardError && e.retriable && e.code === "connection",
    );
    assert.equal(sp.state, "disconnected");
    await sp.connect();
    assert.equal(f.connects, 2);
    assert.equal(sp.state, "connected");
  });

  it("reconnects after a DISCONNECT event", async () => {
    const f = fake();
    const sp = new SharedProducer(f.asProducer(), { probeIntervalMs: 0 });
    await sp.connect();
    f.emit(EVENTS.DISCONNECT, {});
    assert.equal(sp.state, "disconnected");
    await sp.connect();
    assert.equal(f.connects, 2);
    assert.equal(sp.state, "connected");
  });

  it("sendBatch uses acks = all and the configured compression", async () => {
    const f = fake();
    const sp = new SharedProducer(f.asProducer());
    await new KafkaTransport(sp).send([item("a", 1)]);
    await new KafkaTransport(sp, { compression: "none", timeoutMs: 1234 }).send([item("a", 2)]);
    assert.equal(f.batches[0]!.acks, -1);
    assert.equal(f.batches[0]!.compression, CompressionTypes.GZIP);
    assert.equal(f.batches[1]!.compression, CompressionTypes.None);
    assert.equal(f.batches[1]!.timeout, 1234);
  });

  it("a retriable send failure marks the producer disconnected; a success connects it again", async () => {
    const f = fake();
    const sp = new SharedProducer(f.asProducer(), { probeIntervalMs: 0 });
    await sp.connect();
    f.sendScript = [new KafkaJSConnectionError("Connection error: ECONNREFUSED")];
    await assert.rejects(sp.sendBatch([item("a", 1)]), (e: unknown) => (e as LineGuardError).retriable === true);
    assert.equal(sp.state, "disconnected");
    await sp.sendBatch([item("a", 2)]);
    assert.equal(sp.state, "connected");
  });

  it("'producer is disconnected' makes the next connect() call producer.connect again", async () => {
    const f = fake();
    const sp = new SharedProducer(f.asProducer(), { probeIntervalMs: 0 });
    await sp.connect();
    f.sendScript = [new KafkaJSError("The producer is disconnected")];
    await assert.rejects(sp.sendBatch([item("a", 1)]), (e: unknown) => (e as LineGuardError).code === "disconnected");
    await sp.connect();
    assert.equal(f.connects, 2);
  });

  it("an authentication failure puts the producer in the error state", async () => {
    const f = fake();
    f.connectScript = [
      new KafkaJSSASLAuthenticationError("SASL SCRAM SHA256 authentication failed: Invalid username or password"),
    ];
    const sp = new SharedProducer(f.asProducer(), { probeIntervalMs: 0 });
    await assert.rejects(
      sp.connect(),
      (e: unknown) => (e as LineGuardError).code === "auth-failed" && !(e as LineGuardError).retriable,
    );
    assert.equal(sp.state, "error");
    assert.match(String(sp.detail), /authentication failed/);
  });

  it("remembers a topic the broker refused for good (single-topic batches) for a while", async () => {
    let now = 0;
    const f = fake();
    const sp = new SharedProducer(f.asProducer(), { allowAutoTopicCreation: false, topicBlockMs: 100, now: () => now });
    f.sendScript = [createErrorFromCode(3), createErrorFromCode(3)];
    await assert.rejects(
      sp.sendBatch([item("missing", 1)]),
      (e: unknown) => (e as LineGuardError).code === "unknown-topic",
    );
    assert.match(String(sp.topicBlocked("missing")), /not found/);
    assert.equal(sp.topicBlocked("other"), undefined);
    assert.equal(sp.state, "disconnected", "a topic error does not change the connection state");
    // a multi-topic failure does not say which topic: nothing is blocked
    await assert.rejects(sp.sendBatch([item("x1", 1), item("x2", 2)]));
    assert.equal(sp.topicBlocked("x1"), undefined);
    now = 150;
    assert.equal(sp.topicBlocked("missing"), undefined);
  });

  it("while disconnected, connect() checks that a broker answers, and 'reachable' wakes writers", async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const f = fake();
      const sp = new SharedProducer(f.asProducer(), { brokers: [`127.0.0.1:${port}`], probeIntervalMs: 20 });
      await sp.connect();
      f.sendScript = [new KafkaJSConnectionError("Connection error")];
      await assert.rejects(sp.sendBatch([item("a", 1)]));
      await new Promise<void>((resolve) => sp.once("reachable", resolve));
      await sp.connect(); // probe succeeds
      assert.equal(f.connects, 1);
      await new Promise<void>((r) => server.close(() => r()));
      await assert.rejects(sp.connect(), (e: unknown) => (e as LineGuardError).retriable === true);
      await sp.disconnect();
      assert.equal(sp.state, "closed");
    } finally {
      server.close();
    }
    assert.equal(await probeBrokers([]), false);
    assert.equal(await probeBrokers(["127.0.0.1:1"], 500), false);
  });

  it("disconnect() disconnects the producer once; later calls reject as closed", async () => {
    const f = fake();
    const sp = new SharedProducer(f.asProducer());
    await sp.connect();
    await sp.disconnect();
    await sp.disconnect();
    assert.equal(f.disconnects, 1);
    assert.equal(sp.state, "closed");
    await assert.rejects(sp.connect(), /closed/);
    await assert.rejects(sp.sendBatch([item("a", 1)]), /closed/);
  });

  it("drives a BatchWriter: retriable failures are retried, final ones fail the message", async () => {
    const f = fake();
    const sp = new SharedProducer(f.asProducer(), { probeIntervalMs: 0, allowAutoTopicCreation: false });
    const w = new BatchWriter<KafkaItem>({
      transport: new KafkaTransport(sp),
      lingerMs: 0,
      retry: { initialMs: 1, maxMs: 5, multiplier: 2, factor: 0 },
    });
    f.sendScript = [createErrorFromCode(6), new KafkaJSConnectionError("down"), "ok", createErrorFromCode(10)];
    const ok = await new Promise<Error | undefined>((r) => w.accept([item("a", 1), item("a", 2)], r));
    assert.equal(ok, undefined);
    const bad = await new Promise<Error | undefined>((r) => w.accept([item("a", 3)], r));
    assert.match(String(bad?.message), /too large/);
    assert.equal(f.batches.length, 1);
    assert.equal(w.stats().retries, 2);
    await w.close();
  });
});
