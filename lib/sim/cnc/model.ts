/**
 * CNC machine dynamics for the simulator: pure and deterministic for a seed, advanced by `step(dtMs)`
 * (never by the wall clock), so tests and the training-data generator run as fast as the CPU allows.
 *
 * Each machine runs part programs (machining cycles with their own speed/feed/load profile and axis
 * path), idles between parts, follows the time of day (ambient temperature, longer idle at night, a
 * hand-over pause at each shift change), carries thermal inertia (first-order lags) and sensor noise,
 * and can develop failures whose severity ramps from 0 to 1 over a configurable time.
 * No Node-RED import. See docs/simulator.md.
 */
import type { Quality, RecordPayload, TagValue } from "../../record";
import type { FailureLabels, GroupOptions, RampingFailure, UnitOptions, UnitState } from "../common/model";
import { SimUnit, UnitGroup, isOneOf, labelRecordValues, sampleRecord, unitIds } from "../common/model";
import { clamp, lag, round } from "../common/math";

export { DEFAULT_START_TS, simError } from "../common/model";

export const FAILURE_TYPES = [
  "bearing-wear",
  "tool-wear",
  "spindle-overheat",
  "coolant-loss",
  "axis-misalignment",
] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];
export type MachineState = UnitState;
export type Vendor = "fanuc" | "siemens";

export function isFailureType(v: unknown): v is FailureType {
  return isOneOf(FAILURE_TYPES, v);
}

export interface PartProgram {
  name: string;
  description: string;
  /** Spindle speed while cutting, rpm. */
  spindleSpeed: number;
  /** Feed rate while cutting, mm/min. */
  feedRate: number;
  /** Spindle load while cutting, % of rated. */
  load: number;
  /** Nominal cycle time, s. */
  cycleSeconds: number;
  path: "raster" | "contour" | "drill";
}

export const PROGRAMS: readonly PartProgram[] = [
  {
    name: "O1001",
    description: "roughing pocket",
    spindleSpeed: 8000,
    feedRate: 1500,
    load: 62,
    cycleSeconds: 150,
    path: "raster",
  },
  {
    name: "O2002",
    description: "finishing contour",
    spindleSpeed: 14000,
    feedRate: 700,
    load: 28,
    cycleSeconds: 110,
    path: "contour",
  },
  {
    name: "O3003",
    description: "drilling pattern",
    spindleSpeed: 3500,
    feedRate: 250,
    load: 45,
    cycleSeconds: 80,
    path: "drill",
  },
];

export type TagDataType = "Double" | "String" | "UInt32";

export interface TagInfo {
  name: TagName;
  dataType: TagDataType;
  unit: string;
  description: string;
}

export interface CncValues {
  spindle_speed: number;
  spindle_load: number;
  feed_rate: number;
  x_pos: number;
  y_pos: number;
  z_pos: number;
  vibration_rms: number;
  spindle_temp: number;
  bearing_temp: number;
  coolant_temp: number;
  coolant_flow: number;
  power: number;
  program: string;
  state: MachineState;
  part_count: number;
}
export type TagName = keyof CncValues;

/** Every tag a machine reports, in CSV/column order. */
export const TAGS: readonly TagInfo[] = [
  { name: "state", dataType: "String", unit: "", description: "running, idle or maintenance" },
  { name: "program", dataType: "String", unit: "", description: "active part program" },
  { name: "part_count", dataType: "UInt32", unit: "parts", description: "parts finished since start" },
  { name: "spindle_speed", dataType: "Double", unit: "rpm", description: "spindle speed" },
  { name: "spindle_load", dataType: "Double", unit: "%", description: "spindle load, % of rated" },
  { name: "feed_rate", dataType: "Double", unit: "mm/min", description: "path feed rate" },
  { name: "x_pos", dataType: "Double", unit: "mm", description: "X axis position" },
  { name: "y_pos", dataType: "Double", unit: "mm", description: "Y axis position" },
  { name: "z_pos", dataType: "Double", unit: "mm", description: "Z axis position" },
  { name: "vibration_rms", dataType: "Double", unit: "mm/s", description: "spindle vibration velocity RMS" },
  { name: "spindle_temp", dataType: "Double", unit: "degC", description: "spindle motor temperature" },
  { name: "bearing_temp", dataType: "Double", unit: "degC", description: "spindle bearing temperature" },
  { name: "coolant_temp", dataType: "Double", unit: "degC", description: "coolant temperature" },
  { name: "coolant_flow", dataType: "Double", unit: "L/min", description: "coolant flow" },
  { name: "power", dataType: "Double", unit: "kW", description: "machine power draw" },
];

export type CncLabels = FailureLabels<FailureType>;

