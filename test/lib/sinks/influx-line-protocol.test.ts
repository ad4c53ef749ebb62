import assert from "node:assert/strict";
import type { LineRecord } from "../../../lib/record";
import {
  LineMapper,
  escapeFieldKey,
  escapeMeasurement,
  escapeTag,
  formatFloat,
  formatTimestamp,
  quoteString,
} from "../../../lib/sinks/line-protocol";

const rec = (values: LineRecord["values"], extra: Partial<LineRecord> = {}): LineRecord => ({
  source: "cnc-01",
  ts: 1700000000123,
  values,
  ...extra,
});

const lines = (m: LineMapper, records: LineRecord[], overrides = {}): string[] =>
  m.map(records, overrides).items.map((i) => i.line);

describe("lib/sinks/line-protocol", () => {
  describe("escaping", () => {
    it("escapes measurement commas and spaces, not equals", () => {
      assert.equal(escapeMeasurement("cpu"), "cpu");
      assert.equal(escapeMeasurement("a,b c=d"), "a\\,b\\ c=d");
    });

    it("escapes tag keys and values: comma, equals, space; keeps tabs, CR, unicode and quotes", () => {
      assert.equal(escapeTag("plain"), "plain");
      assert.equal(escapeTag("a,b=c d"), "a\\,b\\=c\\ d");
      assert.equal(escapeTag("x\ty\rz"), "x\ty\rz");
      assert.equal(escapeTag('日本 "語"'), '日本\\ "語"');
      assert.equal(escapeTag("a\\b"), "a\\b", "a backslash before an ordinary character stays single");
      assert.equal(escapeTag("a\\,b"), "a\\\\,b", "backslash + comma: only the comma is escaped");
    });

    it("writes a newline as the two characters \\n and drops trailing backslashes", () => {
      assert.equal(escapeTag("two\nlines"), "two\\nlines");
      assert.equal(escapeTag("end\\"), "end");
      assert.equal(escapeTag("\\\\"), "");
      assert.equal(escapeMeasurement("m\n\\"), "m\\n");
    });

    it("doubles a backslash before a special character in field keys (scanned in pairs)", () => {
      assert.equal(escapeFieldKey("k,x"), "k\\,x");
      assert.equal(escapeFieldKey("k\\,x"), "k\\\\\\,x");
      assert.equal(escapeFieldKey("k\\x"), "k\\x");
      assert.equal(escapeFieldKey("a b=c"), "a\\ b\\=c");
    });

    it("quotes string fields: escapes quotes and backslashes, keeps newlines and unicode", () => {
      assert.equal(quoteString("plain"), '"plain"');
      assert.equal(quoteString('say "hi"\\now\nnext ✓'), '"say \\"hi\\"\\\\now\nnext ✓"');
      assert.equal(quoteString("end\\"), '"end\\\\"');
    });

    it("prints floats so that they round-trip", () => {
      for (const v of [0, 1, -1, 0.1 + 0.2, 1 / 3, 1e21, 1.5e-7, 5e-324, Number.MAX_VALUE, -123456.789, 2 ** 53 + 2]) {
        const s = formatFloat(v);
        assert.equal(Number(s), v, s);
        assert.match(s, /^-?(\d+(\.\d+)?)(e[+-]\d+)?$/, s);
      }
      assert.equal(formatFloat(-0), "0");
    });
  });

  describe("timestamps", () => {
    it("converts fractional milliseconds exactly at every precision", () => {
      const ms = 1700000000123.456;
      assert.equal(formatTimestamp(ms, "ns"), "1700000000123456000");
      assert.equal(formatTimestamp(ms, "us"), "1700000000123456");
      assert.equal(formatTimestamp(ms, "ms"), "1700000000123");
      assert.equal(formatTimestamp(ms, "s"), "1700000000");
      assert.equal(formatTimestamp(1700000000123.0005, "ns"), "1700000000123000500");
      // A float multiplication drifts here: 1642015219075.437 * 1e6 = 1642015219075437056.
      assert.equal(formatTimestamp(1642015219075.437, "ns"), "1642015219075437000");
      assert.equal(formatTimestamp(0.5, "ns"), "500000");
      assert.equal(formatTimestamp(0.000001, "ns"), "1");
      assert.equal(formatTimestamp(1e-7, "ns"), "0", "finer than 1 ns is truncated");
      assert.equal(formatTimestamp(999, "s"), "0");
      assert.equal(formatTimestamp(0, "ns"), "0");
    });

    it("matches decimal arithmetic for many random times (no float drift)", () => {
      let checked = 0;
      for (let i = 0; i < 5000; i++) {
        const int = String(1_600_000_000_000 + Math.floor(Math.random() * 200_000_000_000));
        const frac = String(Math.floor(Math.random() * 1000)).padStart(3, "0");
        const text = `${int}.${frac}`;
        const ms = Number(text);
        if (String(ms) !== text.replace(/\.?0+$/, "")) continue; // not representable with these digits
        checked++;
        assert.equal(formatTimestamp(ms, "ns"), `${int}${frac}000`);
        assert.equal(formatTimestamp(ms, "us"), `${int}${frac}`);
        assert.equal(formatTimestamp(ms, "ms"), int);
        assert.equal(formatTimestamp(ms, "s"), int.slice(0, -3));
      }
      assert.ok(checked > 1000, `only ${checked} representable samples`);
    });

    it("integer milliseconds take the fast path and agree with the general one", () => {
      assert.equal(formatTimestamp(1700000000123, "ms"), "1700000000123");
      assert.equal(formatTimestamp(1700000000123, "ns"), "1700000000123000000");
      assert.equal(formatTimestamp(1700000000123, "us"), "1700000000123000");
      assert.equal(formatTimestamp(1700000000999, "s"), "1700000000");
    });

    it("refuses times outside InfluxDB's range and non-finite values", () => {
      assert.equal(formatTimestamp(9223372036854.775, "ns"), "9223372036854775000");
      assert.equal(formatTimestamp(9223372036855, "ms"), undefined);
      assert.equal(formatTimestamp(1e21, "ms"), undefined);
      assert.equal(formatTimestamp(Number.NaN, "ms"), undefined);
      assert.equal(formatTimestamp(Number.POSITIVE_INFINITY, "ms"), undefined);
      assert.equal(formatTimestamp(-1, "ms"), undefined);
    });
  });

  describe("LineMapper", () => {
    it("maps a record: measurement, source tag, floats, booleans, strings, time", () => {
      const m = new LineMapper();
      assert.deepEqual(lines(m, [rec({ load: 41.5, speed: 12000, door: false, program: "O1234" })]), [
        'lineguard,source=cnc-01 load=41.5,speed=12000,door=false,program="O1234" 1700000000123',
      ]);
      const items = m.map([rec({ x: 1, s: "é" })]).items;
      assert.equal(items[0]!.bytes, Buffer.byteLength(items[0]!.line) + 1);
    });

    it("refuses a record whose series key + field key passes InfluxDB's 65,535 bytes, on its own", () => {
      const m = new LineMapper();
      const long = { ...rec({ a: 1 }), source: "s".repeat(70_000) };
      const ok = { ...rec({ a: 1 }), source: "s".repeat(60_000) };
      const r = m.map([long, ok, rec({ a: 2 })]);
      assert.deepEqual(
        r.rejected.map((x) => [x.index, x.code]),
        [[0, "too-large"]],
      );
      assert.equal(r.items.length, 2);
      // multi-byte characters count as bytes
      const wide = { ...rec({ a: 1 }), source: "€".repeat(22_000) };
      assert.equal(m.map([wide]).rejected[0]?.code, "too-large");
    });

    it("adds static and message tags, sorted, later wins; msg.measurement overrides", () => {
      const m = new LineMapper({ measurement: "plant", tags: { line: "A", zone: "1" } });
      assert.deepEqual(lines(m, [rec({ x: 1 })], { measurement: "press 2", tags: { zone: 2, shift: "night" } }), [
        "press\\ 2,line=A,shift=night,source=cnc-01,zone=2 x=1 1700000000123",
      ]);
      const own = new LineMapper({ sourceTag: "machine", tags: { machine: "fixed" } });
      assert.deepEqual(lines(own, [rec({ x: 1 })]), ["lineguard,machine=fixed x=1 1700000000123"]);
      const none = new LineMapper({ sourceTag: "" });
      assert.deepEqual(lines(none, [rec({ x: 1 })]), ["lineguard x=1 1700000000123"]);
    });

    it("escapes weird names and values; skips empty and reserved tags and the field 'time'", () => {
      const m = new LineMapper({ measurement: "m,1" });
      const out = lines(m, [rec({ "a b": 1, time: 2, 'q"': 'he said "x"\\\nok' }, { source: "cell=1, left" })], {
        tags: { empty: "", time: "x", "k,=": "v\\" },
      });
      assert.deepEqual(out, [
        'm\\,1,k\\,\\==v,source=cell\\=1\\,\\ left a\\ b=1,q"="he said \\"x\\"\\\\\nok" 1700000000123',
      ]);
    });

    it("skips bad-quality values unless writeBadQuality; drops strings when asked", () => {
      const r = rec({ a: 1, b: 2, s: "x" }, { quality: { a: "bad", b: "uncertain" } });
      assert.deepEqual(lines(new LineMapper(), [r]), ['lineguard,source=cnc-01 b=2,s="x" 1700000000123']);
      assert.deepEqual(lines(new LineMapper({ writeBadQuality: true, stringValues: "drop" }), [r]), [
        "lineguard,source=cnc-01 a=1,b=2 1700000000123",
      ]);
    });

    it("flattens features and anomaly; a later source of the same key wins", () => {
      const r = rec(
        { load: 40, load_mean: 1 },
        {
          features: { load: { mean: 41.25, std: 0.5 } },
          anomaly: { score: 0.031, threshold: 0.02, anomaly: true, contributions: { load: 1 } },
        },
      );
      assert.deepEqual(lines(new LineMapper(), [r]), [
        "lineguard,source=cnc-01 load=40,load_mean=41.25,load_std=0.5,anomaly_score=0.031,anomaly_threshold=0.02,anomaly=true 1700000000123",
      ]);
      const bad = rec({ x: 1 }, { anomaly: { score: Number.NaN, threshold: 1, anomaly: "yes" as unknown as boolean } });
      assert.deepEqual(lines(new LineMapper(), [bad]), [
        "lineguard,source=cnc-01 x=1,anomaly_threshold=1 1700000000123",
      ]);
    });

    it("rejects a record with no field left (no-field) or an out-of-range time (bad-timestamp), keeps the rest", () => {
      const m = new LineMapper({ stringValues: "drop" });
      const res = m.map([
        rec({ a: 1 }),
        rec({ s: "only a string" }),
        rec({ a: 2 }, { ts: 1e16 }),
        rec({ a: 3 }, { quality: { a: "bad" } }),
        rec({ a: 4 }),
      ]);
      assert.equal(res.items.length, 2);
      assert.deepEqual(
        res.rejected.map((r) => [r.index, r.code]),
        [
          [1, "no-field"],
          [2, "bad-timestamp"],
          [3, "no-field"],
        ],
      );
    });

    it("rejects a field type change per measurement instead of letting the server refuse the batch", () => {
      const m = new LineMapper();
      const res = m.map([rec({ v: 1 }), rec({ v: "text" }), rec({ v: true, w: 1 }), rec({ v: 2 })]);
      assert.deepEqual(
        res.items.map((i) => i.line),
        ["lineguard,source=cnc-01 v=1 1700000000123", "lineguard,source=cnc-01 v=2 1700000000123"],
      );
      assert.deepEqual(
        res.rejected.map((r) => [r.index, r.code]),
        [
          [1, "bad-value"],
          [2, "bad-value"],
        ],
      );
      assert.match(res.rejected[0]!.reason, /field "v" is string but was written as float/);
      // w of the rejected record was not remembered: a string w is fine later.
      assert.equal(m.map([rec({ w: "now a string" })]).rejected.length, 0);
      // Another measurement is independent.
      assert.equal(m.map([rec({ v: "text" })], { measurement: "other" }).rejected.length, 0);
    });

    it("rejects every record of a message with a bad msg.measurement or msg.tags", () => {
      const m = new LineMapper();
      for (const o of [
        { measurement: "" },
        { measurement: 5 },
        { measurement: "#comment" },
        { tags: "x" },
        { tags: { a: {} } },
      ]) {
        const res = m.map([rec({ a: 1 }), rec({ a: 2 })], o);
        assert.equal(res.items.length, 0, JSON.stringify(o));
        assert.deepEqual(
          res.rejected.map((r) => r.code),
          ["bad-value", "bad-value"],
        );
      }
    });

    it("validates its options", () => {
      assert.throws(() => new LineMapper({ measurement: "#x" }), /comment/);
      assert.throws(() => new LineMapper({ precision: "m" as never }), /precision/);
      assert.throws(() => new LineMapper({ tags: { a: [] as unknown as string } }), /tag "a"/);
    });
  });
});
