/**
 * camera in: frames from an HTTP snapshot URL polled at a rate, an MJPEG stream, a watched folder,
 * or input messages, as frame records. Thin glue: sources, parsing, checks and back-pressure live
 * in lib/camera/.
 *
 * Output 1: msg.topic = source id, msg.payload = { source, ts, image, width, height, format, ticket }.
 * Output 2: problems, msg.payload = { code, reason, source } (unreachable camera, wrong content
 *           type, corrupt or truncated image, ...); input mode also ends the message with done(err).
 * Back-pressure: frames carry payload.ticket; LineGuard consumers claim/release it (lib/camera/gate.ts).
 * While they are busy only the latest frame is kept; replaced frames count as drops (status).
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { LineGuardError, errorMessage } from "../../lib/errors";
import { redact } from "../../lib/redact";
import type { FrameRecord } from "../../lib/record";
import { frameFromPayload, toFrame } from "../../lib/camera/frame";
import { FolderWatcher } from "../../lib/camera/folder";
import { FrameGate } from "../../lib/camera/gate";
import {
  FrameSource,
  FrameSourceEvents,
  MjpegClient,
  SnapshotPoller,
  SourceState,
  fetchImage,
  httpTarget,
} from "../../lib/camera/http";
import { Send, onInput } from "../shared/input";
import { StatusThrottle, coalesced, statusBusy, statusError, statusOk } from "../shared/status";
import { CameraInSettings, cameraInConfig, cameraInSettings } from "./config";
import type { CameraInConfig, CameraInCredentials } from "./types";

type CameraNode = Node<CameraInCredentials>;

export = function (RED: NodeAPI): void {
  function CameraInNode(this: CameraNode, def: NodeDef & Partial<CameraInConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: CameraNode, def: NodeDef & Partial<CameraInConfig>): void {
    const cfg = cameraInConfig(def);
    const creds: CameraInCredentials = node.credentials ?? {};
    const urlPassword = (): string => {
      try {
        return decodeURIComponent(new URL(String(cfg.url ?? "")).password);
      } catch {
        return "";
      }
    };
    const secrets = [creds.password ?? "", urlPassword()].filter((x) => x.length > 0);
    const clean = (t: string): string => redact(t, secrets);

    let s: CameraInSettings;
    try {
      s = cameraInSettings(cfg, cfg.name);
    } catch (err) {
      const text = `${RED._("camera-in.errors.setup")}: ${clean(errorMessage(err))}`;
      node.status(statusError(RED._("camera-in.status.badConfig")));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }
    const settings = s;

    const status = new StatusThrottle(node, 500);
    let closing = false;
    let errorText: string | undefined;
    let lastReported: string | undefined;
    let state: SourceState | "idle" = settings.mode === "input" ? "idle" : "connecting";
    let frames = 0;
    const times: number[] = [];

    const render = (): void => {
      if (closing) return;
      const st = gate.stats;
      if (errorText) {
        status.set(statusError(errorText, secrets));
        return;
      }
      if (state === "connecting" || state === "waiting") {
        status.set(statusBusy(RED._("lineguard.status.connecting")));
        return;
      }
      let fps = 0;
      if (times.length >= 2 && Date.now() - times[times.length - 1] < 5000) {
        fps = ((times.length - 1) * 1000) / Math.max(1, times[times.length - 1] - times[0]);
      }
      const text =
        settings.mode === "input" || settings.mode === "folder" || frames < 2
          ? RED._("camera-in.status.frames", { frames, drops: st.drops })
          : RED._("camera-in.status.running", { fps: fps.toFixed(fps < 10 ? 1 : 0), drops: st.drops });
      status.set(statusOk(text));
    };
    const redraw = coalesced(render, 200);

    const gate = new FrameGate<FrameRecord>(
      (frame, ticket) => {
        if (closing) return;
        node.send([{ topic: frame.source, payload: { ...frame, ticket } }, null]);
      },
      { maxInFlight: settings.maxInFlight, onChange: () => redraw() },
    );

    const accept = (frame: FrameRecord): void => {
      if (closing) return;
      frames++;
      times.push(Date.now());
      if (times.length > 20) times.shift();
      errorText = undefined;
      lastReported = undefined;
      gate.offer(frame);
      redraw();
    };

    /** A problem of a running source: red status, output 2, and node.error once per distinct text. */
    const problem = (err: LineGuardError): void => {
      if (closing) return;
      const reason = clean(err.message);
      errorText = reason;
      node.send([null, { topic: settings.source, payload: { code: err.code, reason, source: settings.source } }]);
      if (reason !== lastReported) {
        lastReported = reason;
        node.error(`${RED._("camera-in.errors.source")}: ${reason}`, {
          topic: settings.source,
          payload: { code: err.code, reason, source: settings.source },
        });
      }
      render();
    };

    const events: FrameSourceEvents = {
      onFrame: accept,
      onError: problem,
      onState: (st) => {
        if (closing) return;
        state = st;
        // a connection that is up again clears a connection problem; frame problems clear with the next frame
        if (st === "connected") errorText = undefined;
        render();
      },
    };

    let source: FrameSource | undefined;
    const http = { url: settings.url, source: settings.source, user: creds.user, password: creds.password };
    try {
      if (settings.mode === "mjpeg") {
        source = new MjpegClient(
          { ...http, timeoutMs: settings.timeoutMs, maxFrameBytes: settings.maxFrameBytes },
          events,
        );
      } else if (settings.mode === "http-snapshot" && settings.intervalMs > 0) {
        source = new SnapshotPoller(
          {
            ...http,
            intervalMs: settings.intervalMs,
            timeoutMs: settings.timeoutMs,
            maxFrameBytes: settings.maxFrameBytes,
          },
          events,
        );
      } else if (settings.mode === "folder") {
        source = new FolderWatcher(
          {
            dir: settings.folder,
            source: settings.source,
            afterRead: settings.afterRead,
            ...(settings.afterRead === "move" ? { moveTo: settings.moveTo } : {}),
            maxFrameBytes: settings.maxFrameBytes,
          },
          events,
        );
      }
    } catch (err) {
      const text = `${RED._("camera-in.errors.setup")}: ${clean(errorMessage(err))}`;
      node.status(statusError(RED._("camera-in.status.badConfig")));
      node.error(text);
      return;
    }
    if (source) {
      status.set(statusBusy(RED._("lineguard.status.connecting")), true);
      source.start();
    } else {
      render();
    }

    const triggered = settings.mode === "http-snapshot" && settings.intervalMs === 0;
    const target = triggered ? httpTarget(http) : undefined;

    onInput(
      node,
      async (msg: NodeMessageInFlow, send: Send) => {
        let frame: FrameRecord;
        try {
          if (target) {
            const { body } = await fetchImage(target, settings.timeoutMs, settings.maxFrameBytes);
            frame = toFrame(body, settings.source, Date.now(), settings.maxFrameBytes);
          } else {
            const topic = typeof msg.topic === "string" && msg.topic !== "" ? msg.topic : settings.source;
            const fallback = String(cfg.sourceId ?? "").trim() || topic;
            frame = frameFromPayload(msg.payload, fallback, settings.maxFrameBytes);
          }
        } catch (err) {
          const e = err instanceof LineGuardError ? err : new LineGuardError("error", errorMessage(err));
          const reason = clean(e.message);
          send([
            null,
            { topic: msg.topic ?? settings.source, payload: { code: e.code, reason, source: settings.source } },
          ]);
          errorText = reason;
          throw new LineGuardError(e.code, reason);
        }
        accept(frame);
      },
      { secrets: () => secrets },
    );

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      redraw.cancel();
      status.stop();
      gate.close();
      (source ? source.stop() : Promise.resolve()).then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType<CameraNode, NodeDef & Partial<CameraInConfig>, object, CameraInCredentials>(
    "camera-in",
    CameraInNode,
    {
      credentials: {
        user: { type: "text" },
        password: { type: "password" },
      },
    },
  );
};
