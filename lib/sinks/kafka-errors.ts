/**
 * kafkajs errors -> LineGuardError(code, message, { retriable }).
 *
 * How kafkajs 2.2.4 reports failures (src/errors.js, src/retry/index.js):
 * - Every KafkaJSError carries `retriable`; KafkaJSNonRetriableError (and its subclasses such as
 *   KafkaJSNumberOfRetriesExceeded and KafkaJSSASLAuthenticationError) has retriable = false.
 * - When kafkajs's own retrier gives up it rejects with KafkaJSNumberOfRetriesExceeded whose `cause`
 *   is the last error; a non-retriable error thrown inside a retrier is wrapped into a
 *   KafkaJSNonRetriableError whose `cause` is the original (`e.cause || e`). Wrappers nest (a
 *   producer send that reconnects the cluster can yield NonRetriable(NumberOfRetriesExceeded(
 *   ConnectionError))), so the decision is taken on the whole cause chain, not on the outer flag.
 * - Broker answers are KafkaJSProtocolError with `type` (e.g. NOT_LEADER_FOR_PARTITION) and the
 *   protocol's own `retriable` flag.
 *
 * Our rule: the writer retries for good what will heal by waiting (broker down, leader election,
 * timeouts, disconnected producer) and fails at once what will not (authentication, too large,
 * invalid or forbidden topic, unknown topic when the producer may not create topics).
 */
import { LineGuardError, errorMessage } from "../errors";

export interface ClassifyOptions {
  /** The producer may create topics (kafkajs allowAutoTopicCreation); default true. */
  allowAutoTopicCreation?: boolean;
  /** Topics of the failed request, quoted in the message. */
  topics?: readonly string[];
}

export type KafkaErrorCode =
  | "auth-failed"
  | "connection"
  | "timeout"
  | "not-leader"
  | "leader-not-available"
  | "broker-not-available"
  | "metadata"
  | "disconnected"
  | "closing"
  | "too-large"
  | "invalid-topic"
  | "not-authorized"
  | "unknown-topic"
  | "protocol"
  | "kafka"
  | "error";

interface ErrLike {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error and its causes, outermost first (bounded, cycle-safe). */
export function causeChain(err: unknown): ErrLike[] {
  const out: ErrLike[] = [];
  let cur: unknown = err;
  while (cur && typeof cur === "object" && out.length < 12 && !out.includes(cur as ErrLike)) {
    const e = cur as ErrLike;
    out.push(e);
    if (e.cause !== undefined && e.cause !== e) cur = e.cause;
    else if (Array.isArray(e.errors) && e.errors.length > 0) cur = e.errors[0];
    else break;
  }
  return out;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
]);

const NON_RETRIABLE_TYPES: Record<string, { code: KafkaErrorCode; text: string }> = {
  SASL_AUTHENTICATION_FAILED: { code: "auth-failed", text: "authentication failed" },
  ILLEGAL_SASL_STATE: { code: "auth-failed", text: "authentication failed" },
  UNSUPPORTED_SASL_MECHANISM: { code: "auth-failed", text: "authentication failed" },
  MESSAGE_TOO_LARGE: { code: "too-large", text: "message too large for the broker" },
  RECORD_LIST_TOO_LARGE: { code: "too-large", text: "batch too large for the broker" },
  INVALID_TOPIC_EXCEPTION: { code: "invalid-topic", text: "invalid topic" },
  TOPIC_AUTHORIZATION_FAILED: { code: "not-authorized", text: "not authorized for the topic" },
  CLUSTER_AUTHORIZATION_FAILED: { code: "not-authorized", text: "not authorized for the cluster" },
};

const RETRIABLE_TYPES: Record<string, KafkaErrorCode> = {
  NOT_LEADER_FOR_PARTITION: "not-leader",
  LEADER_NOT_AVAILABLE: "leader-not-available",
  PREFERRED_LEADER_NOT_AVAILABLE: "leader-not-available",
  BROKER_NOT_AVAILABLE: "broker-not-available",
  REQUEST_TIMED_OUT: "timeout",
  NETWORK_EXCEPTION: "connection",
  NOT_ENOUGH_REPLICAS: "leader-not-available",
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: "leader-not-available",
};

const RETRIABLE_NAMES: Record<string, KafkaErrorCode> = {
  KafkaJSConnectionError: "connection",
  KafkaJSConnectionClosedError: "connection",
  KafkaJSRequestTimeoutError: "timeout",
  KafkaJSTimeout: "timeout",
  KafkaJSLockTimeout: "timeout",
  KafkaJSBrokerNotFound: "broker-not-available",
  KafkaJSNoBrokerAvailableError: "broker-not-available",
  KafkaJSMetadataNotLoaded: "metadata",
  KafkaJSTopicMetadataNotLoaded: "metadata",
  KafkaJSStaleTopicMetadataAssignment: "metadata",
  KafkaJSGroupCoordinatorNotFound: "broker-not-available",
};

