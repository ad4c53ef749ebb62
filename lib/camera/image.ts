/**
 * Encoded-image sniffing without decoding: format (JPEG/PNG), width and height from the headers
 * (JPEG SOFn, PNG IHDR), and checks for truncated or corrupt data (no JPEG EOI, broken segment or
 * chunk structure, missing PNG IEND). Cheap enough to run on every frame. No Node-RED import.
 */
import { LineGuardError } from "../errors";

export type ImageFormat = "jpeg" | "png";

export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The format by magic bytes, or undefined. */
export function sniffFormat(buf: Uint8Array): ImageFormat | undefined {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return "jpeg";
  if (buf.length >= 8 && PNG_SIG.every((b, i) => buf[i] === b)) return "png";
  return undefined;
}

/** Content types that may carry an image we can read (parameters ignored). */
export function isImageContentType(ct: string | undefined): boolean {
  const t = (ct ?? "").split(";")[0].trim().toLowerCase();
  return t === "image/jpeg" || t === "image/jpg" || t === "image/pjpeg" || t === "image/png";
}

function corrupt(message: string): LineGuardError {
  return new LineGuardError("corrupt-image", message);
}
function truncated(message: string): LineGuardError {
  return new LineGuardError("truncated-image", message);
}

/**
 * Format and size of an encoded image. Throws LineGuardError with code "not-image" (neither JPEG
 * nor PNG), "truncated-image" (data ends early) or "corrupt-image" (broken structure).
 */
export function imageInfo(buf: Uint8Array): ImageInfo {
  const fmt = sniffFormat(buf);
  if (fmt === "jpeg") return jpegInfo(buf);
  if (fmt === "png") return pngInfo(buf);
  if (buf.length === 0) throw new LineGuardError("not-image", "empty image");
  throw new LineGuardError("not-image", `not a JPEG or PNG image (starts with ${hexHead(buf)})`);
}

function hexHead(buf: Uint8Array): string {
  return Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Markers that carry the frame size: SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

/** Index just after the JPEG's EOI marker, or -1 (scans from the end; trailing padding allowed). */
function jpegEnd(buf: Uint8Array): number {
  let i = buf.length - 1;
  // tolerate a little padding after EOI (zeros, CR/LF), as some cameras send
  const stop = Math.max(1, buf.length - 64);
  while (i >= stop && (buf[i] === 0x00 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x20)) i--;
  if (i >= 1 && buf[i] === 0xd9 && buf[i - 1] === 0xff) return i + 1;
  return -1;
}

function jpegInfo(buf: Uint8Array): ImageInfo {
  const n = buf.length;
  let i = 2;
  let width = 0;
  let height = 0;
  for (;;) {
    if (i >= n) throw truncated("JPEG ends before the image data");
    if (buf[i] !== 0xff) throw corrupt(`JPEG marker expected at byte ${i}`);
    while (i < n && buf[i] === 0xff) i++; // fill bytes
    if (i >= n) throw truncated("JPEG ends before the image data");
    const m = buf[i++];
    if (m === 0xd8 || m === 0x00) throw corrupt(`unexpected JPEG marker ff${m.toString(16)} at byte ${i - 1}`);
    if (m === 0xd9) throw corrupt("JPEG ends (EOI) before any image data");
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) continue; // no length
    if (i + 2 > n) throw truncated("JPEG ends inside a segment header");
    const len = (buf[i] << 8) | buf[i + 1];
    if (len < 2) throw corrupt(`JPEG segment ff${m.toString(16)} has a bad length ${len}`);
    if (i + len > n) throw truncated(`JPEG ends inside segment ff${m.toString(16)}`);
    if (isSof(m)) {
      if (len < 8) throw corrupt("JPEG frame header too short");
      height = (buf[i + 3] << 8) | buf[i + 4];
      width = (buf[i + 5] << 8) | buf[i + 6];
    }
    if (m === 0xda) {
      if (width === 0 || height === 0) throw corrupt("JPEG has no frame size before its image data");
      break;
    }
    i += len;
  }
  if (jpegEnd(buf) < 0) throw truncated("JPEG is truncated (no end-of-image marker)");
  return { format: "jpeg", width, height };
}

function pngInfo(buf: Uint8Array): ImageInfo {
  const n = buf.length;
  if (n < 33) throw truncated("PNG ends inside its header");
  const u32 = (p: number): number => ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
  const type = (p: number): string => String.fromCharCode(buf[p], buf[p + 1], buf[p + 2], buf[p + 3]);
  if (u32(8) !== 13 || type(12) !== "IHDR") throw corrupt("PNG does not start with an IHDR chunk");
  const width = u32(16);
  const height = u32(20);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw corrupt(`PNG has an invalid size ${width}x${height}`);
  }
  // walk the chunks to IEND
  let p = 8;
  let sawData = false;
  for (;;) {
    if (p + 8 > n) throw truncated("PNG is truncated (no IEND chunk)");
    const len = u32(p);
    const t = type(p + 4);
    if (!/^[A-Za-z]{4}$/.test(t)) throw corrupt(`PNG chunk type at byte ${p + 4} is not valid`);
    if (len > 0x7fffffff) throw corrupt(`PNG chunk ${t} has a bad length`);
    if (p + 12 + len > n) throw truncated(`PNG ends inside chunk ${t}`);
    if (t === "IDAT") sawData = true;
    if (t === "IEND") break;
    p += 12 + len;
  }
  if (!sawData) throw corrupt("PNG has no image data (IDAT)");
  return { format: "png", width, height };
}
