/**
 * Node-RED as a real child process, for crash tests (SIGKILL of the gateway itself).
 *
 * Runs the Node-RED under test (the devDependency, or the one in LINEGUARD_NODE_RED_DIR, like
 * test/support/helper.ts) with `--userDir <dir> --settings <dir>/settings.cjs --port <free port>`, on
 * 127.0.0.1. The LineGuard pack is linked into <userDir>/node_modules (as scripts/start.mjs does), so
 * Node-RED loads the BUILT pack (dist/, the package.json "node-red" entries) like an installed package.
 * The flow (and optional plain-text credentials) are written into the user dir before the first start;
 * `kill()` + `start()` restarts on the same user dir (flow file, spool, context stay).
 */
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export type FlowJson = Array<Record<string, unknown>>;

export interface NodeRedProcessOptions {
  /** The flow file content (tabs, config nodes and nodes). */
  flow: FlowJson;
  /** Credentials by node id, stored unencrypted (credentialSecret: false). */
  credentials?: Record<string, Record<string, string>>;
  /** User dir to use (created if missing); default: a new temp dir, removed by cleanup(). */
  userDir?: string;
  /** Extra environment of the child (Node-RED's env.get / ${NAME} see it). */
  env?: Record<string, string>;
  /** Extra settings (JSON-serialisable), merged over the defaults. */
  settings?: Record<string, unknown>;
  /** How long start() waits for "Started flows" (default 60 s). */
  startTimeoutMs?: number;
  /** Echo the child's output to our stderr (default: LINEGUARD_NODE_RED_LOG=1). */
  echo?: boolean;
}

