/**
 * Store-and-forward settings and status shared by the sink nodes (kafka-out, influxdb-out).
 * No Node-RED import: the settings are checked and the status text is built here, unit-tested.
 *
 * Spool directory: <spoolRoot>/<node id>, spoolRoot = settings.lineguard.spoolDir or
 * <userDir>/lineguard/spool.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Backlog, FullPolicy, MemoryBacklog, SinkItem } from "../../lib/sinks/backlog";
import { ReplayOrder, SpoolLanes } from "../../lib/sinks/lanes";
import type { FsyncPolicy, SpoolSerializer } from "../../lib/sinks/spool";

import type { SpoolMode, SpoolProps } from "./spool-types";

export type { SpoolMode, SpoolProps } from "./spool-types";

export const SPOOL_DEFAULTS: SpoolProps = {
  spool: "disk",
  spoolMaxMB: 1024,
  spoolFsync: "interval",
  replayRate: 5000,
  replayOrder: "live-first",
};

export interface SpoolSettings {
  mode: SpoolMode;
  maxBytes: number;
  fsync: FsyncPolicy;
  replayRate: number;
  order: ReplayOrder;
}

function oneOf<T extends string>(v: unknown, list: readonly T[], name: string): T {
  if (typeof v === "string" && (list as readonly string[]).includes(v)) return v as T;
  throw new Error(`${name} must be one of ${list.join(", ")}, got "${String(v)}"`);
}

function intIn(v: unknown, name: string, min: number, max: number): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${String(v)}"`);
  }
  return n;
}

/** Check the spool properties; throws an Error saying what is wrong. */
export function spoolSettings(p: Partial<SpoolProps>): SpoolSettings {
  const q = { ...SPOOL_DEFAULTS, ...p };
  return {
    mode: oneOf(q.spool, ["disk", "memory"] as const, "spool"),
    maxBytes: intIn(q.spoolMaxMB, "spool size (MB)", 1, 1024 * 1024) * 1024 * 1024,
    fsync: oneOf(q.spoolFsync, ["interval", "always", "never"] as const, "spool fsync"),
    replayRate: intIn(q.replayRate, "replay rate", 0, 10_000_000),
    order: oneOf(q.replayOrder, ["live-first", "fifo"] as const, "replay order"),
  };
}

export interface RuntimeSettings {
  userDir?: string;
  lineguard?: { spoolDir?: string };
}

/** Where the sinks' spools live. */
export function spoolRoot(settings: RuntimeSettings): string {
  const own = settings.lineguard?.spoolDir;
  if (typeof own === "string" && own.trim() !== "") return path.resolve(own);
  const userDir = settings.userDir ?? path.join(os.homedir(), ".node-red");
  return path.join(userDir, "lineguard", "spool");
}

/** A node id as a directory name (ids are hex, but a hand-written flow may use anything). */
export function spoolDirFor(root: string, nodeId: string): string {
  const safe = nodeId.replace(/[^A-Za-z0-9._-]/g, "_");
  return path.join(root, safe === "." || safe === ".." ? `_${safe}` : safe);
}

export interface BacklogChoice<T> {
  settings: SpoolSettings;
  dir: string;
  policy: FullPolicy;
  /** Memory backlog bound (records). */
  maxItems: number;
  lingerMs: number;
  /** How records are stored (default JSON). */
  serializer?: SpoolSerializer<T>;
}

export function openBacklog<T extends SinkItem>(c: BacklogChoice<T>): Backlog<T> {
  if (c.settings.mode === "memory") return new MemoryBacklog<T>({ maxItems: c.maxItems, policy: c.policy });
  return new SpoolLanes<T>({
    dir: c.dir,
    maxBytes: c.settings.maxBytes,
    policy: c.policy,
    fsync: c.settings.fsync,
    replayRate: c.settings.replayRate,
    order: c.settings.order,
    lingerMs: c.lingerMs,
    serializer: c.serializer,
  });
}

/** After a node was deleted: remove its spool directory if nothing is left in it. */
export function removeIfEmpty(dir: string, backlogLength: number): boolean {
  if (backlogLength > 0) return false;
  fs.rmSync(dir, { recursive: true, force: true });
  return true;
}

/** Records/s delivered over the last `windowMs`, from samples of a monotone counter. */
export class DrainRate {
  private samples: { t: number; v: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  sample(value: number, now = Date.now()): void {
    this.samples.push({ t: now, v: value });
    while (this.samples.length > 2 && this.samples[0]!.t < now - this.windowMs) this.samples.shift();
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0]!;
    const b = this.samples[this.samples.length - 1]!;
    return b.t > a.t ? ((b.v - a.v) * 1000) / (b.t - a.t) : 0;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export interface BacklogView {
  pending: number;
  pendingBytes: number;
  oldestMs: number | undefined;
  dropped: number;
}

/**
 * The status parts for a backlog: "backlog 12,345 (3.2 MB, oldest 5m 3s)", "draining 4,800/s",
 * "dropped 17". `t` is RED._ with the shared keys.
 */
export function backlogParts(
  v: BacklogView,
  drainPerS: number,
  t: (key: string, subs: Record<string, string | number>) => string,
): string[] {
  const parts: string[] = [];
  if (v.pending > 0) {
    parts.push(
      t("lineguard.status.backlog", {
        count: formatCount(v.pending),
        size: formatBytes(v.pendingBytes),
        age: formatAge(v.oldestMs ?? 0),
      }),
    );
    if (drainPerS >= 1) parts.push(t("lineguard.status.draining", { rate: formatCount(drainPerS) }));
  }
  if (v.dropped > 0) parts.push(t("lineguard.status.dropped", { count: formatCount(v.dropped) }));
  return parts;
}
