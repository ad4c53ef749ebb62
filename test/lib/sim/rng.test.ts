import assert from "node:assert/strict";
import { Rng, deriveSeed } from "../../../lib/sim/cnc/rng";

describe("sim rng", () => {
  it("derives distinct seeds for the one-digit seeds 0..9 (they used to collide)", () => {
    const seen = new Set<number>();
    for (let s = 0; s < 10; s++) seen.add(deriveSeed(s, "cnc-01"));
    assert.equal(seen.size, 10);
  });

  it("keeps the historical value of other seeds (training data stays reproducible)", () => {
    // FNV-1a over "<seed>:<label>" started from the offset basis xor the seed.
    const fnv = (seed: number, text: string): number => {
      let h = 0x811c9dc5 ^ (seed >>> 0);
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      return h >>> 0;
    };
    for (const seed of [10, 42, 500, 1000, 123456])
      assert.equal(deriveSeed(seed, "glass-01"), fnv(seed, `${seed}:glass-01`));
  });

  it("gives different streams for different labels and the same stream for the same seed", () => {
    const a = new Rng(deriveSeed(42, "a"));
    const b = new Rng(deriveSeed(42, "b"));
    const a2 = new Rng(deriveSeed(42, "a"));
    const xa = [a.next(), a.next()];
    assert.deepEqual(xa, [a2.next(), a2.next()]);
    assert.notDeepEqual(xa, [b.next(), b.next()]);
  });
});
