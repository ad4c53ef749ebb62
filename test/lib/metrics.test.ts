import assert from "node:assert/strict";
import {
  INFERENCE_LATENCY_BUCKETS,
  LineGuardMetrics,
  METRIC_NAMES,
  MAX_REASONS_PER_NODE,
  SEND_LATENCY_BUCKETS,
  errorReason,
  lineguardMetrics,
  reasonCode,
  rejectionCounts,
} from "../../lib/metrics";
import { LineGuardError } from "../../lib/errors";
import { parseMetrics, valueOf } from "../support/prometheus";

/** One sample of the text format: name, labels, value. */

describe("lib/metrics", () => {
  let metrics: LineGuardMetrics;
  beforeEach(() => {
    metrics = new LineGuardMetrics({ defaultMetrics: false });
  });
  const scrape = async () => parseMetrics(await metrics.text());
  const N1 = { node_id: "n1", node_type: "validate", node_name: "check" };

  it("has its own registry and the Prometheus text content type", () => {
    assert.notEqual(metrics.registry, lineguardMetrics.registry);
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it("exposes every documented family with HELP and TYPE", async () => {
    const text = await metrics.text();
    const types: Record<string, string> = {
      [METRIC_NAMES.recordsIn]: "counter",
      [METRIC_NAMES.recordsOut]: "counter",
      [METRIC_NAMES.rejected]: "counter",
      [METRIC_NAMES.spoolRecords]: "gauge",
      [METRIC_NAMES.spoolBytes]: "gauge",
      [METRIC_NAMES.spoolOldestAge]: "gauge",
      [METRIC_NAMES.dropped]: "counter",
      [METRIC_NAMES.sendLatency]: "histogram",
      [METRIC_NAMES.reconnects]: "counter",
      [METRIC_NAMES.inferenceLatency]: "histogram",
    };
    for (const [name, type] of Object.entries(types)) {
      assert.ok(text.includes(`# TYPE ${name} ${type}\n`), name);
      assert.ok(text.includes(`# HELP ${name} `), name);
    }
    assert.equal(Object.keys(types).length, Object.keys(METRIC_NAMES).length);
  });

  it("counts per node with node_id, node_type and node_name labels", async () => {
    const m = metrics.forNode({ id: "n1", type: "validate", name: "check" });
    const k = metrics.forNode({ id: "k1", type: "kafka-out" });
    m.recordsIn();
    m.recordsIn(9);
    m.recordsOut(7);
    m.rejected(2, "below-min");
    m.rejected(1, "schema");
    m.rejected(1, "schema");
    k.recordsIn(5);
    k.recordsOut(4);
    k.dropped(3);
    k.reconnect();
    k.reconnect();
    const s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, N1), 10);
    assert.equal(valueOf(s, METRIC_NAMES.recordsOut, N1), 7);
    assert.equal(valueOf(s, METRIC_NAMES.rejected, { ...N1, reason: "below-min" }), 2);
    assert.equal(valueOf(s, METRIC_NAMES.rejected, { ...N1, reason: "schema" }), 2);
    const K1 = { node_id: "k1", node_type: "kafka-out", node_name: "" };
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, K1), 5);
    assert.equal(valueOf(s, METRIC_NAMES.recordsOut, K1), 4);
    assert.equal(valueOf(s, METRIC_NAMES.dropped, K1), 3);
    assert.equal(valueOf(s, METRIC_NAMES.reconnects, K1), 2);
    // every per-node sample carries the three node labels
    for (const x of s)
      assert.deepEqual(Object.keys(x.labels).slice(0, 3).sort(), ["node_id", "node_name", "node_type"]);
    // a value of 0 creates the series (so rate() and increase() see the first increment)
    k.rejected(0, "schema");
    assert.equal(valueOf(await scrape(), METRIC_NAMES.rejected, { ...K1, reason: "schema" }), 0);
  });

  it("observes latencies into histograms with the documented buckets", async () => {
    const k = metrics.forNode({ id: "k1", type: "kafka-out", name: "to kafka" });
    const a = metrics.forNode({ id: "a1", type: "anomaly", name: "" });
    k.sendLatency(0.004);
    k.sendLatency(12);
    a.inferenceLatency(0.0007);
    const s = await scrape();
    const K = { node_id: "k1" };
    const le = (name: string, l: string, labels: Record<string, string>) =>
      valueOf(s, `${name}_bucket`, { ...labels, le: l });
    assert.equal(le(METRIC_NAMES.sendLatency, "0.001", K), 0);
    assert.equal(le(METRIC_NAMES.sendLatency, "0.005", K), 1);
    assert.equal(le(METRIC_NAMES.sendLatency, "30", K), 2);
    assert.equal(le(METRIC_NAMES.sendLatency, "+Inf", K), 2);
    assert.equal(valueOf(s, `${METRIC_NAMES.sendLatency}_count`, K), 2);
    assert.equal(valueOf(s, `${METRIC_NAMES.sendLatency}_sum`, K), 12.004);
    assert.equal(le(METRIC_NAMES.inferenceLatency, "0.0005", { node_id: "a1" }), 0);
    assert.equal(le(METRIC_NAMES.inferenceLatency, "0.001", { node_id: "a1" }), 1);
    const buckets = (name: string) =>
      s.filter((x) => x.name === `${name}_bucket` && x.labels.le !== "+Inf").map((x) => Number(x.labels.le));
    assert.deepEqual(
      buckets(METRIC_NAMES.sendLatency).filter((_, i, all) => all.indexOf(_) === i),
      SEND_LATENCY_BUCKETS,
    );
    assert.equal(SEND_LATENCY_BUCKETS[0], 0.001);
    assert.equal(SEND_LATENCY_BUCKETS.at(-1), 30);
    assert.equal(INFERENCE_LATENCY_BUCKETS[0], 0.0005);
    assert.equal(INFERENCE_LATENCY_BUCKETS.at(-1), 5);
  });

  it("samples the spool probe at scrape time, once per scrape, and removes it on undefined", async () => {
    const k = metrics.forNode({ id: "k1", type: "kafka-out" });
    let calls = 0;
    let depth = 10;
    k.spoolProbe(() => {
      calls++;
      return { records: depth, bytes: depth * 100, oldestAgeSeconds: depth / 10 };
    });
    let s = await scrape();
    assert.equal(calls, 1);
    assert.equal(valueOf(s, METRIC_NAMES.spoolRecords, { node_id: "k1" }), 10);
    assert.equal(valueOf(s, METRIC_NAMES.spoolBytes, { node_id: "k1" }), 1000);
    assert.equal(valueOf(s, METRIC_NAMES.spoolOldestAge, { node_id: "k1" }), 1);
    depth = 250;
    s = await scrape();
    assert.equal(calls, 2);
    assert.equal(valueOf(s, METRIC_NAMES.spoolRecords, { node_id: "k1" }), 250);
    assert.equal(valueOf(s, METRIC_NAMES.spoolOldestAge, { node_id: "k1" }), 25);
    // scrapes started in the same turn share one sample; the next one samples again
    await Promise.all([metrics.text(), metrics.text()]);
    assert.equal(calls, 3);
    await scrape();
    assert.equal(calls, 4);
    k.spoolProbe(undefined);
    s = await scrape();
    assert.equal(calls, 4);
    assert.equal(valueOf(s, METRIC_NAMES.spoolRecords, { node_id: "k1" }), undefined);
    assert.equal(valueOf(s, METRIC_NAMES.spoolBytes, { node_id: "k1" }), undefined);
  });

  it("leaves out a probe that throws or returns bad numbers, without failing the scrape", async () => {
    const a = metrics.forNode({ id: "a", type: "kafka-out" });
    const b = metrics.forNode({ id: "b", type: "influxdb-out" });
    a.spoolProbe(() => {
      throw new Error("spool gone");
    });
    b.spoolProbe(() => ({ records: 3, bytes: NaN, oldestAgeSeconds: -1 }));
    const s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.spoolRecords, { node_id: "a" }), undefined);
    assert.equal(valueOf(s, METRIC_NAMES.spoolRecords, { node_id: "b" }), 3);
    assert.equal(valueOf(s, METRIC_NAMES.spoolBytes, { node_id: "b" }), undefined);
    assert.equal(valueOf(s, METRIC_NAMES.spoolOldestAge, { node_id: "b" }), undefined);
  });

  it("close() removes every series of the node; later calls on the handle do nothing", async () => {
    const m = metrics.forNode({ id: "n1", type: "validate", name: "check" });
    const other = metrics.forNode({ id: "n2", type: "features" });
    m.recordsIn(3);
    m.recordsOut(1);
    m.rejected(2, "schema");
    m.dropped(1);
    m.reconnect();
    m.sendLatency(0.1);
    m.inferenceLatency(0.01);
    m.spoolProbe(() => ({ records: 1, bytes: 2, oldestAgeSeconds: 3 }));
    other.recordsIn(1);
    assert.ok((await scrape()).filter((x) => x.labels.node_id === "n1").length > 10);
    m.close();
    m.recordsIn(5);
    m.rejected(1, "schema");
    m.close();
    const s = await scrape();
    assert.deepEqual(
      s.filter((x) => x.labels.node_id === "n1"),
      [],
    );
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, { node_id: "n2" }), 1);
  });

  it("a second forNode() with the same id (redeploy) works, before or after close()", async () => {
    const a = metrics.forNode({ id: "n1", type: "validate", name: "v" });
    a.recordsIn(4);
    a.rejected(1, "schema");
    a.close();
    const b = metrics.forNode({ id: "n1", type: "validate", name: "v" });
    b.recordsIn(2);
    let s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, { node_id: "n1" }), 2);
    assert.equal(valueOf(s, METRIC_NAMES.rejected, { node_id: "n1" }), undefined);

    // without close(): the new handle carries on, the old one goes inert
    b.rejected(1, "range");
    const c = metrics.forNode({ id: "n1", type: "validate", name: "v" });
    b.recordsIn(100);
    c.recordsIn(1);
    b.close(); // a late close of the replaced handle leaves the new handle's series
    s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, { node_id: "n1" }), 3);
    c.close();
    s = await scrape();
    assert.deepEqual(
      s.filter((x) => x.labels.node_id === "n1"),
      [],
    );

    // the replaced handle's spool probe is not sampled; its gauges wait for the new handle's probe
    const p1 = metrics.forNode({ id: "k9", type: "kafka-out" });
    p1.spoolProbe(() => ({ records: 5, bytes: 50, oldestAgeSeconds: 1 }));
    assert.equal(valueOf(await scrape(), METRIC_NAMES.spoolRecords, { node_id: "k9" }), 5);
    const p2 = metrics.forNode({ id: "k9", type: "kafka-out" });
    assert.equal(valueOf(await scrape(), METRIC_NAMES.spoolRecords, { node_id: "k9" }), undefined);
    p2.spoolProbe(() => ({ records: 7, bytes: 70, oldestAgeSeconds: 2 }));
    assert.equal(valueOf(await scrape(), METRIC_NAMES.spoolRecords, { node_id: "k9" }), 7);

    // renamed on redeploy: the old name's series go at once
    const d = metrics.forNode({ id: "n1", type: "validate", name: "old" });
    d.recordsIn(1);
    const e = metrics.forNode({ id: "n1", type: "validate", name: "new" });
    e.recordsIn(1);
    s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, { node_id: "n1", node_name: "old" }), undefined);
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, { node_id: "n1", node_name: "new" }), 1);
  });

  it("ignores non-finite and negative values and never throws", async () => {
    const m = metrics.forNode({ id: "n1", type: "validate" });
    const bad: unknown[] = [NaN, Infinity, -Infinity, -1, "3", null, {}];
    for (const v of bad) {
      assert.doesNotThrow(() => {
        m.recordsIn(v as number);
        m.recordsOut(v as number);
        m.rejected(v as number, "schema");
        m.dropped(v as number);
        m.sendLatency(v as number);
        m.inferenceLatency(v as number);
      });
    }
    m.rejected(1, undefined as unknown as string);
    m.spoolProbe("nope" as never);
    const s = await scrape();
    assert.equal(valueOf(s, METRIC_NAMES.recordsIn, { node_id: "n1" }), 0);
    assert.equal(valueOf(s, METRIC_NAMES.dropped, { node_id: "n1" }), undefined);
    assert.equal(valueOf(s, `${METRIC_NAMES.sendLatency}_count`, { node_id: "n1" }), undefined);
    assert.equal(valueOf(s, METRIC_NAMES.rejected, { node_id: "n1", reason: "schema" }), undefined);
    assert.equal(valueOf(s, METRIC_NAMES.rejected, { node_id: "n1", reason: "other" }), 1);
  });

  it("keeps reason codes short and few: free text is normalised, extra codes become other", async () => {
    assert.equal(reasonCode("schema"), "schema");
    assert.equal(reasonCode("below-min"), "below-min");
    assert.equal(reasonCode('Value of "x" is NaN!'), "value-of-x-is-nan");
    assert.equal(reasonCode("x".repeat(100)).length, 32);
    assert.equal(reasonCode(""), "other");
    assert.equal(reasonCode(42), "other");
    assert.equal(errorReason(new LineGuardError("bad-input", "no")), "bad-input");
    assert.equal(errorReason(new Error("boom")), "error");
    assert.equal(errorReason("boom"), "error");
    const m = metrics.forNode({ id: "n1", type: "validate" });
    for (let i = 0; i < MAX_REASONS_PER_NODE + 10; i++) m.rejected(1, `code-${i}`);
    const reasons = (await scrape()).filter((x) => x.name === METRIC_NAMES.rejected).map((x) => x.labels.reason);
    assert.equal(reasons.length, MAX_REASONS_PER_NODE + 1);
    assert.ok(reasons.includes("other"));
  });

  it("rejectionCounts: one count per rejected record under its first reason", () => {
    const counts = rejectionCounts(5, 1, [
      { index: 0, code: "below-min" },
      { index: 0, code: "rate-of-change" },
      { index: 2, code: "schema" },
      { index: 3, code: "below-min" },
      { index: 4, code: "bad-value" },
    ]);
    assert.deepEqual(Object.fromEntries(counts), { "below-min": 2, schema: 1, "bad-value": 1 });
    // a batch refused as a whole names index 0 only: every record counts
    assert.deepEqual(Object.fromEntries(rejectionCounts(7, 0, [{ index: 0, code: "too-large" }])), { "too-large": 7 });
    // an empty batch is one rejection; nothing rejected, nothing counted
    assert.deepEqual(Object.fromEntries(rejectionCounts(0, 0, [{ index: 0, code: "empty-batch" }])), {
      "empty-batch": 1,
    });
    assert.equal(rejectionCounts(3, 3, []).size, 0);
  });

  it("the process-wide instance has the default process metrics with the lineguard_ prefix", async () => {
    const s = parseMetrics(await lineguardMetrics.text());
    assert.ok(s.some((x) => x.name === "lineguard_process_cpu_seconds_total"));
    assert.ok(s.some((x) => x.name === "lineguard_nodejs_heap_size_used_bytes"));
    assert.ok(!s.some((x) => x.name.startsWith("process_")));
  });
});
