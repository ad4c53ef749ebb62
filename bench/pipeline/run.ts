/**
 * bench/pipeline: the CNC pipeline's hot path, deployed with node-red-node-test-helper, against its
 * ceiling in the same run. Prints figures; asserts nothing.
 *
 * 1. validate -> features (deployed flow) vs lib/validate + lib/features called directly, on the
 *    same batched record messages (BENCH_MSG_RECORDS records per message, BENCH_TAGS tags,
 *    BENCH_SOURCES sources; samples = records x tags). Rules on every tag (required, number,
 *    min/max, max rate); features with the node's defaults (count window 100, sliding hop 1, all 12
 *    statistics), so once warm every record leaves with features. The flow side is timed from the
 *    first message in until features' output 1 sent the last message.
 * 2. anomaly node (deployed, shipped models/lstm-ae-cnc, onnxruntime-node in its worker thread,
 *    windows of 32 x 9 from BENCH_WIN_PER_MSG sources per message, max batch = the same size) vs raw
 *    onnxruntime-node on the main thread (InferenceSession.create + session.run, batches of the same
 *    size, same session options as the node's worker: cpu, intra-op BENCH_ORT_THREADS = 1 like the
 *    node, inter-op 1, optimisation "all"). The raw side standardises and packs each batch and turns
 *    the output into one reconstruction error per window inside its timed loop, as any program
 *    scoring windows must. Event-loop lag p99 (perf_hooks.monitorEventLoopDelay, resolution 1 ms)
 *    is recorded over each side's timed section.
 *
 * After a warm-up of each side (not counted), rounds alternate which side goes first; medians are
 * reported, with the ratio ours/raw for the anomaly node. 2 cores shared by everything: read medians.
 *
 * Options (env): BENCH_ROUNDS (5), BENCH_RECORDS (records per round, 200000), BENCH_MSG_RECORDS
 * (1000), BENCH_TAGS (10), BENCH_SOURCES (10), BENCH_WINDOWS (windows per round, 25600),
 * BENCH_WIN_PER_MSG (64), BENCH_ORT_THREADS (1), BENCH_ONLY (features | anomaly).
 * Run: npm run build && node dist/bench/pipeline/run.js
 */
import path from "node:path";
import { helper } from "../../test/support/helper";
import { bounded, fmt, median, withLag } from "../support";
import validateNode from "../../nodes/validate/validate";
import featuresNode from "../../nodes/features/features";
import anomalyNode from "../../nodes/anomaly/anomaly";
import { VALIDATE_DEFAULTS, VALIDATE_VERSION, buildValidator, validateConfig } from "../../nodes/validate/config";
import { FEATURES_DEFAULTS, FEATURES_VERSION, featuresConfig, featuresOptions } from "../../nodes/features/config";
import { ANOMALY_DEFAULTS, ANOMALY_VERSION, packageRoot } from "../../nodes/anomaly/config";
import { FeatureEngine, featureMessage } from "../../lib/features";
import { readModelDir } from "../../lib/inference/anomaly";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const PER_MSG = Number(process.env.BENCH_MSG_RECORDS ?? 1000);
const TAGS = Number(process.env.BENCH_TAGS ?? 10);
const SOURCES = Number(process.env.BENCH_SOURCES ?? 10);
const NWIN = Number(process.env.BENCH_WINDOWS ?? 25_600);
const WIN_PER_MSG = Number(process.env.BENCH_WIN_PER_MSG ?? 64);
const ORT_THREADS = Number(process.env.BENCH_ORT_THREADS ?? 1);
const ONLY = process.env.BENCH_ONLY;
const WAIT_LIMIT_MS = 120_000;

const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Side {
  /** One timed run; returns its rate (per second) and the event-loop lag p99 (ms) over it. */
  run: (round: number) => Promise<{ rate: number; lagP99: number }>;
}

interface Figures {
  rate: number[];
  lag: number[];
}

/** Warm-up of each side, then ROUNDS rounds alternating which side goes first. */
async function alternate(
  names: [string, string],
  unit: string,
  a: Side,
  b: Side,
  showLag: boolean,
): Promise<[Figures, Figures]> {
  const fa: Figures = { rate: [], lag: [] };
  const fb: Figures = { rate: [], lag: [] };
  await a.run(-1);
  await b.run(-1);
  for (let r = 0; r < ROUNDS; r++) {
    const order: Array<[Side, Figures]> = [
      [a, fa],
      [b, fb],
    ];
    if (r % 2 === 1) order.reverse();
    for (const [side, into] of order) {
      const { rate, lagP99 } = await side.run(r);
      into.rate.push(rate);
      into.lag.push(lagP99);
    }
    const lag = (f: Figures): string => (showLag ? ` (lag p99 ${f.lag[r]!.toFixed(1)} ms)` : "");
    process.stdout.write(
      `  round ${r + 1}: ${names[0]} ${fmt(fa.rate[r]!)} ${unit}${lag(fa)}, ${names[1]} ${fmt(fb.rate[r]!)} ${unit}${lag(fb)}\n`,
    );
  }
  return [fa, fb];
}

