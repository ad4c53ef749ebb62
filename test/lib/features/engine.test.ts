import assert from "node:assert/strict";
import { FeatureEngine, FeatureOptions, featureMessage, parseRatios, parseTagList } from "../../../lib/features";
import type { LineRecord } from "../../../lib/record";

const rec = (
  ts: number,
  values: Record<string, number | string | boolean>,
  source = "m1",
  quality?: LineRecord["quality"],
): LineRecord => (quality ? { source, ts, values, quality } : { source, ts, values });

function engine(o: Partial<FeatureOptions>): FeatureEngine {
  return new FeatureEngine({ stats: ["mean", "n", "min", "max"], ...o });
}

describe("features engine: windows", () => {
  it("treats a sample beyond 1e75 as bad: one 1e308 does not make the tag's statistics NaN for good", () => {
    // found by the pipeline fuzz: the window's sums of 4th powers overflowed and Inf - Inf stayed NaN
    const e = new FeatureEngine({ stats: ["mean", "std", "kurt", "n"], windowType: "count", size: 3, hop: 1 });
    const seq = [1, 2, 1e308, 1, 2, 3, 4];
    const out = seq.map((v, i) => e.process(rec(i * 1000, { b: v })));
    const last = out[out.length - 1]!.features!.b!;
    assert.ok(Number.isFinite(last.std!), `std ${last.std}`);
    assert.equal(last.mean, 3);
    for (const r of out) if (r.emitted && r.features?.b) assert.ok(r.features.b.n! <= 3);
  });

  it("count/sliding with hop: emits every hop records over the last size samples", () => {
    const e = engine({ windowType: "count", size: 3, hop: 2, mode: "sliding" });
    const got: Array<number | undefined> = [];
    for (let i = 1; i <= 7; i++) {
      const r = e.process(rec(i * 1000, { a: i }));
      got.push(r.emitted ? r.features!.a!.mean : undefined);
    }
    // windows at record 2: [1,2]; 4: [2,3,4]; 6: [4,5,6]
    assert.deepEqual(got, [undefined, 1.5, undefined, 3, undefined, 5, undefined]);
  });

  it("count/tumbling: emits every size records, then starts empty", () => {
    const e = engine({ windowType: "count", size: 3, mode: "tumbling", hop: 1 });
    const out: Array<Record<string, number>> = [];
    for (let i = 1; i <= 7; i++) {
      const r = e.process(rec(i, { a: i }));
      if (r.emitted) out.push(r.features!.a!);
    }
    assert.deepEqual(out, [
      { mean: 2, n: 3, min: 1, max: 3 },
      { mean: 5, n: 3, min: 4, max: 6 },
    ]);
  });

  it("time/sliding: keeps (ts - size, ts] and emits hop ms after the last emission", () => {
    const e = engine({ windowType: "time", size: 1000, hop: 500, mode: "sliding" });
    const out: Array<[number, Record<string, number>]> = [];
    for (let t = 0; t <= 3000; t += 250) {
      const r = e.process(rec(t, { a: t }));
      if (r.emitted) out.push([t, r.features!.a!]);
    }
    assert.deepEqual(
      out.map(([t]) => t),
      [500, 1000, 1500, 2000, 2500, 3000],
    );
    // at 2000: samples 1250, 1500, 1750, 2000
    assert.deepEqual(out[3]![1], { mean: 1625, n: 4, min: 1250, max: 2000 });
  });

  it("time/sliding with hop 0 emits at every record; a silent tag's window drains", () => {
    const e = engine({ windowType: "time", size: 1000, hop: 0 });
    assert.equal(e.process(rec(0, { a: 1, b: 1 })).emitted, true);
    e.process(rec(500, { a: 2, b: 2 }));
    const r = e.process(rec(1600, { a: 3 }));
    assert.deepEqual(r.features!.a, { mean: 3, n: 1, min: 3, max: 3 });
    assert.equal(r.features!.b, undefined, "b has no sample in (600, 1600]");
  });

  it("time/tumbling: the window opens with its first record and emits at the first record >= size later", () => {
    const e = engine({ windowType: "time", size: 1000, mode: "tumbling" });
    const out: Array<[number, number]> = [];
    for (const t of [0, 300, 700, 1000, 1100, 1900, 2150]) {
      const r = e.process(rec(t, { a: t }));
      if (r.emitted) out.push([t, r.features!.a!.n!]);
    }
    assert.deepEqual(out, [
      [1000, 4],
      [2150, 3],
    ]);
  });

  it("keeps windows per source and per tag", () => {
    const e = engine({ size: 10 });
    e.process(rec(1, { a: 1 }, "m1"));
    e.process(rec(1, { a: 100 }, "m2"));
    const r1 = e.process(rec(2, { a: 3, b: 7 }, "m1"));
    const r2 = e.process(rec(2, { a: 200 }, "m2"));
    assert.equal(r1.features!.a!.mean, 2);
    assert.equal(r1.features!.b!.n, 1);
    assert.equal(r2.features!.a!.mean, 150);
    assert.equal(r2.features!.b, undefined);
    assert.equal(e.sourceCount, 2);
  });

  it("list mode: only the listed tags go out; ratio and tensor tags are tracked too", () => {
    const e = engine({ tags: ["a"], ratios: parseRatios("b/c") });
    const r = e.process(rec(1, { a: 1, b: 10, c: 4, d: 9 }));
    assert.deepEqual(Object.keys(r.features!).sort(), ["__ratios", "a"]);
    assert.deepEqual(r.features!.__ratios, { "b/c": 2.5 });
  });

  it("ratios use window means; left out while the denominator's mean is 0 or below min samples", () => {
    const e = engine({ ratios: parseRatios("p/s"), minSamples: 2 });
    assert.equal(e.process(rec(1, { p: 10, s: 5 })).features!.__ratios, undefined);
    assert.deepEqual(e.process(rec(2, { p: 30, s: 5 })).features!.__ratios, { "p/s": 4 });
    const z = engine({ ratios: parseRatios("p/s") });
    assert.equal(z.process(rec(1, { p: 10, s: 0 })).features!.__ratios, undefined);
  });

  it("min samples: a tag below it is left out", () => {
    const e = engine({ minSamples: 3 });
    assert.deepEqual(e.process(rec(1, { a: 1 })).features, {});
    e.process(rec(2, { a: 1 }));
    assert.equal(e.process(rec(3, { a: 1 })).features!.a!.n, 3);
  });
});

