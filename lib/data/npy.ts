// NumPy's .npy format (numpy.lib.format, versions 1.0, 2.0, 3.0): the magic '\x93NUMPY', a version, a little-
// endian header length, a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), } and
// the C-order data. The header is parsed strictly and bounded (numpy's own reader allows 10,000 bytes), so a
// hostile file cannot make it allocate or loop: the declared shape must account for exactly the bytes there.
import { readFileSync } from 'node:fs';
import { createFeatureDataset, type FeatureDataset } from './dataset';
import type { Task } from './csv';

/** The dtypes read, by numpy's descr: little-endian (or byte-sized) only. */
const DTYPES = { '<f4': 4, '<f8': 8, '|u1': 1, '<u1': 1, '<i4': 4, '<i8': 8 } as const;
export type Descr = keyof typeof DTYPES;
const MAX_HEADER = 10000;

export interface NpyArray {
  descr: Descr;
  shape: number[];
  /** The values: float32 as Float32Array, uint8 as Uint8Array, the others as Float64Array (exact; int64 must fit in 2^53). */
  data: Float32Array | Float64Array | Uint8Array;
}

/** The parts of a .npy file's header dict, or an Error saying what is wrong. */
function parseHeader(text: string, source: string): { descr: Descr; fortran: boolean; shape: number[] } {
  const fail = (problem: string): Error => new Error(`${source}: not a .npy file numpy would write: ${problem}`);
  const body = text.replace(/[\s]+$/, '');
  if (!body.startsWith('{') || !body.endsWith('}')) throw fail('the header is not a dict literal');
  const entry = /\s*'(descr|fortran_order|shape)'\s*:\s*('([^'\\]*)'|True|False|\(([0-9,\s]*)\))\s*(,|$)/y;
  const inner = body.slice(1, -1);
  const found: Record<string, string> = {};
  entry.lastIndex = 0;
  while (entry.lastIndex < inner.length) {
    const start = entry.lastIndex;
    if (/^\s*$/.test(inner.slice(start))) break;
    const m = entry.exec(inner);
    if (!m) throw fail(`unexpected header text at '${inner.slice(start, start + 30)}'`);
    if (found[m[1]] !== undefined) throw fail(`key '${m[1]}' twice`);
    found[m[1]] = m[2];
  }
  for (const key of ['descr', 'fortran_order', 'shape']) if (found[key] === undefined) throw fail(`no '${key}'`);
  const descr = found.descr.replace(/^'|'$/g, '');
  if (!(descr in DTYPES)) throw new Error(`${source}: dtype '${descr.slice(0, 20)}' is not read; fcnet reads float32, float64, uint8, int32 and int64, little-endian (<f4, <f8, |u1, <i4, <i8)`);
  if (found.fortran_order !== 'True' && found.fortran_order !== 'False') throw fail("'fortran_order' is not True or False");
  const tuple = found.shape.slice(1, -1).split(',').map((s) => s.trim()).filter((s, i, all) => s !== '' || i !== all.length - 1);
  const shape = tuple.map((s) => {
    if (!/^[0-9]{1,15}$/.test(s)) throw fail(`shape entry '${s.slice(0, 20)}' is not a size`);
    return Number(s);
  });
  return { descr: descr as Descr, fortran: found.fortran_order === 'True', shape };
}

/** Reads a .npy file: its dtype, shape (C order) and values. */
export function readNpy(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new Error(`Cannot read ${file}: ${(error as Error).message}`);
  }
  return parseNpy(bytes, file);
}

