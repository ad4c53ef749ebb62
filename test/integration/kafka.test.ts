/**
 * Kafka nodes against the real broker of scripts/test-services.sh (Kafka 3.9 KRaft, PLAINTEXT at
 * 127.0.0.1:39092; SASL_PLAINTEXT SCRAM at 127.0.0.1:39094). No mocks.
 */
import assert from "node:assert/strict";
import net from "node:net";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaIn from "../../nodes/kafka-in/kafka-in";
import kafkaOut from "../../nodes/kafka-out/kafka-out";
import { helper, useHelper } from "../support/helper";
import { eventually, uniqueName } from "../support/integration";
import { serviceCtl, services } from "../support/services";
import { kafkaInFlow, kafkaOutFlow, TAB } from "../nodes/fixtures/kafka-flows";
import {
  collect,
  kafkaBrokers,
  lastStatus,
  readTopic,
  sleep,
  statusesOf,
  testKafka,
} from "../nodes/fixtures/kafka-support";

const nodes = [kafkaBroker, kafkaOut, kafkaIn];
const SASL_BROKER = process.env.LINEGUARD_TEST_KAFKA_SASL ?? "127.0.0.1:39094";
const SASL_USER = process.env.LINEGUARD_TEST_KAFKA_USER ?? "lineguard";
const SASL_PASSWORD = process.env.LINEGUARD_TEST_KAFKA_PASSWORD ?? "lineguard-secret";
const T0 = Date.UTC(2025, 0, 1);

function portOpen(addr: string): Promise<boolean> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve) => {
    const s = net.connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
    const end = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => end(false));
    s.once("connect", () => end(true));
    s.once("error", () => end(false));
  });
}

async function loadOut(out: Record<string, unknown>, broker: Record<string, unknown> = {}, creds = {}) {
  await helper.load(nodes, kafkaOutFlow(kafkaBrokers(), out, broker), creds);
  return {
    out: helper.getNode("out1"),
    ok: collect(helper.getNode("ok")),
    rej: collect(helper.getNode("rej")),
    caught: collect(helper.getNode("caught")),
    completed: collect(helper.getNode("completed")),
  };
}

