// A folder of MNIST-shaped IDX files from arrays in memory, for running the commands on small data.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** IDX bytes: two zero bytes, type 0x08 (unsigned byte), the number of dimensions, big-endian sizes, data. */
export function idxBytes(shape: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, 0x08, shape.length]);
  shape.forEach((size, i) => view.setUint32(4 + 4 * i, size, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

export interface ImageSet {
  /** (N, rows, cols) pixels. */
  images: Uint8Array;
  labels: Uint8Array;
}

/** Writes train/test image and label files under MNIST's names, as loadMnist(folder) reads them. */
export function writeIdxFolder(folder: string, side: number, train: ImageSet, test: ImageSet): void {
  const write = (name: string, shape: number[], data: Uint8Array): void => writeFileSync(join(folder, name), idxBytes(shape, data));
  write('train-images-idx3-ubyte', [train.labels.length, side, side], train.images);
  write('train-labels-idx1-ubyte', [train.labels.length], train.labels);
  write('t10k-images-idx3-ubyte', [test.labels.length, side, side], test.images);
  write('t10k-labels-idx1-ubyte', [test.labels.length], test.labels);
}
