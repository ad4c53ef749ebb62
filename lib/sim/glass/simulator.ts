/**
 * The live glass-line simulator: a plant stepped on the wall clock at a configurable rate, served
 * over Modbus TCP (two PLCs per line) and OPC UA, with an optional inspection camera over the first
 * line (or `camera.line`) whose defect rates and ribbon speed follow the process every simulated
 * second, controlled through the HTTP API, the OPC UA methods or code. Mirrors CncSimulator.
 */
import { LineGuardError } from "../../errors";
import { LiveSimulator, lastSampleStatus } from "../common/tick-loop";
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
    ...lastSampleStatus(last),
  };
}

export class GlassSimulator extends LiveSimulator<GlassSample> implements GlassSimControl {
  readonly plant: GlassPlant;
  readonly modbus: GlassModbusServer | undefined;
  readonly opcua: GlassOpcuaServer | undefined;
  readonly http: GlassHttpControlServer | undefined;
  /** The camera renderer, once started (camera option on). */
  camera: RibbonCamera | undefined;
  cameraServer: CameraServer | undefined;
  private readonly cameraOpts: GlassCameraOptions | undefined;
  private readonly cameraLine: GlassLine | undefined;
  private lastCameraSync = -Infinity;
  private readonly onSamples: ((samples: GlassSample[]) => void) | undefined;

  constructor(opts: GlassSimulatorOptions = {}) {
    super(opts.rate ?? 1, opts.startTs ?? Date.now());
    this.plant = new GlassPlant({ ...opts, startTs: this.clock.simNow });
    this.modbus = opts.modbus === false ? undefined : new GlassModbusServer(this.plant, opts.modbus ?? {});
    this.opcua = opts.opcua === false ? undefined : new GlassOpcuaServer(this.plant, opts.opcua ?? {});
    this.http = opts.http === false ? undefined : new GlassHttpControlServer(this, opts.http ?? {});
    if (opts.camera) {
      this.cameraOpts = opts.camera;
      this.cameraLine = opts.camera.line ? this.plant.get(opts.camera.line) : this.plant.lines[0];
    }
    this.onSamples = opts.onSamples;
  }

  protected stepModel(dtMs: number): GlassSample[] {
    return this.plant.step(dtMs);
  }

  protected publish(samples: GlassSample[]): void {
    this.modbus?.update(samples);
    this.opcua?.update(samples);
    this.syncCamera();
    this.onSamples?.(samples);
  }

  protected startSteps() {
    return [() => this.modbus?.start(), () => this.opcua?.start(), () => this.startCamera(), () => this.http?.start()];
  }

  /** A failed start stops what started, quietly: the start's error is the one reported. */
  protected override rollback(): Promise<void> {
    return this.stop().catch(() => undefined);
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

  protected stopServers() {
    const cam = this.cameraServer;
    this.cameraServer = undefined;
    return [this.http?.stop(), cam?.close(), this.opcua?.stop(), this.modbus?.stop()];
  }

  /** Camera class rates and ribbon speed from the model, once per simulated second. */
  private syncCamera(force = false): void {
    const cam = this.camera;
    const line = this.cameraLine;
    if (!cam || !line) return;
    const now = this.clock.simNow;
    if (!force && now - this.lastCameraSync < CAMERA_SYNC_MS) return;
    this.lastCameraSync = now;
    cam.setClassRates(line.defectRateMultipliers());
    cam.setRibbonSpeed(line.ribbonSpeed());
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
      running: this.clock.running,
      rate: this.clock.rate,
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
