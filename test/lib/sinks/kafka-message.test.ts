import assert from "node:assert/strict";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  MapOptions,
  checkTopicName,
  checkTopicTemplate,
  mapMessage,
  msgHeaders,
  parseStaticHeaders,
  renderTopic,
} from "../../../lib/sinks/kafka-message";

const base: MapOptions = { topicMode: "static", topic: "lg.records", keyMode: "source", valueMode: "record" };
const rec = (ts: number | string, values: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ts,
  values,
  ...extra,
});

describe("lib/sinks/kafka-message", () => {
  it("maps one record: value = JSON of the record, key = source, timestamp = ts, static headers only", () => {
    const m = mapMessage(
      {
        topic: "cnc-1",
        payload: rec("2024-01-02T03:04:05.678Z", { spindle: 1.5, ok: true }, { quality: { spindle: "good" } }),
      },
      { ...base, headers: { site: "p1" } },
    );
    assert.equal(m.rejected.length, 0);
    assert.equal(m.total, 1);
    assert.deepEqual(m.topics, ["lg.records"]);
    const it = m.items[0]!;
    assert.equal(it.topic, "lg.records");
    assert.equal(it.key?.toString(), "cnc-1");
    const ts = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    assert.deepEqual(JSON.parse(it.value.toString()), {
      source: "cnc-1",
      ts,
      values: { spindle: 1.5, ok: true },
      quality: { spindle: "good" },
    });
    assert.equal(it.timestamp, String(ts));
    assert.deepEqual(it.headers, { site: "p1" });
    assert.ok(it.bytes > it.value.length);
  });

  it("cuts fractional ms from the Kafka timestamp but keeps them in the value", () => {
    const m = mapMessage({ topic: "s", payload: rec(1700000000123.75, { a: 1 }) }, base);
    assert.equal(m.items[0]!.timestamp, "1700000000123");
    assert.equal(JSON.parse(m.items[0]!.value.toString()).ts, 1700000000123.75);
  });

  it("maps a batch, keeping each record's own source, and rejects bad records by index", () => {
    const m = mapMessage(
      {
        topic: "line-1",
        payload: [
          rec(1, { a: 1 }),
          rec(2, { a: NaN }),
          "nope",
          { values: { a: 1 } },
          rec(5, { a: Infinity }),
          rec(6, { b: 2 }, { source: "m2" }),
        ],
      },
      base,
    );
    assert.equal(m.total, 6);
    assert.deepEqual(
      m.items.map((i) => i.key?.toString()),
      ["line-1", "m2"],
    );
    assert.deepEqual(
      m.rejected.map((r) => [r.index, r.code]),
      [
        [1, "bad-value"],
        [2, "not-object"],
        [3, "bad-timestamp"],
        [4, "bad-value"],
      ],
    );
    assert.equal(m.rejected[1]!.input, "nope");
  });

  it("key modes: msg.key (string, number, Buffer), none, and a bad msg.key", () => {
    const p = { topic: "s", payload: rec(1, { a: 1 }) };
    assert.equal(mapMessage({ ...p, key: "k1" }, { ...base, keyMode: "msg" }).items[0]!.key?.toString(), "k1");
    assert.equal(mapMessage({ ...p, key: 42 }, { ...base, keyMode: "msg" }).items[0]!.key?.toString(), "42");
    assert.deepEqual(
      mapMessage({ ...p, key: Buffer.from([1, 2]) }, { ...base, keyMode: "msg" }).items[0]!.key,
      Buffer.from([1, 2]),
    );
    assert.equal(mapMessage(p, { ...base, keyMode: "msg" }).items[0]!.key, null);
    assert.equal(mapMessage({ ...p, key: "k1" }, { ...base, keyMode: "none" }).items[0]!.key, null);
    const bad = mapMessage({ ...p, key: { x: 1 } }, { ...base, keyMode: "msg" });
    assert.equal(bad.items.length, 0);
    assert.equal(bad.rejected[0]!.code, "bad-value");
  });

  it("topic from msg.topic, validated", () => {
    assert.equal(
      mapMessage({ topic: "t.x", payload: rec(1, { a: 1 }) }, { ...base, topicMode: "msg" }).items[0]!.topic,
      "t.x",
    );
    const bad = mapMessage({ topic: "has space", payload: rec(1, { a: 1 }) }, { ...base, topicMode: "msg" });
    assert.equal(bad.rejected[0]!.code, "bad-topic");
    assert.match(bad.rejected[0]!.reason, /may only hold/);
  });

  it("topic templates with {{source}} and {{msg.topic}}, per record", () => {
    const m = mapMessage(
      {
        topic: "line1",
        payload: [rec(1, { a: 1 }, { source: "m1" }), rec(2, { a: 1 }, { source: "m/2" }), rec(3, { a: 1 })],
      },
      { ...base, topicMode: "template", topic: "lg.{{ source }}.{{msg.topic}}" },
    );
    assert.deepEqual(
      m.items.map((i) => i.topic),
      ["lg.m1.line1", "lg.line1.line1"],
    );
    assert.deepEqual(m.topics, ["lg.m1.line1", "lg.line1.line1"]);
    assert.equal(m.rejected.length, 1);
    assert.equal(m.rejected[0]!.index, 1);
    assert.equal(m.rejected[0]!.code, "bad-topic");
    assert.equal(renderTopic("a.{{source}}", { source: "x", msgTopic: "" }), "a.x");
  });

  it("validates topic names and templates", () => {
    assert.equal(checkTopicName("lineguard.records_1-x"), undefined);
    assert.equal(checkTopicName("a".repeat(249)), undefined);
    assert.match(String(checkTopicName("a".repeat(250))), /249/);
    assert.match(String(checkTopicName("")), /empty/);
    assert.match(String(checkTopicName("..")), /not allowed/);
    assert.match(String(checkTopicName("a/b")), /may only hold/);
    assert.match(String(checkTopicName(5)), /empty/);
    assert.equal(checkTopicTemplate("lg.{{source}}"), undefined);
    assert.match(String(checkTopicTemplate("lg.{{payload}}")), /unknown placeholder/);
    assert.match(String(checkTopicTemplate("lg.{{source}")), /unbalanced/);
    assert.match(String(checkTopicTemplate("")), /empty/);
  });

  it("rejects a record whose message exceeds maxMessageBytes (too-large), sends the others", () => {
    const big = rec(1, { blob: "x".repeat(2000) });
    const m = mapMessage({ topic: "s", payload: [rec(1, { a: 1 }), big] }, { ...base, maxMessageBytes: 1000 });
    assert.equal(m.items.length, 1);
    assert.equal(m.rejected[0]!.code, "too-large");
    assert.match(m.rejected[0]!.reason, /exceeds maxMessageBytes \(1000\)/);
    assert.equal(DEFAULT_MAX_MESSAGE_BYTES, 1_000_000);
  });

  it("headers: msg.headers merged (numbers to strings), bad ones refuse every record", () => {
    const ok = mapMessage({ topic: "s", payload: rec(1, { a: 1 }), headers: { trace: "t1", n: 5, skip: null } }, base);
    assert.deepEqual(ok.items[0]!.headers, { trace: "t1", n: "5" });
    const bad = mapMessage(
      { topic: "s", payload: [rec(1, { a: 1 }), rec(2, { a: 2 })], headers: { x: { y: 1 } } },
      base,
    );
    assert.equal(bad.items.length, 0);
    assert.deepEqual(
      bad.rejected.map((r) => [r.index, r.code]),
      [
        [0, "bad-header"],
        [1, "bad-header"],
      ],
    );
    assert.deepEqual(msgHeaders("x"), { error: "msg.headers must be an object, got string" });
  });

  it("parses static headers from the config", () => {
    assert.deepEqual(parseStaticHeaders(""), {});
    assert.deepEqual(parseStaticHeaders(undefined), {});
    assert.deepEqual(parseStaticHeaders('{"a":"1"}'), { a: "1" });
    assert.throws(() => parseStaticHeaders("{nope"), /JSON object/);
    assert.throws(() => parseStaticHeaders("[1]"), /JSON object/);
    assert.throws(() => parseStaticHeaders('{"a":1}'), /must be a string/);
  });

  it("a topic the broker refused is rejected at accept time", () => {
    const m = mapMessage(
      { topic: "s", payload: rec(1, { a: 1 }) },
      { ...base, topicBlocked: (t) => (t === "lg.records" ? "topic not found" : undefined) },
    );
    assert.equal(m.rejected[0]!.code, "bad-topic");
    assert.equal(m.rejected[0]!.reason, "topic not found");
  });

  it("empty batch and non-object payloads are rejected, never thrown", () => {
    assert.equal(mapMessage({ topic: "s", payload: [] }, base).rejected[0]!.code, "empty-batch");
    assert.equal(mapMessage({ topic: "s", payload: 42 }, base).rejected[0]!.code, "not-object");
    assert.equal(mapMessage({ payload: rec(1, { a: 1 }) }, base).rejected[0]!.code, "no-source");
  });

  describe("raw mode", () => {
    const raw: MapOptions = { ...base, valueMode: "raw" };
    it("sends objects as JSON, strings as text, Buffers as bytes; key from msg.key", () => {
      const o = mapMessage({ topic: "s", payload: { any: [1, 2] }, key: "k" }, raw).items[0]!;
      assert.equal(o.value.toString(), '{"any":[1,2]}');
      assert.equal(o.headers["content-type"], "application/json");
      assert.equal(o.key?.toString(), "k");
      const s = mapMessage({ payload: "hello" }, raw).items[0]!;
      assert.equal(s.value.toString(), "hello");
      assert.equal(s.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(s.key, null);
      const b = mapMessage({ payload: Buffer.from([0, 255]) }, { ...raw, headers: { "Content-Type": "image/png" } })
        .items[0]!;
      assert.deepEqual(b.value, Buffer.from([0, 255]));
      assert.deepEqual(b.headers, { "Content-Type": "image/png" });
      assert.equal(mapMessage({ payload: 5, key: "k" }, { ...raw, keyMode: "none" }).items[0]!.key, null);
    });

    it("rejects empty, unencodable, oversized payloads and bad topics", () => {
      assert.equal(mapMessage({ payload: undefined }, raw).rejected[0]!.code, "no-payload");
      const circ: Record<string, unknown> = {};
      circ.self = circ;
      assert.equal(mapMessage({ payload: circ }, raw).rejected[0]!.code, "bad-value");
      assert.equal(mapMessage({ payload: 10n }, raw).rejected[0]!.code, "bad-value");
      assert.equal(
        mapMessage({ payload: "x".repeat(500) }, { ...raw, maxMessageBytes: 200 }).rejected[0]!.code,
        "too-large",
      );
      assert.equal(
        mapMessage({ topic: "a b", payload: "x" }, { ...raw, topicMode: "msg" }).rejected[0]!.code,
        "bad-topic",
      );
      assert.equal(mapMessage({ payload: "x", headers: [] }, raw).rejected[0]!.code, "bad-header");
    });
  });
});
