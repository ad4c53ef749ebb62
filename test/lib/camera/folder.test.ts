/** The watched folder, in a real temp folder. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { LineGuardError } from "../../../lib/errors";
import type { FrameRecord } from "../../../lib/record";
import { FolderWatcher, FolderWatchOptions } from "../../../lib/camera/folder";
import { eventually } from "../../support/integration";

describe("lib/camera/folder", function () {
  this.timeout(20000);
  let dir: string;
  let jpeg: Buffer;
  let png: Buffer;
  const watchers: FolderWatcher[] = [];

  before(async () => {
    const px = Buffer.alloc(20 * 10 * 3, 128);
    jpeg = await sharp(px, { raw: { width: 20, height: 10, channels: 3 } })
      .jpeg()
      .toBuffer();
    png = await sharp(px, { raw: { width: 20, height: 10, channels: 3 } })
      .png()
      .toBuffer();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-cam-"));
  });
  afterEach(async () => {
    for (const w of watchers.splice(0)) await w.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function watch(over: Partial<FolderWatchOptions> = {}) {
    const frames: FrameRecord[] = [];
    const errors: LineGuardError[] = [];
    const states: string[] = [];
    const w = new FolderWatcher(
      { dir, source: "folder-cam", pollMs: 20, stableMs: 30, incompleteTimeoutMs: 1000, ...over },
      { onFrame: (f) => frames.push(f), onError: (e) => errors.push(e), onState: (st) => states.push(st) },
    );
    watchers.push(w);
    w.start();
    return { w, frames, errors, states };
  }

  it("reads existing and new images oldest first, once each, and skips other files", async () => {
    fs.writeFileSync(path.join(dir, "b.jpg"), jpeg);
    fs.utimesSync(path.join(dir, "b.jpg"), new Date(1000), new Date(1000));
    fs.writeFileSync(path.join(dir, "a.png"), png);
    fs.utimesSync(path.join(dir, "a.png"), new Date(2000), new Date(2000));
    fs.writeFileSync(path.join(dir, "notes.txt"), "hello");
    fs.writeFileSync(path.join(dir, ".hidden.jpg"), jpeg);
    const { frames, errors } = watch();
    await eventually(() => frames.length === 2, 10000, 20);
    assert.deepEqual(
      frames.map((f) => [f.format, f.ts]),
      [
        ["jpeg", 1000],
        ["png", 2000],
      ],
    );
    assert.equal(frames[0].source, "folder-cam");
    assert.equal(frames[0].width, 20);
    fs.writeFileSync(path.join(dir, "c.JPEG"), jpeg);
    await eventually(() => frames.length === 3, 10000, 20);
    // files are kept and not read again
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(frames.length, 3);
    assert.equal(fs.readdirSync(dir).length, 5);
    assert.deepEqual(errors, []);
  });

  it("waits for a file being written, and reports one that stays truncated", async () => {
    const { frames, errors } = watch();
    const fd = fs.openSync(path.join(dir, "slow.jpg"), "w");
    fs.writeSync(fd, jpeg, 0, 50);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(frames.length, 0);
    fs.writeSync(fd, jpeg, 50, jpeg.length - 50);
    fs.closeSync(fd);
    await eventually(() => frames.length === 1, 10000, 20);
    assert.ok(frames[0].image.equals(jpeg));

    fs.writeFileSync(path.join(dir, "cut.jpg"), jpeg.subarray(0, jpeg.length - 10));
    fs.writeFileSync(path.join(dir, "junk.png"), Buffer.from("not a png at all"));
    await eventually(() => errors.length === 2, 10000, 20);
    assert.deepEqual(errors.map((e) => e.code).sort(), ["not-image", "truncated-image"]);
    assert.match(errors.find((e) => e.code === "truncated-image")!.message, /^cut\.jpg: /);
    assert.equal(frames.length, 1);
  });

  it("deletes or moves files after reading", async () => {
    const moved = path.join(dir, "done");
    const m = watch({ afterRead: "move", moveTo: moved });
    fs.writeFileSync(path.join(dir, "x.jpg"), jpeg);
    await eventually(() => m.frames.length === 1 && fs.existsSync(path.join(moved, "x.jpg")), 10000, 20);
    assert.ok(!fs.existsSync(path.join(dir, "x.jpg")));
    await m.w.stop();

    const d = watch({ afterRead: "delete" });
    fs.writeFileSync(path.join(dir, "y.jpg"), jpeg);
    await eventually(() => d.frames.length === 1 && !fs.existsSync(path.join(dir, "y.jpg")), 10000, 20);
    const none = { onFrame: () => undefined, onError: () => undefined };
    assert.throws(() => new FolderWatcher({ dir, source: "s", afterRead: "move" }, none), /move/);
    assert.throws(() => new FolderWatcher({ dir, source: "s", afterRead: "move", moveTo: dir }, none), /differ/);
  });

  it("skips existing files when asked, and reports a missing folder until it appears", async () => {
    fs.writeFileSync(path.join(dir, "old.jpg"), jpeg);
    const s = watch({ existing: false });
    // the first scan has seen the folder as it was
    await eventually(() => s.states.includes("connected"), 10000, 20);
    fs.writeFileSync(path.join(dir, "new.jpg"), jpeg);
    await eventually(() => s.frames.length === 1, 10000, 20);
    await s.w.stop();

    const sub = path.join(dir, "later");
    const states: string[] = [];
    const frames: FrameRecord[] = [];
    const errors: LineGuardError[] = [];
    const w = new FolderWatcher(
      { dir: sub, source: "s", pollMs: 20, stableMs: 0 },
      { onFrame: (f) => frames.push(f), onError: (e) => errors.push(e), onState: (st) => states.push(st) },
    );
    watchers.push(w);
    w.start();
    await eventually(() => errors.length === 1, 10000, 20);
    assert.match(errors[0].message, /does not exist/);
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, "a.jpg"), jpeg);
    await eventually(() => frames.length === 1, 10000, 20);
    assert.equal(errors.length, 1);
    assert.deepEqual(states.slice(0, 3), ["connecting", "waiting", "connected"]);
  });
});
