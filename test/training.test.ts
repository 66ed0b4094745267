// Whole training runs: the reference network learns MNIST, one seed gives one result bit for bit, the native
// engine's step (sparse first layer) agrees with the step composed of kernels, and a NaN stops training with a clear error.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import { Adam } from '../lib/adam';
import { CpuEngine } from '../lib/backends/cpu-engine';
import { HostEngine } from '../lib/backends/host-engine';
import { nativeCpuKernels } from '../lib/backends/native-cpu';
import { requireNative } from '../lib/binding';
import { createDataset, type Dataset } from '../lib/data/dataset';
import { loadMnist } from '../lib/data/mnist';
import { MLP } from '../lib/model';
import { defaultNetworkSpec } from '../lib/network';
import { evaluate, fit } from '../lib/train';
import { compareArrays, expectAllClose } from './support/compare';

const mnist = loadMnist();
function subset(data: Dataset, n: number): Dataset {
  return createDataset(data.images.subarray(0, n * data.d), data.labels.subarray(0, n), [data.rows, data.cols], `${data.source}, first ${n}`);
}

test('the reference network learns: 12,000 images, one epoch, over 88 % on 2,000 test images', async () => {
  const model = new MLP({ backend: 'cpu', seed: 1 });
  const losses: number[] = [];
  await fit(model, new Adam(model), subset(mnist.train, 12000), { epochs: 1, seed: 1, onStep: (s) => { losses.push(s.loss); } });
  const result = evaluate(model, subset(mnist.test, 2000));
  console.log(`after 120 steps: loss ${losses[0].toFixed(3)} -> ${losses[119].toFixed(3)}, test accuracy ${(100 * result.accuracy).toFixed(2)} %`);
  expect(losses[119]).toBeLessThan(losses[0] / 4);
  expect(result.accuracy).toBeGreaterThan(0.88);
});

test.each(['cpu', 'js'] as const)('backend %s: the same seed gives the same losses and weights, bit for bit', async (backend) => {
  const run = async () => {
    const model = new MLP({ backend, seed: 7, sizes: [784, 64, 10] });
    const losses: number[] = [];
    await fit(model, new Adam(model), subset(mnist.train, 1000), { epochs: 2, batchSize: 64, seed: 3, onStep: (s) => { losses.push(s.loss); } });
    return { losses, params: model.buffers.params.slice() };
  };
  const [a, b] = [await run(), await run()];
  expect(a.losses).toEqual(b.losses);
  expect(a.params).toEqual(b.params);
  const other = new MLP({ backend, seed: 8, sizes: [784, 64, 10] });
  expect(other.buffers.params).not.toEqual(a.params); // the seed matters
});

// One step each from the same start: over several steps Adam's normalisation turns rounding-level
// differences in near-zero gradients into visible ones, so agreement over many steps is tested on the losses.
test.each([100, 37])('the native engine\'s sparse step equals the step composed of kernels, gradients included (batch %i)', (B) => {
  const sizes = [784, 500, 10];
  const native = requireNative();
  const buffersOf = () => new MLP({ sizes, seed: 4, backend: 'js' }).buffers;
  const fusedBuffers = buffersOf();
  const plainBuffers = buffersOf();
  const fused = new CpuEngine(native, defaultNetworkSpec(sizes), fusedBuffers, 100, 2);
  const plain = new HostEngine('cpu', nativeCpuKernels(native), defaultNetworkSpec(sizes), plainBuffers, 100);
  const data = subset(mnist.train, 1000);
  const order = Int32Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
  const hyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const a = fused.trainBatch(fused.attachDataset(data.images, data.labels, data.n, data.d), order, 200, B, hyper, 1);
  const b = plain.trainBatch(plain.attachDataset(data.images, data.labels, data.n, data.d), order, 200, B, hyper, 1);
  fused.download();
  expectAllClose(`native engine's sparse step vs kernels, batch ${B}, weight decay 0.01:`, [
    compareArrays('loss', [a], [b], 1e-6),
    // Weight decay can cancel a gradient to near zero, where Adam's g/(|g|+eps) turns rounding into a visible
    // change: allow 1 % of one step's size (lr) on top of the relative tolerance.
    compareArrays('params', fusedBuffers.params, plainBuffers.params, 1e-4, hyper.lr / 100),
    compareArrays('grads', fusedBuffers.grads, plainBuffers.grads, 1e-4, 1e-8),
    compareArrays('m', fusedBuffers.m, plainBuffers.m, 1e-4, 1e-9),
    compareArrays('v', fusedBuffers.v, plainBuffers.v, 1e-4, 1e-12),
  ]);
  fused.dispose();
});

