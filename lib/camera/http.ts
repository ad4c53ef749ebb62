/**
 * HTTP camera sources: a snapshot poller (GET an image at a rate) and an MJPEG stream client
 * (multipart/x-mixed-replace). Both authenticate with Basic or Digest (MD5, qop=auth) from the
 * given credentials (or user:password in the URL), time out, and reconnect with backoff by
 * themselves until stopped. Every image is checked (lib/camera/frame.ts) before it becomes a frame;
 * problems are reported as LineGuardErrors and never end the source. No Node-RED import.
 */
import crypto from "node:crypto";
import http from "node:http";
import https from "node:https";
import { LineGuardError, errorMessage } from "../errors";
import { RetryPolicy, backoffDelay } from "../retry";
import type { FrameRecord } from "../record";
import { DEFAULT_MAX_FRAME_BYTES, toFrame } from "./frame";
import { isImageContentType, sniffFormat } from "./image";
import { MjpegParser, boundaryFromContentType } from "./mjpeg";

export type SourceState = "connecting" | "connected" | "waiting" | "stopped";

/** What a camera source reports. */
export interface FrameSourceEvents {
  onFrame(frame: FrameRecord): void;
  /** A problem; the source goes on (reconnecting when the connection is the problem). */
  onError(err: LineGuardError): void;
  onState?(state: SourceState, detail?: string): void;
}

export interface FrameSource {
  start(): void;
  stop(): Promise<void>;
}

export interface HttpCameraOptions {
  url: string;
  /** Source id put on the frames. */
  source: string;
  user?: string;
  password?: string;
  /** Connect/response timeout and, for streams, the longest silence before reconnecting (default 10 s). */
  timeoutMs?: number;
  /** Reconnect backoff (default 500 ms doubling to 10 s). */
  retry?: RetryPolicy;
  maxFrameBytes?: number;
}

export const CAMERA_RETRY: RetryPolicy = { initialMs: 500, maxMs: 10_000, multiplier: 2, factor: 0.2 };

interface Target {
  url: URL;
  user: string | undefined;
  password: string;
}

/** The request target with credentials from the options or else from the URL (taken out of it). */
export function httpTarget(opts: Pick<HttpCameraOptions, "url" | "user" | "password">): Target {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new LineGuardError("bad-url", `"${opts.url}" is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new LineGuardError("bad-url", `camera URL must be http:// or https://, got ${url.protocol}`);
  }
  let user = opts.user || undefined;
  let password = opts.password ?? "";
  if (!user && url.username) {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  }
  url.username = "";
  url.password = "";
  return { url, user, password };
}

