// The cuda backend against PyTorch's numbers, against a float64 reference in plain TypeScript at awkward
// batch sizes, and trainBatch (gather, forward, backward, Adam on the device) against the same step done in
// plain TypeScript. Where no device answers, the suite says why and skips; the probe's messages are tested
// everywhere.
//
// Fixtures: see support/fixtures-dir.ts (FCNET_FIXTURES on the GPU machine).

import * as fs from 'node:fs';
import * as path from 'node:path';

import { CudaEngine, packageRoot, probeCuda } from '../lib/backends/cuda';
import type { AdamHyper, ParameterBuffers } from '../lib/backends/types';
import { fixtureNames, requireFixtureFile, storedPart } from './support/fixtures-dir';

const SLOW = 600_000; // the CPU emulation of the kernels (FCNET_CUDA_ADDON) runs the same tests, slowly

// ---------- safetensors, read here so the test depends on no other reader ----------

interface Fixture {
  tensors: Map<string, Float32Array | Int32Array>;
  meta: {
    hidden: number; batch: number; steps: number; lr: number; betas: string; eps: number; weight_decay: number;
    sizes: number[]; rows?: Record<string, number[]>; // rows: what the fixture keeps of large weights (storedPart)
  };
}

function readSafetensors(file: string): Map<string, Float32Array | Int32Array> {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as
    Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors = new Map<string, Float32Array | Int32Array>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [start, end] = info.data_offsets;
    const raw = new Uint8Array(end - start);
    raw.set(bytes.subarray(8 + headerLength + start, 8 + headerLength + end));
    if (info.dtype === 'F32') tensors.set(name, new Float32Array(raw.buffer));
    else if (info.dtype === 'I64') tensors.set(name, Int32Array.from(new BigInt64Array(raw.buffer), (v) => Number(v)));
    else throw new Error(`${file}: unexpected dtype ${info.dtype} for ${name}`);
  }
  return tensors;
}

function loadFixture(name: string): Fixture {
  return {
    tensors: readSafetensors(requireFixtureFile(`${name}.safetensors`)),
    meta: JSON.parse(fs.readFileSync(requireFixtureFile(`${name}.json`), 'utf8')) as Fixture['meta'],
  };
}

function f32(fixture: Fixture, name: string): Float32Array {
  const t = fixture.tensors.get(name);
  if (!(t instanceof Float32Array)) throw new Error(`fixture has no float tensor ${name}`);
  return t;
}

// ---------- comparisons that print the largest difference per tensor ----------

interface Difference {
  name: string;
  worst: number;
  at: number;
  actual: number;
  expected: number;
  failures: number;
  /** Values outside the strict tolerance that a justified allowance let through. */
  allowed: number;
}

const report: string[] = [];

type Tolerance = (expected: number, i: number) => number;

/**
 * Every |a - b| within tolerance(b, i); returns (and records) the largest difference. With `strict`, also
 * counts the values that only the (looser) tolerance let through.
 */
function compare(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance,
  strict?: Tolerance): Difference {
  expect(actual.length).toBe(expected.length);
  const d: Difference = { name, worst: 0, at: -1, actual: NaN, expected: NaN, failures: 0, allowed: 0 };
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tolerance(expected[i], i))) d.failures++;
    else if (strict !== undefined && !(diff <= strict(expected[i], i))) d.allowed++;
    if (diff > d.worst || Number.isNaN(diff)) Object.assign(d, { worst: diff, at: i, actual: actual[i], expected: expected[i] });
  }
  const where = d.at < 0 ? 'identical' : `at [${d.at}] (${d.actual} vs ${d.expected})`;
  const allowed = strict !== undefined ? `, ${d.allowed} within the Adam allowance only` : '';
  report.push(`${name.padEnd(44)} max |diff| ${d.worst.toExponential(2)} ${where}; ` +
    `${d.failures} of ${expected.length} outside tolerance${allowed}`);
  return d;
}

/** The fixtures' tolerance: |a - b| <= max(1e-6, 1e-4·|b|). */
const torchTolerance = (b: number): number => Math.max(1e-6, 1e-4 * Math.abs(b));