test('the native engine\'s step gives the same result with 1, 2 and 3 threads', () => {
  const results = [1, 2, 3].map((threads) => {
    const model = new MLP({ sizes: [784, 100, 10], seed: 2, backend: 'cpu', threads });
    const engine = model.engine(100);
    const data = subset(mnist.train, 300);
    const handle = engine.attachDataset(data.images, data.labels, data.n, data.d);
    const order = Int32Array.from({ length: 300 }, (_, i) => 299 - i);
    const hyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    for (let s = 0; s < 3; s++) engine.trainBatch(handle, order, s * 100, 100, hyper, s + 1, true);
    model.syncToHost();
    return model.buffers.params.slice();
  });
  expect(results[1]).toEqual(results[0]);
  expect(results[2]).toEqual(results[0]);
});

// The image width is a speed hint: a dataset whose imageShape is no whole pixel count (createDataset takes it as
// given) trains as one without it, bit for bit.
test('a dataset with an odd imageShape trains as the same pixels with none', async () => {
  const run = async (shape: [number, number]) => {
    const model = new MLP({ backend: 'cpu', seed: 4, sizes: [784, 32, 10] });
    const data = createDataset(mnist.train.images.subarray(0, 300 * 784), mnist.train.labels.subarray(0, 300), shape);
    await fit(model, new Adam(model), data, { epochs: 1, batchSize: 100, seed: 5 });
    model.syncToHost();
    return model.buffers.params.slice();
  };
  const plain = await run([1, 784]);
  expect(await run([1568, 0.5])).toEqual(plain);
  expect(await run([28, 28])).toEqual(plain); // 2×3 patches: the same sums
});

// The tiles take sixteen-float vectors where the CPU has AVX-512 and eight-float ones elsewhere; FCNET_SIMD=avx2
// forces the second shape here, so both run on this machine. Each sum is the same terms in the same order.
test('the sparse first layer gives the same bits with the AVX2-shaped tiles as with the AVX-512-shaped ones', () => {
  const script = path.join(__dirname, 'support', 'sparse-step-bits.js');
  const run = (env: NodeJS.ProcessEnv) => {
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
    if (child.status !== 0) throw new Error(`sparse-step-bits.js failed: ${child.stderr}`);
    return JSON.parse(child.stdout) as { vectorFloats: number; losses: number[]; sha256: string };
  };
  const widest = run({ FCNET_SIMD: '' });
  const avx2 = run({ FCNET_SIMD: 'avx2' });
  expect(avx2.vectorFloats).toBe(8);
  if (widest.vectorFloats !== 16) console.log('this CPU has no AVX-512: both runs used the eight-float tiles');
  expect(widest.losses.every(Number.isFinite)).toBe(true);
  expect(new Set(widest.losses).size).toBe(widest.losses.length); // every step changed the parameters
  expect({ losses: avx2.losses, sha256: avx2.sha256 }).toEqual({ losses: widest.losses, sha256: widest.sha256 });
});

test('a non-finite loss stops training with the epoch and step, before that update', async () => {
  const model = new MLP({ backend: 'cpu', sizes: [784, 32, 10] });
  const data = subset(mnist.train, 500);
  const optimizer = new Adam(model);
  await fit(model, optimizer, data, { epochs: 1, batchSize: 100 });
  model.view('fc2.bias')[3] = Infinity; // as if a bad update had happened
  const before = model.buffers.params.slice();
  await expect(fit(model, optimizer, data, { epochs: 1, batchSize: 100 })).rejects.toThrow(
    'fit: the loss is NaN at epoch 1, step 1; training stopped before that update (lower the learning rate, or check the data)',
  );
  expect(model.buffers.params).toEqual(before);
  const result = await fit(model, optimizer, data, { epochs: 1, batchSize: 100, onNonFinite: 'skip' });
  expect(result.skippedBatches).toBe(5);
});

