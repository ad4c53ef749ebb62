/**
 * The simulated inspection camera over HTTP:
 *   GET /snapshot.jpg  a fresh frame (image/jpeg)
 *   GET /stream.mjpg   multipart/x-mixed-replace; boundary=frame, one part per frame at `fps`, each part
 *                      with Content-Type, Content-Length and X-Timestamp headers
 *   GET /labels.json   ground-truth boxes of the latest frame, in pixels and YOLO-normalised
 * HTTP Basic auth when `user` is set. One shared frame clock feeds every stream client; a client that
 * does not keep up skips frames instead of buffering them. No Node-RED import.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sameSecret } from "../common/secret";
import { DEFECT_CLASSES, type CameraFrame, type RibbonCamera } from "./render";

export interface CameraServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface CameraServerOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 0 = ephemeral). */
  port?: number;
  /** Stream frame rate (default 5, 0.1..60). */
  fps?: number;
  /** Enables HTTP Basic auth. */
  user?: string;
  password?: string;
}

export const STREAM_BOUNDARY = "frame";

interface StreamClient {
  res: http.ServerResponse;
  waiting: boolean;
}

export function labelsJson(f: CameraFrame): unknown {
  return {
    ts: f.ts,
    width: f.width,
    height: f.height,
    names: DEFECT_CLASSES,
    boxes: f.boxes.map((b) => ({
      ...b,
      yolo: [(b.x + b.w / 2) / f.width, (b.y + b.h / 2) / f.height, b.w / f.width, b.h / f.height],
    })),
  };
}

export function startCameraServer(cam: RibbonCamera, opts: CameraServerOptions = {}): Promise<CameraServer> {
  const host = opts.host ?? "127.0.0.1";
  const fps = Math.min(60, Math.max(0.1, opts.fps ?? 5));
  const clients = new Set<StreamClient>();
  let latest: CameraFrame | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let rendering = false;
  let closed = false;

  // frames are rendered one at a time, in time order
  let chain: Promise<unknown> = Promise.resolve();
  const render = (): Promise<CameraFrame> => {
    const p = chain.then(() => cam.frame(Date.now()));
    chain = p.catch(() => undefined);
    return p.then((f) => {
      latest = f;
      return f;
    });
  };

  const authorised = (req: http.IncomingMessage): boolean => {
    if (!opts.user) return true;
    const h = req.headers.authorization ?? "";
    const m = /^Basic\s+(\S+)$/i.exec(h);
    if (!m) return false;
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) return false;
    const okUser = sameSecret(decoded.slice(0, i), opts.user);
    const okPass = sameSecret(decoded.slice(i + 1), opts.password ?? "");
    return okUser && okPass;
  };

  const tick = async (): Promise<void> => {
    if (rendering || clients.size === 0) return;
    rendering = true;
    try {
      const f = await render();
      const head = Buffer.from(
        `--${STREAM_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.jpeg.length}\r\n` +
          `X-Timestamp: ${f.ts}\r\n\r\n`,
      );
      const part = Buffer.concat([head, f.jpeg, Buffer.from("\r\n")]);
      for (const c of clients) {
        if (c.waiting || c.res.destroyed) continue;
        if (!c.res.write(part)) {
          c.waiting = true;
          c.res.once("drain", () => (c.waiting = false));
        }
      }
    } catch {
      // a failed encode skips one frame
    } finally {
      rendering = false;
    }
  };

  const startTicker = (): void => {
    if (ticker || closed) return;
    ticker = setInterval(() => void tick(), 1000 / fps);
    void tick();
  };
  const stopTickerIfIdle = (): void => {
    if (clients.size === 0 && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://camera");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (!authorised(req)) {
      res
        .writeHead(401, { "WWW-Authenticate": 'Basic realm="lineguard-camera"', "Content-Type": "text/plain" })
        .end("unauthorised\n");
      return;
    }
    switch (url.pathname) {
      case "/snapshot.jpg":
      case "/snapshot.jpeg":
        render().then(
          (f) => {
            res.writeHead(200, {
              "Content-Type": "image/jpeg",
              "Content-Length": f.jpeg.length,
              "Cache-Control": "no-store",
              "X-Timestamp": String(f.ts),
            });
            res.end(req.method === "HEAD" ? undefined : f.jpeg);
          },
          (err: unknown) => {
            res.writeHead(500, { "Content-Type": "text/plain" }).end(`render failed: ${String(err)}\n`);
          },
        );
        return;
      case "/stream.mjpg":
      case "/stream.mjpeg": {
        res.writeHead(200, {
          "Content-Type": `multipart/x-mixed-replace; boundary=${STREAM_BOUNDARY}`,
          "Cache-Control": "no-store",
          Connection: "close",
        });
        if (req.method === "HEAD") {
          res.end();
          return;
        }
        const client: StreamClient = { res, waiting: false };
        clients.add(client);
        const drop = (): void => {
          clients.delete(client);
          stopTickerIfIdle();
        };
        res.on("close", drop);
        res.on("error", drop);
        startTicker();
        return;
      }
      case "/labels.json": {
        const send = (f: CameraFrame): void => {
          const body = JSON.stringify(labelsJson(f));
          res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
          res.end(req.method === "HEAD" ? undefined : body);
        };
        if (latest) send(latest);
        else
          render().then(send, (err: unknown) =>
            res.writeHead(500, { "Content-Type": "text/plain" }).end(`render failed: ${String(err)}\n`),
          );
        return;
      }
      default:
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    }
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      const shownHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
      resolve({
        port,
        url: `http://${shownHost}:${port}`,
        close: () =>
          new Promise<void>((res) => {
            closed = true;
            if (ticker) clearInterval(ticker);
            ticker = undefined;
            for (const c of clients) c.res.end();
            clients.clear();
            server.close(() => res());
            server.closeAllConnections();
          }),
      });
    });
  });
}