/** Against float64: 1e-4 relative, plus 1e-5 of the tensor's largest value (float32 sums lose that much). */
function float64Tolerance(expected: ArrayLike<number>): (b: number) => number {
  let largest = 0;
  for (let i = 0; i < expected.length; i++) largest = Math.max(largest, Math.abs(expected[i]));
  return (b) => 1e-4 * Math.abs(b) + 1e-5 * largest;
}

/**
 * After Adam. Its update (lr·m̂/(√v̂ + eps)) is ill-conditioned where the gradient is about eps (1e-8) or
 * below: there float32 summation order alone can flip its sign or size, and PyTorch's own CPU and CUDA
 * results differ the same way. Such values may differ by up to lr·steps (the most Adam moves a value);
 * all others must meet `tolerance`.
 */
function adamTolerance(tolerance: (b: number) => number, grads: ArrayLike<number>, lr: number, steps: number): Tolerance {
  return (b: number, i: number): number => (Math.abs(grads[i]) < 1e-6 ? lr * steps * 1.0001 : tolerance(b));
}

/**
 * `run` throws exactly this kind of error with exactly this message. Compared by name: errors made by the addon
 * come from Node's own realm, not Jest's sandbox, so instanceof would fail.
 */
function expectError(run: () => unknown, type: typeof TypeError | typeof RangeError | typeof Error, message: string): void {
  let thrown: unknown = null;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).not.toBeNull();
  expect(`${(thrown as Error).name}: ${(thrown as Error).message}`).toBe(`${type.name}: ${message}`);
}

function expectAllWithin(differences: Difference[]): void {
  for (const d of differences) expect(`${d.name}: ${d.failures} outside tolerance`).toBe(`${d.name}: 0 outside tolerance`);
}

afterAll(() => {
  if (report.length > 0) console.log(`largest differences per tensor:\n${report.join('\n')}`);
});

// ---------- a plain TypeScript model in float64: the reference ----------

function parameterCount(sizes: readonly number[]): number {
  let n = 0;
  for (let l = 0; l + 1 < sizes.length; l++) n += sizes[l + 1] * sizes[l] + sizes[l + 1];
  return n;
}

/** Offsets of each layer's weight (O, I) and bias (O) in the flat buffers: PyTorch's state_dict order. */
function offsets(sizes: readonly number[]): { w: number; b: number }[] {
  const result: { w: number; b: number }[] = [];
  let at = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    result.push({ w: at, b: at + sizes[l + 1] * sizes[l] });
    at += sizes[l + 1] * sizes[l] + sizes[l + 1];
  }
  return result;
}

interface Reference {
  logits: Float64Array; // (B, C)
  loss: number; // mean over the batch
  rowLosses: Float64Array; // (B)
  grads: Float64Array; // (P)
}

/** Forward, mean softmax cross-entropy and backward of a Linear/ReLU stack, all in float64. */
function reference(sizes: readonly number[], params: Float32Array, x: ArrayLike<number>, labels: Int32Array | null,
  B: number): Reference {
  const L = sizes.length - 1;
  const at = offsets(sizes);
  const acts: Float64Array[] = [Float64Array.from({ length: B * sizes[0] }, (_, i) => x[i])];
  for (let l = 0; l < L; l++) {
    const I = sizes[l], O = sizes[l + 1], input = acts[l], out = new Float64Array(B * O);
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < O; o++) {
        let s = params[at[l].b + o];
        const w = at[l].w + o * I;
        for (let i = 0; i < I; i++) s += input[b * I + i] * params[w + i];
        out[b * O + o] = l < L - 1 && s < 0 ? 0 : s;
      }
    }
    acts.push(out);
  }
  const C = sizes[L], logits = acts[L];
  const rowLosses = new Float64Array(B);
  const grads = new Float64Array(parameterCount(sizes));
  if (labels === null) return { logits, loss: NaN, rowLosses, grads };
  let d = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    let largest = -Infinity;
    for (let c = 0; c < C; c++) largest = Math.max(largest, logits[b * C + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[b * C + c] - largest);
    rowLosses[b] = Math.log(sum) + largest - logits[b * C + labels[b]];
    for (let c = 0; c < C; c++) d[b * C + c] = (Math.exp(logits[b * C + c] - largest) / sum - (c === labels[b] ? 1 : 0)) / B;
  }
  for (let l = L - 1; l >= 0; l--) {
    const I = sizes[l], O = sizes[l + 1], input = acts[l];
    for (let o = 0; o < O; o++) {
      let db = 0;
      for (let b = 0; b < B; b++) db += d[b * O + o];
      grads[at[l].b + o] = db;
      for (let i = 0; i < I; i++) {
        let s = 0;
        for (let b = 0; b < B; b++) s += d[b * O + o] * input[b * I + i];
        grads[at[l].w + o * I + i] = s;
      }
    }
    if (l === 0) break;
    const dIn = new Float64Array(B * I);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < I; i++) {
        if (!(input[b * I + i] > 0)) continue;
        let s = 0;
        for (let o = 0; o < O; o++) s += d[b * O + o] * params[at[l].w + o * I + i];
        dIn[b * I + i] = s;
      }
    }
    d = dIn;
  }
  return { logits, loss: rowLosses.reduce((a, b) => a + b, 0) / B, rowLosses, grads };
}

