/**
 * The live CNC simulator: a fleet stepped on the wall clock at a configurable rate, published to an
 * OPC UA server and/or an MQTT collector, controlled through the OPC UA methods, the HTTP API or code.
 */
import { LiveSimulator, MAX_RATE, MIN_RATE, checkRate, lastSampleStatus } from "../common/tick-loop";
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

export { MAX_RATE, MIN_RATE, checkRate };

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
    ...lastSampleStatus(last),
  };
}

export class CncSimulator extends LiveSimulator<CncSample> implements SimControl {
  readonly fleet: CncFleet;
  readonly opcua: CncOpcuaServer | undefined;
  readonly mqtt: CncMqttCollector | undefined;
  readonly http: HttpControlServer | undefined;
  private readonly onSamples: ((samples: CncSample[]) => void) | undefined;

  constructor(opts: SimulatorOptions = {}) {
    super(opts.rate ?? 1, opts.startTs ?? Date.now());
    this.fleet = new CncFleet({ ...opts, startTs: this.clock.simNow });
    this.opcua = opts.opcua === false ? undefined : new CncOpcuaServer(this.fleet, opts.opcua ?? {});
    this.mqtt = opts.mqtt ? new CncMqttCollector(opts.mqtt) : undefined;
    this.http = opts.http === false ? undefined : new HttpControlServer(this, opts.http ?? {});
    this.onSamples = opts.onSamples;
  }

  protected stepModel(dtMs: number): CncSample[] {
    return this.fleet.step(dtMs);
  }

  protected publish(samples: CncSample[]): void {
    this.opcua?.update(samples);
    this.mqtt?.publish(samples);
    this.onSamples?.(samples);
  }

  protected startSteps() {
    return [() => this.opcua?.start(), () => this.mqtt?.start(), () => this.http?.start()];
  }

  protected stopServers() {
    return [this.http?.stop(), this.mqtt?.stop(), this.opcua?.stop()];
  }

  // SimControl

  status(): ReturnType<SimControl["status"]> {
    const endpoints: Record<string, string> = {};
    if (this.opcua) endpoints.opcua = this.opcua.endpointUrl;
    if (this.mqtt) endpoints.mqtt = this.mqtt.url;
    if (this.http) endpoints.http = this.http.url;
    return {
      running: this.clock.running,
      rate: this.clock.rate,
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
