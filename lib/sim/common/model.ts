/**
 * What the simulators' process models share (lib/sim/cnc/model.ts, lib/sim/glass/model.ts): the
 * simulated clock and sub-stepping, failures whose severity ramps from 0 to 1 (injected, random as a
 * Poisson process, repaired by maintenance, automatic maintenance after a while at full severity),
 * ground-truth labels, a group of units stepped together, and samples as LineGuard records.
 * Pure and deterministic for a seed. No Node-RED import.
 */
import { LineGuardError } from "../../errors";
import type { Quality, RecordPayload, TagValue } from "../../record";
import { clamp, round } from "./math";
import { Rng, deriveSeed } from "./rng";

export function simError(code: string, message: string): LineGuardError {
  return new LineGuardError(code, message, { retriable: false });
}

/** True when `v` is one of `list` (a type guard for string unions). */
export function isOneOf<T extends string>(list: readonly T[], v: unknown): v is T {
  return typeof v === "string" && (list as readonly string[]).includes(v);
}

/** Default start of the simulated clock: 2025-01-06T06:00:00Z (a Monday, start of shift). */
export const DEFAULT_START_TS = Date.UTC(2025, 0, 6, 6, 0, 0);
const MAX_SUBSTEP_MS = 5000;
const MAX_STEP_MS = 24 * 3600 * 1000;

export type UnitState = "running" | "idle" | "maintenance";

/** A unit's resolved options (the group fills the defaults in). */
export interface UnitOptions {
  startTs: number;
  labels: boolean;
  randomFailureRate: number;
  randomRampSeconds: [number, number];
  maintenanceSeconds: number;
  autoMaintenanceSeconds: number;
}

/** Ground truth of a sample. */
export interface FailureLabels<T extends string> {
  /** True while a failure is present (severity > 0). */
  anomaly: boolean;
  failure_type: T | "none";
  /** 0 (healthy) to 1 (fully developed). */
  severity: number;
}

/** A failure developing on a unit. */
export interface RampingFailure<T extends string> {
  type: T;
  rampMs: number;
  elapsedMs: number;
  fullForMs: number;
}

/**
 * One simulated unit (a machine, a line): its clock, state, failure and last sample. Subclasses add
 * the physics (`advanceUnit`), the sample (`sample`) and how a random failure is injected.
 */
export abstract class SimUnit<T extends string, F extends RampingFailure<T>, S> {
  readonly id: string;
  protected readonly rng: Rng;
  protected readonly opts: UnitOptions;
  protected tMs = 0;
  protected state: UnitState;
  protected stateLeftMs = 0;
  protected failure: F | undefined;
  protected last: S | undefined;

  protected constructor(
    id: string,
    seed: number,
    opts: UnitOptions,
    private readonly failureTypes: readonly T[],
    initialState: UnitState,
  ) {
    this.id = id;
    this.opts = opts;
    this.rng = new Rng(deriveSeed(seed, id));
    this.state = initialState;
  }

  get ts(): number {
    return this.opts.startTs + this.tMs;
  }

  get currentState(): UnitState {
    return this.state;
  }

  get lastSample(): S | undefined {
    return this.last;
  }

  clear(): void {
    this.failure = undefined;
  }

  /** Maintenance stop: the failure is repaired at once; after `seconds` the unit restarts (idle). */
  startMaintenance(seconds = this.opts.maintenanceSeconds): void {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      throw simError("bad-duration", "maintenance seconds must be a finite number >= 0");
    }
    this.failure = undefined;
    this.state = "maintenance";
    this.stateLeftMs = seconds * 1000;
  }

  /** Advance the unit by dtMs of simulated time and return the sample at the new time. */
  step(dtMs: number): S {
    if (typeof dtMs !== "number" || !Number.isFinite(dtMs) || dtMs <= 0 || dtMs > MAX_STEP_MS) {
      throw simError("bad-step", `step needs 0 < dtMs <= ${MAX_STEP_MS}, got ${String(dtMs)}`);
    }
    let left = dtMs;
    while (left > 0) {
      const dt = Math.min(left, MAX_SUBSTEP_MS);
      this.advance(dt);
      left -= dt;
    }
    this.last = this.sample();
    return this.last;
  }

  /** The checks of `inject`: a known type and a ramp >= 0. */
  protected checkInject(type: unknown, rampSeconds: unknown): void {
    if (!isOneOf(this.failureTypes, type)) throw simError("unknown-failure", `unknown failure type "${String(type)}"`);
    if (typeof rampSeconds !== "number" || !Number.isFinite(rampSeconds) || rampSeconds < 0) {
      throw simError("bad-ramp", "rampSeconds must be a finite number >= 0");
    }
  }

  protected severity(): number {
    const f = this.failure;
    if (!f) return 0;
    if (f.rampMs <= 0) return 1;
    return clamp(f.elapsedMs / f.rampMs, 0, 1);
  }

  protected sev(type: T): number {
    return this.failure?.type === type ? this.severity() : 0;
  }

  protected hourOfDay(): number {
    return (this.ts / 3_600_000) % 24;
  }

  /** The labels of a sample taken now. */
  protected labelsNow(): FailureLabels<T> {
    const severity = this.severity();
    return {
      anomaly: this.failure !== undefined && severity > 0,
      failure_type: this.failure?.type ?? "none",
      severity: round(severity, 4),
    };
  }

  private advance(dt: number): void {
    this.tMs += dt;
    // Random failures (Poisson process per unit).
    if (!this.failure && this.state !== "maintenance" && this.opts.randomFailureRate > 0) {
      const p = 1 - Math.exp((-this.opts.randomFailureRate * dt) / 3_600_000);
      if (this.rng.next() < p) {
        const [lo, hi] = this.opts.randomRampSeconds;
        const type = this.rng.pick(this.failureTypes);
        this.injectRandom(type, this.rng.range(lo, hi));
      }
    }
    if (this.failure) {
      this.failure.elapsedMs += dt;
      if (this.severity() >= 1) {
        this.failure.fullForMs += dt;
        const auto = this.opts.autoMaintenanceSeconds;
        if (auto > 0 && this.failure.fullForMs >= auto * 1000) this.startMaintenance();
      }
    }
    this.advanceUnit(dt);
  }

  /** Inject a randomly drawn failure (type and ramp drawn already). */
  protected abstract injectRandom(type: T, rampSeconds: number): void;
  /** State machine and physics over one sub-step (the clock and the failure have moved already). */
  protected abstract advanceUnit(dt: number): void;
  /** The sample at the current time (noise drawn here). */
  protected abstract sample(): S;
}

