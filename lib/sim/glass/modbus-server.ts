/**
 * The glass simulator's Modbus TCP server (modbus-serial ServerTCP) on 127.0.0.1 (default port 5020).
 * Serves the register map of lib/sim/glass/register-map.ts: line k answers on unit ids 1 + 2k (furnace
 * PLC) and 2 + 2k (forming/lehr PLC). Values are encoded with lib/modbus/codec.ts (the code the modbus
 * in node decodes with) and refreshed by `update()` on every simulator tick; a multi-register value is
 * always read whole (updates and reads are synchronous).
 *
 * Exceptions: an address outside the map (also a read that spans a hole between two blocks) answers
 * 0x02 illegal data address, a write to a read-only entry too; a bad written value (a setpoint out of
 * range) 0x03 illegal data value; an unknown unit id 0x0B (gateway target failed to respond).
 * `requests` counts the requests per function code (for coalescing tests).
 */
import type { AddressInfo, Socket } from "node:net";
import { IServiceVector, ServerTCP } from "modbus-serial";
import { encodeValue, decodeValue } from "../../modbus/codec";
import type { RegisterDef } from "../../modbus/map";
import type { TagValue } from "../../record";
import { freePort } from "../common/net";
import type { GlassLine, GlassPlant, GlassSample } from "./model";
import { GLASS_REGISTER_MAP, GlassPlc, GlassRegisterDef, unitIdsForLine } from "./register-map";

export interface ModbusSimOptions {
  /** TCP port; 0 picks a free one. Default 5020. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
}

export const DEFAULT_MODBUS_PORT = 5020;
const MAX_LINES = 100;

const ILLEGAL_FUNCTION = 0x01;
const ILLEGAL_ADDRESS = 0x02;
const ILLEGAL_VALUE = 0x03;
const GATEWAY_TARGET = 0x0b;

export class ModbusException extends Error {
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const INT_RANGE: Record<string, [number, number]> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** encodeValue, saturating integers that do not fit (a real PLC clamps too). */
export function encodeSaturated(def: RegisterDef, value: TagValue): number[] {
  const range = INT_RANGE[def.type];
  if (range && typeof value === "number") {
    const scale = def.scale ?? 1;
    const offset = def.offset ?? 0;
    const raw = Math.round((value - offset) / scale);
    const r = Math.min(range[1], Math.max(range[0], Number.isFinite(raw) ? raw : 0));
    return encodeValue({ ...def, scale: 1, offset: 0 }, r);
  }
  return encodeValue(def, value);
}

interface Unit {
  line: GlassLine;
  plc: GlassPlc;
  bits: { coil: Map<number, boolean>; discrete: Map<number, boolean> };
  words: { input: Map<number, number>; holding: Map<number, number> };
  /** address -> entry, for writes. */
  holdingDefs: Map<number, { def: GlassRegisterDef; index: number }>;
  coilDefs: Map<number, GlassRegisterDef>;
}

function wordCount(def: RegisterDef): number {
  if (def.area === "coil" || def.area === "discrete") return 1;
  if (def.type === "string") return def.length ?? 1;
  return { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 }[def.type];
}

export class GlassModbusServer {
  private server: ServerTCP | undefined;
  private readonly units = new Map<number, Unit>();
  private port = 0;
  private readonly sockets = new Set<Socket>();
  /** Requests received per function code (1, 2, 3, 4, 5, 6, 15, 16, ...). */
  readonly requests = new Map<number, number>();

