import assert from "node:assert/strict";
import { ModbusMapError, findOverlaps, parseMap, registerCount, validateMap } from "../../../lib/modbus/map";

function issues(map: unknown): string[] {
  try {
    validateMap(map);
  } catch (err) {
    assert.ok(err instanceof ModbusMapError, String(err));
    assert.equal(err.code, "bad-map");
    assert.equal(err.retriable, false);
    return err.issues;
  }
  assert.fail("the map was accepted");
}

function rejects(map: unknown, re: RegExp): void {
  const all = issues(map);
  assert.ok(
    all.some((i) => re.test(i)),
    `no issue matches ${re}: ${JSON.stringify(all)}`,
  );
}

describe("modbus map validation", () => {
  it("normalises a good map: numbers from strings, defaults dropped, bit areas default to bool", () => {
    const map = validateMap([
      { name: " temp ", area: "holding", address: "10", type: "int16", scale: "0.1", offset: "", unit: "°C" },
      { name: "speed", area: "input", address: 0, type: "float32", order: "cdab", scale: 1, offset: 0 },
      { name: "run", area: "coil", address: 3 },
      { name: "door", area: "discrete", address: 3, type: "bool", order: "DCBA" },
      { name: "recipe", area: "holding", address: 20, type: "string", length: "8" },
      { name: "flag", area: "holding", address: 11, type: "bool", length: 1 },
    ]);
    assert.deepEqual(map, [
      { name: "temp", area: "holding", address: 10, type: "int16", scale: 0.1, unit: "°C" },
      { name: "speed", area: "input", address: 0, type: "float32", order: "CDAB" },
      { name: "run", area: "coil", address: 3, type: "bool" },
      { name: "door", area: "discrete", address: 3, type: "bool" },
      { name: "recipe", area: "holding", address: 20, type: "string", length: 8 },
      { name: "flag", area: "holding", address: 11, type: "bool" },
    ]);
    assert.equal(registerCount(map[4]!), 8);
    assert.equal(registerCount({ area: "holding", type: "float64" }), 4);
  });

  it("rejects what is not a map", () => {
    rejects({}, /must be an array/);
    rejects([], /empty/);
    rejects([null], /entry 1 is not an object/);
    assert.throws(() => parseMap("[{"), /not valid JSON/);
    assert.deepEqual(parseMap('[{"name":"a","area":"coil","address":1}]'), [
      { name: "a", area: "coil", address: 1, type: "bool" },
    ]);
  });

  it("names each problem of an entry", () => {
    rejects([{ area: "holding", address: 1, type: "int16" }], /entry 1: name is required/);
    rejects(
      [
        { name: "a", area: "holding", address: 1, type: "int16" },
        { name: "a", area: "holding", address: 2, type: "int16" },
      ],
      /entry 2 "a": duplicate name \(also entry 1\)/,
    );
    rejects([{ name: "a", area: "memory", address: 1, type: "int16" }], /unknown area "memory"/);
    rejects([{ name: "a", area: "holding", address: 1, type: "int64" }], /unknown type "int64"/);
    rejects([{ name: "a", area: "holding", address: 1 }], /unknown type "undefined"/);
    rejects(
      [{ name: "a", area: "holding", address: 1, type: "int32", order: "ACBD" }],
      /unknown byte\/word order "ACBD"/,
    );
    rejects([{ name: "a", area: "holding", type: "int16" }], /address is required/);
    rejects(
      [{ name: "a", area: "holding", address: 65536, type: "int16" }],
      /address 65536 is out of range \(0..65535\)/,
    );
    rejects([{ name: "a", area: "holding", address: -1, type: "int16" }], /address -1 is out of range/);
    rejects([{ name: "a", area: "holding", address: 1.5, type: "int16" }], /address 1.5 is out of range/);
    rejects([{ name: "a", area: "holding", address: 65535, type: "float32" }], /needs 2 registers and runs past 65535/);
    rejects([{ name: "a", area: "coil", address: 1, type: "int16" }], /a coil is a single bit, its type must be bool/);
    rejects([{ name: "a", area: "discrete", address: 1, type: "float32" }], /a discrete is a single bit/);
    rejects([{ name: "a", area: "holding", address: 1, type: "string" }], /a string needs a length/);
    rejects([{ name: "a", area: "holding", address: 1, type: "string", length: 126 }], /length 126 must be 1..125/);
    rejects([{ name: "a", area: "holding", address: 1, type: "int16", length: 4 }], /length applies to strings only/);
    rejects(
      [{ name: "a", area: "holding", address: 1, type: "int16", scale: 0 }],
      /scale 0 must be a finite number other than 0/,
    );
    rejects([{ name: "a", area: "holding", address: 1, type: "int16", scale: "x" }], /scale x must be a finite/);
    rejects([{ name: "a", area: "holding", address: 1, type: "int16", offset: "abc" }], /offset abc must be a finite/);
    rejects([{ name: "a", area: "coil", address: 1, scale: 2 }], /scale applies to numeric types only, not bool/);
    rejects(
      [{ name: "a", area: "holding", address: 1, type: "string", length: 2, offset: 1 }],
      /offset applies to numeric/,
    );
    rejects([{ name: "a", area: "holding", address: 1, type: "int16", unit: 5 }], /unit must be a string/);
  });

  it("rejects overlaps within an area, not across areas", () => {
    rejects(
      [
        { name: "a", area: "holding", address: 10, type: "float32" },
        { name: "b", area: "holding", address: 11, type: "int16" },
      ],
      /"b" \(holding 11\) overlaps "a" \(holding 10..11\)/,
    );
    rejects(
      [
        { name: "s", area: "input", address: 0, type: "string", length: 10 },
        { name: "x", area: "input", address: 5, type: "float64" },
        { name: "y", area: "input", address: 9, type: "int16" },
      ],
      /"y" \(input 9\) overlaps "s" \(input 0..9\)/,
    );
    rejects(
      [
        { name: "c1", area: "coil", address: 4 },
        { name: "c2", area: "coil", address: 4 },
      ],
      /"c2" \(coil 4\) overlaps "c1" \(coil 4\)/,
    );
    assert.deepEqual(
      findOverlaps([
        { name: "a", area: "holding", address: 10, type: "float32" },
        { name: "b", area: "input", address: 10, type: "float32" },
        { name: "c", area: "holding", address: 12, type: "int16" },
      ]),
      [],
    );
  });

  it("reports every problem at once, the first ten in the message", () => {
    const bad = Array.from({ length: 12 }, (_, i) => ({
      name: `t${i}`,
      area: "holding",
      address: 70000,
      type: "int16",
    }));
    const all = issues(bad);
    assert.equal(all.length, 12);
    assert.throws(() => validateMap(bad), /and 2 more/);
  });
});
