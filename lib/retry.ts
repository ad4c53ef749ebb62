/**
 * One retry policy for every connection: exponential backoff with jitter, modelled on kafkajs
 * retry/defaults (initialRetryTime 300 ms, factor 0.2, multiplier 2, maxRetryTime 30 s).
 * Sinks retry forever while an error is retriable; the policy only says how long to wait.
 */
export interface RetryPolicy {
  /** First delay in ms. */
  initialMs: number;
  /** Upper bound of any delay in ms. */
  maxMs: number;
  /** Growth per attempt. */
  multiplier: number;
  /** Random spread, 0..1: the delay is d * (1 +- factor). */
  factor: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 300, maxMs: 30_000, multiplier: 2, factor: 0.2 };

/** Delay before attempt `attempt` (0-based: the delay after the first failure is attempt 0). */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.multiplier, Math.max(0, attempt)));
  const spread = base * policy.factor;
  const d = base - spread + random() * 2 * spread;
  return Math.max(0, Math.min(policy.maxMs, Math.round(d)));
}

/** Merge user settings (possibly strings from the editor) over the defaults. */
export function retryPolicy(partial: Partial<Record<keyof RetryPolicy, unknown>> = {}): RetryPolicy {
  const num = (v: unknown, d: number, min: number): number => {
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
    return typeof n === "number" && Number.isFinite(n) && n >= min ? n : d;
  };
  return {
    initialMs: num(partial.initialMs, DEFAULT_RETRY.initialMs, 1),
    maxMs: num(partial.maxMs, DEFAULT_RETRY.maxMs, 1),
    multiplier: num(partial.multiplier, DEFAULT_RETRY.multiplier, 1),
    factor: Math.min(1, num(partial.factor, DEFAULT_RETRY.factor, 0)),
  };
}
