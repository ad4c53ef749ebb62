/**
 * Checks of numeric node settings, shared by the nodes' config.ts files. Values typed into the editor
 * arrive as strings (or as numbers from hand-written flows); both are accepted. No Node-RED import.
 */

/** A finite number in [min, max] (an integer when `integer`), else an Error naming the setting. */
export function numberSetting(v: unknown, name: string, min = -Infinity, max = Infinity, integer = false): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v.trim()) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const what = integer ? "an integer" : "a number";
    const range = Number.isFinite(min) && Number.isFinite(max) ? ` from ${min} to ${max}` : "";
    throw new Error(`${name} must be ${what}${range}, got "${String(v).slice(0, 40)}"`);
  }
  return n;
}

/** An integer in [min, max]. */
export function intSetting(v: unknown, name: string, min = -Infinity, max = Infinity): number {
  return numberSetting(v, name, min, max, true);
}