/** Where a .npy file's data starts, its dtype and shape, from its first bytes (at most 12 + 10,000 are read). */
export function parseNpyHeader(bytes: Uint8Array, fileSize: number, source: string): { descr: Descr; shape: number[]; offset: number; itemSize: number; count: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new Error(`${source}: not a .npy file (no '\\x93NUMPY' magic)`);
  const major = bytes[6];
  if (major < 1 || major > 3 || bytes[7] !== 0) throw new Error(`${source}: .npy version ${major}.${bytes[7]} is not read (1.0, 2.0 and 3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : Infinity;
  const start = major === 1 ? 10 : 12;
  if (headerLength > MAX_HEADER) throw new Error(`${source}: a .npy header of ${headerLength} bytes; more than ${MAX_HEADER} (numpy's own limit) is refused`);
  if (start + headerLength > bytes.length) throw new Error(`${source}: truncated .npy header`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  const { descr, fortran, shape } = parseHeader(text, source);
  if (fortran && shape.length > 1) throw new Error(`${source}: Fortran order is not read; save the array in C order (np.ascontiguousarray)`);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = DTYPES[descr];
  const offset = start + headerLength;
  if (!Number.isSafeInteger(count * itemSize) || count * itemSize !== fileSize - offset) {
    throw new Error(`${source}: shape (${shape.join(', ')}) of ${descr} needs ${count * itemSize} bytes of data but the file has ${fileSize - offset}`);
  }
  return { descr, shape, offset, itemSize, count };
}

/** Values of `count` items of dtype `descr` from `bytes` (little-endian) into `out` as float32 (or copies uint8). */
export function decodeNpyValues(out: Float32Array | Float64Array | Uint8Array, bytes: Uint8Array, descr: Descr, count: number, source: string, first = 0): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = DTYPES[descr];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    if (descr === '<f4') out[i] = view.getFloat32(at, true);
    else if (descr === '<f8') out[i] = view.getFloat64(at, true);
    else if (descr === '<i4') out[i] = view.getInt32(at, true);
    else if (descr === '<i8') {
      const v = view.getBigInt64(at, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${source}: int64 value ${v} at index ${first + i} does not fit a double`);
      out[i] = Number(v);
    } else out[i] = bytes[at];
  }
}

export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  const { descr, shape, offset, count } = parseNpyHeader(bytes, bytes.length, source);
  if (descr === '|u1' || descr === '<u1') return { descr, shape, data: Uint8Array.from(bytes.subarray(offset)) };
  if (descr === '<f4') { // the file's bytes are the array's (a little-endian host): a view when aligned, else one copy
    const at = bytes.byteOffset + offset;
    if (at % 4 === 0) return { descr, shape, data: new Float32Array(bytes.buffer, at, count) };
    const copy = new Uint8Array(count * 4);
    copy.set(bytes.subarray(offset, offset + count * 4));
    return { descr, shape, data: new Float32Array(copy.buffer) };
  }
  const data = new Float64Array(count);
  decodeNpyValues(data, bytes.subarray(offset), descr, count, source);
  return { descr, shape, data };
}

/**
 * A dataset from two .npy files: features (N, ...) of any of the dtypes (uint8 stays pixels, scaled by 1/255;
 * the others become float32, with float64 rounded), and targets (N) of integers as class indices, or (N) / (N, K)
 * of floats as values ('regress', or 'multilabel' for 0/1 columns). `task` overrides the guess.
 */
export function readNpyDataset(featuresFile: string, targetsFile: string, task?: Task): FeatureDataset {
  const x = readNpy(featuresFile);
  const y = readNpy(targetsFile);
  if (x.shape.length < 2) throw new Error(`${featuresFile}: features of shape (${x.shape.join(', ')}); expected (N, D) or (N, ...)`);
  const n = x.shape[0];
  const d = x.shape.slice(1).reduce((a, b) => a * b, 1);
  if (y.shape.length < 1 || y.shape.length > 2 || y.shape[0] !== n) {
    throw new Error(`${targetsFile}: targets of shape (${y.shape.join(', ')}); expected (${n}) or (${n}, K) to go with ${featuresFile}`);
  }
  const features = x.data instanceof Uint8Array || x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
  const integers = y.descr !== '<f4' && y.descr !== '<f8';
  const chosen: Task = task ?? (integers && y.shape.length === 1 ? 'classify' : y.shape.length === 2 && Array.from(y.data).every((v) => v === 0 || v === 1) ? 'multilabel' : 'regress');
  if (chosen === 'classify') {
    if (y.shape.length !== 1) throw new Error(`${targetsFile}: class targets must be (N) class indices, not shape (${y.shape.join(', ')})`);
    return createFeatureDataset(features, Array.from(y.data), d, { source: featuresFile });
  }
  return createFeatureDataset(features, Float32Array.from(y.data), d, { source: featuresFile });
}
