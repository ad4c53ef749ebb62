/** The simulated camera: renderer, HTTP server (real server on 127.0.0.1) and the YOLO dataset generator. */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { imageInfo } from "../../../lib/camera/image";
import { MjpegParser, boundaryFromContentType } from "../../../lib/camera/mjpeg";
import { DEFECT_CLASSES, MIN_BOX_SIZE, RibbonCamera, type GroundTruthBox } from "../../../lib/sim/camera/render";
import { startCameraServer, type CameraServer } from "../../../lib/sim/camera/server";
import { generateDataset, parseDatasetArgs, yoloLabels } from "../../../models/yolo-glass/generate-dataset";

const T0 = Date.UTC(2025, 0, 6, 6, 0, 0);

/** Mean and std of luminance in a box of a raw RGB frame, and of a ring around it. */
function lum(raw: Buffer, W: number, x0: number, y0: number, x1: number, y1: number): number[] {
  const out: number[] = [];
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const o = (y * W + x) * 3;
      out.push(0.299 * raw[o] + 0.587 * raw[o + 1] + 0.114 * raw[o + 2]);
    }
  return out;
}
const stats = (v: number[]): { mean: number; std: number } => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length) };
};

describe("lib/sim/camera: RibbonCamera", function () {
  this.timeout(20000);

  it("is deterministic for a seed and differs between seeds", async () => {
    const a = new RibbonCamera({ seed: 7, defectRate: 2 });
    const b = new RibbonCamera({ seed: 7, defectRate: 2 });
    const c = new RibbonCamera({ seed: 8, defectRate: 2 });
    for (let i = 0; i < 3; i++) {
      const fa = await a.frame(T0 + i * 200);
      const fb = await b.frame(T0 + i * 200);
      const fc = await c.frame(T0 + i * 200);
      assert.ok(fa.jpeg.equals(fb.jpeg));
      assert.deepEqual(fa.boxes, fb.boxes);
      assert.ok(!fa.jpeg.equals(fc.jpeg));
    }
  });

  it("renders a JPEG of the configured size with boxes inside the frame, at least MIN_BOX_SIZE", async () => {
    const cam = new RibbonCamera({ seed: 3, width: 320, height: 240, defectRate: 4 });
    let n = 0;
    for (let i = 0; i < 20; i++) {
      const f = await cam.frame(T0 + i * 3_600_000);
      assert.deepEqual(imageInfo(f.jpeg), { format: "jpeg", width: 320, height: 240 });
      assert.equal(f.ts, T0 + i * 3_600_000);
      for (const b of f.boxes) {
        n++;
        assert.ok(DEFECT_CLASSES.includes(b.cls));
        assert.equal(b.classId, DEFECT_CLASSES.indexOf(b.cls));
        assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= 320 && b.y + b.h <= 240, JSON.stringify(b));
        assert.ok(b.w >= MIN_BOX_SIZE && b.h >= MIN_BOX_SIZE, JSON.stringify(b));
      }
    }
    assert.ok(n > 20, `only ${n} boxes`);
  });

  it("draws every class visibly: pixels in a box differ from the glass around it", () => {
    const cam = new RibbonCamera({ seed: 11, defectRate: 0 });
    let t = T0;
    for (const cls of DEFECT_CLASSES) {
      for (let k = 0; k < 4; k++) {
        t += 3_600_000;
        cam.inject(cls, 1);
        const { raw, boxes } = cam.renderRaw(t);
        assert.equal(boxes.length, 1);
        const b = boxes[0];
        assert.equal(b.cls, cls);
        const inside = stats(lum(raw, 640, b.x, b.y, b.x + b.w, b.y + b.h));
        // the glass: a band above or below the box
        const y0 = b.y >= 40 ? b.y - 30 : b.y + b.h + 5;
        const bg = stats(lum(raw, 640, b.x, y0, b.x + b.w, Math.min(480, y0 + 25)));
        const contrast = Math.abs(inside.mean - bg.mean) + Math.abs(inside.std - bg.std);
        assert.ok(contrast > 4, `${cls}: inside ${JSON.stringify(inside)} vs glass ${JSON.stringify(bg)}`);
      }
    }
  });

  it("moves texture and defects with the ribbon between frames", () => {
    const cam = new RibbonCamera({ seed: 5, defectRate: 0, ribbonSpeed: 12, pixelsPerMetre: 600 });
    cam.inject("stone", 1);
    const a = cam.renderRaw(T0);
    const b = cam.renderRaw(T0 + 1000); // 12 m/min * 600 px/m = 120 px/s
    assert.equal(a.boxes.length, 1);
    if (a.boxes[0].x + a.boxes[0].w + 120 <= 640) {
      assert.equal(b.boxes.length, 1);
      assert.equal(b.boxes[0].x - a.boxes[0].x, 120);
      assert.equal(b.boxes[0].y, a.boxes[0].y);
    }
    cam.setRibbonSpeed(0);
    const c = cam.renderRaw(T0 + 2000);
    const d = cam.renderRaw(T0 + 3000);
    assert.deepEqual(c.boxes, d.boxes);
  });

  it("follows class rates, defect rate and inject", () => {
    const cam = new RibbonCamera({ seed: 9, defectRate: 3 });
    cam.setClassRates({ bubble: 0, stone: 0, scratch: 0, crack: 0, tin_drip: 3 });
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) for (const b of cam.renderRaw(T0 + i * 3_600_000).boxes) seen.add(b.cls);
    assert.deepEqual([...seen], ["tin_drip"]);
    cam.setDefectRate(0);
    assert.equal(cam.defectRate, 0);
    assert.equal(cam.renderRaw(T0 + 100 * 3_600_000).boxes.length, 0);
    cam.inject("crack", 3);
    assert.equal(cam.renderRaw(T0 + 200 * 3_600_000).boxes.filter((b) => b.cls === "crack").length, 3);
    assert.throws(() => cam.inject("nope" as never), /unknown defect class/);
  });
});

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      })
      .on("error", reject);
  });
}

