// What the pickle of a torch.save'd state_dict may contain, as plain data: the allow-list of globals (after
// torch's weights_only unpickler), the storages its persistent ids name, and the strided tensor views on them.
// Views are only described while unpickling; they become Float32Arrays once every one has been checked.

import type { StateDict } from '../tensor';
import { elementReader, toFloat32, DTYPE_BYTES, type DType } from './dtypes';
import { clipText, formatItems, quote } from '../io/bounded-text';
import { checkExpectedShapes, formatShape, type ExpectedShapes } from './expected-shapes';
import { isPickleTuple, PickleGlobal, type AllowedGlobal } from './pickle';

/** PyTorch's storage classes, as torch.save names them in persistent ids, and the dtype of their elements. */
const STORAGE_DTYPES: Record<string, DType> = {
  'torch FloatStorage': 'F32',
  'torch DoubleStorage': 'F64',
  'torch HalfStorage': 'F16',
  'torch BFloat16Storage': 'BF16',
  'torch LongStorage': 'I64',
  'torch IntStorage': 'I32',
  'torch ShortStorage': 'I16',
  'torch CharStorage': 'I8',
  'torch ByteStorage': 'U8',
  'torch BoolStorage': 'BOOL',
};

/** The zip entry data/<key>: `numel` elements of `dtype`. */
export class TorchStorage {
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number, readonly bytes: Uint8Array) {}
}

/** A tensor as torch.save describes it: element [i, j, ...] is storage[offset + i·strides[0] + j·strides[1] + ...]. */
export class TorchTensorView {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly sizes: readonly number[],
    readonly strides: readonly number[],
  ) {}
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isCountTuple = (value: unknown): value is readonly number[] => isPickleTuple(value) && value.every(isCount);
/**
 * A value as a message shows it: a few items of a tuple, two levels deep, strings clipped. Bounded in length and
 * in work whatever the value, even a tuple whose items share one tuple, which shares one, ... (2^n leaves).
 */
function show(value: unknown, depth = 0): string {
  if (isPickleTuple(value)) return depth >= 2 ? '(…)' : `(${formatItems(value, (item) => show(item, depth + 1))})`;
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeValue(value);
}

export function describeValue(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof TorchTensorView) return 'a tensor';
  if (value instanceof Map) return 'a dict';
  if (value instanceof PickleGlobal) return `the global '${clipText(value.name)}'`;
  if (value instanceof TorchStorage) return 'a storage';
  if (Array.isArray(value)) return isPickleTuple(value) ? 'a tuple' : 'a list';
  return `a ${typeof value}`;
}

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
function rebuildTensor(args: readonly unknown[]): TorchTensorView {
  if (args.length !== 6 && args.length !== 7) throw new Error(`expected 6 or 7 arguments but got ${args.length}`);
  const [storage, offset, sizes, strides, requiresGrad, hooks, metadata] = args;
  if (!(storage instanceof TorchStorage)) throw new Error(`expected a storage but got ${describeValue(storage)}`);
  if (!isCount(offset)) throw new Error(`storage offset must be a non-negative integer but is ${show(offset)}`);
  if (!isCountTuple(sizes)) throw new Error(`sizes must be a tuple of non-negative integers but are ${show(sizes)}`);
  if (!isCountTuple(strides)) throw new Error(`strides must be a tuple of non-negative integers but are ${show(strides)}`);
  if (sizes.length !== strides.length) throw new Error(`sizes ${show(sizes)} and strides ${show(strides)} differ in length`);
  if (typeof requiresGrad !== 'boolean') throw new Error(`requires_grad must be a boolean but is ${describeValue(requiresGrad)}`);
  if (!(hooks instanceof Map) || hooks.size > 0) throw new Error('backward hooks are not supported');
  if (metadata !== undefined && metadata !== null && !(metadata instanceof Map)) {
    throw new Error(`tensor metadata must be a dict but is ${describeValue(metadata)}`);
  }
  return new TorchTensorView(storage, offset, sizes, strides);
}

