// The pure-TypeScript kernels: fast against naive over awkward sizes, exact small cases, a finite-
// difference gradient check, Adam against a float64 hand-rolled one, and PyTorch's own numbers.

import * as fs from 'fs';
import { jsKernels as K } from '../lib/backends/js-kernels';
import { linearBackwardReference, linearForwardReference } from '../lib/backends/js-kernels-reference';
import type { AdamHyper } from '../lib/backends/types';
import { describeWithFixtures, fixtureFilesOf, fixtureNames, requireFixtureFile, storedPart } from './support/fixtures-dir';

// ---------------------------------------------------------------------------------------------------
// helpers

/** A small seeded generator (mulberry32), so every failure reproduces. */
function randomSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-scale, scale). */
function randomArray(random: () => number, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let k = 0; k < n; k++) a[k] = (2 * random() - 1) * scale;
  return a;
}

/** Largest |a − b| / (abs + rel·|b|): at most 1 means every element is within tolerance. */
function worstRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs: number): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let k = 0; k < expected.length; k++) {
    const ratio = Math.abs(actual[k] - expected[k]) / (abs + rel * Math.abs(expected[k]));
    if (!(ratio <= worst)) worst = ratio; // NaN sticks
  }
  return worst;
}

/** Index of the first element that differs (NaN equals NaN), or -1. jest's toEqual is slow on big arrays. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) return k;
  return -1;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs: number): void {
  expect(worstRatio(actual, expected, rel, abs)).toBeLessThanOrEqual(1);
}

// ---------------------------------------------------------------------------------------------------
// fast against naive

describe('linearForward and linearBackward against the naive triple loops', () => {
  const batchSizes = [1, 7, 127, 128, 129];
  const layerShapes: Array<[number, number]> = [[1, 1], [3, 17], [17, 3], [5, 10], [784, 500], [500, 10]];
  // Both sum in double and round once to float32, so they differ by about one float32 ulp at most.
  const rel = 1e-6, abs = 1e-9;

  for (const [I, O] of layerShapes) {
    for (const B of batchSizes) {
      test(`B=${B} I=${I} O=${O}`, () => {
        const random = randomSource(B * 1000 + I * 7 + O);
        const x = randomArray(random, B * I);    // (B,I)
        const w = randomArray(random, O * I);    // (O,I)
        const b = randomArray(random, O);        // (O)
        const dout = randomArray(random, B * O); // (B,O)
        for (const relu of [false, true]) {
          const fast = new Float32Array(B * O).fill(NaN), naive = new Float32Array(B * O); // (B,O)
          K.linearForward(fast, x, w, b, B, I, O, relu);
          linearForwardReference(naive, x, w, b, B, I, O, relu);
          expectClose(fast, naive, rel, abs);
        }
        const dx = new Float32Array(B * I).fill(NaN), dw = new Float32Array(O * I).fill(NaN), db = new Float32Array(O).fill(NaN);
        const dxRef = new Float32Array(B * I), dwRef = new Float32Array(O * I), dbRef = new Float32Array(O);
        K.linearBackward(dx, dw, db, dout, x, w, B, I, O);
        linearBackwardReference(dxRef, dwRef, dbRef, dout, x, w, B, I, O);
        expectClose(dw, dwRef, rel, abs);
        expectClose(db, dbRef, rel, abs);
        expectClose(dx, dxRef, rel, abs);
        // Without dx, dw and db are the same and nothing else is touched.
        const dw2 = new Float32Array(O * I).fill(NaN), db2 = new Float32Array(O).fill(NaN);
        K.linearBackward(null, dw2, db2, dout, x, w, B, I, O);
        expect(firstDifference(dw2, dw)).toBe(-1);
        expect(firstDifference(db2, db)).toBe(-1);
      });
    }
  }

  test('the fused ReLU zeroes negatives and lets NaN through', () => {
    const x = Float32Array.of(1, -1, NaN); // (3,1)
    const w = Float32Array.of(2);          // (1,1)
    const out = new Float32Array(3);       // (3,1)
    K.linearForward(out, x, w, Float32Array.of(0.5), 3, 1, 1, true);
    expect(Array.from(out)).toEqual([2.5, 0, NaN]);
  });
});

// ---------------------------------------------------------------------------------------------------
// ReLU backward, argmax, gather

describe('reluBackward', () => {
  test('zeroes the gradient where the output is <= 0, in place', () => {
    const d = Float32Array.of(1, 2, 3, 4, 5);
    K.reluBackward(d, Float32Array.of(0.5, 0, -0, -1, 2), 5);
    expect(Array.from(d)).toEqual([1, 0, 0, 0, 5]);
  });
  test('touches only the first n values', () => {
    const d = Float32Array.of(1, 2);
    K.reluBackward(d, Float32Array.of(0, 0), 1);
    expect(Array.from(d)).toEqual([0, 2]);
  });
});

describe('argmax', () => {
  test('the first index on ties, the first NaN when a row has one', () => {
    const x = Float32Array.of(
      1, 3, 3, 2,                // tie: first of the two 3s
      -Infinity, -Infinity, -5, -Infinity,
      NaN, 1, 2, 3,              // NaN first
      1, 9, NaN, NaN,            // NaN counts as the largest: first NaN
      0, 0, 0, 0,
    ); // (5,4)
    const out = new Int32Array(5).fill(-1);
    K.argmax(out, x, 5, 4);
    expect(Array.from(out)).toEqual([1, 2, 0, 2, 0]);
  });
});

describe('gatherBatch', () => {
  const D = 3, N = 4;
  const images = Uint8Array.from({ length: N * D }, (_, k) => (k * 37) % 256); // (N,D)

  test('gathers rows from offset on and scales them to [0, 1] as float32(byte / 255)', () => {
    const indices = Int32Array.of(9, 3, 0, 3); // the first one is skipped by offset 1
    const x = new Float32Array(3 * D).fill(NaN); // (3,D)
    K.gatherBatch(x, images, indices, 1, 3, D);
    const expected = [3, 0, 3].flatMap((n) => Array.from(images.subarray(n * D, n * D + D), (v) => Math.fround(v / 255)));
    expect(Array.from(x)).toEqual(expected);
    expect(x[0]).toBe(Math.fround(images[9] / 255));
  });

  test('byte / 255 is the float32 quotient for every byte', () => {
    const all = Uint8Array.from({ length: 256 }, (_, k) => k); // (256,1)
    const x = new Float32Array(256);
    K.gatherBatch(x, all, Int32Array.from({ length: 256 }, (_, k) => k), 0, 256, 1);
    expect(x[0]).toBe(0);
    expect(x[255]).toBe(1);
    expect(x[1]).toBe(Math.fround(1 / 255));
  });

  test('an index outside the images throws a RangeError naming it and writes nothing', () => {
    const x = new Float32Array(2 * D).fill(7);
    expect(() => K.gatherBatch(x, images, Int32Array.of(0, 1, 4), 1, 2, D))
      .toThrow(new RangeError('Expected integer between 0 and 3 for indices[2] but received 4 of type number'));
    expect(() => K.gatherBatch(x, images, Int32Array.of(-1), 0, 1, D))
      .toThrow(new RangeError('Expected integer between 0 and 3 for indices[0] but received -1 of type number'));
    expect(() => K.gatherBatch(x, images, Int32Array.of(0, 2, -1), 0, 3, D)).toThrow(RangeError);
    expect(Array.from(x)).toEqual(new Array(2 * D).fill(7));
  });
});

// ---------------------------------------------------------------------------------------------------
// softmax + cross-entropy

describe('softmaxCrossEntropy', () => {
  test('equal logits: loss ln C and gradient (1/C − onehot)/B', () => {
    const B = 2, C = 10;
    const logits = new Float32Array(B * C).fill(3.25); // (B,C)
    const labels = Int32Array.of(4, 0);
    const dlogits = new Float32Array(B * C).fill(NaN);
    const loss = K.softmaxCrossEntropy(dlogits, logits, labels, B, C);
    expect(loss).toBeCloseTo(Math.log(10), 12);
    for (let r = 0; r < B; r++) {
      for (let j = 0; j < C; j++) {
        expect(dlogits[r * C + j]).toBeCloseTo((0.1 - (j === labels[r] ? 1 : 0)) / B, 7);
      }
    }
  });

  test('logits 1, 2, 3: loss log(e + e² + e³) − logit, averaged over the batch', () => {
    const logits = Float32Array.of(1, 2, 3, 1, 2, 3); // (2,3)
    const labels = Int32Array.of(2, 0);
    const logSumExp = Math.log(Math.E + Math.E ** 2 + Math.E ** 3);
    const loss = K.softmaxCrossEntropy(null, logits, labels, 2, 3);
    expect(loss).toBeCloseTo(((logSumExp - 3) + (logSumExp - 1)) / 2, 12);
    const dlogits = new Float32Array(6);
    K.softmaxCrossEntropy(dlogits, logits, labels, 2, 3);
    const p = [1, 2, 3].map((l) => Math.exp(l - logSumExp));
    expectClose(dlogits, [p[0] / 2, p[1] / 2, (p[2] - 1) / 2, (p[0] - 1) / 2, p[1] / 2, p[2] / 2], 1e-6, 1e-9);
  });

  test('stays finite for huge logits (log-sum-exp)', () => {
    const logits = Float32Array.of(1000, 0, -1000, 1000); // (2,2)
    const dlogits = new Float32Array(4);
    // softmax is (1, 0) and (0, 1); the labels pick the other class, so each row costs its gap.
    const loss = K.softmaxCrossEntropy(dlogits, logits, Int32Array.of(1, 0), 2, 2);
    expect(loss).toBeCloseTo((1000 + 2000) / 2, 9);
    expect(Array.from(dlogits)).toEqual([0.5, -0.5, -0.5, 0.5]);
  });

  test('a label outside [0, C) throws a RangeError naming its row and writes nothing', () => {
    const logits = new Float32Array(5 * 10);
    const dlogits = new Float32Array(5 * 10).fill(7);
    expect(() => K.softmaxCrossEntropy(dlogits, logits, Int32Array.of(0, 1, 2, 12, 4), 5, 10))
      .toThrow(new RangeError('Expected integer between 0 and 9 for labels[3] but received 12 of type number'));
    expect(() => K.softmaxCrossEntropy(null, logits, Int32Array.of(-1), 1, 10))
      .toThrow(new RangeError('Expected integer between 0 and 9 for labels[0] but received -1 of type number'));
    expect(dlogits.every((v) => v === 7)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------
// finite differences through linear → ReLU → linear → softmax-CE

describe('gradients of a tiny network against finite differences', () => {
  const B = 3, I = 5, H = 4, C = 3; // x(B,I), w1(H,I), b1(H), w2(C,H), b2(C)
  const random = randomSource(42);
  const x = randomArray(random, B * I);
  const w1 = randomArray(random, H * I), b1 = randomArray(random, H, 0.5);
  const w2 = randomArray(random, C * H), b2 = randomArray(random, C, 0.5);
  const labels = Int32Array.of(2, 0, 1);

  /** The same network's mean loss, in float64, written out by hand. Also returns the smallest |pre-ReLU|. */
  function lossInDouble(x: ArrayLike<number>, w1: ArrayLike<number>, b1: ArrayLike<number>,
    w2: ArrayLike<number>, b2: ArrayLike<number>): { loss: number; nearestKink: number } {
    let total = 0, nearestKink = Infinity;
    for (let r = 0; r < B; r++) {
      const hidden: number[] = [];
      for (let h = 0; h < H; h++) {
        let s = b1[h];
        for (let i = 0; i < I; i++) s += x[r * I + i] * w1[h * I + i];
        nearestKink = Math.min(nearestKink, Math.abs(s));
        hidden.push(Math.max(0, s));
      }
      const logits: number[] = [];
      for (let c = 0; c < C; c++) {
        let s = b2[c];
        for (let h = 0; h < H; h++) s += hidden[h] * w2[c * H + h];
        logits.push(s);
      }
      const max = Math.max(...logits);
      total += max + Math.log(logits.reduce((acc, l) => acc + Math.exp(l - max), 0)) - logits[labels[r]];
    }
    return { loss: total / B, nearestKink };
  }

  test('dx, dw1, db1, dw2, db2 match central differences', () => {
    // analytic, with the kernels
    const hidden = new Float32Array(B * H), logits = new Float32Array(B * C);
    K.linearForward(hidden, x, w1, b1, B, I, H, true);
    K.linearForward(logits, hidden, w2, b2, B, H, C, false);
    const dlogits = new Float32Array(B * C);
    const loss = K.softmaxCrossEntropy(dlogits, logits, labels, B, C);
    const dhidden = new Float32Array(B * H), dw2 = new Float32Array(C * H), db2 = new Float32Array(C);
    K.linearBackward(dhidden, dw2, db2, dlogits, hidden, w2, B, H, C);
    K.reluBackward(dhidden, hidden, B * H);
    const dx = new Float32Array(B * I), dw1 = new Float32Array(H * I), db1 = new Float32Array(H);
    K.linearBackward(dx, dw1, db1, dhidden, x, w1, B, I, H);

    // numeric, in double
    const params = { x: Float64Array.from(x), w1: Float64Array.from(w1), b1: Float64Array.from(b1),
      w2: Float64Array.from(w2), b2: Float64Array.from(b2) };
    const evaluate = () => lossInDouble(params.x, params.w1, params.b1, params.w2, params.b2);
    const base = evaluate();
    expect(base.nearestKink).toBeGreaterThan(1e-3); // the check is only meaningful away from ReLU's kink
    expect(loss).toBeCloseTo(base.loss, 5);
    const step = 1e-6;
    const analytic: Record<keyof typeof params, Float32Array> = { x: dx, w1: dw1, b1: db1, w2: dw2, b2: db2 };
    for (const name of Object.keys(params) as Array<keyof typeof params>) {
      const p = params[name];
      const numeric = new Float64Array(p.length);
      for (let k = 0; k < p.length; k++) {
        const saved = p[k];
        p[k] = saved + step; const up = evaluate().loss;
        p[k] = saved - step; const down = evaluate().loss;
        p[k] = saved;
        numeric[k] = (up - down) / (2 * step);
      }
      // float32 kernels against float64 differences: a few float32 ulps of the largest terms
      expectClose(analytic[name], numeric, 1e-4, 1e-6);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Adam against a float64 hand-rolled one

describe('adamUpdate against a float64 implementation', () => {
  for (const weightDecay of [0, 0.01]) {
    test(`3 steps, weightDecay ${weightDecay}`, () => {
      const n = 37;
      const hyper: AdamHyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay };
      const random = randomSource(7 + weightDecay * 1000);
      const params = randomArray(random, n), m = new Float32Array(n), v = new Float32Array(n);
      const initial = params.slice();
      const p64 = Float64Array.from(params), m64 = new Float64Array(n), v64 = new Float64Array(n);
      for (let step = 1; step <= 3; step++) {
        const grads = randomArray(random, n, 0.1);
        K.adamUpdate(params, grads, m, v, n, hyper, step);
        for (let k = 0; k < n; k++) {
          const g = grads[k] + weightDecay * p64[k];
          m64[k] = 0.9 * m64[k] + 0.1 * g;
          v64[k] = 0.999 * v64[k] + 0.001 * g * g;
          const mHat = m64[k] / (1 - 0.9 ** step), vHat = v64[k] / (1 - 0.999 ** step);
          p64[k] -= 0.01 * mHat / (Math.sqrt(vHat) + 1e-8);
        }
        // float32 storage each step against double state: a few float32 ulps. The absolute terms
        // cover g = grad + wd·p cancelling to near 0, where float32 p's rounding is all that is left.
        expectClose(params, p64, 2e-6, 1e-9);
        expectClose(m, m64, 2e-6, 1e-9);
        expectClose(v, v64, 2e-6, 1e-12);
      }
      expect(worstRatio(params, initial, 0, 1e-3)).toBeGreaterThan(1); // they did move
    });
  }

  test('touches only the first n values', () => {
    const hyper: AdamHyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    const params = Float32Array.of(1, 1), m = new Float32Array(2), v = new Float32Array(2);
    K.adamUpdate(params, Float32Array.of(1, 1), m, v, 1, hyper, 1);
    expect(params[0]).toBeCloseTo(0.9, 6); // the first step moves by lr·sign(g)
    expect([params[1], m[1], v[1]]).toEqual([1, 0, 0]);
  });
});

// ---------------------------------------------------------------------------------------------------
// PyTorch's numbers

/** Tensors of a .safetensors file: 8-byte little-endian header length, a JSON header, raw data. */
function readSafetensors(file: string): Map<string, { shape: number[]; data: Float32Array | BigInt64Array }> {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as
    Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
    const copy = new Uint8Array(raw); // aligned copy for the typed views
    if (entry.dtype === 'F32') tensors.set(name, { shape: entry.shape, data: new Float32Array(copy.buffer) });
    else if (entry.dtype === 'I64') tensors.set(name, { shape: entry.shape, data: new BigInt64Array(copy.buffer) });
    else throw new Error(`unexpected dtype ${entry.dtype} for ${name}`);
  }
  return tensors;
}

for (const fixture of fixtureNames) describeWithFixtures(`PyTorch fixture ${fixture}`, fixtureFilesOf(fixture), () => {
  const file = requireFixtureFile(`${fixture}.safetensors`);
  const rel = 1e-4, abs = 1e-6; // |a − b| ≤ max(1e-6, 1e-4·|b|)

  test('logits, loss, gradients and Adam steps match PyTorch', () => {
    const meta = JSON.parse(fs.readFileSync(file.replace(/\.safetensors$/, '.json'), 'utf8'));
    const tensors = readSafetensors(file);
    const f32 = (name: string): Float32Array => {
      const t = tensors.get(name);
      if (!t || !(t.data instanceof Float32Array)) throw new Error(`missing float tensor ${name}`);
      return t.data;
    };
    const yRaw = tensors.get('y');
    if (!yRaw || !(yRaw.data instanceof BigInt64Array)) throw new Error('missing int64 tensor y');
    const labels = Int32Array.from(yRaw.data, (v) => Number(v));
    const x = f32('x');
    const B = labels.length, I = 784, C = 10, H = f32('fc1.bias').length;
    const [beta1, beta2] = String(meta.betas).split(',').map(Number);
    const hyper: AdamHyper = { lr: meta.lr, beta1, beta2, eps: meta.eps, weightDecay: meta.weight_decay };

    // Parameters, gradients and Adam's moments: one flat buffer each, with views in state_dict order.
    const names = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
    const sizes = names.map((n) => f32(n).length);
    const total = sizes.reduce((a, b) => a + b, 0);
    const flat = { params: new Float32Array(total), grads: new Float32Array(total), m: new Float32Array(total), v: new Float32Array(total) };
    const views = (buffer: Float32Array) => {
      const out: Record<string, Float32Array> = {};
      let at = 0;
      names.forEach((n, k) => { out[n] = buffer.subarray(at, at + sizes[k]); at += sizes[k]; });
      return out;
    };
    const p = views(flat.params), g = views(flat.grads), m = views(flat.m), v = views(flat.v);
    for (const n of names) p[n].set(f32(n));

    const hidden = new Float32Array(B * H), logits = new Float32Array(B * C);      // (B,H), (B,C)
    const dlogits = new Float32Array(B * C), dhidden = new Float32Array(B * H);    // (B,C), (B,H)
    const computeGradients = (): number => {
      K.linearForward(hidden, x, p['fc1.weight'], p['fc1.bias'], B, I, H, true);
      K.linearForward(logits, hidden, p['fc2.weight'], p['fc2.bias'], B, H, C, false);
      const loss = K.softmaxCrossEntropy(dlogits, logits, labels, B, C);
      K.linearBackward(dhidden, g['fc2.weight'], g['fc2.bias'], dlogits, hidden, p['fc2.weight'], B, H, C);
      K.reluBackward(dhidden, hidden, B * H);
      K.linearBackward(null, g['fc1.weight'], g['fc1.bias'], dhidden, x, p['fc1.weight'], B, I, H);
      return loss;
    };

    const rows: Array<{ tensor: string; maxAbsDiff: string; worstOfTolerance: string }> = [];
    const check = (label: string, actual: ArrayLike<number>, expected: ArrayLike<number>) => {
      let maxAbsDiff = 0;
      for (let k = 0; k < expected.length; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(actual[k] - expected[k]));
      const worst = worstRatio(actual, expected, rel, abs);
      rows.push({ tensor: label, maxAbsDiff: maxAbsDiff.toExponential(2), worstOfTolerance: worst.toFixed(3) });
      return worst;
    };
    const worst: Record<string, number> = {};

    // at the initial parameters
    const loss = computeGradients();
    worst.logits = check('logits', logits, f32('logits'));
    worst.loss = check('loss', [loss], f32('loss'));
    for (const n of names) worst[`grad.${n}`] = check(`grad.${n}`, storedPart(g[n], n, meta), f32(`grad.${n}`));

    // Adam on the same batch; `losses` is the loss before each step
    const losses: number[] = [];
    for (let step = 1; step <= meta.steps; step++) {
      losses.push(computeGradients());
      K.adamUpdate(flat.params, flat.grads, flat.m, flat.v, total, hyper, step);
    }
    worst.losses = check('losses', losses, f32('losses'));
    for (const n of names) {
      // A large weight's rows kept by the fixture (storedPart), the whole tensor otherwise.
      worst[`after.${n}`] = check(`after.${n}`, storedPart(p[n], n, meta), f32(`after.${n}`));
      worst[`adam.exp_avg.${n}`] = check(`adam.exp_avg.${n}`, storedPart(m[n], n, meta), f32(`adam.exp_avg.${n}`));
      worst[`adam.exp_avg_sq.${n}`] = check(`adam.exp_avg_sq.${n}`, storedPart(v[n], n, meta), f32(`adam.exp_avg_sq.${n}`));
    }

    console.log(`${fixture}: largest difference per tensor (worstOfTolerance ≤ 1 passes)\n` +
      rows.map((r) => `  ${r.tensor.padEnd(28)} ${r.maxAbsDiff.padStart(10)}  ${r.worstOfTolerance.padStart(7)}`).join('\n'));
    for (const [name, ratio] of Object.entries(worst)) expect([name, ratio <= 1]).toEqual([name, true]);
  });

  test('gatherBatch rebuilds the fixture\'s x from its bytes exactly', () => {
    const x = readSafetensors(file).get('x')!.data as Float32Array;
    const B = x.length / 784;
    const bytes = Uint8Array.from(x, (v) => Math.round(v * 255)); // (B,784): the fixture's pixels
    const gathered = new Float32Array(B * 784);
    K.gatherBatch(gathered, bytes, Int32Array.from({ length: B }, (_, k) => k), 0, B, 784);
    expect(firstDifference(gathered, x)).toBe(-1);
  });
});
