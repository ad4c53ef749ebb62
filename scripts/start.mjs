#!/usr/bin/env node
// npm start: the simulators of both reference lines and Node-RED with the LineGuard pack loaded, in
// a user dir of its own (.lineguard-user/ by default). CNC line: OPC UA server, MQTT collector with an
// embedded broker, HTTP control. Glass line: Modbus TCP PLCs, OPC UA view, camera (JPEG/MJPEG), HTTP
// control. The pack is linked into <userDir>/node_modules, so Node-RED loads it like an installed
// package. On first start (no flow file yet, or LINEGUARD_RESET_FLOWS=1) the reference flows
// flows/cnc-line.json and flows/glass-line.json (one tab each, shared sink and dashboard config
// nodes) become the flow file. Stops everything cleanly on Ctrl-C / SIGTERM.
//
// Environment: LINEGUARD_PORT (1880), LINEGUARD_HOST, LINEGUARD_USER_DIR, LINEGUARD_LINES ("cnc,glass"),
// LINEGUARD_NO_SIM=1 (no simulator), LINEGUARD_SIM_RATE (1 Hz), LINEGUARD_SIM_SEED, LINEGUARD_RESET_FLOWS=1;
// CNC simulator: LINEGUARD_OPCUA_PORT (4840), LINEGUARD_MQTT_PORT (1883), LINEGUARD_SIM_HTTP_PORT (8089);
// glass simulator: LINEGUARD_MODBUS_PORT (5020), LINEGUARD_GLASS_OPCUA_PORT (4841),
// LINEGUARD_GLASS_SIM_HTTP_PORT (8090), LINEGUARD_CAMERA_PORT (8091), LINEGUARD_CAMERA_FPS (2);
// the flows' sinks: LINEGUARD_KAFKA_BROKERS, LINEGUARD_INFLUX_URL, LINEGUARD_INFLUX_DB,
// LINEGUARD_INFLUX_TOKEN (see scripts/node-red-settings.cjs).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const userDir = path.resolve(process.env.LINEGUARD_USER_DIR || path.join(root, ".lineguard-user"));
const host = process.env.LINEGUARD_HOST || "127.0.0.1";
const port = Number(process.env.LINEGUARD_PORT || 1880);

function log(msg) {
  process.stdout.write(`[lineguard] ${msg}\n`);
}

if (!fs.existsSync(path.join(root, "dist", "nodes"))) {
  log("building (dist/ is missing)");
  await new Promise((resolve, reject) => {
    const b = spawn(process.execPath, [path.join(root, "scripts", "build.mjs")], { stdio: "inherit" });
    b.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`build failed (${code})`))));
  });
}

fs.mkdirSync(path.join(userDir, "node_modules"), { recursive: true });

// Dashboard 2 (a devDependency) is found next to our Node-RED; another Node-RED
// (LINEGUARD_NODE_RED_DIR) does not see it, so it is linked into the user dir in that case.
if (process.env.LINEGUARD_NODE_RED_DIR) {
  const dashLink = path.join(userDir, "node_modules", "@flowfuse", "node-red-dashboard");
  try {
    const nrDir = path.resolve(process.env.LINEGUARD_NODE_RED_DIR);
    let ownDash = false;
    try {
      require.resolve("@flowfuse/node-red-dashboard/package.json", { paths: [nrDir] });
      ownDash = true;
    } catch {
      ownDash = false;
    }
    const dash = path.dirname(require.resolve("@flowfuse/node-red-dashboard/package.json", { paths: [root] }));
    let present = false;
    try {
      fs.lstatSync(dashLink);
      present = true;
    } catch {
      present = false;
    }
    if (!ownDash && !present) {
      fs.mkdirSync(path.dirname(dashLink), { recursive: true });
      fs.symlinkSync(dash, dashLink, "dir");
    }
  } catch {
    log("Dashboard 2 (@flowfuse/node-red-dashboard) is not installed: the dashboard nodes will be missing");
  }
}

const lines = (process.env.LINEGUARD_LINES || "cnc,glass")
  .split(",")
  .map((l) => l.trim())
  .filter((l) => l === "cnc" || l === "glass");
if (lines.length === 0) {
  log('LINEGUARD_LINES names no known line (use "cnc", "glass" or "cnc,glass")');
  process.exit(2);
}

// The reference flows as the flow file, unless the user already has one (their edits win). The flows
// share their Kafka, InfluxDB and Dashboard 2 configuration nodes (same ids): kept once.
const flowFile = path.join(userDir, process.env.LINEGUARD_FLOW_FILE || "flows.json");
const credFile = flowFile.replace(/\.json$/, "") + "_cred.json";
if (!fs.existsSync(flowFile) || process.env.LINEGUARD_RESET_FLOWS === "1") {
  const flow = [];
  const seen = new Set();
  for (const line of lines) {
    for (const n of JSON.parse(fs.readFileSync(path.join(root, "flows", `${line}-line.json`), "utf8"))) {
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      flow.push(n);
    }
  }
  fs.writeFileSync(flowFile, JSON.stringify(flow, null, 4));
  // Credentials cannot travel in a flow file. Node-RED substitutes ${NAME} in credentials too, so
  // the InfluxDB config node's credential is written as a reference to LINEGUARD_INFLUX_TOKEN (no
  // secret on disk); Node-RED encrypts this file with credentialSecret on its next save.
  const creds = {};
  for (const n of flow) if (n.type === "influxdb-config") creds[n.id] = { token: "${LINEGUARD_INFLUX_TOKEN}" };
  fs.writeFileSync(credFile, JSON.stringify(creds, null, 2));
  log(`flow file: ${flowFile} (reference flows: ${lines.join(", ")})`);
}

