/**
 * modbus in through node-red-node-test-helper against a real modbus-serial ServerTCP on 127.0.0.1:
 * records, exceptions on output 2 and to Catch, bad maps at deploy, input-triggered polls, the
 * device queue's drops, and reconnecting after the server restarts on the same port.
 */
import assert from "node:assert/strict";
import { encodeValue } from "../../lib/modbus/codec";
import { validateMap } from "../../lib/modbus/map";
import modbusDevice from "../../nodes/modbus-device/modbus-device";
import modbusIn from "../../nodes/modbus-in/modbus-in";
import { MODBUS_IN_DEFAULTS, modbusInConfig, modbusInSettings } from "../../nodes/modbus-in/config";
import { helper, useHelper } from "../support/helper";
import { collect, lastStatus, statusesOf } from "../support/node-status";
import { eventually } from "../support/integration";
import { type TestModbusServer, startModbusServer } from "../lib/modbus/server";
import { FURNACE_MAP, modbusFlow } from "./fixtures/modbus-flows";

const nodes = [modbusDevice, modbusIn];

function loadFurnace(srv: TestModbusServer, values: Record<string, number | boolean>): void {
  for (const d of validateMap(FURNACE_MAP)) srv.set(d.area, d.address, encodeValue(d, values[d.name]!));
}

const VALUES = { zone1_temp: 1561.2, zone2_temp: 1548.9, gas_flow: 812.5, burner_on: true, door_open: false };

describe("modbus-in config (migration, validation)", () => {
  it("migrates a config without version: defaults; a map array becomes JSON text", () => {
    const c = modbusInConfig({ device: "d", map: FURNACE_MAP });
    assert.equal(c.version, 1);
    assert.equal(c.map, JSON.stringify(FURNACE_MAP));
    assert.equal(c.interval, MODBUS_IN_DEFAULTS.interval);
    assert.equal(c.maxSpan, 120);
    assert.equal(modbusInConfig({ ...c, interval: 250 }).interval, 250);
  });

  it("checks the settings", () => {
    const base = modbusInConfig({ device: "d", map: JSON.stringify(FURNACE_MAP) });
    const s = modbusInSettings(base);
    assert.equal(s.map.length, 5);
    assert.equal(s.unitId, undefined);
    assert.equal(modbusInSettings({ ...base, unitId: "3" }).unitId, 3);
    assert.throws(() => modbusInSettings({ ...base, interval: 5 }), /at least 10 ms/);
    assert.throws(() => modbusInSettings({ ...base, maxSpan: 200 }), /max span must be an integer from 1 to 125/);
    assert.throws(() => modbusInSettings({ ...base, unitId: 256 }), /unit id/);
    assert.throws(() => modbusInSettings({ ...base, map: "{" }), /not valid JSON/);
    assert.throws(() => modbusInSettings({ ...base, map: "[]" }), /the map is empty/);
  });
});

