import assert from "node:assert/strict";
import type { LineRecord } from "../../../lib/record";
import { ChangeGrouper, changeToRecord } from "../../../lib/opcua/group";

/** Manual timers: run() fires the due ones. */
function fakeTimers() {
  let now = 0;
  let seq = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    set: (fn: () => void, ms: number) => {
      const id = ++seq;
      due.set(id, { at: now + ms, fn });
      return id as unknown as NodeJS.Timeout;
    },
    clear: (t: NodeJS.Timeout) => void due.delete(t as unknown as number),
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...due]) {
        if (t.at <= now) {
          due.delete(id);
          t.fn();
        }
      }
    },
    get count() {
      return due.size;
    },
  };
}

describe("lib/opcua/group", () => {
  it("per change: one record per change; good quality is not listed", () => {
    const out: LineRecord[] = [];
    const g = new ChangeGrouper(0, (r) => out.push(r));
    g.add({ source: "cnc-01", tag: "a", value: 1, quality: "good", ts: 10 });
    g.add({ source: "cnc-01", tag: "b", value: true, quality: "bad", ts: 11 });
    assert.deepEqual(out, [
      { source: "cnc-01", ts: 10, values: { a: 1 } },
      { source: "cnc-01", ts: 11, values: { b: true }, quality: { b: "bad" } },
    ]);
    assert.deepEqual(changeToRecord({ source: "s", tag: "t", value: "x", quality: "uncertain", ts: 1 }), {
      source: "s",
      ts: 1,
      values: { t: "x" },
      quality: { t: "uncertain" },
    });
  });

  it("grouped: one record per source per window, latest value and latest ts win", () => {
    const out: LineRecord[] = [];
    const t = fakeTimers();
    const g = new ChangeGrouper(100, (r) => out.push(r), t);
    g.add({ source: "cnc-01", tag: "a", value: 1, quality: "good", ts: 1000 });
    g.add({ source: "cnc-02", tag: "a", value: 5, quality: "good", ts: 1001 });
    t.advance(50);
    g.add({ source: "cnc-01", tag: "b", value: 2, quality: "uncertain", ts: 1050 });
    g.add({ source: "cnc-01", tag: "a", value: 3, quality: "good", ts: 1040 });
    assert.equal(out.length, 0);
    assert.equal(g.pendingSources, 2);
    t.advance(50);
    assert.deepEqual(out, [
      { source: "cnc-01", ts: 1050, values: { a: 3, b: 2 }, quality: { b: "uncertain" } },
      { source: "cnc-02", ts: 1001, values: { a: 5 } },
    ]);
    // a tag that turns good again drops its quality entry
    g.add({ source: "cnc-01", tag: "b", value: 2, quality: "bad", ts: 2000 });
    g.add({ source: "cnc-01", tag: "b", value: 2, quality: "good", ts: 2001 });
    t.advance(100);
    assert.deepEqual(out[2], { source: "cnc-01", ts: 2001, values: { b: 2 } });
  });

  it("flush emits at once; stop drops pending windows and their timers", () => {
    const out: LineRecord[] = [];
    const t = fakeTimers();
    const g = new ChangeGrouper(100, (r) => out.push(r), t);
    g.add({ source: "a", tag: "x", value: 1, quality: "good", ts: 1 });
    g.flush();
    assert.equal(out.length, 1);
    assert.equal(t.count, 0);
    g.add({ source: "a", tag: "x", value: 2, quality: "good", ts: 2 });
    g.stop();
    t.advance(500);
    assert.equal(out.length, 1);
    assert.equal(g.pendingSources, 0);
  });
});
