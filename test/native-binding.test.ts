// The native addon's boundary: every function checks its arguments and throws errors that name them.
import { requireNative } from '../lib/binding';
import { compareArrays, expectAllClose } from './support/compare';
import { testNumbers } from './support/reference-mlp';

const native = requireNative();
const f32 = (n: number) => new Float32Array(n);
/** The native engine for PyTorch's reference semantics (ReLU, cross-entropy) over these widths. */
const network = (sizes: number[], maxBatch: number, threads: number) => new native.Network({ sizes: Int32Array.from(sizes),
  activation: 'relu', negativeSlope: 0, dropout: 0, loss: 'cross_entropy', classWeights: null, inputMean: null, inputStd: null }, maxBatch, threads);

test('reports which GEMM it was built with', () => {
  const info = native.gemmInfo();
  expect(['openblas', 'fallback']).toContain(info.blas);
  expect(info.threads).toBeGreaterThanOrEqual(1);
  console.log(`native GEMM: ${info.blas} (${info.config.trim()}), ${info.threads} threads`);
});

describe('linearForward', () => {
  const B = 2, I = 3, O = 4;
  test('computes x·wᵀ + b with and without ReLU', () => {
    const x = Float32Array.of(1, 2, 3, -1, 0, 1);
    const w = Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, -1, -1, -1);
    const b = Float32Array.of(0.5, 0, 0, 0);
    const out = f32(B * O);
    native.linearForward(out, x, w, b, B, I, O, false);
    expect(Array.from(out)).toEqual([1.5, 2, 3, -6, -0.5, 0, 1, 0]);
    native.linearForward(out, x, w, b, B, I, O, true);
    expect(Array.from(out)).toEqual([1.5, 2, 3, 0, 0, 0, 1, 0]);
  });
  test('names the argument that is wrong', () => {
    expect(() => native.linearForward(f32(8), f32(5), f32(12), f32(4), B, I, O, false)).toThrow(
      new RangeError('Expected Float32Array of at least 6 elements (B·I = 2·3) for x but received Float32Array of length 5'),
    );
    expect(() => native.linearForward(f32(8), f32(6), new Float64Array(12) as never, f32(4), B, I, O, false)).toThrow(
      new TypeError('Expected Float32Array for w but received Float64Array of length 12'),
    );
    expect(() => native.linearForward(f32(8), f32(6), f32(12), f32(4), 0, I, O, false)).toThrow(
      new RangeError('Expected integer between 1 and 2147483647 for B but received 0 of type number'),
    );
    expect(() => native.linearForward(f32(8), f32(6), f32(12), f32(4), 1.5, I, O, false)).toThrow(/for B but received 1.5 of type number/);
    expect(() => native.linearForward(f32(8), f32(6), f32(12), f32(4), NaN, I, O, false)).toThrow(/for B but received NaN of type number/);
    expect(() => native.linearForward(f32(8), f32(6), f32(12), f32(4), 2 ** 31, I, O, false)).toThrow(/for B but received 2147483648/);
    expect(() => native.linearForward(f32(8), f32(6), f32(12), f32(4), B, I, O, 1 as never)).toThrow(
      new TypeError('Expected boolean for relu but received 1 of type number'),
    );
    expect(() => (native.linearForward as (...a: unknown[]) => void)(f32(8))).toThrow(new TypeError('linearForward expects 8 arguments but received 1'));
    expect(() => native.linearForward(f32(8), 'x' as never, f32(12), f32(4), B, I, O, false)).toThrow(
      new TypeError("Expected Float32Array for x but received 'x' of type string"),
    );
  });
  test('refuses an output that overlaps an input', () => {
    const shared = f32(20);
    expect(() => native.linearForward(shared.subarray(0, 8), shared.subarray(4, 10), f32(12), f32(4), B, I, O, false)).toThrow(
      new RangeError('Expected out not to share memory with x but the two views overlap'),
    );
  });
  test('accepts views at an offset and SharedArrayBuffer memory', () => {
    const mem = new Float32Array(new SharedArrayBuffer(4 * 40));
    const x = mem.subarray(1, 7);
    x.set([1, 2, 3, -1, 0, 1]);
    const w = mem.subarray(10, 22);
    w.set([1, 0, 0, 0, 1, 0, 0, 0, 1, -1, -1, -1]);
    const out = mem.subarray(30, 38);
    native.linearForward(out, x, w, f32(4), B, I, O, false);
    expect(Array.from(out)).toEqual([1, 2, 3, -6, -1, 0, 1, 0]);
  });
  test('a detached buffer is a RangeError, not a crash', () => {
    const x = f32(6);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    expect(() => native.linearForward(f32(8), x, f32(12), f32(4), B, I, O, false)).toThrow(/for x but received Float32Array of length 0/);
  });
});

