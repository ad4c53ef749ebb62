import assert from "node:assert/strict";
import { parseRecords, parseTimestamp, summariseRejections, toPayload } from "../../lib/record";

describe("lib/record", () => {
  it("normalises a single record, taking the source from msg.topic", () => {
    const r = parseRecords({ ts: 1700000000000, values: { a: 1, b: "x", c: true } }, "cnc-1");
    assert.equal(r.batch, false);
    assert.equal(r.rejected.length, 0);
    assert.deepEqual(r.records[0], { source: "cnc-1", ts: 1700000000000, values: { a: 1, b: "x", c: true } });
  });

  it("parses ISO timestamps and numeric strings", () => {
    assert.equal(parseTimestamp("2024-01-02T03:04:05.678Z"), Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    assert.equal(parseTimestamp("1700000000000"), 1700000000000);
    assert.equal(parseTimestamp(new Date(5)), 5);
    assert.equal(parseTimestamp(8.64e15), 8.64e15);
    // beyond a Date's range: 1e21 reached kafkajs as "1e+21" and failed a whole batch
    for (const bad of ["", "yesterday", NaN, Infinity, -1, {}, null, undefined, true, 1e21, "1e21", 8.64e15 + 1]) {
      assert.equal(parseTimestamp(bad), undefined, String(bad));
    }
  });

  it("keeps a record's own source in a batch and rejects bad ones with reasons", () => {
    const r = parseRecords(
      [
        { ts: 1, values: { a: 1 }, source: "m2" },
        { ts: 2, values: { a: NaN } },
        "nope",
        { values: { a: 1 } },
        { ts: 3, values: {} },
        { ts: 4, values: { a: { deep: 1 } } },
        { ts: 5, values: { a: 1 }, quality: { a: "weird" } },
        { ts: 6, values: { a: 1 }, features: { a: { mean: Infinity } } },
        { ts: 7, values: { a: 2 }, quality: { a: "uncertain" } },
      ],
      "m1",
    );
    assert.equal(r.batch, true);
    assert.deepEqual(
      r.records.map((x) => [x.source, x.ts]),
      [
        ["m2", 1],
        ["m1", 7],
      ],
    );
    assert.deepEqual(
      r.rejected.map((x) => [x.index, x.code]),
      [
        [1, "bad-value"],
        [2, "not-object"],
        [3, "bad-timestamp"],
        [4, "no-values"],
        [5, "bad-value"],
        [6, "bad-quality"],
        [7, "bad-features"],
      ],
    );
    assert.match(summariseRejections(r.rejected, 9), /^7\/9 record\(s\) rejected: \[1\] value of "a" is not finite/);
  });

  it("rejects a missing source, an empty batch and an oversized batch", () => {
    assert.equal(parseRecords({ ts: 1, values: { a: 1 } }, undefined).rejected[0]?.code, "no-source");
    assert.equal(parseRecords([], "m").rejected[0]?.code, "empty-batch");
    assert.equal(parseRecords([{}, {}, {}], "m", { maxBatch: 2 }).rejected[0]?.code, "too-large");
  });

  it("stamps a missing ts only when asked", () => {
    const r = parseRecords({ values: { a: 1 } }, "m", { stampMissingTs: true, now: () => 42 });
    assert.equal(r.records[0]?.ts, 42);
  });

  it("a fake Date (Date.prototype in its chain, no date inside) is not a time, and does not throw", () => {
    const fake = Object.create(new Date(5)) as unknown;
    assert.equal(parseTimestamp(fake), undefined);
    const viaProto: Record<string, unknown> = {};
    viaProto["__proto__"] = new Date(5); // what `o[key] = v` does for the key "__proto__"
    assert.doesNotThrow(() => parseRecords({ ts: viaProto, values: { a: 1 } }, "m"));
    assert.equal(parseRecords({ ts: viaProto, values: { a: 1 } }, "m").rejected[0]?.code, "bad-timestamp");
  });

  it("never throws on hostile input", () => {
    const hostile: unknown[] = [
      null,
      undefined,
      0,
      NaN,
      "",
      Buffer.from("x"),
      [null],
      [[]],
      { ts: {}, values: [] },
      Object.create(null),
    ];
    for (const h of hostile) assert.doesNotThrow(() => parseRecords(h, "m"));
  });

  it("round-trips through toPayload", () => {
    const rec = parseRecords({ ts: 9, values: { a: 1 }, anomaly: { score: 1, threshold: 2, anomaly: false } }, "m")
      .records[0]!;
    assert.deepEqual(parseRecords(toPayload(rec), undefined).records[0], rec);
  });
});
