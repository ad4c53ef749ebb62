import assert from "node:assert/strict";
import { decodeValue, encodeValue } from "../../../lib/modbus/codec";
import { MODBUS_TYPES, type ModbusType, type RegisterDef, WORD_ORDERS } from "../../../lib/modbus/map";
import { SAMPLES } from "./samples";

const h = (type: ModbusType, order?: RegisterDef["order"], extra: Partial<RegisterDef> = {}): RegisterDef => ({
  name: "x",
  area: "holding",
  address: 0,
  type,
  ...(order ? { order } : {}),
  ...extra,
});

describe("modbus codec", () => {
  it("transmits bytes in the documented order (32-bit 0x11223344)", () => {
    const v = 0x11223344;
    assert.deepEqual(encodeValue(h("uint32", "ABCD"), v), [0x1122, 0x3344]);
    assert.deepEqual(encodeValue(h("uint32", "CDAB"), v), [0x3344, 0x1122]);
    assert.deepEqual(encodeValue(h("uint32", "BADC"), v), [0x2211, 0x4433]);
    assert.deepEqual(encodeValue(h("uint32", "DCBA"), v), [0x4433, 0x2211]);
    assert.deepEqual(encodeValue(h("uint32"), v), [0x1122, 0x3344], "default ABCD");
  });

  it("16-bit: ABCD/CDAB -> [AB], BADC/DCBA -> [BA]", () => {
    assert.deepEqual(encodeValue(h("uint16", "ABCD"), 0x1234), [0x1234]);
    assert.deepEqual(encodeValue(h("uint16", "CDAB"), 0x1234), [0x1234]);
    assert.deepEqual(encodeValue(h("uint16", "BADC"), 0x1234), [0x3412]);
    assert.deepEqual(encodeValue(h("uint16", "DCBA"), 0x1234), [0x3412]);
  });

  it("64-bit: word order reversed for CDAB/DCBA, bytes swapped for BADC/DCBA", () => {
    // 1.0 = 3FF0 0000 0000 0000; -2.0000000000000004 = C000 0000 0000 0001
    const v = -2.0000000000000004;
    assert.deepEqual(encodeValue(h("float64", "ABCD"), v), [0xc000, 0, 0, 0x0001]);
    assert.deepEqual(encodeValue(h("float64", "CDAB"), v), [0x0001, 0, 0, 0xc000]);
    assert.deepEqual(encodeValue(h("float64", "BADC"), v), [0x00c0, 0, 0, 0x0100]);
    assert.deepEqual(encodeValue(h("float64", "DCBA"), v), [0x0100, 0, 0, 0x00c0]);
  });

  it("float32 1.5 = 3FC0 0000 in each order", () => {
    assert.deepEqual(encodeValue(h("float32", "ABCD"), 1.5), [0x3fc0, 0]);
    assert.deepEqual(encodeValue(h("float32", "CDAB"), 1.5), [0, 0x3fc0]);
    assert.deepEqual(encodeValue(h("float32", "BADC"), 1.5), [0xc03f, 0]);
    assert.deepEqual(encodeValue(h("float32", "DCBA"), 1.5), [0, 0xc03f]);
    assert.equal(decodeValue(h("float32", "DCBA"), [0, 0xc03f]), 1.5);
  });

  it("round-trips every type in every order", () => {
    for (const type of MODBUS_TYPES) {
      if (type === "bool" || type === "string") continue;
      for (const order of WORD_ORDERS) {
        for (const v of SAMPLES[type]) {
          const def = h(type, order);
          const words = encodeValue(def, v);
          assert.ok(
            words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff),
            `${type} ${order} ${v}: ${words}`,
          );
          assert.equal(decodeValue(def, words), v, `${type} ${order} ${v}`);
        }
      }
    }
  });

  it("bools: coil/discrete bits and registers != 0", () => {
    assert.deepEqual(encodeValue({ name: "c", area: "coil", address: 0, type: "bool" }, true), [1]);
    assert.equal(decodeValue({ name: "c", area: "discrete", address: 0, type: "bool" }, [true]), true);
    assert.equal(decodeValue({ name: "c", area: "coil", address: 0, type: "bool" }, [0]), false);
    assert.equal(decodeValue(h("bool"), [0x8000]), true);
    assert.equal(decodeValue(h("bool"), [0]), false);
    assert.deepEqual(encodeValue(h("bool"), false), [0]);
  });

  it("strings: 2 characters per register, NUL padded; BADC/DCBA swap bytes, register order kept", () => {
    const s = h("string", "ABCD", { length: 4 });
    assert.deepEqual(encodeValue(s, "ABC"), [0x4142, 0x4300, 0, 0]);
    assert.equal(decodeValue(s, [0x4142, 0x4300, 0, 0]), "ABC");
    const sw = h("string", "DCBA", { length: 2 });
    assert.deepEqual(encodeValue(sw, "ABC"), [0x4241, 0x0043]);
    assert.equal(decodeValue(sw, [0x4241, 0x0043]), "ABC");
    assert.equal(decodeValue(h("string", "CDAB", { length: 2 }), [0x4142, 0x4344]), "ABCD");
    assert.equal(decodeValue(s, [0x4f31, 0x3030, 0x3100, 0]), "O1001");
    assert.throws(() => encodeValue(sw, "ABCDE"), /needs 5 bytes, the string holds 4/);
    const u = h("string", undefined, { length: 4 });
    assert.equal(decodeValue(u, encodeValue(u, "Glas ü")), "Glas ü");
  });

  it("scale and offset: value = raw * scale + offset, inverted when encoding", () => {
    const t = h("int16", "ABCD", { scale: 0.1, offset: -50 });
    assert.deepEqual(encodeValue(t, 1561.2), [16112]);
    assert.equal(decodeValue(t, [16112]), 1561.2);
    assert.equal(decodeValue(h("uint16", undefined, { scale: 0.01 }), [12345]), 123.45);
    const f = h("float32", "CDAB", { scale: 2, offset: 1 });
    assert.equal(decodeValue(f, encodeValue(f, 7)), 7);
    assert.equal(
      decodeValue(h("int32", "BADC", { scale: 0.001 }), encodeValue(h("int32", "BADC", { scale: 0.001 }), -12.345)),
      -12.345,
    );
  });

  it("refuses values that do not fit", () => {
    assert.throws(() => encodeValue(h("int16"), 40000), /out of range for int16/);
    assert.throws(() => encodeValue(h("uint16"), -1), /out of range for uint16/);
    assert.throws(() => encodeValue(h("uint32"), 2 ** 32), /out of range for uint32/);
    assert.throws(() => encodeValue(h("int16", undefined, { scale: 0.1 }), 4000), /raw 40000/);
    assert.throws(() => encodeValue(h("int32"), "abc"), /is not a number/);
    assert.throws(() => encodeValue(h("int32"), Number.NaN), /not a finite number/);
    assert.throws(() => decodeValue(h("float32"), [1]), /needs 2 register\(s\), got 1/);
    assert.ok(Number.isNaN(decodeValue(h("float32"), [0x7fc0, 0])));
  });
});
