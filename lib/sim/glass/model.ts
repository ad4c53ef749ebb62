/**
 * Float-glass line dynamics for the simulator: pure and deterministic for a seed, advanced by
 * `step(dtMs)` (never by the wall clock), like the CNC model (lib/sim/cnc/model.ts).
 *
 * One line (default "glass-01", optionally N) has a regenerative furnace with six fired zones under
 * temperature control (gas flow follows the controller, combustion air follows the gas, the firing
 * reverses every 20 minutes), a melt level that saw-tooths with the batch charger, a tin bath
 * (entry/exit temperatures, O2 in the protective atmosphere), a four-zone annealing lehr with cooling
 * air, and the ribbon (speed, width, thickness). Thermal inertia (first-order lags), sensor noise,
 * a daily ambient cycle, alarms (latched until acknowledged), burner and lehr-fan switches, and five
 * failure patterns whose severity ramps from 0 to 1. Each failure also raises the rate of the defects
 * the inspection camera draws (`defectRateMultipliers()`).
 * No Node-RED import. See docs/simulator.md.
 */
import type { Quality, RecordPayload, TagValue } from "../../record";
import type { FailureLabels, GroupOptions, RampingFailure, UnitOptions, UnitState } from "../common/model";
import { SimUnit, UnitGroup, isOneOf, labelRecordValues, sampleRecord, simError, unitIds } from "../common/model";
import { clamp, lag, round } from "../common/math";

export { DEFAULT_START_TS, simError } from "../common/model";

export const GLASS_FAILURE_TYPES = [
  "furnace-zone-drift",
  "burner-failure",
  "tin-bath-contamination",
  "lehr-cooling-fault",
  "thickness-drift",
] as const;
export type GlassFailureType = (typeof GLASS_FAILURE_TYPES)[number];

export function isGlassFailureType(v: unknown): v is GlassFailureType {
  return isOneOf(GLASS_FAILURE_TYPES, v);
}

/** The inspection camera's defect classes (same list and order as lib/sim/camera, YOLO ids 0..4). */
export const GLASS_DEFECT_CLASSES = ["bubble", "stone", "scratch", "crack", "tin_drip"] as const;
export type GlassDefectClass = (typeof GLASS_DEFECT_CLASSES)[number];

export type LineState = UnitState;
/** line_state tag: 0 idle (restart after a stop, off-spec glass), 1 running, 2 maintenance. */
export const LINE_STATE_CODES: Record<LineState, number> = { idle: 0, running: 1, maintenance: 2 };

/** Bits of the `alarms` word (and the alarm_* discrete inputs). */
export const ALARM_BITS = {
  zone_dev: 0,
  flame: 1,
  melt_level: 2,
  tin_o2: 3,
  lehr_cooling: 4,
  thickness: 5,
  maintenance: 6,
} as const;
export type AlarmName = keyof typeof ALARM_BITS;

export const ZONES = 6;
export const LEHR_ZONES = 4;
/** Nominal zone setpoints, degC (hot spot in zone 4). */
export const ZONE_SETPOINTS = [1480, 1530, 1570, 1590, 1560, 1500] as const;
const LEHR_TARGETS = [560, 480, 300, 120] as const;
const NOMINAL_GAS = 2400; // Nm3/h, all zones
const ZONE_GAS_SHARE = [0.14, 0.17, 0.19, 0.2, 0.17, 0.13];
const AIR_RATIO = 10.4; // Nm3 air per Nm3 gas (slight excess air)
const NOMINAL_COOLING_AIR = 32000; // Nm3/h
const MELT_LEVEL = 1200; // mm
const PULL_T_PER_DAY = 600;
const GLASS_DENSITY = 2.5; // t/m3
const NOMINAL_WIDTH = 3600; // mm
const REVERSAL_PERIOD_MS = 20 * 60_000;
const REVERSAL_MS = 25_000;