/** torch.optim.Adam 1.13's update in float64, applied in place. */
function adamReference(p: Float64Array, m: Float64Array, v: Float64Array, g: ArrayLike<number>, h: AdamHyper, step: number): void {
  const bc1 = 1 - h.beta1 ** step, bc2 = 1 - h.beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] + h.weightDecay * p[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * gi;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
    p[i] -= (h.lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + h.eps);
  }
}

// ---------- synthetic data ----------

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Buffers with PyTorch's default initialisation: uniform in ±1/√fan_in. */
function makeBuffers(sizes: readonly number[], seed: number): ParameterBuffers {
  const rand = random(seed), n = parameterCount(sizes), params = new Float32Array(n);
  offsets(sizes).forEach((o, l) => {
    const bound = 1 / Math.sqrt(sizes[l]);
    for (let i = o.w; i < o.b + sizes[l + 1]; i++) params[i] = (rand() * 2 - 1) * bound;
  });
  return { params, grads: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
}

/** N images of D bytes, about half of them 0 like MNIST's background, and labels below C. */
function makeImages(n: number, d: number, classes: number, seed: number): { images: Uint8Array; labels: Int32Array } {
  const rand = random(seed);
  const images = Uint8Array.from({ length: n * d }, () => (rand() < 0.5 ? 0 : Math.floor(rand() * 256)));
  const labels = Int32Array.from({ length: n }, () => Math.floor(rand() * classes));
  return { images, labels };
}

/** Rows of the uint8 images as float32 pixels / 255, as the device gathers them. */
function gather(images: Uint8Array, d: number, rows: ArrayLike<number>): Float32Array {
  const x = new Float32Array(rows.length * d);
  for (let r = 0; r < rows.length; r++) for (let i = 0; i < d; i++) x[r * d + i] = images[rows[r] * d + i] / 255;
  return x;
}

const ADAM: AdamHyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

// ---------- the probe's messages: run everywhere ----------

describe('probeCuda', () => {
  test('says what to do when the addon is not built', () => {
    const saved = process.env.FCNET_CUDA_ADDON;
    process.env.FCNET_CUDA_ADDON = path.join(packageRoot(), 'build-cuda', 'no-such-addon.node');
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const cuda = require('../lib/backends/cuda') as typeof import('../lib/backends/cuda');
        const probe = cuda.probeCuda();
        expect(probe.available).toBe(false);
        expect(probe.reason).toMatch(/^the CUDA addon is not built \(no .*no-such-addon\.node\): run `npm run build:cuda`/);
        expect(() => cuda.loadCudaAddon()).toThrow(/^The cuda backend is not available: the CUDA addon is not built/);
        expect(() => new cuda.CudaEngine([4, 3], makeBuffers([4, 3], 1), 2)).toThrow(/npm run build:cuda/);
      });
    } finally {
      if (saved === undefined) delete process.env.FCNET_CUDA_ADDON;
      else process.env.FCNET_CUDA_ADDON = saved;
    }
  });

  test('finds the package root from lib/', () => {
    expect(fs.existsSync(path.join(packageRoot(), 'lib', 'backends', 'cuda.ts'))).toBe(true);
  });
});

// ---------- the engine on a device ----------

