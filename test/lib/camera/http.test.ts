/** HTTP camera sources against real servers on 127.0.0.1: the simulator camera and small odd servers. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { LineGuardError } from "../../../lib/errors";
import type { FrameRecord } from "../../../lib/record";
import {
  FrameSourceEvents,
  MjpegClient,
  SnapshotPoller,
  SourceState,
  digestHeader,
  fetchImage,
  httpTarget,
  parseChallenge,
} from "../../../lib/camera/http";
import { RibbonCamera } from "../../../lib/sim/camera/render";
import { CameraServer, startCameraServer } from "../../../lib/sim/camera/server";
import { eventually } from "../../support/integration";

const FAST = { initialMs: 30, maxMs: 150, multiplier: 2, factor: 0 };

function recorder(): FrameSourceEvents & { frames: FrameRecord[]; errors: LineGuardError[]; states: SourceState[] } {
  const r = {
    frames: [] as FrameRecord[],
    errors: [] as LineGuardError[],
    states: [] as SourceState[],
    onFrame: (f: FrameRecord) => r.frames.push(f),
    onError: (e: LineGuardError) => r.errors.push(e),
    onState: (s: SourceState) => r.states.push(s),
  };
  return r;
}

/** A tiny server with a handler, on an ephemeral (or given) port. */
async function serve(
  handler: http.RequestListener,
  port = 0,
): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const srv = http.createServer(handler);
  await new Promise<void>((resolve) => srv.listen(port, "127.0.0.1", resolve));
  const p = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    close: () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      }),
  };
}