export type TagDataType = "Double" | "UInt32" | "Int32" | "Boolean" | "String";

export interface GlassValues {
  line_state: number;
  alarms: number;
  product: string;
  auto_mode: boolean;
  furnace_t1: number;
  furnace_t2: number;
  furnace_t3: number;
  furnace_t4: number;
  furnace_t5: number;
  furnace_t6: number;
  furnace_sp1: number;
  furnace_sp2: number;
  furnace_sp3: number;
  furnace_sp4: number;
  furnace_sp5: number;
  furnace_sp6: number;
  melt_level: number;
  furnace_pressure: number;
  gas_flow: number;
  air_flow: number;
  gas_total: number;
  burner_1: boolean;
  burner_2: boolean;
  burner_3: boolean;
  burner_4: boolean;
  burner_5: boolean;
  burner_6: boolean;
  tin_entry_temp: number;
  tin_exit_temp: number;
  tin_o2_ppm: number;
  lehr_t1: number;
  lehr_t2: number;
  lehr_t3: number;
  lehr_t4: number;
  lehr_cooling_air: number;
  lehr_fans: boolean;
  ribbon_speed: number;
  ribbon_speed_sp: number;
  ribbon_width: number;
  thickness: number;
  thickness_sp: number;
  thickness_dev_um: number;
  ribbon_length: number;
  alarm_zone_dev: boolean;
  alarm_flame: boolean;
  alarm_melt_level: boolean;
  alarm_tin_o2: boolean;
  alarm_lehr_cooling: boolean;
  alarm_thickness: boolean;
  maintenance_active: boolean;
}
export type GlassTagName = keyof GlassValues;

export interface GlassTagInfo {
  name: GlassTagName;
  dataType: TagDataType;
  unit: string;
  description: string;
  /** Section of the line (OPC UA folder). */
  section: "Line" | "Furnace" | "TinBath" | "Lehr" | "Ribbon" | "Alarms";
}

const T = (
  name: GlassTagName,
  section: GlassTagInfo["section"],
  dataType: TagDataType,
  unit: string,
  description: string,
): GlassTagInfo => ({ name, section, dataType, unit, description });