describe("features engine: quality and gaps", () => {
  const q = (tag: string, v: "bad" | "uncertain") => ({ [tag]: v });

  it("skip: bad-quality samples are ignored", () => {
    const e = engine({ policy: "skip" });
    e.process(rec(1, { a: 1 }));
    const r = e.process(rec(2, { a: 100 }, "m1", q("a", "bad")));
    assert.deepEqual(r.features!.a, { mean: 1, n: 1, min: 1, max: 1 });
    assert.equal(e.counters.bad, 1);
  });

  it("hold: a bad sample repeats the last good value; a non-number of a listed tag is bad", () => {
    const e = engine({ policy: "hold", tags: ["a"] });
    e.process(rec(1, { a: 4 }));
    e.process(rec(2, { a: 100 }, "m1", q("a", "bad")));
    const r = e.process(rec(3, { a: "offline" }));
    assert.deepEqual(r.features!.a, { mean: 4, n: 3, min: 4, max: 4 });
    assert.equal(e.counters.held, 2);
  });

  it("uncertain counts as bad only when so set", () => {
    const a = engine({});
    a.process(rec(1, { x: 1 }, "m1", q("x", "uncertain")));
    assert.equal(a.counters.bad, 0);
    const b = engine({ uncertainIsBad: true });
    b.process(rec(1, { x: 1 }, "m1", q("x", "uncertain")));
    assert.equal(b.counters.bad, 1);
  });

  it("insufficient: tags below min samples come out as { n, insufficient: 1 }", () => {
    const e = engine({ policy: "insufficient", minSamples: 3 });
    assert.deepEqual(e.process(rec(1, { a: 1 })).features, { a: { n: 1, insufficient: 1 } });
    e.process(rec(2, { a: 9 }, "m1", q("a", "bad")));
    assert.deepEqual(e.process(rec(3, { a: 2 })).features, { a: { n: 2, insufficient: 1 } });
    assert.equal(e.process(rec(4, { a: 3 })).features!.a!.mean, 2);
    const l = engine({ policy: "insufficient", tags: ["a", "b"] });
    assert.deepEqual(l.process(rec(1, { a: 1 })).features!.b, { n: 0, insufficient: 1 });
  });

  it("a gap resets the window when so set", () => {
    const e = engine({ gapMs: 100, gapReset: true });
    e.process(rec(0, { a: 1 }));
    e.process(rec(50, { a: 2 }));
    const r = e.process(rec(500, { a: 10 }));
    assert.deepEqual(r.features!.a, { mean: 10, n: 1, min: 10, max: 10 });
    assert.equal(e.counters.gaps, 1);
  });

  it("hold fills a gap with the last good value every gapMs, bounded by the window", () => {
    const e = engine({ gapMs: 100, policy: "hold", size: 5 });
    e.process(rec(0, { a: 1 }));
    const r = e.process(rec(350, { a: 5 }));
    // fills at 100, 200, 300 with 1, then 5
    assert.deepEqual(r.features!.a, { mean: 9 / 5, n: 5, min: 1, max: 5 });
    const big = engine({ gapMs: 1, policy: "hold", size: 4 });
    big.process(rec(0, { a: 1 }));
    assert.equal(big.process(rec(1e9, { a: 2 })).features!.a!.n, 4);
    const time = engine({ windowType: "time", size: 250, hop: 0, gapMs: 100, policy: "hold" });
    time.process(rec(0, { a: 1 }));
    // only fills inside (1000 - 250, 1000]: 800, 900
    assert.equal(time.process(rec(1000, { a: 2 })).features!.a!.n, 3);
  });

  it("late samples are skipped and counted", () => {
    const e = engine({});
    e.process(rec(1000, { a: 1 }));
    const r = e.process(rec(500, { a: 50 }));
    assert.equal(r.features!.a!.n, 1);
    assert.equal(e.counters.late, 1);
  });
});