export interface CncSample {
  id: string;
  vendor: Vendor;
  /** Epoch ms of the simulated clock. */
  ts: number;
  values: CncValues;
  /** Only tags whose quality is not good. */
  quality: Partial<Record<TagName, Quality>>;
  /** Ground truth, present only when labels are on. */
  labels?: CncLabels;
}

export interface FleetOptions extends GroupOptions {
  /** Number of machines (ids cnc-01, cnc-02, ...) or explicit ids. Default 3. Maintenance lasts 600 s by default. */
  machines?: number | string[];
}

const HOME = { x: 0, y: 0, z: 50 };
const NOMINAL_FLOW = 24;

/** One machine. Use CncFleet unless you need a single machine. */
export class CncMachine extends SimUnit<FailureType, RampingFailure<FailureType>, CncSample> {
  readonly vendor: Vendor;
  /** Machine-specific character: small offsets so machines differ. */
  private readonly character: { vib: number; temp: number; load: number };
  private programIndex: number;
  private batchLeft: number;
  private cycleMs = 0;
  private cycleLenMs = 1;
  private partCount = 0;
  private spindle = 0;
  private feed = 0;
  private spindleTemp: number;
  private bearingTemp: number;
  private coolantTemp: number;
  private flow = 0;
  private bearingPhase = 0;
  private axisPhase = 0;

  constructor(id: string, index: number, seed: number, opts: UnitOptions) {
    super(id, seed, opts, FAILURE_TYPES, "idle");
    this.vendor = index % 2 === 0 ? "fanuc" : "siemens";
    this.character = {
      vib: this.rng.range(0.9, 1.15),
      temp: this.rng.range(-1.5, 1.5),
      load: this.rng.range(0.95, 1.06),
    };
    this.programIndex = this.rng.int(0, PROGRAMS.length - 1);
    this.batchLeft = this.rng.int(3, 12);
    this.stateLeftMs = this.rng.range(1000, 15000);
    const ambient = this.ambient();
    this.spindleTemp = ambient + 8 + this.character.temp;
    this.bearingTemp = ambient + 5 + this.character.temp;
    this.coolantTemp = ambient + 1.5;
  }

  get program(): PartProgram {
    return PROGRAMS[this.programIndex];
  }

  get parts(): number {
    return this.partCount;
  }

  /** The failure developing on this machine, with its current severity. */
  get activeFailure(): { type: FailureType; severity: number; rampSeconds: number } | undefined {
    const f = this.failure;
    return f && { type: f.type, severity: this.severity(), rampSeconds: f.rampMs / 1000 };
  }

  /** Start a failure now; its severity ramps linearly from 0 to 1 over `rampSeconds` (0 = at once). */
  inject(type: FailureType, rampSeconds = 600): void {
    this.checkInject(type, rampSeconds);
    this.failure = { type, rampMs: rampSeconds * 1000, elapsedMs: 0, fullForMs: 0 };
  }

  protected injectRandom(type: FailureType, rampSeconds: number): void {
    this.inject(type, rampSeconds);
  }

  /** Shop-floor temperature: 21 degC +/- 3 over the day, warmest mid-afternoon. */
  private ambient(): number {
    return 21 + 3 * Math.sin((2 * Math.PI * (this.hourOfDay() - 9)) / 24);
  }

  protected advanceUnit(dt: number): void {
    this.advanceState(dt);
    this.advancePhysics(dt);
  }

  private advanceState(dt: number): void {
    if (this.state === "maintenance" || this.state === "idle") {
      this.stateLeftMs -= dt;
      if (this.stateLeftMs > 0) return;
      if (this.state === "maintenance") {
        this.state = "idle";
        this.stateLeftMs = this.rng.range(5000, 20000);
        return;
      }
      // Hand-over pause in the first 8 minutes of each shift (06:00, 14:00, 22:00 UTC).
      const minuteOfShift = (((this.hourOfDay() - 6 + 24) % 8) * 60) % 480;
      if (minuteOfShift < 8) {
        this.stateLeftMs = (8 - minuteOfShift) * 60_000;
        return;
      }
      if (this.batchLeft <= 0) {
        this.programIndex = (this.programIndex + 1 + this.rng.int(0, PROGRAMS.length - 2)) % PROGRAMS.length;
        this.batchLeft = this.rng.int(3, 12);
      }
      this.batchLeft--;
      this.state = "running";
      this.cycleMs = 0;
      this.cycleLenMs = this.program.cycleSeconds * 1000 * (1 + clamp(this.rng.gauss(0.03), -0.1, 0.1));
      return;
    }
    this.cycleMs += dt;
    if (this.cycleMs >= this.cycleLenMs) {
      this.partCount++;
      this.state = "idle";
      const night = this.hourOfDay() >= 22 || this.hourOfDay() < 6;
      this.stateLeftMs = this.rng.range(8000, 25000) * (night ? 1.8 : 1);
    }
  }