/** Every tag of a line, in CSV/column order. */
export const GLASS_TAGS: readonly GlassTagInfo[] = [
  T("line_state", "Line", "UInt32", "", "0 idle, 1 running, 2 maintenance"),
  T("alarms", "Line", "UInt32", "", "alarm bits (latched until acknowledged), see ALARM_BITS"),
  T("product", "Line", "String", "", "product on the line"),
  T("auto_mode", "Line", "Boolean", "", "line in automatic control"),
  ...[1, 2, 3, 4, 5, 6].map((i) =>
    T(`furnace_t${i}` as GlassTagName, "Furnace", "Double", "degC", `furnace zone ${i} crown temperature`),
  ),
  ...[1, 2, 3, 4, 5, 6].map((i) =>
    T(`furnace_sp${i}` as GlassTagName, "Furnace", "Double", "degC", `furnace zone ${i} setpoint`),
  ),
  T("melt_level", "Furnace", "Double", "mm", "glass melt level"),
  T("furnace_pressure", "Furnace", "Double", "Pa", "furnace pressure (crown)"),
  T("gas_flow", "Furnace", "Double", "Nm3/h", "natural gas flow, all burners"),
  T("air_flow", "Furnace", "Double", "Nm3/h", "combustion air flow"),
  T("gas_total", "Furnace", "UInt32", "Nm3", "gas consumed since start (counter)"),
  ...[1, 2, 3, 4, 5, 6].map((i) =>
    T(`burner_${i}` as GlassTagName, "Furnace", "Boolean", "", `burner pair ${i} on (switchable)`),
  ),
  T("tin_entry_temp", "TinBath", "Double", "degC", "tin bath temperature at the spout (entry)"),
  T("tin_exit_temp", "TinBath", "Double", "degC", "tin bath temperature at the exit"),
  T("tin_o2_ppm", "TinBath", "Double", "ppm", "oxygen in the bath atmosphere"),
  ...[1, 2, 3, 4].map((i) => T(`lehr_t${i}` as GlassTagName, "Lehr", "Double", "degC", `lehr zone ${i} temperature`)),
  T("lehr_cooling_air", "Lehr", "Double", "Nm3/h", "lehr cooling air flow"),
  T("lehr_fans", "Lehr", "Boolean", "", "lehr cooling fans on (switchable)"),
  T("ribbon_speed", "Ribbon", "Double", "m/min", "ribbon (lehr roller) speed"),
  T("ribbon_speed_sp", "Ribbon", "Double", "m/min", "ribbon speed setpoint"),
  T("ribbon_width", "Ribbon", "Double", "mm", "net ribbon width"),
  T("thickness", "Ribbon", "Double", "mm", "ribbon thickness (centre gauge)"),
  T("thickness_sp", "Ribbon", "Double", "mm", "thickness setpoint"),
  T("thickness_dev_um", "Ribbon", "Int32", "um", "thickness deviation from the setpoint"),
  T("ribbon_length", "Ribbon", "Double", "m", "ribbon produced since start"),
  T("alarm_zone_dev", "Alarms", "Boolean", "", "a furnace zone is more than 25 degC off its setpoint"),
  T("alarm_flame", "Alarms", "Boolean", "", "burner flame failure"),
  T("alarm_melt_level", "Alarms", "Boolean", "", "melt level more than 5 mm off nominal"),
  T("alarm_tin_o2", "Alarms", "Boolean", "", "tin bath O2 above 20 ppm"),
  T("alarm_lehr_cooling", "Alarms", "Boolean", "", "lehr cooling air below 70 % of nominal"),
  T("alarm_thickness", "Alarms", "Boolean", "", "thickness more than 0.15 mm off the setpoint"),
  T("maintenance_active", "Alarms", "Boolean", "", "maintenance in progress"),
];

/** The process tags the glass anomaly model (models/lstm-ae-glass) uses, in its input order. */
export const GLASS_MODEL_FEATURES: readonly GlassTagName[] = [
  "furnace_t1",
  "furnace_t2",
  "furnace_t3",
  "furnace_t4",
  "furnace_t5",
  "furnace_t6",
  "melt_level",
  "gas_flow",
  "air_flow",
  "tin_entry_temp",
  "tin_exit_temp",
  "tin_o2_ppm",
  "lehr_t1",
  "lehr_t2",
  "lehr_t3",
  "lehr_t4",
  "lehr_cooling_air",
  "ribbon_speed",
  "ribbon_width",
  "thickness",
];

export type GlassLabels = FailureLabels<GlassFailureType>;

export interface GlassSample {
  id: string;
  ts: number;
  values: GlassValues;
  quality: Partial<Record<GlassTagName, Quality>>;
  labels?: GlassLabels;
}

export interface GlassPlantOptions extends GroupOptions {
  /** Number of lines (ids glass-01, glass-02, ...) or explicit ids. Default 1. Maintenance lasts 900 s by default. */
  lines?: number | string[];
}

interface ActiveFailure extends RampingFailure<GlassFailureType> {
  /** Zone (0-based) for the furnace failures. */
  zone: number;
}

/** Rounded to d decimals and stored as float32 (what a float32 register carries). */
const f32 = (v: number, d: number) => Math.fround(round(v, d));

