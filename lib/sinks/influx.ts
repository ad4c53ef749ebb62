/**
 * InfluxDB sink: connection settings, the shared HTTP client, the Transport the BatchWriter drives,
 * error classification and the per-message preparation (records -> line protocol items).
 *
 *   msg -> prepareMessage (parseRecords + LineMapper) -> BatchWriter.accept -> InfluxTransport.send
 *       -> InfluxClient.write: ONE POST /api/v2/write?org=&bucket=&precision= per batch
 *
 * Why the client's low-level transport and not its WriteApi: WriteApi keeps its own buffer (it splits
 * and delays what it is given by batchSize/maxBatchBytes/flushInterval), retries on its own, logs
 * failures to the console, accepts 201 as success, and its close() does not wait for batches it
 * flushed earlier. `InfluxDB.transport.send()` sends exactly one request, reports the exact status
 * (HttpError.statusCode, body, headers) and never retries; we check for 204 ourselves, gzip above a
 * threshold at the fastest level, and bound every request with an AbortSignal (timeout, close).
 *
 * Line protocol is written by lib/sinks/line-protocol.ts rather than with the client's Point class:
 * for 10 000 typical records (6 values, 1 tag, ms time, Node 20) it measured ~10 ms (median of 20 runs)
 * against ~20 ms for Point; Point also truncates a fractional ms time instead of converting it exactly.
 *
 * InfluxDB 1.8 is written through its v2 compatibility API: bucket "db/rp" (or "db"), org ignored,
 * token "username:password" (or none without auth). GET /ping answers 204 on 1.8 and 2.x.
 */
import http from "node:http";
import https from "node:https";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { HttpError, InfluxDB, type Transport as ClientTransport } from "@influxdata/influxdb-client";
import { LineGuardError, errorMessage } from "../errors";
import { redact } from "../redact";
import { ParseOptions, RejectedRecord, parseRecords } from "../record";
import { RetryPolicy, backoffDelay } from "../retry";
import type { Transport } from "./writer";
import { InfluxItem, LineMapper, MessageOverrides, PRECISIONS, Precision } from "./line-protocol";

export type InfluxVersion = "2" | "1.8";

/** Connection settings as the config node stores them (editor values may be strings). */
export interface InfluxConnectionSettings {
  url?: unknown;
  version?: unknown;
  org?: unknown;
  database?: unknown;
  retentionPolicy?: unknown;
  tlsRejectUnauthorized?: unknown;
  timeout?: unknown;
}

/** Secrets, only ever from the node's credentials. */
export interface InfluxCredentials {
  token?: string;
  username?: string;
  password?: string;
  /** CA certificate(s), PEM. */
  tlsCa?: string;
}

export interface ResolvedConnection {
  /** Base URL without trailing slash. */
  url: string;
  version: InfluxVersion;
  /** Organisation (2.x); "" for 1.8. */
  org: string;
  /** "Token <token>" credentials: the API token (2.x) or "username:password" (1.8). */
  token?: string;
  timeoutMs: number;
  rejectUnauthorized: boolean;
  ca?: string;
  /** 1.8: "database/retentionPolicy" (or "database"), the only bucket writes go to. */
  bucket?: string;
  /** Values to redact from any text shown or logged. */
  secrets: string[];
}

export const DEFAULT_TIMEOUT_MS = 10_000;

const gzip = promisify(zlib.gzip);

function str(v: unknown): string {
  return typeof v === "string" ? v.trim() : typeof v === "number" ? String(v) : "";
}

function bool(v: unknown, dflt: boolean): boolean {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return dflt;
}

/** A positive integer from a number or a numeric string, else the default; clamped to [min, max]. */
export function intSetting(v: unknown, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.round(n)));
}

/** "2", "2.x", "v2" -> "2"; "1.8", "1", "1.x", "v1" -> "1.8"; anything else -> undefined. */
export function normaliseVersion(v: unknown): InfluxVersion | undefined {
  const s = str(v).toLowerCase().replace(/^v/, "");
  if (s === "") return undefined;
  if (/^2(\.\d+|\.x)?$/.test(s)) return "2";
  if (/^1(\.\d+|\.x)?$/.test(s)) return "1.8";
  return undefined;
}

function configError(message: string): LineGuardError {
  return new LineGuardError("config", message);
}

/**
 * Validate settings + credentials and turn them into client options. Throws a LineGuardError with
 * code "config" (never retriable) and a message that quotes no secret.
 */
