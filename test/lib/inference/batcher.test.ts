import assert from "node:assert/strict";
import { MicroBatcher } from "../../../lib/inference/batcher";

describe("lib/inference/batcher", () => {
  it("runs full batches at once and part batches after the wait, in order", async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        await new Promise((r) => setTimeout(r, 5));
        return xs.map((x) => x * 2);
      },
      4,
      20,
    );
    const res = await Promise.all(Array.from({ length: 10 }, (_, i) => b.add(i)));
    assert.deepEqual(res, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    assert.deepEqual(sizes, [4, 4, 2]);
  });

  it("fails every item of a failed batch and goes on with the next", async () => {
    let n = 0;
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        if (n++ === 0) throw new Error("boom");
        return xs;
      },
      2,
      1,
    );
    const first = await Promise.allSettled([b.add(1), b.add(2)]);
    assert.deepEqual(
      first.map((r) => r.status),
      ["rejected", "rejected"],
    );
    assert.equal(await b.add(3), 3);
  });

  it("rejects a result count mismatch and what waits at close", async () => {
    const b = new MicroBatcher<number, number>(async () => [], 1, 1);
    await assert.rejects(b.add(1), /0 results for 1/);
    const c = new MicroBatcher<number, number>(() => new Promise(() => undefined), 1, 1);
    void c.add(1).catch(() => undefined);
    const p = c.add(2);
    c.close();
    await assert.rejects(p, /closed/);
  });
});
