/**
 * WorkerSession: an ONNX model loaded in a worker thread. run() posts tensors (buffers transferred)
 * and resolves with the outputs; the event loop of the caller never blocks on inference. A worker
 * that dies fails its pending runs with an error and is started again on the next run.
 */
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { LineGuardError } from "../errors";
import type { FromWorker, LetterboxPrep, ModelInfo, ToWorker, WireTensor } from "./protocol";

export interface WorkerSessionOptions {
  /** Threads onnxruntime may use inside the worker (default 1: Node-RED shares the machine). */
  intraOpThreads?: number;
  /** Time allowed for loading the model (ms). */
  loadTimeoutMs?: number;
}

interface Pending {
  resolve: (r: { outputs: Record<string, WireTensor>; ms: number }) => void;
  reject: (e: Error) => void;
}

const WORKER_JS = path.join(__dirname, "onnx-worker.js");

export class WorkerSession {
  private worker: Worker | undefined;
  private loading: Promise<ModelInfo> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private _info: ModelInfo | undefined;

  constructor(
    readonly modelPath: string,
    private readonly opts: WorkerSessionOptions = {},
  ) {}

  get info(): ModelInfo | undefined {
    return this._info;
  }

  /** Start the worker and load the model; resolves with the model's inputs/outputs. */
  load(): Promise<ModelInfo> {
    if (this.closed) return Promise.reject(new LineGuardError("closed", "inference session is closed"));
    if (this.loading) return this.loading;
    if (!fs.existsSync(this.modelPath)) {
      return Promise.reject(new LineGuardError("model-missing", `model file not found: ${this.modelPath}`));
    }
    this.loading = new Promise<ModelInfo>((resolve, reject) => {
      const w = new Worker(WORKER_JS);
      this.worker = w;
      const timer = setTimeout(() => {
        reject(new LineGuardError("model-load", `loading ${path.basename(this.modelPath)} timed out`));
        void w.terminate();
      }, this.opts.loadTimeoutMs ?? 60_000);
      w.on("message", (msg: FromWorker) => {
        if (msg.kind === "loaded") {
          clearTimeout(timer);
          this._info = msg.info;
          resolve(msg.info);
        } else if (msg.kind === "load-error") {
          clearTimeout(timer);
          reject(new LineGuardError("model-load", `cannot load ${path.basename(this.modelPath)}: ${msg.message}`));
          void w.terminate();
        } else if (msg.kind === "result") {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p?.resolve({ outputs: msg.outputs, ms: msg.ms });
        } else if (msg.kind === "run-error") {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p?.reject(new LineGuardError("inference", msg.message));
        }
      });
      const died = (why: string): void => {
        clearTimeout(timer);
        if (this.worker === w) {
          this.worker = undefined;
          this.loading = undefined;
        }
        const err = new LineGuardError("worker-exit", `inference worker stopped: ${why}`, { retriable: true });
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      w.on("error", (e) => died(e.message));
      w.on("exit", (code) => died(`exit code ${code}`));
      const load: ToWorker = { kind: "load", modelPath: this.modelPath, intraOpThreads: this.opts.intraOpThreads ?? 1 };
      w.postMessage(load);
    });
    this.loading.catch(() => undefined);
    return this.loading;
  }

  /**
   * Run the model. The typed arrays of `feeds` are transferred (do not use them afterwards) unless
   * `keepInputs` is set, in which case they are copied to the worker and stay usable here. `prep`:
   * preprocessing done in the worker before the run (see LetterboxPrep).
   */
  async run(
    feeds: Record<string, WireTensor>,
    outputs?: string[],
    keepInputs = false,
    prep?: LetterboxPrep,
  ): Promise<{ outputs: Record<string, WireTensor>; ms: number }> {
    await this.load();
    const w = this.worker;
    if (!w || this.closed) throw new LineGuardError("closed", "inference session is closed");
    const id = this.nextId++;
    const transfer: ArrayBuffer[] = [];
    if (!keepInputs) {
      for (const t of Object.values(feeds)) if (t.data.buffer instanceof ArrayBuffer) transfer.push(t.data.buffer);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ToWorker = { kind: "run", id, feeds, ...(outputs ? { outputs } : {}), ...(prep ? { prep } : {}) };
      w.postMessage(msg, transfer);
    });
  }

  get busy(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    const err = new LineGuardError("closed", "inference session closed");
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (!w) return;
    const exited = new Promise<void>((r) => w.once("exit", () => r()));
    w.postMessage({ kind: "close" } satisfies ToWorker);
    const t = setTimeout(() => void w.terminate(), 2000);
    await exited;
    clearTimeout(t);
  }
}