// torch._utils._rebuild_parameter(data, requires_grad, backward_hooks): an nn.Parameter is just its tensor here.
function rebuildParameter(args: readonly unknown[]): TorchTensorView {
  if (args.length !== 3) throw new Error(`expected 3 arguments but got ${args.length}`);
  const [data, requiresGrad, hooks] = args;
  if (!(data instanceof TorchTensorView)) throw new Error(`expected a tensor but got ${describeValue(data)}`);
  if (typeof requiresGrad !== 'boolean') throw new Error(`requires_grad must be a boolean but is ${describeValue(requiresGrad)}`);
  if (!(hooks instanceof Map) || hooks.size > 0) throw new Error('backward hooks are not supported');
  return data;
}

const orderedDict: AllowedGlobal = {
  call(args) {
    if (args.length > 0) throw new Error(`expected no arguments but got ${args.length}`);
    return new Map();
  },
  // A state_dict's attributes, such as `_metadata` (module versions): nothing fcnet needs.
  build(_target, state) {
    if (!(state instanceof Map)) throw new Error(`an OrderedDict's state must be a dict but is ${describeValue(state)}`);
  },
};

/** Every global a state_dict pickle may name, by 'module name'; anything else is refused. */
export const TORCH_GLOBALS: ReadonlyMap<string, AllowedGlobal> = new Map<string, AllowedGlobal>([
  ['collections OrderedDict', orderedDict],
  ['torch._utils _rebuild_tensor_v2', { call: rebuildTensor }],
  ['torch._utils _rebuild_parameter', { call: rebuildParameter }],
  // Storage classes are only named, in persistent ids; calling one is refused.
  ...Object.keys(STORAGE_DTYPES).map((name): [string, AllowedGlobal] => [name, {}]),
]);

/**
 * A persistent id ('storage', storage class, key, location, numel), checked. The legacy format adds a sixth
 * item, view metadata, which PyTorch has written as None since storage views went away (0.4).
 */
export function storageId(pid: unknown): { key: string; dtype: DType; numel: number } {
  const legacy = isPickleTuple(pid) && pid.length === 6;
  if (!isPickleTuple(pid) || !(pid.length === 5 || legacy) || pid[0] !== 'storage') {
    throw new Error("expected ('storage', storage type, key, location, numel)");
  }
  if (legacy && pid[5] !== null) throw new Error('storage views (view metadata in a persistent id, from PyTorch before 0.4) are not supported');
  const [, type, key, location, numel] = pid;
  if (!(type instanceof PickleGlobal) || !Object.hasOwn(STORAGE_DTYPES, type.name)) {
    throw new Error(`storage type must be one of ${Object.keys(STORAGE_DTYPES).join(', ')} but is ${describeValue(type)}`);
  }
  if (typeof key !== 'string') throw new Error(`storage key must be a string but is ${describeValue(key)}`);
  if (typeof location !== 'string') throw new Error(`storage ${quote(key)}: location must be a string but is ${describeValue(location)}`);
  if (!isCount(numel)) throw new Error(`storage ${quote(key)}: numel must be a non-negative integer but is ${show(numel)}`);
  return { key, dtype: STORAGE_DTYPES[type.name], numel };
}

/**
 * A BINPERSID handler for a first run of the pickle that reads nothing: it checks each persistent id and notes
 * in `needs` how many bytes storage <key> must hold (storages it makes are empty, for that run only).
 */
export function storageNeeds(needs: Map<string, number>): (pid: unknown) => TorchStorage {
  return (pid) => {
    const { key, dtype, numel } = storageId(pid);
    needs.set(key, Math.max(needs.get(key) ?? 0, numel * DTYPE_BYTES[dtype]));
    return new TorchStorage(key, dtype, numel, new Uint8Array(0));
  };
}

/**
 * The BINPERSID handler: ('storage', storage class, key, location, numel) → the checked storage in zip entry
 * data/<key>, which `readEntry` returns (undefined when absent).
 */
export function storageLoader(readEntry: (key: string) => Uint8Array | undefined): (pid: unknown) => TorchStorage {
  const loaded = new Map<string, TorchStorage>();
  return (pid) => {
    const { key, dtype, numel } = storageId(pid);
    const known = loaded.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) throw new Error(`storage ${quote(key)} is declared twice, differently`);
      return known;
    }
    const bytes = readEntry(key);
    if (!bytes) throw new Error(`storage ${quote(key)}: the archive has no entry data/${clipText(key)}`);
    const needed = numel * DTYPE_BYTES[dtype];
    if (needed > bytes.length) {
      throw new Error(`storage ${quote(key)} declares ${numel} ${dtype} elements (${needed} bytes) but data/${clipText(key)} holds ${bytes.length} bytes`);
    }
    const storage = new TorchStorage(key, dtype, numel, bytes);
    loaded.set(key, storage);
    return storage;
  };
}

