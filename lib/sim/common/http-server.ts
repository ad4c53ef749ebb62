/**
 * What the simulators' HTTP control APIs share (lib/sim/cnc/http-control.ts,
 * lib/sim/glass/http-control.ts): a JSON server on 127.0.0.1 by default, bounded JSON object bodies,
 * method checks (405 with Allow), errors as {error: code, message} (LineGuardErrors map to 400 or,
 * for the codes a simulator names, 404), and the routes every simulator has:
 *   GET /health, GET /status, POST /start, POST /stop, GET|PUT|POST /rate,
 *   GET /<units>, GET /<units>/:id, POST|DELETE /<units>/:id/failure, POST /<units>/:id/maintenance.
 * No Node-RED import.
 */
import http from "node:http";
import { LineGuardError, errorMessage } from "../../errors";
import { freePort } from "./net";

export interface HttpControlOptions {
  /** Default: the simulator's (8089 CNC, 8090 glass); 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

const MAX_BODY = 64 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Read a JSON object body (empty body: {}), at most 64 KiB. */
export function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
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

/** One request as a route sees it. */
export interface JsonRequest {
  method: string;
  /** Decoded path segments. */
  parts: string[];
  /** Throws 405 (with an Allow header) unless the method is one of `allowed`. */
  only(...allowed: string[]): void;
  /** The JSON object body. */
  body(): Promise<Record<string, unknown>>;
}

/** Returned by a route that does not match. */
export const NO_ROUTE: unique symbol = Symbol("no-route");

/** A route: the reply body (status 200), or NO_ROUTE. */
export type JsonRoute = (r: JsonRequest) => unknown;

/** The simulator side of the common routes (what SimControl and GlassSimControl have alike). */
export interface CommonControl<U> {
  status(): { running: boolean; rate: number };
  resume(): void;
  pause(): void;
  setRate(rate: unknown): number;
  clear(id: string): U;
  maintenance(id: string, seconds?: unknown): U;
}

/** The unit routes that differ between simulators. */
export interface UnitRoutes<U> {
  /** Collection name: /<name>, /<name>/:id, ... */
  name: string;
  /** All units (GET /<name>). */
  list(): U[];
  get(id: string): U;
  /** POST /<name>/:id/failure with its JSON body. */
  inject(id: string, body: Record<string, unknown>): U;
  /** More routes under /<name>/:id/... */
  more?(r: JsonRequest, id: string): unknown;
}

/** The routes every simulator has. */
export function commonRoutes<U>(c: CommonControl<U>, u: UnitRoutes<U>): JsonRoute {
  return async (r) => {
    const { parts, method, only } = r;
    if (parts.length === 1 && parts[0] === "health") {
      only("GET");
      return { ok: true };
    }
    if (parts.length === 1 && parts[0] === "status") {
      only("GET");
      return c.status();
    }
    if (parts.length === 1 && (parts[0] === "start" || parts[0] === "stop")) {
      only("POST");
      if (parts[0] === "start") c.resume();
      else c.pause();
      return { running: c.status().running };
    }
    if (parts.length === 1 && parts[0] === "rate") {
      if (method === "GET") return { rate: c.status().rate };
      only("GET", "PUT", "POST");
      const body = await r.body();
      return { rate: c.setRate(body.rate ?? body.hz) };
    }
    if (parts[0] === u.name) {
      if (parts.length === 1) {
        only("GET");
        return u.list();
      }
      const id = parts[1]!;
      if (parts.length === 2) {
        only("GET");
        return u.get(id);
      }
      if (parts.length === 3 && parts[2] === "failure") {
        only("POST", "DELETE");
        if (method === "DELETE") return c.clear(id);
        return u.inject(id, await r.body());
      }
      if (parts.length === 3 && parts[2] === "maintenance") {
        only("POST");
        const body = await r.body();
        return c.maintenance(id, body.seconds);
      }
      if (u.more) return u.more(r, id);
    }
    return NO_ROUTE;
  };
}

/** A JSON HTTP server answering with `routes` (tried in order). */
export class JsonHttpServer {
  private server: http.Server | undefined;
  private port = 0;

  /** `notFoundCodes`: LineGuardError codes answered with 404 (the rest: 400). */
  constructor(
    private readonly routes: readonly JsonRoute[],
    private readonly opts: HttpControlOptions,
    private readonly defaultPort: number,
    private readonly notFoundCodes: readonly string[],
  ) {}

  get url(): string {
    return `http://${this.opts.host ?? "127.0.0.1"}:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const host = this.opts.host ?? "127.0.0.1";
    this.port = this.opts.port === 0 ? await freePort(host) : (this.opts.port ?? this.defaultPort);
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const e = this.statusFor(err);
        this.reply(res, e.status, { error: e.code, message: e.message });
      });
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

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private statusFor(err: unknown): HttpError {
    if (err instanceof HttpError) return err;
    if (err instanceof LineGuardError) {
      return new HttpError(this.notFoundCodes.includes(err.code) ? 404 : 400, err.code, err.message);
    }
    return new HttpError(500, "internal", errorMessage(err));
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const r: JsonRequest = {
      method,
      parts: url.pathname.split("/").filter(Boolean).map(decodeURIComponent),
      only: (...allowed) => {
        if (!allowed.includes(method)) {
          res.setHeader("allow", allowed.join(", "));
          throw new HttpError(405, "method-not-allowed", `use ${allowed.join(" or ")}`);
        }
      },
      body: () => readJson(req),
    };
    for (const route of this.routes) {
      const body = await route(r);
      if (body !== NO_ROUTE) return this.reply(res, 200, body);
    }
    throw new HttpError(404, "not-found", `no route ${method} ${url.pathname}`);
  }
}