  /** Axis path and whether the tool is in the material, for progress p in [0, 1] of the cycle. */
  private path(p: number): { x: number; y: number; z: number; cutting: boolean } {
    const lead = 0.05;
    if (p < lead || p > 1 - lead) {
      // Rapid from/to home.
      const a = p < lead ? p / lead : (1 - p) / lead;
      const start = this.pathAt(0);
      return {
        x: HOME.x + (start.x - HOME.x) * a,
        y: HOME.y + (start.y - HOME.y) * a,
        z: HOME.z + (start.z - HOME.z) * a,
        cutting: false,
      };
    }
    return this.pathAt((p - lead) / (1 - 2 * lead));
  }

  private pathAt(u: number): { x: number; y: number; z: number; cutting: boolean } {
    switch (this.program.path) {
      case "raster": {
        const rows = 8;
        const row = Math.min(rows - 1, Math.floor(u * rows));
        const frac = u * rows - row;
        return {
          x: row % 2 === 0 ? frac * 120 : (1 - frac) * 120,
          y: row * 10,
          z: -2 - Math.floor(u * 4) * 2,
          cutting: true,
        };
      }
      case "contour": {
        const laps = 3;
        const a = u * laps * 2 * Math.PI;
        return {
          x: 60 + 40 * Math.cos(a),
          y: 40 + 40 * Math.sin(a),
          z: -1 - Math.floor(u * laps) * 0.5,
          cutting: true,
        };
      }
      case "drill": {
        const holes = 12;
        const hole = Math.min(holes - 1, Math.floor(u * holes));
        const local = u * holes - hole;
        const down = local < 0.6;
        const depth = down ? -15 * (local / 0.6) : -15 * (1 - (local - 0.6) / 0.4);
        return { x: 20 + (hole % 4) * 25, y: 15 + Math.floor(hole / 4) * 25, z: 2 + depth, cutting: down };
      }
    }
  }

  private pos = { ...HOME };
  private cutting = false;
  private load = 0;

  private advancePhysics(dt: number): void {
    const prog = this.program;
    let speedCmd = 0;
    let feedCmd = 0;
    let target = { ...HOME };
    let cutting = false;
    if (this.state === "running") {
      const p = clamp(this.cycleMs / this.cycleLenMs, 0, 1);
      const pt = this.path(p);
      target = { x: pt.x, y: pt.y, z: pt.z };
      cutting = pt.cutting;
      speedCmd = prog.spindleSpeed;
      feedCmd = cutting ? prog.feedRate : 0;
    }
    // Spindle accelerates/decelerates at ~6000 rpm/s.
    const maxDelta = (6000 * dt) / 1000;
    this.spindle += clamp(speedCmd - this.spindle, -maxDelta, maxDelta);
    this.feed = feedCmd;
    this.cutting = cutting && this.spindle > 0.8 * speedCmd;
    this.pos = target;

    const toolWear = this.sev("tool-wear");
    const coolantLoss = this.sev("coolant-loss");
    const overheat = this.sev("spindle-overheat");
    const bearing = this.sev("bearing-wear");

    const spinning = this.spindle > 1;
    this.load = spinning ? (this.cutting ? prog.load * this.character.load * (1 + 0.45 * toolWear) : 6) : 0;

    const flowCmd = this.state === "running" ? NOMINAL_FLOW : this.state === "idle" ? 6 : 0;
    this.flow = lag(this.flow, flowCmd * (1 - 0.85 * coolantLoss), 3, dt);

    const ambient = this.ambient();
    const speedFrac = this.spindle / 15000;
    const cooling = this.state === "running" ? clamp(this.flow / NOMINAL_FLOW, 0, 1) : 1;
    const spindleTarget =
      ambient + 8 + this.character.temp + 26 * speedFrac * (0.5 + this.load / 100) + 22 * (1 - cooling) + 40 * overheat;
    const bearingTarget = ambient + 5 + this.character.temp + 20 * speedFrac + 28 * bearing + 4 * (1 - cooling);
    const powerNow = this.powerKw();
    const coolantTarget = ambient + 1.5 + 0.4 * powerNow + 18 * coolantLoss;
    this.spindleTemp = lag(this.spindleTemp, spindleTarget, 240, dt);
    this.bearingTemp = lag(this.bearingTemp, bearingTarget, 420, dt);
    this.coolantTemp = lag(this.coolantTemp, coolantTarget, 300, dt);

    // Bearing defect frequency (outer race, ~3.6 x shaft speed) and axis oscillation phase.
    this.bearingPhase = (this.bearingPhase + (2 * Math.PI * 3.6 * this.spindle * dt) / 60_000) % (2 * Math.PI);
    this.axisPhase = (this.axisPhase + (2 * Math.PI * (this.feed / 600) * dt) / 1000) % (2 * Math.PI);
  }