/** The repository root (the folder whose package.json is node-red-contrib-lineguard). */
export function packRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, "package.json");
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, "utf8")) as { name?: string }).name === "node-red-contrib-lineguard") {
          return dir;
        }
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the node-red-contrib-lineguard package above ${__dirname}`);
    dir = parent;
  }
}

/** red.js of the Node-RED under test (LINEGUARD_NODE_RED_DIR or the devDependency). */
export function redJsPath(): string {
  const nrDir = process.env.LINEGUARD_NODE_RED_DIR;
  const from = nrDir ? [path.resolve(nrDir)] : [packRoot()];
  return path.join(path.dirname(require.resolve("node-red/package.json", { paths: from })), "red.js");
}

/** A TCP port that was free a moment ago on 127.0.0.1 (Node-RED needs a real port number). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // mocha --exit ends the process without after hooks of a failed run: never leave a Node-RED behind.
  process.on("exit", () => {
    for (const c of live) {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

export class NodeRedProcess {
  readonly userDir: string;
  private readonly ownDir: boolean;
  private readonly opts: NodeRedProcessOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private logTail: string[] = [];
  private portNo = 0;
  /** How many times the process was started. */
  starts = 0;

  constructor(opts: NodeRedProcessOptions) {
    this.opts = opts;
    this.ownDir = opts.userDir === undefined;
    this.userDir = opts.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "lg-nodered-"));
    fs.mkdirSync(this.userDir, { recursive: true });
    fs.writeFileSync(path.join(this.userDir, "flows.json"), JSON.stringify(opts.flow, null, 2));
    fs.writeFileSync(path.join(this.userDir, "flows_cred.json"), JSON.stringify(opts.credentials ?? {}, null, 2));
  }

  /** The HTTP port of the running (or last) process. */
  get port(): number {
    return this.portNo;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines Node-RED printed (for failure messages). */
  log(lines = 60): string {
    return this.logTail.slice(-lines).join("\n");
  }

  private writeSettings(port: number): string {
    const file = path.join(this.userDir, "settings.cjs");
    const settings = {
      uiHost: "127.0.0.1",
      uiPort: port,
      flowFile: "flows.json",
      flowFilePretty: true,
      credentialSecret: false,
      httpAdminRoot: "/",
      httpNodeRoot: "/",
      functionExternalModules: true,
      functionGlobalContext: {},
      diagnostics: { enabled: false },
      runtimeState: { enabled: false },
      telemetry: { enabled: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
      logging: { console: { level: "info", metrics: false, audit: false } },
      editorTheme: { projects: { enabled: false }, tours: false },
      contextStorage: { default: { module: "memory" } },
      ...this.opts.settings,
    };
    fs.writeFileSync(
      file,
      `// Written by test/support/node-red-process.ts\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`,
    );
    return file;
  }

  /** Link the pack into <userDir>/node_modules, as scripts/start.mjs does. */
  private linkPack(): void {
    const root = packRoot();
    const entry = path.join(root, "dist", "nodes", "kafka-out", "kafka-out.js");
    if (!fs.existsSync(entry)) {
      throw new Error(`the pack is not built (${entry} is missing): run "node scripts/build.mjs" first`);
    }
    const link = path.join(this.userDir, "node_modules", "node-red-contrib-lineguard");
    fs.mkdirSync(path.dirname(link), { recursive: true });
    let ok = false;
    try {
      ok = fs.realpathSync(link) === fs.realpathSync(root);
    } catch {
      ok = false;
    }
    if (!ok) {
      fs.rmSync(link, { recursive: true, force: true });
      fs.symlinkSync(root, link, "dir");
    }
  }

  /** Start Node-RED (again, on the same user dir) and wait until the flows are started. */
  async start(): Promise<void> {
    if (this.running) throw new Error("Node-RED is already running");
    this.linkPack();
    this.portNo = await freePort();
    const settingsFile = this.writeSettings(this.portNo);
    this.logTail = [];
    const echo = this.opts.echo ?? process.env.LINEGUARD_NODE_RED_LOG === "1";
    const logFile = fs.createWriteStream(path.join(this.userDir, "node-red.log"), { flags: "a" });
    logFile.write(`==== start ${++this.starts} at ${new Date().toISOString()} on port ${this.portNo}\n`);
    const child = spawn(
      process.execPath,
      [redJsPath(), "--userDir", this.userDir, "--settings", settingsFile, "--port", String(this.portNo)],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...this.opts.env } },
    );
    installExitHook();
    live.add(child);
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        logFile.end(`==== exit ${signal ?? code}\n`);
        resolve();
      });
    });

    let started: () => void = () => undefined;
    let failed: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    let partial = "";
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      logFile.write(text);
      if (echo) process.stderr.write(text);
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        this.logTail.push(line);
        if (/Started flows/.test(line)) started();
        else if (/Waiting for missing types|Failed to start server|Error: port in use/.test(line)) {
          // a missing type never resolves: report it at once with the log
          setTimeout(() => failed(new Error(`Node-RED did not start the flows: ${line}`)), 500);
        }
      }
      if (this.logTail.length > 400) this.logTail.splice(0, this.logTail.length - 200);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code, signal) =>
      failed(new Error(`Node-RED exited (${signal ?? code}) before the flows started`)),
    );

    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Node-RED did not start the flows within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      await this.kill();
      throw new Error(`${(err as Error).message}\n---- Node-RED output ----\n${this.log()}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** SIGKILL (no close handlers, no flush) and wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM (Node-RED closes the flows), SIGKILL after graceMs; waits until the process is gone. */
  async stop(graceMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** GET/POST a path of the Node-RED HTTP server (admin and http-in share the root); JSON reply. */
  request(method: "GET" | "POST", urlPath: string, body?: unknown, timeoutMs = 10_000): Promise<any> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: this.portNo,
          path: urlPath,
          method,
          timeout: timeoutMs,
          headers: data ? { "content-type": "application/json", "content-length": data.length } : {},
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => {
            if ((res.statusCode ?? 0) >= 300) {
              reject(new Error(`${method} ${urlPath}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
              return;
            }
            try {
              resolve(text === "" ? undefined : JSON.parse(text));
            } catch {
              resolve(text);
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
      req.on("error", reject);
      req.end(data);
    });
  }

  /** Kill the process if it runs; remove the user dir when it is a temp dir of ours. */
  async cleanup(): Promise<void> {
    await this.kill();
    if (this.ownDir) fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}
