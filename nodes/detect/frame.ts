/**
 * detect: the frame a message carries and the record detect emits. No Node-RED import.
 */
import { LineGuardError } from "../../lib/errors";
import type { YoloDetection } from "../../lib/inference/yolo";
import type { FrameRecord } from "../../lib/record";

/** The frame in msg.payload (a frame record or a Buffer); throws a clear error for anything else. */
export function frameOf(msg: { topic?: unknown; payload?: unknown }, now: () => number = Date.now): FrameRecord {
  const p = msg.payload as unknown;
  const topic = typeof msg.topic === "string" && msg.topic !== "" ? msg.topic : "camera";
  if (Buffer.isBuffer(p)) {
    return { source: topic, ts: now(), image: p, width: 0, height: 0, format: sniff(p) };
  }
  if (p && typeof p === "object" && Buffer.isBuffer((p as { image?: unknown }).image)) {
    const f = p as Partial<FrameRecord> & { image: Buffer };
    const ts = typeof f.ts === "number" && Number.isFinite(f.ts) ? f.ts : now();
    return {
      source: typeof f.source === "string" && f.source !== "" ? f.source : topic,
      ts,
      image: f.image,
      width: typeof f.width === "number" ? f.width : 0,
      height: typeof f.height === "number" ? f.height : 0,
      format: f.format ?? sniff(f.image),
    };
  }
  throw new LineGuardError(
    "bad-input",
    "msg.payload must be a frame { source, ts, image: Buffer, ... } (camera in) or an image Buffer",
  );
}

function sniff(b: Buffer): FrameRecord["format"] {
  if (b.length > 2 && b[0] === 0xff && b[1] === 0xd8) return "jpeg";
  if (b.length > 4 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "png";
  return "raw";
}

/** The record detect emits for one frame: counts per class (all classes, 0s included) + detections. */
export function detectionRecord(
  frame: FrameRecord,
  detections: YoloDetection[],
  classNames: readonly string[],
): { source: string; ts: number; values: Record<string, number>; detections: YoloDetection[] } {
  const values: Record<string, number> = { defects: detections.length };
  for (const c of classNames) values[c] = 0;
  for (const d of detections) values[d.class] = (values[d.class] ?? 0) + 1;
  return { source: frame.source, ts: frame.ts, values, detections };
}
