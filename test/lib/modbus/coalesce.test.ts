import assert from "node:assert/strict";
import { coalesceOptions, planReads, plannedAddresses } from "../../../lib/modbus/coalesce";
import { type RegisterDef, validateMap } from "../../../lib/modbus/map";

const shape = (defs: RegisterDef[], opts = {}) =>
  planReads(defs, opts).map(
    (r) => `${r.area}:${r.address}+${r.count}[${r.items.map((i) => `${i.def.name}@${i.offset}`).join(",")}]`,
  );

describe("modbus read planning (coalescing)", () => {
  const map = validateMap([
    { name: "z3", area: "holding", address: 104, type: "float32" },
    { name: "z1", area: "holding", address: 100, type: "float32" },
    { name: "z2", area: "holding", address: 102, type: "float32" },
    { name: "far", area: "holding", address: 300, type: "int16" },
    { name: "near", area: "holding", address: 116, type: "uint16" },
    { name: "i1", area: "input", address: 0, type: "int32" },
    { name: "c2", area: "coil", address: 9 },
    { name: "c1", area: "coil", address: 0 },
    { name: "d1", area: "discrete", address: 1000 },
  ]);

  it("merges neighbours per area within span and gap, ordered coil, discrete, input, holding", () => {
    assert.deepEqual(shape(map), [
      "coil:0+10[c1@0,c2@9]",
      "discrete:1000+1[d1@0]",
      "input:0+2[i1@0]",
      "holding:100+17[z1@0,z2@2,z3@4,near@16]",
      "holding:300+1[far@0]",
    ]);
    assert.equal(plannedAddresses(planReads(map)), 10 + 1 + 2 + 17 + 1);
  });

  it("max gap 0 reads contiguous runs only", () => {
    assert.deepEqual(shape(map, { maxGap: 0, maxBitGap: 0 }), [
      "coil:0+1[c1@0]",
      "coil:9+1[c2@0]",
      "discrete:1000+1[d1@0]",
      "input:0+2[i1@0]",
      "holding:100+6[z1@0,z2@2,z3@4]",
      "holding:116+1[near@0]",
      "holding:300+1[far@0]",
    ]);
  });

  it("splits at the max span; an entry never straddles two requests", () => {
    assert.deepEqual(
      shape(
        map.filter((d) => d.area === "holding"),
        { maxSpan: 5 },
      ),
      ["holding:100+4[z1@0,z2@2]", "holding:104+2[z3@0]", "holding:116+1[near@0]", "holding:300+1[far@0]"],
    );
    const bits = validateMap(Array.from({ length: 10 }, (_, i) => ({ name: `c${i}`, area: "coil", address: i * 500 })));
    assert.deepEqual(
      planReads(bits).map((r) => [r.address, r.count]),
      [
        [0, 1],
        [500, 1],
        [1000, 1],
        [1500, 1],
        [2000, 1],
        [2500, 1],
        [3000, 1],
        [3500, 1],
        [4000, 1],
        [4500, 1],
      ],
      "gap 499 > default bit gap 100",
    );
    assert.deepEqual(
      planReads(bits, { maxBitGap: 500 }).map((r) => [r.address, r.count]),
      [
        [0, 1501],
        [2000, 1501],
        [4000, 501],
      ],
    );
  });

  it("a string longer than the span gets a request of its own", () => {
    const defs = validateMap([
      { name: "a", area: "input", address: 0, type: "int16" },
      { name: "s", area: "input", address: 1, type: "string", length: 50 },
      { name: "b", area: "input", address: 51, type: "int16" },
    ]);
    assert.deepEqual(shape(defs, { maxSpan: 20 }), ["input:0+1[a@0]", "input:1+50[s@0]", "input:51+1[b@0]"]);
    assert.deepEqual(shape(defs), ["input:0+52[a@0,s@1,b@51]"]);
  });

  it("checks its limits", () => {
    assert.deepEqual(coalesceOptions(), { maxSpan: 120, maxBitSpan: 2000, maxGap: 10, maxBitGap: 100 });
    assert.throws(() => coalesceOptions({ maxSpan: 126 }), /max span \(registers\) must be an integer 1..125/);
    assert.throws(() => coalesceOptions({ maxBitSpan: 0 }), /max span \(bits\)/);
    assert.throws(() => coalesceOptions({ maxGap: -1 }), /max gap \(registers\)/);
  });
});
