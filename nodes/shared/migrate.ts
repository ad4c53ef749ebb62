/**
 * Per-node config versions (convention 10). Every node's defaults carry `version`; a config saved
 * by an older release is upgraded step by step at deploy. Steps are plain functions, tested.
 */
export type Migration = (cfg: Record<string, unknown>) => Record<string, unknown>;

/**
 * Upgrade `cfg` to `current` by applying steps[v] for v = (cfg.version ?? 0) .. current-1.
 * A config newer than `current` is left as it is (a downgrade is not guessed at).
 */
export function migrate<T>(cfg: object, current: number, steps: Record<number, Migration>): T {
  let c = { ...(cfg as Record<string, unknown>) };
  const raw = Number(c.version);
  let v = Number.isInteger(raw) && raw >= 0 ? raw : 0;
  while (v < current) {
    const step = steps[v];
    if (step) c = step(c);
    v++;
    c.version = v;
  }
  return c as T;
}

/**
 * The usual first migration step (0 -> 1, configs saved before versioning): a copy of `cfg` where
 * every setting of `defaults` that is missing (undefined or null, and "" too with emptyIsMissing)
 * takes its default; array defaults are copied. Keys in `skip` are left as they are.
 */
export function fillDefaults(
  cfg: Record<string, unknown>,
  defaults: object,
  opts: { emptyIsMissing?: boolean; skip?: readonly string[] } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg };
  for (const [k, v] of Object.entries(defaults)) {
    if (opts.skip?.includes(k)) continue;
    const cur = out[k];
    if (cur === undefined || cur === null || (opts.emptyIsMissing === true && cur === "")) {
      out[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
    }
  }
  return out;
}
