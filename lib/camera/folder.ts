/**
 * A watched folder as a camera: new .jpg/.jpeg/.png files become frames once they are complete
 * (size and mtime unchanged for `stableMs`, and the image whole: a JPEG still without its end
 * marker is waited for up to `incompleteTimeoutMs`, then reported as truncated). Files are read
 * oldest first; afterwards they are kept, deleted or moved. The folder is polled (fs.watch only
 * hurries the next scan along, since it is unreliable on network and container filesystems).
 * No Node-RED import.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { LineGuardError, errorMessage } from "../errors";
import { DEFAULT_MAX_FRAME_BYTES, toFrame } from "./frame";
import type { FrameSource, FrameSourceEvents, SourceState } from "./http";

export type AfterRead = "keep" | "delete" | "move";

export interface FolderWatchOptions {
  dir: string;
  source: string;
  /** Extensions to read, lower case with the dot (default .jpg .jpeg .png). */
  extensions?: string[];
  afterRead?: AfterRead;
  /** Target folder for afterRead "move" (created when missing). */
  moveTo?: string;
  /** Scan period (default 250 ms). */
  pollMs?: number;
  /** A file counts as complete when unchanged this long (default 200 ms). */
  stableMs?: number;
  /** A stable file that is still not a whole image after this long is reported (default 5 s). */
  incompleteTimeoutMs?: number;
  /** Read the files already in the folder at start (default true). */
  existing?: boolean;
  maxFrameBytes?: number;
}

interface Seen {
  size: number;
  mtimeMs: number;
  firstSeen: number;
  stableSince: number;
}

const DEFAULT_EXTENSIONS = [".jpg", ".jpeg", ".png"];

export class FolderWatcher implements FrameSource {
  private readonly exts: string[];
  private readonly pollMs: number;
  private readonly stableMs: number;
  private readonly incompleteMs: number;
  private readonly maxBytes: number;
  private readonly seen = new Map<string, Seen>();
  /** name -> "size:mtime" of files already handled */
  private readonly done = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private first = true;
  private state: SourceState = "stopped";
  private lastError = "";

  constructor(
    private readonly opts: FolderWatchOptions,
    private readonly events: FrameSourceEvents,
  ) {
    if (!opts.dir) throw new LineGuardError("bad-config", "a folder is required");
    if (opts.afterRead === "move" && !opts.moveTo)
      throw new LineGuardError("bad-config", "a folder to move read files to is required");
    if (opts.afterRead === "move" && path.resolve(opts.moveTo!) === path.resolve(opts.dir)) {
      throw new LineGuardError("bad-config", "the move-to folder must differ from the watched folder");
    }
    this.exts = (opts.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase());
    this.pollMs = Math.max(10, opts.pollMs ?? 250);
    this.stableMs = Math.max(0, opts.stableMs ?? 200);
    this.incompleteMs = Math.max(0, opts.incompleteTimeoutMs ?? 5000);
    this.maxBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.first = true;
    this.setState("connecting");
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    await this.scanning;
    this.setState("stopped");
  }

  private setState(s: SourceState, detail?: string): void {
    if (s === this.state) return;
    this.state = s;
    this.events.onState?.(s, detail);
  }