export function resolveConnection(s: InfluxConnectionSettings, c: InfluxCredentials = {}): ResolvedConnection {
  const rawUrl = str(s.url);
  if (rawUrl === "") throw configError("URL is required (e.g. http://127.0.0.1:8086)");
  let u: URL;
  try {
    u = new URL(rawUrl);
  } catch {
    throw configError(`URL is not valid: ${redact(rawUrl)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw configError(`URL must start with http:// or https:// (got ${u.protocol})`);
  }
  if (u.username !== "" || u.password !== "") {
    throw configError("URL must not contain a user or password: use the credential fields");
  }
  if (u.search !== "" || u.hash !== "") throw configError("URL must not contain a query or fragment");
  const url = `${u.origin}${u.pathname}`.replace(/\/+$/, "");

  const version = normaliseVersion(s.version ?? "2");
  if (version === undefined) throw configError(`version must be "2" or "1.8" (got "${str(s.version)}")`);

  const timeoutMs = intSetting(s.timeout, DEFAULT_TIMEOUT_MS, 100, 300_000);
  const rejectUnauthorized = bool(s.tlsRejectUnauthorized, true);
  const ca = typeof c.tlsCa === "string" && c.tlsCa.trim() !== "" ? c.tlsCa.trim() : undefined;
  if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) {
    throw configError("CA certificate must be PEM text (-----BEGIN CERTIFICATE----- ...)");
  }

  const secrets: string[] = [];
  const add = (v: string | undefined): void => {
    if (typeof v === "string" && v !== "" && !secrets.includes(v)) secrets.push(v);
  };
  let token: string | undefined;
  let org = "";
  let bucket: string | undefined;
  if (version === "2") {
    org = str(s.org);
    if (org === "") throw configError("organisation is required for InfluxDB 2");
    token = c.token ? c.token : undefined;
  } else {
    const db = str(s.database);
    if (db === "") throw configError("database is required for InfluxDB 1.8");
    const rp = str(s.retentionPolicy);
    bucket = rp === "" ? db : `${db}/${rp}`;
    const user = typeof c.username === "string" ? c.username.trim() : "";
    if (user !== "") token = `${user}:${c.password ?? ""}`;
    else if (c.token) token = c.token;
    add(c.password);
  }
  add(token);
  add(c.token);
  return { url, version, org, token, timeoutMs, rejectUnauthorized, ca, bucket, secrets };
}

/** The bucket a sink writes to: 1.8 always the config's db/rp, 2.x the node's bucket (required). */
export function resolveBucket(conn: ResolvedConnection, nodeBucket: unknown): string {
  if (conn.version === "1.8") return conn.bucket!;
  const b = str(nodeBucket);
  if (b === "") throw configError("bucket is required for InfluxDB 2");
  return b;
}

// ---------------------------------------------------------------- errors

export type InfluxErrorCode =
  | "network"
  | "timeout"
  | "throttled"
  | "server"
  | "bad-request"
  | "auth"
  | "not-found"
  | "too-large"
  | "http"
  | "unexpected-status"
  | "tls"
  | "closed"
  | "unknown";

/** A failed request: `status` is the HTTP status when the server answered. */
export class InfluxError extends LineGuardError {
  override readonly code: InfluxErrorCode;
  readonly status?: number;
  /** Wait the server asked for (Retry-After), in ms. */
  readonly retryAfterMs?: number;

