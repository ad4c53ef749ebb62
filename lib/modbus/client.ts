/**
 * One Modbus device connection over modbus-serial: Modbus TCP, RTU over TCP (a serial gateway that
 * forwards raw RTU frames, modbus-serial's TelnetPort) or RTU on a serial port (RTUBufferedPort,
 * needs the optional serialport package). Requests are serialized (one in flight) through
 * a bounded queue; when it is full the drop policy decides (drop the oldest queued request or
 * refuse the newest) and counts it. The connection reconnects by itself with backoff capped at
 * 10 s; each attempt uses a fresh ModbusRTU instance (an instance that saw a socket error does not
 * reconnect cleanly), and a device that stops answering (several timeouts in a row) is dropped and
 * reconnected, so the client is never stuck on a half-open socket.
 */
import { EventEmitter } from "node:events";
import ModbusRTU from "modbus-serial";
import { LineGuardError, errorMessage } from "../errors";
import { backoffDelay } from "../retry";
import { type ModbusArea, isBitArea } from "./map";

export type ModbusProtocol = "tcp" | "rtu-over-tcp" | "rtu";
export type DropPolicy = "drop-oldest" | "refuse-newest";
export type ModbusClientState = "idle" | "connecting" | "connected" | "disconnected" | "closed";

export interface ModbusClientOptions {
  protocol?: ModbusProtocol;
  /** tcp / rtu-over-tcp: host and port (default 127.0.0.1:502). */
  host?: string;
  port?: number;
  /** rtu: serial device path and line settings. */
  serialPath?: string;
  baudRate?: number;
  parity?: "none" | "even" | "odd";
  dataBits?: 7 | 8;
  stopBits?: 1 | 2;
  /** Unit (slave) id 0..255, default 1. */
  unitId?: number;
  /** Answer timeout per request, ms (default 2000); also the connect timeout. */
  timeoutMs?: number;
  /** Reconnect backoff: first delay and cap, ms (defaults 500 and 10000; the cap is at most 10000). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Requests waiting behind the one in flight (default 100). */
  queueSize?: number;
  dropPolicy?: DropPolicy;
  /** Timeouts in a row after which the connection is dropped and made again (default 3). */
  maxTimeouts?: number;
  log?: (level: "debug" | "warn", text: string) => void;
  /** For tests: the jitter source of the backoff. */
  random?: () => number;
}

export const MAX_RECONNECT_MS = 10_000;

export interface ModbusClientStats {
  state: ModbusClientState;
  /** Requests sent to the device. */
  requests: number;
  /** Requests answered with data. */
  ok: number;
  /** Requests answered with a Modbus exception. */
  exceptions: number;
  timeouts: number;
  /** Other failures (transport errors, connection lost while waiting). */
  errors: number;
  /** Queued requests evicted by drop-oldest. */
  dropped: number;
  /** New requests turned away by refuse-newest. */
  refused: number;
  /** Requests turned away because the device was not connected. */
  notConnected: number;
  /** Requests waiting now. */
  queued: number;
  /** Successful connections after the first. */
  reconnects: number;
}

/** A Modbus exception response (the device answered, with an error code). */
export class ModbusExceptionError extends LineGuardError {
  readonly modbusCode: number;
  constructor(modbusCode: number, message: string) {
    // 5 acknowledge, 6 busy, 10/11 gateway: worth trying again
    super("modbus-exception", message, { retriable: [5, 6, 10, 11].includes(modbusCode) });
    this.name = "ModbusExceptionError";
    this.modbusCode = modbusCode;
  }
}

export function modbusError(code: string, message: string, retriable = true, cause?: unknown): LineGuardError {
  return new LineGuardError(code, message, { retriable, cause });
}

interface Pending {
  area: ModbusArea;
  address: number;
  count: number;
  unitId: number;
  resolve: (words: number[]) => void;
  reject: (err: Error) => void;
}

type Rtu = InstanceType<typeof ModbusRTU> & EventEmitter;

