/**
 * Messages between the main thread and an ONNX worker (lib/inference/onnx-worker.ts).
 * Tensors travel as typed arrays whose buffers are transferred, not copied.
 */
import type { Letterbox } from "./yolo/letterbox";

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
  /** Custom metadata of the model (ONNX metadata_props, e.g. Ultralytics `names`, `imgsz`); {} when none. */
  metadata: Record<string, string>;
}

/**
 * Preprocessing the worker does before a run (optional): the feed named `input` holds decoded pixels
 * (uint8, dims [height, width, channels]) and is replaced by their letterboxed NCHW float32 tensor
 * [1, 3, lb.height, lb.width] (lib/inference/yolo/letterbox.ts).
 */
export interface LetterboxPrep {
  kind: "letterbox";
  input: string;
  channels: number;
  lb: Letterbox;
}

export type ToWorker =
  | { kind: "load"; modelPath: string; intraOpThreads: number }
  | { kind: "run"; id: number; feeds: Record<string, WireTensor>; outputs?: string[]; prep?: LetterboxPrep }
  | { kind: "close" };

export type FromWorker =
  | { kind: "loaded"; info: ModelInfo }
  | { kind: "load-error"; message: string }
  | { kind: "result"; id: number; outputs: Record<string, WireTensor>; ms: number }
  | { kind: "run-error"; id: number; message: string };
