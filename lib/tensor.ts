// A named float32 tensor in PyTorch's layout, and a state_dict of them (insertion order is PyTorch's order).

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export type StateDict = Record<string, Tensor>;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * `data` copied into a new Float32Array (narrowed from float64 or plain numbers), then checked on the copy: every
 * value finite, and ≥ 0 when `nonNegative`. Checking the copy means that what is checked is what is used, even when
 * another thread changes `data` meanwhile (a SharedArrayBuffer), and that a value float32 cannot hold (1e39 becomes
 * Infinity) is caught. Throws a RangeError `<what> holds <value> at index <i>`, or a TypeError when `data` is no
 * array of numbers.
 */
export function ownFiniteFloat32(data: ArrayLike<number>, what: string, nonNegative = false): Float32Array {
  if (!(ArrayBuffer.isView(data) && !(data instanceof DataView)) && !Array.isArray(data)) {
    throw new TypeError(`${what} is not an array of numbers but ${data === null ? 'null' : typeof data}`);
  }
  const copy = Float32Array.from(data as ArrayLike<number>, Number);
  for (let i = 0; i < copy.length; i++) {
    const x = copy[i];
    if (Number.isFinite(x) && !(nonNegative && x < 0)) continue;
    const given = Number(data[i]);
    const narrowed = !Number.isFinite(x) && !Number.isNaN(x) && Number.isFinite(given) && Math.abs(given) > 3.4e38;
    throw new RangeError(`${what} holds ${narrowed ? `${given}, which is ${x} in float32,` : x} at index ${i}`);
  }
  return copy;
}
