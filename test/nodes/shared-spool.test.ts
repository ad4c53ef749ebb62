import assert from "node:assert/strict";
import path from "node:path";
import {
  DrainRate,
  backlogParts,
  formatAge,
  formatBytes,
  spoolDirFor,
  spoolRoot,
  spoolSettings,
} from "../../nodes/shared/spool";

describe("nodes/shared/spool (sink store-and-forward settings and status)", () => {
  it("checks the settings and says what is wrong", () => {
    const s = spoolSettings({});
    assert.deepEqual(s, {
      mode: "disk",
      maxBytes: 1024 * 1024 * 1024,
      fsync: "interval",
      replayRate: 5000,
      order: "live-first",
    });
    assert.equal(spoolSettings({ spoolMaxMB: "16", replayRate: "0" }).maxBytes, 16 * 1024 * 1024);
    assert.throws(() => spoolSettings({ spool: "tape" as never }), /spool must be one of disk, memory/);
    assert.throws(() => spoolSettings({ spoolMaxMB: 0 }), /spool size/);
    assert.throws(() => spoolSettings({ spoolMaxMB: "1.5" }), /spool size/);
    assert.throws(() => spoolSettings({ replayRate: -1 }), /replay rate/);
    assert.throws(() => spoolSettings({ spoolFsync: "sometimes" as never }), /spool fsync/);
    assert.throws(() => spoolSettings({ replayOrder: "random" as never }), /replay order/);
  });

  it("puts each node's spool under the user dir (or settings.lineguard.spoolDir), with a safe name", () => {
    assert.equal(spoolRoot({ userDir: "/u" }), path.join("/u", "lineguard", "spool"));
    assert.equal(spoolRoot({ userDir: "/u", lineguard: { spoolDir: "/data/spool" } }), "/data/spool");
    assert.equal(spoolDirFor("/r", "a1b2c3.d4"), path.join("/r", "a1b2c3.d4"));
    assert.equal(spoolDirFor("/r", "../x"), path.join("/r", ".._x"));
    assert.equal(spoolDirFor("/r", ".."), path.join("/r", "_.."));
  });

  it("builds the backlog part of the status", () => {
    const t = (k: string, s: Record<string, string | number>): string => `${k}:${Object.values(s).join("|")}`;
    assert.deepEqual(backlogParts({ pending: 0, pendingBytes: 0, oldestMs: undefined, dropped: 0 }, 0, t), []);
    assert.deepEqual(
      backlogParts({ pending: 12345, pendingBytes: 3.2 * 1024 * 1024, oldestMs: 303_000, dropped: 17 }, 4800, t),
      [
        "lineguard.status.backlog:12,345|3.2 MB|5m 3s",
        "lineguard.status.draining:4,800",
        "lineguard.status.dropped:17",
      ],
    );
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(1536), "1.5 KB");
    assert.equal(formatBytes(50 * 1024 ** 3), "50 GB");
    assert.equal(formatAge(59_999), "59s");
    assert.equal(formatAge(2 * 3600_000 + 60_000), "2h 1m");
    assert.equal(formatAge(3 * 86400_000), "3d 0h");
  });

  it("measures the drain rate over a window", () => {
    const d = new DrainRate(10_000);
    assert.equal(d.rate(), 0);
    d.sample(0, 0);
    d.sample(5000, 1000);
    assert.equal(d.rate(), 5000);
    for (let t = 2000; t <= 20_000; t += 1000) d.sample(5000 + (t - 1000), t);
    assert.equal(Math.round(d.rate()), 1000);
  });
});
