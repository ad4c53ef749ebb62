/**
 * Messages between the main thread and an ONNX worker (lib/inference/onnx-worker.ts).
 * Tensors travel as typed arrays whose buffers are transferred, not copied.
 */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface WireTensor {
  type: "float32" | "float64" | "int32" | "int64" | "uint8";
  data: TensorData;
  dims: number[];
}

export interface IoMeta {
  name: string;
  /** Element type, when the runtime reports it (e.g. "float32"). */
  type?: string;
  /** Dimensions; a string or -1 marks a dynamic axis. */
  shape?: Array<number | string>;
}

export interface ModelInfo {
  inputs: IoMeta[];
  outputs: IoMeta[];
  /** Custom metadata of the model (e.g. Ultralytics `names`, `imgsz`), when the runtime exposes it. */
  metadata: Record<string, string>;
}

export type ToWorker =
  | { kind: "load"; modelPath: string; intraOpThreads: number }
  | { kind: "run"; id: number; feeds: Record<string, WireTensor>; outputs?: string[] }
  | { kind: "close" };

export type FromWorker =
  | { kind: "loaded"; info: ModelInfo }
  | { kind: "load-error"; message: string }
  | { kind: "result"; id: number; outputs: Record<string, WireTensor>; ms: number }
  | { kind: "run-error"; id: number; message: string };
