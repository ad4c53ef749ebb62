import assert from "node:assert/strict";
import type { KafkaItem } from "../../../lib/sinks/kafka-message";
import type { InfluxItem } from "../../../lib/sinks/line-protocol";
import { jsonSerializer } from "../../../lib/sinks/spool";
import { influxItemSerializer, kafkaItemSerializer } from "../../../lib/sinks/spool-serializers";

const roundTrip = <T>(s: { encode(i: T): Buffer | string; decode(b: Buffer): T }, item: T): T => {
  const enc = s.encode(item);
  // the spool hands decode() its own copy of the payload
  return s.decode(Buffer.from(typeof enc === "string" ? Buffer.from(enc) : enc));
};

describe("lib/sinks/spool-serializers", () => {
  const kafka = kafkaItemSerializer();

  it("round-trips Kafka items: keys, null keys, empty values, non-ASCII, string and Buffer headers", () => {
    const items: KafkaItem[] = [
      {
        topic: "lineguard.cnc",
        key: Buffer.from("cnc-01"),
        value: Buffer.from('{"ts":1,"values":{"a":1}}'),
        headers: { "content-type": "application/json", bin: Buffer.from([0, 255, 7]) },
        timestamp: "1700000000123",
        bytes: 42,
      },
      { topic: "t", key: null, value: Buffer.alloc(0), headers: {}, timestamp: "0", bytes: 0 },
      {
        topic: "glas-Ω",
        key: Buffer.from("Größe"),
        value: Buffer.from("€"),
        headers: { ü: "ß" },
        timestamp: "1",
        bytes: 5,
      },
    ];
    for (const it of items) {
      const back = roundTrip(kafka, it);
      assert.equal(back.topic, it.topic);
      assert.equal(back.timestamp, it.timestamp);
      assert.equal(back.bytes, it.bytes);
      assert.deepEqual(back.key === null ? null : Buffer.from(back.key), it.key);
      assert.deepEqual(Buffer.from(back.value), it.value);
      assert.deepEqual(
        Object.fromEntries(Object.entries(back.headers).map(([k, v]) => [k, Buffer.isBuffer(v) ? Buffer.from(v) : v])),
        it.headers,
      );
    }
  });

  it("still reads items a JSON spool wrote", () => {
    const it: KafkaItem = {
      topic: "t",
      key: Buffer.from("k"),
      value: Buffer.from("v"),
      headers: {},
      timestamp: "5",
      bytes: 2,
    };
    const enc = jsonSerializer<KafkaItem>().encode(it);
    const back = kafka.decode(Buffer.from(enc));
    assert.deepEqual(Buffer.from(back.key!), it.key);
    assert.equal(back.timestamp, "5");
    const line: InfluxItem = { line: "m,source=a v=1 1", bytes: 16 };
    assert.deepEqual(influxItemSerializer().decode(Buffer.from(jsonSerializer<InfluxItem>().encode(line))), line);
  });

  it("round-trips InfluxDB lines", () => {
    for (const line of ["m v=1 1", 'glass,zone=über temp=1500.5,note="a \\"q\\"" 1700000000000', ""]) {
      const it: InfluxItem = { line, bytes: Buffer.byteLength(line) };
      assert.deepEqual(roundTrip(influxItemSerializer(), it), it);
    }
  });
});
