// Every activation, loss, class weights, dropout and the input transform, on every available backend, against
// PyTorch's numbers (test/fixtures/layers.*, written by test/fixtures-gen/make-layer-fixtures.py) within
// torch.allclose(rtol 1e-4, atol 1e-6), printing the largest difference per tensor; then the per-op checks
// (central differences, dropout's p = 0 identity, the mask hash) that need no fixture.
import * as fs from 'fs';
import { Adam } from '../lib/adam';
import { activationDerivative, activationForward } from '../lib/backends/activations';
import { backends } from '../lib/backends';
import { CpuEngine } from '../lib/backends/cpu-engine';
import { dropoutKeeps, fillDropoutMask, lowbias32 } from '../lib/backends/dropout-mask';
import { lossFunctions } from '../lib/backends/losses';
import type { BackendName, DropoutSource, Targets } from '../lib/backends/types';
import { readSafetensorsFile } from '../lib/checkpoint';
import { createFeatureDataset } from '../lib/data/dataset';
import { MLP, type MLPOptions } from '../lib/model';
import { activations, lossNames, type Activation, type LossName } from '../lib/network';
import type { StateDict } from '../lib/tensor';
import { fit } from '../lib/train';
import { compareArrays, expectAllClose, type Difference } from './support/compare';
import { requireFixtureFile } from './support/fixtures-dir';

interface LayerCase {
  sizes: number[];
  batch: number;
  activation: Activation;
  negative_slope: number;
  dropout: number;
  loss: LossName;
  class_weights: boolean;
  normalize: boolean;
  /** x = pixels / 255, with the bytes as `pixels` (stored as float32). */
  pixels?: boolean;
  steps: number;
  lr: number;
  betas: [number, number];
  eps: number;
}

const meta = JSON.parse(fs.readFileSync(requireFixtureFile('layers.json'), 'utf8')) as { cases: Record<string, LayerCase> };
const tensors: StateDict = readSafetensorsFile(requireFixtureFile('layers.safetensors')).tensors;
const caseNames = Object.keys(meta.cases);
const available = backends().filter((r) => r.available).map((r) => r.name);

const tensor = (name: string, key: string): Float32Array => {
  const t = tensors[`${name}.${key}`];
  if (!t) throw new Error(`layers.safetensors has no tensor '${name}.${key}'`);
  return t.data;
};

function parameterNames(sizes: number[]): string[] {
  return sizes.slice(1).flatMap((_, l) => [`fc${l + 1}.weight`, `fc${l + 1}.bias`]);
}

/** What the CUDA engine runs today (see checkCudaSupports); it must refuse the rest. */
function cudaRuns(c: LayerCase): boolean {
  return c.activation === 'relu' && c.dropout === 0 && c.loss === 'cross_entropy' && !c.class_weights && !c.normalize;
}

function optionsOf(name: string, c: LayerCase, backend: BackendName): MLPOptions {
  return {
    sizes: c.sizes,
    backend,
    activation: c.activation,
    negativeSlope: c.negative_slope,
    dropout: c.dropout,
    loss: c.loss,
    input: 'features',
    ...(c.class_weights ? { classWeights: tensor(name, 'class_weights') } : {}),
    ...(c.normalize ? { inputMean: tensor(name, 'input_mean'), inputStd: tensor(name, 'input_std') } : {}),
  };
}

function modelOf(name: string, c: LayerCase, backend: BackendName): MLP {
  const model = new MLP(optionsOf(name, c, backend));
  model.loadStateDict(Object.fromEntries(parameterNames(c.sizes).map((p) => [p, tensors[`${name}.${p}`]])));
  return model;
}

function targetsOf(name: string, c: LayerCase): Targets {
  return c.loss === 'cross_entropy' ? Int32Array.from(tensor(name, 'y')) : tensor(name, 't');
}

