/**
 * Read planning: the entries of a map are grouped per area into as few read requests as the limits
 * allow. Neighbours are merged while the request stays within `maxSpan` addresses and the hole
 * between two entries is at most `maxGap` addresses (reading a hole costs bytes, and some devices
 * answer "illegal data address" for unmapped registers: set maxGap 0 for those).
 */
import { type ModbusArea, type RegisterDef, MODBUS_AREAS, isBitArea, registerCount } from "./map";

export interface CoalesceOptions {
  /** Registers per request (FC3/FC4), 1..125; default 120. */
  maxSpan?: number;
  /** Bits per request (FC1/FC2), 1..2000; default 2000. */
  maxBitSpan?: number;
  /** Unmapped registers a request may read across, default 10. */
  maxGap?: number;
  /** Unmapped bits a request may read across, default 100. */
  maxBitGap?: number;
}

export const COALESCE_DEFAULTS: Required<CoalesceOptions> = {
  maxSpan: 120,
  maxBitSpan: 2000,
  maxGap: 10,
  maxBitGap: 100,
};

/** Protocol limits per request. */
export const MAX_REGISTER_SPAN = 125;
export const MAX_BIT_SPAN = 2000;

export interface PlannedItem {
  def: RegisterDef;
  /** Index of the entry in the map. */
  index: number;
  /** Position of the entry's first address inside the request. */
  offset: number;
}

export interface ReadRequest {
  area: ModbusArea;
  address: number;
  count: number;
  items: PlannedItem[];
}

function limit(v: number | undefined, d: number, min: number, max: number, what: string): number {
  const n = v ?? d;
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${what} must be an integer ${min}..${max}`);
  return n;
}

/** Resolve and check the options (throws RangeError on bad limits). */
export function coalesceOptions(opts: CoalesceOptions = {}): Required<CoalesceOptions> {
  return {
    maxSpan: limit(opts.maxSpan, COALESCE_DEFAULTS.maxSpan, 1, MAX_REGISTER_SPAN, "max span (registers)"),
    maxBitSpan: limit(opts.maxBitSpan, COALESCE_DEFAULTS.maxBitSpan, 1, MAX_BIT_SPAN, "max span (bits)"),
    maxGap: limit(opts.maxGap, COALESCE_DEFAULTS.maxGap, 0, MAX_REGISTER_SPAN, "max gap (registers)"),
    maxBitGap: limit(opts.maxBitGap, COALESCE_DEFAULTS.maxBitGap, 0, MAX_BIT_SPAN, "max gap (bits)"),
  };
}

/**
 * Plan the reads of a (validated, overlap-free) map: requests ordered by area (coil, discrete,
 * input, holding) then address. An entry longer than the span (a long string) gets a request of
 * its own.
 */
export function planReads(defs: readonly RegisterDef[], opts: CoalesceOptions = {}): ReadRequest[] {
  const o = coalesceOptions(opts);
  const out: ReadRequest[] = [];
  for (const area of MODBUS_AREAS) {
    const bits = isBitArea(area);
    const maxSpan = bits ? o.maxBitSpan : o.maxSpan;
    const maxGap = bits ? o.maxBitGap : o.maxGap;
    const items = defs
      .map((def, index) => ({ def, index }))
      .filter((x) => x.def.area === area)
      .sort((a, b) => a.def.address - b.def.address);
    let cur: ReadRequest | undefined;
    for (const { def, index } of items) {
      const n = registerCount(def);
      const end = def.address + n; // exclusive
      if (cur) {
        const curEnd = cur.address + cur.count;
        const gap = def.address - curEnd;
        const newCount = Math.max(curEnd, end) - cur.address;
        if (gap <= maxGap && newCount <= maxSpan) {
          cur.count = newCount;
          cur.items.push({ def, index, offset: def.address - cur.address });
          continue;
        }
      }
      cur = { area, address: def.address, count: n, items: [{ def, index, offset: 0 }] };
      out.push(cur);
    }
  }
  return out;
}

/** Addresses read in total (registers + bits) by a plan. */
export function plannedAddresses(plan: readonly ReadRequest[]): number {
  return plan.reduce((s, r) => s + r.count, 0);
}