/** One float line. Use GlassPlant unless you need a single line. */
export class GlassLine extends SimUnit<GlassFailureType, ActiveFailure, GlassSample> {
  private readonly character: { zone: number[]; pull: number; o2: number; lehr: number; reversalMs: number };
  private readonly setpoints: number[];
  private readonly burners: boolean[] = [true, true, true, true, true, true];
  private fans = true;
  private zoneT: number[];
  private zoneGas: number[];
  private airFlow: number;
  private pressure = 3;
  private levelOu = 0;
  private chargePhase: number;
  private tinEntry = 1100;
  private tinExit = 600;
  private o2 = 4;
  private lehrT: number[];
  private coolingAir = NOMINAL_COOLING_AIR;
  private speed: number;
  private readonly thicknessSp = 4.0;
  private thickOu = 0;
  private widthOu = 0;
  private gasTotal = 0;
  private ribbonLength = 0;
  private latched = 0;

  constructor(id: string, seed: number, opts: UnitOptions) {
    super(id, seed, opts, GLASS_FAILURE_TYPES, "running");
    this.character = {
      zone: ZONE_SETPOINTS.map(() => this.rng.range(-2, 2)),
      pull: this.rng.range(0.985, 1.015),
      o2: this.rng.range(-0.4, 0.4),
      lehr: this.rng.range(-2, 2),
      // each furnace reverses on its own schedule
      reversalMs: Math.floor(this.rng.range(0, REVERSAL_PERIOD_MS)),
    };
    this.setpoints = ZONE_SETPOINTS.map((sp) => sp);
    this.zoneT = this.setpoints.map((sp, i) => sp + this.character.zone[i]!);
    this.zoneGas = ZONE_GAS_SHARE.map((s) => s * NOMINAL_GAS);
    this.airFlow = NOMINAL_GAS * AIR_RATIO;
    this.chargePhase = this.rng.range(0, 1);
    this.lehrT = LEHR_TARGETS.map((t) => t + this.character.lehr);
    this.speed = this.speedSetpoint();
  }

  get activeFailure(): { type: GlassFailureType; severity: number; rampSeconds: number; zone?: number } | undefined {
    const f = this.failure;
    if (!f) return undefined;
    const furnace = f.type === "furnace-zone-drift" || f.type === "burner-failure";
    return {
      type: f.type,
      severity: this.severity(),
      rampSeconds: f.rampMs / 1000,
      ...(furnace ? { zone: f.zone + 1 } : {}),
    };
  }

  /**
   * Start a failure now; severity ramps linearly from 0 to 1 over `rampSeconds` (0 = at once).
   * `zone` (1..6) picks the furnace zone of furnace-zone-drift (default 3) and burner-failure (default 2).
   */
  inject(type: GlassFailureType, rampSeconds = 600, zone?: number): void {
    this.checkInject(type, rampSeconds);
    if (zone !== undefined && (!Number.isInteger(zone) || zone < 1 || zone > ZONES)) {
      throw simError("bad-zone", `zone must be an integer 1..${ZONES}`);
    }
    const z = zone ?? (type === "burner-failure" ? 2 : 3);
    this.failure = { type, zone: z - 1, rampMs: rampSeconds * 1000, elapsedMs: 0, fullForMs: 0 };
  }

  protected injectRandom(type: GlassFailureType, rampSeconds: number): void {
    this.inject(type, rampSeconds, this.rng.int(1, ZONES));
  }

  // Maintenance (startMaintenance, lib/sim/common/model.ts): failure repaired at once, ribbon slowed
  // (glass to cullet); then a restart (idle).

  /** Switch a burner pair (1..6) on or off (a Modbus coil). */
  setBurner(zone: number, on: boolean): void {
    if (!Number.isInteger(zone) || zone < 1 || zone > ZONES) throw simError("bad-zone", `zone must be 1..${ZONES}`);
    this.burners[zone - 1] = Boolean(on);
  }

  setLehrFans(on: boolean): void {
    this.fans = Boolean(on);
  }

