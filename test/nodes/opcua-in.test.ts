import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import opcuaEndpoint from "../../nodes/opcua-endpoint/opcua-endpoint";
import opcuaIn from "../../nodes/opcua-in/opcua-in";
import { OPCUA_IN_DEFAULTS, isNumericType, opcuaInConfig, opcuaInSettings } from "../../nodes/opcua-in/config";
import type { OpcuaInConfig } from "../../nodes/opcua-in/types";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import { FixtureServer, TEST_PASSWORD, TEST_USER, startFixtureServer } from "./fixtures/opcua-server";
import { legacyOpcuaInFlow, opcuaInFlow } from "./fixtures/opcua-flows";
import { collect, lastStatus, sleep, statusesOf, tempDir } from "./fixtures/opcua-support";

const nodes = [opcuaEndpoint, opcuaIn];
const NS = "ns=1;s=CNC";
const id = (m: string, t: string) => `${NS}/${m}/${t}`;

describe("opcua-in config (migration, validation)", () => {
  it("migrates a config without version: defaults, nodeId -> nodeIds, topic -> fixed source", () => {
    const c = opcuaInConfig({ endpoint: "e", nodeId: "ns=1;s=a", topic: "line-1" });
    assert.equal(c.version, 1);
    assert.equal(c.nodeIds, "ns=1;s=a");
    assert.equal(c.sourceRule, "fixed");
    assert.equal(c.source, "line-1");
    for (const k of [
      "samplingInterval",
      "publishingInterval",
      "queueSize",
      "deadband",
      "output",
      "groupWindow",
    ] as const) {
      assert.deepEqual(c[k], OPCUA_IN_DEFAULTS[k], k);
    }
    assert.equal(opcuaInConfig({ ...c, queueSize: 3 }).queueSize, 3);
  });

  it("rejects bad settings with a reason", () => {
    const ok = opcuaInConfig({ endpoint: "e", nodeIds: "ns=1;s=a" });
    const bad = (patch: Partial<OpcuaInConfig>, re: RegExp) =>
      assert.throws(() => opcuaInSettings({ ...ok, ...patch } as OpcuaInConfig), re);
    bad({ nodeIds: "" }, /node ids and\/or a folder/);
    bad({ nodeIds: "ns=1;x=???" }, /not a valid node id/);
    bad({ folder: "ns=foo" }, /not a valid node id/);
    bad({ samplingInterval: "abc" }, /sampling interval/);
    bad({ publishingInterval: 1 }, /publishing interval/);
    bad({ queueSize: 0 }, /queue size/);
    bad({ deadband: "absolute", deadbandValue: -1 }, /deadband value/);
    bad({ deadband: "percent", deadbandValue: 101 }, /0\.\.100/);
    bad({ deadband: "wide" as never }, /deadband must be/);
    bad({ output: "batch" as never }, /output/);
    bad({ sourceRule: "fixed", source: " " }, /fixed source/);
    bad({ output: "group", groupWindow: 0 }, /group window/);
    const s = opcuaInSettings({ ...ok, nodeIds: "ns=1;s=a\n\n# comment\nns=1;s=a\nns=1;s=b" });
    assert.deepEqual(s.nodeIds, ["ns=1;s=a", "ns=1;s=b"]);
    assert.equal(isNumericType("Double"), true);
    assert.equal(isNumericType("Boolean"), false);
    assert.equal(isNumericType("String"), false);
  });
});

