/* modbus-in editor: the register map as an editable table plus JSON import/export, poll settings. */
import type { ModbusInConfig, ModbusMapRow } from "./types";

declare const RED: import("@node-red/editor-client").RED;

const AREAS = ["holding", "input", "coil", "discrete"];
const TYPES = ["bool", "int16", "uint16", "int32", "uint32", "float32", "float64", "string"];
const ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"];
const ROW_KEYS = ["name", "area", "address", "type", "order", "length", "scale", "offset", "unit"];

function validInt(min: number, max: number, empty = false): (v: string) => boolean {
  return (v: string) => {
    if (empty && String(v ?? "").trim() === "") return true;
    const n = Number(v);
    return String(v ?? "").trim() !== "" && Number.isInteger(n) && n >= min && n <= max;
  };
}

/** Light check in the editor (the runtime checks everything at deploy and names each problem). */
function mapProblem(v: unknown): string | undefined {
  let list: unknown;
  try {
    list = JSON.parse(String(v ?? "").trim() || "[]");
  } catch (err) {
    return (err as Error).message;
  }
  if (!Array.isArray(list)) return "not a JSON array";
  if (list.length === 0) return "the map is empty";
  const seen: Record<string, boolean> = {};
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as Record<string, unknown> | null;
    if (r === null || typeof r !== "object" || Array.isArray(r)) return `entry ${i + 1} is not an object`;
    const name = typeof r.name === "string" ? r.name.trim() : "";
    if (name === "") return `entry ${i + 1} has no name`;
    if (seen[name]) return `"${name}" is used twice`;
    seen[name] = true;
    if (AREAS.indexOf(String(r.area)) < 0) return `"${name}": unknown area`;
    const bit = r.area === "coil" || r.area === "discrete";
    const type = r.type === undefined || r.type === "" ? (bit ? "bool" : "") : String(r.type);
    if (TYPES.indexOf(type) < 0) return `"${name}": unknown type`;
    if (bit && type !== "bool") return `"${name}": a ${String(r.area)} is a bool`;
    const a = Number(r.address);
    if (r.address === "" || !Number.isInteger(a) || a < 0 || a > 65535) return `"${name}": address 0..65535`;
    if (r.order !== undefined && r.order !== "" && ORDERS.indexOf(String(r.order)) < 0) return `"${name}": order`;
    if (type === "string") {
      const l = Number(r.length);
      if (!Number.isInteger(l) || l < 1 || l > 125) return `"${name}": string length 1..125`;
    }
  }
  return undefined;
}

function optional(v: unknown): string | undefined {
  const s = String(v ?? "").trim();
  return s === "" ? undefined : s;
}

function asNumber(s: string): number | string {
  const n = Number(s);
  return isFinite(n) ? n : s;
}

