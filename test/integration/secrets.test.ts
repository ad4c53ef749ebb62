/**
 * No secret leaves its credentials: every node type with credentials (kafka-broker, influxdb-config,
 * opcua-endpoint, camera-in) is deployed with distinctive secret values against real servers on
 * 127.0.0.1 (the Kafka SASL_SSL listener and InfluxDB 1.8 of scripts/test-services.sh, an OPC UA
 * fixture server, camera servers with Basic and Digest auth), driven into success and failure (auth
 * failure, wrong key passphrase, server down), and then no secret may appear in: GET /flows (the admin
 * API export), GET /credentials/<type>/<id> (what the editor reads), the flow JSON given to
 * helper.load, any status text of any node, helper.log(), any message on any output, any error a
 * Catch node saw, or the /lineguard/metrics text.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import cameraIn from "../../nodes/camera-in/camera-in";
import { CAMERA_IN_DEFAULTS } from "../../nodes/camera-in/config";
import influxConfig from "../../nodes/influxdb-config/influxdb-config";
import influxOut from "../../nodes/influxdb-out/influxdb-out";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaIn from "../../nodes/kafka-in/kafka-in";
import kafkaOut from "../../nodes/kafka-out/kafka-out";
import opcuaEndpoint from "../../nodes/opcua-endpoint/opcua-endpoint";
import opcuaIn from "../../nodes/opcua-in/opcua-in";
import type { NodeAPI } from "node-red";
import { METRICS_PATH, metricsRoute } from "../../nodes/shared/metrics";
import { RibbonCamera } from "../../lib/sim/camera/render";
import { CameraServer, startCameraServer } from "../../lib/sim/camera/server";
import { helper, useHelper } from "../support/helper";
import { eventually, requireService, uniqueName } from "../support/integration";
import { influxQuery, services } from "../support/services";
import { collect, statusesOf } from "../support/node-status";
import { sinkFlow } from "../nodes/fixtures/influxdb-flows";
import { kafkaOutFlow } from "../nodes/fixtures/kafka-flows";
import { endpointNode, opcuaInFlow } from "../nodes/fixtures/opcua-flows";
import { FixtureServer, TEST_PASSWORD, TEST_USER, startFixtureServer } from "../nodes/fixtures/opcua-server";

type FlowNode = Record<string, unknown> & { id: string; type: string };

const TAB = "sec-tab";
const T0 = Date.UTC(2025, 0, 1);

/** Distinctive secrets: each must never show anywhere but in the credentials. */
const S = {
  kafkaWrong: "LGSECRET-kafka-wrong-pw-3b71",
  kafkaDown: "LGSECRET-kafka-down-pw-c02e",
  passphrase: "LGSECRET-tls-passphrase-5e2a",
  passphraseWrong: "LGSECRET-tls-passphrase-wrong-91d0",
  influxToken: "LGSECRET-influx-token-pw-66af",
  influxPw18: "LGSECRET-influx-18-pw-d4e1",
  influxWrong: "LGSECRET-influx-wrong-8a2c",
  influxDown: "LGSECRET-influx-down-0f5b",
  opcuaWrong: "LGSECRET-opcua-wrong-pw-7e19",
  opcuaDown: "LGSECRET-opcua-down-pw-2c84",
  camBasic: "LGSECRET-cam-basic-pw-5d30",
  camDigest: "LGSECRET-cam-digest-pw-b6e7",
  camWrong: "LGSECRET-cam-wrong-pw-1a9f",
  camDown: "LGSECRET-cam-down-pw-44c2",
};

