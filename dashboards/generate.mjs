#!/usr/bin/env node
// Generates the Grafana dashboards dashboards/grafana/{cnc-line,glass-line}.json from the reference
// flows (flows/*.json) and the YOLO model manifest, so the panels query exactly what the flows' influxdb
// out nodes write: measurement = the node's measurement, tag `source`, fields = the values, the window
// features `<tag>_<stat>`, `anomaly_score`, `anomaly_threshold`, `anomaly` and, for the camera, `defects`
// plus one count per class. Flux (InfluxDB 2; bucket from the hidden constant variable `bucket`).
// Run after changing a flow:  node dashboards/generate.mjs && npx prettier --write dashboards/grafana/*.json
// `--check` only compares (exit 1 when the committed JSON is out of date; test/lib/dashboards.test.ts).
// test/lib/dashboards.test.ts checks the result against the flows independently.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DS = { type: "influxdb", uid: "lineguard-influxdb" };

function readFlow(name) {
  return JSON.parse(fs.readFileSync(path.join(root, "flows", name), "utf8"));
}
function list(s) {
  return String(s || "")
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
}
function featuresNode(flow) {
  const f = flow.find((n) => n.type === "features");
  if (!f) throw new Error("no features node in the flow");
  return { tags: list(f.tags), stats: f.stats };
}
function measurements(flow) {
  return flow.filter((n) => n.type === "influxdb-out").map((n) => n.measurement);
}
function need(cond, what) {
  if (!cond) throw new Error(`the flows do not write ${what}`);
}

const q = (s) => JSON.stringify(s);
const orFields = (fields) => fields.map((f) => `r._field == ${q(f)}`).join(" or ");

/** A Flux query over one measurement: range, measurement + fields filter, optional source filter. */
function flux(measurement, fields, { sourceVar, tail = [] } = {}) {
  const lines = [
    'from(bucket: "${bucket}")',
    "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)",
    `  |> filter(fn: (r) => r._measurement == ${q(measurement)} and (${orFields(fields)}))`,
  ];
  if (sourceVar) lines.push(`  |> filter(fn: (r) => contains(value: r.source, set: \${${sourceVar}:json}))`);
  for (const t of tail) lines.push(`  |> ${t}`);
  return lines.join("\n");
}
const trendTail = [
  "aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)",
  'keep(columns: ["_time", "_value", "_field", "source"])',
];

