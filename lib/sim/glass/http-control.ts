/**
 * HTTP control API of the glass simulator (JSON, 127.0.0.1:8090 by default), in the style of the CNC
 * one (lib/sim/cnc/http-control.ts):
 *   GET    /health                         -> {ok: true}
 *   GET    /status                         -> {running, rate, lines: [...], endpoints, camera}
 *   GET    /lines                          -> [{id, state, failure, defectRates, ribbonSpeed, ts, values}]
 *   GET    /lines/:id                      -> one line
 *   POST   /lines/:id/failure              {type, rampSeconds?, zone?}   inject a failure
 *   DELETE /lines/:id/failure                                           clear it
 *   POST   /lines/:id/maintenance          {seconds?}                    start maintenance
 *   POST   /lines/:id/alarms/ack                                         acknowledge latched alarms
 *   PUT    /rate  (or POST)                {rate}                        samples per second per line
 *   POST   /start, POST /stop                                            resume / pause the data
 *   GET    /camera                                                       camera url, rates, ribbon speed
 *   POST   /camera/inject                  {cls, count?}                 force defects into the next frames
 * Errors: {error: code, message} with 400 (bad input), 404 (unknown line/route, no camera), 405, 413.
 */
import http from "node:http";
import { LineGuardError, errorMessage } from "../../errors";
import { freePort } from "../cnc/net";

export interface LineStatus {
  id: string;
  state: string;
  failure: { type: string; severity: number; rampSeconds: number; zone?: number } | null;
  /** Camera defect-rate multipliers from the developing failure. */
  defectRates: Record<string, number>;
  ribbonSpeed: number;
  ts?: number;
  values?: Record<string, unknown>;
}

export interface CameraStatus {
  line: string;
  url: string;
  defectRate: number;
  classRates: Record<string, number>;
  ribbonSpeed: number;
}

/** What the HTTP API drives; GlassSimulator implements it. */
export interface GlassSimControl {
  status(): {
    running: boolean;
    rate: number;
    lines: LineStatus[];
    endpoints: Record<string, string>;
    camera: CameraStatus | null;
  };
  line(id: string): LineStatus;
  inject(id: string, type: unknown, rampSeconds?: unknown, zone?: unknown): LineStatus;
  clear(id: string): LineStatus;
  maintenance(id: string, seconds?: unknown): LineStatus;
  acknowledge(id: string): LineStatus;
  setRate(rate: unknown): number;
  resume(): void;
  pause(): void;
  /** Throws LineGuardError "no-camera" when the simulator runs without a camera. */
  cameraInject(cls: unknown, count?: unknown): CameraStatus;
}

export interface HttpControlOptions {
  /** Default 8090; 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export const DEFAULT_GLASS_HTTP_PORT = 8090;
const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, "too-large", `body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("error", reject);
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (!text) return resolve({});
      try {
        const v: unknown = JSON.parse(text);
        if (v === null || typeof v !== "object" || Array.isArray(v)) {
          reject(new HttpError(400, "bad-body", "the body must be a JSON object"));
        } else resolve(v as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, "bad-json", "the body is not valid JSON"));
      }
    });
  });
}

function statusFor(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof LineGuardError) {
    return new HttpError(err.code === "unknown-line" || err.code === "no-camera" ? 404 : 400, err.code, err.message);
  }
  return new HttpError(500, "internal", errorMessage(err));
}

export class GlassHttpControlServer {
  private server: http.Server | undefined;
  private port = 0;

  constructor(
    private readonly control: GlassSimControl,
    private readonly opts: HttpControlOptions = {},
  ) {}

  get url(): string {
    return `http://${this.opts.host ?? "127.0.0.1"}:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const host = this.opts.host ?? "127.0.0.1";
    this.port = this.opts.port === 0 ? await freePort(host) : (this.opts.port ?? DEFAULT_GLASS_HTTP_PORT);
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.reply(res, statusFor(err).status, errBody(err)));
    });
    server.keepAliveTimeout = 2000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? "GET";
    const c = this.control;
    const only = (...allowed: string[]) => {
      if (!allowed.includes(method)) {
        res.setHeader("allow", allowed.join(", "));
        throw new HttpError(405, "method-not-allowed", `use ${allowed.join(" or ")}`);
      }
    };
    if (parts.length === 1 && parts[0] === "health") {
      only("GET");
      return this.reply(res, 200, { ok: true });
    }
    if (parts.length === 1 && parts[0] === "status") {
      only("GET");
      return this.reply(res, 200, c.status());
    }
    if (parts.length === 1 && (parts[0] === "start" || parts[0] === "stop")) {
      only("POST");
      if (parts[0] === "start") c.resume();
      else c.pause();
      return this.reply(res, 200, { running: c.status().running });
    }
    if (parts.length === 1 && parts[0] === "rate") {
      if (method === "GET") return this.reply(res, 200, { rate: c.status().rate });
      only("GET", "PUT", "POST");
      const body = await readJson(req);
      return this.reply(res, 200, { rate: c.setRate(body.rate ?? body.hz) });
    }
    if (parts[0] === "camera") {
      if (parts.length === 1) {
        only("GET");
        return this.reply(res, 200, c.status().camera);
      }
      if (parts.length === 2 && parts[1] === "inject") {
        only("POST");
        const body = await readJson(req);
        return this.reply(res, 200, c.cameraInject(body.cls ?? body.class, body.count));
      }
    }
    if (parts[0] === "lines") {
      if (parts.length === 1) {
        only("GET");
        return this.reply(res, 200, c.status().lines);
      }
      const id = parts[1]!;
      if (parts.length === 2) {
        only("GET");
        return this.reply(res, 200, c.line(id));
      }
      if (parts.length === 3 && parts[2] === "failure") {
        only("POST", "DELETE");
        if (method === "DELETE") return this.reply(res, 200, c.clear(id));
        const body = await readJson(req);
        return this.reply(res, 200, c.inject(id, body.type, body.rampSeconds, body.zone));
      }
      if (parts.length === 3 && parts[2] === "maintenance") {
        only("POST");
        const body = await readJson(req);
        return this.reply(res, 200, c.maintenance(id, body.seconds));
      }
      if (parts.length === 4 && parts[2] === "alarms" && parts[3] === "ack") {
        only("POST");
        return this.reply(res, 200, c.acknowledge(id));
      }
    }
    throw new HttpError(404, "not-found", `no route ${method} ${url.pathname}`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function errBody(err: unknown): { error: string; message: string } {
  const e = statusFor(err);
  return { error: e.code, message: e.message };
}
