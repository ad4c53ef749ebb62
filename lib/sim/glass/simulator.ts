/**
 * The live glass-line simulator: a plant stepped on the wall clock at a configurable rate, served
 * over Modbus TCP (two PLCs per line) and OPC UA, with an optional inspection camera over the first
 * line (or `camera.line`) whose defect rates and ribbon speed follow the process every simulated
 * second, controlled through the HTTP API, the OPC UA methods or code. Mirrors CncSimulator.
 */
import { LineGuardError } from "../../errors";
import { checkRate } from "../cnc/simulator";
import type { DefectClass, RibbonCamera } from "../camera/render";
import type { CameraServer } from "../camera/server";
import {
  GLASS_DEFECT_CLASSES,
  GlassLine,
  GlassPlant,
  GlassPlantOptions,
  GlassSample,
  isGlassFailureType,
  simError,
} from "./model";
import { GlassModbusServer, ModbusSimOptions } from "./modbus-server";
import { GlassOpcuaServer, OpcuaSimOptions } from "./opcua-server";
import { CameraStatus, GlassHttpControlServer, GlassSimControl, HttpControlOptions, LineStatus } from "./http-control";

export interface GlassCameraOptions {
  /** Line whose ribbon the camera watches. Default: the first line. */
  line?: string;
  /** Default 8091; 0 picks a free one. */
  port?: number;
  /** Default 127.0.0.1 (or the simulator's host). */
  host?: string;
  /** MJPEG stream frame rate. Default 2. */
  fps?: number;
  user?: string;
  password?: string;
  width?: number;
  height?: number;
  /** Expected defects per frame at normal operation. Default 0.3. */
  defectRate?: number;
  /** JPEG quality. */
  quality?: number;
}

export interface GlassSimulatorOptions extends GlassPlantOptions {
  /** Samples per second per line, 0.1 to 1000. Default 1. */
  rate?: number;
  /** Modbus TCP server options, or false for none. Default: on, port 5020. */
  modbus?: ModbusSimOptions | false;
  /** OPC UA server options, or false for none. Default: on, port 4841. */
  opcua?: OpcuaSimOptions | false;
  /** HTTP control API options, or false for none. Default: on, port 8090. */
  http?: HttpControlOptions | false;
  /** Inspection camera (lib/sim/camera, needs sharp), or false for none. Default: off. */
  camera?: GlassCameraOptions | false;
  /** Called with every batch of samples (one per line). */
  onSamples?: (samples: GlassSample[]) => void;
}

export const DEFAULT_CAMERA_PORT = 8091;
const MAX_CATCH_UP_MS = 24 * 3600 * 1000;
const CAMERA_SYNC_MS = 1000;

function lineStatus(l: GlassLine): LineStatus {
  const f = l.activeFailure;
  const last = l.lastSample;
  return {
    id: l.id,
    state: l.currentState,
    failure: f ? { ...f } : null,
    defectRates: l.defectRateMultipliers(),
    ribbonSpeed: l.ribbonSpeed(),
    ...(last ? { ts: last.ts, values: { ...last.values, ...(last.labels ? { labels: last.labels } : {}) } } : {}),
  };
}

export class GlassSimulator implements GlassSimControl {
  readonly plant: GlassPlant;
  readonly modbus: GlassModbusServer | undefined;
  readonly opcua: GlassOpcuaServer | undefined;
  readonly http: GlassHttpControlServer | undefined;
  /** The camera renderer, once started (camera option on). */
  camera: RibbonCamera | undefined;
  cameraServer: CameraServer | undefined;
  private readonly cameraOpts: GlassCameraOptions | undefined;
  private readonly cameraLine: GlassLine | undefined;
  private rate: number;
  private running = false;
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private simNow = 0;
  private lastCameraSync = -Infinity;
  private readonly onSamples: ((samples: GlassSample[]) => void) | undefined;
  private ticks = 0;

  constructor(opts: GlassSimulatorOptions = {}) {
    this.rate = checkRate(opts.rate ?? 1);
    this.simNow = opts.startTs ?? Date.now();
    this.plant = new GlassPlant({ ...opts, startTs: this.simNow });
    this.modbus = opts.modbus === false ? undefined : new GlassModbusServer(this.plant, opts.modbus ?? {});
    this.opcua = opts.opcua === false ? undefined : new GlassOpcuaServer(this.plant, opts.opcua ?? {});
    this.http = opts.http === false ? undefined : new GlassHttpControlServer(this, opts.http ?? {});
    if (opts.camera) {
      this.cameraOpts = opts.camera;
      this.cameraLine = opts.camera.line ? this.plant.get(opts.camera.line) : this.plant.lines[0];
    }
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
      await this.modbus?.start();
      await this.opcua?.start();
      await this.startCamera();
      await this.http?.start();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
    this.resume();
  }

