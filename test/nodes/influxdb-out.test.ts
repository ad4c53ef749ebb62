import assert from "node:assert/strict";
import { helper } from "../support/helper";
import { eventually } from "../support/integration";
import influxConfig from "../../nodes/influxdb-config/influxdb-config";
import influxOut from "../../nodes/influxdb-out/influxdb-out";
import { FakeInflux, closedPortUrl } from "./fixtures/influxdb-fake-server";
import { FlowOptions, record, sinkFlow } from "./fixtures/influxdb-flows";
import { Status, lastStatus as lastStatusOf, statusesOf as statuses } from "../support/node-status";

const nodes = [influxConfig, influxOut];

interface Probe {
  ok: any[];
  rej: any[];
  caught: any[];
  completed: any[];
}

async function load(
  o: FlowOptions,
  credentials: Record<string, Record<string, unknown>> = {},
): Promise<{ out: any; probe: Probe }> {
  await helper.load(nodes, sinkFlow(o), credentials);
  const probe: Probe = { ok: [], rej: [], caught: [], completed: [] };
  for (const k of Object.keys(probe) as Array<keyof Probe>) {
    helper.getNode(k).on("input", (msg: unknown) => probe[k].push(msg));
  }
  return { out: helper.getNode("out"), probe };
}

function lastStatus(node: any): Status {
  return lastStatusOf(node) ?? {};
}

const creds = { cfg: { token: "tok-SECRET-4242" } };

