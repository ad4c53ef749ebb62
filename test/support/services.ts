/**
 * Test support for integration tests that talk to real servers started by
 * scripts/test-services.sh (Kafka, InfluxDB 1.8, Mosquitto on 127.0.0.1).
 *
 * Endpoints come from the variables printed by `scripts/test-services.sh env`
 * (LINEGUARD_TEST_KAFKA, LINEGUARD_TEST_INFLUX, LINEGUARD_TEST_INFLUX_DB,
 * LINEGUARD_TEST_MQTT); when unset they are derived from the script's port
 * overrides (LINEGUARD_KAFKA_PORT, LINEGUARD_INFLUX_PORT, LINEGUARD_MQTT_PORT)
 * or their defaults.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";

export type ServiceName = "kafka" | "influxdb" | "mosquitto" | "all";
export type ServiceAction = "start" | "stop" | "kill" | "status";

function envOr(name: string, fallback: string): string {
  const value = process.env[name];
  return value !== undefined && value.trim() !== "" ? value.trim() : fallback;
}

const kafkaPort = envOr("LINEGUARD_KAFKA_PORT", "39092");
const influxPort = envOr("LINEGUARD_INFLUX_PORT", "38086");
const mqttPort = envOr("LINEGUARD_MQTT_PORT", "31883");

export const services: {
  kafkaBrokers: string[];
  influxUrl: string;
  mqttUrl: string;
  influxDb: string;
  /** "user:password" (InfluxDB 1.8 v2-API token form); the test server runs with auth on. */
  influxToken: string;
  kafkaSaslBrokers: string[];
  kafkaUser: string;
  kafkaPassword: string;
  /** SASL_SSL listener (SCRAM-SHA-256/512 over TLS, same user). */
  kafkaSslBrokers: string[];
  /** Path of the test CA (PEM) that signed the SASL_SSL listener's certificate. */
  readonly kafkaCaFile: string;
} = {
  kafkaBrokers: envOr("LINEGUARD_TEST_KAFKA", `127.0.0.1:${kafkaPort}`)
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== ""),
  influxUrl: envOr("LINEGUARD_TEST_INFLUX", `http://127.0.0.1:${influxPort}`).replace(/\/+$/, ""),
  mqttUrl: envOr("LINEGUARD_TEST_MQTT", `mqtt://127.0.0.1:${mqttPort}`),
  influxDb: envOr("LINEGUARD_TEST_INFLUX_DB", "lineguard_test"),
  influxToken: envOr("LINEGUARD_TEST_INFLUX_TOKEN", "lineguard:lineguard-secret"),
  kafkaSaslBrokers: [envOr("LINEGUARD_TEST_KAFKA_SASL", "127.0.0.1:39094")],
  kafkaUser: envOr("LINEGUARD_TEST_KAFKA_USER", "lineguard"),
  kafkaPassword: envOr("LINEGUARD_TEST_KAFKA_PASSWORD", "lineguard-secret"),
  kafkaSslBrokers: [envOr("LINEGUARD_TEST_KAFKA_SSL", `127.0.0.1:${envOr("LINEGUARD_KAFKA_SSL_PORT", "39095")}`)],
  // Resolved on use: the default services dir is <repo>/.services (found via the script's path).
  get kafkaCaFile(): string {
    const dir = envOr("LINEGUARD_SERVICES_DIR", path.join(path.dirname(path.dirname(servicesScript())), ".services"));
    return envOr("LINEGUARD_TEST_KAFKA_CA", path.join(dir, "kafka", "tls", "ca.pem"));
  },
};

const SCRIPT_REL = path.join("scripts", "test-services.sh");
let scriptPath: string | undefined;

/** Absolute path of scripts/test-services.sh, found by walking up from this file. */
export function servicesScript(): string {
  if (scriptPath !== undefined) return scriptPath;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, SCRIPT_REL);
    if (fs.existsSync(candidate)) {
      scriptPath = candidate;
      return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find ${SCRIPT_REL} in ${__dirname} or any parent directory`);
    }
    dir = parent;
  }
}

/**
 * Runs `scripts/test-services.sh <action> <name>` synchronously. The script's
 * stderr (failure messages and log tails) is inherited; its stdout (progress
 * lines) is echoed to our stderr. Throws on a non-zero exit.
 */
export function serviceCtl(action: ServiceAction, name: ServiceName): void {
  const script = servicesScript();
  const result = spawnSync("bash", [script, action, name], {
    cwd: path.dirname(path.dirname(script)),
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    // Cold installs (maven + go build) can take a few minutes.
    timeout: 15 * 60 * 1000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const stdout = result.stdout ?? "";
  if (result.error !== undefined) {
    throw new Error(`test-services.sh ${action} ${name}: ${result.error.message}\n${stdout}`);
  }
  if (result.status !== 0) {
    const how = result.status === null ? `signal ${String(result.signal)}` : `exit code ${result.status}`;
    throw new Error(`test-services.sh ${action} ${name} failed (${how}); see the log tail on stderr above\n${stdout}`);
  }
  if (stdout !== "") process.stderr.write(stdout);
}

function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(Math.max(1, timeoutMs), () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Resolves once a TCP connection to host:port succeeds; rejects after timeoutMs. */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (await tryConnect(host, port, Math.min(left, 1000))) return;
    const pause = Math.min(100, deadline - Date.now());
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${host}:${port} to accept connections`);
}

/**
 * Runs an InfluxQL query with GET /query?db=..&q=..&epoch=ns and returns the
 * parsed JSON ({ results: [...] }). Throws on an HTTP error status or a
 * top-level `error`; per-statement errors stay in `results[i].error`.
 */
export async function influxQuery(q: string, db: string = services.influxDb): Promise<any> {
  const url = new URL("/query", services.influxUrl);
  url.searchParams.set("db", db);
  url.searchParams.set("q", q);
  url.searchParams.set("epoch", "ns");
  const [u, ...pw] = services.influxToken.split(":");
  url.searchParams.set("u", u ?? "");
  url.searchParams.set("p", pw.join(":"));
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.get(url, { timeout: 10_000 }, (res) => {
      res.setEncoding("utf8");
      let data = "";
      res.on("data", (chunk: string) => {
        data += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`InfluxDB query timed out: ${q}`)));
    req.on("error", reject);
  });
  if (status < 200 || status >= 300) {
    throw new Error(`InfluxDB query failed with HTTP ${status}: ${body.trim()} (q=${q})`);
  }
  let parsed: any;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`InfluxDB returned invalid JSON (HTTP ${status}): ${body.slice(0, 500)}`);
  }
  if (parsed !== null && typeof parsed === "object" && typeof parsed.error === "string") {
    throw new Error(`InfluxDB query error: ${parsed.error} (q=${q})`);
  }
  return parsed;
}
