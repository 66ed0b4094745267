// JPEG files (photos of handwriting), decoded with jpeg-js: a pure-JavaScript baseline and progressive decoder,
// maintained, with no native code to build, and with its own limits on resolution and memory. EXIF is not read:
// a photo's orientation tag is not applied.
import { decode } from 'jpeg-js';
import type { RgbaImage } from './read-png';

/** The largest picture decoded, in megapixels: 50 MP, a phone camera's photo is 12 to 48. */
export const MAX_JPEG_MEGAPIXELS = 50;
/** jpeg-js's own ceiling on what it allocates while decoding, in MB. */
const MAX_JPEG_MEMORY_MB = 1024;

export const isJpeg = (bytes: Uint8Array): boolean => bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;

/** Decodes JPEG `bytes` to 8-bit RGBA (alpha 255); `source` names them in errors. */
export function decodeJpeg(bytes: Uint8Array, source = 'JPEG'): RgbaImage {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_JPEG_MEGAPIXELS, maxMemoryUsageInMB: MAX_JPEG_MEMORY_MB });
  } catch (error) {
    const reason = (error as Error)?.message ?? String(error);
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(reason)) {
      throw new Error(`${source}: the JPEG image is larger than ${MAX_JPEG_MEGAPIXELS} megapixels; scale it down first`);
    }
    throw new Error(`${source}: the JPEG image cannot be decoded (${reason}); the file may be truncated or damaged`);
  }
  return { width: image.width, height: image.height, rgba: image.data };
}
