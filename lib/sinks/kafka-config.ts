/**
 * Broker settings (what a kafka-broker config node holds) -> kafkajs `KafkaConfig`, plus the quiet
 * kafkajs logging that LineGuard routes to the node's log. No Node-RED import: unit-tested directly.
 *
 * Retry ownership: kafkajs retries only briefly (a couple of attempts within ~1 s) so that a failure
 * reaches the BatchWriter quickly; the writer owns the long retry/backoff (lib/retry.ts).
 */
import type { KafkaConfig, LogEntry, RetryOptions, SASLOptions, logCreator } from "kafkajs";
import type { ConnectionOptions } from "node:tls";
import { LineGuardError } from "../errors";
import { redact } from "../redact";

export type SaslMechanismName = "none" | "plain" | "scram-sha-256" | "scram-sha-512";
export const SASL_MECHANISMS: readonly SaslMechanismName[] = ["none", "plain", "scram-sha-256", "scram-sha-512"];

/** Non-secret broker settings (values may be strings, as the editor stores them). */
export interface BrokerSettings {
  brokers: string;
  clientId?: string;
  connectionTimeout?: number | string;
  requestTimeout?: number | string;
  tls?: boolean | string;
  tlsRejectUnauthorized?: boolean | string;
  saslMechanism?: string;
  allowAutoTopicCreation?: boolean | string;
}

/** Secret settings: only ever from Node-RED credentials. */
export interface BrokerSecrets {
  username?: string;
  password?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsPassphrase?: string;
}

/** kafkajs retry for its own, short, internal retries (the writer retries for good). */
export const KAFKAJS_RETRY: RetryOptions = { retries: 2, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2 };

export const DEFAULT_CONNECTION_TIMEOUT = 3000;
export const DEFAULT_REQUEST_TIMEOUT = 30000;
export const DEFAULT_CLIENT_ID = "lineguard";

function badConfig(message: string): LineGuardError {
  return new LineGuardError("bad-config", message, { retriable: false });
}

/** A boolean from a checkbox value that may arrive as a string. */
export function toBool(v: unknown, dflt: boolean): boolean {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return dflt;
}

/** An integer setting: empty -> default; otherwise it must be a whole number within [min, max]. */
export function toInt(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === null || (typeof v === "string" && v.trim() === "")) return dflt;
  const n = typeof v === "string" ? Number(v.trim()) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw badConfig(`${name} must be a whole number from ${min} to ${max}, got "${String(v)}"`);
  }
  return n;
}

const HOST_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;

/** Validate one "host:port" (IPv6 as "[::1]:9092"); returns the reason when it is not valid. */
export function checkBroker(b: string): string | undefined {
  let host: string;
  let port: string;
  if (b.startsWith("[")) {
    const end = b.indexOf("]");
    if (end < 0 || b[end + 1] !== ":") return `"${b}" is not host:port (IPv6 as [addr]:port)`;
    host = b.slice(1, end);
    port = b.slice(end + 2);
    if (!IPV6_RE.test(host) || !host.includes(":")) return `"${b}" has an invalid IPv6 address`;
  } else {
    const i = b.lastIndexOf(":");
    if (i <= 0) return `"${b}" is not host:port`;
    host = b.slice(0, i);
    port = b.slice(i + 1);
    if (!HOST_RE.test(host)) return `"${b}" has an invalid host name`;
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return `"${b}" has an invalid port (1-65535)`;
  }
  return undefined;
}

/** Parse a comma/space separated broker list ("a:9092, b:9092"). Throws a bad-config error. */
export function parseBrokers(text: unknown): string[] {
  if (typeof text !== "string" || text.trim() === "") throw badConfig("no brokers: set host:port, e.g. 127.0.0.1:9092");
  const list = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const out: string[] = [];
  for (const b of list) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(b)) throw badConfig(`"${b}": give host:port without a scheme`);
    const reason = checkBroker(b);
    if (reason) throw badConfig(`bad broker ${reason}`);
    if (!out.includes(b)) out.push(b);
  }
  if (out.length === 0) throw badConfig("no brokers: set host:port, e.g. 127.0.0.1:9092");
  return out;
}

function pem(v: string | undefined, name: string): string | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  if (!v.includes("-----BEGIN ")) throw badConfig(`${name} must be PEM text (-----BEGIN ...)`);
  return v;
}

/** The TLS part of the kafkajs config, or undefined when TLS is off. */
export function tlsOptions(settings: BrokerSettings, secrets: BrokerSecrets): ConnectionOptions | undefined {
  if (!toBool(settings.tls, false)) return undefined;
  const opts: ConnectionOptions = { rejectUnauthorized: toBool(settings.tlsRejectUnauthorized, true) };
  const ca = pem(secrets.tlsCa, "CA certificate");
  const cert = pem(secrets.tlsCert, "client certificate");
  const key = pem(secrets.tlsKey, "client key");
  if ((cert === undefined) !== (key === undefined)) {
    throw badConfig("a client certificate needs its key (and the key its certificate)");
  }
  if (ca) opts.ca = [ca];
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  if (secrets.tlsPassphrase) opts.passphrase = secrets.tlsPassphrase;
  return opts;
}

