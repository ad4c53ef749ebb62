/**
 * HTTP control API of the CNC simulator (JSON, 127.0.0.1 by default), reachable from a flow's
 * http request node or curl:
 *   GET    /health                         -> {ok: true}
 *   GET    /status                         -> {running, rate, machines: [...], endpoints}
 *   GET    /machines                       -> [{id, vendor, state, program, partCount, failure, ts, values}]
 *   GET    /machines/:id                   -> one machine
 *   POST   /machines/:id/failure           {type, rampSeconds?}   inject a failure
 *   DELETE /machines/:id/failure                                  clear it
 *   POST   /machines/:id/maintenance       {seconds?}             start maintenance
 *   PUT    /rate  (or POST)                {rate}                 samples per second per machine
 *   POST   /start, POST /stop                                     resume / pause the data
 * Errors: {error: code, message} with 400 (bad input), 404 (unknown machine/route), 405, 413.
 */
import { HttpControlOptions, JsonHttpServer, commonRoutes } from "../common/http-server";

export type { HttpControlOptions };

export interface MachineStatus {
  id: string;
  vendor: string;
  state: string;
  program: string;
  partCount: number;
  failure: { type: string; severity: number; rampSeconds: number } | null;
  ts?: number;
  values?: Record<string, unknown>;
}

/** What the HTTP API drives; CncSimulator implements it. */
export interface SimControl {
  status(): { running: boolean; rate: number; machines: MachineStatus[]; endpoints: Record<string, string> };
  machine(id: string): MachineStatus;
  inject(id: string, type: unknown, rampSeconds?: unknown): MachineStatus;
  clear(id: string): MachineStatus;
  maintenance(id: string, seconds?: unknown): MachineStatus;
  setRate(rate: unknown): number;
  resume(): void;
  pause(): void;
}

export const DEFAULT_HTTP_PORT = 8089;

export class HttpControlServer extends JsonHttpServer {
  constructor(control: SimControl, opts: HttpControlOptions = {}) {
    const routes = commonRoutes(control, {
      name: "machines",
      list: () => control.status().machines,
      get: (id) => control.machine(id),
      inject: (id, body) => control.inject(id, body.type, body.rampSeconds),
    });
    super([routes], opts, DEFAULT_HTTP_PORT, ["unknown-machine"]);
  }
}
