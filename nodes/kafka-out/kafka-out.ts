/**
 * kafka-out: records -> Kafka through the shared producer of a kafka-broker config node.
 * Thin glue: mapping in lib/sinks/kafka-message.ts, batching/retry in lib/sinks/writer.ts.
 *
 * Output 1: the input msg once its records are safe: in the disk spool (store "disk", the default;
 *           the spool sends them on and keeps them until the broker acknowledged them, acks = all),
 *           or acknowledged by the broker (store "memory"); msg.kafka = { topic, topics, count }.
 * Output 2: the records that were rejected: msg.payload = the rejected input records,
 *           msg.rejected = [{ index, code, reason }], msg.topic unchanged.
 * done() after the acknowledgement; done(err) when a record was rejected, the send failed for good
 * or the backlog dropped the records.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { LineGuardError, errorMessage } from "../../lib/errors";
import { redact } from "../../lib/redact";
import { summariseRejections } from "../../lib/record";
import { kafkaItemSerializer } from "../../lib/sinks/spool-serializers";
import { BatchWriter } from "../../lib/sinks/writer";
import { KafkaItem, KafkaTransport, SharedProducer, mapMessage } from "../../lib/sinks/kafka";
import { Send, onInput } from "../shared/input";
import { StatusThrottle, statusBusy, statusError, statusOk } from "../shared/status";
import { SinkSpool, openSinkSpool } from "../shared/sink-spool";
import type { KafkaBrokerApi } from "../kafka-broker/config";
import { KafkaOutSettings, kafkaOutConfig, kafkaOutSettings } from "./config";
import type { KafkaOutConfig } from "./types";

export = function (RED: NodeAPI): void {
  function KafkaOutNode(this: Node, def: NodeDef & Partial<KafkaOutConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<KafkaOutConfig>): void {
    const cfg = kafkaOutConfig(def);
    const broker = (cfg.broker ? RED.nodes.getNode(cfg.broker) : null) as (Node & KafkaBrokerApi) | null;
    const secrets = (): string[] => broker?.secrets?.() ?? [];
    const clean = (text: string): string => redact(text, secrets());

    // Setup problems: every message fails with the reason, the status says it.
    let setupError: string | undefined;
    let settings: KafkaOutSettings | undefined;
    if (!broker) {
      setupError = RED._("lineguard.errors.noConfig");
    } else if (broker.configError) {
      setupError = RED._("kafka-out.errors.brokerConfig", { error: broker.configError });
    } else {
      try {
        settings = kafkaOutSettings(cfg);
      } catch (err) {
        setupError = RED._("kafka-out.errors.badConfig", { error: clean(errorMessage(err)) });
      }
    }
    if (setupError || !settings || !broker) {
      const text = setupError ?? RED._("lineguard.errors.noConfig");
      node.status(statusError(broker ? RED._("kafka-out.status.badConfig") : RED._("lineguard.status.noConfig")));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }
    const s = settings;

    const status = new StatusThrottle(node, 500);
    let ready = false;
    let closing = false;
    let stickyError: string | undefined;
    let rejectedTotal = 0;

    let shared: SharedProducer;
    try {
      shared = broker.registerProducer(node.id, () => {
        if (ready) render();
      });
    } catch (err) {
      const text = clean(errorMessage(err));
      node.status(statusError(text));
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }

    let spool: SinkSpool<KafkaItem>;
    try {
      spool = openSinkSpool<KafkaItem>(RED, node, "kafka-out", {
        settings: s.spool,
        policy: s.backlogPolicy,
        maxItems: s.maxBacklog,
        lingerMs: s.lingerMs,
        serializer: kafkaItemSerializer(),
      });
    } catch (err) {
      broker.deregisterProducer(node.id);
      const text = clean(errorMessage(err));
      node.status(statusError(text));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }

    const transport = new KafkaTransport(shared, { compression: s.compression });
    const writer = new BatchWriter<KafkaItem>({
      transport,
      backlog: spool.backlog,
      batchSize: s.batchSize,
      batchBytes: s.batchBytes,
      lingerMs: s.lingerMs,
      completeOn: spool.completeOn,
    });
    spool.attach(writer);

    const connText = (state: "connecting" | "connected" | "disconnected"): string => RED._(`lineguard.status.${state}`);

    function render(): void {
      if (closing) return;
      const st = writer.stats();
      const parts = spool.statusParts(st);
      const backlog = parts.length > 0 ? ` · ${parts.join(" · ")}` : "";
      const conn = shared.state;
      if (conn === "error") {
        status.set(statusError(RED._("lineguard.status.authFailed"), secrets()));
      } else if (stickyError !== undefined) {
        status.set(statusError(stickyError, secrets()));
      } else if (conn === "disconnected" || writer.state === "disconnected") {
        status.set(statusError(`${connText("disconnected")}${backlog}`));
      } else if (conn === "connecting" || writer.state === "connecting") {
        status.set(statusBusy(`${connText("connecting")}${backlog}`));
      } else {
        const sent = st.pending === 0 && st.sent > 0 ? ` · ${RED._("lineguard.status.sent", { count: st.sent })}` : "";
        status.set(statusOk(`${connText("connected")}${backlog || sent}`));
      }
    }

    // Per-message events (accepted, sent) redraw at most every 250 ms; state changes at once.
    let renderTimer: NodeJS.Timeout | undefined;
    const renderSoon = (): void => {
      if (renderTimer || closing) return;
      renderTimer = setTimeout(() => {
        renderTimer = undefined;
        render();
      }, 250);
    };
    const onState = (): void => render();
    const onSent = (): void => {
      stickyError = undefined;
      renderSoon();
    };
    const onFailed = (err: Error, batch: KafkaItem[]): void => {
      const code = (err as LineGuardError).code;
      stickyError = code === "auth-failed" ? RED._("lineguard.status.authFailed") : clean(err.message);
      render();
      if (spool.completeOn === "accept") {
        // The messages were done when the spool took them: the broker's final refusal reaches
        // Catch nodes here, with the refused records, so a flow can keep them elsewhere.
        const failed = batch.map((it) => ({
          topic: it.topic,
          key: it.key?.toString() ?? null,
          value: it.value.toString(),
        }));
        node.error(clean(err.message), {
          payload: failed,
          error: { message: clean(err.message), code },
        } as NodeMessage);
      }
    };
    const wake = (): void => writer.retryNow();
    writer.on("state", onState);
    writer.on("sent", onSent);
    writer.on("accepted", renderSoon);
    writer.on("failed", onFailed);
    shared.on("reachable", wake);
    writer.start();
    ready = true;
    render();

    function handle(msg: NodeMessageInFlow, send: Send): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const mapped = mapMessage(msg, {
          ...s,
          topicBlocked: (t) => shared.topicBlocked(t),
        });
        let rejection: Error | undefined;
        spool.metrics.recordsIn(mapped.total);
        if (mapped.rejected.length > 0) {
          rejectedTotal += mapped.rejected.length;
          for (const r of mapped.rejected) spool.metrics.rejected(1, r.code);
          const inputs = mapped.rejected.map((r) => r.input);
          // Not deep-cloned here: send() clones (and a message too deep to clone still ends with its reason).
          const out2 = { ...msg, payload: inputs } as NodeMessage;
          out2.rejected = mapped.rejected.map(({ index, code, reason }) => ({ index, code, reason }));
          send([null, out2]);
          const summary = clean(summariseRejections(mapped.rejected, mapped.total));
          rejection = new LineGuardError("rejected", summary);
          stickyError = `${RED._("lineguard.status.rejected", { count: rejectedTotal })}: ${summary}`;
          render();
        }
        if (mapped.items.length === 0) {
          reject(rejection ?? new Error(RED._("kafka-out.errors.nothingToSend")));
          return;
        }
        writer.accept(mapped.items, (err) => {
          if (err) {
            // Batch failures show through the writer's "failed" event; dropped/refused/closed
            // messages leave the status to the connection ("disconnected · backlog N").
            const text = clean(err.message) + (rejection ? `; ${rejection.message}` : "");
            reject(new LineGuardError((err as LineGuardError).code ?? "error", text));
            return;
          }
          msg.kafka = { topic: mapped.topics[0], topics: mapped.topics, count: mapped.items.length };
          send([msg, null]);
          if (rejection) reject(rejection);
          else resolve();
        });
      });
    }

    onInput(node, handle, { errorStatus: false });

    node.on("close", (removed: boolean, done: () => void) => {
      closing = true;
      shared.off("reachable", wake);
      if (renderTimer) clearTimeout(renderTimer);
      status.stop();
      let timer: NodeJS.Timeout | undefined;
      Promise.race([
        writer.close(),
        new Promise<void>((r) => {
          timer = setTimeout(r, 10_000);
        }),
      ])
        .catch(() => undefined)
        .then(() => {
          if (timer) clearTimeout(timer);
          writer.removeAllListeners();
          broker.deregisterProducer(node.id);
          spool.closed(removed);
          done();
        });
    });
  }

  RED.nodes.registerType("kafka-out", KafkaOutNode);
};