const probe = probeCuda();
if (!probe.available) {
  console.warn(`cuda engine tests skipped: ${probe.reason}`);
  test.skip(`cuda engine (skipped: ${probe.reason})`, () => undefined);
} else {
  console.log(`cuda engine tests on ${probe.reason}`);

  describe('CudaEngine against PyTorch', () => {
    // Where a device answers, missing fixtures fail the suite rather than skip it.
    for (const name of fixtureNames) {
      test(`${name}: logits, loss, gradients, then Adam through computeGradients + adamStep`, () => {
        const fx = loadFixture(name);
        const { hidden: H, batch: B, steps } = fx.meta;
        const [beta1, beta2] = fx.meta.betas.split(',').map(Number);
        const hyper: AdamHyper = { lr: fx.meta.lr, beta1, beta2, eps: fx.meta.eps, weightDecay: fx.meta.weight_decay };
        const sizes = [784, H, 10];
        const names = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
        const buffers = makeBuffers(sizes, 0);
        let at = 0;
        for (const n of names) {
          buffers.params.set(f32(fx, n), at);
          at += f32(fx, n).length;
        }
        const x = f32(fx, 'x');
        const y = fx.tensors.get('y') as Int32Array;
        const engine = new CudaEngine(sizes, buffers, B);
        try {
          const logits = new Float32Array(B * 10);
          engine.forward(x, B, logits);
          const differences = [compare(`${name} logits`, logits, f32(fx, 'logits'), torchTolerance)];
          const losses: number[] = [];
          for (let step = 1; step <= steps; step++) {
            losses.push(engine.computeGradients(x, y, B));
            if (step === 1) {
              at = 0;
              for (const n of names) {
                const size = f32(fx, n).length;
                differences.push(compare(`${name} grad.${n}`, storedPart(buffers.grads.subarray(at, at + size), n, fx.meta),
                  f32(fx, `grad.${n}`), torchTolerance));
                at += size;
              }
            }
            engine.adamStep(hyper, step);
          }
          differences.push(compare(`${name} loss`, [losses[0]], f32(fx, 'loss'), torchTolerance));
          differences.push(compare(`${name} losses`, losses, f32(fx, 'losses'), torchTolerance));
          engine.download();
          at = 0;
          for (const n of names) {
            const after = f32(fx, `after.${n}`);
            const tiny = f32(fx, `grad.${n}`);
            const size = f32(fx, n).length;
            const view = (b: Float32Array) => storedPart(b.subarray(at, at + size), n, fx.meta);
            differences.push(compare(`${name} after.${n}`, view(buffers.params), after,
              adamTolerance(torchTolerance, tiny, hyper.lr, steps), torchTolerance));
            differences.push(compare(`${name} adam.exp_avg.${n}`, view(buffers.m), f32(fx, `adam.exp_avg.${n}`),
              torchTolerance));
            differences.push(compare(`${name} adam.exp_avg_sq.${n}`, view(buffers.v), f32(fx, `adam.exp_avg_sq.${n}`),
              torchTolerance));
            at += size;
          }
          expectAllWithin(differences);
        } finally {
          engine.dispose();
        }
      }, SLOW);

      test(`${name}: the same steps through trainBatch on the uploaded uint8 batch`, () => {
        const fx = loadFixture(name);
        const { hidden: H, batch: B, steps } = fx.meta;
        const [beta1, beta2] = fx.meta.betas.split(',').map(Number);
        const hyper: AdamHyper = { lr: fx.meta.lr, beta1, beta2, eps: fx.meta.eps, weightDecay: fx.meta.weight_decay };
        const x = f32(fx, 'x');
        // The fixture's pixels are bytes / 255: recover the bytes, and check that they give x back exactly.
        const images = Uint8Array.from(x, (v) => Math.round(v * 255));
        expect(gather(images, 784, Array.from({ length: B }, (_, b) => b))).toEqual(x);
        const sizes = [784, H, 10];
        const buffers = makeBuffers(sizes, 0);
        let at = 0;
        for (const n of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) {
          buffers.params.set(f32(fx, n), at);
          at += f32(fx, n).length;
        }
        const engine = new CudaEngine(sizes, buffers, B);
        try {
          const data = engine.attachDataset(images, fx.tensors.get('y') as Int32Array, B, 784);
          const order = Int32Array.from({ length: B }, (_, b) => b);
          const losses: number[] = [];
          for (let step = 1; step <= steps; step++) losses.push(engine.trainBatch(data, order, 0, B, hyper, step, true));
          engine.download();
          const differences = [compare(`${name} trainBatch losses`, losses, f32(fx, 'losses'), torchTolerance)];
          at = 0;
          for (const n of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) {
            const size = f32(fx, n).length;
            differences.push(compare(`${name} trainBatch after.${n}`, storedPart(buffers.params.subarray(at, at + size), n, fx.meta),
              f32(fx, `after.${n}`), adamTolerance(torchTolerance, f32(fx, `grad.${n}`), hyper.lr, steps), torchTolerance));
            at += size;
          }
          expectAllWithin(differences);
        } finally {
          engine.dispose();
        }
      }, SLOW);
    }
  });

  describe('CudaEngine against float64 at awkward batch sizes', () => {
    // The reference network, and a deeper one of odd widths that exercises the hidden layers' backward.
    for (const sizes of [[784, 500, 10], [45, 70, 33, 7]]) {
      for (const B of [1, 7, 127, 128, 129]) {
        test(`sizes ${sizes.join('-')}, B = ${B}: logits, loss and gradients`, () => {
          const buffers = makeBuffers(sizes, 11 + B);
          const { images, labels } = makeImages(B, sizes[0], sizes[sizes.length - 1], 100 + B);
          const x = gather(images, sizes[0], Array.from({ length: B }, (_, b) => b));
          const engine = new CudaEngine(sizes, buffers, 129);
          try {
            const C = sizes[sizes.length - 1];
            const logits = new Float32Array(B * C);
            engine.forward(x, B, logits);
            const loss = engine.computeGradients(x, labels, B);
            const ref = reference(sizes, buffers.params, x, labels, B);
            const tag = `${sizes.join('-')} B=${B}`;
            expectAllWithin([
              compare(`${tag} logits`, logits, ref.logits, float64Tolerance(ref.logits)),
              compare(`${tag} loss`, [loss], [ref.loss], (b) => 1e-5 * Math.abs(b)),
              compare(`${tag} grads`, buffers.grads, ref.grads, float64Tolerance(ref.grads)),
            ]);
          } finally {
            engine.dispose();
          }
        }, SLOW);
      }
    }
  });

  describe('CudaEngine.trainBatch', () => {
    const sizes = [45, 70, 33, 7];
    const N = 300;
    const B = 50;

    test('equals computeGradients + adamStep done in plain TypeScript, over shuffled batches', () => {
      const { images, labels } = makeImages(N, sizes[0], 7, 5);
      const buffers = makeBuffers(sizes, 6);
      const p = Float64Array.from(buffers.params);
      const m = new Float64Array(p.length), v = new Float64Array(p.length);
      const hyper = { ...ADAM, lr: 0.01, weightDecay: 0.01 };
      const rand = random(9);
      const order = Int32Array.from({ length: N }, (_, i) => i);
      const engine = new CudaEngine(sizes, buffers, 64);
      const smallest = new Float64Array(p.length).fill(Infinity); // each value's smallest |gradient|
      let step = 0;
      try {
        const data = engine.attachDataset(images, labels, N, sizes[0]);
        for (let epoch = 0; epoch < 2; epoch++) {
          for (let i = N - 1; i > 0; i--) {
            const j = Math.floor(rand() * (i + 1));
            [order[i], order[j]] = [order[j], order[i]];
          }
          for (let offset = 0; offset + B <= N; offset += B) {
            step++;
            const rows = order.subarray(offset, offset + B);
            const ref = reference(sizes, Float32Array.from(p), gather(images, sizes[0], rows), Int32Array.from(rows, (r) => labels[r]), B);
            ref.grads.forEach((g, i) => { smallest[i] = Math.min(smallest[i], Math.abs(g)); });
            adamReference(p, m, v, ref.grads, hyper, step);
            const wantLoss = offset === 0;
            const loss = engine.trainBatch(data, order, offset, B, hyper, step, wantLoss);
            if (wantLoss) expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-4 * ref.loss);
            else expect(loss).toBeNaN();
          }
        }
        engine.download();
        expectAllWithin([
          compare('trainBatch params vs plain TS', buffers.params, p,
            adamTolerance(float64Tolerance(p), smallest, hyper.lr, step), float64Tolerance(p)),
          compare('trainBatch exp_avg vs plain TS', buffers.m, m, float64Tolerance(m)),
          compare('trainBatch exp_avg_sq vs plain TS', buffers.v, v, float64Tolerance(v)),
        ]);
      } finally {
        engine.dispose();
      }
    }, SLOW);

    test('equals its own computeGradients + adamStep on the gathered batch', () => {
      const { images, labels } = makeImages(N, sizes[0], 7, 15);
      const a = makeBuffers(sizes, 16), b = makeBuffers(sizes, 16);
      const fused = new CudaEngine(sizes, a, 64), split = new CudaEngine(sizes, b, 64);
      try {
        const data = fused.attachDataset(images, labels, N, sizes[0]);
        const order = Int32Array.from({ length: N }, (_, i) => (i * 7) % N);
        for (let step = 1; step <= 3; step++) {
          const offset = (step - 1) * B;
          const rows = order.subarray(offset, offset + B);
          fused.trainBatch(data, order, offset, B, ADAM, step, false);
          split.computeGradients(gather(images, sizes[0], rows), Int32Array.from(rows, (r) => labels[r]), B);
          split.adamStep(ADAM, step);
        }
        fused.download();
        split.download();
        const exact = (): number => 1e-7;
        expectAllWithin([
          compare('trainBatch vs computeGradients+adamStep params', a.params, b.params, exact),
          compare('trainBatch vs computeGradients+adamStep grads', a.grads, b.grads, exact),
          compare('trainBatch vs computeGradients+adamStep m', a.m, b.m, exact),
          compare('trainBatch vs computeGradients+adamStep v', a.v, b.v, exact),
        ]);
      } finally {
        fused.dispose();
        split.dispose();
      }
    }, SLOW);

    test('with and without the CUDA graph, with every tile shape and with the naive reference kernel, gives the same parameters', () => {
      const { images, labels } = makeImages(N, sizes[0], 7, 25);
      const order = Int32Array.from({ length: N }, (_, i) => (i * 11) % N);
      const run = (graph: string, tile: string): ParameterBuffers => {
        const saved = [process.env.FCNET_CUDA_GRAPH, process.env.FCNET_CUDA_TILE];
        process.env.FCNET_CUDA_GRAPH = graph;
        process.env.FCNET_CUDA_TILE = tile;
        const buffers = makeBuffers(sizes, 26);
        const engine = new CudaEngine(sizes, buffers, 64);
        [process.env.FCNET_CUDA_GRAPH, process.env.FCNET_CUDA_TILE] = saved;
        if (saved[0] === undefined) delete process.env.FCNET_CUDA_GRAPH;
        if (saved[1] === undefined) delete process.env.FCNET_CUDA_TILE;
        try {
          const data = engine.attachDataset(images, labels, N, sizes[0]);
          for (let step = 1; step <= 4; step++) engine.trainBatch(data, order, (step - 1) * B, B, ADAM, step, false);
          engine.download();
          return buffers;
        } finally {
          engine.dispose();
        }
      };
      const base = run('1', '');
      const differences = [['0', ''], ['1', '0'], ['1', '1'], ['1', '2'], ['1', '3']].map(([graph, tile]) =>
        compare(`graph=${graph} tile=${tile || 'auto'} params`, run(graph, tile).params, base.params,
          float64Tolerance(base.params)));
      expectAllWithin(differences);
    }, SLOW);

    test('a batch whose loss is not finite leaves parameters and moments as they were, like the host engines', () => {
      const { images, labels } = makeImages(N, sizes[0], 7, 45);
      const buffers = makeBuffers(sizes, 46);
      const lastBias = offsets(sizes)[sizes.length - 2].b;
      buffers.params[lastBias] = NaN; // class 0's logit is NaN in every row, so is every row's loss
      const before = Float32Array.from(buffers.params);
      const order = Int32Array.from({ length: N }, (_, i) => i);
      const engine = new CudaEngine(sizes, buffers, 64);
      try {
        const data = engine.attachDataset(images, labels, N, sizes[0]);
        expect(engine.trainBatch(data, order, 0, B, ADAM, 1, true)).toBeNaN();
        expect(engine.trainBatch(data, order, B, B, ADAM, 2, false)).toBeNaN(); // not read back, still skipped
        engine.download();
        expect(Array.from(buffers.params)).toEqual(Array.from(before));
        expect(buffers.m.every((x) => x === 0) && buffers.v.every((x) => x === 0)).toBe(true);
        buffers.params[lastBias] = 0;
        engine.upload();
        expect(Number.isFinite(engine.trainBatch(data, order, 0, B, ADAM, 1, true))).toBe(true);
        engine.download();
        expect(buffers.m.some((x) => x !== 0)).toBe(true);
      } finally {
        engine.dispose();
      }
    }, SLOW);

    test('evaluateDataset sums the loss and counts the correct rows in batches of maxBatch', () => {
      const n = 301, maxBatch = 64, C = 7;
      const { images, labels } = makeImages(n, sizes[0], C, 35);
      const buffers = makeBuffers(sizes, 36);
      const engine = new CudaEngine(sizes, buffers, maxBatch);
      try {
        const data = engine.attachDataset(images, labels, n, sizes[0]);
        const result = engine.evaluateDataset(data);
        let lossSum = 0, correct = 0;
        const logits = new Float32Array(maxBatch * C);
        for (let offset = 0; offset < n; offset += maxBatch) {
          const rows = Array.from({ length: Math.min(maxBatch, n - offset) }, (_, b) => offset + b);
          const x = gather(images, sizes[0], rows);
          const ref = reference(sizes, buffers.params, x, Int32Array.from(rows, (r) => labels[r]), rows.length);
          lossSum += ref.rowLosses.reduce((a, b) => a + b, 0);
          engine.forward(x, rows.length, logits);
          rows.forEach((r, b) => {
            let best = 0;
            for (let c = 1; c < C; c++) if (logits[b * C + c] > logits[b * C + best]) best = c;
            if (best === labels[r]) correct++;
          });
        }
        expect(result.correct).toBe(correct);
        expect(Math.abs(result.lossSum - lossSum)).toBeLessThanOrEqual(1e-5 * lossSum);
      } finally {
        engine.dispose();
      }
    }, SLOW);
  });

  describe('CudaEngine errors', () => {
    const sizes = [6, 5, 4];

    test('bad arguments are named, in the one message shape', () => {
      const engine = new CudaEngine(sizes, makeBuffers(sizes, 1), 8);
      const other = new CudaEngine(sizes, makeBuffers(sizes, 1), 8);
      try {
        const { images, labels } = makeImages(10, 6, 4, 2);
        const data = other.attachDataset(images, labels, 10, 6);
        const order = Int32Array.from({ length: 10 }, (_, i) => i);
        expectError(() => engine.trainBatch(data, order, 0, 4, ADAM, 1, true), TypeError,
          'Expected a dataset attached to this CudaEngine for data but received [object Object] of type object');
        expectError(() => engine.forward(new Float32Array(54), 9, new Float32Array(36)), RangeError,
          'Expected integer between 1 and 8 for B but received 9 of type number');
        expectError(() => engine.computeGradients(new Float32Array(12), new Int32Array([0, 4]), 2), RangeError,
          'Expected integer between 0 and 3 for labels[1] but received 4 of type number');
        const mine = engine.attachDataset(images, labels, 10, 6);
        expectError(() => engine.trainBatch(mine, Int32Array.from([0, 1, 2, 10]), 0, 4, ADAM, 1, true), RangeError,
          'Expected integer between 0 and 9 for indices[3] but received 10 of type number');
        expectError(() => engine.attachDataset(images, Int32Array.from(labels, () => 7), 10, 6), RangeError,
          'Expected integer between 0 and 3 for labels[0] but received 7 of type number');
        expectError(() => engine.trainBatch(mine, order, 7, 4, ADAM, 1, true), RangeError,
          'Expected integer between 0 and 6 for offset but received 7 of type number');
        expectError(() => new CudaEngine(sizes, { ...makeBuffers(sizes, 1), m: new Float32Array(3) }, 8), RangeError,
          'Expected Float32Array of length 59 for buffers.m but received Float32Array of length 3');
        // The engine still works after all of that.
        expect(Number.isFinite(engine.trainBatch(mine, order, 0, 4, ADAM, 1, true))).toBe(true);
      } finally {
        engine.dispose();
        other.dispose();
      }
      expectError(() => engine.download(), Error, 'This CudaEngine has been disposed');
    });
  });
}
