/** Small numeric helpers of the simulators' models. */

/** Round to `d` decimals. */
export const round = (v: number, d = 3) => {
  const f = 10 ** d;
  return Math.round(v * f) / f;
};

/** First-order lag: move `cur` towards `target` with time constant `tauS` over `dtMs`. */
export const lag = (cur: number, target: number, tauS: number, dtMs: number) =>
  target + (cur - target) * Math.exp(-dtMs / 1000 / tauS);

export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
