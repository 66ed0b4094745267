// Issue 14 from code: datasets of float features with class names or float targets, the held-out split, the
// standardisation saved with the model, predict/classify on a reloaded model, evaluate's per-class report,
// validation that leaves the run undisturbed, early stopping that restores the best weights, LR schedules and
// gradient clipping (held to PyTorch's numbers where PyTorch defines them).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Adam } from '../lib/adam';
import { backends } from '../lib/backends';
import { loadMLP, saveMLP } from '../lib/checkpoint';
import { createFeatureDataset } from '../lib/data/dataset';
import { splitDataset } from '../lib/data/split';
import { fitStandardization } from '../lib/data/standardize';
import { MLP } from '../lib/model';
import { SGD } from '../lib/optimizers';
import { LrScheduler } from '../lib/schedules';
import { clipGradNorm, evaluate, fit, type EpochInfo } from '../lib/train';

const available = backends().filter((b) => b.available && b.name !== 'cuda').map((b) => b.name);

/** Two noisy clusters per class in D dims: N samples, C classes, seeded. */
function blobs(N: number, D: number, C: number, seed: number): { features: Float32Array; labels: number[] } {
  let s = seed >>> 0;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const features = new Float32Array(N * D);
  const labels: number[] = [];
  for (let i = 0; i < N; i++) {
    const c = i % C;
    labels.push(c);
    for (let d = 0; d < D; d++) features[i * D + d] = (d % C === c ? 3 : 0) + 2 * (rand() - 0.5) + d * 10;
  }
  return { features, labels };
}

describe('createFeatureDataset', () => {
  test('class names map to indices in sorted order (integers numerically) and are kept', () => {
    const data = createFeatureDataset(new Float32Array(8), ['b', 'a', 'c', 'a'], 2);
    expect(data.classNames).toEqual(['a', 'b', 'c']);
    expect(Array.from(data.targets)).toEqual([1, 0, 2, 0]);
    expect(createFeatureDataset(new Float32Array(3), ['10', '2', '9'], 1).classNames).toEqual(['2', '9', '10']);
    const given = createFeatureDataset(new Float32Array(2), ['yes', 'no'], 1, { classNames: ['no', 'yes', 'maybe'] });
    expect(Array.from(given.targets)).toEqual([1, 0]);
  });

  test('every bad value is named with its place, in one message shape', () => {
    const labels = Array.from({ length: 13 }, () => 0) as unknown[];
    labels[12] = '3';
    expect(() => createFeatureDataset(new Float32Array(13), labels as number[], 1)).toThrow(new RangeError("Expected class index (integer between 0 and 2147483647) for targets[12] but received '3' of type string"));
    expect(() => createFeatureDataset(new Float32Array(2), ['a', 'z'], 1, { classNames: ['a', 'b'] })).toThrow(new TypeError("Expected one of the classNames ('a', 'b') for targets[1] but received 'z' of type string"));
    const features = new Float32Array(6);
    features[5] = NaN;
    expect(() => createFeatureDataset(features, [0, 1, 0], 2)).toThrow(new RangeError('Expected finite number for features[5] (sample 2, feature 1) but received NaN of type number'));
    expect(() => createFeatureDataset(new Float32Array(6), new Float32Array([1, 2, Infinity]), 2)).toThrow(new RangeError('Expected finite number for targets[2] (sample 2, target 0) but received Infinity of type number'));
    expect(() => createFeatureDataset(new Float32Array(5), [0], 2)).toThrow(new RangeError('Expected Float32Array of a non-zero multiple of 2 (featuresPerSample) values for features but received Float32Array of length 5'));
    expect(() => createFeatureDataset(new Float32Array(4), [0], 2)).toThrow(new RangeError('Expected 2 class targets (one per sample) for targets but received Array of length 1'));
    expect(() => createFeatureDataset(new Float32Array(4), [0, 1], 2, { featureNames: ['x'] })).toThrow(new TypeError('Expected array of 2 strings for featureNames but received Array of length 1'));
  });

  test('uint8 pixels are taken as pixels', () => {
    const data = createFeatureDataset(new Uint8Array([0, 255, 255, 0]), [0, 1], 2);
    expect(data.features).toBeInstanceOf(Uint8Array);
    expect(fitStandardization(data).mean).toEqual(new Float32Array([0.5, 0.5]));
  });
});

