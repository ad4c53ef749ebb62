/**
 * A synthetic inspection camera over a float-glass ribbon. Frames are painted into typed arrays and
 * encoded with sharp: a greenish-grey glass texture with lengthwise streaks and noise, a lighting
 * gradient that drifts slowly, motion (the texture and the defects travel with the ribbon, left to
 * right), and five defect classes drawn distinctly, each with a tight ground-truth box.
 *
 * Deterministic for a given seed and sequence of calls. No Node-RED import.
 */
import sharp from "sharp";
import { Rng, deriveSeed } from "../cnc/rng";

export const DEFECT_CLASSES = ["bubble", "stone", "scratch", "crack", "tin_drip"] as const; // YOLO class ids 0..4
export type DefectClass = (typeof DEFECT_CLASSES)[number];

/** A ground-truth box in pixels (top-left corner, width, height), clipped to the frame. */
export interface GroundTruthBox {
  cls: DefectClass;
  classId: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface RibbonCameraOptions {
  /** Frame width in pixels (default 640). */
  width?: number;
  /** Frame height in pixels (default 480). */
  height?: number;
  seed?: number;
  /** Expected number of defects visible per frame (default 0.3). */
  defectRate?: number;
  /** JPEG quality 1..100 (default 85). */
  quality?: number;
  /** Ribbon speed in metres per minute (default 12). */
  ribbonSpeed?: number;
  /** Image scale along the ribbon: pixels per metre (default 600). */
  pixelsPerMetre?: number;
}

export interface CameraFrame {
  jpeg: Buffer;
  width: number;
  height: number;
  ts: number;
  boxes: GroundTruthBox[];
}

/** Smallest box side in pixels: thinner boxes are grown around their centre (within the frame). */
export const MIN_BOX_SIZE = 10;

const TEX_W = 2048; // texture period along the ribbon (power of two)
const NOISE_N = 1 << 16;
const ALPHA_BOX = 0.2; // stamp alpha that counts as "drawn" for the tight box

/** A defect drawn once into a small RGBA patch (premultiplied-free: colour + coverage). */
interface Stamp {
  w: number;
  h: number;
  /** rgba per pixel, colour 0..255, alpha 0..1 */
  px: Float32Array;
  /** tight box inside the patch (inclusive-exclusive) */
  bx0: number;
  by0: number;
  bx1: number;
  by1: number;
}

interface Defect {
  cls: DefectClass;
  /** world x of the patch's left edge (ribbon coordinates, see RibbonCamera) */
  u: number;
  /** y of the patch's top edge */
  y: number;
  stamp: Stamp;
  contrast: number;
}

export class RibbonCamera {
  readonly width: number;
  readonly height: number;
  private _defectRate: number;
  private quality: number;
  private readonly rng: Rng;
  private readonly tex: Float32Array;
  private readonly vignette: Float32Array;
  private readonly noise: Int8Array;
  private readonly work: Float32Array;
  private readonly litPhase: number[];
  private readonly pxPerMetre: number;
  private speedPxPerMs: number;
  private classRates: Record<DefectClass, number> = { bubble: 1, stone: 1, scratch: 1, crack: 1, tin_drip: 1 };
  private pending: DefectClass[] = [];
  private defects: Defect[] = [];
  /** ribbon travel in pixels; screen x = u + pos */
  private pos = 0;
  private lastT: number | undefined;

  constructor(opts: RibbonCameraOptions = {}) {
    this.width = Math.max(32, Math.round(opts.width ?? 640));
    this.height = Math.max(32, Math.round(opts.height ?? 480));
    this._defectRate = Math.max(0, opts.defectRate ?? 0.3);
    this.quality = clampInt(opts.quality ?? 85, 1, 100);
    const seed = opts.seed ?? 1;
    this.rng = new Rng(deriveSeed(seed, "camera"));
    this.pxPerMetre = opts.pixelsPerMetre ?? 600;
    this.speedPxPerMs = 0;
    this.setRibbonSpeed(opts.ribbonSpeed ?? 12);
    const trng = new Rng(deriveSeed(seed, "texture"));
    this.tex = buildTexture(trng, this.height);
    this.vignette = buildVignette(this.width, this.height, 0.16);
    this.noise = new Int8Array(NOISE_N);
    for (let i = 0; i < NOISE_N; i++) this.noise[i] = Math.max(-127, Math.min(127, Math.round(trng.gauss(2.2))));
    this.work = new Float32Array(this.width * this.height * 3);
    this.litPhase = [0, 1, 2, 3, 4].map(() => trng.range(0, Math.PI * 2));
  }