describe('linearBackward', () => {
  test('dw = doutᵀ·x, db = Σ dout, dx = dout·w', () => {
    const B = 2, I = 2, O = 2;
    const dout = Float32Array.of(1, 2, 3, 4);
    const x = Float32Array.of(1, 0, 0, 1);
    const w = Float32Array.of(1, 2, 3, 4);
    const dx = f32(4), dw = f32(4), db = f32(2);
    native.linearBackward(dx, dw, db, dout, x, w, B, I, O);
    expect(Array.from(dw)).toEqual([1, 3, 2, 4]);
    expect(Array.from(db)).toEqual([4, 6]);
    expect(Array.from(dx)).toEqual([7, 10, 15, 22]);
    native.linearBackward(null, dw, db, dout, x, w, B, I, O); // dx may be skipped (the first layer)
  });
  test('checks every buffer', () => {
    expect(() => native.linearBackward(null, f32(3), f32(2), f32(4), f32(4), f32(4), 2, 2, 2)).toThrow(
      new RangeError('Expected Float32Array of at least 4 elements (O·I = 2·2) for dw but received Float32Array of length 3'),
    );
    expect(() => native.linearBackward(f32(3), f32(4), f32(2), f32(4), f32(4), f32(4), 2, 2, 2)).toThrow(
      new RangeError('Expected Float32Array of at least 4 elements (B·I = 2·2) for dx but received Float32Array of length 3'),
    );
    expect(() => native.linearBackward(null, f32(4), f32(1), f32(4), f32(4), f32(4), 2, 2, 2)).toThrow(
      new RangeError('Expected Float32Array of at least 2 elements (O = 2) for db but received Float32Array of length 1'),
    );
  });
});

test('softmaxCrossEntropy: equal logits give ln C, and labels outside the classes are refused', () => {
  const logits = f32(2 * 10);
  const d = f32(20);
  expect(native.softmaxCrossEntropy(d, logits, Int32Array.of(3, 7), 2, 10)).toBeCloseTo(Math.log(10), 6);
  expect(d[3]).toBeCloseTo((0.1 - 1) / 2, 7);
  expect(d[0]).toBeCloseTo(0.1 / 2, 7);
  expect(() => native.softmaxCrossEntropy(null, logits, Int32Array.of(3, 12), 2, 10)).toThrow(
    new RangeError('Expected integer between 0 and 9 for labels[1] but received 12 of type number'),
  );
  expect(() => native.softmaxCrossEntropy(null, logits, Float32Array.of(3, 1) as never, 2, 10)).toThrow(
    new TypeError('Expected Int32Array for labels but received Float32Array of length 2'),
  );
});

test('softmaxCrossEntropy is stable for huge logits', () => {
  const loss = native.softmaxCrossEntropy(null, Float32Array.of(1000, 0, -1000), Int32Array.of(1), 1, 3);
  expect(loss).toBeCloseTo(1000, 3);
});

test('adamUpdate checks its hyper-parameters', () => {
  const h = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  expect(() => native.adamUpdate(f32(3), f32(3), f32(3), f32(3), 3, { ...h, lr: NaN }, 1)).toThrow(
    new RangeError('Expected finite number for hyper.lr but received NaN of type number'),
  );
  expect(() => native.adamUpdate(f32(3), f32(3), f32(3), f32(3), 3, h, 0)).toThrow(/for step but received 0/);
  const p = f32(3);
  expect(() => native.adamUpdate(p, p, f32(3), f32(3), 3, h, 1)).toThrow('Expected params not to share memory with grads but the two views overlap');
});

test('gatherBatch scales bytes to [0, 1] and refuses indices outside the dataset', () => {
  const images = Uint8Array.of(0, 255, 51, 102, 1, 2);
  const x = f32(4);
  native.gatherBatch(x, images, Int32Array.of(9, 1, 0), 1, 2, 2);
  expect(Array.from(x)).toEqual([51 / 255, 102 / 255, 0, 1].map(Math.fround));
  expect(() => native.gatherBatch(x, images, Int32Array.of(0, 3), 0, 2, 2)).toThrow(
    new RangeError('Expected integer between 0 and 2 for indices[1] but received 3 of type number'),
  );
});

test('argmax picks the first maximum', () => {
  const out = new Int32Array(2);
  native.argmax(out, Float32Array.of(1, 3, 3, 0, -1, -2), 2, 3);
  expect(Array.from(out)).toEqual([1, 0]);
});

