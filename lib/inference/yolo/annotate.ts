/**
 * Draw detections onto an image: an SVG overlay (boxes + "class score" labels) composited by sharp
 * (libuv pool), re-encoded as JPEG. For dashboards.
 */
import sharp from "sharp";
import type { YoloDetection } from "../yolo";

const COLOURS = ["#ff3b30", "#ffcc00", "#34c759", "#0a84ff", "#af52de", "#ff9500", "#5ac8fa", "#ff2d55"];

const esc = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The SVG overlay for a width x height image. */
export function overlaySvg(detections: readonly YoloDetection[], width: number, height: number): string {
  const stroke = Math.max(1, Math.round(Math.min(width, height) / 240));
  const font = Math.max(10, Math.round(Math.min(width, height) / 40));
  const parts = detections.map((d) => {
    const c = COLOURS[d.classId % COLOURS.length]!;
    const { x, y, w, h } = d.box;
    const label = `${esc(d.class)} ${d.score.toFixed(2)}`;
    const ly = y > font + 4 ? y - 3 : y + h + font;
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" ` +
      `fill="none" stroke="${c}" stroke-width="${stroke}"/>` +
      `<text x="${x.toFixed(1)}" y="${ly.toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="${c}">${label}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join("")}</svg>`;
}

/** The image with its detections drawn, as JPEG. */
export async function annotateImage(
  image: Buffer,
  detections: readonly YoloDetection[],
  width: number,
  height: number,
  quality = 80,
): Promise<Buffer> {
  const svg = Buffer.from(overlaySvg(detections, width, height));
  return sharp(image)
    .autoOrient()
    .composite([{ input: svg, top: 0, left: 0 }])
    .jpeg({ quality })
    .toBuffer();
}
