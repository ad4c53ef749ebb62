/**
 * The glass simulator's OPC UA view (real node-opcua client), HTTP control API (real HTTP) and the
 * camera coupling (real camera server from lib/sim/camera), all on 127.0.0.1 with ephemeral ports.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AttributeIds,
  DataType,
  NodeId,
  OPCUACertificateManager,
  OPCUAClient,
  StatusCodes,
  Variant,
  coerceNodeId,
} from "node-opcua";
import { GlassSimulator } from "../../../lib/sim/glass/simulator";

describe("lib/sim/glass: OPC UA view, HTTP control and camera coupling", function () {
  this.timeout(30000);
  let pki: string;
  let sim: GlassSimulator;
  let clientPki: OPCUACertificateManager;

  before(async () => {
    pki = fs.mkdtempSync(path.join(os.tmpdir(), "lg-glass-sim-"));
    clientPki = new OPCUACertificateManager({
      rootFolder: path.join(pki, "client"),
      automaticallyAcceptUnknownCertificate: true,
    });
    sim = new GlassSimulator({
      rate: 20,
      seed: 4,
      labels: true,
      modbus: false,
      opcua: { port: 0, pkiDir: pki },
      http: { port: 0 },
      camera: { port: 0, width: 320, height: 240, fps: 0.2 },
    });
    await sim.start();
  });

  after(async () => {
    await sim?.stop();
    await clientPki?.dispose();
    fs.rmSync(pki, { recursive: true, force: true });
  });

  async function call(method: string, p: string, body?: unknown) {
    const res = await fetch(sim.http!.url + p, {
      method,
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it("OPC UA: Objects/Glass/<line>/<section>/<tag> with DataTypes, labels and methods", async () => {
    const client = OPCUAClient.create({
      endpointMustExist: false,
      clientCertificateManager: clientPki,
      connectionStrategy: { maxRetry: 1, initialDelay: 200, maxDelay: 500 },
    });
    await client.connect(sim.opcua!.endpointUrl);
    const session = await client.createSession();
    try {
      const objects = await session.browse("ObjectsFolder");
      const glass = objects.references!.find((r) => r.browseName.name === "Glass");
      assert.ok(glass, "Objects/Glass");
      const ns = (glass.nodeId as NodeId).namespace;
      const id = (s: string) => coerceNodeId(`ns=${ns};s=${s}`);
      const line = await session.browse(id("Glass/glass-01").toString());
      const names = line.references!.map((r) => r.browseName.name);
      for (const n of ["Line", "Furnace", "TinBath", "Lehr", "Ribbon", "Alarms", "Labels", "InjectFailure"]) {
        assert.ok(names.includes(n), n);
      }
      const furnace = await session.browse(id("Glass/glass-01/Furnace").toString());
      assert.ok(furnace.references!.some((r) => r.browseName.name === "furnace_t4"));
      const dvs = await session.read(
        ["furnace_t4", "line_state", "thickness_dev_um", "burner_1", "product"].map((t) => ({
          nodeId: id(`Glass/glass-01/${t}`),
          attributeId: AttributeIds.Value,
        })),
      );
      assert.ok(dvs.every((d) => d.statusCode.equals(StatusCodes.Good)));
      assert.equal(dvs[0]!.value.dataType, DataType.Double);
      assert.ok(Math.abs((dvs[0]!.value.value as number) - 1590) < 20);
      assert.equal(dvs[1]!.value.dataType, DataType.UInt32);
      assert.equal(dvs[2]!.value.dataType, DataType.Int32);
      assert.equal(dvs[3]!.value.value, true);
      assert.equal(dvs[4]!.value.value, "CLEAR-4.0MM");
      const m = (method: string, args: Variant[] = []) =>
        session.call({
          objectId: id("Glass/glass-01"),
          methodId: id(`Glass/glass-01/${method}`),
          inputArguments: args,
        });
      const ok = await m("InjectFailure", [
        new Variant({ dataType: DataType.String, value: "tin-bath-contamination" }),
        new Variant({ dataType: DataType.Double, value: 60 }),
      ]);
      assert.ok(ok.statusCode.equals(StatusCodes.Good));
      assert.equal(sim.plant.get("glass-01").activeFailure?.type, "tin-bath-contamination");
      const bad = await m("InjectFailure", [
        new Variant({ dataType: DataType.String, value: "melting" }),
        new Variant({ dataType: DataType.Double, value: 60 }),
      ]);
      assert.ok(bad.statusCode.equals(StatusCodes.BadInvalidArgument));
      assert.ok((await m("ClearFailure")).statusCode.equals(StatusCodes.Good));
      assert.equal(sim.plant.get("glass-01").activeFailure, undefined);
      assert.ok((await m("StartMaintenance")).statusCode.equals(StatusCodes.Good));
      assert.equal(sim.plant.get("glass-01").currentState, "maintenance");
    } finally {
      await session.close();
      await client.disconnect();
    }
  });

  it("HTTP: status, lines, failure, maintenance, alarm acknowledge, rate, start/stop, errors", async () => {
    assert.deepEqual((await call("GET", "/health")).body, { ok: true });
    const st = await call("GET", "/status");
    assert.equal(st.body.rate, 20);
    assert.deepEqual(Object.keys(st.body.endpoints).sort(), ["camera", "http", "opcua"]);
    assert.equal(st.body.lines[0].id, "glass-01");
    assert.equal(typeof st.body.lines[0].values.furnace_t1, "number");
    const inj = await call("POST", "/lines/glass-01/failure", { type: "burner-failure", rampSeconds: 30, zone: 5 });
    assert.equal(inj.status, 200);
    assert.deepEqual(inj.body.failure, { type: "burner-failure", severity: 0, rampSeconds: 30, zone: 5 });
    assert.equal((await call("DELETE", "/lines/glass-01/failure")).body.failure, null);
    const mt = await call("POST", "/lines/glass-01/maintenance", { seconds: 5 });
    assert.equal(mt.body.state, "maintenance");
    assert.equal((await call("POST", "/lines/glass-01/alarms/ack")).status, 200);
    assert.equal((await call("PUT", "/rate", { rate: 5 })).body.rate, 5);
    assert.equal((await call("POST", "/stop")).body.running, false);
    assert.equal((await call("POST", "/start")).body.running, true);
    assert.equal((await call("GET", "/lines/glass-09")).status, 404);
    assert.equal((await call("POST", "/lines/glass-01/failure", { type: "melting" })).body.error, "unknown-failure");
    assert.equal((await call("POST", "/lines/glass-01/failure", { type: "burner-failure", zone: 8 })).status, 400);
    assert.equal((await call("GET", "/lines/glass-01/failure")).status, 405);
    assert.equal((await call("GET", "/nope")).status, 404);
  });

  it("camera: class rates and ribbon speed follow the process; POST /camera/inject", async () => {
    const cam = await call("GET", "/camera");
    assert.equal(cam.body.line, "glass-01");
    assert.equal(cam.body.classRates.crack, 1);
    await call("POST", "/lines/glass-01/failure", { type: "lehr-cooling-fault", rampSeconds: 0 });
    const after = await call("GET", "/camera");
    assert.equal(after.body.classRates.crack, 9);
    assert.ok(Math.abs(after.body.ribbonSpeed - sim.plant.get("glass-01").ribbonSpeed()) < 0.5);
    const inj = await call("POST", "/camera/inject", { cls: "tin_drip", count: 2 });
    assert.equal(inj.status, 200);
    assert.equal((await call("POST", "/camera/inject", { cls: "smudge" })).status, 400);
    const snap = await fetch(sim.cameraServer!.url + "/snapshot.jpg");
    assert.equal(snap.status, 200);
    const jpeg = Buffer.from(await snap.arrayBuffer());
    assert.equal(jpeg[0], 0xff);
    assert.equal(jpeg[1], 0xd8);
    const labels = (await (await fetch(sim.cameraServer!.url + "/labels.json")).json()) as any;
    assert.ok(
      labels.boxes.some((b: any) => b.cls === "tin_drip"),
      JSON.stringify(labels.boxes),
    );
    await call("DELETE", "/lines/glass-01/failure");
  });

  it("without a camera, POST /camera/inject is a 404", async () => {
    const plain = new GlassSimulator({ rate: 1, modbus: false, opcua: false, http: { port: 0 } });
    await plain.start();
    try {
      const res = await fetch(plain.http!.url + "/camera/inject", { method: "POST", body: '{"cls":"crack"}' });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as any).error, "no-camera");
    } finally {
      await plain.stop();
    }
  });
});
