/**
 * Grafana dashboards (dashboards/grafana/*.json) and their provisioning files, checked against the
 * reference flows: every measurement, field and tag a Flux query names must be one that the flows'
 * influxdb out nodes write. The schema is derived from flows/*.json here (not a hand-written list):
 * for each influxdb out node, its measurement, the tag `source` (+ configured static tags) and the
 * fields of what reaches it (docs/record.md "Sinks"): the values of the line (features node tags,
 * Modbus register maps), `<tag>_<stat>` of an upstream features node, `anomaly_score`,
 * `anomaly_threshold`, `anomaly` of an upstream anomaly node, `defects` + one count per class of an
 * upstream detect node (class names from the node or its model manifest).
 * Flux queries are run against a real InfluxDB in test/integration/grafana-queries.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

interface FlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [key: string]: unknown;
}

/** What one influxdb out node writes, in structured form (the integration test builds records from it). */
export interface MeasurementSchema {
  measurement: string;
  tagKeys: string[];
  /** Plain values of the record (numbers unless listed in booleans/strings). */
  values: string[];
  booleans: string[];
  strings: string[];
  /** Upstream features node: tags x stats (+ "n", the window count every features entry carries). */
  features?: { tags: string[]; stats: string[] };
  anomaly: boolean;
  /** Upstream detect node: its class names (values `defects` + one per class). */
  detectClasses?: string[];
  /** Every field key the sink can write. */
  fields: Set<string>;
}

/** The repository root (walks up from this file to the package.json of the pack). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const p = path.join(dir, "package.json");
    if (
      fs.existsSync(p) &&
      (JSON.parse(fs.readFileSync(p, "utf8")) as { name?: string }).name === "node-red-contrib-lineguard"
    ) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no node-red-contrib-lineguard package.json above ${__dirname}`);
    dir = parent;
  }
}

const list = (s: unknown): string[] =>
  String(s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

function modelClasses(root: string, model: unknown): string[] {
  const m = String(model ?? "");
  const dir = m.startsWith("lineguard:")
    ? path.join(root, "models", m.slice("lineguard:".length))
    : path.resolve(root, m);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { classNames?: string[] };
  return manifest.classNames ?? [];
}

/** The measurements the reference flows write (flows/cnc-line.json, flows/glass-line.json). */
export function flowSchema(root = repoRoot()): Map<string, MeasurementSchema> {
  const out = new Map<string, MeasurementSchema>();
  for (const file of ["cnc-line.json", "glass-line.json"]) {
    const flow = JSON.parse(fs.readFileSync(path.join(root, "flows", file), "utf8")) as FlowNode[];
    const byId = new Map(flow.map((n) => [n.id, n]));
    const parents = new Map<string, string[]>();
    for (const n of flow) {
      for (const port of n.wires ?? []) for (const t of port) parents.set(t, [...(parents.get(t) ?? []), n.id]);
    }
    const ancestors = (id: string): FlowNode[] => {
      const seen = new Set<string>();
      const stack = [...(parents.get(id) ?? [])];
      while (stack.length > 0) {
        const p = stack.pop()!;
        if (seen.has(p)) continue;
        seen.add(p);
        stack.push(...(parents.get(p) ?? []));
      }
      return [...seen].map((i) => byId.get(i)!).filter((n) => n !== undefined);
    };
    const descendants = (id: string): FlowNode[] => {
      const seen = new Set<string>();
      const stack = [id];
      while (stack.length > 0) {
        const n = byId.get(stack.pop()!);
        for (const port of n?.wires ?? []) {
          for (const t of port) {
            if (seen.has(t)) continue;
            seen.add(t);
            stack.push(t);
          }
        }
      }
      return [...seen].map((i) => byId.get(i)!).filter((n) => n !== undefined);
    };
    for (const sink of flow.filter((n) => n.type === "influxdb-out")) {
      const up = ancestors(sink.id);
      const measurement = String(sink.measurement ?? "") || "lineguard";
      const staticTags = String(sink.tags ?? "").trim();
      const tagKeys = ["source", ...(staticTags ? Object.keys(JSON.parse(staticTags) as object) : [])];
      const values = new Set<string>();
      const booleans = new Set<string>();
      const strings = new Set<string>();
      // The line's values: the tags its features nodes window (also a features node fed from the same
      // source as this sink, e.g. an OPC UA view written raw), and the registers of upstream Modbus maps.
      const related = new Set<FlowNode>(up);
      for (const a of up) for (const d of descendants(a.id)) related.add(d);
      for (const n of related)
        if (n.type === "features") for (const t of [...list(n.tags), ...list(n.tensorTags)]) values.add(t);
      for (const n of up.filter((x) => x.type === "modbus-in")) {
        for (const r of JSON.parse(String(n.map)) as Array<{ name: string; type: string }>) {
          if (r.type === "bool") booleans.add(r.name);
          else if (r.type === "string") strings.add(r.name);
          else values.add(r.name);
        }
      }
      const f = up.find((n) => n.type === "features");
      const features = f ? { tags: list(f.tags), stats: [...(f.stats as string[]), "n"] } : undefined;
      const anomaly = up.some((n) => n.type === "anomaly");
      const det = up.find((n) => n.type === "detect");
      const detectClasses = det
        ? list(det.classNames).length > 0
          ? list(det.classNames)
          : modelClasses(root, det.model)
        : undefined;
      const fields = new Set<string>([...values, ...booleans, ...strings]);
      if (features) for (const t of features.tags) for (const s of features.stats) fields.add(`${t}_${s}`);
      if (anomaly) for (const k of ["anomaly_score", "anomaly_threshold", "anomaly"]) fields.add(k);
      if (detectClasses) for (const k of ["defects", ...detectClasses]) fields.add(k);
      const prev = out.get(measurement);
      if (prev) for (const k of fields) prev.fields.add(k);
      else {
        out.set(measurement, {
          measurement,
          tagKeys,
          values: [...values],
          booleans: [...booleans],
          strings: [...strings],
          features,
          anomaly,
          detectClasses,
          fields,
        });
      }
    }
  }
  return out;
}

