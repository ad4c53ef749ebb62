/**
 * RTU on a serial port (modbus-serial RTUBufferedPort over the serialport package): the device is a
 * small RTU slave on the master side of a pseudo-terminal (Python's os.openpty, no hardware); the
 * client opens the slave side like any /dev/tty*. Skipped where there is no python3 or no pty.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import readline from "node:readline";
import { ModbusClient } from "../../../lib/modbus/client";
import { validateMap } from "../../../lib/modbus/map";
import { ModbusPoller } from "../../../lib/modbus/poller";
import { connected } from "./server";

/** An RTU slave for unit 5: register a holds (a * 7 + 1) & 0xffff, bit a is set when a % 3 == 0. */
const SLAVE = String.raw`
import os, sys, tty, select, struct
m, s = os.openpty()
tty.setraw(m)
tty.setraw(s)
print(os.ttyname(s), flush=True)
def crc16(b):
    c = 0xFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
    return c
buf = b""
while True:
    r, _, _ = select.select([m, sys.stdin], [], [])
    if sys.stdin in r and not os.read(sys.stdin.fileno(), 64):
        break
    if m not in r:
        continue
    buf += os.read(m, 512)
    while len(buf) >= 8:
        f = buf[:8]
        if crc16(f[:6]) != struct.unpack("<H", f[6:8])[0]:
            buf = buf[1:]
            continue
        buf = buf[8:]
        unit, fc, addr, cnt = f[0], f[1], struct.unpack(">H", f[2:4])[0], struct.unpack(">H", f[4:6])[0]
        if unit != 5:
            continue
        if fc in (3, 4):
            body = b"".join(struct.pack(">H", ((addr + i) * 7 + 1) & 0xFFFF) for i in range(cnt))
        elif fc in (1, 2):
            bits = bytearray((cnt + 7) // 8)
            for i in range(cnt):
                if (addr + i) % 3 == 0:
                    bits[i // 8] |= 1 << (i % 8)
            body = bytes(bits)
        else:
            out = bytes([unit, fc | 0x80, 1])
            os.write(m, out + struct.pack("<H", crc16(out)))
            continue
        out = bytes([unit, fc, len(body)]) + body
        os.write(m, out + struct.pack("<H", crc16(out)))
`;

describe("modbus client: RTU on a serial port (pseudo-terminal)", function () {
  this.timeout(30_000);
  let slave: ChildProcessWithoutNullStreams | undefined;
  let path = "";

  before(async function () {
    const probe = spawnSync("python3", ["-c", "import os; os.openpty()"], { timeout: 10_000 });
    if (probe.status !== 0) this.skip();
    slave = spawn("python3", ["-u", "-c", SLAVE]);
    path = await new Promise<string>((resolve, reject) => {
      const rl = readline.createInterface({ input: slave!.stdout });
      rl.once("line", (l) => resolve(l.trim()));
      slave!.once("exit", (code) => reject(new Error(`RTU slave exited (${String(code)})`)));
    });
  });
  after(() => {
    slave?.stdin.end();
    slave?.kill();
  });

  it("reads registers and bits over RTU framing, CRC checked by both sides", async () => {
    const client = new ModbusClient({ protocol: "rtu", serialPath: path, baudRate: 19200, unitId: 5, timeoutMs: 1000 });
    try {
      client.start();
      await connected(client);
      assert.deepEqual(await client.read("holding", 10, 3), [71, 78, 85]);
      const defs = validateMap([
        { name: "a", area: "input", address: 0, type: "uint16" },
        { name: "b", area: "input", address: 1, type: "uint32" },
        { name: "c0", area: "coil", address: 0 },
        { name: "c1", area: "coil", address: 1 },
        { name: "d3", area: "discrete", address: 3 },
      ]);
      const r = await new ModbusPoller(client, defs).poll();
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.record?.values, { a: 1, b: (8 << 16) + 15, c0: true, c1: false, d3: true });
      // another unit id gets no answer: a timeout, not a hang
      const other = await client.read("holding", 0, 1, 9).then(
        () => "answered",
        (e: { code?: string }) => e.code,
      );
      assert.equal(other, "timeout");
    } finally {
      await client.close();
    }
  });
});
