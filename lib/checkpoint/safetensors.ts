// safetensors, read strictly and written like the reference implementation (huggingface/safetensors).
// Layout: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
// then the data area, which the tensors' byte ranges must cover exactly.
// Reading checks the whole header before it allocates any tensor memory, so a hostile file costs nothing.

import { checkKnownOptions, invalidArgument } from '../check';
import { clipText, quote, showJson } from '../io/bounded-text';
import { elementCount, type StateDict, type Tensor } from '../tensor';
import { writeFileAtomic } from './atomic-write';
import { checkExpectOption, checkExpectedShapes, formatShape, isShape, type ExpectedShapes } from './expected-shapes';
import { DTYPE_BYTES, DTYPES, isDType, toFloat32, writeFloat32LittleEndian, type DType } from './dtypes';
import { readCheckpointFile } from './read-checkpoint-file';

/** Longer headers are refused before they are read; the reference reader has the same limit. */
export const MAX_HEADER_BYTES = 100_000_000;
/**
 * JSON.parse takes up to 30 times a header's size, and minutes, for 100 MB of `{}`s or keys: before it runs, a
 * scan refuses headers nested deeper than a safetensors header is (root, entry, shape) or holding more than this
 * many values (about 100,000 tensors). The largest header under both limits takes under 300 MB to parse.
 */
export const MAX_HEADER_VALUES = 1_000_000;
const MAX_HEADER_DEPTH = 3;

export interface SafetensorsReadOptions {
  /** What error messages call the input (default: the file's path, or 'safetensors' for bytes). */
  source?: string;
  /** The tensors the file must hold: exactly these names, with these shapes. */
  expect?: ExpectedShapes;
}

export interface SafetensorsContents {
  /** In the order of their data in the file. */
  tensors: StateDict;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

const ENTRY_FIELDS = ['dtype', 'shape', 'data_offsets'];
const READ_OPTIONS = ['source', 'expect'];

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Sets `name` even when it is '__proto__', which plain assignment would treat as the prototype. */
function defineEntry<T>(target: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------- writing

function checkTensorArgument(name: string, tensor: Tensor): void {
  const where = `tensors[${quote(name)}]`;
  if (!isObject(tensor)) throw invalidArgument('object with shape and data', where, tensor);
  if (!isShape(tensor.shape)) throw invalidArgument('array of non-negative integers', `${where}.shape`, tensor.shape);
  if (!(tensor.data instanceof Float32Array)) throw invalidArgument('Float32Array', `${where}.data`, tensor.data);
  const count = elementCount(tensor.shape);
  if (tensor.data.length !== count) {
    throw invalidArgument(`Float32Array of length ${count} (shape ${formatShape(tensor.shape)})`, `${where}.data`, tensor.data);
  }
}

/**
 * The safetensors bytes for `tensors` (all F32, contiguous, in insertion order) and optional string
 * `metadata`. Like the reference writer, the header is padded with spaces so the data starts 8-byte aligned.
 */
export function encodeSafetensors(tensors: StateDict, metadata: Record<string, string> = {}): Uint8Array {
  if (!isObject(tensors)) throw invalidArgument('object of named tensors', 'tensors', tensors);
  if (!isObject(metadata)) throw invalidArgument('object of strings', 'metadata', metadata);
  const header: Record<string, unknown> = Object.create(null); // tensor names may be anything, '__proto__' too
  if (Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw invalidArgument('string', `metadata[${quote(key)}]`, value);
    }
    header.__metadata__ = metadata;
  }
  const entries = Object.entries(tensors);
  let dataBytes = 0;
  for (const [name, tensor] of entries) {
    if (name === '__metadata__') throw new TypeError("Tensor name '__metadata__' is reserved by safetensors for metadata");
    checkTensorArgument(name, tensor);
    const begin = dataBytes;
    dataBytes += tensor.data.byteLength;
    header[name] = { dtype: 'F32', shape: [...tensor.shape], data_offsets: [begin, dataBytes] };
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerBytes / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes); // spaces: still valid JSON
  let offset = 8 + headerBytes;
  for (const [, tensor] of entries) {
    writeFloat32LittleEndian(out, offset, tensor.data);
    offset += tensor.data.byteLength;
  }
  return out;
}

/** Writes `tensors` as a safetensors file, atomically: readers never see a half-written file. */
export function writeSafetensorsFile(path: string, tensors: StateDict, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------- reading

type Fail = (problem: string) => Error;

/**
 * Throws unless the JSON text in `bytes` nests no deeper than MAX_HEADER_DEPTH and holds at most
 * MAX_HEADER_VALUES values (counted as the commas and brackets outside strings): one pass over the bytes,
 * before JSON.parse. Whether it is JSON at all is left to JSON.parse.
 */
function checkHeaderSize(bytes: Uint8Array, fail: Fail): void {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x22) { // a string: skip to its closing quote, over escapes
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) { // { [
      if (++depth > MAX_HEADER_DEPTH) throw fail(`header nests deeper than a safetensors header (${MAX_HEADER_DEPTH} levels)`);
      values++;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      depth--;
    } else if (c === 0x2c) { // ,
      values++;
    } else continue;
    if (values > MAX_HEADER_VALUES) throw fail(`header holds more than ${MAX_HEADER_VALUES} values, more than fcnet reads`);
  }
}

