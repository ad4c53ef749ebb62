/**
 * Static checks of the CNC reference flow (flows/cnc-line.json, shipped as examples/cnc-line.json):
 * node types, wires and config references, the model's window, env defaults and no secrets.
 * test/integration/cnc-line.test.ts runs it for real.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string; wires?: string[][] };

const root = repoRoot();
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), "utf8");
const flow = JSON.parse(read("flows/cnc-line.json")) as FlowNode[];
const byId = new Map(flow.map((n) => [n.id, n]));
const ofType = (t: string): FlowNode[] => flow.filter((n) => n.type === t);
const pkg = JSON.parse(read("package.json")) as { "node-red": { nodes: Record<string, string> } };

const CORE = new Set([
  "tab",
  "comment",
  "inject",
  "debug",
  "function",
  "switch",
  "catch",
  "http request",
  "mqtt in",
  "mqtt-broker",
]);
const DASHBOARD = new Set(["ui-base", "ui-theme", "ui-page", "ui-group", "ui-chart", "ui-table", "ui-template"]);
/** Properties that hold the id of a configuration node. */
const REFS = ["endpoint", "broker", "influxdb", "group", "page", "ui", "theme"];

describe("flows/cnc-line.json (the CNC reference flow)", () => {
  it("is an array of nodes with unique ids on one tab 'CNC line'", () => {
    assert.ok(Array.isArray(flow) && flow.length > 0);
    assert.equal(byId.size, flow.length, "ids are unique");
    const tabs = ofType("tab");
    assert.equal(tabs.length, 1);
    assert.equal(tabs[0]!.label, "CNC line");
    for (const n of flow) {
      if (n.z !== undefined) assert.equal(n.z, tabs[0]!.id, `${n.id} is on the tab`);
      if (n.wires !== undefined) assert.equal(n.z, tabs[0]!.id, `${n.id} has wires, so it belongs on the tab`);
    }
  });

  it("uses only LineGuard, core and Dashboard 2 node types", () => {
    const ours = new Set(Object.keys(pkg["node-red"].nodes));
    for (const n of flow) {
      assert.ok(ours.has(n.type) || CORE.has(n.type) || DASHBOARD.has(n.type), `unexpected node type ${n.type}`);
    }
    for (const t of ["opcua-endpoint", "opcua-in", "validate", "features", "anomaly", "kafka-out", "influxdb-out"]) {
      assert.ok(ofType(t).length >= 1, `has a ${t} node`);
    }
    // The dashboard types exist in the installed package.
    const dash = path.join(root, "node_modules", "@flowfuse", "node-red-dashboard", "nodes");
    for (const t of new Set(flow.map((n) => n.type).filter((t) => DASHBOARD.has(t)))) {
      const file = t.replace("-", "_");
      assert.ok(
        fs.existsSync(path.join(dash, "config", `${file}.js`)) ||
          fs.existsSync(path.join(dash, "widgets", `${file}.js`)),
        `${t} is a Dashboard 2 node`,
      );
    }
  });

  it("wires and configuration references point at existing nodes", () => {
    for (const n of flow) {
      for (const out of n.wires ?? []) {
        assert.ok(Array.isArray(out));
        for (const target of out) assert.ok(byId.has(target), `${n.id} -> missing ${target}`);
      }
      for (const k of REFS) {
        const v = n[k];
        // (mqtt-broker.broker is the broker address, not a reference)
        if (n.type === "mqtt-broker" && k === "broker") continue;
        if (typeof v === "string" && v !== "" && !(n.type === "ui-page" && k === "theme" && v === "default")) {
          assert.ok(byId.has(v), `${n.id}.${k} -> missing ${v}`);
        }
      }
      if (n.type === "catch") for (const s of n.scope as string[]) assert.ok(byId.has(s), `catch scope ${s}`);
    }
    // Every processing node has something upstream (nothing dangles).
    const fed = new Set(flow.flatMap((n) => (n.wires ?? []).flat()));
    for (const t of ["validate", "features", "anomaly", "kafka-out", "influxdb-out", "ui-chart", "ui-table"]) {
      for (const n of ofType(t)) assert.ok(fed.has(n.id), `${t} ${n.id} is wired`);
    }
  });

  it("is the same file as examples/cnc-line.json", () => {
    assert.equal(read("examples/cnc-line.json"), read("flows/cnc-line.json"));
  });

  it("holds no secrets and no credentials", () => {
    const text = read("flows/cnc-line.json");
    for (const n of flow) assert.equal(n.credentials, undefined, `${n.id} carries no credentials`);
    assert.doesNotMatch(text, /lineguard-secret|"(password|token|passphrase|secret|apiKey)"\s*:/i);
    assert.doesNotMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  });

  it("takes its endpoints from environment variables that the settings default", () => {
    const text = read("flows/cnc-line.json");
    const settings = read("scripts/node-red-settings.cjs");
    const vars = new Set(
      [...text.matchAll(/\$\{(LINEGUARD_[A-Z0-9_]+)\}|\$env\('(LINEGUARD_[A-Z0-9_]+)'\)/g)].map((m) => m[1] ?? m[2]),
    );
    for (const v of ["LINEGUARD_OPCUA_URL", "LINEGUARD_MQTT_URL", "LINEGUARD_KAFKA_BROKERS", "LINEGUARD_INFLUX_DB"]) {
      assert.ok(vars.has(v), `uses ${v}`);
    }
    for (const v of vars) assert.match(settings, new RegExp(`\\b${v}:`), `${v} has a default`);
    assert.equal(ofType("opcua-endpoint")[0]!.endpointUrl, "${LINEGUARD_OPCUA_URL}");
    assert.equal(ofType("kafka-broker")[0]!.brokers, "${LINEGUARD_KAFKA_BROKERS}");
    assert.equal(ofType("influxdb-config")[0]!.database, "${LINEGUARD_INFLUX_DB}");
  });

  it("feeds the model what it was trained on and writes to lineguard.cnc / cnc", () => {
    const manifest = JSON.parse(read("models/lstm-ae-cnc/manifest.json")) as { features: string[]; window: number };
    const features = ofType("features");
    assert.equal(features.length, 2, "one features node per ingestion path");
    for (const f of features) {
      assert.equal(f.windowType, "count");
      assert.equal(f.size, manifest.window);
      assert.equal(f.tensor, true);
      assert.equal(f.tensorSize, manifest.window);
      assert.equal(f.emit, "every");
      assert.deepEqual(
        String(f.tensorTags)
          .split(",")
          .map((s) => s.trim()),
        manifest.features,
      );
    }
    assert.equal(ofType("anomaly")[0]!.modelDir, "models/lstm-ae-cnc");
    assert.equal(ofType("opcua-in")[0]!.folder, "ns=1;s=CNC");
    assert.equal(ofType("mqtt in")[0]!.topic, "cnc/+/data");
    assert.equal(
      ofType("validate").some((v) => v.schema === "cnc-envelope"),
      true,
    );
    for (const v of ofType("validate")) assert.doesNotThrow(() => JSON.parse(String(v.rules)));
    assert.equal(ofType("kafka-out")[0]!.topic, "lineguard.cnc");
    assert.equal(ofType("influxdb-out")[0]!.measurement, "cnc");
  });

  it("keeps the dashboard charts bounded", () => {
    const charts = ofType("ui-chart");
    assert.ok(charts.length >= 4);
    for (const c of charts) {
      assert.ok(Number(c.removeOlder) > 0 && Number(c.removeOlderUnit) > 0, `${String(c.label)}: removeOlder`);
      assert.ok(Number(c.removeOlderPoints) > 0, `${String(c.label)}: removeOlderPoints`);
    }
    assert.equal(ofType("ui-base")[0]!.path, "/dashboard");
    assert.equal(ofType("ui-page")[0]!.name, "CNC line");
  });

  it("has a comment explaining each step", () => {
    assert.ok(ofType("comment").length >= 5);
    for (const c of ofType("comment")) assert.ok(String(c.info).length > 40, `${String(c.name)} has an explanation`);
  });
});
