/**
 * The glass simulator's Modbus TCP server with a real modbus-serial client on 127.0.0.1: every map
 * entry decodes (lib/modbus/codec.ts) to the model's value, the test block to its fixed values, writes
 * reach the model, and unknown addresses/units answer Modbus exceptions.
 */
import assert from "node:assert/strict";
import ModbusRTU from "modbus-serial";
import { decodeValue, encodeValue } from "../../../lib/modbus/codec";
import { validateMap } from "../../../lib/modbus/map";
import { GlassSimulator } from "../../../lib/sim/glass/simulator";
import {
  GLASS_REGISTER_MAP,
  GlassRegisterDef,
  TEST_VALUES,
  glassRegisterMap,
  unitIdsForLine,
} from "../../../lib/sim/glass/register-map";
import type { GlassSample } from "../../../lib/sim/glass/model";

const words = (d: GlassRegisterDef) =>
  d.area === "coil" || d.area === "discrete"
    ? 1
    : d.type === "string"
      ? d.length!
      : { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 }[d.type];

async function expectException(p: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(p, (err: any) => {
    assert.equal(err.modbusCode, code, String(err?.message));
    return true;
  });
}

describe("lib/sim/glass/modbus-server (real modbus-serial client)", function () {
  this.timeout(20000);
  let sim: GlassSimulator;
  let client: ModbusRTU;
  let last: GlassSample[];

  before(async () => {
    sim = new GlassSimulator({ lines: 2, rate: 0.1, seed: 11, modbus: { port: 0 }, opcua: false, http: false });
    await sim.start();
    sim.pause();
    last = sim.tick(1000);
    client = new ModbusRTU();
    await client.connectTCP("127.0.0.1", { port: sim.modbus!.listeningPort });
    client.setTimeout(3000);
  });

  after(async () => {
    await new Promise<void>((r) => (client?.isOpen ? client.close(() => r()) : r()));
    await sim?.stop();
  });

  async function read(unit: number, d: GlassRegisterDef): Promise<number[] | boolean[]> {
    client.setID(unit);
    const n = words(d);
    switch (d.area) {
      case "coil":
        return (await client.readCoils(d.address, n)).data.slice(0, n);
      case "discrete":
        return (await client.readDiscreteInputs(d.address, n)).data.slice(0, n);
      case "input":
        return (await client.readInputRegisters(d.address, n)).data;
      case "holding":
        return (await client.readHoldingRegisters(d.address, n)).data;
    }
  }

  it("the map is valid for the modbus in node, per PLC", () => {
    assert.equal(
      validateMap(glassRegisterMap("furnace", { tests: true })).length,
      GLASS_REGISTER_MAP.filter((d) => d.plc === "furnace").length,
    );
    assert.ok(validateMap(glassRegisterMap("forming")).length > 20);
    const types = new Set(GLASS_REGISTER_MAP.map((d) => `${d.type}/${d.order ?? "ABCD"}`));
    for (const t of ["int32/CDAB", "float32/BADC", "float32/DCBA", "float64/ABCD", "uint16/ABCD", "string/ABCD"]) {
      assert.ok(types.has(t), t);
    }
  });

  it("every entry of both PLCs decodes to the model's value", async () => {
    for (const [k, s] of last.entries()) {
      const ids = unitIdsForLine(k);
      for (const d of GLASS_REGISTER_MAP) {
        if (!d.tag) continue;
        const got = decodeValue(d, await read(ids[d.plc], d));
        const want = s.values[d.tag];
        if (typeof want === "number" && d.scale !== undefined) {
          assert.ok(Math.abs((got as number) - want) <= d.scale / 2 + 1e-9, `${d.name}: ${String(got)} vs ${want}`);
        } else if (typeof want === "boolean" && d.type === "bool") {
          assert.equal(Boolean(got), want, d.name);
        } else {
          assert.equal(got, want, d.name);
        }
      }
    }
    // values follow the model
    const len = GLASS_REGISTER_MAP.find((d) => d.name === "ribbon_length")!;
    const before = decodeValue(len, await read(2, len));
    sim.tick(1000);
    const after = decodeValue(len, await read(2, len));
    assert.ok((after as number) > (before as number));
  });

  it("the test block holds its fixed values in every type and order (one coalesced read)", async () => {
    const tests = GLASS_REGISTER_MAP.filter((d) => d.value !== undefined);
    const first = Math.min(...tests.map((d) => d.address));
    const end = Math.max(...tests.map((d) => d.address + words(d)));
    client.setID(1);
    sim.modbus!.resetCounters();
    const block = (await client.readHoldingRegisters(first, end - first)).data;
    assert.equal(sim.modbus!.requestCount, 1);
    assert.equal(sim.modbus!.requests.get(3), 1);
    for (const d of tests) {
      const got = decodeValue(d, block.slice(d.address - first, d.address - first + words(d)));
      if (d.scale) assert.ok(Math.abs((got as number) - (d.value as number)) < 1e-9, d.name);
      else assert.equal(got, d.value === true ? true : d.value, d.name);
    }
    const f = tests.find((d) => d.name === "test_float32_cdab")!;
    assert.equal(decodeValue(f, block.slice(f.address - first, f.address - first + 2)), TEST_VALUES.float32);
  });

  it("writes: burner coil, zone setpoint, alarm acknowledge, test registers", async () => {
    const line = sim.plant.get("glass-01");
    client.setID(1);
    await client.writeCoil(2, false); // burner_3
    assert.equal(line.lastSample!.values.burner_3, true, "applied with the next sample");
    sim.tick(1000);
    assert.equal((await client.readCoils(0, 6)).data.slice(0, 6).join(), "true,true,false,true,true,true");
    await client.writeCoil(2, true);
    const sp = GLASS_REGISTER_MAP.find((d) => d.name === "furnace_sp2")!;
    await client.writeRegister(sp.address, encodeValue(sp, 1542.5)[0]!);
    sim.tick(1000);
    assert.equal(line.lastSample!.values.furnace_sp2, 1542.5);
    await expectException(client.writeRegister(sp.address, encodeValue(sp, 1800)[0]!), 3);
    // alarm acknowledge (forming PLC coil 0)
    line.setLehrFans(false);
    for (let i = 0; i < 60; i++) sim.tick(1000);
    line.setLehrFans(true);
    for (let i = 0; i < 200; i++) sim.tick(1000);
    const alarms = GLASS_REGISTER_MAP.find((d) => d.name === "alarms")!;
    assert.notEqual(decodeValue(alarms, await read(2, alarms)), 0);
    client.setID(2);
    await client.writeCoil(0, true);
    sim.tick(1000);
    assert.equal(decodeValue(alarms, await read(2, alarms)), 0);
    // FC16 into the test block; the words are kept
    const t = GLASS_REGISTER_MAP.find((d) => d.name === "test_float32_badc")!;
    client.setID(1);
    await client.writeRegisters(t.address, encodeValue(t, -2.5));
    assert.equal(decodeValue(t, await read(1, t)), -2.5);
  });

  it("answers exceptions for unknown addresses, read-only entries and unknown units", async () => {
    client.setID(1);
    await expectException(client.readInputRegisters(14, 1), 2);
    await expectException(client.readInputRegisters(10, 6), 2); // runs past the end of the block
    await expectException(client.readHoldingRegisters(104, 4), 2); // spans the hole 106..199
    await expectException(client.readCoils(6, 1), 2);
    await expectException(client.readDiscreteInputs(3, 1), 2);
    const t = GLASS_REGISTER_MAP.find((d) => d.name === "test_float64_abcd")!;
    await expectException(client.writeRegister(t.address, 1), 2); // part of a 4-register value
    client.setID(2);
    await expectException(client.writeRegister(100, 2), 2); // line_state is read-only
    await expectException(client.writeCoil(5, true), 2);
    client.setID(4); // forming PLC of glass-02: served
    assert.equal((await client.readHoldingRegisters(100, 1)).data[0], 1);
    client.setID(9);
    await expectException(client.readInputRegisters(0, 1), 11);
    // the connection stays usable after exceptions
    client.setID(1);
    assert.equal((await client.readInputRegisters(0, 6)).data.length, 6);
  });
});
