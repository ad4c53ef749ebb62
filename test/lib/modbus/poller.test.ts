/**
 * The poller against a real modbus-serial ServerTCP on 127.0.0.1: every type in every byte/word
 * order (written with encodeValue into the server's registers, read back through the client and
 * the poller), bits, scale/offset, strings, coalescing counted at the server, exceptions.
 */
import assert from "node:assert/strict";
import { ModbusClient } from "../../../lib/modbus/client";
import { encodeValue } from "../../../lib/modbus/codec";
import { type ModbusArea, type RegisterDef, WORD_ORDERS, validateMap } from "../../../lib/modbus/map";
import { ModbusPoller } from "../../../lib/modbus/poller";
import type { TagValue } from "../../../lib/record";
import { SAMPLES } from "./samples";
import { type TestModbusServer, connected, startModbusServer } from "./server";

/** Write each entry's value into the server with the shared encoder. */
function load(srv: TestModbusServer, defs: readonly RegisterDef[], values: Record<string, TagValue>): void {
  for (const d of defs) srv.set(d.area, d.address, encodeValue(d, values[d.name]!));
}

describe("modbus poller against a real ServerTCP", function () {
  this.timeout(30_000);
  let srv: TestModbusServer;
  let client: ModbusClient;

  before(async () => {
    srv = await startModbusServer();
    client = new ModbusClient({ host: "127.0.0.1", port: srv.port, unitId: 1, timeoutMs: 2000 });
    client.start();
    await connected(client);
  });
  after(async () => {
    await client?.close();
    await srv?.close();
  });

  for (const area of ["holding", "input"] as ModbusArea[]) {
    it(`decodes every type in every order from ${area} registers`, async () => {
      const raw: Record<string, unknown>[] = [];
      const expected: Record<string, TagValue> = {};
      let address = 1000;
      for (const [type, samples] of Object.entries(SAMPLES)) {
        for (const order of WORD_ORDERS) {
          samples.forEach((v, i) => {
            const name = `${type}_${order}_${i}`;
            raw.push({ name, area, address, type, order });
            expected[name] = v;
            address += type === "float64" ? 4 : type.endsWith("32") ? 2 : 1;
          });
        }
      }
      for (const order of WORD_ORDERS) {
        raw.push({ name: `str_${order}`, area, address, type: "string", length: 5, order });
        expected[`str_${order}`] = `Z1-${order}`;
        address += 5;
        raw.push({ name: `bool_${order}`, area, address, type: "bool", order });
        expected[`bool_${order}`] = true;
        address += 1;
      }
      const defs = validateMap(raw);
      load(srv, defs, expected);
      const poller = new ModbusPoller(client, defs);
      const before = srv.requests.length;
      const r = await poller.poll();
      assert.deepEqual(r.errors, []);
      assert.equal(r.record?.quality, undefined);
      assert.deepEqual(r.record?.values, expected);
      // coalesced: ceil(total span / 120) requests, counted at the server
      const span = address - 1000;
      assert.equal(r.requests, Math.ceil(span / 120));
      const seen = srv.requests.slice(before);
      assert.equal(seen.length, poller.plan.length);
      assert.ok(seen.length <= Math.ceil(span / 100), `${seen.length} requests for ${span} registers`);
      assert.ok(seen.every((q) => q.area === area && q.count <= 120));
      assert.equal(
        seen.reduce((s, q) => s + q.count, 0),
        span,
      );
    });
  }

  it("reads coils and discrete inputs, bits packed into few requests", async () => {
    const defs = validateMap([
      ...Array.from({ length: 20 }, (_, i) => ({ name: `c${i}`, area: "coil", address: i * 3 })),
      ...Array.from({ length: 10 }, (_, i) => ({ name: `d${i}`, area: "discrete", address: 500 + i })),
    ]);
    const values: Record<string, TagValue> = {};
    defs.forEach((d, i) => (values[d.name] = i % 3 === 0));
    load(srv, defs, values);
    const before = srv.requests.length;
    const r = await new ModbusPoller(client, defs).poll();
    assert.deepEqual(r.record?.values, values);
    assert.deepEqual(
      srv.requests.slice(before).map((q) => `${q.fc}:${q.address}+${q.count}`),
      ["1:0+58", "2:500+10"],
    );
  });

  it("scale and offset; maxSpan and maxGap change the request count seen by the server", async () => {
    const defs = validateMap([
      { name: "zone1", area: "holding", address: 2000, type: "int16", scale: 0.1 },
      { name: "zone2", area: "holding", address: 2001, type: "int16", scale: 0.1 },
      { name: "level", area: "holding", address: 2002, type: "uint16", scale: 0.01, offset: -100 },
      { name: "flow", area: "holding", address: 2010, type: "float32", order: "CDAB", scale: 3.6 },
      { name: "speed", area: "holding", address: 2040, type: "uint32", order: "DCBA", scale: 0.001 },
    ]);
    const values = { zone1: 1561.2, zone2: -12.5, level: 321.09, flow: 36, speed: 12.345 };
    load(srv, defs, values);
    const count = async (opts: object): Promise<number> => {
      const before = srv.requests.length;
      const r = await new ModbusPoller(client, defs, opts).poll();
      assert.deepEqual(r.record?.values, values);
      assert.equal(r.requests, srv.requests.length - before);
      return srv.requests.length - before;
    };
    assert.equal(await count({}), 2, "default gap 10: 2000..2011 and 2040..2041");
    assert.equal(await count({ maxGap: 30 }), 1, "one request 2000..2041");
    assert.equal(await count({ maxGap: 30, maxSpan: 20 }), 2);
    assert.equal(await count({ maxGap: 0 }), 3, "2000..2002, 2010..2011, 2040..2041");
  });

  it("a Modbus exception makes the tags bad and is reported; a coalesced read is split to isolate it", async () => {
    const defs = validateMap([
      { name: "a", area: "input", address: 3000, type: "uint16" },
      { name: "b", area: "input", address: 3001, type: "uint16" },
      { name: "c", area: "input", address: 3005, type: "float32" },
      { name: "lonely", area: "input", address: 3500, type: "int16" },
    ]);
    load(srv, defs, { a: 1, b: 2, c: 2.5, lonely: -7 });
    srv.illegal.input.add(3001);
    srv.illegal.input.add(3500);
    try {
      const poller = new ModbusPoller(client, defs, { now: () => 1732363200123 });
      const before = srv.requests.length;
      const r = await poller.poll();
      assert.deepEqual(r.record, {
        ts: 1732363200123,
        values: { a: 1, c: 2.5 },
        quality: { b: "bad", lonely: "bad" },
      });
      const errs = [...r.errors].sort((x, y) => x.address - y.address);
      assert.deepEqual(
        errs.map((e) => [e.code, e.modbusCode, e.area, e.address, e.count, e.tags, e.retriable]),
        [
          ["exception", 2, "input", 3001, 1, ["b"], false],
          ["exception", 2, "input", 3500, 1, ["lonely"], false],
        ],
      );
      assert.match(errs[0]!.reason, /Illegal data address/);
      // 3000+7 refused, then a, b, c one by one; lonely once
      assert.deepEqual(
        srv.requests
          .slice(before)
          .map((q) => `${q.address}+${q.count}`)
          .sort(),
        ["3000+1", "3000+7", "3001+1", "3005+2", "3500+1"],
      );
      // the split plan is kept: the next poll makes 4 requests, none refused as a whole
      const before2 = srv.requests.length;
      const r2 = await poller.poll();
      assert.equal(r2.requests, 4);
      assert.equal(srv.requests.length - before2, 4);
      assert.deepEqual(r2.record?.values, { a: 1, c: 2.5 });
      // the device serves the address again: good again
      srv.illegal.input.clear();
      const r3 = await poller.poll();
      assert.deepEqual(r3.record, { ts: 1732363200123, values: { a: 1, b: 2, c: 2.5, lonely: -7 } });
      assert.deepEqual(r3.errors, []);
    } finally {
      srv.illegal.input.clear();
    }
  });

  it("a float that decodes to NaN is bad, not a value; no record when nothing could be read", async () => {
    const defs = validateMap([
      { name: "t", area: "holding", address: 4000, type: "float32" },
      { name: "u", area: "holding", address: 4002, type: "int16" },
    ]);
    srv.set("holding", 4000, [0x7fc0, 0]);
    srv.set("holding", 4002, [5]);
    const r = await new ModbusPoller(client, defs).poll();
    assert.deepEqual(r.record?.values, { u: 5 });
    assert.deepEqual(r.record?.quality, { t: "bad" });
    assert.equal(r.errors[0]?.code, "bad-value");
    srv.illegal.holding.add(4000);
    try {
      const r2 = await new ModbusPoller(client, defs, { maxGap: 0 }).poll();
      assert.deepEqual(r2.record?.values, { u: 5 });
      const only = await new ModbusPoller(client, [defs[0]!]).poll();
      assert.equal(only.record, undefined);
      assert.equal(only.errors.length, 1);
    } finally {
      srv.illegal.holding.clear();
    }
  });
});
