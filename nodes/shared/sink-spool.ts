/**
 * The store-and-forward part of a sink node (kafka-out, influxdb-out), in one place: opens the
 * node's backlog (disk spool under the user dir, or memory), reports what a restart left, feeds
 * the Prometheus metrics from the writer's events, builds the backlog part of the status and
 * tidies up when the node is removed.
 */
import type { Node, NodeAPI } from "node-red";
import { errorMessage, LineGuardError } from "../../lib/errors";
import type { NodeMetrics } from "../../lib/metrics";
import type { Backlog, FullPolicy, SinkItem } from "../../lib/sinks/backlog";
import { SpoolLanes } from "../../lib/sinks/lanes";
import type { SpoolSerializer } from "../../lib/sinks/spool";
import type { BatchWriter, CompleteOn, WriterState, WriterStats } from "../../lib/sinks/writer";
import { nodeMetrics } from "./metrics";
import {
  DrainRate,
  RuntimeSettings,
  SpoolSettings,
  backlogParts,
  formatCount,
  openBacklog,
  removeIfEmpty,
  spoolDirFor,
  spoolRoot,
} from "./spool";

export interface SinkSpoolOptions<T> {
  settings: SpoolSettings;
  policy: FullPolicy;
  /** Bound of the memory backlog, records. */
  maxItems: number;
  lingerMs: number;
  serializer?: SpoolSerializer<T>;
}

export interface SinkSpool<T extends SinkItem> {
  readonly backlog: Backlog<T>;
  readonly completeOn: CompleteOn;
  readonly dir: string | undefined;
  readonly metrics: NodeMetrics;
  /** Follow the writer: metrics (out, latency, reconnects, drops) and the drain rate. */
  attach(writer: BatchWriter<T>): void;
  /** Backlog, drain rate and drops for the status text. */
  statusParts(st: WriterStats): string[];
  /** After writer.close(): remove an empty spool of a deleted node, drop the metrics. */
  closed(removed: boolean): void;
}

export function openSinkSpool<T extends SinkItem>(
  RED: NodeAPI,
  node: Node,
  type: string,
  opts: SinkSpoolOptions<T>,
): SinkSpool<T> {
  const disk = opts.settings.mode === "disk";
  const dir = disk ? spoolDirFor(spoolRoot(RED.settings as RuntimeSettings), node.id) : undefined;
  let backlog: Backlog<T>;
  try {
    backlog = openBacklog<T>({ ...opts, dir: dir ?? "", maxItems: opts.maxItems });
  } catch (err) {
    throw new LineGuardError(
      "spool-open",
      RED._("lineguard.errors.spoolOpen", { dir: dir ?? "", error: errorMessage(err) }),
    );
  }
  const lanes = backlog instanceof SpoolLanes ? (backlog as SpoolLanes<T>) : undefined;
  if (lanes) {
    if (lanes.recovery.truncatedBytes > 0) {
      node.warn(RED._("lineguard.log.spoolRepaired", { dir: lanes.dir, bytes: lanes.recovery.truncatedBytes }));
    }
    if (lanes.length > 0) {
      node.log(RED._("lineguard.log.spoolRecovered", { dir: lanes.dir, count: formatCount(lanes.length) }));
    }
  }

  const metrics = nodeMetrics(RED, node, type);
  const drain = new DrainRate(10_000);
  let timer: NodeJS.Timeout | undefined;

  metrics.spoolProbe(() => {
    const oldest = backlog.oldestTs;
    return {
      records: backlog.length,
      bytes: lanes ? lanes.laneStats().frameBytes : backlog.bytes,
      oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    };
  });

  return {
    backlog,
    completeOn: disk ? "accept" : "ack",
    dir,
    metrics,
    attach(writer: BatchWriter<T>): void {
      let down = false;
      let dropped = 0;
      writer.on("sent", (n: number) => metrics.recordsOut(n));
      writer.on("latency", (ms: number) => metrics.sendLatency(ms / 1000));
      writer.on("state", (state: WriterState) => {
        if (state === "disconnected") down = true;
        else if (state === "connected" && down) {
          down = false;
          metrics.reconnect();
        }
      });
      writer.on("accepted", () => {
        const d = writer.stats().dropped;
        if (d > dropped) metrics.dropped(d - dropped);
        dropped = d;
      });
      drain.sample(0);
      timer = setInterval(() => drain.sample(writer.stats().sent), 1000);
      timer.unref();
    },
    statusParts(st: WriterStats): string[] {
      return backlogParts(
        { pending: st.pending, pendingBytes: st.pendingBytes, oldestMs: st.oldestMs, dropped: st.dropped },
        st.pending > 0 ? drain.rate() : 0,
        (key, subs) => RED._(key, subs),
      );
    },
    closed(removed: boolean): void {
      if (timer) clearInterval(timer);
      metrics.spoolProbe(undefined);
      metrics.close();
      if (removed && dir) {
        try {
          if (!removeIfEmpty(dir, backlog.length)) {
            node.warn(RED._("lineguard.log.spoolKept", { dir, count: formatCount(backlog.length) }));
          }
        } catch (err) {
          node.warn(errorMessage(err));
        }
      }
    },
  };
}
