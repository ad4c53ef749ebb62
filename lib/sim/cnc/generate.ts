/**
 * Training-data generator: steps a fleet as fast as possible and writes one CSV row per machine and
 * sample. Deterministic for a seed (same options -> byte-identical CSV). No wall clock.
 */
import { CncFleet, CncSample, FailureType, FleetOptions, TAGS, isFailureType, simError } from "./model";

export interface ScheduledFailure {
  machine: string;
  type: FailureType;
  /** Offset from the start of the run, seconds. */
  atSeconds: number;
  rampSeconds: number;
}

export interface GenerateOptions extends FleetOptions {
  /** Simulated duration, hours. */
  hours: number;
  /** Samples per second per machine. */
  rate: number;
  /** Failures injected at given times. */
  failures?: ScheduledFailure[];
  /** Include the label columns. Default true for the generator. */
  labels?: boolean;
}

export const MAX_ROWS = 50_000_000;

/** Parse a duration: "90" or "90s" (seconds), "30m", "2h", "1.5h". */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw simError("bad-duration", `bad duration "${text}" (use e.g. 90s, 30m, 2h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return unit === "ms" ? n / 1000 : unit === "m" ? n * 60 : unit === "h" ? n * 3600 : n;
}

/**
 * Parse a failure schedule: comma-separated `<machine>:<type>@<at>[+<ramp>]`, e.g.
 * "cnc-01:bearing-wear@2h+30m,cnc-03:coolant-loss@5h". Ramp defaults to 10 minutes.
 */
export function parseFailureSchedule(text: string): ScheduledFailure[] {
  if (!text.trim()) return [];
  return text.split(",").map((part) => {
    const m = /^\s*([^:\s]+):([a-z-]+)@([^+]+)(?:\+(.+))?\s*$/.exec(part);
    if (!m)
      throw simError(
        "bad-failures",
        `bad failure "${part}" (use machine:type@at[+ramp], e.g. cnc-01:tool-wear@2h+30m)`,
      );
    if (!isFailureType(m[2])) throw simError("unknown-failure", `unknown failure type "${m[2]}"`);
    return {
      machine: m[1],
      type: m[2],
      atSeconds: parseDuration(m[3]),
      rampSeconds: m[4] === undefined ? 600 : parseDuration(m[4]),
    };
  });
}

export function csvHeader(labels: boolean): string {
  const cols = ["timestamp", "ts_ms", "machine_id", "vendor", ...TAGS.map((t) => t.name)];
  if (labels) cols.push("anomaly", "failure_type", "severity");
  return cols.join(",");
}

export function csvRow(s: CncSample, labels: boolean): string {
  const cells: (string | number)[] = [new Date(s.ts).toISOString(), s.ts, s.id, s.vendor];
  for (const t of TAGS) cells.push(s.values[t.name]);
  if (labels) {
    const l = s.labels ?? { anomaly: false, failure_type: "none", severity: 0 };
    cells.push(l.anomaly ? 1 : 0, l.failure_type, l.severity);
  }
  return cells.join(",");
}

/**
 * Generate rows, calling `write` with chunks of CSV text (header first). Returns the number of data
 * rows. `write` may return a Promise (back-pressure).
 */
export async function generateCsv(
  options: GenerateOptions,
  write: (chunk: string) => void | Promise<void>,
): Promise<number> {
  const { hours, rate } = options;
  if (!Number.isFinite(hours) || hours <= 0) throw simError("bad-hours", "hours must be > 0");
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1000) throw simError("bad-rate", "rate must be in (0, 1000] Hz");
  const labels = options.labels ?? true;
  const fleet = new CncFleet({ ...options, labels });
  const steps = Math.floor(hours * 3600 * rate);
  if (steps * fleet.machines.length > MAX_ROWS) throw simError("too-large", `more than ${MAX_ROWS} rows`);
  const dtMs = 1000 / rate;
  const pending = [...(options.failures ?? [])].sort((a, b) => a.atSeconds - b.atSeconds);
  for (const f of pending) fleet.get(f.machine);
  await write(csvHeader(labels) + "\n");
  let rows = 0;
  let buf: string[] = [];
  for (let i = 1; i <= steps; i++) {
    const t = (i - 1) * dtMs;
    while (pending.length > 0 && pending[0].atSeconds * 1000 <= t) {
      const f = pending.shift()!;
      fleet.get(f.machine).inject(f.type, f.rampSeconds);
    }
    for (const s of fleet.step(dtMs)) {
      buf.push(csvRow(s, labels));
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
