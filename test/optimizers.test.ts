// SGD (momentum with dampening, Nesterov, weight decay) and AdamW against PyTorch's torch.optim on every backend
// that loads: cpu and js, and cuda where its addon loads (on a GPU, or without one the CPU emulation build:
// FCNET_CUDA_ADDON=build-cuda/emulation/Release/fcnet_cuda.node). The cuda engine computes the gradients and the
// optimizers step on the host buffers, as fit's host stepper does. The fixtures come from
// test/fixtures-gen/make-training-fixtures.py (4 steps on one batch).
import { MLP } from '../lib/model';
import { AdamW, SGD, optimizerKind, stepHyper } from '../lib/optimizers';
import { backends } from '../lib/backends';
import { CpuEngine } from '../lib/backends/cpu-engine';
import { compareArrays, expectAllClose, type Difference } from './support/compare';
import { fixturePart, loadFixture, parameterNames } from './support/fixtures';

const available = backends().filter((b) => b.available).map((b) => b.name);

const cases = [
  { name: 'sgd_H32_B8_seed3', state: ['momentum_buffer'], make: (model: MLP, lr: number) => new SGD(model, { lr, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3 }) },
  { name: 'sgd_nesterov_H32_B8_seed4', state: ['momentum_buffer'], make: (model: MLP, lr: number) => new SGD(model, { lr, momentum: 0.8, nesterov: true, weightDecay: 1e-2 }) },
  { name: 'adamw_H32_B8_seed5', state: ['exp_avg', 'exp_avg_sq'], make: (model: MLP, lr: number) => new AdamW(model, { lr, betas: [0.9, 0.99], weightDecay: 0.05 }) },
];

/** The losses, then every parameter and optimizer buffer of the model (synced to the host), against the fixture. */
function expectFixture(title: string, model: MLP, name: string, state: string[], losses: number[]): void {
  const fixture = loadFixture(name);
  const t = fixture.tensors;
  model.syncToHost();
  const diffs: Difference[] = [compareArrays('losses', losses, t.losses.data)];
  const buffers = { momentum_buffer: 'm', exp_avg: 'm', exp_avg_sq: 'v' } as const;
  const prefix = name.startsWith('adamw') ? 'adamw' : name.startsWith('sgd_nesterov') ? 'sgd_nesterov' : 'sgd';
  for (const p of parameterNames) {
    diffs.push(compareArrays(`after.${p}`, fixturePart(fixture, model.view(p), p), t[`after.${p}`].data));
    for (const key of state) diffs.push(compareArrays(`${prefix}.${key}.${p}`, fixturePart(fixture, model.view(p, buffers[key as keyof typeof buffers]), p), t[`${prefix}.${key}.${p}`].data));
  }
  expectAllClose(`${title}, ${name}, after ${fixture.steps} steps:`, diffs);
}

describe.each(available)('on %s', (backend) => {
  test.each(cases)('$name: losses, parameters and optimizer state after the steps equal torch.optim\'s', ({ name, state, make }) => {
    const fixture = loadFixture(name);
    const t = fixture.tensors;
    const model = new MLP({ sizes: [784, fixture.hidden, 10], backend });
    model.loadStateDict(Object.fromEntries(parameterNames.map((n) => [n, t[n]])));
    const optimizer = make(model, fixture.lr);
    const engine = model.engine(fixture.batch);
    const losses: number[] = [];
    for (let s = 0; s < fixture.steps; s++) {
      losses.push(engine.computeGradients(t.x.data, fixture.labels, fixture.batch));
      optimizer.update();
    }
    expectFixture(`${backend} vs PyTorch`, model, name, state, losses);
    expect(optimizer.step).toBe(fixture.steps);
  });
});

// The same steps inside the engine's training step (trainBatch: the cpu engine's native flat loops, and its sparse
// first layer holding fc1.weight and its state transposed between steps), on every backend that runs them there.
const fusedOn = available.filter((b) => {
  const probe = new MLP({ sizes: [2, 2, 2], backend: b });
  const fused = probe.engine().fusedOptimizers.includes('sgd');
  probe.dispose();
  return fused;
});

test('the cpu engine runs SGD and AdamW inside its step', () => {
  expect(available.includes('cpu')).toBe(fusedOn.includes('cpu'));
});

describe.each(fusedOn)('fused on %s', (backend) => {
  test.each(cases)('$name: trainBatch gives torch.optim\'s losses, parameters and optimizer state', ({ name, state, make }) => {
    const fixture = loadFixture(name);
    const t = fixture.tensors;
    const model = new MLP({ sizes: [784, fixture.hidden, 10], backend, input: 'features' });
    model.loadStateDict(Object.fromEntries(parameterNames.map((n) => [n, t[n]])));
    const optimizer = make(model, fixture.lr);
    const engine = model.engine(fixture.batch);
    expect(engine.fusedOptimizers).toContain(optimizerKind(optimizer));
    const data = engine.attachDataset(t.x.data, Int32Array.from(fixture.labels), fixture.batch, 784);
    const rows = Int32Array.from({ length: fixture.batch }, (_, i) => i);
    const losses: number[] = [];
    for (let s = 1; s <= fixture.steps; s++) losses.push(engine.trainBatch(data, rows, 0, fixture.batch, stepHyper(optimizer), s, true));
    if (engine instanceof CpuEngine) expect(engine.takePhaseSeconds().sparseSteps).toBe(fixture.steps); // the transposed path
    expectFixture(`${backend} fused vs PyTorch`, model, name, state, losses);
  });
});

test('option messages', () => {
  const model = new MLP({ sizes: [4, 3, 2], backend: 'js' });
  expect(() => new SGD(model, { momentum: 1.5 })).toThrow(new RangeError('Expected number from 0 to 1 for momentum but received 1.5 of type number'));
  expect(() => new SGD(model, { nesterov: true })).toThrow(new TypeError('Nesterov momentum requires a momentum and zero dampening (as torch.optim.SGD)'));
  expect(() => new AdamW(model, { lr: 0 })).toThrow(new RangeError('Expected number above 0 up to 1000 for lr but received 0 of type number'));
  expect(() => new SGD(model, { lrr: 1 } as never)).toThrow(TypeError);
});
