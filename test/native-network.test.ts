// The native engine (native/network.h): its fast kernels (tiled BLAS products with fused epilogues, the sparse
// first layer, the folded input transform) held against its naive reference walk over awkward sizes, the same bits
// on 1 and 3 threads, dropout's hash against lib/backends/dropout-mask.ts, laziness, and its argument checks.
import { requireNative, type NativeNetwork, type NativeNetworkSpec } from '../lib/binding';
import { fillDropoutMask } from '../lib/backends/dropout-mask';
import { compareArrays, expectAllClose } from './support/compare';

const native = requireNative();
const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Case {
  sizes: number[];
  B: number;
  activation?: string;
  dropout?: number;
  loss?: string;
  float?: boolean;
  transform?: boolean;
  weights?: boolean;
  density: number; // fraction of non-zero inputs: 0.2 takes the sparse first layer, 0.9 the dense one
  imageWidth?: number; // pixels per image row, given to trainBatch: the sparse gradient takes 2×3 patches
}

/** The first index where a and b differ in their bits, or -1 (jest's deep equality is slow on long arrays). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return Math.min(x.length, y.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function setUp(c: Case) {
  const { sizes, B } = c;
  const I = sizes[0], K = sizes[sizes.length - 1], N = B + 5;
  const loss = c.loss ?? 'cross_entropy';
  const r = random(sizes.reduce((a, b) => a * 31 + b, B));
  const features = c.float ? new Float32Array(N * I) : new Uint8Array(N * I);
  for (let i = 0; i < N * I; i++) if (r() < c.density) features[i] = c.float ? (r() - 0.3) * 2 : 1 + Math.floor(r() * 255);
  const targets = loss === 'cross_entropy'
    ? Int32Array.from({ length: N }, () => Math.floor(r() * K))
    : Float32Array.from({ length: N * K }, () => (loss === 'bce_with_logits' ? (r() < 0.5 ? 1 : 0) : r() * 2 - 1));
  let P = 0;
  for (let l = 0; l + 1 < sizes.length; l++) P += sizes[l] * sizes[l + 1] + sizes[l + 1];
  const params = Float32Array.from({ length: P }, () => (r() - 0.5) * 0.2);
  const spec: NativeNetworkSpec = {
    sizes: Int32Array.from(sizes),
    activation: c.activation ?? 'relu',
    negativeSlope: 0.01,
    dropout: c.dropout ?? 0,
    loss,
    classWeights: c.weights ? Float32Array.from({ length: K }, (_, i) => 0.5 + i) : null,
    inputMean: c.transform ? Float32Array.from({ length: I }, (_, i) => 0.1 + (i % 5) * 0.02) : null,
    inputStd: c.transform ? Float32Array.from({ length: I }, (_, i) => 0.3 + (i % 3) * 0.1) : null,
  };
  const order = Int32Array.from({ length: N }, (_, i) => (i * 7 + 3) % N);
  const x = new Float32Array(B * I);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < I; k++) x[b * I + k] = c.float ? features[b * I + k] : features[b * I + k] / 255;
  return { spec, features, targets, params, P, order, N, x, K };
}

/** Three whole steps, then the gradient of one more batch: everything a run leaves behind. */
function train(c: Case, threads: number, reference: boolean, imageWidth = c.imageWidth ?? 0) {
  const { spec, features, targets, params, P, order, N, x, K } = setUp(c);
  const net: NativeNetwork = new native.Network(spec, c.B, threads, reference);
  const p = params.slice(), g = new Float32Array(P), m = new Float32Array(P), v = new Float32Array(P);
  const losses: number[] = [];
  for (let step = 1; step <= 3; step++) {
    losses.push(net.trainBatch(p, g, m, v, features, targets, order, (step * 2) % (N - c.B + 1), c.B, hyper, step, 7, imageWidth));
  }
  net.download(p, g, m, v);
  const phases = net.takePhaseSeconds();
  const targetRows = targets instanceof Int32Array ? targets.subarray(0, c.B) : targets.subarray(0, c.B * K);
  const gradients = new Float32Array(P);
  const loss = net.computeGradients(params, gradients, x, targetRows, c.B, c.dropout ? { seed: 3, step: 1 } : null);
  const logits = new Float32Array(c.B * K);
  net.forward(params, x, c.B, logits);
  net.dispose();
  return { params: p, grads: g, m, v, losses, gradients, loss, logits, sparseSteps: phases[6] };
}

