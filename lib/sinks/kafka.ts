/**
 * The Kafka sink: one shared kafkajs producer per broker config (SharedProducer) and a Transport
 * for the BatchWriter (KafkaTransport). No Node-RED import: unit-tested directly.
 *
 *   kafka-out: mapMessage (kafka-message.ts) -> BatchWriter -> KafkaTransport.send(batch)
 *              -> SharedProducer.sendBatch -> producer.sendBatch({ topicMessages, acks: -1 })
 *
 * The writer owns retry/backoff; kafkajs retries only briefly (kafka-config.ts KAFKAJS_RETRY).
 * Errors are classified into LineGuardError with `retriable` (kafka-errors.ts).
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { CompressionTypes } from "kafkajs";
import type { Message, Producer, TopicMessages } from "kafkajs";
import { LineGuardError } from "../errors";
import type { Transport } from "./writer";
import { classifyKafkaError, isTopicError } from "./kafka-errors";
import type { KafkaItem } from "./kafka-message";

export * from "./kafka-config";
export * from "./kafka-errors";
export * from "./kafka-message";
export * from "./kafka-source";

export type ProducerLike = Pick<Producer, "connect" | "disconnect" | "sendBatch" | "on" | "events">;
export type ProducerState = "connecting" | "connected" | "disconnected" | "error" | "closed";
export type Compression = "gzip" | "none";

export interface SharedProducerOptions {
  /** As given to kafka.producer(): decides whether an unknown topic is retriable. Default true. */
  allowAutoTopicCreation?: boolean;
  /** host:port list probed (TCP) while disconnected, to wake waiting writers when a broker is back. */
  brokers?: string[];
  /** Probe period while disconnected (ms); 0 turns probing off. Default 2000. */
  probeIntervalMs?: number;
  /** How long a topic the broker refused for good is refused at accept time (ms). Default 30000. */
  topicBlockMs?: number;
  now?: () => number;
}

export interface SendOptions {
  compression?: Compression;
  /** Broker-side ack timeout (ms). */
  timeoutMs?: number;
}

