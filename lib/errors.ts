/**
 * Typed errors with a `retriable` flag. One retry policy (lib/retry.ts) decides what to do with them.
 */
export class LineGuardError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  override readonly cause?: unknown;

  constructor(code: string, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message);
    this.name = "LineGuardError";
    this.code = code;
    this.retriable = opts.retriable ?? false;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
}

/** True when an error says "try again later" (network, broker down, 5xx, throttling). */
export function isRetriable(err: unknown): boolean {
  if (err instanceof LineGuardError) return err.retriable;
  if (err && typeof err === "object" && "retriable" in err) {
    return Boolean((err as { retriable: unknown }).retriable);
  }
  return false;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