/** Wrappers whose own flag says nothing about the failure: the cause decides. */
const WRAPPERS = new Set(["KafkaJSNumberOfRetriesExceeded", "KafkaJSNonRetriableError", "KafkaJSError"]);

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function make(code: KafkaErrorCode, text: string, detail: string, retriable: boolean, cause: unknown): LineGuardError {
  let message = `Kafka ${text}`;
  if (detail && detail.toLowerCase().includes(text.toLowerCase())) message = `Kafka: ${detail}`;
  else if (detail) message = `Kafka ${text}: ${detail}`;
  return new LineGuardError(code, message, { retriable, cause });
}

function topicList(opts: ClassifyOptions): string {
  const t = opts.topics ?? [];
  if (t.length === 0) return "";
  return t.length === 1 ? ` "${t[0]}"` : `s ${t.map((x) => `"${x}"`).join(", ")}`;
}

/** Classify any error a kafkajs producer/consumer/admin call threw. Never throws. */
export function classifyKafkaError(err: unknown, opts: ClassifyOptions = {}): LineGuardError {
  if (err instanceof LineGuardError) return err;
  const chain = causeChain(err);
  const root = chain[chain.length - 1];
  const detail = root ? str(root.message) || errorMessage(err) : errorMessage(err);

  // 1. Decisive failures anywhere in the chain: waiting will not help.
  for (const e of chain) {
    const name = str(e.name);
    const type = str(e.type);
    if (name === "KafkaJSSASLAuthenticationError")
      return make("auth-failed", "authentication failed", str(e.message), false, err);
    const nr = NON_RETRIABLE_TYPES[type];
    if (nr) {
      const text =
        nr.code === "invalid-topic" || nr.code === "not-authorized" ? `${nr.text}${topicList(opts)}` : nr.text;
      return make(nr.code, text, str(e.message), false, err);
    }
    if (type === "UNKNOWN_TOPIC_OR_PARTITION") {
      if (opts.allowAutoTopicCreation === false) {
        const t = topicList(opts);
        return make(
          "unknown-topic",
          `topic${t || "s"} not found and the broker configuration does not allow creating topics`,
          "",
          false,
          err,
        );
      }
      return make("unknown-topic", `topic${topicList(opts)} not available yet`, str(e.message), true, err);
    }
  }

  // 2. The innermost error that says something decides.
  for (let i = chain.length - 1; i >= 0; i--) {
    const e = chain[i]!;
    const name = str(e.name);
    const type = str(e.type);
    const msg = str(e.message);
    if (RETRIABLE_TYPES[type])
      return make(RETRIABLE_TYPES[type], type.toLowerCase().replace(/_/g, " "), msg, true, err);
    if (RETRIABLE_NAMES[name]) {
      const code = RETRIABLE_NAMES[name];
      const text =
        code === "connection" ? "connection error" : code === "timeout" ? "timeout" : code.replace(/-/g, " ");
      return make(code, text, msg, true, err);
    }
    if (typeof e.code === "string" && NETWORK_CODES.has(e.code))
      return make("connection", "connection error", msg, true, err);
    if (/producer is disconnected/i.test(msg)) return make("disconnected", "producer disconnected", "", true, err);
    if (/producer is disconnecting/i.test(msg)) return make("closing", "producer is closing", "", false, err);
    if (name === "KafkaJSProtocolError" || (type !== "" && typeof e.retriable === "boolean")) {
      return make("protocol", `broker error ${type || "(unknown)"}`, msg, e.retriable === true, err);
    }
    if (name.startsWith("KafkaJS") && !WRAPPERS.has(name)) {
      return make("kafka", "error", msg, e.retriable === true, err);
    }
  }

  // 3. Only wrappers (or plain errors): a kafkajs error's own flag, else not retriable.
  const first = chain.find((e) => str(e.name).startsWith("KafkaJS"));
  if (first && typeof root?.retriable === "boolean") return make("kafka", "error", detail, root.retriable, err);
  if (first) return make("kafka", "error", detail, first.retriable === true, err);
  return make("error", "error", detail, false, err);
}

/** Topic-level failures: the topic, not the connection, is the problem. */
export function isTopicError(err: LineGuardError): boolean {
  return (
    !err.retriable && (err.code === "unknown-topic" || err.code === "invalid-topic" || err.code === "not-authorized")
  );
}