  get defectRate(): number {
    return this._defectRate;
  }

  setDefectRate(r: number): void {
    if (Number.isFinite(r) && r >= 0) this._defectRate = r;
  }

  setQuality(q: number): void {
    this.quality = clampInt(q, 1, 100);
  }

  setRibbonSpeed(metresPerMinute: number): void {
    if (!Number.isFinite(metresPerMinute) || metresPerMinute < 0) return;
    this.speedPxPerMs = (metresPerMinute * this.pxPerMetre) / 60000;
  }

  setClassRates(rates: Partial<Record<DefectClass, number>>): void {
    for (const cls of DEFECT_CLASSES) {
      const m = rates[cls];
      if (m !== undefined && Number.isFinite(m) && m >= 0) this.classRates[cls] = m;
    }
  }

  /** Force defects of a class into the next frame(s): they appear fully in view and travel on. */
  inject(cls: DefectClass, count = 1): void {
    if (!DEFECT_CLASSES.includes(cls)) throw new Error(`unknown defect class "${String(cls)}"`);
    for (let i = 0; i < Math.min(50, Math.max(0, Math.floor(count))); i++) this.pending.push(cls);
  }

  /** Advance time to tMs (epoch ms) and render a frame. */
  async frame(tMs: number): Promise<CameraFrame> {
    const { raw, boxes } = this.renderRaw(tMs);
    const jpeg = await sharp(raw, { raw: { width: this.width, height: this.height, channels: 3 } })
      .jpeg({ quality: this.quality, chromaSubsampling: "4:2:0" })
      .toBuffer();
    return { jpeg, width: this.width, height: this.height, ts: tMs, boxes };
  }

  /** Advance time and paint the frame as raw RGB (no encoding). */
  renderRaw(tMs: number): { raw: Buffer; boxes: GroundTruthBox[] } {
    this.advance(tMs);
    this.placePending();
    this.paintBackground(tMs);
    const boxes = this.paintDefects();
    return { raw: this.finish(), boxes };
  }

  // ---- time and defect population ----

  private advance(tMs: number): void {
    const W = this.width;
    if (this.lastT === undefined) {
      this.lastT = tMs;
      this.populate(-this.pos - W * 0.25, -this.pos + W * 1.0);
      return;
    }
    const dt = Math.max(0, tMs - this.lastT);
    this.lastT = tMs;
    const prev = this.pos;
    this.pos += dt * this.speedPxPerMs;
    const moved = this.pos - prev;
    if (moved >= W) {
      // a fresh stretch of ribbon: forget the old defects, fill the view anew
      this.defects = [];
      this.populate(-this.pos - W * 0.25, -this.pos + W);
    } else if (moved > 0) {
      // new glass entered on the left; spawn into it (partly left of the view so defects slide in)
      this.populate(-this.pos - W * 0.25, -prev - W * 0.25);
    }
    this.defects = this.defects.filter((d) => d.u + this.pos < W);
  }

  /** Spawn defects with centres in world x range [u0, u1), Poisson with the configured density. */
  private populate(u0: number, u1: number): void {
    const len = u1 - u0;
    if (len <= 0 || this._defectRate <= 0) return;
    const perClass = this._defectRate / DEFECT_CLASSES.length;
    for (const cls of DEFECT_CLASSES) {
      const lambda = (perClass * this.classRates[cls] * len) / this.width;
      const n = poisson(this.rng, lambda);
      for (let i = 0; i < n; i++) {
        const stamp = makeStamp(cls, this.rng, this.width, this.height);
        const cu = this.rng.range(u0, u1);
        const cy = this.rng.range(0, this.height);
        this.defects.push({
          cls,
          u: cu - stamp.w / 2,
          y: Math.round(cy - stamp.h / 2),
          stamp,
          contrast: this.rng.range(0.6, 1),
        });
      }
    }
  }

