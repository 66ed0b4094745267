// PNG files, decoded with pngjs: every colour type and bit depth comes out as 8-bit RGBA.
// Limits, checked before pngjs allocates anything: at most MAX_PNG_PIXELS pixels (pngjs takes up to 37 bytes a
// pixel while decoding, 16-bit RGBA interlaced being the worst), files of at most MAX_IMAGE_FILE_BYTES, and image
// data that inflates to no more than the picture needs (pngjs bounds that itself only for non-interlaced files).
import * as zlib from 'node:zlib';
import { PNG } from 'pngjs';
import { checkInteger, checkKnownOptions, invalidArgument } from '../check';
import { clipText } from '../io/bounded-text';
import { readRegularFile } from '../io/read-file';
import { hasPngSignature, imageData, inflatedBytes, readPngHeader } from './png-header';

export interface RgbaImage {
  width: number;
  height: number;
  /** (height, width, 4) bytes: red, green, blue, alpha. */
  rgba: Uint8Array;
}

/** The default pixel limit: 4096 × 4096 (16.8 megapixels), about 750 MB at most to decode and make an MNIST input. */
export const MAX_PNG_PIXELS = 4096 * 4096;
/** Larger picture files are not read: 16.8 megapixels of 16-bit RGBA stored uncompressed take 134 MB. */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

export interface PngReadOptions {
  /** Pictures with more pixels are refused before decoding. Default MAX_PNG_PIXELS. */
  maxPixels?: number;
}

function pixelLimit(options: PngReadOptions, what: string): number {
  if (typeof options !== 'object' || options === null) throw invalidArgument('object', 'options', options);
  checkKnownOptions(what, options, ['maxPixels']);
  return options.maxPixels === undefined ? MAX_PNG_PIXELS : checkInteger('maxPixels', options.maxPixels, 1);
}

const damaged = (source: string, problem: string): Error =>
  new Error(`${source}: the PNG image cannot be decoded (${problem}); the file may be truncated or damaged`);

/** Refuses, before any decoding, a picture over the pixel limit or image data that inflates past what it needs. */
function checkLimits(bytes: Uint8Array, source: string, maxPixels: number): void {
  const header = readPngHeader(bytes);
  if (typeof header === 'string') throw damaged(source, header);
  const { width, height } = header;
  if (width * height > maxPixels) {
    const count = (n: number): string => n.toLocaleString('en-US');
    throw new Error(`${source}: the picture is ${count(width)} × ${count(height)} pixels, over the limit of ${count(maxPixels)} pixels; scale it down first`);
  }
  // pngjs inflates a non-interlaced picture's data to at most what it needs, an interlaced one's to any size.
  const data = imageData(bytes, header.interlaced);
  if (typeof data === 'string') throw damaged(source, data);
  if (!header.interlaced) return;
  const needed = inflatedBytes(header);
  try {
    zlib.inflateSync(data, { maxOutputLength: needed + 1 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw damaged(source, `its image data inflates to more than the ${needed} bytes a ${width} × ${height} picture needs`);
    }
    // Corrupt data: pngjs says what is wrong.
  }
}

/** Decodes PNG `bytes`; `source` names them in errors. */
export function decodePng(bytes: Uint8Array, source = 'PNG', options: PngReadOptions = {}): RgbaImage {
  const maxPixels = pixelLimit(options, 'decodePng');
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('Uint8Array', 'bytes', bytes);
  if (!hasPngSignature(bytes)) {
    throw new Error(`${source}: not a PNG image (it does not start with the PNG signature); convert it to PNG first`);
  }
  checkLimits(bytes, source, maxPixels);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (error) {
    throw damaged(source, clipText((error as Error)?.message ?? String(error)));
  }
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
}

/** Reads and decodes a PNG file; error messages start with the path. */
export function readPngFile(path: string, options: PngReadOptions = {}): RgbaImage {
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  const maxPixels = pixelLimit(options, 'readPngFile');
  return decodePng(readRegularFile(path, { what: 'a PNG image', maxBytes: MAX_IMAGE_FILE_BYTES }), path, { maxPixels });
}
