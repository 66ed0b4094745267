// A labelled image dataset kept as the original bytes: N images of D uint8 pixels, labels as Int32.
// Batches are gathered (and scaled to [0, 1], like torchvision's ToTensor) by the backend's kernel.
import type { IdxArray } from './idx';
import { labelHint, numberedFromOneHint, oneHotHint } from './label-hints';

export interface Dataset {
  /** (N, D) pixels, 0..255. */
  images: Uint8Array;
  /** (N) class indices. */
  labels: Int32Array;
  n: number;
  /** Values per image (rows · cols). */
  d: number;
  rows: number;
  cols: number;
  /** Where it came from, for messages. */
  source: string;
}

/** Pairs an IDX image file (N, rows, cols) with an IDX label file (N), checking that they agree. */
export function datasetFromIdx(images: IdxArray, labels: IdxArray, source: string): Dataset {
  if (images.shape.length !== 3) throw new Error(`${source}: images have shape [${images.shape.join(', ')}]; expected [N, rows, cols]`);
  if (labels.shape.length !== 1) throw new Error(`${source}: labels have shape [${labels.shape.join(', ')}]; expected [N]`);
  const [n, rows, cols] = images.shape;
  if (labels.shape[0] !== n) throw new Error(`${source}: ${n} images but ${labels.shape[0]} labels; the counts must agree`);
  return { images: images.data, labels: Int32Array.from(labels.data), n, d: rows * cols, rows, cols, source };
}

/** A dataset from arrays in memory: images (N·D) of 0..255, labels (N) of class indices. */
export function createDataset(images: Uint8Array, labels: ArrayLike<number>, imageShape: [number, number], source = 'dataset'): Dataset {
  const [rows, cols] = imageShape;
  const d = rows * cols;
  if (!(images instanceof Uint8Array)) {
    const given: unknown = images;
    const floats = given instanceof Float32Array || given instanceof Float64Array;
    const hint = floats ? ': pixels scaled to 0..1 go back to bytes with Uint8Array.from(x, (v) => Math.round(v * 255))' : '';
    throw new TypeError(`Expected Uint8Array of pixels 0..255 for images but received ${(images as object)?.constructor?.name}${hint}`);
  }
  if (images.length % d !== 0) throw new RangeError(`Expected images of a multiple of ${d} (${rows}·${cols}) bytes but received ${images.length}`);
  const n = images.length / d;
  if (labels.length !== n) {
    const hint = oneHotHint(labels, n);
    throw new RangeError(`${source}: ${n} images but ${labels.length} labels; the counts must agree${hint ? `; ${hint}` : ''}`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0) {
      const hint = labelHint(y);
      throw new RangeError(`Expected a class index (integer ≥ 0) for labels[${i}] but received ${typeof y === 'string' ? `'${y}' of type string` : y}${hint ? `: ${hint}` : ''}`);
    }
    out[i] = y;
  }
  return { images, labels: out, n, d, rows, cols, source };
}

/** Throws unless every label is a class the network has: checked before training, not mid-epoch. */
export function checkLabels(data: Dataset, classes: number): void {
  for (let i = 0; i < data.n; i++) {
    const y = data.labels[i];
    if (y < 0 || y >= classes) {
      const hint = numberedFromOneHint(data.labels, classes);
      throw new RangeError(`${data.source}: label ${y} of image ${i} is outside the network's ${classes} classes (0..${classes - 1})${hint ? `; ${hint}` : ''}`);
    }
  }
}
