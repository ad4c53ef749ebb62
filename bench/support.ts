/** Helpers shared by the benchmarks in bench/<name>/run.ts. */
import { monitorEventLoopDelay } from "node:perf_hooks";

/** A count with thousands separators. */
export const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");

/** The middle value (the upper one of the two middles for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Nearest-rank percentile p (0..100). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Resolves with `p`, or rejects after `ms` saying what was still awaited. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Event-loop delay histogram over `fn`; returns fn's result and the p99 in ms. */
export async function withLag<T>(fn: () => Promise<T>): Promise<{ value: T; lagP99: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const value = await fn();
    return { value, lagP99: h.percentile(99) / 1e6 };
  } finally {
    h.disable();
  }
}
