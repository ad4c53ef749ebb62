/**
 * Class-aware non-maximum suppression as Ultralytics does it (torchvision.ops.nms on boxes offset by
 * class x max_wh, which is the same as suppressing only within a class): candidates sorted by score
 * (highest first, at most 30000 considered), a box is dropped when its IoU with a kept box of the same
 * class is > iou; at most maxDetections kept.
 */

/** A candidate in model-input pixels: corners x1, y1, x2, y2. */
export interface Candidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  classId: number;
}

export const MAX_NMS = 30_000;

/** Intersection over union of two boxes (0 when either has no area). */
export function iou(a: Candidate, b: Candidate): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

export interface NmsOptions {
  iou: number;
  maxDetections: number;
  /** false: suppress across classes too (agnostic NMS). Default true. */
  classAware?: boolean;
}

export function nms(candidates: Candidate[], opts: NmsOptions): Candidate[] {
  // Stable sort by score: ties keep their anchor order.
  const sorted = candidates
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.score - a.c.score || a.i - b.i)
    .slice(0, MAX_NMS)
    .map((x) => x.c);
  const kept: Candidate[] = [];
  const classAware = opts.classAware !== false;
  for (const c of sorted) {
    if (kept.length >= opts.maxDetections) break;
    let keep = true;
    for (const k of kept) {
      if (classAware && k.classId !== c.classId) continue;
      if (iou(k, c) > opts.iou) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push(c);
  }
  return kept;
}