let nextId = 1;
let y = 0;
function panel(type, title, gridW, gridH, targets, extra = {}) {
  const p = {
    id: nextId++,
    type,
    title,
    datasource: DS,
    gridPos: { h: gridH, w: gridW, x: 0, y: 0 },
    targets: targets.map((query, i) => ({ refId: String.fromCharCode(65 + i), datasource: DS, query })),
    ...extra,
  };
  return p;
}
/** Lays panels out in rows of 24 columns. */
function layout(panels) {
  let x = 0;
  let rowH = 0;
  y = 0;
  for (const p of panels) {
    if (x + p.gridPos.w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    p.gridPos.x = x;
    p.gridPos.y = y;
    x += p.gridPos.w;
    rowH = Math.max(rowH, p.gridPos.h);
  }
  return panels;
}

const timeseries = (unit) => ({
  fieldConfig: { defaults: { unit: unit || "short", custom: { lineWidth: 1, fillOpacity: 0 } }, overrides: [] },
  options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
});

function sourceVariable(name, label, measurement) {
  return {
    name,
    label,
    type: "query",
    datasource: DS,
    query:
      'import "influxdata/influxdb/schema"\n' +
      `schema.tagValues(bucket: "\${bucket}", tag: "source", predicate: (r) => r._measurement == ${q(measurement)}, start: -30d)`,
    definition: `tag values of source in ${measurement}`,
    refresh: 2,
    multi: true,
    includeAll: true,
    current: { selected: true, text: ["All"], value: ["$__all"] },
    sort: 1,
  };
}
function customVariable(name, label, values) {
  return {
    name,
    label,
    type: "custom",
    query: values.join(","),
    multi: false,
    includeAll: false,
    current: { selected: true, text: values[0], value: values[0] },
    options: values.map((v, i) => ({ selected: i === 0, text: v, value: v })),
  };
}
const bucketVariable = {
  name: "bucket",
  label: "InfluxDB bucket",
  type: "constant",
  hide: 2,
  query: "lineguard",
  current: { text: "lineguard", value: "lineguard" },
};

function anomalyPanels(measurement, sourceVar, what) {
  const scoreVsThreshold = panel(
    "timeseries",
    "Anomaly score vs threshold",
    24,
    8,
    [
      flux(measurement, ["anomaly_score", "anomaly_threshold"], {
        sourceVar,
        tail: ["aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)", ...trendTail.slice(1)],
      }),
    ],
    timeseries("short"),
  );
  scoreVsThreshold.fieldConfig.overrides.push({
    matcher: { id: "byRegexp", options: ".*anomaly_threshold.*" },
    properties: [
      { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
      { id: "color", value: { mode: "fixed", fixedColor: "red" } },
    ],
  });
  const events = panel(
    "table",
    "Anomaly events (latest 200)",
    16,
    8,
    [
      flux(measurement, ["anomaly"], {
        sourceVar,
        tail: [
          "filter(fn: (r) => r._value == true)",
          'keep(columns: ["_time", "source", "_value"])',
          "group()",
          'sort(columns: ["_time"], desc: true)',
          "limit(n: 200)",
        ],
      }),
    ],
    { options: { showHeader: true }, fieldConfig: { defaults: {}, overrides: [] } },
  );
  const counts = panel(
    "bargauge",
    `Anomalous windows per ${what}`,
    8,
    8,
    [
      flux(measurement, ["anomaly"], {
        sourceVar,
        // anomalous windows counted as 1, the others as 0: every source shows, 0 included
        tail: [
          "map(fn: (r) => ({r with _value: if r._value then 1 else 0}))",
          "sum()",
          'keep(columns: ["source", "_value"])',
        ],
      }),
    ],
    { options: { orientation: "horizontal", displayMode: "basic" }, fieldConfig: { defaults: {}, overrides: [] } },
  );
  return [scoreVsThreshold, events, counts];
}

/** Seconds since the newest point of one field of each series (per source). */
function freshnessQuery(measurement, field) {
  return flux(measurement, [field], {
    tail: [
      "last()",
      "map(fn: (r) => ({r with _value: float(v: int(v: now()) - int(v: r._time)) / 1000000000.0}))",
      'keep(columns: ["source", "_measurement", "_value"])',
    ],
  });
}
function freshnessPanel(targets) {
  return panel("stat", "Data freshness (seconds since the last point)", 24, 5, targets, {
    fieldConfig: {
      defaults: {
        unit: "s",
        thresholds: {
          mode: "absolute",
          steps: [
            { color: "green", value: null },
            { color: "yellow", value: 30 },
            { color: "red", value: 120 },
          ],
        },
      },
      overrides: [],
    },
    options: { reduceOptions: { calcs: ["lastNotNull"], values: false }, colorMode: "background", textMode: "auto" },
  });
}

function dashboard(uid, title, variables, panels) {
  return {
    uid,
    title,
    tags: ["lineguard"],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: "10s",
    time: { from: "now-1h", to: "now" },
    timezone: "browser",
    annotations: { list: [] },
    templating: { list: [bucketVariable, ...variables] },
    panels: layout(panels),
  };
}

// ------------------------------------------------------------------ CNC line
function cnc() {
  nextId = 1;
  const flow = readFlow("cnc-line.json");
  const m = "cnc";
  need(measurements(flow).includes(m), `measurement ${m}`);
  const f = featuresNode(flow);
  const trend = (title, field, unit) => {
    need(f.tags.includes(field), `${m}.${field}`);
    return panel(
      "timeseries",
      title,
      12,
      8,
      [flux(m, [field], { sourceVar: "machine", tail: trendTail })],
      timeseries(unit),
    );
  };
  const statFields = f.stats.filter((s) => ["mean", "std", "min", "max"].includes(s));
  const panels = [
    freshnessPanel([freshnessQuery(m, "anomaly_score")]),
    ...anomalyPanels(m, "machine", "machine"),
    trend("Spindle load per machine", "spindle_load", "percent"),
    trend("Vibration RMS per machine", "vibration_rms", "short"),
    trend("Bearing temperature per machine", "bearing_temp", "celsius"),
    trend("Spindle temperature per machine", "spindle_temp", "celsius"),
    panel(
      "timeseries",
      "Trend: ${tag}",
      12,
      8,
      [flux(m, ["${tag}"], { sourceVar: "machine", tail: trendTail })],
      timeseries(),
    ),
    panel(
      "timeseries",
      "Window features: ${tag} (" + statFields.join(", ") + ")",
      12,
      8,
      [
        flux(
          m,
          statFields.map((s) => "${tag}_" + s),
          { sourceVar: "machine", tail: trendTail },
        ),
      ],
      timeseries(),
    ),
  ];
  return dashboard(
    "lineguard-cnc",
    "LineGuard - CNC line",
    [sourceVariable("machine", "Machine", m), customVariable("tag", "Tag", f.tags)],
    panels,
  );
}

// ---------------------------------------------------------------- glass line
function glass() {
  nextId = 1;
  const flow = readFlow("glass-line.json");
  const ms = measurements(flow);
  for (const m of ["glass", "glass_opcua", "glass_defects"]) need(ms.includes(m), `measurement ${m}`);
  const f = featuresNode(flow);
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "models", "yolo-glass", "manifest.json"), "utf8"));
  const classes = manifest.classNames;
  const group = (title, fields, unit, w = 12) => {
    for (const x of fields) need(f.tags.includes(x), `glass.${x}`);
    return panel(
      "timeseries",
      title,
      w,
      8,
      [flux("glass", fields, { sourceVar: "line", tail: trendTail })],
      timeseries(unit),
    );
  };
  const zones = f.tags.filter((t) => /^furnace_t\d$/.test(t));
  const statFields = f.stats.filter((s) => ["mean", "std", "min", "max"].includes(s));
  const panels = [
    freshnessPanel([
      freshnessQuery("glass", "anomaly_score"),
      freshnessQuery("glass_opcua", zones[0]),
      freshnessQuery("glass_defects", "defects"),
    ]),
    ...anomalyPanels("glass", "line", "line"),
    group("Furnace zones", zones, "celsius"),
    group(
      "Tin bath and lehr",
      ["tin_entry_temp", "tin_exit_temp", "lehr_t1", "lehr_t2", "lehr_t3", "lehr_t4"],
      "celsius",
    ),
    group("Ribbon thickness", ["thickness"], "lengthmm"),
    group("Ribbon speed", ["ribbon_speed"], "short"),
    panel(
      "bargauge",
      "Defects per class (time range)",
      12,
      8,
      [
        flux("glass_defects", classes, {
          tail: ["sum()", 'group(columns: ["_field"])', "sum()", 'keep(columns: ["_field", "_value"])'],
        }),
      ],
      { options: { orientation: "horizontal", displayMode: "gradient" }, fieldConfig: { defaults: {}, overrides: [] } },
    ),
    panel(
      "timeseries",
      "Defects over time (per class)",
      12,
      8,
      [
        flux("glass_defects", classes, {
          tail: [
            "aggregateWindow(every: v.windowPeriod, fn: sum, createEmpty: false)",
            'group(columns: ["_field"])',
            'keep(columns: ["_time", "_value", "_field"])',
          ],
        }),
      ],
      timeseries("short"),
    ),
    panel(
      "timeseries",
      "Trend: ${tag}",
      12,
      8,
      [flux("glass", ["${tag}"], { sourceVar: "line", tail: trendTail })],
      timeseries(),
    ),
    panel(
      "timeseries",
      "Window features: ${tag} (" + statFields.join(", ") + ")",
      12,
      8,
      [
        flux(
          "glass",
          statFields.map((s) => "${tag}_" + s),
          { sourceVar: "line", tail: trendTail },
        ),
      ],
      timeseries(),
    ),
  ];
  return dashboard(
    "lineguard-glass",
    "LineGuard - Glass line",
    [sourceVariable("line", "Line", "glass"), customVariable("tag", "Tag", f.tags)],
    panels,
  );
}

const out = path.join(root, "dashboards", "grafana");
const generated = { "cnc-line.json": cnc(), "glass-line.json": glass() };
if (process.argv.includes("--check")) {
  // Compare with the committed files (as data: formatting is prettier's business).
  const stale = Object.entries(generated).filter(([file, d]) => {
    const p = path.join(out, file);
    return !fs.existsSync(p) || JSON.stringify(JSON.parse(fs.readFileSync(p, "utf8"))) !== JSON.stringify(d);
  });
  for (const [file] of stale)
    process.stderr.write(`dashboards/grafana/${file} is out of date: run node dashboards/generate.mjs\n`);
  process.exit(stale.length === 0 ? 0 : 1);
}
fs.mkdirSync(out, { recursive: true });
for (const [file, d] of Object.entries(generated))
  fs.writeFileSync(path.join(out, file), JSON.stringify(d, null, 2) + "\n");
process.stdout.write("wrote dashboards/grafana/cnc-line.json, dashboards/grafana/glass-line.json\n");