/** The options every group of units takes. */
export interface GroupOptions {
  /** Default 1. */
  seed?: number;
  /** Epoch ms of the simulated clock at t = 0. Default DEFAULT_START_TS. */
  startTs?: number;
  /** Attach ground-truth labels to samples. Default false. */
  labels?: boolean;
  /** Random failures per unit per hour of simulated time. Default 0 (none). */
  randomFailureRate?: number;
  /** Ramp range for random failures, seconds. Default [300, 1800]. */
  randomRampSeconds?: [number, number];
  /** How long a maintenance stop lasts, seconds. */
  maintenanceSeconds?: number;
  /** Start maintenance by itself this long after a failure reached full severity; 0 = never. Default 1800. */
  autoMaintenanceSeconds?: number;
}

/** How a group names its units in errors ("machine"/"machines", "line"/"lines"), and its defaults. */
export interface GroupNaming {
  unit: string;
  units: string;
  maxUnits: number;
  maintenanceSeconds: number;
}

/** Unit ids `<prefix>-01`, `<prefix>-02`, ... */
export function unitIds(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(2, "0")}`);
}

/** A set of units stepped together on one simulated clock. */
export class UnitGroup<U extends { readonly id: string; step(dtMs: number): S }, S> {
  readonly labels: boolean;
  protected readonly units: U[];
  private readonly byId = new Map<string, U>();

  constructor(
    ids: readonly string[],
    options: GroupOptions,
    private readonly naming: GroupNaming,
    make: (id: string, index: number, seed: number, opts: UnitOptions) => U,
  ) {
    const { unit, units } = naming;
    if (ids.length < 1 || ids.length > naming.maxUnits) {
      throw simError(`bad-${units}`, `between 1 and ${naming.maxUnits} ${units}`);
    }
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed)) throw simError("bad-seed", "seed must be an integer");
    const rate = options.randomFailureRate ?? 0;
    if (!Number.isFinite(rate) || rate < 0) throw simError("bad-rate", "randomFailureRate must be >= 0");
    const ramp = options.randomRampSeconds ?? [300, 1800];
    if (!(ramp[0] >= 0 && ramp[1] >= ramp[0])) throw simError("bad-ramp", "randomRampSeconds must be [min, max]");
    const opts: UnitOptions = {
      startTs: options.startTs ?? DEFAULT_START_TS,
      labels: options.labels ?? false,
      randomFailureRate: rate,
      randomRampSeconds: ramp,
      maintenanceSeconds: options.maintenanceSeconds ?? naming.maintenanceSeconds,
      autoMaintenanceSeconds: options.autoMaintenanceSeconds ?? 1800,
    };
    if (!Number.isFinite(opts.startTs)) throw simError("bad-start", "startTs must be epoch ms");
    this.labels = opts.labels;
    this.units = ids.map((id, i) => {
      if (typeof id !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
        throw simError(`bad-${units}`, `bad ${unit} id "${String(id)}"`);
      }
      if (this.byId.has(id)) throw simError(`bad-${units}`, `duplicate ${unit} id "${id}"`);
      const u = make(id, i, seed, opts);
      this.byId.set(id, u);
      return u;
    });
  }

  get(id: string): U {
    const u = this.byId.get(id);
    if (!u) throw simError(`unknown-${this.naming.unit}`, `no ${this.naming.unit} "${String(id)}"`);
    return u;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The unit ids, in order. */
  unitIds(): string[] {
    return this.units.map((u) => u.id);
  }

  step(dtMs: number): S[] {
    return this.units.map((u) => u.step(dtMs));
  }
}

/** Ground-truth labels as record values (label_anomaly, label_failure_type, label_severity). */
export function labelRecordValues(labels: FailureLabels<string>): Record<string, TagValue> {
  return {
    label_anomaly: labels.anomaly,
    label_failure_type: labels.failure_type,
    label_severity: labels.severity,
  };
}

/** What every simulator sample has. */
export interface SimSample {
  id: string;
  ts: number;
  values: object;
  quality: object;
  labels?: FailureLabels<string>;
}

/** A sample as a LineGuard record (docs/record.md): source = unit id. */
export function sampleRecord(s: SimSample): RecordPayload {
  const values: Record<string, TagValue> = { ...(s.values as Record<string, TagValue>) };
  if (s.labels) Object.assign(values, labelRecordValues(s.labels));
  const rec: RecordPayload = { source: s.id, ts: s.ts, values };
  if (Object.keys(s.quality).length > 0) rec.quality = { ...s.quality } as Record<string, Quality>;
  return rec;
}