  /** Scan now (or right after the running scan), then every pollMs. */
  private kick(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.scanning = this.scan()
      .catch((err: unknown) => this.report(new LineGuardError("folder", errorMessage(err), { retriable: true })))
      .finally(() => {
        this.scanning = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
        } else {
          this.timer = setTimeout(() => this.kick(), this.pollMs);
        }
      });
  }

  private report(err: LineGuardError): void {
    this.events.onError(err);
  }

  private ensureWatch(): void {
    if (this.watcher || this.stopped) return;
    try {
      this.watcher = fs.watch(this.opts.dir, { persistent: false }, () => {
        // let the writer get going; the stability check decides
        if (!this.timer || this.scanning) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.kick(), Math.min(this.pollMs, 20));
      });
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // polling alone still works
    }
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.opts.dir);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const msg =
        code === "ENOENT"
          ? `folder ${this.opts.dir} does not exist`
          : `cannot read folder ${this.opts.dir}: ${code ?? errorMessage(err)}`;
      this.watcher?.close();
      this.watcher = undefined;
      if (msg !== this.lastError) {
        this.lastError = msg;
        this.setState("waiting", msg);
        this.report(new LineGuardError("folder", msg, { retriable: true }));
      }
      return;
    }
    this.lastError = "";
    this.ensureWatch();
    this.setState("connected");
    const now = Date.now();
    const present = new Set<string>();
    const ready: Array<{ name: string; mtimeMs: number; size: number; seen: Seen }> = [];
    for (const name of names) {
      if (name.startsWith(".") || !this.exts.includes(path.extname(name).toLowerCase())) continue;
      let st: fs.Stats;
      try {
        st = await fsp.stat(path.join(this.opts.dir, name));
      } catch {
        continue; // gone meanwhile
      }
      if (!st.isFile()) continue;
      present.add(name);
      const key = `${st.size}:${st.mtimeMs}`;
      if (this.first && this.opts.existing === false) this.done.set(name, key);
      if (this.done.get(name) === key) continue;
      let s = this.seen.get(name);
      if (!s || s.size !== st.size || s.mtimeMs !== st.mtimeMs) {
        s = { size: st.size, mtimeMs: st.mtimeMs, firstSeen: s?.firstSeen ?? now, stableSince: now };
        this.seen.set(name, s);
        if (this.stableMs > 0) continue;
      }
      if (st.size > 0 && now - s.stableSince >= this.stableMs)
        ready.push({ name, mtimeMs: st.mtimeMs, size: st.size, seen: s });
    }
    this.first = false;
    for (const n of [...this.seen.keys()]) if (!present.has(n)) this.seen.delete(n);
    for (const n of [...this.done.keys()]) if (!present.has(n)) this.done.delete(n);
    ready.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const f of ready) {
      if (this.stopped) return;
      await this.read(f.name, f.size, f.mtimeMs, f.seen, now);
    }
  }

  private async read(name: string, size: number, mtimeMs: number, seen: Seen, now: number): Promise<void> {
    const file = path.join(this.opts.dir, name);
    const key = `${size}:${mtimeMs}`;
    if (size > this.maxBytes) {
      this.done.set(name, key);
      this.report(
        new LineGuardError("too-large", `${name}: ${size} bytes is over the limit of ${this.maxBytes} bytes`),
      );
      return;
    }
    let data: Buffer;
    try {
      data = await fsp.readFile(file);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return;
      this.done.set(name, key);
      this.report(new LineGuardError("folder", `${name}: ${errorMessage(err)}`));
      return;
    }
    if (data.length !== size) return; // still being written: next scan
    let frame;
    try {
      frame = toFrame(data, this.opts.source, mtimeMs, this.maxBytes);
    } catch (err) {
      const e = err instanceof LineGuardError ? err : new LineGuardError("corrupt-image", errorMessage(err));
      if (e.code === "truncated-image" && now - seen.firstSeen < this.incompleteMs) return; // give the writer time
      this.done.set(name, key);
      this.seen.delete(name);
      this.report(new LineGuardError(e.code, `${name}: ${e.message}`));
      return;
    }
    this.done.set(name, key);
    this.seen.delete(name);
    this.events.onFrame(frame);
    await this.after(name, file);
  }

  private async after(name: string, file: string): Promise<void> {
    try {
      if (this.opts.afterRead === "delete") {
        await fsp.unlink(file);
      } else if (this.opts.afterRead === "move") {
        await fsp.mkdir(this.opts.moveTo!, { recursive: true });
        await fsp.rename(file, path.join(this.opts.moveTo!, name));
      }
    } catch (err) {
      this.report(
        new LineGuardError("folder", `${name}: cannot ${this.opts.afterRead} after reading: ${errorMessage(err)}`),
      );
    }
  }
}