  constructor(
    code: InfluxErrorCode,
    message: string,
    opts: { retriable?: boolean; status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(code, message, opts);
    this.name = "InfluxError";
    this.code = code;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
]);

const TLS_CODE = /^(CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_TLS_|ERR_SSL_|EPROTO$|HOSTNAME_MISMATCH)/;

/** Retry-After: delta-seconds or an HTTP date; ms to wait, or undefined. */
export function parseRetryAfter(v: unknown, now: number = Date.now()): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (typeof s !== "string" || s.trim() === "") return undefined;
  const t = s.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** The server's own words: JSON {error} / {message}, else the body, else X-Influxdb-Error. */
/** A server's answer may quote a whole refused line: keep error texts short. */
function cap(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

export function serverMessage(e: { body?: string; headers?: Record<string, unknown>; statusMessage?: string }): string {
  const body = typeof e.body === "string" ? e.body.trim() : "";
  if (body !== "") {
    try {
      const j = JSON.parse(body) as { error?: unknown; message?: unknown };
      if (typeof j.error === "string" && j.error !== "") return cap(j.error);
      if (typeof j.message === "string" && j.message !== "") return cap(j.message);
    } catch {
      // not JSON: the body itself
    }
    return cap(body);
  }
  const h = e.headers?.["x-influxdb-error"];
  if (typeof h === "string" && h !== "") return h;
  return e.statusMessage ?? "";
}

function httpStatusError(status: number, msg: string, retryAfterMs: number | undefined): InfluxError {
  const detail = msg === "" ? "" : `: ${msg}`;
  const opts = { status, retryAfterMs };
  if (status === 401 || status === 403) {
    return new InfluxError("auth", `authentication failed (HTTP ${status})${detail}`, opts);
  }
  if (status === 404 || (status === 500 && /retention policy not found|database not found/i.test(msg))) {
    return new InfluxError("not-found", `bucket or database not found (HTTP ${status})${detail}`, opts);
  }
  if (status === 400) return new InfluxError("bad-request", `InfluxDB refused the write (HTTP 400)${detail}`, opts);
  if (status === 413) return new InfluxError("too-large", `request too large (HTTP 413)${detail}`, opts);
  if (status === 429) {
    return new InfluxError("throttled", `InfluxDB is throttling writes (HTTP 429)${detail}`, {
      ...opts,
      retriable: true,
    });
  }
  if (status === 408 || status >= 500) {
    return new InfluxError("server", `InfluxDB server error (HTTP ${status})${detail}`, { ...opts, retriable: true });
  }
  return new InfluxError("http", `unexpected answer from InfluxDB (HTTP ${status})${detail}`, opts);
}

export interface ClassifyContext {
  /** Base URL, for messages. */
  url?: string;
  /** Redacted from every message. */
  secrets?: readonly string[];
  /** The request was aborted by our timeout. */
  timedOut?: boolean;
  /** The request was aborted because the client closed. */
  closed?: boolean;
  now?: number;
}

/**
 * Turn whatever the HTTP layer threw into an InfluxError: network errors, timeouts, 429 and 5xx are
 * retriable (with Retry-After when given); 400, 401/403, 404 and other answers are not.
 */
export function classifyError(err: unknown, ctx: ClassifyContext = {}): InfluxError {
  const secrets = ctx.secrets ?? [];
  const r = (text: string): string => redact(text, secrets);
  if (err instanceof InfluxError) return err;
  if (ctx.closed) return new InfluxError("closed", "InfluxDB client closed", { retriable: true, cause: err });
  const e = err as {
    statusCode?: unknown;
    body?: string;
    headers?: Record<string, unknown>;
    statusMessage?: string;
    code?: unknown;
    name?: unknown;
  };
  if (err instanceof HttpError || (e && typeof e.statusCode === "number")) {
    const status = e.statusCode as number;
    const retryAfterMs = parseRetryAfter(e.headers?.["retry-after"], ctx.now);
    return httpStatusError(status, r(serverMessage(e)), retryAfterMs);
  }
  const where = ctx.url ? ` at ${r(ctx.url)}` : "";
  if (ctx.timedOut || (e && e.name === "RequestTimedOutError")) {
    return new InfluxError("timeout", `InfluxDB${where} did not answer in time`, { retriable: true, cause: err });
  }
  const code = e && typeof e.code === "string" ? e.code : "";
  if (NETWORK_CODES.has(code)) {
    return new InfluxError("network", `cannot reach InfluxDB${where}: ${code}`, { retriable: true, cause: err });
  }
  if (TLS_CODE.test(code)) {
    return new InfluxError("tls", `TLS error talking to InfluxDB${where}: ${r(errorMessage(err))}`, { cause: err });
  }
  if (e && e.name === "AbortError") {
    return new InfluxError("network", `request to InfluxDB${where} was aborted`, { retriable: true, cause: err });
  }
  // Other system errors (E...) are network trouble too; anything else is a bug, not worth retrying.
  const retriable = /^E[A-Z]+$/.test(code);
  return new InfluxError(
    retriable ? "network" : "unknown",
    r(`InfluxDB request failed${where}: ${errorMessage(err)}`),
    {
      retriable,
      cause: err,
    },
  );
}

// ---------------------------------------------------------------- client

export interface WriteTarget {
  org: string;
  bucket: string;
  precision: Precision;
  /** Gzip bodies larger than this many bytes (default 1000). */
  gzipThreshold?: number;
}

export const DEFAULT_GZIP_THRESHOLD = 1000;

/**
 * One HTTP client per config node (shared by its sinks): the client library's Node transport with
 * our own keep-alive agent (TLS options live there), exact status checks and bounded requests.
 */
export class InfluxClient {
  readonly conn: ResolvedConnection;
  private readonly transport: ClientTransport;
  private readonly agent: http.Agent;
  private readonly inflight = new Set<AbortController>();
  private closed = false;

  constructor(conn: ResolvedConnection) {
    this.conn = conn;
    this.agent = conn.url.startsWith("https:")
      ? new https.Agent({ keepAlive: true, rejectUnauthorized: conn.rejectUnauthorized, ca: conn.ca })
      : new http.Agent({ keepAlive: true });
    this.transport = new InfluxDB({
      url: conn.url,
      token: conn.token,
      timeout: conn.timeoutMs,
      transportOptions: { agent: this.agent },
    }).transport;
  }

  /** Redact this client's secrets from a text. */
  redact(text: string): string {
    return redact(text, this.conn.secrets);
  }

  /** Health check: GET /ping must answer 204. */
  ping(): Promise<void> {
    return this.request("GET", "/ping", "");
  }

  /** Write line protocol (lines joined by "\n") in one request; resolves only on 204. */
  write(body: string, target: WriteTarget): Promise<void> {
    const q =
      `/api/v2/write?org=${encodeURIComponent(target.org)}&bucket=${encodeURIComponent(target.bucket)}` +
      `&precision=${target.precision}`;
    return this.request("POST", q, body, target.gzipThreshold ?? DEFAULT_GZIP_THRESHOLD);
  }

  private async request(method: string, path: string, body: string, gzipThreshold?: number): Promise<void> {
    if (this.closed) throw new InfluxError("closed", "InfluxDB client closed", { retriable: true });
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.conn.timeoutMs);
    this.inflight.add(ac);
    let status: number | undefined;
    try {
      const headers: Record<string, string> = {
        "content-type": "text/plain; charset=utf-8",
        accept: "application/json",
      };
      let payload = Buffer.from(body, "utf8");
      if (gzipThreshold !== undefined && payload.length > gzipThreshold) {
        // Our own gzip at the fastest level: the client's gzipThreshold uses the default level 6,
        // about 3x slower for line protocol that compresses nearly as well at level 1.
        payload = await gzip(payload, { level: zlib.constants.Z_BEST_SPEED });
        headers["content-encoding"] = "gzip";
      }
      await new Promise<void>((resolve, reject) => {
        // send(): one request, no retry; HTTP >= 300 arrives in error() as HttpError. Its Node
        // transport takes the body through Buffer.from(), so a Buffer passes unchanged.
        this.transport.send(
          path,
          payload as unknown as string,
          { method, headers, signal: ac.signal },
          {
            responseStarted: (_h, statusCode) => {
              status = statusCode;
            },
            next: () => true,
            error: reject,
            complete: () => resolve(),
          },
        );
      });
    } catch (err) {
      throw classifyError(err, { url: this.conn.url, secrets: this.conn.secrets, timedOut, closed: this.closed });
    } finally {
      clearTimeout(timer);
      this.inflight.delete(ac);
    }
    if (status !== 204) {
      throw new InfluxError("unexpected-status", `InfluxDB answered HTTP ${String(status)} instead of 204`, {
        status,
      });
    }
  }

  /** Abort what is in flight and release the sockets. */
  close(): Promise<void> {
    this.closed = true;
    for (const ac of this.inflight) ac.abort();
    this.inflight.clear();
    this.agent.destroy();
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------- transport

export interface InfluxTransportOptions {
  /** Upper bound for honouring a server's Retry-After (default 60 s). */
  maxRetryAfterMs?: number;
}

/**
 * The BatchWriter's Transport: connect() is the health check, send() writes one batch in one request.
 * A Retry-After from the server holds the next request back (the error also carries it).
 * The client is shared and owned by the config node: close() does not close it.
 */
export class InfluxTransport implements Transport<InfluxItem> {
  private notBefore = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly maxRetryAfterMs: number;

  constructor(
    private readonly client: InfluxClient,
    readonly target: WriteTarget,
    opts: InfluxTransportOptions = {},
  ) {
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
  }

  /**
   * A 400 (a refused line: bad syntax, a field type conflict, a key too long; for 1.8 a partial
   * write) or a 413 comes from some lines of the batch: the writer splits the batch so that the
   * others are written (writing a line again is idempotent) and only the refused ones fail.
   */
  splittable(err: unknown): boolean {
    return err instanceof InfluxError && (err.code === "bad-request" || err.code === "too-large");
  }

  connect(): Promise<void> {
    return this.client.ping();
  }

  async send(batch: InfluxItem[]): Promise<void> {
    await this.holdOff();
    let body = "";
    for (let i = 0; i < batch.length; i++) body += i === 0 ? batch[i]!.line : `\n${batch[i]!.line}`;
    try {
      await this.client.write(body, this.target);
    } catch (err) {
      const e = classifyError(err, { secrets: this.client.conn.secrets });
      if (e.retryAfterMs !== undefined && e.retryAfterMs > 0) {
        this.notBefore = Date.now() + Math.min(e.retryAfterMs, this.maxRetryAfterMs);
      }
      throw e;
    }
  }

  private holdOff(): Promise<void> {
    const wait = this.notBefore - Date.now();
    if (wait <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, wait);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------- reachability

export type Reach = "connected" | "disconnected";

/**
 * Shared reachability of one server. Sinks report what they saw; while a sink reports the server
 * down, this probes it (GET /ping) with its own short backoff and announces when it is back, so
 * every sink can retry at once instead of waiting out its own (longer) backoff.
 */
export class Reachability {
  private state: Reach | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private probing = false;

  constructor(
    private readonly ping: () => Promise<void>,
    private readonly onChange: (state: Reach, detail?: string) => void,
    private readonly policy: RetryPolicy = { initialMs: 500, maxMs: 5000, multiplier: 2, factor: 0.2 },
  ) {}

  get current(): Reach | undefined {
    return this.state;
  }

  reportUp(): void {
    this.stopTimer();
    this.attempt = 0;
    this.set("connected");
  }

  reportDown(detail?: string): void {
    if (this.closed) return;
    this.set("disconnected", detail);
    if (!this.timer && !this.probing) this.schedule();
  }

  private set(s: Reach, detail?: string): void {
    if (this.closed) return;
    if (this.state === s) return;
    this.state = s;
    this.onChange(s, detail);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.probing = true;
        this.ping().then(
          () => {
            this.probing = false;
            this.reportUp();
          },
          () => {
            this.probing = false;
            if (this.state === "disconnected") this.schedule();
          },
        );
      },
      backoffDelay(this.attempt++, this.policy),
    );
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.closed = true;
    this.stopTimer();
  }
}

// ---------------------------------------------------------------- messages

export interface PreparedMessage {
  items: InfluxItem[];
  /** Rejections by the record parser and by the mapper, in payload order, with original indices. */
  rejected: RejectedRecord[];
  /** Records in the message (1 for a single record). */
  total: number;
}

/**
 * One message -> line protocol items + rejections. Never throws; a bad record never stops the others.
 * `opts.maxBatch` bounds a batch (a larger one is rejected whole as "too-large").
 */
export function prepareMessage(
  mapper: LineMapper,
  payload: unknown,
  topic: unknown,
  overrides: MessageOverrides = {},
  opts: ParseOptions = {},
): PreparedMessage {
  const parsed = parseRecords(payload, topic, opts);
  const total = Array.isArray(payload) ? payload.length : 1;
  if (parsed.records.length === 0) return { items: [], rejected: parsed.rejected, total };
  const mapped = mapper.map(parsed.records, overrides);
  if (mapped.rejected.length === 0) return { items: mapped.items, rejected: parsed.rejected, total };
  // Index in the payload of each parsed record: the positions the parser did not reject, in order.
  const origin: number[] = [];
  if (parsed.batch) {
    const bad = new Set(parsed.rejected.map((r) => r.index));
    for (let i = 0; i < total; i++) if (!bad.has(i)) origin.push(i);
  } else {
    origin.push(0);
  }
  const rejected = parsed.rejected.concat(
    mapped.rejected.map((r) => {
      const index = origin[r.index]!;
      return {
        index,
        code: r.code,
        reason: r.reason,
        input: parsed.batch ? (payload as unknown[])[index] : payload,
      };
    }),
  );
  rejected.sort((a, b) => a.index - b.index);
  return { items: mapped.items, rejected, total };
}

/** Check a precision setting. */
export function isPrecision(p: unknown): p is Precision {
  return typeof p === "string" && (PRECISIONS as readonly string[]).includes(p);
}
