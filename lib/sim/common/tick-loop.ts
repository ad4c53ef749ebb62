/**
 * The live simulators' clock (lib/sim/cnc/simulator.ts, lib/sim/glass/simulator.ts): steps a model
 * on the wall clock at a configurable rate, samples exactly one period apart, catching up silently
 * after a pause or a long stall, and the start/stop of the servers around it. No Node-RED import.
 */
import { simError } from "./model";

export const MIN_RATE = 0.1;
export const MAX_RATE = 1000;
const MAX_CATCH_UP_MS = 24 * 3600 * 1000;

export function checkRate(rate: unknown): number {
  if (typeof rate === "string" && rate.trim() !== "") rate = Number(rate);
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate < MIN_RATE || rate > MAX_RATE) {
    throw simError("bad-rate", `rate must be a number from ${MIN_RATE} to ${MAX_RATE} (samples/s per machine)`);
  }
  return rate;
}

export interface TickLoopModel<S> {
  /** Advance the model by `dtMs` of simulated time; returns the samples at the new time. */
  step(dtMs: number): S;
  /** Publish one tick's samples (not called while catching up). May throw: the loop goes on. */
  publish(samples: S): void;
}

/** Steps `model` on the wall clock, `rate` times per second, while running. */
export class TickLoop<S> {
  private currentRate: number;
  private isRunning = false;
  private timer: NodeJS.Timeout | undefined;
  private now: number;
  private ticks = 0;

  constructor(
    private readonly model: TickLoopModel<S>,
    rate: unknown,
    startTs: number,
  ) {
    this.currentRate = checkRate(rate);
    this.now = startTs;
  }

  get rate(): number {
    return this.currentRate;
  }

  get running(): boolean {
    return this.isRunning;
  }

  /** Epoch ms of the simulated clock (the last sample's time). */
  get simNow(): number {
    return this.now;
  }

  get tickCount(): number {
    return this.ticks;
  }

  resume(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    // The model keeps wall-clock time while paused (only the output stops): catch up silently.
    const now = Date.now();
    this.catchUp(now - 1000 / this.currentRate);
    // First sample now, so every output has values (and Good status) from the start.
    try {
      this.tick(Math.max(1, now - this.now));
    } catch {
      // a listener failed; the simulation keeps going
    }
    this.schedule();
  }

  pause(): void {
    this.isRunning = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  setRate(rate: unknown): number {
    this.currentRate = checkRate(rate);
    if (this.isRunning) {
      if (this.timer) clearTimeout(this.timer);
      this.schedule();
    }
    return this.currentRate;
  }

  /** Step once by `dtMs` (default one period) and publish. */
  tick(dtMs = 1000 / this.currentRate): S {
    const samples = this.model.step(dtMs);
    this.now += dtMs;
    this.ticks++;
    this.model.publish(samples);
    return samples;
  }

  /** Advance the model to `until` without publishing. */
  private catchUp(until: number): void {
    const gap = Math.min(until - this.now, MAX_CATCH_UP_MS);
    if (gap > 0) {
      this.model.step(gap);
      this.now += gap;
    }
  }

  /** Next tick one period after the last sample (samples are exactly one period apart). */
  private schedule(): void {
    if (!this.isRunning) return;
    const due = this.now + 1000 / this.currentRate;
    this.timer = setTimeout(() => this.loop(), Math.max(0, due - Date.now()));
  }

  private loop(): void {
    this.timer = undefined;
    if (!this.isRunning) return;
    const period = 1000 / this.currentRate;
    const now = Date.now();
    // Timers fire at most about once per millisecond: at high rates one callback emits every sample
    // that is due. After a long stall (GC, suspended laptop) skip ahead silently instead of a burst.
    let due = Math.floor((now - this.now) / period);
    const maxBurst = Math.max(2, Math.ceil(this.currentRate / 4));
    if (due > maxBurst) {
      this.catchUp(now - period);
      due = 1;
    }
    for (let i = 0; i < due && this.isRunning; i++) {
      try {
        this.tick(period);
      } catch {
        // a listener failed; the simulation keeps going
      }
    }
    this.schedule();
  }
}

/**
 * Start services one after the other; when one fails, `rollback` (stop what started) and rethrow.
 * Steps that return undefined (a service switched off) are skipped.
 */
export async function startInOrder(
  steps: readonly (() => Promise<void> | undefined)[],
  rollback: () => Promise<void>,
): Promise<void> {
  try {
    for (const step of steps) await step();
  } catch (err) {
    await rollback();
    throw err;
  }
}

/** Wait for every stop; throw the first failure once all have settled. */
export async function settleAll(stops: readonly (Promise<void> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(stops);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * A live simulator: a model on a TickLoop plus the servers that publish it. Subclasses step the
 * model, publish each tick, and list how their servers start (in order) and stop.
 */
export abstract class LiveSimulator<S> {
  protected readonly clock: TickLoop<S[]>;
  private started = false;

  protected constructor(rate: unknown, startTs: number) {
    this.clock = new TickLoop({ step: (dtMs) => this.stepModel(dtMs), publish: (s) => this.publish(s) }, rate, startTs);
  }

  get tickCount(): number {
    return this.clock.tickCount;
  }

  /** Start the servers, then the data. Stops what it started when one of them fails. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await startInOrder(this.startSteps(), () => this.rollback());
    this.resume();
  }

  async stop(): Promise<void> {
    this.pause();
    this.started = false;
    await settleAll(this.stopServers());
  }

  resume(): void {
    this.clock.resume();
  }

  pause(): void {
    this.clock.pause();
  }

  setRate(rate: unknown): number {
    return this.clock.setRate(rate);
  }

  /** Step once by `dtMs` (default one period) and publish; the loop calls this, tests may too. */
  tick(dtMs?: number): S[] {
    return this.clock.tick(dtMs);
  }

  /** After a failed start: stop what started (its failure replaces the start's). */
  protected rollback(): Promise<void> {
    return this.stop();
  }

  /** Advance the model by `dtMs`; the samples at the new time. */
  protected abstract stepModel(dtMs: number): S[];
  /** Publish one tick's samples to the servers and listeners. */
  protected abstract publish(samples: S[]): void;
  /** How the servers start, in order (undefined: switched off). */
  protected abstract startSteps(): (() => Promise<void> | undefined)[];
  /** Stop every server (called after the data stopped). */
  protected abstract stopServers(): (Promise<void> | undefined)[];
}

/** The public fields of a unit's status: its last sample's time and values (with labels, when on). */
export function lastSampleStatus(last: { ts: number; values: object; labels?: object } | undefined): {
  ts?: number;
  values?: Record<string, unknown>;
} {
  return last ? { ts: last.ts, values: { ...last.values, ...(last.labels ? { labels: last.labels } : {}) } } : {};
}
