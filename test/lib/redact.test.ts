import assert from "node:assert/strict";
import { redact } from "../../lib/redact";

describe("lib/redact", () => {
  it("hides secrets, URL passwords and authorization tokens", () => {
    assert.equal(redact("pw is s3cret!", ["s3cret!"]), "pw is ***");
    assert.equal(redact("see https://user:pa55@host:8086/x"), "see https://user:***@host:8086/x");
    assert.equal(redact('{"Authorization": "Token abc.def"}'), '{"Authorization": "Token ***"}');
    assert.equal(redact("authorization=Bearer xyz"), "authorization=Bearer ***");
  });

  it("stays linear on long texts (a server quoting a 1.5 MB refused line)", () => {
    // The unbounded scheme pattern made this quadratic (35 minutes for 1.5 MB); with bounded
    // repetitions it is one pass. A regression shows as this test timing out.
    const long = "x".repeat(1_500_000);
    assert.equal(redact(long).length, long.length);
    const quoted = `unable to parse 'm,source=${"a".repeat(1_000_000)} v=1 1': https://u:p@h/`;
    assert.ok(redact(quoted).endsWith("https://u:***@h/"));
    assert.equal(redact("ab:".repeat(300_000)).length, 900_000);
  });
});
