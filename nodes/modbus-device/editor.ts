/* modbus-device editor: a config node holding the connection to one Modbus device. */
import type { ModbusDeviceConfig } from "./types";

declare const RED: import("@node-red/editor-client").RED;

function validInt(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    // A Node-RED environment variable (${NAME}) is resolved at deploy and checked there.
    if (/^\$\{\w+\}$/.test(String(v ?? "").trim())) return true;
    const n = Number(v);
    return String(v ?? "").trim() !== "" && Number.isInteger(n) && n >= min && n <= max;
  };
}

function protocolOf(cfg: { protocol?: string }): string {
  const el = $("#node-config-input-protocol");
  return el.length ? String(el.val()) : String(cfg.protocol ?? "tcp");
}

RED.nodes.registerType<ModbusDeviceConfig>("modbus-device", {
  category: "config",
  color: "#e2d96e",
  defaults: {
    name: { value: "" },
    protocol: { value: "tcp" },
    host: {
      value: "127.0.0.1",
      validate: function (this: ModbusDeviceConfig, v: string) {
        return protocolOf(this) === "rtu" || String(v ?? "").trim() !== "";
      },
    },
    port: { value: 502, validate: validInt(1, 65535) },
    serialPath: {
      value: "",
      validate: function (this: ModbusDeviceConfig, v: string) {
        return protocolOf(this) !== "rtu" || String(v ?? "").trim() !== "";
      },
    },
    baudRate: { value: 9600, validate: validInt(300, 4000000) },
    parity: { value: "none" },
    dataBits: { value: 8 },
    stopBits: { value: 1 },
    unitId: { value: 1, validate: validInt(0, 255) },
    timeout: { value: 2000, validate: validInt(50, 60000) },
    reconnectMin: { value: 500, validate: validInt(10, 10000) },
    reconnectMax: { value: 10000, validate: validInt(100, 10000) },
    queueSize: { value: 100, validate: validInt(1, 100000) },
    dropPolicy: { value: "drop-oldest" },
    version: { value: 1 },
  },
  label: function () {
    if (this.name) return this.name;
    return this.protocol === "rtu"
      ? `${this.serialPath || "serial"}#${String(this.unitId)}`
      : `${this.host || "?"}:${String(this.port)}#${String(this.unitId)}`;
  },
  oneditprepare: function () {
    const toggle = (): void => {
      const rtu = $("#node-config-input-protocol").val() === "rtu";
      $(".modbus-device-tcp").toggle(!rtu);
      $(".modbus-device-serial").toggle(rtu);
    };
    $("#node-config-input-protocol").on("change", toggle);
    toggle();
  },
});