test.each([
  [false, false],
  [false, true],
  [true, false],
  [true, true],
])('sgemm transA=%s transB=%s: BLAS and the blocked fallback agree at awkward sizes', (ta, tb) => {
  const diffs = [];
  for (const [M, N, K] of [[1, 1, 1], [7, 129, 127], [129, 7, 300], [100, 500, 784]]) {
    const A = Float32Array.from(testNumbers(M * K, M + K));
    const B = Float32Array.from(testNumbers(K * N, N + 1));
    const c1 = f32(M * N), c2 = f32(M * N);
    native.sgemm(ta, tb, M, N, K, A, B, c1, false);
    native.sgemm(ta, tb, M, N, K, A, B, c2, true);
    // A float64 product of the same operands for one element, to anchor both.
    const a = (i: number, k: number) => (ta ? A[k * M + i] : A[i * K + k]);
    const b = (k: number, j: number) => (tb ? B[j * K + k] : B[k * N + j]);
    let s = 0;
    for (let k = 0; k < K; k++) s += a(M - 1, k) * b(k, N - 1);
    // Sums of K terms of ±1 cancel, so the absolute error bound grows with K (float32: ~K·2⁻²⁴ per term size).
    const abs = K * 1.2e-7;
    diffs.push(compareArrays(`${M}x${N}x${K} fallback vs gemm`, c2, c1, 1e-4, abs), compareArrays(`${M}x${N}x${K} last element vs float64`, [c1[M * N - 1]], [s], 1e-4, abs));
  }
  expectAllClose(`sgemm ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}:`, diffs);
});

// Regressions from the boundary fuzzer (test/fuzz/native-calls.js): each of these crashed the process before.
describe('Network survives what the fuzzer found', () => {
  const hyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
  const sizes = [20, 8, 3];
  const n = 20 * 8 + 8 + 8 * 3 + 3;
  const images = Uint8Array.from({ length: 4 * 20 }, (_, i) => (i % 3 === 0 ? i % 256 : 0));
  const labels = Int32Array.of(0, 1, 2, 1);
  const indices = Int32Array.of(3, 2, 1, 0);

  test("hyper's getter detaching the parameters' buffer: a RangeError, not a use after free", () => {
    const trainer = network(sizes, 4, 2);
    const params = f32(n);
    const evil = { ...hyper, get lr() { structuredClone(params.buffer, { transfer: [params.buffer] }); return 0.001; } };
    expect(() => trainer.trainBatch(params, f32(n), f32(n), f32(n), images, labels, indices, 0, 4, evil, 1, 0, 0)).toThrow(
      new RangeError(`Expected Float32Array of at least ${n} elements (the parameter count, ${n}) for params but received Float32Array of length 0`),
    );
    trainer.dispose();
  });

  test("hyper's getter disposing the trainer: an Error, not a use after free", () => {
    const trainer = network(sizes, 4, 2);
    const evil = { ...hyper, get beta1() { trainer.dispose(); return 0.9; } };
    expect(() => trainer.trainBatch(f32(n), f32(n), f32(n), f32(n), images, labels, indices, 0, 4, evil, 1, 0, 0)).toThrow(
      new Error('Network: used after dispose()'),
    );
  });

  test('widths that no Float32Array of parameters could hold are refused before anything is allocated', () => {
    expect(() => network([2 ** 24, 2 ** 24], 1, 1)).toThrow(
      new RangeError('Expected layer widths of at most 4294967296 parameters in all (these make 281474993487872) for spec.sizes but received Int32Array of length 2'),
    );
  });

  test("a batch's non-zero inputs must fit int32 counts: maxBatch·sizes[0] ≤ 2³¹ − 1", () => {
    expect(() => network([4096, 10], 2 ** 20, 1)).toThrow(
      new RangeError('Expected integer of at most 524287 (maxBatch·sizes[0] ≤ 2147483647) for maxBatch but received 1048576 of type number'),
    );
  });

  test('a symbol or a bigint is named as such in the message', () => {
    expect(() => native.reluBackward(Symbol('s') as never, f32(1), 1)).toThrow(new TypeError('Expected Float32Array for d but received a value of type symbol'));
    expect(() => native.reluBackward(f32(1), 1n as never, 1)).toThrow(new TypeError('Expected Float32Array for y but received a value of type bigint'));
  });
});