describe("opcua-in node (real node-opcua server)", function () {
  this.timeout(60_000);
  useHelper();
  let srv: FixtureServer;
  let pki: string;

  before(async () => {
    srv = await startFixtureServer({ tickMs: 100 });
    pki = tempDir("lg-opcua-node-");
  });
  after(async () => {
    await srv?.stop();
  });

  async function load(input: Record<string, unknown>, endpoint: Record<string, unknown> = {}, creds = {}) {
    await helper.load(nodes, opcuaInFlow(srv.url, pki, input, endpoint), creds);
    return {
      in1: helper.getNode("in1"),
      recs: collect(helper.getNode("recs")),
      events: collect(helper.getNode("events")),
      caught: collect(helper.getNode("caught")),
    };
  }

  it("subscribes to listed node ids: one record per change, source = parent, tag = browse name", async () => {
    const n = await load({
      nodeIds: [id("cnc-01", "spindle_load"), id("cnc-01", "part_count"), id("cnc-02", "running")].join("\n"),
    });
    await eventually(() => lastStatus(n.in1)?.fill === "green", 20_000, 50);
    assert.match(lastStatus(n.in1)!.text!, /opcua-in.status.subscribed/);
    await eventually(() => n.recs.filter((m) => m.payload.values.spindle_load !== undefined).length >= 3, 20_000, 20);
    for (const m of n.recs) {
      assert.equal(Object.keys(m.payload.values).length, 1, "one change per record");
      assert.equal(m.topic, m.payload.source);
      assert.equal(typeof m.payload.ts, "number");
      assert.ok(Math.abs(m.payload.ts - Date.now()) < 60_000);
    }
    const load1 = n.recs.find((m) => m.payload.values.spindle_load !== undefined)!;
    assert.equal(load1.topic, "cnc-01");
    assert.equal(typeof load1.payload.values.spindle_load, "number");
    await eventually(() => n.recs.some((m) => typeof m.payload.values.part_count === "number"), 10_000, 20);
    const running = await eventually(() => n.recs.find((m) => m.payload.values.running !== undefined), 10_000, 20);
    assert.equal(running.topic, "cnc-02");
    assert.equal(running.payload.values.running, true);
    assert.equal(n.caught.length, 0);
    // a Bad status becomes quality "bad"
    srv.setValue("cnc-02", "running", false, true);
    const bad = await eventually(() => n.recs.find((m) => m.payload.quality?.running === "bad"), 10_000, 20);
    assert.equal(bad.payload.values.running, false);
    srv.setValue("cnc-02", "running", true);
  });

  it("a folder is browsed recursively; grouped output gives one record per source per window", async () => {
    const n = await load({ folder: NS, output: "group", groupWindow: 150 });
    await eventually(() => lastStatus(n.in1)?.fill === "green", 20_000, 50);
    await eventually(() => n.recs.length >= 6, 20_000, 20);
    const first01 = n.recs.find((m) => m.topic === "cnc-01")!;
    // the first window holds every initial value of the source (the array tag excepted)
    assert.deepEqual(Object.keys(first01.payload.values).sort(), [
      "part_count",
      "program",
      "running",
      "spindle_load",
      "spindle_speed",
    ]);
    assert.ok(n.recs.some((m) => m.topic === "cnc-02"));
    // the array variable is rejected on output 2, once per variable
    await eventually(() => n.events.filter((e) => e.event === "rejected").length === 2, 10_000, 20);
    const rej = n.events.find((e) => e.event === "rejected");
    assert.equal(rej.payload.code, "unsupported-type");
    assert.equal(rej.payload.tag, "axis_pos");
    // windows: per source, records are at least ~ a window apart
    const ts01 = n.recs.filter((m) => m.topic === "cnc-01").length;
    await sleep(1500);
    const after = n.recs.filter((m) => m.topic === "cnc-01").length - ts01;
    assert.ok(after <= 12, `grouped: at most ~1 record per 150 ms window per source, got ${after} in 1.5 s`);
    assert.ok(after >= 4, `grouped records keep coming, got ${after}`);
  });

  it("an absolute deadband suppresses small changes (numeric tags only)", async () => {
    const ids = [id("cnc-01", "spindle_speed"), id("cnc-01", "spindle_load"), id("cnc-01", "running")].join("\n");
    const n = await load({ nodeIds: ids, deadband: "absolute", deadbandValue: 5 });
    await eventually(() => lastStatus(n.in1)?.fill === "green", 20_000, 50);
    await sleep(2500);
    const speed = n.recs.filter((m) => m.payload.values.spindle_speed !== undefined).length;
    const load1 = n.recs.filter((m) => m.payload.values.spindle_load !== undefined).length;
    // spindle_speed moves by 0.1: only the initial value; spindle_load steps by 1 and jumps 9 at wrap-around
    assert.equal(speed, 1);
    assert.ok(load1 >= 1 && load1 <= 10, `spindle_load records ${load1} (about 25 changes without a deadband)`);
    assert.ok(
      n.recs.some((m) => m.payload.values.running === true),
      "Boolean monitored without a deadband",
    );
    assert.equal(n.caught.length, 0);

    await helper.unload();
    const n2 = await load({ nodeIds: id("cnc-01", "spindle_speed") });
    await sleep(2500);
    assert.ok(n2.recs.length >= 8, `without deadband every change: ${n2.recs.length}`);
  });

  it("a percent deadband uses the EU range; without one the server refuses the item (item-error)", async () => {
    const n = await load({
      nodeIds: ["ns=1;s=Analog/temperature", id("cnc-01", "spindle_load")].join("\n"),
      deadband: "percent",
      deadbandValue: 10,
      sourceRule: "fixed",
      source: "line",
    });
    await eventually(() => lastStatus(n.in1)?.fill === "green", 20_000, 50);
    await sleep(2500);
    // temperature steps by 1 every 100 ms over a 0..100 range: only changes > 10 pass
    const temps = n.recs.filter((m) => m.payload.values.temperature !== undefined).length;
    assert.ok(temps >= 1 && temps <= 4, `temperature records ${temps} (about 25 changes without a deadband)`);
    const ev = n.events.find((e) => e.event === "item-error");
    assert.equal(ev?.payload.nodeId, id("cnc-01", "spindle_load"));
    assert.equal(ev.payload.code, "monitor-failed");
    assert.match(ev.payload.reason, /BadMonitoredItemFilterUnsupported|BadFilterNotAllowed/);
    assert.match(lastStatus(n.in1)!.text!, /opcua-in.status.failed/);
    assert.equal(n.recs.filter((m) => m.payload.values.spindle_load !== undefined).length, 0);
    assert.ok(n.caught.some((c) => c.payload?.code === "monitor-failed"));
  });

  it("a node id the server does not know: clear error to Catch, item-error on output 2, others flow", async () => {
    const n = await load({ nodeIds: [id("cnc-01", "spindle_load"), "ns=1;s=CNC/cnc-09/nope"].join("\n") });
    await eventually(() => n.caught.length >= 1, 20_000, 20);
    assert.match(n.caught[0].error.message, /opcua-in.errors.item/);
    assert.equal(n.caught[0].payload.nodeId, "ns=1;s=CNC/cnc-09/nope");
    assert.match(n.caught[0].payload.reason, /does not exist|BadNodeIdUnknown/);
    const ev = await eventually(() => n.events.find((e) => e.event === "item-error"), 10_000, 20);
    assert.equal(ev.payload.code, "bad-node");
    assert.equal(ev.payload.nodeId, "ns=1;s=CNC/cnc-09/nope");
    await eventually(() => lastStatus(n.in1)?.fill === "green", 20_000, 50);
    assert.match(lastStatus(n.in1)!.text!, /opcua-in.status.failed/);
    await eventually(() => n.recs.length >= 2, 10_000, 20);
  });

  it("only unknown node ids: red status", async () => {
    const n = await load({ nodeIds: "ns=1;s=nope" });
    await eventually(() => lastStatus(n.in1)?.fill === "red", 20_000, 50);
    assert.equal(lastStatus(n.in1)!.text, "opcua-in.status.noItems");
  });

  it("a syntactically bad node id is a configuration error at deploy (red status, error)", async () => {
    const n = await load({ nodeIds: "ns=1;x=junk" });
    await eventually(() => lastStatus(n.in1)?.fill === "red", 5_000, 20);
    assert.equal(lastStatus(n.in1)!.text, "opcua-in.status.badConfig");
  });

  it("a wrong password: red status and an error, the password never shown", async () => {
    const n = await load(
      { nodeIds: id("cnc-01", "spindle_load") },
      { auth: "username" },
      { ep1: { username: TEST_USER, password: "not-the-password-42" } },
    );
    await eventually(() => lastStatus(n.in1)?.fill === "red", 20_000, 50);
    assert.match(lastStatus(n.in1)!.text!, /authentication failed/);
    await eventually(() => n.caught.length >= 1, 10_000, 20);
    assert.match(n.caught[0].error.message, /opcua-in.errors.connection/);
    assert.equal(n.caught[0].payload.code, "connection");
    assert.match(n.caught[0].payload.reason, /authentication failed/);
    const all = JSON.stringify(statusesOf(n.in1)) + JSON.stringify(n.caught.map((c) => c.error));
    assert.doesNotMatch(all, /not-the-password-42/);
    assert.equal(n.recs.length, 0);
  });

  it("SignAndEncrypt + Basic256Sha256 with username/password works", async () => {
    const n = await load(
      { nodeIds: id("cnc-01", "spindle_load") },
      { securityMode: "SignAndEncrypt", securityPolicy: "Basic256Sha256", auth: "username" },
      { ep1: { username: TEST_USER, password: TEST_PASSWORD } },
    );
    await eventually(() => lastStatus(n.in1)?.fill === "green", 20_000, 50);
    await eventually(() => n.recs.length >= 3, 10_000, 20);
  });

  it("a fixed source id and a config saved without version (migration at deploy)", async () => {
    const n = await load({ nodeIds: id("cnc-01", "spindle_load"), sourceRule: "fixed", source: "line-a" });
    await eventually(() => n.recs.length >= 1, 20_000, 20);
    assert.equal(n.recs[0].topic, "line-a");
    await helper.unload();
    await helper.load(nodes, legacyOpcuaInFlow(srv.url, pki));
    const recs = collect(helper.getNode("recs"));
    await eventually(() => recs.length >= 1, 20_000, 20);
    assert.equal(recs[0].topic, "cnc-01");
  });

  it("two opcua-in nodes on one endpoint share ONE session", async () => {
    const flow = opcuaInFlow(srv.url, pki, { nodeIds: id("cnc-01", "spindle_load") });
    flow.push({
      ...flow.find((f) => f.id === "in1")!,
      id: "in2",
      nodeIds: id("cnc-02", "spindle_load"),
      wires: [["recs"], []],
    });
    const before = srv.sessionCount();
    await helper.load(nodes, flow);
    const recs = collect(helper.getNode("recs"));
    await eventually(() => new Set(recs.map((m) => m.topic)).size === 2, 20_000, 20);
    assert.equal(srv.sessionCount() - before, 1);
    assert.equal(srv.subscriptionCount(), 2);
  });
});

