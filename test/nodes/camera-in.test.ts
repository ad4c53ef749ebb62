/**
 * camera in through node-red-node-test-helper: every source against real servers / a real temp
 * folder, back-pressure with a slow consumer, corrupt data and unreachable cameras.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { NodeAPI, Node } from "node-red";
import cameraInNode from "../../nodes/camera-in/camera-in";
import { CAMERA_IN_DEFAULTS, cameraInConfig, cameraInSettings } from "../../nodes/camera-in/config";
import { claimFrame, openTickets, releaseFrame } from "../../lib/camera/gate";
import { RibbonCamera } from "../../lib/sim/camera/render";
import { CameraServer, startCameraServer } from "../../lib/sim/camera/server";
import { helper, useHelper } from "../support/helper";
import { eventually } from "../support/integration";
import { collect, lastStatus, statusesOf } from "../support/node-status";

/**
 * A LineGuard-style consumer that claims every frame on receipt and holds it until the test (or a
 * delay) releases it: the "busy downstream" of the back-pressure tests.
 */
const held: Array<{ msg: any; ticket: string }> = [];
let holdMs = 0;
let active = 0;
let maxActive = 0;
function slowConsumerNode(RED: NodeAPI): void {
  RED.nodes.registerType("slow-consumer", function (this: Node, def: any) {
    RED.nodes.createNode(this, def);
    this.on("input", (msg: any, _send: unknown, done: () => void) => {
      const ticket = msg.payload?.ticket as string;
      assert.ok(claimFrame(ticket), "ticket claimable");
      held.push({ msg, ticket });
      active++;
      maxActive = Math.max(maxActive, active);
      if (holdMs > 0)
        setTimeout(() => {
          active--;
          releaseFrame(ticket);
        }, holdMs);
      done();
    });
  });
}

