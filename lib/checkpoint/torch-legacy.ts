// PyTorch's legacy serialisation: what torch.save wrote before 1.6, and still writes with
// _use_new_zipfile_serialization=False. One file holds, in a row (torch/serialization.py, _legacy_save):
//   1. a pickle of the magic number 0x1950a86a20f9469cfc6c;
//   2. a pickle of the protocol version, 1001;
//   3. a pickle of sys_info: {'protocol_version', 'little_endian', 'type_sizes'};
//   4. the pickle of the saved object, whose persistent ids are
//      ('storage', storage class, key, location, numel, view_metadata);
//   5. a pickle of the storage keys, sorted, as a list of strings;
//   6. for each key in that order: the element count (int64, little-endian), then the storage's raw bytes.
// Every pickle runs on the same allow-list VM as the zip format's: nothing from the file runs.

import { quote } from '../io/bounded-text';
import { DTYPE_BYTES, type DType } from './dtypes';
import { checkPickle, unpickle, type UnpickleOptions } from './pickle';
import { storageId, storageLoader, TORCH_GLOBALS, TorchStorage } from './torch-pickle';

const MAGIC_NUMBER = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]; // 0x1950a86a20f9469cfc6c, little-endian
const PROTOCOL_VERSION = 1001;
const PROTO = 0x80, FRAME = 0x95, LONG1 = 0x8a, MEMOIZE = 0x94, BINPUT = 0x71, STOP = 0x2e;

type Fail = (problem: string) => Error;

/**
 * The length of the magic-number pickle at the start of `bytes`, or -1 when there is none. Matched byte for
 * byte: the number is too large for the VM's integers, and nothing else may be in that pickle.
 */
export function legacyMagicLength(bytes: Uint8Array): number {
  let at = 0;
  if (bytes[at] !== PROTO || !(bytes[at + 1] >= 2 && bytes[at + 1] <= 5)) return -1;
  at += 2;
  if (bytes[at] === FRAME) at += 9;
  if (bytes[at] !== LONG1 || bytes[at + 1] !== MAGIC_NUMBER.length) return -1;
  at += 2;
  if (MAGIC_NUMBER.some((byte, i) => bytes[at + i] !== byte)) return -1;
  at += MAGIC_NUMBER.length;
  if (bytes[at] === MEMOIZE) at += 1;
  else if (bytes[at] === BINPUT) at += 2;
  return bytes[at] === STOP ? at + 1 : -1;
}

/** Whether `bytes` start as torch.save's legacy format does. */
export const isLegacyTorchFile = (bytes: Uint8Array): boolean => legacyMagicLength(bytes) > 0;

/**
 * Runs the legacy file's pickles and returns the saved object, its tensors as views on storages read from the
 * raw area. `explainRefusal` says what a refused global most likely means.
 */
export function unpickleLegacyTorchFile(bytes: Uint8Array, source: string, explainRefusal?: (name: string) => string | undefined): unknown {
  const fail: Fail = (problem) => new Error(`${source}: ${problem}`);
  let at = legacyMagicLength(bytes);
  if (at < 0) throw fail("does not start with the magic number of PyTorch's legacy format");
  const noStorages = (): never => {
    throw new Error('a storage where none may be');
  };
  const plain: UnpickleOptions = { source, globals: new Map(), persistentLoad: noStorages };
  /** The next pickle, run with `options`; `at` moves past it. */
  const next = (options: UnpickleOptions): unknown => {
    const rest = bytes.subarray(at);
    const length = checkPickle(rest, options);
    const value = unpickle(rest.subarray(0, length), options);
    at += length;
    return value;
  };

  const protocol = next(plain);
  if (protocol !== PROTOCOL_VERSION) throw fail(`legacy format: protocol version ${String(protocol)} where ${PROTOCOL_VERSION} was expected`);
  const sysInfo = next(plain);
  if (!(sysInfo instanceof Map)) throw fail('legacy format: the third pickle is not the sys_info dict');
  if (sysInfo.get('little_endian') !== true) throw fail('legacy format: written on a big-endian machine; only little-endian files can be read');

  // A first run of the object pickle learns each storage's dtype and size, reading nothing.
  const objectStart = at;
  const declared = new Map<string, { dtype: DType; numel: number }>();
  next({
    source, globals: TORCH_GLOBALS, explainRefusal, persistentLoad: (pid) => {
      const { key, dtype, numel } = storageId(pid);
      const known = declared.get(key);
      if (known && (known.dtype !== dtype || known.numel !== numel)) throw new Error(`storage ${quote(key)} is declared twice, differently`);
      declared.set(key, { dtype, numel });
      return new TorchStorage(key, dtype, numel, new Uint8Array(0)); // for this run only
    },
  });
  const objectPickle = bytes.subarray(objectStart, at);

  const keys = next(plain);
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) throw fail('legacy format: the storage keys are not a list of strings');
  const storages = new Map<string, Uint8Array>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    const storage = declared.get(key);
    if (!storage) throw fail(`legacy format: storage ${quote(key)} is listed but the pickle names no such storage`);
    if (storages.has(key)) throw fail(`legacy format: storage ${quote(key)} is listed twice`);
    if (at + 8 > bytes.length) throw fail(`legacy format is truncated: storage ${quote(key)} has no element count`);
    const count = view.getBigInt64(at, true);
    const elementBytes = DTYPE_BYTES[storage.dtype];
    const remaining = bytes.length - at - 8;
    if (count < 0n || count > BigInt(Math.floor(remaining / elementBytes))) {
      throw fail(`legacy format: storage ${quote(key)} claims ${count} ${storage.dtype} elements but ${remaining} bytes remain`);
    }
    const length = Number(count) * elementBytes;
    storages.set(key, bytes.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  if (at !== bytes.length) throw fail(`legacy format: ${bytes.length - at} unexpected bytes after the last storage`);
  return unpickle(objectPickle, { source, globals: TORCH_GLOBALS, explainRefusal, persistentLoad: storageLoader((key) => storages.get(key)) });
}
