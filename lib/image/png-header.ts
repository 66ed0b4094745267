// What a PNG file says about its size before anything is inflated: the IHDR chunk (PNG spec, section 11.2.2)
// and how many bytes its image data must inflate to. read-png checks these against its limits first, so a small
// file declaring a huge picture, or image data that inflates past what the picture needs, costs nothing.

export interface PngHeader {
  width: number;
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: number;
  /** Adam7 interlacing. */
  interlaced: boolean;
}

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
// Adam7's seven passes: first column and row, column and row steps.
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

export const hasPngSignature = (bytes: Uint8Array): boolean =>
  bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);

/** The IHDR fields, or a description of what is wrong with them. */
export function readPngHeader(bytes: Uint8Array): PngHeader | string {
  if (bytes.length < 8 + 8 + 13) return 'it is too short to hold a PNG header';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== 'IHDR' || view.getUint32(8, false) !== 13) return 'its first chunk is not a 13-byte IHDR';
  const header = {
    width: view.getUint32(16, false),
    height: view.getUint32(20, false),
    bitDepth: bytes[24],
    colorType: bytes[25],
    interlaced: bytes[28] === 1,
  };
  if (header.width < 1 || header.height < 1) return `it declares ${header.width} × ${header.height} pixels`;
  if (!(header.colorType in SAMPLES_PER_PIXEL) || ![1, 2, 4, 8, 16].includes(header.bitDepth)) {
    return `colour type ${header.colorType} with bit depth ${header.bitDepth} is not a PNG format`;
  }
  if (bytes[28] > 1) return `interlace method ${bytes[28]} is not a PNG one`;
  return header;
}

/** Bytes of one filtered row of `width` pixels: the filter-type byte and the packed samples. */
const rowBytes = (header: PngHeader, width: number): number =>
  1 + Math.ceil((width * SAMPLES_PER_PIXEL[header.colorType] * header.bitDepth) / 8);

/** The bytes the image data must inflate to: every row of every (Adam7) pass with its filter byte. */
export function inflatedBytes(header: PngHeader): number {
  if (!header.interlaced) return header.height * rowBytes(header, header.width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const width = header.width > x0 ? Math.ceil((header.width - x0) / dx) : 0;
    const height = header.height > y0 ? Math.ceil((header.height - y0) / dy) : 0;
    if (width > 0 && height > 0) total += height * rowBytes(header, width);
  }
  return total;
}

/**
 * Walks the chunks, their lengths checked against the file, never trusted: returns the concatenated data of the
 * IDAT chunks (empty unless `collect`), or what is wrong. A second IHDR is refused: pngjs would take its size
 * over the first one's, which the limits were checked against.
 */
export function imageData(bytes: Uint8Array, collect: boolean): Uint8Array | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at, false);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (length > bytes.length - at - 12) return `chunk ${JSON.stringify(type)} at byte ${at} runs past the end of the file`;
    if (type === 'IHDR' && at !== 8) return `a second IHDR chunk at byte ${at}`;
    if (type === 'IDAT' && collect) {
      parts.push(bytes.subarray(at + 8, at + 8 + length));
      total += length;
    }
    if (type === 'IEND') break;
    at += 12 + length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
