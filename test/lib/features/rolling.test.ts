import assert from "node:assert/strict";
import { RollingWindow, STAT_NAMES, naiveStats } from "../../../lib/features";

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** |a - b| <= tol * max(1, |b|) ... relative with an absolute floor scaled to the data. */
function close(a: number, b: number, tol: number, scale: number, what: string): void {
  const err = Math.abs(a - b);
  const ref = Math.max(Math.abs(b), scale);
  assert.ok(err <= tol * ref, `${what}: got ${a}, want ${b} (rel err ${err / ref})`);
}

function compare(win: RollingWindow, ts: number[], xs: number[], tol: number, what: string): void {
  const got = win.compute();
  const want = naiveStats(ts, xs);
  // scales: the statistic's natural magnitude (a relative error of a near-zero value is meaningless)
  const sd = want.std || 1;
  const mag = Math.max(...xs.map(Math.abs));
  const scales: Record<string, number> = {
    mean: mag,
    std: sd,
    min: mag,
    max: mag,
    rms: mag,
    p2p: sd,
    skew: 1,
    kurt: 1,
    crest: 1,
    z: 1,
    slope: sd / Math.max(1e-9, (ts[ts.length - 1]! - ts[0]!) / 1000),
    n: 1,
  };
  for (const s of STAT_NAMES) close(got[s]!, want[s], tol, scales[s]!, `${what} ${s}`);
}

describe("features: rolling window statistics vs a naive two-pass computation", () => {
  const cases: Array<[string, (r: () => number, i: number) => number]> = [
    ["standard noise", (r) => gauss(r)],
    ["large offset 1e6 + small noise", (r) => 1e6 + 0.01 * gauss(r)],
    ["offset 1e9 + noise", (r) => 1e9 + gauss(r)],
    ["skewed (exponential)", (r) => -Math.log(1 - r())],
    ["drifting ramp + noise", (r, i) => 500 + 0.3 * i + gauss(r)],
    ["negative values", (r) => -1000 + 5 * gauss(r)],
  ];
  for (const [what, gen] of cases) {
    it(`${what}: every statistic within 1e-9 relative, through many window turnovers`, () => {
      const r = rng(42);
      const size = 97;
      const win = new RollingWindow(size);
      const ts: number[] = [];
      const xs: number[] = [];
      let t = 1_700_000_000_000;
      for (let i = 0; i < 5000; i++) {
        t += 10 + Math.floor(r() * 20);
        const x = gen(r, i);
        win.push(t, x);
        ts.push(t);
        xs.push(x);
        if (ts.length > size) {
          ts.shift();
          xs.shift();
        }
        if (i % 37 === 0 || i > 4990) compare(win, ts, xs, 1e-9, `${what} @${i}`);
      }
    });
  }

  it("min/max deques follow removals (monotone up, down, ties)", () => {
    const win = new RollingWindow(3);
    const seq = [5, 4, 3, 2, 1, 1, 1, 9, 9, 2, 8, 0];
    const xs: number[] = [];
    seq.forEach((x, i) => {
      win.push(i * 1000, x);
      xs.push(x);
      if (xs.length > 3) xs.shift();
      assert.equal(win.min, Math.min(...xs), `min @${i}`);
      assert.equal(win.max, Math.max(...xs), `max @${i}`);
    });
  });

  it("grows from a small capacity up to maxSamples and then drops the oldest", () => {
    const win = new RollingWindow(1000, 4);
    for (let i = 0; i < 2500; i++) win.push(i, i % 7);
    assert.equal(win.count, 1000);
    assert.equal(win.oldestTime, 1500);
    assert.equal(win.min, 0);
    assert.equal(win.max, 6);
    const xs = Array.from({ length: 1000 }, (_, k) => (1500 + k) % 7);
    const ts = Array.from({ length: 1000 }, (_, k) => 1500 + k);
    compare(win, ts, xs, 1e-9, "grown");
  });

  it("growing a wrapped ring (after evictions) keeps samples and deques right", () => {
    const r = rng(7);
    const win = new RollingWindow(5000, 2);
    const ts: number[] = [];
    const xs: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const x = Math.round(r() * 100);
      win.push(i, x);
      ts.push(i);
      xs.push(x);
      if (r() < 0.3) {
        const cut = ts[Math.floor(r() * ts.length * 0.5)]!;
        win.evictUntil(cut);
        while (ts.length > 0 && ts[0]! <= cut) {
          ts.shift();
          xs.shift();
        }
      }
      assert.equal(win.count, xs.length);
      if (xs.length > 0) {
        assert.equal(win.min, Math.min(...xs), `min @${i}`);
        assert.equal(win.max, Math.max(...xs), `max @${i}`);
        if (i % 50 === 0) compare(win, ts, xs, 1e-9, `wrapped @${i}`);
      }
    }
  });

  it("time eviction (evictUntil) keeps the samples after the cutoff", () => {
    const win = new RollingWindow(100);
    for (let i = 0; i < 10; i++) win.push(i * 100, i);
    win.evictUntil(450);
    assert.equal(win.count, 5);
    assert.equal(win.oldestTime, 500);
    assert.equal(win.min, 5);
    assert.equal(win.compute(["mean"]).mean, 7);
  });

  it("degenerate statistics are 0, never NaN (one sample, constant window, one time)", () => {
    const one = new RollingWindow(10);
    one.push(1000, 5);
    const a = one.compute();
    assert.deepEqual(
      { std: a.std, skew: a.skew, kurt: a.kurt, z: a.z, slope: a.slope, n: a.n, p2p: a.p2p },
      { std: 0, skew: 0, kurt: 0, z: 0, slope: 0, n: 1, p2p: 0 },
    );
    assert.equal(a.crest, 1);
    const c = new RollingWindow(10);
    for (let i = 0; i < 30; i++) c.push(i, 1e6 + 0.1);
    const b = c.compute();
    assert.equal(b.std, 0);
    assert.equal(b.skew, 0);
    assert.equal(b.kurt, 0);
    assert.equal(b.z, 0);
    assert.equal(b.slope, 0);
    const z = new RollingWindow(10);
    for (let i = 0; i < 5; i++) z.push(7, 0);
    const d = z.compute();
    assert.equal(d.crest, 0);
    assert.equal(d.rms, 0);
    assert.equal(d.slope, 0);
    for (const v of [...Object.values(a), ...Object.values(b), ...Object.values(d)]) assert.ok(Number.isFinite(v));
    assert.deepEqual(new RollingWindow(3).compute(), { n: 0 });
  });

  it("computes only the statistics asked for", () => {
    const w = new RollingWindow(5);
    w.push(0, 1);
    w.push(1000, 3);
    assert.deepEqual(w.compute(["mean", "slope"]), { mean: 2, slope: 2 });
  });

  it("rejects a bad capacity", () => {
    assert.throws(() => new RollingWindow(0), /maxSamples/);
  });
});
