/**
 * lineguard-sim: the simulators' command line.
 * CNC line:
 *   lineguard-sim generate --machines 3 --hours 12 --rate 1 --seed 42 --failures cnc-01:bearing-wear@2h+30m --out data.csv
 *   lineguard-sim run [--opcua-port 4840] [--mqtt-url mqtt://...] [--http-port 8089] [--machines 3] [--rate 1] [--labels]
 *   lineguard-sim inject cnc-01 bearing-wear [--ramp 600]     (and clear, maintenance, state, rate: via the HTTP API)
 * Glass line (the same commands after "glass"):
 *   lineguard-sim glass generate --lines 3 --hours 24 --rate 1 --seed 42 --out glass.csv
 *   lineguard-sim glass run [--modbus-port 5020] [--opcua-port 4841] [--http-port 8090] [--camera-port 8091]
 *   lineguard-sim glass inject glass-01 burner-failure [--ramp 600] [--zone 2] | camera-inject crack [--count 2] | ...
 * See docs/simulator.md.
 */
import fs from "node:fs";
import { errorMessage } from "../errors";
import { generateCsv, parseDuration, parseFailureSchedule } from "./cnc/generate";
import type { OpcuaSimOptions } from "./common/opcua-base";
import type { CncSimulator } from "./cnc/simulator";
import { DEFAULT_HTTP_PORT } from "./cnc/http-control";
import type { TimestampFormat } from "./cnc/mqtt-collector";
import { generateGlassCsv, parseGlassFailureSchedule } from "./glass/generate";
import { DEFAULT_GLASS_HTTP_PORT } from "./glass/http-control";
import type { GlassSimulator } from "./glass/simulator";

export interface CliIo {
  /** May return a Promise to apply back-pressure. */
  out: (text: string) => void | Promise<void>;
  err: (text: string) => void;
  /** Resolves when the process should stop (SIGINT/SIGTERM in the real CLI). */
  stopSignal?: Promise<void>;
  /** Called once `run` is up, with the simulator (tests). */
  onStarted?: (sim: CncSimulator) => void;
  /** Called once `glass run` is up, with the simulator (tests). */
  onGlassStarted?: (sim: GlassSimulator) => void;
}

export const USAGE = `Usage: lineguard-sim <command> [options]

Commands:
  generate     write a training CSV as fast as possible (no wall clock)
               --machines 3 --hours 12 --rate 1 --seed 42 --start 2025-01-06T06:00:00Z
               --failures cnc-01:bearing-wear@2h+30m,cnc-02:coolant-loss@5h  (machine:type@at[+ramp])
               --random-failure-rate 0 (per machine-hour)  --no-labels  --out data.csv (default stdout)
  run          live simulator: OPC UA server + MQTT collector + HTTP control API, until Ctrl-C
               --machines 3 --rate 1 --seed <random> --labels --random-failure-rate 0
               --opcua-port 4840 | --no-opcua   --pki-dir <dir>   --user <name> (password: --password or
               env LINEGUARD_SIM_PASSWORD)   --no-anonymous
               --mqtt-url mqtt://host:1883 (default: embedded broker) --mqtt-port 1883 --mqtt-topic cnc/{cnc_id}/data
               --mqtt-timestamp iso|epoch-s|epoch-ms | --no-mqtt
               --http-port 8089 | --no-http   --host 127.0.0.1
  inject <machine> <type> [--ramp 600]   failure types: bearing-wear, tool-wear, spindle-overheat,
                                          coolant-loss, axis-misalignment
  clear <machine>
  maintenance <machine> [--seconds 600]
  state [machine]
  rate <hz>
  start | stop                                  resume / pause the data
               control commands use --url http://127.0.0.1:${DEFAULT_HTTP_PORT} (or env LINEGUARD_SIM_URL)
  glass <command>                               the float-glass line (Modbus TCP + OPC UA + camera), below

Glass line: lineguard-sim glass <command> [options]
  generate     --lines 1 --hours 12 --rate 1 --seed 42 --start 2025-01-06T06:00:00Z
               --failures glass-01:burner-failure/2@2h+30m,glass-01:thickness-drift@5h  (line:type[/zone]@at[+ramp])
               --random-failure-rate 0 (per line-hour)  --no-labels  --out glass.csv (default stdout)
  run          --lines 1 --rate 1 --seed <random> --labels --random-failure-rate 0
               --modbus-port 5020 | --no-modbus   (unit ids 1 furnace PLC, 2 forming/lehr PLC; line k: 1+2k, 2+2k)
               --opcua-port 4841 | --no-opcua   --pki-dir <dir>   --user <name> (password: --password or
               env LINEGUARD_SIM_PASSWORD)   --no-anonymous
               --camera-port 8091 | --no-camera   --camera-fps 2   --defect-rate 0.3   --camera-line glass-01
               --camera-user <name> (password: env LINEGUARD_SIM_CAMERA_PASSWORD)
               --http-port 8090 | --no-http   --host 127.0.0.1
  inject <line> <type> [--ramp 600] [--zone N]  failure types: furnace-zone-drift, burner-failure,
                                          tin-bath-contamination, lehr-cooling-fault, thickness-drift
  clear <line> | maintenance <line> [--seconds 900] | ack <line> | state [line] | rate <hz> | start | stop
  camera-inject <class> [--count 1]             classes: bubble, stone, scratch, crack, tin_drip
               control commands use --url http://127.0.0.1:${DEFAULT_GLASS_HTTP_PORT} (or env LINEGUARD_GLASS_SIM_URL)
`;