function intIn(v: number | undefined, d: number, min: number, max: number, what: string): number {
  const n = v ?? d;
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${what} must be an integer ${min}..${max}`);
  return n;
}

/** Options with defaults applied and checked (throws RangeError naming the bad setting). */
export function clientOptions(o: ModbusClientOptions): Required<Omit<ModbusClientOptions, "log" | "random">> {
  const protocol = o.protocol ?? "tcp";
  if (!["tcp", "rtu-over-tcp", "rtu"].includes(protocol))
    throw new RangeError(`protocol must be tcp, rtu-over-tcp or rtu, not "${String(protocol)}"`);
  const dropPolicy = o.dropPolicy ?? "drop-oldest";
  if (dropPolicy !== "drop-oldest" && dropPolicy !== "refuse-newest")
    throw new RangeError(`drop policy must be drop-oldest or refuse-newest, not "${String(dropPolicy)}"`);
  const host = (o.host ?? "127.0.0.1").trim();
  if (protocol !== "rtu" && host === "") throw new RangeError("host is required");
  const serialPath = (o.serialPath ?? "").trim();
  if (protocol === "rtu" && serialPath === "") throw new RangeError("a serial port path is required for RTU");
  const reconnectMaxMs = intIn(o.reconnectMaxMs, MAX_RECONNECT_MS, 100, MAX_RECONNECT_MS, "reconnect max (ms)");
  const parity = o.parity ?? "none";
  if (!["none", "even", "odd"].includes(parity)) throw new RangeError("parity must be none, even or odd");
  return {
    protocol,
    host,
    port: intIn(o.port, 502, 1, 65535, "port"),
    serialPath,
    baudRate: intIn(o.baudRate, 9600, 300, 4_000_000, "baud rate"),
    parity,
    dataBits: intIn(o.dataBits, 8, 7, 8, "data bits") as 7 | 8,
    stopBits: intIn(o.stopBits, 1, 1, 2, "stop bits") as 1 | 2,
    unitId: intIn(o.unitId, 1, 0, 255, "unit id"),
    timeoutMs: intIn(o.timeoutMs, 2000, 50, 60_000, "timeout (ms)"),
    reconnectMinMs: intIn(o.reconnectMinMs, 500, 10, reconnectMaxMs, "reconnect min (ms)"),
    reconnectMaxMs,
    queueSize: intIn(o.queueSize, 100, 1, 100_000, "queue size"),
    dropPolicy,
    maxTimeouts: intIn(o.maxTimeouts, 3, 1, 1000, "timeouts before reconnect"),
  };
}

export class ModbusClient extends EventEmitter {
  readonly options: Required<Omit<ModbusClientOptions, "log" | "random">>;
  private readonly log: (level: "debug" | "warn", text: string) => void;
  private readonly random: () => number;
  private rtu: Rtu | undefined;
  private _state: ModbusClientState = "idle";
  private _detail: string | undefined;
  private readonly queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private attempt = 0;
  private everConnected = false;
  private timeoutsInRow = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly counters = {
    requests: 0,
    ok: 0,
    exceptions: 0,
    timeouts: 0,
    errors: 0,
    dropped: 0,
    refused: 0,
    notConnected: 0,
    reconnects: 0,
  };

  constructor(opts: ModbusClientOptions = {}) {
    super();
    this.options = clientOptions(opts);
    this.log = opts.log ?? (() => undefined);
    this.random = opts.random ?? Math.random;
  }

  get state(): ModbusClientState {
    return this._state;
  }

  /** Why the device is not connected (last error), if known. */
  get detail(): string | undefined {
    return this._detail;
  }

  /** A description of the device for logs and status: host:port/unit or path/unit. */
  get target(): string {
    const o = this.options;
    return o.protocol === "rtu" ? `${o.serialPath}#${o.unitId}` : `${o.host}:${o.port}#${o.unitId}`;
  }

  stats(): ModbusClientStats {
    return { state: this._state, ...this.counters, queued: this.queue.length };
  }

  /** Connect (and keep reconnecting) until close(). */
  start(): void {
    if (this._state !== "idle") return;
    void this.connect();
  }

  /**
   * Read `count` registers (input/holding) or bits (coil/discrete) from `address`. Resolves to the
   * register words, or to 0/1 per bit. Rejects at once when not connected ("not-connected") or when
   * the queue is full under refuse-newest ("queue-full"); a queued request evicted by drop-oldest
   * rejects with "dropped".
   */
  read(area: ModbusArea, address: number, count: number, unitId = this.options.unitId): Promise<number[]> {
    const max = isBitArea(area) ? 2000 : 125;
    if (!Number.isInteger(count) || count < 1 || count > max)
      return Promise.reject(new RangeError(`count must be 1..${max} for ${area}`));
    if (!Number.isInteger(address) || address < 0 || address + count > 65536)
      return Promise.reject(new RangeError(`address ${address} + ${count} is outside 0..65535`));
    if (this._state === "closed")
      return Promise.reject(modbusError("closed", "the device connection is closed", false));
    if (this._state !== "connected") {
      this.counters.notConnected++;
      return Promise.reject(
        modbusError("not-connected", `not connected to ${this.target}${this._detail ? ` (${this._detail})` : ""}`),
      );
    }
    return new Promise<number[]>((resolve, reject) => {
      const p: Pending = { area, address, count, unitId, resolve, reject };
      if (this.queue.length >= this.options.queueSize) {
        if (this.options.dropPolicy === "refuse-newest") {
          this.counters.refused++;
          reject(modbusError("queue-full", `request queue full (${this.options.queueSize}): request refused`));
          return;
        }
        const old = this.queue.shift()!;
        this.counters.dropped++;
        old.reject(modbusError("dropped", `request queue full (${this.options.queueSize}): oldest request dropped`));
      }
      this.queue.push(p);
      this.pump();
    });
  }

  /** Stop: pending requests fail with "closed", the connection is closed. Always resolves. */
  async close(): Promise<void> {
    if (this._state === "closed") return;
    this.generation++;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.failAll(modbusError("closed", "the device connection is closed", false));
    const rtu = this.rtu;
    this.rtu = undefined;
    this.setState("closed");
    if (rtu) await destroy(rtu);
  }

  // ---- connection ---------------------------------------------------------------------------

  private setState(state: ModbusClientState, detail?: string): void {
    this._state = state;
    this._detail = detail;
    this.emit("state", state, detail);
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    const o = this.options;
    this.setState("connecting", this._detail);
    const rtu = new ModbusRTU() as Rtu;
    // an error event without a listener would crash the process
    rtu.on("error", (err: unknown) => this.log("debug", `modbus ${this.target}: ${errorMessage(err)}`));
    rtu.setTimeout(o.timeoutMs);
    rtu.setID(o.unitId);
    let timer: NodeJS.Timeout | undefined;
    try {
      const connecting =
        o.protocol === "tcp"
          ? rtu.connectTCP(o.host, { port: o.port })
          : o.protocol === "rtu-over-tcp"
            ? // raw RTU frames (with CRC) over a TCP socket, as transparent serial gateways forward
              // them: modbus-serial's TelnetPort (its "TcpRTUBufferedPort" sends Modbus TCP frames)
              rtu.connectTelnet(o.host, { port: o.port })
            : rtu.connectRTUBuffered(o.serialPath, {
                baudRate: o.baudRate,
                parity: o.parity,
                dataBits: o.dataBits,
                stopBits: o.stopBits,
              });
      await Promise.race([
        connecting,
        new Promise<never>((_r, reject) => {
          timer = setTimeout(
            () => reject(new Error(`connect timed out after ${Math.max(o.timeoutMs, 1000)} ms`)),
            Math.max(o.timeoutMs, 1000),
          );
        }),
      ]);
    } catch (err) {
      if (timer) clearTimeout(timer);
      await destroy(rtu);
      if (gen !== this.generation) return;
      this.scheduleReconnect(describeConnectError(err, this.target));
      return;
    }
    if (timer) clearTimeout(timer);
    if (gen !== this.generation) {
      await destroy(rtu);
      return;
    }
    this.rtu = rtu;
    rtu.on("close", () => {
      if (gen === this.generation) this.lost(`connection to ${this.target} closed`);
    });
    this.attempt = 0;
    this.timeoutsInRow = 0;
    if (this.everConnected) this.counters.reconnects++;
    this.everConnected = true;
    this.log("debug", `modbus ${this.target}: connected`);
    this.setState("connected");
    this.pump();
  }

  /** The connection broke: fail what waits, drop the instance, try again after a backoff. */
  private lost(reason: string): void {
    if (this._state === "closed") return;
    this.generation++;
    const rtu = this.rtu;
    this.rtu = undefined;
    this.failAll(modbusError("not-connected", reason));
    if (rtu) void destroy(rtu);
    this.scheduleReconnect(reason);
  }

  private scheduleReconnect(reason: string): void {
    if (this._state === "closed") return;
    const delay = backoffDelay(
      this.attempt++,
      { initialMs: this.options.reconnectMinMs, maxMs: this.options.reconnectMaxMs, multiplier: 2, factor: 0.2 },
      this.random,
    );
    this.log("debug", `modbus ${this.target}: ${reason}; reconnecting in ${delay} ms`);
    this.setState("disconnected", reason);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this._state !== "closed") void this.connect();
    }, delay);
  }

  private failAll(err: Error): void {
    const q = this.queue.splice(0);
    const f = this.inFlight;
    this.inFlight = undefined;
    if (f) {
      this.counters.errors++;
      f.reject(err);
    }
    for (const p of q) p.reject(err);
  }

  // ---- requests -----------------------------------------------------------------------------

  private pump(): void {
    if (this.inFlight || this._state !== "connected" || !this.rtu) return;
    const p = this.queue.shift();
    if (!p) return;
    this.inFlight = p;
    const rtu = this.rtu;
    const gen = this.generation;
    this.counters.requests++;
    rtu.setID(p.unitId);
    let settled = false;
    // modbus-serial has its own timeout; this guard only makes sure a lost callback cannot stall the queue
    const guard = setTimeout(
      () => finish(modbusError("timeout", `no answer within ${this.options.timeoutMs} ms`)),
      this.options.timeoutMs + 1000,
    );
    const finish = (err: unknown, words?: number[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      if (gen !== this.generation || this.inFlight !== p) return; // already failed by lost()/close()
      this.inFlight = undefined;
      if (err === undefined) {
        this.timeoutsInRow = 0;
        this.counters.ok++;
        p.resolve(words!);
      } else {
        const e = classify(err, this.options.timeoutMs);
        if (e.code === "timeout") {
          this.counters.timeouts++;
          this.timeoutsInRow++;
        } else if (e.code === "modbus-exception") {
          this.timeoutsInRow = 0;
          this.counters.exceptions++;
        } else this.counters.errors++;
        p.reject(e);
        if (e.code === "timeout" && this.timeoutsInRow >= this.options.maxTimeouts) {
          this.lost(`${this.timeoutsInRow} requests in a row without an answer from ${this.target}`);
          return;
        }
        if (e.code === "not-connected" && this.rtu === rtu && !rtu.isOpen) {
          this.lost(e.message);
          return;
        }
      }
      this.pump();
    };
    let call: Promise<{ data: (number | boolean)[] }>;
    try {
      call =
        p.area === "coil"
          ? rtu.readCoils(p.address, p.count)
          : p.area === "discrete"
            ? rtu.readDiscreteInputs(p.address, p.count)
            : p.area === "input"
              ? rtu.readInputRegisters(p.address, p.count)
              : rtu.readHoldingRegisters(p.address, p.count);
    } catch (err) {
      finish(err);
      return;
    }
    call.then(
      (res) => {
        const data = res.data;
        if (!Array.isArray(data) || data.length < p.count) {
          finish(modbusError("bad-response", `short answer: ${String(data?.length)} of ${p.count} values`));
          return;
        }
        finish(
          undefined,
          data.slice(0, p.count).map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v)),
        );
      },
      (err: unknown) => finish(err),
    );
  }
}

