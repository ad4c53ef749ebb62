/**
 * The glass line's Modbus register map (data only), in the modbus in node's format
 * (lib/modbus/map.ts RegisterDef), split over two PLCs like a real float line:
 *   - furnace PLC, unit id 1: zone temperatures, melt level, furnace pressure, gas/air flow, gas
 *     counter, zone setpoints (writable), burner coils (writable), furnace alarms;
 *   - forming/lehr PLC, unit id 2: tin bath, lehr, ribbon, line state, alarm word, alarm acknowledge
 *     and lehr fan coils (writable), alarms.
 * Line k (0-based) of a multi-line simulator answers on unit ids 1 + 2k (furnace) and 2 + 2k (forming).
 *
 * Mixed types on purpose: scaled int16/uint16, int32, uint32, float32 in ABCD, CDAB, BADC and DCBA,
 * float64, a string, a bool held in a register, coils and discrete inputs. The furnace PLC also has a
 * block of fixed test registers (holding 200..253) with known values in every type and order, for
 * decoder tests against the simulator; they are writable (the written words are kept).
 * The full table is in docs/simulator.md.
 */
import type { RegisterDef } from "../../modbus/map";
import type { GlassTagName } from "./model";

export type GlassPlc = "furnace" | "forming";

export interface GlassRegisterDef extends RegisterDef {
  /** Which PLC serves the entry (unit id 1 + 2k or 2 + 2k for line k). */
  plc: GlassPlc;
  /** The model tag the value comes from; absent for the fixed test registers. */
  tag?: GlassTagName;
  /** A client may write it (coils FC5/FC15, holding registers FC6/FC16). */
  writable?: boolean;
  /** Fixed value of a test register. */
  value?: number | string | boolean;
  description?: string;
}

export const FURNACE_UNIT_ID = 1;
export const FORMING_UNIT_ID = 2;

/** Unit ids of line `index` (0-based). */
export function unitIdsForLine(index: number): { furnace: number; forming: number } {
  return { furnace: 1 + 2 * index, forming: 2 + 2 * index };
}

const F = "furnace" as const;
const L = "forming" as const;

const zones = [1, 2, 3, 4, 5, 6];

/** Fixed test values (furnace PLC, holding 200..253). */
export const TEST_VALUES = {
  int16: -12345,
  uint16: 54321,
  int32: -123456789,
  uint32: 3456789012,
  float32: 1234.5625,
  float64: 123456.789012,
  string: "LineGuard glass",
  scaled: -3.21,
} as const;

const ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"] as const;

function testBlock(): GlassRegisterDef[] {
  const out: GlassRegisterDef[] = [
    { plc: F, name: "test_int16", area: "holding", address: 200, type: "int16", value: TEST_VALUES.int16 },
    {
      plc: F,
      name: "test_int16_badc",
      area: "holding",
      address: 201,
      type: "int16",
      order: "BADC",
      value: TEST_VALUES.int16,
    },
    { plc: F, name: "test_uint16", area: "holding", address: 202, type: "uint16", value: TEST_VALUES.uint16 },
    {
      plc: F,
      name: "test_uint16_dcba",
      area: "holding",
      address: 203,
      type: "uint16",
      order: "DCBA",
      value: TEST_VALUES.uint16,
    },
  ];
  let a = 204;
  for (const type of ["int32", "uint32", "float32"] as const) {
    for (const order of ORDERS) {
      out.push({
        plc: F,
        name: `test_${type}_${order.toLowerCase()}`,
        area: "holding",
        address: a,
        type,
        order,
        value: TEST_VALUES[type],
      });
      a += 2;
    }
  }
  for (const order of ORDERS) {
    out.push({
      plc: F,
      name: `test_float64_${order.toLowerCase()}`,
      area: "holding",
      address: a,
      type: "float64",
      order,
      value: TEST_VALUES.float64,
    });
    a += 4;
  }
  out.push(
    { plc: F, name: "test_string", area: "holding", address: a, type: "string", length: 8, value: TEST_VALUES.string },
    { plc: F, name: "test_bool", area: "holding", address: a + 8, type: "bool", value: true },
    {
      plc: F,
      name: "test_scaled",
      area: "holding",
      address: a + 9,
      type: "int16",
      scale: 0.01,
      value: TEST_VALUES.scaled,
    },
  );
  return out.map((d) => ({ ...d, writable: true, description: "fixed test value" }));
}

