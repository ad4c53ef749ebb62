/**
 * ModbusClient against a real ServerTCP on 127.0.0.1: fail-fast when not connected, the bounded
 * queue and its drop policies, timeouts that drop a silent connection, reconnect after a server
 * restart on the same port, close with requests pending, and RTU over TCP through a gateway.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { ModbusClient, clientOptions } from "../../../lib/modbus/client";
import { type TestModbusServer, connected, freePort, startModbusServer } from "./server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const crc16 = require("modbus-serial/utils/crc16") as (b: Buffer) => number;

function settle<T>(
  p: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; err: { code?: string; message: string } }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (err: { code?: string; message: string }) => ({ ok: false as const, err }),
  );
}

/** Wait until `cond` holds, checking on every state change and every 20 ms; fails after ms. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A minimal RTU-over-TCP gateway: takes raw RTU read frames (unit, fc, address, count, CRC),
 * forwards them as Modbus TCP to `port`, and answers with RTU frames (CRC appended).
 */
async function startRtuGateway(port: number): Promise<{ port: number; frames: number; close(): Promise<void> }> {
  const state = { frames: 0 };
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on("close", () => socks.delete(sock));
    const up = net.connect(port, "127.0.0.1");
    up.on("error", () => sock.destroy());
    sock.on("error", () => up.destroy());
    sock.on("close", () => up.destroy());
    let rbuf = Buffer.alloc(0);
    let ubuf = Buffer.alloc(0);
    let tid = 0;
    sock.on("data", (d: Buffer) => {
      rbuf = Buffer.concat([rbuf, d]);
      while (rbuf.length >= 8) {
        const frame = rbuf.subarray(0, 8);
        rbuf = rbuf.subarray(8);
        if (crc16(frame.subarray(0, 6)) !== frame.readUInt16LE(6)) continue;
        state.frames++;
        const mbap = Buffer.alloc(6);
        mbap.writeUInt16BE(++tid & 0xffff, 0);
        mbap.writeUInt16BE(6, 4);
        up.write(Buffer.concat([mbap, frame.subarray(0, 6)]));
      }
    });
    up.on("data", (d: Buffer) => {
      ubuf = Buffer.concat([ubuf, d]);
      while (ubuf.length >= 6 && ubuf.length >= 6 + ubuf.readUInt16BE(4)) {
        const len = ubuf.readUInt16BE(4);
        const pdu = ubuf.subarray(6, 6 + len);
        ubuf = ubuf.subarray(6 + len);
        const out = Buffer.alloc(len + 2);
        pdu.copy(out);
        out.writeUInt16LE(crc16(pdu), len);
        sock.write(out);
      }
    });
  });
  const p = await freePort();
  await new Promise<void>((r) => server.listen(p, "127.0.0.1", r));
  return {
    port: p,
    get frames() {
      return state.frames;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of socks) s.destroy();
      }),
  };
}

