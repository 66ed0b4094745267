// The IDX format of the MNIST files: a magic number (two zero bytes, a type code, the number of
// dimensions), one big-endian uint32 per dimension, then the values. Raw or gzip-compressed.
import * as fs from 'fs';
import * as zlib from 'zlib';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

/** Parses IDX bytes of unsigned bytes (what MNIST uses); `source` names the file in errors. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${source}: gzip data is corrupt (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new Error(`${source}: truncated, ${bytes.length} bytes is shorter than the 4-byte IDX magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new Error(`${source}: not an IDX file, magic number 0x${magic} does not start with two zero bytes`);
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new Error(`${source}: IDX type code 0x${bytes[2].toString(16).padStart(2, '0')} is not 0x08 (unsigned byte), the only type MNIST uses`);
  }
  const dims = bytes[3];
  if (dims < 1 || dims > 4) throw new Error(`${source}: IDX header declares ${dims} dimensions; expected 1 to 4`);
  const headerBytes = 4 + 4 * dims;
  if (bytes.length < headerBytes) throw new Error(`${source}: truncated, ${bytes.length} bytes is shorter than its ${headerBytes}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerBytes;
  if (available < count) {
    throw new Error(`${source}: truncated, shape [${shape.join(', ')}] needs ${count} bytes of data but only ${available} follow the header`);
  }
  if (available > count) {
    throw new Error(`${source}: ${available - count} unexpected bytes after the ${count} bytes that shape [${shape.join(', ')}] holds`);
  }
  return { shape, data: bytes.subarray(headerBytes, headerBytes + count) };
}

export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read IDX file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseIdx(bytes, path);
}
