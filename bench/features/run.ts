/**
 * bench/features: samples/s through lib/features (no Node-RED): 1M records x 10 tags by default,
 * fed as batches through featureMessage (parse + windows + statistics + output records), as the
 * features node does, and through FeatureEngine.process alone. Prints figures; asserts nothing.
 *
 * Options (env): BENCH_RECORDS (1000000), BENCH_TAGS (10), BENCH_BATCH (records per message, 100),
 * BENCH_SIZE (window, 100), BENCH_HOP (1), BENCH_SOURCES (10).
 * Run: npx tsc -p tsconfig.json --outDir .build/features && node .build/features/bench/features/run.js
 */
import { FeatureEngine, featureMessage } from "../../lib/features";
import type { LineRecord } from "../../lib/record";

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const TAGS = Number(process.env.BENCH_TAGS ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const SIZE = Number(process.env.BENCH_SIZE ?? 100);
const HOP = Number(process.env.BENCH_HOP ?? 1);
const SOURCES = Number(process.env.BENCH_SOURCES ?? 10);

const tags = Array.from({ length: TAGS }, (_, i) => `tag_${i}`);

function makeRecords(n: number, t0: number): LineRecord[] {
  const out: LineRecord[] = [];
  for (let i = 0; i < n; i++) {
    const values: Record<string, number> = {};
    for (let j = 0; j < TAGS; j++) values[tags[j]!] = 1000 * j + Math.sin(i / 50 + j) * 10 + Math.random();
    out.push({ source: `cnc-${i % SOURCES}`, ts: t0 + i * 10, values });
  }
  return out;
}

function report(what: string, records: number, ms: number): void {
  const rps = (records / ms) * 1000;
  process.stdout.write(
    `${what.padEnd(44)} ${records} records x ${TAGS} tags in ${ms.toFixed(0)} ms: ` +
      `${Math.round(rps).toLocaleString("en-US")} records/s (${Math.round(rps * TAGS).toLocaleString("en-US")} tag samples/s)\n`,
  );
}

function main(): void {
  const opts = {
    size: SIZE,
    hop: HOP,
    windowType: "count" as const,
    ratios: [{ name: "tag_1/tag_2", num: "tag_1", den: "tag_2" }],
  };
  const chunk = 100_000;
  process.stdout.write(
    `[bench] lib/features: window ${SIZE} (count, sliding, hop ${HOP}), all 12 statistics, ${SOURCES} sources, batches of ${BATCH}\n`,
  );
  // warm-up
  {
    const e = new FeatureEngine(opts);
    for (const r of makeRecords(20_000, 0)) e.process(r);
  }
  for (const mode of ["engine", "message"] as const) {
    const e = new FeatureEngine(opts);
    let done = 0;
    let ms = 0;
    let emitted = 0;
    while (done < N) {
      const n = Math.min(chunk, N - done);
      const recs = makeRecords(n, done * 10);
      // the payload form the node receives (ts in epoch ms, source per record)
      const payloads = mode === "message" ? recs.map((r) => ({ source: r.source, ts: r.ts, values: r.values })) : [];
      const t = process.hrtime.bigint();
      if (mode === "engine") {
        for (const r of recs) if (e.process(r).emitted) emitted++;
      } else {
        for (let i = 0; i < n; i += BATCH)
          emitted += featureMessage(e, payloads.slice(i, i + BATCH), "cnc").records.length;
      }
      ms += Number(process.hrtime.bigint() - t) / 1e6;
      done += n;
    }
    report(mode === "engine" ? "FeatureEngine.process" : "featureMessage (parse + features + output)", N, ms);
    process.stdout.write(`${"".padEnd(44)} emitted ${emitted} records with features\n`);
  }
}

main();
