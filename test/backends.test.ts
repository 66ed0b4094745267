// One suite over every backend: PyTorch's numbers, a float64 reference at awkward batch sizes,
// a finite-difference check of that reference, and the backends agreeing with each other.
import { Adam } from '../lib/adam';
import { backends } from '../lib/backends';
import type { BackendName } from '../lib/backends/types';
import { createDataset } from '../lib/data/dataset';
import { MLP } from '../lib/model';
import { fit } from '../lib/train';
import { compareArrays, expectAllClose, type Difference } from './support/compare';
import { fixtureFilesOf, fixtureNames, fixturePart, loadFixture, parameterNames } from './support/fixtures';
import { describeWithFixtures } from './support/fixtures-dir';
import { referenceForwardBackward, testNumbers, type ReferenceParams } from './support/reference-mlp';

const reports = backends();
const available = reports.filter((r) => r.available).map((r) => r.name);
for (const r of reports.filter((r) => !r.available)) {
  // CUDA is optional: say why its half of the suite does not run here. CPU must always be there.
  console.warn(`backend '${r.name}' skipped: ${r.detail}`);
}

test('the native CPU and pure-TS backends are available (the CPU addon is built by npm install)', () => {
  expect(available).toEqual(expect.arrayContaining(['cpu', 'js']));
});

function modelFromFixture(backend: BackendName, name: string): { model: MLP; fixture: ReturnType<typeof loadFixture> } {
  const fixture = loadFixture(name);
  const model = new MLP({ sizes: [784, fixture.hidden, 10], backend });
  const t = fixture.tensors;
  model.loadStateDict(Object.fromEntries(parameterNames.map((n) => [n, t[n]])));
  return { model, fixture };
}

function referenceParamsOf(model: MLP): ReferenceParams {
  const sd = model.stateDict();
  const L = model.sizes.length - 1;
  return {
    sizes: [...model.sizes],
    w: Array.from({ length: L }, (_, l) => Float64Array.from(sd[`fc${l + 1}.weight`].data)),
    b: Array.from({ length: L }, (_, l) => Float64Array.from(sd[`fc${l + 1}.bias`].data)),
  };
}

describe.each(available.map((b) => [b]))('backend %s', (backend) => {
  for (const name of fixtureNames) {
    describeWithFixtures(`against PyTorch fixture ${name}`, fixtureFilesOf(name), () => {
      test('logits, loss and every gradient', () => {
        const { model, fixture } = modelFromFixture(backend, name);
        const t = fixture.tensors;
        const engine = model.engine(fixture.batch);
        const logits = new Float32Array(fixture.batch * 10);
        engine.forward(t.x.data, fixture.batch, logits);
        const loss = engine.computeGradients(t.x.data, fixture.labels, fixture.batch);
        engine.download();
        const diffs: Difference[] = [compareArrays('logits', logits, t.logits.data), compareArrays('loss', [loss], t.loss.data)];
        for (const p of parameterNames) diffs.push(compareArrays(`grad.${p}`, fixturePart(fixture, model.view(p, 'grads'), p), t[`grad.${p}`].data));
        expectAllClose(`${backend} vs PyTorch, ${name}, step 0:`, diffs);
      });

      test('losses, parameters and moments after Adam steps', () => {
        const { model, fixture } = modelFromFixture(backend, name);
        const t = fixture.tensors;
        const optimizer = new Adam(model, { lr: fixture.lr });
        const engine = model.engine(fixture.batch);
        const losses: number[] = [];
        for (let s = 0; s < fixture.steps; s++) {
          losses.push(engine.computeGradients(t.x.data, fixture.labels, fixture.batch));
          optimizer.update();
        }
        model.syncToHost();
        const diffs: Difference[] = [compareArrays('losses', losses, t.losses.data)];
        for (const p of parameterNames) {
          diffs.push(compareArrays(`after.${p}`, fixturePart(fixture, model.view(p), p), t[`after.${p}`].data));
          diffs.push(compareArrays(`adam.exp_avg.${p}`, fixturePart(fixture, model.view(p, 'm'), p), t[`adam.exp_avg.${p}`].data));
          diffs.push(compareArrays(`adam.exp_avg_sq.${p}`, fixturePart(fixture, model.view(p, 'v'), p), t[`adam.exp_avg_sq.${p}`].data));
        }
        expectAllClose(`${backend} vs PyTorch, ${name}, after ${fixture.steps} Adam steps:`, diffs);
        expect(optimizer.stateDict().state[0].step).toBe(fixture.steps);
      });
    });
  }

  test.each([1, 7, 127, 128, 129])('batch of %i against the float64 reference', (B) => {
    const sizes = [60, 33, 10];
    const model = new MLP({ sizes, seed: B, backend });
    const x = Float32Array.from(testNumbers(B * sizes[0], B + 11), (v) => Math.max(0, v)); // non-negative, some zeros, like pixels
    const labels = Int32Array.from(testNumbers(B, B + 3), (v) => Math.floor((v + 1) * 5));
    const engine = model.engine(B);
    const logits = new Float32Array(B * 10);
    engine.forward(x, B, logits);
    const loss = engine.computeGradients(x, labels, B);
    engine.download();
    const ref = referenceForwardBackward(referenceParamsOf(model), x, labels, B);
    const diffs = [compareArrays('logits', logits, ref.logits, 1e-4, 1e-5), compareArrays('loss', [loss], [ref.loss], 1e-5)];
    for (let l = 0; l < 2; l++) {
      diffs.push(compareArrays(`grad.fc${l + 1}.weight`, model.view(`fc${l + 1}.weight`, 'grads'), ref.dw[l], 1e-3, 1e-6));
      diffs.push(compareArrays(`grad.fc${l + 1}.bias`, model.view(`fc${l + 1}.bias`, 'grads'), ref.db[l], 1e-3, 1e-6));
    }
    expectAllClose(`${backend}, batch ${B}, 60-33-10 vs float64:`, diffs);
  });

  test('the reference network at batch 129 against the float64 reference', () => {
    const B = 129;
    const model = new MLP({ sizes: [784, 500, 10], seed: 5, backend });
    const x = Float32Array.from(testNumbers(B * 784, 77), (v) => (v > 0.6 ? v : 0)); // ~80 % zeros, like MNIST
    const labels = Int32Array.from({ length: B }, (_, i) => i % 10);
    const loss = model.engine(B).computeGradients(x, labels, B);
    model.syncToHost();
    const ref = referenceForwardBackward(referenceParamsOf(model), x, labels, B);
    expectAllClose(`${backend}, batch 129, 784-500-10 vs float64:`, [
      compareArrays('loss', [loss], [ref.loss], 1e-5),
      compareArrays('grad.fc1.weight', model.view('fc1.weight', 'grads'), ref.dw[0], 1e-3, 1e-6),
      compareArrays('grad.fc2.weight', model.view('fc2.weight', 'grads'), ref.dw[1], 1e-3, 1e-6),
    ]);
  });
});

