/** The streaming MJPEG parser: chunks split anywhere, with and without Content-Length, bounded memory. */
import assert from "node:assert/strict";
import sharp from "sharp";
import { LineGuardError } from "../../../lib/errors";
import { MjpegParser, boundaryFromContentType } from "../../../lib/camera/mjpeg";

/** A deterministic PRNG for the fuzzing. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function part(img: Buffer, boundary: string, withLength: boolean, extra = ""): Buffer {
  const head =
    `--${boundary}\r\nContent-Type: image/jpeg\r\n` +
    (withLength ? `Content-Length: ${img.length}\r\n` : "") +
    extra +
    "\r\n";
  return Buffer.concat([Buffer.from(head), img, Buffer.from("\r\n")]);
}

function feed(p: MjpegParser, data: Buffer, rnd: () => number, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    const n = 1 + Math.floor(rnd() * maxChunk);
    out.push(...p.push(data.subarray(i, i + n)).map((x) => x.image));
    i += n;
  }
  return out;
}

describe("lib/camera/mjpeg", () => {
  const imgs: Buffer[] = [];
  let withThumb: Buffer;
  before(async () => {
    for (let k = 0; k < 4; k++) {
      const px = Buffer.alloc(40 * 30 * 3);
      for (let i = 0; i < px.length; i++) px[i] = (i * (k + 3) + k * 7) & 255;
      imgs.push(
        await sharp(px, { raw: { width: 40, height: 30, channels: 3 } })
          .jpeg({ quality: 60 + k * 10, progressive: k === 3 })
          .toBuffer(),
      );
    }
    // an APP1 segment holding a whole JPEG (an EXIF-like thumbnail): its EOI must not end the frame
    const thumb = imgs[0];
    const seg = Buffer.alloc(4 + thumb.length);
    seg[0] = 0xff;
    seg[1] = 0xe1;
    seg.writeUInt16BE(thumb.length + 2, 2);
    thumb.copy(seg, 4);
    withThumb = Buffer.concat([imgs[1].subarray(0, 2), seg, imgs[1].subarray(2)]);
  });

  it("takes the boundary from the content type", () => {
    assert.equal(boundaryFromContentType("multipart/x-mixed-replace; boundary=frame"), "frame");
    assert.equal(boundaryFromContentType('multipart/x-mixed-replace;boundary="my frame"'), "my frame");
    assert.equal(boundaryFromContentType("multipart/x-mixed-replace; charset=x; BOUNDARY=--b"), "--b");
    assert.equal(boundaryFromContentType("multipart/x-mixed-replace"), undefined);
    assert.equal(boundaryFromContentType("image/jpeg"), undefined);
    assert.equal(boundaryFromContentType(undefined), undefined);
  });

  for (const withLength of [true, false]) {
    it(`parses parts ${withLength ? "with" : "without"} Content-Length, chunks split anywhere (fuzz)`, () => {
      const all = [...imgs, withThumb];
      const stream = Buffer.concat([
        Buffer.from("preamble to ignore\r\n"),
        ...all.map((img) => part(img, "frame", withLength)),
      ]);
      for (let seed = 1; seed <= 60; seed++) {
        const rnd = lcg(seed);
        const p = new MjpegParser({ boundary: "frame" });
        const got = feed(p, stream, rnd, seed % 3 === 0 ? 3 : 700);
        assert.equal(got.length, all.length, `seed ${seed}`);
        got.forEach((g, i) => assert.ok(g.equals(all[i]), `seed ${seed} part ${i}`));
        assert.equal(p.frames, all.length);
      }
    });
  }

  it("handles a boundary declared with dashes, LF-only lines and parts without headers", () => {
    const body = Buffer.concat([
      Buffer.from("--myb\n\n"),
      imgs[0],
      Buffer.from("\n--myb\n"),
      imgs[1], // no header block at all
      Buffer.from("\n--myb--\n"),
    ]);
    const p = new MjpegParser({ boundary: "--myb" });
    const got = feed(p, body, lcg(3), 50);
    assert.equal(got.length, 2);
    assert.ok(got[0].equals(imgs[0]));
    assert.ok(got[1].equals(imgs[1]));
  });

  it("cuts non-JPEG parts without length at the next boundary", () => {
    const txt = Buffer.from("not an image");
    const body = Buffer.concat([
      Buffer.from("--b\r\nContent-Type: text/plain\r\n\r\n"),
      txt,
      Buffer.from("\r\n"),
      part(imgs[2], "b", false),
    ]);
    const p = new MjpegParser({ boundary: "b" });
    const parts = p.push(body);
    assert.equal(parts.length, 2);
    assert.equal(parts[0].headers["content-type"], "text/plain");
    assert.ok(parts[0].image.equals(txt));
    assert.ok(parts[1].image.equals(imgs[2]));
  });

  it("reads a bare concatenation of JPEGs when there is no boundary", () => {
    const body = Buffer.concat([Buffer.from("junk"), imgs[0], Buffer.from([0, 0]), imgs[1], withThumb]);
    for (let seed = 1; seed <= 20; seed++) {
      const got = feed(new MjpegParser(), body, lcg(seed), 257);
      assert.equal(got.length, 3);
      assert.ok(got[2].equals(withThumb));
    }
  });

  it("skips parts over the size limit, by length or by scanning, and keeps going", () => {
    const errors: LineGuardError[] = [];
    const big = imgs[3];
    const p = new MjpegParser({ boundary: "frame", maxFrameBytes: big.length - 1, onError: (e) => errors.push(e) });
    const small = imgs.filter((i) => i.length < big.length);
    const body = Buffer.concat([part(big, "frame", true), part(small[0], "frame", true), part(big, "frame", false)]);
    const got = feed(p, Buffer.concat([body, part(small[0], "frame", false)]), lcg(9), 100);
    assert.equal(got.length, 2);
    assert.ok(got.every((g) => g.equals(small[0])));
    assert.deepEqual(
      errors.map((e) => e.code),
      ["too-large", "too-large"],
    );
    assert.ok(p.buffered < big.length);
  });

  it("reports bad Content-Length and broken JPEG parts, then resynchronises", () => {
    const errors: string[] = [];
    const p = new MjpegParser({ boundary: "f", onError: (e) => errors.push(e.code) });
    const broken = Buffer.from([0xff, 0xd8, 0x12, 0x34, 0x56]);
    const body = Buffer.concat([
      Buffer.from("--f\r\nContent-Length: abc\r\n\r\nxxxx\r\n"),
      Buffer.from("--f\r\n\r\n"),
      broken,
      Buffer.from("\r\n"),
      part(imgs[0], "f", false),
    ]);
    const got = p.push(body);
    assert.equal(got.length, 1);
    assert.ok(got[0].image.equals(imgs[0]));
    assert.deepEqual(errors, ["bad-part", "bad-part"]);
  });

  it("keeps memory bounded on garbage without boundaries", () => {
    const p = new MjpegParser({ boundary: "frame", maxFrameBytes: 10_000 });
    const rnd = lcg(5);
    for (let i = 0; i < 200; i++) {
      const chunk = Buffer.alloc(1000);
      for (let k = 0; k < chunk.length; k++) chunk[k] = Math.floor(rnd() * 256);
      p.push(chunk);
    }
    assert.ok(p.buffered < 100);
  });
});