  private placePending(): void {
    if (this.pending.length === 0) return;
    const W = this.width;
    const H = this.height;
    const taken: Array<[number, number, number, number]> = [];
    for (const d of this.defects) {
      const x = Math.round(d.u + this.pos);
      taken.push([x + d.stamp.bx0, d.y + d.stamp.by0, x + d.stamp.bx1, d.y + d.stamp.by1]);
    }
    for (const cls of this.pending) {
      const stamp = makeStamp(cls, this.rng, W, H);
      let x = 0;
      let y = 0;
      for (let attempt = 0; attempt < 30; attempt++) {
        x = Math.round(this.rng.range(-stamp.bx0, Math.max(-stamp.bx0 + 1, W - stamp.bx1)));
        y = Math.round(this.rng.range(-stamp.by0, Math.max(-stamp.by0 + 1, H - stamp.by1)));
        const b: [number, number, number, number] = [x + stamp.bx0, y + stamp.by0, x + stamp.bx1, y + stamp.by1];
        if (!taken.some((t) => overlaps(t, b, 3))) break;
      }
      taken.push([x + stamp.bx0, y + stamp.by0, x + stamp.bx1, y + stamp.by1]);
      this.defects.push({ cls, u: x - this.pos, y, stamp, contrast: this.rng.range(0.65, 1) });
    }
    this.pending = [];
  }

  // ---- painting ----

  private paintBackground(tMs: number): void {
    const W = this.width;
    const H = this.height;
    const t = tMs / 1000;
    const p = this.litPhase;
    const gx = 0.1 * Math.sin((2 * Math.PI * t) / 97 + p[0]);
    const gy = 0.08 * Math.sin((2 * Math.PI * t) / 131 + p[1]);
    const level = 0.97 + 0.06 * Math.sin((2 * Math.PI * t) / 53 + p[2]);
    const bandC = W * (0.5 + 0.45 * Math.sin((2 * Math.PI * t) / 71 + p[3]));
    const bandA = 0.07 + 0.05 * Math.sin((2 * Math.PI * t) / 89 + p[4]);
    const col = new Float32Array(W);
    for (let x = 0; x < W; x++) {
      const d = (x - bandC) / (W * 0.14);
      col[x] = level + gx * (x / W - 0.5) + bandA * Math.exp(-d * d);
    }
    const tint = 0.04 * Math.sin((2 * Math.PI * t) / 113 + p[0]);
    const br = 112 * (1 - tint);
    const bg = 134;
    const bb = 124 * (1 + tint);
    const tex = this.tex;
    const vig = this.vignette;
    const out = this.work;
    const shift = Math.floor(this.pos) & (TEX_W - 1);
    let i = 0;
    let o = 0;
    for (let y = 0; y < H; y++) {
      const row = gy * (y / H - 0.5);
      const trow = y * TEX_W;
      for (let x = 0; x < W; x++, i++, o += 3) {
        const l = (col[x] + row - vig[i]) * (1 + tex[trow + ((x - shift) & (TEX_W - 1))]);
        out[o] = br * l;
        out[o + 1] = bg * l;
        out[o + 2] = bb * l;
      }
    }
  }

  private paintDefects(): GroundTruthBox[] {
    const W = this.width;
    const H = this.height;
    const out = this.work;
    const boxes: GroundTruthBox[] = [];
    for (const d of this.defects) {
      const s = d.stamp;
      const ox = Math.round(d.u + this.pos);
      const oy = d.y;
      const x0 = Math.max(0, ox);
      const y0 = Math.max(0, oy);
      const x1 = Math.min(W, ox + s.w);
      const y1 = Math.min(H, oy + s.h);
      if (x0 >= x1 || y0 >= y1) continue;
      const k = d.contrast;
      for (let y = y0; y < y1; y++) {
        let si = ((y - oy) * s.w + (x0 - ox)) * 4;
        let o = (y * W + x0) * 3;
        for (let x = x0; x < x1; x++, si += 4, o += 3) {
          const a = s.px[si + 3] * k;
          if (a <= 0) continue;
          const b = 1 - a;
          out[o] = out[o] * b + s.px[si] * a;
          out[o + 1] = out[o + 1] * b + s.px[si + 1] * a;
          out[o + 2] = out[o + 2] * b + s.px[si + 2] * a;
        }
      }
      // ground truth: the stamp's tight box, clipped; skip slivers at the edges
      const fx0 = ox + s.bx0;
      const fy0 = oy + s.by0;
      const fx1 = ox + s.bx1;
      const fy1 = oy + s.by1;
      const cx0 = Math.max(0, fx0);
      const cy0 = Math.max(0, fy0);
      const cx1 = Math.min(W, fx1);
      const cy1 = Math.min(H, fy1);
      if (cx1 - cx0 < 4 || cy1 - cy0 < 4) continue;
      if ((cx1 - cx0) * (cy1 - cy0) < 0.3 * (fx1 - fx0) * (fy1 - fy0)) continue;
      const [bx, bw] = growSpan(cx0, cx1, W);
      const [by, bh] = growSpan(cy0, cy1, H);
      boxes.push({ cls: d.cls, classId: DEFECT_CLASSES.indexOf(d.cls), x: bx, y: by, w: bw, h: bh });
    }
    return boxes;
  }