// Found by comparing the backends over awkward sizes: with one layer the logits are the first layer's output,
// whose rows the sparse path pads to 64; the loss read them as if tight, so cpu trained [784, 10] wrongly.
test.each([[20, 10], [20, 64], [70, 3]])('a one-layer network (%i → %i): the Network step equals the step composed of kernels', (I, C) => {
  const B = 5;
  const count = C * I + C;
  const start = Float32Array.from(testNumbers(count, 3), (v) => v / 4);
  const images = Uint8Array.from({ length: 7 * I }, (_, i) => ((i * 37) % 5 === 0 ? (i * 11) % 256 : 0));
  const labels = Int32Array.from({ length: 7 }, (_, i) => i % C);
  const indices = Int32Array.of(6, 0, 3, 3, 5);
  const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

  const net = { params: start.slice(), grads: f32(count), m: f32(count), v: f32(count) };
  const trainer = network([I, C], B, 2);
  const netLoss = trainer.trainBatch(net.params, net.grads, net.m, net.v, images, labels, indices, 0, B, hyper, 1, 0, 0);
  trainer.download(net.params, net.grads, net.m, net.v);
  trainer.dispose();

  const plain = { params: start.slice(), grads: f32(count), m: f32(count), v: f32(count) };
  const x = f32(B * I), logits = f32(B * C), dlogits = f32(B * C);
  native.gatherBatch(x, images, indices, 0, B, I);
  native.linearForward(logits, x, plain.params.subarray(0, C * I), plain.params.subarray(C * I), B, I, C, false);
  const plainLoss = native.softmaxCrossEntropy(dlogits, logits, Int32Array.from(indices, (k) => labels[k]), B, C);
  native.linearBackward(null, plain.grads.subarray(0, C * I), plain.grads.subarray(C * I), dlogits, x, plain.params.subarray(0, C * I), B, I, C);
  native.adamUpdate(plain.params, plain.grads, plain.m, plain.v, count, hyper, 1);

  expectAllClose(`one layer ${I} → ${C}, Network vs kernels:`, [
    compareArrays('loss', [netLoss], [plainLoss], 1e-6),
    compareArrays('grads', net.grads, plain.grads, 1e-4, 1e-7),
    compareArrays('params', net.params, plain.params, 1e-4, 1e-6),
  ]);
});

// Three layers, an odd batch and three threads: the sparse first layer under the deeper rest of the network,
// and the chunk splits with a member that has no chunk.
test.each([1, 3])('a three-layer network (45 → 70 → 33 → 7), batch 13, %i threads: the Network step equals the kernels', (threads) => {
  const sizes = [45, 70, 33, 7];
  const B = 13;
  let count = 0;
  for (let l = 0; l + 1 < sizes.length; l++) count += sizes[l] * sizes[l + 1] + sizes[l + 1];
  const start = Float32Array.from(testNumbers(count, 5), (v) => v / 8);
  const N = 20;
  const images = Uint8Array.from({ length: N * sizes[0] }, (_, i) => ((i * 37) % 4 === 0 ? (i * 13) % 256 : 0));
  const labels = Int32Array.from({ length: N }, (_, i) => (i * 3) % 7);
  const indices = Int32Array.from({ length: N }, (_, i) => (i * 7) % N);
  const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

  const net = { params: start.slice(), grads: f32(count), m: f32(count), v: f32(count) };
  const trainer = network(sizes, B, threads);
  const netLoss = trainer.trainBatch(net.params, net.grads, net.m, net.v, images, labels, indices, 2, B, hyper, 1, 0, 0);
  trainer.download(net.params, net.grads, net.m, net.v);
  trainer.dispose();

  const plain = { params: start.slice(), grads: f32(count), m: f32(count), v: f32(count) };
  const layers: { w: [number, number]; b: [number, number]; I: number; O: number }[] = [];
  for (let l = 0, at = 0; l + 1 < sizes.length; l++) {
    const I = sizes[l], O = sizes[l + 1];
    layers.push({ w: [at, at + O * I], b: [at + O * I, at + O * I + O], I, O });
    at += O * I + O;
  }
  const acts = [f32(B * sizes[0]), ...sizes.slice(1).map((s) => f32(B * s))];
  const deltas = sizes.map((s) => f32(B * s));
  native.gatherBatch(acts[0], images, indices, 2, B, sizes[0]);
  layers.forEach((L, l) => native.linearForward(acts[l + 1], acts[l], plain.params.subarray(...L.w), plain.params.subarray(...L.b), B, L.I, L.O, l + 1 < layers.length));
  const batchLabels = Int32Array.from({ length: B }, (_, r) => labels[indices[2 + r]]);
  const plainLoss = native.softmaxCrossEntropy(deltas[layers.length], acts[layers.length], batchLabels, B, sizes[layers.length]);
  for (let l = layers.length - 1; l >= 0; l--) {
    const L = layers[l];
    native.linearBackward(l > 0 ? deltas[l] : null, plain.grads.subarray(...L.w), plain.grads.subarray(...L.b), deltas[l + 1], acts[l], plain.params.subarray(...L.w), B, L.I, L.O);
    if (l > 0) native.reluBackward(deltas[l], acts[l], B * L.I);
  }
  native.adamUpdate(plain.params, plain.grads, plain.m, plain.v, count, hyper, 1);

  expectAllClose(`three layers, ${threads} threads, Network vs kernels:`, [
    compareArrays('loss', [netLoss], [plainLoss], 1e-6),
    compareArrays('grads', net.grads, plain.grads, 1e-4, 1e-7),
    compareArrays('m', net.m, plain.m, 1e-4, 1e-8),
    compareArrays('params', net.params, plain.params, 1e-4, hyper.lr / 100),
  ]);
});
