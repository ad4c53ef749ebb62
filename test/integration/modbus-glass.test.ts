/**
 * The Modbus client and poller against the glass simulator's Modbus server (lib/sim/glass): the
 * fixed test registers in every type and byte/word order decode to their documented values, and
 * both PLCs' maps read completely (no bad quality), with coalescing counted at the server.
 */
import assert from "node:assert/strict";
import { ModbusClient } from "../../lib/modbus/client";
import { planReads } from "../../lib/modbus/coalesce";
import { validateMap } from "../../lib/modbus/map";
import { ModbusPoller } from "../../lib/modbus/poller";
import { GlassModbusServer } from "../../lib/sim/glass/modbus-server";
import { GlassPlant } from "../../lib/sim/glass/model";
import { FORMING_UNIT_ID, FURNACE_UNIT_ID, TEST_VALUES, glassRegisterMap } from "../../lib/sim/glass/register-map";
import { connected } from "../lib/modbus/server";

describe("modbus in against the glass simulator's Modbus server", function () {
  this.timeout(30_000);
  let plant: GlassPlant;
  let sim: GlassModbusServer;
  let client: ModbusClient;

  before(async () => {
    plant = new GlassPlant({ lines: 1, seed: 7 });
    sim = new GlassModbusServer(plant, { port: 0 });
    await sim.start();
    sim.update(plant.step(1000));
    client = new ModbusClient({ host: "127.0.0.1", port: sim.listeningPort, unitId: FURNACE_UNIT_ID });
    client.start();
    await connected(client);
  });
  after(async () => {
    await client?.close();
    await sim?.stop();
  });

  it("decodes the fixed test registers: every type in every byte/word order", async () => {
    const defs = validateMap(glassRegisterMap("furnace", { tests: true }).filter((d) => d.name.startsWith("test_")));
    assert.ok(defs.length >= 20, `${defs.length} test registers`);
    const r = await new ModbusPoller(client, defs).poll();
    assert.deepEqual(r.errors, []);
    const v = r.record!.values;
    for (const d of defs) {
      const type = d.name === "test_scaled" ? "scaled" : d.name === "test_bool" ? "bool" : d.type;
      const want = type === "bool" ? true : TEST_VALUES[type as keyof typeof TEST_VALUES];
      if (d.type === "float32") assert.equal(v[d.name], Math.fround(want as number), d.name);
      else assert.equal(v[d.name], want, d.name);
    }
    for (const order of ["abcd", "cdab", "badc", "dcba"]) {
      assert.ok(`test_float64_${order}` in v && `test_int32_${order}` in v && `test_uint32_${order}` in v, order);
    }
  });

  it("reads both PLCs' maps completely, in the planned number of requests", async () => {
    for (const [plc, unitId] of [
      ["furnace", FURNACE_UNIT_ID],
      ["forming", FORMING_UNIT_ID],
    ] as const) {
      const defs = validateMap(glassRegisterMap(plc));
      const poller = new ModbusPoller(client, defs, { unitId });
      const before = sim.requestCount;
      const r = await poller.poll();
      assert.deepEqual(r.errors, [], plc);
      assert.equal(r.record?.quality, undefined, plc);
      assert.equal(Object.keys(r.record!.values).length, defs.length, plc);
      assert.equal(sim.requestCount - before, planReads(defs).length, plc);
      for (const [k, x] of Object.entries(r.record!.values)) {
        if (typeof x === "number") assert.ok(Number.isFinite(x), `${plc}.${k}`);
      }
    }
  });
});
