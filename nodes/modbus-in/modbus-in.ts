/**
 * modbus in: polls a register map on the shared connection of a modbus-device config node and emits
 * LineGuard records. Thin glue: map checks, decoding, coalescing, the queue and reconnects live in
 * lib/modbus/.
 *
 * Input (optional): any message triggers one poll (the only polls when the interval is 0).
 * Output 1: records, msg.topic = source id, msg.payload = {source, ts, values, quality?}.
 * Output 2: msg.event = "modbus-error": payload {ts, errors: [{code, reason, area, address, count,
 *           tags, modbusCode?}]}, each error once until it clears; msg.event = "disconnected":
 *           payload {reason} when the device connection is lost (once per outage).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { errorMessage } from "../../lib/errors";
import type { ModbusClient } from "../../lib/modbus/client";
import { ModbusMapError } from "../../lib/modbus/map";
import { type PollError, ModbusPoller } from "../../lib/modbus/poller";
import type { ConnState } from "../shared/connection";
import { type Send, onInput } from "../shared/input";
import { StatusThrottle, statusBusy, statusError, statusOk } from "../shared/status";
import type { ModbusDeviceApi } from "../modbus-device/config";
import { ModbusInSettings, modbusInConfig, modbusInSettings } from "./config";
import type { ModbusInConfig } from "./types";

/** Errors that say "the device is not there": shown by the connection state, not per poll. */
const CONNECTION_CODES = new Set(["not-connected", "closed"]);

export = function (RED: NodeAPI): void {
  function ModbusInNode(this: Node, def: NodeDef & Partial<ModbusInConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<ModbusInConfig>): void {
    const cfg = modbusInConfig(def);
    const dev = (cfg.device ? RED.nodes.getNode(cfg.device) : null) as (Node & ModbusDeviceApi) | null;

    let settings: ModbusInSettings | undefined;
    let setupError: string | undefined;
    let statusText = RED._("modbus-in.status.badConfig");
    if (!dev) {
      setupError = RED._("lineguard.errors.noConfig");
      statusText = RED._("lineguard.status.noConfig");
    } else if (dev.configError) setupError = RED._("modbus-in.errors.deviceConfig", { error: dev.configError });
    else {
      try {
        settings = modbusInSettings(cfg);
      } catch (err) {
        if (err instanceof ModbusMapError) {
          setupError = `${RED._("modbus-in.errors.badMap")}: ${err.issues.join("; ")}`;
          statusText = `${RED._("modbus-in.status.badMap")}: ${err.issues[0] ?? ""}`;
        } else setupError = `${RED._("modbus-in.errors.badConfig")}: ${errorMessage(err)}`;
      }
    }
    if (setupError || !settings || !dev) {
      const text = setupError ?? RED._("lineguard.errors.noConfig");
      node.status(statusError(statusText));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }
    const s = settings;
    const device = dev;
    const source = s.topic !== "" ? s.topic : device.deviceName;
    const status = new StatusThrottle(node, 500);
    let closing = false;
    let busy = false;
    let ok = 0;
    let failed = 0;
    let skipped = 0;
    let wasConnected = false;
    let reportedOutage = false;
    let active = new Set<string>();

    let client: ModbusClient;
    try {
      client = device.register(node.id, onState);
    } catch (err) {
      node.status(statusError(errorMessage(err)));
      node.error(errorMessage(err));
      return;
    }
    const poller = new ModbusPoller(client, s.map, {
      maxSpan: s.maxSpan,
      maxGap: s.maxGap,
      ...(s.unitId !== undefined ? { unitId: s.unitId } : {}),
    });

    function counts(): string {
      const st = client.stats();
      const drops = st.dropped + st.refused;
      const base = RED._("modbus-in.status.polls", { ok, errors: failed, drops });
      return skipped > 0 ? `${base} · ${RED._("modbus-in.status.skipped", { count: skipped })}` : base;
    }

    function onState(st: ConnState, detail?: string): void {
      if (closing) return;
      switch (st) {
        case "connected":
          wasConnected = true;
          reportedOutage = false;
          status.set(statusOk(ok + failed > 0 ? counts() : RED._("lineguard.status.connected")), true);
          break;
        case "connecting":
          status.set(statusBusy(RED._("lineguard.status.connecting")), true);
          break;
        case "closed":
          break;
        default: {
          const reason = detail ?? RED._("lineguard.status.disconnected");
          status.set(statusError(RED._("modbus-in.status.disconnected", { reason })));
          // once per outage (not every retry): output 2 and Catch nodes
          if (!reportedOutage) {
            reportedOutage = true;
            const msg = { topic: source, event: "disconnected", payload: { reason, wasConnected } };
            node.send([null, msg]);
            node.error(RED._("modbus-in.errors.connection", { error: reason }), msg);
          }
        }
      }
    }

    function fresh(errors: PollError[]): PollError[] {
      const now = new Set<string>();
      const out: PollError[] = [];
      for (const e of errors) {
        if (CONNECTION_CODES.has(e.code)) continue;
        const key = `${e.code}|${e.area}|${e.address}|${e.count}|${e.modbusCode ?? ""}`;
        now.add(key);
        if (!active.has(key)) out.push(e);
      }
      active = now;
      return out;
    }

    async function pollOnce(send: Send): Promise<void> {
      if (busy) {
        skipped++;
        return;
      }
      if (client.state !== "connected") return;
      busy = true;
      let r;
      try {
        r = await poller.poll();
      } finally {
        busy = false;
      }
      if (closing) return;
      if (r.errors.length > 0) failed++;
      else ok++;
      const out1: NodeMessage | null = r.record ? { topic: source, payload: { source, ...r.record } } : null;
      const news = fresh(r.errors);
      const out2: NodeMessage | null =
        news.length > 0
          ? ({
              topic: source,
              event: "modbus-error",
              payload: { ts: r.record?.ts ?? Date.now(), errors: news },
            } as NodeMessage)
          : null;
      if (out1 || out2) send([out1, out2]);
      if (out2) node.error(RED._("modbus-in.errors.read", { count: news.length, error: news[0]!.reason }), out2);
      if (client.state !== "connected") return; // the state listener shows the outage
      if (!r.record) status.set(statusError(counts()));
      else if (r.errors.length > 0) status.set(statusBusy(counts()));
      else status.set(statusOk(counts()));
    }

    const timer =
      s.interval > 0
        ? setInterval(() => {
            pollOnce((m) => node.send(m)).catch((err: unknown) => {
              if (!closing) node.error(errorMessage(err));
            });
          }, s.interval)
        : undefined;

    onInput(node, async (_msg, send) => {
      if (client.state !== "connected")
        throw new Error(RED._("modbus-in.errors.notConnected", { reason: client.detail ?? client.state }));
      await pollOnce(send);
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      if (timer) clearInterval(timer);
      status.stop();
      device.deregister(node.id);
      done();
    });
  }

  RED.nodes.registerType("modbus-in", ModbusInNode);
};
