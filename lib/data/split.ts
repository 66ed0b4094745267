// Holding out part of a dataset for validation or testing: a seeded split, stratified for classes (each class
// keeps its share in both parts), rows copied so the parts are independent datasets.
import { checkInteger, checkNumber } from '../check';
import { Rng } from '../rng';
import { datasetTargets, isPixelDataset, type AnyDataset, type Dataset, type FeatureDataset } from './dataset';

/** The split's own generator stream, so it never shares numbers with the weights' (1) or the shuffle's (2). */
const RNG_STREAM_SPLIT = 3;

export interface SplitOptions {
  /** Seeds which rows go where. Default 0. */
  seed?: number;
  /** Keep each class's share in both parts (class targets only). Default true for class targets. */
  stratify?: boolean;
}

/** The rows `indices` of `data` (in that order), as a dataset of the same kind; `source` names it in messages. */
export function subsetDataset<T extends AnyDataset>(data: T, indices: Int32Array, source: string): T {
  const n = indices.length;
  const D = data.d;
  if (isPixelDataset(data)) {
    const images = new Uint8Array(n * D);
    const labels = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      images.set(data.images.subarray(indices[r] * D, (indices[r] + 1) * D), r * D);
      labels[r] = data.labels[indices[r]];
    }
    return { ...(data as Dataset), images, labels, n, source } as T;
  }
  const f = data as FeatureDataset;
  const features = f.features instanceof Uint8Array ? new Uint8Array(n * D) : new Float32Array(n * D);
  const K = f.k;
  const targets = f.targets instanceof Int32Array ? new Int32Array(n) : new Float32Array(n * K);
  for (let r = 0; r < n; r++) {
    const i = indices[r];
    features.set(f.features.subarray(i * D, (i + 1) * D), r * D);
    if (targets instanceof Int32Array) targets[r] = f.targets[i];
    else targets.set(f.targets.subarray(i * K, (i + 1) * K), r * K);
  }
  return { ...f, features, targets, n, source } as T;
}

/**
 * Splits `data` into a training part and a held-out part of `fraction` of the rows (0 < fraction < 1), seeded.
 * Stratified (the default for class targets): each class c of n_c rows gives round(fraction · n_c) of them, drawn
 * at random, to the held-out part, as scikit-learn's train_test_split(stratify=y) keeps the proportions. Rows keep
 * their original order within each part. Throws when either part would be empty.
 */
export function splitDataset<T extends AnyDataset>(data: T, fraction: number, options: SplitOptions = {}): { train: T; validation: T } {
  checkNumber('fraction', fraction, 0, 1, true);
  if (fraction >= 1) checkNumber('fraction', fraction, 0, 0.999999, true);
  const seed = checkInteger('seed', options.seed ?? 0, 0, 0xffffffff);
  const targets = datasetTargets(data);
  const classes = targets instanceof Int32Array;
  const stratify = options.stratify ?? classes;
  if (stratify && !classes) throw new TypeError('stratify: float targets have no classes to stratify by');
  const rng = new Rng(seed, RNG_STREAM_SPLIT);
  const held = new Uint8Array(data.n);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < data.n; i++) {
    const key = stratify ? targets[i] : 0;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(i);
  }
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const rows = Int32Array.from(groups.get(key)!);
    rng.shuffle(rows);
    const take = Math.round(fraction * rows.length);
    for (let j = 0; j < take; j++) held[rows[j]] = 1;
  }
  const validationRows = Int32Array.from({ length: data.n }, (_, i) => i).filter((i) => held[i] === 1);
  const trainRows = Int32Array.from({ length: data.n }, (_, i) => i).filter((i) => held[i] === 0);
  if (validationRows.length === 0 || trainRows.length === 0) {
    throw new RangeError(`${data.source}: a split of ${fraction} of ${data.n} rows leaves ${validationRows.length === 0 ? 'the held-out' : 'the training'} part empty`);
  }
  return {
    train: subsetDataset(data, trainRows, `${data.source} (training part)`),
    validation: subsetDataset(data, validationRows, `${data.source} (held-out part)`),
  };
}