test('the float64 reference agrees with finite differences of its own loss', () => {
  const sizes = [5, 4, 3];
  const B = 3;
  const n = (l: number) => sizes[l + 1] * sizes[l];
  const p: ReferenceParams = {
    sizes,
    w: [0, 1].map((l) => testNumbers(n(l), 10 + l)),
    b: [0, 1].map((l) => testNumbers(sizes[l + 1], 20 + l)),
  };
  const x = testNumbers(B * sizes[0], 30);
  const labels = [0, 2, 1];
  const analytic = referenceForwardBackward(p, x, labels, B);
  const h = 1e-6;
  let worst = 0;
  for (const [kind, grads] of [['w', analytic.dw], ['b', analytic.db]] as const) {
    for (let l = 0; l < 2; l++) {
      const values = p[kind][l];
      for (let i = 0; i < values.length; i++) {
        const keep = values[i];
        values[i] = keep + h;
        const up = referenceForwardBackward(p, x, labels, B).loss;
        values[i] = keep - h;
        const down = referenceForwardBackward(p, x, labels, B).loss;
        values[i] = keep;
        worst = Math.max(worst, Math.abs((up - down) / (2 * h) - grads[l][i]));
      }
    }
  }
  console.log(`finite differences vs analytic gradient (5-4-3, float64): max |diff| ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-7);
});

test('every available backend trains the same: 20 steps on a shared dataset agree', async () => {
  const n = 300;
  const pixels = Uint8Array.from(testNumbers(n * 64, 99), (v) => (v > 0.3 ? Math.floor(v * 255) : 0));
  const data = createDataset(pixels, Array.from({ length: n }, (_, i) => (i * 7) % 10), [8, 8]);
  const results = new Map<string, { params: Float32Array; losses: number[] }>();
  for (const backend of available) {
    const model = new MLP({ sizes: [64, 40, 10], seed: 3, backend });
    const losses: number[] = [];
    await fit(model, new Adam(model), data, { epochs: 1, batchSize: 15, seed: 4, lossEvery: 1, onStep: (s) => { losses.push(s.loss); } });
    model.syncToHost();
    results.set(backend, { params: model.buffers.params.slice(), losses });
  }
  const cpu = results.get('cpu')!;
  for (const [backend, r] of results) {
    if (backend === 'cpu') continue;
    expectAllClose(`${backend} vs cpu after 20 training steps:`, [
      compareArrays('losses', r.losses, cpu.losses, 1e-4),
      compareArrays('params', r.params, cpu.params, 1e-3, 1e-5),
    ]);
  }
  expect(cpu.losses).toHaveLength(20);
  expect(cpu.losses[19]).toBeLessThan(cpu.losses[0]);
});
