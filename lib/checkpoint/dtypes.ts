// The element types that checkpoint files store, and their conversion to float32 (fcnet's only type).
// Files are little-endian; reads go through DataView so they are right on any host and at any byte offset.

/** Bytes per element, by safetensors' dtype name. */
export const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;

export type DType = keyof typeof DTYPE_BYTES;

export const DTYPES = Object.keys(DTYPE_BYTES) as DType[];

export function isDType(name: unknown): name is DType {
  return typeof name === 'string' && Object.hasOwn(DTYPE_BYTES, name);
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// bfloat16 is the top half of a float32: widen through a shared word.
const wordBits = new Uint32Array(1);
const wordFloat = new Float32Array(wordBits.buffer);

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero or subnormal
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A function giving element `index` of the little-endian `dtype` array in `bytes`, as a number. */
export function elementReader(dtype: DType, bytes: Uint8Array): (index: number) => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F64': return (i) => view.getFloat64(i * 8, true);
    case 'F32': return (i) => view.getFloat32(i * 4, true);
    case 'F16': return (i) => halfToNumber(view.getUint16(i * 2, true));
    case 'BF16': return (i) => { wordBits[0] = view.getUint16(i * 2, true) << 16; return wordFloat[0]; };
    // Exact below 2^53; the float32 rounding that follows loses more than that anyway.
    case 'I64': return (i) => view.getInt32(i * 8 + 4, true) * 2 ** 32 + view.getUint32(i * 8, true);
    case 'I32': return (i) => view.getInt32(i * 4, true);
    case 'I16': return (i) => view.getInt16(i * 2, true);
    case 'I8': return (i) => view.getInt8(i);
    case 'U8': return (i) => view.getUint8(i);
    case 'BOOL': return (i) => (view.getUint8(i) === 0 ? 0 : 1);
  }
}

/** Elements [first, first + count) of the little-endian `dtype` array in `bytes`, as a new Float32Array. */
export function toFloat32(dtype: DType, bytes: Uint8Array, first: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32' && hostIsLittleEndian) {
    // A byte copy: fast, and indifferent to where in the file the data starts.
    new Uint8Array(out.buffer).set(bytes.subarray(first * 4, (first + count) * 4));
    return out;
  }
  const read = elementReader(dtype, bytes);
  for (let i = 0; i < count; i++) out[i] = read(first + i);
  return out;
}

/** `data` as little-endian bytes, written into `out` at `offset`. */
export function writeFloat32LittleEndian(out: Uint8Array, offset: number, data: Float32Array): void {
  if (hostIsLittleEndian) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, data.byteLength);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
}