/** The masks PyTorch drew in training pass `pass` (0: the gradient check; 1..steps: the Adam steps). */
function masksOf(name: string, c: LayerCase, pass: number): DropoutSource | null {
  if (c.dropout === 0) return null;
  const all = tensor(name, 'masks');
  const perPass = all.length / (c.steps + 1);
  return { masks: Uint8Array.from(all.subarray(pass * perPass, (pass + 1) * perPass)) };
}

/** The losses of the steps, then every parameter and its Adam moments after them, against the fixture. */
function afterStepsDiffs(name: string, c: LayerCase, model: MLP, losses: number[]): Difference[] {
  const diffs: Difference[] = [compareArrays('losses', losses, tensor(name, 'losses'))];
  for (const p of parameterNames(c.sizes)) {
    diffs.push(compareArrays(`after.${p}`, model.view(p), tensor(name, `after.${p}`)));
    diffs.push(compareArrays(`adam.exp_avg.${p}`, model.view(p, 'm'), tensor(name, `adam.exp_avg.${p}`)));
    diffs.push(compareArrays(`adam.exp_avg_sq.${p}`, model.view(p, 'v'), tensor(name, `adam.exp_avg_sq.${p}`)));
  }
  return diffs;
}

test('the layer fixtures cover every activation and loss at two depths, with class weights, dropout and the input transform', () => {
  const cases = Object.values(meta.cases);
  expect(new Set(cases.map((c) => c.activation))).toEqual(new Set(activations));
  expect(new Set(cases.map((c) => c.loss))).toEqual(new Set(lossNames));
  expect(new Set(cases.map((c) => c.sizes.length))).toEqual(new Set([3, 4]));
  expect(cases.some((c) => c.class_weights) && cases.some((c) => c.dropout > 0) && cases.some((c) => c.normalize)).toBe(true);
  expect(cases.some((c) => c.pixels && c.normalize) && cases.some((c) => c.pixels && !c.normalize)).toBe(true);
});