  private async startCamera(): Promise<void> {
    const o = this.cameraOpts;
    if (!o || this.cameraServer) return;
    // Loaded here: the renderer needs sharp, which the rest of the simulator does not.
    const { RibbonCamera } = await import("../camera/render");
    const { startCameraServer } = await import("../camera/server");
    const cam = new RibbonCamera({
      width: o.width,
      height: o.height,
      defectRate: o.defectRate,
      quality: o.quality,
      seed: this.cameraLine ? hashSeed(this.cameraLine.id) : 1,
      ribbonSpeed: this.cameraLine?.ribbonSpeed(),
    });
    this.camera = cam;
    this.cameraServer = await startCameraServer(cam, {
      host: o.host,
      port: o.port ?? DEFAULT_CAMERA_PORT,
      fps: o.fps ?? 2,
      user: o.user,
      password: o.password,
    });
    this.syncCamera(true);
  }

  async stop(): Promise<void> {
    this.pause();
    this.started = false;
    const cam = this.cameraServer;
    this.cameraServer = undefined;
    const results = await Promise.allSettled([
      this.http?.stop(),
      cam?.close(),
      this.opcua?.stop(),
      this.modbus?.stop(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  resume(): void {
    if (this.running) return;
    this.running = true;
    const now = Date.now();
    this.catchUp(now - 1000 / this.rate);
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
  tick(dtMs = 1000 / this.rate): GlassSample[] {
    const samples = this.plant.step(dtMs);
    this.simNow += dtMs;
    this.ticks++;
    this.modbus?.update(samples);
    this.opcua?.update(samples);
    this.syncCamera();
    this.onSamples?.(samples);
    return samples;
  }

  /** Camera class rates and ribbon speed from the model, once per simulated second. */
  private syncCamera(force = false): void {
    const cam = this.camera;
    const line = this.cameraLine;
    if (!cam || !line) return;
    if (!force && this.simNow - this.lastCameraSync < CAMERA_SYNC_MS) return;
    this.lastCameraSync = this.simNow;
    cam.setClassRates(line.defectRateMultipliers());
    cam.setRibbonSpeed(line.ribbonSpeed());
  }

  private catchUp(until: number): void {
    const gap = Math.min(until - this.simNow, MAX_CATCH_UP_MS);
    if (gap > 0) {
      this.plant.step(gap);
      this.simNow += gap;
    }
  }

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

  // GlassSimControl

  private cameraStatus(): CameraStatus | null {
    const cam = this.camera;
    const line = this.cameraLine;
    if (!cam || !line || !this.cameraServer) return null;
    return {
      line: line.id,
      url: this.cameraServer.url,
      defectRate: cam.defectRate,
      classRates: line.defectRateMultipliers(),
      ribbonSpeed: line.ribbonSpeed(),
    };
  }

  status(): ReturnType<GlassSimControl["status"]> {
    const endpoints: Record<string, string> = {};
    if (this.modbus) endpoints.modbus = this.modbus.url;
    if (this.opcua) endpoints.opcua = this.opcua.endpointUrl;
    if (this.cameraServer) endpoints.camera = this.cameraServer.url;
    if (this.http) endpoints.http = this.http.url;
    return {
      running: this.running,
      rate: this.rate,
      lines: this.plant.lines.map(lineStatus),
      endpoints,
      camera: this.cameraStatus(),
    };
  }

  line(id: string): LineStatus {
    return lineStatus(this.plant.get(id));
  }

  inject(id: string, type: unknown, rampSeconds: unknown = 600, zone?: unknown): LineStatus {
    const l = this.plant.get(id);
    if (!isGlassFailureType(type)) throw simError("unknown-failure", `unknown failure type "${String(type)}"`);
    if (zone !== undefined && typeof zone !== "number") throw simError("bad-zone", "zone must be a number 1..6");
    l.inject(type, rampSeconds as number, zone as number | undefined);
    this.syncCamera(true);
    return lineStatus(l);
  }

  clear(id: string): LineStatus {
    const l = this.plant.get(id);
    l.clear();
    this.syncCamera(true);
    return lineStatus(l);
  }

  maintenance(id: string, seconds?: unknown): LineStatus {
    const l = this.plant.get(id);
    l.startMaintenance(seconds === undefined ? undefined : (seconds as number));
    this.syncCamera(true);
    return lineStatus(l);
  }

  acknowledge(id: string): LineStatus {
    const l = this.plant.get(id);
    l.acknowledgeAlarms();
    return lineStatus(l);
  }

  cameraInject(cls: unknown, count: unknown = 1): CameraStatus {
    const cam = this.camera;
    if (!cam) throw new LineGuardError("no-camera", "the simulator runs without a camera", { retriable: false });
    if (typeof cls !== "string" || !(GLASS_DEFECT_CLASSES as readonly string[]).includes(cls)) {
      throw simError("bad-class", `cls must be one of ${GLASS_DEFECT_CLASSES.join(", ")}`);
    }
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 100) {
      throw simError("bad-count", "count must be an integer 1..100");
    }
    cam.inject(cls as DefectClass, count);
    return this.cameraStatus()!;
  }
}

function hashSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
