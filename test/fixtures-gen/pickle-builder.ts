// Hand-made pickles and torch-style zips for the checkpoint tests: hostile or broken files that PyTorch
// itself would never write. Opcodes as in CPython's Lib/pickle.py.
import { zipSync } from 'fflate';

export class PickleBuilder {
  private readonly bytes: number[] = [];

  raw(...bytes: number[]): this {
    return this.append(bytes);
  }
  /** Like raw, for more bytes than a call's arguments may hold. */
  append(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.bytes.push(bytes[i]);
    return this;
  }
  op(char: string): this {
    return this.raw(char.charCodeAt(0));
  }
  proto(version = 2): this {
    return this.raw(0x80, version);
  }
  global(module: string, name: string): this {
    return this.op('c').raw(...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  string(text: string): this {
    const utf8 = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(utf8.length);
    return this.op('X').append(length).append(utf8);
  }
  int(value: number): this {
    if (value >= 0 && value < 256) return this.op('K').raw(value);
    if (value >= 0 && value < 65536) return this.op('M').raw(value & 0xff, value >> 8);
    const int32 = Buffer.alloc(4);
    int32.writeInt32LE(value);
    return this.op('J').raw(...int32);
  }
  /** A tuple of small non-negative integers. */
  ints(values: readonly number[]): this {
    this.op('(');
    for (const value of values) this.int(value);
    return this.op('t');
  }
  build(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export interface ViewSpec {
  name: string;
  storageClass?: string;
  key: string;
  numel: number;
  offset?: number;
  sizes: number[];
  strides: number[];
}

/** The pickle that torch.save writes for a dict of tensors, one _rebuild_tensor_v2 call per view. */
export function stateDictPickle(views: readonly ViewSpec[]): Uint8Array {
  const pickle = new PickleBuilder().proto().op('}').op('(');
  for (const view of views) {
    pickle.string(view.name).global('torch._utils', '_rebuild_tensor_v2').op('(');
    pickle.op('(').string('storage').global('torch', view.storageClass ?? 'FloatStorage').string(view.key).string('cpu').int(view.numel).op('t').op('Q');
    pickle.int(view.offset ?? 0).ints(view.sizes).ints(view.strides).raw(0x89);
    pickle.global('collections', 'OrderedDict').op(')').op('R').op('t').op('R');
  }
  return pickle.op('u').op('.').build();
}

/** A zip laid out like torch.save's: <folder>/data.pkl, <folder>/data/<key>, stored uncompressed by default. */
export function torchZip(entries: Record<string, Uint8Array>, options: { folder?: string; level?: 0 | 6 } = {}): Uint8Array {
  const folder = options.folder ?? 'archive';
  const files = Object.fromEntries(Object.entries(entries).map(([name, bytes]) => [`${folder}/${name}`, bytes]));
  return zipSync(files, { level: options.level ?? 0 });
}

/** float32 little-endian bytes of `values`. */
export const float32Bytes = (values: readonly number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
