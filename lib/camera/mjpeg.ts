/**
 * A streaming parser for MJPEG over HTTP (multipart/x-mixed-replace). Feed it chunks as they arrive,
 * split anywhere; it returns whole parts. A part with Content-Length is cut by length; a part
 * without it is cut at the JPEG's end-of-image marker (found by walking the JPEG segments, so EOI
 * markers of embedded EXIF thumbnails do not end it early), or at the next boundary for other
 * content. Without a boundary (a bare JPEG stream) frames are cut at SOI/EOI. Memory stays bounded:
 * a part larger than maxFrameBytes is skipped and reported, never buffered. No Node-RED import.
 */
import { LineGuardError } from "../errors";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame";

export interface MjpegPart {
  image: Buffer;
  /** Part headers, names lower-cased. */
  headers: Record<string, string>;
}

export interface MjpegParserOptions {
  /** The multipart boundary (from the Content-Type); undefined parses a bare concatenation of JPEGs. */
  boundary?: string;
  /** Parts larger than this are skipped with a "too-large" error (default 32 MiB). */
  maxFrameBytes?: number;
  /** Called for each problem (too-large, bad-part); parsing goes on with the next part. */
  onError?: (err: LineGuardError) => void;
}

const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The boundary of a multipart content type, without the leading "--" the body lines add, or
 * undefined when the content type is not multipart or has no boundary.
 */
export function boundaryFromContentType(ct: string | undefined): string | undefined {
  if (!ct) return undefined;
  const [type, ...params] = ct.split(";");
  if (!/^\s*multipart\//i.test(type)) return undefined;
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    return v === "" ? undefined : v;
  }
  return undefined;
}

type State = "boundary" | "headers" | "body" | "skip" | "raw";

/** Incremental walk over a JPEG to its EOI (positions relative to the part start). */
interface JpegScan {
  i: number;
  entropy: boolean;
}

export class MjpegParser {
  private readonly needle: Buffer | undefined;
  private readonly maxFrame: number;
  private readonly onError: ((err: LineGuardError) => void) | undefined;
  private buf = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;
  private state: State;
  private headers: Record<string, string> = {};
  private headerBytes = 0;
  private length: number | undefined;
  private skipLeft = 0;
  private scan: JpegScan | undefined;
  /** Whole parts emitted so far. */
  frames = 0;

  constructor(opts: MjpegParserOptions = {}) {
    const b = opts.boundary;
    // "--" + boundary per RFC 2046; some cameras already put the dashes into the declared boundary
    this.needle = b ? Buffer.from(b.startsWith("--") ? b : `--${b}`, "latin1") : undefined;
    this.maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.onError = opts.onError;
    this.state = this.needle ? "boundary" : "raw";
  }

  /** Bytes held while waiting for the rest of a part. */
  get buffered(): number {
    return this.end - this.start;
  }

  reset(): void {
    this.start = this.end = 0;
    this.state = this.needle ? "boundary" : "raw";
    this.headers = {};
    this.scan = undefined;
    this.length = undefined;
  }

  push(chunk: Uint8Array): MjpegPart[] {
    const out: MjpegPart[] = [];
    let off = 0;
    // while skipping an oversized part, drop bytes without buffering them
    if (this.state === "skip") {
      const n = Math.min(this.skipLeft, chunk.length);
      this.skipLeft -= n;
      off = n;
      if (this.skipLeft === 0) this.state = "boundary";
    }
    if (off < chunk.length) this.append(chunk.subarray(off));
    for (;;) {
      const progressed = this.step(out);
      if (!progressed) break;
    }
    return out;
  }

