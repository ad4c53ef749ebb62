import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import kafkaIn from "../../nodes/kafka-in/kafka-in";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaOut from "../../nodes/kafka-out/kafka-out";
import { KAFKA_OUT_DEFAULTS, kafkaOutConfig, kafkaOutSettings } from "../../nodes/kafka-out/config";
import type { KafkaOutConfig } from "../../nodes/kafka-out/types";
import { helper, useHelper } from "../support/helper";
import { eventually, uniqueName } from "../support/integration";
import { kafkaOutFlow, legacyKafkaOutFlow } from "./fixtures/kafka-flows";
import { collect, everyText, kafkaBrokers, lastStatus, readTopic, statusesOf } from "./fixtures/kafka-support";

const nodes = [kafkaBroker, kafkaOut];
const rec = (ts: unknown, values: Record<string, unknown>) => ({ ts, values });

describe("kafka-out config (migration, validation)", () => {
  it("migrates a config without version: every missing setting takes its default", () => {
    const c = kafkaOutConfig({ broker: "b", topic: "t" });
    assert.equal(c.version, 2);
    assert.equal(c.spool, "disk");
    assert.equal(c.topic, "t");
    for (const [k, v] of Object.entries(KAFKA_OUT_DEFAULTS)) {
      if (k !== "topic") assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, k);
    }
    const s = kafkaOutSettings(c);
    assert.equal(s.batchSize, 500);
    assert.equal(s.lingerMs, 20);
    assert.equal(s.compression, "gzip");
    // a current config is left as it is
    const cur = { ...c, lingerMs: 7 };
    assert.equal(kafkaOutConfig(cur).lingerMs, 7);
  });

  it("rejects bad settings with a reason", () => {
    const ok = kafkaOutConfig({ broker: "b", topic: "t" });
    const bad = (patch: Partial<KafkaOutConfig>, re: RegExp) =>
      assert.throws(() => kafkaOutSettings({ ...ok, ...patch } as KafkaOutConfig), re);
    bad({ topic: "a b" }, /may only hold/);
    bad({ topicMode: "template", topic: "x.{{payload}}" }, /unknown placeholder/);
    bad({ topicMode: "nope" as never }, /topic mode/);
    bad({ headers: "{x" }, /JSON object/);
    bad({ batchSize: 0 }, /batch size/);
    bad({ lingerMs: "abc" }, /linger/);
    bad({ compression: "lz4" as never }, /compression/);
    bad({ backlogPolicy: "block" as never }, /backlog policy/);
    assert.equal(kafkaOutSettings({ ...ok, topicMode: "msg", topic: "" }).topicMode, "msg");
  });
});