describe("features engine: tensor, LRU, bounds", () => {
  it("emits a T x F window (oldest first) only when T rows are present; holds missing values", () => {
    const e = engine({ tensor: { size: 3, tags: ["a", "b"] } });
    assert.equal(e.process(rec(1, { a: 1, b: 10 })).window, undefined);
    e.process(rec(2, { a: 2 }));
    const r = e.process(rec(3, { a: 3, b: 30 }, "m1", { b: "bad" }));
    assert.deepEqual(r.window, {
      source: "m1",
      tags: ["a", "b"],
      ts: [1, 2, 3],
      data: [
        [1, 10],
        [2, 10],
        [3, 10],
      ],
    });
    const r2 = e.process(rec(4, { a: 4, b: 40 }));
    assert.deepEqual(r2.window!.data, [
      [2, 10],
      [3, 10],
      [4, 40],
    ]);
  });

  it("tensor rows start once every tensor tag had a good value; a gap resets it when so set", () => {
    const e = engine({ tensor: { size: 2, tags: ["a", "b"] }, gapMs: 100, gapReset: true });
    e.process(rec(0, { a: 1 }));
    e.process(rec(10, { a: 1, b: 1 }));
    assert.ok(e.process(rec(20, { a: 2, b: 2 })).window);
    assert.equal(e.process(rec(500, { a: 3, b: 3 })).window, undefined);
    assert.ok(e.process(rec(510, { a: 3, b: 3 })).window);
    // a record without any tensor tag adds no row
    const o = engine({ tensor: { size: 2, tags: ["a"] } });
    o.process(rec(1, { a: 1 }));
    assert.equal(o.process(rec(2, { other: 5 })).window, undefined);
    assert.deepEqual(o.process(rec(3, { a: 3 })).window!.ts, [1, 3]);
  });

  it("LRU cap on sources: the least recently seen source is forgotten", () => {
    const e = engine({ maxKeys: 2 });
    e.process(rec(1, { a: 1 }, "s1"));
    e.process(rec(1, { a: 1 }, "s2"));
    e.process(rec(2, { a: 1 }, "s1"));
    e.process(rec(1, { a: 1 }, "s3")); // evicts s2
    assert.equal(e.sourceCount, 2);
    assert.equal(e.counters.evictedSources, 1);
    assert.equal(e.process(rec(3, { a: 1 }, "s1")).features!.a!.n, 3);
    assert.equal(e.process(rec(2, { a: 1 }, "s2")).features!.a!.n, 1, "s2 starts over");
  });

  it("caps tags per source in every-numeric-tag mode", () => {
    const e = engine({ maxTags: 3 });
    const r = e.process(rec(1, { a: 1, b: 2, c: 3, d: 4, e: 5 }));
    assert.deepEqual(Object.keys(r.features!), ["a", "b", "c"]);
    assert.equal(e.counters.droppedTags, 2);
  });

  it("time windows hold at most maxSamples per tag", () => {
    const e = engine({ windowType: "time", size: 1e9, hop: 0, maxSamples: 50 });
    let r;
    for (let i = 0; i < 500; i++) r = e.process(rec(i, { a: i }));
    assert.equal(r!.features!.a!.n, 50);
    assert.equal(r!.features!.a!.min, 450);
  });
});