  private powerKw(): number {
    const spindleKw = 18 * (this.load / 100);
    const axesKw = 0.4 * (this.feed / 1500);
    const pumpKw = this.flow > 1 ? 0.8 * (this.flow / NOMINAL_FLOW) : 0;
    const base = this.state === "maintenance" ? 0.3 : 1.2;
    return base + spindleKw + axesKw + pumpKw;
  }

  protected sample(): CncSample {
    const r = this.rng;
    const bearing = this.sev("bearing-wear");
    const toolWear = this.sev("tool-wear");
    const misalign = this.sev("axis-misalignment");
    const coolantLoss = this.sev("coolant-loss");
    const spinning = this.spindle > 1;

    let vib = spinning ? (0.4 + 0.9 * (this.spindle / 15000) + 0.015 * this.load) * this.character.vib : 0.05;
    if (spinning) {
      const ph = this.bearingPhase;
      vib *= 1 + 2.2 * bearing;
      vib +=
        bearing * (1.2 * Math.abs(Math.sin(ph)) + 0.6 * Math.abs(Math.sin(2 * ph)) + 0.3 * Math.abs(Math.sin(3 * ph)));
      vib += 1.2 * toolWear * (this.cutting ? 1 : 0.3);
    }
    vib += misalign * 1.5 * (this.feed / 1000) * (1 + 0.5 * Math.sin(this.axisPhase));
    vib = Math.max(0, vib * (1 + r.gauss(0.04)) + r.gauss(0.01));

    const err = misalign * (0.35 + 0.15 * Math.sin(this.axisPhase));
    const moving = this.state === "running";
    const posNoise = 0.002;
    const values: CncValues = {
      state: this.state,
      program: this.program.name,
      part_count: this.partCount,
      spindle_speed: round(Math.max(0, this.spindle * (1 + r.gauss(0.002))), 1),
      spindle_load: round(clamp(this.load * (1 + r.gauss(0.03)) + (spinning ? r.gauss(0.3) : 0), 0, 150), 2),
      feed_rate: round(Math.max(0, this.feed * (1 + r.gauss(0.005))), 1),
      x_pos: round(this.pos.x + (moving ? err : 0) + r.gauss(posNoise), 3),
      y_pos: round(this.pos.y + (moving ? err * 0.6 * Math.cos(this.axisPhase) : 0) + r.gauss(posNoise), 3),
      z_pos: round(this.pos.z + r.gauss(posNoise), 3),
      vibration_rms: round(vib, 3),
      spindle_temp: round(this.spindleTemp + r.gauss(0.08), 2),
      bearing_temp: round(this.bearingTemp + r.gauss(0.08), 2),
      coolant_temp: round(this.coolantTemp + r.gauss(0.05), 2),
      coolant_flow: round(Math.max(0, this.flow + r.gauss(0.15 + 1.5 * coolantLoss)), 2),
      power: round(Math.max(0, this.powerKw() * (1 + r.gauss(0.01))), 3),
    };
    const quality: Partial<Record<TagName, Quality>> = {};
    // Air in the coolant line: the flow sensor reads unreliably once the loss is well developed.
    if (coolantLoss > 0.6) quality.coolant_flow = "uncertain";
    const sample: CncSample = { id: this.id, vendor: this.vendor, ts: this.ts, values, quality };
    if (this.opts.labels) sample.labels = this.labelsNow();
    return sample;
  }
}

/** Machine ids cnc-01, cnc-02, ... */
export function machineIds(n: number): string[] {
  return unitIds("cnc", n);
}

/** A set of machines stepped together on one simulated clock. */
export class CncFleet extends UnitGroup<CncMachine, CncSample> {
  readonly machines: CncMachine[];

  constructor(options: FleetOptions = {}) {
    super(
      Array.isArray(options.machines) ? options.machines : machineIds(options.machines ?? 3),
      options,
      { unit: "machine", units: "machines", maxUnits: 1000, maintenanceSeconds: 600 },
      (id, i, seed, opts) => new CncMachine(id, i, seed, opts),
    );
    this.machines = this.units;
  }
}

/** Ground-truth labels as record values (label_anomaly, label_failure_type, label_severity). */
export const labelValues: (labels: CncLabels) => Record<string, TagValue> = labelRecordValues;

/** A sample as a LineGuard record (docs/record.md): source = machine id. */
export const sampleToRecord: (s: CncSample) => RecordPayload = sampleRecord;
