/** modbus-in: settings shared by the runtime and the editor (types only). */

/** One row of the register map table (the editor keeps numbers as they were typed). */
export interface ModbusMapRow {
  name: string;
  area: string;
  address: number | string;
  type: string;
  order?: string;
  length?: number | string;
  scale?: number | string;
  offset?: number | string;
  unit?: string;
}

export interface ModbusInConfig {
  name: string;
  /** id of the modbus-device config node */
  device: string;
  /** The register map: a JSON array of entries (see lib/modbus/map.ts RegisterDef). */
  map: string;
  /** Poll interval, ms; 0 = poll only when a message arrives. */
  interval: number | string;
  /** Registers per request (1..125). */
  maxSpan: number | string;
  /** Unmapped registers a request may read across (0 = contiguous runs only). */
  maxGap: number | string;
  /** Unit id for this map; empty = the device's. */
  unitId: number | string;
  /** Source id (msg.topic and record.source); empty = the device name. */
  topic: string;
  version: number;
}
