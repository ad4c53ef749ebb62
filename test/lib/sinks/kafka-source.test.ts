import assert from "node:assert/strict";
import { decodeMessage, headersToStrings, parseTopicList } from "../../../lib/sinks/kafka-source";

const m = (value: string | Buffer | null, key: string | null = "cnc-1", headers = {}) => ({
  key: key === null ? null : Buffer.from(key),
  value: typeof value === "string" ? Buffer.from(value) : value,
  timestamp: "1700000000123",
  offset: "42",
  headers,
});

describe("lib/sinks/kafka-source", () => {
  it("json: msg.topic = key, payload parsed, kafka meta with string headers and numeric timestamp", () => {
    const d = decodeMessage("lg.records", 2, m('{"ts":1,"values":{"a":1}}', "cnc-1", { h: Buffer.from("v") }), "json");
    assert.ok(d.ok);
    assert.equal(d.topic, "cnc-1");
    assert.deepEqual(d.payload, { ts: 1, values: { a: 1 } });
    assert.deepEqual(d.kafka, {
      topic: "lg.records",
      partition: 2,
      offset: "42",
      key: "cnc-1",
      headers: { h: "v" },
      timestamp: 1700000000123,
    });
  });

  it("without a key msg.topic is the Kafka topic", () => {
    const d = decodeMessage("lg.records", 0, m("1", null), "json");
    assert.equal(d.topic, "lg.records");
    assert.equal(d.kafka.key, null);
    assert.equal(decodeMessage("t", 0, m("1", ""), "json").topic, "t");
  });

  it("string and buffer modes; a tombstone gives null", () => {
    assert.equal(decodeMessage("t", 0, m("héllo"), "string").payload, "héllo");
    assert.deepEqual(decodeMessage("t", 0, m(Buffer.from([1, 2])), "buffer").payload, Buffer.from([1, 2]));
    assert.equal(decodeMessage("t", 0, m(null), "json").payload, null);
    assert.equal(decodeMessage("t", 0, m(null), "string").payload, null);
  });

  it("invalid JSON is a decode error with the raw text and a reason", () => {
    const d = decodeMessage("t", 1, m("{not json"), "json");
    assert.equal(d.ok, false);
    if (d.ok) return;
    assert.equal(d.payload, "{not json");
    assert.match(d.error, /not valid JSON/);
    assert.equal(d.kafka.offset, "42");
  });

  it("headers: arrays kept as arrays of strings, undefined dropped", () => {
    assert.deepEqual(headersToStrings({ a: [Buffer.from("1"), "2"], b: undefined, c: "x" }), { a: ["1", "2"], c: "x" });
    assert.deepEqual(headersToStrings(undefined), {});
  });

  it("parses topic lists", () => {
    assert.deepEqual(parseTopicList("a, b c,a"), ["a", "b", "c"]);
    assert.throws(() => parseTopicList(""), /no topics/);
    assert.throws(() => parseTopicList("ok, bad/topic"), /may only hold/);
  });
});
