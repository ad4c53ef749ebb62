/**
 * OPC UA security with a REAL node-opcua server that REQUIRES it: only SignAndEncrypt endpoints
 * (Basic256Sha256, Aes256_Sha256_RsaPss), no anonymous access, one user. The opcua-endpoint node keeps
 * its PKI under the Node-RED userDir (relative PKI folder), refuses the unknown server certificate
 * until it is trusted the documented way (moved from <pki>/rejected to <pki>/trusted/certs, see
 * docs/security.md), then connects without a redeploy. Ephemeral ports, PKI in temp dirs.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  Variant,
} from "node-opcua";
import opcuaEndpoint from "../../nodes/opcua-endpoint/opcua-endpoint";
import opcuaIn from "../../nodes/opcua-in/opcua-in";
import { helper, testUserDir, useHelper } from "../support/helper";
import { eventually, uniqueName } from "../support/integration";
import { collect, statusesOf } from "../support/node-status";
import { opcuaInFlow } from "../nodes/fixtures/opcua-flows";
import { CncSimulator } from "../../lib/sim/cnc/simulator";
import { tagNodeId } from "../../lib/sim/cnc/opcua-server";

const USER = "sec-operator";
const PASSWORD = "Sec-Pa55-opcua-0c1d";
const NODE_ID = "ns=1;s=Sec/value";
const SIM_NODE_ID = `ns=1;${tagNodeId("cnc-01", "spindle_load")}`;

interface SecureServer {
  url: string;
  stop(): Promise<void>;
}

/** A server offering ONLY SignAndEncrypt with the two policies, username tokens only. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function startSecureServer(): Promise<SecureServer> {
  const port = await freePort();
  const pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-opcua-secsrv-"));
  const server = new OPCUAServer({
    port,
    hostname: "127.0.0.1",
    alternateHostname: ["127.0.0.1"],
    resourcePath: "/UA/LineGuardSecure",
    serverCertificateManager: new OPCUACertificateManager({
      rootFolder: path.join(pkiDir, "server"),
      // the server's side of the trust is not under test here: it accepts LineGuard's client cert
      automaticallyAcceptUnknownCertificate: true,
    }),
    userCertificateManager: new OPCUACertificateManager({
      rootFolder: path.join(pkiDir, "user"),
      automaticallyAcceptUnknownCertificate: true,
    }),
    certificateFile: path.join(pkiDir, "server", "own", "certs", "server.pem"),
    privateKeyFile: path.join(pkiDir, "server", "own", "private", "private_key.pem"),
    securityPolicies: [SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes256_Sha256_RsaPss],
    securityModes: [MessageSecurityMode.SignAndEncrypt],
    allowAnonymous: false,
    userManager: { isValidUser: (u: string, p: string) => u === USER && p === PASSWORD },
    buildInfo: { productName: "LineGuard secure test server" },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const folder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Sec", nodeId: "s=Sec" });
  const v = ns.addVariable({
    componentOf: folder,
    browseName: "value",
    nodeId: "s=Sec/value",
    dataType: "Double",
    minimumSamplingInterval: 10,
  });
  v.setValueFromSource(new Variant({ dataType: DataType.Double, value: 7 }));
  await server.start();
  return {
    url: `opc.tcp://127.0.0.1:${port}/UA/LineGuardSecure`,
    stop: async () => {
      await server.shutdown(0);
      fs.rmSync(pkiDir, { recursive: true, force: true });
    },
  };
}

function listFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => /\.(pem|der)$/i.test(f));
  } catch {
    return [];
  }
}

/**
 * Deploy opcua-endpoint (SignAndEncrypt, `policy`, user token, no automatic trust, PKI folder relative
 * to the userDir) + opcua-in on `nodeId`; expect the refusal with the advice, trust the rejected server
 * certificate by moving it to trusted/certs, then expect records. Returns the first record message.
 */
