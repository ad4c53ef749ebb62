/** Image sniffing: format, size from headers, truncated and corrupt data. */
import assert from "node:assert/strict";
import sharp from "sharp";
import { LineGuardError } from "../../../lib/errors";
import { DEFAULT_MAX_FRAME_BYTES, frameFromPayload, toFrame } from "../../../lib/camera/frame";
import { imageInfo, isImageContentType, sniffFormat } from "../../../lib/camera/image";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LineGuardError, String(err));
    return err.code;
  }
  return "ok";
}

describe("lib/camera/image", () => {
  let jpeg: Buffer;
  let progressive: Buffer;
  let png: Buffer;
  before(async () => {
    const raw = { raw: { width: 37, height: 23, channels: 3 as const } };
    const px = Buffer.alloc(37 * 23 * 3, 90);
    for (let i = 0; i < px.length; i += 7) px[i] = (i * 13) & 255;
    jpeg = await sharp(px, raw).jpeg({ quality: 80 }).withMetadata({ orientation: 1 }).toBuffer();
    progressive = await sharp(px, raw).jpeg({ progressive: true }).toBuffer();
    png = await sharp(px, raw).png().toBuffer();
  });

  it("sniffs JPEG and PNG by their magic bytes", () => {
    assert.equal(sniffFormat(jpeg), "jpeg");
    assert.equal(sniffFormat(png), "png");
    assert.equal(sniffFormat(Buffer.from("<html>")), undefined);
    assert.equal(sniffFormat(Buffer.alloc(0)), undefined);
  });

  it("reads width and height from the headers (baseline, progressive, PNG)", () => {
    assert.deepEqual(imageInfo(jpeg), { format: "jpeg", width: 37, height: 23 });
    assert.deepEqual(imageInfo(progressive), { format: "jpeg", width: 37, height: 23 });
    assert.deepEqual(imageInfo(png), { format: "png", width: 37, height: 23 });
  });

  it("accepts a little padding after the JPEG end marker", () => {
    assert.equal(imageInfo(Buffer.concat([jpeg, Buffer.from("\r\n\0\0")])).width, 37);
  });

  it("detects truncated images at every cut", () => {
    for (const img of [jpeg, progressive, png]) {
      for (let cut = 1; cut < img.length - 1; cut += Math.max(1, Math.floor(img.length / 97))) {
        const c = code(() => imageInfo(img.subarray(0, cut)));
        assert.ok(["truncated-image", "corrupt-image", "not-image"].includes(c), `cut ${cut}: ${c}`);
      }
      assert.equal(
        code(() => imageInfo(img.subarray(0, img.length - 2))),
        "truncated-image",
      );
    }
  });

  it("detects corrupt structure and non-images", () => {
    assert.equal(
      code(() => imageInfo(Buffer.from("<html>no</html>"))),
      "not-image",
    );
    assert.equal(
      code(() => imageInfo(Buffer.alloc(0))),
      "not-image",
    );
    const badMarker = Buffer.from(jpeg);
    badMarker[2] = 0x12; // first marker's 0xff
    assert.equal(
      code(() => imageInfo(badMarker)),
      "not-image",
    );
    const badLen = Buffer.from(jpeg);
    badLen[4] = 0;
    badLen[5] = 1; // segment length 1
    assert.equal(
      code(() => imageInfo(badLen)),
      "corrupt-image",
    );
    const noSof = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0x00, 0xff, 0xd9]);
    assert.equal(
      code(() => imageInfo(noSof)),
      "corrupt-image",
    );
    const badPng = Buffer.from(png);
    badPng.write("JUNK", 12, "latin1");
    assert.equal(
      code(() => imageInfo(badPng)),
      "corrupt-image",
    );
    const zeroPng = Buffer.from(png);
    zeroPng.writeUInt32BE(0, 16);
    assert.equal(
      code(() => imageInfo(zeroPng)),
      "corrupt-image",
    );
    // random bytes never throw anything but LineGuardErrors
    let seed = 1;
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(i % 2 ? jpeg : png);
      for (let k = 0; k < 5; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        b[seed % b.length] = seed & 255;
      }
      code(() => imageInfo(b.subarray(0, 8 + (seed % b.length))));
    }
  });

  it("knows image content types", () => {
    assert.ok(isImageContentType("image/jpeg"));
    assert.ok(isImageContentType("IMAGE/PNG; charset=binary"));
    assert.ok(!isImageContentType("text/html"));
    assert.ok(!isImageContentType(undefined));
  });

  it("makes frame records from Buffers and frame payloads", () => {
    const f = toFrame(jpeg, "cam-1", 123);
    assert.deepEqual(
      { ...f, image: f.image.length },
      {
        source: "cam-1",
        ts: 123,
        image: jpeg.length,
        width: 37,
        height: 23,
        format: "jpeg",
      },
    );
    assert.equal(
      code(() => toFrame(jpeg, "c", 1, 10)),
      "too-large",
    );
    assert.ok(DEFAULT_MAX_FRAME_BYTES > 1e6);
    const p = frameFromPayload({ image: png, source: "own", ts: "2025-01-06T06:00:00Z", width: 1 }, "topic");
    assert.equal(p.source, "own");
    assert.equal(p.ts, Date.UTC(2025, 0, 6, 6));
    assert.equal(p.width, 37);
    assert.equal(p.format, "png");
    const j = frameFromPayload(JSON.parse(JSON.stringify({ image: jpeg })), "topic");
    assert.equal(j.source, "topic");
    assert.equal(frameFromPayload(jpeg, "t").source, "t");
    assert.equal(
      code(() => frameFromPayload("text", "t")),
      "not-image",
    );
    assert.equal(
      code(() => frameFromPayload({ image: "x" }, "t")),
      "not-image",
    );
    assert.equal(
      code(() => frameFromPayload({ image: jpeg, ts: "soon" }, "t")),
      "bad-timestamp",
    );
    assert.equal(
      code(() => frameFromPayload(jpeg.subarray(0, 100), "t")),
      "truncated-image",
    );
  });
});
