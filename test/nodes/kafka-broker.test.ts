import assert from "node:assert/strict";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaOut from "../../nodes/kafka-out/kafka-out";
import { KAFKA_BROKER_DEFAULTS, brokerConfig } from "../../nodes/kafka-broker/config";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import { kafkaOutFlow } from "./fixtures/kafka-flows";
import { collect, lastStatus } from "./fixtures/kafka-support";

describe("kafka-broker config (migration)", () => {
  it("migrates a config without version: missing settings take their defaults, brokers stay as given", () => {
    const c = brokerConfig({ brokers: "h:1" });
    assert.equal(c.version, 1);
    assert.equal(c.brokers, "h:1");
    for (const [k, v] of Object.entries(KAFKA_BROKER_DEFAULTS)) {
      if (k !== "brokers") assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, k);
    }
    assert.equal(brokerConfig({}).brokers, "", "an empty broker list is reported, not guessed");
    assert.equal(brokerConfig({ brokers: "h:1", version: 1, clientId: "x" }).clientId, "x");
    assert.equal(brokerConfig({ brokers: "h:1", tls: true }).tls, true);
  });
});

describe("kafka-broker node", function () {
  this.timeout(30_000);
  useHelper();

  it("loads and exposes its API; a bad configuration is reported without secrets", async () => {
    const password = "Br0ker-Secret-Pw";
    await helper.load(
      [kafkaBroker],
      [{ id: "b1", type: "kafka-broker", brokers: "h:1", saslMechanism: "scram-sha-512", version: 1 }],
      { b1: { username: "", password } },
    );
    const b = helper.getNode("b1");
    assert.match(String(b.configError), /needs a username and a password/);
    assert.ok(!String(b.configError).includes(password));
    assert.deepEqual(b.secrets(), [password]);
    assert.throws(() => b.kafka(), /username and a password/);
    assert.throws(() => b.registerProducer("x", () => undefined), /username and a password/);
  });

  it("shares one producer between kafka-out nodes and closes in bounded time while the broker is down", async () => {
    // 127.0.0.1:9 (discard) is closed: the producer keeps failing to connect.
    const flow = kafkaOutFlow("127.0.0.1:9", { topic: "t1" });
    flow.push({ ...flow.find((n) => n.id === "out1")!, id: "out2", wires: [[], []] });
    await helper.load([kafkaBroker, kafkaOut], flow);
    const b = helper.getNode("broker1");
    const p1 = b.registerProducer("probe-1", () => undefined);
    const p2 = b.registerProducer("probe-2", () => undefined);
    assert.equal(p1, p2, "one shared producer");
    b.deregisterProducer("probe-1");
    b.deregisterProducer("probe-2");
    const out = helper.getNode("out1");
    const caught = collect(helper.getNode("caught"));
    out.receive({ topic: "m", payload: { ts: 1, values: { a: 1 } } });
    await eventually(() => lastStatus(out)?.fill === "red", 10_000, 20);
    assert.match(String(lastStatus(out)?.text), /lineguard\.status\.disconnected/);
    const t0 = Date.now();
    await helper.unload();
    assert.ok(Date.now() - t0 < 8000, `close took ${Date.now() - t0} ms`);
    // the pending message was failed on close
    await eventually(() => caught.length === 1, 2000, 20).catch(() => undefined);
  });
});
