/**
 * One poll of a register map: the planned reads go to the device (queued and serialized by the
 * client), the answers are decoded into one record {ts, values, quality}. A failed request makes
 * the quality of its tags "bad" (their values are left out) and adds an entry to the error list;
 * a float that decodes to NaN/Infinity is "bad" too. When a coalesced request is refused with
 * "illegal data address" (a hole some devices do not serve), it is split into one request per
 * entry, at once and for every later poll, so only the entries the device really refuses go bad.
 */
import { errorMessage, isRetriable } from "../errors";
import type { Quality, TagValue } from "../record";
import { decodeValue } from "./codec";
import { type CoalesceOptions, type ReadRequest, planReads } from "./coalesce";
import type { ModbusArea, RegisterDef } from "./map";
import { registerCount } from "./map";

/** What the poller needs from a device connection (ModbusClient fits). */
export interface ModbusReader {
  read(area: ModbusArea, address: number, count: number, unitId?: number): Promise<number[]>;
}

export type PollErrorCode =
  | "exception"
  | "timeout"
  | "not-connected"
  | "queue-full"
  | "dropped"
  | "closed"
  | "transport"
  | "decode"
  | "bad-value";

export interface PollError {
  code: PollErrorCode;
  reason: string;
  area: ModbusArea;
  address: number;
  count: number;
  /** Tags without a value because of this error. */
  tags: string[];
  /** The Modbus exception code, for code "exception". */
  modbusCode?: number;
  retriable: boolean;
}

export interface PollRecord {
  ts: number;
  values: Record<string, TagValue>;
  quality?: Record<string, Quality>;
}

export interface PollResult {
  /** The record; undefined when no tag has a value (every request failed). */
  record: PollRecord | undefined;
  errors: PollError[];
  /** Requests made in this poll. */
  requests: number;
}

export interface PollerOptions extends CoalesceOptions {
  /** Unit id for every request (default: the reader's own). */
  unitId?: number;
  now?: () => number;
}

const ERROR_CODES: Record<string, PollErrorCode> = {
  "modbus-exception": "exception",
  timeout: "timeout",
  "not-connected": "not-connected",
  "queue-full": "queue-full",
  dropped: "dropped",
  closed: "closed",
};

export class ModbusPoller {
  private _plan: ReadRequest[];
  private readonly now: () => number;
  private readonly unitId: number | undefined;

  constructor(
    private readonly reader: ModbusReader,
    readonly defs: readonly RegisterDef[],
    opts: PollerOptions = {},
  ) {
    this._plan = planReads(defs, opts);
    this.now = opts.now ?? Date.now;
    this.unitId = opts.unitId;
  }

  /** The current read plan (requests per poll). */
  get plan(): readonly ReadRequest[] {
    return this._plan;
  }

  async poll(): Promise<PollResult> {
    const ts = this.now();
    const values: Record<string, TagValue> = {};
    const quality: Record<string, Quality> = {};
    const errors: PollError[] = [];
    let requests = 0;
    const split = new Map<ReadRequest, ReadRequest[]>();

    const run = async (req: ReadRequest, mayRetry: boolean): Promise<void> => {
      requests++;
      let words: number[];
      try {
        words =
          this.unitId === undefined
            ? await this.reader.read(req.area, req.address, req.count)
            : await this.reader.read(req.area, req.address, req.count, this.unitId);
      } catch (err) {
        const e = err as { code?: unknown; modbusCode?: unknown };
        if (mayRetry && e.modbusCode === 2 && req.items.length > 1) {
          const parts = req.items.map((it) => ({
            area: req.area,
            address: it.def.address,
            count: registerCount(it.def),
            items: [{ ...it, offset: 0 }],
          }));
          split.set(req, parts);
          await Promise.all(parts.map((p) => run(p, false)));
          return;
        }
        const tags = req.items.map((it) => it.def.name);
        for (const t of tags) quality[t] = "bad";
        const pe: PollError = {
          code: ERROR_CODES[String(e.code)] ?? "transport",
          reason: errorMessage(err),
          area: req.area,
          address: req.address,
          count: req.count,
          tags,
          retriable: isRetriable(err),
        };
        if (typeof e.modbusCode === "number") pe.modbusCode = e.modbusCode;
        errors.push(pe);
        return;
      }
      for (const it of req.items) {
        const n = registerCount(it.def);
        let v: TagValue;
        try {
          v = decodeValue(it.def, words.slice(it.offset, it.offset + n));
        } catch (err) {
          quality[it.def.name] = "bad";
          errors.push(itemError("decode", errorMessage(err), it.def));
          continue;
        }
        if (typeof v === "number" && !Number.isFinite(v)) {
          quality[it.def.name] = "bad";
          errors.push(itemError("bad-value", `"${it.def.name}" decoded to ${String(v)}`, it.def));
          continue;
        }
        values[it.def.name] = v;
      }
    };

    await Promise.all(this._plan.map((r) => run(r, true)));
    if (split.size > 0) this._plan = this._plan.flatMap((r) => split.get(r) ?? [r]);

    const record: PollRecord | undefined =
      Object.keys(values).length > 0
        ? Object.keys(quality).length > 0
          ? { ts, values, quality }
          : { ts, values }
        : undefined;
    return { record, errors, requests };
  }
}

function itemError(code: PollErrorCode, reason: string, def: RegisterDef): PollError {
  return {
    code,
    reason,
    area: def.area,
    address: def.address,
    count: registerCount(def),
    tags: [def.name],
    retriable: false,
  };
}
