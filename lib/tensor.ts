// A named float32 tensor in PyTorch's layout, and a state_dict of them (insertion order is PyTorch's order).

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export type StateDict = Record<string, Tensor>;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