// The simulators, each in its own process (dist/lib/sim/cli.js), unless LINEGUARD_NO_SIM=1.
const simEnv = {
  opcua: process.env.LINEGUARD_OPCUA_PORT || "4840",
  mqtt: process.env.LINEGUARD_MQTT_PORT || "1883",
  http: process.env.LINEGUARD_SIM_HTTP_PORT || "8089",
  modbus: process.env.LINEGUARD_MODBUS_PORT || "5020",
  glassOpcua: process.env.LINEGUARD_GLASS_OPCUA_PORT || "4841",
  glassHttp: process.env.LINEGUARD_GLASS_SIM_HTTP_PORT || "8090",
  camera: process.env.LINEGUARD_CAMERA_PORT || "8091",
};
const sims = [];
let stopping = false;
// A signal while the simulators start (before Node-RED runs): stop them too.
const early = () => {
  for (const s of sims) s.kill("SIGTERM");
  process.exit(1);
};
process.once("SIGINT", early);
process.once("SIGTERM", early);

/** Start one simulator; resolves with its process once it printed `ready`, or undefined. */
async function startSim(label, args, ready) {
  const p = spawn(process.execPath, [path.join(root, "dist", "lib", "sim", "cli.js"), ...args], {
    stdio: ["ignore", "inherit", "pipe"],
  });
  sims.push(p);
  let out = "";
  const ok = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 60000);
    p.stderr.on("data", (chunk) => {
      process.stderr.write(chunk);
      out += String(chunk);
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    p.once("exit", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ok) {
    log(`the ${label} simulator did not start (see above); Node-RED starts without it`);
    if (p.exitCode === null) p.kill("SIGTERM");
    sims.splice(sims.indexOf(p), 1);
    return undefined;
  }
  p.once("exit", (code, signal) => {
    if (!stopping) log(`the ${label} simulator stopped (${signal ?? code})`);
  });
  return p;
}

if (process.env.LINEGUARD_NO_SIM !== "1") {
  const common = ["--host", "127.0.0.1", "--rate", process.env.LINEGUARD_SIM_RATE || "1"];
  if (process.env.LINEGUARD_SIM_SEED) common.push("--seed", process.env.LINEGUARD_SIM_SEED);
  const starting = [];
  if (lines.includes("cnc")) {
    const args = ["run", ...common, "--opcua-port", simEnv.opcua, "--mqtt-port", simEnv.mqtt];
    args.push("--http-port", simEnv.http, "--pki-dir", path.join(userDir, "sim-pki"));
    starting.push(startSim("CNC", args, /machines at/));
  }
  if (lines.includes("glass")) {
    const args = ["glass", "run", ...common, "--modbus-port", simEnv.modbus, "--opcua-port", simEnv.glassOpcua];
    args.push("--http-port", simEnv.glassHttp, "--camera-port", simEnv.camera);
    args.push(
      "--camera-fps",
      process.env.LINEGUARD_CAMERA_FPS || "2",
      "--pki-dir",
      path.join(userDir, "sim-pki-glass"),
    );
    starting.push(startSim("glass", args, /line\(s\) at/));
  }
  await Promise.all(starting);
}
const link = path.join(userDir, "node_modules", "node-red-contrib-lineguard");
let linked = false;
try {
  linked = fs.realpathSync(link) === fs.realpathSync(root);
} catch {
  linked = false;
}
if (!linked) {
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, "dir");
}

// LINEGUARD_NODE_RED_DIR: a folder whose node_modules holds another Node-RED (CI's Node-RED 5 pass).
const nrFrom = process.env.LINEGUARD_NODE_RED_DIR ? [path.resolve(process.env.LINEGUARD_NODE_RED_DIR)] : [root];
const redJs = path.join(path.dirname(require.resolve("node-red/package.json", { paths: nrFrom })), "red.js");
const child = spawn(
  process.execPath,
  [
    redJs,
    "--userDir",
    userDir,
    "--settings",
    path.join(root, "scripts", "node-red-settings.cjs"),
    "--port",
    String(port),
  ],
  {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      ...process.env,
      LINEGUARD_USER_DIR: userDir,
      LINEGUARD_OPCUA_PORT: simEnv.opcua,
      LINEGUARD_MQTT_PORT: simEnv.mqtt,
      LINEGUARD_SIM_HTTP_PORT: simEnv.http,
      LINEGUARD_MODBUS_PORT: simEnv.modbus,
      LINEGUARD_GLASS_OPCUA_PORT: simEnv.glassOpcua,
      LINEGUARD_GLASS_SIM_HTTP_PORT: simEnv.glassHttp,
      LINEGUARD_CAMERA_PORT: simEnv.camera,
    },
  },
);
let announced = false;
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  if (!announced && /Started flows|Server now running/.test(String(chunk))) {
    announced = true;
    log(`editor:    http://${host}:${port}/`);
    log(`dashboard: http://${host}:${port}/dashboard`);
  }
});

const stop = (sig) => {
  if (stopping) return;
  stopping = true;
  log(`stopping (${sig})`);
  child.kill("SIGTERM");
  for (const s of sims) if (s.exitCode === null) s.kill("SIGTERM");
  setTimeout(() => {
    child.kill("SIGKILL");
    for (const s of sims) s.kill("SIGKILL");
  }, 10000).unref();
};
process.off("SIGINT", early);
process.off("SIGTERM", early);
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
child.on("exit", async (code, signal) => {
  stopping = true;
  await Promise.all(
    sims
      .filter((s) => s.exitCode === null && s.signalCode === null)
      .map(
        (s) =>
          new Promise((resolve) => {
            s.once("exit", resolve);
            s.kill("SIGTERM");
            setTimeout(resolve, 10000).unref();
          }),
      ),
  );
  process.exit(code ?? (signal ? 1 : 0));
});