describe("modbus-in node (real ServerTCP)", function () {
  this.timeout(40_000);
  useHelper();
  let srv: TestModbusServer;
  beforeEach(async () => {
    srv = await startModbusServer();
    loadFurnace(srv, VALUES);
  });
  afterEach(async () => {
    await srv?.close();
  });

  async function load(input: Record<string, unknown> = {}, device: Record<string, unknown> = {}) {
    await helper.load(nodes, modbusFlow(srv.port, input, device));
    return {
      mb: helper.getNode("mb1"),
      recs: collect(helper.getNode("recs")),
      errs: collect(helper.getNode("errs")),
      caught: collect(helper.getNode("caught")),
      completed: collect(helper.getNode("completed")),
    };
  }

  it("polls the map and emits records: topic = device name, values decoded, green status", async () => {
    const n = await load();
    await eventually(() => n.recs.length >= 3, 10_000, 20);
    const m = n.recs[0];
    assert.equal(m.topic, "furnace-plc");
    assert.equal(m.payload.source, "furnace-plc");
    assert.equal(typeof m.payload.ts, "number");
    assert.deepEqual(m.payload.values, VALUES);
    assert.equal(m.payload.quality, undefined);
    assert.deepEqual([...new Set(srv.requests.map((r) => r.unit))], [1], "the device's unit id");
    await eventually(
      () => lastStatus(n.mb)?.fill === "green" && lastStatus(n.mb)?.text === "modbus-in.status.polls",
      5000,
      20,
    );
    // coalesced: holding 0..1, input 10..11, coil 0, discrete 0 = 4 requests per poll
    const polls = n.recs.length;
    assert.ok(srv.requests.length <= 4 * (polls + 2), `${srv.requests.length} requests for ${polls} polls`);
    assert.deepEqual([...new Set(srv.requests.map((r) => `${r.area}:${r.address}+${r.count}`))].sort(), [
      "coil:0+1",
      "discrete:0+1",
      "holding:0+2",
      "input:10+2",
    ]);
    assert.equal(n.errs.length, 0);
    assert.equal(n.caught.length, 0);
  });

  it("a configured source id and unit id", async () => {
    const n = await load({ topic: "furnace-z", unitId: 7 });
    await eventually(() => n.recs.length >= 1, 10_000, 20);
    assert.equal(n.recs[0].topic, "furnace-z");
    assert.equal(n.recs[0].payload.source, "furnace-z");
    assert.deepEqual([...new Set(srv.requests.map((r) => r.unit))], [7]);
  });

  it("a Modbus exception: quality bad on output 1, the reason on output 2 (once) and to Catch", async () => {
    srv.illegal.input.add(10);
    const n = await load();
    await eventually(() => n.recs.length >= 4, 10_000, 20);
    const r = n.recs[n.recs.length - 1].payload;
    assert.deepEqual(r.quality, { gas_flow: "bad" });
    assert.equal(r.values.gas_flow, undefined);
    assert.equal(r.values.zone1_temp, 1561.2);
    assert.equal(n.errs.length, 1, "reported once while it persists");
    const e = n.errs[0];
    assert.equal(e.event, "modbus-error");
    assert.equal(e.topic, "furnace-plc");
    assert.deepEqual(
      e.payload.errors.map((x: any) => [x.code, x.modbusCode, x.area, x.address, x.tags]),
      [["exception", 2, "input", 10, ["gas_flow"]]],
    );
    assert.match(e.payload.errors[0].reason, /Illegal data address/);
    await eventually(() => n.caught.length >= 1, 5000, 20);
    assert.match(n.caught[0].error.message, /modbus-in\.errors\.read/);
    await eventually(() => lastStatus(n.mb)?.fill === "yellow", 5000, 20);
    // cleared: good again, reported again when it comes back
    srv.illegal.input.clear();
    await eventually(() => n.recs[n.recs.length - 1].payload.quality === undefined, 10_000, 20);
    await eventually(() => lastStatus(n.mb)?.fill === "green", 5000, 20);
    srv.illegal.input.add(10);
    await eventually(() => n.errs.length === 2, 10_000, 20);
  });

  it("rejects a bad map at deploy with a specific message and a red status; inputs fail with done(err)", async () => {
    const bad = [
      { name: "t1", area: "holding", address: 0, type: "float32" },
      { name: "t2", area: "holding", address: 1, type: "int16" },
      { name: "c1", area: "coil", address: 70000, type: "bool" },
      { name: "x", area: "holding", address: 5, type: "int24" },
    ];
    const n = await load({ map: JSON.stringify(bad) });
    const st = lastStatus(n.mb);
    assert.equal(st?.fill, "red");
    assert.match(st?.text ?? "", /^modbus-in\.status\.badMap: /);
    const logged = (helper.log().args as unknown[][]).map((a) => JSON.stringify(a)).join("\n");
    assert.match(logged, /modbus-in\.errors\.badMap: /);
    assert.match(logged, /address 70000 is out of range \(0..65535\)/);
    assert.match(logged, /unknown type \\"int24\\"/);
    assert.match(logged, /\\"t2\\" \(holding 1\) overlaps \\"t1\\" \(holding 0..1\)/);
    n.mb.receive({ payload: "poll" });
    await eventually(() => n.caught.length === 1, 5000, 20);
    assert.match(n.caught[0].error.message, /address 70000/);
    assert.equal(srv.requests.length, 0, "nothing polled");
  });

  it("interval 0: each input message makes one poll, done() after it", async () => {
    const n = await load({ interval: 0 });
    await eventually(() => statusesOf(n.mb).some((s) => s.fill === "green"), 10_000, 20);
    n.mb.receive({ payload: 1 });
    await eventually(() => n.completed.length === 1, 5000, 20);
    assert.equal(n.recs.length, 1);
    assert.deepEqual(n.recs[0].payload.values, VALUES);
    assert.equal(srv.requests.length, 4);
    n.mb.receive({ payload: 2 });
    await eventually(() => n.completed.length === 2, 5000, 20);
    assert.equal(n.recs.length, 2);
    assert.equal(srv.requests.length, 8);
  });

  it("a full device queue drops requests: counted, tags bad, reported on output 2", async () => {
    // queue of 1, refuse-newest, 4 requests per poll, answers held: the 3rd and 4th are refused
    srv.hold();
    const n = await load({ interval: 0 }, { queueSize: 1, dropPolicy: "refuse-newest", timeout: 5000 });
    await eventually(() => statusesOf(n.mb).some((s) => s.fill === "green"), 10_000, 20);
    n.mb.receive({ payload: 1 });
    await eventually(() => srv.requests.length === 1, 5000, 20);
    srv.release();
    await eventually(() => n.completed.length === 1, 5000, 20);
    const r = n.recs[0].payload;
    assert.deepEqual(Object.keys(r.quality).sort(), ["gas_flow", "zone1_temp", "zone2_temp"]);
    assert.deepEqual(r.values, { burner_on: true, door_open: false });
    assert.deepEqual(n.errs[0].payload.errors.map((e: any) => [e.code, e.area]).sort(), [
      ["queue-full", "holding"],
      ["queue-full", "input"],
    ]);
    await eventually(() => lastStatus(n.mb)?.fill === "yellow", 5000, 20);
  });

  it("reconnects after the server stops and a new one starts on the same port: green and polling within 10 s", async () => {
    const n = await load({ interval: 100 });
    await eventually(() => n.recs.length >= 1, 10_000, 20);
    const port = srv.port;
    await srv.close();
    await eventually(() => lastStatus(n.mb)?.fill === "red", 10_000, 20);
    await eventually(() => n.errs.some((m) => m.event === "disconnected"), 5000, 20);
    assert.equal(n.errs.filter((m) => m.event === "disconnected").length, 1, "once per outage");
    srv = await startModbusServer(port);
    loadFurnace(srv, { ...VALUES, zone1_temp: 1570 });
    await eventually(
      () => n.recs.length > 0 && n.recs[n.recs.length - 1].payload.values.zone1_temp === 1570,
      10_000,
      20,
    );
    await eventually(() => lastStatus(n.mb)?.fill === "green", 5000, 20);
    assert.equal(n.errs.filter((m) => m.event === "disconnected").length, 1);
  });
});
