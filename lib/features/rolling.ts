/**
 * A rolling window of (time, value) samples with O(1) amortised statistics.
 *
 * - Sums are kept shifted: d = x - K and u = (t - T0) / 1000 with K = a recent sample value and
 *   T0 = the oldest time at the last rebase. The sums are recomputed from the buffer (new K, new T0)
 *   once as many samples were removed as the window holds: O(n) every n removals, O(1) amortised,
 *   and rounding errors of add/remove never accumulate for longer than one window turnover.
 * - min/max come from monotonic deques (amortised O(1)).
 * - Memory is bounded: at most `maxSamples` samples; the ring buffers grow by doubling up to it.
 *
 * Degenerate statistics are 0, never NaN (features carry finite numbers only):
 *   std = 0 for n < 2; skew = kurt = 0 and z = 0 when the variance is 0 (within rounding);
 *   crest = 0 when rms = 0; slope = 0 for n < 2 or when all samples share one time.
 */

export const STAT_NAMES = [
  "mean",
  "std",
  "min",
  "max",
  "rms",
  "p2p",
  "skew",
  "kurt",
  "crest",
  "z",
  "slope",
  "n",
] as const;
export type StatName = (typeof STAT_NAMES)[number];

const EPS = Number.EPSILON;

export class RollingWindow {
  private cap: number;
  private vals: Float64Array;
  private times: Float64Array;
  /** Ring position of the oldest sample. */
  private head = 0;
  private _count = 0;
  // shifted sums
  private k = 0;
  private t0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private s4 = 0;
  private su = 0;
  private suu = 0;
  private sud = 0;
  private removed = 0;
  // monotonic deques of ring positions (rings of capacity cap); every entry is a live sample
  private minQ: Int32Array;
  private minHead = 0;
  private minLen = 0;
  private maxQ: Int32Array;
  private maxHead = 0;
  private maxLen = 0;

  constructor(
    readonly maxSamples: number,
    initialCapacity = 64,
  ) {
    if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new RangeError("maxSamples must be an integer >= 1");
    this.cap = Math.max(1, Math.min(maxSamples, initialCapacity));
    this.vals = new Float64Array(this.cap);
    this.times = new Float64Array(this.cap);
    this.minQ = new Int32Array(this.cap);
    this.maxQ = new Int32Array(this.cap);
  }

  get count(): number {
    return this._count;
  }

  /** Ring position i steps after the oldest sample. */
  private at(i: number): number {
    const p = this.head + i;
    return p >= this.cap ? p - this.cap : p;
  }

  /** Time of the newest sample (undefined when empty). */
  get lastTime(): number | undefined {
    return this._count === 0 ? undefined : this.times[this.at(this._count - 1)];
  }

  get lastValue(): number | undefined {
    return this._count === 0 ? undefined : this.vals[this.at(this._count - 1)];
  }

  get oldestTime(): number | undefined {
    return this._count === 0 ? undefined : this.times[this.head];
  }

  clear(): void {
    this._count = 0;
    this.head = 0;
    this.s1 = this.s2 = this.s3 = this.s4 = this.su = this.suu = this.sud = 0;
    this.minLen = this.maxLen = 0;
    this.minHead = this.maxHead = 0;
    this.removed = 0;
  }

  /** Add a sample; when the window is at maxSamples the oldest one goes first. */
  push(t: number, x: number): void {
    if (this._count === this.maxSamples) this.shift();
    if (this._count === this.cap) this.grow();
    if (this._count === 0) {
      this.k = x;
      this.t0 = t;
      this.removed = 0;
    }
    const cap = this.cap;
    const pos = this.at(this._count);
    const vals = this.vals;
    vals[pos] = x;
    this.times[pos] = t;
    this._count++;
    this.addSums(t, x);
    // max deque: drop smaller-or-equal values from the back
    const maxQ = this.maxQ;
    let len = this.maxLen;
    let h = this.maxHead;
    while (len > 0) {
      let b = h + len - 1;
      if (b >= cap) b -= cap;
      if (vals[maxQ[b]!]! <= x) len--;
      else break;
    }
    let w = h + len;
    if (w >= cap) w -= cap;
    maxQ[w] = pos;
    this.maxLen = len + 1;
    // min deque: drop greater-or-equal values from the back
    const minQ = this.minQ;
    len = this.minLen;
    h = this.minHead;
    while (len > 0) {
      let b = h + len - 1;
      if (b >= cap) b -= cap;
      if (vals[minQ[b]!]! >= x) len--;
      else break;
    }
    w = h + len;
    if (w >= cap) w -= cap;
    minQ[w] = pos;
    this.minLen = len + 1;
  }

