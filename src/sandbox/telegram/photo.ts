// What the real Bot API checks of an uploaded photo before it accepts it: that it is an
// image it can read (PNG or JPEG here), at most 10 MB, width and height adding up to at
// most 10000 and neither side more than 20 times the other.
import { badRequest } from './errors.js';

/** Bot API: "The photo must be at most 10 MB in size." */
export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;

/** A photo's pixel size, read from its header. */
export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The size in a JPEG's first start-of-frame segment; undefined when there is none. */
function jpegSize(bytes: Buffer): ImageSize | undefined {
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    const length = bytes.readUInt16BE(at + 2);
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    at += 2 + length;
  }
  return undefined;
}

/** The photo's size, or the Bot API's refusal of it. */
export function checkPhoto(bytes: Buffer): ImageSize {
  if (bytes.length > MAX_PHOTO_BYTES) throw badRequest('file is too big');
  let size: ImageSize | undefined;
  if (
    bytes.length >= 24 &&
    bytes.subarray(0, 8).equals(PNG_SIGNATURE) &&
    bytes.toString('latin1', 12, 16) === 'IHDR'
  )
    size = { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  else if (bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8) size = jpegSize(bytes);
  if (!size || size.width === 0 || size.height === 0) throw badRequest('IMAGE_PROCESS_FAILED');
  const { width, height } = size;
  if (width + height > 10_000 || Math.max(width, height) > 20 * Math.min(width, height))
    throw badRequest('PHOTO_INVALID_DIMENSIONS');
  return size;
}
