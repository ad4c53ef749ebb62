/**
 * False alarms of a glass LSTM-AE model folder in normal operation, window by window as the reference
 * flow scores them (features node hop 1), through the anomaly node's own inference code
 * (lib/inference/anomaly.ts). Counts flagged windows per furnace firing reversal and outside them.
 *
 *   node dist/models/lstm-ae-glass/scan-normal.js [modelDir] [--seeds 6] [--seed0 2000] [--hours 2]
 *        [--lines 3] [--threshold <manifest>] [--json out.json] [--per-line] [--detect <rampS>]
 *
 * Seed k runs a plant of --lines lines from seed0 + k, starting at hour (3 + 4k) mod 24 of the day so
 * the hall temperature cycle is covered. A firing reversal is found from the data itself (gas flow
 * below 80 % of its running level); a window belongs to a reversal when it overlaps the dip or the
 * 5 minutes after it (the furnace zones recover with a 3 min time constant). Argument parsing,
 * percentiles and window scoring are shared with evaluate.ts: models/common/evaluate-lib.ts.
 */
import { AnomalyScorer, readModelDir } from "../../lib/inference/anomaly";
import { GLASS_FAILURE_TYPES, GlassPlant, LINE_STATE_CODES } from "../../lib/sim/glass/model";
import { InFlight, featureRow, parseCli, percentile, runMain, scoreWindow, writeJson } from "../common/evaluate-lib";

const { modelDir, opt, has } = parseCli(process.argv.slice(2), __dirname, "lstm-ae-glass");
const SEEDS = Number(opt("seeds", "6"));
const SEED0 = Number(opt("seed0", "2000"));
const HOURS = Number(opt("hours", "2"));
const LINES = Number(opt("lines", "3"));
const TAIL_S = 300;

interface Scored {
  end: number;
  score: number;
}

interface LineRun {
  windows: Scored[];
  /** [first, last] sample index of each gas-flow dip. */
  dips: Array<[number, number]>;
}

async function runSeed(scorer: AnomalyScorer, seed: number, startHour: number): Promise<LineRun[]> {
  const m = scorer.manifest;
  const T = m.window;
  const plant = new GlassPlant({ lines: LINES, seed, startTs: Date.UTC(2025, 0, 6, startHour, 0, 0) });
  const runs = new Map<string, LineRun & { rows: number[][]; level: number; inDip: number }>();
  const inFlight = new InFlight<void>();
  for (let i = 0; i < HOURS * 3600; i++) {
    for (const s of plant.step(1000)) {
      let r = runs.get(s.id);
      if (!r) runs.set(s.id, (r = { windows: [], dips: [], rows: [], level: s.values.gas_flow, inDip: -1 }));
      if (s.values.line_state !== LINE_STATE_CODES.running) throw new Error(`${s.id} not running at ${i}`);
      const gas = s.values.gas_flow;
      if (gas < 0.8 * r.level) {
        if (r.inDip < 0) r.inDip = i;
      } else {
        if (r.inDip >= 0) r.dips.push([r.inDip, i - 1]);
        r.inDip = -1;
        r.level += (gas - r.level) * 0.02;
      }
      r.rows.push(featureRow(s.values, m.features));
      if (r.rows.length > T) r.rows.shift();
      if (r.rows.length === T) {
        const run = r;
        const end = i;
        inFlight.add(scoreWindow(scorer, s.id, r.rows).then((score) => void run.windows.push({ end, score })));
      }
    }
    await inFlight.drainIfFull();
  }
  await inFlight.all();
  return [...runs.values()].map((r) => ({ windows: r.windows, dips: r.dips }));
}

/**
 * --detect R: seconds from the injection (ramp R s, glass-01, after 10 min, every 1 s window) to the
 * first flagged window, per failure pattern and seed, as the end-to-end test looks for it.
 */
