/**
 * kafka-in: a consumer-group member on the Kafka client of a kafka-broker config node.
 * Thin glue: decoding in lib/sinks/kafka-source.ts. Nodes with the same group id share the
 * partitions (scale-out). At-least-once: an offset is committed COMMIT_DELAY_MS after its message
 * was sent on (never on close), see docs/scale-out.md.
 *
 * Output 1: decoded messages (or one msg per kafkajs batch, payload = array).
 * Output 2: values that could not be decoded: msg.payload = raw text, msg.error = reason.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { Consumer, ConsumerCrashEvent, EachBatchPayload, EachMessagePayload } from "kafkajs";
import { errorMessage } from "../../lib/errors";
import { redact } from "../../lib/redact";
import { backoffDelay } from "../../lib/retry";
import { Decoded, KafkaMeta, classifyKafkaError, decodeMessage } from "../../lib/sinks/kafka";
import { StatusThrottle, statusBusy, statusError, statusOk } from "../shared/status";
import type { KafkaBrokerApi } from "../kafka-broker/config";
import { KafkaInSettings, kafkaInConfig, kafkaInSettings } from "./config";
import type { KafkaInConfig } from "./types";

type State = "connecting" | "connected" | "disconnected" | "error" | "closed";

/**
 * An offset is committed this long after its message was sent on. Node-RED closes every node of a flow
 * at once (stop, redeploy), dropping messages still between nodes; kafkajs' auto-commit had already
 * committed them, so a graceful stop lost the records in flight (test/integration/scale-out.test.ts).
 * Now the records read in the last second before a stop, a crash or a rebalance stay uncommitted and
 * the next owner of the partition reads them again (duplicates, never losses).
 */
const COMMIT_DELAY_MS = 1000;

