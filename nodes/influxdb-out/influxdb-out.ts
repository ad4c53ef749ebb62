/**
 * influxdb-out: writes LineGuard records to InfluxDB (2.x, or 1.8 through its v2 API).
 * Thin glue: records -> lines (lib/sinks/line-protocol), batching/backlog/retry (lib/sinks/writer),
 * HTTP (lib/sinks/influx), store-and-forward (nodes/shared/sink-spool). Output 1: the message once
 * its points are safe: in the disk spool (store "disk", the default; sent on and kept until InfluxDB
 * answered 204) or written (store "memory"); output 2: the records that were rejected, with reasons.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { LineGuardError, errorMessage } from "../../lib/errors";
import { redact } from "../../lib/redact";
import { summariseRejections } from "../../lib/record";
import { InfluxError, InfluxTransport, prepareMessage, resolveBucket } from "../../lib/sinks/influx";
import { InfluxItem, LineMapper } from "../../lib/sinks/line-protocol";
import { influxItemSerializer } from "../../lib/sinks/spool-serializers";
import { BatchWriter, WriterState } from "../../lib/sinks/writer";
import type { InfluxConfigRuntime } from "../influxdb-config/config";
import { Send, onInput } from "../shared/input";
import { StatusThrottle, statusBusy, statusError, statusIdle, statusOk } from "../shared/status";
import { SinkSpool, openSinkSpool } from "../shared/sink-spool";
import { migrateOut, outSettings } from "./config";
import type { InfluxOutProps } from "./types";

type Def = NodeDef & Partial<InfluxOutProps>;

/** Bytes per write request at most (InfluxDB's default max body is 25 MB). */
const BATCH_BYTES = 8 * 1024 * 1024;
const CLOSE_TIMEOUT_MS = 3000;

