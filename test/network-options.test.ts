// MLP's network options (activation, negativeSlope, dropout, loss, classWeights, inputMean/inputStd, input):
// checked with the project's message shape, recorded in the weights file's __metadata__ (one versioned JSON
// entry 'fcnet'), rebuilt by loadMLP, loaded by PyTorch with strict=True; old files load as ReLU + cross-entropy,
// newer formats are refused; fit and evaluate with every loss.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adam } from '../lib/adam';
import { loadMLP, readSafetensorsFile, saveMLP, saveTrainingCheckpoint, loadTrainingCheckpoint, writeSafetensorsFile } from '../lib/checkpoint';
import { createFeatureDataset } from '../lib/data/dataset';
import { MLP, type MLPOptions } from '../lib/model';
import { lossNames, type LossName } from '../lib/network';
import { evaluate, fit } from '../lib/train';

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'fcnet-network-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const rich: MLPOptions = {
  sizes: [6, 5, 4, 3],
  seed: 3,
  backend: 'js',
  activation: 'gelu',
  dropout: 0.25,
  loss: 'cross_entropy',
  classWeights: [0.5, 1, 2],
  inputMean: [0.1, -0.2, 0.3, 0, 0.5, -1],
  inputStd: [1, 2, 0.5, 1.5, 1, 0.75],
  input: 'features',
};

describe('options are checked with one message shape', () => {
  const cases: [Partial<MLPOptions>, Error][] = [
    [{ activation: 'swish' as never }, new TypeError("Expected one of 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu' for activation but received 'swish' of type string")],
    [{ dropout: 1 }, new RangeError('Expected number from 0 up to (not including) 1 for dropout but received 1 of type number')],
    [{ dropout: -0.1 }, new RangeError('Expected number from 0 up to (not including) 1 for dropout but received -0.1 of type number')],
    [{ loss: 'nll' as never }, new TypeError("Expected one of 'cross_entropy', 'bce_with_logits', 'mse', 'l1' for loss but received 'nll' of type string")],
    [{ negativeSlope: NaN }, new RangeError('Expected number from -1000000 to 1000000 for negativeSlope but received NaN of type number')],
    [{ classWeights: [1, 2] }, new RangeError('Expected Float32Array or array of 3 numbers for classWeights but received Array of length 2')],
    [{ classWeights: [1, -2, 1] }, new RangeError('Expected finite number ≥ 0 for classWeights[1] but received -2 of type number')],
    [{ loss: 'mse', classWeights: [1, 1, 1] }, new TypeError("classWeights apply to loss 'cross_entropy' only, not 'mse'")],
    [{ inputMean: [0, 0, 0, 0] }, new TypeError('inputMean and inputStd go together: give both (the transform is (x − mean) / std) or neither')],
    [{ inputMean: [0, 0, 0, 0], inputStd: [1, 0, 1, 1] }, new RangeError('Expected finite number > 0 for inputStd[1] but received 0 of type number')],
    [{ input: 'floats' as never }, new TypeError("Expected one of 'pixels', 'features' for input but received 'floats' of type string")],
  ];
  test.each(cases)('%j', (options, error) => {
    expect(() => new MLP({ sizes: [4, 3, 3], backend: 'js', ...options })).toThrow(error);
  });

  test('the defaults are the reference semantics', () => {
    const spec = new MLP({ sizes: [4, 3, 3], backend: 'js' }).spec;
    expect(spec).toMatchObject({ activation: 'relu', negativeSlope: 0.01, dropout: 0, loss: 'cross_entropy', classWeights: null, inputMean: null, inputStd: null });
  });
});

