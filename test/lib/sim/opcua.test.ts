/**
 * The simulator's OPC UA server with a real node-opcua client on 127.0.0.1 (no mocks): browse,
 * DataTypes, read, subscribe, methods, security None and SignAndEncrypt with a user.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  AttributeIds,
  ClientSession,
  DataValue,
  DataType,
  MessageSecurityMode,
  NodeId,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
  Variant,
  coerceNodeId,
} from "node-opcua";
import { CncSimulator } from "../../../lib/sim/cnc/simulator";

const USER = "operator";
const PASSWORD = "sim-Pa55word";

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("lib/sim/cnc/opcua-server (real node-opcua client)", function () {
  this.timeout(30000);
  let pki: string;
  let sim: CncSimulator;
  let clientPki: OPCUACertificateManager;
  let ns = 1;

  before(async () => {
    pki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-sim-opcua-"));
    clientPki = new OPCUACertificateManager({
      rootFolder: path.join(pki, "client"),
      automaticallyAcceptUnknownCertificate: true,
    });
    sim = new CncSimulator({
      rate: 20,
      seed: 5,
      labels: true,
      opcua: { port: 0, pkiDir: pki, user: { username: USER, password: PASSWORD } },
      mqtt: false,
      http: false,
    });
    await sim.start();
  });

  after(async () => {
    await sim?.stop();
    await clientPki?.dispose();
    fs.rmSync(pki, { recursive: true, force: true });
  });

  async function connect(
    mode = MessageSecurityMode.None,
    policy = SecurityPolicy.None,
    user?: { userName: string; password: string },
  ): Promise<{ client: OPCUAClient; session: ClientSession }> {
    const client = OPCUAClient.create({
      endpointMustExist: false,
      securityMode: mode,
      securityPolicy: policy,
      clientCertificateManager: clientPki,
      connectionStrategy: { maxRetry: 1, initialDelay: 200, maxDelay: 500 },
      requestedSessionTimeout: 20000,
    });
    await client.connect(sim.opcua!.endpointUrl);
    try {
      const session = await client.createSession(
        user ? { type: UserTokenType.UserName, userName: user.userName, password: user.password } : undefined,
      );
      return { client, session };
    } catch (err) {
      await client.disconnect();
      throw err;
    }
  }

  const id = (s: string) => coerceNodeId(`ns=${ns};s=${s}`);

  it("exposes Objects/CNC/<id>/<tag> with DataTypes, Labels and methods (security None, anonymous)", async () => {
    const { client, session } = await connect();
    try {
      const objects = await session.browse("ObjectsFolder");
      const cnc = objects.references!.find((r) => r.browseName.name === "CNC");
      assert.ok(cnc, "Objects/CNC");
      ns = (cnc.nodeId as NodeId).namespace;
      const machines = await session.browse(cnc.nodeId.toString());
      const names = machines.references!.map((r) => r.browseName.name).sort();
      assert.deepEqual(names, ["cnc-01", "cnc-02", "cnc-03"]);
      const children = await session.browse(id("CNC/cnc-01").toString());
      const childNames = children.references!.map((r) => r.browseName.name);
      for (const n of ["spindle_speed", "vibration_rms", "part_count", "state", "program", "Labels"]) {
        assert.ok(childNames.includes(n!), n);
      }
      for (const n of ["InjectFailure", "ClearFailure", "StartMaintenance"]) assert.ok(childNames.includes(n), n);

      await waitFor(() => sim.tickCount > 2);
      const dvs = await session.read(
        ["spindle_speed", "part_count", "state", "Labels/Anomaly", "Labels/FailureType"].map((t) => ({
          nodeId: id(`CNC/cnc-01/${t}`),
          attributeId: AttributeIds.Value,
        })),
        0,
      );
      assert.deepEqual(
        dvs.map((d) => d.value.dataType),
        [DataType.Double, DataType.UInt32, DataType.String, DataType.Boolean, DataType.String],
      );
      for (const d of dvs) {
        assert.ok(d.statusCode.equals(StatusCodes.Good), d.statusCode.toString());
        assert.ok(d.sourceTimestamp instanceof Date && Math.abs(d.sourceTimestamp.getTime() - Date.now()) < 5000);
      }
      assert.ok(["running", "idle", "maintenance"].includes(dvs[2].value.value as string));
      const dt = await session.read({ nodeId: id("CNC/cnc-01/spindle_speed"), attributeId: AttributeIds.DataType });
      assert.equal((dt.value.value as NodeId).value, DataType.Double);
    } finally {
      await session.close();
      await client.disconnect();
    }
  });

  it("publishes changing values to a subscription", async () => {
    const { client, session } = await connect();
    const sub = await session.createSubscription2({
      requestedPublishingInterval: 50,
      requestedMaxKeepAliveCount: 10,
      publishingEnabled: true,
    });
    try {
      const item = await sub.monitor(
        { nodeId: id("CNC/cnc-02/coolant_temp"), attributeId: AttributeIds.Value },
        { samplingInterval: 20, queueSize: 10, discardOldest: true },
        TimestampsToReturn.Both,
      );
      const seen: number[] = [];
      item.on("changed", (dv: DataValue) => seen.push(dv.value.value as number));
      await waitFor(() => new Set(seen).size >= 4);
      assert.ok(seen.every((v) => typeof v === "number" && v > 10 && v < 60));
    } finally {
      await sub.terminate();
      await session.close();
      await client.disconnect();
    }
  });

  it("InjectFailure / ClearFailure / StartMaintenance act on the machine", async () => {
    const { client, session } = await connect();
    try {
      const call = (method: string, args: Variant[] = []) =>
        session.call({ objectId: id("CNC/cnc-03"), methodId: id(`CNC/cnc-03/${method}`), inputArguments: args });
      const ok = await call("InjectFailure", [
        new Variant({ dataType: DataType.String, value: "spindle-overheat" }),
        new Variant({ dataType: DataType.Double, value: 0.5 }),
      ]);
      assert.ok(ok.statusCode.equals(StatusCodes.Good), ok.statusCode.toString());
      assert.equal(sim.fleet.get("cnc-03").activeFailure?.type, "spindle-overheat");
      const labels = await waitFor(async () => {
        const [ft, sev] = await session.read([
          { nodeId: id("CNC/cnc-03/Labels/FailureType"), attributeId: AttributeIds.Value },
          { nodeId: id("CNC/cnc-03/Labels/Severity"), attributeId: AttributeIds.Value },
        ]);
        return ft.value.value === "spindle-overheat" && (sev.value.value as number) >= 1 ? [ft, sev] : undefined;
      });
      assert.ok(labels);

      const bad = await call("InjectFailure", [
        new Variant({ dataType: DataType.String, value: "melting" }),
        new Variant({ dataType: DataType.Double, value: 1 }),
      ]);
      assert.ok(bad.statusCode.equals(StatusCodes.BadInvalidArgument), bad.statusCode.toString());
      const negative = await call("InjectFailure", [
        new Variant({ dataType: DataType.String, value: "tool-wear" }),
        new Variant({ dataType: DataType.Double, value: -1 }),
      ]);
      assert.ok(negative.statusCode.equals(StatusCodes.BadInvalidArgument));
      assert.equal(sim.fleet.get("cnc-03").activeFailure?.type, "spindle-overheat", "unchanged by bad calls");

      assert.ok((await call("ClearFailure")).statusCode.equals(StatusCodes.Good));
      assert.equal(sim.fleet.get("cnc-03").activeFailure, undefined);

      assert.ok((await call("StartMaintenance")).statusCode.equals(StatusCodes.Good));
      await waitFor(async () => {
        const dv = await session.read({ nodeId: id("CNC/cnc-03/state"), attributeId: AttributeIds.Value });
        return dv.value.value === "maintenance";
      });
    } finally {
      await session.close();
      await client.disconnect();
    }
  });

  it("marks a sensor Uncertain while it is flagged (coolant loss), Good again after clearing", async () => {
    const { client, session } = await connect();
    const read = () =>
      session.read([
        { nodeId: id("CNC/cnc-02/coolant_flow"), attributeId: AttributeIds.Value },
        { nodeId: id("CNC/cnc-02/coolant_temp"), attributeId: AttributeIds.Value },
      ]);
    try {
      sim.fleet.get("cnc-02").inject("coolant-loss", 0);
      const [flow, temp] = await waitFor(async () => {
        const dvs = await read();
        return dvs[0].statusCode.equals(StatusCodes.UncertainSensorNotAccurate) ? dvs : undefined;
      });
      assert.equal(typeof flow.value.value, "number");
      assert.ok(temp.statusCode.equals(StatusCodes.Good));
      sim.fleet.get("cnc-02").clear();
      await waitFor(async () => (await read())[0].statusCode.equals(StatusCodes.Good));
    } finally {
      await session.close();
      await client.disconnect();
    }
  });

  it("accepts SignAndEncrypt Basic256Sha256 with username/password and rejects a wrong password", async () => {
    const { client, session } = await connect(MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Basic256Sha256, {
      userName: USER,
      password: PASSWORD,
    });
    try {
      const dv = await session.read({ nodeId: id("CNC/cnc-01/power"), attributeId: AttributeIds.Value });
      assert.equal(dv.value.dataType, DataType.Double);
    } finally {
      await session.close();
      await client.disconnect();
    }
    await assert.rejects(
      connect(MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Basic256Sha256, { userName: USER, password: "nope" }),
    );
  });

  it("offers Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss with Sign", async () => {
    for (const policy of [SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss]) {
      const { client, session } = await connect(MessageSecurityMode.Sign, policy);
      try {
        const dv = await session.read({ nodeId: id("CNC/cnc-02/state"), attributeId: AttributeIds.Value });
        assert.equal(dv.value.dataType, DataType.String);
      } finally {
        await session.close();
        await client.disconnect();
      }
    }
  });

  it("starts and stops cleanly, again and again, freeing its port", async () => {
    for (let i = 0; i < 3; i++) {
      const s = new CncSimulator({ rate: 5, opcua: { port: 0, pkiDir: pki }, mqtt: false, http: false });
      await s.start();
      const port = Number(new URL(s.opcua!.endpointUrl.replace("opc.tcp", "http")).port);
      await s.stop();
      await s.stop();
      const refused = await new Promise<boolean>((resolve) => {
        const c = net.connect({ host: "127.0.0.1", port });
        c.once("connect", () => {
          c.destroy();
          resolve(false);
        });
        c.once("error", () => resolve(true));
      });
      assert.ok(refused, "port closed after stop");
    }
  });
});