function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/** Parse `Digest realm="x", nonce="y", qop="auth"` into a map. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/s.exec(header) ?? ["", "", ""];
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let r: RegExpExecArray | null;
  while ((r = re.exec(m[2])) !== null)
    params[r[1].toLowerCase()] = r[2] !== undefined ? r[2].replace(/\\(.)/g, "$1") : r[3];
  return { scheme: m[1].toLowerCase(), params };
}

let nonceCount = 0;

/** The Authorization header answering a Digest challenge (MD5 / MD5-sess, qop auth or none). */
export function digestHeader(
  challenge: Record<string, string>,
  user: string,
  password: string,
  method: string,
  uri: string,
  cnonce: string = crypto.randomBytes(8).toString("hex"),
): string {
  const md5 = (s: string): string => crypto.createHash("md5").update(s).digest("hex");
  const realm = challenge.realm ?? "";
  const nonce = challenge.nonce ?? "";
  const algorithm = (challenge.algorithm ?? "MD5").toUpperCase();
  if (algorithm !== "MD5" && algorithm !== "MD5-SESS") {
    throw new LineGuardError("auth", `camera asks for Digest ${algorithm}, only MD5 is supported`);
  }
  const qops = (challenge.qop ?? "").split(",").map((q) => q.trim());
  const qop = qops.includes("auth") ? "auth" : undefined;
  const nc = (++nonceCount % 0xffffffff).toString(16).padStart(8, "0");
  let ha1 = md5(`${user}:${realm}:${password}`);
  if (algorithm === "MD5-SESS") ha1 = md5(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = md5(`${method}:${uri}`);
  const response = qop ? md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
  const q = (s: string): string => s.replace(/(["\\])/g, "\\$1");
  const parts = [
    `username="${q(user)}"`,
    `realm="${q(realm)}"`,
    `nonce="${q(nonce)}"`,
    `uri="${q(uri)}"`,
    `response="${response}"`,
  ];
  if (challenge.algorithm) parts.push(`algorithm=${challenge.algorithm}`);
  if (challenge.opaque !== undefined) parts.push(`opaque="${q(challenge.opaque)}"`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  return `Digest ${parts.join(", ")}`;
}

/** A connection-level failure: retriable. */
function unreachable(url: URL, err: unknown): LineGuardError {
  const code = (err as { code?: string }).code;
  const what = code ? `${code}` : errorMessage(err);
  return new LineGuardError("unreachable", `camera ${url.host} unreachable: ${what}`, { retriable: true, cause: err });
}

function statusError(url: URL, status: number): LineGuardError {
  if (status === 401 || status === 403) {
    return new LineGuardError("auth", `camera ${url.host} refused the credentials (HTTP ${status})`);
  }
  return new LineGuardError("http-status", `camera ${url.host} answered HTTP ${status}`, { retriable: status >= 500 });
}

/**
 * Open a GET request and resolve with the response once its headers are in; answers a 401 Digest
 * (or Basic, when no credentials were sent) challenge once. The caller consumes or destroys `res`.
 */
export function openGet(
  target: Target,
  timeoutMs: number,
  onRequest?: (req: http.ClientRequest) => void,
): Promise<http.IncomingMessage> {
  const attempt = (auth: string | undefined, retried: boolean): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      const mod = target.url.protocol === "https:" ? https : http;
      const headers: Record<string, string> = { Accept: "image/jpeg, image/png, multipart/x-mixed-replace, */*" };
      if (auth) headers.Authorization = auth;
      const req = mod.get(target.url, { headers, agent: false, timeout: timeoutMs });
      onRequest?.(req);
      let settled = false;
      req.on("timeout", () => {
        req.destroy(
          new LineGuardError("timeout", `camera ${target.url.host} did not answer in ${timeoutMs} ms`, {
            retriable: true,
          }),
        );
      });
      req.on("error", (err) => {
        if (settled) return;
        settled = true;
        reject(err instanceof LineGuardError ? err : unreachable(target.url, err));
      });
      req.on("response", (res) => {
        settled = true;
        // from here on the reader watches the socket for silence
        req.setTimeout(0);
        req.removeAllListeners("timeout");
        const status = res.statusCode ?? 0;
        if (status === 401 && !retried && target.user !== undefined) {
          const challenge = parseChallenge(String(res.headers["www-authenticate"] ?? ""));
          res.resume();
          req.destroy();
          try {
            const path = target.url.pathname + target.url.search;
            if (challenge.scheme !== "digest") throw statusError(target.url, status);
            const next = digestHeader(challenge.params, target.user, target.password, "GET", path);
            attempt(next, true).then(resolve, reject);
          } catch (err) {
            reject(err instanceof LineGuardError ? err : statusError(target.url, status));
          }
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          req.destroy();
          reject(statusError(target.url, status));
          return;
        }
        resolve(res);
      });
    });
  // Basic credentials go out pre-emptively; a Digest challenge is answered on the 401
  return attempt(target.user !== undefined ? basicHeader(target.user, target.password) : undefined, false);
}

function wrongType(url: URL, ct: string | undefined, expected: string): LineGuardError {
  return new LineGuardError(
    "content-type",
    `camera ${url.host} sent ${ct ? `"${ct}"` : "no content type"}, expected ${expected}`,
  );
}

/** GET one image (bounded size). Resolves with the body and its content type; checks the type, not the image. */
export async function fetchImage(
  target: Target,
  timeoutMs: number,
  maxBytes: number = DEFAULT_MAX_FRAME_BYTES,
  onRequest?: (req: http.ClientRequest) => void,
): Promise<{ body: Buffer; contentType: string | undefined }> {
  const res = await openGet(target, timeoutMs, onRequest);
  const ct = res.headers["content-type"];
  const t = (ct ?? "").split(";")[0].trim().toLowerCase();
  const generic = t === "" || t === "application/octet-stream" || t === "binary/octet-stream";
  if (!isImageContentType(ct) && !generic) {
    res.destroy();
    if (t.startsWith("multipart/")) {
      throw wrongType(target.url, ct, "an image (this URL is a stream: use the MJPEG source)");
    }
    throw wrongType(target.url, ct, "image/jpeg or image/png");
  }
  return new Promise((resolve, reject) => {
    res.socket?.setTimeout(timeoutMs, () => {
      res.destroy(
        new LineGuardError("timeout", `camera ${target.url.host} stalled sending the image`, { retriable: true }),
      );
    });
    const chunks: Buffer[] = [];
    let n = 0;
    res.on("data", (c: Buffer) => {
      n += c.length;
      if (n > maxBytes) {
        res.destroy();
        reject(new LineGuardError("too-large", `snapshot is over the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on("end", () => {
      const body = Buffer.concat(chunks, n);
      if (generic && sniffFormat(body) === undefined) {
        reject(wrongType(target.url, ct, "image/jpeg or image/png"));
        return;
      }
      resolve({ body, contentType: ct });
    });
    res.on("error", (err) => reject(err instanceof LineGuardError ? err : unreachable(target.url, err)));
    res.on("aborted", () =>
      reject(new LineGuardError("unreachable", "camera closed the connection mid-image", { retriable: true })),
    );
  });
}

/** Sleep that stop() cuts short. */
class Sleeper {
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wake = undefined;
        resolve();
      }, ms);
    });
  }
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function asLineGuardError(err: unknown): LineGuardError {
  return err instanceof LineGuardError ? err : new LineGuardError("error", errorMessage(err), { cause: err });
}

/** What both HTTP sources share: the target, limits, the run loop's start and the cancellable sleep. */
abstract class HttpFrameSource<O extends HttpCameraOptions> implements FrameSource {
  protected readonly target: Target;
  protected readonly timeoutMs: number;
  protected readonly retry: RetryPolicy;
  protected readonly maxBytes: number;
  protected stopped = true;
  protected loop: Promise<void> | undefined;
  protected readonly sleeper = new Sleeper();
  protected req: http.ClientRequest | undefined;

  constructor(
    protected readonly opts: O,
    protected readonly events: FrameSourceEvents,
  ) {
    this.target = httpTarget(opts);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retry = opts.retry ?? CAMERA_RETRY;
    this.maxBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  abstract stop(): Promise<void>;

  /** Runs until stopped. */
  protected abstract run(): Promise<void>;
}

/** GET a snapshot every `intervalMs` (the next poll starts interval after the previous one started). */
export class SnapshotPoller extends HttpFrameSource<HttpCameraOptions & { intervalMs: number }> {
  private state: SourceState = "stopped";

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.cancel();
    this.req?.destroy();
    await this.loop;
    this.setState("stopped");
  }

  private setState(s: SourceState, detail?: string): void {
    if (s === this.state && detail === undefined) return;
    this.state = s;
    this.events.onState?.(s, detail);
  }

  protected async run(): Promise<void> {
    let failures = 0;
    this.setState("connecting");
    while (!this.stopped) {
      const started = Date.now();
      let ok = false;
      try {
        const { body } = await fetchImage(this.target, this.timeoutMs, this.maxBytes, (r) => (this.req = r));
        if (this.stopped) break;
        const frame = toFrame(body, this.opts.source, Date.now(), this.maxBytes);
        failures = 0;
        ok = true;
        this.setState("connected");
        this.events.onFrame(frame);
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const e = asLineGuardError(err);
        this.setState("waiting", e.message);
        this.events.onError(e);
      } finally {
        this.req = undefined;
      }
      if (this.stopped) break;
      const wait = ok
        ? Math.max(0, this.opts.intervalMs - (Date.now() - started))
        : Math.max(this.opts.intervalMs, backoffDelay(failures - 1, this.retry));
      await this.sleeper.sleep(wait);
    }
  }
}

/** Reads an MJPEG stream; reconnects with backoff when it fails, ends, or stays silent too long. */
export class MjpegClient extends HttpFrameSource<HttpCameraOptions> {
  private res: http.IncomingMessage | undefined;
  /** Frames received over the current connection. */
  private received = 0;

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.cancel();
    this.res?.destroy();
    this.req?.destroy();
    await this.loop;
    this.events.onState?.("stopped");
  }

  protected async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.events.onState?.("connecting");
      this.received = 0;
      try {
        await this.once();
        if (this.stopped) break;
        throw new LineGuardError("unreachable", `camera ${this.target.url.host} ended the stream`, { retriable: true });
      } catch (err) {
        if (this.stopped) break;
        failures = this.received > 0 ? 1 : failures + 1;
        const e = asLineGuardError(err);
        this.events.onState?.("waiting", e.message);
        this.events.onError(e);
      }
      await this.sleeper.sleep(backoffDelay(failures - 1, this.retry));
    }
  }

  /** One connection: resolves when the stream ends, rejects on failure. */
  private async once(): Promise<void> {
    const res = await openGet(this.target, this.timeoutMs, (r) => (this.req = r));
    this.res = res;
    if (this.stopped) {
      res.destroy();
      return;
    }
    const ct = res.headers["content-type"];
    const boundary = boundaryFromContentType(ct);
    if (!boundary) {
      res.destroy();
      const single = isImageContentType(ct) ? " (this URL gives single images: use the HTTP snapshot source)" : "";
      throw wrongType(this.target.url, ct, `multipart/x-mixed-replace with a boundary${single}`);
    }
    this.events.onState?.("connected");
    const parser = new MjpegParser({
      boundary,
      maxFrameBytes: this.maxBytes,
      onError: (e) => this.events.onError(e),
    });
    await new Promise<void>((resolve, reject) => {
      // silence: the socket idles longer than the timeout
      res.socket?.setTimeout(this.timeoutMs, () => {
        res.destroy(
          new LineGuardError("timeout", `camera ${this.target.url.host} sent nothing for ${this.timeoutMs} ms`, {
            retriable: true,
          }),
        );
      });
      res.on("data", (chunk: Buffer) => {
        let parts;
        try {
          parts = parser.push(chunk);
        } catch (err) {
          res.destroy(asLineGuardError(err));
          return;
        }
        for (const p of parts) {
          if (this.stopped) return;
          const pct = p.headers["content-type"];
          if (pct !== undefined && !isImageContentType(pct) && sniffFormat(p.image) === undefined) {
            this.events.onError(wrongType(this.target.url, pct, "image/jpeg or image/png parts"));
            continue;
          }
          let frame: FrameRecord;
          try {
            frame = toFrame(p.image, this.opts.source, Date.now(), this.maxBytes);
          } catch (err) {
            this.events.onError(asLineGuardError(err));
            continue;
          }
          this.received++;
          this.events.onFrame(frame);
        }
      });
      res.on("end", () => resolve());
      res.on("close", () => resolve());
      res.on("error", (err) => reject(err instanceof LineGuardError ? err : unreachable(this.target.url, err)));
    });
    this.res = undefined;
  }
}
