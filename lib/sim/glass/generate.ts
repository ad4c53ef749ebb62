/**
 * Glass training-data generator: steps a plant as fast as possible and writes one CSV row per line
 * and sample. Deterministic for a seed (same options -> byte-identical CSV). No wall clock.
 * Same shape and options as the CNC generator (lib/sim/cnc/generate.ts).
 */
import { LABEL_COLUMNS, MAX_ROWS, generateRun, labelCells, parseSchedule } from "../common/csv";
import { GLASS_TAGS, GlassFailureType, GlassPlant, GlassPlantOptions, GlassSample, isGlassFailureType } from "./model";

export { MAX_ROWS };

export interface GlassScheduledFailure {
  line: string;
  type: GlassFailureType;
  atSeconds: number;
  rampSeconds: number;
  /** Furnace zone 1..6 for the furnace failures. */
  zone?: number;
}

export interface GlassGenerateOptions extends GlassPlantOptions {
  /** Simulated duration, hours. */
  hours: number;
  /** Samples per second per line. */
  rate: number;
  failures?: GlassScheduledFailure[];
  /** Include the label columns. Default true for the generator. */
  labels?: boolean;
}

/**
 * Parse a failure schedule: comma-separated `<line>:<type>[/zone]@<at>[+<ramp>]`, e.g.
 * "glass-01:burner-failure/4@2h+30m,glass-02:lehr-cooling-fault@5h". Ramp defaults to 10 minutes.
 */
export function parseGlassFailureSchedule(text: string): GlassScheduledFailure[] {
  const usage = "line:type[/zone]@at[+ramp], e.g. glass-01:burner-failure/2@2h+30m";
  return parseSchedule(text, { zones: true, usage, isType: isGlassFailureType }).map(({ unit, ...rest }) => ({
    line: unit,
    ...rest,
  }));
}

export function glassCsvHeader(labels: boolean): string {
  const cols = ["timestamp", "ts_ms", "line_id", ...GLASS_TAGS.map((t) => t.name)];
  if (labels) cols.push(...LABEL_COLUMNS);
  return cols.join(",");
}

function cell(v: unknown): string | number {
  if (typeof v === "boolean") return v ? 1 : 0;
  return v as string | number;
}

export function glassCsvRow(s: GlassSample, labels: boolean): string {
  const cells: (string | number)[] = [new Date(s.ts).toISOString(), s.ts, s.id];
  for (const t of GLASS_TAGS) cells.push(cell(s.values[t.name]));
  if (labels) cells.push(...labelCells(s.labels));
  return cells.join(",");
}

/** Generate rows, calling `write` with chunks of CSV text (header first). Returns the data row count. */
export function generateGlassCsv(
  options: GlassGenerateOptions,
  write: (chunk: string) => void | Promise<void>,
): Promise<number> {
  return generateRun(
    options,
    (labels) => ({
      model: new GlassPlant({ ...options, labels }),
      header: glassCsvHeader(labels),
      row: (s: GlassSample) => glassCsvRow(s, labels),
    }),
    (f) => f.line,
    (l, f) => l.inject(f.type, f.rampSeconds, f.zone),
    write,
  );
}
