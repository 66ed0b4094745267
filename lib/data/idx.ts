// The IDX format of the MNIST files: a magic number (two zero bytes, a type code, the number of
// dimensions), one big-endian uint32 per dimension, then the values. Raw or gzip-compressed.
// An IDX array never takes more than a ceiling (1 GiB by default) of memory: a raw file over it is refused
// before it is read, a gzip file whose header declares more is refused before the rest is inflated.
import { constants as bufferConstants } from 'buffer';
import * as zlib from 'zlib';
import { checkInteger, checkKnownOptions, invalidArgument } from '../check';
import { readRegularFile } from '../io/read-file';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
const LONGEST_HEADER = 4 + 4 * 4;
const HEAD_INFLATE_LIMIT = 1 << 20;
const ONE_BUFFER_FROM = 16 << 20;

/**
 * The default ceiling on an IDX array's bytes (header and data, after inflating): 1 GiB, above EMNIST's largest
 * file (ByClass training images, 697,932 × 28 × 28 = 547 MB) and below what a small machine can spare.
 */
export const DEFAULT_MAX_IDX_BYTES = 2 ** 30;
/** The environment variable that raises (or lowers) the ceiling where no `maxBytes` option is given. */
export const MAX_IDX_BYTES_VARIABLE = 'FCNET_MAX_IDX_BYTES';

export interface IdxReadOptions {
  /** The most bytes an IDX array may take, header included. Default: $FCNET_MAX_IDX_BYTES, else 1 GiB. */
  maxBytes?: number;
}

/** The ceiling: the option, else the environment variable, else the default. */
function idxCeiling(options: IdxReadOptions, what: string): number {
  if (typeof options !== 'object' || options === null) throw invalidArgument('object', 'options', options);
  checkKnownOptions(what, options, ['maxBytes']);
  const most = bufferConstants.MAX_LENGTH;
  if (options.maxBytes !== undefined) return checkInteger('maxBytes', options.maxBytes, 1, most);
  const variable = process.env[MAX_IDX_BYTES_VARIABLE];
  if (variable === undefined || variable === '') return DEFAULT_MAX_IDX_BYTES;
  const value = Number(variable);
  if (!/^\d+$/.test(variable) || !(value >= 1 && value <= most)) {
    throw new RangeError(`Expected integer between 1 and ${most} for ${MAX_IDX_BYTES_VARIABLE} but received '${variable.slice(0, 40)}'`);
  }
  return value;
}

const bytesText = (n: number): string => `${n.toLocaleString('en-US')} bytes`;
const overCeiling = (source: string, what: string, ceiling: number): Error =>
  new Error(`${source}: ${what}, over the ${bytesText(ceiling)} an IDX array may take; raise the limit with the maxBytes option or ${MAX_IDX_BYTES_VARIABLE}`);

/** What inflating gzip data gave: the bytes, or null when they would pass `maxOutputLength`. */
function gunzip(bytes: Uint8Array, options: zlib.ZlibOptions, source: string): Buffer | null {
  try {
    return zlib.gunzipSync(bytes, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return null;
    throw new Error(`${source}: gzip data is corrupt (${(e as Error).message})`);
  }
}

/**
 * Inflates gzip data into no more bytes than its IDX header declares (plus one, to notice more): a small file that
 * inflates to gigabytes (a gzip bomb, or damage) is refused before that memory is asked for. The header comes from
 * inflating ever longer prefixes of the input, each to at most 1 MB, bisecting back when one gives more.
 */
function gunzipIdx(bytes: Uint8Array, source: string, ceiling: number): Uint8Array {
  let head: Uint8Array = new Uint8Array(0);
  let short = 0; // a prefix length that inflates to less than a header
  let long = Infinity; // one that inflates to more than the limit
  for (let end = Math.min(64, bytes.length); ; ) {
    const out = gunzip(bytes.subarray(0, end), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: HEAD_INFLATE_LIMIT }, source);
    if (out === null) long = end;
    else if (out.length >= LONGEST_HEADER || end === bytes.length) {
      head = out;
      break;
    } else short = end;
    end = long === Infinity ? Math.min(2 * end, bytes.length) : Math.floor((short + long) / 2);
    if (end === short) throw new Error(`${source}: gzip data inflates to over ${HEAD_INFLATE_LIMIT} bytes from ${end + 1} bytes of input`);
  }
  const dims = head[3];
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || head[2] !== UNSIGNED_BYTE || !(dims >= 1 && dims <= 4) || head.length < 4 + 4 * dims) {
    // Not an IDX header, or none at all: the whole stream's own error if it has one, else parseIdx says what is wrong.
    return gunzip(bytes, { maxOutputLength: LONGEST_HEADER }, source) ?? head;
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  for (let d = 0; d < dims; d++) count *= view.getUint32(4 + 4 * d, false);
  const declaredBytes = 4 + 4 * dims + count;
  if (declaredBytes > ceiling) {
    const shape = Array.from({ length: dims }, (_, d) => view.getUint32(4 + 4 * d, false));
    throw overCeiling(source, `its IDX header declares shape [${shape.join(', ')}], ${bytesText(declaredBytes)} once inflated`, ceiling);
  }
  // When the gzip trailer's ISIZE (the inflated size, mod 2^32) agrees with the header, inflate into one buffer of
  // that size: in chunks, zlib holds the chunks and their concatenation, twice the array at the peak. (Forging
  // ISIZE reserves address space the data never fills; gunzip then refuses the mismatch.)
  const most = Math.min(declaredBytes + 1, bufferConstants.MAX_LENGTH);
  const trailer = bytes.length >= 18 ? new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true) : -1;
  const oneBuffer = declaredBytes > ONE_BUFFER_FROM && trailer === declaredBytes % 2 ** 32;
  const all = gunzip(bytes, { maxOutputLength: most, ...(oneBuffer ? { chunkSize: most } : {}) }, source);
  if (all === null) throw new Error(`${source}: gzip data inflates to more than the ${declaredBytes} bytes its IDX header declares`);
  return all;
}

/**
 * Parses IDX bytes of unsigned bytes (what MNIST uses), raw or gzip-compressed; `source` names them in errors.
 * Gzip data is inflated only when its header declares no more than the ceiling (`options.maxBytes`), and only
 * as far as the header declares.
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX data', options: IdxReadOptions = {}): IdxArray {
  const ceiling = idxCeiling(options, 'parseIdx');
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('Uint8Array', 'bytes', bytes);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipIdx(bytes, source, ceiling);
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

/** Reads an IDX file, raw or gzip-compressed, under the same ceiling as parseIdx (a larger file is not read). */
export function readIdxFile(path: string, options: IdxReadOptions = {}): IdxArray {
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  const maxBytes = idxCeiling(options, 'readIdxFile');
  return parseIdx(readRegularFile(path, { what: 'an IDX file', maxBytes }), path, { maxBytes });
}
