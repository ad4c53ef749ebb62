import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Node, NodeAPI } from "node-red";
import sharp from "sharp";
import anomalyNode from "../../nodes/anomaly/anomaly";
import detectNode from "../../nodes/detect/detect";
import featuresNode from "../../nodes/features/features";
import validateNode from "../../nodes/validate/validate";
import { LineGuardMetrics, METRIC_NAMES, lineguardMetrics } from "../../lib/metrics";
import { METRICS_PATH, METRICS_PERMISSION, metricsRoute, nodeMetrics } from "../../nodes/shared/metrics";
import { ANOMALY_DEFAULTS } from "../../nodes/anomaly/config";
import { detectFlow, yoloFixture } from "./fixtures/detect-flows";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import { collect, lastStatus } from "../support/node-status";
import { Sample, parseMetrics, valueOf } from "../support/prometheus";

const TAB = "metrics-tab";
const T0 = 1_732_363_200_000;
const RULES = [{ tag: "speed", required: true, type: "number", min: 0, max: 100 }];

/** validate "v1" (named) -> features "f1" -> ok; rejections -> rej; scoped catch and complete. */
function pipelineFlow(): object[] {
  return [
    { id: TAB, type: "tab", label: "metrics" },
    {
      id: "v1",
      type: "validate",
      z: TAB,
      name: "check speed",
      rules: JSON.stringify(RULES),
      schema: "none",
      customSchema: "",
      schemaTarget: "record",
      convert: true,
      unknownTags: "pass",
      flags: true,
      maxSources: 1000,
      errorOnReject: true,
      version: 1,
      wires: [["f1"], ["rej"]],
    },
    {
      id: "f1",
      type: "features",
      z: TAB,
      name: "",
      windowType: "count",
      size: 2,
      hop: 1,
      mode: "sliding",
      tagsMode: "all",
      tags: "",
      stats: ["mean", "n"],
      ratios: "",
      policy: "skip",
      uncertainIsBad: false,
      minSamples: 1,
      gapMs: 0,
      gapReset: false,
      emit: "every",
      tensor: false,
      tensorSize: 3,
      tensorTags: "",
      maxKeys: 1000,
      maxSamples: 10000,
      version: 1,
      wires: [["ok"], []],
    },
    { id: "ok", type: "helper", z: TAB },
    { id: "rej", type: "helper", z: TAB },
    { id: "catch1", type: "catch", z: TAB, scope: ["v1", "f1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: TAB },
    { id: "complete1", type: "complete", z: TAB, scope: ["v1"], uncaught: false, wires: [["completed"]] },
    { id: "completed", type: "helper", z: TAB },
  ];
}

async function scrape(): Promise<Sample[]> {
  const res = await helper.request().get(METRICS_PATH).expect(200);
  assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4; charset=utf-8/);
  return parseMetrics(res.text);
}

const V1 = { node_id: "v1", node_type: "validate", node_name: "check speed" };
const F1 = { node_id: "f1", node_type: "features", node_name: "" };
const rec = (i: number, speed: unknown) => ({ ts: T0 + i * 1000, values: { speed } });

describe("metrics endpoint (GET /lineguard/metrics)", function () {
  this.timeout(30_000);
  useHelper();

  it("counts records in, out and rejected by reason for validate and features", async () => {
    await helper.load([validateNode, featuresNode], pipelineFlow());
    const ok = collect(helper.getNode("ok"));
    const rej = collect(helper.getNode("rej"));
    const completed = collect(helper.getNode("completed"));
    const caught = collect(helper.getNode("caught"));

    // deployed: in and out exist at 0, nothing rejected yet
    let s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, V1), 0);
    assert.equal(valueOf(s, METRIC_NAMES.recordsOut, F1), 0);
    assert.equal(valueOf(s, METRIC_NAMES.rejected, V1), undefined);

    const v1 = helper.getNode("v1");
    // a batch: 3 good, 1 above max, 1 not an object, 1 with NaN
    v1.receive({ topic: "line-1", payload: [rec(0, 10), rec(1, 500), rec(2, 20), "junk", rec(3, 30), rec(4, NaN)] });
    v1.receive({ topic: "line-1", payload: rec(5, 40) }); // good
    v1.receive({ topic: "line-1", payload: { ts: T0 + 6000, values: { other: 1 } } }); // speed missing
    await eventually(() => completed.length === 1 && caught.length === 2 && rej.length === 2, 5_000, 10);
    await eventually(() => ok.length === 2, 5_000, 10);
    const passed = ok.reduce((n, m) => n + (Array.isArray(m.payload) ? m.payload.length : 1), 0);
    assert.equal(passed, 4);

    s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, V1), 8);
    assert.equal(valueOf(s, METRIC_NAMES.recordsOut, V1), 4);
    const reasons = s
      .filter((x) => x.name === METRIC_NAMES.rejected && x.labels.node_id === "v1")
      .map((x) => [x.labels.reason, x.value]);
    const codes = rej.flatMap((m) => (m.rejected as Array<{ index: number; code: string }>).map((r) => r.code));
    assert.deepEqual(Object.fromEntries(reasons), Object.fromEntries(codes.map((c) => [c, 1])));
    assert.equal(reasons.length, 4);
    assert.ok(codes.includes("above-max"), codes.join());
    assert.ok(codes.includes("missing-tag"), codes.join());
    assert.ok(codes.includes("not-object"), codes.join());
    for (const [, n] of reasons) assert.equal(n, 1);
    // in = out + rejected on validate
    assert.equal(8, 4 + reasons.reduce((n, [, v]) => n + Number(v), 0));
    // features received what validate passed on and emitted a record for each (emit: every)
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, F1), 4);
    assert.equal(valueOf(s, METRIC_NAMES.recordsOut, F1), 4);
    // process metrics come along
    assert.ok(
      s.some((x) => x.name === "lineguard_process_resident_memory_bytes" || x.name.startsWith("lineguard_nodejs_")),
    );
  });

  it("removes a node's series when its flow stops; a redeploy starts from 0", async () => {
    await helper.load([validateNode, featuresNode], pipelineFlow());
    const completed = collect(helper.getNode("completed"));
    helper.getNode("v1").receive({ topic: "a", payload: rec(0, 1) });
    await eventually(() => completed.length === 1, 5_000, 10);
    assert.equal(valueOf(await scrape(), METRIC_NAMES.recordsIn, V1), 1);
    await helper.unload();
    // the last admin app stays reachable through the helper; the node's series are gone
    let s = await scrape();
    assert.deepEqual(
      s.filter((x) => x.labels.node_id === "v1" || x.labels.node_id === "f1"),
      [],
    );
    await helper.load([validateNode, featuresNode], pipelineFlow());
    s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, V1), 0);
  });
});