// ---------------------------------------------------------------------------------------------
// 1. validate -> features
// ---------------------------------------------------------------------------------------------

const tags = Array.from({ length: TAGS }, (_, i) => `tag_${i}`);
const RULES = tags.map((tag, j) => ({
  tag,
  required: true,
  type: "number",
  min: 1000 * j - 100,
  max: 1000 * j + 100,
  maxRate: 1e6,
}));

interface Rec {
  source: string;
  ts: number;
  values: Record<string, number>;
}

/** n records, sources round-robin, 10 ms apart per source, values inside the rules' limits. */
function makeRecords(n: number, t0: number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const values: Record<string, number> = {};
    for (let j = 0; j < TAGS; j++) values[tags[j]!] = 1000 * j + Math.sin(i / 50 + j) * 10 + Math.random();
    out.push({ source: `cnc-${i % SOURCES}`, ts: t0 + Math.floor(i / SOURCES) * 10, values });
  }
  return out;
}

/** Fresh message payloads (nodes mutate msg objects; each side gets its own copies). */
function messages(recs: Rec[]): Rec[][] {
  const out: Rec[][] = [];
  for (let i = 0; i < recs.length; i += PER_MSG) {
    out.push(recs.slice(i, i + PER_MSG).map((r) => ({ source: r.source, ts: r.ts, values: { ...r.values } })));
  }
  return out;
}

const validateDef = { ...VALIDATE_DEFAULTS, rules: JSON.stringify(RULES), version: VALIDATE_VERSION };
const featuresDef = { ...FEATURES_DEFAULTS, stats: [...FEATURES_DEFAULTS.stats], version: FEATURES_VERSION };

// Each round continues in time after the previous one (max-rate and out-of-order checks stay quiet).
let clock = Date.UTC(2026, 0, 1);
function roundRecords(round: number): Rec[] {
  const n = round < 0 ? Math.min(N, 20_000) : N;
  const recs = makeRecords(n, clock);
  clock += Math.ceil(n / SOURCES) * 10 + 1000;
  return recs;
}

/** lib/validate + lib/features called directly, as the two nodes do per message. */
async function directPipeline(round: number): Promise<{ rate: number; lagP99: number }> {
  const validator = buildValidator(validateConfig(validateDef));
  const engine = new FeatureEngine(featuresOptions(featuresConfig(featuresDef)));
  const msgs = messages(roundRecords(round));
  const total = msgs.reduce((s, m) => s + m.length, 0);
  let rejected = 0;
  let emitted = 0;
  const { value: s, lagP99 } = await withLag(async () => {
    const t0 = process.hrtime.bigint();
    for (const m of msgs) {
      const r = validator.validate(m, "cnc");
      rejected += r.rejected.length;
      const good: unknown[] = r.passed.length > 0 ? r.passed : r.valid;
      if (good.length === 0) continue;
      const f = featureMessage(engine, r.batch ? good : good[0], "cnc");
      rejected += f.rejected.length;
      emitted += f.records.length;
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  });
  if (rejected > 0) throw new Error(`direct pipeline rejected ${rejected} record(s): fix the bench data`);
  if (round === -1)
    process.stdout.write(`  (direct warm-up: ${fmt(total)} records in, ${fmt(emitted)} with features out)\n`);
  return { rate: (total * TAGS) / s, lagP99 };
}

const pipelineFlow = [
  { id: "t1", type: "tab", label: "bench" },
  { ...validateDef, id: "v", z: "t1", type: "validate", wires: [["f"], ["bad"]] },
  { ...featuresDef, id: "f", z: "t1", type: "features", wires: [["out"], ["bad"]] },
  { id: "out", z: "t1", type: "helper" },
  { id: "bad", z: "t1", type: "helper" },
  { id: "catcher", z: "t1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
  { id: "caught", z: "t1", type: "helper" },
];

/** Deploy `flow`, hand the messages to `inId`, resolve when `out` saw `expected` messages. */
async function throughFlow(
  nodes: unknown[],
  flow: object[],
  inId: string,
  payloads: object[],
  toMsg: (p: object) => object,
  expected: number,
  warm: object[] = [],
): Promise<{ s: number; lagP99: number }> {
  await helper.load(nodes as never, flow);
  try {
    const input = helper.getNode(inId);
    const out = helper.getNode("out");
    let seen = -warm.length;
    let failed = 0;
    let warmed: () => void = () => undefined;
    const warmDone = new Promise<void>((resolve) => (warmed = resolve));
    const done = new Promise<void>((resolve) => {
      out.on("input", () => {
        if (++seen === 0) warmed();
        else if (seen === expected) resolve();
      });
    });
    const onError = (m: { error?: { message?: string } }): void => {
      failed++;
      if (failed <= 3) process.stderr.write(`[bench] error: ${m.error?.message}\n`);
    };
    helper.getNode("caught").on("input", onError);
    await new Promise((r) => setTimeout(r, 500)); // let the nodes settle (the anomaly model loads)
    // Untimed messages first where asked (the anomaly node's fresh worker runs its first batches cold).
    if (warm.length > 0) {
      for (const p of warm) input.receive(toMsg(p));
      await bounded(warmDone, WAIT_LIMIT_MS, "the warm-up message(s)");
    }
    const { value: s, lagP99 } = await withLag(async () => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < payloads.length; i++) {
        // one message per turn of the event loop, as messages arriving from a connection do
        input.receive(toMsg(payloads[i]!));
        await yieldLoop();
      }
      await bounded(done, WAIT_LIMIT_MS, `${expected} output message(s), saw ${seen}`);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    });
    if (failed > 0) throw new Error(`${failed} message(s) failed in the node run`);
    return { s, lagP99 };
  } finally {
    await helper.unload();
  }
}

