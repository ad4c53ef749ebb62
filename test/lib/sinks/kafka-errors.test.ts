/**
 * Error classification against kafkajs's own error classes, protocol error table and retrier (so
 * the wrapping is exactly what a real producer produces).
 */
import assert from "node:assert/strict";
import { LineGuardError } from "../../../lib/errors";
import { causeChain, classifyKafkaError, isTopicError } from "../../../lib/sinks/kafka-errors";

/* eslint-disable @typescript-eslint/no-require-imports */
// kafkajs's classes, untyped: its .d.ts lacks some of them and most constructor parameters.
const {
  KafkaJSBrokerNotFound,
  KafkaJSConnectionClosedError,
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  KafkaJSTopicMetadataNotLoaded,
} = require("kafkajs") as Record<string, any>;
const { createErrorFromCode } = require("kafkajs/src/protocol/error") as { createErrorFromCode: (c: number) => Error };
const createRetry = require("kafkajs/src/retry") as (
  o: object,
) => (fn: (bail: (e: Error) => void) => Promise<unknown>) => Promise<unknown>;
/* eslint-enable @typescript-eslint/no-require-imports */

/** What kafkajs's retrier rejects with after `fn` kept throwing `err`. */
async function throughRetrier(err: Error, retries = 1): Promise<unknown> {
  const retry = createRetry({ retries, initialRetryTime: 1, maxRetryTime: 2 });
  try {
    await retry(async () => {
      throw err;
    });
  } catch (e) {
    return e;
  }
  throw new Error("retrier did not reject");
}

function check(err: unknown, code: string, retriable: boolean, opts = {}): LineGuardError {
  const c = classifyKafkaError(err, opts);
  assert.ok(c instanceof LineGuardError);
  assert.equal(c.code, code, `${c.code}: ${c.message}`);
  assert.equal(c.retriable, retriable, `${c.code}: ${c.message}`);
  assert.equal(c.cause, err);
  return c;
}

const UNKNOWN_TOPIC = 3;
const LEADER_NOT_AVAILABLE = 5;
const NOT_LEADER = 6;
const MESSAGE_TOO_LARGE = 10;
const INVALID_TOPIC = 17;
const RECORD_LIST_TOO_LARGE = 18;
const TOPIC_AUTHORIZATION_FAILED = 29;
const SASL_AUTHENTICATION_FAILED = 58;
const NOT_ENOUGH_REPLICAS = 19;
const INVALID_RECORD = 87;