describe("opcua-in reconnect (server stopped and restarted on the same port)", function () {
  this.timeout(90_000);
  useHelper();

  it("yellow/red while down, green within 10 s of the server being back, a gap, values again, no duplicate items", async () => {
    const srvPki = tempDir("lg-opcua-srv-re-");
    let srv = await startFixtureServer({ tickMs: 100, pkiDir: srvPki });
    const port = srv.port;
    const pki = tempDir("lg-opcua-node-re-");
    try {
      const ids = [id("cnc-01", "spindle_load"), id("cnc-01", "part_count"), id("cnc-02", "spindle_load")];
      await helper.load(nodes, opcuaInFlow(srv.url, pki, { nodeIds: ids.join("\n") }));
      const in1 = helper.getNode("in1");
      const recs = collect(helper.getNode("recs"));
      const events = collect(helper.getNode("events"));
      await eventually(() => lastStatus(in1)?.fill === "green", 20_000, 50);
      await eventually(() => recs.length > 5, 10_000, 20);
      assert.equal(srv.monitoredItemCount(), 3);

      await srv.stop(); // server.shutdown()
      const down = Date.now();
      await eventually(() => ["yellow", "red"].includes(lastStatus(in1)?.fill ?? ""), 15_000, 50);
      await sleep(1000);
      srv = await startFixtureServer({ port, pkiDir: srvPki, tickMs: 100 });
      const back = Date.now();
      await eventually(() => lastStatus(in1)?.fill === "green", 10_000, 50);
      assert.ok(Date.now() - back <= 10_000);
      await eventually(() => events.filter((e) => e.event === "gap").length === 2, 10_000, 20);
      const gaps = events.filter((e) => e.event === "gap");
      assert.deepEqual(gaps.map((g) => g.topic).sort(), ["cnc-01", "cnc-02"]);
      assert.ok(gaps[0].payload.from >= down - 1000 && gaps[0].payload.to >= gaps[0].payload.from);
      assert.equal(typeof gaps[0].payload.reason, "string");
      const n = recs.length;
      await eventually(() => recs.length > n + 5, 15_000, 20);
      await sleep(1000);
      assert.equal(srv.subscriptionCount(), 1);
      assert.equal(srv.monitoredItemCount(), 3, "exactly the configured monitored items, no duplicates");
      assert.equal(srv.sessionCount(), 1);
    } finally {
      await helper.unload();
      await srv.stop();
    }
  });
});