function flow(over: Record<string, unknown> = {}, consumer = "helper"): object[] {
  return [
    { id: "tab", type: "tab" },
    {
      ...CAMERA_IN_DEFAULTS,
      id: "cam1",
      z: "tab",
      type: "camera-in",
      version: 1,
      ...over,
      wires: [["out1"], ["out2"]],
    },
    { id: "out1", z: "tab", type: consumer },
    { id: "out2", z: "tab", type: "helper" },
    { id: "catcher", z: "tab", type: "catch", scope: ["cam1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "tab", type: "helper" },
    { id: "completer", z: "tab", type: "complete", scope: ["cam1"], uncaught: false, wires: [["completed"]] },
    { id: "completed", z: "tab", type: "helper" },
  ];
}

describe("camera-in node", function () {
  this.timeout(30_000);
  let cam: CameraServer;
  let secured: CameraServer;
  let jpeg: Buffer;
  let dir: string;
  useHelper();

  before(async () => {
    cam = await startCameraServer(new RibbonCamera({ seed: 1, width: 160, height: 120 }), { fps: 25 });
    secured = await startCameraServer(new RibbonCamera({ seed: 2, width: 128, height: 96 }), {
      fps: 25,
      user: "op",
      password: "hunter22",
    });
    jpeg = (await new RibbonCamera({ seed: 3, width: 64, height: 48 }).frame(0)).jpeg;
  });
  after(async () => {
    await cam?.close();
    await secured?.close();
  });
  beforeEach(() => {
    held.length = 0;
    holdMs = 0;
    active = 0;
    maxActive = 0;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-camin-"));
  });
  afterEach(async () => {
    for (const h of held.splice(0)) releaseFrame(h.ticket);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("migrates and validates its settings", () => {
    const c = cameraInConfig({ mode: "mjpeg", url: "http://x/s" });
    assert.equal(c.version, 1);
    assert.equal(c.maxInFlight, 1);
    assert.equal(cameraInSettings(c, "").source, "camera");
    assert.equal(cameraInSettings(c, "Line 1 cam").source, "Line 1 cam");
    assert.equal(cameraInSettings({ ...c, sourceId: " cam-7 " }, "n").source, "cam-7");
    assert.throws(() => cameraInSettings({ ...c, url: "" }), /URL is required/);
    assert.throws(() => cameraInSettings({ ...c, url: "rtsp://x/" }), /http/);
    assert.throws(() => cameraInSettings({ ...c, mode: "folder", folder: "" }), /folder is required/);
    assert.throws(() => cameraInSettings({ ...c, mode: "folder", folder: "/x", afterRead: "move" }), /move/);
    assert.throws(() => cameraInSettings({ ...c, interval: "-1" }), /interval/);
    assert.throws(() => cameraInSettings({ ...c, maxInFlight: 0 }), /in flight/);
    assert.throws(() => cameraInSettings({ ...c, mode: "rtsp" as never }), /unknown source/);
    assert.equal(cameraInSettings({ ...c, mode: "input", url: "" }).mode, "input");
    assert.equal(cameraInSettings({ ...c, maxFrameMB: "1" }).maxFrameBytes, 1024 * 1024);
  });

  it("mjpeg: emits frame records with tickets; green status", async () => {
    await helper.load([cameraInNode], flow({ mode: "mjpeg", url: `${cam.url}/stream.mjpg`, sourceId: "line-cam" }));
    const node = helper.getNode("cam1");
    const out1 = collect(helper.getNode("out1"));
    await eventually(() => out1.length >= 3, 10_000, 20);
    const m = out1[0];
    assert.equal(m.topic, "line-cam");
    assert.equal(m.payload.source, "line-cam");
    assert.equal(m.payload.format, "jpeg");
    assert.equal(m.payload.width, 160);
    assert.equal(m.payload.height, 120);
    assert.ok(Buffer.isBuffer(m.payload.image));
    assert.equal(typeof m.payload.ticket, "string");
    assert.ok(m.payload.ts > 0);
    await eventually(() => lastStatus(node)?.fill === "green", 10_000, 20);
    assert.equal(statusesOf(node)[0].fill, "yellow");
  });

  it("http-snapshot: polls with credentials, which never show", async () => {
    await helper.load(
      [cameraInNode],
      flow({ mode: "http-snapshot", url: `${secured.url}/snapshot.jpg`, interval: 20 }),
      { cam1: { user: "op", password: "hunter22" } },
    );
    const out1 = collect(helper.getNode("out1"));
    await eventually(() => out1.length >= 2, 10_000, 20);
    assert.equal(out1[0].payload.width, 128);
    assert.equal(out1[0].topic, "camera");
  });

  it("http-snapshot with wrong credentials: red status with the reason, output 2, catch once, no secret", async () => {
    await helper.load(
      [cameraInNode],
      flow({ mode: "http-snapshot", url: `${secured.url}/snapshot.jpg`, interval: 20 }),
      { cam1: { user: "op", password: "wrong-pass" } },
    );
    const node = helper.getNode("cam1");
    const out2 = collect(helper.getNode("out2"));
    const caught = collect(helper.getNode("caught"));
    await eventually(() => out2.length >= 2, 10_000, 20);
    assert.equal(out2[0].payload.code, "auth");
    assert.match(out2[0].payload.reason, /HTTP 401/);
    assert.equal(lastStatus(node)?.fill, "red");
    assert.equal(caught.length, 1);
    for (const s of statusesOf(node)) assert.ok(!String(s.text).includes("wrong-pass"));
  });

  it("http-snapshot with interval 0: one snapshot per input message", async () => {
    await helper.load([cameraInNode], flow({ mode: "http-snapshot", url: `${cam.url}/snapshot.jpg`, interval: 0 }));
    const node = helper.getNode("cam1");
    const out1 = collect(helper.getNode("out1"));
    const completed = collect(helper.getNode("completed"));
    node.receive({ payload: "go" });
    node.receive({ payload: "go" });
    await eventually(() => completed.length === 2 && out1.length === 2, 10_000, 20);
    assert.equal(out1[0].payload.width, 160);
  });

  it("folder: reads new images from a real folder and moves them", async () => {
    const moved = path.join(dir, "read");
    await helper.load(
      [cameraInNode],
      flow({ mode: "folder", folder: dir, afterRead: "move", moveTo: moved, name: "Folder cam" }),
    );
    const out1 = collect(helper.getNode("out1"));
    fs.writeFileSync(path.join(dir, "f1.jpg"), jpeg);
    await eventually(() => out1.length === 1 && fs.existsSync(path.join(moved, "f1.jpg")), 10_000, 20);
    assert.equal(out1[0].topic, "Folder cam");
    assert.equal(out1[0].payload.width, 64);
    fs.writeFileSync(path.join(dir, "bad.jpg"), jpeg.subarray(0, 30));
    const out2 = collect(helper.getNode("out2"));
    // a truncated file is waited for (5 s) before it is reported; a non-image at once
    fs.writeFileSync(path.join(dir, "bad.png"), Buffer.from("garbage"));
    await eventually(() => out2.length >= 1, 10_000, 20);
    assert.equal(out2[0].payload.code, "not-image");
    assert.equal(lastStatus(helper.getNode("cam1"))?.fill, "red");
  });

  it("input: a Buffer or a frame record in, a frame out; corrupt data -> output 2, done(err), red status", async () => {
    await helper.load([cameraInNode], flow({ mode: "input", url: "" }));
    const node = helper.getNode("cam1");
    const out1 = collect(helper.getNode("out1"));
    const out2 = collect(helper.getNode("out2"));
    const caught = collect(helper.getNode("caught"));
    const completed = collect(helper.getNode("completed"));
    node.receive({ topic: "cam-x", payload: jpeg });
    node.receive({ payload: { image: jpeg, source: "rec-src", ts: 1234 } });
    // nobody claims the first frame: the second follows once its ticket is released (200 ms)
    await eventually(() => completed.length === 2 && out1.length === 2, 10_000, 20);
    assert.equal(out1[0].topic, "cam-x");
    assert.equal(out1[0].payload.width, 64);
    assert.equal(out1[1].payload.source, "rec-src");
    assert.equal(out1[1].payload.ts, 1234);
    assert.equal(lastStatus(node)?.fill, "green");

    node.receive({ topic: "cam-x", payload: jpeg.subarray(0, jpeg.length - 40) });
    node.receive({ payload: "text" });
    await eventually(() => caught.length === 2, 10_000, 20);
    assert.equal(out2.length, 2);
    assert.equal(out2[0].payload.code, "truncated-image");
    assert.equal(out2[1].payload.code, "not-image");
    assert.match(caught[0].error.message, /truncated/);
    assert.equal(lastStatus(node)?.fill, "red");
    assert.equal(out1.length, 2);
  });

  it("back-pressure: while the consumer holds a frame only the latest is kept; the rest are drops", async () => {
    await helper.load([cameraInNode, slowConsumerNode], flow({ mode: "input", url: "" }, "slow-consumer"));
    const node = helper.getNode("cam1");
    const completed = collect(helper.getNode("completed"));
    for (let i = 1; i <= 10; i++) node.receive({ payload: { image: jpeg, source: "c", ts: i } });
    await eventually(() => completed.length === 10, 10_000, 20);
    await eventually(() => held.length === 1, 10_000, 20);
    // nothing more passes while the first frame is held
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(held.length, 1);
    assert.equal(held[0].msg.payload.ts, 1);
    releaseFrame(held[0].ticket);
    await eventually(() => held.length === 2, 10_000, 20);
    assert.equal(held[1].msg.payload.ts, 10); // frames 2..9 were replaced: 8 drops
    releaseFrame(held[1].ticket);
    node.receive({ payload: { image: jpeg, source: "c", ts: 11 } });
    await eventually(() => held.length === 3, 10_000, 20);
    assert.equal(held[2].msg.payload.ts, 11);
  });

  it("back-pressure with a live stream and a slow consumer: one frame at a time, in order", async () => {
    holdMs = 150;
    await helper.load(
      [cameraInNode, slowConsumerNode],
      flow({ mode: "mjpeg", url: `${cam.url}/stream.mjpg` }, "slow-consumer"),
    );
    await eventually(() => held.length >= 4, 15_000, 20);
    const ts = held.map((h) => h.msg.payload.ts as number);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i] > ts[i - 1]);
    // never more than maxInFlight (1) frames at the consumer at once
    assert.equal(maxActive, 1);
  });

  it("unreachable camera: red status with the reason, output 2, no crash; then connects when it is up", async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await helper.load([cameraInNode], flow({ mode: "mjpeg", url: `http://127.0.0.1:${port}/stream.mjpg` }));
    const node = helper.getNode("cam1");
    const out1 = collect(helper.getNode("out1"));
    const out2 = collect(helper.getNode("out2"));
    await eventually(() => out2.length >= 1, 10_000, 20);
    assert.equal(out2[0].payload.code, "unreachable");
    await eventually(() => lastStatus(node)?.fill === "red", 10_000, 20);
    assert.match(String(lastStatus(node)?.text), /unreachable: ECONNREFUSED/);
    const srv = await startCameraServer(new RibbonCamera({ seed: 9, width: 64, height: 48 }), { fps: 25, port });
    try {
      await eventually(() => out1.length >= 1, 15_000, 50);
      await eventually(() => lastStatus(node)?.fill === "green", 10_000, 20);
    } finally {
      await srv.close();
    }
  });

  it("wrong content type: a snapshot URL as MJPEG stream is a clear error", async () => {
    await helper.load([cameraInNode], flow({ mode: "mjpeg", url: `${cam.url}/snapshot.jpg` }));
    const out2 = collect(helper.getNode("out2"));
    await eventually(() => out2.length >= 1, 10_000, 20);
    assert.equal(out2[0].payload.code, "content-type");
    assert.match(out2[0].payload.reason, /image\/jpeg.*snapshot/);
  });

  it("a bad configuration: red status at deploy, every message fails", async () => {
    await helper.load([cameraInNode], flow({ mode: "mjpeg", url: "" }));
    const node = helper.getNode("cam1");
    const caught = collect(helper.getNode("caught"));
    assert.equal(lastStatus(node)?.fill, "red");
    node.receive({ payload: jpeg });
    await eventually(() => caught.length === 1, 10_000, 20);
    assert.match(caught[0].error.message, /URL is required/);
  });

  it("leaves no tickets behind when closed", async () => {
    await helper.load([cameraInNode, slowConsumerNode], flow({ mode: "input", url: "" }, "slow-consumer"));
    const node = helper.getNode("cam1");
    node.receive({ payload: jpeg });
    await eventually(() => held.length === 1, 10_000, 20);
    await helper.unload();
    assert.equal(openTickets(), 0);
    assert.equal(releaseFrame(held[0].ticket), false);
  });
});