describe("integration: Kafka nodes with a real broker", function () {
  this.timeout(120_000);

  useHelper("kafka");

  it("(1) 500 single-record messages arrive exactly once with equal values, source keys and timestamps", async () => {
    const topic = uniqueName("lg-it-single");
    const n = await loadOut({ topic });
    const N = 500;
    for (let i = 0; i < N; i++) {
      n.out.receive({
        topic: `cnc-${i % 7}`,
        payload: { ts: T0 + i, values: { seq: i, load: i / 10, ok: i % 2 === 0 } },
      });
    }
    await eventually(() => n.completed.length === N, 30_000, 50);
    assert.equal(n.ok.length, N);
    assert.equal(n.caught.length, 0);
    assert.equal(n.rej.length, 0);
    const got = await readTopic(topic, N);
    assert.equal(got.length, N, "exactly N messages");
    const seen = new Set<number>();
    for (const { message } of got) {
      const v = JSON.parse(String(message.value));
      const i = v.values.seq as number;
      assert.ok(!seen.has(i), `duplicate ${i}`);
      seen.add(i);
      assert.deepEqual(v, { source: `cnc-${i % 7}`, ts: T0 + i, values: { seq: i, load: i / 10, ok: i % 2 === 0 } });
      assert.equal(message.key?.toString(), `cnc-${i % 7}`);
      assert.equal(message.timestamp, String(T0 + i));
      assert.deepEqual(Object.keys(message.headers ?? {}), [], "record mode adds no header of its own");
    }
    // per source, the order of the records is kept (one key -> one partition)
    const bySource = new Map<string, number[]>();
    for (const { message } of got) {
      const v = JSON.parse(String(message.value));
      bySource.set(v.source, [...(bySource.get(v.source) ?? []), v.values.seq]);
    }
    for (const seqs of bySource.values())
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
  });

  it("(2) 20 messages x 100 records arrive as 2000 Kafka messages", async () => {
    const topic = uniqueName("lg-it-batch");
    const n = await loadOut({ topic, batchSize: 250 });
    for (let m = 0; m < 20; m++) {
      const payload = Array.from({ length: 100 }, (_, j) => ({
        ts: T0 + m * 100 + j,
        source: `line-${j % 4}`,
        values: { seq: m * 100 + j },
      }));
      n.out.receive({ topic: "unused-default", payload });
    }
    await eventually(() => n.completed.length === 20, 30_000, 50);
    assert.ok(n.ok.every((msg) => msg.kafka.count === 100));
    const got = await readTopic(topic, 2000);
    assert.equal(got.length, 2000);
    const seqs = new Set(got.map(({ message }) => JSON.parse(String(message.value)).values.seq as number));
    assert.equal(seqs.size, 2000);
    for (const { message } of got) {
      const v = JSON.parse(String(message.value));
      assert.equal(message.key?.toString(), v.source);
      assert.equal(message.timestamp, String(v.ts));
    }
  });

  it("(3) kafka-in receives what was produced; invalid JSON goes to output 2 and the consumer goes on", async () => {
    const topic = uniqueName("lg-it-in");
    const N = 200;
    const producer = testKafka().producer();
    await producer.connect();
    try {
      const messages = Array.from({ length: N }, (_, i) => ({
        key: `src-${i % 5}`,
        value: JSON.stringify({ ts: T0 + i, values: { seq: i } }),
        headers: { h: `v${i}` },
      }));
      messages.splice(100, 0, { key: "src-x", value: "{oops", headers: { h: "bad" } });
      await producer.send({ topic, messages });
      await helper.load(
        nodes,
        kafkaInFlow(kafkaBrokers(), { topics: topic, groupId: uniqueName("g"), fromBeginning: true }),
      );
      const msgs = collect(helper.getNode("msgs"));
      const errs = collect(helper.getNode("errs"));
      await eventually(() => msgs.length === N && errs.length === 1, 30_000, 50);
      await sleep(300);
      assert.equal(msgs.length, N);
      assert.equal(new Set(msgs.map((m) => m.payload.values.seq)).size, N);
      const m0 = msgs.find((m) => m.payload.values.seq === 0);
      assert.equal(m0.topic, "src-0");
      assert.equal(m0.kafka.headers.h, "v0");
      assert.equal(errs[0].payload, "{oops");
      assert.match(errs[0].error, /not valid JSON/);
      assert.equal(errs[0].topic, "src-x");
      const n = helper.getNode("in1");
      // (status text is clipped at 64 characters; in tests RED._ returns the keys)
      await eventually(
        () => /^lineguard\.status\.connected · kafka-in\.status\.received/.test(String(lastStatus(n)?.text)),
        5_000,
        50,
      );
      assert.equal(lastStatus(n)?.fill, "green");
    } finally {
      await producer.disconnect();
    }
  });

  it("(3b) kafka-out -> Kafka -> kafka-in (batch output) round trip of records", async () => {
    const topic = uniqueName("lg-it-roundtrip");
    const flow = [
      ...kafkaOutFlow(kafkaBrokers(), { topic }),
      ...kafkaInFlow(kafkaBrokers(), {
        topics: topic,
        groupId: uniqueName("g"),
        fromBeginning: true,
        output: "batch",
      }).filter((x) => x.id !== TAB && x.id !== "broker1"),
    ];
    await helper.load(nodes, flow);
    const out = helper.getNode("out1");
    const msgs = collect(helper.getNode("msgs"));
    out.receive({ topic: "press-1", payload: Array.from({ length: 50 }, (_, i) => ({ ts: T0 + i, values: { i } })) });
    await eventually(() => msgs.reduce((a, m) => a + m.payload.length, 0) >= 50, 30_000, 50);
    const records = msgs.flatMap((m) => m.payload);
    assert.equal(records.length, 50);
    assert.ok(msgs.every((m) => m.topic === "press-1" && Array.isArray(m.kafka.messages)));
    assert.deepEqual(records[0], { source: "press-1", ts: T0, values: { i: 0 } });
  });

  it("(3c) two kafka-in nodes with the same group id share the partitions", async () => {
    const topic = uniqueName("lg-it-group");
    const group = uniqueName("g");
    const admin = testKafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const flow = kafkaInFlow(kafkaBrokers(), { topics: topic, groupId: group, fromBeginning: true });
    flow.push(
      { ...flow.find((x) => x.id === "in1")!, id: "in2", wires: [["msgs2"], []] },
      { id: "msgs2", type: "helper", z: TAB },
    );
    await helper.load(nodes, flow);
    const a = collect(helper.getNode("msgs"));
    const b = collect(helper.getNode("msgs2"));
    const in1 = helper.getNode("in1");
    const in2 = helper.getNode("in2");
    await eventually(() => lastStatus(in1)?.fill === "green" && lastStatus(in2)?.fill === "green", 30_000, 50);
    await sleep(1000); // let the rebalance settle
    const producer = testKafka().producer();
    await producer.connect();
    try {
      const messages = Array.from({ length: 300 }, (_, i) => ({ partition: i % 3, value: JSON.stringify({ i }) }));
      await producer.send({ topic, messages });
    } finally {
      await producer.disconnect();
    }
    await eventually(() => a.length + b.length === 300, 30_000, 50);
    await sleep(500);
    assert.equal(a.length + b.length, 300, "each message once");
    assert.ok(a.length > 0 && b.length > 0, `both members consumed (${a.length} / ${b.length})`);
  });

  it("(5) an unknown topic with allowAutoTopicCreation=false ends the message with a clear error", async () => {
    const topic = uniqueName("lg-it-missing");
    const n = await loadOut({ topic }, { allowAutoTopicCreation: false });
    n.out.receive({ topic: "m1", payload: { ts: T0, values: { a: 1 } } });
    await eventually(() => n.caught.length === 1, 30_000, 20);
    assert.match(
      n.caught[0].error.message,
      new RegExp(`Kafka topic "${topic}" not found and the broker configuration does not allow creating topics`),
    );
    assert.equal(n.ok.length, 0);
    assert.equal(n.completed.length, 0);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      assert.ok(!(await admin.listTopics()).includes(topic), "the topic was not created");
    } finally {
      await admin.disconnect();
    }
  });

  describe("(6) SASL SCRAM listener", () => {
    before(async function () {
      if (!(await portOpen(SASL_BROKER))) {
        throw new Error(
          `the SASL_PLAINTEXT SCRAM listener is not reachable at ${SASL_BROKER} (user lineguard / lineguard-secret, ` +
            "SCRAM-SHA-256 and -512): scripts/test-services.sh must start it",
        );
      }
    });

    it("a wrong password: red 'authentication failed', done(err), no crash, no secret in any text", async () => {
      const password = "wrong-Pa55word-value";
      await helper.load(
        nodes,
        kafkaOutFlow(SASL_BROKER, { topic: uniqueName("lg-it-sasl-bad") }, { saslMechanism: "scram-sha-256" }),
        {
          broker1: { username: SASL_USER, password },
        },
      );
      const out = helper.getNode("out1");
      const caught = collect(helper.getNode("caught"));
      const ok = collect(helper.getNode("ok"));
      out.receive({ topic: "m1", payload: { ts: T0, values: { a: 1 } } });
      await eventually(() => caught.length === 1, 30_000, 50);
      assert.match(caught[0].error.message, /authentication failed/i);
      assert.equal(ok.length, 0);
      assert.ok(statusesOf(out).some((s) => s.fill === "red" && s.text === "lineguard.status.authFailed"));
      const all = JSON.stringify(helper.log().args) + JSON.stringify(statusesOf(out)) + JSON.stringify(caught);
      assert.ok(!all.includes(password), "password leaked");
    });

    for (const mechanism of ["scram-sha-256", "scram-sha-512"]) {
      it(`the right password (${mechanism}): records are delivered`, async () => {
        const topic = uniqueName(`lg-it-${mechanism}`);
        await helper.load(nodes, kafkaOutFlow(SASL_BROKER, { topic }, { saslMechanism: mechanism }), {
          broker1: { username: SASL_USER, password: SASL_PASSWORD },
        });
        const out = helper.getNode("out1");
        const completed = collect(helper.getNode("completed"));
        for (let i = 0; i < 50; i++) out.receive({ topic: "sasl-src", payload: { ts: T0 + i, values: { i } } });
        await eventually(() => completed.length === 50, 30_000, 50);
        assert.equal((await readTopic(topic, 50)).length, 50);
      });
    }
  });

  describe("(4) broker outage", () => {
    let killed = false;
    after(async function () {
      this.timeout(180_000);
      if (killed && !(await portOpen(services.kafkaBrokers[0]!))) serviceCtl("start", "kafka");
    });

    it("keeps accepting while the broker is down, shows it, and delivers again after the restart", async () => {
      const topic = uniqueName("lg-it-outage");
      // the topic exists before the outage, so that nothing depends on auto-creation timing
      const admin = testKafka().admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await admin.disconnect();

      // kafka-out and a kafka-in reading the same topic, on one broker config
      const flow = [
        ...kafkaOutFlow(kafkaBrokers(), { topic, lingerMs: 10 }),
        ...kafkaInFlow(kafkaBrokers(), { topics: topic, groupId: uniqueName("g"), fromBeginning: true }).filter(
          (x) => x.id !== TAB && x.id !== "broker1",
        ),
      ];
      await helper.load(nodes, flow);
      const n = {
        out: helper.getNode("out1"),
        caught: collect(helper.getNode("caught")),
        completed: collect(helper.getNode("completed")),
      };
      const inNode = helper.getNode("in1");
      const consumed = collect(helper.getNode("msgs"));
      await eventually(() => lastStatus(n.out)?.fill === "green" && lastStatus(inNode)?.fill === "green", 20_000, 50);
      let seq = 0;
      let phase = "before";
      const sentIn: Record<string, number[]> = { before: [], during: [], after: [] };
      const timer = setInterval(() => {
        const i = seq++;
        sentIn[phase]!.push(i);
        n.out.receive({ topic: `src-${i % 3}`, payload: { ts: T0 + i, values: { seq: i, phase } } });
      }, 20);
      try {
        await sleep(1000);
        phase = "during";
        killed = true;
        serviceCtl("kill", "kafka");
        await eventually(() => /lineguard\.status\.disconnected/.test(String(lastStatus(n.out)?.text)), 20_000, 50);
        assert.equal(lastStatus(n.out)?.fill, "red");
        await sleep(1500);
        // still accepting into the backlog, Node-RED still up
        await eventually(() => /lineguard\.status\.backlog/.test(String(lastStatus(n.out)?.text)), 10_000, 50);
        const statusDuring = lastStatus(n.out);
        assert.equal(statusDuring?.fill, "red");
        await eventually(() => lastStatus(inNode)?.fill === "red", 20_000, 50);

        serviceCtl("start", "kafka");
        await eventually(() => lastStatus(n.out)?.fill === "green", 60_000, 100);
        phase = "after";
        await sleep(1500);
      } finally {
        clearInterval(timer);
      }
      const afterSeqs = sentIn.after!;
      assert.ok(afterSeqs.length > 20);
      await eventually(() => n.completed.length + n.caught.length >= seq, 60_000, 100);
      const got = await readTopic(topic, seq, 20_000);
      const arrived = new Set(got.map(({ message }) => JSON.parse(String(message.value)).values.seq as number));
      const count = (list: number[]) => list.filter((i) => arrived.has(i)).length;
      const report = `before ${count(sentIn.before!)}/${sentIn.before!.length}, during ${count(sentIn.during!)}/${sentIn.during!.length}, after ${count(afterSeqs)}/${afterSeqs.length}, failed msgs ${n.caught.length}`;
      console.log(`      outage: arrived ${report}`);
      assert.equal(count(afterSeqs), afterSeqs.length, `every record sent after the restart arrived (${report})`);
      assert.equal(count(sentIn.before!), sentIn.before!.length, `records sent before the outage arrived (${report})`);
      // the consumer crashed with the broker, restarted and caught up
      const inSeqs = new Set(consumed.map((m) => m.payload.values.seq as number));
      await eventually(
        () => {
          for (const m of consumed) inSeqs.add(m.payload.values.seq as number);
          return afterSeqs.every((i) => inSeqs.has(i));
        },
        60_000,
        100,
      );
      assert.equal(lastStatus(inNode)?.fill, "green");
    });
  });
});