describe("kafka-out node", function () {
  this.timeout(60_000);

  useHelper("kafka");

  async function load(out: Record<string, unknown> = {}, broker: Record<string, unknown> = {}, creds = {}) {
    await helper.load(nodes, kafkaOutFlow(kafkaBrokers(), out, broker), creds);
    const n = {
      out: helper.getNode("out1"),
      ok: collect(helper.getNode("ok")),
      rej: collect(helper.getNode("rej")),
      caught: collect(helper.getNode("caught")),
      completed: collect(helper.getNode("completed")),
    };
    return n;
  }

  it("loads, connects the shared producer and delivers a record (output 1, done)", async () => {
    const topic = uniqueName("lg-node-out");
    const n = await load({ topic });
    await eventually(() => lastStatus(n.out)?.fill === "green", 20_000, 50);
    assert.equal(lastStatus(n.out)?.text, "lineguard.status.connected");
    n.out.receive({ topic: "cnc-1", payload: rec(1700000000000, { a: 1 }) });
    await eventually(() => n.ok.length === 1 && n.completed.length === 1, 20_000, 20);
    assert.deepEqual(n.ok[0].kafka, { topic, topics: [topic], count: 1 });
    assert.equal(n.rej.length, 0);
    assert.equal(n.caught.length, 0);
    const got = await readTopic(topic, 1);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.message.key?.toString(), "cnc-1");
  });

  it("runs a config saved without version (migration at deploy)", async () => {
    const topic = uniqueName("lg-node-legacy");
    await helper.load(nodes, legacyKafkaOutFlow(kafkaBrokers(), topic));
    const out = helper.getNode("out1");
    const ok = collect(helper.getNode("ok"));
    out.receive({ topic: "m1", payload: [rec(1, { a: 1 }), rec(2, { a: 2 })] });
    await eventually(() => ok.length === 1, 20_000, 20);
    assert.equal(ok[0].kafka.count, 2);
    assert.equal(ok[0].kafka.topic, topic);
  });

  const badInputs: Array<[string, unknown, string, Record<string, unknown>?]> = [
    ["a non-object payload", 42, "not-object"],
    ["a string payload", "hello", "not-object"],
    ["a NaN value", rec(1, { a: NaN }), "bad-value"],
    ["an Infinity value", rec(1, { a: Infinity }), "bad-value"],
    ["a missing ts", { values: { a: 1 } }, "bad-timestamp"],
    ["an oversized message", rec(1, { blob: "x".repeat(5000) }), "too-large", { maxMessageBytes: 1000 }],
    ["an invalid msg.topic", rec(1, { a: 1 }), "bad-topic", { topicMode: "msg" }],
  ];
  for (const [what, payload, code, cfg] of badInputs) {
    it(`rejects ${what}: red status, catch sees the error, output 2 gets the record`, async () => {
      const n = await load({ topic: uniqueName("lg-node-bad"), ...cfg });
      n.out.receive({ topic: "bad topic/name", payload });
      await eventually(() => n.rej.length === 1 && n.caught.length === 1, 10_000, 20);
      assert.deepEqual(n.rej[0].payload, [payload]);
      assert.equal(n.rej[0].rejected.length, 1);
      assert.equal(n.rej[0].rejected[0].code, code);
      assert.equal(n.rej[0].rejected[0].index, 0);
      assert.equal(n.rej[0].topic, "bad topic/name");
      assert.match(n.caught[0].error.message, /1\/1 record\(s\) rejected/);
      assert.equal(n.ok.length, 0);
      assert.equal(n.completed.length, 0);
      const red = statusesOf(n.out).find((s) => s.fill === "red");
      assert.ok(red, "a red status");
      assert.equal(red.shape, "ring");
      assert.match(String(red.text), /lineguard\.status\.rejected/);
    });
  }

  it("sends the good records of a batch and rejects the bad ones (done(err) after the ack)", async () => {
    const topic = uniqueName("lg-node-mixed");
    const n = await load({ topic });
    n.out.receive({ topic: "m1", payload: [rec(1, { a: 1 }), rec(2, { a: "x", b: null }), rec(3, { a: 3 })] });
    await eventually(() => n.ok.length === 1 && n.caught.length === 1 && n.rej.length === 1, 20_000, 20);
    assert.equal(n.ok[0].kafka.count, 2);
    assert.deepEqual(
      n.rej[0].rejected.map((r: { index: number }) => r.index),
      [1],
    );
    assert.match(n.caught[0].error.message, /1\/3 record\(s\) rejected: \[1\]/);
    assert.equal((await readTopic(topic, 2)).length, 2);
  });

  it("an unknown topic fails with a clear error when the broker may not create topics", async () => {
    const topic = uniqueName("lg-node-missing");
    const n = await load({ topic }, { allowAutoTopicCreation: false });
    n.out.receive({ topic: "m1", payload: rec(1, { a: 1 }) });
    await eventually(() => n.caught.length === 1, 30_000, 20);
    assert.match(n.caught[0].error.message, new RegExp(`topic "${topic}" not found`));
    assert.equal(n.ok.length, 0);
    assert.equal(lastStatus(n.out)?.fill, "red");
    // the next message to that topic is refused at once (the broker refused it a moment ago)
    n.out.receive({ topic: "m1", payload: rec(2, { a: 1 }) });
    await eventually(() => n.rej.length === 1 && n.caught.length === 2, 5_000, 20);
    assert.equal(n.rej[0].rejected[0].code, "bad-topic");
  });

  it("never shows or logs credentials", async () => {
    const password = "Sup3r-Secret-Pa55word";
    const passphrase = "Key-Pa55phrase-Secret";
    const n = await load(
      { topic: uniqueName("lg-node-secret") },
      { saslMechanism: "plain" },
      {
        broker1: { username: "lineguard", password, tlsPassphrase: passphrase },
      },
    );
    // SASL against the plaintext listener fails; every message must end in an error without secrets
    n.out.receive({ topic: "m1", payload: rec(1, { a: 1 }) });
    n.out.receive({ topic: "m1", payload: { values: { a: 1 } } });
    await eventually(() => n.caught.length === 2, 30_000, 50);
    const text =
      everyText(helper, [n.out, helper.getNode("broker1")]) + JSON.stringify(n.caught) + JSON.stringify(n.rej);
    if (text.includes(password)) {
      const i = text.indexOf(password);
      assert.fail(`password leaked: ...${text.slice(Math.max(0, i - 300), i + 50)}...`);
    }
    assert.ok(!text.includes(password), "password leaked");
    assert.ok(!text.includes(passphrase), "passphrase leaked");
    assert.equal(lastStatus(n.out)?.fill, "red");
  });

  it("a bad broker configuration: red status and every message fails with the reason", async () => {
    const password = "An0ther-Secret-Value";
    const n = await load({ topic: "t" }, { brokers: "no-port-here" }, { broker1: { password } });
    assert.equal(lastStatus(n.out)?.fill, "red");
    assert.equal(lastStatus(n.out)?.text, "kafka-out.status.badConfig");
    n.out.receive({ topic: "m1", payload: rec(1, { a: 1 }) });
    await eventually(() => n.caught.length === 1, 5_000, 20);
    assert.match(n.caught[0].error.message, /kafka-out\.errors\.brokerConfig/);
    assert.ok(!everyText(helper, [n.out]).includes(password));
  });

  it("a bad node configuration: red status and every message fails", async () => {
    const n = await load({ topic: "bad topic" });
    assert.equal(lastStatus(n.out)?.text, "kafka-out.status.badConfig");
    n.out.receive({ topic: "m1", payload: rec(1, { a: 1 }) });
    await eventually(() => n.caught.length === 1, 5_000, 20);
    assert.match(n.caught[0].error.message, /kafka-out\.errors\.badConfig/);
  });

  it("the example flow deploys: its kafka nodes connect", async () => {
    let root = __dirname; // dist/test/nodes: walk up to the package
    while (!fs.existsSync(path.join(root, "package.json"))) root = path.dirname(root);
    const file = path.join(root, "examples", "kafka-records.json");
    const example = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>;
    // imported into a tab; core nodes other than catch are stood in for by helper nodes
    const flow: Array<Record<string, unknown>> = [{ id: "example-tab", type: "tab" }];
    for (const n of example) {
      if (n.type === "kafka-broker") flow.push({ ...n, brokers: kafkaBrokers() });
      else if (String(n.type).startsWith("kafka-") || n.type === "catch") flow.push({ ...n, z: "example-tab" });
      else flow.push({ id: n.id, type: "helper", z: "example-tab", wires: n.wires ?? [] });
    }
    await helper.load([kafkaBroker, kafkaOut, kafkaIn], flow);
    const out = helper.getNode("a1f0c0de00000004");
    const inn = helper.getNode("a1f0c0de00000009");
    await eventually(() => lastStatus(out)?.fill === "green" && lastStatus(inn)?.fill === "green", 30_000, 50);
  });

  it("without a broker configuration node: red status, messages fail", async () => {
    const flow = kafkaOutFlow(kafkaBrokers(), { broker: "" }).filter((x) => x.id !== "broker1");
    await helper.load(nodes, flow);
    const out = helper.getNode("out1");
    const caught = collect(helper.getNode("caught"));
    assert.equal(lastStatus(out)?.text, "lineguard.status.noConfig");
    out.receive({ topic: "m1", payload: rec(1, { a: 1 }) });
    await eventually(() => caught.length === 1, 5_000, 20);
  });
});
