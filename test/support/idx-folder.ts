// A folder of MNIST-shaped IDX files from arrays in memory, for running the commands on small data.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '../../lib/rng';

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

/**
 * n learnable side×side "digits": every pixel whose index plus the label is a multiple of 4 is lit, plus 10 % noise,
 * so a small network fits them within a few epochs.
 */
export function syntheticDigits(n: number, rng: Rng, side: number): ImageSet {
  const images = new Uint8Array(n * side * side);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.nextInt(10);
    for (let p = 0; p < side * side; p++) images[i * side * side + p] = (p + labels[i]) % 4 === 0 || rng.nextFloat() < 0.1 ? rng.nextInt(256) : 0;
  }
  return { images, labels };
}