describe("metrics of the anomaly node", function () {
  this.timeout(30_000);
  let userDir: string;
  useHelper();
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-metrics-"));
    helper.settings({ userDir });
  });
  afterEach(() => {
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("counts windows in, scored, rejected and observes the inference latency", async () => {
    let root = __dirname;
    while (!fs.existsSync(path.join(root, "package.json"))) root = path.dirname(root);
    const modelDir = path.join(root, "test", "fixtures", "models");
    await helper.load(
      [anomalyNode],
      [
        { id: "tab", type: "tab" },
        {
          ...ANOMALY_DEFAULTS,
          id: "an",
          z: "tab",
          type: "anomaly",
          name: "ae",
          modelDir: path.join(modelDir, "scale-ae"),
          threshold: "",
          version: 1,
          wires: [["out1"], ["out2"]],
        },
        { id: "out1", z: "tab", type: "helper" },
        { id: "out2", z: "tab", type: "helper" },
        { id: "completer", z: "tab", type: "complete", scope: ["an"], uncaught: false, wires: [["completed"]] },
        { id: "completed", z: "tab", type: "helper" },
        { id: "catcher", z: "tab", type: "catch", scope: ["an"], uncaught: false, wires: [["caught"]] },
        { id: "caught", z: "tab", type: "helper" },
      ],
    );
    const an = helper.getNode("an");
    const completed = collect(helper.getNode("completed"));
    const caught = collect(helper.getNode("caught"));
    await eventually(() => lastStatus(an)?.fill === "green", 10_000, 20);
    const tags = ["b", "a", "c"];
    const win = (source: string, k: number) => ({
      source,
      tags,
      data: Array.from({ length: 8 }, (_, t) => tags.map((x) => (x === "a" ? k + t : x === "b" ? -k : 2 * t))),
    });
    an.receive({ payload: [], window: [win("m1", 1), win("m2", 2), { source: "m3", tags: ["a"], data: [[1]] }] });
    an.receive({ payload: { ts: 1, values: { a: 1 } }, window: win("m1", 3) });
    await eventually(() => completed.length === 1 && caught.length === 1, 10_000, 20);
    const s = await scrape();
    const AN = { node_id: "an", node_type: "anomaly", node_name: "ae" };
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, AN), 4);
    assert.equal(valueOf(s, METRIC_NAMES.recordsOut, AN), 3);
    const rejected = s.filter((x) => x.name === METRIC_NAMES.rejected && x.labels.node_id === "an");
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.value, 1);
    assert.match(rejected[0]!.labels.reason!, /^[a-z0-9_-]+$/);
    // one observation per scored message
    assert.equal(valueOf(s, `${METRIC_NAMES.inferenceLatency}_count`, AN), 2);
    assert.ok(valueOf(s, `${METRIC_NAMES.inferenceLatency}_sum`, AN)! > 0);
  });
});