  private finish(): Buffer {
    const n = this.width * this.height;
    const buf = Buffer.allocUnsafe(n * 3);
    const c = new Uint8ClampedArray(buf.buffer, buf.byteOffset, n * 3);
    const src = this.work;
    const noise = this.noise;
    const off = this.rng.int(0, NOISE_N - 1);
    const step = 1 + 2 * this.rng.int(0, 15);
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      const nz = noise[(i * step + off) & (NOISE_N - 1)];
      c[o] = src[o] + nz;
      c[o + 1] = src[o + 1] + nz;
      c[o + 2] = src[o + 2] + nz;
    }
    return buf;
  }
}

// ---- helpers ----

function clampInt(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(Number.isFinite(v) ? v : hi)));
}

function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + rng.gauss(Math.sqrt(lambda))));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  for (;;) {
    p *= rng.next();
    if (p <= l) return k;
    k++;
  }
}

function overlaps(a: number[], b: number[], pad: number): boolean {
  return a[0] - pad < b[2] && b[0] - pad < a[2] && a[1] - pad < b[3] && b[1] - pad < a[3];
}

/** Grow [lo, hi) to at least MIN_BOX_SIZE around its centre, staying inside [0, size). Returns [start, length]. */
function growSpan(lo: number, hi: number, size: number): [number, number] {
  let len = hi - lo;
  if (len >= MIN_BOX_SIZE || size < MIN_BOX_SIZE) return [lo, len];
  const c = (lo + hi) / 2;
  len = MIN_BOX_SIZE;
  let s = Math.round(c - len / 2);
  s = Math.max(0, Math.min(size - len, s));
  return [s, len];
}

function buildTexture(rng: Rng, H: number): Float32Array {
  const tex = new Float32Array(TEX_W * H);
  // lengthwise streaks: a profile across the ribbon, constant along it
  const streak = new Float32Array(H);
  for (let k = 0; k < 6; k++) {
    const period = rng.range(8, 140);
    const amp = rng.range(0.003, 0.012);
    const ph = rng.range(0, Math.PI * 2);
    for (let y = 0; y < H; y++) streak[y] += amp * Math.sin((2 * Math.PI * y) / period + ph);
  }
  const lines = rng.int(3, 8);
  for (let k = 0; k < lines; k++) {
    const c = rng.range(0, H);
    const wdt = rng.range(0.6, 2.2);
    const amp = rng.range(-0.035, 0.035);
    for (let y = 0; y < H; y++) {
      const d = (y - c) / wdt;
      streak[y] += amp * Math.exp(-d * d);
    }
  }
  const o1 = valueNoise(rng, 16, Math.max(2, Math.round(H / 96)), H, 0.045);
  const o2 = valueNoise(rng, 64, Math.max(2, Math.round(H / 24)), H, 0.015);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < TEX_W; x++) {
      const i = y * TEX_W + x;
      // streaks wander in strength along the ribbon
      tex[i] = streak[y] * (1 + 6 * o1[i]) + o1[i] + o2[i] + rng.gauss(0.006);
    }
  }
  return tex;
}

/** Smooth value noise over TEX_W x H, periodic along x, with cx x cy lattice cells. */
function valueNoise(rng: Rng, cx: number, cy: number, H: number, amp: number): Float32Array {
  const lat = new Float32Array(cx * (cy + 1));
  for (let i = 0; i < lat.length; i++) lat[i] = rng.range(-1, 1) * amp;
  const out = new Float32Array(TEX_W * H);
  const sx = TEX_W / cx;
  const sy = H / cy;
  for (let y = 0; y < H; y++) {
    const fy = y / sy;
    const iy = Math.min(cy - 1, Math.floor(fy));
    let ty = fy - iy;
    ty = ty * ty * (3 - 2 * ty);
    for (let x = 0; x < TEX_W; x++) {
      const fx = x / sx;
      const ix = Math.floor(fx);
      let tx = fx - ix;
      tx = tx * tx * (3 - 2 * tx);
      const ix1 = (ix + 1) % cx;
      const a = lat[iy * cx + ix] * (1 - tx) + lat[iy * cx + ix1] * tx;
      const b = lat[(iy + 1) * cx + ix] * (1 - tx) + lat[(iy + 1) * cx + ix1] * tx;
      out[y * TEX_W + x] = a * (1 - ty) + b * ty;
    }
  }
  return out;
}

