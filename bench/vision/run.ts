/**
 * bench/vision: the detect node (deployed with node-red-node-test-helper; sharp decode, letterbox +
 * onnxruntime-node in its worker thread) against raw sharp + onnxruntime-node on the main thread, same
 * model, same JPEGs, same preprocessing and post-processing code (lib/inference/yolo/*), in the same run.
 * Prints figures; asserts nothing.
 *
 * Model: models/yolo-glass/model.onnx (the shipped model) when it exists, else the fixture
 * test/fixtures/models/yolo/bench-320.onnx (a small strided conv net, random weights; real compute), or
 * BENCH_MODEL. Frames: BENCH_FRAMES JPEGs of the glass ribbon camera simulator (640x480, seed 1, defects
 * on), rendered once before timing.
 *
 * Each side detects the frames one at a time (a frame goes in when the previous one came out) and
 * records ms/frame from "frame in" to "record out" (raw: decode -> letterbox -> session.run ->
 * decode/NMS/back-mapping, all awaited on the main thread). Event-loop lag p99 (perf_hooks
 * monitorEventLoopDelay, resolution 1 ms) is recorded over each side's timed section. After a warm-up
 * of each side (not counted), rounds alternate which side goes first; the medians over rounds of each
 * round's p50 and p95 are printed, and the ratio detect/raw of the p50s. Same onnxruntime options on
 * both sides: cpu, intra-op BENCH_ORT_THREADS (1, the node's default), inter-op 1, optimisation "all".
 *
 * Options (env): BENCH_ROUNDS (5), BENCH_FRAMES (40), BENCH_ORT_THREADS (1), BENCH_MODEL (path).
 * Run: npm run build && node dist/bench/vision/run.js
 */
import fs from "node:fs";
import path from "node:path";
import { helper } from "../../test/support/helper";
import { bounded, percentile, withLag } from "../support";
import detectNode from "../../nodes/detect/detect";
import { DETECT_DEFAULTS, DETECT_VERSION } from "../../nodes/detect/config";
import { packageRoot } from "../../nodes/anomaly/config";
import { YoloDetector } from "../../lib/inference/yolo";
import { decodeImage } from "../../lib/inference/yolo/image";
import { letterbox, letterboxTensor } from "../../lib/inference/yolo/letterbox";
import { RibbonCamera } from "../../lib/sim/camera/render";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const FRAMES = Number(process.env.BENCH_FRAMES ?? 40);
const ORT_THREADS = Number(process.env.BENCH_ORT_THREADS ?? 1);
const WAIT_LIMIT_MS = 60_000;

const root = packageRoot(__dirname);
const shipped = path.join(root, "models", "yolo-glass", "model.onnx");
const MODEL =
  process.env.BENCH_MODEL ??
  (fs.existsSync(shipped) ? shipped : path.join(root, "test", "fixtures", "models", "yolo", "bench-320.onnx"));

const median = (xs: number[]): number => percentile(xs, 50);

interface Round {
  ms: number[];
  lagP99: number;
  boxes: number;
}

// ---------------------------------------------------------------------------------------------
// detect node (deployed)
// ---------------------------------------------------------------------------------------------

async function deployDetect(): Promise<{
  detect: (jpeg: Buffer, i: number) => Promise<number>;
  stop: () => Promise<void>;
}> {
  const flow = [
    { id: "tab", type: "tab" },
    {
      ...DETECT_DEFAULTS,
      id: "det",
      z: "tab",
      type: "detect",
      model: MODEL,
      threads: ORT_THREADS,
      keepFrame: true,
      annotate: false,
      queue: 1,
      version: DETECT_VERSION,
      wires: [["out"]],
    },
    { id: "out", z: "tab", type: "helper" },
    { id: "catcher", z: "tab", type: "catch", scope: ["det"], uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
  ];
  await helper.load([detectNode] as never, flow);
  const det = helper.getNode("det");
  const out = helper.getNode("out");
  const caught = helper.getNode("caught");
  let waiting: { resolve: (n: number) => void; reject: (e: Error) => void } | undefined;
  out.on("input", (m: { payload: { values: { defects: number } } }) => {
    const w = waiting;
    waiting = undefined;
    w?.resolve(m.payload.values.defects);
  });
  caught.on("input", (m: { error?: { message?: string } }) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(new Error(`detect failed: ${m.error?.message}`));
  });
  // The model loads in the background; the warm-up frames wait for it.
  return {
    detect: (jpeg, i) =>
      bounded(
        new Promise<number>((resolve, reject) => {
          waiting = { resolve, reject };
          det.receive({
            topic: "bench",
            payload: { source: "bench", ts: i, image: jpeg, width: 640, height: 480, format: "jpeg" },
          });
        }),
        WAIT_LIMIT_MS,
        "the detect node's output",
      ),
    stop: () => helper.unload(),
  };
}