export = function (RED: NodeAPI): void {
  function KafkaInNode(this: Node, def: NodeDef & Partial<KafkaInConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<KafkaInConfig>): void {
    const cfg = kafkaInConfig(def);
    const broker = (cfg.broker ? RED.nodes.getNode(cfg.broker) : null) as (Node & KafkaBrokerApi) | null;
    const secrets = (): string[] => broker?.secrets?.() ?? [];
    const clean = (text: string): string => redact(text, secrets());

    let settings: KafkaInSettings | undefined;
    let setupError: string | undefined;
    if (!broker) setupError = RED._("lineguard.errors.noConfig");
    else if (broker.configError) setupError = RED._("kafka-in.errors.brokerConfig", { error: broker.configError });
    else {
      try {
        settings = kafkaInSettings(cfg);
      } catch (err) {
        setupError = RED._("kafka-in.errors.badConfig", { error: clean(errorMessage(err)) });
      }
    }
    if (setupError || !settings || !broker) {
      node.status(statusError(broker ? RED._("kafka-in.status.badConfig") : RED._("lineguard.status.noConfig")));
      node.error(setupError ?? RED._("lineguard.errors.noConfig"));
      return;
    }
    const s = settings;
    const brokerNode = broker;

    const status = new StatusThrottle(node, 500);
    let state: State = "connecting";
    let detail: string | undefined;
    let consumer: Consumer | undefined;
    let closing = false;
    let restartTimer: NodeJS.Timeout | undefined;
    let attempt = 0;
    let received = 0;
    let decodeErrors = 0;
    /** Offsets (next to read) of messages sent on, oldest first, waiting for COMMIT_DELAY_MS. */
    let pending: Array<{ topic: string; partition: number; offset: string; at: number }> = [];
    let committing = false;

    function track(topic: string, partition: number, offset: string): void {
      pending.push({ topic, partition, offset: (BigInt(offset) + 1n).toString(), at: Date.now() });
    }

    const commitTimer = setInterval(() => {
      const c = consumer;
      if (closing || committing || !c || pending.length === 0) return;
      const now = Date.now();
      const due = new Map<string, { topic: string; partition: number; offset: string }>();
      while (pending.length > 0 && now - pending[0]!.at >= COMMIT_DELAY_MS) {
        const p = pending.shift()!;
        due.set(`${p.topic}\u0000${p.partition}`, { topic: p.topic, partition: p.partition, offset: p.offset });
      }
      if (due.size === 0) return;
      committing = true;
      // A failed commit (rebalance in progress, broker down) only means the records are read again.
      c.commitOffsets([...due.values()])
        .catch(() => undefined)
        .then(() => {
          committing = false;
        });
    }, 250);

    function render(): void {
      if (closing) return;
      const errs = decodeErrors > 0 ? ` · ${RED._("kafka-in.status.decodeErrors", { count: decodeErrors })}` : "";
      switch (state) {
        case "connected": {
          const n = received > 0 ? ` · ${RED._("kafka-in.status.received", { count: received })}` : "";
          status.set(statusOk(`${RED._("lineguard.status.connected")}${n}${errs}`));
          break;
        }
        case "connecting":
          status.set(statusBusy(RED._("lineguard.status.connecting")));
          break;
        case "disconnected":
          status.set(statusError(RED._("lineguard.status.disconnected")));
          break;
        case "error":
          status.set(statusError(detail ?? RED._("lineguard.status.error", { error: "" }), secrets()));
          break;
        default:
          break;
      }
    }

    // Per-message updates redraw at most every 250 ms; state changes at once.
    let renderTimer: NodeJS.Timeout | undefined;
    function renderSoon(): void {
      if (renderTimer || closing) return;
      renderTimer = setTimeout(() => {
        renderTimer = undefined;
        render();
      }, 250);
    }

    function setState(st: State, d?: string): void {
      state = st;
      detail = d;
      render();
    }

    function emit(d: Decoded): void {
      if (d.ok) {
        received++;
        node.send([{ topic: d.topic, payload: d.payload, kafka: d.kafka }, null]);
      } else {
        decodeErrors++;
        node.send([null, { topic: d.topic, payload: d.payload, error: d.error, kafka: d.kafka }]);
      }
    }

    async function eachMessage({ topic, partition, message }: EachMessagePayload): Promise<void> {
      if (closing) return;
      emit(decodeMessage(topic, partition, message, s.decode));
      track(topic, partition, message.offset);
      renderSoon();
    }

    async function eachBatch({ batch }: EachBatchPayload): Promise<void> {
      if (closing || batch.messages.length === 0) return;
      const payloads: unknown[] = [];
      const metas: KafkaMeta[] = [];
      const keys = new Set<string>();
      for (const m of batch.messages) {
        const d = decodeMessage(batch.topic, batch.partition, m, s.decode);
        if (!d.ok) {
          emit(d);
          continue;
        }
        payloads.push(d.payload);
        metas.push(d.kafka);
        keys.add(d.topic);
      }
      if (payloads.length > 0) {
        received += payloads.length;
        const msg: NodeMessage = {
          topic: keys.size === 1 ? [...keys][0] : batch.topic,
          payload: payloads,
          kafka: {
            topic: batch.topic,
            partition: batch.partition,
            firstOffset: metas[0]!.offset,
            lastOffset: metas[metas.length - 1]!.offset,
            count: payloads.length,
            messages: metas,
          },
        };
        node.send([msg, null]);
      }
      track(batch.topic, batch.partition, batch.messages[batch.messages.length - 1]!.offset);
      renderSoon();
    }

    function scheduleRestart(): void {
      if (closing || restartTimer) return;
      const delay = backoffDelay(attempt++);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        const old = consumer;
        consumer = undefined;
        void (old ? old.disconnect().catch(() => undefined) : Promise.resolve()).then(() => start());
      }, delay);
    }

    function failText(err: unknown): string {
      const e = classifyKafkaError(err, {
        allowAutoTopicCreation: brokerNode.allowAutoTopicCreation,
        topics: s.topics,
      });
      return e.code === "auth-failed" ? RED._("lineguard.status.authFailed") : clean(e.message);
    }

    // While the broker is down the consumer crashes every second or so: log each text once a minute.
    const warned = new Map<string, number>();
    function warnOnce(text: string): void {
      const t = Date.now();
      if ((warned.get(text) ?? -Infinity) > t - 60_000) return;
      if (warned.size > 50) warned.clear();
      warned.set(text, t);
      node.warn(text);
    }

    async function start(): Promise<void> {
      if (closing) return;
      setState("connecting");
      let c: Consumer;
      try {
        c = brokerNode.kafka().consumer({
          groupId: s.groupId,
          allowAutoTopicCreation: brokerNode.allowAutoTopicCreation,
          retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
          // A fetch waits at most this long for data; disconnect() waits for the running fetch,
          // so this also bounds how long a redeploy waits for the node to close.
          maxWaitTimeInMs: 1000,
          // After a broker restart the consumer rejoins under a new member id and the coordinator
          // waits for the old member until the rebalance timeout (kafkajs default 60 s): keep the
          // group timeouts short so consumption resumes within ~10 s.
          sessionTimeout: 10_000,
          rebalanceTimeout: 10_000,
          heartbeatInterval: 3000,
        });
      } catch (err) {
        setState("error", clean(errorMessage(err)));
        return;
      }
      consumer = c;
      c.on(c.events.GROUP_JOIN, () => {
        if (consumer !== c || closing) return;
        attempt = 0;
        // a (re)join: every partition is read again from its committed offset
        pending = [];
        setState("connected");
      });
      c.on(c.events.DISCONNECT, () => {
        if (consumer !== c || closing) return;
        setState("disconnected");
      });
      c.on(c.events.CRASH, (ev: ConsumerCrashEvent) => {
        if (consumer !== c || closing) return;
        const text = failText(ev.payload.error);
        warnOnce(RED._("kafka-in.errors.crash", { error: text }));
        setState("error", text);
        // kafkajs restarts by itself after retriable crashes; we restart after the others.
        if (!ev.payload.restart) scheduleRestart();
      });
      try {
        await c.connect();
        await c.subscribe({ topics: s.topics, fromBeginning: s.fromBeginning });
        // autoCommit off: kafkajs would commit what was sent on but may still be between nodes
        await c.run(s.output === "batch" ? { eachBatch, autoCommit: false } : { eachMessage, autoCommit: false });
      } catch (err) {
        if (consumer !== c || closing) return;
        const text = failText(err);
        setState("error", text);
        warnOnce(RED._("kafka-in.errors.start", { error: text }));
        scheduleRestart();
      }
    }

    void start();

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      clearInterval(commitTimer);
      status.stop();
      if (renderTimer) clearTimeout(renderTimer);
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      const c = consumer;
      consumer = undefined;
      let timer: NodeJS.Timeout | undefined;
      Promise.race([
        c ? c.disconnect().catch(() => undefined) : Promise.resolve(),
        new Promise<void>((r) => {
          timer = setTimeout(r, 5000);
        }),
      ]).then(() => {
        if (timer) clearTimeout(timer);
        done();
      });
    });
  }

  RED.nodes.registerType("kafka-in", KafkaInNode);
};