function buildVignette(W: number, H: number, strength: number): Float32Array {
  const v = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const dy = (y - H / 2) / (H / 2);
    for (let x = 0; x < W; x++) {
      const dx = (x - W / 2) / (W / 2);
      v[y * W + x] = strength * 0.5 * (dx * dx + dy * dy);
    }
  }
  return v;
}

// ---- defect stamps ----

type Shader = (x: number, y: number, put: (r: number, g: number, b: number, a: number) => void) => void;

/** Paint a stamp over local coordinates [x0, x1) x [y0, y1) (pixel centres at +0.5). */
function paint(x0: number, y0: number, x1: number, y1: number, shader: Shader): Stamp {
  const ix0 = Math.floor(x0);
  const iy0 = Math.floor(y0);
  const w = Math.max(1, Math.ceil(x1) - ix0);
  const h = Math.max(1, Math.ceil(y1) - iy0);
  const px = new Float32Array(w * h * 4);
  let bx0 = w;
  let by0 = h;
  let bx1 = 0;
  let by1 = 0;
  let idx = 0;
  // composite "over" in shader call order
  const put = (r: number, g: number, b: number, a: number): void => {
    if (a <= 0.002) return;
    a = Math.min(1, a);
    const pa = px[idx + 3];
    const na = a + pa * (1 - a);
    px[idx] = (r * a + px[idx] * pa * (1 - a)) / na;
    px[idx + 1] = (g * a + px[idx + 1] * pa * (1 - a)) / na;
    px[idx + 2] = (b * a + px[idx + 2] * pa * (1 - a)) / na;
    px[idx + 3] = na;
  };
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      idx = (j * w + i) * 4;
      shader(ix0 + i + 0.5, iy0 + j + 0.5, put);
      if (px[idx + 3] >= ALPHA_BOX) {
        if (i < bx0) bx0 = i;
        if (j < by0) by0 = j;
        if (i + 1 > bx1) bx1 = i + 1;
        if (j + 1 > by1) by1 = j + 1;
      }
    }
  }
  if (bx1 <= bx0 || by1 <= by0) {
    bx0 = 0;
    by0 = 0;
    bx1 = w;
    by1 = h;
  }
  return { w, h, px, bx0, by0, bx1, by1 };
}

