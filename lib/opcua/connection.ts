/**
 * One OPC UA client + session per endpoint, and the subscriptions registered on it.
 *
 * - node-opcua's own reconnection (infinite retries once connected) restores the secure channel,
 *   the session and the subscriptions + monitored items (it recreates them on a restarted server).
 *   We only learn the outage window (connection_lost -> connection_reestablished) and emit `gap`.
 * - A session the server dropped while the channel stayed up is restored by node-opcua too (new
 *   session, subscriptions recreated): we emit `gap` from the last sign of life to the restore.
 * - A full session loss (the session closed under us without a reconnection) tears the client down
 *   and opens a new one; every registered subscription and monitored item is then created again,
 *   once: the old ones died with the old session.
 * - The first connection is retried by us with exponential backoff (wrong password, server down).
 *
 * Events: "state" (OpcuaState, detail?), "gap" (Gap), "ready" (the session is (re)usable).
 */
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  ClientSession,
  ClientSubscription,
  DataChangeFilter,
  DataChangeTrigger,
  DataValue,
  DeadbandType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserIdentityInfo,
  UserTokenType,
} from "node-opcua";
import { errorMessage } from "../errors";
import { redact } from "../redact";
import { backoffDelay } from "../retry";
import { EndpointSettings, endpointSecrets } from "./endpoint";
import { parseNodeId } from "./browse";

export type OpcuaState = "connecting" | "connected" | "reconnecting" | "error" | "closed";

export interface Gap {
  from: number;
  to: number;
  reason: string;
}

export type DeadbandMode = "none" | "absolute" | "percent";

export interface MonitorSpec {
  publishingInterval: number;
  samplingInterval: number;
  queueSize: number;
  deadband: DeadbandMode;
  deadbandValue: number;
  nodeIds: string[];
  /** Per node id: may a deadband apply (numeric data type)? Missing = yes. */
  numeric?: boolean[];
}

export interface ItemError {
  index: number;
  nodeId: string;
  reason: string;
}

export interface SubscriptionHandler {
  onChange(index: number, dv: DataValue): void;
  /** After each (re)creation: how many items are monitored and which failed. */
  onReady(monitored: number, errors: ItemError[]): void;
  /** The subscription could not be created at all. */
  onError(err: Error): void;
}

interface Registered {
  spec: MonitorSpec;
  handler: SubscriptionHandler;
  sub?: ClientSubscription;
  groups: ClientMonitoredItemGroup[];
  /** Incremented on every (re)creation so late events of an old one are dropped. */
  generation: number;
}

export type ErrorKind = "auth" | "certificate" | "network" | "other";

/** Classify a connect/session error for status text and retry pacing. */
export function classifyOpcuaError(err: unknown): { kind: ErrorKind; message: string } {
  const m = errorMessage(err);
  if (/BadIdentityToken|BadUserAccessDenied|BadUserSignatureInvalid|Bad.*Identity/i.test(m)) {
    return { kind: "auth", message: "authentication failed (user rejected by the server)" };
  }
  if (/certificate|BadSecurityChecksFailed|BadCertificate/i.test(m)) {
    return { kind: "certificate", message: m };
  }
  if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|ETIMEDOUT|timeout|socket|closed|connect/i.test(m)) {
    return { kind: "network", message: m };
  }
  return { kind: "other", message: m };
}

function sleep(ms: number, signal: { closed: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    const poll = setInterval(() => {
      if (signal.closed) {
        clearTimeout(t);
        clearInterval(poll);
        resolve();
      }
    }, 100);
    setTimeout(() => clearInterval(poll), ms + 10);
  });
}

export interface ConnectionOptions {
  log?: (level: "debug" | "warn", text: string) => void;
  /** Initial connect: delay cap between attempts (ms). */
  maxRetryDelay?: number;
}