const elementsOf = (sizes: readonly number[]): number => sizes.reduce((product, size) => product * size, 1);

/** Throws unless every element the view reaches lies inside its storage. */
function checkViewBounds(name: string, view: TorchTensorView, fail: (problem: string) => Error): void {
  const { storage, offset, sizes, strides } = view;
  const describe = `storage offset ${offset} with sizes ${formatShape(sizes)} and strides ${formatShape(strides)}`;
  if (elementsOf(sizes) === 0) {
    if (offset > storage.numel) throw fail(`tensor ${quote(name)}: ${describe} starts past the ${storage.numel} elements of storage ${quote(storage.key)}`);
    return;
  }
  const last = sizes.reduce((index, size, d) => index + (size - 1) * strides[d], offset);
  if (!(last < storage.numel)) {
    throw fail(`tensor ${quote(name)}: ${describe} reaches element ${last} but storage ${quote(storage.key)} holds ${storage.numel}`);
  }
}

function isContiguous(sizes: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = sizes.length - 1; d >= 0; d--) {
    if (sizes[d] !== 1 && strides[d] !== expected) return false;
    expected *= sizes[d];
  }
  return true;
}

/** The view's elements in row-major order, converted to float32. */
function gather(view: TorchTensorView): Float32Array {
  const { storage, offset, sizes, strides } = view;
  const count = elementsOf(sizes);
  if (isContiguous(sizes, strides)) return toFloat32(storage.dtype, storage.bytes, offset, count);
  const read = elementReader(storage.dtype, storage.bytes);
  const out = new Float32Array(count);
  const index = new Array<number>(sizes.length).fill(0);
  let position = offset;
  for (let i = 0; i < count; i++) {
    out[i] = read(position);
    // Step the multi-index like an odometer, last dimension fastest.
    for (let d = sizes.length - 1; d >= 0; d--) {
      index[d]++;
      position += strides[d];
      if (index[d] < sizes[d]) break;
      position -= strides[d] * sizes[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * The state_dict that an unpickled checkpoint describes, checked in full (names, expected shapes, bounds,
 * total size) before any tensor memory is allocated.
 */
export function stateDictFromPickle(root: unknown, source: string, expect?: ExpectedShapes): StateDict {
  const fail = (problem: string): Error => new Error(`${source}: ${problem}`);
  if (!(root instanceof Map)) throw fail(`the pickle holds ${describeValue(root)}, not a state_dict (a dict of tensors)`);
  const views: Array<{ name: string; shape: readonly number[]; view: TorchTensorView }> = [];
  for (const [name, value] of root) {
    if (typeof name !== 'string') throw fail(`state_dict key ${show(name)} is not a string`);
    if (!(value instanceof TorchTensorView)) throw fail(`state_dict entry ${quote(name)} is ${describeValue(value)}, not a tensor`);
    views.push({ name, shape: value.sizes, view: value });
  }
  if (expect) checkExpectedShapes(views, expect, fail);
  for (const { name, view } of views) checkViewBounds(name, view, fail);

  // Views that repeat elements (stride 0, overlaps) could make a tiny file fill memory: allow no more
  // elements in all than the storages hold. The same tensor twice (tied weights) is one object, counted once.
  const distinctViews = new Set(views.map(({ view }) => view));
  const elements = [...distinctViews].reduce((sum, view) => sum + elementsOf(view.sizes), 0);
  const storages = new Set([...distinctViews].map((view) => view.storage));
  const available = [...storages].reduce((sum, storage) => sum + storage.numel, 0);
  if (elements > available) {
    throw fail(`the tensors hold ${elements} elements but their storages only ${available}; views that repeat storage elements are refused`);
  }

  const tensors: StateDict = {};
  const made = new Map<TorchTensorView, Float32Array>();
  for (const { name, view } of views) {
    const data = made.get(view) ?? gather(view);
    made.set(view, data);
    Object.defineProperty(tensors, name, { value: { shape: [...view.sizes], data }, enumerable: true, writable: true, configurable: true });
  }
  return tensors;
}
