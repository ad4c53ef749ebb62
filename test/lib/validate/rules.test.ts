import assert from "node:assert/strict";
import { compileSchema, mergeRule, parseRules } from "../../../lib/validate";

describe("lib/validate rules", () => {
  it("parses a JSON list of rules, empty settings left out", () => {
    const r = parseRules(
      JSON.stringify([
        { tag: "speed", required: true, type: "number", min: 0, max: "24000", maxRate: 500, staleMs: 1000 },
        { tag: "program", type: "string", min: "", max: null, quality: "good,uncertain" },
        { tag: "*", quality: ["good"] },
      ]),
    );
    assert.deepEqual(r, [
      { tag: "speed", required: true, type: "number", min: 0, max: 24000, maxRate: 500, staleMs: 1000 },
      { tag: "program", type: "string", quality: ["good", "uncertain"] },
      { tag: "*", quality: ["good"] },
    ]);
    assert.deepEqual(parseRules(""), []);
    assert.deepEqual(parseRules("[]"), []);
    assert.deepEqual(parseRules(undefined), []);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ["invalid JSON", "[{", /not valid JSON/],
    ["not an array", '{"tag": "a"}', /JSON array/],
    ["a rule that is not an object", "[1]", /rule 1 must be an object/],
    ["no tag", '[{"min": 1}]', /rule 1 has no tag/],
    ["an unknown setting", '[{"tag": "a", "minimum": 1}]', /rule 1 \(a\): unknown setting "minimum"/],
    ["min above max", '[{"tag": "a", "min": 5, "max": 1}]', /min \(5\) is above max \(1\)/],
    ["a non-numeric min", '[{"tag": "a", "min": "low"}]', /min must be a finite number/],
    ["limits on a string tag", '[{"tag": "a", "type": "string", "max": 1}]', /need type number/],
    ["an unknown type", '[{"tag": "a", "type": "float"}]', /type must be number, string or boolean/],
    ["required on *", '[{"tag": "*", "required": true}]', /required cannot be set for every tag/],
    ["a duplicate tag", '[{"tag": "a"}, {"tag": "a"}]', /rule 2: tag "a" has more than one rule/],
    ["a zero maxRate", '[{"tag": "a", "maxRate": 0}]', /maxRate must be above 0/],
    ["a tiny staleMs", '[{"tag": "a", "staleMs": 1}]', /staleMs must be between/],
    ["an unknown quality", '[{"tag": "a", "quality": ["fine"]}]', /good, uncertain or bad/],
    ["an empty quality list", '[{"tag": "a", "quality": []}]', /list of good/],
    ["a non-boolean required", '[{"tag": "a", "required": "yes"}]', /required must be true or false/],
  ];
  for (const [what, input, re] of bad) {
    it(`rejects ${what} with a clear message`, () => assert.throws(() => parseRules(input), re));
  }

  it("merges a tag's own rule over the * rule field by field", () => {
    const star = { tag: "*", type: "number" as const, min: 0, max: 100, staleMs: 1000 };
    assert.deepEqual(mergeRule({ tag: "a", max: 50 }, star), {
      tag: "a",
      type: "number",
      min: 0,
      max: 50,
      staleMs: 1000,
    });
    assert.deepEqual(mergeRule({ tag: "s", type: "string" }, star), { tag: "s", type: "string", staleMs: 1000 });
    assert.equal(mergeRule(undefined, star), star);
    assert.deepEqual(mergeRule({ tag: "a" }, undefined), { tag: "a" });
  });

  it("compiles a JSON schema once; a bad schema fails with a clear message", () => {
    const check = compileSchema('{"type": "object", "required": ["ts"]}');
    assert.equal(check({ ts: 1 }), undefined);
    assert.match(check({}) ?? "", /payload must have required property 'ts'/);
    assert.match(check(null) ?? "", /payload must be object/);
    assert.throws(() => compileSchema("{nope"), /not valid JSON/);
    assert.throws(() => compileSchema(""), /empty/);
    assert.throws(() => compileSchema("[1]"), /must be an object/);
    assert.throws(() => compileSchema('{"type": "nope"}'), /invalid JSON schema/);
    assert.throws(() => compileSchema('{"typo_keyword": 1}'), /invalid JSON schema: strict mode: unknown keyword/);
    assert.throws(() => compileSchema('{"$ref": "#/missing"}'), /invalid JSON schema/);
  });
});