describe("opcua example flow", function () {
  this.timeout(60_000);
  useHelper();

  it("examples/opcua-cnc.json deploys: its opcua nodes subscribe and emit records", async () => {
    let root = __dirname; // <build>/test/nodes: walk up to the package
    while (!fs.existsSync(path.join(root, "package.json"))) root = path.dirname(root);
    const example = JSON.parse(fs.readFileSync(path.join(root, "examples", "opcua-cnc.json"), "utf8")) as Array<
      Record<string, any>
    >;
    const srv = await startFixtureServer({ tickMs: 100 });
    try {
      const flow: Array<Record<string, unknown>> = [{ id: "example-tab", type: "tab" }];
      for (const n of example) {
        if (n.type === "opcua-endpoint") {
          assert.equal(n.autoAcceptCertificate, true);
          // the fixture server stands in for the simulator
          flow.push({ ...n, endpointUrl: srv.url, pkiFolder: tempDir("lg-opcua-example-") });
        } else if (String(n.type).startsWith("opcua-")) flow.push({ ...n, z: "example-tab" });
        else flow.push({ id: n.id, type: "helper", z: "example-tab", wires: n.wires ?? [] });
      }
      await helper.load(nodes, flow);
      const def = example.find((n) => n.type === "opcua-in")!;
      const inNode = helper.getNode(def.id);
      const recs = collect(helper.getNode(def.wires[0][0]));
      await eventually(() => lastStatus(inNode)?.fill === "green", 20_000, 50);
      await eventually(() => recs.length >= 2, 10_000, 20);
      assert.ok(Object.keys(recs[0].payload.values).length > 1, "grouped records");
    } finally {
      await helper.unload();
      await srv.stop();
    }
  });
});