export class OpcuaConnection extends EventEmitter {
  private client: OPCUAClient | undefined;
  private _session: ClientSession | undefined;
  private _state: OpcuaState = "connecting";
  private _detail: string | undefined;
  private readonly subs = new Map<string, Registered>();
  private readonly signal = { closed: false };
  private running = false;
  private lostAt: number | undefined;
  /** Last sign of life of the session (data change or keepalive): where a session-loss gap starts. */
  private lastAlive = Date.now();
  private lostReason = "";
  private readonly secrets: string[];
  /** Subscriptions being created: closing the session under them trips a node-opcua assert. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    readonly settings: EndpointSettings,
    private readonly opts: ConnectionOptions = {},
  ) {
    super();
    this.secrets = endpointSecrets(settings);
    this.setMaxListeners(0);
  }

  get state(): OpcuaState {
    return this._state;
  }
  get detail(): string | undefined {
    return this._detail;
  }
  get session(): ClientSession | undefined {
    return this._state === "connected" ? this._session : undefined;
  }

  private setState(s: OpcuaState, detail?: string): void {
    this._state = s;
    this._detail = detail === undefined ? undefined : redact(detail, this.secrets);
    this.emit("state", s, this._detail);
  }

  private log(level: "debug" | "warn", text: string): void {
    this.opts.log?.(level, redact(text, this.secrets));
  }

  /** Start connecting (idempotent). */
  start(): void {
    if (this.running || this.signal.closed) return;
    this.running = true;
    void this.connectLoop(false);
  }

  private async connectLoop(reconnect: boolean): Promise<void> {
    let attempt = 0;
    let lastWarned: string | undefined;
    while (!this.signal.closed) {
      this.setState(reconnect || attempt > 0 ? "reconnecting" : "connecting", String(attempt + 1));
      try {
        await this.open();
        return;
      } catch (err) {
        await this.teardownClient();
        if (this.signal.closed) return;
        const c = classifyOpcuaError(err);
        let text = c.message;
        if (c.kind === "certificate" && !this.settings.autoAcceptServerCertificate) {
          text =
            `${c.message} - trust the server certificate by moving it from ` +
            `${path.join(this.settings.pkiFolder, "rejected")} to ${path.join(this.settings.pkiFolder, "trusted", "certs")}` +
            ` or turn on automatic trust`;
        }
        this.setState("error", text);
        // warn once per distinct error, not on every retry while a server is down
        this.log(text === lastWarned ? "debug" : "warn", `OPC UA ${this.settings.url}: ${text}`);
        lastWarned = text;
        const cap = this.opts.maxRetryDelay ?? (c.kind === "auth" ? 30_000 : 5_000);
        await sleep(Math.min(cap, backoffDelay(attempt++)), this.signal);
      }
    }
  }

  private async open(): Promise<void> {
    const s = this.settings;
    fs.mkdirSync(s.pkiFolder, { recursive: true });
    const cm = new OPCUACertificateManager({
      rootFolder: s.pkiFolder,
      automaticallyAcceptUnknownCertificate: s.autoAcceptServerCertificate,
    });
    await cm.initialize();
    const client = OPCUAClient.create({
      applicationName: s.applicationName,
      endpointMustExist: false,
      securityMode: MessageSecurityMode[s.securityMode],
      securityPolicy: SecurityPolicy[s.securityPolicy],
      // maxRetry > 0: node-opcua reconnects forever once connected; the first connect fails fast
      // and is retried by connectLoop.
      connectionStrategy: { initialDelay: 250, maxDelay: 2000, maxRetry: 1 },
      keepSessionAlive: true,
      requestedSessionTimeout: s.sessionTimeout,
      clientCertificateManager: cm,
      transportTimeout: 10_000,
    });
    this.client = client;
    client.on("connection_lost", () => {
      if (this.client !== client || this.signal.closed) return;
      this.lostAt ??= Date.now();
      this.lostReason = "connection lost";
      this.setState("reconnecting", "connection lost");
    });
    client.on("reconnection_attempt_has_failed", (_e: Error, message: string) => {
      if (this.client !== client || this.signal.closed) return;
      this.log("debug", `OPC UA ${s.url}: reconnection attempt failed: ${message}`);
    });
    client.on("connection_reestablished", () => {
      if (this.client !== client || this.signal.closed) return;
      this.setState("connected");
      this.endGap();
      this.emit("ready");
    });
    await client.connect(s.url);
    const identity: UserIdentityInfo =
      s.auth === "username"
        ? { type: UserTokenType.UserName, userName: s.username ?? "", password: s.password ?? "" }
        : { type: UserTokenType.Anonymous };
    const session = await client.createSession(identity);
    this._session = session;
    session.on("session_closed", () => {
      if (this.client !== client || this._session !== session || this.signal.closed) return;
      this.sessionLost("session closed");
    });
    session.on("keepalive", () => {
      this.lastAlive = Date.now();
    });
    // The server dropped the session but the channel stayed up: node-opcua created a new session
    // and recreated the subscriptions itself; the outage ran from the last sign of life until now.
    session.on("session_restored", () => {
      if (this.client !== client || this.signal.closed) return;
      if (this.lostAt !== undefined) return; // a connection loss: connection_reestablished reports it
      const gap: Gap = { from: Math.min(this.lastAlive, Date.now()), to: Date.now(), reason: "session lost" };
      this.lastAlive = Date.now();
      this.emit("gap", gap);
      this.emit("ready");
    });
    session.on("keepalive_failure", () => {
      if (this.client !== client || this.signal.closed) return;
      this.log("debug", `OPC UA ${s.url}: keepalive failure`);
    });
    this.setState("connected");
    this.endGap();
    for (const [id, r] of this.subs) await this.createSubscription(id, r);
    this.emit("ready");
  }

