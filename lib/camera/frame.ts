/**
 * Frame records from encoded images: `{ source, ts, image, width, height, format }` (lib/record.ts
 * FrameRecord), checked with lib/camera/image.ts so a frame that leaves here is a whole JPEG/PNG of
 * known size. No Node-RED import.
 */
import { LineGuardError } from "../errors";
import { FrameRecord, isPlainObject, parseTimestamp } from "../record";
import { imageInfo } from "./image";

/** Largest encoded frame accepted by default (bytes). */
export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;

/** A frame as camera-in emits it: the record plus its back-pressure ticket (lib/camera/gate.ts). */
export interface CameraFrameRecord extends FrameRecord {
  ticket?: string;
}

/** Check an encoded image and wrap it as a frame record. Throws LineGuardError (not-image, truncated-image, corrupt-image, too-large). */
export function toFrame(
  image: Buffer,
  source: string,
  ts: number = Date.now(),
  maxBytes: number = DEFAULT_MAX_FRAME_BYTES,
): FrameRecord {
  if (image.length > maxBytes) {
    throw new LineGuardError("too-large", `frame of ${image.length} bytes is over the limit of ${maxBytes} bytes`);
  }
  const info = imageInfo(image);
  return { source, ts, image, width: info.width, height: info.height, format: info.format };
}

/** A Buffer as JSON turns it into: { type: "Buffer", data: [...] }. */
function asBuffer(v: unknown): Buffer | undefined {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (isPlainObject(v) && v.type === "Buffer" && Array.isArray(v.data)) return Buffer.from(v.data as number[]);
  return undefined;
}

/**
 * A frame from a message payload: an encoded image Buffer (source = `topic`, ts = now), or a frame
 * record `{ image, source?, ts? }` whose width/height/format are re-read from the image.
 */
export function frameFromPayload(payload: unknown, topic: string, maxBytes = DEFAULT_MAX_FRAME_BYTES): FrameRecord {
  const buf = asBuffer(payload);
  if (buf) return toFrame(buf, topic, Date.now(), maxBytes);
  if (isPlainObject(payload)) {
    const image = asBuffer(payload.image);
    if (!image) throw new LineGuardError("not-image", "payload.image must be a Buffer with a JPEG or PNG image");
    const source = typeof payload.source === "string" && payload.source !== "" ? payload.source : topic;
    let ts = Date.now();
    if (payload.ts !== undefined) {
      const parsed = parseTimestamp(payload.ts);
      if (parsed === undefined) throw new LineGuardError("bad-timestamp", `payload.ts is not a valid time`);
      ts = parsed;
    }
    return toFrame(image, source, ts, maxBytes);
  }
  throw new LineGuardError(
    "not-image",
    "msg.payload must be a Buffer with a JPEG/PNG image or a frame record { image, source, ts }",
  );
}