describe("metrics of the detect node", function () {
  this.timeout(30_000);
  let userDir: string;
  useHelper();
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-metrics-"));
    helper.settings({ userDir });
  });
  afterEach(() => {
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("counts frames in, out, rejected by reason and observes the inference time per frame", async () => {
    await helper.load([detectNode], detectFlow({ model: yoloFixture("v8.onnx"), queue: 10 }));
    const det = helper.getNode("det");
    const out = collect(helper.getNode("out"));
    const caught = collect(helper.getNode("caught"));
    await eventually(() => lastStatus(det)?.fill === "green", 10_000, 20);
    const good = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 120, b: 150 } } })
      .jpeg()
      .toBuffer();
    det.receive({ payload: { nothing: true } });
    await eventually(() => caught.length === 1, 10_000, 20);
    det.receive({ payload: good });
    await eventually(() => out.length === 1, 10_000, 20);
    det.receive({ payload: good.subarray(0, 100) });
    await eventually(() => caught.length === 2, 10_000, 20);
    const s = await scrape();
    const DET = { node_id: "det", node_type: "detect" };
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, DET), 3);
    assert.equal(valueOf(s, METRIC_NAMES.recordsOut, DET), 1);
    assert.equal(valueOf(s, METRIC_NAMES.rejected, { ...DET, reason: "bad-input" }), 1);
    const rejected = s.filter((x) => x.name === METRIC_NAMES.rejected && x.labels.node_id === "det");
    assert.equal(rejected.length, 2, JSON.stringify(rejected));
    assert.equal(valueOf(s, `${METRIC_NAMES.inferenceLatency}_count`, DET), 1);
  });
});

describe("nodes/shared/metrics", () => {
  interface Route {
    path: string;
    handlers: Array<(...a: unknown[]) => void>;
  }
  function fakeRED(deny: boolean) {
    const routes: Route[] = [];
    const permissions: string[] = [];
    const RED = {
      httpAdmin: { get: (p: string, ...handlers: Route["handlers"]) => routes.push({ path: p, handlers }) },
      auth: {
        needsPermission: (perm: string) => {
          permissions.push(perm);
          return (_req: unknown, res: FakeRes, next: () => void) => (deny ? res.status(401).send("") : next());
        },
      },
    };
    return { RED: RED as unknown as NodeAPI, routes, permissions };
  }
  class FakeRes {
    code = 0;
    headers: Record<string, string> = {};
    body = "";
    sent: Promise<void>;
    private resolve!: () => void;
    constructor() {
      this.sent = new Promise((r) => (this.resolve = r));
    }
    status(c: number): this {
      this.code = c;
      return this;
    }
    setHeader(k: string, v: string): this {
      this.headers[k.toLowerCase()] = v;
      return this;
    }
    type(t: string): this {
      return this.setHeader("content-type", t);
    }
    send(b: string): this {
      this.body = b;
      this.resolve();
      return this;
    }
    end(b: string): this {
      return this.send(b);
    }
  }
  async function call(route: Route): Promise<FakeRes> {
    const res = new FakeRes();
    let i = 0;
    const next = (): void => {
      const h = route.handlers[i++];
      if (h) h({}, res, next);
    };
    next();
    await res.sent;
    return res;
  }

  it("registers the route once per admin app, guarded by lineguard.metrics.read", async () => {
    const { RED, routes, permissions } = fakeRED(false);
    const metrics = new LineGuardMetrics({ defaultMetrics: false });
    metrics.forNode({ id: "x", type: "validate" }).recordsIn(2);
    metricsRoute(RED, metrics);
    metricsRoute(RED, metrics);
    assert.equal(routes.length, 1);
    assert.equal(routes[0]!.path, "/lineguard/metrics");
    assert.deepEqual(permissions, [METRICS_PERMISSION]);
    assert.equal(METRICS_PERMISSION, "lineguard.metrics.read");
    const res = await call(routes[0]!);
    assert.equal(res.code, 200);
    assert.equal(res.headers["content-type"], metrics.contentType);
    assert.equal(valueOf(parseMetrics(res.body), METRIC_NAMES.recordsIn, { node_id: "x" }), 2);
  });

  it("answers 401 when the permission check refuses, 500 when the registry fails", async () => {
    const denied = fakeRED(true);
    metricsRoute(denied.RED, new LineGuardMetrics({ defaultMetrics: false }));
    assert.equal((await call(denied.routes[0]!)).code, 401);
    const failing = fakeRED(false);
    const broken = new LineGuardMetrics({ defaultMetrics: false });
    broken.text = () => Promise.reject(new Error("boom"));
    metricsRoute(failing.RED, broken);
    const res = await call(failing.routes[0]!);
    assert.equal(res.code, 500);
    assert.match(res.body, /boom/);
  });

  it("nodeMetrics labels the node and closes the handle on the node's close event", async () => {
    const { RED } = fakeRED(false);
    const node = Object.assign(new EventEmitter(), { id: "stub-1", name: "stub" }) as unknown as Node;
    const m = nodeMetrics(RED, node, "validate");
    m.recordsIn(3);
    const L = { node_id: "stub-1", node_type: "validate", node_name: "stub" };
    assert.equal(valueOf(parseMetrics(await lineguardMetrics.text()), METRIC_NAMES.recordsIn, L), 3);
    node.emit("close");
    assert.equal(valueOf(parseMetrics(await lineguardMetrics.text()), METRIC_NAMES.recordsIn, L), undefined);
  });
});