/** The header object, and where the data area starts. */
function parseHeaderJson(bytes: Uint8Array, fail: Fail): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) throw fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) throw fail(`header length ${declared} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const headerBytes = Number(declared);
  if (headerBytes > bytes.length - 8) {
    throw fail(`header length ${headerBytes} runs past the end of the ${bytes.length}-byte file`);
  }
  checkHeaderSize(bytes.subarray(8, 8 + headerBytes), fail);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    throw fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    const start = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    throw fail(`header is not valid JSON (it starts ${JSON.stringify(start)})`);
  }
  if (!isObject(header)) throw fail(`header must be a JSON object but is ${describeJson(header)}`);
  return { header, dataStart: 8 + headerBytes };
}

function parseMetadata(value: unknown, fail: Fail): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw fail(`__metadata__ must be an object of strings but is ${describeJson(value)}`);
  const metadata: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw fail(`__metadata__ ${quote(key)} must be a string but is ${describeJson(item)}`);
    defineEntry(metadata, key, item);
  }
  return metadata;
}

function parseEntry(name: string, info: unknown, dataBytes: number, fail: Fail): HeaderEntry {
  const where = `tensor ${quote(name)}`;
  if (!isObject(info)) throw fail(`${where}: expected an object with dtype, shape and data_offsets but found ${describeJson(info)}`);
  for (const field of ENTRY_FIELDS) {
    if (!Object.hasOwn(info, field)) throw fail(`${where}: missing field '${field}'`);
  }
  for (const field of Object.keys(info)) {
    if (!ENTRY_FIELDS.includes(field)) throw fail(`${where}: unknown field ${quote(field)} (expected ${ENTRY_FIELDS.join(', ')})`);
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (!isDType(dtype)) throw fail(`${where}: unknown dtype ${showJson(dtype)} (known: ${DTYPES.join(', ')})`);
  if (!isShape(shape)) throw fail(`${where}: shape must be an array of non-negative integers but is ${showJson(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw fail(`${where}: data_offsets must be two non-negative integers [begin, end] but is ${showJson(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  const range = `data_offsets [${begin}, ${end}]`;
  if (begin > end) throw fail(`${where}: ${range} end before they begin`);
  if (end > dataBytes) throw fail(`${where}: ${range} run past the ${dataBytes}-byte data area`);
  const needed = elementCount(shape) * DTYPE_BYTES[dtype];
  if (end - begin !== needed) {
    throw fail(`${where}: ${range} hold ${end - begin} bytes but shape ${formatShape(shape)} of ${dtype} needs ${needed}`);
  }
  return { name, dtype, shape, begin, end };
}

/** Like the reference reader: the byte ranges, in order, tile the data area with no overlap and no gap. */
function checkCoverage(byOffset: readonly HeaderEntry[], dataBytes: number, fail: Fail): void {
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of byOffset) {
    if (previous && entry.begin < covered) {
      throw fail(`tensors ${quote(previous.name)} [${previous.begin}, ${previous.end}] and ${quote(entry.name)} [${entry.begin}, ${entry.end}] overlap`);
    }
    if (entry.begin > covered) {
      throw fail(`${entry.begin - covered} unused bytes at data offset ${covered}, before tensor ${quote(entry.name)}`);
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered < dataBytes) {
    const after = previous ? `, after tensor ${quote(previous.name)}` : ' (the header lists no tensors)';
    throw fail(`${dataBytes - covered} unused bytes at the end of the ${dataBytes}-byte data area${after}`);
  }
}

function checkReadOptions(what: string, options: SafetensorsReadOptions): void {
  if (!isObject(options)) throw invalidArgument('object', 'options', options);
  checkKnownOptions(what, options, READ_OPTIONS);
  if (options.source !== undefined && typeof options.source !== 'string') {
    throw invalidArgument('string', 'source', options.source);
  }
  checkExpectOption(options.expect);
}

/**
 * The tensors (converted to float32) and metadata in safetensors `bytes`, after checking everything the
 * header says against the file: errors start with `options.source` and name the tensor and the problem.
 */
export function decodeSafetensors(bytes: Uint8Array, options: SafetensorsReadOptions = {}): SafetensorsContents {
  checkReadOptions('decodeSafetensors', options);
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('Uint8Array', 'bytes', bytes);
  const source = options.source ?? 'safetensors';
  const fail: Fail = (problem) => new Error(`${source}: ${problem}`);

  const { header, dataStart } = parseHeaderJson(bytes, fail);
  const dataBytes = bytes.length - dataStart;
  const metadata = parseMetadata(header.__metadata__, fail);
  const entries = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, info]) => parseEntry(name, info, dataBytes, fail));
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkCoverage(byOffset, dataBytes, fail);
  if (options.expect) checkExpectedShapes(entries, options.expect, fail);

  // Everything checked: only now allocate.
  const tensors: StateDict = {};
  for (const { name, dtype, shape, begin, end } of byOffset) {
    const data = toFloat32(dtype, bytes.subarray(dataStart + begin, dataStart + end), 0, elementCount(shape));
    defineEntry(tensors, name, { shape, data });
  }
  return { tensors, metadata };
}

/** Reads and checks a safetensors file; see decodeSafetensors. Error messages start with the path. */
export function readSafetensorsFile(path: string, options: SafetensorsReadOptions = {}): SafetensorsContents {
  checkReadOptions('readSafetensorsFile', options);
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  return decodeSafetensors(readCheckpointFile(path), { ...options, source: options.source ?? path });
}
