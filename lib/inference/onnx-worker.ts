/**
 * Worker thread that owns one onnxruntime-node InferenceSession. session.run() blocks the thread
 * it runs on, so it runs here and never on Node-RED's event loop.
 */
import { parentPort } from "node:worker_threads";
import type { FromWorker, IoMeta, LetterboxPrep, ModelInfo, ToWorker, WireTensor } from "./protocol";
import { letterboxTensor } from "./yolo/letterbox";
import { readOnnxMetadata } from "./yolo/metadata";

// Loaded here only: a failing native module must take down only the nodes that infer.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require("onnxruntime-node") as typeof import("onnxruntime-node");

let session: import("onnxruntime-node").InferenceSession | undefined;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}

function describeIo(names: readonly string[], meta: unknown): IoMeta[] {
  const list = Array.isArray(meta) ? (meta as Array<Record<string, unknown>>) : [];
  return names.map((name, i) => {
    const m = list.find((x) => x && x.name === name) ?? list[i] ?? {};
    const io: IoMeta = { name };
    if (typeof m.type === "string") io.type = m.type;
    if (Array.isArray(m.shape)) io.shape = m.shape as Array<number | string>;
    return io;
  });
}

async function load(modelPath: string, threads: number): Promise<void> {
  session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const s = session as unknown as { inputMetadata?: unknown; outputMetadata?: unknown };
  const info: ModelInfo = {
    inputs: describeIo(session.inputNames, s.inputMetadata),
    outputs: describeIo(session.outputNames, s.outputMetadata),
    metadata: readOnnxMetadata(modelPath),
  };
  post({ kind: "loaded", info });
}

/** Replace the pixel feed named by `prep` with its letterboxed float32 tensor. */
function prepare(feeds: Record<string, WireTensor>, prep: LetterboxPrep): void {
  const px = feeds[prep.input];
  if (!px || !(px.data instanceof Uint8Array)) throw new Error(`feed "${prep.input}" must hold uint8 pixels`);
  const data = letterboxTensor(px.data, prep.channels, prep.lb);
  feeds[prep.input] = { type: "float32", data, dims: [1, 3, prep.lb.height, prep.lb.width] };
}

async function run(
  id: number,
  feeds: Record<string, WireTensor>,
  outputs?: string[],
  prep?: LetterboxPrep,
): Promise<void> {
  if (!session) throw new Error("no model loaded");
  const t0 = performance.now();
  if (prep) prepare(feeds, prep);
  const ortFeeds: Record<string, import("onnxruntime-node").Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  const res = outputs ? await session.run(ortFeeds, outputs) : await session.run(ortFeeds);
  const out: Record<string, WireTensor> = {};
  const transfer: ArrayBuffer[] = [];
  for (const [name, t] of Object.entries(res)) {
    const data = t.data as WireTensor["data"];
    out[name] = { type: t.type as WireTensor["type"], data, dims: [...t.dims] };
    if (data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
  }
  post({ kind: "result", id, outputs: out, ms: performance.now() - t0 }, transfer);
}

parentPort!.on("message", (msg: ToWorker) => {
  if (msg.kind === "load") {
    load(msg.modelPath, msg.intraOpThreads).catch((err: unknown) =>
      post({ kind: "load-error", message: err instanceof Error ? err.message : String(err) }),
    );
  } else if (msg.kind === "run") {
    run(msg.id, msg.feeds, msg.outputs, msg.prep).catch((err: unknown) =>
      post({ kind: "run-error", id: msg.id, message: err instanceof Error ? err.message : String(err) }),
    );
  } else if (msg.kind === "close") {
    const s = session;
    session = undefined;
    void Promise.resolve(s?.release?.()).finally(() => process.exit(0));
  }
});