/** The SASL part of the kafkajs config, or undefined for "none". */
export function saslOptions(settings: BrokerSettings, secrets: BrokerSecrets): SASLOptions | undefined {
  const m = (settings.saslMechanism ?? "none").trim().toLowerCase() || "none";
  if (!(SASL_MECHANISMS as readonly string[]).includes(m)) {
    throw badConfig(`SASL mechanism must be one of ${SASL_MECHANISMS.join(", ")}, got "${settings.saslMechanism}"`);
  }
  if (m === "none") return undefined;
  const username = secrets.username ?? "";
  const password = secrets.password ?? "";
  if (username === "" || password === "") throw badConfig(`SASL ${m} needs a username and a password`);
  return { mechanism: m as Exclude<SaslMechanismName, "none">, username, password };
}

export type KafkaLogLevel = "error" | "warn" | "info" | "debug";
export type KafkaLogSink = (level: KafkaLogLevel, text: string) => void;

export interface LogOptions {
  /** Values to redact from every log text (passwords, keys). */
  secrets?: () => readonly (string | undefined)[];
  /** The same text is logged at most once per this many ms (default 30 s). */
  repeatMs?: number;
  /** At most this many lines per repeatMs window (default 20); the rest are counted and summarised. */
  maxPerWindow?: number;
  now?: () => number;
}

/** kafkajs numeric levels (logLevel enum: ERROR 1, WARN 2, INFO 4, DEBUG 5). */
function levelName(level: number): KafkaLogLevel {
  if (level <= 1) return "error";
  if (level === 2) return "warn";
  if (level === 4) return "info";
  return "debug";
}

/** A few fields of a kafkajs log entry worth quoting; never the whole entry (it may hold config). */
// Not retryCount/retryTime: they change on every retry and would defeat the de-duplication.
const QUOTED_FIELDS = ["broker", "topic", "groupId", "error"] as const;

export function formatLogEntry(entry: Pick<LogEntry, "namespace" | "log">): string {
  const parts = [`kafkajs${entry.namespace ? ` [${entry.namespace}]` : ""}: ${String(entry.log.message ?? "")}`];
  const extra: string[] = [];
  for (const f of QUOTED_FIELDS) {
    const v = (entry.log as Record<string, unknown>)[f];
    if (v !== undefined && v !== null && (typeof v === "string" || typeof v === "number")) extra.push(`${f}=${v}`);
  }
  if (extra.length) parts.push(`(${extra.join(", ")})`);
  return parts.join(" ");
}

/**
 * A kafkajs logCreator that routes entries to `sink`, redacted and de-duplicated (the same text at
 * most once per repeatMs: a broker outage makes kafkajs repeat itself many times a second).
 */
export function kafkaLogCreator(sink: KafkaLogSink, opts: LogOptions = {}): logCreator {
  const repeatMs = opts.repeatMs ?? 30_000;
  const maxPerWindow = opts.maxPerWindow ?? 20;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, number>();
  let windowStart = -Infinity;
  let inWindow = 0;
  let suppressed = 0;
  return () => (entry: LogEntry) => {
    try {
      const text = redact(
        formatLogEntry(entry),
        (opts.secrets?.() ?? []).filter((s): s is string => !!s),
      );
      const t = now();
      const last = seen.get(text);
      if (last !== undefined && t - last < repeatMs) return;
      if (t - windowStart >= repeatMs) {
        if (suppressed > 0) sink("warn", `kafkajs: ${suppressed} more log line(s) suppressed`);
        windowStart = t;
        inWindow = 0;
        suppressed = 0;
      }
      if (inWindow >= maxPerWindow) {
        suppressed++;
        return;
      }
      inWindow++;
      if (seen.size > 200) seen.clear();
      seen.set(text, t);
      sink(levelName(entry.level), text);
    } catch {
      // logging must never break the client
    }
  };
}

export interface BuildOptions {
  log?: KafkaLogSink;
  /** kafkajs log level (numeric, kafkajs logLevel); default INFO (4). */
  logLevel?: number;
  retry?: RetryOptions;
}

/** Validated broker settings -> kafkajs KafkaConfig. Throws LineGuardError("bad-config"). */
export function buildKafkaConfig(
  settings: BrokerSettings,
  secrets: BrokerSecrets,
  opts: BuildOptions = {},
): KafkaConfig {
  const clientId = (settings.clientId ?? "").trim() || DEFAULT_CLIENT_ID;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(clientId)) {
    throw badConfig(`client id "${clientId}" may only hold letters, digits, ".", "_" and "-"`);
  }
  const cfg: KafkaConfig = {
    clientId,
    brokers: parseBrokers(settings.brokers),
    connectionTimeout: toInt(
      settings.connectionTimeout,
      "connection timeout",
      DEFAULT_CONNECTION_TIMEOUT,
      100,
      300_000,
    ),
    requestTimeout: toInt(settings.requestTimeout, "request timeout", DEFAULT_REQUEST_TIMEOUT, 1000, 600_000),
    retry: opts.retry ?? KAFKAJS_RETRY,
    logLevel: (opts.logLevel ?? 4) as KafkaConfig["logLevel"],
  };
  const ssl = tlsOptions(settings, secrets);
  if (ssl) cfg.ssl = ssl;
  const sasl = saslOptions(settings, secrets);
  if (sasl) cfg.sasl = sasl;
  if (opts.log) {
    cfg.logCreator = kafkaLogCreator(opts.log, { secrets: () => brokerSecrets(secrets) });
  } else {
    cfg.logCreator = () => () => undefined;
  }
  return cfg;
}

/** The values to redact from any text a broker node shows or logs. */
export function brokerSecrets(secrets: BrokerSecrets): string[] {
  return [secrets.password, secrets.tlsPassphrase, secrets.tlsKey].filter((s): s is string => !!s && s.length > 0);
}
