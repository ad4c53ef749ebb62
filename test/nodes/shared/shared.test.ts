import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { NodeStatus } from "node-red";
import { SharedConnection } from "../../../nodes/shared/connection";
import { onInput } from "../../../nodes/shared/input";
import { fillDefaults, migrate } from "../../../nodes/shared/migrate";
import { StatusThrottle, coalesced, statusBusy, statusError, statusOk } from "../../../nodes/shared/status";
import { redact } from "../../../lib/redact";
import { backoffDelay, retryPolicy } from "../../../lib/retry";

/** A plain stub with the narrow interface the glue depends on. */
class StubNode extends EventEmitter {
  statuses: Array<NodeStatus | string> = [];
  status(s: NodeStatus | string): void {
    this.statuses.push(s);
  }
  fire(msg: object): Promise<Error | undefined> {
    return new Promise((resolve) => {
      this.emit("input", { _msgid: "1", ...msg }, () => undefined, resolve);
    });
  }
}

describe("nodes/shared", () => {
  describe("status vocabulary", () => {
    it("maps ok/busy/error to green dot, yellow ring, red ring, clipped and redacted", () => {
      assert.deepEqual(statusOk("connected"), { fill: "green", shape: "dot", text: "connected" });
      assert.deepEqual(statusBusy("connecting"), { fill: "yellow", shape: "ring", text: "connecting" });
      const e = statusError(`auth failed for pw hunter2secret ${"x".repeat(100)}`, ["hunter2secret"]);
      assert.equal(e.fill, "red");
      assert.equal(e.shape, "ring");
      assert.ok(!e.text!.includes("hunter2secret"));
      assert.equal(
        e.text!.length,
        96,
        "clipped to 96 characters (room for a sink's backlog, size, age and drain rate)",
      );
      assert.ok(e.text!.endsWith("…"));
    });

    it("throttles updates but shows errors at once and the latest state last", async () => {
      const n = new StubNode();
      const t = new StatusThrottle(n, 50);
      t.set(statusOk("a"));
      t.set(statusOk("b"));
      t.set(statusOk("c"));
      assert.equal(n.statuses.length, 1);
      t.set(statusError("boom"));
      assert.equal((n.statuses.at(-1) as NodeStatus).text, "boom");
      t.set(statusOk("d"));
      await new Promise((r) => setTimeout(r, 80));
      assert.equal((n.statuses.at(-1) as NodeStatus).text, "d");
      t.stop();
    });
  });

  describe("coalesced", () => {
    it("runs once per burst, after the window, and never after cancel", async () => {
      let runs = 0;
      const soon = coalesced(() => runs++, 20);
      for (let i = 0; i < 100; i++) soon();
      assert.equal(runs, 0);
      await new Promise((r) => setTimeout(r, 40));
      assert.equal(runs, 1);
      soon();
      soon.cancel();
      soon();
      await new Promise((r) => setTimeout(r, 40));
      assert.equal(runs, 1);
    });
  });

  describe("onInput", () => {
    it("calls done() after a sync or async handler", async () => {
      const n = new StubNode();
      onInput(n, () => undefined);
      assert.equal(await n.fire({}), undefined);
      const m = new StubNode();
      onInput(m, async () => {
        await new Promise((r) => setTimeout(r, 5));
      });
      assert.equal(await m.fire({}), undefined);
    });

    it("turns a throw or a rejection into done(err) and a red status", async () => {
      for (const handler of [
        () => {
          throw new Error("sync boom");
        },
        () => Promise.reject(new Error("async boom")),
        () => {
          throw "a string";
        },
      ]) {
        const n = new StubNode();
        onInput(n, handler, { secrets: () => ["boom"] });
        const err = await n.fire({});
        assert.ok(err instanceof Error);
        const st = n.statuses.at(-1) as NodeStatus;
        assert.equal(st.fill, "red");
        assert.ok(!String(st.text).includes("boom"));
      }
    });
  });

  describe("SharedConnection", () => {
    it("creates one client for all users, broadcasts state, closes once", async () => {
      let created = 0;
      let destroyed = 0;
      const c = new SharedConnection(
        () => ({ id: ++created }),
        async () => {
          destroyed++;
        },
      );
      const seen: string[] = [];
      const a = c.register("a", (s) => seen.push(`a:${s}`));
      const b = c.register("b", (s) => seen.push(`b:${s}`));
      assert.equal(a, b);
      assert.equal(created, 1);
      c.setState("connected");
      c.deregister("b");
      c.setState("disconnected", "gone");
      await c.close();
      assert.equal(destroyed, 1);
      assert.deepEqual(seen, [
        "a:disconnected",
        "b:disconnected",
        "a:connected",
        "b:connected",
        "a:disconnected",
        "a:closed",
      ]);
      assert.throws(() => c.register("c"));
    });

    it("close resolves even when the client's close hangs", async () => {
      const c = new SharedConnection(
        () => ({}),
        () => new Promise<void>(() => undefined),
      );
      c.register("a");
      const t0 = Date.now();
      await c.close(50);
      assert.ok(Date.now() - t0 < 1000);
    });
  });

  describe("migrate", () => {
    it("upgrades step by step and stamps the version", () => {
      const steps = {
        0: (c: Record<string, unknown>) => ({ ...c, batchSize: Number(c.batch ?? 100) }),
        1: (c: Record<string, unknown>) => ({ ...c, lingerMs: 20 }),
      };
      assert.deepEqual(migrate({ batch: "50" }, 2, steps), { batch: "50", batchSize: 50, lingerMs: 20, version: 2 });
      assert.deepEqual(migrate({ version: 1, batchSize: 7 }, 2, steps), { version: 2, batchSize: 7, lingerMs: 20 });
      assert.deepEqual(migrate({ version: 3 }, 2, steps), { version: 3 });
      assert.deepEqual(migrate({ version: "junk" }, 1, {}), { version: 1 });
    });
  });

  describe("fillDefaults", () => {
    it("fills missing settings, copies array defaults, keeps given and skipped ones", () => {
      const defaults = { a: 1, b: "x", list: ["p", "q"], keep: "d" };
      const out = fillDefaults({ a: null, b: "", extra: true }, defaults, { skip: ["keep"] });
      assert.deepEqual(out, { a: 1, b: "", extra: true, list: ["p", "q"] });
      assert.notEqual(out.list, defaults.list);
      assert.deepEqual(fillDefaults({ b: "" }, defaults, { emptyIsMissing: true }).b, "x");
    });
  });

  describe("redact and retry", () => {
    it("removes secrets, URL passwords and auth headers", () => {
      const t = redact("http://bob:pa55word@host:8086 Authorization: Token abc.def s3cret!", ["s3cret!"]);
      assert.ok(!t.includes("pa55word") && !t.includes("abc.def") && !t.includes("s3cret!"), t);
    });

    it("backs off exponentially with bounded jitter", () => {
      const p = retryPolicy({ initialMs: "100", maxMs: 1000, multiplier: 2, factor: 0.2 });
      assert.equal(
        backoffDelay(0, p, () => 0.5),
        100,
      );
      assert.equal(
        backoffDelay(3, p, () => 0.5),
        800,
      );
      assert.equal(
        backoffDelay(10, p, () => 1),
        1000,
      );
      assert.equal(
        backoffDelay(0, p, () => 0),
        80,
      );
      assert.deepEqual(retryPolicy({ initialMs: "x", factor: 5 }), {
        initialMs: 300,
        maxMs: 30000,
        multiplier: 2,
        factor: 1,
      });
    });
  });
});