RED.nodes.registerType<ModbusInConfig>("modbus-in", {
  category: "LineGuard",
  color: "#e2d96e",
  defaults: {
    name: { value: "" },
    device: { value: "", type: "modbus-device", required: true },
    map: { value: "[]", validate: (v: string) => mapProblem(v) === undefined },
    interval: {
      value: 1000,
      validate: (v: string) => validInt(0, 86400000)(v) && (Number(v) === 0 || Number(v) >= 10),
    },
    maxSpan: { value: 120, validate: validInt(1, 125) },
    maxGap: { value: 10, validate: validInt(0, 125) },
    unitId: { value: "", validate: validInt(0, 255, true) },
    topic: { value: "" },
    version: { value: 1 },
  },
  inputs: 1,
  outputs: 2,
  icon: "lineguard.svg",
  paletteLabel: "modbus in",
  label: function () {
    if (this.name) return this.name;
    try {
      const n = (JSON.parse(this.map || "[]") as unknown[]).length;
      return n > 0 ? `modbus in (${n})` : "modbus in";
    } catch {
      return "modbus in";
    }
  },
  outputLabels: function (i: number) {
    return this._(i === 0 ? "modbus-in.outputs.records" : "modbus-in.outputs.errors");
  },
  oneditprepare: function () {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    const t = (k: string): string => node._(`modbus-in.${k}`);
    const list = $("#node-input-map-container");

    const field = (cls: string, width: string, value: unknown, placeholder = ""): JQuery =>
      $('<input type="text"/>')
        .addClass(cls)
        .css({ width, marginRight: "4px" })
        .attr("placeholder", placeholder)
        .val(value === undefined || value === null ? "" : String(value));
    const select = (
      cls: string,
      width: string,
      options: string[],
      value: unknown,
      label?: (o: string) => string,
    ): JQuery => {
      const s = $("<select/>").addClass(cls).css({ width, marginRight: "4px" });
      for (const o of options)
        $("<option/>")
          .val(o)
          .text(label ? label(o) : o)
          .appendTo(s);
      s.val(value === undefined || value === null || value === "" ? options[0]! : String(value));
      return s;
    };

    list.css({ "min-height": "150px", "min-width": "640px" }).editableList({
      addItem: function (container: JQuery, _i: number, data: ModbusMapRow) {
        const row = $("<div/>").css({ display: "flex", alignItems: "center", flexWrap: "wrap" }).appendTo(container);
        field("lg-m-name", "120px", data.name, t("placeholder.name")).appendTo(row);
        const area = select("lg-m-area", "120px", AREAS, data.area, (o) => t(`area.${o}`)).appendTo(row);
        field("lg-m-address", "60px", data.address, t("placeholder.address")).appendTo(row);
        const type = select(
          "lg-m-type",
          "80px",
          TYPES,
          data.type || (data.area === "coil" || data.area === "discrete" ? "bool" : "int16"),
        ).appendTo(row);
        const order = select("lg-m-order", "64px", ORDERS, data.order).appendTo(row);
        const length = field("lg-m-length", "44px", data.length, t("placeholder.length")).appendTo(row);
        const scale = field("lg-m-scale", "56px", data.scale, t("placeholder.scale")).appendTo(row);
        const offset = field("lg-m-offset", "56px", data.offset, t("placeholder.offset")).appendTo(row);
        field("lg-m-unit", "44px", data.unit, t("placeholder.unit")).appendTo(row);
        const sync = (): void => {
          const bit = area.val() === "coil" || area.val() === "discrete";
          if (bit) type.val("bool");
          type.prop("disabled", bit);
          const ty = String(type.val());
          order.toggle(ty !== "bool");
          length.toggle(ty === "string");
          scale.toggle(ty !== "bool" && ty !== "string");
          offset.toggle(ty !== "bool" && ty !== "string");
        };
        area.on("change", sync);
        type.on("change", sync);
        sync();
      },
      removable: true,
      sortable: true,
    });

    const fill = (rows: ModbusMapRow[]): void => {
      list.editableList("empty");
      for (const r of rows) list.editableList("addItem", r);
    };
    try {
      fill(JSON.parse(this.map || "[]") as ModbusMapRow[]);
    } catch {
      fill([]);
    }

    $("#modbus-in-import").on("click", () => {
      const text = String($("#modbus-in-json").val() ?? "");
      const problem = mapProblem(text);
      if (problem !== undefined) {
        RED.notify(node._("modbus-in.errors.badImport", { error: problem }), "error");
        return;
      }
      const rows = (JSON.parse(text) as Record<string, unknown>[]).map((r) => {
        const out: Record<string, unknown> = {};
        for (const k of ROW_KEYS) if (r[k] !== undefined) out[k] = r[k];
        return out as unknown as ModbusMapRow;
      });
      fill(rows);
    });
    $("#modbus-in-export").on("click", () => {
      $("#modbus-in-json").val(JSON.stringify(collect(), null, 1));
    });
  },
  oneditsave: function () {
    $("#node-input-map").val(JSON.stringify(collect()));
  },
  oneditresize: function (size: { height: number }) {
    const rows = $("#dialog-form>div:not(.node-input-map-container-row)");
    let height = size.height;
    rows.each(function () {
      height -= $(this).outerHeight(true) ?? 0;
    });
    $("#node-input-map-container").editableList("height", Math.max(150, height - 40));
  },
});

/** The table as map entries (empty optional cells left out, numbers as numbers). */
function collect(): ModbusMapRow[] {
  const rows: ModbusMapRow[] = [];
  $("#node-input-map-container")
    .editableList("items")
    .each(function () {
      const row = $(this);
      const name = String(row.find(".lg-m-name").val() ?? "").trim();
      if (name === "") return;
      const area = String(row.find(".lg-m-area").val());
      const type = String(row.find(".lg-m-type").val());
      const address = String(row.find(".lg-m-address").val() ?? "").trim();
      const r: ModbusMapRow = { name, area, address: asNumber(address), type };
      const bit = type === "bool";
      if (!bit) {
        const order = optional(row.find(".lg-m-order").val());
        if (order && order !== "ABCD") r.order = order;
      }
      if (type === "string") {
        const length = optional(row.find(".lg-m-length").val());
        if (length !== undefined) r.length = asNumber(length);
      }
      if (!bit && type !== "string") {
        const scale = optional(row.find(".lg-m-scale").val());
        const offset = optional(row.find(".lg-m-offset").val());
        if (scale !== undefined) r.scale = asNumber(scale);
        if (offset !== undefined) r.offset = asNumber(offset);
      }
      const unit = optional(row.find(".lg-m-unit").val());
      if (unit !== undefined) r.unit = unit;
      rows.push(r);
    });
  return rows;
}
