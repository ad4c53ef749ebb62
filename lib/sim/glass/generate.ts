/**
 * Glass training-data generator: steps a plant as fast as possible and writes one CSV row per line
 * and sample. Deterministic for a seed (same options -> byte-identical CSV). No wall clock.
 * Same shape and options as the CNC generator (lib/sim/cnc/generate.ts).
 */
import { parseDuration } from "../cnc/generate";
import {
  GLASS_TAGS,
  GlassFailureType,
  GlassPlant,
  GlassPlantOptions,
  GlassSample,
  isGlassFailureType,
  simError,
} from "./model";

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

export const MAX_ROWS = 50_000_000;

/**
 * Parse a failure schedule: comma-separated `<line>:<type>[/zone]@<at>[+<ramp>]`, e.g.
 * "glass-01:burner-failure/4@2h+30m,glass-02:lehr-cooling-fault@5h". Ramp defaults to 10 minutes.
 */
export function parseGlassFailureSchedule(text: string): GlassScheduledFailure[] {
  if (!text.trim()) return [];
  return text.split(",").map((part) => {
    const m = /^\s*([^:\s]+):([a-z-]+)(?:\/(\d+))?@([^+]+)(?:\+(.+))?\s*$/.exec(part);
    if (!m) {
      throw simError(
        "bad-failures",
        `bad failure "${part}" (use line:type[/zone]@at[+ramp], e.g. glass-01:burner-failure/2@2h+30m)`,
      );
    }
    if (!isGlassFailureType(m[2])) throw simError("unknown-failure", `unknown failure type "${m[2]}"`);
    const f: GlassScheduledFailure = {
      line: m[1]!,
      type: m[2],
      atSeconds: parseDuration(m[4]!),
      rampSeconds: m[5] === undefined ? 600 : parseDuration(m[5]),
    };
    if (m[3] !== undefined) f.zone = Number(m[3]);
    return f;
  });
}

export function glassCsvHeader(labels: boolean): string {
  const cols = ["timestamp", "ts_ms", "line_id", ...GLASS_TAGS.map((t) => t.name)];
  if (labels) cols.push("anomaly", "failure_type", "severity");
  return cols.join(",");
}

function cell(v: unknown): string | number {
  if (typeof v === "boolean") return v ? 1 : 0;
  return v as string | number;
}

export function glassCsvRow(s: GlassSample, labels: boolean): string {
  const cells: (string | number)[] = [new Date(s.ts).toISOString(), s.ts, s.id];
  for (const t of GLASS_TAGS) cells.push(cell(s.values[t.name]));
  if (labels) {
    const l = s.labels ?? { anomaly: false, failure_type: "none", severity: 0 };
    cells.push(l.anomaly ? 1 : 0, l.failure_type, l.severity);
  }
  return cells.join(",");
}

/** Generate rows, calling `write` with chunks of CSV text (header first). Returns the data row count. */
export async function generateGlassCsv(
  options: GlassGenerateOptions,
  write: (chunk: string) => void | Promise<void>,
): Promise<number> {
  const { hours, rate } = options;
  if (!Number.isFinite(hours) || hours <= 0) throw simError("bad-hours", "hours must be > 0");
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1000) throw simError("bad-rate", "rate must be in (0, 1000] Hz");
  const labels = options.labels ?? true;
  const plant = new GlassPlant({ ...options, labels });
  const steps = Math.floor(hours * 3600 * rate);
  if (steps * plant.lines.length > MAX_ROWS) throw simError("too-large", `more than ${MAX_ROWS} rows`);
  const dtMs = 1000 / rate;
  const pending = [...(options.failures ?? [])].sort((a, b) => a.atSeconds - b.atSeconds);
  for (const f of pending) plant.get(f.line);
  await write(glassCsvHeader(labels) + "\n");
  let rows = 0;
  let buf: string[] = [];
  for (let i = 1; i <= steps; i++) {
    const t = (i - 1) * dtMs;
    while (pending.length > 0 && pending[0]!.atSeconds * 1000 <= t) {
      const f = pending.shift()!;
      plant.get(f.line).inject(f.type, f.rampSeconds, f.zone);
    }
    for (const s of plant.step(dtMs)) {
      buf.push(glassCsvRow(s, labels));
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
