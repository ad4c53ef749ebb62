/**
 * YOLO output layouts and their decoders. Boxes come out in model-input pixels as corners.
 *   v5      [1, N, 5 + nc]   rows (cx, cy, w, h, obj, cls...): score = obj x cls, rows with obj <= conf skipped
 *   v8/v11  [1, 4 + nc, N]   columns (cx, cy, w, h, cls...):   score = max cls
 *   e2e     [1, N, 6]        rows (x1, y1, x2, y2, score, class), already NMS'd (YOLOv10/YOLO26, nms=True)
 * N for v8 = sum over strides 8/16/32 of (H/s)(W/s); v5 has 3 anchors per cell, so 3x that.
 */
import { LineGuardError } from "../../errors";
import type { Candidate } from "./nms";

export type YoloLayout = "v5" | "v8" | "e2e";

export interface LayoutInfo {
  layout: YoloLayout;
  /** Class count read from the output shape (v5/v8); undefined for e2e. */
  nc: number | undefined;
}

/** Anchor points of a v8 head on a W x H input (strides 8, 16, 32). */
export function anchorCount(width: number, height: number, strides: readonly number[] = [8, 16, 32]): number {
  return strides.reduce((n, s) => n + Math.ceil(width / s) * Math.ceil(height / s), 0);
}

const fmtDims = (dims: ReadonlyArray<number | string>): string => `[${dims.join(", ")}]`;
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x > 0;

/**
 * The layout of an output of shape `dims` for a `width` x `height` input. `nc`: the class count when
 * known (from the class names); `end2end`: the model says it is end-to-end (metadata). Throws a
 * LineGuardError("model-layout") naming the shape when no layout fits or the class count disagrees.
 */
export function detectLayout(
  dims: ReadonlyArray<number | string>,
  input: { width: number; height: number },
  nc?: number,
  end2end?: boolean,
): LayoutInfo {
  const expected =
    "expected [1, 4+nc, N] (YOLOv8/v11), [1, N, 5+nc] (YOLOv5) or [1, N, 6] (end-to-end, e.g. YOLOv10/YOLO26)";
  const bad = (why: string): never => {
    throw new LineGuardError("model-layout", `unknown YOLO output layout ${fmtDims(dims)}: ${why}; ${expected}`);
  };
  if (dims.length !== 3) return bad(`${dims.length} dimensions`);
  const [b, a, c] = dims as [number | string, number | string, number | string];
  if (isNum(b) && b !== 1) return bad(`batch ${b}`);
  const n8 = anchorCount(input.width, input.height);
  const n5 = 3 * n8;
  let info: LayoutInfo | undefined;
  if (end2end === true && c === 6) info = { layout: "e2e", nc: undefined };
  else if (isNum(a) && isNum(c)) {
    if (c === n8 && a >= 5) info = { layout: "v8", nc: a - 4 };
    else if (a === n5 && c >= 6) info = { layout: "v5", nc: c - 5 };
    else if (c === 6 && end2end !== false) info = { layout: "e2e", nc: undefined };
    else if (nc !== undefined && a === 4 + nc && c > a) info = { layout: "v8", nc };
    else if (nc !== undefined && c === 5 + nc && a > c) info = { layout: "v5", nc };
  } else if (isNum(a) && !isNum(c)) {
    if (a >= 5) info = { layout: "v8", nc: a - 4 };
  } else if (!isNum(a) && isNum(c)) {
    if (c === 6 && !(end2end === false || (nc === 1 && end2end !== true))) info = { layout: "e2e", nc: undefined };
    else if (c >= 6) info = { layout: "v5", nc: c - 5 };
  }
  if (!info) {
    return bad(
      `for a ${input.width}x${input.height} input a v8 head has ${n8} anchors and a v5 head ${n5}` +
        (nc !== undefined ? `, with ${nc} classes` : ""),
    );
  }
  if (nc !== undefined && info.nc !== undefined && info.nc !== nc) {
    throw new LineGuardError(
      "model-classes",
      `the model's output ${fmtDims(dims)} (${info.layout}) has ${info.nc} class channel(s) but ${nc} class name(s) are given`,
    );
  }
  return info;
}

/** Decode one image's output tensor into candidates above `conf` (model-input pixels, corners). */
export function decode(
  layout: YoloLayout,
  data: ArrayLike<number>,
  dims: readonly number[],
  conf: number,
): Candidate[] {
  if (dims.length !== 3 || dims[0] !== 1) {
    throw new LineGuardError("inference", `unexpected output shape ${fmtDims(dims)} for a ${layout} model`);
  }
  const a = dims[1]!;
  const c = dims[2]!;
  if (data.length !== a * c) throw new LineGuardError("inference", "output data does not match its shape");
  if (layout === "v8") return decodeV8(data, a - 4, c, conf);
  if (layout === "v5") return decodeV5(data, a, c - 5, conf);
  if (c < 6) throw new LineGuardError("inference", `unexpected output shape ${fmtDims(dims)} for an e2e model`);
  return decodeE2E(data, a, c, conf);
}

/** v8/v11: channel-major [4 + nc, n]. */
export function decodeV8(data: ArrayLike<number>, nc: number, n: number, conf: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let cls = 0;
    for (let k = 0; k < nc; k++) {
      const s = data[(4 + k) * n + i]!;
      if (s > best) {
        best = s;
        cls = k;
      }
    }
    if (!(best > conf)) continue;
    const cx = data[i]!;
    const cy = data[n + i]!;
    const w = data[2 * n + i]!;
    const h = data[3 * n + i]!;
    out.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score: best, classId: cls });
  }
  return out;
}

/** v5: row-major [n, 5 + nc], score = obj x cls. */
export function decodeV5(data: ArrayLike<number>, n: number, nc: number, conf: number): Candidate[] {
  const out: Candidate[] = [];
  const stride = 5 + nc;
  for (let i = 0; i < n; i++) {
    const o = i * stride;
    const obj = data[o + 4]!;
    if (!(obj > conf)) continue;
    let best = -Infinity;
    let cls = 0;
    for (let k = 0; k < nc; k++) {
      const s = data[o + 5 + k]! * obj;
      if (s > best) {
        best = s;
        cls = k;
      }
    }
    if (!(best > conf)) continue;
    const cx = data[o]!;
    const cy = data[o + 1]!;
    const w = data[o + 2]!;
    const h = data[o + 3]!;
    out.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score: best, classId: cls });
  }
  return out;
}

/** End-to-end: row-major [n, 6] (x1, y1, x2, y2, score, class), in the model's order. */
export function decodeE2E(data: ArrayLike<number>, n: number, stride: number, conf: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * stride;
    const score = data[o + 4]!;
    if (!(score > conf)) continue;
    out.push({
      x1: data[o]!,
      y1: data[o + 1]!,
      x2: data[o + 2]!,
      y2: data[o + 3]!,
      score,
      classId: Math.round(data[o + 5]!),
    });
  }
  return out;
}