  /** Remove the oldest sample. */
  shift(): void {
    if (this._count === 0) return;
    const pos = this.head;
    const x = this.vals[pos]!;
    const t = this.times[pos]!;
    this._count--;
    this.head = pos + 1 === this.cap ? 0 : pos + 1;
    if (this.maxLen > 0 && this.maxQ[this.maxHead] === pos) {
      this.maxHead = this.maxHead + 1 === this.cap ? 0 : this.maxHead + 1;
      this.maxLen--;
    }
    if (this.minLen > 0 && this.minQ[this.minHead] === pos) {
      this.minHead = this.minHead + 1 === this.cap ? 0 : this.minHead + 1;
      this.minLen--;
    }
    if (this._count === 0) {
      this.clear();
      return;
    }
    this.removeSums(t, x);
    if (++this.removed >= Math.max(this._count, 16)) this.rebase();
  }

  /** Remove every sample with time <= cutoff. */
  evictUntil(cutoff: number): void {
    while (this._count > 0 && this.times[this.head]! <= cutoff) this.shift();
  }

  private addSums(t: number, x: number): void {
    const d = x - this.k;
    const d2 = d * d;
    const u = (t - this.t0) / 1000;
    this.s1 += d;
    this.s2 += d2;
    this.s3 += d2 * d;
    this.s4 += d2 * d2;
    this.su += u;
    this.suu += u * u;
    this.sud += u * d;
  }

  private removeSums(t: number, x: number): void {
    const d = x - this.k;
    const d2 = d * d;
    const u = (t - this.t0) / 1000;
    this.s1 -= d;
    this.s2 -= d2;
    this.s3 -= d2 * d;
    this.s4 -= d2 * d2;
    this.su -= u;
    this.suu -= u * u;
    this.sud -= u * d;
  }

  /** Recompute the sums from the buffer around a fresh shift (the newest value, the oldest time). */
  private rebase(): void {
    this.removed = 0;
    const n = this._count;
    if (n === 0) return;
    this.k = this.lastValue!;
    this.t0 = this.oldestTime!;
    this.s1 = this.s2 = this.s3 = this.s4 = this.su = this.suu = this.sud = 0;
    for (let i = 0; i < n; i++) {
      const p = this.at(i);
      this.addSums(this.times[p]!, this.vals[p]!);
    }
  }

  /** Double the ring (up to maxSamples): samples move to positions 0..count-1. */
  private grow(): void {
    const cap = Math.min(this.maxSamples, this.cap * 2);
    const old = this.cap;
    const vals = new Float64Array(cap);
    const times = new Float64Array(cap);
    for (let i = 0; i < this._count; i++) {
      const p = this.at(i);
      vals[i] = this.vals[p]!;
      times[i] = this.times[p]!;
    }
    const remap = (q: Int32Array, head: number, len: number): Int32Array => {
      const out = new Int32Array(cap);
      for (let i = 0; i < len; i++) {
        const p = q[(head + i) % old]!;
        out[i] = p >= this.head ? p - this.head : p + old - this.head;
      }
      return out;
    };
    this.minQ = remap(this.minQ, this.minHead, this.minLen);
    this.maxQ = remap(this.maxQ, this.maxHead, this.maxLen);
    this.vals = vals;
    this.times = times;
    this.minHead = this.maxHead = 0;
    this.head = 0;
    this.cap = cap;
  }

  get min(): number {
    return this.minLen === 0 ? 0 : this.vals[this.minQ[this.minHead]!]!;
  }

  get max(): number {
    return this.maxLen === 0 ? 0 : this.vals[this.maxQ[this.maxHead]!]!;
  }

  get mean(): number {
    return this._count === 0 ? 0 : this.k + this.s1 / this._count;
  }

  /** The statistics named in `which` (all when omitted), into `out`. Empty window: only n = 0. */
  compute(which: readonly StatName[] = STAT_NAMES, out: Record<string, number> = {}): Record<string, number> {
    return this.computeMask(statMask(which), out);
  }