  private endGap(): void {
    if (this.lostAt === undefined) return;
    const gap: Gap = { from: this.lostAt, to: Date.now(), reason: this.lostReason || "connection lost" };
    this.lostAt = undefined;
    this.emit("gap", gap);
  }

  /** The session is gone for good: open a new client, session and every subscription. */
  private sessionLost(reason: string): void {
    this.lostAt ??= Date.now();
    this.lostReason = reason;
    this._session = undefined;
    for (const r of this.subs.values()) {
      r.generation++;
      r.sub = undefined;
      r.groups = [];
    }
    void this.teardownClient().then(() => this.connectLoop(true));
  }

  private async teardownClient(): Promise<void> {
    if (this.inFlight.size > 0) await withTimeout(Promise.all([...this.inFlight]), 3000);
    const c = this.client;
    const sess = this._session;
    this.client = undefined;
    this._session = undefined;
    if (sess)
      await withTimeout(
        sess.close(true).catch(() => undefined),
        2000,
      );
    if (c)
      await withTimeout(
        c.disconnect().catch(() => undefined),
        3000,
      );
  }

  /** Register a subscription; created now when connected, and again after a full session loss. */
  async subscribe(id: string, spec: MonitorSpec, handler: SubscriptionHandler): Promise<void> {
    for (const n of spec.nodeIds) parseNodeId(n);
    const r: Registered = { spec, handler, groups: [], generation: 0 };
    const old = this.subs.get(id);
    if (old) await this.unsubscribe(id);
    this.subs.set(id, r);
    if (this._state === "connected" && this._session) await this.createSubscription(id, r);
  }