export interface Target {
  refId: string;
  query: string;
  datasource?: { type?: string; uid?: string };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
export interface Variable {
  name: string;
  type: string;
  query?: string;
  datasource?: { type?: string; uid?: string };
  options?: Array<{ value: string }>;
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

export const DASHBOARD_FILES = ["cnc-line.json", "glass-line.json"];
export const DATASOURCE_UID = "lineguard-influxdb";

export function loadDashboard(file: string, root = repoRoot()): Dashboard {
  return JSON.parse(fs.readFileSync(path.join(root, "dashboards", "grafana", file), "utf8")) as Dashboard;
}

/** All panels, rows' nested panels included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.type === "row" ? [p, ...(p.panels ?? [])] : [p]));
}

/** A query once per combination of the custom variables it uses (e.g. ${tag} -> each tag). */
function expandCustom(query: string, d: Dashboard): string[] {
  let out = [query];
  for (const v of d.templating.list.filter((x) => x.type === "custom")) {
    const values = (v.options ?? []).map((o) => o.value);
    out = out.flatMap((q) => (q.includes(`\${${v.name}}`) ? values.map((x) => q.split(`\${${v.name}}`).join(x)) : [q]));
  }
  return out;
}

const matchAll = (s: string, re: RegExp): string[] => [...s.matchAll(re)].map((m) => m[1]!);

describe("Grafana dashboards", () => {
  const root = repoRoot();
  const schema = flowSchema(root);

  it("derives the flows' InfluxDB schema (sanity of the derivation)", () => {
    assert.deepEqual([...schema.keys()].sort(), ["cnc", "glass", "glass_defects", "glass_opcua"]);
    const cnc = schema.get("cnc")!;
    assert.ok(cnc.fields.has("spindle_load") && cnc.fields.has("spindle_load_mean") && cnc.fields.has("anomaly_score"));
    assert.ok(schema.get("glass_defects")!.fields.has("defects"));
    assert.ok((schema.get("glass_defects")!.detectClasses ?? []).length > 0);
  });

  for (const file of DASHBOARD_FILES) {
    describe(file, () => {
      const d = loadDashboard(file, root);
      const panels = allPanels(d);

      it("is valid JSON with a uid, a title and unique panel ids", () => {
        assert.ok(typeof d.uid === "string" && d.uid !== "");
        assert.ok(typeof d.title === "string" && d.title !== "");
        const ids = panels.map((p) => p.id);
        assert.ok(ids.every((i) => Number.isInteger(i)));
        assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids.join(",")}`);
      });

      it("every panel has a Flux query on the provisioned datasource (by uid)", () => {
        for (const p of panels.filter((x) => x.type !== "row")) {
          assert.equal(p.datasource?.uid, DATASOURCE_UID, `panel ${p.id} "${p.title}" datasource`);
          assert.ok((p.targets ?? []).length > 0, `panel ${p.id} "${p.title}" has no query`);
          for (const t of p.targets!) {
            assert.equal(t.datasource?.uid ?? p.datasource?.uid, DATASOURCE_UID, `panel ${p.id} ${t.refId}`);
            assert.match(
              t.query,
              /^from\(bucket: "\$\{bucket\}"\)/,
              `panel ${p.id} ${t.refId} reads the bucket variable`,
            );
            assert.match(t.query, /range\(start: v\.timeRangeStart, stop: v\.timeRangeStop\)/);
          }
        }
        for (const v of d.templating.list.filter((x) => x.type === "query")) {
          assert.equal(v.datasource?.uid, DATASOURCE_UID, `variable ${v.name}`);
          assert.match(v.query ?? "", /schema\.tagValues\(/);
        }
        const bucket = d.templating.list.find((v) => v.name === "bucket");
        assert.equal(bucket?.type, "constant");
      });

      it("queries only measurements, fields and tags that the reference flows write", () => {
        const queries = [
          ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel ${p.id} ${t.refId}`, q: t.query }))),
          ...d.templating.list
            .filter((v) => v.type === "query")
            .map((v) => ({ where: `variable ${v.name}`, q: v.query! })),
        ];
        for (const { where, q } of queries) {
          for (const query of expandCustom(q, d)) {
            const ms = matchAll(query, /r\._measurement == "([^"]+)"/g);
            assert.equal(new Set(ms).size, 1, `${where}: exactly one measurement (got ${ms.join(",")})`);
            const m = schema.get(ms[0]!);
            assert.ok(m, `${where}: measurement "${ms[0]}" is not written by the reference flows`);
            for (const f of matchAll(query, /r\._field == "([^"]+)"/g)) {
              assert.ok(m.fields.has(f), `${where}: field "${f}" is not written to "${m.measurement}"`);
            }
            const cols = new Set(matchAll(query, /\br\.([A-Za-z_][A-Za-z0-9_]*)/g));
            for (const c of cols) {
              if (["_measurement", "_field", "_value", "_time"].includes(c)) continue;
              assert.ok(m.tagKeys.includes(c), `${where}: tag "${c}" is not written to "${m.measurement}"`);
            }
            assert.doesNotMatch(query, /\$\{(?!bucket\}|machine:json\}|line:json\})/, `${where}: unknown variable`);
          }
        }
      });
    });
  }

  it("covers trends, anomaly score vs threshold, anomaly events, defects per class and freshness", () => {
    const text = (file: string): string =>
      allPanels(loadDashboard(file, root))
        .flatMap((p) => (p.targets ?? []).map((t) => t.query))
        .join("\n");
    for (const file of DASHBOARD_FILES) {
      const all = text(file);
      for (const f of ["anomaly_score", "anomaly_threshold", "anomaly"])
        assert.match(all, new RegExp(`r\\._field == "${f}"`), file);
      assert.match(all, /now\(\)/, `${file}: a freshness query`);
      const titles = allPanels(loadDashboard(file, root)).map((p) => p.title);
      assert.ok(titles.some((t) => /freshness/i.test(t)) && titles.some((t) => /events/i.test(t)), file);
    }
    const glass = text("glass-line.json");
    for (const c of schema.get("glass_defects")!.detectClasses!)
      assert.match(glass, new RegExp(`r\\._field == "${c}"`));
  });

  it("the committed dashboards are what dashboards/generate.mjs makes of the current flows", () => {
    const r = spawnSync(process.execPath, [path.join(root, "dashboards", "generate.mjs"), "--check"], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it("provisioning: Flux datasource with the uid, secrets from the environment, dashboards folder", () => {
    const ds = fs.readFileSync(path.join(root, "dashboards/grafana/provisioning/datasources/influxdb.yaml"), "utf8");
    assert.match(ds, new RegExp(`uid: ${DATASOURCE_UID}\\b`));
    assert.match(ds, /type: influxdb\b/);
    assert.match(ds, /version: Flux\b/);
    assert.match(ds, /token: \$\{INFLUXDB_TOKEN\}/);
    assert.match(ds, /organization: \$\{INFLUXDB_ORG\}/);
    assert.match(ds, /defaultBucket: \$\{INFLUXDB_BUCKET\}/);
    const prov = fs.readFileSync(path.join(root, "dashboards/grafana/provisioning/dashboards/lineguard.yaml"), "utf8");
    assert.match(prov, /type: file\b/);
    assert.match(prov, /path: \/var\/lib\/grafana\/dashboards\/lineguard\b/);
  });
});
