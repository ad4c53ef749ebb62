import type { ModbusType } from "../../../lib/modbus/map";

/** Sample values per type: extremes, signs and fractions a float of that width holds exactly. */
export const SAMPLES: Record<Exclude<ModbusType, "bool" | "string">, number[]> = {
  int16: [0, 1, -1, 12345, -32768, 32767],
  uint16: [0, 1, 54321, 65535],
  int32: [0, -1, 305419896, -2147483648, 2147483647],
  uint32: [0, 1, 4294967295, 3735928559],
  float32: [0, -1.5, 1561.25, 3.4028234663852886e38, 1.401298464324817e-45],
  float64: [0, -1.5, Math.PI, 1e300, -2.5e-308],
};