const FLAGS = new Set([
  "labels",
  "no-labels",
  "no-opcua",
  "no-mqtt",
  "no-http",
  "no-anonymous",
  "no-modbus",
  "no-camera",
  "help",
]);

export function parseArgs(argv: string[]): { positional: string[]; opts: Map<string, string> } {
  const positional: string[] = [];
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h") {
      opts.set("help", "true");
    } else if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) opts.set(key, a.slice(eq + 1));
      else if (FLAGS.has(key)) opts.set(key, "true");
      else {
        const v = argv[i + 1];
        if (v === undefined) throw new Error(`--${key} needs a value`);
        opts.set(key, v);
        i++;
      }
    } else positional.push(a);
  }
  return { positional, opts };
}

function num(opts: Map<string, string>, key: string, def?: number): number | undefined {
  const v = opts.get(key);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} must be a number, got "${v}"`);
  return n;
}

function int(opts: Map<string, string>, key: string, def?: number): number | undefined {
  const n = num(opts, key, def);
  if (n !== undefined && !Number.isInteger(n)) throw new Error(`--${key} must be an integer`);
  return n;
}

function startOpt(opts: Map<string, string>): number | undefined {
  const start = opts.get("start");
  const startTs = start === undefined ? undefined : Date.parse(start);
  if (startTs !== undefined && !Number.isFinite(startTs)) throw new Error(`--start is not a time: "${start}"`);
  return startTs;
}

function hoursOpt(opts: Map<string, string>): number {
  const hoursText = opts.get("hours") ?? "1";
  return /[smh]$/.test(hoursText) ? parseDuration(hoursText) / 3600 : Number(hoursText);
}

/** The model options both simulators take (after the unit count, hours/rate/seed/start and labels). */
function modelOpts(opts: Map<string, string>) {
  return {
    randomFailureRate: num(opts, "random-failure-rate", 0),
    maintenanceSeconds: num(opts, "maintenance-seconds"),
    autoMaintenanceSeconds: num(opts, "auto-maintenance-seconds"),
  };
}

/** The generator options both simulators take: `count` (machines, lines) first, `parse` reads --failures. */
function generateOpts<K extends string, F>(
  opts: Map<string, string>,
  count: K,
  defCount: number,
  parse: (text: string) => F[],
) {
  const units = { [count]: int(opts, count, defCount) } as Record<K, number | undefined>;
  return {
    ...units,
    hours: hoursOpt(opts),
    rate: num(opts, "rate", 1)!,
    seed: int(opts, "seed", 42),
    startTs: startOpt(opts),
    labels: opts.get("no-labels") !== "true",
    failures: parse(opts.get("failures") ?? ""),
    ...modelOpts(opts),
  };
}

async function generate(opts: Map<string, string>, io: CliIo): Promise<number> {
  const options = generateOpts(opts, "machines", 3, parseFailureSchedule);
  return writeCsv(opts.get("out"), io, (write) => generateCsv(options, write));
}

async function generateGlass(opts: Map<string, string>, io: CliIo): Promise<number> {
  const options = generateOpts(opts, "lines", 1, parseGlassFailureSchedule);
  return writeCsv(opts.get("out"), io, (write) => generateGlassCsv(options, write));
}

/** Run a CSV generator to stdout or to a file (written under a temporary name, renamed when complete). */
async function writeCsv(
  out: string | undefined,
  io: CliIo,
  gen: (write: (chunk: string) => void | Promise<void>) => Promise<number>,
): Promise<number> {
  if (!out || out === "-") {
    const rows = await gen((chunk) => io.out(chunk));
    io.err(`${rows} rows\n`);
    return 0;
  }
  const tmp = `${out}.part-${process.pid}`;
  const fd = fs.openSync(tmp, "w");
  try {
    const rows = await gen((chunk) => {
      fs.writeSync(fd, chunk);
    });
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
    io.err(`wrote ${rows} rows to ${out}\n`);
    return 0;
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** --host and the OPC UA user (password from --password or env LINEGUARD_SIM_PASSWORD). */
function serverOpts(opts: Map<string, string>): { host: string; opcua: OpcuaSimOptions | false } {
  const host = opts.get("host") ?? "127.0.0.1";
  const username = opts.get("user");
  const password = opts.get("password") ?? process.env.LINEGUARD_SIM_PASSWORD;
  if (username && !password) throw new Error("--user needs a password (--password or env LINEGUARD_SIM_PASSWORD)");
  const opcua = (): OpcuaSimOptions => ({
    port: int(opts, "opcua-port"),
    host,
    pkiDir: opts.get("pki-dir"),
    allowAnonymous: opts.get("no-anonymous") !== "true",
    user: username ? { username, password: password! } : undefined,
  });
  return { host, opcua: opts.get("no-opcua") === "true" ? false : opcua() };
}

/** The live options both simulators take (after the unit count). */
function liveOpts(opts: Map<string, string>) {
  return {
    rate: num(opts, "rate", 1),
    seed: int(opts, "seed", Math.floor(Math.random() * 2 ** 31)),
    labels: opts.get("labels") === "true",
    ...modelOpts(opts),
  };
}

/** Start `sim`, print its endpoints, run until the stop signal (SIGINT/SIGTERM), stop it. */
async function serve<S extends { start(): Promise<void>; stop(): Promise<void> }>(
  sim: S,
  io: CliIo,
  name: string,
  what: string,
  endpoints: Record<string, string>,
  onStarted: ((sim: S) => void) | undefined,
): Promise<number> {
  io.err(
    `${name}: ${what}\n` +
      Object.entries(endpoints)
        .map(([k, v]) => `  ${k}: ${v}\n`)
        .join(""),
  );
  onStarted?.(sim);
  await (io.stopSignal ??
    new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    }));
  await sim.stop();
  io.err(`${name}: stopped\n`);
  return 0;
}

async function run(opts: Map<string, string>, io: CliIo): Promise<number> {
  const { host, opcua } = serverOpts(opts);
  // Loaded here: node-opcua is heavy and `generate` does not need it.
  const { CncSimulator } = await import("./cnc/simulator");
  const sim = new CncSimulator({
    machines: int(opts, "machines", 3),
    ...liveOpts(opts),
    opcua,
    mqtt:
      opts.get("no-mqtt") === "true"
        ? false
        : {
            url: opts.get("mqtt-url"),
            port: int(opts, "mqtt-port"),
            host,
            topic: opts.get("mqtt-topic"),
            timestampFormat: opts.get("mqtt-timestamp") as TimestampFormat | undefined,
            username: opts.get("mqtt-user"),
            password: process.env.LINEGUARD_SIM_MQTT_PASSWORD,
          },
    http: opts.get("no-http") === "true" ? false : { port: int(opts, "http-port"), host },
  });
  await sim.start();
  const st = sim.status();
  const what = `${st.machines.length} machines at ${st.rate} Hz`;
  return serve(sim, io, "lineguard-sim", what, st.endpoints, io.onStarted);
}

async function runGlass(opts: Map<string, string>, io: CliIo): Promise<number> {
  const { host, opcua } = serverOpts(opts);
  const cameraUser = opts.get("camera-user");
  const cameraPassword = process.env.LINEGUARD_SIM_CAMERA_PASSWORD;
  if (cameraUser && !cameraPassword) throw new Error("--camera-user needs env LINEGUARD_SIM_CAMERA_PASSWORD");
  // Loaded here: node-opcua and sharp are heavy and `generate` does not need them.
  const { GlassSimulator } = await import("./glass/simulator");
  const sim = new GlassSimulator({
    lines: int(opts, "lines", 1),
    ...liveOpts(opts),
    modbus: opts.get("no-modbus") === "true" ? false : { port: int(opts, "modbus-port"), host },
    opcua,
    camera:
      opts.get("no-camera") === "true"
        ? false
        : {
            port: int(opts, "camera-port"),
            host,
            fps: num(opts, "camera-fps"),
            defectRate: num(opts, "defect-rate"),
            line: opts.get("camera-line"),
            user: cameraUser,
            password: cameraUser ? cameraPassword : undefined,
          },
    http: opts.get("no-http") === "true" ? false : { port: int(opts, "http-port"), host },
  });
  await sim.start();
  const st = sim.status();
  const what = `${st.lines.length} line(s) at ${st.rate} Hz`;
  return serve(sim, io, "lineguard-sim glass", what, st.endpoints, io.onGlassStarted);
}

/** `need(i, what)`: positional argument i (URI-encoded), or an error "<cmd> needs <what>". */
function needArg(cmd: string, positional: string[]): (i: number, what: string) => string {
  return (i, what) => {
    const v = positional[i];
    if (!v) throw new Error(`${cmd} needs ${what}`);
    return encodeURIComponent(v);
  };
}

/** The glass control commands, over the glass simulator's HTTP API. */
function glassRequest(
  cmd: string,
  positional: string[],
  opts: Map<string, string>,
): { method: string; path: string; body?: unknown } {
  const need = needArg(cmd, positional);
  switch (cmd) {
    case "inject": {
      const path = `/lines/${need(0, "a line id")}/failure`;
      need(1, "a failure type");
      return {
        method: "POST",
        path,
        body: { type: positional[1], rampSeconds: num(opts, "ramp", 600), zone: int(opts, "zone") },
      };
    }
    case "clear":
      return { method: "DELETE", path: `/lines/${need(0, "a line id")}/failure` };
    case "maintenance":
      return {
        method: "POST",
        path: `/lines/${need(0, "a line id")}/maintenance`,
        body: { seconds: num(opts, "seconds") },
      };
    case "ack":
      return { method: "POST", path: `/lines/${need(0, "a line id")}/alarms/ack` };
    case "state":
      return { method: "GET", path: positional[0] ? `/lines/${encodeURIComponent(positional[0])}` : "/status" };
    case "rate":
      return { method: "PUT", path: "/rate", body: { rate: Number(need(0, "a rate in Hz")) } };
    case "camera-inject":
      need(0, "a defect class");
      return { method: "POST", path: "/camera/inject", body: { cls: positional[0], count: int(opts, "count", 1) } };
    default:
      return { method: "POST", path: `/${cmd}` };
  }
}

async function glass(positional: string[], opts: Map<string, string>, io: CliIo): Promise<number> {
  const cmd = positional.shift();
  switch (cmd) {
    case "generate":
      return await generateGlass(opts, io);
    case "run":
      return await runGlass(opts, io);
    case "inject":
    case "clear":
    case "maintenance":
    case "ack":
    case "state":
    case "rate":
    case "start":
    case "stop":
    case "camera-inject": {
      const base =
        opts.get("url") ?? process.env.LINEGUARD_GLASS_SIM_URL ?? `http://127.0.0.1:${DEFAULT_GLASS_HTTP_PORT}`;
      return await send(base, glassRequest(cmd, positional, opts), io);
    }
    default:
      io.err(`unknown glass command "${cmd ?? ""}"\n${USAGE}`);
      return 2;
  }
}