describe("lib/camera/http", function () {
  this.timeout(20000);
  let cam: CameraServer;
  let secured: CameraServer;
  let jpeg: Buffer;

  before(async () => {
    cam = await startCameraServer(new RibbonCamera({ seed: 1, width: 160, height: 120 }), { fps: 25 });
    secured = await startCameraServer(new RibbonCamera({ seed: 2, width: 160, height: 120 }), {
      fps: 25,
      user: "op",
      password: "pa:ss",
    });
    jpeg = (await new RibbonCamera({ seed: 3, width: 64, height: 48 }).frame(0)).jpeg;
  });
  after(async () => {
    await cam?.close();
    await secured?.close();
  });

  it("parses targets and auth challenges; computes Digest answers (RFC 2617 example)", () => {
    const t = httpTarget({ url: "http://u%40x:p%3Aw@127.0.0.1:1/a?b=1" });
    assert.equal(t.user, "u@x");
    assert.equal(t.password, "p:w");
    assert.equal(t.url.toString(), "http://127.0.0.1:1/a?b=1");
    assert.equal(httpTarget({ url: "http://a:b@h/", user: "x", password: "y" }).user, "x");
    assert.throws(() => httpTarget({ url: "ftp://h/" }), /http/);
    assert.throws(() => httpTarget({ url: "nope" }), /not a valid URL/);
    const c = parseChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    assert.equal(c.scheme, "digest");
    const h = digestHeader(c.params, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b");
    // nc depends on the call count; recompute the expected response for the nc used
    const nc = /nc=([0-9a-f]{8})/.exec(h)![1];
    const md5 = (s: string) => crypto.createHash("md5").update(s).digest("hex");
    const ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life");
    const ha2 = md5("GET:/dir/index.html");
    const expect = md5(`${ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:${nc}:0a4f113b:auth:${ha2}`);
    assert.match(h, new RegExp(`response="${expect}"`));
    if (nc === "00000001") assert.match(h, /response="6629fae49393a05397450978507c4ef1"/);
    assert.match(h, /opaque="5ccc069c403ebaf9f0171e9517f40e41"/);
  });

  it("polls snapshots into frame records", async () => {
    const r = recorder();
    const p = new SnapshotPoller({ url: `${cam.url}/snapshot.jpg`, source: "cam-a", intervalMs: 20, retry: FAST }, r);
    p.start();
    await eventually(() => r.frames.length >= 3, 10000, 20);
    await p.stop();
    const f = r.frames[0];
    assert.equal(f.source, "cam-a");
    assert.equal(f.format, "jpeg");
    assert.equal(f.width, 160);
    assert.equal(f.height, 120);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.states.slice(0, 2), ["connecting", "connected"]);
    assert.equal(r.states[r.states.length - 1], "stopped");
  });

  it("authenticates with Basic credentials (options or URL) and reports refused ones", async () => {
    const ok = await fetchImage(
      httpTarget({ url: `${secured.url}/snapshot.jpg`, user: "op", password: "pa:ss" }),
      5000,
    );
    assert.equal(ok.contentType, "image/jpeg");
    const viaUrl = await fetchImage(
      httpTarget({ url: `http://op:pa%3Ass@127.0.0.1:${secured.port}/snapshot.jpg` }),
      5000,
    );
    assert.ok(viaUrl.body.length > 100);
    const r = recorder();
    const p = new SnapshotPoller(
      { url: `${secured.url}/snapshot.jpg`, source: "s", intervalMs: 10, retry: FAST, user: "op", password: "bad" },
      r,
    );
    p.start();
    await eventually(() => r.errors.length >= 2, 10000, 20);
    await p.stop();
    assert.equal(r.errors[0].code, "auth");
    assert.match(r.errors[0].message, /HTTP 401/);
    assert.ok(!r.errors[0].message.includes("bad"));
    await assert.rejects(fetchImage(httpTarget({ url: `${secured.url}/snapshot.jpg` }), 5000), /HTTP 401/);
  });

  it("answers a Digest challenge", async () => {
    const realm = "cam";
    const nonce = crypto.randomBytes(8).toString("hex");
    const md5 = (s: string) => crypto.createHash("md5").update(s).digest("hex");
    const srv = await serve((req, res) => {
      const h = String(req.headers.authorization ?? "");
      const c = parseChallenge(h);
      if (c.scheme === "digest") {
        const p = c.params;
        const ha1 = md5(`op:${realm}:secret`);
        const ha2 = md5(`GET:${p.uri}`);
        const want = md5(`${ha1}:${nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
        if (p.response === want && p.uri === "/snap?x=1" && p.opaque === "op4") {
          res.writeHead(200, { "Content-Type": "image/jpeg" }).end(jpeg);
          return;
        }
      }
      res
        .writeHead(401, { "WWW-Authenticate": `Digest realm="${realm}", nonce="${nonce}", qop="auth", opaque="op4"` })
        .end();
    });
    try {
      const got = await fetchImage(httpTarget({ url: `${srv.url}/snap?x=1`, user: "op", password: "secret" }), 5000);
      assert.ok(got.body.equals(jpeg));
      await assert.rejects(
        fetchImage(httpTarget({ url: `${srv.url}/snap?x=1`, user: "op", password: "wrong" }), 5000),
        (e: LineGuardError) => e.code === "auth",
      );
    } finally {
      await srv.close();
    }
  });

  it("reports wrong content types, truncated and corrupt snapshots, and slow servers, without stopping", async () => {
    let mode = "html";
    const srv = await serve((_req, res) => {
      if (mode === "html") res.writeHead(200, { "Content-Type": "text/html" }).end("<html>login</html>");
      else if (mode === "truncated")
        res.writeHead(200, { "Content-Type": "image/jpeg" }).end(jpeg.subarray(0, jpeg.length >> 1));
      else if (mode === "octet-junk")
        res.writeHead(200, { "Content-Type": "application/octet-stream" }).end(Buffer.from("junk"));
      else if (mode === "stream") res.writeHead(200, { "Content-Type": "multipart/x-mixed-replace; boundary=x" }).end();
      else if (mode === "slow") setTimeout(() => res.writeHead(200).end(), 2000).unref();
      else res.writeHead(200, { "Content-Type": "image/jpeg" }).end(jpeg);
    });
    const r = recorder();
    const p = new SnapshotPoller(
      { url: `${srv.url}/x.jpg`, source: "s", intervalMs: 10, retry: FAST, timeoutMs: 150 },
      r,
    );
    try {
      p.start();
      for (const [m, code] of [
        ["html", "content-type"],
        ["truncated", "truncated-image"],
        ["octet-junk", "content-type"],
        ["stream", "content-type"],
        ["slow", "timeout"],
      ]) {
        mode = m;
        await eventually(
          () => r.errors.some((e) => e.code === code && (m !== "stream" || /MJPEG/.test(e.message))),
          10000,
          20,
        );
      }
      mode = "ok";
      const n = r.frames.length;
      await eventually(() => r.frames.length > n, 10000, 20);
      assert.match(r.errors.find((e) => e.code === "content-type")!.message, /text\/html/);
    } finally {
      await p.stop();
      await srv.close();
    }
  });

  it("reports an unreachable camera and connects once it is up", async () => {
    const probe = await serve((_q, s) => s.end());
    const port = probe.port;
    await probe.close();
    const r = recorder();
    const p = new SnapshotPoller(
      { url: `http://127.0.0.1:${port}/snapshot.jpg`, source: "s", intervalMs: 10, retry: FAST },
      r,
    );
    p.start();
    let srv: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      await eventually(() => r.errors.length >= 2, 10000, 20);
      assert.equal(r.errors[0].code, "unreachable");
      assert.equal(r.errors[0].retriable, true);
      assert.match(r.errors[0].message, /ECONNREFUSED/);
      srv = await serve((_q, res) => res.writeHead(200, { "Content-Type": "image/jpeg" }).end(jpeg), port);
      await eventually(() => r.frames.length >= 1, 10000, 20);
    } finally {
      await p.stop();
      await srv?.close();
    }
  });

  it("reads an MJPEG stream and reconnects after the camera restarts", async () => {
    const camera = new RibbonCamera({ seed: 5, width: 96, height: 64 });
    let srv = await startCameraServer(camera, { fps: 30 });
    const port = srv.port;
    const r = recorder();
    const c = new MjpegClient({ url: `${srv.url}/stream.mjpg`, source: "line", retry: FAST, timeoutMs: 2000 }, r);
    try {
      c.start();
      await eventually(() => r.frames.length >= 3, 10000, 20);
      assert.equal(r.frames[0].width, 96);
      assert.equal(r.frames[0].source, "line");
      assert.ok(r.states.includes("connected"));
      await srv.close();
      await eventually(() => r.errors.length >= 1, 10000, 20);
      const n = r.frames.length;
      srv = await startCameraServer(camera, { fps: 30, port });
      await eventually(() => r.frames.length > n + 2, 10000, 20);
    } finally {
      await c.stop();
      await srv.close();
    }
  });

  it("with Basic auth, wrong content type, corrupt parts and a silent stream", async () => {
    const r = recorder();
    const c = new MjpegClient(
      { url: `${secured.url}/stream.mjpg`, source: "s", user: "op", password: "pa:ss", retry: FAST },
      r,
    );
    c.start();
    await eventually(() => r.frames.length >= 2, 10000, 20);
    await c.stop();

    const wrong = recorder();
    const w = new MjpegClient({ url: `${cam.url}/snapshot.jpg`, source: "s", retry: FAST }, wrong);
    w.start();
    await eventually(() => wrong.errors.length >= 1, 10000, 20);
    await w.stop();
    assert.equal(wrong.errors[0].code, "content-type");
    assert.match(wrong.errors[0].message, /snapshot/);

    // a stream with a corrupt part between good ones, then silence
    const srv = await serve((_q, res) => {
      res.writeHead(200, { "Content-Type": "multipart/x-mixed-replace; boundary=b" });
      const partOf = (img: Buffer, type = "image/jpeg") =>
        Buffer.concat([
          Buffer.from(`--b\r\nContent-Type: ${type}\r\nContent-Length: ${img.length}\r\n\r\n`),
          img,
          Buffer.from("\r\n"),
        ]);
      res.write(partOf(jpeg));
      res.write(partOf(jpeg.subarray(0, 200)));
      res.write(partOf(Buffer.from("hello"), "text/plain"));
      res.write(partOf(jpeg));
    });
    const bad = recorder();
    const b = new MjpegClient({ url: `${srv.url}/s`, source: "s", retry: FAST, timeoutMs: 200 }, bad);
    try {
      b.start();
      await eventually(() => bad.errors.some((e) => e.code === "timeout"), 10000, 20);
      assert.ok(bad.frames.length >= 2);
      assert.ok(bad.errors.some((e) => e.code === "truncated-image"));
      assert.ok(bad.errors.some((e) => e.code === "content-type"));
    } finally {
      await b.stop();
      await srv.close();
    }
  });
});
