/**
 * modbus-device: defaults, migrations, settings and the runtime API modbus in nodes use. No Node-RED import.
 */
import type { ModbusClient, ModbusClientOptions } from "../../lib/modbus/client";
import { clientOptions } from "../../lib/modbus/client";
import type { StateListener } from "../shared/connection";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { ModbusDeviceConfig } from "./types";
import { intSetting } from "../shared/settings";

export const MODBUS_DEVICE_VERSION = 1;

export const MODBUS_DEVICE_DEFAULTS: Omit<ModbusDeviceConfig, "version"> = {
  name: "",
  protocol: "tcp",
  host: "127.0.0.1",
  port: 502,
  serialPath: "",
  baudRate: 9600,
  parity: "none",
  dataBits: 8,
  stopBits: 1,
  unitId: 1,
  timeout: 2000,
  reconnectMin: 500,
  reconnectMax: 10000,
  queueSize: 100,
  dropPolicy: "drop-oldest",
};

export const MODBUS_DEVICE_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: missing settings take their defaults; "tcpHost"/"tcpPort"
  // (node-red-contrib-modbus names) become host/port.
  0: (c) => {
    const out: Record<string, unknown> = { ...c };
    if ((out.host === undefined || out.host === "") && typeof out.tcpHost === "string") out.host = out.tcpHost;
    if ((out.port === undefined || out.port === "") && out.tcpPort !== undefined) out.port = out.tcpPort;
    delete out.tcpHost;
    delete out.tcpPort;
    return fillDefaults(out, MODBUS_DEVICE_DEFAULTS, { emptyIsMissing: true });
  },
};

export function modbusDeviceConfig(def: object): ModbusDeviceConfig {
  return migrate<ModbusDeviceConfig>(def, MODBUS_DEVICE_VERSION, MODBUS_DEVICE_MIGRATIONS);
}

/** Check a (migrated) config; returns the client options or throws an Error saying what is wrong. */
export function modbusDeviceSettings(cfg: ModbusDeviceConfig): ModbusClientOptions {
  const o: ModbusClientOptions = {
    protocol: cfg.protocol,
    host: String(cfg.host ?? ""),
    port: intSetting(cfg.port, "port"),
    serialPath: String(cfg.serialPath ?? ""),
    baudRate: intSetting(cfg.baudRate, "baud rate"),
    parity: cfg.parity,
    dataBits: intSetting(cfg.dataBits, "data bits") as 7 | 8,
    stopBits: intSetting(cfg.stopBits, "stop bits") as 1 | 2,
    unitId: intSetting(cfg.unitId, "unit id"),
    timeoutMs: intSetting(cfg.timeout, "timeout"),
    reconnectMinMs: intSetting(cfg.reconnectMin, "reconnect min"),
    reconnectMaxMs: intSetting(cfg.reconnectMax, "reconnect max"),
    queueSize: intSetting(cfg.queueSize, "queue size"),
    dropPolicy: cfg.dropPolicy,
  };
  clientOptions(o); // throws RangeError naming the bad setting
  return o;
}

/** What a modbus-device node offers to modbus in nodes. */
export interface ModbusDeviceApi {
  /** Why the configuration cannot be used, or undefined. */
  readonly configError: string | undefined;
  /** The device's name, else host:port#unit (or path#unit). */
  readonly deviceName: string;
  /** The shared client (created and started on first use); throws when the configuration is bad. */
  register(userId: string, listener?: StateListener): ModbusClient;
  deregister(userId: string): void;
}
