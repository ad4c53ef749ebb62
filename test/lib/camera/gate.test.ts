/** Back-pressure by tickets: claim/release, keep-latest, drops, unclaimed and stuck tickets. */
import assert from "node:assert/strict";
import { FrameGate, claimFrame, openTickets, releaseFrame } from "../../../lib/camera/gate";
import { eventually } from "../../support/integration";

describe("lib/camera/gate", () => {
  const gates: Array<FrameGate<unknown>> = [];
  function gate(opts: ConstructorParameters<typeof FrameGate>[1] = {}) {
    const out: Array<{ item: number; ticket: string }> = [];
    const g = new FrameGate<number>((item, ticket) => out.push({ item, ticket }), opts);
    gates.push(g as FrameGate<unknown>);
    return { g, out };
  }
  afterEach(() => {
    for (const g of gates.splice(0)) g.close();
    assert.equal(openTickets(), 0);
  });

  it("emits while a slot is free, then keeps only the latest and emits it on release", () => {
    const { g, out } = gate({ claimTimeoutMs: 60_000 });
    assert.equal(g.offer(1), "sent");
    assert.ok(claimFrame(out[0].ticket));
    assert.equal(g.offer(2), "queued");
    assert.equal(g.offer(3), "replaced");
    assert.equal(g.offer(4), "replaced");
    assert.deepEqual(g.stats, { emitted: 1, drops: 2, inFlight: 1, pending: true });
    assert.ok(releaseFrame(out[0].ticket));
    assert.deepEqual(
      out.map((o) => o.item),
      [1, 4],
    );
    assert.notEqual(out[1].ticket, out[0].ticket);
    assert.equal(releaseFrame(out[0].ticket), false); // already released
    assert.ok(releaseFrame(out[1].ticket)); // unclaimed tickets may be released too
    assert.deepEqual(g.stats, { emitted: 2, drops: 2, inFlight: 0, pending: false });
  });

  it("allows maxInFlight frames out at once", () => {
    const { g, out } = gate({ maxInFlight: 3, claimTimeoutMs: 60_000 });
    for (let i = 0; i < 5; i++) g.offer(i);
    assert.equal(out.length, 3);
    assert.equal(g.stats.drops, 1);
    releaseFrame(out[1].ticket);
    assert.deepEqual(
      out.map((o) => o.item),
      [0, 1, 2, 4],
    );
  });

  it("releases a ticket nobody claims (camera -> debug runs at full rate)", async () => {
    const { g, out } = gate({ claimTimeoutMs: 20 });
    g.offer(1);
    g.offer(2);
    await eventually(() => out.length === 2, 5000, 10);
    await eventually(() => g.stats.inFlight === 0, 5000, 10);
    assert.equal(g.stats.drops, 0);
  });

  it("runs at full rate once nobody claims, and waits for claims again after the first claim", async () => {
    const { g, out } = gate({ claimTimeoutMs: 20 });
    g.offer(1);
    assert.equal(g.offer(2), "queued");
    await eventually(() => out.length === 2, 5000, 10);
    // no claimer seen: unclaimed tickets hold no slot
    for (let i = 3; i <= 6; i++) assert.equal(g.offer(i), "sent");
    assert.equal(g.stats.drops, 0);
    assert.ok(claimFrame(out[5].ticket));
    assert.equal(g.stats.inFlight, 1);
    assert.equal(g.offer(7), "queued");
    releaseFrame(out[5].ticket);
    assert.equal(out[out.length - 1].item, 7);
  });

  it("counts claims: a frame wired to two consumers is free when both released it", () => {
    const { g, out } = gate({ claimTimeoutMs: 60_000 });
    g.offer(1);
    const t = out[0].ticket;
    assert.ok(claimFrame(t));
    assert.ok(claimFrame(t));
    g.offer(2);
    releaseFrame(t);
    assert.equal(out.length, 1);
    releaseFrame(t);
    assert.equal(out.length, 2);
  });

  it("takes back a claimed ticket held too long", async () => {
    const { g, out } = gate({ claimTimeoutMs: 60_000, holdTimeoutMs: 30 });
    g.offer(1);
    claimFrame(out[0].ticket);
    g.offer(2);
    await eventually(() => out.length === 2, 5000, 10);
  });

  it("ignores unknown tickets and emits nothing after close", () => {
    assert.equal(claimFrame("nope"), false);
    assert.equal(releaseFrame(undefined), false);
    assert.equal(claimFrame(42), false);
    const { g, out } = gate({ claimTimeoutMs: 60_000 });
    g.offer(1);
    g.offer(2);
    g.close();
    assert.equal(releaseFrame(out[0].ticket), false);
    assert.equal(g.offer(3), "replaced");
    assert.equal(out.length, 1);
  });
});
