/**
 * Image preprocessing exactly like Ultralytics' LetterBox (8.4; auto=False, scaleup=True, center=True):
 *   r = min(H / h, W / w); new_unpad = (max(round(w r), 1), max(round(h r), 1)); dw, dh = (W - new_w) / 2, (H - new_h) / 2;
 *   top = round(dh - 0.1), bottom = round(dh + 0.1), left = round(dw - 0.1), right = round(dw + 0.1);
 *   cv2.resize(INTER_LINEAR) when the size changes, pad value 114, RGB, / 255, NCHW float32.
 * Decoding runs in sharp (./image.ts, libuv pool, never on the event loop). The resize + pad + float
 * conversion (`letterboxTensor`) is plain JS with OpenCV's INTER_LINEAR arithmetic (half-pixel centres,
 * 11-bit fixed-point weights, no antialiasing), so pixels match cv2 to +-1; the detector runs it in its
 * worker thread. No sharp import here: the worker loads this file.
 */
import { LineGuardError } from "../../errors";

/** Letterbox geometry: source size, target (model input) size, scale and padding. */
export interface Letterbox {
  srcWidth: number;
  srcHeight: number;
  width: number;
  height: number;
  r: number;
  newWidth: number;
  newHeight: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Python's round(): half to even. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export function letterbox(srcWidth: number, srcHeight: number, width: number, height: number): Letterbox {
  if (!(srcWidth > 0 && srcHeight > 0 && width > 0 && height > 0)) {
    throw new LineGuardError("bad-image", `cannot letterbox ${srcWidth}x${srcHeight} into ${width}x${height}`);
  }
  const r = Math.min(height / srcHeight, width / srcWidth);
  const newWidth = Math.max(pyRound(srcWidth * r), 1);
  const newHeight = Math.max(pyRound(srcHeight * r), 1);
  const dw = (width - newWidth) / 2;
  const dh = (height - newHeight) / 2;
  return {
    srcWidth,
    srcHeight,
    width,
    height,
    r,
    newWidth,
    newHeight,
    top: pyRound(dh - 0.1),
    bottom: pyRound(dh + 0.1),
    left: pyRound(dw - 0.1),
    right: pyRound(dw + 0.1),
  };
}

/**
 * A box (x1, y1, x2, y2) in model-input pixels back to source pixels like Ultralytics' scale_boxes: undo
 * the pad, divide by the per-axis scale of the resize actually done (new_w / w, new_h / h), clip.
 */
export function unletterbox(b: [number, number, number, number], lb: Letterbox): [number, number, number, number] {
  const clip = (v: number, max: number): number => (v < 0 ? 0 : v > max ? max : v);
  const gx = lb.newWidth / lb.srcWidth;
  const gy = lb.newHeight / lb.srcHeight;
  return [
    clip((b[0] - lb.left) / gx, lb.srcWidth),
    clip((b[1] - lb.top) / gy, lb.srcHeight),
    clip((b[2] - lb.left) / gx, lb.srcWidth),
    clip((b[3] - lb.top) / gy, lb.srcHeight),
  ];
}

const LUT = new Float32Array(256).map((_, v) => v / 255);
const PAD = Math.fround(114 / 255);
const COEF = 2048; // OpenCV INTER_RESIZE_COEF_SCALE

/** cvRound: round half to even (lrint). */
function cvRound(x: number): number {
  return pyRound(x);
}

/** Source index and fixed-point weights per destination index (OpenCV resize INTER_LINEAR, 8-bit path). */
function linearTable(src: number, dst: number): { idx: Int32Array; a0: Int32Array; a1: Int32Array } {
  const scale = 1 / (dst / src);
  const idx = new Int32Array(dst);
  const a0 = new Int32Array(dst);
  const a1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (s < 0) {
      f = 0;
      s = 0;
    }
    if (s >= src - 1) {
      f = 0;
      s = src - 1;
    }
    idx[d] = s;
    a0[d] = cvRound(Math.fround(1 - f) * COEF);
    a1[d] = cvRound(f * COEF);
  }
  return { idx, a0, a1 };
}

/**
 * Letterboxed model input from decoded pixels: `src` is HWC uint8 (`channels` 1-4; RGB(A) or grey),
 * the result NCHW float32 RGB in [0, 1], size 3 x lb.height x lb.width (written into `out` when given).
 */
export function letterboxTensor(src: Uint8Array, channels: number, lb: Letterbox, out?: Float32Array): Float32Array {
  const { srcWidth: w, srcHeight: h, width: W, height: H, newWidth: nw, newHeight: nh, top, left } = lb;
  if (src.length < w * h * channels) throw new LineGuardError("bad-image", "pixel buffer shorter than its size");
  const plane = W * H;
  const t = out ?? new Float32Array(3 * plane);
  t.fill(PAD);
  const c1 = channels >= 3 ? 1 : 0;
  const c2 = channels >= 3 ? 2 : 0;
  if (nw === w && nh === h) {
    for (let y = 0; y < h; y++) {
      let si = y * w * channels;
      let di = (y + top) * W + left;
      for (let x = 0; x < w; x++, si += channels, di++) {
        t[di] = LUT[src[si]!]!;
        t[plane + di] = LUT[src[si + c1]!]!;
        t[2 * plane + di] = LUT[src[si + c2]!]!;
      }
    }
    return t;
  }
  const xs = linearTable(w, nw);
  const ys = linearTable(h, nh);
  // Horizontally resized source rows (3 channels, fixed point x 2048), cached for the two rows in use.
  const rowA = new Int32Array(nw * 3);
  const rowB = new Int32Array(nw * 3);
  let rowAIndex = -1;
  let rowBIndex = -1;
  const hresize = (sy: number, into: Int32Array): void => {
    const base = sy * w * channels;
    for (let dx = 0; dx < nw; dx++) {
      const s0 = base + xs.idx[dx]! * channels;
      const s1 = xs.idx[dx]! < w - 1 ? s0 + channels : s0;
      const a0 = xs.a0[dx]!;
      const a1 = xs.a1[dx]!;
      const o = dx * 3;
      into[o] = src[s0]! * a0 + src[s1]! * a1;
      into[o + 1] = src[s0 + c1]! * a0 + src[s1 + c1]! * a1;
      into[o + 2] = src[s0 + c2]! * a0 + src[s1 + c2]! * a1;
    }
  };
  /** The resized row of source row `sy`, from the cache or computed into the buffer not holding `keep`. */
  const row = (sy: number, keep: number): Int32Array => {
    if (rowAIndex === sy) return rowA;
    if (rowBIndex === sy) return rowB;
    if (rowAIndex === keep) {
      hresize(sy, rowB);
      rowBIndex = sy;
      return rowB;
    }
    hresize(sy, rowA);
    rowAIndex = sy;
    return rowA;
  };
  for (let dy = 0; dy < nh; dy++) {
    const sy0 = ys.idx[dy]!;
    const sy1 = sy0 < h - 1 ? sy0 + 1 : sy0;
    const r0 = row(sy0, sy1);
    const r1 = row(sy1, sy0);
    const b0 = ys.a0[dy]!;
    const b1 = ys.a1[dy]!;
    let di = (dy + top) * W + left;
    for (let dx = 0; dx < nw; dx++, di++) {
      const o = dx * 3;
      for (let c = 0; c < 3; c++) {
        let v = (r0[o + c]! * b0 + r1[o + c]! * b1 + (1 << 21)) >> 22;
        if (v > 255) v = 255;
        else if (v < 0) v = 0;
        t[c * plane + di] = LUT[v]!;
      }
    }
  }
  return t;
}
