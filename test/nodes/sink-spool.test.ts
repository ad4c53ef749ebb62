/**
 * The sinks with the disk spool (store "disk", the default): messages are done once on disk, the
 * backlog shows in the status and the metrics, survives a redeploy (replayed to the server), a full
 * spool follows its policy exactly, and a server's final refusal reaches Catch nodes with the records.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaOut from "../../nodes/kafka-out/kafka-out";
import influxConfig from "../../nodes/influxdb-config/influxdb-config";
import influxOut from "../../nodes/influxdb-out/influxdb-out";
import { helper, testUserDir, useHelper } from "../support/helper";
import { eventually, uniqueName } from "../support/integration";
import { collect, kafkaBrokers, lastStatus, readTopic, statusesOf } from "./fixtures/kafka-support";
import { kafkaOutFlow } from "./fixtures/kafka-flows";
import { FakeInflux, closedPortUrl } from "./fixtures/influxdb-fake-server";
import { record, sinkFlow } from "./fixtures/influxdb-flows";
import { freePort } from "../support/node-red-process";

const spoolDir = (id: string): string => path.join(testUserDir, "lineguard", "spool", id);
const disk = { spool: "disk", spoolMaxMB: 64, spoolFsync: "interval", replayRate: 0, replayOrder: "live-first" };

function metric(text: string, name: string, nodeId: string): number | undefined {
  const re = new RegExp(`^${name}\\{[^}]*node_id="${nodeId}"[^}]*\\} (\\S+)$`, "m");
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

describe("sinks with the disk spool", function () {
  this.timeout(90_000);
  useHelper("kafka");

  afterEach(() => {
    fs.rmSync(path.join(testUserDir, "lineguard", "spool"), { recursive: true, force: true });
  });

  it("kafka-out: done once on disk while the broker is unreachable; the backlog shows; a redeploy delivers it", async () => {
    const topic = uniqueName("lg-spool-replay");
    const dead = `127.0.0.1:${await freePort()}`;
    await helper.load([kafkaBroker, kafkaOut], kafkaOutFlow(dead, { topic, ...disk }, { connectionTimeout: 300 }));
    const out = helper.getNode("out1");
    const ok = collect(helper.getNode("ok"));
    const done = collect(helper.getNode("completed"));
    const caught = collect(helper.getNode("caught"));
    for (let i = 0; i < 20; i++) out.receive({ topic: `m-${i}`, payload: { ts: 1700000000000 + i, values: { i } } });
    await eventually(() => ok.length === 20 && done.length === 20, 10_000, 20);
    assert.equal(caught.length, 0);
    await eventually(() => /lineguard\.status\.backlog/.test(String(lastStatus(out)?.text)), 10_000, 50);
    const metrics = await helper.request().get("/lineguard/metrics").expect(200);
    assert.equal(metric(metrics.text, "lineguard_spool_records", "out1"), 20);
    assert.equal(metric(metrics.text, "lineguard_records_in_total", "out1"), 20);
    await helper.unload();
    assert.ok(fs.readdirSync(spoolDir("out1")).length > 0, "the spool stays on disk");

    // the same node with the broker back: the backlog is replayed, oldest first, original timestamps
    await helper.load([kafkaBroker, kafkaOut], kafkaOutFlow(kafkaBrokers(), { topic, ...disk }));
    await eventually(
      () => /lineguard\.status\.sent/.test(String(lastStatus(helper.getNode("out1"))?.text)),
      30_000,
      50,
    );
    const got = await readTopic(topic, 20);
    assert.equal(got.length, 20);
    const byKey = new Map(got.map((g) => [g.message.key!.toString(), g.message]));
    for (let i = 0; i < 20; i++) {
      const m = byKey.get(`m-${i}`);
      assert.ok(m, `m-${i} delivered`);
      assert.equal(m.timestamp, String(1700000000000 + i));
      assert.equal(JSON.parse(m.value!.toString()).values.i, i);
    }
    await eventually(() => /lineguard\.status\.connected/.test(String(lastStatus(helper.getNode("out1"))?.text)));
  });

  it("kafka-out: a topic the broker refuses for good reaches Catch with the refused records", async () => {
    const topic = uniqueName("lg-spool-refused");
    await helper.load(
      [kafkaBroker, kafkaOut],
      kafkaOutFlow(kafkaBrokers(), { topic, ...disk }, { allowAutoTopicCreation: false }),
    );
    const out = helper.getNode("out1");
    const ok = collect(helper.getNode("ok"));
    const caught = collect(helper.getNode("caught"));
    out.receive({ topic: "m1", payload: { ts: 1, values: { a: 1 } } });
    await eventually(() => ok.length === 1, 10_000, 20);
    await eventually(() => caught.length === 1, 30_000, 50);
    assert.match(caught[0].error.message, new RegExp(`topic "${topic}" not found`));
    assert.equal(caught[0].payload.length, 1);
    assert.equal(caught[0].payload[0].topic, topic);
    assert.equal(JSON.parse(caught[0].payload[0].value).values.a, 1);
    assert.ok(statusesOf(out).some((s) => s.fill === "red"));
  });

  describe("influxdb-out", () => {
    const fake = new FakeInflux();
    before(() => fake.start());
    after(() => fake.stop());

    it("a full spool (refuse-newest) keeps exactly what fits, counts the refusals, and delivers the rest later", async () => {
      const id = "out";
      const url = await closedPortUrl();
      const cfg = { ...disk, spoolMaxMB: 1, backlogPolicy: "refuse-newest", maxBacklog: 1_000_000, batchSize: 5000 };
      await helper.load([influxConfig, influxOut], sinkFlow({ url, out: cfg as never }), { cfg: { token: "t" } });
      const out = helper.getNode(id);
      const probe = { ok: [] as any[], caught: [] as any[] };
      helper.getNode("ok").on("input", (m: any) => probe.ok.push(m));
      helper.getNode("caught").on("input", (m: any) => probe.caught.push(m));
      // 150 messages of 100 records (~15,000 frames of ~110 bytes: more than 1 MiB)
      for (let m = 0; m < 150; m++) {
        const payload = Array.from({ length: 100 }, (_, i) => record(m * 100 + i));
        out.receive({ topic: "cnc-01", payload });
      }
      await eventually(() => probe.ok.length + probe.caught.length >= 150, 30_000, 50);
      assert.ok(probe.caught.length > 0, "the spool filled up");
      const refused = probe.caught.filter((c) => /refused/.test(c.error.message));
      assert.equal(refused.length, probe.caught.length, "every failure is a refusal");
      const metrics = (await helper.request().get("/lineguard/metrics").expect(200)).text;
      const spooled = metric(metrics, "lineguard_spool_records", id)!;
      const dropped = metric(metrics, "lineguard_spool_dropped_total", id)!;
      const bytes = metric(metrics, "lineguard_spool_bytes", id)!;
      assert.equal(spooled + dropped, 15_000, "every record is either in the spool or counted as refused");
      assert.ok(bytes <= 1024 * 1024, `spool bytes ${bytes} within the bound`);
      assert.ok(bytes > 1024 * 1024 - 200, "filled up to the bound");
      // refuse-newest: the oldest records are the ones kept
      await eventually(
        () => statusesOf(out).some((st) => /lineguard\.status\.backlog/.test(String(st.text))),
        5000,
        50,
      );
      await helper.unload();

      fake.requests.length = 0;
      await helper.load([influxConfig, influxOut], sinkFlow({ url: fake.url, out: cfg as never }), {
        cfg: { token: "t" },
      });
      await eventually(() => fake.lines.length === spooled, 30_000, 50);
      const times = fake.lines.map((l) => Number(l.split(" ").pop()));
      const expected = Array.from({ length: spooled }, (_, i) => record(i).ts);
      assert.deepEqual(times, expected, "the oldest records, in order, with their own timestamps");
    });
  });
});