  /** Change a zone setpoint (1..6), 1000 to 1700 degC. */
  setSetpoint(zone: number, degC: number): void {
    if (!Number.isInteger(zone) || zone < 1 || zone > ZONES) throw simError("bad-zone", `zone must be 1..${ZONES}`);
    if (typeof degC !== "number" || !Number.isFinite(degC) || degC < 1000 || degC > 1700) {
      throw simError("bad-setpoint", "a zone setpoint must be 1000..1700 degC");
    }
    this.setpoints[zone - 1] = round(degC, 1);
  }

  /** Clear latched alarms that are no longer active. */
  acknowledgeAlarms(): void {
    this.latched = this.activeAlarms();
  }

  /** Ribbon speed now, m/min (drives the camera's texture motion). */
  ribbonSpeed(): number {
    return this.speed;
  }

  /**
   * Defect-rate multipliers per camera class from the developing failure (1 = normal):
   * furnace zone drift -> bubble, stone; burner failure -> stone, bubble; tin bath contamination ->
   * tin_drip (and bottom scratches); lehr cooling fault -> crack; thickness drift -> none.
   */
  defectRateMultipliers(): Record<GlassDefectClass, number> {
    const m: Record<GlassDefectClass, number> = { bubble: 1, stone: 1, scratch: 1, crack: 1, tin_drip: 1 };
    const f = this.failure;
    if (!f) return m;
    const s = this.severity();
    switch (f.type) {
      case "furnace-zone-drift":
        m.bubble = 1 + 5 * s;
        m.stone = 1 + 2 * s;
        break;
      case "burner-failure":
        m.stone = 1 + 5 * s;
        m.bubble = 1 + 2 * s;
        break;
      case "tin-bath-contamination":
        m.tin_drip = 1 + 8 * s;
        m.scratch = 1 + 1.5 * s;
        break;
      case "lehr-cooling-fault":
        m.crack = 1 + 8 * s;
        break;
      case "thickness-drift":
        break;
    }
    return m;
  }

  /** Hall temperature: 22 degC +/- 6 over the day, warmest mid-afternoon. */
  private ambient(): number {
    return 22 + 6 * Math.sin((2 * Math.PI * (this.hourOfDay() - 9)) / 24);
  }

  private speedSetpoint(): number {
    // pull (t/min) / (density * width * thickness) -> m/min
    const pull = (PULL_T_PER_DAY * this.character.pull) / 1440;
    return pull / (GLASS_DENSITY * (NOMINAL_WIDTH / 1000) * (this.thicknessSp / 1000));
  }

  /**
   * Firing level: 1, except while the firing reverses every 20 minutes (25 s: the fuel ramps down to
   * 40 % over 5 s, holds, and ramps back over 5 s).
   */
  private firing(): number {
    const phase = (this.ts + this.character.reversalMs) % REVERSAL_PERIOD_MS;
    if (phase >= REVERSAL_MS) return 1;
    const ramp = 5000;
    if (phase < ramp) return 1 - (0.6 * phase) / ramp;
    if (phase > REVERSAL_MS - ramp) return 0.4 + (0.6 * (phase - (REVERSAL_MS - ramp))) / ramp;
    return 0.4;
  }

  protected advanceUnit(dt: number): void {
    if (this.state !== "running") {
      this.stateLeftMs -= dt;
      if (this.stateLeftMs <= 0) {
        if (this.state === "maintenance") {
          this.state = "idle";
          this.stateLeftMs = this.rng.range(120_000, 300_000);
        } else this.state = "running";
      }
    }
    this.physics(dt);
  }

