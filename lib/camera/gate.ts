/**
 * Back-pressure between a frame source (camera in) and its consumers (detect), across Node-RED
 * wires, by tickets in a module-level registry:
 *
 *   - every frame the gate emits carries `payload.ticket` (a string id);
 *   - a LineGuard consumer calls `claimFrame(ticket)` synchronously when it receives the frame and
 *     `releaseFrame(ticket)` when it is done with it (also on error);
 *   - the gate allows `maxInFlight` (default 1) unreleased tickets; a ticket not claimed within
 *     `claimTimeoutMs` (200 ms) is released on its own; a claimed ticket not released within
 *     `holdTimeoutMs` (60 s) is released too (a stuck consumer never stalls the camera for good);
 *   - while busy the gate keeps only the latest frame and emits it on release; every frame replaced
 *     that way is a drop.
 *
 * Consumers that never claim (camera -> debug) run at full rate: once a ticket of a gate has gone
 * unclaimed for claimTimeoutMs while no ticket of that gate was ever claimed, the gate stops waiting
 * for claims (unclaimed tickets no longer hold a slot). The first claim switches it back for good.
 *
 * Claims count: a frame wired to two consumers is free when both released it. Unknown or already
 * released tickets are ignored (the functions return false). No Node-RED import.
 */

export interface GateStats {
  /** Frames emitted. */
  emitted: number;
  /** Frames dropped (replaced by a newer one while the consumers were busy). */
  drops: number;
  /** Tickets holding a slot (claimed, or waiting to be claimed). */
  inFlight: number;
  /** A frame is waiting for a free slot. */
  pending: boolean;
}

export interface FrameGateOptions {
  /** Unreleased tickets allowed at once (default 1). */
  maxInFlight?: number;
  /** Release a ticket nobody claimed after this long (default 200 ms). */
  claimTimeoutMs?: number;
  /** Release a claimed ticket not released after this long (default 60 s). */
  holdTimeoutMs?: number;
  /** Called when the stats change (emit, drop, release). */
  onChange?: (stats: GateStats) => void;
}

export const DEFAULT_CLAIM_TIMEOUT_MS = 200;
export const DEFAULT_HOLD_TIMEOUT_MS = 60_000;

interface Ticket {
  gate: FrameGate<unknown>;
  claims: number;
  /** holds one of the gate's slots */
  slot: boolean;
  timer: NodeJS.Timeout | undefined;
}

const tickets = new Map<string, Ticket>();
let gateSeq = 0;

/**
 * A consumer takes a frame: call synchronously on receipt. Returns false for an unknown ticket
 * (already released, from a closed gate, or not a LineGuard frame).
 */
export function claimFrame(ticket: unknown): boolean {
  if (typeof ticket !== "string") return false;
  const t = tickets.get(ticket);
  if (!t) return false;
  t.claims++;
  if (!t.slot) t.slot = t.gate.takeSlot();
  t.gate.claimed();
  if (t.timer) clearTimeout(t.timer);
  t.timer = setTimeout(() => free(ticket), t.gate.holdTimeoutMs);
  t.timer.unref?.();
  return true;
}

/** A consumer is done with a frame (call it on success and on error). Returns false for an unknown ticket. */
export function releaseFrame(ticket: unknown): boolean {
  if (typeof ticket !== "string") return false;
  const t = tickets.get(ticket);
  if (!t) return false;
  if (t.claims > 1) {
    t.claims--;
    return true;
  }
  free(ticket);
  return true;
}

/** Tickets currently out, over all gates (tests). */
export function openTickets(): number {
  return tickets.size;
}

function free(ticket: string): void {
  const t = tickets.get(ticket);
  if (!t) return;
  tickets.delete(ticket);
  if (t.timer) clearTimeout(t.timer);
  t.gate.onFree(ticket, t.slot);
}

export class FrameGate<T> {
  readonly maxInFlight: number;
  readonly claimTimeoutMs: number;
  readonly holdTimeoutMs: number;
  private readonly id: string;
  private readonly onChange: ((s: GateStats) => void) | undefined;
  private seq = 0;
  private inFlight = 0;
  private pending: { item: T } | undefined;
  private emitted = 0;
  private drops = 0;
  private closed = false;
  /** undefined: not known yet; true: a consumer claims tickets; false: nobody claims (full rate) */
  private claimers: boolean | undefined;
  private readonly mine = new Set<string>();

  /** `emit` delivers a frame with its ticket (put the ticket on the frame). */
  constructor(
    private readonly emit: (item: T, ticket: string) => void,
    opts: FrameGateOptions = {},
  ) {
    this.maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? 1));
    this.claimTimeoutMs = Math.max(1, opts.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS);
    this.holdTimeoutMs = Math.max(1, opts.holdTimeoutMs ?? DEFAULT_HOLD_TIMEOUT_MS);
    this.onChange = opts.onChange;
    this.id = `g${(++gateSeq).toString(36)}-${process.pid.toString(36)}`;
  }

  get stats(): GateStats {
    return { emitted: this.emitted, drops: this.drops, inFlight: this.inFlight, pending: this.pending !== undefined };
  }

  /** Offer a frame: emitted now when a slot is free, else it replaces the waiting one (a drop). */
  offer(item: T): "sent" | "queued" | "replaced" {
    if (this.closed) return "replaced";
    if (this.inFlight < this.maxInFlight) {
      this.send(item);
      return "sent";
    }
    const replaced = this.pending !== undefined;
    if (replaced) this.drops++;
    this.pending = { item };
    this.onChange?.(this.stats);
    return replaced ? "replaced" : "queued";
  }

  /** Forget the waiting frame and every ticket out; the gate emits nothing more. */
  close(): void {
    this.closed = true;
    this.pending = undefined;
    for (const ticket of this.mine) {
      const t = tickets.get(ticket);
      if (t?.timer) clearTimeout(t.timer);
      tickets.delete(ticket);
    }
    this.mine.clear();
    this.inFlight = 0;
  }

  /** @internal a claim came in: from now on this gate waits for claims */
  claimed(): void {
    this.claimers = true;
  }

  /** @internal a late claim of a ticket that held no slot takes one (even over the limit) */
  takeSlot(): boolean {
    if (this.closed) return false;
    this.inFlight++;
    return true;
  }

  /** @internal a ticket of this gate was released */
  onFree(ticket: string, slot: boolean): void {
    this.mine.delete(ticket);
    if (this.closed || !slot) return;
    this.inFlight = Math.max(0, this.inFlight - 1);
    const p = this.pending;
    if (p && this.inFlight < this.maxInFlight) {
      this.pending = undefined;
      this.send(p.item);
    } else {
      this.onChange?.(this.stats);
    }
  }

  private send(item: T): void {
    const ticket = `${this.id}.${(++this.seq).toString(36)}`;
    const slot = this.claimers !== false;
    const t: Ticket = { gate: this as FrameGate<unknown>, claims: 0, slot, timer: undefined };
    t.timer = setTimeout(() => {
      const cur = tickets.get(ticket);
      if (!cur || cur.claims > 0) return;
      if (this.claimers === undefined) this.claimers = false;
      free(ticket);
    }, this.claimTimeoutMs);
    t.timer.unref?.();
    tickets.set(ticket, t);
    this.mine.add(ticket);
    if (slot) this.inFlight++;
    this.emitted++;
    try {
      this.emit(item, ticket);
    } finally {
      this.onChange?.(this.stats);
    }
  }
}