/** modbus-serial errors -> typed LineGuard errors. */
function classify(err: unknown, timeoutMs: number): LineGuardError {
  if (err instanceof LineGuardError) return err;
  const e = err as { modbusCode?: unknown; errno?: unknown; message?: unknown; name?: unknown };
  if (typeof e?.modbusCode === "number") return new ModbusExceptionError(e.modbusCode, String(e.message));
  if (e?.errno === "ETIMEDOUT" || e?.name === "TransactionTimedOutError")
    return modbusError("timeout", `no answer within ${timeoutMs} ms`, true, err);
  if (e?.name === "PortNotOpenError") return modbusError("not-connected", "port not open", true, err);
  return modbusError("transport", errorMessage(err), true, err);
}

function describeConnectError(err: unknown, target: string): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const m = errorMessage(err);
  if (e && typeof e.code === "string" && !m.includes(e.code)) return `cannot connect to ${target}: ${e.code} ${m}`;
  return `cannot connect to ${target}: ${m || "failed"}`;
}

/** Drop a ModbusRTU instance without waiting on a peer that may never answer. */
function destroy(rtu: Rtu): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 1000);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    try {
      rtu.removeAllListeners("close");
      const port = (rtu as unknown as { _port?: { destroy?: unknown } })._port;
      if (port && typeof port.destroy === "function") rtu.destroy(done);
      else rtu.close(done);
    } catch {
      done();
    }
  });
}