  constructor(
    plant: GlassPlant,
    private readonly opts: ModbusSimOptions = {},
  ) {
    if (plant.lines.length > MAX_LINES) throw new Error(`the Modbus server serves at most ${MAX_LINES} lines`);
    plant.lines.forEach((line, k) => {
      const ids = unitIdsForLine(k);
      for (const plc of ["furnace", "forming"] as const) {
        const unit: Unit = {
          line,
          plc,
          bits: { coil: new Map(), discrete: new Map() },
          words: { input: new Map(), holding: new Map() },
          holdingDefs: new Map(),
          coilDefs: new Map(),
        };
        for (const def of GLASS_REGISTER_MAP) {
          if (def.plc !== plc) continue;
          if (def.area === "coil" || def.area === "discrete") {
            unit.bits[def.area].set(def.address, def.value === true);
            if (def.area === "coil") unit.coilDefs.set(def.address, def);
            continue;
          }
          const initial = def.value ?? (def.type === "string" ? "" : 0);
          const words = encodeSaturated(def, def.tag ? (def.type === "string" ? "" : 0) : initial);
          words.forEach((w, i) => {
            unit.words[def.area as "input" | "holding"].set(def.address + i, w);
            if (def.area === "holding") unit.holdingDefs.set(def.address + i, { def, index: i });
          });
        }
        this.units.set(ids[plc], unit);
      }
    });
  }

  get url(): string {
    return `modbus-tcp://${this.opts.host ?? "127.0.0.1"}:${this.port}`;
  }

  get listeningPort(): number {
    return this.port;
  }

  get host(): string {
    return this.opts.host ?? "127.0.0.1";
  }

  /** Total requests received. */
  get requestCount(): number {
    let n = 0;
    for (const v of this.requests.values()) n += v;
    return n;
  }

  resetCounters(): void {
    this.requests.clear();
  }