export = function (RED: NodeAPI): void {
  function InfluxOutNode(this: Node, def: Def): void {
    RED.nodes.createNode(this, def);

    const props = migrateOut(def);
    const cfg = RED.nodes.getNode(props.influxdb) as InfluxConfigRuntime | null;
    const secrets = (): readonly string[] => cfg?.secrets() ?? [];
    const throttle = new StatusThrottle(this, 500);
    let writer: BatchWriter<InfluxItem> | undefined;
    let spool: SinkSpool<InfluxItem> | undefined;
    let mapper: LineMapper | undefined;
    let maxBatch = 100_000;
    let setupError: Error | undefined;
    let rejectedCount = 0;
    /** The last error that put the writer into "failed" or "disconnected". */
    let lastError: unknown;

    const t = (key: string, subs?: Record<string, string | number>): string => RED._(key, subs);

    let batchSize = 5000;
    /** Between losing the server and reaching it again (the writer passes through "connecting"). */
    let down = false;

    const render = (immediate = false): void => {
      if (!writer) return;
      const st = writer.stats();
      const connected = st.state === "connected";
      const extras: string[] = [];
      if (rejectedCount > 0) extras.push(t("lineguard.status.rejected", { count: rejectedCount }));
      if (connected && st.sent > 0) extras.push(t("lineguard.status.sent", { count: st.sent }));
      // Connected, a part batch always waits for the flush interval: show the backlog only when
      // more than a batch waits (falling behind); otherwise whenever something waits.
      if (st.pending > 0 && (!connected || st.pending >= batchSize)) {
        extras.push(...(spool?.statusParts(st) ?? []));
      } else if (st.dropped > 0) {
        extras.push(t("lineguard.status.dropped", { count: st.dropped }));
      }
      const join = (head: string): string => [head, ...extras].join(" · ");
      const sec = secrets();
      let s: NodeStatus;
      switch (st.state) {
        case "connected":
          s = statusOk(join(t("lineguard.status.connected")), sec);
          break;
        case "connecting":
        case "disconnected":
          // Retrying on its own: busy, not an error (the backlog keeps accepting).
          s = statusBusy(join(t(down ? "lineguard.status.disconnected" : "lineguard.status.connecting")), sec);
          break;
        case "failed":
          s = statusError(join(failureText(lastError)), sec);
          break;
        default:
          s = statusIdle(t("lineguard.status.closed"), sec);
      }
      throttle.set(s, immediate);
    };

    const failureText = (err: unknown): string => {
      if (err instanceof InfluxError && err.code === "auth") return t("lineguard.status.authFailed");
      return t("lineguard.status.error", { error: redact(errorMessage(err), secrets()) });
    };

    try {
      if (!cfg) throw new LineGuardError("config", t("lineguard.errors.noConfig"));
      if (cfg.configError || !cfg.conn) {
        throw new LineGuardError("config", t("influxdb-out.errors.config", { error: errorMessage(cfg.configError) }));
      }
      const settings = outSettings(props);
      mapper = new LineMapper(settings.mapping);
      batchSize = settings.batchSize;
      maxBatch = settings.maxBacklog;
      const conn = cfg.conn;
      const bucket = resolveBucket(conn, props.bucket);
      const client = cfg.connection.register(this.id, (state) => {
        // Another sink (or the config node's probe) found the server back: retry now.
        if (state === "connected" && writer?.state === "disconnected") writer.retryNow();
      });
      const transport = new InfluxTransport(client, {
        org: conn.org,
        bucket,
        precision: settings.mapping.precision,
        gzipThreshold: settings.gzipThreshold,
      });
      let sp: SinkSpool<InfluxItem>;
      try {
        sp = openSinkSpool<InfluxItem>(RED, this, "influxdb-out", {
          settings: settings.spool,
          policy: settings.backlogPolicy,
          maxItems: settings.maxBacklog,
          lingerMs: settings.lingerMs,
          serializer: influxItemSerializer(),
        });
      } catch (err) {
        cfg.connection.deregister(this.id);
        throw err;
      }
      spool = sp;
      const w = new BatchWriter<InfluxItem>({
        transport,
        backlog: sp.backlog,
        batchSize: settings.batchSize,
        batchBytes: BATCH_BYTES,
        lingerMs: settings.lingerMs,
        closeTimeoutMs: CLOSE_TIMEOUT_MS,
        completeOn: sp.completeOn,
      });
      writer = w;
      sp.attach(w);
      w.on("state", (state: WriterState, detail?: string) => {
        if (state === "connected") {
          if (down) this.log(t("influxdb-out.log.reconnected"));
          down = false;
        } else if (state === "disconnected") {
          if (!down) this.warn(t("influxdb-out.log.disconnected", { error: redact(detail ?? "", secrets()) }));
          down = true;
        } else if (state === "failed") {
          down = false;
          return; // rendered by the "failed" event, which carries the error
        }
        render(true);
      });
      // Reachability is shared with the other sinks of this server: only a network failure says
      // "unreachable" (a 5xx or 429 keeps each writer on its own backoff), only a write says "back".
      w.on("retry", (err: unknown) => {
        lastError = err;
        if (err instanceof InfluxError && (err.code === "network" || err.code === "timeout")) {
          cfg.reachability.reportDown(err.message);
        }
      });
      w.on("failed", (err: unknown, batch: InfluxItem[]) => {
        lastError = err;
        render(true);
        if (sp.completeOn === "accept") {
          // The messages were done when the spool took them: InfluxDB's final refusal reaches Catch
          // nodes here, with the refused lines.
          const text = redact(errorMessage(err), secrets());
          this.error(text, { payload: batch.map((it) => it.line) } as NodeMessage);
        }
      });
      w.on("sent", () => {
        cfg.reachability.reportUp();
        render();
      });
      w.on("accepted", () => render());
      w.start();
      render(true);
    } catch (err) {
      setupError = err instanceof Error ? err : new Error(String(err));
      this.status(statusError(setupError.message, secrets()));
    }

    const handle = (msg: NodeMessageInFlow, send: Send): Promise<void> => {
      if (setupError || !writer || !mapper) throw setupError ?? new Error("not configured");
      const prep = prepareMessage(
        mapper,
        msg.payload,
        msg.topic,
        { measurement: msg.measurement, tags: msg.tags },
        { maxBatch },
      );
      let rejection: LineGuardError | undefined;
      spool?.metrics.recordsIn(prep.total);
      if (prep.rejected.length > 0) {
        rejectedCount += prep.rejected.length;
        for (const r of prep.rejected) spool?.metrics.rejected(1, r.code);
        // A batch refused as a whole ("too-large") carries no per-record input: return the batch.
        const whole = prep.rejected[0]!.code === "too-large";
        const out: NodeMessage = {
          ...msg,
          payload: whole ? msg.payload : prep.rejected.map((r) => r.input),
          rejected: prep.rejected.map((r) => ({ index: r.index, code: r.code, reason: r.reason })),
        };
        send([null, out]);
        rejection = new LineGuardError("rejected", summariseRejections(prep.rejected, prep.total));
      }
      if (prep.items.length === 0) throw rejection ?? new LineGuardError("rejected", "nothing to write");
      const w = writer;
      return new Promise<void>((resolve, reject) => {
        w.accept(prep.items, (err) => {
          if (err) {
            reject(
              new LineGuardError(err instanceof LineGuardError ? err.code : "write", redact(err.message, secrets())),
            );
            return;
          }
          send([msg, null]);
          if (rejection) reject(rejection);
          else resolve();
        });
      });
    };

    // Errors show through the throttle (not onInput's direct status), so that it knows the red
    // status is up and the next render replaces it.
    onInput(
      this,
      async (msg, send) => {
        try {
          await handle(msg, send);
        } catch (err) {
          throttle.set(statusError(errorMessage(err), secrets()));
          throw err;
        }
      },
      { secrets, errorStatus: false },
    );

    this.on("close", (removed: boolean, done: () => void) => {
      throttle.stop();
      const finish = (): void => {
        cfg?.connection.deregister(this.id);
        spool?.closed(removed);
        done();
      };
      if (writer) writer.close().then(finish, finish);
      else finish();
    });
  }

  RED.nodes.registerType("influxdb-out", InfluxOutNode);
};
