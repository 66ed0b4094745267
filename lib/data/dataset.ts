// Datasets: labelled images kept as the original bytes (N images of D uint8 pixels, labels as Int32; batches
// are gathered and scaled to [0, 1], like torchvision's ToTensor, by the backend's kernel), and float features
// with class indices or float targets (createFeatureDataset).
import { checkInteger, checkKnownOptions, invalidArgument } from '../check';
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
 * A dataset of features: N samples of D values, float32 as they are or uint8 pixels (scaled by 1/255 when a batch
 * is gathered, as createDataset's), with class indices (Int32Array (N), for cross_entropy) or float targets
 * (Float32Array (N, K), for bce_with_logits, mse and l1). A model's inputMean/inputStd transform applies on top.
 */
export interface FeatureDataset {
  /** (N, D) */
  features: Float32Array | Uint8Array;
  /** (N) class indices, or (N, K) float targets. */
  targets: Int32Array | Float32Array;
  n: number;
  /** Features per sample. */
  d: number;
  /** Targets per sample: K for float targets, 1 for class indices. */
  k: number;
  /** Where it came from, for messages. */
  source: string;
  /** Class i's name, for targets given as names (or names given with indices); null when classes are only indices. */
  classNames: readonly string[] | null;
  /** (D) the features' names (a CSV's column names), or null. */
  featureNames: readonly string[] | null;
  /** (K) the targets' names (a CSV's target columns), or null. */
  targetNames: readonly string[] | null;
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

export interface FeatureDatasetOptions {
  /** Where the data came from, for messages. Default 'dataset'. */
  source?: string;
  /**
   * The classes, in index order. With string targets: the names they may take (class i is classNames[i]); default:
   * the distinct names sorted (numerically when every name is an integer, as '2' < '10'; else by code unit, as
   * numpy's np.unique). With class indices: names for them, saved with the model so classify() returns names.
   */
  classNames?: readonly string[];
  /** (D) names of the features, saved with the model (a CSV's columns). */
  featureNames?: readonly string[];
  /** (K) names of the targets, saved with the model. */
  targetNames?: readonly string[];
}

const knownDatasetOptions = ['source', 'classNames', 'featureNames', 'targetNames'] as const;

/** Class names in index order for these target names: integers numerically, anything else by code unit. */
export function sortedClassNames(names: Iterable<string>): string[] {
  const distinct = [...new Set(names)];
  const integers = distinct.every((name) => /^-?(0|[1-9][0-9]{0,14})$/.test(name));
  return integers ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function checkNames(name: string, value: unknown, length: number | null): readonly string[] {
  if (!Array.isArray(value) || (length !== null && value.length !== length) || value.length === 0) {
    throw invalidArgument(length === null ? 'non-empty array of strings' : `array of ${length} strings`, name, value);
  }
  const seen = new Set<string>();
  value.forEach((v, i) => {
    if (typeof v !== 'string' || v.length === 0) throw invalidArgument('non-empty string', `${name}[${i}]`, v);
    if (seen.has(v)) throw invalidArgument(`name not used before in ${name}`, `${name}[${i}]`, v);
    seen.add(v);
  });
  return Object.freeze([...value] as string[]);
}

/** Class indices (N) from targets given as indices (integers ≥ 0, below `classes` when known) or as names. */
function classIndices(targets: ArrayLike<unknown>, n: number, classNames: readonly string[] | null): { labels: Int32Array; classNames: readonly string[] | null } {
  const labels = new Int32Array(n);
  const byName = typeof targets[0] === 'string';
  if (byName) {
    for (let i = 0; i < n; i++) if (typeof targets[i] !== 'string') throw invalidArgument('class name (string), as targets[0]', `targets[${i}]`, targets[i]);
    const names = classNames ?? Object.freeze(sortedClassNames(Array.from(targets as ArrayLike<string>)));
    const index = new Map(names.map((name, i) => [name, i]));
    const shown = names.length <= 8 ? names.map((c) => `'${c}'`).join(', ') : `${names.slice(0, 8).map((c) => `'${c}'`).join(', ')}, ... (${names.length})`;
    for (let i = 0; i < n; i++) {
      const y = index.get(targets[i] as string);
      if (y === undefined) throw invalidArgument(`one of the classNames (${shown})`, `targets[${i}]`, targets[i]);
      labels[i] = y;
    }
    return { labels, classNames: names };
  }
  const limit = classNames ? classNames.length - 1 : 0x7fffffff;
  for (let i = 0; i < n; i++) {
    const y = targets[i];
    if (typeof y !== 'number' || !Number.isInteger(y) || y < 0 || y > limit) {
      throw invalidArgument(`class index (integer between 0 and ${limit})`, `targets[${i}]`, y);
    }
    labels[i] = y;
  }
  return { labels, classNames };
}

/**
 * A dataset from features in memory: features (N·D) with D = `featuresPerSample`, float32 values or uint8 pixels
 * (scaled by 1/255 as createDataset's), and targets as one of:
 * - class indices: Int32Array or array of integers ≥ 0, length N (cross_entropy);
 * - class names: array of N strings, mapped to indices by `options.classNames` or their sorted order; the names
 *   are kept (dataset.classNames) and a model made with them saves them, so classify() answers with names;
 * - float targets: Float32Array of N·K values (bce_with_logits for 0/1 multi-label, mse or l1 for regression).
 * Every value is checked here, naming its place (`Expected finite number for features[14] (sample 2, feature 4)
 * but received NaN of type number`), so bad data is found before training rather than mid-epoch.
 * `options` may be a string: the source, as before.
 */
export function createFeatureDataset(features: Float32Array | Uint8Array, targets: Int32Array | Float32Array | ArrayLike<number> | readonly string[],
  featuresPerSample: number, options: string | FeatureDatasetOptions = {}): FeatureDataset {
  const opts: FeatureDatasetOptions = typeof options === 'string' ? { source: options } : options;
  if (opts === null || typeof opts !== 'object') throw invalidArgument('object of options or a source string', 'options', options);
  checkKnownOptions('createFeatureDataset', opts, knownDatasetOptions);
  const source = opts.source ?? 'dataset';
  if (typeof source !== 'string') throw invalidArgument('string', 'source', source);
  if (!(features instanceof Float32Array) && !(features instanceof Uint8Array)) {
    throw invalidArgument('Float32Array of features or Uint8Array of pixels', 'features', features);
  }
  const d = checkInteger('featuresPerSample', featuresPerSample, 1, 1 << 24);
  if (features.length % d !== 0 || features.length === 0) {
    throw invalidArgument(`Float32Array of a non-zero multiple of ${d} (featuresPerSample) values`, 'features', features);
  }
  const n = features.length / d;
  if (features instanceof Float32Array) {
    const bad = features.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw invalidArgument('finite number', `features[${bad}] (sample ${Math.floor(bad / d)}, feature ${bad % d})`, features[bad]);
  }
  const featureNames = opts.featureNames === undefined ? null : checkNames('featureNames', opts.featureNames, d);
  let classNames = opts.classNames === undefined ? null : checkNames('classNames', opts.classNames, null);
  if (targets instanceof Float32Array) {
    if (targets.length % n !== 0 || targets.length === 0) {
      throw invalidArgument(`Float32Array of N·K values (N = ${n} samples, K per sample)`, 'targets', targets);
    }
    const k = targets.length / n;
    const bad = targets.findIndex((t) => !Number.isFinite(t));
    if (bad >= 0) throw invalidArgument('finite number', `targets[${bad}] (sample ${Math.floor(bad / k)}, target ${bad % k})`, targets[bad]);
    if (classNames !== null) throw new TypeError('classNames go with class targets (indices or names), not with float targets');
    const targetNames = opts.targetNames === undefined ? null : checkNames('targetNames', opts.targetNames, k);
    return { features, targets, n, d, k, source, classNames: null, featureNames, targetNames };
  }
  const isList = targets !== null && typeof targets === 'object' && typeof (targets as ArrayLike<unknown>).length === 'number' && !(ArrayBuffer.isView(targets) && !(targets instanceof Int32Array));
  if (!isList) throw invalidArgument('Int32Array or array of class indices, array of class names, or Float32Array of targets', 'targets', targets);
  if ((targets as ArrayLike<unknown>).length !== n) {
    throw invalidArgument(`${n} class targets (one per sample)`, 'targets', targets);
  }
  const classes = classIndices(targets as ArrayLike<unknown>, n, classNames);
  classNames = classes.classNames;
  const targetNames = opts.targetNames === undefined ? null : checkNames('targetNames', opts.targetNames, 1);
  return { features, targets: classes.labels, n, d, k: 1, source, classNames, featureNames, targetNames };
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
