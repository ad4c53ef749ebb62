import assert from "node:assert/strict";
import { DataType, DataValue, StatusCodes, Variant, VariantArrayType } from "node-opcua";
import { int64ToNumber, qualityOf, timestampOf, toTagValue } from "../../../lib/opcua/convert";

const dv = (v: Variant | null, extra: Partial<DataValue> = {}) => new DataValue({ value: v ?? undefined, ...extra });

describe("lib/opcua/convert", () => {
  it("maps StatusCodes to qualities by severity", () => {
    assert.equal(qualityOf(StatusCodes.Good), "good");
    assert.equal(qualityOf(StatusCodes.GoodClamped), "good");
    assert.equal(qualityOf(StatusCodes.UncertainLastUsableValue), "uncertain");
    assert.equal(qualityOf(StatusCodes.UncertainSensorNotAccurate), "uncertain");
    assert.equal(qualityOf(StatusCodes.BadSensorFailure), "bad");
    assert.equal(qualityOf(StatusCodes.BadNodeIdUnknown), "bad");
    assert.equal(qualityOf(undefined), "good");
    assert.equal(qualityOf(null), "good");
    assert.equal(qualityOf({ value: NaN }), "bad");
    assert.equal(qualityOf({ value: 0xc0000000 }), "bad");
  });

  it("converts numbers, Int64/UInt64, booleans, strings, LocalizedText and DateTime", () => {
    const ok = (v: Variant) => {
      const r = toTagValue(dv(v));
      assert.ok(r.ok, JSON.stringify(r));
      return r.value;
    };
    assert.equal(ok(new Variant({ dataType: DataType.Double, value: 1.5 })), 1.5);
    assert.equal(ok(new Variant({ dataType: DataType.Float, value: 2 })), 2);
    assert.equal(ok(new Variant({ dataType: DataType.Int32, value: -7 })), -7);
    assert.equal(ok(new Variant({ dataType: DataType.Byte, value: 255 })), 255);
    assert.equal(
      ok(new Variant({ dataType: DataType.Int64, arrayType: VariantArrayType.Scalar, value: [1, 2] })),
      2 ** 32 + 2,
    );
    assert.equal(
      ok(
        new Variant({ dataType: DataType.Int64, arrayType: VariantArrayType.Scalar, value: [0xffffffff, 0xfffffffe] }),
      ),
      -2,
    );
    assert.equal(
      ok(
        new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [0xffffffff, 0xffffffff] }),
      ),
      2 ** 64,
    );
    assert.equal(ok(new Variant({ dataType: DataType.Boolean, value: false })), false);
    assert.equal(ok(new Variant({ dataType: DataType.String, value: "O1000" })), "O1000");
    assert.equal(ok(new Variant({ dataType: DataType.LocalizedText, value: { text: "auto" } })), "auto");
    const d = new Date("2026-01-02T03:04:05Z");
    assert.equal(ok(new Variant({ dataType: DataType.DateTime, value: d })), d.getTime());
    assert.equal(int64ToNumber(5n, true), 5);
    assert.equal(int64ToNumber(["a", 1], true), undefined);
  });

  it("rejects arrays, structures, empty and non-finite values with a reason", () => {
    const no = (v: Variant | null, code: string) => {
      const r = toTagValue(dv(v));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.code, code);
        assert.ok(r.reason.length > 0);
      }
    };
    no(
      new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: [1, 2] }),
      "unsupported-type",
    );
    no(new Variant({ dataType: DataType.ByteString, value: Buffer.from("x") }), "unsupported-type");
    no(new Variant({ dataType: DataType.ExtensionObject, value: null }), "no-value");
    no(new Variant({ dataType: DataType.Double, value: NaN }), "bad-value");
    no(new Variant({ dataType: DataType.Double, value: Infinity }), "bad-value");
    no(null, "no-value");
    assert.equal(toTagValue(undefined).ok, false);
    assert.equal(toTagValue({ value: { dataType: 1, value: "yes" } }).ok, false);
    assert.equal(toTagValue({ value: { dataType: 12, value: 5 } }).ok, false);
    assert.equal(toTagValue({ value: { dataType: 8, value: [1] } }).ok, false);
  });

  it("ts: sourceTimestamp, else serverTimestamp, else now (OPC UA null dates ignored)", () => {
    const src = new Date(1_700_000_000_000);
    const srv = new Date(1_700_000_001_000);
    assert.equal(timestampOf({ sourceTimestamp: src, serverTimestamp: srv }), src.getTime());
    assert.equal(timestampOf({ sourceTimestamp: null, serverTimestamp: srv }), srv.getTime());
    assert.equal(timestampOf({ sourceTimestamp: new Date(Date.UTC(1601, 0, 1)), serverTimestamp: srv }), srv.getTime());
    assert.equal(
      timestampOf({}, () => 42),
      42,
    );
    assert.equal(
      timestampOf(undefined, () => 43),
      43,
    );
    assert.equal(
      timestampOf({ sourceTimestamp: new Date(NaN) }, () => 44),
      44,
    );
  });
});