describe('the weights file records the network', () => {
  test('saveMLP then loadMLP rebuilds the same network: same spec, same logits bit for bit', () => {
    const model = new MLP(rich);
    const file = join(folder, 'rich.safetensors');
    saveMLP(file, model);
    const { metadata, tensors } = readSafetensorsFile(file);
    expect(Object.keys(tensors).sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias', 'fc3.weight']);
    expect(JSON.parse(metadata.fcnet)).toMatchObject({ format: 1, activation: 'gelu', dropout: 0.25, loss: 'cross_entropy', class_weights: [0.5, 1, 2], input: 'features' });
    const loaded = loadMLP(file, { backend: 'js' });
    expect(loaded.spec).toEqual(model.spec);
    expect(loaded.input).toBe('features');
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 3);
    expect(loaded.logits(x, 2)).toEqual(model.logits(x, 2));
  });

  test('a training checkpoint records it too', () => {
    const model = new MLP({ ...rich, loss: 'mse', classWeights: undefined });
    const file = join(folder, 'rich.ckpt');
    const optimizer = new Adam(model);
    saveTrainingCheckpoint(file, model, optimizer, { epoch: 0, step: 0, rngState: [1, 2, 3, 4] }, { epochs: 1, batchSize: 2, seed: 0, lr: 0.001, hidden: [5, 4] });
    expect(loadTrainingCheckpoint(file).network).toMatchObject({ activation: 'gelu', dropout: 0.25, loss: 'mse' });
    expect(loadMLP(file, { backend: 'js' }).spec.loss).toBe('mse');
  });

  test('the reference network writes no entry (nothing to say), and loads back the same', () => {
    const model = new MLP({ sizes: [4, 3, 2], backend: 'js' });
    const file = join(folder, 'reference.safetensors');
    saveMLP(file, model);
    expect(readSafetensorsFile(file).metadata).toEqual({ format: 'pt', producer: 'fcnet' });
    expect(loadMLP(file, { backend: 'js' }).spec).toEqual(model.spec);
  });

  test('loadMLP takes the recorded activation; the activation option overrides it', () => {
    const model = new MLP({ sizes: [4, 3, 2], backend: 'js', activation: 'tanh' });
    const file = join(folder, 'tanh.safetensors');
    saveMLP(file, model);
    expect(loadMLP(file, { backend: 'js' }).spec.activation).toBe('tanh');
    expect(loadMLP(file, { backend: 'js', activation: 'sigmoid' }).spec.activation).toBe('sigmoid');
  });

  test('a file without the entry (earlier fcnet versions) loads as ReLU and cross-entropy', () => {
    const model = new MLP({ sizes: [4, 3, 2], backend: 'js' });
    const file = join(folder, 'old.safetensors');
    writeSafetensorsFile(file, model.stateDict(), { format: 'pt', producer: 'fcnet' }); // what fcnet wrote before
    expect(loadMLP(file, { backend: 'js' }).spec).toEqual(model.spec);
  });

  test('a file of a newer format is refused with a clear message', () => {
    const model = new MLP({ sizes: [4, 3, 2], backend: 'js' });
    const file = join(folder, 'newer.safetensors');
    writeSafetensorsFile(file, model.stateDict(), { fcnet: JSON.stringify({ format: 2, activation: 'relu', attention: true }) });
    expect(() => loadMLP(file)).toThrow(new Error(`${file}: __metadata__ 'fcnet' has format 2, newer than this fcnet reads (1): upgrade fcnet`));
  });

  test.each([
    ['{"format":1,"activation":"swish"}', "__metadata__ 'fcnet' names activation \"swish\"; known: relu, leaky_relu, tanh, sigmoid, gelu"],
    ['{"format":1,"dropout":3}', 'the network its __metadata__ records is not valid: Expected number from 0 up to (not including) 1 for dropout but received 3 of type number'],
    ['{"format":1,"colour":"red"}', "__metadata__ 'fcnet' has unknown field 'colour' for format 1"],
    ['[1]', "__metadata__ 'fcnet' is not a JSON object"],
    ['{"activation":"relu"}', "__metadata__ 'fcnet' has no integer 'format'"],
  ])('a malformed entry %s is refused, naming the file', (entry, problem) => {
    const model = new MLP({ sizes: [4, 3, 2], backend: 'js' });
    const file = join(folder, 'bad.safetensors');
    writeSafetensorsFile(file, model.stateDict(), { fcnet: entry });
    expect(() => loadMLP(file)).toThrow(new Error(`${file}: ${problem}`));
  });
});

