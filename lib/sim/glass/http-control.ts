/**
 * HTTP control API of the glass simulator (JSON, 127.0.0.1:8090 by default), in the style of the CNC
 * one (lib/sim/cnc/http-control.ts):
 *   GET    /health                         -> {ok: true}
 *   GET    /status                         -> {running, rate, lines: [...], endpoints, camera}
 *   GET    /lines                          -> [{id, state, failure, defectRates, ribbonSpeed, ts, values}]
 *   GET    /lines/:id                      -> one line
 *   POST   /lines/:id/failure              {type, rampSeconds?, zone?}   inject a failure
 *   DELETE /lines/:id/failure                                           clear it
 *   POST   /lines/:id/maintenance          {seconds?}                    start maintenance
 *   POST   /lines/:id/alarms/ack                                         acknowledge latched alarms
 *   PUT    /rate  (or POST)                {rate}                        samples per second per line
 *   POST   /start, POST /stop                                            resume / pause the data
 *   GET    /camera                                                       camera url, rates, ribbon speed
 *   POST   /camera/inject                  {cls, count?}                 force defects into the next frames
 * Errors: {error: code, message} with 400 (bad input), 404 (unknown line/route, no camera), 405, 413.
 */
import { HttpControlOptions, JsonHttpServer, JsonRoute, NO_ROUTE, commonRoutes } from "../common/http-server";

export type { HttpControlOptions };

export interface LineStatus {
  id: string;
  state: string;
  failure: { type: string; severity: number; rampSeconds: number; zone?: number } | null;
  /** Camera defect-rate multipliers from the developing failure. */
  defectRates: Record<string, number>;
  ribbonSpeed: number;
  ts?: number;
  values?: Record<string, unknown>;
}

export interface CameraStatus {
  line: string;
  url: string;
  defectRate: number;
  classRates: Record<string, number>;
  ribbonSpeed: number;
}

/** What the HTTP API drives; GlassSimulator implements it. */
export interface GlassSimControl {
  status(): {
    running: boolean;
    rate: number;
    lines: LineStatus[];
    endpoints: Record<string, string>;
    camera: CameraStatus | null;
  };
  line(id: string): LineStatus;
  inject(id: string, type: unknown, rampSeconds?: unknown, zone?: unknown): LineStatus;
  clear(id: string): LineStatus;
  maintenance(id: string, seconds?: unknown): LineStatus;
  acknowledge(id: string): LineStatus;
  setRate(rate: unknown): number;
  resume(): void;
  pause(): void;
  /** Throws LineGuardError "no-camera" when the simulator runs without a camera. */
  cameraInject(cls: unknown, count?: unknown): CameraStatus;
}

export const DEFAULT_GLASS_HTTP_PORT = 8090;

export class GlassHttpControlServer extends JsonHttpServer {
  constructor(control: GlassSimControl, opts: HttpControlOptions = {}) {
    const camera: JsonRoute = async (r) => {
      if (r.parts[0] !== "camera") return NO_ROUTE;
      if (r.parts.length === 1) {
        r.only("GET");
        return control.status().camera;
      }
      if (r.parts.length === 2 && r.parts[1] === "inject") {
        r.only("POST");
        const body = await r.body();
        return control.cameraInject(body.cls ?? body.class, body.count);
      }
      return NO_ROUTE;
    };
    const lines = commonRoutes(control, {
      name: "lines",
      list: () => control.status().lines,
      get: (id) => control.line(id),
      inject: (id, body) => control.inject(id, body.type, body.rampSeconds, body.zone),
      more: (r, id) => {
        if (r.parts.length === 4 && r.parts[2] === "alarms" && r.parts[3] === "ack") {
          r.only("POST");
          return control.acknowledge(id);
        }
        return NO_ROUTE;
      },
    });
    super([camera, lines], opts, DEFAULT_GLASS_HTTP_PORT, ["unknown-line", "no-camera"]);
  }
}