  private physics(dt: number): void {
    const r = this.rng;
    const s = dt / 1000;
    const amb = this.ambient() - 22;
    const fire = this.firing();
    const drift = this.sev("furnace-zone-drift");
    const burner = this.sev("burner-failure");
    const tin = this.sev("tin-bath-contamination");
    const lehr = this.sev("lehr-cooling-fault");
    const fz = this.failure?.zone ?? -1;

    // Furnace zones: a PI-like controller sets each zone's gas; the zone temperature lags its heat input.
    let gas = 0;
    for (let i = 0; i < ZONES; i++) {
      const sp = this.setpoints[i]!;
      const on = this.burners[i]!;
      let offset = this.character.zone[i]! + 0.4 * amb;
      // Drifting controller (its reference creeps away): the zone overheats, neighbours follow a little.
      if (drift > 0) offset += i === fz ? 50 * drift : Math.abs(i - fz) === 1 ? 10 * drift : 0;
      // A failing burner loses its flame: heat input falls, the neighbours cool too.
      let flame = on ? 1 : 0;
      if (burner > 0 && i === fz) flame *= 1 - 0.9 * burner;
      const neighbourLoss = burner > 0 && Math.abs(i - fz) === 1 ? 15 * burner : 0;
      const err = sp - this.zoneT[i]!;
      const demand = ZONE_GAS_SHARE[i]! * NOMINAL_GAS * clamp(1 + err / 60, 0.6, 1.5);
      this.zoneGas[i] = lag(this.zoneGas[i]!, on ? demand * (1 + 0.12 * (i === fz ? drift : 0)) : 0, 20, dt);
      const heat = flame * fire;
      const target =
        sp + offset - neighbourLoss - (1 - heat) * 30 - (on ? 0 : 120) - (flame < 1 && on ? 90 * burner : 0);
      this.zoneT[i] = lag(this.zoneT[i]!, target, 180, dt);
      // The failing burner takes less gas (a clogged nozzle), the controller cannot make up for it.
      const g = this.zoneGas[i]! * (i === fz && burner > 0 ? 1 - 0.45 * burner : 1);
      gas += g * (0.2 + 0.8 * fire);
    }
    this.airFlow = lag(this.airFlow, gas * AIR_RATIO * (1 - 0.003 * amb), 6, dt);
    this.gasTotal += (gas * dt) / 3_600_000;
    // Furnace pressure: an Ornstein-Uhlenbeck wobble around +3 Pa; dips during the reversal.
    this.pressure += (3 - this.pressure) * (1 - Math.exp(-s / 30)) + r.gauss(0.25 * Math.sqrt(s));
    if (fire < 1) this.pressure = lag(this.pressure, -4, 5, dt);
    // Melt level: batch charger saw-tooth (period 240 s) plus a slow wander.
    this.chargePhase = (this.chargePhase + s / 240) % 1;
    this.levelOu += -this.levelOu * (1 - Math.exp(-s / 900)) + r.gauss(0.05 * Math.sqrt(s));

    // Tin bath: entry follows the furnace exit zone, exit the ribbon speed and the hall.
    const zoneExitDev = this.zoneT[5]! - this.setpoints[5]!;
    this.tinEntry = lag(this.tinEntry, 1100 + 0.3 * zoneExitDev - 4 * tin, 240, dt);
    this.tinExit = lag(this.tinExit, 600 + 0.25 * amb + 25 * tin, 300, dt);
    this.o2 = lag(this.o2, 4 + this.character.o2 + 60 * tin * tin + 10 * tin, 120, dt);

    // Lehr: cooling air keeps zones 2..4 on target; less air, hotter glass.
    const fanCmd = this.fans ? NOMINAL_COOLING_AIR * (1 + 0.004 * amb) : 0;
    this.coolingAir = lag(this.coolingAir, fanCmd * (1 - 0.65 * lehr), 15, dt);
    const lack = clamp(1 - this.coolingAir / NOMINAL_COOLING_AIR, 0, 1);
    const lehrRise = [0, 60, 100, 80];
    const ambRise = [0.1, 0.3, 0.6, 0.9];
    for (let i = 0; i < LEHR_ZONES; i++) {
      const target = LEHR_TARGETS[i]! + this.character.lehr + ambRise[i]! * amb + lehrRise[i]! * lack;
      this.lehrT[i] = lag(this.lehrT[i]!, target, 150, dt);
    }

    // Ribbon: slowed (to cullet) during maintenance, ramping back while idle.
    const spd = this.speedSetpoint();
    const target = this.state === "maintenance" ? 0.5 * spd : spd;
    this.speed = lag(this.speed, target, 60, dt);
    this.thickOu += -this.thickOu * (1 - Math.exp(-s / 600)) + r.gauss(0.002 * Math.sqrt(s));
    this.widthOu += -this.widthOu * (1 - Math.exp(-s / 600)) + r.gauss(0.6 * Math.sqrt(s));
    this.ribbonLength += (this.speed * dt) / 60_000;
  }

