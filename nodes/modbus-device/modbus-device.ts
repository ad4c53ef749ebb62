/**
 * modbus-device: config node. Owns ONE ModbusClient (lib/modbus/client.ts) per device, shared by
 * every modbus in node that uses it (SharedConnection): one connection, one bounded request queue,
 * requests serialized; reconnects by itself.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { ModbusClient, ModbusClientOptions } from "../../lib/modbus/client";
import { errorMessage } from "../../lib/errors";
import { ConnState, SharedConnection } from "../shared/connection";
import { ModbusDeviceApi, modbusDeviceConfig, modbusDeviceSettings } from "./config";
import type { ModbusDeviceConfig } from "./types";

const STATE: Record<string, ConnState> = {
  idle: "connecting",
  connecting: "connecting",
  connected: "connected",
  disconnected: "disconnected",
  closed: "closed",
};

export = function (RED: NodeAPI): void {
  function ModbusDeviceNode(this: Node, def: NodeDef & Partial<ModbusDeviceConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this as Node & ModbusDeviceApi, def);
  }

  function setup(node: Node & ModbusDeviceApi, def: NodeDef & Partial<ModbusDeviceConfig>): void {
    const cfg = modbusDeviceConfig(def);
    let configError: string | undefined;
    let opts: ModbusClientOptions | undefined;
    try {
      opts = modbusDeviceSettings(cfg);
    } catch (err) {
      configError = errorMessage(err);
      node.error(RED._("modbus-device.errors.badConfig", { error: configError }));
    }
    const target =
      cfg.protocol === "rtu"
        ? `${String(cfg.serialPath)}#${String(cfg.unitId)}`
        : `${String(cfg.host)}:${String(cfg.port)}#${String(cfg.unitId)}`;

    const conn: SharedConnection<ModbusClient> = new SharedConnection<ModbusClient>(
      () => {
        const client = new ModbusClient({
          ...opts!,
          log: (level, text) => (level === "warn" ? node.warn(text) : node.debug(text)),
        });
        client.on("state", (s: string, detail?: string) => conn.setState(STATE[s] ?? "disconnected", detail));
        client.start();
        return client;
      },
      (client) => client.close(),
    );

    const api: ModbusDeviceApi = {
      configError,
      deviceName: typeof cfg.name === "string" && cfg.name.trim() !== "" ? cfg.name.trim() : target,
      register: (userId, listener) => {
        if (configError || !opts) throw new Error(configError ?? "no configuration");
        return conn.register(userId, listener);
      },
      deregister: (userId) => conn.deregister(userId),
    };
    Object.assign(node, api);

    node.on("close", (_removed: boolean, done: () => void) => {
      conn.close(5000).then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType("modbus-device", ModbusDeviceNode);
};