const cases: Case[] = [
  { sizes: [1, 1, 1], B: 1, density: 0.9 },
  { sizes: [7, 7, 3], B: 7, density: 0.2 },
  { sizes: [129, 127, 10], B: 33, density: 0.2 },
  { sizes: [129, 127, 10], B: 33, density: 0.9 },
  { sizes: [127, 129, 7, 5], B: 129, activation: 'gelu', density: 0.2 },
  { sizes: [127, 129, 7, 5], B: 129, activation: 'gelu', density: 0.9 },
  { sizes: [64, 129, 65, 4], B: 31, activation: 'tanh', dropout: 0.3, density: 0.2 },
  { sizes: [64, 129, 65, 4], B: 31, activation: 'sigmoid', dropout: 0.3, density: 0.9 },
  { sizes: [20, 30, 3], B: 16, activation: 'leaky_relu', loss: 'mse', float: true, density: 0.9 },
  { sizes: [20, 30, 3], B: 16, activation: 'sigmoid', loss: 'bce_with_logits', float: true, density: 0.2 },
  { sizes: [20, 30, 3], B: 16, loss: 'l1', float: true, transform: true, density: 0.2 },
  { sizes: [129, 30, 3], B: 16, transform: true, weights: true, density: 0.2 },
  { sizes: [129, 30, 3], B: 16, transform: true, density: 0.9 },
  { sizes: [50, 4], B: 9, float: true, transform: true, density: 0.2 },
  // Images: 3 rows of 43 and 8 rows of 8 pixels (patches cut at the right and bottom edges), 4 rows of 5 floats;
  // a width that is no whole number of rows falls back to strips.
  { sizes: [129, 127, 10], B: 33, density: 0.2, imageWidth: 43 },
  { sizes: [64, 129, 65, 4], B: 31, activation: 'tanh', dropout: 0.3, density: 0.2, imageWidth: 8 },
  { sizes: [20, 30, 3], B: 16, loss: 'l1', float: true, transform: true, density: 0.2, imageWidth: 5 },
  { sizes: [129, 30, 3], B: 16, density: 0.2, imageWidth: 10 },
];

describe.each(cases)('Network %j', (c) => {
  test('the fast kernels agree with the naive reference; 1 and 3 threads give the same bits', () => {
    const one = train(c, 1, false), three = train(c, 3, false), reference = train(c, 1, true);
    // The sparse first layer ran where the inputs are mostly zeros (the reference never takes it).
    expect(one.sparseSteps).toBe(c.density < 0.5 ? 3 : 0);
    expect(reference.sparseSteps).toBe(0);
    for (const key of ['params', 'grads', 'm', 'v', 'gradients', 'logits'] as const) {
      expect([key, firstDifference(three[key], one[key])]).toEqual([key, -1]);
    }
    expect(three.losses).toEqual(one.losses);
    // Summation orders differ from the reference's, so: close, not equal. Adam's first steps magnify a gradient's
    // last bits (m/√v is ±1 for any gradient), so the comparison is of one step's gradients, logits and losses.
    expectAllClose(`Network ${JSON.stringify(c)}: fast against the reference`, [
      compareArrays('gradients', one.gradients, reference.gradients, 1e-4, 1e-6),
      compareArrays('logits', one.logits, reference.logits, 1e-4, 1e-6),
      compareArrays('losses', one.losses, reference.losses, 1e-5, 1e-6),
      compareArrays('loss', [one.loss], [reference.loss], 1e-5, 1e-6),
    ]);
  });
});

// The sparse gradient's groups of inputs (native/column_groups.h) change which rows its tiles visit, not the sums.
test.each(cases.filter((c) => c.imageWidth))('an image width changes no bit: %j', (c) => {
  const patches = train(c, 2, false), strips = train(c, 2, false, 0);
  expect(patches.sparseSteps).toBe(3);
  for (const key of ['params', 'grads', 'm', 'v'] as const) {
    expect([key, firstDifference(patches[key], strips[key])]).toEqual([key, -1]);
  }
  expect(patches.losses).toEqual(strips.losses);
});

// The sparse path holds fc1.weight and its moments transposed between steps: a run that hands them back to the
// caller's buffers half way (download, then invalidateShadow: the buffers are the truth again) and goes on must give
// the same bits as one that never does, the folded transform's copy remade from them included.
test.each([
  { name: 'raw pixels', transform: false, kind: 'adam' },
  { name: 'the folded transform', transform: true, kind: 'adam' },
  { name: 'the folded transform, SGD with momentum', transform: true, kind: 'sgd' },
])('handing fc1 back half way changes no bit of a run: $name', ({ transform, kind }) => {
  const c: Case = { sizes: [200, 70, 5], B: 12, transform, density: 0.2 };
  const { spec, features, targets, params, P, order, N } = setUp(c);
  const step = kind === 'sgd' ? { kind: 'sgd' as const, lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 } : hyper;
  const run = (handBack: boolean) => {
    const net: NativeNetwork = new native.Network(spec, c.B, 2);
    const p = params.slice(), g = new Float32Array(P), m = new Float32Array(P), v = new Float32Array(P);
    for (let s = 1; s <= 6; s++) {
      net.trainBatch(p, g, m, v, features, targets, order, s % (N - c.B + 1), c.B, step, s, 0, 0);
      if (handBack && s === 3) {
        net.download(p, g, m, v);
        net.invalidateShadow();
      }
    }
    const phases = net.takePhaseSeconds();
    net.download(p, g, m, v);
    net.dispose();
    return { p, m, v, sparse: phases[6] };
  };
  const through = run(false), handed = run(true);
  expect(through.sparse).toBe(6);
  expect([firstDifference(handed.p, through.p), firstDifference(handed.m, through.m), firstDifference(handed.v, through.v)]).toEqual([-1, -1, -1]);
});