  private activeAlarms(): number {
    const v = this.last?.values;
    if (!v) return 0;
    let bits = 0;
    const set = (name: AlarmName, on: boolean) => {
      if (on) bits |= 1 << ALARM_BITS[name];
    };
    const zoneDev = [1, 2, 3, 4, 5, 6].some(
      (i) => Math.abs(this.zoneT[i - 1]! - this.setpoints[i - 1]!) > 25 && this.burners[i - 1],
    );
    set("zone_dev", zoneDev);
    set("flame", this.sev("burner-failure") >= 0.8 || this.burners.some((b) => !b));
    set("melt_level", Math.abs(v.melt_level - MELT_LEVEL) > 5);
    set("tin_o2", v.tin_o2_ppm > 20);
    set("lehr_cooling", v.lehr_cooling_air < 0.7 * NOMINAL_COOLING_AIR);
    set("thickness", Math.abs(v.thickness - v.thickness_sp) > 0.15);
    set("maintenance", this.state === "maintenance");
    return bits;
  }

  protected sample(): GlassSample {
    const r = this.rng;
    const thick = this.sev("thickness-drift");
    const tin = this.sev("tin-bath-contamination");
    const burner = this.sev("burner-failure");
    const spd = this.speedSetpoint();
    // Thickness follows pull / speed: a slowed ribbon is thicker.
    const thickness =
      this.thicknessSp * (spd / this.speed) + this.thickOu + 0.3 * thick + r.gauss(0.004 * (1 + 2 * thick));
    const width = NOMINAL_WIDTH + this.widthOu - 60 * thick + r.gauss(1.2);
    const saw = 1.6 * (this.chargePhase - 0.5);
    const z = this.zoneT.map((t) => round(t + r.gauss(0.6), 1));
    const fz = this.failure?.zone ?? -1;
    const gasNoise = 1 + r.gauss(0.006 + (burner > 0 ? 0.02 * burner : 0));
    const gas = this.zoneGas.reduce((a, g, i) => a + g * (i === fz && burner > 0 ? 1 - 0.45 * burner : 1), 0);
    const fire = this.firing();
    const values: GlassValues = {
      line_state: LINE_STATE_CODES[this.state],
      alarms: 0,
      product: `CLEAR-${this.thicknessSp.toFixed(1)}MM`,
      auto_mode: true,
      furnace_t1: z[0]!,
      furnace_t2: z[1]!,
      furnace_t3: z[2]!,
      furnace_t4: z[3]!,
      furnace_t5: z[4]!,
      furnace_t6: z[5]!,
      furnace_sp1: this.setpoints[0]!,
      furnace_sp2: this.setpoints[1]!,
      furnace_sp3: this.setpoints[2]!,
      furnace_sp4: this.setpoints[3]!,
      furnace_sp5: this.setpoints[4]!,
      furnace_sp6: this.setpoints[5]!,
      melt_level: round(MELT_LEVEL + saw + this.levelOu + r.gauss(0.08), 2),
      furnace_pressure: round(this.pressure + r.gauss(0.15), 1),
      gas_flow: f32(Math.max(0, gas * (0.2 + 0.8 * fire) * gasNoise), 1),
      air_flow: f32(Math.max(0, this.airFlow * (1 + r.gauss(0.005))), 1),
      gas_total: Math.floor(this.gasTotal),
      burner_1: this.burners[0]!,
      burner_2: this.burners[1]!,
      burner_3: this.burners[2]!,
      burner_4: this.burners[3]!,
      burner_5: this.burners[4]!,
      burner_6: this.burners[5]!,
      tin_entry_temp: f32(this.tinEntry + r.gauss(0.4), 2),
      tin_exit_temp: f32(this.tinExit + r.gauss(0.4 * (1 + 2 * tin)), 2),
      tin_o2_ppm: round(Math.max(0, this.o2 + r.gauss(0.15 * (1 + 3 * tin))), 1),
      lehr_t1: round(this.lehrT[0]! + r.gauss(0.5), 1),
      lehr_t2: round(this.lehrT[1]! + r.gauss(0.5), 1),
      lehr_t3: round(this.lehrT[2]! + r.gauss(0.5), 1),
      lehr_t4: round(this.lehrT[3]! + r.gauss(0.5), 1),
      lehr_cooling_air: Math.round(Math.max(0, this.coolingAir * (1 + r.gauss(0.006)))),
      lehr_fans: this.fans,
      ribbon_speed: f32(Math.max(0, this.speed * (1 + r.gauss(0.0015))), 3),
      ribbon_speed_sp: f32(spd, 3),
      ribbon_width: Math.round(width),
      thickness: round(thickness, 3),
      thickness_sp: this.thicknessSp,
      thickness_dev_um: 0,
      ribbon_length: round(this.ribbonLength, 3),
      alarm_zone_dev: false,
      alarm_flame: false,
      alarm_melt_level: false,
      alarm_tin_o2: false,
      alarm_lehr_cooling: false,
      alarm_thickness: false,
      maintenance_active: this.state === "maintenance",
    };
    values.thickness_dev_um = Math.round((values.thickness - values.thickness_sp) * 1000);
    this.last = { id: this.id, ts: this.ts, values, quality: {} };
    this.latched |= this.activeAlarms();
    const a = this.latched;
    const bit = (n: AlarmName) => (a & (1 << ALARM_BITS[n])) !== 0;
    values.alarms = a;
    values.alarm_zone_dev = bit("zone_dev");
    values.alarm_flame = bit("flame");
    values.alarm_melt_level = bit("melt_level");
    values.alarm_tin_o2 = bit("tin_o2");
    values.alarm_lehr_cooling = bit("lehr_cooling");
    values.alarm_thickness = bit("thickness");
    const quality: Partial<Record<GlassTagName, Quality>> = {};
    // Dross on the O2 probe: the reading is unreliable once the contamination is well developed.
    if (tin > 0.7) quality.tin_o2_ppm = "uncertain";
    const sample: GlassSample = { id: this.id, ts: this.ts, values, quality };
    if (this.opts.labels) sample.labels = this.labelsNow();
    return sample;
  }
}

/** Line ids glass-01, glass-02, ... */
export function lineIds(n: number): string[] {
  return unitIds("glass", n);
}

/** A set of float lines stepped together on one simulated clock. */
export class GlassPlant extends UnitGroup<GlassLine, GlassSample> {
  readonly lines: GlassLine[];

  constructor(options: GlassPlantOptions = {}) {
    super(
      Array.isArray(options.lines) ? options.lines : lineIds(options.lines ?? 1),
      options,
      { unit: "line", units: "lines", maxUnits: 100, maintenanceSeconds: 900 },
      (id, _i, seed, opts) => new GlassLine(id, seed, opts),
    );
    this.lines = this.units;
  }
}

/** Ground-truth labels as record values (label_anomaly, label_failure_type, label_severity). */
export const glassLabelValues: (labels: GlassLabels) => Record<string, TagValue> = labelRecordValues;

/** A sample as a LineGuard record (docs/record.md): source = line id. */
export const glassSampleToRecord: (s: GlassSample) => RecordPayload = sampleRecord;
