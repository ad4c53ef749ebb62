import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import opcuaEndpoint from "../../nodes/opcua-endpoint/opcua-endpoint";
import opcuaIn from "../../nodes/opcua-in/opcua-in";
import {
  OPCUA_ENDPOINT_DEFAULTS,
  endpointSettings,
  opcuaEndpointConfig,
  userDirOf,
} from "../../nodes/opcua-endpoint/config";
import type { OpcuaEndpointConfig } from "../../nodes/opcua-endpoint/types";
import { helper, useHelper } from "../support/helper";
import { FixtureServer, TEST_PASSWORD, TEST_USER, startFixtureServer } from "./fixtures/opcua-server";
import { endpointNode, opcuaInFlow } from "./fixtures/opcua-flows";
import { tempDir } from "./fixtures/opcua-support";

const nodes = [opcuaEndpoint, opcuaIn];

describe("opcua-endpoint config (migration, validation)", () => {
  it("migrates a config without version: defaults, url -> endpointUrl", () => {
    const c = opcuaEndpointConfig({ url: "opc.tcp://plc:4840" });
    assert.equal(c.version, 1);
    assert.equal(c.endpointUrl, "opc.tcp://plc:4840");
    for (const [k, v] of Object.entries(OPCUA_ENDPOINT_DEFAULTS)) {
      if (k !== "endpointUrl") assert.deepEqual((c as unknown as Record<string, unknown>)[k], v, k);
    }
    assert.equal(opcuaEndpointConfig({ ...c, sessionTimeout: 5000 }).sessionTimeout, 5000);
  });

  it("checks settings; PKI under the userDir (never ~/.config)", () => {
    const ok = opcuaEndpointConfig({});
    const s = endpointSettings(ok, {}, "/srv/nr");
    assert.equal(s.pkiFolder, path.join("/srv/nr", "lineguard-pki", "opcua"));
    assert.equal(s.autoAcceptServerCertificate, false);
    assert.equal(endpointSettings({ ...ok, pkiFolder: "/abs/pki" }, {}, "/srv/nr").pkiFolder, "/abs/pki");
    assert.ok(userDirOf(undefined).endsWith(".node-red"));
    assert.equal(userDirOf({ userDir: "/x" }), "/x");
    const bad = (patch: Partial<OpcuaEndpointConfig>, re: RegExp, creds = {}) =>
      assert.throws(() => endpointSettings({ ...ok, ...patch }, creds, "/srv/nr"), re);
    bad({ endpointUrl: "http://x" }, /opc\.tcp/);
    bad({ endpointUrl: "opc.tcp://host:99999" }, /opc\.tcp/);
    bad({ securityMode: "Sign" }, /goes with policy/);
    bad({ securityPolicy: "Basic256Sha256" }, /goes with policy/);
    bad({ securityMode: "Fancy" as never }, /security mode/);
    bad({ securityMode: "Sign", securityPolicy: "Basic128" as never }, /security policy/);
    bad({ auth: "username" }, /username is required/);
    bad({ auth: "cert" as never }, /auth/);
    bad({ sessionTimeout: 5 }, /session timeout/);
    // the password never appears in an error
    assert.throws(
      () => endpointSettings({ ...ok, endpointUrl: "nope" }, { username: "u", password: "hunter22" }, "/x"),
      (e: Error) => !e.message.includes("hunter22"),
    );
  });
});

describe("opcua-endpoint node and browse endpoint (real node-opcua server)", function () {
  this.timeout(60_000);
  useHelper();
  let srv: FixtureServer;
  let pki: string;

  before(async () => {
    srv = await startFixtureServer();
    pki = tempDir("lg-opcua-ep-");
  });
  after(async () => {
    await srv?.stop();
  });

  it("GET /lineguard/opcua/browse with a deployed config node id answers the children", async () => {
    await helper.load(nodes, opcuaInFlow(srv.url, pki, { nodeIds: "ns=1;s=CNC/cnc-01/spindle_load" }));
    const res = await helper.request().get("/lineguard/opcua/browse").query({ id: "ep1", nodeId: "ns=1;s=CNC/cnc-01" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const load = res.body.children.find((c: { browseName: string }) => c.browseName === "spindle_load");
    assert.deepEqual(
      { nodeId: load.nodeId, nodeClass: load.nodeClass, dataType: load.dataType },
      { nodeId: "ns=1;s=CNC/cnc-01/spindle_load", nodeClass: "Variable", dataType: "Double" },
    );
    const root = await helper.request().get("/lineguard/opcua/browse").query({ id: "ep1" });
    assert.equal(root.status, 200);
    assert.equal(root.body.nodeId, "i=85");
    assert.ok(root.body.children.some((c: { browseName: string }) => c.browseName === "CNC"));
    const missing = await helper.request().get("/lineguard/opcua/browse").query({ id: "nope" });
    assert.equal(missing.status, 404);
    const badId = await helper.request().get("/lineguard/opcua/browse").query({ id: "ep1", nodeId: "ns=1;x=?" });
    assert.equal(badId.status, 502);
    assert.match(badId.body.error, /not a valid node id/);
  });

  it("POST /lineguard/opcua/browse with settings not yet deployed (SignAndEncrypt + user)", async () => {
    await helper.load(nodes, [endpointNode(srv.url, pki)]);
    const endpoint = {
      ...endpointNode(srv.url, pki),
      securityMode: "SignAndEncrypt",
      securityPolicy: "Aes256_Sha256_RsaPss",
      auth: "username",
      username: TEST_USER,
      password: TEST_PASSWORD,
    };
    const res = await helper.request().post("/lineguard/opcua/browse").send({ endpoint, nodeId: "ns=1;s=CNC" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.children.map((c: { browseName: string }) => c.browseName).sort(), ["cnc-01", "cnc-02"]);
    const wrong = await helper
      .request()
      .post("/lineguard/opcua/browse")
      .send({ endpoint: { ...endpoint, password: "bad-password-77" }, nodeId: "ns=1;s=CNC" });
    assert.equal(wrong.status, 502);
    assert.doesNotMatch(JSON.stringify(wrong.body), /bad-password-77/);
    const invalid = await helper
      .request()
      .post("/lineguard/opcua/browse")
      .send({ endpoint: { endpointUrl: "http://x" } });
    assert.equal(invalid.status, 400);
  });

  it("keeps its PKI under the folder given; close completes quickly even while the server is unreachable", async () => {
    const dir = tempDir("lg-opcua-ep-pki-");
    await helper.load(
      nodes,
      opcuaInFlow("opc.tcp://127.0.0.1:1/none", dir, { nodeIds: "ns=1;s=CNC/cnc-01/spindle_load" }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    await helper.unload();
    assert.ok(Date.now() - t0 < 8000, `close took ${Date.now() - t0} ms`);
    assert.ok(fs.existsSync(path.join(dir, "own")), "PKI created in the given folder");
  });
});