describe.each(available.map((b) => [b]))('backend %s', (backend) => {
  describe.each(caseNames.map((n) => [n]))('against PyTorch, layer case %s', (name) => {
    const c = meta.cases[name];
    if (backend === 'cuda' && !cudaRuns(c)) {
      test('the cuda backend refuses it with a clear error', () => {
        expect(() => new MLP(optionsOf(name, c, backend)).engine(c.batch)).toThrow(/The cuda backend does not support/);
      });
      return;
    }

    test('logits (evaluation mode), loss and every gradient', () => {
      const model = modelOf(name, c, backend);
      const engine = model.engine(c.batch);
      const x = tensor(name, 'x');
      const logits = new Float32Array(c.batch * c.sizes[c.sizes.length - 1]);
      engine.forward(x, c.batch, logits);
      const loss = engine.computeGradients(x, targetsOf(name, c), c.batch, masksOf(name, c, 0));
      engine.download();
      const diffs: Difference[] = [compareArrays('logits', logits, tensor(name, 'logits')), compareArrays('loss', [loss], tensor(name, 'loss'))];
      for (const p of parameterNames(c.sizes)) diffs.push(compareArrays(`grad.${p}`, model.view(p, 'grads'), tensor(name, `grad.${p}`)));
      expectAllClose(`${backend} vs PyTorch, ${name}:`, diffs);
    });

    test(`losses, parameters and moments after Adam steps`, () => {
      const model = modelOf(name, c, backend);
      const optimizer = new Adam(model, { lr: c.lr, betas: c.betas, eps: c.eps });
      const engine = model.engine(c.batch);
      const losses: number[] = [];
      for (let s = 0; s < c.steps; s++) {
        losses.push(engine.computeGradients(tensor(name, 'x'), targetsOf(name, c), c.batch, masksOf(name, c, s + 1)));
        optimizer.update();
      }
      model.syncToHost();
      const diffs = afterStepsDiffs(name, c, model, losses);
      expectAllClose(`${backend} vs PyTorch, ${name}, after ${c.steps} Adam steps:`, diffs);
    });

    if (c.pixels && c.dropout === 0) {
      test('the dataset path: trainBatch on the uint8 pixels gives the same steps', () => {
        const model = modelOf(name, c, backend);
        const optimizer = new Adam(model, { lr: c.lr, betas: c.betas, eps: c.eps });
        const engine = model.engine(c.batch);
        const data = engine.attachDataset(Uint8Array.from(tensor(name, 'pixels')), targetsOf(name, c), c.batch, c.sizes[0]);
        const order = Int32Array.from({ length: c.batch }, (_, i) => i);
        const losses: number[] = [];
        if (engine instanceof CpuEngine) engine.takePhaseSeconds();
        for (let s = 0; s < c.steps; s++) losses.push(engine.trainBatch(data, order, 0, c.batch, optimizer.hyper, ++optimizer.step, true, 0));
        // The cpu engine took its sparse first layer (30 % of the pixels are not 0), the transform folded into it.
        if (engine instanceof CpuEngine) expect(engine.takePhaseSeconds().sparseSteps).toBe(c.steps);
        model.syncToHost();
        const diffs = afterStepsDiffs(name, c, model, losses);
        expectAllClose(`${backend} vs PyTorch, ${name}, ${c.steps} trainBatch steps on uint8 pixels:`, diffs);
      });
    }
  });

  test('dropout with p = 0 gives the same bits as no dropout option, in training and evaluation', () => {
    if (backend === 'cuda') return; // refuses dropout; p = 0 is no dropout there too
    const name = 'gelu_mse_d2';
    const c = meta.cases[name];
    const a = modelOf(name, { ...c, dropout: 0 }, backend);
    const plain = new MLP({ ...optionsOf(name, c, backend), dropout: undefined });
    plain.loadStateDict(a.stateDict());
    const la = a.engine(c.batch).computeGradients(tensor(name, 'x'), targetsOf(name, c), c.batch, { seed: 7, step: 1 });
    const lb = plain.engine(c.batch).computeGradients(tensor(name, 'x'), targetsOf(name, c), c.batch, null);
    a.syncToHost();
    plain.syncToHost();
    expect(la).toBe(lb);
    expect(a.buffers.grads).toEqual(plain.buffers.grads);
  });

  test('dropout is off in evaluation and drawn from the seeded hash in training: the same seed and step give the same bits', () => {
    if (backend === 'cuda') return;
    const name = 'dropout0.5_gelu_mse_d2';
    const c = meta.cases[name];
    const x = tensor(name, 'x');
    const K = c.sizes[c.sizes.length - 1];
    const run = (seed: number): { loss: number; grads: Float32Array; logits: Float32Array } => {
      const model = modelOf(name, c, backend);
      const engine = model.engine(c.batch);
      const logits = new Float32Array(c.batch * K);
      engine.forward(x, c.batch, logits);
      const loss = engine.computeGradients(x, targetsOf(name, c), c.batch, { seed, step: 3 });
      model.syncToHost();
      return { loss, grads: model.buffers.grads.slice(), logits };
    };
    const a = run(5), b = run(5), other = run(6);
    expect(a.loss).toBe(b.loss);
    expect(a.grads).toEqual(b.grads);
    expect(other.grads).not.toEqual(a.grads);
    expectAllClose(`${backend}: evaluation logits with dropout 0.5 equal PyTorch's eval()`, [compareArrays('logits', a.logits, tensor(name, 'logits'))]);
  });
});

describe('the dropout mask hash', () => {
  test('lowbias32 matches its published values and keeps a fraction 1 − p', () => {
    // Chris Wellons' lowbias32 of 0 and 1 (uint32), computed independently with Python's integers.
    expect(lowbias32(0)).toBe(0);
    expect(lowbias32(1)).toBe(pythonLowbias32(1));
    expect(lowbias32(0xdeadbeef)).toBe(pythonLowbias32(0xdeadbeef));
    const mask = new Uint8Array(100000);
    fillDropoutMask(mask, 1, 1, 0, 1000, 100, 0.3);
    const kept = mask.reduce((a, b) => a + b, 0) / mask.length;
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.01);
    expect(dropoutKeeps(1, 1, 0, 0, 0)).toBe(true); // p = 0 keeps everything
  });
});

