import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { helper } from "../support/helper";
import { eventually } from "../support/integration";
import influxConfig from "../../nodes/influxdb-config/influxdb-config";
import influxOut from "../../nodes/influxdb-out/influxdb-out";
import { CONFIG_VERSION, migrateConfig } from "../../nodes/influxdb-config/config";
import { OUT_VERSION, migrateOut, outSettings, parseTags } from "../../nodes/influxdb-out/config";
import { resolveBucket, resolveConnection } from "../../lib/sinks/influx";
import { FakeInflux } from "./fixtures/influxdb-fake-server";
import { record, sinkFlow } from "./fixtures/influxdb-flows";

describe("nodes/influxdb-config", () => {
  describe("migration", () => {
    it("config: a config without cfgVersion gets defaults, a normalised API version and cfgVersion", () => {
      const m = migrateConfig({
        id: "c",
        type: "influxdb-config",
        url: "http://h:8086",
        version: "1.x",
        database: "d",
      });
      assert.equal(m.cfgVersion, CONFIG_VERSION);
      assert.equal(m.version, "1.8");
      assert.equal(m.url, "http://h:8086");
      assert.equal(m.database, "d");
      assert.equal(m.timeout, 10000);
      assert.equal(m.tlsRejectUnauthorized, true);
      assert.equal(m.retentionPolicy, "");
      assert.equal((m as unknown as Record<string, unknown>).apiVersion, undefined);
      const bare = migrateConfig({ url: "http://h" });
      assert.equal(bare.version, "2");
      assert.equal(bare.cfgVersion, 1);
    });

    it("config: a current config is left as it is (the API version is not the schema version)", () => {
      const cur = {
        url: "http://h",
        version: "1.8",
        cfgVersion: 1,
        org: "",
        timeout: "500",
        tlsRejectUnauthorized: false,
      };
      const m = migrateConfig(cur);
      assert.deepEqual(m, cur);
      const v2 = migrateConfig({ url: "http://h", version: "2", cfgVersion: 1 });
      assert.equal(v2.version, "2");
    });

    it("out: a config without version gets defaults; a tags object becomes JSON text", () => {
      const m = migrateOut({ id: "o", type: "influxdb-out", influxdb: "c", tags: { line: "A" }, batchSize: "10" });
      assert.equal(m.version, OUT_VERSION);
      assert.equal(m.tags, '{"line":"A"}');
      assert.equal(m.batchSize, "10");
      assert.equal(m.measurement, "lineguard");
      assert.equal(m.precision, "ms");
      assert.equal(m.lingerMs, 1000);
      assert.equal(m.maxBacklog, 100000);
      assert.equal(m.backlogPolicy, "drop-oldest");
      const s = outSettings(m);
      assert.equal(s.batchSize, 10);
      assert.deepEqual(s.mapping.tags, { line: "A" });
    });

    it("out settings: numbers from strings, bounds, and clear errors", () => {
      const base = migrateOut({});
      const s = outSettings({ ...base, lingerMs: "0", gzipThreshold: "", maxBacklog: "-5", writeBadQuality: true });
      assert.equal(s.lingerMs, 0);
      assert.equal(s.gzipThreshold, 1000);
      assert.equal(s.maxBacklog, 1);
      assert.equal(s.mapping.writeBadQuality, true);
      assert.throws(() => outSettings({ ...base, precision: "m" as never }), /precision/);
      assert.throws(() => outSettings({ ...base, measurement: "#x" }), /comment/);
      assert.throws(() => outSettings({ ...base, backlogPolicy: "x" as never }), /backlog policy/);
      assert.throws(() => outSettings({ ...base, stringValues: "keep" as never }), /string values/);
      assert.deepEqual(parseTags(""), {});
      assert.deepEqual(parseTags('{"a":1,"b":true}'), { a: "1", b: "true" });
      assert.throws(() => parseTags("{nope"), /JSON object/);
      assert.throws(() => parseTags('{"a":{}}'), /tag "a"/);
    });
  });

  it("the example flow's InfluxDB nodes are valid, current configurations", () => {
    let root = __dirname; // dist/test/nodes or .build/<x>/test/nodes: walk up to the package
    while (!fs.existsSync(path.join(root, "package.json"))) root = path.dirname(root);
    const file = path.join(root, "examples", "influxdb-records.json");
    const flow = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, any>>;
    const cfg = flow.find((n) => n.type === "influxdb-config")!;
    const out = flow.find((n) => n.type === "influxdb-out")!;
    assert.equal(cfg.cfgVersion, CONFIG_VERSION);
    assert.equal(out.version, OUT_VERSION);
    assert.deepEqual(migrateConfig(cfg), cfg);
    assert.deepEqual(migrateOut(out), out);
    const conn = resolveConnection(migrateConfig(cfg), { token: "t" });
    assert.equal(resolveBucket(conn, out.bucket), "lineguard");
    assert.deepEqual(outSettings(migrateOut(out)).mapping.tags, { line: "A" });
    assert.equal(out.influxdb, cfg.id);
  });

  describe("runtime", () => {
    const fake = new FakeInflux();
    before(async () => {
      await fake.start();
    });
    after(async () => {
      await fake.stop();
    });
    afterEach(async () => {
      await helper.unload();
    });

    it("owns one client shared by its sinks and closes it", async () => {
      const flow = sinkFlow({ url: fake.url });
      flow.push({ ...flow.find((n) => n.id === "out")!, id: "out2", name: "second", wires: [[], []] });
      await helper.load([influxConfig, influxOut], flow, { cfg: { token: "tok-1" } });
      const cfg = helper.getNode("cfg") as any;
      assert.equal(cfg.connection.userCount, 2);
      const client = cfg.connection.peek();
      assert.ok(client);
      assert.deepEqual(cfg.secrets(), ["tok-1"]);
      await helper.unload();
      assert.equal(cfg.connection.state, "closed");
      await assert.rejects(client.ping(), /closed/);
    });

    it("broadcasts reachability: when the server is back every sink retries at once", async () => {
      const port = fake.port;
      await fake.stop();
      fake.requests.length = 0;
      const flow = sinkFlow({ url: `http://127.0.0.1:${port}` });
      flow.push({ ...flow.find((n) => n.id === "out")!, id: "out2", name: "second", wires: [[], []] });
      await helper.load([influxConfig, influxOut], flow, {});
      const cfg = helper.getNode("cfg") as any;
      const states: string[] = [];
      cfg.connection.register("observer", (s: string) => states.push(s));
      const t0 = Date.now();
      try {
        helper.getNode("out").receive({ topic: "a", payload: record(1) });
        helper.getNode("out2").receive({ topic: "b", payload: record(2) });
        await eventually(() => states.includes("disconnected"), 5000, 20);
        // After 3 s down, each writer's own backoff (300 ms doubling, +-20%) puts its next try
        // at >= 3.6 s: a write well before that can only come from the broadcast.
        await new Promise((r) => setTimeout(r, 3000 - (Date.now() - t0)));
      } finally {
        await fake.start(port);
      }
      cfg.reachability.reportUp(); // what the probe (or another sink) does when /ping answers
      await eventually(() => fake.lines.length === 2, 5000, 10);
      const took = Date.now() - t0;
      assert.ok(took < 3500, `both sinks wrote ${took} ms after the outage began`);
      assert.equal(states[states.length - 1], "connected");
      cfg.connection.deregister("observer");
    });
  });
});
