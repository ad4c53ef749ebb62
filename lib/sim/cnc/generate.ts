/**
 * Training-data generator: steps a fleet as fast as possible and writes one CSV row per machine and
 * sample. Deterministic for a seed (same options -> byte-identical CSV). No wall clock.
 */
import { LABEL_COLUMNS, MAX_ROWS, generateRun, labelCells, parseDuration, parseSchedule } from "../common/csv";
import { CncFleet, CncSample, FailureType, FleetOptions, TAGS, isFailureType } from "./model";

export { MAX_ROWS, parseDuration };

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

/**
 * Parse a failure schedule: comma-separated `<machine>:<type>@<at>[+<ramp>]`, e.g.
 * "cnc-01:bearing-wear@2h+30m,cnc-03:coolant-loss@5h". Ramp defaults to 10 minutes.
 */
export function parseFailureSchedule(text: string): ScheduledFailure[] {
  const usage = "machine:type@at[+ramp], e.g. cnc-01:tool-wear@2h+30m";
  return parseSchedule(text, { zones: false, usage, isType: isFailureType }).map((e) => ({
    machine: e.unit,
    type: e.type,
    atSeconds: e.atSeconds,
    rampSeconds: e.rampSeconds,
  }));
}

export function csvHeader(labels: boolean): string {
  const cols = ["timestamp", "ts_ms", "machine_id", "vendor", ...TAGS.map((t) => t.name)];
  if (labels) cols.push(...LABEL_COLUMNS);
  return cols.join(",");
}

export function csvRow(s: CncSample, labels: boolean): string {
  const cells: (string | number)[] = [new Date(s.ts).toISOString(), s.ts, s.id, s.vendor];
  for (const t of TAGS) cells.push(s.values[t.name]);
  if (labels) cells.push(...labelCells(s.labels));
  return cells.join(",");
}

/**
 * Generate rows, calling `write` with chunks of CSV text (header first). Returns the number of data
 * rows. `write` may return a Promise (back-pressure).
 */
export function generateCsv(options: GenerateOptions, write: (chunk: string) => void | Promise<void>): Promise<number> {
  return generateRun(
    options,
    (labels) => ({
      model: new CncFleet({ ...options, labels }),
      header: csvHeader(labels),
      row: (s: CncSample) => csvRow(s, labels),
    }),
    (f) => f.machine,
    (m, f) => m.inject(f.type, f.rampSeconds),
    write,
  );
}