/** Every entry of both PLCs. Names are unique over the whole map (one record per line). */
export const GLASS_REGISTER_MAP: readonly GlassRegisterDef[] = [
  // ---- furnace PLC (unit 1) ----
  ...zones.map((z): GlassRegisterDef => ({
    plc: F,
    tag: `furnace_t${z}` as GlassTagName,
    name: `furnace_t${z}`,
    area: "input",
    address: z - 1,
    type: "int16",
    scale: 0.1,
    unit: "degC",
  })),
  {
    plc: F,
    tag: "melt_level",
    name: "melt_level",
    area: "input",
    address: 6,
    type: "int16",
    scale: 0.01,
    offset: 1200,
    unit: "mm",
  },
  {
    plc: F,
    tag: "furnace_pressure",
    name: "furnace_pressure",
    area: "input",
    address: 7,
    type: "int16",
    scale: 0.1,
    unit: "Pa",
  },
  {
    plc: F,
    tag: "gas_flow",
    name: "gas_flow",
    area: "input",
    address: 8,
    type: "float32",
    order: "ABCD",
    unit: "Nm3/h",
  },
  {
    plc: F,
    tag: "air_flow",
    name: "air_flow",
    area: "input",
    address: 10,
    type: "float32",
    order: "CDAB",
    unit: "Nm3/h",
  },
  {
    plc: F,
    tag: "gas_total",
    name: "gas_total",
    area: "input",
    address: 12,
    type: "uint32",
    order: "ABCD",
    unit: "Nm3",
  },
  ...zones.map((z): GlassRegisterDef => ({
    plc: F,
    tag: `furnace_sp${z}` as GlassTagName,
    name: `furnace_sp${z}`,
    area: "holding",
    address: 99 + z,
    type: "uint16",
    scale: 0.1,
    unit: "degC",
    writable: true,
  })),
  ...testBlock(),
  ...zones.map((z): GlassRegisterDef => ({
    plc: F,
    tag: `burner_${z}` as GlassTagName,
    name: `burner_${z}`,
    area: "coil",
    address: z - 1,
    type: "bool",
    writable: true,
  })),
  { plc: F, tag: "alarm_zone_dev", name: "alarm_zone_dev", area: "discrete", address: 0, type: "bool" },
  { plc: F, tag: "alarm_flame", name: "alarm_flame", area: "discrete", address: 1, type: "bool" },
  { plc: F, tag: "alarm_melt_level", name: "alarm_melt_level", area: "discrete", address: 2, type: "bool" },
  // ---- forming / lehr PLC (unit 2) ----
  {
    plc: L,
    tag: "tin_entry_temp",
    name: "tin_entry_temp",
    area: "input",
    address: 0,
    type: "float32",
    order: "BADC",
    unit: "degC",
  },
  {
    plc: L,
    tag: "tin_exit_temp",
    name: "tin_exit_temp",
    area: "input",
    address: 2,
    type: "float32",
    order: "BADC",
    unit: "degC",
  },
  { plc: L, tag: "tin_o2_ppm", name: "tin_o2_ppm", area: "input", address: 4, type: "uint16", scale: 0.1, unit: "ppm" },
  ...[1, 2, 3, 4].map((z): GlassRegisterDef => ({
    plc: L,
    tag: `lehr_t${z}` as GlassTagName,
    name: `lehr_t${z}`,
    area: "input",
    address: 4 + z,
    type: "uint16",
    scale: 0.1,
    unit: "degC",
  })),
  {
    plc: L,
    tag: "lehr_cooling_air",
    name: "lehr_cooling_air",
    area: "input",
    address: 9,
    type: "uint16",
    unit: "Nm3/h",
  },
  {
    plc: L,
    tag: "ribbon_speed",
    name: "ribbon_speed",
    area: "input",
    address: 10,
    type: "float32",
    order: "DCBA",
    unit: "m/min",
  },
  { plc: L, tag: "ribbon_width", name: "ribbon_width", area: "input", address: 12, type: "uint16", unit: "mm" },
  { plc: L, tag: "thickness", name: "thickness", area: "input", address: 13, type: "uint16", scale: 0.001, unit: "mm" },
  {
    plc: L,
    tag: "thickness_dev_um",
    name: "thickness_dev_um",
    area: "input",
    address: 14,
    type: "int32",
    order: "CDAB",
    unit: "um",
  },
  {
    plc: L,
    tag: "ribbon_length",
    name: "ribbon_length",
    area: "input",
    address: 16,
    type: "float64",
    order: "ABCD",
    unit: "m",
  },
  { plc: L, tag: "line_state", name: "line_state", area: "holding", address: 100, type: "uint16" },
  { plc: L, tag: "alarms", name: "alarms", area: "holding", address: 101, type: "uint16" },
  { plc: L, tag: "auto_mode", name: "auto_mode", area: "holding", address: 102, type: "bool" },
  {
    plc: L,
    tag: "thickness_sp",
    name: "thickness_sp",
    area: "holding",
    address: 103,
    type: "uint16",
    scale: 0.001,
    unit: "mm",
  },
  {
    plc: L,
    tag: "ribbon_speed_sp",
    name: "ribbon_speed_sp",
    area: "holding",
    address: 104,
    type: "float32",
    order: "CDAB",
    unit: "m/min",
  },
  { plc: L, tag: "product", name: "product", area: "holding", address: 106, type: "string", length: 8 },
  {
    plc: L,
    name: "alarm_ack",
    area: "coil",
    address: 0,
    type: "bool",
    writable: true,
    description: "write 1 to acknowledge the latched alarms (reads 0)",
  },
  { plc: L, tag: "lehr_fans", name: "lehr_fans", area: "coil", address: 1, type: "bool", writable: true },
  { plc: L, tag: "alarm_tin_o2", name: "alarm_tin_o2", area: "discrete", address: 0, type: "bool" },
  { plc: L, tag: "alarm_lehr_cooling", name: "alarm_lehr_cooling", area: "discrete", address: 1, type: "bool" },
  { plc: L, tag: "alarm_thickness", name: "alarm_thickness", area: "discrete", address: 2, type: "bool" },
  { plc: L, tag: "maintenance_active", name: "maintenance_active", area: "discrete", address: 3, type: "bool" },
];

/**
 * The plain register map of one PLC (RegisterDef entries only, as the modbus in node takes them).
 * `tests` adds the furnace PLC's fixed test registers (default false). The write-only alarm_ack coil
 * is left out.
 */
export function glassRegisterMap(plc: GlassPlc, opts: { tests?: boolean } = {}): RegisterDef[] {
  return GLASS_REGISTER_MAP.filter(
    (d) => d.plc === plc && (d.tag !== undefined || (opts.tests === true && d.value !== undefined)),
  ).map((d) => {
    const r: RegisterDef = { name: d.name, area: d.area, address: d.address, type: d.type };
    if (d.order !== undefined) r.order = d.order;
    if (d.length !== undefined) r.length = d.length;
    if (d.scale !== undefined) r.scale = d.scale;
    if (d.offset !== undefined) r.offset = d.offset;
    if (d.unit !== undefined) r.unit = d.unit;
    return r;
  });
}