async function refusedThenTrusted(
  url: string,
  policy: string,
  nodeId: string,
  user: string,
  password: string,
): Promise<any> {
  // relative PKI folder: resolved under the Node-RED userDir
  const rel = path.join("lineguard-pki", uniqueName(`opcua-${policy}`));
  const pki = path.join(testUserDir, rel);
  const flow = opcuaInFlow(
    url,
    rel,
    { nodeIds: nodeId },
    { securityMode: "SignAndEncrypt", securityPolicy: policy, auth: "username", autoAcceptCertificate: false },
  );
  await helper.load([opcuaEndpoint, opcuaIn], flow, { ep1: { username: user, password } });
  const inn = helper.getNode("in1");
  const recs = collect(helper.getNode("recs"));

  // 1. refused: red status that says where the certificate is and where it must go
  await eventually(() => statusesOf(inn).some((s) => s.fill === "red" && /trusted/.test(s.text ?? "")), 60_000, 50);
  // the status is shortened; the log has the whole advice with both absolute paths
  const advice = (): string | undefined =>
    (helper.log().args as unknown[][])
      .map((a) => JSON.stringify(a))
      .find((t) => t.includes("trust the server certificate"));
  await eventually(() => advice() !== undefined, 30_000, 50);
  const logged = JSON.stringify(helper.log().args);
  assert.ok(logged.includes(path.join(pki, "rejected")), `log names ${path.join(pki, "rejected")}: ${advice()}`);
  assert.ok(logged.includes(path.join(pki, "trusted", "certs")), `log names trusted/certs: ${advice()}`);
  await eventually(() => listFiles(path.join(pki, "rejected")).length > 0, 30_000, 50);
  assert.equal(recs.length, 0);
  // the client's own certificate was created in the same userDir PKI (never ~/.config)
  assert.ok(listFiles(path.join(pki, "own", "certs")).length > 0, "own/certs under the userDir PKI");

  // 2. trust it the documented way: move the file(s) from rejected/ to trusted/certs/
  const rejected = listFiles(path.join(pki, "rejected"));
  fs.mkdirSync(path.join(pki, "trusted", "certs"), { recursive: true });
  for (const f of rejected) {
    fs.renameSync(path.join(pki, "rejected", f), path.join(pki, "trusted", "certs", f));
  }

  // 3. the endpoint retries on its own (no redeploy) and the subscription delivers
  await eventually(() => recs.length > 0, 60_000, 50);
  await eventually(() => statusesOf(inn).some((s) => s.fill === "green"), 30_000, 50);
  const log = JSON.stringify(helper.log().args);
  assert.ok(!log.includes(password), "password leaked into the log");
  return recs[0];
}

describe("integration: OPC UA security the server requires (SignAndEncrypt, user token, PKI trust)", function () {
  this.timeout(120_000);
  useHelper();

  let srv: SecureServer;
  before(async () => {
    srv = await startSecureServer();
  });
  after(async () => {
    await srv?.stop();
  });

  for (const policy of ["Basic256Sha256", "Aes256_Sha256_RsaPss"]) {
    it(`${policy}: the unknown server certificate is refused until moved to trusted/certs, then records flow`, async () => {
      const rec = await refusedThenTrusted(srv.url, policy, NODE_ID, USER, PASSWORD);
      assert.equal(rec.payload.values.value, 7);
    });
  }

  it("a client asking for mode None (which the server does not offer) gets a clear red error", async () => {
    const flow = opcuaInFlow(
      srv.url,
      path.join("lineguard-pki", uniqueName("opcua-none")),
      { nodeIds: NODE_ID },
      { securityMode: "None", securityPolicy: "None", auth: "username", autoAcceptCertificate: true },
    );
    await helper.load([opcuaEndpoint, opcuaIn], flow, { ep1: { username: USER, password: PASSWORD } });
    const inn = helper.getNode("in1");
    const recs = collect(helper.getNode("recs"));
    await eventually(() => statusesOf(inn).some((s) => s.fill === "red" && (s.text ?? "").length > 0), 60_000, 50);
    assert.equal(recs.length, 0);
  });
});

describe("integration: the CNC simulator requiring a user (no anonymous sessions)", function () {
  this.timeout(120_000);
  useHelper();

  const SIM_USER = "cnc-operator";
  const SIM_PASSWORD = "Cnc-Sim-pa55-93ab";
  let sim: CncSimulator;
  let simPki: string;
  before(async () => {
    simPki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-opcua-simsec-"));
    sim = new CncSimulator({
      machines: 1,
      seed: 11,
      rate: 10,
      opcua: { port: 0, pkiDir: simPki, allowAnonymous: false, user: { username: SIM_USER, password: SIM_PASSWORD } },
      http: false,
      mqtt: false,
    });
    await sim.start();
  });
  after(async () => {
    await sim?.stop();
    if (simPki) fs.rmSync(simPki, { recursive: true, force: true });
  });

  for (const policy of ["Basic256Sha256", "Aes256_Sha256_RsaPss"]) {
    it(`SignAndEncrypt ${policy} + username: refused until the server certificate is trusted, then records`, async () => {
      const rec = await refusedThenTrusted(sim.opcua!.endpointUrl, policy, SIM_NODE_ID, SIM_USER, SIM_PASSWORD);
      assert.equal(typeof rec.payload.values.spindle_load, "number");
    });
  }

  it("an anonymous session is refused with a clear red error", async () => {
    const flow = opcuaInFlow(
      sim.opcua!.endpointUrl,
      path.join("lineguard-pki", uniqueName("opcua-anon")),
      { nodeIds: SIM_NODE_ID },
      { securityMode: "SignAndEncrypt", securityPolicy: "Aes256_Sha256_RsaPss", autoAcceptCertificate: true },
    );
    await helper.load([opcuaEndpoint, opcuaIn], flow);
    const inn = helper.getNode("in1");
    const recs = collect(helper.getNode("recs"));
    await eventually(() => statusesOf(inn).some((s) => s.fill === "red" && (s.text ?? "").length > 0), 60_000, 50);
    assert.equal(recs.length, 0);
  });
});