test('splitDataset: seeded, stratified, disjoint, the same rows for the same seed', () => {
  const labels = Array.from({ length: 100 }, (_, i) => (i < 80 ? 0 : 1));
  const data = createFeatureDataset(Float32Array.from({ length: 100 }, (_, i) => i), labels, 1);
  const { train, validation } = splitDataset(data, 0.25, { seed: 7 });
  expect(validation.n).toBe(25);
  expect(Array.from(validation.targets).filter((y) => y === 1).length).toBe(5); // 20 % of class 1's 20
  const seen = new Set([...train.features, ...validation.features]);
  expect(seen.size).toBe(100);
  expect(splitDataset(data, 0.25, { seed: 7 }).validation.features).toEqual(validation.features);
  expect(splitDataset(data, 0.25, { seed: 8 }).validation.features).not.toEqual(validation.features);
});

test('fitStandardization equals scikit-learn\'s StandardScaler (population std; constant feature → 1)', () => {
  // StandardScaler().fit([[1, 5, 2], [2, 5, 4], [4, 5, 9]]): mean_ [2.333.., 5, 5], scale_ [1.2472191, 1, 2.9439203]
  const data = createFeatureDataset(new Float32Array([1, 5, 2, 2, 5, 4, 4, 5, 9]), [0, 1, 0], 3);
  const s = fitStandardization(data);
  expect(Array.from(s.mean)).toEqual(Array.from(new Float32Array([7 / 3, 5, 5])));
  expect(s.std[0]).toBeCloseTo(1.247219128924647, 6);
  expect(s.std[1]).toBe(1);
  expect(s.std[2]).toBeCloseTo(2.943920288775949, 6);
});

describe.each(available)('on %s', (backend) => {
  const { features, labels } = blobs(300, 6, 3, 1);
  const names = labels.map((c) => ['setosa', 'versicolor', 'virginica'][c]);
  const all = createFeatureDataset(features, names, 6, { featureNames: ['a', 'b', 'c', 'd', 'e', 'f'], targetNames: ['species'] });
  const { train, validation } = splitDataset(all, 0.3, { seed: 1 });
  const scaler = fitStandardization(train);
  const makeModel = (seed = 0): MLP => new MLP({
    sizes: [6, 16, 3], backend, seed, input: 'features', inputMean: scaler.mean, inputStd: scaler.std,
    classNames: all.classNames!, featureNames: all.featureNames!, targetNames: all.targetNames!,
  });

  test('a saved model keeps its scaler and names; predict and classify on raw rows agree after loadMLP', async () => {
    const model = makeModel();
    await fit(model, new Adam(model, { lr: 0.01 }), train, { epochs: 20, batchSize: 16 });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-own-')), 'model.safetensors');
    saveMLP(file, model);
    const loaded = loadMLP(file, { backend });
    expect(loaded.spec.inputMean).toEqual(scaler.mean);
    expect(loaded.spec.inputStd).toEqual(scaler.std);
    expect(loaded.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(loaded.featureNames).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    const rows = [Array.from(validation.features.subarray(0, 6)), Array.from(validation.features.subarray(6, 12))];
    const p = loaded.predict(rows);
    expect(p).toEqual(model.predict(rows));
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 6);
    const classes = loaded.classify(validation.features as Float32Array) as string[];
    const expected = Array.from(validation.targets, (c) => all.classNames![c]);
    expect(classes.filter((c, i) => c === expected[i]).length / classes.length).toBeGreaterThan(0.9);
    const report = evaluate(loaded, validation);
    expect(report.perClass!.map((c) => c.name)).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(report.confusion!.flat().reduce((a, b) => a + b, 0)).toBe(validation.n);
    expect(report.perClass!.map((c) => c.support)).toEqual([30, 30, 30]);
    expect(report.accuracy).toBe(report.confusion!.reduce((a, row, i) => a + row[i], 0) / validation.n);
  });

  test('validation inside fit leaves the run undisturbed: the same bits as without it', async () => {
    const plain = makeModel(3);
    await fit(plain, new Adam(plain), train, { epochs: 3, batchSize: 10 });
    const watched = makeModel(3);
    const seen: EpochInfo[] = [];
    await fit(watched, new Adam(watched), train, { epochs: 3, batchSize: 10, validationData: validation, onEpoch: (e) => { seen.push(e); } });
    expect(watched.buffers.params).toEqual(plain.buffers.params);
    expect(seen.map((e) => e.validation!.n)).toEqual([90, 90, 90]);
    expect(seen[2].validation!.accuracy).toBeGreaterThan(0);
  });

  test('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
    const model = makeModel(5);
    const snapshots: Float32Array[] = [];
    const losses: number[] = [];
    // A learning rate far too high, so the validation loss soon stops improving.
    const result = await fit(model, new SGD(model, { lr: 3, momentum: 0.9 }), train, {
      epochs: 60, batchSize: 10, validationData: validation, earlyStopping: { patience: 3 },
      onEpoch: (e) => { snapshots.push(model.buffers.params.slice()); losses.push(e.validation!.loss); },
    });
    expect(result.stoppedEpoch).not.toBeNull();
    const best = losses.indexOf(Math.min(...losses));
    expect(result.bestEpoch).toBe(best);
    expect(result.stoppedEpoch).toBe(best + 3);
    expect(model.buffers.params).toEqual(snapshots[best]);
    expect(evaluate(model, validation).loss).toBe(losses[best]);
  });

  test('gradient clipping equals torch.nn.utils.clip_grad_norm_ on the flat gradients', () => {
    const model = makeModel(2);
    const g = model.buffers.grads;
    for (let i = 0; i < g.length; i++) g[i] = Math.sin(i);
    const before = g.slice();
    const norm = clipGradNorm(g, model, 0.5);
    let sum = 0;
    for (const x of before) sum += x * x;
    expect(norm).toBeCloseTo(Math.sqrt(sum), 4);
    const coef = 0.5 / (norm + 1e-6);
    for (let i = 0; i < g.length; i += 37) expect(g[i]).toBeCloseTo(before[i] * coef, 6);
  });
});

