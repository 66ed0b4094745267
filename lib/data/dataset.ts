// Datasets: labelled images kept as the original bytes (N images of D uint8 pixels, labels as Int32; batches
// are gathered and scaled to [0, 1], like torchvision's ToTensor, by the backend's kernel), and float features
// with class indices or float targets (createFeatureDataset).
import { checkInteger, invalidArgument } from '../check';
import type { LossName } from '../network';
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

/**
 * A dataset of float features: N samples of D float32 features, with class indices (Int32Array (N), for
 * cross_entropy) or float targets (Float32Array (N, K), for bce_with_logits, mse and l1). Features are taken
 * as they are (no 1/255 scaling); a model's inputMean/inputStd transform applies on top.
 */
export interface FeatureDataset {
  /** (N, D) */
  features: Float32Array;
  /** (N) class indices, or (N, K) float targets. */
  targets: Int32Array | Float32Array;
  n: number;
  /** Features per sample. */
  d: number;
  /** Targets per sample: K for float targets, 1 for class indices. */
  k: number;
  /** Where it came from, for messages. */
  source: string;
}

/** Either kind of dataset fit() and evaluate() take. */
export type AnyDataset = Dataset | FeatureDataset;

/** Whether a dataset holds uint8 pixels (createDataset, loadMnist) rather than float features. */
export function isPixelDataset(data: AnyDataset): data is Dataset {
  return (data as Dataset).images instanceof Uint8Array;
}

/** A dataset's features as the engines take them: uint8 pixels or float32 values, (N, D). */
export function datasetFeatures(data: AnyDataset): Uint8Array | Float32Array {
  return isPixelDataset(data) ? data.images : data.features;
}

/** A dataset's targets as the engines take them: (N) class indices or (N, K) floats. */
export function datasetTargets(data: AnyDataset): Int32Array | Float32Array {
  return isPixelDataset(data) ? data.labels : data.targets;
}

/**
 * A dataset from float features in memory: features (N·D) with D = `featuresPerSample`, and targets either
 * class indices (Int32Array or an array of integers, length N) or float targets (Float32Array of length N·K).
 * Every value must be finite, so a NaN is found here, with its place, rather than mid-training.
 */
export function createFeatureDataset(features: Float32Array, targets: Int32Array | Float32Array | ArrayLike<number>,
  featuresPerSample: number, source = 'dataset'): FeatureDataset {
  if (!(features instanceof Float32Array)) throw invalidArgument('Float32Array of features', 'features', features);
  const d = checkInteger('featuresPerSample', featuresPerSample, 1, 1 << 24);
  if (features.length % d !== 0 || features.length === 0) {
    throw new RangeError(`Expected features of a non-zero multiple of ${d} (featuresPerSample) values but received ${features.length}`);
  }
  const n = features.length / d;
  const badFeature = features.findIndex((x) => !Number.isFinite(x));
  if (badFeature >= 0) {
    throw new RangeError(`${source}: feature ${badFeature % d} of sample ${Math.floor(badFeature / d)} is ${features[badFeature]}; features must be finite`);
  }
  if (targets instanceof Float32Array) {
    if (targets.length % n !== 0 || targets.length === 0) {
      throw new RangeError(`${source}: ${n} samples but ${targets.length} float targets; expected N·K values (K per sample)`);
    }
    const bad = targets.findIndex((t) => !Number.isFinite(t));
    if (bad >= 0) throw new RangeError(`${source}: target ${bad % (targets.length / n)} of sample ${Math.floor(bad / (targets.length / n))} is ${targets[bad]}; targets must be finite`);
    return { features, targets, n, d, k: targets.length / n, source };
  }
  if (targets === null || typeof targets !== 'object' || typeof (targets as ArrayLike<number>).length !== 'number') {
    throw invalidArgument('Int32Array of class indices or Float32Array of targets', 'targets', targets);
  }
  if (targets.length !== n) throw new RangeError(`${source}: ${n} samples but ${targets.length} labels; the counts must agree`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = targets[i];
    if (!Number.isInteger(y) || y < 0 || y > 0x7fffffff) throw new RangeError(`Expected a class index (integer ≥ 0) for labels[${i}] but received ${y}`);
    labels[i] = y;
  }
  return { features, targets: labels, n, d, k: 1, source };
}

/**
 * Throws unless the dataset's targets suit the network: class indices within its K outputs for cross_entropy,
 * K float targets per sample for the other losses. Checked before training, not mid-epoch.
 */
export function checkTargets(data: AnyDataset, outputs: number, loss: LossName): void {
  const targets = datasetTargets(data);
  if (loss === 'cross_entropy') {
    if (!(targets instanceof Int32Array)) {
      throw new RangeError(`${data.source}: loss 'cross_entropy' needs class indices (an Int32Array of labels) but the dataset has float targets`);
    }
    if (isPixelDataset(data)) return checkLabels(data, outputs);
    for (let i = 0; i < data.n; i++) {
      const y = targets[i];
      if (y < 0 || y >= outputs) throw new RangeError(`${data.source}: label ${y} of sample ${i} is outside the network's ${outputs} classes (0..${outputs - 1})`);
    }
    return;
  }
  if (!(targets instanceof Float32Array)) {
    throw new RangeError(`${data.source}: loss '${loss}' needs float targets (a Float32Array of N·${outputs} values; createFeatureDataset) but the dataset has class labels`);
  }
  if (targets.length !== data.n * outputs) {
    throw new RangeError(`${data.source}: ${targets.length / data.n} targets per sample but the network has ${outputs} outputs`);
  }
}
