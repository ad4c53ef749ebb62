/**
 * A real modbus-serial ServerTCP on 127.0.0.1 for the Modbus tests: four address spaces held in
 * arrays, illegal-address ranges (answered with exception 2), a gate that holds answers back, and a
 * count of the requests the server receives (parsed from the MBAP frames on its sockets).
 */
import net from "node:net";
import { ServerTCP } from "modbus-serial";
import type { ModbusClient } from "../../../lib/modbus/client";
import type { ModbusArea } from "../../../lib/modbus/map";

export interface SeenRequest {
  unit: number;
  fc: number;
  area: ModbusArea | "other";
  address: number;
  count: number;
}

export interface TestModbusServer {
  port: number;
  /** Requests received, in order. */
  requests: SeenRequest[];
  /** Words (registers) or 0/1 (bits) per area. */
  data: Record<ModbusArea, Uint16Array>;
  set(area: ModbusArea, address: number, words: readonly number[]): void;
  /** Addresses answered with "illegal data address" (exception 2). */
  illegal: Record<ModbusArea, Set<number>>;
  /** While set, answers wait for release() (or never come when release is not called). */
  hold(): void;
  release(): void;
  /** Connected client sockets. */
  sockets(): number;
  close(): Promise<void>;
}

const FC_AREA: Record<number, ModbusArea> = { 1: "coil", 2: "discrete", 3: "holding", 4: "input" };

/** A port that was free a moment ago (ServerTCP treats port 0 as 502, so it cannot pick one itself). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startModbusServer(
  port?: number,
  data?: Record<ModbusArea, Uint16Array>,
): Promise<TestModbusServer> {
  const p = port ?? (await freePort());
  const store: Record<ModbusArea, Uint16Array> = data ?? {
    coil: new Uint16Array(65536),
    discrete: new Uint16Array(65536),
    input: new Uint16Array(65536),
    holding: new Uint16Array(65536),
  };
  const illegal: Record<ModbusArea, Set<number>> = {
    coil: new Set(),
    discrete: new Set(),
    input: new Set(),
    holding: new Set(),
  };
  const requests: SeenRequest[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;

  const get = (area: ModbusArea, addr: number): number | Promise<number> => {
    if (illegal[area].has(addr)) throw { modbusErrorCode: 2, msg: "illegal data address" };
    const v = store[area][addr]!;
    return gate ? gate.then(() => v) : v;
  };
  const vector = {
    getCoil: (addr: number) =>
      gate ? (get("coil", addr) as Promise<number>).then(Boolean) : Boolean(get("coil", addr)),
    getDiscreteInput: (addr: number) =>
      gate ? (get("discrete", addr) as Promise<number>).then(Boolean) : Boolean(get("discrete", addr)),
    getInputRegister: (addr: number) => get("input", addr),
    getHoldingRegister: (addr: number) => get("holding", addr),
  };
  const server = new ServerTCP(vector as never, { host: "127.0.0.1", port: p, unitID: 255 });
  await new Promise<void>((resolve, reject) => {
    server.once("initialized", () => resolve());
    server.once("serverError", reject);
  });
  server.on("socketError", () => undefined);
  server.on("error", () => undefined);
  const inner = (server as unknown as { _server: net.Server })._server;
  inner.on("connection", (sock: net.Socket) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 12) {
        const len = buf.readUInt16BE(4);
        if (buf.length < 6 + len) break;
        const fc = buf[7]!;
        requests.push({
          unit: buf[6]!,
          fc,
          area: FC_AREA[fc] ?? "other",
          address: buf.readUInt16BE(8),
          count: buf.readUInt16BE(10),
        });
        buf = buf.subarray(6 + len);
      }
    });
  });
  return {
    port: p,
    requests,
    data: store,
    illegal,
    set(area, address, words) {
      words.forEach((w, i) => (store[area][address + i] = w));
    },
    hold() {
      if (!gate) gate = new Promise<void>((r) => (open = r));
    },
    release() {
      const o = open;
      gate = undefined;
      open = undefined;
      o?.();
    },
    sockets: () => server.socks.size,
    close: () =>
      new Promise<void>((resolve) => {
        const o = open;
        gate = undefined;
        open = undefined;
        o?.();
        server.close(() => resolve());
      }),
  };
}

/** Resolves when the client is connected; fails after ms. */
export async function connected(client: ModbusClient, ms = 10_000): Promise<void> {
  if (client.state === "connected") return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      client.off("state", on);
      reject(new Error(`not connected within ${ms} ms (state ${client.state}: ${client.detail ?? ""})`));
    }, ms);
    const on = (s: string): void => {
      if (s === "connected") {
        clearTimeout(t);
        client.off("state", on);
        resolve();
      }
    };
    client.on("state", on);
  });
}