  private append(c: Uint8Array): void {
    const have = this.end - this.start;
    if (this.end + c.length > this.buf.length) {
      if (have + c.length <= this.buf.length && this.start > 0) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, have + c.length));
        this.buf.copy(nb, 0, this.start, this.end);
        this.buf = nb;
      }
      this.start = 0;
      this.end = have;
    }
    this.buf.set(c, this.end);
    this.end += c.length;
  }

  private consume(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.start = this.end = 0;
  }

  private data(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  private fail(code: string, message: string): void {
    this.onError?.(new LineGuardError(code, message));
  }

  private emit(out: MjpegPart[], len: number): void {
    const image = Buffer.from(this.buf.subarray(this.start, this.start + len));
    out.push({ image, headers: this.headers });
    this.frames++;
    this.consume(len);
    this.headers = {};
    this.scan = undefined;
    this.length = undefined;
    this.state = this.needle ? "boundary" : "raw";
  }

  /** One state step; false when more data is needed. */
  private step(out: MjpegPart[]): boolean {
    const d = this.data();
    switch (this.state) {
      case "skip": {
        const n = Math.min(this.skipLeft, d.length);
        this.consume(n);
        this.skipLeft -= n;
        if (this.skipLeft > 0) return false;
        this.state = "boundary";
        return true;
      }
      case "raw": {
        const soi = findSoi(d, 0);
        if (soi < 0) {
          // keep a possible partial SOI at the end
          this.consume(Math.max(0, d.length - 2));
          return false;
        }
        if (soi > 0) this.consume(soi);
        this.headers = {};
        this.state = "body";
        this.length = undefined;
        this.scan = undefined;
        return true;
      }
      case "boundary": {
        const needle = this.needle!;
        const k = d.indexOf(needle);
        if (k < 0) {
          this.consume(Math.max(0, d.length - needle.length));
          return false;
        }
        const nl = d.indexOf(0x0a, k + needle.length);
        if (nl < 0) {
          if (d.length - k > 1024) {
            // a boundary line this long is not one: look further
            this.consume(k + needle.length);
            return true;
          }
          if (k > 0) this.consume(k);
          return false;
        }
        this.consume(nl + 1);
        this.headers = {};
        this.headerBytes = 0;
        this.length = undefined;
        this.scan = undefined;
        this.state = "headers";
        return true;
      }
      case "headers": {
        if (d.length >= 2 && d[0] === 0xff && d[1] === 0xd8) {
          // no headers at all: the JPEG follows the boundary line
          this.state = "body";
          return true;
        }
        const nl = d.indexOf(0x0a);
        if (nl < 0) {
          if (this.headerBytes + d.length > MAX_HEADER_BYTES) {
            this.fail("bad-part", "MJPEG part headers are too long");
            this.consume(d.length);
            this.state = "boundary";
            return true;
          }
          return false;
        }
        const line = d.subarray(0, nl).toString("latin1").replace(/\r$/, "");
        this.headerBytes += nl + 1;
        this.consume(nl + 1);
        if (line.trim() === "") {
          const cl = this.headers["content-length"];
          if (cl !== undefined) {
            const n = Number(cl.trim());
            if (!Number.isInteger(n) || n < 0) {
              this.fail("bad-part", `MJPEG part has a bad Content-Length "${cl}"`);
              this.state = "boundary";
              return true;
            }
            if (n > this.maxFrame) {
              this.fail("too-large", `MJPEG part of ${n} bytes is over the limit of ${this.maxFrame} bytes`);
              this.skipLeft = n;
              this.state = "skip";
              return true;
            }
            this.length = n;
          }
          this.state = "body";
          return true;
        }
        if (this.headerBytes > MAX_HEADER_BYTES) {
          this.fail("bad-part", "MJPEG part headers are too long");
          this.state = "boundary";
          return true;
        }
        const colon = line.indexOf(":");
        if (colon > 0) this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        return true;
      }
      case "body":
        return this.body(d, out);
    }
  }

  private body(d: Buffer, out: MjpegPart[]): boolean {
    if (this.length !== undefined) {
      if (d.length < this.length) return false;
      this.emit(out, this.length);
      return true;
    }
    // no Content-Length
    if (d.length < 2) return false;
    if (d[0] === 0xff && d[1] === 0xd8) {
      const end = this.jpegEnd(d);
      if (end === -2) {
        this.fail("bad-part", "MJPEG part is not a well-formed JPEG");
        this.consume(2);
        this.state = this.needle ? "boundary" : "raw";
        return true;
      }
      if (end < 0) return this.tooBig(d.length);
      if (end > this.maxFrame) {
        this.fail("too-large", `MJPEG part of ${end} bytes is over the limit of ${this.maxFrame} bytes`);
        this.consume(end);
        this.scan = undefined;
        this.state = this.needle ? "boundary" : "raw";
        return true;
      }
      this.emit(out, end);
      return true;
    }
    if (!this.needle) {
      this.state = "raw";
      return true;
    }
    // not a JPEG: the part ends before the next boundary line
    const k = d.indexOf(this.needle);
    if (k < 0) return this.tooBig(d.length);
    let len = k;
    if (len > 0 && d[len - 1] === 0x0a) len--;
    if (len > 0 && d[len - 1] === 0x0d) len--;
    if (len > this.maxFrame) {
      this.fail("too-large", `MJPEG part of ${len} bytes is over the limit of ${this.maxFrame} bytes`);
      this.consume(len);
      this.state = "boundary";
      return true;
    }
    this.emit(out, len);
    return true;
  }

  private tooBig(have: number): boolean {
    if (have <= this.maxFrame) return false;
    this.fail("too-large", `MJPEG part is over the limit of ${this.maxFrame} bytes`);
    this.consume(have);
    this.scan = undefined;
    this.state = this.needle ? "boundary" : "raw";
    return true;
  }

  /** Index just after EOI, -1 when more data is needed, -2 when the structure is broken. */
  private jpegEnd(d: Buffer): number {
    const s = (this.scan ??= { i: 2, entropy: false });
    const n = d.length;
    for (;;) {
      if (s.entropy) {
        if (s.i >= n) return -1;
        const j = d.indexOf(0xff, s.i);
        if (j < 0 || j + 1 >= n) {
          s.i = j < 0 ? n : j;
          return -1;
        }
        const m = d[j + 1];
        if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) {
          s.i = m === 0xff ? j + 1 : j + 2;
          continue;
        }
        s.entropy = false;
        s.i = j;
        continue;
      }
      let i = s.i;
      if (i >= n) return -1;
      if (d[i] !== 0xff) return -2;
      while (i < n && d[i] === 0xff) i++;
      if (i >= n) return -1;
      const m = d[i];
      if (m === 0xd9) return i + 1;
      if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) {
        s.i = i + 1;
        continue;
      }
      if (m === 0x00 || m === 0xd8) return -2;
      if (i + 3 > n) return -1;
      const len = (d[i + 1] << 8) | d[i + 2];
      if (len < 2) return -2;
      if (m === 0xda) {
        s.i = i + 1 + len;
        s.entropy = true;
        continue;
      }
      s.i = i + 1 + len;
      if (s.i > n) {
        // wait for the segment; resume at its end
        return -1;
      }
    }
  }
}

function findSoi(d: Buffer, from: number): number {
  let i = from;
  for (;;) {
    const j = d.indexOf(0xff, i);
    if (j < 0 || j + 2 >= d.length) return -1;
    if (d[j + 1] === 0xd8 && d[j + 2] === 0xff) return j;
    i = j + 1;
  }
}