describe("nodes/influxdb-out", () => {
  const fake = new FakeInflux();

  before(async () => {
    await fake.start();
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.respond = () => undefined;
  });
  afterEach(async () => {
    await helper.unload();
  });

  it("loads, connects (green dot) and writes a record: output 1, done(), one line", async () => {
    const { out, probe } = await load({ url: fake.url }, creds);
    await eventually(() => lastStatus(out).fill === "green", 5000, 20);
    assert.equal(lastStatus(out).shape, "dot");
    assert.match(lastStatus(out).text!, /lineguard\.status\.connected/);
    out.receive({ topic: "cnc-01", payload: record(1) });
    await eventually(() => probe.completed.length === 1, 5000, 20);
    assert.equal(probe.ok.length, 1);
    assert.deepEqual(probe.ok[0].payload, record(1));
    assert.equal(probe.rej.length, 0);
    assert.equal(probe.caught.length, 0);
    assert.deepEqual(fake.lines, ["lg_test,source=cnc-01 load=41,running=true 1700000000001"]);
    const w = fake.writes[0]!;
    assert.equal(w.query.get("bucket"), "bucket-1");
    assert.equal(w.query.get("org"), "acme");
    assert.equal(w.headers.authorization, "Token tok-SECRET-4242");
  });

  it("writes a batch in one request and honours msg.measurement / msg.tags and static tags", async () => {
    const { out, probe } = await load({ url: fake.url, out: { tags: '{"line":"A"}', lingerMs: 50 } }, creds);
    const batch = Array.from({ length: 50 }, (_, i) => record(i));
    out.receive({ topic: "cnc-02", payload: batch, measurement: "other", tags: { shift: "night" } });
    await eventually(() => probe.completed.length === 1, 5000, 20);
    assert.equal(fake.writes.length, 1);
    assert.equal(fake.lines.length, 50);
    assert.equal(fake.lines[0], "other,line=A,shift=night,source=cnc-02 load=40,running=true 1700000000000");
    assert.equal(fake.writes[0]!.gzipped, true, "a 50-line body is above the 1000-byte gzip threshold");
  });

  const badInputs: Array<[string, unknown, string]> = [
    ["a non-object payload", "hello", "not-object"],
    ["NaN", { ts: 1, values: { a: Number.NaN } }, "bad-value"],
    ["Infinity", { ts: 1, values: { a: Number.POSITIVE_INFINITY } }, "bad-value"],
    ["a missing ts", { values: { a: 1 } }, "bad-timestamp"],
    ["a record with no field left", { ts: 1, values: { a: 1 }, quality: { a: "bad" } }, "no-field"],
  ];
  for (const [what, payload, code] of badInputs) {
    it(`rejects ${what}: output 2, catch, red ring, nothing written`, async () => {
      const { out, probe } = await load({ url: fake.url }, creds);
      await eventually(() => lastStatus(out).fill === "green", 5000, 20);
      out.receive({ topic: "cnc-01", payload });
      await eventually(() => probe.caught.length === 1, 5000, 20);
      assert.equal(probe.rej.length, 1);
      assert.deepEqual(probe.rej[0].payload, [payload]);
      assert.equal(probe.rej[0].rejected.length, 1);
      assert.equal(probe.rej[0].rejected[0].code, code);
      assert.equal(probe.rej[0].rejected[0].index, 0);
      assert.match(probe.caught[0].error.message, /1\/1 record\(s\) rejected/);
      assert.equal(probe.ok.length, 0);
      assert.equal(probe.completed.length, 0);
      const s = lastStatus(out);
      assert.equal(s.fill, "red");
      assert.equal(s.shape, "ring");
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(fake.writes.length, 0);
    });
  }

  it("rejects an oversized message (more records than the backlog holds) as a whole", async () => {
    const { out, probe } = await load({ url: fake.url, out: { maxBacklog: 5 } }, creds);
    await eventually(() => lastStatus(out).fill === "green", 5000, 20);
    const batch = Array.from({ length: 6 }, (_, i) => record(i));
    out.receive({ topic: "cnc-01", payload: batch });
    await eventually(() => probe.caught.length === 1, 5000, 20);
    assert.equal(probe.rej[0].rejected[0].code, "too-large");
    assert.deepEqual(probe.rej[0].payload, batch);
    assert.match(probe.caught[0].error.message, /exceeds the limit of 5/);
    assert.equal(lastStatus(out).fill, "red");
  });

  it("a batch with bad records still writes the good ones: output 1 and 2, done(err) once written", async () => {
    const { out, probe } = await load({ url: fake.url }, creds);
    const payload = [record(0), 42, record(2), { ts: 3, values: {} }, record(4)];
    out.receive({ topic: "cnc-01", payload });
    await eventually(() => probe.caught.length === 1, 5000, 20);
    assert.equal(fake.lines.length, 3);
    assert.equal(probe.ok.length, 1, "output 1 once the good points were written");
    assert.deepEqual(
      probe.rej[0].rejected.map((r: any) => [r.index, r.code]),
      [
        [1, "not-object"],
        [3, "no-values"],
      ],
    );
    assert.deepEqual(probe.rej[0].payload, [42, { ts: 3, values: {} }]);
    assert.match(probe.caught[0].error.message, /2\/5 record\(s\) rejected/);
    assert.equal(probe.completed.length, 0);
    // The count of rejected records stays on the status once it is green again.
    out.receive({ topic: "cnc-01", payload: record(9) });
    await eventually(() => probe.completed.length === 1, 5000, 20);
    await eventually(() => lastStatus(out).fill === "green", 3000, 20);
    assert.match(lastStatus(out).text!, /lineguard\.status\.rejected/);
  });

  it("401: red ring 'authentication failed', done(err); the token never shows in status, log or error", async () => {
    fake.respond = (r) =>
      r.path === "/api/v2/write"
        ? { status: 401, body: JSON.stringify({ error: `unauthorized access: ${String(r.headers.authorization)}` }) }
        : undefined;
    const { out, probe } = await load({ url: fake.url }, creds);
    out.receive({ topic: "cnc-01", payload: record(1) });
    await eventually(() => probe.caught.length === 1, 5000, 20);
    assert.match(probe.caught[0].error.message, /authentication failed \(HTTP 401\)/);
    await eventually(() => lastStatus(out).fill === "red", 3000, 20);
    assert.match(lastStatus(out).text!, /authFailed|authentication failed/);
    assert.equal(probe.ok.length, 0);
    const texts = [
      ...statuses(out).map((s) => JSON.stringify(s)),
      ...probe.caught.map((m) => JSON.stringify(m.error)),
      ...helper.log().args.map((a: unknown[]) => JSON.stringify(a)),
    ];
    assert.ok(texts.length > 3);
    for (const t of texts) assert.doesNotMatch(t, /tok-SECRET-4242/);
  });

  it("1.8: writes to db/rp with user:password; the password never shows", async () => {
    fake.respond = (r) =>
      r.path === "/api/v2/write"
        ? { status: 400, body: `{"error":"bad line, auth was ${String(r.headers.authorization)}"}` }
        : undefined;
    const { out, probe } = await load(
      { url: fake.url, config: { version: "1.8", org: "", database: "plant", retentionPolicy: "autogen" } },
      { cfg: { username: "lineguard", password: "pw-SECRET-777" } },
    );
    out.receive({ topic: "cnc-01", payload: record(1) });
    await eventually(() => probe.caught.length === 1, 5000, 20);
    const w = fake.writes[0]!;
    assert.equal(w.query.get("bucket"), "plant/autogen");
    assert.equal(w.headers.authorization, "Token lineguard:pw-SECRET-777");
    assert.match(probe.caught[0].error.message, /InfluxDB refused the write \(HTTP 400\)/);
    const texts = [
      ...statuses(out).map((s) => JSON.stringify(s)),
      JSON.stringify(probe.caught[0].error),
      ...helper.log().args.map((a: unknown[]) => JSON.stringify(a)),
    ];
    for (const t of texts) assert.doesNotMatch(t, /pw-SECRET-777/);
  });

  it("keeps accepting while the server is down (yellow ring, backlog) and writes everything when it is back", async () => {
    const port = fake.port;
    await fake.stop();
    const { out, probe } = await load({ url: `http://127.0.0.1:${port}` }, creds);
    try {
      for (let i = 0; i < 20; i++) out.receive({ topic: "cnc-01", payload: record(i) });
      await eventually(() => /lineguard\.status\.disconnected/.test(lastStatus(out).text ?? ""), 5000, 20);
      assert.equal(lastStatus(out).fill, "yellow");
      assert.equal(probe.completed.length, 0);
      assert.equal(probe.caught.length, 0);
      await eventually(() => /lineguard\.status\.backlog/.test(lastStatus(out).text ?? ""), 3000, 20);
    } finally {
      await fake.start(port);
    }
    await eventually(() => probe.completed.length === 20, 15000, 50);
    assert.equal(probe.ok.length, 20);
    assert.equal(fake.lines.length, 20);
    await eventually(() => lastStatus(out).fill === "green", 3000, 20);
    assert.ok(helper.log().args.some((a: any[]) => a[0].level === helper.log().WARN && /disconnected/.test(a[0].msg)));
  });

  it("a config error (bad URL) shows a red ring and fails every message", async () => {
    const { out, probe } = await load({ url: "ftp://nowhere" }, creds);
    assert.equal(lastStatus(out).fill, "red");
    assert.match(lastStatus(out).text!, /influxdb-out\.errors\.config/);
    out.receive({ topic: "cnc-01", payload: record(1) });
    await eventually(() => probe.caught.length === 1, 3000, 20);
    assert.equal(probe.ok.length, 0);
  });

  it("no config node: red ring, done(err)", async () => {
    const { out, probe } = await load({ url: fake.url, noConfig: true });
    assert.equal(lastStatus(out).fill, "red");
    assert.match(lastStatus(out).text!, /lineguard\.errors\.noConfig/);
    out.receive({ topic: "cnc-01", payload: record(1) });
    await eventually(() => probe.caught.length === 1, 3000, 20);
  });

  it("a 2.x sink without a bucket is a config error", async () => {
    const { out } = await load({ url: fake.url, out: { bucket: "" } }, creds);
    assert.equal(lastStatus(out).fill, "red");
    assert.match(lastStatus(out).text!, /bucket is required/);
  });

  it("migrates a config saved without version (defaults, tags object, numbers as strings)", async () => {
    const { out, probe } = await load(
      {
        url: fake.url,
        out: {
          version: undefined,
          tags: { line: "B" } as unknown as string,
          batchSize: "2",
          lingerMs: "10",
          measurement: undefined,
          precision: undefined,
          stringValues: undefined,
        },
        config: { cfgVersion: undefined, version: "1.x" as never, database: "legacy" },
      },
      {},
    );
    out.receive({ topic: "cnc-09", payload: [record(1), record(2), record(3)] });
    await eventually(() => probe.completed.length === 1, 5000, 20);
    assert.equal(fake.writes.length, 2, "batchSize 2 -> two requests for three lines");
    assert.equal(fake.writes[0]!.query.get("bucket"), "legacy", "1.x became 1.8");
    assert.equal(fake.lines[0], "lineguard,line=B,source=cnc-09 load=41,running=true 1700000000001");
  });

  it("delivers what is pending when the flow stops (the config node keeps its client until then)", async () => {
    const { out } = await load({ url: fake.url, out: { lingerMs: 60_000 } }, creds);
    await eventually(() => lastStatus(out).fill === "green", 5000, 20);
    for (let i = 0; i < 5; i++) out.receive({ topic: "cnc-01", payload: record(i) });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fake.writes.length, 0, "waiting for the flush interval");
    await helper.unload();
    assert.equal(fake.lines.length, 5);
  });

  it("closes within the time limit when InfluxDB fails while connected with messages pending", async () => {
    const { out, probe } = await load({ url: fake.url, out: { lingerMs: 200 } }, creds);
    await eventually(() => lastStatus(out).fill === "green", 5000, 20);
    fake.respond = (r) => (r.path === "/api/v2/write" ? { status: 503, body: "busy" } : undefined);
    out.receive({ topic: "cnc-01", payload: record(1) });
    await new Promise((r) => setTimeout(r, 50)); // accepted, waiting for the flush interval
    const t0 = Date.now();
    await helper.unload();
    const took = Date.now() - t0;
    assert.ok(took < 8000, `close took ${took} ms`);
    assert.equal(probe.ok.length, 0);
  });

  it("closes within the time limit while InfluxDB is unreachable and messages are pending", async () => {
    const { out, probe } = await load({ url: await closedPortUrl() }, creds);
    out.receive({ topic: "cnc-01", payload: record(1) });
    await eventually(() => /lineguard\.status\.disconnected/.test(lastStatus(out).text ?? ""), 5000, 20);
    const t0 = Date.now();
    await helper.unload();
    const took = Date.now() - t0;
    assert.ok(took < 8000, `close took ${took} ms`);
    assert.equal(probe.ok.length, 0);
  });
});
