/**
 * A seeded generator of LineGuard messages for fuzz tests: valid records (docs/record.md) mixed with
 * mutations (wrong types per field, NaN/Infinity/-0, huge/empty/odd unicode strings, very deep objects,
 * batches of 0..1000 records, Buffers and typed arrays, null/undefined payloads, prototype tricks,
 * dates in every form, circular references, huge numbers and BigInt, throwing getters, odd msg.window).
 *
 * Replay a failure with LINEGUARD_FUZZ_SEED=<the printed seed>. The same seed gives the same sequence.
 */

/** The seed of this run: LINEGUARD_FUZZ_SEED when set, else a random one (print it). */
export function fuzzSeed(): number {
  const env = process.env.LINEGUARD_FUZZ_SEED;
  if (env !== undefined && env.trim() !== "") {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`LINEGUARD_FUZZ_SEED must be an integer, got "${env}"`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** mulberry32: small, fast, good enough for fuzzing; the same as test/lib/validate's fuzz. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One generated input: the message and the name of the mutation that made it (for failure reports). */
export interface FuzzCase {
  kind: string;
  msg: Record<string, unknown>;
}

export interface FuzzOptions {
  /** Sources of the valid records (few, so that feature windows fill). Default m0..m3. */
  sources?: string[];
  /** Numeric tags every valid record carries. Default a, b, c (the fixture model's features). */
  tags?: string[];
  /** First timestamp (epoch ms). Default 2025-01-01. */
  t0?: number;
  /** Share of valid messages, 0..1. Default 0.45. */
  validShare?: number;
  /**
   * Depth of the deepest objects. Default 10000. Node-RED's cloneMessage (lodash cloneDeep, recursive)
   * overflows the stack at a few thousand levels; flows with Catch/Complete nodes or fan-out wires
   * clone every such message, so use 1000 there and send the 10k-deep ones with `uncloneable()`.
   */
  maxDepth?: number;
  /** Records with a property getter that throws (cloneMessage rethrows it). Default true. */
  getters?: boolean;
  /** Length of the longest strings. Default 1.5 MB (above Kafka's default max message size). */
  maxString?: number;
  /** Also generate window tensors (msg.window) for the anomaly node. Default false. */
  windows?: boolean;
  /** Tensor length of a valid window. Default 8. */
  windowLength?: number;
}

const ODD_STRINGS = [
  "",
  " ",
  "x",
  "\u0000",
  "\n",
  "a,b=c d",
  'quote"d\\back',
  "tab\there",
  "\ud800",
  "\udfff\ud800",
  "😀🏭",
  "مرحبا",
  "ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ",
  "NaN",
  "Infinity",
  "-0",
  "1e400",
  "null",
  "undefined",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "2024-11-23T12:00:00Z",
  "1732363200123",
  "1732363200.5",
  "2024-13-45T99:99:99Z",
  "%s%s%n",
  "${x}",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "\u202e\u200b\ufeff",
];

const ODD_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_SAFE_INTEGER - 2,
  2 ** 63,
  -(2 ** 63),
  1e21,
  0.1 + 0.2,
  -1,
];

const ODD_TS: Array<() => unknown> = [
  () => new Date(NaN),
  () => new Date(0),
  () => "not a date",
  () => "",
  () => "   ",
  () => "2024-02-30T00:00:00Z",
  () => "1e3",
  () => "-5",
  () => -1,
  () => 1e20,
  () => 8.64e15 + 1,
  () => NaN,
  () => Infinity,
  () => true,
  () => [1732363200123],
  () => ({ $date: 1732363200123 }),
  () => Object.create(Date.prototype) as unknown,
  () => BigInt(1732363200123),
  () => Symbol("ts"),
  () => Buffer.from("1732363200123"),
];

export class FuzzGen {
  readonly seed: number;
  readonly random: () => number;
  private readonly sources: string[];
  private readonly tags: string[];
  private readonly validShare: number;
  private readonly maxDepth: number;
  private readonly getters: boolean;
  private readonly maxString: number;
  private readonly windows: boolean;
  private readonly windowLength: number;
  private readonly lastTs = new Map<string, number>();
  private readonly t0: number;
  private seq = 0;

  constructor(seed: number, opts: FuzzOptions = {}) {
    this.seed = seed;
    this.random = mulberry32(seed);
    this.sources = opts.sources ?? ["m0", "m1", "m2", "m3"];
    this.tags = opts.tags ?? ["a", "b", "c"];
    this.t0 = opts.t0 ?? Date.UTC(2025, 0, 1);
    this.validShare = opts.validShare ?? 0.45;
    this.maxDepth = opts.maxDepth ?? 10_000;
    this.getters = opts.getters ?? true;
    this.maxString = opts.maxString ?? 1_500_000;
    this.windows = opts.windows ?? false;
    this.windowLength = opts.windowLength ?? 8;
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  /** The next timestamp of a source: strictly increasing, 1 s apart (rate rules stay happy). */
  private nextTs(source: string): number {
    const ts = (this.lastTs.get(source) ?? this.t0) + 1000;
    this.lastTs.set(source, ts);
    return ts;
  }

  /** A valid record (with `source`), numeric tags plus sometimes a string and a boolean. */
  validRecord(source = this.pick(this.sources)): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const t of this.tags) values[t] = Math.round((this.random() * 20 - 10) * 1000) / 1000;
    if (this.chance(0.3)) values.program = this.pick(["O1001", "O2002", "ÜML-ß"]);
    if (this.chance(0.3)) values.running = this.chance(0.5);
    const rec: Record<string, unknown> = { source, ts: this.nextTs(source), values };
    if (this.chance(0.2)) rec.quality = { [this.tags[0]!]: this.pick(["good", "uncertain", "bad"]) };
    return rec;
  }

  /** A valid window tensor for the anomaly node. */
  validWindow(source = this.pick(this.sources)): Record<string, unknown> {
    const data = Array.from({ length: this.windowLength }, () => this.tags.map(() => this.random() * 4 - 2));
    return { source, tags: [...this.tags], data };
  }

  oddString(): string {
    const r = this.random();
    if (r < 0.03) return "x".repeat(this.maxString);
    if (r < 0.1) return "ü".repeat(Math.min(70_000, this.maxString));
    return this.pick(ODD_STRINGS);
  }

  oddNumber(): number | bigint {
    if (this.chance(0.1)) return BigInt(this.int(1e9)) * 10n ** 20n;
    return this.pick(ODD_NUMBERS);
  }

  /** An object (or array) nested `depth` levels deep, built without recursion. */
  deep(depth: number, leaf: unknown = 1): unknown {
    const asArray = this.chance(0.3);
    let v: unknown = leaf;
    for (let i = 0; i < depth; i++) v = asArray ? [v] : { values: v, v: i };
    return v;
  }

  deepDepth(): number {
    return this.pick([50, 500, Math.min(2000, this.maxDepth), this.maxDepth]);
  }

  binary(): unknown {
    const n = this.pick([0, 1, 16, 4096]);
    const b = Buffer.alloc(n, 0xab);
    switch (this.int(7)) {
      case 0:
        return b;
      case 1:
        return new Uint8Array(b);
      case 2:
        return new Float64Array([NaN, Infinity, 1.5, -0]);
      case 3:
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
      case 4:
        return new DataView(new ArrayBuffer(8));
      case 5:
        return b.toJSON(); // { type: "Buffer", data: [...] }
      default:
        return new BigInt64Array([1n, -1n]);
    }
  }

  /** Any junk value. */
  junk(depth = 0): unknown {
    switch (this.int(depth > 2 ? 10 : 14)) {
      case 0:
        return null;
      case 1:
        return undefined;
      case 2:
        return this.oddNumber();
      case 3:
        return this.oddString();
      case 4:
        return this.chance(0.5);
      case 5:
        return this.binary();
      case 6:
        return this.pick(ODD_TS)();
      case 7:
        return Symbol("s");
      case 8:
        return () => 1;
      case 9:
        return new Map([["a", 1]]);
      case 10:
        return [this.junk(depth + 1), this.junk(depth + 1)];
      case 11:
        return { values: this.junk(depth + 1), ts: this.junk(depth + 1) };
      case 12:
        return this.deep(this.deepDepth());
      default:
        return this.validRecord();
    }
  }

  /** A record with one (sometimes two) of its fields broken. */
  mutatedRecord(): { kind: string; rec: unknown } {
    const rec = this.validRecord();
    const values = rec.values as Record<string, unknown>;
    const tag = this.pick(this.tags);
    const kinds = [
      "ts-odd",
      "ts-junk",
      "ts-missing",
      "ts-date",
      "values-junk",
      "values-empty",
      "value-number",
      "value-junk",
      "value-string",
      "tag-name",
      "quality-junk",
      "source-junk",
      "features-junk",
      "proto-keys",
      "null-proto",
      "class-instance",
      "circular",
      "deep-field",
      "deep-value",
      "throwing-getter",
      "extra-junk",
      "not-object",
      "huge-number",
    ] as const;
    const kind = this.pick(kinds);
    switch (kind) {
      case "ts-odd":
        rec.ts = this.pick(ODD_TS)();
        break;
      case "ts-junk":
        rec.ts = this.junk(1);
        break;
      case "ts-missing":
        delete rec.ts;
        break;
      case "ts-date": {
        const t = rec.ts as number;
        rec.ts = this.pick([new Date(t), new Date(t).toISOString(), String(t), t + 0.456, `${t}.5`]);
        break;
      }
      case "values-junk":
        rec.values = this.junk(1);
        break;
      case "values-empty":
        rec.values = this.pick([{}, [], "", 0]);
        break;
      case "value-number":
        values[tag] = this.oddNumber();
        break;
      case "value-junk":
        values[tag] = this.junk(1);
        break;
      case "value-string":
        values[this.chance(0.5) ? tag : "note"] = this.oddString();
        break;
      case "tag-name":
        values[this.oddString().slice(0, 100)] = this.chance(0.5) ? 1 : "v";
        break;
      case "quality-junk":
        rec.quality = this.chance(0.5) ? this.junk(1) : { [tag]: this.pick(["GOOD", "", 0, null, "ok"]) };
        break;
      case "source-junk":
        rec.source = this.chance(0.5) ? this.junk(1) : this.oddString().slice(0, 300);
        break;
      case "features-junk":
        rec.features = this.chance(0.5) ? this.junk(1) : { [tag]: { mean: this.oddNumber() } };
        break;
      case "proto-keys": {
        // Own "__proto__" keys as JSON.parse makes them, plus keys that shadow Object.prototype.
        const evil = JSON.parse(
          '{"__proto__": {"polluted": 1, "values": {"x": 1}}, "constructor": {"prototype": {"polluted": 1}}}',
        ) as Record<string, unknown>;
        if (this.chance(0.5)) rec.values = Object.assign(evil, values);
        else Object.assign(rec, evil);
        Object.assign(values, { hasOwnProperty: 1, toString: "x", constructor: 2 });
        break;
      }
      case "null-proto": {
        const o = Object.create(null) as Record<string, unknown>;
        Object.assign(o, rec);
        return { kind, rec: o };
      }
      case "class-instance": {
        class Fake {
          ts = rec.ts;
          values = rec.values;
          source = rec.source;
        }
        return { kind, rec: new Fake() };
      }
      case "circular":
        if (this.chance(0.5)) rec.self = rec;
        else values.loop = values;
        break;
      case "deep-field":
        rec.extra = this.deep(this.deepDepth());
        break;
      case "deep-value":
        values[tag] = this.deep(this.deepDepth());
        break;
      case "throwing-getter":
        if (!this.getters) {
          rec.self = rec;
          break;
        }
        Object.defineProperty(this.chance(0.5) ? rec : values, "boom", {
          enumerable: true,
          get() {
            throw new Error("getter throws");
          },
        });
        break;
      case "extra-junk":
        rec[this.pick(["anomaly", "detections", "flags", "window", "x"])] = this.junk(1);
        break;
      case "not-object":
        return { kind, rec: this.junk(2) };
      case "huge-number":
        values[tag] = this.pick([1e308, -1e308, 2 ** 53 + 1, 1e-320]);
        break;
    }
    return { kind, rec };
  }

  /** A batch of 0..1000 records (mostly small), valid ones mixed with broken ones. */
  batch(): { kind: string; payload: unknown[] } {
    const r = this.random();
    const n = Math.floor(1001 * r ** 4);
    const badShare = this.pick([0, 0, 0.05, 0.5, 1]);
    const payload: unknown[] = [];
    let kind = `batch-${n}`;
    for (let i = 0; i < n; i++) {
      if (this.chance(badShare)) {
        const m = this.mutatedRecord();
        payload.push(m.rec);
        if (!kind.includes("+")) kind += `+${m.kind}`;
      } else payload.push(this.validRecord());
    }
    return { kind, payload };
  }

  /** A window tensor with one thing wrong. */
  mutatedWindow(): { kind: string; window: unknown } {
    const w = this.validWindow();
    const data = w.data as number[][];
    const kind = this.pick([
      "win-nan",
      "win-tags",
      "win-short",
      "win-long",
      "win-rows",
      "win-junk",
      "win-data-junk",
      "win-deep",
      "win-source",
      "win-typed",
    ] as const);
    switch (kind) {
      case "win-nan":
        data[this.int(data.length)]![this.int(this.tags.length)] = this.pick([NaN, Infinity, -Infinity]);
        break;
      case "win-tags":
        w.tags = this.pick([[], ["x", "y", "z"], [...this.tags].reverse(), this.junk(1), [...this.tags, "d"]]);
        break;
      case "win-short":
        data.length = this.int(data.length);
        break;
      case "win-long":
        for (let i = 0; i < 100; i++) data.push(this.tags.map(() => 0));
        break;
      case "win-rows":
        data[this.int(data.length)] = this.pick([[], [1], "row", null, [1, 2, 3, 4, 5]]) as number[];
        break;
      case "win-junk":
        return { kind, window: this.junk(1) };
      case "win-data-junk":
        w.data = this.junk(1);
        break;
      case "win-deep":
        w.data = this.deep(this.deepDepth(), [1, 2, 3]);
        break;
      case "win-source":
        w.source = this.junk(1);
        break;
      case "win-typed":
        w.data = data.map((row) => Float64Array.from(row));
        break;
    }
    return { kind, window: w };
  }

  /** The next message: valid records, mutations, batches and message-level junk. */
  message(): FuzzCase {
    const id = this.seq++;
    const r = this.random();
    let c: FuzzCase;
    if (r < this.validShare) {
      c = { kind: "valid", msg: { topic: "fuzz", payload: this.validRecord() } };
    } else if (r < this.validShare + 0.3) {
      const m = this.mutatedRecord();
      c = { kind: m.kind, msg: { topic: "fuzz", payload: m.rec } };
    } else if (r < this.validShare + 0.4) {
      const b = this.batch();
      c = { kind: b.kind, msg: { topic: "fuzz", payload: b.payload } };
    } else {
      c = this.oddMessage();
    }
    if (this.windows) this.addWindow(c);
    c.msg.fuzzSeq = id;
    return c;
  }

  private addWindow(c: FuzzCase): void {
    const payload = c.msg.payload as { source?: unknown } | undefined;
    const source =
      payload && typeof payload === "object" && typeof payload.source === "string" ? payload.source : undefined;
    const r = this.random();
    if (r < 0.5) c.msg.window = this.validWindow(source);
    else if (r < 0.6) c.msg.window = Array.from({ length: this.int(5) }, () => this.validWindow());
    else if (r < 0.9) {
      const w = this.mutatedWindow();
      c.msg.window = this.chance(0.3) ? [this.validWindow(), w.window] : w.window;
      c.kind += `/${w.kind}`;
    } else if (r < 0.95) delete c.msg.window;
    else c.msg.window = null;
  }

  /** Junk at the message level: payload, topic and the per-message sink overrides. */
  oddMessage(): FuzzCase {
    const kind = this.pick([
      "payload-null",
      "payload-undefined",
      "payload-missing",
      "payload-junk",
      "payload-binary",
      "payload-deep",
      "payload-string-json",
      "payload-circular-array",
      "batch-too-large",
      "topic-junk",
      "sink-overrides",
    ] as const);
    const msg: Record<string, unknown> = { topic: "fuzz" };
    switch (kind) {
      case "payload-null":
        msg.payload = null;
        break;
      case "payload-undefined":
        msg.payload = undefined;
        break;
      case "payload-missing":
        break;
      case "payload-junk":
        msg.payload = this.junk(0);
        break;
      case "payload-binary":
        msg.payload = this.binary();
        break;
      case "payload-deep":
        msg.payload = this.deep(this.deepDepth());
        break;
      case "payload-string-json":
        msg.payload = JSON.stringify(this.validRecord());
        break;
      case "payload-circular-array": {
        const a: unknown[] = [this.validRecord()];
        a.push(a);
        msg.payload = a;
        break;
      }
      case "batch-too-large":
        msg.payload = new Array(100_001).fill(0);
        break;
      case "topic-junk":
        msg.topic = this.junk(1);
        msg.payload = { ts: this.nextTs("fuzz"), values: { a: 1, b: 2, c: 3 } };
        break;
      case "sink-overrides":
        msg.payload = this.validRecord();
        msg[this.pick(["measurement", "tags", "headers", "key", "partition"])] = this.chance(0.5)
          ? this.junk(1)
          : this.oddString();
        break;
    }
    return { kind, msg };
  }

  /**
   * A message Node-RED itself cannot clone: 10k-deep objects (payload, record field, tag value, window)
   * and getters that throw. Send it with receive() into a flow without Catch/Complete nodes.
   */
  uncloneable(): FuzzCase {
    const rec = this.validRecord();
    const values = rec.values as Record<string, unknown>;
    const deep = (): unknown => this.deep(this.maxDepth);
    const kind = this.pick([
      "deep-payload",
      "deep-field",
      "deep-value",
      "deep-values",
      "deep-batch",
      "deep-window",
      "getter-record",
      "getter-values",
      "getter-msg",
    ] as const);
    const msg: Record<string, unknown> = { topic: "fuzz", payload: rec };
    const boom = (o: object, key: string): void => {
      Object.defineProperty(o, key, {
        enumerable: true,
        get() {
          throw new Error("getter throws");
        },
      });
    };
    switch (kind) {
      case "deep-payload":
        msg.payload = deep();
        break;
      case "deep-field":
        rec.extra = deep();
        break;
      case "deep-value":
        values[this.pick(this.tags)] = deep();
        break;
      case "deep-values":
        rec.values = deep();
        break;
      case "deep-batch":
        msg.payload = [this.validRecord(), { ...this.validRecord(), extra: deep() }];
        break;
      case "deep-window":
        msg.window = { ...this.validWindow(), data: this.deep(this.maxDepth, [1, 2, 3]) };
        break;
      case "getter-record":
        boom(rec, "boom");
        break;
      case "getter-values":
        boom(values, "boom");
        break;
      case "getter-msg":
        boom(msg, "boom");
        break;
    }
    if (this.windows && msg.window === undefined) msg.window = this.validWindow();
    msg.fuzzSeq = this.seq++;
    return { kind, msg };
  }
}