// ---------------------------------------------------------------------------------------------
// raw sharp + onnxruntime-node on the main thread
// ---------------------------------------------------------------------------------------------

type Ort = typeof import("onnxruntime-node");

async function rawSide(
  post: YoloDetector,
): Promise<{ detect: (jpeg: Buffer) => Promise<number>; stop: () => Promise<void> }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require("onnxruntime-node") as Ort;
  const session = await ort.InferenceSession.create(MODEL, {
    executionProviders: ["cpu"],
    intraOpNumThreads: ORT_THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const inName = session.inputNames[0]!;
  const outName = session.outputNames[0]!;
  const { width: W, height: H } = post.inputSize;
  return {
    detect: async (jpeg) => {
      const img = await decodeImage(jpeg);
      const lb = letterbox(img.width, img.height, W, H);
      const x = letterboxTensor(img.data, img.channels, lb);
      const res = await session.run({ [inName]: new ort.Tensor("float32", x, [1, 3, H, W]) });
      const out = res[outName]!;
      return post.postprocess(out.data as Float32Array, out.dims, lb).length;
    },
    stop: () => session.release(),
  };
}

// ---------------------------------------------------------------------------------------------

async function timed(detect: (jpeg: Buffer, i: number) => Promise<number>, frames: Buffer[]): Promise<Round> {
  const ms: number[] = [];
  let boxes = 0;
  const { lagP99 } = await withLag(async () => {
    for (let i = 0; i < frames.length; i++) {
      const t0 = performance.now();
      boxes += await detect(frames[i]!, i);
      ms.push(performance.now() - t0);
    }
  });
  return { ms, lagP99, boxes };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  process.stdout.write(
    `bench/vision: ${ROUNDS} rounds x ${FRAMES} frames (640x480 JPEG), model ${path.relative(root, MODEL)}, ` +
      `onnxruntime intra-op threads ${ORT_THREADS}, node ${process.version}\n`,
  );
  const cam = new RibbonCamera({ width: 640, height: 480, seed: 1, defectRate: 1.5 });
  const frames: Buffer[] = [];
  for (let i = 0; i < FRAMES; i++) frames.push((await cam.frame(1_732_363_200_000 + i * 250)).jpeg);
  const post = await YoloDetector.load(MODEL, { intraOpThreads: 1 });
  process.stdout.write(
    `bench/vision: layout ${post.layout}, input ${post.inputSize.width}x${post.inputSize.height}, ` +
      `classes ${post.classNames.join(", ")}\n`,
  );
  const raw = await rawSide(post);
  const ours = await deployDetect();
  try {
    const sides: Array<[string, (jpeg: Buffer, i: number) => Promise<number>, Round[]]> = [
      ["raw sharp + ort (main thread)", raw.detect, []],
      ["detect node", ours.detect, []],
    ];
    for (const [, fn] of sides) await timed(fn, frames.slice(0, Math.min(5, frames.length))); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const [, fn, into] of order) into.push(await timed(fn, frames));
      const line = sides
        .map(([name, , into]) => {
          const x = into[r]!;
          return `${name} p50 ${median(x.ms).toFixed(1)} ms p95 ${percentile(x.ms, 95).toFixed(1)} ms (lag p99 ${x.lagP99.toFixed(1)} ms, ${x.boxes} boxes)`;
        })
        .join(" | ");
      process.stdout.write(`  round ${r + 1}: ${line}\n`);
    }
    const fig = (rs: Round[]): { p50: number; p95: number; lag: number } => ({
      p50: median(rs.map((x) => median(x.ms))),
      p95: median(rs.map((x) => percentile(x.ms, 95))),
      lag: median(rs.map((x) => x.lagP99)),
    });
    const a = fig(sides[0]![2]);
    const b = fig(sides[1]![2]);
    process.stdout.write(
      `vision: raw sharp + onnxruntime-node p50 ${a.p50.toFixed(1)} ms/frame, p95 ${a.p95.toFixed(1)} ms | detect node ` +
        `p50 ${b.p50.toFixed(1)} ms/frame, p95 ${b.p95.toFixed(1)} ms | ratio ${(b.p50 / a.p50).toFixed(2)}x (target <= 1.15x)\n` +
        `vision: event-loop lag p99 (median of rounds): raw ${a.lag.toFixed(1)} ms | detect node ${b.lag.toFixed(1)} ms ` +
        `(target < 20 ms)\n`,
    );
  } finally {
    await ours.stop();
    await raw.stop();
    await post.close();
  }
  process.stdout.write(`bench/vision: done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