  /** compute() with the statistics as a bit mask (statMask), for the hot path. */
  computeMask(mask: number, into?: Record<string, number>): Record<string, number> {
    const n = this._count;
    const out = into ?? {};
    if (n === 0) {
      if (mask & BIT.n) out.n = 0;
      return out;
    }
    const md = this.s1 / n;
    const e2 = this.s2 / n;
    let m2 = e2 - md * md;
    // rounding of shifted sums: a variance within a few ulps of E[d^2] is zero
    if (m2 <= 8 * EPS * e2) m2 = 0;
    const mean = this.k + md;
    const min = this.min;
    const max = this.max;
    const std = n > 1 ? Math.sqrt((m2 * n) / (n - 1)) : 0;
    const rms = Math.sqrt(mean * mean + m2);
    if (mask === ALL && into === undefined) {
      // every statistic: one object literal (one hidden class, no transitions)
      return {
        mean,
        std,
        min,
        max,
        rms,
        p2p: max - min,
        skew: this.skew(n, md, e2, m2),
        kurt: this.kurt(n, md, e2, m2),
        crest: rms > 0 ? finite(Math.max(Math.abs(min), Math.abs(max)) / rms) : 0,
        z: std > 0 ? finite((this.lastValue! - mean) / std) : 0,
        slope: this.slope(n),
        n,
      };
    }
    if (mask & BIT.mean) out.mean = mean;
    if (mask & BIT.std) out.std = std;
    if (mask & BIT.min) out.min = min;
    if (mask & BIT.max) out.max = max;
    if (mask & BIT.rms) out.rms = rms;
    if (mask & BIT.p2p) out.p2p = max - min;
    if (mask & BIT.skew) out.skew = this.skew(n, md, e2, m2);
    if (mask & BIT.kurt) out.kurt = this.kurt(n, md, e2, m2);
    if (mask & BIT.crest) out.crest = rms > 0 ? finite(Math.max(Math.abs(min), Math.abs(max)) / rms) : 0;
    if (mask & BIT.z) out.z = std > 0 ? finite((this.lastValue! - mean) / std) : 0;
    if (mask & BIT.slope) out.slope = this.slope(n);
    if (mask & BIT.n) out.n = n;
    return out;
  }

  private skew(n: number, md: number, e2: number, m2: number): number {
    if (m2 === 0) return 0;
    const m3 = this.s3 / n - 3 * md * e2 + 2 * md * md * md;
    return finite(m3 / (m2 * Math.sqrt(m2)));
  }

  private kurt(n: number, md: number, e2: number, m2: number): number {
    if (m2 === 0) return 0;
    const md2 = md * md;
    const m4 = this.s4 / n - 4 * md * (this.s3 / n) + 6 * md2 * e2 - 3 * md2 * md2;
    return finite(m4 / (m2 * m2) - 3);
  }

  private slope(n: number): number {
    const den = n * this.suu - this.su * this.su;
    return n > 1 && den > 1e-12 * n * this.suu ? finite((n * this.sud - this.su * this.s1) / den) : 0;
  }
}

function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

const BIT: Record<StatName, number> = Object.fromEntries(STAT_NAMES.map((s, i) => [s, 1 << i])) as Record<
  StatName,
  number
>;

const ALL = (1 << STAT_NAMES.length) - 1;

/** The bit mask of a list of statistics (for RollingWindow.computeMask). */
export function statMask(which: readonly StatName[]): number {
  let m = 0;
  for (const s of which) m |= BIT[s] ?? 0;
  return m;
}

/** Reference two-pass computation of the same statistics (for tests and documentation). */
export function naiveStats(ts: readonly number[], xs: readonly number[]): Record<StatName, number> {
  const n = xs.length;
  if (n === 0) throw new RangeError("no samples");
  // Two passes over the data shifted by its first value (x - x0 is exact for values of one magnitude):
  // a centred pass in doubles would lose the mean's rounding (an ulp of 1e6 is 1e-10) to every moment.
  const x0 = xs[0]!;
  let sum = 0;
  for (const x of xs) sum += x - x0;
  let my = sum / n;
  let corr = 0;
  for (const x of xs) corr += x - x0 - my;
  my += corr / n;
  const mean = x0 + my;
  let c2 = 0;
  let c3 = 0;
  let c4 = 0;
  for (const x of xs) {
    const d = x - x0 - my;
    c2 += d * d;
    c3 += d * d * d;
    c4 += d * d * d * d;
  }
  const m2 = c2 / n;
  const std = n > 1 ? Math.sqrt(c2 / (n - 1)) : 0;
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  let sq = 0;
  for (const x of xs) sq += x * x;
  const rms = Math.sqrt(sq / n);
  // times relative to the first one (epoch ms / 1000 would lose microseconds to rounding)
  let tm = 0;
  for (const t of ts) tm += (t - ts[0]!) / 1000;
  tm /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const du = (ts[i]! - ts[0]!) / 1000 - tm;
    sxy += du * (xs[i]! - x0 - my);
    sxx += du * du;
  }
  return {
    mean,
    std,
    min,
    max,
    rms,
    p2p: max - min,
    skew: m2 > 0 ? c3 / n / Math.pow(m2, 1.5) : 0,
    kurt: m2 > 0 ? c4 / n / (m2 * m2) - 3 : 0,
    crest: rms > 0 ? Math.max(Math.abs(min), Math.abs(max)) / rms : 0,
    z: std > 0 ? (xs[n - 1]! - mean) / std : 0,
    slope: n > 1 && sxx > 0 ? sxy / sxx : 0,
    n,
  };
}