async function flowPipeline(round: number): Promise<{ rate: number; lagP99: number }> {
  const msgs = messages(roundRecords(round));
  const total = msgs.reduce((s, m) => s + m.length, 0);
  // Every message of PER_MSG >= 100 records per source fills each source's window at least once,
  // so features sends one output-1 message per input message.
  const { s, lagP99 } = await throughFlow(
    [validateNode, featuresNode],
    pipelineFlow,
    "v",
    msgs,
    (p) => ({ topic: "cnc", payload: p }),
    msgs.length,
  );
  return { rate: (total * TAGS) / s, lagP99 };
}

async function benchPipeline(): Promise<void> {
  process.stdout.write(
    `validate -> features: ${fmt(N)} records x ${TAGS} tags per round, ${PER_MSG} records/msg, ${SOURCES} sources, ` +
      `window 100 sliding hop 1, 12 statistics\n`,
  );
  if (Math.floor(PER_MSG / SOURCES) < 100) throw new Error("BENCH_MSG_RECORDS / BENCH_SOURCES must be >= 100");
  const [direct, flow] = await alternate(
    ["lib direct", "deployed flow"],
    "samples/s",
    { run: directPipeline },
    { run: flowPipeline },
    false,
  );
  const d = median(direct.rate);
  const f = median(flow.rate);
  process.stdout.write(
    `validate -> features: lib direct (ceiling) ${fmt(d)} samples/s | deployed flow ${fmt(f)} samples/s ` +
      `(${fmt(f / TAGS)} records/s) | flow/lib ${(f / d).toFixed(2)}x | target >= 200,000 samples/s\n`,
  );
}

// ---------------------------------------------------------------------------------------------
// 2. anomaly node vs raw onnxruntime-node
// ---------------------------------------------------------------------------------------------

const model = readModelDir(path.join(packageRoot(__dirname), ANOMALY_DEFAULTS.modelDir));
const M = model.manifest;
const T = M.window;
const F = M.features.length;

interface Win {
  source: string;
  tags: string[];
  data: number[][];
}

/** n windows of T x F around the training means (a few sources drift, so scores vary). */
function makeWindows(n: number): Win[] {
  const out: Win[] = [];
  for (let w = 0; w < n; w++) {
    const data: number[][] = [];
    for (let t = 0; t < T; t++) {
      data.push(
        M.features.map(
          (_, k) =>
            M.scaler.mean[k]! + M.scaler.std[k]! * (0.3 * Math.sin((w + t) / 7 + k) + 0.2 * (Math.random() - 0.5)),
        ),
      );
    }
    out.push({ source: `cnc-${w % (WIN_PER_MSG * 4)}`, tags: [...M.features], data });
  }
  return out;
}

function winBatches(round: number): Win[][] {
  const ws = makeWindows(round < 0 ? Math.min(NWIN, WIN_PER_MSG * 10) : NWIN);
  const out: Win[][] = [];
  for (let i = 0; i < ws.length; i += WIN_PER_MSG) out.push(ws.slice(i, i + WIN_PER_MSG));
  return out;
}

