/**
 * Writes an Ultralytics YOLO dataset of simulated glass-ribbon frames (lib/sim/camera/render.ts):
 *   <out>/images/{train,val,test}/*.jpg, <out>/labels/{train,val,test}/*.txt (class cx cy w h, normalised),
 *   <out>/data.yaml (path, train, val, test, names in DEFECT_CLASSES order).
 *
 *   node dist/models/yolo-glass/generate-dataset.js --out /work/yolo-data --train 1500 --val 300 --test 300 \
 *     --seed 42 --width 640 --height 480 [--empty 0.1] [--max-defects 6]
 *
 * About --empty of the frames hold no defect, ~20% hold the live camera's random defects (some cut by the
 * frame edge) and the others hold 1..--max-defects fully visible defects with classes balanced over the split. Every split has its own seed, so splits never share a frame.
 */
import fs from "node:fs";
import path from "node:path";
import { DEFECT_CLASSES, RibbonCamera, type DefectClass, type GroundTruthBox } from "../../lib/sim/camera/render";
import { Rng, deriveSeed } from "../../lib/sim/cnc/rng";

export interface DatasetOptions {
  out: string;
  train: number;
  val: number;
  test: number;
  seed: number;
  width: number;
  height: number;
  /** fraction of frames without defects (default 0.1) */
  empty: number;
  maxDefects: number;
  log?: (line: string) => void;
}

export const DEFAULT_DATASET_OPTIONS: Omit<DatasetOptions, "out"> = {
  train: 1500,
  val: 300,
  test: 300,
  seed: 42,
  width: 640,
  height: 480,
  empty: 0.1,
  maxDefects: 6,
};

/** YOLO label lines for boxes in a width x height frame. */
export function yoloLabels(boxes: GroundTruthBox[], width: number, height: number): string {
  return boxes
    .map((b) => {
      const cx = (b.x + b.w / 2) / width;
      const cy = (b.y + b.h / 2) / height;
      return `${b.classId} ${cx.toFixed(6)} ${cy.toFixed(6)} ${(b.w / width).toFixed(6)} ${(b.h / height).toFixed(6)}`;
    })
    .join("\n");
}

export interface SplitStats {
  images: number;
  empty: number;
  boxes: Record<DefectClass, number>;
}

export async function generateSplit(opts: DatasetOptions, split: string, count: number): Promise<SplitStats> {
  const imgDir = path.join(opts.out, "images", split);
  const lblDir = path.join(opts.out, "labels", split);
  fs.mkdirSync(imgDir, { recursive: true });
  fs.mkdirSync(lblDir, { recursive: true });
  const seed = deriveSeed(opts.seed, `dataset:${split}`);
  const rng = new Rng(seed);
  const cam = new RibbonCamera({ width: opts.width, height: opts.height, seed, defectRate: 0 });
  const stats: SplitStats = { images: 0, empty: 0, boxes: { bubble: 0, stone: 0, scratch: 0, crack: 0, tin_drip: 0 } };
  // a shuffled bag keeps classes balanced
  let bag: DefectClass[] = [];
  const draw = (): DefectClass => {
    if (bag.length === 0) {
      bag = [...DEFECT_CLASSES, ...DEFECT_CLASSES];
      for (let i = bag.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [bag[i], bag[j]] = [bag[j], bag[i]];
      }
    }
    return bag.pop() as DefectClass;
  };
  let t = Date.UTC(2025, 0, 6, 6, 0, 0) + rng.int(0, 1e7);
  for (let i = 0; i < count; i++) {
    // jump far enough that the ribbon in view is fresh, at a random phase of the lighting drift
    t += 3_600_000 + rng.int(0, 600_000);
    cam.setQuality(rng.int(70, 95));
    cam.setRibbonSpeed(rng.range(8, 20));
    // ~empty: no defect; ~20%: the live camera's random defects (some cut by the frame edge);
    // the rest: 1..maxDefects injected, fully visible, classes balanced
    const p = rng.next();
    cam.setDefectRate(p >= opts.empty && p < opts.empty + 0.2 ? rng.range(1.5, 4) : 0);
    const n = p < opts.empty + 0.2 ? 0 : rng.int(1, opts.maxDefects);
    for (let k = 0; k < n; k++) cam.inject(draw(), 1);
    const f = await cam.frame(t);
    const name = `${split}_${String(i).padStart(5, "0")}`;
    fs.writeFileSync(path.join(imgDir, `${name}.jpg`), f.jpeg);
    const lbl = yoloLabels(f.boxes, f.width, f.height);
    fs.writeFileSync(path.join(lblDir, `${name}.txt`), lbl ? lbl + "\n" : "");
    stats.images++;
    if (f.boxes.length === 0) stats.empty++;
    for (const b of f.boxes) stats.boxes[b.cls]++;
  }
  return stats;
}

export function dataYaml(out: string): string {
  return [
    `path: ${path.resolve(out)}`,
    "train: images/train",
    "val: images/val",
    "test: images/test",
    `nc: ${DEFECT_CLASSES.length}`,
    "names:",
    ...DEFECT_CLASSES.map((n) => `  - ${n}`),
    "",
  ].join("\n");
}

export async function generateDataset(opts: DatasetOptions): Promise<Record<string, SplitStats>> {
  const result: Record<string, SplitStats> = {};
  for (const [split, n] of [
    ["train", opts.train],
    ["val", opts.val],
    ["test", opts.test],
  ] as const) {
    if (n <= 0) continue;
    result[split] = await generateSplit(opts, split, n);
    opts.log?.(`${split}: ${JSON.stringify(result[split])}`);
  }
  fs.writeFileSync(path.join(opts.out, "data.yaml"), dataYaml(opts.out));
  return result;
}

export function parseDatasetArgs(argv: string[]): DatasetOptions {
  const o: DatasetOptions = { out: "yolo-data", ...DEFAULT_DATASET_OPTIONS };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case "--out":
        if (!v) throw new Error("--out needs a directory");
        o.out = v;
        break;
      case "--train":
        o.train = Math.floor(num(a, v));
        break;
      case "--val":
        o.val = Math.floor(num(a, v));
        break;
      case "--test":
        o.test = Math.floor(num(a, v));
        break;
      case "--seed":
        o.seed = Math.floor(num(a, v));
        break;
      case "--width":
        o.width = Math.max(32, Math.floor(num(a, v)));
        break;
      case "--height":
        o.height = Math.max(32, Math.floor(num(a, v)));
        break;
      case "--empty":
        o.empty = Math.min(1, num(a, v));
        break;
      case "--max-defects":
        o.maxDefects = Math.max(1, Math.floor(num(a, v)));
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
    i++;
  }
  return o;
}

if (require.main === module) {
  (async () => {
    const opts = parseDatasetArgs(process.argv.slice(2));
    opts.log = (l) => console.log(l);
    const t0 = Date.now();
    await generateDataset(opts);
    console.log(`dataset written to ${path.resolve(opts.out)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  })().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
