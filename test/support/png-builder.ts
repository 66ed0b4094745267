// PNG files made byte by byte for the reader's tests: any size, colour type, bit depth and interlacing, with
// image data of the right size (all zeros: black, or palette entry 0) or whatever bytes a test inflates from.
import * as zlib from 'zlib';
import { inflatedBytes, PNG_SIGNATURE, type PngHeader } from '../../lib/image/png-header';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export interface PngSpec extends Partial<PngHeader> {
  width: number;
  height: number;
  /** The filtered scanlines to deflate (default: zeros, as many as the header needs). */
  scanlines?: Uint8Array;
  /** The IDAT data as it is, instead of deflated scanlines. */
  idat?: Uint8Array;
}

/** A PNG file; a palette image gets a two-entry palette (black, white). */
export function pngBytes(spec: PngSpec): Buffer {
  const header: PngHeader = { bitDepth: 8, colorType: 0, interlaced: false, ...spec };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(header.width, 0);
  ihdr.writeUInt32BE(header.height, 4);
  ihdr[8] = header.bitDepth;
  ihdr[9] = header.colorType;
  ihdr[12] = header.interlaced ? 1 : 0;
  const idat = spec.idat ?? zlib.deflateSync(spec.scanlines ?? Buffer.alloc(inflatedBytes(header)));
  return Buffer.concat([
    Buffer.from(PNG_SIGNATURE),
    chunk('IHDR', ihdr),
    ...(header.colorType === 3 ? [chunk('PLTE', Uint8Array.of(0, 0, 0, 255, 255, 255))] : []),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
