/**
 * lib/opcua against a REAL node-opcua server started by the test (test/nodes/fixtures/opcua-server.ts):
 * session pool, subscriptions, browse, security, and the reconnect after a server restart.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DataValue } from "node-opcua";
import { browseChildren, browseVariables, describeNode } from "../../lib/opcua/browse";
import { ConnectionPool, Gap, ItemError, MonitorSpec, OpcuaConnection } from "../../lib/opcua/connection";
import { EndpointSettings, endpointKey } from "../../lib/opcua/endpoint";
import { eventually } from "../support/integration";
import { FixtureServer, TEST_PASSWORD, TEST_USER, startFixtureServer } from "../nodes/fixtures/opcua-server";

function settings(url: string, pki: string, patch: Partial<EndpointSettings> = {}): EndpointSettings {
  return {
    url,
    securityMode: "None",
    securityPolicy: "None",
    auth: "anonymous",
    autoAcceptServerCertificate: true,
    pkiFolder: pki,
    sessionTimeout: 20_000,
    applicationName: "lineguard-test",
    ...patch,
  };
}

const NS = "ns=1;s=CNC";
const spec = (nodeIds: string[], patch: Partial<MonitorSpec> = {}): MonitorSpec => ({
  publishingInterval: 100,
  samplingInterval: 50,
  queueSize: 10,
  deadband: "none",
  deadbandValue: 0,
  nodeIds,
  ...patch,
});

describe("lib/opcua against a real server", function () {
  this.timeout(60_000);
  let srv: FixtureServer;
  let pki: string;
  const open: OpcuaConnection[] = [];

  before(async () => {
    srv = await startFixtureServer({ tickMs: 100 });
    pki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-opcua-cli-"));
  });
  after(async () => {
    await srv?.stop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });

  function connect(patch: Partial<EndpointSettings> = {}): OpcuaConnection {
    const c = new OpcuaConnection(settings(srv.url, pki, patch), { maxRetryDelay: 1000 });
    open.push(c);
    c.start();
    return c;
  }

  it("keeps PKI under the folder passed in (client certificate created there)", async () => {
    const c = connect();
    await eventually(() => c.state === "connected", 20_000, 50);
    assert.ok(fs.existsSync(path.join(pki, "own", "private", "private_key.pem")));
  });

  it("browses children, recursive variables with caps, and describes a node", async () => {
    const c = connect();
    const kids = await c.withSession((s) => browseChildren(s, NS));
    assert.deepEqual(kids.map((k) => k.browseName).sort(), ["cnc-01", "cnc-02"]);
    const vars = await c.withSession((s) => browseChildren(s, `${NS}/cnc-01`));
    const load = vars.find((v) => v.browseName === "spindle_load");
    assert.equal(load?.nodeClass, "Variable");
    assert.equal(load?.dataType, "Double");
    assert.equal(vars.find((v) => v.browseName === "part_count")?.dataType, "Int64");
    const all = await c.withSession((s) => browseVariables(s, NS));
    assert.equal(all.variables.length, 12);
    assert.equal(all.truncated, false);
    assert.equal(all.variables.find((v) => v.nodeId === `${NS}/cnc-02/running`)?.parent, "cnc-02");
    const capped = await c.withSession((s) => browseVariables(s, NS, { maxVariables: 3 }));
    assert.equal(capped.variables.length, 3);
    assert.equal(capped.truncated, true);
    const shallow = await c.withSession((s) => browseVariables(s, NS, { maxDepth: 1 }));
    assert.equal(shallow.variables.length, 0);
    assert.equal(shallow.truncated, true);
    const d = await c.withSession((s) => describeNode(s, `${NS}/cnc-01/spindle_load`));
    assert.deepEqual(d, { browseName: "spindle_load", parent: "cnc-01", dataType: "Double" });
    await assert.rejects(
      c.withSession((s) => describeNode(s, "ns=1;s=nope")),
      /does not exist/,
    );
  });

  it("a pool shares ONE connection per endpoint key (ref-counted)", async () => {
    const pool = new ConnectionPool();
    const s = settings(srv.url, pki);
    let created = 0;
    const mk = () => {
      created++;
      return new OpcuaConnection(s);
    };
    const a = pool.acquire(endpointKey(s), mk);
    const b = pool.acquire(endpointKey(s), mk);
    assert.equal(a.conn, b.conn);
    assert.equal(created, 1);
    await a.release();
    assert.equal(pool.size, 1);
    await b.release();
    assert.equal(pool.size, 0);
    assert.equal(a.conn.state, "closed");
  });

  it("subscribes, reports bad node ids per item, and works with SignAndEncrypt + username", async () => {
    const c = connect({
      securityMode: "SignAndEncrypt",
      securityPolicy: "Basic256Sha256",
      auth: "username",
      username: TEST_USER,
      password: TEST_PASSWORD,
    });
    const seen: number[] = [];
    let ready: { n: number; errors: ItemError[] } | undefined;
    await c.subscribe("s1", spec([`${NS}/cnc-01/spindle_load`, "ns=1;s=does-not-exist"]), {
      onChange: (i: number, dv: DataValue) => {
        if (i === 0) seen.push(dv.value.value as number);
      },
      onReady: (n, errors) => (ready = { n, errors }),
      onError: (e) => assert.fail(e),
    });
    await eventually(() => ready && seen.length >= 3, 20_000, 50);
    assert.equal(ready!.n, 1);
    assert.equal(ready!.errors.length, 1);
    assert.equal(ready!.errors[0]!.nodeId, "ns=1;s=does-not-exist");
    assert.match(ready!.errors[0]!.reason, /BadNodeIdUnknown/);
  });

  it("a wrong password is an error state that never shows the password", async () => {
    const c = connect({ auth: "username", username: TEST_USER, password: "wrong-password-xyz" });
    await eventually(() => c.state === "error", 20_000, 50);
    assert.match(c.detail ?? "", /authentication failed/);
    assert.doesNotMatch(c.detail ?? "", /wrong-password-xyz/);
  });

  it("without automatic trust an unknown server certificate is refused, with how to trust it", async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), "lg-opcua-untrusted-"));
    const c = new OpcuaConnection(
      settings(srv.url, fresh, {
        securityMode: "Sign",
        securityPolicy: "Aes256_Sha256_RsaPss",
        autoAcceptServerCertificate: false,
      }),
      { maxRetryDelay: 1000 },
    );
    open.push(c);
    c.start();
    await eventually(() => c.state === "error", 20_000, 50);
    assert.match(c.detail ?? "", /trusted/);
  });
});

describe("lib/opcua reconnect after a server restart", function () {
  this.timeout(90_000);

  it("restores the session and subscriptions once, emits a gap, values flow again", async () => {
    const srvPki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-opcua-srv-keep-"));
    let srv = await startFixtureServer({ tickMs: 100, pkiDir: srvPki });
    const port = srv.port;
    const pki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-opcua-cli-"));
    const c = new OpcuaConnection(settings(srv.url, pki), { maxRetryDelay: 1000 });
    const gaps: Gap[] = [];
    const states: string[] = [];
    c.on("gap", (g: Gap) => gaps.push(g));
    c.on("state", (s: string) => states.push(s));
    c.start();
    try {
      let changes = 0;
      let readies = 0;
      const ids = ["spindle_load", "spindle_speed", "part_count"].map((t) => `${NS}/cnc-01/${t}`);
      await c.subscribe("a", spec(ids), {
        onChange: () => changes++,
        onReady: () => readies++,
        onError: (e) => assert.fail(e),
      });
      await c.subscribe("b", spec([`${NS}/cnc-02/spindle_load`]), {
        onChange: () => undefined,
        onReady: () => undefined,
        onError: (e) => assert.fail(e),
      });
      await eventually(() => changes > 5, 20_000, 50);
      assert.equal(srv.monitoredItemCount(), 4);
      assert.equal(srv.subscriptionCount(), 2);

      await srv.stop(); // server.shutdown()
      await eventually(() => c.state !== "connected", 15_000, 50);
      await new Promise((r) => setTimeout(r, 1500));
      srv = await startFixtureServer({ port, pkiDir: srvPki, tickMs: 100 });
      const reachable = Date.now();
      await eventually(() => c.state === "connected", 15_000, 50);
      assert.ok(Date.now() - reachable < 10_000, "connected again within 10 s");
      await eventually(() => gaps.length === 1, 10_000, 50);
      assert.ok(gaps[0]!.to >= gaps[0]!.from);
      const before = changes;
      await eventually(() => changes > before + 5, 15_000, 50);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(srv.subscriptionCount(), 2, "subscriptions on the new server");
      assert.equal(srv.monitoredItemCount(), 4, "no duplicate monitored items");
      assert.ok(states.includes("reconnecting"));
    } finally {
      await c.close();
      await srv.stop();
    }
  });

  it("after the server drops the session (full session loss): a new session, every item once, a gap", async () => {
    const srv = await startFixtureServer({ tickMs: 100 });
    const pki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-opcua-cli-"));
    const c = new OpcuaConnection(settings(srv.url, pki, { sessionTimeout: 5000 }), { maxRetryDelay: 1000 });
    const gaps: Gap[] = [];
    c.on("gap", (g: Gap) => gaps.push(g));
    c.start();
    try {
      let changes = 0;
      await c.subscribe("a", spec([`${NS}/cnc-01/spindle_load`, `${NS}/cnc-02/spindle_load`]), {
        onChange: () => changes++,
        onReady: () => undefined,
        onError: (e) => assert.fail(e),
      });
      await eventually(() => changes > 3 && srv.monitoredItemCount() === 2, 20_000, 50);
      const [session] = srv.server.engine.getSessions();
      await srv.server.engine.closeSession(session!.authenticationToken, true, "Terminated");
      assert.equal(srv.monitoredItemCount(), 0);
      await eventually(() => gaps.length === 1, 15_000, 50);
      assert.equal(gaps[0]!.reason, "session lost");
      assert.ok(gaps[0]!.to >= gaps[0]!.from);
      const before = changes;
      await eventually(() => changes > before + 5, 15_000, 50);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(srv.sessionCount(), 1);
      assert.equal(srv.subscriptionCount(), 1);
      assert.equal(srv.monitoredItemCount(), 2, "no duplicate monitored items");
    } finally {
      await c.close();
      await srv.stop();
    }
  });
});