async function detect(scorer: AnomalyScorer, thr: number, rampS: number): Promise<void> {
  const m = scorer.manifest;
  const T = m.window;
  for (const type of GLASS_FAILURE_TYPES) {
    const delays: string[] = [];
    for (let k = 0; k < SEEDS; k++) {
      const plant = new GlassPlant({ lines: 1, seed: SEED0 + k, startTs: Date.UTC(2025, 0, 6, (3 + 4 * k) % 24) });
      const rows: number[][] = [];
      const inject = 600;
      let found: number | undefined;
      for (let i = 0; i < inject + 900 && found === undefined; i++) {
        if (i === inject) plant.get("glass-01").inject(type, rampS);
        const s = plant.step(1000)[0]!;
        rows.push(featureRow(s.values, m.features));
        if (rows.length > T) rows.shift();
        if (i >= inject && rows.length === T) {
          if ((await scoreWindow(scorer, s.id, rows)) > thr) found = i - inject + 1;
        }
      }
      delays.push(found === undefined ? ">900" : String(found));
    }
    process.stdout.write(`detect ${type} (ramp ${rampS} s): first flagged window after ${delays.join(", ")} s\n`);
  }
}

async function main(): Promise<void> {
  const model = readModelDir(modelDir);
  const scorer = new AnomalyScorer(model, { maxBatch: 256, maxWaitMs: 2 });
  await scorer.load();
  const thr = Number(opt("threshold", String(scorer.threshold)));
  if (opt("detect", "") !== "") {
    await detect(scorer, thr, Number(opt("detect", "30")));
    await scorer.close();
    return;
  }
  const T = model.manifest.window;
  let total = 0;
  let flagged = 0;
  let outside = 0;
  let outsideN = 0;
  const perReversal: number[] = [];
  const revScores: number[] = [];
  const otherScores: number[] = [];
  /** Flagged windows by the position of the dip start relative to the window start (s). */
  const byOffset = new Map<number, number>();
  for (let k = 0; k < SEEDS; k++) {
    const runs = await runSeed(scorer, SEED0 + k, (3 + 4 * k) % 24);
    for (const [li, run] of runs.entries()) {
      const counts = run.dips.map(() => 0);
      for (const w of run.windows) {
        total++;
        const start = w.end - T + 1;
        const d = run.dips.findIndex(([a, b]) => start <= b + TAIL_S && w.end >= a - 1);
        const hit = w.score > thr;
        if (hit) flagged++;
        if (d >= 0) {
          revScores.push(w.score);
          if (hit) {
            counts[d]!++;
            const off = run.dips[d]![0] - start;
            byOffset.set(off, (byOffset.get(off) ?? 0) + 1);
          }
        } else {
          otherScores.push(w.score);
          outsideN++;
          if (hit) outside++;
        }
      }
      if (has("per-line")) {
        const rev = run.windows.filter((w) => run.dips.some(([a, b]) => w.end - T + 1 <= b + TAIL_S && w.end >= a - 1));
        const max = (xs: Scored[]) => xs.reduce((a, w) => Math.max(a, w.score), 0).toFixed(3);
        process.stderr.write(
          `seed ${SEED0 + k} line ${li + 1}: max ${max(run.windows)}, in reversals ${max(rev)}, flagged per reversal ${counts.join(",")}\n`,
        );
      }
      // A dip cut by the end of the run is not a full reversal.
      run.dips.forEach(([, b], i) => {
        if (b + TAIL_S < HOURS * 3600) perReversal.push(counts[i]!);
      });
    }
  }
  await scorer.close();
  const withAlarm = perReversal.filter((c) => c > 0).length;
  const sorted = [...perReversal].sort((a, b) => a - b);
  const res = {
    model: `${model.manifest.name}@${model.manifest.version}`,
    threshold: thr,
    seeds: SEEDS,
    seed0: SEED0,
    hours: HOURS,
    lines: LINES,
    windows: total,
    flagged,
    flaggedShare: flagged / total,
    reversals: perReversal.length,
    reversalsWithAlarm: withAlarm,
    flaggedPerReversal: {
      mean: perReversal.reduce((a, b) => a + b, 0) / Math.max(1, perReversal.length),
      median: sorted[Math.floor(sorted.length / 2)] ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
    },
    outsideReversal: {
      windows: outsideN,
      flagged: outside,
      max: otherScores.reduce((a, b) => Math.max(a, b), 0),
      p999: percentile(otherScores, 99.9),
    },
    reversalWindows: {
      windows: revScores.length,
      max: revScores.reduce((a, b) => Math.max(a, b), 0),
      p99: percentile(revScores, 99),
      p999: percentile(revScores, 99.9),
    },
    flaggedByDipOffset: Object.fromEntries([...byOffset.entries()].sort((a, b) => a[0] - b[0])),
  };
  process.stdout.write(JSON.stringify(res, null, 1) + "\n");
  const out = opt("json", "");
  if (out) writeJson(out, res);
}

runMain("scan", main);
