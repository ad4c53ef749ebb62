import assert from "node:assert/strict";
import modbusDevice from "../../nodes/modbus-device/modbus-device";
import modbusIn from "../../nodes/modbus-in/modbus-in";
import { MODBUS_DEVICE_DEFAULTS, modbusDeviceConfig, modbusDeviceSettings } from "../../nodes/modbus-device/config";
import type { ModbusDeviceConfig } from "../../nodes/modbus-device/types";
import { helper, useHelper } from "../support/helper";
import { lastStatus } from "../support/node-status";
import { eventually } from "../support/integration";
import { type TestModbusServer, startModbusServer } from "../lib/modbus/server";
import { MODBUS_TAB, modbusFlow } from "./fixtures/modbus-flows";

const nodes = [modbusDevice, modbusIn];

describe("modbus-device config (migration, validation)", () => {
  it("migrates a config without version: defaults, tcpHost/tcpPort -> host/port", () => {
    const c = modbusDeviceConfig({ tcpHost: "plc-7", tcpPort: "5020" });
    assert.equal(c.version, 1);
    assert.equal(c.host, "plc-7");
    assert.equal(c.port, "5020");
    assert.equal((c as unknown as Record<string, unknown>).tcpHost, undefined);
    for (const [k, v] of Object.entries(MODBUS_DEVICE_DEFAULTS)) {
      if (k !== "host" && k !== "port") assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, k);
    }
    assert.equal(modbusDeviceConfig({ ...c, unitId: 9 }).unitId, 9);
  });

  it("checks settings and names the bad one", () => {
    const ok = modbusDeviceConfig({});
    const s = modbusDeviceSettings(ok);
    assert.deepEqual([s.host, s.port, s.unitId, s.timeoutMs, s.queueSize], ["127.0.0.1", 502, 1, 2000, 100]);
    const bad = (patch: Partial<ModbusDeviceConfig>, re: RegExp) =>
      assert.throws(() => modbusDeviceSettings({ ...ok, ...patch }), re);
    bad({ port: 70000 }, /port must be an integer 1..65535/);
    bad({ port: "x" }, /port must be an integer/);
    bad({ unitId: 300 }, /unit id/);
    bad({ host: " " }, /host is required/);
    bad({ protocol: "rtu" }, /serial port path is required/);
    bad({ protocol: "udp" as never }, /protocol must be tcp, rtu-over-tcp or rtu/);
    bad({ reconnectMax: 60000 }, /reconnect max \(ms\) must be an integer 100..10000/);
    bad({ reconnectMin: 5000, reconnectMax: 1000 }, /reconnect min \(ms\) must be an integer 10..1000/);
    bad({ queueSize: 0 }, /queue size/);
    bad({ dropPolicy: "whatever" as never }, /drop policy/);
    bad({ timeout: 10 }, /timeout \(ms\)/);
  });
});

describe("modbus-device node (real ServerTCP)", function () {
  this.timeout(30_000);
  useHelper();
  let srv: TestModbusServer;
  before(async () => {
    srv = await startModbusServer();
  });
  after(async () => {
    await srv?.close();
  });

  it("one connection per device, shared by its modbus in nodes; closed on redeploy", async () => {
    const flow = modbusFlow(srv.port);
    const second = { ...flow.find((n) => n.id === "mb1")!, id: "mb2", wires: [["recs2"], []] };
    await helper.load(nodes, [...flow, second, { id: "recs2", type: "helper", z: MODBUS_TAB }]);
    const r1: unknown[] = [];
    const r2: unknown[] = [];
    helper.getNode("recs").on("input", (m: unknown) => r1.push(m));
    helper.getNode("recs2").on("input", (m: unknown) => r2.push(m));
    await eventually(() => r1.length >= 2 && r2.length >= 2, 10_000, 20);
    assert.equal(srv.sockets(), 1, "both nodes poll over one socket");
    assert.equal(lastStatus(helper.getNode("mb2"))?.fill, "green");
    await helper.unload();
    await eventually(() => srv.sockets() === 0, 5000, 20);
  });

  it("a bad device configuration: the modbus in node shows it at deploy", async () => {
    await helper.load(nodes, modbusFlow(srv.port, {}, { port: 99999 }));
    const n = helper.getNode("mb1");
    assert.deepEqual(lastStatus(n), { fill: "red", shape: "ring", text: "modbus-in.status.badConfig" });
    const logged = (helper.log().args as unknown[][]).some(
      (a) => JSON.stringify(a).includes("modbus-device.errors.badConfig") || JSON.stringify(a).includes("port must be"),
    );
    assert.ok(logged, "node.error at deploy");
  });
});