const PYTHON = '/usr/bin/python3';
const torchThere = spawnSync(PYTHON, ['-c', 'import torch'], { timeout: 60_000 }).status === 0;
(torchThere || process.env.CI ? test : test.skip)('PyTorch loads the Linear pairs with strict=True and, from the metadata, computes the same logits', () => {
  const model = new MLP({ ...rich, classWeights: undefined, activation: 'leaky_relu', negativeSlope: 0.2 });
  const weights = join(folder, 'interop.safetensors');
  const input = join(folder, 'input.safetensors');
  saveMLP(weights, model);
  const x = Float32Array.from({ length: 5 * 6 }, (_, i) => Math.cos(i * 0.7) * 2);
  writeSafetensorsFile(input, { x: { shape: [5, 6], data: x } });
  const run = spawnSync(PYTHON, [join(__dirname, 'pytorch-network-interop.py'), weights, input], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`pytorch-network-interop.py failed (${run.status ?? run.signal}):\n${run.stderr}`);
  const fromPyTorch = (JSON.parse(run.stdout).logits as number[][]).flat();
  const ours = model.logits(x, 5);
  expect(fromPyTorch).toHaveLength(ours.length);
  ours.forEach((v, i) => expect(Math.abs(v - fromPyTorch[i])).toBeLessThanOrEqual(1e-6 + 1e-4 * Math.abs(fromPyTorch[i])));
}, 120_000);

describe('fit and evaluate with every loss on float features', () => {
  const N = 64, D = 6, K = 3;
  const features = Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.37) * 2);
  const targetsFor = (loss: LossName): Int32Array | Float32Array => {
    if (loss === 'cross_entropy') return Int32Array.from({ length: N }, (_, n) => (features[n * D] > 0 ? 1 : features[n * D + 1] > 0 ? 2 : 0));
    return Float32Array.from({ length: N * K }, (_, k) => {
      const v = features[Math.floor(k / K) * D + (k % K)];
      return loss === 'bce_with_logits' ? (v > 0 ? 1 : 0) : v * 0.5;
    });
  };
  test.each(lossNames.map((l) => [l]))('%s: the loss falls; accuracy for classes (subset accuracy for bce_with_logits), NaN for regression', async (loss) => {
    const data = createFeatureDataset(features, targetsFor(loss), D, `${loss} toy`);
    const model = new MLP({ sizes: [D, 8, K], backend: 'js', activation: 'tanh', loss, input: 'features' });
    const before = evaluate(model, data);
    await fit(model, new Adam(model, { lr: 0.01 }), data, { epochs: 20, batchSize: 16, seed: 1 });
    const after = evaluate(model, data);
    expect(after.loss).toBeLessThan(before.loss * 0.8);
    if (loss === 'cross_entropy' || loss === 'bce_with_logits') expect(after.accuracy).toBeGreaterThan(0.5);
    else expect(after.accuracy).toBeNaN();
  });

  test('a loss and targets that do not fit each other are refused before training', async () => {
    const classes = createFeatureDataset(features, targetsFor('cross_entropy'), D, 'labels');
    const model = new MLP({ sizes: [D, 8, K], backend: 'js', loss: 'mse' });
    await expect(fit(model, new Adam(model), classes, { batchSize: 8 })).rejects.toThrow(new RangeError("labels: loss 'mse' needs float targets (a Float32Array of N·3 values; createFeatureDataset) but the dataset has class labels"));
    const floats = createFeatureDataset(features, targetsFor('mse'), D, 'floats');
    const ce = new MLP({ sizes: [D, 8, K], backend: 'js' });
    expect(() => evaluate(ce, floats)).toThrow(new RangeError("floats: loss 'cross_entropy' needs class indices (an Int32Array of labels) but the dataset has float targets"));
  });

  test('createFeatureDataset refuses a non-finite feature, naming the sample', () => {
    const bad = features.slice();
    bad[2 * D + 4] = NaN;
    expect(() => createFeatureDataset(bad, targetsFor('mse'), D, 'table')).toThrow(new RangeError(`Expected finite number for features[${2 * D + 4}] (sample 2, feature 4) but received NaN of type number`));
  });
});