function makeStamp(cls: DefectClass, rng: Rng, W: number, H: number): Stamp {
  const scale = Math.min(W, H) / 480;
  switch (cls) {
    case "bubble":
      return bubble(rng, scale);
    case "stone":
      return stone(rng, scale);
    case "scratch":
      return scratch(rng, scale, Math.min(W, H));
    case "crack":
      return crack(rng, scale);
    case "tin_drip":
      return tinDrip(rng, scale);
  }
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Bright elliptical ring with a dark rim, a faint lens interior and a highlight. */
function bubble(rng: Rng, scale: number): Stamp {
  const rx = rng.range(5, 22) * scale;
  const ry = rx * rng.range(0.45, 1);
  const th = rng.gauss(0.35);
  const c = Math.cos(th);
  const s = Math.sin(th);
  const mean = (rx + ry) / 2;
  const rim = Math.max(0.9, Math.min(2.2, mean * 0.12));
  const R = Math.max(rx, ry) + rim * 3 + 1;
  const hx = -0.35 * rx;
  const hy = -0.35 * ry;
  const hs = Math.max(1.2, 0.18 * mean);
  return paint(-R, -R, R, R, (x, y, put) => {
    const xr = x * c + y * s;
    const yr = -x * s + y * c;
    const r = Math.sqrt((xr / rx) ** 2 + (yr / ry) ** 2);
    const d = (r - 1) * mean; // ~ pixel distance to the ellipse
    if (d < 0) put(205, 222, 214, 0.16);
    const db = (d + rim * 1.9) / (rim * 1.1);
    put(238, 247, 242, 0.9 * Math.exp(-db * db));
    const dh = ((xr - hx) ** 2 + (yr - hy) ** 2) / (hs * hs);
    if (d < 0) put(250, 252, 250, 0.75 * Math.exp(-dh));
    const dd = d / rim;
    put(28, 38, 34, 0.92 * Math.exp(-dd * dd));
  });
}

/** Dark opaque irregular blob with a pale stress halo. */
function stone(rng: Rng, scale: number): Stamp {
  const r0 = rng.range(3.5, 13) * scale;
  const harm: Array<[number, number, number]> = [];
  for (let k = 2; k <= 5; k++) harm.push([k, (rng.range(0, 0.2) * 2) / k, rng.range(0, Math.PI * 2)]);
  const haloW = r0 * rng.range(0.35, 0.6);
  const R = r0 * 1.45 + haloW * 2.5 + 2;
  const tone = rng.range(18, 50);
  return paint(-R, -R, R, R, (x, y, put) => {
    const rr = Math.sqrt(x * x + y * y);
    const phi = Math.atan2(y, x);
    let f = 1;
    for (const [k, a, p] of harm) f += a * Math.sin(k * phi + p);
    const d = rr - r0 * f;
    if (d > 0) put(214, 222, 218, 0.5 * Math.exp(-d / haloW));
    const core = clamp01(0.5 - d);
    // a little relief inside the stone
    const speck = 10 * Math.sin(x * 1.3 + y * 0.7) * Math.cos(y * 1.1 - x * 0.4);
    put(tone + 12 + speck, tone + 6 + speck, tone + speck, 0.97 * core);
    const e = d + 0.8;
    put(10, 10, 10, 0.5 * Math.exp(-e * e));
  });
}

interface Seg {
  ax: number;
  ay: number;
  bx: number;
  by: number;
  w: number;
  t0: number;
  t1: number;
}

/** Distance from a point to segment; returns [distance, position along (0..1)]. */
function segDist(px: number, py: number, s: Seg): [number, number] {
  const vx = s.bx - s.ax;
  const vy = s.by - s.ay;
  const l2 = vx * vx + vy * vy || 1e-9;
  const u = clamp01(((px - s.ax) * vx + (py - s.ay) * vy) / l2);
  const dx = s.ax + u * vx - px;
  const dy = s.ay + u * vy - py;
  return [Math.sqrt(dx * dx + dy * dy), u];
}

function segBounds(segs: Seg[], pad: number): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const s of segs) {
    x0 = Math.min(x0, s.ax, s.bx);
    y0 = Math.min(y0, s.ay, s.by);
    x1 = Math.max(x1, s.ax, s.bx);
    y1 = Math.max(y1, s.ay, s.by);
  }
  return [x0 - pad, y0 - pad, x1 + pad, y1 + pad];
}

/** Long thin bright line, angled, slightly curved, with varying intensity. */
function scratch(rng: Rng, scale: number, maxLen: number): Stamp {
  const len = Math.min(maxLen * 0.8, rng.range(40, 260) * scale);
  const th = rng.range(0, Math.PI);
  const w = rng.range(0.9, 2.2);
  const bend = rng.gauss(0.06) * len;
  const c = Math.cos(th);
  const s = Math.sin(th);
  const n = 16;
  const pts: Array<[number, number]> = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n - 0.5;
    const along = t * len;
    const off = bend * (1 - 4 * t * t);
    pts.push([along * c - off * s, along * s + off * c]);
  }
  const segs: Seg[] = [];
  for (let i = 0; i < n; i++) {
    segs.push({ ax: pts[i][0], ay: pts[i][1], bx: pts[i + 1][0], by: pts[i + 1][1], w, t0: i / n, t1: (i + 1) / n });
  }
  const f1 = rng.range(2, 6);
  const p1 = rng.range(0, Math.PI * 2);
  const [x0, y0, x1, y1] = segBounds(segs, w + 3);
  return paint(x0, y0, x1, y1, (x, y, put) => {
    let best = Infinity;
    let bt = 0;
    for (const sg of segs) {
      const [d, u] = segDist(x, y, sg);
      if (d < best) {
        best = d;
        bt = sg.t0 + u * (sg.t1 - sg.t0);
      }
    }
    if (best > w + 3) return;
    const inten = 0.7 + 0.3 * Math.sin(2 * Math.PI * f1 * bt + p1);
    const taper = clamp01(Math.min(bt, 1 - bt) * 12 + 0.25);
    put(235, 245, 240, 0.22 * Math.exp(-best / 1.5) * taper);
    put(248, 252, 250, 0.95 * clamp01((w / 2 + 0.6 - best) / 1.2) * inten * taper);
  });
}

