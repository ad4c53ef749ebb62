/**
 * Prometheus metrics of the LineGuard nodes (prom-client), on a registry of our own (never the global
 * one, so another package's metrics cannot collide with ours). One process-wide instance,
 * `lineguardMetrics`; each node takes a `NodeMetrics` handle with `forNode()` and closes it when the node
 * closes. Every per-node series carries node_id, node_type and node_name. Nothing here throws on a bad
 * value: non-finite or negative counts and durations are ignored. No Node-RED import.
 * Metric names and meanings: docs/metrics.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface NodeLabels {
  id: string;
  type: string;
  name?: string;
}

export interface SpoolProbe {
  records: number;
  bytes: number;
  oldestAgeSeconds: number;
}

export interface NodeMetrics {
  recordsIn(n?: number): void;
  recordsOut(n?: number): void;
  /** `reason` is a short code ("schema", "below-min", ...), never free text; see reasonCode(). */
  rejected(n: number, reason: string): void;
  dropped(n: number): void;
  sendLatency(seconds: number): void;
  reconnect(): void;
  inferenceLatency(seconds: number): void;
  /** Sampled at scrape time; undefined removes the probe. */
  spoolProbe(probe: (() => SpoolProbe) | undefined): void;
  /** Remove every series of this node (node closed / removed). */
  close(): void;
}

export interface MetricsOptions {
  /** Collect prom-client's default process metrics (prefix `lineguard_`) on this registry. Default true. */
  defaultMetrics?: boolean;
}

/** Metric names, as documented in docs/metrics.md. */
export const METRIC_NAMES = {
  recordsIn: "lineguard_records_in_total",
  recordsOut: "lineguard_records_out_total",
  rejected: "lineguard_records_rejected_total",
  spoolRecords: "lineguard_spool_records",
  spoolBytes: "lineguard_spool_bytes",
  spoolOldestAge: "lineguard_spool_oldest_age_seconds",
  dropped: "lineguard_spool_dropped_total",
  sendLatency: "lineguard_send_latency_seconds",
  reconnects: "lineguard_reconnects_total",
  inferenceLatency: "lineguard_inference_latency_seconds",
} as const;

/** Send latency buckets: 1 ms .. 30 s. */
export const SEND_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Inference latency buckets: 0.5 ms .. 5 s. */
export const INFERENCE_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Distinct reason codes kept per node; further codes are counted as "other". */
export const MAX_REASONS_PER_NODE = 20;
const MAX_LABEL_LENGTH = 128;

const NODE_LABELS = ["node_id", "node_type", "node_name"] as const;
type LabelSet = Record<(typeof NODE_LABELS)[number], string>;

/**
 * A reason as a label value: lower case, [a-z0-9_-] only, at most 32 characters; "other" when nothing
 * is left. Codes such as "schema", "below-min", "bad-input" pass unchanged.
 */
export function reasonCode(reason: unknown): string {
  const s = typeof reason === "string" ? reason : "";
  const code = s
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 32);
  return code === "" ? "other" : code;
}

/**
 * Rejected records per reason code, from a result that lists reasons by record index (several reasons
 * may name the same record): each rejected record counts once, under its first reason; records of
 * `total` not accepted and not named (a batch refused as a whole) count under the first reason.
 */
export function rejectionCounts(
  total: number,
  accepted: number,
  reasons: ReadonlyArray<{ index: number; code?: unknown }>,
): Map<string, number> {
  const firstCode = new Map<number, string>();
  for (const r of reasons) if (!firstCode.has(r.index)) firstCode.set(r.index, reasonCode(r.code));
  const out = new Map<string, number>();
  for (const code of firstCode.values()) out.set(code, (out.get(code) ?? 0) + 1);
  const named = firstCode.size;
  const missing = total - accepted - named;
  if (missing > 0 && reasons.length > 0) {
    const first = reasonCode(reasons[0]!.code);
    out.set(first, (out.get(first) ?? 0) + missing);
  }
  return out;
}

const validCount = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0;

function labelValue(v: unknown): string {
  return typeof v === "string" ? v.slice(0, MAX_LABEL_LENGTH) : "";
}

