/**
 * bench/modbus: polls/s and registers/s of lib/modbus (client + coalescing poller, as the modbus in
 * node runs them) against the glass simulator's Modbus TCP server started in-process on 127.0.0.1.
 * Scenarios: the furnace and forming maps polled back to back on one connection; the same with
 * coalescing off (max gap 0, span 1: one request per entry) to show what coalescing buys; N lines
 * polled concurrently over one shared connection (requests serialized by the device queue).
 * Prints figures; asserts nothing.
 *
 * Options (env): BENCH_SECONDS per scenario (3), BENCH_LINES (4).
 * Run: npm run build && node dist/bench/modbus/run.js
 */
import { ModbusClient } from "../../lib/modbus/client";
import { plannedAddresses } from "../../lib/modbus/coalesce";
import { type RegisterDef, validateMap } from "../../lib/modbus/map";
import { ModbusPoller, type PollerOptions } from "../../lib/modbus/poller";
import { GlassModbusServer } from "../../lib/sim/glass/modbus-server";
import { GlassPlant } from "../../lib/sim/glass/model";
import { glassRegisterMap, unitIdsForLine } from "../../lib/sim/glass/register-map";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const LINES = Number(process.env.BENCH_LINES ?? 4);

interface Job {
  defs: RegisterDef[];
  unitId: number;
}

async function connected(client: ModbusClient): Promise<void> {
  if (client.state === "connected") return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not connected: ${client.detail ?? client.state}`)), 10_000);
    client.on("state", (s: string) => {
      if (s === "connected") {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

/** Poll every job back to back (each job in its own loop, all concurrently) for SECONDS. */
async function run(what: string, client: ModbusClient, jobs: Job[], opts: PollerOptions): Promise<void> {
  const pollers = jobs.map((j) => new ModbusPoller(client, j.defs, { ...opts, unitId: j.unitId }));
  const perPoll = pollers.map((p) => plannedAddresses(p.plan));
  const requestsPerPoll = pollers.reduce((s, p) => s + p.plan.length, 0);
  let polls = 0;
  let registers = 0;
  let requests = 0;
  let errors = 0;
  const lags: number[] = [];
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let last = performance.now();
  const lagTimer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - last - 10));
    last = now;
  }, 10);
  await Promise.all(
    pollers.map(async (p, i) => {
      while (performance.now() < end) {
        const r = await p.poll();
        polls++;
        requests += r.requests;
        registers += perPoll[i]!;
        if (r.errors.length > 0) errors++;
      }
    }),
  );
  clearInterval(lagTimer);
  const ms = performance.now() - t0;
  lags.sort((a, b) => a - b);
  const p99 = lags.length ? lags[Math.min(lags.length - 1, Math.floor(lags.length * 0.99))]! : 0;
  const rate = (n: number): string => Math.round((n / ms) * 1000).toLocaleString("en-US");
  process.stdout.write(
    `${what.padEnd(48)} ${String(jobs.length).padStart(2)} maps, ${String(requestsPerPoll).padStart(3)} req/round: ` +
      `${rate(polls).padStart(7)} polls/s  ${rate(requests).padStart(7)} requests/s  ` +
      `${rate(registers).padStart(9)} registers/s  errors ${errors}  loop lag p99 ${p99.toFixed(1)} ms\n`,
  );
}

async function main(): Promise<void> {
  const plant = new GlassPlant({ lines: LINES, seed: 42 });
  const sim = new GlassModbusServer(plant, { port: 0 });
  await sim.start();
  sim.update(plant.step(1000));
  const client = new ModbusClient({ host: "127.0.0.1", port: sim.listeningPort, queueSize: 1000 });
  client.start();
  await connected(client);
  process.stdout.write(
    `bench/modbus: node ${process.version}, glass simulator Modbus TCP on 127.0.0.1:${sim.listeningPort}, ${SECONDS} s per scenario\n`,
  );
  const furnace = validateMap(glassRegisterMap("furnace"));
  const forming = validateMap(glassRegisterMap("forming"));
  const line0 = unitIdsForLine(0);
  const both: Job[] = [
    { defs: furnace, unitId: line0.furnace },
    { defs: forming, unitId: line0.forming },
  ];
  try {
    await run("one line, coalesced (span 120, gap 10)", client, both, {});
    await run("one line, not coalesced (one request per entry)", client, both, {
      maxSpan: 1,
      maxGap: 0,
      maxBitGap: 0,
      maxBitSpan: 1,
    });
    const all: Job[] = [];
    for (let k = 0; k < LINES; k++) {
      const ids = unitIdsForLine(k);
      all.push({ defs: furnace, unitId: ids.furnace }, { defs: forming, unitId: ids.forming });
    }
    await run(`${LINES} lines on one shared connection, coalesced`, client, all, {});
    const s = client.stats();
    process.stdout.write(
      `client: ${s.requests} requests, ${s.ok} ok, ${s.exceptions} exceptions, ${s.timeouts} timeouts, ` +
        `${s.dropped + s.refused} dropped; server counted ${sim.requestCount}\n`,
    );
  } finally {
    await client.close();
    await sim.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