/** Read n parts of an MJPEG stream with our parser. */
function readStream(
  url: string,
  n: number,
  headers: Record<string, string> = {},
): Promise<{ ct: string; parts: Array<{ image: Buffer; headers: Record<string, string> }> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const ct = String(res.headers["content-type"]);
      const parser = new MjpegParser({ boundary: boundaryFromContentType(ct) });
      const parts: Array<{ image: Buffer; headers: Record<string, string> }> = [];
      res.on("data", (c: Buffer) => {
        parts.push(...parser.push(c));
        if (parts.length >= n) {
          req.destroy();
          resolve({ ct, parts });
        }
      });
      res.on("end", () => resolve({ ct, parts }));
    });
    req.on("error", reject);
  });
}

describe("lib/sim/camera: camera server", function () {
  this.timeout(20000);
  let server: CameraServer;
  let secured: CameraServer;
  const auth = `Basic ${Buffer.from("op:s3cret").toString("base64")}`;

  before(async () => {
    server = await startCameraServer(new RibbonCamera({ seed: 2, defectRate: 3 }), { fps: 20 });
    secured = await startCameraServer(new RibbonCamera({ seed: 2 }), { fps: 20, user: "op", password: "s3cret" });
  });
  after(async () => {
    await server?.close();
    await secured?.close();
  });

  it("binds 127.0.0.1 on an ephemeral port", () => {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
  });

  it("serves a fresh JPEG at /snapshot.jpg", async () => {
    const a = await get(`${server.url}/snapshot.jpg`);
    const b = await get(`${server.url}/snapshot.jpg`);
    assert.equal(a.status, 200);
    assert.equal(a.headers["content-type"], "image/jpeg");
    assert.equal(Number(a.headers["content-length"]), a.body.length);
    assert.deepEqual(imageInfo(a.body), { format: "jpeg", width: 640, height: 480 });
    assert.ok(!a.body.equals(b.body));
    const meta = await sharp(a.body).metadata();
    assert.equal(meta.width, 640);
  });

  it("streams MJPEG parts with Content-Length at /stream.mjpg", async () => {
    const { ct, parts } = await readStream(`${server.url}/stream.mjpg`, 3);
    assert.equal(ct, "multipart/x-mixed-replace; boundary=frame");
    assert.equal(parts.length >= 3, true);
    for (const p of parts) {
      assert.equal(p.headers["content-type"], "image/jpeg");
      assert.equal(Number(p.headers["content-length"]), p.image.length);
      assert.ok(Number(p.headers["x-timestamp"]) > 0);
      assert.equal(imageInfo(p.image).width, 640);
    }
  });

  it("gives the latest frame's boxes at /labels.json in pixels and YOLO-normalised", async () => {
    await get(`${server.url}/snapshot.jpg`);
    const r = await get(`${server.url}/labels.json`);
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body.toString()) as {
      width: number;
      height: number;
      names: string[];
      boxes: Array<GroundTruthBox & { yolo: number[] }>;
    };
    assert.deepEqual(j.names, [...DEFECT_CLASSES]);
    assert.equal(j.width, 640);
    for (const b of j.boxes) {
      assert.ok(Math.abs(b.yolo[0] - (b.x + b.w / 2) / 640) < 1e-9);
      assert.ok(Math.abs(b.yolo[3] - b.h / 480) < 1e-9);
    }
  });

  it("answers 404 and 405", async () => {
    assert.equal((await get(`${server.url}/nope`)).status, 404);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.url}/snapshot.jpg`, { method: "POST" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 405);
  });

  it("asks for Basic auth when a user is set and accepts the right credentials only", async () => {
    const none = await get(`${secured.url}/snapshot.jpg`);
    assert.equal(none.status, 401);
    assert.match(String(none.headers["www-authenticate"]), /^Basic realm=/);
    const wrong = await get(`${secured.url}/snapshot.jpg`, {
      Authorization: `Basic ${Buffer.from("op:nope").toString("base64")}`,
    });
    assert.equal(wrong.status, 401);
    const ok = await get(`${secured.url}/snapshot.jpg`, { Authorization: auth });
    assert.equal(ok.status, 200);
    assert.equal((await get(`${secured.url}/stream.mjpg`)).status, 401);
    const s = await readStream(`${secured.url}/stream.mjpg`, 1, { Authorization: auth });
    assert.equal(s.parts.length, 1);
  });

  it("ends open streams on close()", async () => {
    const srv = await startCameraServer(new RibbonCamera({ seed: 4 }), { fps: 10 });
    const ended = new Promise<number>((resolve, reject) => {
      http
        .get(`${srv.url}/stream.mjpg`, (res) => {
          let n = 0;
          const parser = new MjpegParser({ boundary: "frame" });
          res.on("data", (c: Buffer) => {
            n += parser.push(c).length;
            if (n === 1) void srv.close();
          });
          res.on("end", () => resolve(n));
          res.on("error", () => resolve(n));
        })
        .on("error", reject);
    });
    assert.ok((await ended) >= 1);
  });
});

describe("models/yolo-glass/generate-dataset", function () {
  this.timeout(30000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-yolo-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("parses its options", () => {
    const o = parseDatasetArgs(["--out", "x", "--train", "5", "--val", "2", "--test", "1", "--seed", "9"]);
    assert.equal(o.out, "x");
    assert.equal(o.train, 5);
    assert.equal(o.width, 640);
    assert.throws(() => parseDatasetArgs(["--bogus"]), /unknown option/);
    assert.throws(() => parseDatasetArgs(["--train", "x"]), /--train/);
  });

  it("formats YOLO labels", () => {
    assert.equal(
      yoloLabels([{ cls: "stone", classId: 1, x: 10, y: 20, w: 20, h: 40 }], 100, 200),
      "1 0.200000 0.200000 0.200000 0.200000",
    );
  });

  it("writes images, labels and data.yaml for each split", async () => {
    const stats = await generateDataset({
      ...parseDatasetArgs(["--out", dir]),
      train: 12,
      val: 4,
      test: 3,
      empty: 0.3,
    });
    assert.equal(stats.train.images, 12);
    for (const [split, n] of [
      ["train", 12],
      ["val", 4],
      ["test", 3],
    ] as const) {
      const imgs = fs.readdirSync(path.join(dir, "images", split));
      const lbls = fs.readdirSync(path.join(dir, "labels", split));
      assert.equal(imgs.length, n);
      assert.deepEqual(
        lbls.map((l) => l.replace(/\.txt$/, "")),
        imgs.map((i) => i.replace(/\.jpg$/, "")),
      );
      for (const l of lbls) {
        for (const line of fs
          .readFileSync(path.join(dir, "labels", split, l), "utf8")
          .split("\n")
          .filter(Boolean)) {
          const [c, ...xywh] = line.split(" ").map(Number);
          assert.ok(Number.isInteger(c) && c >= 0 && c < 5);
          for (const v of xywh) assert.ok(v >= 0 && v <= 1, line);
        }
      }
    }
    const yaml = fs.readFileSync(path.join(dir, "data.yaml"), "utf8");
    assert.match(yaml, /^path: /m);
    assert.match(yaml, /train: images\/train/);
    assert.match(yaml, /names:\n {2}- bubble\n {2}- stone\n {2}- scratch\n {2}- crack\n {2}- tin_drip/);
  });
});