test('regression: float targets, MSE and MAE per epoch; predict returns values', async () => {
  const N = 200, D = 3;
  const x = Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 1.7));
  const y = Float32Array.from({ length: N }, (_, r) => 2 * x[r * D] - x[r * D + 1] + 0.5);
  const data = createFeatureDataset(x, y, D, { targetNames: ['y'] });
  const model = new MLP({ sizes: [3, 16, 1], loss: 'mse', input: 'features', backend: 'js', targetNames: ['y'] });
  const epochs: EpochInfo[] = [];
  await fit(model, new Adam(model, { lr: 0.01 }), data, { epochs: 30, batchSize: 20, validationSplit: 0.2, onEpoch: (e) => { epochs.push(e); } });
  const last = epochs[epochs.length - 1].validation!;
  expect(last.mse).toBeLessThan(epochs[0].validation!.mse);
  expect(last.mse).toBeCloseTo(last.loss, 5);
  expect(Number.isNaN(last.accuracy)).toBe(true);
  expect(model.predict([[0, 0, 0]]).length).toBe(1);
  expect(() => model.classify([[0, 0, 0]])).toThrow("classify: a model with loss 'mse' predicts values, not classes; use predict()");
});

test('LR schedules follow torch.optim.lr_scheduler', () => {
  // torch 1.13: StepLR(step_size=2, gamma=0.5), CosineAnnealingLR(T_max=4, eta_min=0.01), from lr 0.1, 6 steps;
  // ReduceLROnPlateau(patience=1, factor=0.5) on losses [1, 0.9, 0.95, 0.96, 0.97, 0.5].
  const step = new LrScheduler({ kind: 'step', stepSize: 2, gamma: 0.5 }, 0.1);
  expect([1, 2, 3, 4, 5, 6].map(() => step.step(NaN))).toEqual([0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]);
  const cosine = new LrScheduler({ kind: 'cosine', tMax: 4, etaMin: 0.01 }, 0.1);
  const torchCosine = [0.08681980515339464, 0.05500000000000001, 0.023180194846605363, 0.01, 0.023180194846605363, 0.05500000000000002];
  [1, 2, 3, 4, 5, 6].forEach((_, i) => expect(cosine.step(NaN)).toBeCloseTo(torchCosine[i], 15));
  const plateau = new LrScheduler({ kind: 'plateau', monitor: 'loss', patience: 1, factor: 0.5 }, 0.1);
  expect([1, 0.9, 0.95, 0.96, 0.97, 0.5].map((l) => plateau.step(l))).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05]);
});