  async start(): Promise<void> {
    if (this.server) return;
    const host = this.host;
    this.port = this.opts.port === 0 ? await freePort(host) : (this.opts.port ?? DEFAULT_MODBUS_PORT);
    const vector = this.vector();
    const server = await new Promise<ServerTCP>((resolve, reject) => {
      // unitID 255: answer every unit id; the vector dispatches by unit.
      const s = new ServerTCP(vector, { host, port: this.port, unitID: 255 });
      const onError = (err: Error) => {
        s.close(() => undefined);
        reject(err);
      };
      s.once("serverError", onError);
      s.once("initialized", () => {
        s.off("serverError", onError);
        resolve(s);
      });
    });
    // Errors on client sockets (resets) are the client's business.
    server.on("socketError", () => undefined);
    server.on("error", () => undefined);
    const net = (server as unknown as { _server: import("node:net").Server })._server;
    net.on("connection", (sock: Socket) => {
      this.sockets.add(sock);
      sock.once("close", () => this.sockets.delete(sock));
      let buf = Buffer.alloc(0);
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 8) {
          const len = buf.readUInt16BE(4);
          if (buf.length < 6 + len) break;
          const fc = buf[7]!;
          this.requests.set(fc, (this.requests.get(fc) ?? 0) + 1);
          buf = buf.subarray(6 + len);
        }
      });
    });
    this.port = (net.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Refresh the register images from the latest samples (one per line, in plant order). */
  update(samples: readonly GlassSample[]): void {
    const byId = new Map(samples.map((s) => [s.id, s]));
    for (const unit of this.units.values()) {
      const s = byId.get(unit.line.id);
      if (!s) continue;
      for (const def of GLASS_REGISTER_MAP) {
        if (def.plc !== unit.plc || !def.tag) continue;
        const v = s.values[def.tag];
        if (def.area === "coil" || def.area === "discrete") {
          unit.bits[def.area].set(def.address, Boolean(v));
          continue;
        }
        const words = encodeSaturated(def, v);
        const img = unit.words[def.area as "input" | "holding"];
        for (let i = 0; i < words.length; i++) img.set(def.address + i, words[i]!);
      }
    }
  }

  private unit(unitID: number): Unit {
    const u = this.units.get(unitID);
    if (!u) throw new ModbusException(GATEWAY_TARGET, `no unit ${unitID}`);
    return u;
  }

  private readWords(area: "input" | "holding", addr: number, length: number, unitID: number): number[] {
    const img = this.unit(unitID).words[area];
    const out: number[] = new Array<number>(length);
    for (let i = 0; i < length; i++) {
      const w = img.get(addr + i);
      if (w === undefined) throw new ModbusException(ILLEGAL_ADDRESS, `no ${area} register ${addr + i}`);
      out[i] = w;
    }
    return out;
  }

  private readBit(area: "coil" | "discrete", addr: number, unitID: number): boolean {
    const v = this.unit(unitID).bits[area].get(addr);
    if (v === undefined) throw new ModbusException(ILLEGAL_ADDRESS, `no ${area} ${addr}`);
    return v;
  }

  private writeCoil(addr: number, value: boolean, unitID: number): void {
    const unit = this.unit(unitID);
    const def = unit.coilDefs.get(addr);
    if (!def || !def.writable) throw new ModbusException(ILLEGAL_ADDRESS, `coil ${addr} is not writable`);
    if (def.name === "alarm_ack") {
      // Takes effect with the next sample.
      if (value) unit.line.acknowledgeAlarms();
      return;
    }
    if (def.tag === "lehr_fans") unit.line.setLehrFans(value);
    else if (def.tag?.startsWith("burner_")) unit.line.setBurner(Number(def.tag.slice(7)), value);
    unit.bits.coil.set(addr, value);
  }

  /** Writes of whole entries only (a partial write of a multi-register value is refused). */
  private writeRegisters(addr: number, values: number[], unitID: number): void {
    const unit = this.unit(unitID);
    // Check everything first, then apply: a refused write changes nothing.
    const touched: { def: GlassRegisterDef; words: number[] }[] = [];
    for (let i = 0; i < values.length;) {
      const hit = unit.holdingDefs.get(addr + i);
      if (!hit || !hit.def.writable) throw new ModbusException(ILLEGAL_ADDRESS, `holding ${addr + i} is read-only`);
      const n = wordCount(hit.def);
      if (hit.index !== 0 || i + n > values.length) {
        throw new ModbusException(ILLEGAL_ADDRESS, `write ${hit.def.name} whole (${n} registers)`);
      }
      touched.push({ def: hit.def, words: values.slice(i, i + n) });
      i += n;
    }
    for (const { def, words } of touched) {
      if (def.tag?.startsWith("furnace_sp")) {
        const v = decodeValue(def, words) as number;
        if (!(v >= 1000 && v <= 1700)) throw new ModbusException(ILLEGAL_VALUE, "setpoint out of 1000..1700 degC");
      }
    }
    for (const { def, words } of touched) {
      if (def.tag?.startsWith("furnace_sp")) {
        unit.line.setSetpoint(Number(def.tag.slice(10)), decodeValue(def, words) as number);
      }
      words.forEach((w, i) => unit.words.holding.set(def.address + i, w & 0xffff));
    }
  }

  private vector(): IServiceVector {
    return {
      getCoil: (addr: number, unitID: number) => this.readBit("coil", addr, unitID),
      getDiscreteInput: (addr: number, unitID: number) => this.readBit("discrete", addr, unitID),
      getInputRegister: (addr: number, unitID: number) => this.readWords("input", addr, 1, unitID)[0]!,
      getHoldingRegister: (addr: number, unitID: number) => this.readWords("holding", addr, 1, unitID)[0]!,
      getMultipleInputRegisters: (addr: number, length: number, unitID: number) =>
        this.readWords("input", addr, length, unitID),
      getMultipleHoldingRegisters: (addr: number, length: number, unitID: number) =>
        this.readWords("holding", addr, length, unitID),
      setCoil: (addr: number, value: boolean, unitID: number) => this.writeCoil(addr, value, unitID),
      setRegister: (addr: number, value: number, unitID: number) => this.writeRegisters(addr, [value], unitID),
      setRegisterArray: (addr: number, value: number[], unitID: number) => this.writeRegisters(addr, value, unitID),
    };
  }
}

export { ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE, GATEWAY_TARGET };