describe("lib/sinks/kafka-errors", () => {
  it("connection errors, closed connections and request timeouts are retriable", () => {
    const c = check(
      new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:1", { broker: "127.0.0.1:1" }),
      "connection",
      true,
    );
    assert.match(c.message, /^Kafka: Connection error: connect ECONNREFUSED/);
    check(new KafkaJSConnectionClosedError("Closed connection", { host: "h", port: 1 }), "connection", true);
    check(new KafkaJSRequestTimeoutError("Request Produce(key: 0, version: 7) timed out"), "timeout", true);
    check(new KafkaJSBrokerNotFound("Broker 1 not found"), "broker-not-available", true);
    check(new KafkaJSTopicMetadataNotLoaded("Topic metadata not loaded", { topic: "t" }), "metadata", true);
    const sys = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    check(sys, "connection", true);
  });

  it("leader changes are retriable (kafkajs protocol errors)", () => {
    check(createErrorFromCode(NOT_LEADER), "not-leader", true);
    check(createErrorFromCode(LEADER_NOT_AVAILABLE), "leader-not-available", true);
    check(createErrorFromCode(NOT_ENOUGH_REPLICAS), "leader-not-available", true);
  });

  it("KafkaJSNumberOfRetriesExceeded wrapping a retriable cause is retriable (real retrier)", async () => {
    const wrapped = await throughRetrier(new KafkaJSConnectionError("Connection error: connect ECONNREFUSED"));
    assert.ok(wrapped instanceof KafkaJSNumberOfRetriesExceeded);
    assert.equal((wrapped as { retriable: boolean }).retriable, false, "kafkajs marks the wrapper non-retriable");
    check(wrapped, "connection", true);
    const direct = new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(NOT_LEADER), {
      retryCount: 2,
      retryTime: 10,
    });
    check(direct, "not-leader", true);
  });

  it("nested wrappers (NonRetriable(NumberOfRetriesExceeded(ConnectionError))) stay retriable", async () => {
    const inner = await throughRetrier(new KafkaJSConnectionError("Connection error: ECONNREFUSED"));
    // a producer send whose cluster reconnect gave up: the outer retrier wraps the non-retriable wrapper
    const outer = await throughRetrier(inner as Error);
    assert.ok(outer instanceof KafkaJSNonRetriableError);
    assert.ok(causeChain(outer).length >= 2);
    check(outer, "connection", true);
  });

  it("a disconnected producer is retriable; a disconnecting one is not", () => {
    check(new KafkaJSError("The producer is disconnected"), "disconnected", true);
    check(
      new KafkaJSNonRetriableError("The producer is disconnecting; therefore, it can't safely accept messages anymore"),
      "closing",
      false,
    );
  });

  it("authentication failures are not retriable", async () => {
    const sasl = new KafkaJSSASLAuthenticationError(
      "SASL SCRAM SHA256 authentication failed: Invalid username or password",
    );
    const c = check(sasl, "auth-failed", false);
    assert.match(c.message, /^Kafka.*authentication failed: Invalid username or password/);
    // as brokerPool.connect bails it out of the retrier, and as a protocol error code
    check(await throughRetrier(sasl), "auth-failed", false);
    check(createErrorFromCode(SASL_AUTHENTICATION_FAILED), "auth-failed", false);
  });

  it("message too large, invalid topic and topic authorization are not retriable", async () => {
    check(createErrorFromCode(MESSAGE_TOO_LARGE), "too-large", false);
    check(createErrorFromCode(RECORD_LIST_TOO_LARGE), "too-large", false);
    const inv = check(createErrorFromCode(INVALID_TOPIC), "invalid-topic", false, { topics: ["a b"] });
    assert.match(inv.message, /invalid topic "a b"/);
    check(createErrorFromCode(TOPIC_AUTHORIZATION_FAILED), "not-authorized", false);
    // as the producer's retrier rejects them (non-retriable -> wrapped into KafkaJSNonRetriableError)
    check(await throughRetrier(createErrorFromCode(MESSAGE_TOO_LARGE)), "too-large", false);
    check(createErrorFromCode(INVALID_RECORD), "protocol", false);
  });

  it("unknown topic: retriable while topics may be auto-created, final when not", async () => {
    const wrapped = await throughRetrier(createErrorFromCode(UNKNOWN_TOPIC), 2);
    assert.ok(wrapped instanceof KafkaJSNumberOfRetriesExceeded);
    check(wrapped, "unknown-topic", true);
    check(wrapped, "unknown-topic", true, { allowAutoTopicCreation: true });
    const c = check(wrapped, "unknown-topic", false, { allowAutoTopicCreation: false, topics: ["lg.missing"] });
    assert.match(c.message, /topic "lg.missing" not found and the broker configuration does not allow creating topics/);
    assert.ok(isTopicError(c));
    assert.ok(!isTopicError(check(wrapped, "unknown-topic", true)));
  });

  it("anything else: a kafkajs error keeps its flag, a programming error is final", () => {
    check(new KafkaJSError("something transient"), "kafka", true);
    check(new KafkaJSNonRetriableError("something final"), "kafka", false);
    check(new TypeError("x is not a function"), "error", false);
    check("a string", "error", false);
    check(undefined, "error", false);
    const lg = new LineGuardError("x", "already classified", { retriable: true });
    assert.equal(classifyKafkaError(lg), lg);
  });

  it("cause chains are bounded and cycle-safe", () => {
    const a: { name: string; message: string; cause?: unknown } = { name: "KafkaJSError", message: "a" };
    const b = { name: "KafkaJSError", message: "b", cause: a };
    a.cause = b;
    assert.equal(causeChain(a).length, 2);
    assert.doesNotThrow(() => classifyKafkaError(a));
  });
});
