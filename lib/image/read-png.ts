// PNG files, decoded with pngjs: every colour type and bit depth comes out as 8-bit RGBA.
import { PNG } from 'pngjs';

export interface RgbaImage {
  width: number;
  height: number;
  /** (height, width, 4) bytes: red, green, blue, alpha. */
  rgba: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decodes PNG `bytes`; `source` names them in errors. */
export function decodePng(bytes: Uint8Array, source = 'PNG'): RgbaImage {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error(`${source}: not a PNG image (it does not start with the PNG signature); convert it to PNG first`);
  }
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (error) {
    throw new Error(`${source}: the PNG image cannot be decoded (${(error as Error).message}); the file may be truncated or damaged`);
  }
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
}
