/**
 * The one status vocabulary: green dot = ok, yellow ring = connecting/busy, red ring = error,
 * grey ring = idle/closed. Texts come translated from the caller (RED._), never raw secrets.
 */
import type { NodeStatus } from "node-red";
import { redact } from "../../lib/redact";

export type StatusTarget = { status(s: NodeStatus | string): void };

const MAX_TEXT = 96;

function clip(text: string, secrets: readonly string[]): string {
  const t = redact(text, secrets).replace(/\s+/g, " ").trim();
  return t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT - 1)}…` : t;
}

export function statusOk(text: string, secrets: readonly string[] = []): NodeStatus {
  return { fill: "green", shape: "dot", text: clip(text, secrets) };
}
export function statusBusy(text: string, secrets: readonly string[] = []): NodeStatus {
  return { fill: "yellow", shape: "ring", text: clip(text, secrets) };
}
export function statusError(text: string, secrets: readonly string[] = []): NodeStatus {
  return { fill: "red", shape: "ring", text: clip(text, secrets) };
}
export function statusIdle(text: string, secrets: readonly string[] = []): NodeStatus {
  return { fill: "grey", shape: "ring", text: clip(text, secrets) };
}

/**
 * Status updates at high message rates are throttled: the latest one wins and is shown at most
 * every `intervalMs`. Error states always show at once.
 */
export class StatusThrottle {
  private last = 0;
  private pending: NodeStatus | undefined;
  private timer: NodeJS.Timeout | undefined;
  private current = "";

  constructor(
    private readonly target: StatusTarget,
    private readonly intervalMs = 500,
  ) {}

  set(s: NodeStatus, immediate = false): void {
    const key = `${s.fill}|${s.shape}|${s.text}`;
    if (key === this.current && !this.pending) return;
    const now = Date.now();
    if (immediate || s.fill === "red" || now - this.last >= this.intervalMs) {
      this.flush(s, now);
      return;
    }
    this.pending = s;
    if (!this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          if (this.pending) this.flush(this.pending, Date.now());
        },
        this.intervalMs - (now - this.last),
      );
    }
  }

  private flush(s: NodeStatus, now: number): void {
    this.pending = undefined;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.last = now;
    this.current = `${s.fill}|${s.shape}|${s.text}`;
    this.target.status(s);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}

/**
 * `fn` at most once per `ms`: the first call of a burst schedules it, later calls in the window
 * join that run. For per-message status redraws (counters), which StatusThrottle would let through
 * at once whenever the status is red. After cancel() nothing runs any more.
 */
export function coalesced(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const soon = (): void => {
    if (timer || cancelled) return;
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  soon.cancel = (): void => {
    cancelled = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return soon;
}