/** Group items by topic, keeping their order within each topic (hence per key and partition). */
export function toTopicMessages(batch: readonly KafkaItem[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const it of batch) {
    let list = byTopic.get(it.topic);
    if (!list) {
      list = [];
      byTopic.set(it.topic, list);
    }
    list.push({ key: it.key, value: it.value, headers: it.headers, timestamp: it.timestamp });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** Resolve true as soon as one broker accepts a TCP connection (within timeoutMs each). */
export function probeBrokers(brokers: readonly string[], timeoutMs = 1000): Promise<boolean> {
  if (brokers.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    let left = brokers.length;
    let settled = false;
    const one = (ok: boolean): void => {
      left--;
      if (settled) return;
      if (ok || left === 0) {
        settled = true;
        resolve(ok);
      }
    };
    for (const b of brokers) {
      const i = b.lastIndexOf(":");
      const host = b.slice(0, i).replace(/^\[|\]$/g, "");
      const port = Number(b.slice(i + 1));
      const s = net.connect({ host, port });
      const finish = (ok: boolean): void => {
        s.removeAllListeners();
        s.on("error", () => undefined);
        s.destroy();
        one(ok);
      };
      s.setTimeout(timeoutMs, () => finish(false));
      s.once("connect", () => finish(true));
      s.once("error", () => finish(false));
    }
  });
}

/**
 * One kafkajs producer shared by every kafka-out node of a broker config. connect() is memoised
 * (concurrent callers share one promise); after a DISCONNECT event or a "producer is disconnected"
 * failure the next connect() connects again. The connection state is derived from the producer's
 * CONNECT/DISCONNECT events and from the outcome of sends (kafkajs does not report a broker that
 * went away until a request fails).
 *
 * Events: "state" (state, detail), "reachable" (a broker answers again while disconnected).
 */
export class SharedProducer extends EventEmitter {
  readonly producer: ProducerLike;
  readonly allowAutoTopicCreation: boolean;
  private readonly brokers: string[];
  private readonly probeIntervalMs: number;
  private readonly topicBlockMs: number;
  private readonly now: () => number;
  private connecting: Promise<void> | undefined;
  private _state: ProducerState = "disconnected";
  private _detail: string | undefined;
  private closed = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly blocked = new Map<string, { reason: string; until: number }>();
  private readonly removers: Array<() => void> = [];

  constructor(producer: ProducerLike, opts: SharedProducerOptions = {}) {
    super();
    this.setMaxListeners(0); // one "reachable" listener per kafka-out node
    this.producer = producer;
    this.allowAutoTopicCreation = opts.allowAutoTopicCreation ?? true;
    this.brokers = opts.brokers ?? [];
    this.probeIntervalMs = opts.probeIntervalMs ?? 2000;
    this.topicBlockMs = opts.topicBlockMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    const on = producer.on as unknown as (e: string, l: () => void) => () => void;
    this.removers.push(
      on.call(producer, producer.events.CONNECT, () => this.setState("connected")),
      on.call(producer, producer.events.DISCONNECT, () => {
        this.connecting = undefined;
        if (!this.closed) this.setState("disconnected", "producer disconnected");
      }),
    );
  }

  get state(): ProducerState {
    return this._state;
  }

  get detail(): string | undefined {
    return this._detail;
  }

  private setState(s: ProducerState, detail?: string): void {
    if (this.closed && s !== "closed") return;
    if (this._state === s && this._detail === detail) return;
    this._state = s;
    this._detail = detail;
    if (s === "disconnected") this.startProbe();
    else this.stopProbe();
    this.emit("state", s, detail);
  }

  /** Connect the shared producer. Rejects with a classified LineGuardError. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new LineGuardError("closed", "Kafka producer is closed"));
    if (this.connecting && this._state === "disconnected" && this.brokers.length > 0) {
      // Connected once, but sends are failing: do not claim a connection no broker answers.
      return probeBrokers(this.brokers).then((ok) => {
        if (!ok) throw new LineGuardError("connection", "Kafka broker not reachable", { retriable: true });
      });
    }
    if (!this.connecting) {
      if (this._state !== "error") this.setState("connecting");
      const p = this.producer.connect().then(
        () => {
          if (this.connecting === p) this.setState("connected");
        },
        (e: unknown) => {
          if (this.connecting === p) this.connecting = undefined;
          const err = classifyKafkaError(e, { allowAutoTopicCreation: this.allowAutoTopicCreation });
          this.noteFailure(err, []);
          throw err;
        },
      );
      this.connecting = p;
    }
    return this.connecting;
  }

  /** Send one batch with acks = all; rejects with a classified LineGuardError. */
  async sendBatch(batch: readonly KafkaItem[], opts: SendOptions = {}): Promise<void> {
    if (this.closed) throw new LineGuardError("closed", "Kafka producer is closed");
    const topicMessages = toTopicMessages(batch);
    try {
      await this.producer.sendBatch({
        topicMessages,
        acks: -1,
        compression: opts.compression === "none" ? CompressionTypes.None : CompressionTypes.GZIP,
        timeout: opts.timeoutMs ?? 30_000,
      });
    } catch (e) {
      const topics = topicMessages.map((t) => t.topic);
      const err = classifyKafkaError(e, { allowAutoTopicCreation: this.allowAutoTopicCreation, topics });
      this.noteFailure(err, topics);
      throw err;
    }
    if (this._state !== "connected") this.setState("connected");
  }

  private noteFailure(err: LineGuardError, topics: string[]): void {
    if (isTopicError(err)) {
      // The topic is the problem, not the connection. Only a single-topic request tells which.
      if (topics.length === 1)
        this.blocked.set(topics[0]!, { reason: err.message, until: this.now() + this.topicBlockMs });
      return;
    }
    if (err.code === "auth-failed") {
      this.setState("error", err.message);
      return;
    }
    if (err.retriable) {
      if (err.code === "disconnected") this.connecting = undefined;
      this.setState("disconnected", err.message);
    }
  }

  /** Reason a topic is refused at accept time (the broker refused it for good a moment ago). */
  topicBlocked(topic: string): string | undefined {
    if (this.blocked.size === 0) return undefined;
    const b = this.blocked.get(topic);
    if (!b) return undefined;
    if (this.now() >= b.until) {
      this.blocked.delete(topic);
      return undefined;
    }
    return b.reason;
  }

  private startProbe(): void {
    if (this.probeTimer || this.probeIntervalMs <= 0 || this.brokers.length === 0 || this.closed) return;
    const tick = (): void => {
      this.probeTimer = setTimeout(() => {
        void probeBrokers(this.brokers).then((ok) => {
          if (!this.probeTimer || this._state !== "disconnected") return;
          if (ok) this.emit("reachable");
          tick();
        });
      }, this.probeIntervalMs);
      this.probeTimer.unref?.();
    };
    tick();
  }

  private stopProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Disconnect the producer (bounded by the caller, e.g. SharedConnection.close). */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    const wasConnecting = this.connecting;
    this.closed = true;
    this.stopProbe();
    try {
      if (wasConnecting) await wasConnecting.catch(() => undefined);
      await this.producer.disconnect();
    } catch {
      // closing: nothing left to report to
    } finally {
      for (const r of this.removers) {
        try {
          r();
        } catch {
          // ignore
        }
      }
      this.connecting = undefined;
      this._state = "closed";
      this.emit("state", "closed", undefined);
    }
  }
}

/** The BatchWriter's transport on a shared producer; closing it leaves the producer to its owner. */
const NOT_SPLITTABLE = new Set(["auth-failed", "not-authorized", "unknown-topic", "invalid-topic", "closing"]);

export class KafkaTransport implements Transport<KafkaItem> {
  constructor(
    private readonly shared: SharedProducer,
    private readonly opts: SendOptions = {},
  ) {}

  connect(): Promise<void> {
    return this.shared.connect();
  }

  send(batch: KafkaItem[]): Promise<void> {
    return this.shared.sendBatch(batch, this.opts);
  }

  /**
   * A refusal that one record can cause (too large, an invalid or corrupt record, a value kafkajs
   * cannot encode): the writer splits the batch to deliver the others. Not for refusals of the
   * connection or the topic, which every record of the batch shares.
   */
  splittable(err: unknown): boolean {
    const code = err instanceof LineGuardError ? err.code : "";
    return !NOT_SPLITTABLE.has(code);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