/** A handle's state; `live` false once closed or replaced by a newer handle for the same node id. */
class NodeEntry implements NodeMetrics {
  live = true;
  probe: (() => SpoolProbe) | undefined;
  readonly reasons = new Set<string>();
  readonly labels: LabelSet;

  constructor(
    private readonly m: Families,
    l: NodeLabels,
    private readonly onClose: (e: NodeEntry) => void,
  ) {
    this.labels = { node_id: labelValue(l.id), node_type: labelValue(l.type), node_name: labelValue(l.name) };
  }

  recordsIn(n = 1): void {
    if (this.live && validCount(n)) this.m.recordsIn.inc(this.labels, n);
  }

  recordsOut(n = 1): void {
    if (this.live && validCount(n)) this.m.recordsOut.inc(this.labels, n);
  }

  rejected(n: number, reason: string): void {
    if (!this.live || !validCount(n)) return;
    let code = reasonCode(reason);
    if (!this.reasons.has(code)) {
      if (this.reasons.size >= MAX_REASONS_PER_NODE) code = "other";
      this.reasons.add(code);
    }
    this.m.rejected.inc({ ...this.labels, reason: code }, n);
  }

  dropped(n: number): void {
    if (this.live && validCount(n)) this.m.dropped.inc(this.labels, n);
  }

  sendLatency(seconds: number): void {
    if (this.live && validCount(seconds)) this.m.sendLatency.observe(this.labels, seconds);
  }

  reconnect(): void {
    if (this.live) this.m.reconnects.inc(this.labels, 1);
  }

  inferenceLatency(seconds: number): void {
    if (this.live && validCount(seconds)) this.m.inferenceLatency.observe(this.labels, seconds);
  }

  spoolProbe(probe: (() => SpoolProbe) | undefined): void {
    if (!this.live) return;
    this.probe = typeof probe === "function" ? probe : undefined;
    if (!this.probe) this.removeSpoolSeries();
  }

  close(): void {
    if (!this.live) return;
    this.onClose(this);
  }

  /** Remove every series of this label set (called by the owner). */
  removeSeries(): void {
    const l = this.labels;
    this.m.recordsIn.remove(l);
    this.m.recordsOut.remove(l);
    for (const reason of this.reasons) this.m.rejected.remove({ ...l, reason });
    this.reasons.clear();
    this.m.dropped.remove(l);
    this.m.sendLatency.remove(l);
    this.m.reconnects.remove(l);
    this.m.inferenceLatency.remove(l);
    this.removeSpoolSeries();
  }

  removeSpoolSeries(): void {
    this.m.spoolRecords.remove(this.labels);
    this.m.spoolBytes.remove(this.labels);
    this.m.spoolOldestAge.remove(this.labels);
  }
}

interface Families {
  recordsIn: Counter<string>;
  recordsOut: Counter<string>;
  rejected: Counter<string>;
  dropped: Counter<string>;
  reconnects: Counter<string>;
  spoolRecords: Gauge<string>;
  spoolBytes: Gauge<string>;
  spoolOldestAge: Gauge<string>;
  sendLatency: Histogram<string>;
  inferenceLatency: Histogram<string>;
}

type Sampled = { entry: NodeEntry; value: SpoolProbe | undefined };

const sameLabels = (a: LabelSet, b: LabelSet): boolean =>
  a.node_id === b.node_id && a.node_type === b.node_type && a.node_name === b.node_name;