/** lowbias32 written with BigInt, independently of the Math.imul version under test. */
function pythonLowbias32(x: number): number {
  const M = 0xffffffffn;
  let v = BigInt(x) & M;
  v ^= v >> 16n;
  v = (v * 0x7feb352dn) & M;
  v ^= v >> 15n;
  v = (v * 0x846ca68bn) & M;
  v ^= v >> 16n;
  return Number(v);
}

describe('central differences per op (float64)', () => {
  const points = [-3.1, -1.2, -0.4, -0.01, 0.02, 0.5, 1.3, 2.9];
  test.each(activations.map((a) => [a]))('activation %s: the derivative matches (f(x+h) − f(x−h)) / 2h', (name) => {
    const f = activationForward[name], df = activationDerivative[name];
    const slope = 0.07, h = 1e-6;
    for (const x of points) {
      const numeric = (f(x + h, slope) - f(x - h, slope)) / (2 * h);
      expect(Math.abs(df(x, f(x, slope), slope) - numeric)).toBeLessThan(1e-7);
    }
  });

  test.each(lossNames.map((l) => [l]))('loss %s: the logits gradient matches central differences', (name) => {
    const B = 3, K = 4;
    const logits = Float32Array.from({ length: B * K }, (_, i) => Math.sin(i * 1.7) * 2);
    const targets: Targets = name === 'cross_entropy' ? Int32Array.of(2, 0, 3) : Float32Array.from({ length: B * K }, (_, i) => (name === 'bce_with_logits' ? (i % 3) / 2 : Math.cos(i)));
    const weights = name === 'cross_entropy' ? Float32Array.of(0.5, 1, 2, 0.25) : null;
    const grad = new Float32Array(B * K);
    lossFunctions[name](grad, logits, targets, B, K, weights);
    const h = 1 / 256; // exact in float32, so x ± h is what the loss sees
    for (let k = 0; k < B * K; k++) {
      const at = (delta: number): number => {
        const z = logits.slice();
        z[k] += delta;
        return lossFunctions[name](null, z, targets, B, K, weights);
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(grad[k] - numeric)).toBeLessThan(name === 'cross_entropy' || name === 'bce_with_logits' ? 1e-5 : 1e-6);
    }
  });
});

test('every available host backend trains alike with hash-drawn dropout, GELU, the input transform and float targets: 2 epochs of fit', async () => {
  const hosts = available.filter((b) => b !== 'cuda');
  const N = 96, D = 6, K = 3;
  const features = Float32Array.from({ length: N * D }, (_, i) => Math.sin(i * 0.61) * 2 + (i % 5 === 0 ? 0 : 0.3));
  const targets = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.3));
  const data = createFeatureDataset(features, targets, D, 'toy regression');
  const results = [];
  for (const backend of hosts) {
    const model = new MLP({ sizes: [D, 16, 8, K], backend, seed: 4, activation: 'gelu', dropout: 0.3, loss: 'mse',
      inputMean: [0.1, 0, -0.1, 0.2, 0, 0], inputStd: [1.5, 1, 2, 1, 0.5, 1], input: 'features' });
    const losses: number[] = [];
    await fit(model, new Adam(model, { lr: 0.01 }), data, { epochs: 2, batchSize: 16, seed: 9, onStep: (s) => { losses.push(s.loss); } });
    model.syncToHost();
    results.push({ backend, losses, params: model.buffers.params.slice() });
  }
  for (const r of results.slice(1)) {
    expectAllClose(`${r.backend} vs ${results[0].backend}, 12 steps with dropout 0.3 drawn from the seed:`, [
      compareArrays('losses', r.losses, results[0].losses),
      compareArrays('params', r.params, results[0].params),
    ]);
  }
  expect(results.length).toBeGreaterThanOrEqual(2);
});