/** Test-only client certificate and its key, encrypted with S.passphrase (made once with openssl). */
const CLIENT_CERT = `-----BEGIN CERTIFICATE-----
MIIByzCCAXGgAwIBAgIUC+uO5Gxsf3XbGj3VrR5h3c0CrbMwCgYIKoZIzj0EAwIw
OjEYMBYGA1UECgwPTGluZUd1YXJkIHRlc3RzMR4wHAYDVQQDDBVsaW5lZ3VhcmQt
dGVzdC1jbGllbnQwIBcNMjYxMTIzMTkxOTAxWhgPMjEyNjEwMzAxOTE5MDFaMDox
GDAWBgNVBAoMD0xpbmVHdWFyZCB0ZXN0czEeMBwGA1UEAwwVbGluZWd1YXJkLXRl
c3QtY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7hroBGR4IFO9Cese
ZjscpXY4qu0T7sEWdcofRkLMwzkmtFsY1vcyzk4//oWMhYwnxWL3Sh2SfyB1AXw4
/5KebaNTMFEwHQYDVR0OBBYEFPRma2N2XGx+YZDCfjTPS5lUwvZOMB8GA1UdIwQY
MBaAFPRma2N2XGx+YZDCfjTPS5lUwvZOMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDSAAwRQIhAO+5YgLuTRsxd16OIC5F9CtgfKMQYoJdcBGnrxX3hGE6AiAi
rwhZDDLAEOjEGTZUOyY3nOIRb/DUv3V6yuI7olcIpg==
-----END CERTIFICATE-----
`;
const CLIENT_KEY_BODY = [
  "MIHjME4GCSqGSIb3DQEFDTBBMCkGCSqGSIb3DQEFDDAcBAhF9jfqpGWq4AICCAAw",
  "DAYIKoZIhvcNAgkFADAUBggqhkiG9w0DBwQIEcL64mTUzOMEgZB2305A7/wx+5jz",
  "YrtGd9jOYlWDbx4vhMWqWqHFhQAsO3Tv3rn5dWnYo0Sm8OHLoWpZxv6YBkWZtq4Z",
  "f/HMT7t5SQ5qeak4H61V40IbJjUyfyE+gMNoQlh1+T1fq7VGtmWcgvudULVBfIZi",
  "l55H2VKYdTo8DmSTN11O0vjLatY0TN9wwNIMhnPcSOI5TF4bDKE=",
];
const CLIENT_KEY = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${CLIENT_KEY_BODY.join("\n")}\n-----END ENCRYPTED PRIVATE KEY-----\n`;

/** Everything that must stay secret: the distinctive values, the real test passwords, the key. */
const SECRETS: string[] = [
  ...Object.values(S),
  services.kafkaPassword,
  TEST_PASSWORD,
  ...CLIENT_KEY_BODY.map((l) => l.slice(0, 32)),
];

const allNodes = [kafkaBroker, kafkaOut, kafkaIn, influxConfig, influxOut, opcuaEndpoint, opcuaIn, cameraIn];

// ---------------------------------------------------------------- helpers

/** A port nothing listens on (bound once, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function portOpen(addr: string): Promise<boolean> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve) => {
    const s = net.connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
    const end = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => end(false));
    s.once("connect", () => end(true));
    s.once("error", () => end(false));
  });
}

/** JSON of anything, Buffers shortened to their length (frames carry images), Errors with message and stack. */
function dump(v: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(v, function (_k, x: unknown) {
    if (Buffer.isBuffer(x)) return `<buffer ${x.length}>`;
    if (x && typeof x === "object" && (x as { type?: unknown }).type === "Buffer" && Array.isArray((x as any).data))
      return "<buffer>";
    if (x instanceof Error) return { name: x.name, message: x.message, stack: x.stack, cause: (x as any).cause };
    if (typeof x === "bigint") return String(x);
    if (x && typeof x === "object") {
      if (seen.has(x)) return "<cycle>";
      seen.add(x);
    }
    return x;
  });
}

/** A catch node for the whole tab, and one helper that receives every output of every node. */
function harness(): FlowNode[] {
  return [
    { id: TAB, type: "tab", label: "secrets" },
    { id: "catchall", type: "catch", z: TAB, scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: TAB },
    { id: "completeall", type: "complete", z: TAB, scope: null, uncaught: false, wires: [["completed"]] },
    { id: "completed", type: "helper", z: TAB },
    { id: "sink", type: "helper", z: TAB },
  ];
}

function wireAll(n: FlowNode, outputs: number): FlowNode {
  return { ...n, z: TAB, wires: Array.from({ length: outputs }, () => ["sink"]) };
}

interface Run {
  flow: FlowNode[];
  caught: any[];
  completed: any[];
  sink: any[];
}

async function deploy(flow: FlowNode[], creds: Record<string, Record<string, string>>): Promise<Run> {
  // helper.load may keep a reference; the check below uses a copy made before the load
  // a Complete node only reports the nodes in its scope: every node under test
  const complete = flow.find((n) => n.id === "completeall")!;
  complete.scope = flow
    .filter((n) => Array.isArray(n.wires) && !["catchall", "completeall"].includes(n.id))
    .map((n) => n.id);
  const snapshot = JSON.parse(JSON.stringify(flow)) as FlowNode[];
  await helper.load(allNodes, flow, creds);
  return {
    flow: snapshot,
    caught: collect(helper.getNode("caught")),
    completed: collect(helper.getNode("completed")),
    sink: collect(helper.getNode("sink")),
  };
}

function httpGet(urlPath: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    helper
      .request()
      .get(urlPath)
      .buffer(true)
      .parse((res: any, cb: (err: Error | null, body: string) => void) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (data += c));
        res.on("end", () => cb(null, data));
      })
      .end((err: Error | null, res: any) => (err ? reject(err) : resolve({ status: res.status, text: res.body })));
  });
}

/**
 * The admin API's flows module (@node-red/runtime/lib/api/flows: what GET /flows and
 * GET /credentials/:type/:id answer), bound to the helper's runtime. The helper serves no admin API of
 * its own, so the very functions behind those routes are called.
 */
interface FlowsApi {
  getFlows(opts: object): Promise<{ flows: FlowNode[] } | FlowNode[]>;
  getNodeCredentials(opts: { type: string; id: string }): Promise<Record<string, unknown>>;
}
function adminFlowsApi(): FlowsApi {
  const h = helper as unknown as { _redNodes: any; _RED: unknown };
  const nrDir = process.env.LINEGUARD_NODE_RED_DIR;
  const redMain = nrDir ? require.resolve("node-red", { paths: [path.resolve(nrDir)] }) : require.resolve("node-red");
  const apiPath = require.resolve("@node-red/runtime/lib/api/flows", { paths: [path.dirname(redMain)] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const api = require(apiPath) as FlowsApi & { init(runtime: object): void };
  api.init({
    log: { audit: () => undefined },
    nodes: h._redNodes,
    flows: { getFlows: () => h._redNodes.getFlows() },
  });
  return api;
}

/** Asserts that none of SECRETS occurs in any place a user, a log or an export can see. */
async function assertNoSecrets(run: Run): Promise<void> {
  const places: Array<[string, string]> = [];
  places.push(["the flow JSON given to helper.load", JSON.stringify(run.flow)]);

  const api = adminFlowsApi();
  const exported = await api.getFlows({});
  places.push(["the flow export (GET /flows)", dump(exported)]);
  const list = Array.isArray(exported) ? exported : exported.flows;
  assert.ok(list.length >= run.flow.length, "the export holds the flow");

  const SECRET_FIELDS = ["password", "token", "tlsKey", "tlsPassphrase"];
  for (const n of run.flow) {
    if (!["kafka-broker", "influxdb-config", "opcua-endpoint", "camera-in"].includes(n.type)) continue;
    const c = await api.getNodeCredentials({ type: n.type, id: n.id });
    places.push([`the editor's credentials (GET /credentials/${n.type}/${n.id})`, dump(c)]);
    for (const f of SECRET_FIELDS) assert.ok(!(f in c), `${n.type}: credential ${f} must be declared type "password"`);
    assert.ok(
      Object.keys(c).some((k) => k.startsWith("has_")),
      `${n.type} ${n.id}: has_* flags`,
    );
  }

  for (const n of run.flow) {
    if (n.type === "tab") continue;
    const node = helper.getNode(n.id);
    if (!node) continue;
    places.push([
      `status of ${n.id}`,
      statusesOf(node)
        .map((s) => s.text ?? "")
        .join("\n"),
    ]);
  }
  places.push(["helper.log()", dump(helper.log().args)]);
  places.push(["messages on the outputs", dump(run.sink)]);
  places.push(["errors seen by the Catch node", dump(run.caught)]);
  places.push(["messages seen by the Complete node", dump(run.completed)]);

  // kafka-out and influxdb-out register the route when they start; the others have no metrics
  metricsRoute({ httpAdmin: (helper as unknown as { _httpAdmin: NodeAPI["httpAdmin"] })._httpAdmin });
  const metrics = await httpGet(METRICS_PATH);
  assert.equal(metrics.status, 200, `GET /lineguard/metrics: ${metrics.text}`);
  places.push(["/lineguard/metrics", metrics.text]);

  for (const [where, text] of places) {
    for (const secret of SECRETS) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 14)}...) appears in ${where}`);
    }
  }
}

function red(id: string, re?: RegExp): boolean {
  return statusesOf(helper.getNode(id)).some((s) => s.fill === "red" && (re === undefined || re.test(s.text ?? "")));
}

function caughtFrom(run: Run, id: string): any[] {
  return run.caught.filter((m) => m.error?.source?.id === id);
}

/** eventually(), failing with what every node showed and what was caught (to see why). */
async function waitFor(run: Run, what: string, fn: () => boolean, ms = 60_000): Promise<void> {
  try {
    await eventually(fn, ms, 50);
  } catch {
    const seen = run.flow
      .filter((n) => n.type !== "tab" && helper.getNode(n.id))
      .map(
        (n) =>
          `${n.id}: ${statusesOf(helper.getNode(n.id))
            .map((st) => `${st.fill ?? ""} ${st.text ?? ""}`)
            .slice(-3)
            .join(" | ")}`,
      );
    const caught = run.caught.map((m) => `${m.error?.source?.id}: ${m.error?.message}`);
    throw new Error(
      `${what}: not within ${ms} ms\nstatuses:\n  ${seen.join("\n  ")}\ncaught:\n  ${caught.join("\n  ")}\nsink: ${run.sink.length} messages`,
    );
  }
}

// ---------------------------------------------------------------- the Digest camera

interface DigestCamera {
  url: string;
  close(): Promise<void>;
}

/** A snapshot camera that answers only HTTP Digest (MD5, qop=auth), checked independently of lib/camera. */
function startDigestCamera(user: string, password: string, jpeg: Buffer): Promise<DigestCamera> {
  const realm = "lineguard-digest-test";
  const nonce = crypto.randomBytes(12).toString("hex");
  const md5 = (s: string): string => crypto.createHash("md5").update(s).digest("hex");
  const server = http.createServer((req, res) => {
    const h = req.headers.authorization ?? "";
    if (h.startsWith("Digest ")) {
      const p: Record<string, string> = {};
      for (const m of h.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]*))/g)) p[m[1]!] = m[2] ?? m[3] ?? "";
      const ha1 = md5(`${p.username}:${realm}:${password}`);
      const ha2 = md5(`${req.method}:${p.uri}`);
      const expected = p.qop
        ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`)
        : md5(`${ha1}:${p.nonce}:${ha2}`);
      if (p.username === user && p.nonce === nonce && p.response === expected) {
        res.writeHead(200, { "Content-Type": "image/jpeg", "Content-Length": jpeg.length });
        res.end(jpeg);
        return;
      }
    }
    res.writeHead(401, {
      "WWW-Authenticate": `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5`,
      "Content-Type": "text/plain",
    });
    res.end("unauthorised\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

// ---------------------------------------------------------------- the suite

describe("integration: no secret in flow exports, logs, statuses, messages, errors or metrics", function () {
  this.timeout(120_000);

  useHelper();

  it("kafka-broker (SCRAM password, CA, client key + passphrase) with kafka-out/kafka-in", async function () {
    await requireService(this, "kafka");
    const SSL = services.kafkaSslBrokers[0]!;
    if (!(await portOpen(SSL))) throw new Error(`the Kafka SASL_SSL listener is not reachable at ${SSL}`);
    const ca = fs.readFileSync(services.kafkaCaFile, "utf8");
    const down = `127.0.0.1:${await closedPort()}`;
    const topic = uniqueName("lg-it-secrets");
    const template = kafkaOutFlow(SSL, { topic });
    const brokerT = template.find((n) => n.id === "broker1")!;
    const outT = template.find((n) => n.id === "out1")!;
    const broker = (id: string, patch: Record<string, unknown> = {}): FlowNode => ({
      ...brokerT,
      id,
      name: `${id} (test)`,
      tls: true,
      saslMechanism: "scram-sha-512",
      connectionTimeout: 3000,
      ...patch,
    });
    const out = (id: string, b: string): FlowNode => wireAll({ ...outT, id, name: `${id} (test)`, broker: b }, 2);
    const flow: FlowNode[] = [
      ...harness(),
      broker("kb-ok"),
      broker("kb-badpw"),
      broker("kb-badpass"),
      broker("kb-down", { brokers: down, tls: false, saslMechanism: "plain" }),
      out("ko-ok", "kb-ok"),
      out("ko-badpw", "kb-badpw"),
      out("ko-badpass", "kb-badpass"),
      out("ko-down", "kb-down"),
      wireAll(
        {
          id: "ki-ok",
          type: "kafka-in",
          broker: "kb-ok",
          topics: topic,
          groupId: uniqueName("lg-secrets-g"),
          fromBeginning: true,
          decode: "json",
          output: "message",
          version: 1,
        },
        2,
      ),
    ];
    const tlsCreds = { tlsCa: ca, tlsCert: CLIENT_CERT, tlsKey: CLIENT_KEY, tlsPassphrase: S.passphrase };
    const user = services.kafkaUser;
    const run = await deploy(flow, {
      "kb-ok": { username: user, password: services.kafkaPassword, ...tlsCreds },
      "kb-badpw": { username: user, password: S.kafkaWrong, ...tlsCreds },
      "kb-badpass": { username: user, password: services.kafkaPassword, ...tlsCreds, tlsPassphrase: S.passphraseWrong },
      "kb-down": { username: user, password: S.kafkaDown },
    });
    for (const id of ["ko-ok", "ko-badpw", "ko-badpass", "ko-down"]) {
      for (let i = 0; i < 3; i++)
        helper.getNode(id).receive({ topic: "sec-src", payload: { ts: T0 + i, values: { i, who: id } } });
    }
    const done = (id: string) => run.completed.filter((m) => m.payload?.values?.who === id).length;
    const readBack = () => run.sink.filter((m) => m.kafka?.offset !== undefined && m.payload?.values?.who === "ko-ok");
    // success: delivered over TLS with the client certificate, and read back
    await waitFor(run, "kafka-out ko-ok delivers", () => done("ko-ok") >= 3);
    await waitFor(run, "kafka-in ki-ok reads back", () => readBack().length >= 3);
    // failures: wrong password, wrong key passphrase, no broker
    await waitFor(run, "ko-badpw: done(err)", () => caughtFrom(run, "ko-badpw").length >= 1);
    assert.match(caughtFrom(run, "ko-badpw")[0].error.message, /authentication failed/i);
    await waitFor(run, "ko-badpw: red authFailed", () => red("ko-badpw", /authFailed|authentication failed/));
    await waitFor(run, "ko-badpass: red", () => red("ko-badpass") || caughtFrom(run, "ko-badpass").length > 0);
    await waitFor(run, "ko-down: red", () => red("ko-down"));
    assert.equal(done("ko-badpass") + done("ko-down"), 0);
    await assertNoSecrets(run);
  });

  describe("influxdb-config (v2 token, 1.8 user/password)", () => {
    const userV2 = `lgsec_v2_${process.pid}`;
    const userV18 = `lgsec_v18_${process.pid}`;

    async function influxAdmin(q: string): Promise<void> {
      const url = new URL("/query", services.influxUrl);
      const [u, ...pw] = services.influxToken.split(":");
      url.searchParams.set("u", u ?? "");
      url.searchParams.set("p", pw.join(":"));
      const res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ q }).toString(),
      });
      const body = await res.text();
      assert.equal(res.status, 200, `${q.replace(/'[^']*'/g, "'***'")}: ${body}`);
      assert.ok(!/"error"/.test(body), body);
    }

    /** Points of measurement lg_secrets written by the test's writers (as the admin user reads them). */
    async function influxCount(_u: string): Promise<number> {
      const r = await influxQuery(`SELECT count("load") FROM "lg_secrets" WHERE "who" = 'io-v2' OR "who" = 'io-v18'`);
      return Number(r?.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
    }

    before(async function () {
      await requireService(this, "influxdb");
      // Users with distinctive passwords, allowed to write the test database only.
      await influxAdmin(`CREATE USER ${userV2} WITH PASSWORD '${S.influxToken}'`);
      await influxAdmin(`GRANT WRITE ON ${services.influxDb} TO ${userV2}`);
      await influxAdmin(`CREATE USER ${userV18} WITH PASSWORD '${S.influxPw18}'`);
      await influxAdmin(`GRANT WRITE ON ${services.influxDb} TO ${userV18}`);
    });
    after(async () => {
      await influxAdmin(`DROP USER ${userV2}`).catch(() => undefined);
      await influxAdmin(`DROP USER ${userV18}`).catch(() => undefined);
    });

    it("success, 401 and server down: no secret anywhere", async () => {
      const down = `http://127.0.0.1:${await closedPort()}`;
      const template = sinkFlow({ url: services.influxUrl });
      const cfgT = template.find((n) => n.id === "cfg")!;
      const outT = template.find((n) => n.id === "out")!;
      const db = services.influxDb;
      const cfg = (id: string, patch: Record<string, unknown>): FlowNode => ({
        ...cfgT,
        id,
        name: `${id} (test)`,
        timeout: 2000,
        ...patch,
      });
      const out = (id: string, c: string, bucket: string): FlowNode =>
        wireAll({ ...outT, id, name: `${id} (test)`, influxdb: c, bucket, measurement: "lg_secrets" }, 2);
      const v2 = { version: "2", org: "-", database: "" };
      const v18 = { version: "1.8", org: "", database: db, retentionPolicy: "autogen" };
      const flow: FlowNode[] = [
        ...harness(),
        cfg("ic-v2", v2),
        cfg("ic-v18", v18),
        cfg("ic-bad", v2),
        cfg("ic-down", { ...v2, url: down }),
        out("io-v2", "ic-v2", `${db}/autogen`),
        out("io-v18", "ic-v18", ""),
        out("io-bad", "ic-bad", `${db}/autogen`),
        out("io-down", "ic-down", `${db}/autogen`),
      ];
      const run = await deploy(flow, {
        "ic-v2": { token: `${userV2}:${S.influxToken}` },
        "ic-v18": { username: userV18, password: S.influxPw18 },
        "ic-bad": { token: `${userV2}:${S.influxWrong}` },
        "ic-down": { token: `${userV2}:${S.influxDown}` },
      });
      for (const [k, id] of ["io-v2", "io-v18", "io-bad", "io-down"].entries()) {
        for (let i = 0; i < 3; i++) {
          // one series, so distinct timestamps per writer (equal ones would overwrite each other)
          const ts = T0 + k * 10 + i;
          helper.getNode(id).receive({ topic: "sec-src", payload: { ts, values: { load: i, who: id } } });
        }
      }
      const done = (id: string) => run.completed.filter((m) => m.payload?.values?.who === id).length;
      await waitFor(run, "io-v2 and io-v18 write", () => done("io-v2") >= 3 && done("io-v18") >= 3);
      await waitFor(run, "io-bad: done(err)", () => caughtFrom(run, "io-bad").length >= 1);
      assert.match(caughtFrom(run, "io-bad")[0].error.message, /401|auth/i);
      await waitFor(run, "io-bad: red", () => red("io-bad"));
      await waitFor(
        run,
        "io-down: not green",
        () =>
          !statusesOf(helper.getNode("io-down")).some((st) => st.fill === "green") &&
          statusesOf(helper.getNode("io-down")).some((st) => /disconnected/.test(st.text ?? "")),
      );
      const counted = await influxCount(userV2);
      assert.ok(counted >= 6, `InfluxDB holds the written points (${counted})`);
      await assertNoSecrets(run);
    });
  });

  describe("opcua-endpoint (user password)", () => {
    let srv: FixtureServer;
    let pki: string;
    before(async () => {
      srv = await startFixtureServer();
      pki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-sec-pki-"));
    });
    after(async () => {
      await srv?.stop();
      if (pki) fs.rmSync(pki, { recursive: true, force: true });
    });

    it("right password, wrong password, server down: no secret anywhere", async () => {
      const down = `opc.tcp://127.0.0.1:${await closedPort()}/UA/Nothing`;
      const inT = opcuaInFlow(srv.url, pki).find((n) => n.id === "in1")!;
      const ep = (id: string, url: string): FlowNode => ({
        ...endpointNode(url, pki, {
          auth: "username",
          securityMode: "SignAndEncrypt",
          securityPolicy: "Basic256Sha256",
        }),
        id,
        name: `${id} (test)`,
      });
      const inn = (id: string, e: string): FlowNode =>
        wireAll({ ...inT, id, name: `${id} (test)`, endpoint: e, nodeIds: "ns=1;s=CNC/cnc-01/spindle_load" }, 2);
      const flow: FlowNode[] = [
        ...harness(),
        ep("ep-ok", srv.url),
        ep("ep-bad", srv.url),
        ep("ep-down", down),
        inn("oi-ok", "ep-ok"),
        inn("oi-bad", "ep-bad"),
        inn("oi-down", "ep-down"),
      ];
      const run = await deploy(flow, {
        "ep-ok": { username: TEST_USER, password: TEST_PASSWORD },
        "ep-bad": { username: TEST_USER, password: S.opcuaWrong },
        "ep-down": { username: TEST_USER, password: S.opcuaDown },
      });
      srv.setValue("cnc-01", "spindle_load", 41.5);
      await waitFor(run, "oi-ok: records", () => run.sink.some((m) => m.payload?.values?.spindle_load !== undefined));
      await waitFor(run, "oi-bad: red", () => red("oi-bad"));
      await waitFor(
        run,
        "oi-down: not connected",
        () =>
          statusesOf(helper.getNode("oi-down")).length > 0 &&
          !statusesOf(helper.getNode("oi-down")).some((st) => st.fill === "green"),
      );
      await assertNoSecrets(run);
    });
  });

  describe("camera-in (Basic and Digest passwords)", () => {
    let basic: CameraServer;
    let digest: DigestCamera;
    before(async () => {
      basic = await startCameraServer(new RibbonCamera({ seed: 4, width: 96, height: 64 }), {
        fps: 10,
        user: "op",
        password: S.camBasic,
      });
      const jpeg = (await new RibbonCamera({ seed: 5, width: 80, height: 48 }).frame(0)).jpeg;
      digest = await startDigestCamera("op", S.camDigest, jpeg);
    });
    after(async () => {
      await basic?.close();
      await digest?.close();
    });

    it("Basic and Digest, right and wrong password, camera down: no secret anywhere", async () => {
      const down = `http://127.0.0.1:${await closedPort()}/snapshot.jpg`;
      const cam = (id: string, url: string): FlowNode =>
        wireAll(
          {
            ...CAMERA_IN_DEFAULTS,
            id,
            type: "camera-in",
            name: `${id} (test)`,
            sourceId: `src-${id}`,
            mode: "http-snapshot",
            url,
            interval: 200,
            timeout: 3000,
            version: 1,
          },
          2,
        );
      const flow: FlowNode[] = [
        ...harness(),
        cam("cam-basic", `${basic.url}/snapshot.jpg`),
        cam("cam-basic-bad", `${basic.url}/snapshot.jpg`),
        cam("cam-digest", `${digest.url}/snapshot.jpg`),
        cam("cam-digest-bad", `${digest.url}/snapshot.jpg`),
        cam("cam-down", down),
      ];
      const run = await deploy(flow, {
        "cam-basic": { user: "op", password: S.camBasic },
        "cam-basic-bad": { user: "op", password: S.camWrong },
        "cam-digest": { user: "op", password: S.camDigest },
        "cam-digest-bad": { user: "op", password: S.camWrong },
        "cam-down": { user: "op", password: S.camDown },
      });
      const frames = (id: string) =>
        run.sink.filter((m) => m.topic === `src-${id}` && Buffer.isBuffer(m.payload?.image));
      await waitFor(
        run,
        "Basic and Digest frames",
        () => frames("cam-basic").length >= 1 && frames("cam-digest").length >= 1,
      );
      for (const id of ["cam-basic-bad", "cam-digest-bad", "cam-down"]) {
        await waitFor(run, `${id}: red, caught`, () => red(id) && caughtFrom(run, id).length >= 1);
      }
      assert.match(caughtFrom(run, "cam-digest-bad")[0].error.message, /401|auth/i);
      // frames are released by the sink's owner in real flows; here the helper only collects them
      await assertNoSecrets(run);
    });
  });
});