// A NaN in the first layer's weights must reach the loss: the ReLU lets it through (as PyTorch's does) instead of
// turning it into 0, and the fused step's tiles multiply 0 by it for rows whose pixel is 0, which gives NaN as well.
test.each(['cpu', 'js'] as const)('backend %s: a NaN in fc1.weight stops training instead of vanishing in the ReLU', async (backend) => {
  const model = new MLP({ backend, sizes: [784, 32, 10] });
  const data = subset(mnist.train, 200);
  const centre = 14 * 28 + 14; // a pixel that most digits cover
  model.view('fc1.weight')[5 * 784 + centre] = NaN;
  await expect(fit(model, new Adam(model), data, { epochs: 1, batchSize: 100 })).rejects.toThrow('fit: the loss is NaN at epoch 1, step 1');
});

test('a second fit on a model that is training is refused, and the first one finishes as if undisturbed', async () => {
  const model = new MLP({ backend: 'cpu', sizes: [784, 32, 10] });
  const optimizer = new Adam(model);
  const data = subset(mnist.train, 2000);
  let refusals = 0;
  const first = fit(model, optimizer, data, {
    epochs: 2,
    // Mid-run too, between steps, where the second call could interleave with the first.
    onStep: async ({ step }) => {
      if (step % 7 === 3) await expect(fit(model, optimizer, data, { epochs: 1 })).rejects.toThrow('fit: this model is busy training');
      if (step % 7 === 3) refusals++;
    },
  });
  await expect(fit(model, optimizer, data, { epochs: 1 })).rejects.toThrow(
    'fit: this model is busy training; wait for the running fit() to finish before starting another',
  );
  const done = await first;
  expect(done.steps).toBe(40);
  expect(optimizer.step).toBe(40);
  expect(refusals).toBe(6);
  // The weights are bit for bit those of the same run that nobody disturbed.
  const undisturbed = new MLP({ backend: 'cpu', sizes: [784, 32, 10] });
  await fit(undisturbed, new Adam(undisturbed), data, { epochs: 2 });
  expect(model.buffers.params).toEqual(undisturbed.buffers.params);
  expect(model.buffers.m).toEqual(undisturbed.buffers.m);
  expect(model.buffers.v).toEqual(undisturbed.buffers.v);
});

// A timing test: not under scripts/sanitize.sh, whose instrumented addon is slower by design. On the shared 2-core
// CI machine the OS can take the CPU from the whole process for tens of milliseconds (seen once: 25 ms late, the
// median 2.6 ms): a second measurement decides then. A fit that does not yield is late in both, by the whole epoch.
(process.env.FCNET_SANITIZED ? test.skip : test)('the event loop stays responsive while fit runs: timers fire within 20 ms of their time', async () => {
  const measure = async (): Promise<number> => {
    // One training thread: the other core stays free for jest's other worker, so what is measured is fit's yielding.
    const model = new MLP({ backend: 'cpu', threads: 1 });
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    const lateness: number[] = [];
    let timersDone = 0;
    const training = fit(model, new Adam(model), subset(mnist.train, 20000), { epochs: 1 });
    histogram.enable();
    await new Promise<void>((resolve) => {
      const setOne = () => {
        const due = performance.now() + 25;
        setTimeout(() => {
          lateness.push(performance.now() - due);
          if (++timersDone < 20) setOne();
          else resolve();
        }, 25);
      };
      setOne();
    });
    histogram.disable();
    await training;
    const p99 = histogram.percentile(99) / 1e6;
    console.log(`during fit: timer lateness max ${Math.max(...lateness).toFixed(1)} ms, median ${lateness.sort((a, b) => a - b)[10].toFixed(1)} ms; event-loop delay p99 ${p99.toFixed(1)} ms, max ${(histogram.max / 1e6).toFixed(1)} ms`);
    return Math.max(...lateness);
  };
  let worst = await measure();
  if (worst >= 20) worst = await measure();
  expect(worst).toBeLessThan(20);
});

test("Adam's update runs on the model's engine as it is, whatever batch size it was made for", () => {
  // A larger engine would replace it (on cuda: free the device memory the caller still holds).
  const model = new MLP({ sizes: [4, 3, 2], seed: 1, backend: 'js' });
  const engine = model.engine(8);
  new Adam(model, { lr: 0.1 }).update();
  expect(model.engine()).toBe(engine);
  expect(model.engine(8)).toBe(engine);
  expect(model.engine(9)).not.toBe(engine);
});