type Ort = typeof import("onnxruntime-node");
let ortMod: Ort | undefined;
let rawSession: import("onnxruntime-node").InferenceSession | undefined;

async function rawOrt(round: number): Promise<{ rate: number; lagP99: number }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortMod ??= require("onnxruntime-node") as Ort;
  const ort = ortMod;
  rawSession ??= await ort.InferenceSession.create(model.modelPath, {
    executionProviders: ["cpu"],
    intraOpNumThreads: ORT_THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const session = rawSession;
  const inName = M.input ?? session.inputNames[0]!;
  const outName = M.output ?? session.outputNames[0]!;
  const batches = winBatches(round);
  const total = batches.reduce((s, b) => s + b.length, 0);
  const { mean, std } = M.scaler;
  let checksum = 0;
  const { value: s, lagP99 } = await withLag(async () => {
    const t0 = process.hrtime.bigint();
    for (const b of batches) {
      const x = new Float32Array(b.length * T * F);
      let o = 0;
      for (const w of b) for (const row of w.data) for (let k = 0; k < F; k++) x[o++] = (row[k]! - mean[k]!) / std[k]!;
      const res = await session.run({ [inName]: new ort.Tensor("float32", x, [b.length, T, F]) });
      const y = res[outName]!.data as Float32Array;
      for (let i = 0; i < b.length; i++) {
        let e = 0;
        for (let j = i * T * F; j < (i + 1) * T * F; j++) e += (y[j]! - x[j]!) ** 2;
        checksum += e / (T * F);
      }
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  });
  if (!Number.isFinite(checksum)) throw new Error("raw onnxruntime produced non-finite scores");
  return { rate: total / s, lagP99 };
}

const anomalyFlow = [
  { id: "t2", type: "tab", label: "bench" },
  {
    ...ANOMALY_DEFAULTS,
    id: "a",
    z: "t2",
    type: "anomaly",
    maxBatch: WIN_PER_MSG,
    version: ANOMALY_VERSION,
    wires: [["out"], ["bad"]],
  },
  { id: "out", z: "t2", type: "helper" },
  { id: "bad", z: "t2", type: "helper" },
  { id: "catcher", z: "t2", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
  { id: "caught", z: "t2", type: "helper" },
];

async function oursAnomaly(round: number): Promise<{ rate: number; lagP99: number }> {
  const batches = winBatches(round);
  const total = batches.reduce((s, b) => s + b.length, 0);
  const { s, lagP99 } = await throughFlow(
    [anomalyNode],
    anomalyFlow,
    "a",
    batches,
    (b) => ({ topic: "cnc", window: b, payload: [] }),
    batches.length,
    // the same windows again, untimed: the raw side's session is created once and stays warm
    batches.slice(0, 4).map((b) => b.map((w) => ({ ...w, data: w.data.map((row) => [...row]) }))),
  );
  return { rate: total / s, lagP99 };
}

async function benchAnomaly(): Promise<void> {
  process.stdout.write(
    `anomaly: ${fmt(NWIN)} windows of ${T} x ${F} per round, ${WIN_PER_MSG} windows/msg (node max batch ${WIN_PER_MSG}), ` +
      `raw batches of ${WIN_PER_MSG}, onnxruntime intra-op threads ${ORT_THREADS} (node: 1, in its worker)\n`,
  );
  const [raw, ours] = await alternate(
    ["raw ort (main thread)", "anomaly node"],
    "windows/s",
    { run: rawOrt },
    { run: oursAnomaly },
    true,
  );
  const r = median(raw.rate);
  const o = median(ours.rate);
  process.stdout.write(
    `anomaly: raw onnxruntime-node ${fmt(r)} windows/s | anomaly node ${fmt(o)} windows/s | ratio ${(o / r).toFixed(2)}x ` +
      `(target >= 0.8x)\n` +
      `anomaly: event-loop lag p99 (median of rounds): raw ort ${median(raw.lag).toFixed(1)} ms | anomaly node ` +
      `${median(ours.lag).toFixed(1)} ms (target < 20 ms)\n`,
  );
}

async function main(): Promise<void> {
  process.stdout.write(`bench/pipeline: ${ROUNDS} rounds, node ${process.version}\n`);
  const t0 = Date.now();
  if (ONLY !== "anomaly") await benchPipeline();
  if (ONLY !== "features") await benchAnomaly();
  await rawSession?.release();
  process.stdout.write(`bench/pipeline: done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
