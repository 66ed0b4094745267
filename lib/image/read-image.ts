// A picture file of any kind fcnet reads (PNG, JPEG), told apart by its first bytes; other kinds people have
// (HEIC from phones, WebP from browsers, GIF, BMP, TIFF, SVG) are named in the refusal with what to do.
import { invalidArgument } from '../check';
import { readRegularFile } from '../io/read-file';
import { decodeJpeg, isJpeg } from './read-jpeg';
import { decodePng, MAX_IMAGE_FILE_BYTES, type RgbaImage } from './read-png';

const ascii = (bytes: Uint8Array, from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));

/** The kind of picture `bytes` hold when it is one fcnet does not read, by its signature. */
function otherFormat(bytes: Uint8Array): string | undefined {
  if (ascii(bytes, 4, 8) === 'ftyp' && /^(heic|heix|mif1|msf1|hevc|avif)/.test(ascii(bytes, 8, 12))) return ascii(bytes, 8, 12) === 'avif' ? 'an AVIF' : 'a HEIC (an iPhone photo)';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'a WebP';
  if (ascii(bytes, 0, 4) === 'GIF8') return 'a GIF';
  if (ascii(bytes, 0, 2) === 'BM') return 'a BMP';
  if (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*') return 'a TIFF';
  if (/^\s*(<\?xml|<svg)/.test(ascii(bytes, 0, Math.min(bytes.length, 64)))) return 'an SVG';
  return undefined;
}

/** Decodes a PNG or JPEG picture to 8-bit RGBA; `source` names it in errors. */
export function decodeImage(bytes: Uint8Array, source = 'picture'): RgbaImage {
  if (isJpeg(bytes)) return decodeJpeg(bytes, source);
  const other = otherFormat(bytes);
  if (other) throw new Error(`${source}: is ${other} picture; fcnet reads PNG and JPEG: convert it to PNG first`);
  return decodePng(bytes, source);
}

/** Reads and decodes a PNG or JPEG file; error messages start with the path. */
export function readImageFile(path: string): RgbaImage {
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  return decodeImage(readRegularFile(path, { what: 'a picture', maxBytes: MAX_IMAGE_FILE_BYTES }), path);
}
