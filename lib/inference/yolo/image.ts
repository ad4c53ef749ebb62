/**
 * Image decoding with sharp (libuv's thread pool: the event loop never waits for it).
 */
import sharp from "sharp";
import { LineGuardError, errorMessage } from "../../errors";

/** Decoded pixels of an encoded image (JPEG, PNG, WebP, ...): HWC uint8, EXIF orientation applied. */
export interface DecodedImage {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/**
 * Decode an image with sharp (in libuv's pool). Empty, non-image, corrupt or truncated data is a
 * LineGuardError("bad-image") with the reason, never a crash.
 */
export async function decodeImage(image: Buffer | Uint8Array): Promise<DecodedImage> {
  if (!(image instanceof Uint8Array)) throw new LineGuardError("bad-image", "the image must be a Buffer");
  if (image.length === 0) throw new LineGuardError("bad-image", "the image is empty (0 bytes)");
  try {
    const { data, info } = await sharp(image, { failOn: "truncated" })
      .autoOrient()
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    throw new LineGuardError("bad-image", `cannot decode the image (${image.length} bytes): ${errorMessage(err)}`, {
      cause: err,
    });
  }
}