export class LineGuardMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  private readonly families: Families;
  /** The live handle per node id. */
  private readonly nodes = new Map<string, NodeEntry>();
  /** Probe results of the current scrape (the three spool gauges sample once per scrape). */
  private sampled: Sampled[] | undefined;

  constructor(opts: MetricsOptions = {}) {
    this.registry = new Registry();
    this.contentType = this.registry.contentType;
    const registers = [this.registry];
    const labelNames = [...NODE_LABELS];
    const sample = (): Sampled[] => this.sample();
    const spoolGauge = (name: string, help: string, pick: (p: SpoolProbe) => number): Gauge<string> =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect(this: Gauge<string>) {
          for (const { entry, value } of sample()) {
            const v = value ? pick(value) : NaN;
            if (validCount(v)) this.set(entry.labels, v);
            else this.remove(entry.labels);
          }
        },
      });
    this.families = {
      recordsIn: new Counter({
        name: METRIC_NAMES.recordsIn,
        help: "Records the node received",
        labelNames,
        registers,
      }),
      recordsOut: new Counter({
        name: METRIC_NAMES.recordsOut,
        help: "Records the node passed on (sinks: delivered, acknowledged by the server)",
        labelNames,
        registers,
      }),
      rejected: new Counter({
        name: METRIC_NAMES.rejected,
        help: "Records the node rejected, by reason code",
        labelNames: [...labelNames, "reason"],
        registers,
      }),
      spoolRecords: spoolGauge(METRIC_NAMES.spoolRecords, "Records waiting in the sink's spool", (p) => p.records),
      spoolBytes: spoolGauge(METRIC_NAMES.spoolBytes, "Bytes of the sink's spool", (p) => p.bytes),
      spoolOldestAge: spoolGauge(
        METRIC_NAMES.spoolOldestAge,
        "Age of the oldest record waiting in the spool, seconds (0 when empty)",
        (p) => p.oldestAgeSeconds,
      ),
      dropped: new Counter({
        name: METRIC_NAMES.dropped,
        help: "Records the spool dropped (full: drop-oldest or refuse-newest)",
        labelNames,
        registers,
      }),
      sendLatency: new Histogram({
        name: METRIC_NAMES.sendLatency,
        help: "Time from sending a batch to the server's acknowledgement, seconds",
        labelNames,
        buckets: SEND_LATENCY_BUCKETS,
        registers,
      }),
      reconnects: new Counter({
        name: METRIC_NAMES.reconnects,
        help: "Reconnections to the server after a lost connection",
        labelNames,
        registers,
      }),
      inferenceLatency: new Histogram({
        name: METRIC_NAMES.inferenceLatency,
        help: "Inference time per scored batch, window or frame, seconds",
        labelNames,
        buckets: INFERENCE_LATENCY_BUCKETS,
        registers,
      }),
    };
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "lineguard_" });
  }

  /**
   * The handle of one node. A second call with the same id (redeploy) replaces the first: the old
   * handle goes inert, and its series are removed when its labels differ (a renamed node).
   */
  forNode(l: NodeLabels): NodeMetrics {
    const entry = new NodeEntry(this.families, l, (e) => this.release(e));
    const old = this.nodes.get(entry.labels.node_id);
    if (old) {
      old.live = false;
      // Same labels: the counters carry on (the new handle removes them, rejected reasons included);
      // the spool gauges wait for the new handle's probe.
      if (sameLabels(old.labels, entry.labels)) {
        for (const r of old.reasons) entry.reasons.add(r);
        old.removeSpoolSeries();
      } else old.removeSeries();
    }
    this.nodes.set(entry.labels.node_id, entry);
    // In and out exist from the start (at 0), so rate() and increase() see the first records.
    entry.recordsIn(0);
    entry.recordsOut(0);
    return entry;
  }

  /** The text exposition format (content type: `contentType`). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private release(entry: NodeEntry): void {
    entry.live = false;
    entry.probe = undefined;
    entry.removeSeries();
    if (this.nodes.get(entry.labels.node_id) === entry) this.nodes.delete(entry.labels.node_id);
  }

  /** Probe every live node once per scrape; a probe that throws yields no value (its series is left out). */
  private sample(): Sampled[] {
    if (this.sampled) return this.sampled;
    const out: Sampled[] = [];
    for (const entry of this.nodes.values()) {
      if (!entry.probe) continue;
      let value: SpoolProbe | undefined;
      try {
        const p = entry.probe();
        value = p && typeof p === "object" ? p : undefined;
      } catch {
        value = undefined;
      }
      out.push({ entry, value });
    }
    this.sampled = out;
    // Every collect() of one scrape runs in the same synchronous turn; the next scrape samples anew.
    queueMicrotask(() => {
      this.sampled = undefined;
    });
    return out;
  }
}

/** The process-wide metrics every LineGuard node reports to (served at GET /lineguard/metrics). */
export const lineguardMetrics: LineGuardMetrics = new LineGuardMetrics();

/** The reason code of an error: its `code` (LineGuardError and most Node errors) or "error". */
export function errorReason(err: unknown): string {
  const code = err && typeof err === "object" ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" && code !== "" ? reasonCode(code) : "error";
}