async function send(
  baseUrl: string,
  req: { method: string; path: string; body?: unknown },
  io: CliIo,
): Promise<number> {
  const base = baseUrl.replace(/\/+$/, "");
  const { method, path, body } = req;
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? undefined : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) {
    io.err(`${res.status}: ${text}\n`);
    return 1;
  }
  await io.out(text + "\n");
  return 0;
}

async function control(cmd: string, positional: string[], opts: Map<string, string>, io: CliIo): Promise<number> {
  const base = (opts.get("url") ?? process.env.LINEGUARD_SIM_URL ?? `http://127.0.0.1:${DEFAULT_HTTP_PORT}`).replace(
    /\/+$/,
    "",
  );
  const need = needArg(cmd, positional);
  let method = "POST";
  let path: string;
  let body: unknown;
  switch (cmd) {
    case "inject":
      path = `/machines/${need(0, "a machine id")}/failure`;
      body = { type: positional[1], rampSeconds: num(opts, "ramp", 600) };
      need(1, "a failure type");
      break;
    case "clear":
      method = "DELETE";
      path = `/machines/${need(0, "a machine id")}/failure`;
      break;
    case "maintenance":
      path = `/machines/${need(0, "a machine id")}/maintenance`;
      body = { seconds: num(opts, "seconds") };
      break;
    case "state":
      method = "GET";
      path = positional[0] ? `/machines/${encodeURIComponent(positional[0])}` : "/status";
      break;
    case "rate":
      method = "PUT";
      path = "/rate";
      body = { rate: Number(need(0, "a rate in Hz")) };
      break;
    default:
      path = `/${cmd}`;
  }
  return send(base, { method, path, body }, io);
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    const { positional, opts } = parseArgs(argv);
    const cmd = positional.shift();
    if (!cmd || cmd === "help" || opts.get("help") === "true") {
      await io.out(USAGE);
      return cmd || opts.get("help") === "true" ? 0 : 2;
    }
    switch (cmd) {
      case "generate":
        return await generate(opts, io);
      case "run":
        return await run(opts, io);
      case "glass":
        return await glass(positional, opts, io);
      case "inject":
      case "clear":
      case "maintenance":
      case "state":
      case "rate":
      case "start":
      case "stop":
        return await control(cmd, positional, opts, io);
      default:
        io.err(`unknown command "${cmd}"\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    io.err(`lineguard-sim: ${errorMessage(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    out: (t) => (process.stdout.write(t) ? undefined : new Promise<void>((r) => process.stdout.once("drain", r))),
    err: (t) => process.stderr.write(t),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}