/** Dark jagged line with branches. */
function crack(rng: Rng, scale: number): Stamp {
  const segs: Seg[] = [];
  const verts: Array<[number, number, number]> = [];
  const w = rng.range(1.2, 2.3);
  let x = 0;
  let y = 0;
  let dir = rng.range(0, Math.PI * 2);
  const n = rng.int(6, 16);
  for (let i = 0; i < n; i++) {
    const l = rng.range(4, 10) * scale;
    dir += rng.gauss(0.5);
    const nx = x + l * Math.cos(dir);
    const ny = y + l * Math.sin(dir);
    segs.push({ ax: x, ay: y, bx: nx, by: ny, w, t0: 0, t1: 0 });
    x = nx;
    y = ny;
    verts.push([x, y, dir]);
  }
  const branches = rng.int(1, 3);
  for (let b = 0; b < branches; b++) {
    const [vx, vy, vd] = verts[rng.int(0, Math.max(0, verts.length - 2))];
    let bx = vx;
    let by = vy;
    let bd = vd + (rng.next() < 0.5 ? -1 : 1) * rng.range(0.5, 1.2);
    const bw = w * rng.range(0.55, 0.8);
    const m = rng.int(2, 7);
    for (let i = 0; i < m; i++) {
      const l = rng.range(3, 8) * scale;
      bd += rng.gauss(0.45);
      const nx = bx + l * Math.cos(bd);
      const ny = by + l * Math.sin(bd);
      segs.push({ ax: bx, ay: by, bx: nx, by: ny, w: bw, t0: 0, t1: 0 });
      bx = nx;
      by = ny;
    }
  }
  const [x0, y0, x1, y1] = segBounds(segs, w + 3);
  return paint(x0, y0, x1, y1, (px, py, put) => {
    let core = 0;
    let glow = 0;
    for (const sg of segs) {
      const [d] = segDist(px, py, sg);
      core = Math.max(core, clamp01((sg.w / 2 + 0.6 - d) / 1.1));
      const g = (d - sg.w / 2 - 1.2) / 0.8;
      glow = Math.max(glow, 0.25 * Math.exp(-g * g));
    }
    put(220, 232, 226, glow);
    put(22, 28, 26, 0.95 * core);
  });
}

/** Small dark-grey/silvery droplet with a tapering tail along the ribbon. */
function tinDrip(rng: Rng, scale: number): Stamp {
  const r = rng.range(3, 7.5) * scale;
  const tail = r * rng.range(1.8, 5);
  const sgn = rng.next() < 0.8 ? -1 : 1; // mostly trailing upstream (the ribbon moves to +x)
  const th = rng.gauss(0.08);
  const c = Math.cos(th);
  const s = Math.sin(th);
  const grey = rng.range(70, 115);
  const R = r + 2;
  const x0 = sgn < 0 ? -tail - R : -R;
  const x1 = sgn < 0 ? R : tail + R;
  const yx = Math.abs(Math.sin(th)) * tail + R + 1;
  return paint(x0, -yx, x1, yx, (x, y, put) => {
    const xr = (x * c + y * s) * sgn; // along the tail, >= 0 on the tail side
    const yr = -x * s + y * c;
    const d1 = Math.sqrt(xr * xr + yr * yr) - r;
    let d2 = Infinity;
    if (xr >= 0 && xr <= tail) {
      const hw = r * 0.8 * Math.pow(1 - xr / tail, 1.5);
      d2 = Math.abs(yr) - hw;
    }
    const d = Math.min(d1, d2);
    const a = clamp01(0.5 - d);
    if (a <= 0) return;
    put(grey, grey + 4, grey + 9, 0.95 * a);
    const e = (d + 1) / 0.9;
    put(45, 50, 54, 0.6 * Math.exp(-e * e) * a);
    const hx = -0.3 * r;
    const hy = -0.3 * r;
    const hd = ((xr * sgn - hx) ** 2 + (yr - hy) ** 2) / Math.max(1, (0.35 * r) ** 2);
    put(215, 220, 226, 0.85 * Math.exp(-hd) * a);
  });
}