test('dropout from the hash equals dropout from the masks lib/backends/dropout-mask.ts draws', () => {
  const c: Case = { sizes: [20, 9, 6, 3], B: 5, activation: 'tanh', dropout: 0.4, density: 0.9 };
  const { spec, params, P, x, targets } = setUp(c);
  const net = new native.Network(spec, c.B, 2);
  const hashed = new Float32Array(P), given = new Float32Array(P);
  const labels = (targets as Int32Array).subarray(0, c.B);
  const lossHashed = net.computeGradients(params, hashed, x, labels, c.B, { seed: 11, step: 4 });
  const masks = new Uint8Array(c.B * (9 + 6));
  fillDropoutMask(masks.subarray(0, c.B * 9), 11, 4, 0, c.B, 9, 0.4);
  fillDropoutMask(masks.subarray(c.B * 9), 11, 4, 1, c.B, 6, 0.4);
  expect(masks.some((k) => k === 0) && masks.some((k) => k === 1)).toBe(true);
  const lossGiven = net.computeGradients(params, given, x, labels, c.B, { masks });
  expect(lossGiven).toBe(lossHashed);
  expect(firstDifference(given, hashed)).toBe(-1);
  net.dispose();
});

test('makes no thread and no scratch until first used', () => {
  const { spec, params, P, x, targets } = setUp({ sizes: [7, 7, 3], B: 7, density: 0.2 });
  const net = new native.Network(spec, 7, 2);
  expect(net.started).toBe(false);
  expect(net.threads).toBe(2);
  net.computeGradients(params, new Float32Array(P), x, (targets as Int32Array).subarray(0, 7), 7, null);
  expect(net.started).toBe(true);
  net.dispose();
});

test('refuses a network whose scratch would not fit in memory, with an estimate, before allocating', () => {
  const spec: NativeNetworkSpec = {
    sizes: Int32Array.of(1000, 65536, 2), activation: 'relu', negativeSlope: 0.01, dropout: 0, loss: 'cross_entropy',
    classWeights: null, inputMean: null, inputStd: null,
  };
  expect(() => new native.Network(spec, 1_000_000, 2)).toThrow(
    /^Network: sizes \[1000, 65536, 2\] with maxBatch 1000000 needs about \d+\.\d GiB \(parameters, gradients, Adam's moments and scratch\) but this machine has \d+\.\d GiB of memory; use a smaller network or batch$/,
  );
});

describe('argument checks', () => {
  const c: Case = { sizes: [7, 5, 3], B: 4, density: 0.5 };
  const { spec, features, targets, params, P } = setUp(c);
  const buffers = () => [params.slice(), new Float32Array(P), new Float32Array(P), new Float32Array(P)] as const;

  test('indices and labels out of range name the element', () => {
    const net = new native.Network(spec, 4, 2);
    const [p, g, m, v] = buffers();
    expect(() => net.trainBatch(p, g, m, v, features, targets, Int32Array.of(0, 1, 9, 2), 0, 4, hyper, 1, 0, 0)).toThrow(
      new RangeError('Expected integer between 0 and 8 for indices[2] but received 9 of type number'),
    );
    const bad = (targets as Int32Array).slice();
    bad[2] = 3;
    expect(() => net.trainBatch(p, g, m, v, features, bad, Int32Array.of(0, 1, 2, 3), 0, 4, hyper, 1, 0, 0)).toThrow(
      new RangeError('Expected integer between 0 and 2 for targets[2] but received 3 of type number'),
    );
    expect(firstDifference(p, params)).toBe(-1); // nothing ran
    net.dispose();
  });

  test('the spec is checked', () => {
    expect(() => new native.Network({ ...spec, activation: 'swish' }, 4, 2)).toThrow(
      new RangeError("Expected one of 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu' for spec.activation but received 'swish' of type string"),
    );
    expect(() => new native.Network({ ...spec, dropout: 1 }, 4, 2)).toThrow(
      new RangeError('Expected number from 0 to below 1 for spec.dropout but received 1 of type number'),
    );
    expect(() => new native.Network({ ...spec, inputMean: new Float32Array(7), inputStd: new Float32Array(7) }, 4, 2)).toThrow(
      new RangeError('Expected finite number above 0 for spec.inputStd[0] but received 0.000000 of type number'),
    );
    expect(() => new native.Network({ ...spec, loss: 'mse', classWeights: new Float32Array(3) }, 4, 2)).toThrow(
      /for spec.classWeights but received Float32Array of length 3/,
    );
  });

  test('float targets must match the loss', () => {
    const net = new native.Network({ ...spec, loss: 'mse' }, 4, 2);
    const [p, g, m, v] = buffers();
    expect(() => net.trainBatch(p, g, m, v, features, targets, Int32Array.of(0, 1, 2, 3), 0, 4, hyper, 1, 0, 0)).toThrow(
      new TypeError('Expected Float32Array for targets but received Int32Array of length 9'),
    );
    net.dispose();
  });

  test('used after dispose()', () => {
    const net = new native.Network(spec, 4, 2);
    net.dispose();
    expect(() => net.threads).toThrow('Network: used after dispose()');
  });
});
