/**
 * opcua in: subscribes to OPC UA variables on the shared session of an opcua-endpoint config node
 * and emits LineGuard records. Thin glue: conversion, grouping, browsing and the subscription
 * manager live in lib/opcua/.
 *
 * Output 1: records (msg.topic = source id, msg.payload = record), one per change or one per
 *           source per grouping window.
 * Output 2: events with machine-readable reasons, msg.event =
 *           "gap"      (msg.topic = source, payload {from, to, reason}) after a reconnect,
 *           "rejected" (payload {code, nodeId, tag, reason}) a value that is no record value,
 *           "item-error" (payload {code, nodeId, reason}) a node id the server refused.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { DataValue } from "node-opcua";
import { errorMessage } from "../../lib/errors";
import { qualityOf, timestampOf, toTagValue } from "../../lib/opcua/convert";
import type { Gap, ItemError, OpcuaConnection, OpcuaState } from "../../lib/opcua/connection";
import { ChangeGrouper } from "../../lib/opcua/group";
import { MonitoredVariable, resolveVariables } from "../../lib/opcua/items";
import { redact } from "../../lib/redact";
import { toPayload } from "../../lib/record";
import { StatusThrottle, statusBusy, statusError, statusOk } from "../shared/status";
import type { OpcuaEndpointApi } from "../opcua-endpoint/config";
import { OpcuaInSettings, isNumericType, opcuaInConfig, opcuaInSettings } from "./config";
import type { OpcuaInConfig } from "./types";

export = function (RED: NodeAPI): void {
  function OpcuaInNode(this: Node, def: NodeDef & Partial<OpcuaInConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<OpcuaInConfig>): void {
    const cfg = opcuaInConfig(def);
    const ep = (cfg.endpoint ? RED.nodes.getNode(cfg.endpoint) : null) as (Node & OpcuaEndpointApi) | null;
    const secrets = (): string[] => ep?.secrets?.() ?? [];
    const clean = (t: string): string => redact(t, secrets());

    let settings: OpcuaInSettings | undefined;
    let setupError: string | undefined;
    if (!ep) setupError = RED._("lineguard.errors.noConfig");
    else if (ep.configError) setupError = RED._("opcua-in.errors.endpointConfig", { error: ep.configError });
    else {
      try {
        settings = opcuaInSettings(cfg);
      } catch (err) {
        setupError = RED._("opcua-in.errors.badConfig", { error: clean(errorMessage(err)) });
      }
    }
    if (setupError || !settings || !ep) {
      node.status(statusError(ep ? RED._("opcua-in.status.badConfig") : RED._("lineguard.status.noConfig")));
      node.error(setupError ?? RED._("lineguard.errors.noConfig"));
      return;
    }
    const s = settings;
    const endpoint = ep;
    const status = new StatusThrottle(node, 500);
    let closing = false;
    let items: MonitoredVariable[] | undefined;
    let monitored = 0;
    let failed = 0;
    let resolving = false;
    const reported = new Map<string, string>();
    let lastError: string | undefined;

    const grouper = new ChangeGrouper(s.output === "group" ? s.groupWindow : 0, (rec) => {
      if (!closing) node.send([{ topic: rec.source, payload: toPayload(rec) }, null]);
    });

    let conn: OpcuaConnection;
    try {
      conn = endpoint.register(node.id);
    } catch (err) {
      node.status(statusError(clean(errorMessage(err))));
      node.error(clean(errorMessage(err)));
      return;
    }

    function showSubscribed(): void {
      const extra = failed > 0 ? ` · ${RED._("opcua-in.status.failed", { count: failed })}` : "";
      if (monitored === 0 && failed > 0) status.set(statusError(RED._("opcua-in.status.noItems")));
      else status.set(statusOk(`${RED._("opcua-in.status.subscribed", { count: monitored })}${extra}`), true);
    }

    function onState(st: OpcuaState, detail?: string): void {
      if (closing) return;
      switch (st) {
        case "connected":
          lastError = undefined;
          if (items) showSubscribed();
          else status.set(statusBusy(RED._("opcua-in.status.browsing")), true);
          break;
        case "connecting":
          status.set(statusBusy(RED._("lineguard.status.connecting")), true);
          break;
        case "reconnecting":
          status.set(statusBusy(RED._("opcua-in.status.reconnecting")), true);
          break;
        case "error": {
          const text = clean(detail ?? RED._("lineguard.status.error", { error: "" }));
          status.set(statusError(text));
          // Catch nodes see each distinct connection error once (not every retry).
          if (text !== lastError) {
            lastError = text;
            node.error(RED._("opcua-in.errors.connection", { error: text }), {
              topic: endpoint.endpointUrl,
              payload: { code: "connection", reason: text },
            });
          }
          break;
        }
        default:
          status.set(statusError(RED._("lineguard.status.disconnected")));
      }
    }

    function onGap(g: Gap): void {
      if (closing || !items) return;
      const sources = [...new Set(items.map((i) => i.source))];
      for (const src of sources) {
        node.send([null, { topic: src, event: "gap", payload: { from: g.from, to: g.to, reason: g.reason } }]);
      }
    }

    function reportOnce(key: string, code: string, msg: Record<string, unknown>): void {
      if (reported.get(key) === code) return;
      reported.set(key, code);
      node.send([null, msg]);
    }

    function onChange(index: number, dv: DataValue): void {
      const it = items?.[index];
      if (!it || closing) return;
      const v = toTagValue(dv);
      const quality = qualityOf(dv.statusCode);
      if (!v.ok) {
        reportOnce(it.nodeId, v.code, {
          topic: it.source,
          event: "rejected",
          payload: { code: v.code, nodeId: it.nodeId, tag: it.tag, quality, reason: v.reason },
        });
        return;
      }
      reported.delete(it.nodeId);
      grouper.add({ source: it.source, tag: it.tag, value: v.value, quality, ts: timestampOf(dv) });
    }

    function onItemErrors(errors: { nodeId: string; reason: string }[], code: string): void {
      for (const e of errors) {
        const text = RED._("opcua-in.errors.item", { nodeId: e.nodeId, reason: clean(e.reason) });
        node.error(text, { topic: e.nodeId, payload: { code, nodeId: e.nodeId, reason: clean(e.reason) } });
        node.send([
          null,
          { topic: e.nodeId, event: "item-error", payload: { code, nodeId: e.nodeId, reason: clean(e.reason) } },
        ]);
      }
    }

    async function resolveAndSubscribe(): Promise<void> {
      if (items || resolving || closing || !conn.session) return;
      resolving = true;
      status.set(statusBusy(RED._("opcua-in.status.browsing")), true);
      try {
        const r = await conn.withSession((session) =>
          resolveVariables(session, {
            nodeIds: s.nodeIds,
            ...(s.folder ? { folder: s.folder } : {}),
            maxDepth: s.maxDepth,
            maxVariables: s.maxVariables,
            source: { rule: s.sourceRule, source: s.source },
          }),
        );
        if (closing) return;
        if (r.truncated) node.warn(RED._("opcua-in.errors.truncated", { count: r.items.length }));
        onItemErrors(r.errors, "bad-node");
        failed = r.errors.length;
        items = r.items;
        if (items.length === 0) {
          monitored = 0;
          status.set(statusError(RED._("opcua-in.status.noItems")));
          return;
        }
        const resolveFailed = r.errors.length;
        await conn.subscribe(
          node.id,
          {
            publishingInterval: s.publishingInterval,
            samplingInterval: s.samplingInterval,
            queueSize: s.queueSize,
            deadband: s.deadband,
            deadbandValue: s.deadbandValue,
            nodeIds: items.map((i) => i.nodeId),
            numeric: items.map((i) => isNumericType(i.dataType)),
          },
          {
            onChange,
            onReady: (n: number, errs: ItemError[]) => {
              if (closing) return;
              monitored = n;
              failed = resolveFailed + errs.length;
              onItemErrors(errs, "monitor-failed");
              showSubscribed();
            },
            onError: (err: Error) => {
              if (closing) return;
              const text = clean(errorMessage(err));
              status.set(statusError(text));
              node.error(RED._("opcua-in.errors.subscribe", { error: text }), {
                payload: { code: "subscribe-failed", reason: text },
              });
            },
          },
        );
      } catch (err) {
        if (closing) return;
        const text = clean(errorMessage(err));
        status.set(statusError(text));
        node.error(RED._("opcua-in.errors.browse", { error: text }), {
          payload: { code: "browse-failed", reason: text },
        });
        // try again on the next (re)connection
        items = undefined;
      } finally {
        resolving = false;
      }
    }

    const onReady = (): void => void resolveAndSubscribe();
    conn.on("state", onState);
    conn.on("gap", onGap);
    conn.on("ready", onReady);
    onState(conn.state, conn.detail);
    if (conn.state === "connected") void resolveAndSubscribe();

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      status.stop();
      grouper.stop();
      conn.off("state", onState);
      conn.off("gap", onGap);
      conn.off("ready", onReady);
      let timer: NodeJS.Timeout | undefined;
      Promise.race([
        conn.unsubscribe(node.id).catch(() => undefined),
        new Promise<void>((r) => {
          timer = setTimeout(r, 3000);
        }),
      ]).then(() => {
        if (timer) clearTimeout(timer);
        endpoint.deregister(node.id);
        done();
      });
    });
  }

  RED.nodes.registerType("opcua-in", OpcuaInNode);
};
