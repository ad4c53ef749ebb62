/**
 * What the simulators' training-data generators share (lib/sim/cnc/generate.ts,
 * lib/sim/glass/generate.ts): durations, failure schedules, label columns, and the run itself (step
 * as fast as possible, inject scheduled failures on time, write CSV in chunks). No wall clock.
 */
import type { FailureLabels } from "./model";
import { simError } from "./model";

export const MAX_ROWS = 50_000_000;

/** Parse a duration: "90" or "90s" (seconds), "30m", "2h", "1.5h". */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw simError("bad-duration", `bad duration "${text}" (use e.g. 90s, 30m, 2h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return unit === "ms" ? n / 1000 : unit === "m" ? n * 60 : unit === "h" ? n * 3600 : n;
}

/** One entry of a failure schedule, before it is named for its simulator. */
export interface ScheduleEntry<T extends string> {
  unit: string;
  type: T;
  atSeconds: number;
  rampSeconds: number;
  zone?: number;
}

/**
 * Parse a failure schedule: comma-separated `<unit>:<type>[/zone]@<at>[+<ramp>]` (the zone only when
 * `zones`). Ramp defaults to 10 minutes. `usage` completes the error message of a malformed entry.
 */
export function parseSchedule<T extends string>(
  text: string,
  opts: { zones: boolean; usage: string; isType: (v: unknown) => v is T },
): ScheduleEntry<T>[] {
  if (!text.trim()) return [];
  const re = opts.zones
    ? /^\s*([^:\s]+):([a-z-]+)(?:\/(\d+))?@([^+]+)(?:\+(.+))?\s*$/
    : /^\s*([^:\s]+):([a-z-]+)()@([^+]+)(?:\+(.+))?\s*$/;
  return text.split(",").map((part) => {
    const m = re.exec(part);
    if (!m) throw simError("bad-failures", `bad failure "${part}" (use ${opts.usage})`);
    if (!opts.isType(m[2])) throw simError("unknown-failure", `unknown failure type "${m[2]}"`);
    const f: ScheduleEntry<T> = {
      unit: m[1]!,
      type: m[2],
      atSeconds: parseDuration(m[4]!),
      rampSeconds: m[5] === undefined ? 600 : parseDuration(m[5]),
    };
    if (m[3]) f.zone = Number(m[3]);
    return f;
  });
}

/** The label column names. */
export const LABEL_COLUMNS = ["anomaly", "failure_type", "severity"] as const;

/** The label cells of a row (no labels: not anomalous). */
export function labelCells(l: FailureLabels<string> | undefined): (string | number)[] {
  const v = l ?? { anomaly: false, failure_type: "none", severity: 0 };
  return [v.anomaly ? 1 : 0, v.failure_type, v.severity];
}

/** The model a generator steps: a group of units (lib/sim/common/model.ts UnitGroup). */
export interface CsvModel<U, S> {
  get(id: string): U;
  step(dtMs: number): S[];
  unitIds(): string[];
}

/**
 * Run a generator: check hours and rate, build the model (`make`, with labels on unless
 * `options.labels` is false), step it `hours * 3600 * rate` times, inject each scheduled failure
 * (on unit `unitOf(f)`) at the first step at or after its time, and call `write` with chunks of CSV
 * text (header first). Returns the data row count. `write` may return a Promise (back-pressure).
 */
export async function generateRun<U, S, F extends { atSeconds: number }>(
  options: { hours: number; rate: number; labels?: boolean; failures?: readonly F[] },
  make: (labels: boolean) => { model: CsvModel<U, S>; header: string; row(s: S): string },
  unitOf: (f: F) => string,
  inject: (unit: U, f: F) => void,
  write: (chunk: string) => void | Promise<void>,
): Promise<number> {
  const { hours, rate } = options;
  if (!Number.isFinite(hours) || hours <= 0) throw simError("bad-hours", "hours must be > 0");
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1000) throw simError("bad-rate", "rate must be in (0, 1000] Hz");
  const { model, header, row } = make(options.labels ?? true);
  const steps = Math.floor(hours * 3600 * rate);
  if (steps * model.unitIds().length > MAX_ROWS) throw simError("too-large", `more than ${MAX_ROWS} rows`);
  const dtMs = 1000 / rate;
  const pending = [...(options.failures ?? [])].sort((a, b) => a.atSeconds - b.atSeconds);
  for (const f of pending) model.get(unitOf(f));
  await write(header + "\n");
  let rows = 0;
  let buf: string[] = [];
  for (let i = 1; i <= steps; i++) {
    const t = (i - 1) * dtMs;
    while (pending.length > 0 && pending[0]!.atSeconds * 1000 <= t) {
      const f = pending.shift()!;
      inject(model.get(unitOf(f)), f);
    }
    for (const s of model.step(dtMs)) {
      buf.push(row(s));
      rows++;
    }
    if (buf.length >= 2000) {
      await write(buf.join("\n") + "\n");
      buf = [];
    }
  }
  if (buf.length > 0) await write(buf.join("\n") + "\n");
  return rows;
}