  async unsubscribe(id: string): Promise<void> {
    const r = this.subs.get(id);
    if (!r) return;
    this.subs.delete(id);
    r.generation++;
    const sub = r.sub;
    r.sub = undefined;
    if (sub)
      await withTimeout(
        sub.terminate().catch(() => undefined),
        2000,
      );
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  private createSubscription(id: string, r: Registered): Promise<void> {
    const p = this.doCreateSubscription(id, r).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  private async doCreateSubscription(id: string, r: Registered): Promise<void> {
    const session = this._session;
    if (!session || this.subs.get(id) !== r) return;
    const gen = ++r.generation;
    const { spec } = r;
    try {
      const sub = await session.createSubscription2({
        requestedPublishingInterval: spec.publishingInterval,
        requestedLifetimeCount: 600,
        requestedMaxKeepAliveCount: 10,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 10,
      });
      if (r.generation !== gen || this.subs.get(id) !== r) {
        await sub.terminate().catch(() => undefined);
        return;
      }
      r.sub = sub;
      r.groups = [];
      // Items a deadband applies to and the others (a deadband on a Boolean/String is refused).
      const withFilter: number[] = [];
      const without: number[] = [];
      spec.nodeIds.forEach((_n, i) => {
        if (spec.deadband !== "none" && spec.numeric?.[i] !== false) withFilter.push(i);
        else without.push(i);
      });
      const errors: ItemError[] = [];
      let monitored = 0;
      for (const [indices, filtered] of [
        [withFilter, true],
        [without, false],
      ] as const) {
        if (indices.length === 0) continue;
        const filter = filtered
          ? new DataChangeFilter({
              trigger: DataChangeTrigger.StatusValue,
              deadbandType: spec.deadband === "percent" ? DeadbandType.Percent : DeadbandType.Absolute,
              deadbandValue: spec.deadbandValue,
            })
          : null;
        const group = await sub.monitorItems(
          indices.map((i) => ({ nodeId: parseNodeId(spec.nodeIds[i]), attributeId: AttributeIds.Value })),
          { samplingInterval: spec.samplingInterval, queueSize: spec.queueSize, discardOldest: true, filter },
          TimestampsToReturn.Both,
        );
        r.groups.push(group);
        group.on("changed", (_item: unknown, dv: DataValue, k: number) => {
          if (r.generation !== gen) return;
          this.lastAlive = Date.now();
          try {
            r.handler.onChange(indices[k]!, dv);
          } catch (err) {
            this.log("warn", `OPC UA handler failed: ${errorMessage(err)}`);
          }
        });
        group.monitoredItems.forEach((mi, k) => {
          const sc = mi.statusCode;
          if (sc && sc.isNotGood()) {
            errors.push({ index: indices[k]!, nodeId: spec.nodeIds[indices[k]!]!, reason: sc.name });
          } else monitored++;
        });
      }
      if (r.generation === gen) r.handler.onReady(monitored, errors);
    } catch (err) {
      if (r.generation === gen) r.handler.onError(err instanceof Error ? err : new Error(errorMessage(err)));
    }
  }

  /** Wait until connected (bounded) and run fn with the session. */
  async withSession<T>(fn: (s: ClientSession) => Promise<T>, timeoutMs = 10_000, failOnError = false): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (!this.session) {
      if (this.signal.closed) throw new Error("connection closed");
      if (failOnError && this._state === "error") throw new Error(this._detail ?? "connection failed");
      if (Date.now() > deadline) {
        throw new Error(`not connected to ${this.settings.url}${this._detail ? `: ${this._detail}` : ""}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return fn(this.session);
  }

  /** Close everything; resolves within about 5 s whatever the server does. */
  async close(): Promise<void> {
    if (this.signal.closed) return;
    this.signal.closed = true;
    for (const r of this.subs.values()) r.generation++;
    const subs = [...this.subs.values()].map((r) => r.sub).filter((s): s is ClientSubscription => !!s);
    this.subs.clear();
    await withTimeout(Promise.all(subs.map((s) => s.terminate().catch(() => undefined))), 1500);
    await this.teardownClient();
    this.setState("closed");
    this.removeAllListeners();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<undefined>((res) => (t = setTimeout(() => res(undefined), ms)))]);
  if (t) clearTimeout(t);
  return r;
}

/** Ref-counted pool: ONE connection per endpoint key, shared by every user. */
export class ConnectionPool {
  private readonly entries = new Map<string, { conn: OpcuaConnection; refs: number }>();

  acquire(key: string, create: () => OpcuaConnection): { conn: OpcuaConnection; release: () => Promise<void> } {
    let e = this.entries.get(key);
    if (!e) {
      e = { conn: create(), refs: 0 };
      this.entries.set(key, e);
      e.conn.start();
    }
    e.refs++;
    const entry = e;
    let released = false;
    return {
      conn: entry.conn,
      release: async () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (entry.refs <= 0 && this.entries.get(key) === entry) {
          this.entries.delete(key);
          await entry.conn.close();
        }
      },
    };
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The process-wide pool used by the nodes. */
export const opcuaPool = new ConnectionPool();
