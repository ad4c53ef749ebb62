/**
 * The live CNC simulator: a fleet stepped on the wall clock at a configurable rate, published to an
 * OPC UA server and/or an MQTT collector, controlled through the OPC UA methods, the HTTP API or code.
 */
import { CncFleet, CncMachine, CncSample, FleetOptions, isFailureType, simError } from "./model";
import { CncOpcuaServer, OpcuaSimOptions } from "./opcua-server";
import { CncMqttCollector, MqttSimOptions } from "./mqtt-collector";
import { HttpControlOptions, HttpControlServer, MachineStatus, SimControl } from "./http-control";

export interface SimulatorOptions extends FleetOptions {
  /** Samples per second per machine, 0.1 to 1000. Default 1. */
  rate?: number;
  /** OPC UA server options, or false for none. Default: on, port 4840. */
  opcua?: OpcuaSimOptions | false;
  /** MQTT collector options, or false for none. Default: off. */
  mqtt?: MqttSimOptions | false;
  /** HTTP control API options, or false for none. Default: on, port 8089. */
  http?: HttpControlOptions | false;
  /** Called with every batch of samples (one per machine). */
  onSamples?: (samples: CncSample[]) => void;
}

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

function machineStatus(m: CncMachine): MachineStatus {
  const f = m.activeFailure;
  const last = m.lastSample;
  return {
    id: m.id,
    vendor: m.vendor,
    state: m.currentState,
    program: m.program.name,
    partCount: m.parts,
    failure: f ? { type: f.type, severity: f.severity, rampSeconds: f.rampSeconds } : null,
    ...(last ? { ts: last.ts, values: { ...last.values, ...(last.labels ? { labels: last.labels } : {}) } } : {}),
  };
}

export class CncSimulator implements SimControl {
  readonly fleet: CncFleet;
  readonly opcua: CncOpcuaServer | undefined;
  readonly mqtt: CncMqttCollector | undefined;
  readonly http: HttpControlServer | undefined;
  private rate: number;
  private running = false;
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private simNow = 0;
  private readonly onSamples: ((samples: CncSample[]) => void) | undefined;
  private ticks = 0;

  constructor(opts: SimulatorOptions = {}) {
    this.rate = checkRate(opts.rate ?? 1);
    this.simNow = opts.startTs ?? Date.now();
    this.fleet = new CncFleet({ ...opts, startTs: this.simNow });
    this.opcua = opts.opcua === false ? undefined : new CncOpcuaServer(this.fleet, opts.opcua ?? {});
    this.mqtt = opts.mqtt ? new CncMqttCollector(opts.mqtt) : undefined;
    this.http = opts.http === false ? undefined : new HttpControlServer(this, opts.http ?? {});
    this.onSamples = opts.onSamples;
  }

  get tickCount(): number {
    return this.ticks;
  }

  /** Start the servers, then the data. Stops what it started when one of them fails. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.opcua?.start();
      await this.mqtt?.start();
      await this.http?.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.resume();
  }

  async stop(): Promise<void> {
    this.pause();
    this.started = false;
    const results = await Promise.allSettled([this.http?.stop(), this.mqtt?.stop(), this.opcua?.stop()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  resume(): void {
    if (this.running) return;
    this.running = true;
    // The machines keep wall-clock time while paused (only the output stops): catch up silently.
    const now = Date.now();
    this.catchUp(now - 1000 / this.rate);
    // First sample now, so every output has values (and Good status) from the start.
    try {
      this.tick(Math.max(1, now - this.simNow));
    } catch {
      // a listener failed; the simulation keeps going
    }
    this.schedule();
  }

  pause(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  setRate(rate: unknown): number {
    this.rate = checkRate(rate);
    if (this.running) {
      if (this.timer) clearTimeout(this.timer);
      this.schedule();
    }
    return this.rate;
  }

  /** Step once by `dtMs` (default one period) and publish; the loop calls this, tests may too. */
  tick(dtMs = 1000 / this.rate): CncSample[] {
    const samples = this.fleet.step(dtMs);
    this.simNow += dtMs;
    this.ticks++;
    this.opcua?.update(samples);
    this.mqtt?.publish(samples);
    this.onSamples?.(samples);
    return samples;
  }

  /** Advance the machines to `until` without publishing. */
  private catchUp(until: number): void {
    const gap = Math.min(until - this.simNow, MAX_CATCH_UP_MS);
    if (gap > 0) {
      this.fleet.step(gap);
      this.simNow += gap;
    }
  }

  /** Next tick one period after the last sample (samples are exactly one period apart). */
  private schedule(): void {
    if (!this.running) return;
    const due = this.simNow + 1000 / this.rate;
    this.timer = setTimeout(() => this.loop(), Math.max(0, due - Date.now()));
  }

  private loop(): void {
    this.timer = undefined;
    if (!this.running) return;
    const period = 1000 / this.rate;
    const now = Date.now();
    // Timers fire at most about once per millisecond: at high rates one callback emits every sample
    // that is due. After a long stall (GC, suspended laptop) skip ahead silently instead of a burst.
    let due = Math.floor((now - this.simNow) / period);
    const maxBurst = Math.max(2, Math.ceil(this.rate / 4));
    if (due > maxBurst) {
      this.catchUp(now - period);
      due = 1;
    }
    for (let i = 0; i < due && this.running; i++) {
      try {
        this.tick(period);
      } catch {
        // a listener failed; the simulation keeps going
      }
    }
    this.schedule();
  }

  // SimControl

  status(): ReturnType<SimControl["status"]> {
    const endpoints: Record<string, string> = {};
    if (this.opcua) endpoints.opcua = this.opcua.endpointUrl;
    if (this.mqtt) endpoints.mqtt = this.mqtt.url;
    if (this.http) endpoints.http = this.http.url;
    return {
      running: this.running,
      rate: this.rate,
      machines: this.fleet.machines.map(machineStatus),
      endpoints,
    };
  }

  machine(id: string): MachineStatus {
    return machineStatus(this.fleet.get(id));
  }

  inject(id: string, type: unknown, rampSeconds: unknown = 600): MachineStatus {
    const m = this.fleet.get(id);
    if (!isFailureType(type)) throw simError("unknown-failure", `unknown failure type "${String(type)}"`);
    m.inject(type, rampSeconds as number);
    return machineStatus(m);
  }

  clear(id: string): MachineStatus {
    const m = this.fleet.get(id);
    m.clear();
    return machineStatus(m);
  }

  maintenance(id: string, seconds?: unknown): MachineStatus {
    const m = this.fleet.get(id);
    m.startMaintenance(seconds === undefined ? undefined : (seconds as number));
    return machineStatus(m);
  }
}
