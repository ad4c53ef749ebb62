/**
 * Static checks of the reference flows (flows/cnc-line.json and flows/glass-line.json, shipped as
 * examples/*.json): node types, wires and config references, the model's window, env defaults, shared
 * configuration nodes and no secrets. test/integration/cnc-line.test.ts and glass-line.test.ts run them.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { glassRegisterMap } from "../../lib/sim/glass/register-map";

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) dir = path.dirname(dir);
  return dir;
}

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string; wires?: string[][] };

const root = repoRoot();
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), "utf8");
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

interface FlowSpec {
  file: string;
  tab: string;
  types: string[];
  env: string[];
  model: string;
  page: string;
}

const SPECS: FlowSpec[] = [
  {
    file: "cnc-line.json",
    tab: "CNC line",
    types: ["opcua-endpoint", "opcua-in", "validate", "features", "anomaly", "kafka-out", "influxdb-out"],
    env: ["LINEGUARD_OPCUA_URL", "LINEGUARD_MQTT_URL", "LINEGUARD_KAFKA_BROKERS", "LINEGUARD_INFLUX_DB"],
    model: "models/lstm-ae-cnc",
    page: "CNC line",
  },
  {
    file: "glass-line.json",
    tab: "Glass line",
    types: [
      "modbus-device",
      "modbus-in",
      "opcua-endpoint",
      "opcua-in",
      "validate",
      "features",
      "anomaly",
      "camera-in",
      "detect",
      "kafka-out",
      "influxdb-out",
    ],
    env: [
      "LINEGUARD_MODBUS_HOST",
      "LINEGUARD_MODBUS_PORT",
      "LINEGUARD_GLASS_OPCUA_URL",
      "LINEGUARD_CAMERA_URL",
      "LINEGUARD_GLASS_SIM_URL",
      "LINEGUARD_KAFKA_BROKERS",
      "LINEGUARD_INFLUX_DB",
    ],
    model: "models/lstm-ae-glass",
    page: "Glass line",
  },
];

for (const spec of SPECS) describeFlow(spec);

function describeFlow(spec: FlowSpec): void {
  const flow = JSON.parse(read(`flows/${spec.file}`)) as FlowNode[];
  const byId = new Map(flow.map((n) => [n.id, n]));
  const ofType = (t: string): FlowNode[] => flow.filter((n) => n.type === t);

  describe(`flows/${spec.file} (reference flow)`, () => {
    it(`is an array of nodes with unique ids on one tab '${spec.tab}'`, () => {
      assert.ok(Array.isArray(flow) && flow.length > 0);
      assert.equal(byId.size, flow.length, "ids are unique");
      const tabs = ofType("tab");
      assert.equal(tabs.length, 1);
      assert.equal(tabs[0]!.label, spec.tab);
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
      for (const t of spec.types) {
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
      for (const t of [
        "validate",
        "features",
        "anomaly",
        "detect",
        "kafka-out",
        "influxdb-out",
        "ui-chart",
        "ui-table",
      ]) {
        for (const n of ofType(t)) assert.ok(fed.has(n.id), `${t} ${n.id} is wired`);
      }
    });

    it(`is the same file as examples/${spec.file}`, () => {
      assert.equal(read(`examples/${spec.file}`), read(`flows/${spec.file}`));
    });

    it("holds no secrets and no credentials", () => {
      const text = read(`flows/${spec.file}`);
      for (const n of flow) assert.equal(n.credentials, undefined, `${n.id} carries no credentials`);
      assert.doesNotMatch(text, /lineguard-secret|"(password|token|passphrase|secret|apiKey)"\s*:/i);
      assert.doesNotMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    });

    it("takes its endpoints from environment variables that the settings default", () => {
      const text = read(`flows/${spec.file}`);
      const settings = read("scripts/node-red-settings.cjs");
      const vars = new Set(
        [...text.matchAll(/\$\{(LINEGUARD_[A-Z0-9_]+)\}|\$env\('(LINEGUARD_[A-Z0-9_]+)'\)/g)].map((m) => m[1] ?? m[2]),
      );
      for (const v of spec.env) assert.ok(vars.has(v), `uses ${v}`);
      for (const v of vars) assert.match(settings, new RegExp(`\\b${v}:`), `${v} has a default`);
      assert.equal(ofType("kafka-broker")[0]!.brokers, "${LINEGUARD_KAFKA_BROKERS}");
      assert.equal(ofType("influxdb-config")[0]!.database, "${LINEGUARD_INFLUX_DB}");
    });

    it("feeds the model what it was trained on (window, tensor tags in manifest order)", () => {
      const manifest = JSON.parse(read(`${spec.model}/manifest.json`)) as { features: string[]; window: number };
      const features = ofType("features");
      assert.ok(features.length >= 1);
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
      assert.equal(ofType("anomaly")[0]!.modelDir, spec.model);
      for (const v of ofType("validate")) assert.doesNotThrow(() => JSON.parse(String(v.rules)));
    });

    it("keeps the dashboard charts bounded", () => {
      const charts = ofType("ui-chart");
      assert.ok(charts.length >= 4);
      for (const c of charts) {
        assert.ok(Number(c.removeOlder) > 0 && Number(c.removeOlderUnit) > 0, `${String(c.label)}: removeOlder`);
        assert.ok(Number(c.removeOlderPoints) > 0, `${String(c.label)}: removeOlderPoints`);
      }
      assert.equal(ofType("ui-base")[0]!.path, "/dashboard");
      assert.equal(ofType("ui-page")[0]!.name, spec.page);
    });

    it("has a comment explaining each step", () => {
      assert.ok(ofType("comment").length >= 5);
      for (const c of ofType("comment")) assert.ok(String(c.info).length > 40, `${String(c.name)} has an explanation`);
    });
  });
}

describe("reference flows together (npm start merges them)", () => {
  const cnc = JSON.parse(read("flows/cnc-line.json")) as FlowNode[];
  const glass = JSON.parse(read("flows/glass-line.json")) as FlowNode[];

  it("share the Kafka, InfluxDB and Dashboard 2 base/theme configuration nodes (same ids, same settings)", () => {
    for (const t of ["kafka-broker", "influxdb-config", "ui-base", "ui-theme"]) {
      const a = cnc.filter((n) => n.type === t);
      const b = glass.filter((n) => n.type === t);
      assert.equal(a.length, 1, `one ${t} in the CNC flow`);
      assert.equal(b.length, 1, `one ${t} in the glass flow`);
      const strip = (n: FlowNode): FlowNode => {
        const { x: _x, y: _y, ...rest } = n;
        return rest as FlowNode;
      };
      assert.deepEqual(strip(b[0]!), strip(a[0]!), `${t} is the same node`);
    }
  });

  it("have no other id in common", () => {
    const shared = new Set(["kafka-broker", "influxdb-config", "ui-base", "ui-theme"]);
    const ids = new Set(cnc.map((n) => n.id));
    for (const n of glass) if (!shared.has(n.type)) assert.ok(!ids.has(n.id), `${n.id} is only in one flow`);
  });
});

describe("flows/cnc-line.json specifics", () => {
  const flow = JSON.parse(read("flows/cnc-line.json")) as FlowNode[];
  const ofType = (t: string): FlowNode[] => flow.filter((n) => n.type === t);
  it("reads OPC UA and MQTT, one features node per path, writes lineguard.cnc / cnc", () => {
    assert.equal(ofType("features").length, 2, "one features node per ingestion path");
    assert.equal(ofType("opcua-endpoint")[0]!.endpointUrl, "${LINEGUARD_OPCUA_URL}");
    assert.equal(ofType("opcua-in")[0]!.folder, "ns=1;s=CNC");
    assert.equal(ofType("mqtt in")[0]!.topic, "cnc/+/data");
    assert.ok(ofType("validate").some((v) => v.schema === "cnc-envelope"));
    assert.equal(ofType("kafka-out")[0]!.topic, "lineguard.cnc");
    assert.equal(ofType("influxdb-out")[0]!.measurement, "cnc");
  });
});

describe("flows/glass-line.json specifics", () => {
  const flow = JSON.parse(read("flows/glass-line.json")) as FlowNode[];
  const ofType = (t: string): FlowNode[] => flow.filter((n) => n.type === t);
  it("polls both PLCs with the simulator's register maps over one device", () => {
    const device = ofType("modbus-device");
    assert.equal(device.length, 1);
    assert.equal(device[0]!.host, "${LINEGUARD_MODBUS_HOST}");
    assert.equal(device[0]!.port, "${LINEGUARD_MODBUS_PORT}");
    const mb = ofType("modbus-in");
    assert.deepEqual(mb.map((n) => n.topic).sort(), ["forming", "furnace"]);
    for (const n of mb) {
      assert.equal(n.device, device[0]!.id);
      assert.deepEqual(JSON.parse(String(n.map)), glassRegisterMap(n.topic as "furnace" | "forming"));
    }
    assert.equal(mb.find((n) => n.topic === "forming")!.unitId, 2);
  });

  it("covers every model tag with a validate rule and reads the camera into the shipped YOLO model", () => {
    const manifest = JSON.parse(read("models/lstm-ae-glass/manifest.json")) as { features: string[] };
    const rules = JSON.parse(String(ofType("validate")[0]!.rules)) as Array<{ tag: string }>;
    for (const t of manifest.features)
      assert.ok(
        rules.some((r) => r.tag === t),
        `a rule for ${t}`,
      );
    assert.equal(ofType("camera-in")[0]!.url, "${LINEGUARD_CAMERA_URL}");
    assert.equal(ofType("detect")[0]!.model, "lineguard:yolo-glass");
    assert.equal(ofType("detect")[0]!.annotate, true);
    assert.deepEqual(
      ofType("kafka-out")
        .map((n) => n.topic)
        .sort(),
      ["lineguard.glass", "lineguard.glass.defects"],
    );
    assert.deepEqual(
      ofType("influxdb-out")
        .map((n) => n.measurement)
        .sort(),
      ["glass", "glass_defects", "glass_opcua"],
    );
    assert.equal(ofType("opcua-endpoint")[0]!.endpointUrl, "${LINEGUARD_GLASS_OPCUA_URL}");
  });
});