describe("modbus client against a real ServerTCP", function () {
  this.timeout(30_000);
  const clients: ModbusClient[] = [];
  const servers: TestModbusServer[] = [];
  const make = (o: ConstructorParameters<typeof ModbusClient>[0]): ModbusClient => {
    const c = new ModbusClient({ random: () => 0.5, ...o });
    clients.push(c);
    return c;
  };
  const serve = async (port?: number): Promise<TestModbusServer> => {
    const s = await startModbusServer(port);
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("checks its options", () => {
    assert.throws(() => clientOptions({ protocol: "udp" as never }), /protocol must be tcp, rtu-over-tcp or rtu/);
    assert.throws(
      () => clientOptions({ reconnectMaxMs: 30_000 }),
      /reconnect max \(ms\) must be an integer 100..10000/,
    );
    assert.throws(() => clientOptions({ unitId: 256 }), /unit id/);
    assert.throws(() => clientOptions({ protocol: "rtu" }), /serial port path is required/);
    assert.throws(() => clientOptions({ queueSize: 0 }), /queue size/);
    assert.throws(() => clientOptions({ dropPolicy: "random" as never }), /drop policy/);
    assert.equal(clientOptions({}).reconnectMaxMs, 10_000);
  });

  it("fails fast while not connected and keeps trying to connect (capped backoff)", async () => {
    const port = await freePort();
    const c = make({ port, reconnectMinMs: 50, reconnectMaxMs: 200 });
    const states: string[] = [];
    c.on("state", (s: string) => states.push(s));
    const r0 = await settle(c.read("holding", 0, 1));
    assert.equal(r0.ok ? "" : r0.err.code, "not-connected");
    c.start();
    await until(() => states.filter((s) => s === "connecting").length >= 3, 5000, "three connect attempts");
    assert.match(c.detail ?? "", /ECONNREFUSED/);
    const r1 = await settle(c.read("holding", 0, 1));
    assert.equal(r1.ok ? "" : r1.err.code, "not-connected");
    assert.equal(c.stats().notConnected, 2);
    // the server appears: connected without any help
    const srv = await serve(port);
    srv.set("holding", 7, [4242]);
    await connected(c);
    assert.deepEqual(await c.read("holding", 7, 1), [4242]);
  });

  it("bounded queue, drop-oldest: the oldest waiting requests are dropped and counted", async () => {
    const srv = await serve();
    srv.set("holding", 0, [1, 2, 3, 4, 5, 6]);
    const c = make({ port: srv.port, queueSize: 3, dropPolicy: "drop-oldest" });
    c.start();
    await connected(c);
    srv.hold();
    const first = settle(c.read("holding", 0, 1)); // in flight
    await until(() => srv.requests.length === 1, 5000, "the first request at the server");
    const rest = [1, 2, 3, 4, 5].map((a) => settle(c.read("holding", a, 1)));
    assert.equal(c.stats().queued, 3);
    assert.equal(c.stats().dropped, 2);
    srv.release();
    const out = await Promise.all([first, ...rest]);
    assert.deepEqual(
      out.map((r) => (r.ok ? r.value[0] : r.err.code)),
      [1, "dropped", "dropped", 4, 5, 6],
    );
    assert.equal(srv.requests.length, 4, "dropped requests never reach the device");
    const s = c.stats();
    assert.deepEqual([s.requests, s.ok, s.dropped, s.refused, s.queued], [4, 4, 2, 0, 0]);
  });

  it("bounded queue, refuse-newest: new requests are refused while it is full", async () => {
    const srv = await serve();
    srv.set("input", 0, [10, 11, 12, 13, 14]);
    const c = make({ port: srv.port, queueSize: 2, dropPolicy: "refuse-newest" });
    c.start();
    await connected(c);
    srv.hold();
    const all = [0, 1, 2, 3, 4].map((a) => settle(c.read("input", a, 1)));
    assert.equal(c.stats().refused, 2);
    srv.release();
    const out = await Promise.all(all);
    assert.deepEqual(
      out.map((r) => (r.ok ? r.value[0] : r.err.code)),
      [10, 11, 12, "queue-full", "queue-full"],
    );
  });

  it("a device that stops answering: timeouts, then the connection is dropped and made again", async () => {
    const srv = await serve();
    const c = make({ port: srv.port, timeoutMs: 150, maxTimeouts: 2, reconnectMinMs: 50, reconnectMaxMs: 100 });
    const states: string[] = [];
    c.on("state", (s: string) => states.push(s));
    c.start();
    await connected(c);
    srv.hold();
    const a = await settle(c.read("holding", 0, 1));
    const b = await settle(c.read("holding", 0, 1));
    assert.equal(a.ok ? "" : a.err.code, "timeout");
    assert.equal(b.ok ? "" : b.err.code, "timeout");
    assert.ok(states.includes("disconnected"), states.join(","));
    srv.release();
    await connected(c);
    assert.deepEqual(await c.read("holding", 0, 1), [0]);
    const s = c.stats();
    assert.equal(s.timeouts, 2);
    assert.equal(s.reconnects, 1);
  });

  it("reconnects after the server is stopped and a new one starts on the same port (within 10 s)", async () => {
    let srv = await serve();
    const port = srv.port;
    srv.set("holding", 5, [111]);
    const c = make({ port, reconnectMinMs: 100, reconnectMaxMs: 1000 });
    c.start();
    await connected(c);
    assert.deepEqual(await c.read("holding", 5, 1), [111]);
    await srv.close();
    await until(() => c.state !== "connected", 5000, "the client to see the server go");
    const r = await settle(c.read("holding", 5, 1));
    assert.equal(r.ok ? "" : r.err.code, "not-connected");
    srv = await serve(port);
    srv.set("holding", 5, [222]);
    await connected(c, 10_000);
    assert.deepEqual(await c.read("holding", 5, 1), [222]);
    assert.equal(c.stats().reconnects, 1);
  });

  it("close() fails what is pending with 'closed' and resolves even with an answer outstanding", async () => {
    const srv = await serve();
    const c = make({ port: srv.port });
    c.start();
    await connected(c);
    srv.hold();
    const p = [settle(c.read("coil", 0, 8)), settle(c.read("coil", 8, 8))];
    await until(() => srv.requests.length === 1, 5000, "the request at the server");
    await c.close();
    const out = await Promise.all(p);
    assert.deepEqual(
      out.map((r) => (r.ok ? "ok" : r.err.code)),
      ["closed", "closed"],
    );
    assert.equal(c.state, "closed");
    const after = await settle(c.read("coil", 0, 1));
    assert.equal(after.ok ? "" : after.err.code, "closed");
  });

  it("RTU over TCP: raw RTU frames with CRC through a serial gateway", async () => {
    const srv = await serve();
    srv.set("holding", 100, [0x3fc0, 0, 7]);
    srv.set("coil", 3, [1]);
    const gw = await startRtuGateway(srv.port);
    try {
      const c = make({ protocol: "rtu-over-tcp", port: gw.port, unitId: 17 });
      c.start();
      await connected(c);
      assert.deepEqual(await c.read("holding", 100, 3), [0x3fc0, 0, 7]);
      assert.deepEqual(await c.read("coil", 0, 5), [0, 0, 0, 1, 0]);
      assert.equal(gw.frames, 2);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await gw.close();
    }
  });
});