describe("features: featureMessage (one message)", () => {
  it("a batch in -> a batch out, in order, with features merged into existing ones", () => {
    const e = engine({});
    const r = featureMessage(
      e,
      [
        { ts: 1, values: { a: 1 }, features: { old: { x: 1 } } },
        { ts: 2, values: { a: 3 }, source: "m2" },
      ],
      "m1",
    );
    assert.equal(r.batch, true);
    assert.equal(r.records.length, 2);
    assert.deepEqual(r.records[0]!.features, { old: { x: 1 }, a: { mean: 1, n: 1, min: 1, max: 1 } });
    assert.equal(r.records[1]!.source, "m2");
    assert.equal(r.rejected.length, 0);
  });

  it("rejects bad records and records without a numeric tracked tag, with indexes", () => {
    const e = engine({ tags: ["a"] });
    const r = featureMessage(
      e,
      [
        42,
        { ts: 1, values: { a: 1 } },
        { ts: 2, values: { b: 1 } },
        { ts: "x", values: { a: 1 } },
        { ts: 3, values: { a: 2 } },
      ],
      "m1",
    );
    assert.deepEqual(
      r.rejected.map((x) => [x.index, x.code]),
      [
        [0, "not-object"],
        [2, "no-values"],
        [3, "bad-timestamp"],
      ],
    );
    assert.deepEqual(r.rejected[1]!.input, { ts: 2, values: { b: 1 } });
    assert.equal(r.records.length, 2);
    assert.equal(r.total, 5);
  });

  it("never throws on junk: empty batch, deep objects, Buffers, NaN", () => {
    const e = engine({});
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 10000; i++) deep = deep.x = {} as Record<string, unknown>;
    for (const p of [
      [],
      root,
      Buffer.from("abc"),
      { ts: 1, values: { a: NaN } },
      null,
      undefined,
      "str",
      { ts: 1, values: { s: "x" } },
    ]) {
      const r = featureMessage(e, p, "m1");
      assert.equal(r.records.length, 0);
      assert.equal(r.rejected.length, 1, JSON.stringify(r.rejected[0]?.code));
    }
  });

  it("emit 'every' forwards records that did not emit, without features", () => {
    const e = engine({ hop: 2, emit: "every" });
    const r = featureMessage(
      e,
      [
        { ts: 1, values: { a: 1 } },
        { ts: 2, values: { a: 2 } },
      ],
      "m1",
    );
    assert.equal(r.records.length, 2);
    assert.equal(r.records[0]!.features, undefined);
    assert.equal(r.records[1]!.features!.a!.n, 2);
    const w = engine({ hop: 2 });
    assert.equal(featureMessage(w, { ts: 1, values: { a: 1 } }, "m1").records.length, 0);
  });

  it("window tensors carry the index of their record", () => {
    const e = engine({ tensor: { size: 2, tags: ["a"] } });
    const r = featureMessage(
      e,
      [1, 2, 3].map((t) => ({ ts: t, values: { a: t } })),
      "m1",
    );
    assert.deepEqual(
      r.windows.map((w) => [w.index, w.data]),
      [
        [1, [[1], [2]]],
        [2, [[2], [3]]],
      ],
    );
  });

  it("parses tag and ratio lists", () => {
    assert.deepEqual(parseTagList(" a, b  c,a\nd "), ["a", "b", "c", "d"]);
    assert.deepEqual(parseRatios("power / spindle_speed, a/b"), [
      { name: "power/spindle_speed", num: "power", den: "spindle_speed" },
      { name: "a/b", num: "a", den: "b" },
    ]);
    assert.throws(() => parseRatios("a/b/c"), /numerator\/denominator/);
    assert.throws(() => parseTagList(5), /comma-separated/);
  });
});
