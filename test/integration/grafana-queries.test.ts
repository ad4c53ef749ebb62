/**
 * Every Flux query of the Grafana dashboards (panels and variables) against the REAL InfluxDB 1.8.10
 * of scripts/test-services.sh (/api/v2/query): sample records of the measurements the reference
 * flows write (schema derived from flows/*.json by test/lib/dashboards.test.ts) go through the pack's
 * own line-protocol mapper to /api/v2/write, then each query runs with Grafana's macros substituted
 * (v.timeRangeStart/-Stop, v.windowPeriod, ${bucket} -> "<db>/autogen" as 1.8 maps buckets,
 * ${machine:json}/${line:json} -> this run's sources, ${tag} -> every tag of the custom variable) and
 * must answer without error and with rows. Grafana itself is not installed here (no images, no
 * grafana.com downloads): its rendering is not tested, only the queries.
 * InfluxDB 1.8 ships Flux 0.65, which predates the package influxdata/influxdb/schema: the variable
 * queries run with the same function from influxdata/influxdb/v1 (v1.tagValues), as on 1.8 Grafana.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { requireService, uniqueName } from "../support/integration";
import { services } from "../support/services";
import { LineMapper } from "../../lib/sinks/line-protocol";
import type { LineRecord } from "../../lib/record";
import {
  DASHBOARD_FILES,
  Dashboard,
  MeasurementSchema,
  allPanels,
  flowSchema,
  loadDashboard,
} from "../lib/dashboards.test";

const BUCKET = `${services.influxDb}/autogen`;
const AUTH = `Token ${services.influxToken}`;

function post(pathAndQuery: string, contentType: string, body: string): Promise<{ status: number; body: string }> {
  const url = new URL(pathAndQuery, services.influxUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        timeout: 20_000,
        headers: { authorization: AUTH, "content-type": contentType, accept: "application/csv" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Data rows of an annotated CSV answer (header rows start with ",result,"; annotations with "#"). */
function dataRows(csv: string): string[] {
  return csv.split(/\r?\n/).filter((l) => l.startsWith(",") && !l.startsWith(",result,") && l.trim() !== "");
}

/** Sample records for one measurement: `n` points per source, 10 s apart, the newest 5 s ago. */
function sampleRecords(m: MeasurementSchema, sources: string[], n: number): LineRecord[] {
  const now = Date.now();
  const out: LineRecord[] = [];
  for (const source of sources) {
    for (let i = 0; i < n; i++) {
      const ts = now - 5_000 - (n - 1 - i) * 10_000;
      const values: LineRecord["values"] = {};
      m.values.forEach((k, j) => (values[k] = 10 + j + i / 10));
      for (const k of m.booleans) values[k] = i % 2 === 0;
      for (const k of m.strings) values[k] = "sample";
      if (m.detectClasses) {
        m.detectClasses.forEach((c, j) => (values[c] = (i + j) % 3));
        values.defects = m.detectClasses.reduce((s, _c, j) => s + ((i + j) % 3), 0);
      }
      const rec: LineRecord = { source, ts, values };
      if (m.features) {
        rec.features = {};
        for (const t of m.features.tags) {
          rec.features[t] = Object.fromEntries(m.features.stats.map((s, j) => [s, s === "n" ? 32 : 1 + j + i / 100]));
        }
      }
      if (m.anomaly) rec.anomaly = { score: 0.1 + (i % 4) * 0.1, threshold: 0.25, anomaly: i % 4 === 3 };
      out.push(rec);
    }
  }
  return out;
}

/** Grafana's substitutions for one query, for this run's sources. */
function substitute(query: string, sources: Record<string, string[]>): string {
  let q = query
    .split("${bucket}")
    .join(BUCKET)
    .split("v.timeRangeStart")
    .join("-1h")
    .split("v.timeRangeStop")
    .join("now()")
    .split("v.windowPeriod")
    .join("1m");
  for (const [name, values] of Object.entries(sources)) q = q.split(`\${${name}:json}`).join(JSON.stringify(values));
  // Flux 0.65 (InfluxDB 1.8): the schema package's tagValues lives in influxdata/influxdb/v1.
  q = q
    .replace('import "influxdata/influxdb/schema"', 'import "influxdata/influxdb/v1"')
    .replace(/\bschema\.tagValues\(/g, "v1.tagValues(");
  return q;
}

/** One query per value of each custom variable it uses. */
function expandCustom(query: string, d: Dashboard): string[] {
  let out = [query];
  for (const v of d.templating.list.filter((x) => x.type === "custom")) {
    const values = (v.options ?? []).map((o) => o.value);
    out = out.flatMap((q) => (q.includes(`\${${v.name}}`) ? values.map((x) => q.split(`\${${v.name}}`).join(x)) : [q]));
  }
  return out;
}

describe("Grafana dashboard queries on a real InfluxDB (Flux)", function () {
  this.timeout(120_000);
  const schema = flowSchema();
  const run = uniqueName("it");
  // One source per line for this run; the glass line also gets its OPC UA view's source.
  const sources: Record<string, string[]> = { machine: [`cnc-${run}`], line: [`glass-${run}`] };
  const sourcesOf = (m: string): string[] => (m === "cnc" ? sources.machine! : sources.line!);

  before(async function () {
    await requireService(this, "influxdb");
    for (const m of schema.values()) {
      const mapper = new LineMapper({ measurement: m.measurement, precision: "ms" });
      const res = mapper.map(sampleRecords(m, sourcesOf(m.measurement), 12));
      assert.deepEqual(res.rejected, [], `${m.measurement}: sample records rejected`);
      const body = res.items.map((i) => i.line).join("\n");
      const w = await post(`/api/v2/write?bucket=${encodeURIComponent(BUCKET)}&precision=ms`, "text/plain", body);
      assert.equal(w.status, 204, `write ${m.measurement}: HTTP ${w.status} ${w.body}`);
    }
  });

  for (const file of DASHBOARD_FILES) {
    const d = loadDashboard(file);
    for (const v of d.templating.list.filter((x) => x.type === "query")) {
      it(`${file}: variable ${v.name} lists this run's source`, async () => {
        const r = await post("/api/v2/query", "application/vnd.flux", substitute(v.query!, sources));
        assert.equal(r.status, 200, r.body);
        assert.ok(r.body.includes(sources[v.name]![0]!), `variable ${v.name}: ${r.body.slice(0, 500)}`);
      });
    }
    for (const p of allPanels(d).filter((x) => x.type !== "row")) {
      for (const t of p.targets ?? []) {
        it(`${file}: panel ${p.id} "${p.title}" ${t.refId} answers with rows`, async () => {
          for (const q of expandCustom(t.query, d)) {
            const flux = substitute(q, sources);
            const r = await post("/api/v2/query", "application/vnd.flux", flux);
            assert.equal(r.status, 200, `HTTP ${r.status}: ${r.body}\n${flux}`);
            assert.doesNotMatch(r.body, /^,error,/m, `${r.body}\n${flux}`);
            assert.ok(dataRows(r.body).length > 0, `no rows:\n${flux}\n${r.body.slice(0, 500)}`);
          }
        });
      }
    }
  }
});
