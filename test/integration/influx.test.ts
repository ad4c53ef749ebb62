/**
 * influxdb-out against the REAL InfluxDB 1.8.10 from scripts/test-services.sh (v2 write API, bucket
 * "lineguard_test/autogen"), read back with InfluxQL. Unique measurement names per test.
 * Token: services.influxToken = LINEGUARD_TEST_INFLUX_TOKEN (default "lineguard:lineguard-secret"); the
 * test server runs with authentication on. Read-back uses our own query (times as exact strings).
 */
import assert from "node:assert/strict";
import http from "node:http";
import { helper } from "../support/helper";
import { eventually, requireService, uniqueName } from "../support/integration";
import { serviceCtl, services } from "../support/services";
import influxConfig from "../../nodes/influxdb-config/influxdb-config";
import influxOut from "../../nodes/influxdb-out/influxdb-out";
import { sinkFlow } from "../nodes/fixtures/influxdb-flows";

const TOKEN = services.influxToken;
const DB = services.influxDb;

interface Series {
  columns: string[];
  values: unknown[][];
}

/** InfluxQL read-back (epoch=ns), with the test credentials as Basic auth (ignored without auth). */
function query(q: string): Promise<Series | undefined> {
  const url = new URL("/query", services.influxUrl);
  url.searchParams.set("db", DB);
  url.searchParams.set("q", q);
  url.searchParams.set("epoch", "ns");
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { timeout: 10_000, headers: { authorization: `Basic ${Buffer.from(TOKEN).toString("base64")}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`query HTTP ${res.statusCode}: ${body}`));
          // Big integers (ns times) must not go through Number: quote them before parsing.
          const j = JSON.parse(body.replace(/([[,])(\d{16,})(?=[,\]])/g, '$1"$2"')) as {
            results: Array<{ series?: Series[]; error?: string }>;
          };
          const r = j.results[0]!;
          if (r.error) return reject(new Error(r.error));
          resolve(r.series?.[0]);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("query timed out")));
    req.on("error", reject);
  });
}

function rows(s: Series | undefined): Array<Record<string, unknown>> {
  if (!s) return [];
  return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
}

const ident = (name: string): string => `"${name.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

interface Probe {
  ok: any[];
  rej: any[];
  caught: any[];
  completed: any[];
}

async function deploy(out: Record<string, unknown>, config: Record<string, unknown> = {}, token = TOKEN) {
  const flow = sinkFlow({
    url: services.influxUrl,
    config: { version: "1.8", org: "", database: DB, retentionPolicy: "autogen", timeout: 2000, ...config },
    out: { bucket: "", batchSize: 5000, lingerMs: 100, ...out },
  });
  await helper.load([influxConfig, influxOut], flow, { cfg: { token } });
  const probe: Probe = { ok: [], rej: [], caught: [], completed: [] };
  for (const k of Object.keys(probe) as Array<keyof Probe>) {
    helper.getNode(k).on("input", (msg: unknown) => probe[k].push(msg));
  }
  const node = helper.getNode("out") as any;
  const status = (): { fill?: string; shape?: string; text?: string } => {
    const calls = node.status.getCalls().filter((c: any) => c.thisValue === node);
    return calls.length ? calls[calls.length - 1].args[0] : {};
  };
  return { node, probe, status };
}

const BASE = 1_700_000_000_000;

function rec(i: number): Record<string, unknown> {
  return {
    ts: BASE + i,
    values: { load: 40 + i / 1000, speed: i, running: i % 2 === 0, program: `P-${i}` },
  };
}

function checkRows(got: Array<Record<string, unknown>>, n: number, source: string): void {
  assert.equal(got.length, n, `expected exactly ${n} points`);
  got.forEach((r, i) => {
    const e = rec(i) as { ts: number; values: Record<string, unknown> };
    assert.equal(r.time, String(BigInt(e.ts) * 1_000_000n), `time of point ${i}`);
    assert.equal(r.load, e.values.load, `load of point ${i}`);
    assert.equal(r.speed, e.values.speed);
    assert.equal(r.running, e.values.running);
    assert.equal(r.program, e.values.program);
    assert.equal(r.source, source);
  });
}

describe("integration: influxdb-out -> InfluxDB 1.8 (real server)", function () {
  this.timeout(120_000);

  before(async function () {
    await requireService(this, "influxdb");
  });
  afterEach(async () => {
    await helper.unload();
  });
  after(() => {
    // Whatever a test did to the server, leave it running.
    serviceCtl("start", "influxdb");
  });

  it("writes 1000 single-record messages; InfluxQL reads back exactly those points", async () => {
    const m = uniqueName("lg_single");
    const { node, probe, status } = await deploy({ measurement: m });
    for (let i = 0; i < 1000; i++) node.receive({ topic: "cnc-01", payload: rec(i) });
    await eventually(() => probe.completed.length === 1000, 30_000, 50);
    assert.equal(probe.ok.length, 1000);
    assert.equal(probe.caught.length, 0);
    checkRows(rows(await query(`SELECT * FROM ${ident(m)}`)), 1000, "cnc-01");
    await eventually(() => status().fill === "green", 3000, 50);
  });

  it("writes 10 batches of 100 records; InfluxQL reads back exactly those points", async () => {
    const m = uniqueName("lg_batch");
    const { node, probe } = await deploy({ measurement: m, batchSize: 250 });
    for (let b = 0; b < 10; b++) {
      node.receive({ topic: "press-7", payload: Array.from({ length: 100 }, (_, j) => rec(b * 100 + j)) });
    }
    await eventually(() => probe.completed.length === 10, 30_000, 50);
    assert.equal(probe.caught.length, 0);
    checkRows(rows(await query(`SELECT * FROM ${ident(m)}`)), 1000, "press-7");
  });

  for (const [precision, expect] of [
    ["ns", ["1700000000123456000", "1642015219075437000", "1700000000000000500"]],
    ["us", ["1700000000123456000", "1642015219075437000", "1700000000000000000"]],
    ["s", ["1700000000000000000", "1642015219000000000", "1700000000000000000"]],
  ] as const) {
    it(`precision ${precision}: fractional milliseconds are stored exactly`, async () => {
      const m = uniqueName(`lg_prec_${precision}`);
      const { node, probe } = await deploy({ measurement: m, precision });
      const ts = [1700000000123.456, 1642015219075.437, 1700000000000.0005];
      node.receive({ topic: "t", payload: ts.map((t, i) => ({ ts: t, values: { i } })) });
      await eventually(() => probe.completed.length === 1, 10_000, 50);
      const got = rows(await query(`SELECT * FROM ${ident(m)}`));
      // At "s" all three fall into the same second per series: InfluxDB keeps one point per time.
      const times = [...new Set(got.map((r) => r.time))];
      assert.deepEqual(times, [...new Set(expect)].sort());
    });
  }

  it("weird measurement, tag and field names and values round-trip (escaping checked by the server)", async () => {
    const m = uniqueName("lg weird,m");
    const { node, probe } = await deploy({ measurement: m });
    const tags = {
      "we ird,tag=": "va lue,=x",
      uni: "日本語 ✓ ü",
      bs: "a\\,b",
      tab: "x\ty",
      quote: 'q"uote',
      nl: "a\nb",
      trail: "end\\",
    };
    const values = { "fi eld,=": 1.5, str: 'multi\nline "quoted" \\ back\\', tiny: 5e-324, big: 1e21 };
    node.receive({ topic: "src 1,=", payload: { ts: BASE, values }, tags });
    await eventually(() => probe.completed.length === 1, 10_000, 50);
    assert.equal(probe.caught.length, 0, JSON.stringify(probe.caught[0]?.error));
    const got = rows(await query(`SELECT * FROM ${ident(m)}`));
    assert.equal(got.length, 1);
    const r = got[0]!;
    assert.equal(r["we ird,tag="], "va lue,=x");
    assert.equal(r.uni, "日本語 ✓ ü");
    assert.equal(r.bs, "a\\,b");
    assert.equal(r.tab, "x\ty");
    assert.equal(r.quote, 'q"uote');
    assert.equal(r.source, "src 1,=");
    assert.equal(r["fi eld,="], 1.5);
    assert.equal(r.str, values.str, "string fields are exact, newlines included");
    assert.equal(r.tiny, 5e-324);
    assert.equal(r.big, 1e21);
    // Documented limits of line protocol: a newline in a tag becomes "\n", a trailing backslash goes.
    assert.equal(r.nl, "a\\nb");
    assert.equal(r.trail, "end");
  });

  it("keeps accepting while InfluxDB is stopped and writes everything once it is back", async () => {
    const m = uniqueName("lg_outage");
    const { node, probe, status } = await deploy({ measurement: m, lingerMs: 50 });
    let sent = 0;
    const send = (n: number): void => {
      for (let k = 0; k < n; k++, sent++) node.receive({ topic: "cnc-01", payload: rec(sent) });
    };
    try {
      send(100);
      await eventually(() => probe.completed.length === 100, 15_000, 50);
      serviceCtl("stop", "influxdb");
      send(100);
      await eventually(() => /disconnected/.test(status().text ?? ""), 15_000, 50);
      assert.equal(status().fill, "yellow");
      send(100);
      await eventually(() => /backlog/.test(status().text ?? ""), 5_000, 50);
      assert.equal(probe.completed.length, 100, "nothing written while the server is down");
      assert.equal(probe.caught.length, 0, "no message fails while the server is down");
    } finally {
      serviceCtl("start", "influxdb");
    }
    await eventually(() => probe.completed.length === 300, 40_000, 100);
    assert.equal(probe.caught.length, 0);
    checkRows(rows(await query(`SELECT * FROM ${ident(m)}`)), 300, "cnc-01");
    await eventually(() => status().fill === "green", 5_000, 50);
  });

  it("a database that does not exist: 404, done(err), red ring", async () => {
    const { node, probe, status } = await deploy(
      { measurement: uniqueName("lg_nodb") },
      { database: uniqueName("no_such_db").replace(/-/g, "_") },
    );
    node.receive({ topic: "cnc-01", payload: rec(1) });
    await eventually(() => probe.caught.length === 1, 15_000, 50);
    assert.match(probe.caught[0].error.message, /not found \(HTTP 404\).*database not found/);
    assert.equal(probe.ok.length, 0);
    await eventually(() => status().fill === "red", 3000, 50);
  });

  it("wrong credentials: 401, red ring 'authentication failed', done(err) (needs auth enabled)", async () => {
    const user = TOKEN.split(":")[0] ?? "lineguard";
    const wrong = `${user}:wrong-password-123`;
    const { node, probe, status } = await deploy({ measurement: uniqueName("lg_auth") }, {}, wrong);
    node.receive({ topic: "cnc-01", payload: rec(1) });
    await eventually(() => probe.caught.length === 1 || probe.completed.length === 1, 15_000, 50);
    assert.equal(
      probe.completed.length,
      0,
      "the write was accepted with a wrong password: is authentication enabled on the test InfluxDB?",
    );
    assert.match(probe.caught[0].error.message, /authentication failed \(HTTP 401\)/);
    assert.equal(status().fill, "red");
    assert.match(status().text ?? "", /authentication failed|authFailed/);
    for (const t of [JSON.stringify(probe.caught[0].error), status().text ?? ""]) {
      assert.doesNotMatch(t, /wrong-password-123/);
    }
  });
});
