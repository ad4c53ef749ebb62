/**
 * The anomaly example end to end with real parts: the CNC simulator's OPC UA server, opcua in,
 * features (window tensors) and the anomaly node with the shipped LSTM-AE model.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import anomaly from "../../nodes/anomaly/anomaly";
import features from "../../nodes/features/features";
import opcuaEndpoint from "../../nodes/opcua-endpoint/opcua-endpoint";
import opcuaIn from "../../nodes/opcua-in/opcua-in";
import { CncSimulator } from "../../lib/sim/cnc/simulator";
import { freePort } from "../../lib/sim/cnc/net";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

describe("integration: anomaly example (simulator -> opcua in -> features -> anomaly)", function () {
  this.timeout(120_000);
  let sim: CncSimulator | undefined;
  let tmp = "";
  useHelper();

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lg-anomaly-it-"));
    helper.settings({ userDir: tmp });
  });
  after(async () => {
    await sim?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("deploys the example and scores every machine's windows with the shipped model", async () => {
    const port = await freePort();
    sim = new CncSimulator({
      machines: 3,
      seed: 7,
      rate: 10,
      opcua: { port, pkiDir: path.join(tmp, "sim-pki") },
      http: false,
      mqtt: false,
    });
    await sim.start();

    const example = JSON.parse(fs.readFileSync(path.join(repoRoot(), "examples", "anomaly-cnc.json"), "utf8")) as Array<
      Record<string, unknown>
    >;
    const ours = new Set(["opcua-endpoint", "opcua-in", "features", "anomaly"]);
    const flow: Array<Record<string, unknown>> = [{ id: "ex", type: "tab" }];
    for (const n of example) {
      if (ours.has(String(n.type))) {
        const node: Record<string, unknown> = { ...n, z: "ex" };
        if (n.type === "opcua-endpoint") node.endpointUrl = `opc.tcp://127.0.0.1:${port}`;
        if (n.type === "opcua-in") Object.assign(node, { samplingInterval: 100, publishingInterval: 100 });
        flow.push(node);
      } else if (n.type !== "comment") {
        flow.push({ id: n.id, type: "helper", z: "ex", wires: n.wires ?? [] });
      }
    }
    await helper.load([opcuaEndpoint, opcuaIn, features, anomaly], flow);
    const scored: any[] = [];
    const anomalyNode = example.find((n) => n.type === "anomaly")!;
    const scoredOut = (anomalyNode.wires as string[][])[0]![0]!;
    helper.getNode(scoredOut).on("input", (m: any) => scored.push(m));

    await eventually(() => new Set(scored.flatMap((m) => m.anomaly.map((a: any) => a.source))).size === 3, 90_000, 200);
    const results = scored.flatMap((m) => m.anomaly);
    for (const r of results) {
      assert.ok(Number.isFinite(r.score) && r.score >= 0);
      assert.equal(r.model, "lstm-ae-cnc@1.0.0");
      assert.deepEqual(Object.keys(r.contributions).length, 9);
    }
    const withRecord = scored.find((m) => m.payload && !Array.isArray(m.payload) && m.payload.anomaly);
    assert.ok(withRecord, "the result is also on the record");
  });
});
