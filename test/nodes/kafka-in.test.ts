import assert from "node:assert/strict";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaIn from "../../nodes/kafka-in/kafka-in";
import { KAFKA_IN_DEFAULTS, kafkaInConfig, kafkaInSettings } from "../../nodes/kafka-in/config";
import type { KafkaInConfig } from "../../nodes/kafka-in/types";
import { helper, useHelper } from "../support/helper";
import { eventually, uniqueName } from "../support/integration";
import { kafkaInFlow } from "./fixtures/kafka-flows";
import { collect, kafkaBrokers, lastStatus, statusesOf, testKafka } from "./fixtures/kafka-support";

describe("kafka-in config (migration, validation)", () => {
  it("migrates a config without version: missing settings take their defaults", () => {
    const c = kafkaInConfig({ broker: "b", topics: "t", groupId: "g" });
    assert.equal(c.version, 1);
    for (const [k, v] of Object.entries(KAFKA_IN_DEFAULTS)) {
      assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, k);
    }
    assert.deepEqual(kafkaInSettings(c), {
      topics: ["t"],
      groupId: "g",
      fromBeginning: false,
      decode: "json",
      output: "message",
    });
  });

  it("rejects bad settings with a reason", () => {
    const ok = kafkaInConfig({ broker: "b", topics: "t", groupId: "g" });
    const bad = (patch: Partial<KafkaInConfig>, re: RegExp) =>
      assert.throws(() => kafkaInSettings({ ...ok, ...patch } as KafkaInConfig), re);
    bad({ groupId: " " }, /group id is required/);
    bad({ topics: "" }, /no topics/);
    bad({ topics: "a, b/c" }, /may only hold/);
    bad({ decode: "xml" as never }, /decode/);
    bad({ output: "stream" as never }, /output/);
  });
});

describe("kafka-in node", function () {
  this.timeout(60_000);
  useHelper("kafka");

  it("without a group id: red status, an error, no consumer", async () => {
    await helper.load([kafkaBroker, kafkaIn], kafkaInFlow(kafkaBrokers(), { groupId: "" }));
    const n = helper.getNode("in1");
    assert.equal(lastStatus(n)?.fill, "red");
    assert.equal(lastStatus(n)?.text, "kafka-in.status.badConfig");
  });

  it("runs a config saved without version, joins the group and receives (migration at deploy)", async () => {
    const topic = uniqueName("lg-node-in");
    const producer = testKafka().producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: "cnc-7", value: JSON.stringify({ ts: 5, values: { a: 1 } }) }] });
      const flow = kafkaInFlow(kafkaBrokers(), { topics: topic, groupId: uniqueName("g"), fromBeginning: true });
      const inNode = flow.find((x) => x.id === "in1")!;
      delete inNode.version;
      delete inNode.decode;
      delete inNode.output;
      await helper.load([kafkaBroker, kafkaIn], flow);
      const n = helper.getNode("in1");
      const msgs = collect(helper.getNode("msgs"));
      await eventually(() => msgs.length === 1, 30_000, 50);
      assert.equal(msgs[0].topic, "cnc-7");
      assert.deepEqual(msgs[0].payload, { ts: 5, values: { a: 1 } });
      assert.equal(msgs[0].kafka.topic, topic);
      assert.equal(msgs[0].kafka.key, "cnc-7");
      assert.equal(typeof msgs[0].kafka.timestamp, "number");
      await eventually(() => statusesOf(n).some((s) => s.fill === "green"), 10_000, 50);
    } finally {
      await producer.disconnect();
    }
  });

  it("closes in bounded time while the broker is unreachable", async () => {
    await helper.load([kafkaBroker, kafkaIn], kafkaInFlow("127.0.0.1:9", { topics: "t", groupId: "g" }));
    const n = helper.getNode("in1");
    await eventually(() => statusesOf(n).some((s) => s.fill === "red"), 15_000, 50);
    const t0 = Date.now();
    await helper.unload();
    assert.ok(Date.now() - t0 < 7000, `close took ${Date.now() - t0} ms`);
  });
});
